// REQUIRES: ptxas
// With the toolkit present, ssmc assembles the kernels for sm_90a with ptxas
// and embeds a fatbin (no PTX text left), and --cuda-format=auto picks it.
// RUN: ssmc %s --target=cuda --cuda-arch=sm_90a --cuda-format=fatbin --emit=llvm -o - | FileCheck %s
// RUN: ssmc %s --target=cuda --cuda-arch=sm_90a --emit=llvm -o - | FileCheck %s
// RUN: ssmc %s --target=cuda --cuda-arch=sm_90a -o %t.so
// RUN: ssm-run %t.so --info | FileCheck %s --check-prefix=INFO
// CHECK: \22cuda_arch\22:\22sm_90a\22,\22cuda_format\22:\22fatbin\22
// CHECK: @ssm_kernelmodule_binary = internal constant
// CHECK-NOT: .visible .entry
// CHECK: call ptr @mgpuModuleLoad(ptr nonnull @ssm_kernelmodule_binary
// INFO: "target":"cuda","cuda_arch":"sm_90a","cuda_format":"fatbin"

func.func @rowsum(%x: tensor<4x8xf32>) -> tensor<4xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>],
                       iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x8xf32>) outs(%z : tensor<4xf32>) {
  ^bb0(%v: f32, %o: f32):
    %s = arith.addf %v, %o : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}
