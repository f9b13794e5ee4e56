// RUN: ssm-opt %s --ssm-linalg-to-gpu=tensor-cores=tf32 --split-input-file | FileCheck %s
// RUN: ssm-opt %s --ssm-linalg-to-gpu=tensor-cores=tf32x3 --split-input-file | FileCheck %s --check-prefix=X3
// RUN: ssm-opt %s --ssm-linalg-to-gpu=tensor-cores=none --split-input-file | FileCheck %s --check-prefix=NONE
// RUN: not ssm-opt %s --ssm-linalg-to-gpu=tensor-cores=fp16 --split-input-file 2>&1 | FileCheck %s --check-prefix=BAD

// ssm.fused_ssd with the scan on tensor cores (ssm-linalg-to-gpu's
// tensor-cores option): the _cb kernel as without them, then _scan and
// _fixup as blocks of 256 threads (8 warps) per (batch, head, 64 head
// dims) with dynamic workgroup memory: x (64 tokens x 68), the state copy
// (20 state dims padded to one slice of 32, x 72), the C and B slices
// (64 x 36 each) and the chunk's five rows of 64: 46336 bytes; the fix-up
// has no x and no B: 19712 bytes. The chunk loop carries the total log
// decay and this thread's 8 state elements (one slice: 2 tiles of 4
// accumulators). Per chunk: M x over the token tiles up to the diagonal (a
// loop with a run-time bound; 4 decays per M fragment, 4 products: one per
// 8 head dims of the warp's 32); per state slice, y's state term (4 steps
// of 8 state dims, 4 products each) and the state update (8 steps of 8
// tokens, 2 products each: the warp's two state tiles). Operands are
// rounded to TF32 (add 0x1000, clear the low 13 bits); tf32x3 makes 3
// products of each (the low parts from a subtraction). Without tensor
// cores the SIMT kernels of linalg-to-gpu.mlir.
// CHECK-LABEL: func.func @fused_ssd(
// CHECK:         function(@ssm_kernel0_ssd_cb)
// CHECK:         gpu.launch blocks({{.*}}) in ({{.*}}) threads({{.*}}) in (%{{.*}} = %c256{{.*}}, %{{.*}} = %c1{{.*}}, %{{.*}} = %c1{{.*}}) dynamic_shared_memory_size %c46336_i32 module(@ssm_kernelmodule) function(@ssm_kernel0_ssd_scan) {
// CHECK:           %[[DYN:.*]] = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
// CHECK:           memref.view %[[DYN]][%c0{{.*}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<64x68xf32, #gpu.address_space<workgroup>>
// CHECK:           memref.view %[[DYN]][%c17408][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<32x72xf32, #gpu.address_space<workgroup>>
// CHECK:           memref.view %[[DYN]][%c26624][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<64x36xf32, #gpu.address_space<workgroup>>
// CHECK:           memref.view %[[DYN]][%c35840][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<64x36xf32, #gpu.address_space<workgroup>>
// CHECK:           memref.view %[[DYN]][%c45056][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<5x64xf32, #gpu.address_space<workgroup>>
// CHECK:           scf.for {{.*}} -> (f32, f32, f32, f32, f32, f32, f32, f32, f32) {
// CHECK:             scf.for %{{.*}} = %c0{{.*}} to %{{[0-9]+}} step %{{.*}} -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32) {
// CHECK-COUNT-4:       math.exp
// CHECK:               arith.constant 4096 : i32
// CHECK:               arith.constant -8192 : i32
// CHECK-COUNT-4:       nvgpu.mma.sync({{.*}}) {mmaShape = [16, 8, 8], tf32Enabled} : (vector<4x1xf32>, vector<2x1xf32>, vector<2x2xf32>) -> vector<2x2xf32>
// CHECK:             gpu.barrier
// CHECK:             scf.for %{{.*}} = %c0{{.*}} to %c4{{.*}} step {{.*}} -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32) {
// CHECK-COUNT-4:       nvgpu.mma.sync
// CHECK:             scf.for %{{.*}} = %c0{{.*}} to %c8{{.*}} step {{.*}} -> (f32, f32, f32, f32, f32, f32, f32, f32) {
// CHECK-COUNT-2:       nvgpu.mma.sync
// CHECK-NOT:           nvgpu.mma.sync
// CHECK:             gpu.barrier
// CHECK:           gpu.terminator
// CHECK:         gpu.launch {{.*}} dynamic_shared_memory_size %c19712_i32 module(@ssm_kernelmodule) function(@ssm_kernel0_ssd_fixup) {
// CHECK:           memref.view {{.*}} to memref<32x72xf32, #gpu.address_space<workgroup>>
// CHECK:           memref.view {{.*}} to memref<64x36xf32, #gpu.address_space<workgroup>>
// CHECK:           memref.view {{.*}} to memref<5x64xf32, #gpu.address_space<workgroup>>
// CHECK-NOT:       nvgpu.mma.sync
// CHECK:           scf.for {{.*}} -> (f32, f32, f32, f32, f32, f32, f32, f32, f32) {
// CHECK-NOT:         nvgpu.mma.sync
// CHECK:             scf.for %{{.*}} = %c0{{.*}} to %c4{{.*}} step {{.*}} -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32) {
// CHECK-COUNT-4:       nvgpu.mma.sync
// CHECK-NOT:         nvgpu.mma.sync
// CHECK:           gpu.terminator
// CHECK-NOT:     ssm.fused_ssd

