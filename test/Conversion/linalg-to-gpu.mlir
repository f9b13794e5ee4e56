// RUN: ssm-opt %s --ssm-linalg-to-gpu --split-input-file --verify-diagnostics | FileCheck %s
// RUN: ssm-opt %s --ssm-linalg-to-gpu=subgroup-reductions=1 --split-input-file --verify-diagnostics | FileCheck %s --check-prefix=SUB

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
// One thread per row, the reduction over d1 carried in registers (unless
// the rows are few and long: the block reduction, see @row_max below).
// CHECK-LABEL: func.func @row_sum
// CHECK: %[[N:.*]] = memref.dim
// CHECK: scf.if
// CHECK: function(@ssm_kernel0) workgroup(
// CHECK: } else {
// CHECK: scf.if
// CHECK: gpu.launch {{.*}} threads({{.*}}) in ({{.*}} = %c256{{.*}}) module(@ssm_kernelmodule) function(@ssm_kernel1) {
// CHECK: %[[ID:.*]] = arith.addi
// CHECK: arith.cmpi ult, %[[ID]]
// CHECK: %[[INIT:.*]] = memref.load %arg1
// CHECK: %[[SUM:.*]] = scf.for {{.*}} iter_args(%[[ACC:.*]] = %[[INIT]])
// CHECK: memref.load %arg0
// CHECK: arith.addf
// CHECK: memref.store %[[SUM]], %arg1
// CHECK-NOT: linalg.generic
func.func @row_sum(%a: memref<?x?xf32>, %b: memref<?xf32>) {
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%a : memref<?x?xf32>) outs(%b : memref<?xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %s = arith.addf %x, %acc : f32
    linalg.yield %s : f32
  }
  return
}

// -----

