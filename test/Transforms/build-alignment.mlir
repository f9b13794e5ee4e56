// RUN: ssm-opt %s --ssm-build-alignment | FileCheck %s --check-prefix=TEACHER
// RUN: ssm-opt %s --ssm-build-alignment=mode=hidden-alignment | FileCheck %s --check-prefix=STAGE2
// RUN: ssm-opt %s --ssm-build-alignment=mode=matrix-orientation | FileCheck %s --check-prefix=STAGE1

// Two blocks on the residual stream %x -> %x1 -> %r1: block 0 has an
// attention sublayer (%r = %x + ...) and a second residual sublayer (%x1 =
// %m + %r, %m computed from %r); block 1 only the attention sublayer, so
// the final hidden state is its residual add %r1 (the op after it is not
// an add on the stream).

// TEACHER-LABEL: func.func @hidden_states(
// TEACHER-SAME: %{{[^:]*}}: tensor<1x4xi64>, %[[X:[^:]*]]: tensor<1x4x8xf32>
// TEACHER-SAME: -> (tensor<1x4x8xf32> {ssm.name = "hidden.0"}, tensor<1x4x8xf32> {ssm.name = "hidden.1"}, tensor<1x4x8xf32> {ssm.name = "hidden.2"})
// TEACHER: %[[R:.*]] = linalg.add ins(%[[X]], %{{.*}} :
// TEACHER: %[[X1:.*]] = linalg.add ins(%{{.*}}, %[[R]] :
// TEACHER: %[[R1:.*]] = linalg.add ins(%[[X1]], %{{.*}} :
// TEACHER: return %[[X]], %[[X1]], %[[R1]] :
// TEACHER-LABEL: func.func @mixing_matrices(
// TEACHER-SAME: -> (tensor<1x2x4x4xf32> {ssm.name = "mixing.0"}, tensor<1x2x4x4xf32> {ssm.name = "mixing.1"})
// The first matrix is the softmax of the first layer's scores (of %x).
// TEACHER: %[[Q:.*]] = tensor.expand_shape %[[XM:[^ ]*]]
// TEACHER: %[[S:.*]] = linalg.generic {{.*}} ins(%[[Q]], %[[Q]] :
// TEACHER: return %[[M0:[^,]*]], %[[M1:[^ ]*]] : tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>

// Stage 2: each block reads the teacher's hidden.l; the loss compares
// block 0's output %x1 with hidden.1 and block 1's %r1 with hidden.2.
// STAGE2-LABEL: func.func @loss(
// STAGE2-SAME: %{{[^:]*}}: tensor<1x4xi64>, %[[H0:[^:]*]]: tensor<1x4x8xf32> {ssm.name = "hidden.0"}, %[[H1:[^:]*]]: tensor<1x4x8xf32> {ssm.name = "hidden.1"}, %[[H2:[^:]*]]: tensor<1x4x8xf32> {ssm.name = "hidden.2"}, %{{[^:]*}}: tensor<1x4x8xf32>, %{{[^:]*}}: tensor<1x4x8xf32>)
// STAGE2-SAME: -> (tensor<f32> {ssm.name = "loss"})
// STAGE2: tensor.expand_shape %[[H0]]
// STAGE2: %[[R:.*]] = linalg.add ins(%[[H0]], %{{.*}} :
// STAGE2: %[[B0:.*]] = linalg.add ins(%{{.*}}, %[[R]] :
// STAGE2: tensor.expand_shape %[[H1]]
// STAGE2: %[[B1:.*]] = linalg.add ins(%[[H1]], %{{.*}} :
// Per token: sum of squares over the features, then the norm (0 at 0).
// STAGE2: %[[SQ0:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[B0]], %[[H1]] :
// STAGE2: arith.subf
// STAGE2: arith.mulf
// STAGE2: %[[N0:.*]] = linalg.generic {{.*}} ins(%[[SQ0]] :
// STAGE2: %[[POS:.*]] = arith.cmpf ogt
// STAGE2: %[[ROOT:.*]] = math.sqrt
// STAGE2: arith.select %[[POS]], %[[ROOT]]
// STAGE2: %[[MEAN0:.*]] = linalg.generic {{.*}} ins(%[[N0]] :
// STAGE2: arith.divf
// STAGE2: linalg.generic {{.*}} ins(%[[B1]], %[[H2]] :
// STAGE2: %[[MEAN1:.*]] = linalg.generic {{.*}} ins(%{{[0-9]+}} : tensor<f32>)
// STAGE2: %[[SUM:.*]] = linalg.generic {{.*}} ins(%[[MEAN0]], %[[MEAN1]] :
// STAGE2: return %[[SUM]] : tensor<f32>

