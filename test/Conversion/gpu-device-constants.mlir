// RUN: ssm-opt %s --ssm-gpu-device-constants | FileCheck %s

// The address of a device global is replaced by its device copy; other
// globals are left alone and the attribute is removed.
// CHECK-NOT: ssm.gpu.device_globals
// CHECK-LABEL: llvm.func @f
// CHECK: %[[A:.*]] = llvm.mlir.addressof @w : !llvm.ptr
// CHECK: %[[N:.*]] = llvm.mlir.constant(16 : i64) : i64
// CHECK: %[[D:.*]] = llvm.call @__ssm_gpu_constant(%[[A]], %[[N]]) : (!llvm.ptr, i64) -> !llvm.ptr
// CHECK: %[[H:.*]] = llvm.mlir.addressof @name : !llvm.ptr
// CHECK: llvm.call @use(%[[D]], %[[H]])
// CHECK: llvm.func @__ssm_gpu_constant(!llvm.ptr, i64) -> !llvm.ptr
module attributes {ssm.gpu.device_globals = {w = 16 : i64}} {
  llvm.mlir.global private constant @w(dense<1.0> : tensor<4xf32>) : !llvm.array<4 x f32>
  llvm.mlir.global private constant @name("k\00") : !llvm.array<2 x i8>
  llvm.func @use(!llvm.ptr, !llvm.ptr)
  llvm.func @f() {
    %0 = llvm.mlir.addressof @w : !llvm.ptr
    %1 = llvm.mlir.addressof @name : !llvm.ptr
    llvm.call @use(%0, %1) : (!llvm.ptr, !llvm.ptr) -> ()
    llvm.return
  }
}