// X3-LABEL: func.func @fused_ssd(
// X3:         function(@ssm_kernel0_ssd_scan)
// X3:           scf.for %{{.*}} = %c0{{.*}} to %{{[0-9]+}} step %{{.*}} -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32) {
// X3:             arith.subf
// X3-COUNT-12:    nvgpu.mma.sync
// X3-NOT:         nvgpu.mma.sync
// X3:           gpu.barrier

// NONE-LABEL: func.func @fused_ssd(
// NONE-NOT:     nvgpu.mma.sync
// NONE-NOT:     dynamic_shared_memory
// NONE:         threads({{.*}}) in (%{{.*}} = %c8{{.*}}, %{{.*}} = %c16{{.*}}, %{{.*}} = %c1{{.*}}) module(@ssm_kernelmodule) function(@ssm_kernel0_ssd_scan)

// BAD: error: ssm-linalg-to-gpu: unknown tensor-cores value 'fp16' (expected none, tf32 or tf32x3)
func.func @fused_ssd(%x: memref<?x?x4x40xf32>, %g: memref<?x?x4xf32>, %B: memref<?x?x2x20xf32>, %C: memref<?x?x2x20xf32>, %s: memref<?x?x4xf32>, %D: memref<4xf32>, %z: memref<?x?x4x40xf32>, %h0: memref<?x4x40x20xf32>, %y: memref<?x?x4x40xf32>, %h: memref<?x4x40x20xf32>) {
  ssm.fused_ssd %x, %g, %B, %C scale(%s : memref<?x?x4xf32>) D(%D : memref<4xf32>) gate(%z : memref<?x?x4x40xf32>) initial_state(%h0 : memref<?x4x40x20xf32>) outs(%y, %h : memref<?x?x4x40xf32>, memref<?x4x40x20xf32>) : memref<?x?x4x40xf32>, memref<?x?x4xf32>, memref<?x?x2x20xf32>, memref<?x?x2x20xf32>
  return
}

// -----

// ssm.fused_attention with tensor cores: 128 threads (4 warps of 16 rows)
// per 64 packed rows, dynamic workgroup memory for q and a k tile (64 x
// (40 + 4)) and a v tile (64 x (24 rounded to 32, + 4)): 31744 bytes. The
// key-tile loop carries the two rows' maxima and sums and 3 x 4 output
// accumulators; per tile: k and v staged between barriers, the scores over
// 5 steps of 8 head dims (8 products: 64 keys), softcap (tanh) per score,
// each row's maximum and sum over its quad (xor shuffles by 1 and 2), then
// P v: 8 steps of 8 keys x 3 tiles of 8 value dims = 24 products.
// CHECK-LABEL: func.func @fused_attention(
// CHECK:         gpu.launch {{.*}} threads({{.*}}) in (%{{.*}} = %c128{{.*}}, %{{.*}} = %c1{{.*}}, %{{.*}} = %c1{{.*}}) dynamic_shared_memory_size %c31744_i32 module(@ssm_kernelmodule) function(@ssm_kernel0_attention) {
// CHECK:           memref.view {{.*}} to memref<64x44xf32, #gpu.address_space<workgroup>>
// CHECK:           memref.view {{.*}} to memref<64x44xf32, #gpu.address_space<workgroup>>
// CHECK:           memref.view {{.*}} to memref<64x36xf32, #gpu.address_space<workgroup>>
// CHECK:           scf.for {{.*}} -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32) {
// CHECK:             gpu.barrier
// CHECK:             gpu.barrier
// CHECK:             scf.for %{{.*}} = %c0{{.*}} to %c5{{.*}}
// CHECK-COUNT-8:       nvgpu.mma.sync
// CHECK:             math.tanh
// CHECK:             gpu.shuffle  xor %{{.*}}, %c1_i32
// CHECK:             gpu.shuffle  xor %{{.*}}, %c2_i32
// CHECK-COUNT-24:    nvgpu.mma.sync
// CHECK-NOT:         nvgpu.mma.sync
// CHECK:           gpu.terminator
// X3-LABEL: func.func @fused_attention(
// X3-COUNT-96:   nvgpu.mma.sync
// X3-NOT:        nvgpu.mma.sync
// NONE-LABEL: func.func @fused_attention(
// NONE-NOT:     nvgpu.mma.sync
// NONE:         threads({{.*}}) in (%{{.*}} = %c16{{.*}}, %{{.*}} = %c16{{.*}}, %{{.*}} = %c1{{.*}}) module(@ssm_kernelmodule) function(@ssm_kernel0_attention)
func.func @fused_attention(%q: memref<2x?x4x40xf32>, %k: memref<2x?x2x40xf32>, %v: memref<2x?x2x24xf32>, %m: memref<?x1x?x?xf32>, %o: memref<2x?x4x24xf32>) {
  ssm.fused_attention %q, %k, %v mask(%m : memref<?x1x?x?xf32>) outs(%o : memref<2x?x4x24xf32>) {causal, scale = 0.5 : f32, window = 8 : i64, softcap = 5.0 : f32} : memref<2x?x4x40xf32>, memref<2x?x2x40xf32>, memref<2x?x2x24xf32>
  return
}
