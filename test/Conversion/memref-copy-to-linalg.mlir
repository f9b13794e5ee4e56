// RUN: ssm-opt %s --ssm-memref-copy-to-linalg | FileCheck %s

// CHECK-LABEL: func.func @strided
// CHECK-NOT: memref.copy
// CHECK: linalg.copy ins(%{{.*}} : memref<2x3xf32, strided<[4, 1]>>) outs(%{{.*}} : memref<2x3xf32>)
func.func @strided(%a: memref<2x3xf32, strided<[4, 1]>>, %b: memref<2x3xf32>) {
  memref.copy %a, %b : memref<2x3xf32, strided<[4, 1]>> to memref<2x3xf32>
  return
}

// Unranked copies are left alone.
// CHECK-LABEL: func.func @unranked
// CHECK: memref.copy
func.func @unranked(%a: memref<*xf32>, %b: memref<*xf32>) {
  memref.copy %a, %b : memref<*xf32> to memref<*xf32>
  return
}
