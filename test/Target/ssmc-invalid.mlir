// Invalid IR: the verifier's diagnostic, exit 1, and no output file.
// RUN: not ssmc %s -o %t.so 2>&1 | FileCheck %s
// RUN: not ls %t.so
// CHECK: error: 'ssm.rms_norm' op attribute 'group_size' (3) must be positive and divide operand 'x' dim 1 (features), 8
func.func @f(%x: tensor<2x8xf32>, %w: tensor<8xf32>) -> tensor<2x8xf32> {
  %y = ssm.rms_norm %x, %w {group_size = 3 : i64} : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}
