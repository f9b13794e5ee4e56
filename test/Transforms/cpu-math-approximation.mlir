// RUN: ssm-opt %s --ssm-cpu-math-approximation | FileCheck %s

// f32 exp, expm1, log, log1p and tanh, scalars and vectors, become
// arithmetic (no call is left for convert-math-to-libm): exp is 2^k times a
// polynomial in the reduced argument.
// CHECK-LABEL: func.func @f32_functions
// CHECK-NOT: math.exp
// CHECK-NOT: math.expm1
// CHECK-NOT: math.log
// CHECK-NOT: math.log1p
// CHECK-NOT: math.tanh
// CHECK: return
func.func @f32_functions(%x: f32, %v: vector<16xf32>) -> (f32, f32, f32, f32, f32, vector<16xf32>) {
  %a = math.exp %x : f32
  %b = math.expm1 %x : f32
  %c = math.log %x : f32
  %d = math.log1p %x : f32
  %e = math.tanh %x : f32
  %f = math.exp %v : vector<16xf32>
  return %a, %b, %c, %d, %e, %f : f32, f32, f32, f32, f32, vector<16xf32>
}

// CHECK-LABEL: func.func @exp_form
// CHECK: math.floor
// CHECK: math.fma
// CHECK: arith.shli
// CHECK: arith.bitcast
func.func @exp_form(%x: f32) -> f32 {
  %a = math.exp %x : f32
  return %a : f32
}

// f64 and the other functions keep their math ops (libm calls later).
// CHECK-LABEL: func.func @left_alone
// CHECK: math.exp %{{.*}} : f64
// CHECK: math.sqrt %{{.*}} : f32
// CHECK: math.sin %{{.*}} : f32
func.func @left_alone(%x: f64, %y: f32) -> (f64, f32, f32) {
  %a = math.exp %x : f64
  %b = math.sqrt %y : f32
  %c = math.sin %y : f32
  return %a, %b, %c : f64, f32, f32
}
