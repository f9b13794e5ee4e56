// RUN: ssm-opt %s --split-input-file --ssm-merge-parallel-bodies | FileCheck %s

// @b is @a up to its name and locations: its call goes to @a and @b is
// erased. @c differs in one constant and @d in an attribute, so both stay.

// CHECK-LABEL: func.func private @a(
// CHECK-NOT: func.func private @b(
// CHECK-LABEL: func.func private @c(
// CHECK: arith.constant 3.000000e+00 : f32
// CHECK-LABEL: func.func private @d(
// CHECK-SAME: ssm.other
// CHECK-LABEL: func.func @caller(
// CHECK: call @a(%{{.*}}) : (memref<4xf32>) -> ()
// CHECK-NEXT: call @a(%{{.*}}) : (memref<4xf32>) -> ()
// CHECK-NEXT: call @c(%{{.*}}) : (memref<4xf32>) -> ()
// CHECK-NEXT: call @d(%{{.*}}) : (memref<4xf32>) -> ()
func.func private @a(%m: memref<4xf32>) attributes {ssm.parallel_body} {
  %c0 = arith.constant 0 : index
  %v = arith.constant 2.0 : f32
  memref.store %v, %m[%c0] : memref<4xf32>
  return
}
func.func private @b(%m: memref<4xf32>) attributes {ssm.parallel_body} {
  %c0 = arith.constant 0 : index loc("elsewhere")
  %v = arith.constant 2.0 : f32
  memref.store %v, %m[%c0] : memref<4xf32>
  return
}
func.func private @c(%m: memref<4xf32>) attributes {ssm.parallel_body} {
  %c0 = arith.constant 0 : index
  %v = arith.constant 3.0 : f32
  memref.store %v, %m[%c0] : memref<4xf32>
  return
}
func.func private @d(%m: memref<4xf32>) attributes {ssm.parallel_body, ssm.other} {
  %c0 = arith.constant 0 : index
  %v = arith.constant 2.0 : f32
  memref.store %v, %m[%c0] : memref<4xf32>
  return
}
func.func @caller(%m: memref<4xf32>) {
  call @a(%m) : (memref<4xf32>) -> ()
  call @b(%m) : (memref<4xf32>) -> ()
  call @c(%m) : (memref<4xf32>) -> ()
  call @d(%m) : (memref<4xf32>) -> ()
  return
}

// -----

// A function whose address is taken (func.constant) is kept, and so is a
// copy without the ssm.parallel_body marker; the operands' order matters
// (@swapped stores its arguments the other way round).

// CHECK-LABEL: func.func private @p(
// CHECK-LABEL: func.func private @taken(
// CHECK-LABEL: func.func private @unmarked(
// CHECK-LABEL: func.func private @swapped(
// CHECK-LABEL: func.func @user(
// CHECK: constant @taken
// CHECK: call @p(
// CHECK-NEXT: call @unmarked(
// CHECK-NEXT: call @swapped(
func.func private @p(%m: memref<4xf32>, %x: f32, %y: f32) attributes {ssm.parallel_body} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  memref.store %x, %m[%c0] : memref<4xf32>
  memref.store %y, %m[%c1] : memref<4xf32>
  return
}
func.func private @taken(%m: memref<4xf32>, %x: f32, %y: f32) attributes {ssm.parallel_body} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  memref.store %x, %m[%c0] : memref<4xf32>
  memref.store %y, %m[%c1] : memref<4xf32>
  return
}
func.func private @unmarked(%m: memref<4xf32>, %x: f32, %y: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  memref.store %x, %m[%c0] : memref<4xf32>
  memref.store %y, %m[%c1] : memref<4xf32>
  return
}
func.func private @swapped(%m: memref<4xf32>, %x: f32, %y: f32) attributes {ssm.parallel_body} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  memref.store %y, %m[%c0] : memref<4xf32>
  memref.store %x, %m[%c1] : memref<4xf32>
  return
}
func.func @user(%m: memref<4xf32>, %x: f32) {
  %f = func.constant @taken : (memref<4xf32>, f32, f32) -> ()
  call @p(%m, %x, %x) : (memref<4xf32>, f32, f32) -> ()
  call @unmarked(%m, %x, %x) : (memref<4xf32>, f32, f32) -> ()
  call @swapped(%m, %x, %x) : (memref<4xf32>, f32, f32) -> ()
  return
}
