// RUN: ssm-opt %s --ssm-fuse-ssd --split-input-file | FileCheck %s
// RUN: ssm-opt %s --ssm-fuse-ssd=max-state-dim=16 --split-input-file | FileCheck %s --check-prefix=MAX16
// RUN: not ssm-opt %s --ssm-fuse-ssd=max-state-dim=256 2>&1 | FileCheck %s --check-prefix=ERR
// ERR: ssm-fuse-ssd: max-state-dim must be between 1 and 128 (the fused kernels' limit), got 256
// RUN: not ssm-opt %s --ssm-fuse-ssd=max-state-dim=0 2>&1 | FileCheck %s --check-prefix=ERR0
// ERR0: ssm-fuse-ssd: max-state-dim must be between 1 and 128 (the fused kernels' limit), got 0
// RUN: ssm-opt %s --ssm-fuse-ssd --canonicalize --one-shot-bufferize="bufferize-function-boundaries allow-unknown-ops" --canonicalize --split-input-file | FileCheck %s --check-prefix=BUF

// SSD with every option: the prologue computes dt' (bias, softplus, the
// limit's clamp) and the clamped log decay min(dt' A, 0); the fused op
// takes dt' as its scale, D, z as its gate and the initial state; its
// inits are tensor.empty of x's batch and length.
// CHECK-LABEL: func.func @ssd_all(
// CHECK-SAME:    %[[X:[^:]+]]: tensor<?x?x8x64xf32>, %[[DT:[^:]+]]: tensor<?x?x8xf32>, %[[A:[^:]+]]: tensor<8xf32>, %[[B:[^:]+]]: tensor<?x?x2x128xf32>, %[[C:[^:]+]]: tensor<?x?x2x128xf32>, %[[D:[^:]+]]: tensor<8xf32>, %[[BIAS:[^:]+]]: tensor<8xf32>, %[[Z:[^:]+]]: tensor<?x?x8x64xf32>, %[[H0:[^:]+]]: tensor<?x8x64x128xf32>)
// CHECK:         %[[DTP:.*]] = linalg.generic {{.*}} ins(%[[DT]], %[[BIAS]] : tensor<?x?x8xf32>, tensor<8xf32>)
// CHECK:           arith.addf
// CHECK:           math.log1p
// CHECK:           arith.maximumf
// CHECK:           arith.minimumf
// CHECK:         %[[G:.*]] = linalg.generic {{.*}} ins(%[[DTP]], %[[A]] : tensor<?x?x8xf32>, tensor<8xf32>)
// CHECK:           %[[P:.*]] = arith.mulf
// CHECK:           arith.minimumf %[[P]], %{{.*}} : f32
// CHECK:         %[[YE:.*]] = tensor.empty(%{{.*}}, %{{.*}}) : tensor<?x?x8x64xf32>
// CHECK:         %[[SE:.*]] = tensor.empty(%{{.*}}) : tensor<?x8x64x128xf32>
// CHECK:         %[[R:.*]]:2 = ssm.fused_ssd %[[X]], %[[G]], %[[B]], %[[C]] scale(%[[DTP]] : tensor<?x?x8xf32>) D(%[[D]] : tensor<8xf32>) gate(%[[Z]] : tensor<?x?x8x64xf32>) initial_state(%[[H0]] : tensor<?x8x64x128xf32>) outs(%[[YE]], %[[SE]] : tensor<?x?x8x64xf32>, tensor<?x8x64x128xf32>)
// CHECK-NOT:     ssm.ssd
// CHECK:         return %[[R]]#0, %[[R]]#1
// MAX16-LABEL: func.func @ssd_all(
// MAX16:         ssm.ssd
// MAX16-NOT:     ssm.fused_ssd
// The op on buffers, writing y and the state into new buffers, no copy.
// BUF-LABEL: func.func @ssd_all(
// BUF-DAG:       %[[YA:.*]] = memref.alloc({{.*}}) {{.*}}: memref<?x?x8x64xf32>
// BUF-DAG:       %[[SA:.*]] = memref.alloc({{.*}}) {{.*}}: memref<?x8x64x128xf32>
// BUF-NOT:       memref.copy
// BUF:           ssm.fused_ssd {{.*}} outs(%[[YA]], %[[SA]] : memref<?x?x8x64xf32>, memref<?x8x64x128xf32>)
// BUF-NOT:       memref.copy
// BUF:           return %[[YA]], %[[SA]]
func.func @ssd_all(%x: tensor<?x?x8x64xf32>, %dt: tensor<?x?x8xf32>, %A: tensor<8xf32>, %B: tensor<?x?x2x128xf32>, %C: tensor<?x?x2x128xf32>, %D: tensor<8xf32>, %bias: tensor<8xf32>, %z: tensor<?x?x8x64xf32>, %h0: tensor<?x8x64x128xf32>) -> (tensor<?x?x8x64xf32>, tensor<?x8x64x128xf32>) {
  %y, %s = ssm.ssd %x, %dt, %A, %B, %C D(%D) dt_bias(%bias) z(%z) initial_state(%h0) {dt_softplus, dt_limit = array<f32: 0.0, 2.0>} : (tensor<?x?x8x64xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x2x128xf32>, tensor<?x?x2x128xf32>, tensor<8xf32>, tensor<8xf32>, tensor<?x?x8x64xf32>, tensor<?x8x64x128xf32>) -> (tensor<?x?x8x64xf32>, tensor<?x8x64x128xf32>)
  return %y, %s : tensor<?x?x8x64xf32>, tensor<?x8x64x128xf32>
}

