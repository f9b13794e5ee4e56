// RUN: ssm-opt %s --split-input-file --ssm-cpu-contraction-kernels="rows=2 vectors=1 vector-width=4 dot-rows=2 dot-cols=2 block-rows=3 narrow-panels=1 prefetch-rows=0 dot-block-k=0 parallel=0" | FileCheck %s
// RUN: ssm-opt %s --split-input-file --ssm-cpu-contraction-kernels="rows=2 vectors=1 vector-width=4 dot-rows=2 dot-cols=2 block-rows=3 narrow-panels=1 prefetch-rows=0 dot-block-k=0" | FileCheck %s --check-prefix=PAR
// RUN: ssm-opt %s --split-input-file --ssm-cpu-contraction-kernels="rows=2 vectors=1 vector-width=4 dot-rows=2 dot-cols=2 block-rows=3 narrow-panels=1 prefetch-rows=0 dot-block-k=6 parallel=0" | FileCheck %s --check-prefix=BLK
// RUN: ssm-opt %s --split-input-file --ssm-cpu-contraction-kernels="rows=2 vectors=1 vector-width=4 dot-rows=2 dot-cols=2 block-rows=3 narrow-panels=1 prefetch-rows=0 block-k=2 parallel=0" | FileCheck %s --check-prefix=KBLK
// RUN: ssm-opt %s --split-input-file --ssm-cpu-contraction-kernels="rows=2 vectors=1 vector-width=4 block-rows=3 narrow-panels=2 prefetch-rows=2 parallel=0" | FileCheck %s --check-prefix=PANELS
// RUN: not ssm-opt %s --split-input-file --ssm-cpu-contraction-kernels="rows=0" 2>&1 | FileCheck %s --check-prefix=ERR
// RUN: not ssm-opt %s --split-input-file --ssm-cpu-contraction-kernels="prefetch-rows=-1" 2>&1 | FileCheck %s --check-prefix=ERR
// RUN: not ssm-opt %s --split-input-file --ssm-cpu-contraction-kernels="narrow-panels=0" 2>&1 | FileCheck %s --check-prefix=ERR

// ERR: ssm-cpu-contraction-kernels: tile sizes must be positive

// A projection x W over (batch, seq) rows with W as (k, n): the rows of both
// loops are one linear row index, in blocks of 4 rows (block-rows 3 rounded
// up to a multiple of the 2 tile rows); the tile keeps 2 rows x 1 vector in
// registers over k (iter_args), each row's x value broadcast into an FMA
// with W's row k. Inside a block of rows, one loop visits the blocks of
// columns (the work items split between threads with parallel=1). 8 columns
// are 2 full vectors: no masked tail. A single row (a decode step) gets
// tiles of one row instead (the full tile would compute clamped duplicates
// of it): the row count decides at run time.

