// ssmc --target=cuda: the kernels' PTX embedded in the host code, the
// launches through the mgpu* calls of the model's CUDA support, and the
// compile info naming the target.
// RUN: ssmc %s --target=cuda --cuda-format=ptx --emit=llvm -o - | FileCheck %s --check-prefixes=CHECK,SM80
// RUN: ssmc %s --target=cuda --cuda-format=ptx --cuda-arch=sm_90a --emit=llvm -o - | FileCheck %s --check-prefixes=CHECK,SM90A
// RUN: not ssmc %s --target=cuda --cuda-arch=volta -o %t.so 2>&1 | FileCheck %s --check-prefix=ERR-ARCH
// RUN: not ssmc %s --target=cuda --cuda-format=cubin -o %t.so 2>&1 | FileCheck %s --check-prefix=ERR-FORMAT

// CHECK: \22target\22:\22cuda\22
// SM80-SAME: \22cuda_arch\22:\22sm_80\22,\22cuda_format\22:\22ptx\22
// SM90A-SAME: \22cuda_arch\22:\22sm_90a\22,\22cuda_format\22:\22ptx\22
// CHECK-SAME: \22cpu\22:\22generic\22
// CHECK: @ssm_kernelmodule_binary = internal constant
// SM80-SAME: .target sm_80
// SM90A-SAME: .target sm_90a
// CHECK-SAME: .visible .entry ssm_kernel0(
// The 32 points on one 256-thread block.
// CHECK: call void @mgpuLaunchKernel(ptr %{{.*}}, i64 1, i64 1, i64 1, i64 256, i64 1, i64 1, i32 0,
// CHECK: call ptr @mgpuModuleLoadJIT(ptr nonnull @ssm_kernelmodule_binary

// ERR-ARCH: ssmc: error: --cuda-arch must name an NVIDIA architecture such as
// ERR-FORMAT: ssmc: error: {{.*}}cubin

func.func @silu(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %one = arith.constant 1.0 : f32
  %r = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %n = arith.negf %v : f32
    %ex = math.exp %n : f32
    %d = arith.addf %ex, %one : f32
    %s = arith.divf %v, %d : f32
    linalg.yield %s : f32
  } -> tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}
