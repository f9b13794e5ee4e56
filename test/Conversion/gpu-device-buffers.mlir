// RUN: ssm-opt %s --ssm-gpu-device-buffers --split-input-file --verify-diagnostics | FileCheck %s

memref.global "private" constant @w : memref<4xf32> = dense<[1.0, 2.0, 3.0, 4.0]>

// Host-only buffers go to the stack; a host store into an argument becomes a
// one-thread kernel; a host load of one becomes a kernel, a copy and a load.
// CHECK-LABEL: module attributes {ssm.gpu.device_globals = {w = 16 : i64}}
// CHECK-LABEL: func.func @f
// CHECK: %[[FLAGS:.*]] = memref.alloca() : memref<2xi1>
// CHECK-NOT: memref.dealloc %[[FLAGS]]
// CHECK: gpu.launch {{.*}} module(@ssm_kernelmodule) function(@ssm_kernelscalar0)
// CHECK-NEXT: memref.store %{{.*}}, %arg0[%{{.*}}] : memref<1xi64>
// CHECK: %[[TMP:.*]] = memref.alloc() : memref<1xi64>
// CHECK: gpu.launch {{.*}} function(@ssm_kernelscalar1)
// CHECK: memref.store %{{.*}}, %[[TMP]]
// CHECK: %[[HOST:.*]] = memref.alloca() : memref<1xi64>
// CHECK: call @__ssm_gpu_copy_to_host
// CHECK: memref.dealloc %[[TMP]]
// CHECK: memref.load %[[HOST]]
// CHECK: func.func private @__ssm_gpu_copy_to_host(i64, i64, i64)
func.func @f(%arg0: memref<1xi64>) -> (i64, memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %true = arith.constant true
  %c7 = arith.constant 7 : i64
  %flags = memref.alloc() : memref<2xi1>
  memref.store %true, %flags[%c0] : memref<2xi1>
  memref.dealloc %flags : memref<2xi1>
  memref.store %c7, %arg0[%c0] : memref<1xi64>
  %v = memref.load %arg0[%c0] : memref<1xi64>
  %w = memref.get_global @w : memref<4xf32>
  return %v, %w : i64, memref<4xf32>
}

// -----

// The deallocation pipeline's arrays reach its helper through memref.cast:
// still host-only, on the stack, their stores and loads left to the host.
// CHECK-LABEL: func.func @through_cast
// CHECK: %[[PTRS:.*]] = memref.alloca() : memref<2xindex>
// CHECK-NEXT: memref.store %{{.*}}, %[[PTRS]][%{{.*}}] : memref<2xindex>
// CHECK-NEXT: %[[CAST:.*]] = memref.cast %[[PTRS]]
// CHECK-NEXT: call @helper(%[[CAST]])
// CHECK-NEXT: %[[V:.*]] = memref.load %[[PTRS]]
// CHECK-NEXT: return %[[V]]
// CHECK-NOT: gpu.launch
func.func private @helper(%p: memref<?xindex>) {
  %c1 = arith.constant 1 : index
  %v = memref.load %p[%c1] : memref<?xindex>
  memref.store %v, %p[%c1] : memref<?xindex>
  return
}
func.func @through_cast(%i: index) -> index {
  %c0 = arith.constant 0 : index
  %ptrs = memref.alloc() : memref<2xindex>
  memref.store %i, %ptrs[%c0] : memref<2xindex>
  %cast = memref.cast %ptrs : memref<2xindex> to memref<?xindex>
  call @helper(%cast) : (memref<?xindex>) -> ()
  %v = memref.load %ptrs[%c0] : memref<2xindex>
  memref.dealloc %cast : memref<?xindex>
  return %v : index
}

// -----

func.func @dynamic(%n: index) -> i1 {
  %c0 = arith.constant 0 : index
  // expected-error @+1 {{is a host buffer of dynamic size}}
  %flags = memref.alloc(%n) : memref<?xi1>
  %v = memref.load %flags[%c0] : memref<?xi1>
  memref.dealloc %flags : memref<?xi1>
  return %v : i1
}

// -----

// The device copies of constants are as large as the host's: a boolean
// takes a byte (as the LLVM lowering of memrefs lays it out, not a bit), a
// half float two bytes.
// CHECK-LABEL: module attributes {ssm.gpu.device_globals = {h = 6 : i64, mask = 15 : i64}}
memref.global "private" constant @mask : memref<3x5xi1> = dense<true>
memref.global "private" constant @h : memref<3xf16> = dense<1.0>
func.func @constants() -> (memref<3x5xi1>, memref<3xf16>) {
  %m = memref.get_global @mask : memref<3x5xi1>
  %h = memref.get_global @h : memref<3xf16>
  return %m, %h : memref<3x5xi1>, memref<3xf16>
}
