// RUN: ssm-opt %s --ssm-fold-transposes --split-input-file | FileCheck %s

// MatMul(x, Transpose(W)) with W (n, k): the contraction reads W in place
// through the composed map (n, k) and the transpose is gone.
// CHECK-DAG: #[[W:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-LABEL: func.func @lm_head(
// CHECK-SAME: %[[X:.*]]: tensor<?x16xf32>, %[[W0:.*]]: tensor<64x16xf32>
// CHECK-NOT: linalg.transpose
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[W]], #{{.*}}], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME: ins(%[[X]], %[[W0]] : tensor<?x16xf32>, tensor<64x16xf32>)
func.func @lm_head(%x: tensor<?x16xf32>, %w: tensor<64x16xf32>, %c: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %e = tensor.empty() : tensor<16x64xf32>
  %wt = linalg.transpose ins(%w : tensor<64x16xf32>) outs(%e : tensor<16x64xf32>) permutation = [1, 0]
  %r = linalg.generic {
      indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                       affine_map<(m, n, k) -> (k, n)>,
                       affine_map<(m, n, k) -> (m, n)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %wt : tensor<?x16xf32>, tensor<16x64xf32>)
      outs(%c : tensor<?x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// -----

// A rank-3 permutation: t = x with dims 1 and 2 swapped, read as t[b, l, h]
// by a reduction over l, is x[b, h, l]: the identity map on x.
// CHECK-DAG: #[[IN:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @rank3
// CHECK-NOT: linalg.transpose
// CHECK: linalg.generic {indexing_maps = [#[[IN]], #{{.*}}]{{.*}} ins(%arg0 : tensor<2x3x5xf32>)
func.func @rank3(%x: tensor<2x3x5xf32>, %c: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %e = tensor.empty() : tensor<2x5x3xf32>
  %t = linalg.transpose ins(%x : tensor<2x3x5xf32>) outs(%e : tensor<2x5x3xf32>) permutation = [0, 2, 1]
  %r = linalg.generic {
      indexing_maps = [affine_map<(b, h, l) -> (b, l, h)>,
                       affine_map<(b, h, l) -> (b, h)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%t : tensor<2x5x3xf32>) outs(%c : tensor<2x3xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %acc, %a : f32
    linalg.yield %s : f32
  } -> tensor<2x3xf32>
  return %r : tensor<2x3xf32>
}

// -----

// An elementwise consumer keeps its transposed operand; a transpose with
// another user stays for it.
// CHECK-LABEL: func.func @elementwise_kept
// CHECK: %[[T:.*]] = linalg.transpose
// CHECK: linalg.generic {{.*}} ins(%[[T]] : tensor<4x2xf32>)
// CHECK: linalg.generic {{.*}} ins(%arg0 : tensor<2x4xf32>)
// CHECK: return
func.func @elementwise_kept(%x: tensor<2x4xf32>) -> (tensor<4x2xf32>, tensor<4xf32>) {
  %e = tensor.empty() : tensor<4x2xf32>
  %t = linalg.transpose ins(%x : tensor<2x4xf32>) outs(%e : tensor<4x2xf32>) permutation = [1, 0]
  %r = linalg.generic {
      indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
      iterator_types = ["parallel", "parallel"]}
      ins(%t : tensor<4x2xf32>) outs(%e : tensor<4x2xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.mulf %a, %a : f32
    linalg.yield %s : f32
  } -> tensor<4x2xf32>
  %z = tensor.empty() : tensor<4xf32>
  %s = linalg.generic {
      indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>],
      iterator_types = ["parallel", "reduction"]}
      ins(%t : tensor<4x2xf32>) outs(%z : tensor<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %q = arith.addf %o, %a : f32
    linalg.yield %q : f32
  } -> tensor<4xf32>
  return %r, %s : tensor<4x2xf32>, tensor<4xf32>
}
