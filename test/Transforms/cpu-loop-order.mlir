// RUN: ssm-opt %s --ssm-cpu-loop-order --split-input-file | FileCheck %s

// A matrix product iterating (m, n, k) with k innermost becomes (m, k, n):
// n, the last index of both the output and B, moves innermost; the body is
// unchanged.
// CHECK-DAG: #[[A:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[B:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[C:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-LABEL: func.func @matmul
// CHECK: linalg.generic {indexing_maps = [#[[A]], #[[B]], #[[C]]], iterator_types = ["parallel", "reduction", "parallel"]}
// CHECK: arith.mulf
// CHECK: arith.addf
func.func @matmul(%a: tensor<?x16xf32>, %b: tensor<16x32xf32>,
                  %c: tensor<?x32xf32>) -> tensor<?x32xf32> {
  %r = linalg.generic {
      indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                       affine_map<(m, n, k) -> (k, n)>,
                       affine_map<(m, n, k) -> (m, n)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<?x16xf32>, tensor<16x32xf32>)
      outs(%c : tensor<?x32xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x32xf32>
  return %r : tensor<?x32xf32>
}

// -----

// linalg.index follows its loop through the interchange: j is now loop 2
// and k loop 1.
// CHECK-DAG: #[[J:.*]] = affine_map<(d0, d1, d2) -> (d2)>
// CHECK-DAG: #[[K:.*]] = affine_map<(d0, d1, d2) -> (d1)>
// CHECK-LABEL: func.func @indexed
// CHECK: iterator_types = ["parallel", "reduction", "parallel"]
// CHECK: affine.apply #[[J]](
// CHECK: affine.apply #[[K]](
func.func @indexed(%a: tensor<8x4xf32>, %c: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %r = linalg.generic {
      indexing_maps = [affine_map<(i, j, k) -> (k, j)>,
                       affine_map<(i, j, k) -> (i, j)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a : tensor<8x4xf32>) outs(%c : tensor<4x4xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %j = linalg.index 1 : index
    %k = linalg.index 2 : index
    %s = arith.addf %acc, %x : f32
    linalg.yield %s : f32
  } -> tensor<4x4xf32>
  return %r : tensor<4x4xf32>
}

// -----

// A row reduction keeps its order: the output's last index (i) is not the
// last index of the input, so moving it innermost would stride the input.
// Its sum may be reassociated, so that LLVM vectorizes it.
// CHECK-LABEL: func.func @row_sum
// CHECK: iterator_types = ["parallel", "reduction"]
// CHECK: arith.addf %{{.*}}, %{{.*}} fastmath<reassoc,contract> : f32
func.func @row_sum(%a: tensor<?x64xf32>, %c: tensor<?xf32>) -> tensor<?xf32> {
  %r = linalg.generic {
      indexing_maps = [affine_map<(i, j) -> (i, j)>,
                       affine_map<(i, j) -> (i)>],
      iterator_types = ["parallel", "reduction"]}
      ins(%a : tensor<?x64xf32>) outs(%c : tensor<?xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %s = arith.addf %acc, %x : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  return %r : tensor<?xf32>
}

// -----

// Already parallel innermost: unchanged.
// CHECK-LABEL: func.func @scale
// CHECK: linalg.generic {indexing_maps = [#[[M:.*]], #[[M]]], iterator_types = ["parallel", "parallel"]}
func.func @scale(%a: tensor<8x8xf32>, %c: tensor<8x8xf32>) -> tensor<8x8xf32> {
  %r = linalg.generic {
      indexing_maps = [affine_map<(i, j) -> (i, j)>,
                       affine_map<(i, j) -> (i, j)>],
      iterator_types = ["parallel", "parallel"]}
      ins(%a : tensor<8x8xf32>) outs(%c : tensor<8x8xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %s = arith.mulf %x, %x : f32
    linalg.yield %s : f32
  } -> tensor<8x8xf32>
  return %r : tensor<8x8xf32>
}

// -----

// A product with B transposed (C[m, n] += A[m, k] B[n, k], the LM head of
// tied embeddings): no parallel loop is contiguous in the output and an
// input, so k stays innermost as a dot product whose sum may be
// reassociated (the multiply may fuse into an FMA), and the loops of the
// largest input (B, n) go outermost, so B is streamed once while A stays in
// cache: (n, m, k).
// CHECK-DAG: #[[A:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[B:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[C:.*]] = affine_map<(d0, d1, d2) -> (d1, d0)>
// CHECK-LABEL: func.func @matmul_transposed_b
// CHECK: linalg.generic {indexing_maps = [#[[A]], #[[B]], #[[C]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK: %[[P:.*]] = arith.mulf %{{.*}}, %{{.*}} fastmath<contract> : f32
// CHECK: arith.addf %{{.*}}, %[[P]] fastmath<reassoc,contract> : f32
func.func @matmul_transposed_b(%a: tensor<?x16xf32>, %b: tensor<64x16xf32>,
                               %c: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %r = linalg.generic {
      indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                       affine_map<(m, n, k) -> (n, k)>,
                       affine_map<(m, n, k) -> (m, n)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<?x16xf32>, tensor<64x16xf32>)
      outs(%c : tensor<?x64xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// -----

// The same with A the largest input: the order stays (m, n, k).
// CHECK-DAG: #[[A:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-LABEL: func.func @matmul_transposed_b_small
// CHECK: linalg.generic {indexing_maps = [#[[A]], {{.*}}], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK: arith.addf %{{.*}}, %{{.*}} fastmath<reassoc,contract> : f32
func.func @matmul_transposed_b_small(%a: tensor<128x16xf32>, %b: tensor<4x16xf32>,
                                     %c: tensor<128x4xf32>) -> tensor<128x4xf32> {
  %r = linalg.generic {
      indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                       affine_map<(m, n, k) -> (n, k)>,
                       affine_map<(m, n, k) -> (m, n)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<128x16xf32>, tensor<4x16xf32>)
      outs(%c : tensor<128x4xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<128x4xf32>
  return %r : tensor<128x4xf32>
}

// -----

// A projection on buffers, x (b, l, 256) times weights (256, 512), static
// and of 128K elements: the rows (b, l) are blocked by 8 (scf.for over
// blocks, affine.min for the last one) and each block iterates (k, b, l, n),
// so every weight row is read once per block.
// CHECK-LABEL: func.func @projection
// CHECK: scf.for %[[B:.*]] = %{{.*}} to %{{.*}} step %c8
// CHECK: scf.for %[[L:.*]] = %{{.*}} to %{{.*}} step %c8
// CHECK: memref.subview %{{.*}}[%[[B]], %[[L]], 0]
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction", "parallel", "parallel", "parallel"]
// CHECK-SAME: ins(%{{.*}}, %{{.*}} : memref<?x?x256xf32, strided<[?, 256, 1], offset: ?>>, memref<256x512xf32>)
func.func @projection(%x: memref<?x?x256xf32>, %w: memref<256x512xf32>, %y: memref<?x?x512xf32>) {
  linalg.generic {
      indexing_maps = [affine_map<(b, l, n, k) -> (b, l, k)>,
                       affine_map<(b, l, n, k) -> (k, n)>,
                       affine_map<(b, l, n, k) -> (b, l, n)>],
      iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x?x256xf32>, memref<256x512xf32>)
      outs(%y : memref<?x?x512xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Small weights (below 64K elements) are not blocked.
// CHECK-LABEL: func.func @small_projection
// CHECK-NOT: scf.for
// CHECK: iterator_types = ["parallel", "parallel", "reduction", "parallel"]
func.func @small_projection(%x: memref<?x?x16xf32>, %w: memref<16x32xf32>, %y: memref<?x?x32xf32>) {
  linalg.generic {
      indexing_maps = [affine_map<(b, l, n, k) -> (b, l, k)>,
                       affine_map<(b, l, n, k) -> (k, n)>,
                       affine_map<(b, l, n, k) -> (b, l, n)>],
      iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x?x16xf32>, memref<16x32xf32>)
      outs(%y : memref<?x?x32xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
