// RUN: ssm-opt %s --ssm-lower-to-llvm | FileCheck %s
// RUN: ssm-opt %s --ssm-lower-to-llvm=mixer-form=recurrent | FileCheck %s
// RUN: ssm-opt %s --pass-pipeline="builtin.module(ssm-lower-to-llvm{mixer-form=chunked chunk-size=3})" | FileCheck %s
// RUN: not ssm-opt %s --ssm-lower-to-llvm=mixer-form=blocked 2>&1 | FileCheck %s --check-prefix=BADFORM

// The whole pipeline ends in the LLVM dialect only.
// CHECK-LABEL: llvm.func @layer
// CHECK-NOT: ssm.
// CHECK-NOT: linalg.
// CHECK-NOT: tensor.
// CHECK-NOT: memref.
// CHECK-NOT: scf.
// CHECK: llvm.return
// BADFORM: Cannot find option named 'blocked'
func.func @layer(%x: tensor<1x4x2x2xf32>, %dt: tensor<1x4x2xf32>, %A: tensor<2xf32>,
                 %B: tensor<1x4x1x3xf32>, %C: tensor<1x4x1x3xf32>, %w: tensor<2xf32>)
    -> tensor<1x4x2x2xf32> {
  %y, %h = ssm.ssd %x, %dt, %A, %B, %C {dt_softplus}
      : (tensor<1x4x2x2xf32>, tensor<1x4x2xf32>, tensor<2xf32>, tensor<1x4x1x3xf32>, tensor<1x4x1x3xf32>)
      -> (tensor<1x4x2x2xf32>, tensor<1x2x2x3xf32>)
  %n = ssm.rms_norm %y, %w : (tensor<1x4x2x2xf32>, tensor<2xf32>) -> tensor<1x4x2x2xf32>
  return %n : tensor<1x4x2x2xf32>
}