// -----

// Discrete Mamba-2: the log decay is -softplus(A_log), no scale; the gate is
// z + z_bias; bf16 operands are cast to f32 and the results truncated back.
// CHECK-LABEL: func.func @discrete_bf16(
// CHECK:         arith.extf
// CHECK:         math.log1p
// CHECK:         arith.negf
// CHECK:         arith.addf
// CHECK:         %[[R:.*]]:2 = ssm.fused_ssd %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} D(%{{.*}} : tensor<4x16xf32>) gate(%{{.*}} : tensor<2x6x4x16xf32>) outs(%{{.*}}, %{{.*}} : tensor<2x6x4x16xf32>, tensor<2x4x16x8xf32>) : tensor<2x6x4x16xf32>, tensor<2x6x4xf32>, tensor<2x6x1x8xf32>, tensor<2x6x1x8xf32> -> tensor<2x6x4x16xf32>, tensor<2x4x16x8xf32>
// CHECK:         arith.truncf
// CHECK-NOT:     ssm.discrete_ssd
// MAX16-LABEL: func.func @discrete_bf16(
// MAX16:         ssm.fused_ssd
func.func @discrete_bf16(%x: tensor<2x6x4x16xbf16>, %a: tensor<2x6x4xbf16>, %B: tensor<2x6x1x8xbf16>, %C: tensor<2x6x1x8xbf16>, %D: tensor<4x16xbf16>, %z: tensor<2x6x4x16xbf16>, %zb: tensor<4x16xbf16>) -> (tensor<2x6x4x16xbf16>, tensor<2x4x16x8xf32>) {
  %y, %s = ssm.discrete_ssd %x, %a, %B, %C D(%D) z(%z) z_bias(%zb) : (tensor<2x6x4x16xbf16>, tensor<2x6x4xbf16>, tensor<2x6x1x8xbf16>, tensor<2x6x1x8xbf16>, tensor<4x16xbf16>, tensor<2x6x4x16xbf16>, tensor<4x16xbf16>) -> (tensor<2x6x4x16xbf16>, tensor<2x4x16x8xf32>)
  return %y, %s : tensor<2x6x4x16xbf16>, tensor<2x4x16x8xf32>
}

// -----

// A state size past the kernels' 128 stays ssm.ssd.
// CHECK-LABEL: func.func @wide_state(
// CHECK:         ssm.ssd
// CHECK-NOT:     ssm.fused_ssd
func.func @wide_state(%x: tensor<1x4x2x8xf32>, %dt: tensor<1x4x2xf32>, %A: tensor<2xf32>, %B: tensor<1x4x1x144xf32>, %C: tensor<1x4x1x144xf32>) -> (tensor<1x4x2x8xf32>, tensor<1x2x8x144xf32>) {
  %y, %s = ssm.ssd %x, %dt, %A, %B, %C : (tensor<1x4x2x8xf32>, tensor<1x4x2xf32>, tensor<2xf32>, tensor<1x4x1x144xf32>, tensor<1x4x1x144xf32>) -> (tensor<1x4x2x8xf32>, tensor<1x2x8x144xf32>)
  return %y, %s : tensor<1x4x2x8xf32>, tensor<1x2x8x144xf32>
}
