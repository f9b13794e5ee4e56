// RUN: ssm-opt %s --ssm-linalg-to-gpu --split-input-file --verify-diagnostics | FileCheck %s

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
// One thread per row; the reduction over d1 carried in registers.
// CHECK-LABEL: func.func @row_sum
// CHECK: %[[N:.*]] = memref.dim
// CHECK: scf.if
// CHECK: gpu.launch {{.*}} threads({{.*}}) in ({{.*}} = %c256{{.*}}) module(@ssm_kernelmodule) function(@ssm_kernel0)
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