// CHECK-LABEL: func.func @projection
// CHECK-SAME: (%[[X:.*]]: memref<?x?x5xf32>, %[[W:.*]]: memref<5x8xf32>, %[[Y:.*]]: memref<?x?x8xf32>)
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[B:.*]] = memref.dim %[[X]], %c0
// CHECK-DAG: %[[L:.*]] = memref.dim %[[X]], %c1
// CHECK: %[[ROWS:.*]] = arith.muli %{{.*}}, %[[L]]
// CHECK: %[[ONE:.*]] = arith.cmpi eq, %[[ROWS]], %c1
// CHECK: scf.if %[[ONE]] {
// CHECK: scf.for %{{.*}} iter_args(%{{.*}} = %{{.*}}) -> (vector<4xf32>) {
// CHECK: vector.fma
// CHECK-NEXT: scf.yield
// CHECK: } else {
// CHECK: scf.for %[[START:[a-z0-9_]+]] = %{{.*}} to %[[ROWS]] step %[[C4]] {
// CHECK: %[[END:.*]] = arith.minui %{{.*}}, %[[ROWS]]
// CHECK: scf.for %[[ITEM:[a-z0-9_]+]] = %c0{{.*}} to %[[C2:.*]] step %c1{{.*}} {
// CHECK: %[[BLOCK:.*]] = arith.remui %[[ITEM]], %[[C2]]
// CHECK: %[[COL:.*]] = arith.muli %[[BLOCK]], %[[C4]]
// CHECK: scf.for %[[FIRST:[a-z0-9_]+]] = %[[START]] to %[[END]] step %[[C2]] {
// CHECK: %[[LAST:.*]] = arith.subi %[[END]], %c1
// CHECK: %[[R0:.*]] = arith.minui %{{.*}}, %[[LAST]]
// CHECK: %[[S0:.*]] = arith.remui %[[R0]], %[[L]]
// CHECK: %[[B0:.*]] = arith.divui %[[R0]], %[[L]]
// CHECK: %[[R1:.*]] = arith.minui %{{.*}}, %[[LAST]]
// CHECK: %[[S1:.*]] = arith.remui %[[R1]], %[[L]]
// CHECK: %[[B1:.*]] = arith.divui %[[R1]], %[[L]]
// CHECK: %[[I0:.*]] = vector.load %[[Y]][%[[B0]], %[[S0]], %[[COL]]] : memref<?x?x8xf32>, vector<4xf32>
// CHECK: %[[I1:.*]] = vector.load %[[Y]][%[[B1]], %[[S1]], %[[COL]]]
// CHECK: %[[ACC:.*]]:2 = scf.for %[[K:[a-z0-9_]+]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[A0:[a-z0-9_]+]] = %[[I0]], %[[A1:[a-z0-9_]+]] = %[[I1]]) -> (vector<4xf32>, vector<4xf32>) {
// CHECK: %[[WK:.*]] = vector.load %[[W]][%[[K]], %[[COL]]] : memref<5x8xf32>, vector<4xf32>
// CHECK: %[[X0:.*]] = memref.load %[[X]][%[[B0]], %[[S0]], %[[K]]]
// CHECK: %[[X0V:.*]] = vector.broadcast %[[X0]] : f32 to vector<4xf32>
// CHECK: %[[F0:.*]] = vector.fma %[[X0V]], %[[WK]], %[[A0]] : vector<4xf32>
// CHECK: %[[X1:.*]] = memref.load %[[X]][%[[B1]], %[[S1]], %[[K]]]
// CHECK: %[[X1V:.*]] = vector.broadcast %[[X1]]
// CHECK: %[[F1:.*]] = vector.fma %[[X1V]], %[[WK]], %[[A1]]
// CHECK: scf.yield %[[F0]], %[[F1]]
// CHECK: vector.store %[[ACC]]#0, %[[Y]][%[[B0]], %[[S0]], %[[COL]]]
// CHECK: vector.store %[[ACC]]#1, %[[Y]][%[[B1]], %[[S1]], %[[COL]]]
// CHECK-NOT: linalg.generic
// With parallel=1 the loop over the work items is the private function
// __ssm_kernel(begin, end, cost, values...), marked ssm.parallel_body and
// called once with the whole range [0, 2) and the cost rows x 8 x 5 (rows =
// batch x seq). Constants are copied in; the operands, sizes and row count
// are passed.
// PAR-LABEL: func.func @projection
// PAR-SAME: (%[[X:.*]]: memref<?x?x5xf32>, %[[W:.*]]: memref<5x8xf32>, %[[Y:.*]]: memref<?x?x8xf32>)
// PAR-DAG: %[[B:.*]] = memref.dim %[[X]], %c0
// PAR-DAG: %[[L:.*]] = memref.dim %[[X]], %c1
// PAR: %[[ROWS:.*]] = arith.muli %[[B]], %[[L]]
// PAR: %[[R8:.*]] = arith.muli %[[ROWS]], %c8
// PAR: %[[COST:.*]] = arith.muli %[[R8]], %c5
// PAR: call @__ssm_kernel(%c0{{.*}}, %c2{{.*}}, %[[COST]], %[[ROWS]], %[[L]], %[[Y]], %[[W]], %[[X]]) : (index, index, index, index, index, memref<?x?x8xf32>, memref<5x8xf32>, memref<?x?x5xf32>) -> ()
// PAR-NOT: scf.for
// PAR: return
// PAR: func.func private @__ssm_kernel(%[[BEGIN:.*]]: index, %[[END:.*]]: index, %{{.*}}: index, %[[PROWS:.*]]: index, %{{.*}}: index, %[[PY:.*]]: memref<?x?x8xf32>, %[[PW:.*]]: memref<5x8xf32>, %[[PX:.*]]: memref<?x?x5xf32>) attributes {llvm.linkage = #llvm.linkage<internal>, ssm.parallel_body}
// PAR: scf.for %{{.*}} = %c0{{.*}} to %[[PROWS]] step %c4
// PAR: scf.for %{{.*}} = %[[BEGIN]] to %[[END]] step %c1
// PAR: vector.fma
// PAR: return
func.func @projection(%x: memref<?x?x5xf32>, %w: memref<5x8xf32>,
                      %y: memref<?x?x8xf32>) {
  linalg.generic {
      indexing_maps = [affine_map<(b, l, n, k) -> (b, l, k)>,
                       affine_map<(b, l, n, k) -> (k, n)>,
                       affine_map<(b, l, n, k) -> (b, l, n)>],
      iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x?x5xf32>, memref<5x8xf32>)
      outs(%y : memref<?x?x8xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// 6 columns: one full block of 4, then a partial one: the column block
// decides, and the partial one is masked (2 lanes) in the loads of y and W
// and the store of y.
// CHECK-LABEL: func.func @column_tail
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[C6:.*]] = arith.constant 6 : index
// CHECK: scf.for %[[ITEM:[a-z0-9_]+]] = %{{.*}} to %[[C2]] step
// CHECK: %[[BLOCK:.*]] = arith.remui %[[ITEM]], %[[C2]]
// CHECK: %[[COL:.*]] = arith.muli %[[BLOCK]], %[[C4]]
// CHECK: %[[ISFULL:.*]] = arith.cmpi ult, %[[COL]], %[[C4]]
// CHECK: scf.if %[[ISFULL]] {
// CHECK-NOT: vector.maskedload
// CHECK: vector.load %{{.*}}[%{{.*}}, %[[COL]]]
// CHECK-NOT: vector.maskedload
// CHECK: vector.store
// CHECK: } else {
// CHECK: %[[LEFT:.*]] = arith.subi %[[C6]], %[[COL]]
// CHECK: %[[MASK:.*]] = vector.create_mask %[[LEFT]] : vector<4xi1>
// CHECK: vector.maskedload %{{.*}}[%{{.*}}, %[[COL]]], %[[MASK]], %{{.*}} : memref<?x6xf32>
// CHECK: scf.for
// CHECK: vector.maskedload %{{.*}}[%{{.*}}, %[[COL]]], %[[MASK]], %{{.*}} : memref<3x6xf32>
// CHECK: vector.fma
// CHECK: vector.maskedstore %{{.*}}[%{{.*}}, %[[COL]]], %[[MASK]]
func.func @column_tail(%x: memref<?x3xf32>, %w: memref<3x6xf32>,
                       %y: memref<?x6xf32>) {
  linalg.generic {
      indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                       affine_map<(m, n, k) -> (k, n)>,
                       affine_map<(m, n, k) -> (m, n)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x3xf32>, memref<3x6xf32>)
      outs(%y : memref<?x6xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %b, %a : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// The LM head of tied embeddings, x E^T with E as (n, k): the dot-product
// kernel. Vectors run along k in both operands; 2 x 2 partial sums per
// tile, reduced (reassociated) into y after the loop; the k indices past
// the last full vector (k is dynamic) are a masked step under a test.
// Columns past the end are clamped to the last one (n - 1 = 4). All old
// values of y are read before any is written (clamped duplicates store
// the same sum).
// CHECK-LABEL: func.func @tied_head
// CHECK-SAME: (%[[X:.*]]: memref<?x?xf32>, %[[E:.*]]: memref<5x?xf32>, %[[Y:.*]]: memref<?x5xf32>)
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[ROWS:.*]] = memref.dim %[[X]], %c0
// CHECK-DAG: %[[K:.*]] = memref.dim %[[X]], %c1
// A single row (a decode step) gets tiles of one row: one vector of x per
// step, no duplicate rows; more rows get the full tile.
// CHECK: %[[ONE:.*]] = arith.cmpi eq, %[[ROWS]], %c1
// CHECK: scf.if %[[ONE]] {
// CHECK: scf.for %{{.*}} step %c1 {
// CHECK: scf.for %{{.*}} -> (vector<4xf32>, vector<4xf32>) {
// CHECK-NEXT: vector.load %[[X]]
// CHECK-NEXT: vector.load %[[E]]
// CHECK-NEXT: vector.load %[[E]]
// CHECK-NEXT: vector.fma
// CHECK-NEXT: vector.fma
// CHECK-NEXT: scf.yield
// CHECK: } else {
// CHECK: scf.for %[[ITEM:[a-z0-9_]+]] = %{{.*}} to %[[C3:.*]] step %c1
// CHECK: %[[BLOCK:.*]] = arith.remui %[[ITEM]], %[[C3]]
// CHECK: %[[COL:.*]] = arith.muli %[[BLOCK]], %c2
// CHECK: scf.for %{{.*}} step %c2 {
// CHECK: %[[N0:.*]] = arith.minui %[[COL]], %[[C4]]
// CHECK: %[[C1:.*]] = arith.addi %[[COL]], %c1
// CHECK: %[[N1:.*]] = arith.minui %[[C1]], %[[C4]]
// CHECK: %[[REM:.*]] = arith.remui %[[K]], %[[C4]]
// CHECK: %[[FULL:.*]] = arith.subi %[[K]], %[[REM]]
// CHECK: %[[SUMS:.*]]:4 = scf.for %[[KI:[a-z0-9]+]] = %{{.*}} to %[[FULL]] step %[[C4]] iter_args(
// CHECK: %[[A0:.*]] = vector.load %[[X]][%{{.*}}, %[[KI]]] : memref<?x?xf32>, vector<4xf32>
// CHECK: %[[A1:.*]] = vector.load %[[X]][%{{.*}}, %[[KI]]]
// CHECK: %[[E0:.*]] = vector.load %[[E]][%[[N0]], %[[KI]]] : memref<5x?xf32>, vector<4xf32>
// CHECK: %[[E1:.*]] = vector.load %[[E]][%[[N1]], %[[KI]]]
// CHECK: vector.fma %[[A0]], %[[E0]]
// CHECK: vector.fma %[[A0]], %[[E1]]
// CHECK: vector.fma %[[A1]], %[[E0]]
// CHECK: vector.fma %[[A1]], %[[E1]]
// CHECK: scf.yield
// CHECK: %[[PARTIAL:.*]] = arith.cmpi ult, %[[FULL]], %[[K]]
// CHECK: %[[TAIL:.*]]:4 = scf.if %[[PARTIAL]]
// CHECK: %[[LEFT:.*]] = arith.subi %[[K]], %[[FULL]]
// CHECK: vector.create_mask %[[LEFT]]
// CHECK-COUNT-4: vector.maskedload
// CHECK-COUNT-4: vector.fma
// CHECK: } else {
// CHECK: scf.yield %[[SUMS]]#0, %[[SUMS]]#1, %[[SUMS]]#2, %[[SUMS]]#3
// CHECK: %[[OLD0:.*]] = memref.load %[[Y]][%{{.*}}, %[[N0]]]
// CHECK-COUNT-3: memref.load %[[Y]]
// CHECK: %[[S0:.*]] = vector.reduction <add>, %[[TAIL]]#0, %[[OLD0]] fastmath<reassoc> : vector<4xf32> into f32
// CHECK: memref.store %[[S0]], %[[Y]][%{{.*}}, %[[N0]]]
// CHECK-COUNT-3: vector.reduction <add>
func.func @tied_head(%x: memref<?x?xf32>, %e: memref<5x?xf32>,
                     %y: memref<?x5xf32>) {
  linalg.generic {
      indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                       affine_map<(m, n, k) -> (n, k)>,
                       affine_map<(m, n, k) -> (m, n)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %e : memref<?x?xf32>, memref<5x?xf32>)
      outs(%y : memref<?x5xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A batched product (the SSD chunk product C B^T per head, heads of B from
// groups): the head loop, used by B, is part of the work items (4 heads x 2
// column blocks); the group index stays an affine map of it.
// CHECK-DAG: #[[GROUP:.*]] = affine_map<(d0) -> (d0 floordiv 2)>
// CHECK-LABEL: func.func @batched
// CHECK: scf.for %[[ITEM:[a-z0-9_]+]] = %{{.*}} to %c8{{.*}} step %c1
// CHECK: %[[H:.*]] = arith.divui %[[ITEM]], %c2
// CHECK: scf.for
// CHECK: scf.for %[[K:[a-z0-9_]+]] =
// CHECK: %[[G:.*]] = affine.apply #[[GROUP]](%[[H]])
// CHECK: vector.load %{{.*}}[%[[G]], %[[K]], %{{.*}}] : memref<2x3x8xf32>
func.func @batched(%x: memref<4x?x3xf32>, %w: memref<2x3x8xf32>,
                   %y: memref<4x?x8xf32>) {
  linalg.generic {
      indexing_maps = [affine_map<(h, m, n, k) -> (h, m, k)>,
                       affine_map<(h, m, n, k) -> (h floordiv 2, k, n)>,
                       affine_map<(h, m, n, k) -> (h, m, n)>],
      iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<4x?x3xf32>, memref<2x3x8xf32>)
      outs(%y : memref<4x?x8xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A matrix-vector product has no row loop: the tile is one row.
// CHECK-LABEL: func.func @matvec
// CHECK: %[[INIT:.*]] = vector.load %{{.*}}[%[[N:.*]]] : memref<8xf32>, vector<4xf32>
// CHECK: %[[ACC:[a-z0-9_]+]] = scf.for %{{.*}} iter_args(%{{.*}} = %[[INIT]]) -> (vector<4xf32>)
// CHECK: vector.store %[[ACC]], %{{.*}}[%[[N]]]
func.func @matvec(%x: memref<3xf32>, %w: memref<3x8xf32>, %y: memref<8xf32>) {
  linalg.generic {
      indexing_maps = [affine_map<(n, k) -> (k)>,
                       affine_map<(n, k) -> (k, n)>,
                       affine_map<(n, k) -> (n)>],
      iterator_types = ["parallel", "reduction"]}
      ins(%x, %w : memref<3xf32>, memref<3x8xf32>)
      outs(%y : memref<8xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// dot-block-k: the dot-product kernel visits the reduction in blocks
// (6 rounded up to 8, two vectors), all columns per block, so that the
// block of rows of x stays in the cache; each block's sums are added to y.
// With k static and a multiple of the vector width (20), every block is
// whole vectors: no masked tail. With k dynamic, the tail of each block is
// masked under a test.
// BLK-LABEL: func.func @tied_head_blocked
// BLK: scf.for %[[K0:[a-z0-9_]+]] = %c0 to %c20 step %c8 {
// BLK: %[[END:.*]] = arith.addi %[[K0]], %c8
// BLK: %[[K1:.*]] = arith.minui %[[END]], %c20
// BLK: scf.for %{{.*}} = %[[K0]] to %[[K1]] step %c4 iter_args(
// BLK-NOT: vector.maskedload
// BLK: %[[OLD:.*]] = memref.load %{{.*}}
// BLK: vector.reduction <add>, %{{.*}}, %[[OLD]] fastmath<reassoc>
// BLK-LABEL: func.func @tied_head_blocked_dynamic
// BLK: %[[K:.*]] = memref.dim %{{.*}}, %c1
// BLK: scf.for %[[D0:[a-z0-9_]+]] = %c0 to %[[K]] step %c8 {
// BLK: %[[DE:.*]] = arith.addi %[[D0]], %c8
// BLK: %[[D1:.*]] = arith.minui %[[DE]], %[[K]]
// BLK: %[[LEN:.*]] = arith.subi %[[D1]], %[[D0]]
// BLK: %[[REM:.*]] = arith.remui %[[LEN]], %c4
// BLK: %[[FULL:.*]] = arith.subi %[[D1]], %[[REM]]
// BLK: scf.for %{{.*}} = %[[D0]] to %[[FULL]] step %c4 iter_args(
// BLK: arith.cmpi ult, %[[FULL]], %[[D1]]
// BLK: vector.maskedload
func.func @tied_head_blocked(%x: memref<?x20xf32>, %e: memref<5x20xf32>,
                             %y: memref<?x5xf32>) {
  linalg.generic {
      indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                       affine_map<(m, n, k) -> (n, k)>,
                       affine_map<(m, n, k) -> (m, n)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %e : memref<?x20xf32>, memref<5x20xf32>)
      outs(%y : memref<?x5xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

func.func @tied_head_blocked_dynamic(%x: memref<?x?xf32>, %e: memref<5x?xf32>,
                                     %y: memref<?x5xf32>) {
  linalg.generic {
      indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                       affine_map<(m, n, k) -> (n, k)>,
                       affine_map<(m, n, k) -> (m, n)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %e : memref<?x?xf32>, memref<5x?xf32>)
      outs(%y : memref<?x5xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A weight stored in panels by ssm-transpose-constant-weights: W (k, n) as
// (n floordiv 8, k, n mod 8), 12 columns in 2 panels (the second padded
// with zeros). A block of columns is one panel (2 vectors of 4); B's
// vectors are read from panel col / 8 at offsets 0 and 4 along the panel,
// unmasked even in the last, partial panel (the padding is zeros), where
// only y's loads and stores are masked.
// CHECK-LABEL: func.func @paneled
// CHECK-SAME: (%[[X:.*]]: memref<?x5xf32>, %[[W:.*]]: memref<2x5x8xf32>, %[[Y:.*]]: memref<?x12xf32>)
// CHECK: %[[COL:.*]] = arith.muli %{{.*}}, %c8
// CHECK: %[[ISFULL:.*]] = arith.cmpi ult, %[[COL]], %c8
// CHECK: scf.if %[[ISFULL]] {
// CHECK: %[[P:.*]] = arith.divui %[[COL]], %c8
// CHECK: scf.for %[[K:[a-z0-9_]+]] = %c0 to %c5 step %c1 iter_args(
// CHECK-NEXT: vector.load %[[W]][%[[P]], %[[K]], %c0] : memref<2x5x8xf32>, vector<4xf32>
// CHECK-NEXT: vector.load %[[W]][%[[P]], %[[K]], %c4] : memref<2x5x8xf32>, vector<4xf32>
// CHECK: } else {
// CHECK: %[[PP:.*]] = arith.divui %[[COL]], %c8
// CHECK: vector.create_mask
// CHECK: vector.maskedload %[[Y]]
// CHECK: scf.for %[[KK:[a-z0-9_]+]] = %c0 to %c5 step %c1 iter_args(
// CHECK-NEXT: vector.load %[[W]][%[[PP]], %[[KK]], %c0] : memref<2x5x8xf32>, vector<4xf32>
// CHECK-NEXT: vector.load %[[W]][%[[PP]], %[[KK]], %c4] : memref<2x5x8xf32>, vector<4xf32>
// CHECK: vector.maskedstore %[[Y]]
// With block-k = 2 the reduction runs in blocks [k0, min(k0 + 2, 5)), each
// block's sums added to y (loaded before, stored after each block).
// KBLK-LABEL: func.func @paneled
// KBLK: scf.for %[[K0:[a-z0-9_]+]] = %c0 to %c5 step %c2 {
// KBLK: %[[KE:.*]] = arith.addi %[[K0]], %c2
// KBLK: %[[K1:.*]] = arith.minui %[[KE]], %c5
// KBLK: vector.load %{{.*}} : memref<?x12xf32>
// KBLK: scf.for %{{.*}} = %[[K0]] to %[[K1]] step %c1 iter_args(
// KBLK: vector.store %{{.*}} : memref<?x12xf32>
// With the PANELS options, the first tile of a block of rows prefetches each panel's row
// k + 2 (clamped to the last row, 4); the tiles after it do not (they find
// the panel in the cache).
// PANELS-LABEL: func.func @paneled
// PANELS: } else {
// PANELS: scf.for %[[ROWS:[a-z0-9_]+]] = %c0 to %{{.*}} step %c4 {
// PANELS: scf.for %[[K:[a-z0-9_]+]] = %c0 to %c5 step %c1 iter_args(
// PANELS-NEXT: %[[KA:.*]] = arith.addi %[[K]], %c2
// PANELS-NEXT: %[[KP:.*]] = arith.minui %[[KA]], %c4
// PANELS-NEXT: memref.prefetch %{{.*}}[%{{.*}}, %[[KP]], %c0], read, locality<3>, data
// PANELS-NEXT: memref.prefetch %{{.*}}[%{{.*}}, %[[KP]], %c4], read, locality<3>, data
// PANELS-NEXT: vector.load
// PANELS: scf.for %[[FIRST:[a-z0-9_]+]] = %{{.*}} to %{{.*}} step %c2 {
// PANELS-NOT: memref.prefetch
// PANELS: } else {
func.func @paneled(%x: memref<?x5xf32>, %w: memref<2x5x8xf32>,
                   %y: memref<?x12xf32>) {
  linalg.generic {
      indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                       affine_map<(m, n, k) -> (n floordiv 8, k, n mod 8)>,
                       affine_map<(m, n, k) -> (m, n)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x5xf32>, memref<2x5x8xf32>)
      outs(%y : memref<?x12xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Scaled products, as the chunked SSD writes them (the chunk states
// sum_l x[l, p] B[l, n] decay[l], the state outputs sum_n C[l, n] S[n, p]
// exp(cum[l])): the three factors in any order.
// A scale per reduction index multiplies B's row k once per step, shared
// by the tile's rows; here the inputs are (scale, B, A).
// CHECK-LABEL: func.func @scaled_along_k
// CHECK-SAME: (%[[S:.*]]: memref<5xf32>, %[[W:.*]]: memref<5x8xf32>, %[[X:.*]]: memref<?x5xf32>, %[[Y:.*]]: memref<?x8xf32>)
// CHECK: } else {
// CHECK: scf.for %[[K:[a-z0-9_]+]] = %c0 to %c5 step %c1 iter_args(
// CHECK-NEXT: %[[WK:.*]] = vector.load %[[W]][%[[K]], %{{.*}}]
// CHECK-NEXT: %[[SK:.*]] = memref.load %[[S]][%[[K]]]
// CHECK-NEXT: %[[SV:.*]] = vector.broadcast %[[SK]]
// CHECK-NEXT: %[[WS:.*]] = arith.mulf %[[WK]], %[[SV]] : vector<4xf32>
// CHECK-NEXT: memref.load %[[X]]
// CHECK-NEXT: vector.broadcast
// CHECK-NEXT: vector.fma %{{.*}}, %[[WS]]
func.func @scaled_along_k(%s: memref<5xf32>, %w: memref<5x8xf32>,
                          %x: memref<?x5xf32>, %y: memref<?x8xf32>) {
  linalg.generic {
      indexing_maps = [affine_map<(m, n, k) -> (k)>,
                       affine_map<(m, n, k) -> (k, n)>,
                       affine_map<(m, n, k) -> (m, k)>,
                       affine_map<(m, n, k) -> (m, n)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%s, %w, %x : memref<5xf32>, memref<5x8xf32>, memref<?x5xf32>)
      outs(%y : memref<?x8xf32>) {
  ^bb0(%d: f32, %b: f32, %a: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %q = arith.mulf %d, %p : f32
    %r = arith.addf %acc, %q : f32
    linalg.yield %r : f32
  }
  return
}

// A scale per output row multiplies the tile's sums once: they start from
// zero, and after the reduction every old value of y is read (before any is
// written, for clamped duplicate rows) and y = old + scale * sum.
// CHECK-LABEL: func.func @scaled_rows
// CHECK-SAME: (%[[X:.*]]: memref<?x5xf32>, %[[W:.*]]: memref<5x8xf32>, %[[S:.*]]: memref<?xf32>, %[[Y:.*]]: memref<?x8xf32>)
// CHECK: %[[Z:.*]] = arith.constant dense<0.000000e+00> : vector<4xf32>
// CHECK: } else {
// CHECK: %[[SUMS:.*]]:2 = scf.for %{{.*}} iter_args(%{{.*}} = %[[Z]], %{{.*}} = %[[Z]])
// CHECK-NOT: memref.load %[[S]]
// CHECK: scf.yield
// CHECK: %[[OLD0:.*]] = vector.load %[[Y]][%[[R0:.*]], %{{.*}}]
// CHECK: %[[OLD1:.*]] = vector.load %[[Y]][%[[R1:.*]], %{{.*}}]
// CHECK: %[[S0:.*]] = memref.load %[[S]][%[[R0]]]
// CHECK: %[[V0:.*]] = vector.broadcast %[[S0]]
// CHECK: %[[N0:.*]] = vector.fma %[[V0]], %[[SUMS]]#0, %[[OLD0]]
// CHECK: %[[S1:.*]] = memref.load %[[S]][%[[R1]]]
// CHECK: %[[V1:.*]] = vector.broadcast %[[S1]]
// CHECK: %[[N1:.*]] = vector.fma %[[V1]], %[[SUMS]]#1, %[[OLD1]]
// CHECK: vector.store %[[N0]], %[[Y]][%[[R0]], %{{.*}}]
// CHECK: vector.store %[[N1]], %[[Y]][%[[R1]], %{{.*}}]
func.func @scaled_rows(%x: memref<?x5xf32>, %w: memref<5x8xf32>,
                       %s: memref<?xf32>, %y: memref<?x8xf32>) {
  linalg.generic {
      indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                       affine_map<(m, n, k) -> (k, n)>,
                       affine_map<(m, n, k) -> (m)>,
                       affine_map<(m, n, k) -> (m, n)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w, %s : memref<?x5xf32>, memref<5x8xf32>, memref<?xf32>)
      outs(%y : memref<?x8xf32>) {
  ^bb0(%a: f32, %b: f32, %d: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %q = arith.mulf %p, %d : f32
    %r = arith.addf %q, %acc : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// A decode step of one sequence (one row) by a weight of 5 panels (36
// columns: 4 full panels and a partial one): with narrow-panels = 2, the
// one-row tiles take whole panels two at a time, [0, 4) in steps of 2, each
// k loading both panels' vectors (4 accumulators) after prefetching their
// rows k + 2; the last, partial panel is a masked one-panel tile.
// PANELS-LABEL: func.func @paneled_decode
// PANELS-SAME: (%[[X:.*]]: memref<1x5xf32>, %[[W:.*]]: memref<5x5x8xf32>, %[[Y:.*]]: memref<1x36xf32>)
// PANELS: scf.for %[[G:[a-z0-9_]+]] = %c0 to %c4 step %c2 {
// PANELS: %[[COL:.*]] = arith.muli %[[G]], %c8
// PANELS: %[[P0:.*]] = arith.divui %[[COL]], %c8
// PANELS: %[[P1:.*]] = arith.addi %[[P0]], %c1
// PANELS: scf.for %[[K:[a-z0-9_]+]] = %c0 to %c5 step %c1 iter_args(%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}})
// PANELS-NEXT: %[[KA:.*]] = arith.addi %[[K]], %c2
// PANELS-NEXT: %[[KP:.*]] = arith.minui %[[KA]], %c4
// PANELS-NEXT: memref.prefetch %[[W]][%[[P0]], %[[KP]], %c0]
// PANELS-NEXT: memref.prefetch %[[W]][%[[P0]], %[[KP]], %c4]
// PANELS-NEXT: memref.prefetch %[[W]][%[[P1]], %[[KP]], %c0]
// PANELS-NEXT: memref.prefetch %[[W]][%[[P1]], %[[KP]], %c4]
// PANELS-NEXT: vector.load %[[W]][%[[P0]], %[[K]], %c0]
// PANELS-NEXT: vector.load %[[W]][%[[P0]], %[[K]], %c4]
// PANELS-NEXT: vector.load %[[W]][%[[P1]], %[[K]], %c0]
// PANELS-NEXT: vector.load %[[W]][%[[P1]], %[[K]], %c4]
// PANELS-NEXT: memref.load %[[X]]
// PANELS-NEXT: vector.broadcast
// PANELS-COUNT-4: vector.fma
// PANELS: vector.store %{{.*}}, %[[Y]]
// PANELS: scf.for %[[I:[a-z0-9_]+]] = %c4 to %c5 step %c1 {
// PANELS: arith.cmpi ult
// PANELS: vector.maskedstore %[[Y]]
// PANELS: return
func.func @paneled_decode(%x: memref<1x5xf32>, %w: memref<5x5x8xf32>,
                          %y: memref<1x36xf32>) {
  linalg.generic {
      indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                       affine_map<(m, n, k) -> (n floordiv 8, k, n mod 8)>,
                       affine_map<(m, n, k) -> (m, n)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<1x5xf32>, memref<5x5x8xf32>)
      outs(%y : memref<1x36xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Left to ssm-cpu-loop-order: a body that is more than a multiply-add, f16
// operands, a strided last dimension, two reductions that an operand reads
// in the other order (they do not fold into one), a scale per column (no
// role fits: a column scale would multiply every lane differently) and a
// factor used twice.
// CHECK-LABEL: func.func @unmatched
// CHECK-COUNT-6: linalg.generic
// CHECK-NOT: vector.
func.func @unmatched(%x: memref<?x3xf32>, %w: memref<3x8xf32>,
                     %y: memref<?x8xf32>, %h: memref<?x3xf16>,
                     %wh: memref<3x8xf16>, %yh: memref<?x8xf16>,
                     %ws: memref<3x8xf32, strided<[1, 3]>>,
                     %x3: memref<?x3x2xf32>, %w3: memref<3x2x8xf32>,
                     %sn: memref<8xf32>, %s1: memref<?xf32>) {
  linalg.generic {
      indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                       affine_map<(m, n, k) -> (k, n)>,
                       affine_map<(m, n, k) -> (m, n)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x3xf32>, memref<3x8xf32>)
      outs(%y : memref<?x8xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %e = math.exp %a : f32
    %p = arith.mulf %e, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {
      indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                       affine_map<(m, n, k) -> (k, n)>,
                       affine_map<(m, n, k) -> (m, n)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%h, %wh : memref<?x3xf16>, memref<3x8xf16>)
      outs(%yh : memref<?x8xf16>) {
  ^bb0(%a: f16, %b: f16, %acc: f16):
    %p = arith.mulf %a, %b : f16
    %s = arith.addf %acc, %p : f16
    linalg.yield %s : f16
  }
  linalg.generic {
      indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                       affine_map<(m, n, k) -> (k, n)>,
                       affine_map<(m, n, k) -> (m, n)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %ws : memref<?x3xf32>, memref<3x8xf32, strided<[1, 3]>>)
      outs(%y : memref<?x8xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {
      indexing_maps = [affine_map<(m, n, k, j) -> (m, j, k)>,
                       affine_map<(m, n, k, j) -> (k, j, n)>,
                       affine_map<(m, n, k, j) -> (m, n)>],
      iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
      ins(%x3, %w3 : memref<?x3x2xf32>, memref<3x2x8xf32>)
      outs(%y : memref<?x8xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {
      indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                       affine_map<(m, n, k) -> (k, n)>,
                       affine_map<(m, n, k) -> (n)>,
                       affine_map<(m, n, k) -> (m, n)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w, %sn : memref<?x3xf32>, memref<3x8xf32>, memref<8xf32>)
      outs(%y : memref<?x8xf32>) {
  ^bb0(%a: f32, %b: f32, %d: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %q = arith.mulf %p, %d : f32
    %r = arith.addf %acc, %q : f32
    linalg.yield %r : f32
  }
  linalg.generic {
      indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                       affine_map<(m, n, k) -> (k, n)>,
                       affine_map<(m, n, k) -> (m)>,
                       affine_map<(m, n, k) -> (m, n)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w, %s1 : memref<?x3xf32>, memref<3x8xf32>, memref<?xf32>)
      outs(%y : memref<?x8xf32>) {
  ^bb0(%a: f32, %b: f32, %d: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %q = arith.mulf %p, %a : f32
    %r = arith.addf %acc, %q : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// Two consecutive reductions that every operand reads consecutively, in
// order, fold into one: a weight's gradient dW[i, j] += x[b, t, i] dy[b, t,
// j] sums over batch and sequence, and as a product over k = (b, t) it takes
// the outer-product kernel (dy's rows as B, x's as broadcast A). Not when a
// buffer cannot collapse those dimensions (a strided slice), nor when the
// folded op still fits no kernel (then nothing is left behind).
// CHECK-LABEL: func.func @folded_reductions
// CHECK-SAME: (%[[X:.*]]: memref<?x?x4xf32>, %[[DY:.*]]: memref<?x?x8xf32>, %[[DW:.*]]: memref<4x8xf32>, %[[XS:.*]]: memref<?x?x4xf32, strided<[?, 8, 1]>>, %[[G:.*]]: memref<?x?x4xf32>, %[[O:.*]]: memref<4xf32>)
// CHECK-DAG: %[[XC:.*]] = memref.collapse_shape %[[X]] {{\[}}[0, 1], [2]] : memref<?x?x4xf32> into memref<?x4xf32>
// CHECK-DAG: %[[DYC:.*]] = memref.collapse_shape %[[DY]] {{\[}}[0, 1], [2]] : memref<?x?x8xf32> into memref<?x8xf32>
// CHECK: vector.fma
// CHECK: linalg.generic
// CHECK-SAME: ins(%[[XS]], %[[DY]] :
// CHECK: linalg.generic
// CHECK-SAME: ins(%[[G]], %[[G]] :
// CHECK-NOT: memref.collapse_shape %[[G]]
// CHECK: return
func.func @folded_reductions(%x: memref<?x?x4xf32>, %dy: memref<?x?x8xf32>,
                             %dw: memref<4x8xf32>,
                             %xs: memref<?x?x4xf32, strided<[?, 8, 1]>>,
                             %g: memref<?x?x4xf32>, %o: memref<4xf32>) {
  linalg.generic {
      indexing_maps = [affine_map<(b, t, j, i) -> (b, t, i)>,
                       affine_map<(b, t, j, i) -> (b, t, j)>,
                       affine_map<(b, t, j, i) -> (i, j)>],
      iterator_types = ["reduction", "reduction", "parallel", "parallel"]}
      ins(%x, %dy : memref<?x?x4xf32>, memref<?x?x8xf32>)
      outs(%dw : memref<4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {
      indexing_maps = [affine_map<(b, t, j, i) -> (b, t, i)>,
                       affine_map<(b, t, j, i) -> (b, t, j)>,
                       affine_map<(b, t, j, i) -> (i, j)>],
      iterator_types = ["reduction", "reduction", "parallel", "parallel"]}
      ins(%xs, %dy : memref<?x?x4xf32, strided<[?, 8, 1]>>, memref<?x?x8xf32>)
      outs(%dw : memref<4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  // Sum of squares per column: folds, but no kernel takes a factor twice.
  linalg.generic {
      indexing_maps = [affine_map<(b, t, i) -> (b, t, i)>,
                       affine_map<(b, t, i) -> (b, t, i)>,
                       affine_map<(b, t, i) -> (i)>],
      iterator_types = ["reduction", "reduction", "parallel"]}
      ins(%g, %g : memref<?x?x4xf32>, memref<?x?x4xf32>)
      outs(%o : memref<4xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