#m = affine_map<(d0) -> (d0)>
#shift = affine_map<(d0) -> (d0 + 1)>
// Reads the element the next point writes: one thread, sequential order.
// CHECK-LABEL: func.func @overlap
// CHECK: gpu.launch {{.*}} threads({{.*}}) in ({{.*}} = %c1{{.*}}
// CHECK: scf.for
// CHECK: memref.load
// CHECK: memref.store
func.func @overlap(%a: memref<?xf32>, %n: index) {
  %v = memref.subview %a[0] [%n] [1] : memref<?xf32> to memref<?xf32, strided<[1]>>
  linalg.generic {indexing_maps = [#shift, #m], iterator_types = ["parallel"]}
      ins(%a : memref<?xf32>) outs(%v : memref<?xf32, strided<[1]>>) {
  ^bb0(%x: f32, %y: f32):
    linalg.yield %x : f32
  }
  return
}

// -----

func.func @named(%a: memref<4xf32>, %b: memref<4xf32>) {
  // expected-error @+1 {{is not a linalg.generic: run linalg-generalize-named-ops before ssm-linalg-to-gpu}}
  linalg.copy ins(%a : memref<4xf32>) outs(%b : memref<4xf32>)
  return
}

// -----

#t = affine_map<(d0) -> (d0)>
func.func @tensors(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{needs linalg on buffers}}
  %r = linalg.generic {indexing_maps = [#t], iterator_types = ["parallel"]}
      outs(%a : tensor<4xf32>) {
  ^bb0(%y: f32):
    linalg.yield %y : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}

// -----

#a = affine_map<(d0, d1, d2) -> (d0, d2)>
#b = affine_map<(d0, d1, d2) -> (d2, d1)>
#c = affine_map<(d0, d1, d2) -> (d0, d1)>
// A product with dynamic sizes: the tiled kernel (16x16 threads, the row and
// column operands staged in padded shared tiles, a barrier around each k
// slice, 4x4 points per thread) when both tiled loops fill a tile, else a
// block per point (few points of many terms) or one thread per point.
// CHECK-LABEL: func.func @matmul
// CHECK-DAG: %[[M:.*]] = memref.dim %arg0, %c0
// CHECK-DAG: %[[N:.*]] = memref.dim %arg1, %c1
// CHECK-DAG: %[[C16:.*]] = arith.constant 16 : index
// CHECK-DAG: %[[BIGM:.*]] = arith.cmpi uge, %[[M]], %[[C16]]
// CHECK-DAG: %[[BIGN:.*]] = arith.cmpi uge, %[[N]], %[[C16]]
// CHECK: scf.if
// CHECK: %[[C64:.*]] = arith.constant 64 : index
// CHECK: %[[TN:.*]] = arith.ceildivui %[[N]], %[[C64]]
// CHECK: %[[TM:.*]] = arith.ceildivui %[[M]], %[[C64]]
// CHECK: %[[BLOCKS:.*]] = arith.muli %[[TN]], %[[TM]]
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %[[BLOCKS]], {{.*}}) threads({{.*}}) in ({{.*}} = %[[T:.*]], {{.*}} = %[[T]], {{.*}}) module(@ssm_kernelmodule) function(@ssm_kernel0) workgroup(%[[RT:.*]] : memref<16x65xf32, #gpu.address_space<workgroup>>, %[[CT:.*]] : memref<16x65xf32, #gpu.address_space<workgroup>>)
// CHECK: scf.for {{.*}} -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32)
// CHECK: memref.load %arg0
// CHECK: memref.store {{.*}}, %[[RT]]
// CHECK: memref.load %arg1
// CHECK: memref.store {{.*}}, %[[CT]]
// CHECK: gpu.barrier
// CHECK: scf.for
// CHECK-COUNT-4: memref.load %[[RT]]
// CHECK-COUNT-4: memref.load %[[CT]]
// CHECK-COUNT-16: arith.mulf
// CHECK: gpu.barrier
// CHECK-COUNT-16: memref.store {{.*}}, %arg2
// CHECK: } else {
// CHECK: function(@ssm_kernel1) workgroup(%{{.*}} : memref<256xf32, #gpu.address_space<workgroup>>)
// CHECK: } else {
// CHECK: gpu.launch {{.*}} threads({{.*}}) in ({{.*}} = %c256{{.*}}) module(@ssm_kernelmodule) function(@ssm_kernel2) {
// CHECK-NOT: workgroup
// CHECK-NOT: linalg.generic
func.func @matmul(%a: memref<?x?xf32>, %b: memref<?x?xf32>, %c: memref<?x?xf32>) {
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<?x?xf32>, memref<?x?xf32>) outs(%c : memref<?x?xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  }
  return
}

// -----

#a = affine_map<(d0, d1, d2) -> (d0, d2)>
#b = affine_map<(d0, d1, d2) -> (d2, d1)>
#c = affine_map<(d0, d1, d2) -> (d0, d1)>
// Static sizes that fill a tile: the tiled kernel alone, 2x1 blocks of 64x64
// points.
// CHECK-LABEL: func.func @matmul_static
// CHECK-NOT: scf.if
// CHECK: %[[TN:.*]] = arith.ceildivui %c100, %c64
// CHECK: %[[TM:.*]] = arith.ceildivui %c40, %c64
// CHECK: %[[BLOCKS:.*]] = arith.muli %[[TN]], %[[TM]]
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %[[BLOCKS]], {{.*}}) threads({{.*}}) in ({{.*}} = %c16, {{.*}} = %c16, {{.*}}) {{.*}} workgroup(
// CHECK-NOT: gpu.launch
// CHECK: return
func.func @matmul_static(%a: memref<40x20xf32>, %b: memref<20x100xf32>, %c: memref<40x100xf32>) {
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<40x20xf32>, memref<20x100xf32>) outs(%c : memref<40x100xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  }
  return
}

// -----

#a = affine_map<(d0, d1, d2) -> (d0, d2)>
#b = affine_map<(d0, d1, d2) -> (d2, d1)>
#c = affine_map<(d0, d1, d2) -> (d0, d1)>
// A static loop shorter than a tile (a decode step's single row): no tiled
// kernel at all; a block per output element when they are few and the
// products long, else a thread per element.
// CHECK-LABEL: func.func @matvec
// CHECK-NOT: memref<16x65xf32
// CHECK: function(@ssm_kernel0) workgroup(%{{.*}} : memref<256xf32, #gpu.address_space<workgroup>>)
// CHECK: } else {
// CHECK: gpu.launch {{.*}} threads({{.*}}) in ({{.*}} = %c256{{.*}}) {{.*}} function(@ssm_kernel1) {
// CHECK-NOT: workgroup
// CHECK-NOT: gpu.launch
// CHECK: return
func.func @matvec(%a: memref<1x?xf32>, %b: memref<?x?xf32>, %c: memref<1x?xf32>) {
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<1x?xf32>, memref<?x?xf32>) outs(%c : memref<1x?xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  }
  return
}

// -----

#a = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
#b = affine_map<(d0, d1, d2, d3) -> (d0, d3, d2)>
#c = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// A batched product: one block per 64x64 tile of each batch element.
// CHECK-LABEL: func.func @batched
// CHECK-DAG: %[[BATCH:.*]] = memref.dim %arg0, %c0
// CHECK: scf.if
// CHECK: %[[TILES:.*]] = arith.muli
// CHECK: %[[BLOCKS:.*]] = arith.muli %[[TILES]], %[[BATCH]]
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %[[BLOCKS]], {{.*}}) {{.*}} workgroup(
// CHECK: } else {
func.func @batched(%a: memref<?x?x?xf32>, %b: memref<?x?x?xf32>, %c: memref<?x?x?xf32>) {
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<?x?x?xf32>, memref<?x?x?xf32>) outs(%c : memref<?x?x?xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Host loop nests of scalar code over device buffers become one kernel.
// The scatter-add of an embedding's adjoint: every store indexes the row
// loop's induction variable at its own column, so the column loop runs
// across threads; the token loops, whose rows may repeat, run in order in
// every thread.
// CHECK-LABEL: func.func @scatter_add
// CHECK: %[[D:.*]] = memref.dim %arg2, %c1
// CHECK: %[[SPAN:.*]] = arith.subi %[[D]], %c0
// CHECK: %[[NONNEG:.*]] = arith.maxsi %[[SPAN]]
// CHECK: %[[COUNT:.*]] = arith.ceildivui %[[NONNEG]], %c1
// CHECK: %[[POINTS:.*]] = arith.muli %{{.*}}, %[[COUNT]]
// CHECK: scf.if
// CHECK: gpu.launch {{.*}} threads({{.*}}) in ({{.*}} = %c256{{.*}}) module(@ssm_kernelmodule) function(@ssm_kernel0)
// CHECK: %[[ID:.*]] = arith.addi
// CHECK: arith.cmpi ult, %[[ID]], %[[POINTS]]
// CHECK: %[[COL:.*]] = arith.remui %[[ID]], %[[COUNT]]
// CHECK: %[[J:.*]] = arith.addi %c0, %{{.*}}
// CHECK: scf.for %[[B:.*]] = %c0 to
// CHECK-NEXT: scf.for %[[T:.*]] = %c0 to
// CHECK-NEXT: %[[ID64:.*]] = memref.load %arg0[%[[B]], %[[T]]]
// CHECK: %[[DY:.*]] = memref.load %arg1[%[[B]], %[[T]], %[[J]]]
// CHECK: %[[ROW:.*]] = arith.index_cast %[[ID64]]
// CHECK: %[[OLD:.*]] = memref.load %arg2[%[[ROW]], %[[J]]]
// CHECK: %[[NEW:.*]] = arith.addf %[[OLD]], %[[DY]]
// CHECK: memref.store %[[NEW]], %arg2[%[[ROW]], %[[J]]]
// CHECK-NOT: scf.for
// CHECK: gpu.terminator
// CHECK-NOT: memref.store
// CHECK: return
func.func @scatter_add(%ids: memref<?x?xi64>, %dy: memref<?x?x?xf32>, %table: memref<?x?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %nb = memref.dim %ids, %c0 : memref<?x?xi64>
  %nt = memref.dim %ids, %c1 : memref<?x?xi64>
  %nd = memref.dim %table, %c1 : memref<?x?xf32>
  scf.for %b = %c0 to %nb step %c1 {
    scf.for %t = %c0 to %nt step %c1 {
      scf.for %j = %c0 to %nd step %c1 {
        %id = memref.load %ids[%b, %t] : memref<?x?xi64>
        %g = memref.load %dy[%b, %t, %j] : memref<?x?x?xf32>
        %row = arith.index_cast %id : i64 to index
        %old = memref.load %table[%row, %j] : memref<?x?xf32>
        %new = arith.addf %old, %g : f32
        memref.store %new, %table[%row, %j] : memref<?x?xf32>
      }
    }
  }
  return
}

// -----

// A running sum reads the element the previous iteration wrote: no loop
// can run across threads, so the whole nest runs on one thread, in order.
// CHECK-LABEL: func.func @prefix_sum
// CHECK: gpu.launch {{.*}} threads({{.*}}) in (%{{.*}} = %c1{{.*}}) module(@ssm_kernelmodule) function(@ssm_kernel0)
// CHECK-NOT: arith.remui
// CHECK: scf.for %[[I:.*]] = %c1 to
// CHECK: memref.load %arg0[%{{.*}}]
// CHECK: memref.store %{{.*}}, %arg0[%[[I]]]
// CHECK: gpu.terminator
func.func @prefix_sum(%a: memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = memref.dim %a, %c0 : memref<?xf32>
  scf.for %i = %c1 to %n step %c1 {
    %p = arith.subi %i, %c1 : index
    %x = memref.load %a[%p] : memref<?xf32>
    %y = memref.load %a[%i] : memref<?xf32>
    %s = arith.addf %x, %y : f32
    memref.store %s, %a[%i] : memref<?xf32>
  }
  return
}

// -----

// Loops over buffers only the host touches (a private function's
// arguments: the deallocation helpers' arrays) and loops that call or
// allocate stay on the host.
// CHECK-LABEL: func.func private @host_only
// CHECK-NOT: gpu.launch
// CHECK: scf.for
// CHECK: memref.store
// CHECK-LABEL: func.func @calls
// CHECK-NOT: gpu.launch
// CHECK: scf.for
// CHECK: call @host_only
func.func private @host_only(%flags: memref<?xi1>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %false = arith.constant false
  %n = memref.dim %flags, %c0 : memref<?xi1>
  scf.for %i = %c0 to %n step %c1 {
    memref.store %false, %flags[%i] : memref<?xi1>
  }
  return
}
func.func @calls(%flags: memref<?xi1>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %false = arith.constant false
  scf.for %i = %c0 to %n step %c1 {
    memref.store %false, %flags[%i] : memref<?xi1>
    func.call @host_only(%flags) : (memref<?xi1>) -> ()
  }
  return
}

// -----

#v = affine_map<(d0) -> (d0)>
#s = affine_map<(d0) -> ()>
// A full reduction of a static 4096 terms: the block reduction alone. One
// block of 256 threads; thread t sums the terms t, t + 256, ... from the
// identity (-0.0), the partial sums meet in workgroup memory in 8 halving
// steps (a barrier after each), and thread 0 adds the total to the output.
// CHECK-LABEL: func.func @full_sum
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %c1{{.*}}) threads(%[[T:[^,]*]], {{.*}}) in ({{.*}} = %c256{{.*}}) workgroup(%[[P:.*]] : memref<256xf32, #gpu.address_space<workgroup>>)
// CHECK: %[[SUM:.*]] = scf.for %[[R:.*]] = %[[T]] to %{{.*}} step %c256 iter_args(%[[ACC:.*]] = %cst{{.*}}) -> (f32)
// CHECK: %[[X:.*]] = memref.load %arg0[%[[R]]]
// CHECK: arith.addf %[[X]], %[[ACC]]
// CHECK: memref.store %[[SUM]], %[[P]][%[[T]]]
// CHECK-NEXT: gpu.barrier
// CHECK: arith.cmpi ult, %[[T]], %c128
// CHECK: arith.addf
// CHECK: gpu.barrier
// CHECK-COUNT-7: gpu.barrier
// CHECK: arith.cmpi eq, %[[T]], %c0
// CHECK: %[[TOTAL:.*]] = memref.load %[[P]][%c0]
// CHECK: %[[OLD:.*]] = memref.load %arg1[]
// CHECK: %[[NEW:.*]] = arith.addf %[[OLD]], %[[TOTAL]]
// CHECK: memref.store %[[NEW]], %arg1[]
// CHECK-NOT: gpu.launch
// CHECK: return
func.func @full_sum(%a: memref<4096xf32>, %b: memref<f32>) {
  linalg.generic {indexing_maps = [#v, #s], iterator_types = ["reduction"]}
      ins(%a : memref<4096xf32>) outs(%b : memref<f32>) {
  ^bb0(%x: f32, %acc: f32):
    %r = arith.addf %x, %acc : f32
    linalg.yield %r : f32
  }
  return
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
// Rows of dynamic count and length: at most 16384 rows of at least 256 terms
// take the block reduction (one block per row; the row's maximum from
// -inf), the others one thread per row.
// CHECK-LABEL: func.func @row_max
// CHECK-DAG: %[[ROWS:.*]] = memref.dim %arg0, %c0
// CHECK-DAG: %[[COLS:.*]] = memref.dim %arg0, %c1
// CHECK: %[[FEW:.*]] = arith.cmpi ule, %{{.*}}, %c16384
// CHECK: %[[MANY:.*]] = arith.cmpi uge, %{{.*}}, %c256
// CHECK: %[[BOTH:.*]] = arith.andi %[[FEW]], %[[MANY]]
// CHECK: scf.if %[[BOTH]] {
// CHECK: gpu.launch {{.*}} function(@ssm_kernel0) workgroup(%{{.*}} : memref<256xf32, #gpu.address_space<workgroup>>)
// CHECK: arith.constant 0xFF800000 : f32
// CHECK: arith.maximumf
// CHECK: gpu.barrier
// CHECK: } else {
// CHECK: gpu.launch {{.*}} threads({{.*}}) in ({{.*}} = %c256{{.*}}) module(@ssm_kernelmodule) function(@ssm_kernel1)
// CHECK-NOT: workgroup
// CHECK: scf.for
// CHECK: arith.maximumf
func.func @row_max(%a: memref<?x?xf32>, %b: memref<?xf32>) {
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%a : memref<?x?xf32>) outs(%b : memref<?xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %r = arith.maximumf %acc, %x : f32
    linalg.yield %r : f32
  }
  return
}

// -----

#v = affine_map<(d0) -> (d0)>
#s = affine_map<(d0) -> ()>
// Not a commutative combiner of the running value and a term (a product of
// the running value, a running value read twice, too few static terms, an
// integer add that assumes no overflow): one thread, as before.
// CHECK-LABEL: func.func @not_block_reductions
// CHECK-NOT: workgroup
// CHECK-NOT: gpu.barrier
// CHECK: return
func.func @not_block_reductions(%a: memref<4096xf32>, %b: memref<f32>, %c: memref<32xf32>,
                                %i: memref<4096xi32>, %j: memref<i32>) {
  linalg.generic {indexing_maps = [#v, #s], iterator_types = ["reduction"]}
      ins(%a : memref<4096xf32>) outs(%b : memref<f32>) {
  ^bb0(%x: f32, %acc: f32):
    %r = arith.mulf %x, %acc : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [#v, #s], iterator_types = ["reduction"]}
      ins(%a : memref<4096xf32>) outs(%b : memref<f32>) {
  ^bb0(%x: f32, %acc: f32):
    %t = arith.subf %x, %acc : f32
    %r = arith.addf %t, %acc : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [#v, #s], iterator_types = ["reduction"]}
      ins(%c : memref<32xf32>) outs(%b : memref<f32>) {
  ^bb0(%x: f32, %acc: f32):
    %r = arith.addf %x, %acc : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [#v, #s], iterator_types = ["reduction"]}
      ins(%i : memref<4096xi32>) outs(%j : memref<i32>) {
  ^bb0(%x: i32, %acc: i32):
    %r = arith.addi %x, %acc overflow<nsw> : i32
    linalg.yield %r : i32
  }
  return
}

// -----

// With subgroup-reductions (the Vulkan target), a block reduction whose
// combiner subgroup operations compute exactly also gets a subgroup kernel,
// launched when __ssm_gpu_subgroup_reductions() answers nonzero: each
// subgroup adds its threads' sums with gpu.subgroup_reduce, lane 0 stores
// the result at the subgroup's index, and thread 0 adds the
// gpu.num_subgroups values in order to the output. Without the option, one
// kernel (the CHECK lines of @full_sum).
#v = affine_map<(d0) -> (d0)>
#s = affine_map<(d0) -> ()>
// SUB: func.func private @__ssm_gpu_subgroup_reductions() -> i32
// SUB-LABEL: func.func @subgroup_sum
// SUB: %[[Q:.*]] = call @__ssm_gpu_subgroup_reductions() : () -> i32
// SUB: %[[USE:.*]] = arith.cmpi ne, %[[Q]], %{{.*}} : i32
// SUB: scf.if %[[USE]] {
// SUB: gpu.launch {{.*}} function(@ssm_kernel0_subgroups) workgroup(%[[P:.*]] : memref<256xf32, #gpu.address_space<workgroup>>)
// SUB: %[[SUM:.*]] = scf.for
// SUB: %[[LANE:.*]] = gpu.lane_id
// SUB: %[[SG:.*]] = gpu.subgroup_id : index
// SUB: %[[N:.*]] = gpu.num_subgroups : index
// SUB: %[[R:.*]] = gpu.subgroup_reduce {{ *}}add %[[SUM]] : (f32) -> f32
// SUB: %[[LEAD:.*]] = arith.cmpi eq, %[[LANE]], %c0
// SUB: scf.if %[[LEAD]] {
// SUB-NEXT: memref.store %[[R]], %[[P]][%[[SG]]]
// SUB: gpu.barrier
// SUB-NOT: gpu.barrier
// SUB: scf.for %[[K:.*]] = %c0 to %[[N]] step %c1{{.*}} iter_args(%[[ACC:.*]] = %{{.*}}) -> (f32)
// SUB: %[[X:.*]] = memref.load %[[P]][%[[K]]]
// SUB: arith.addf %[[ACC]], %[[X]]
// SUB: %[[OLD:.*]] = memref.load %arg1[]
// SUB: arith.addf %[[OLD]],
// SUB: } else {
// SUB: gpu.launch {{.*}} function(@ssm_kernel0) workgroup(
// SUB-COUNT-8: arith.cmpi ult
// SUB-NOT: gpu.launch
// SUB: return
func.func @subgroup_sum(%a: memref<4096xf32>, %b: memref<f32>) {
  linalg.generic {indexing_maps = [#v, #s], iterator_types = ["reduction"]}
      ins(%a : memref<4096xf32>) outs(%b : memref<f32>) {
  ^bb0(%x: f32, %acc: f32):
    %r = arith.addf %x, %acc : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// Float maxima keep the tree kernel alone (subgroup min and max leave NaN
// operands undefined; arith.maximumf propagates them), and so do 64-bit
// integer sums (their subgroup operations need a device feature); 32-bit
// integer maxima take the subgroup variant too.
#v = affine_map<(d0) -> (d0)>
#s = affine_map<(d0) -> ()>
// SUB-LABEL: func.func @subgroup_maxima
// SUB-NOT: subgroup
// SUB: gpu.launch {{.*}} function(@ssm_kernel0) workgroup(
// SUB-NOT: function(@ssm_kernel0_subgroups)
// SUB: call @__ssm_gpu_subgroup_reductions()
// SUB: gpu.launch {{.*}} function(@ssm_kernel1_subgroups)
// SUB: gpu.subgroup_reduce {{ *}}maxsi %{{.*}} : (i32) -> i32
// SUB: } else {
// SUB: gpu.launch {{.*}} function(@ssm_kernel1) workgroup(
// SUB-NOT: call @__ssm_gpu_subgroup_reductions()
// SUB: gpu.launch {{.*}} function(@ssm_kernel2) workgroup(
// SUB-NOT: _subgroups
// SUB: return
func.func @subgroup_maxima(%a: memref<4096xf32>, %b: memref<f32>,
                           %c: memref<4096xi32>, %d: memref<i32>,
                           %e: memref<4096xi64>, %f: memref<i64>) {
  linalg.generic {indexing_maps = [#v, #s], iterator_types = ["reduction"]}
      ins(%a : memref<4096xf32>) outs(%b : memref<f32>) {
  ^bb0(%x: f32, %acc: f32):
    %r = arith.maximumf %x, %acc : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [#v, #s], iterator_types = ["reduction"]}
      ins(%c : memref<4096xi32>) outs(%d : memref<i32>) {
  ^bb0(%x: i32, %acc: i32):
    %r = arith.maxsi %x, %acc : i32
    linalg.yield %r : i32
  }
  linalg.generic {indexing_maps = [#v, #s], iterator_types = ["reduction"]}
      ins(%e : memref<4096xi64>) outs(%f : memref<i64>) {
  ^bb0(%x: i64, %acc: i64):
    %r = arith.addi %x, %acc : i64
    linalg.yield %r : i64
  }
  return
}

// -----

// ssm.fused_attention on buffers: one launch of 16 x 16 threads per block
// (named first, with an _attention suffix), its workgroup buffers in
// vectors of 4 floats (the q and k slices or a v slice; the 64 x 64 scores,
// rows padded to 17 vectors; then the per-thread partial maxima and sums,
// the per-row maximum/sum/rescale), the key-tile loop carrying 4 rows x 4
// value columns (dv = 24: one group of 4 columns per thread), the score
// loop over ceil(40 / 16) = 3 head-size slices carrying 4 x 4 scores (4 q
// rows and 4 keys staged per thread as vectors), one fma per score per
// step, the softcap's tanh per score, 16 probabilities (exp) per thread, 64
// fmas per 4 keys of P v, ten barriers.
// CHECK-LABEL: func.func @fused_attention(
// CHECK:         scf.if
// CHECK:         gpu.launch blocks({{.*}}) in ({{.*}}) threads({{.*}}) in (%{{.*}} = %c16{{.*}}, %{{.*}} = %c16{{.*}}, %{{.*}} = %c1{{.*}}) module(@ssm_kernelmodule) function(@ssm_kernel0_attention) workgroup(%{{.*}} : memref<544xvector<4xf32>, #gpu.address_space<workgroup>>, %{{.*}} : memref<64x17xvector<4xf32>, #gpu.address_space<workgroup>>, %{{.*}} : memref<256xf32, #gpu.address_space<workgroup>>, %{{.*}} : memref<3x64xf32, #gpu.address_space<workgroup>>)
// CHECK:           gpu.barrier
// CHECK:           scf.for {{.*}} -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32) {
// CHECK:             scf.for %{{.*}} = %{{.*}} to %c3{{.*}} step {{.*}} -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32) {
// CHECK-COUNT-2:       vector.from_elements {{.*}} : vector<4xf32>
// CHECK:               gpu.barrier
// CHECK-COUNT-16:      math.fma
// CHECK:               gpu.barrier
// CHECK-COUNT-4:     math.tanh
// CHECK:             vector.from_elements
// CHECK-COUNT-4:     math.tanh
// CHECK:             vector.from_elements
// CHECK-COUNT-4:     math.tanh
// CHECK:             vector.from_elements
// CHECK-COUNT-4:     math.tanh
// CHECK:             vector.from_elements
// CHECK-NOT:         math.tanh
// CHECK:             gpu.barrier
// CHECK-COUNT-16:    math.exp
// CHECK:             gpu.barrier
// CHECK:             gpu.barrier
// CHECK:             math.exp
// CHECK:             gpu.barrier
// CHECK:             scf.for %{{.*}} = %{{.*}} to %c4
// CHECK:               gpu.barrier
// CHECK:               scf.for %{{.*}} = %{{.*}} to %c4
// CHECK-COUNT-64:        math.fma
// CHECK-NOT:             math.fma
// CHECK:               gpu.barrier
// CHECK-NOT:         gpu.barrier
// CHECK:           gpu.terminator
// CHECK-NOT:     linalg.generic
// CHECK-NOT:     ssm.fused_attention
func.func @fused_attention(%q: memref<2x?x4x40xf32>, %k: memref<2x?x2x40xf32>, %v: memref<2x?x2x24xf32>, %m: memref<?x1x?x?xf32>, %o: memref<2x?x4x24xf32>) {
  ssm.fused_attention %q, %k, %v mask(%m : memref<?x1x?x?xf32>) outs(%o : memref<2x?x4x24xf32>) {causal, scale = 0.5 : f32, window = 8 : i64, softcap = 5.0 : f32} : memref<2x?x4x40xf32>, memref<2x?x2x40xf32>, memref<2x?x2x24xf32>
  return
}

// -----

func.func @fused_attention_tensors(%q: tensor<1x4x2x8xf32>, %k: tensor<1x4x2x8xf32>, %v: tensor<1x4x2x8xf32>, %init: tensor<1x4x2x8xf32>) -> tensor<1x4x2x8xf32> {
  // expected-error @+1 {{'ssm.fused_attention' op ssm-linalg-to-gpu needs ssm.fused_attention on buffers (run bufferization first)}}
  %0 = ssm.fused_attention %q, %k, %v outs(%init : tensor<1x4x2x8xf32>) {scale = 1.0 : f32} : tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32> -> tensor<1x4x2x8xf32>
  return %0 : tensor<1x4x2x8xf32>
}

// -----

func.func @fused_attention_wide(%q: memref<1x4x2x8xf32>, %k: memref<1x4x2x8xf32>, %v: memref<1x4x2x136xf32>, %init: memref<1x4x2x136xf32>) {
  // expected-error @+1 {{'ssm.fused_attention' op the fused kernel needs static head counts and head sizes and a value head size of at most 128, got 'memref<1x4x2x136xf32>'}}
  ssm.fused_attention %q, %k, %v outs(%init : memref<1x4x2x136xf32>) {scale = 1.0 : f32} : memref<1x4x2x8xf32>, memref<1x4x2x8xf32>, memref<1x4x2x136xf32>
  return
}

// -----

// ssm.fused_ssd on buffers: a device buffer for the chunks' C B^T products
// (batch x chunks x groups x 64 x 64, at least one element), then three
// launches named after the first free kernel number: _cb, 16 x 16 threads
// (C and B slices staged as vectors of 4 tokens, rows padded to 17 vectors;
// the loop over ceil(20 / 16) = 2 state slices carrying 4 x 4 products, 16
// fmas per state dim); _scan, 8 x 16 threads per (batch, head, 32 head
// dims), its workgroup buffers the state slice (32 padded state dims x 8
// vectors of 4 head dims), the staged slices (400 vectors: the transposed
// M slice and an x slice) and five rows of 64 per-token values; the loop
// over the chunks; in it the prefix sums of the log decays (sums within
// groups of 8 tokens, then the totals of the groups before), exp(cum) and the state weights, y's loops over 4 token slices
// and 2 state slices (16 fmas per step, 4 tokens x 4 head dims), D x and the
// gate (exp in silu) per element, the state update's loop over 4 token
// slices (16 fmas per step: 4 head dims x 4 state dims), the running
// total log decay carried; at the end, the segment's own state and total
// (segmented) or the final state; _fixup, for the segments after the
// first: the state carried over the segments before (16 loads of their
// states per step), then per chunk only y's state term (no fma before
// it), added to y; the buffers freed after the launches.
// CHECK-LABEL: func.func @fused_ssd(
// CHECK:         %[[CB:.*]] = memref.alloc(%{{.*}}) : memref<?xf32>
// CHECK:         scf.if
// CHECK:         gpu.launch blocks({{.*}}) in ({{.*}}) threads({{.*}}) in (%{{.*}} = %c16{{.*}}, %{{.*}} = %c16{{.*}}, %{{.*}} = %c1{{.*}}) module(@ssm_kernelmodule) function(@ssm_kernel0_ssd_cb) workgroup(%{{.*}} : memref<544xvector<4xf32>, #gpu.address_space<workgroup>>)
// CHECK:           scf.for %{{.*}} = %{{.*}} to %c2{{.*}} step {{.*}} -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32) {
// CHECK-COUNT-2:     vector.from_elements {{.*}} : vector<4xf32>
// CHECK:             gpu.barrier
// CHECK:             scf.for %{{.*}} = %{{.*}} to %c16
// CHECK-COUNT-16:      math.fma
// CHECK:             gpu.barrier
// CHECK-COUNT-16:  memref.store %{{.*}}, %[[CB]][%{{.*}}] : memref<?xf32>
// CHECK:           gpu.terminator
// CHECK:         %[[SEGS:.*]] = memref.alloc(%{{.*}}) : memref<?xf32>
// CHECK:         %[[TOTALS:.*]] = memref.alloc(%{{.*}}) : memref<?xf32>
// CHECK:         scf.if
// CHECK:         gpu.launch blocks({{.*}}) in ({{.*}}) threads({{.*}}) in (%{{.*}} = %c8{{.*}}, %{{.*}} = %c16{{.*}}, %{{.*}} = %c1{{.*}}) module(@ssm_kernelmodule) function(@ssm_kernel0_ssd_scan) workgroup(%{{.*}} : memref<256xvector<4xf32>, #gpu.address_space<workgroup>>, %{{.*}} : memref<400xvector<4xf32>, #gpu.address_space<workgroup>>, %{{.*}} : memref<5x64xf32, #gpu.address_space<workgroup>>)
// CHECK:           gpu.barrier
// CHECK:           scf.for %[[C:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK:             gpu.barrier
// CHECK-COUNT-8:     arith.addf
// CHECK:             gpu.barrier
// CHECK-COUNT-7:     arith.addf
// CHECK:             gpu.barrier
// CHECK-COUNT-2:     math.exp
// CHECK:             gpu.barrier
// CHECK:             scf.for %{{.*}} = %{{.*}} to %c4{{.*}} step {{.*}} -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32) {
// CHECK-COUNT-8:       math.exp
// CHECK:               gpu.barrier
// CHECK:               scf.for %{{.*}} = %{{.*}} to %c16
// CHECK-COUNT-16:        math.fma
// CHECK:               gpu.barrier
// CHECK:             scf.for %{{.*}} = %{{.*}} to %c2{{.*}} step {{.*}} -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32) {
// CHECK:               gpu.barrier
// CHECK:               scf.for %{{.*}} = %{{.*}} to %c16
// CHECK-COUNT-16:        math.fma
// CHECK:               gpu.barrier
// CHECK-COUNT-16:    math.exp
// CHECK:             scf.for %{{.*}} = %{{.*}} to %c4{{.*}} step {{.*}} -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32) {
// CHECK:               gpu.barrier
// CHECK:               scf.for %{{.*}} = %{{.*}} to %c16
// CHECK-COUNT-16:        math.fma
// CHECK:               gpu.barrier
// CHECK-COUNT-16:    math.fma
// CHECK:             gpu.barrier
// CHECK:             scf.yield %{{.*}} : f32
// CHECK:           scf.if
// CHECK:             memref.store %{{.*}}, %[[SEGS]][%{{.*}}] : memref<?xf32>
// CHECK:             memref.store %{{.*}}, %[[TOTALS]][%{{.*}}] : memref<?xf32>
// CHECK:           else
// CHECK:             memref.store %{{.*}}, %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}] : memref<?x4x40x20xf32>
// CHECK:           gpu.terminator
// CHECK:         scf.if
// CHECK:         gpu.launch blocks({{.*}}) in ({{.*}}) threads({{.*}}) in (%{{.*}} = %c8{{.*}}, %{{.*}} = %c16{{.*}}, %{{.*}} = %c1{{.*}}) module(@ssm_kernelmodule) function(@ssm_kernel0_ssd_fixup) workgroup(%{{.*}} : memref<256xvector<4xf32>, #gpu.address_space<workgroup>>, %{{.*}} : memref<272xvector<4xf32>, #gpu.address_space<workgroup>>, %{{.*}} : memref<5x64xf32, #gpu.address_space<workgroup>>)
// CHECK:           scf.for {{.*}} -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32) {
// CHECK-COUNT-16:    memref.load %[[SEGS]]
// CHECK:           scf.for
// CHECK-NOT:         math.fma
// CHECK:             scf.for %{{.*}} = %{{.*}} to %c2{{.*}} step {{.*}} -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32) {
// CHECK:               scf.for %{{.*}} = %{{.*}} to %c16
// CHECK-COUNT-16:        math.fma
// CHECK:             memref.load %{{.*}} : memref<?x?x4x40xf32>
// CHECK:             arith.addf
// CHECK:           gpu.terminator
// CHECK:         memref.dealloc %[[CB]] : memref<?xf32>
// CHECK:         memref.dealloc %[[SEGS]] : memref<?xf32>
// CHECK:         memref.dealloc %[[TOTALS]] : memref<?xf32>
// CHECK-NOT:     ssm.fused_ssd
func.func @fused_ssd(%x: memref<?x?x4x40xf32>, %g: memref<?x?x4xf32>, %B: memref<?x?x2x20xf32>, %C: memref<?x?x2x20xf32>, %s: memref<?x?x4xf32>, %D: memref<4xf32>, %z: memref<?x?x4x40xf32>, %h0: memref<?x4x40x20xf32>, %y: memref<?x?x4x40xf32>, %h: memref<?x4x40x20xf32>) {
  ssm.fused_ssd %x, %g, %B, %C scale(%s : memref<?x?x4xf32>) D(%D : memref<4xf32>) gate(%z : memref<?x?x4x40xf32>) initial_state(%h0 : memref<?x4x40x20xf32>) outs(%y, %h : memref<?x?x4x40xf32>, memref<?x4x40x20xf32>) : memref<?x?x4x40xf32>, memref<?x?x4xf32>, memref<?x?x2x20xf32>, memref<?x?x2x20xf32>
  return
}

// -----

// ssm.fused_ssd of one token per sequence known at compile time (a decode
// step): no C B^T buffer, one launch of 128 threads per (batch, head, 32
// head dims) named _ssd_step, workgroup memory for 32 rows x 33 partial
// sums; the decay exp(min(g, 0)); per row of the thread (8) and state lane
// (20 state dims: one lane each) the new state (fma of scale x and B with
// the decayed initial state), stored where in range, and its C product
// into the partials; after the barrier, the 32 partials of a row summed,
// D x, the gate (exp in silu), y stored.
// CHECK-LABEL: func.func @fused_ssd_step(
// CHECK-NOT:     memref.alloc
// CHECK:         gpu.launch blocks({{.*}}) in ({{.*}}) threads({{.*}}) in (%{{.*}} = %c128{{.*}}, %{{.*}} = %c1{{.*}}, %{{.*}} = %c1{{.*}}) module(@ssm_kernelmodule) function(@ssm_kernel0_ssd_step) workgroup(%[[PART:.*]] : memref<32x33xf32, #gpu.address_space<workgroup>>)
// CHECK:           arith.minimumf
// CHECK:           math.exp
// CHECK-COUNT-8:   memref.store %{{.*}}, %[[PART]]
// CHECK:           gpu.barrier
// CHECK-COUNT-32:  memref.load %[[PART]]
// CHECK:           math.fma
// CHECK:           math.exp
// CHECK:           memref.store
// CHECK:           gpu.terminator
// CHECK-NOT:     gpu.launch
func.func @fused_ssd_step(%x: memref<?x1x4x40xf32>, %g: memref<?x1x4xf32>, %B: memref<?x1x2x20xf32>, %C: memref<?x1x2x20xf32>, %s: memref<?x1x4xf32>, %D: memref<4xf32>, %z: memref<?x1x4x40xf32>, %h0: memref<?x4x40x20xf32>, %y: memref<?x1x4x40xf32>, %h: memref<?x4x40x20xf32>) {
  ssm.fused_ssd %x, %g, %B, %C scale(%s : memref<?x1x4xf32>) D(%D : memref<4xf32>) gate(%z : memref<?x1x4x40xf32>) initial_state(%h0 : memref<?x4x40x20xf32>) outs(%y, %h : memref<?x1x4x40xf32>, memref<?x4x40x20xf32>) : memref<?x1x4x40xf32>, memref<?x1x4xf32>, memref<?x1x2x20xf32>, memref<?x1x2x20xf32>
  return
}

// -----

// ssm.fused_attention of one query known at compile time (a decode step):
// the step kernel, 128 threads per (batch, kv head), workgroup memory for
// the 2 query rows of the kv head (2 x 40) and two [2][128] buffers. The
// key-tile loop carries the rows' maxima and sums and this thread's one
// output element (2 x 24 = 48 of them, one per thread); per tile: the
// scores of the thread's key over 40 head dims (2 fmas per step), the rows'
// maxima in 7 halving steps (one barrier each), the probabilities, their
// sums in 7 more, then p v over the tile's keys.
// CHECK-LABEL: func.func @fused_attention_step(
// CHECK:         gpu.launch {{.*}} threads({{.*}}) in (%{{.*}} = %c128{{.*}}, %{{.*}} = %c1{{.*}}, %{{.*}} = %c1{{.*}}) module(@ssm_kernelmodule) function(@ssm_kernel0_attention_step) workgroup(%{{.*}} : memref<2x40xf32, #gpu.address_space<workgroup>>, %{{.*}} : memref<2x128xf32, #gpu.address_space<workgroup>>, %{{.*}} : memref<2x128xf32, #gpu.address_space<workgroup>>)
// CHECK:           scf.for {{.*}} -> (f32, f32, f32, f32, f32) {
// CHECK:             gpu.barrier
// CHECK:             scf.for %{{.*}} = %{{.*}} to %c40{{.*}} -> (f32, f32) {
// CHECK-COUNT-2:       math.fma
// CHECK-COUNT-7:     arith.maximumf
// CHECK:             gpu.barrier
// CHECK-COUNT-7:     arith.addf
// CHECK:             scf.for {{.*}} -> (f32) {
// CHECK:               math.fma
// CHECK:           gpu.terminator
func.func @fused_attention_step(%q: memref<2x1x4x40xf32>, %k: memref<2x?x2x40xf32>, %v: memref<2x?x2x24xf32>, %o: memref<2x1x4x24xf32>) {
  ssm.fused_attention %q, %k, %v outs(%o : memref<2x1x4x24xf32>) {causal, scale = 0.5 : f32} : memref<2x1x4x40xf32>, memref<2x?x2x40xf32>, memref<2x?x2x24xf32>
  return
}

// -----

func.func @fused_ssd_tensors(%x: tensor<1x4x2x8xf32>, %g: tensor<1x4x2xf32>, %B: tensor<1x4x1x16xf32>, %C: tensor<1x4x1x16xf32>, %yi: tensor<1x4x2x8xf32>, %si: tensor<1x2x8x16xf32>) -> (tensor<1x4x2x8xf32>, tensor<1x2x8x16xf32>) {
  // expected-error @+1 {{'ssm.fused_ssd' op ssm-linalg-to-gpu needs ssm.fused_ssd on buffers (run bufferization first)}}
  %0:2 = ssm.fused_ssd %x, %g, %B, %C outs(%yi, %si : tensor<1x4x2x8xf32>, tensor<1x2x8x16xf32>) : tensor<1x4x2x8xf32>, tensor<1x4x2xf32>, tensor<1x4x1x16xf32>, tensor<1x4x1x16xf32> -> tensor<1x4x2x8xf32>, tensor<1x2x8x16xf32>
  return %0#0, %0#1 : tensor<1x4x2x8xf32>, tensor<1x2x8x16xf32>
}

// -----

func.func @fused_ssd_wide_state(%x: memref<1x4x2x8xf32>, %g: memref<1x4x2xf32>, %B: memref<1x4x1x136xf32>, %C: memref<1x4x1x136xf32>, %yi: memref<1x4x2x8xf32>, %si: memref<1x2x8x136xf32>) {
  // expected-error @+1 {{'ssm.fused_ssd' op the fused kernels need static head, group, head-size and state sizes and a state size of at most 128, got 'memref<1x4x1x136xf32>'}}
  ssm.fused_ssd %x, %g, %B, %C outs(%yi, %si : memref<1x4x2x8xf32>, memref<1x2x8x136xf32>) : memref<1x4x2x8xf32>, memref<1x4x2xf32>, memref<1x4x1x136xf32>, memref<1x4x1x136xf32>
  return
}

// -----

func.func @generic_on_tensors(%a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'linalg.generic' op ssm-linalg-to-gpu needs linalg on buffers (run bufferization first)}}
  %0 = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%a : tensor<4xf32>) outs(%b : tensor<4xf32>) {
  ^bb0(%x: f32, %y: f32):
    linalg.yield %x : f32
  } -> tensor<4xf32>
  return %0 : tensor<4xf32>
}
