// RUN: ssm-opt %s --ssm-cpu-parallel-loops --canonicalize --cse --split-input-file | FileCheck %s

// An elementwise op over (b, l, d): the leading loops b and l become one
// range of b * l work items, each the op on its (1, 1, d) slices; the loop
// over the range is outlined into a function marked ssm.parallel_body and
// called with the whole range and its cost (items x d elements).
// CHECK-LABEL: func.func @elementwise
// CHECK-SAME: (%[[X:.*]]: memref<?x?x64xf32>, %[[Y:.*]]: memref<?x?x64xf32>)
// CHECK: %[[B:.*]] = memref.dim %[[X]], %c0
// CHECK: %[[L:.*]] = memref.dim %[[X]], %c1
// CHECK: %[[ITEMS:.*]] = affine.apply #{{.*}}()[%[[B]], %[[L]]]
// CHECK: %[[COST:.*]] = arith.muli %[[ITEMS]], %c64
// CHECK: call @__ssm_loops(%c0, %[[ITEMS]], %[[COST]], %[[B]], %[[L]], %[[X]], %[[Y]])
// CHECK-NOT: linalg.generic
// CHECK: return
// CHECK: func.func private @__ssm_loops(%[[BEGIN:[^:]*]]: index, %[[END:[^:]*]]: index, %{{.*}}: index, {{.*}}) attributes {llvm.linkage = #llvm.linkage<internal>, ssm.parallel_body}
// CHECK: scf.for %[[IV:[^ ]*]] = %[[BEGIN]] to %[[END]] step %c1
// CHECK: affine.delinearize_index %[[IV]]
// CHECK: memref.subview %{{.*}}[%{{.*}}, %{{.*}}, 0] [1, 1, 64] [1, 1, 1]
// CHECK: memref.subview %{{.*}}[%{{.*}}, %{{.*}}, 0] [1, 1, 64] [1, 1, 1]
// CHECK: linalg.generic
// CHECK: math.exp
#id = affine_map<(b, l, d) -> (b, l, d)>
func.func @elementwise(%x: memref<?x?x64xf32>, %y: memref<?x?x64xf32>) {
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : memref<?x?x64xf32>) outs(%y : memref<?x?x64xf32>) {
  ^bb0(%v: f32, %o: f32):
    %e = math.exp %v : f32
    linalg.yield %e : f32
  }
  return
}

// -----

// A reduction over d: the items are the (b, l) rows, each reducing its row.
// CHECK-LABEL: func.func @row_sums
// CHECK: call @__ssm_loops
// CHECK: func.func private @__ssm_loops
// CHECK: scf.for
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
#in = affine_map<(b, l, d) -> (b, l, d)>
#out = affine_map<(b, l, d) -> (b, l)>
func.func @row_sums(%x: memref<?x?x64xf32>, %s: memref<?x?xf32>) {
  linalg.generic {indexing_maps = [#in, #out], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x : memref<?x?x64xf32>) outs(%s : memref<?x?xf32>) {
  ^bb0(%v: f32, %o: f32):
    %a = arith.addf %o, %v : f32
    linalg.yield %a : f32
  }
  return
}

// -----

// A weight's gradient, dW[i, j] += x[b, t, i] dy[b, t, j], iterates
// (b, t, j, i) with the batch and sequence loops as reductions: the
// parallel loop j moves ahead of them (the innermost loop i stays
// innermost), and the items are the rows j, each summing over (b, t) in the
// original order.
// CHECK-LABEL: func.func @weight_gradient
// CHECK-SAME: (%[[X:.*]]: memref<?x?x32xf32>, %[[DY:.*]]: memref<?x?x48xf32>, %[[DW:.*]]: memref<32x48xf32>)
// CHECK: call @__ssm_loops(%c0, %c48, %[[COST:[^,]*]],
// CHECK: func.func private @__ssm_loops
// CHECK: scf.for %[[J:[^ ]*]] =
// CHECK: memref.subview %{{.*}}[0, 0, %[[J]]] [%{{.*}}, %{{.*}}, 1] [1, 1, 1]
// CHECK: memref.subview %{{.*}}[0, %[[J]]] [32, 1] [1, 1]
// CHECK: linalg.generic {indexing_maps = [#[[XM:.*]], #[[DYM:.*]], #[[DWM:.*]]], iterator_types = ["parallel", "reduction", "reduction", "parallel"]}
#x = affine_map<(b, t, j, i) -> (b, t, i)>
#dy = affine_map<(b, t, j, i) -> (b, t, j)>
#dw = affine_map<(b, t, j, i) -> (i, j)>
func.func @weight_gradient(%x: memref<?x?x32xf32>, %dy: memref<?x?x48xf32>, %dw: memref<32x48xf32>) {
  linalg.generic {indexing_maps = [#x, #dy, #dw], iterator_types = ["reduction", "reduction", "parallel", "parallel"]}
      ins(%x, %dy : memref<?x?x32xf32>, memref<?x?x48xf32>) outs(%dw : memref<32x48xf32>) {
  ^bb0(%a: f32, %g: f32, %o: f32):
    %p = arith.mulf %a, %g : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Left alone: a single loop (the innermost loop stays whole for the
// vectorizer), an input read from the output's buffer through another map
// (items would read what other items write), and an op inside a loop.
// CHECK-LABEL: func.func @left_alone
// CHECK-NOT: call
// CHECK: linalg.generic
// CHECK: linalg.generic
// CHECK: scf.for
// CHECK: linalg.generic
// CHECK-NOT: func.func private @__ssm_loops
#v = affine_map<(d) -> (d)>
#ij = affine_map<(i, j) -> (i, j)>
#ji = affine_map<(i, j) -> (j, i)>
func.func @left_alone(%x: memref<64xf32>, %y: memref<64xf32>, %m: memref<16x16xf32>, %n: index) {
  linalg.generic {indexing_maps = [#v, #v], iterator_types = ["parallel"]}
      ins(%x : memref<64xf32>) outs(%y : memref<64xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  }
  linalg.generic {indexing_maps = [#ji, #ij], iterator_types = ["parallel", "parallel"]}
      ins(%m : memref<16x16xf32>) outs(%m : memref<16x16xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %a, %o : f32
    linalg.yield %s : f32
  }
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %i = %c0 to %n step %c1 {
    linalg.generic {indexing_maps = [#ij, #ij], iterator_types = ["parallel", "parallel"]}
        ins(%m : memref<16x16xf32>) outs(%m : memref<16x16xf32>) {
    ^bb0(%a: f32, %o: f32):
      %s = arith.mulf %a, %o : f32
      linalg.yield %s : f32
    }
  }
  return
}