// Stage 1: hidden.0 and hidden.1 (no final state), then one matrix per
// mixer; each mixer's matrix is built from the teacher's block input.
// STAGE1-LABEL: func.func @loss(
// STAGE1-SAME: %{{[^:]*}}: tensor<1x4xi64>, %[[H0:[^:]*]]: tensor<1x4x8xf32> {ssm.name = "hidden.0"}, %[[H1:[^:]*]]: tensor<1x4x8xf32> {ssm.name = "hidden.1"}, %[[A0:[^:]*]]: tensor<1x2x4x4xf32> {ssm.name = "mixing.0"}, %[[A1:[^:]*]]: tensor<1x2x4x4xf32> {ssm.name = "mixing.1"}, %{{[^:]*}}: tensor<1x4x8xf32>, %{{[^:]*}}: tensor<1x4x8xf32>)
// STAGE1: %[[Q0:.*]] = tensor.expand_shape %[[H0]]
// STAGE1: linalg.generic {{.*}} ins(%[[Q0]], %[[Q0]] :
// STAGE1: %[[Q1:.*]] = tensor.expand_shape %[[H1]]
// STAGE1: linalg.generic {{.*}} ins(%[[Q1]], %[[Q1]] :
// Frobenius norm per (batch, head): a reduction over both token dims.
// STAGE1: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction", "reduction"]} ins(%{{.*}}, %[[A0]] :
// STAGE1: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction", "reduction"]} ins(%{{.*}}, %[[A1]] :
// STAGE1: return %{{.*}} : tensor<f32>
func.func @main(%ids: tensor<1x4xi64>, %x: tensor<1x4x8xf32>, %w: tensor<1x4x8xf32>) -> tensor<1x4x8xf32> {
  %q = tensor.expand_shape %x [[0], [1], [2, 3]] output_shape [1, 4, 2, 4] : tensor<1x4x8xf32> into tensor<1x4x2x4xf32>
  %y = ssm.attention %q, %q, %q {causal} : (tensor<1x4x2x4xf32>, tensor<1x4x2x4xf32>, tensor<1x4x2x4xf32>) -> tensor<1x4x2x4xf32>
  %o = tensor.collapse_shape %y [[0], [1], [2, 3]] : tensor<1x4x2x4xf32> into tensor<1x4x8xf32>
  %e = tensor.empty() : tensor<1x4x8xf32>
  %r = linalg.add ins(%x, %o : tensor<1x4x8xf32>, tensor<1x4x8xf32>) outs(%e : tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  %m = linalg.mul ins(%r, %w : tensor<1x4x8xf32>, tensor<1x4x8xf32>) outs(%e : tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  %x1 = linalg.add ins(%m, %r : tensor<1x4x8xf32>, tensor<1x4x8xf32>) outs(%e : tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  %q1 = tensor.expand_shape %x1 [[0], [1], [2, 3]] output_shape [1, 4, 2, 4] : tensor<1x4x8xf32> into tensor<1x4x2x4xf32>
  %y1 = ssm.attention %q1, %q1, %q1 {causal} : (tensor<1x4x2x4xf32>, tensor<1x4x2x4xf32>, tensor<1x4x2x4xf32>) -> tensor<1x4x2x4xf32>
  %o1 = tensor.collapse_shape %y1 [[0], [1], [2, 3]] : tensor<1x4x2x4xf32> into tensor<1x4x8xf32>
  %r1 = linalg.add ins(%x1, %o1 : tensor<1x4x8xf32>, tensor<1x4x8xf32>) outs(%e : tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  %f = linalg.mul ins(%r1, %r1 : tensor<1x4x8xf32>, tensor<1x4x8xf32>) outs(%e : tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  return %f : tensor<1x4x8xf32>
}
