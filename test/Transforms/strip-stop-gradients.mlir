// RUN: ssm-opt %s --ssm-strip-stop-gradients | FileCheck %s

// Every ssm.stop_gradient is replaced by its operand, in nested regions too.
// CHECK-LABEL: func.func @strip(
// CHECK-SAME: %[[X:.*]]: tensor<4xf32>
// CHECK-NOT: ssm.stop_gradient
// CHECK: scf.for {{.*}} iter_args(%[[A:.*]] = %[[X]])
// CHECK: scf.yield %[[A]]
// CHECK: return %[[X]], %{{.*}}
func.func @strip(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %s = ssm.stop_gradient %x : tensor<4xf32>
  %r = scf.for %i = %c0 to %c3 step %c1 iter_args(%a = %s) -> tensor<4xf32> {
    %b = ssm.stop_gradient %a : tensor<4xf32>
    scf.yield %b : tensor<4xf32>
  }
  return %s, %r : tensor<4xf32>, tensor<4xf32>
}
