// RUN: ssm-opt %s --ssm-identity-layout-results --split-input-file | FileCheck %s

// A view at offset 0 with a dynamic outer stride, returned through a cast
// to the identity layout: copied into a new buffer of the view's sizes.
// CHECK-LABEL: func.func @view
// CHECK-SAME: (%[[BUF:.*]]: memref<2x?xf32>, %[[L:.*]]: index)
// CHECK: %[[V:.*]] = memref.subview %[[BUF]][0, 0] [2, %[[L]]] [1, 1]
// CHECK: %[[C1:.*]] = arith.constant 1 : index
// CHECK: %[[D:.*]] = memref.dim %[[V]], %[[C1]] : memref<2x?xf32, strided<[?, 1]>>
// CHECK: %[[NEW:.*]] = memref.alloc(%[[D]]) : memref<2x?xf32>
// CHECK: memref.copy %[[V]], %[[NEW]] : memref<2x?xf32, strided<[?, 1]>> to memref<2x?xf32>
// CHECK-NOT: memref.cast
// CHECK: return %[[NEW]] : memref<2x?xf32>
func.func @view(%buf: memref<2x?xf32>, %l: index) -> memref<2x?xf32> {
  %v = memref.subview %buf[0, 0] [2, %l] [1, 1] : memref<2x?xf32> to memref<2x?xf32, strided<[?, 1]>>
  %c = memref.cast %v : memref<2x?xf32, strided<[?, 1]>> to memref<2x?xf32>
  return %c : memref<2x?xf32>
}

// -----

// Casts between identity layouts (static to dynamic sizes) and buffers
// returned as they are stay.
// CHECK-LABEL: func.func @plain
// CHECK-NOT: memref.alloc
// CHECK-NOT: memref.copy
// CHECK: %[[C:.*]] = memref.cast %{{.*}} : memref<2x3xf32> to memref<2x?xf32>
// CHECK: return %[[C]], %{{.*}} : memref<2x?xf32>, memref<4xf32>
func.func @plain(%a: memref<2x3xf32>, %b: memref<4xf32>) -> (memref<2x?xf32>, memref<4xf32>) {
  %c = memref.cast %a : memref<2x3xf32> to memref<2x?xf32>
  return %c, %b : memref<2x?xf32>, memref<4xf32>
}
