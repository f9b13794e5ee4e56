// RUN: ssm-opt %s --ssm-fuse-attention --split-input-file | FileCheck %s
// RUN: ssm-opt %s --ssm-fuse-attention=max-value-dim=16 --split-input-file | FileCheck %s --check-prefix=MAX16
// RUN: not ssm-opt %s --ssm-fuse-attention=max-value-dim=256 2>&1 | FileCheck %s --check-prefix=ERR
// ERR: ssm-fuse-attention: max-value-dim must be between 1 and 128 (the fused kernel's limit), got 256
// RUN: ssm-opt %s --ssm-fuse-attention --canonicalize --one-shot-bufferize="bufferize-function-boundaries allow-unknown-ops" --canonicalize --split-input-file | FileCheck %s --check-prefix=BUF

// GQA with dynamic batch and sequence sizes: the init is a tensor.empty of
// the query's batch and length, the default scale 1/sqrt(64) explicit, the
// attributes kept.
// CHECK-LABEL: func.func @causal_gqa(
// CHECK-SAME:    %[[Q:[^:]+]]: tensor<?x?x8x64xf32>, %[[K:[^:]+]]: tensor<?x?x2x64xf32>, %[[V:[^:]+]]: tensor<?x?x2x32xf32>)
// CHECK-DAG:     %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG:     %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG:     %[[B:.*]] = tensor.dim %[[Q]], %[[C0]]
// CHECK-DAG:     %[[L:.*]] = tensor.dim %[[Q]], %[[C1]]
// CHECK:         %[[E:.*]] = tensor.empty(%[[B]], %[[L]]) : tensor<?x?x8x32xf32>
// CHECK:         %[[Y:.*]] = ssm.fused_attention %[[Q]], %[[K]], %[[V]] outs(%[[E]] : tensor<?x?x8x32xf32>) {causal, scale = 1.250000e-01 : f32, window = 8 : i64}
// CHECK-NOT:     ssm.attention
// CHECK:         return %[[Y]]
// MAX16-LABEL: func.func @causal_gqa(
// MAX16:         ssm.attention
// MAX16-NOT:     ssm.fused_attention
// The op on buffers, written into a new buffer of the result's shape.
// BUF-LABEL: func.func @causal_gqa(
// BUF-SAME:    %[[Q:[^:]+]]: memref<?x?x8x64xf32
// BUF:         %[[A:.*]] = memref.alloc({{.*}}) {{.*}}: memref<?x?x8x32xf32>
// BUF:         ssm.fused_attention %[[Q]], %{{.*}}, %{{.*}} outs(%[[A]] : memref<?x?x8x32xf32>) {causal, scale = 1.250000e-01 : f32, window = 8 : i64}
// BUF-NOT:     memref.copy
// BUF:         return %[[A]]
func.func @causal_gqa(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x2x64xf32>, %v: tensor<?x?x2x32xf32>) -> tensor<?x?x8x32xf32> {
  %y = ssm.attention %q, %k, %v {causal, window = 8 : i64} : (tensor<?x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x32xf32>) -> tensor<?x?x8x32xf32>
  return %y : tensor<?x?x8x32xf32>
}

// -----

// bf16 operands: each cast to f32 (a linalg.generic of arith.extf), the
// f32 result truncated back; the mask cast too; scale and softcap kept.
// CHECK-LABEL: func.func @bf16_mask(
// CHECK-COUNT-4: arith.extf
// CHECK:         %[[Y:.*]] = ssm.fused_attention %{{.*}}, %{{.*}}, %{{.*}} mask(%{{.*}} : tensor<1x2x4x6xf32>) outs(%{{.*}} : tensor<2x4x2x8xf32>) {scale = 5.000000e-01 : f32, softcap = 3.000000e+01 : f32} : tensor<2x4x2x16xf32>, tensor<2x6x1x16xf32>, tensor<2x6x1x8xf32> -> tensor<2x4x2x8xf32>
// CHECK:         arith.truncf
// CHECK-NOT:     ssm.attention
// MAX16-LABEL: func.func @bf16_mask(
// MAX16:         ssm.fused_attention
func.func @bf16_mask(%q: tensor<2x4x2x16xbf16>, %k: tensor<2x6x1x16xbf16>, %v: tensor<2x6x1x8xbf16>, %m: tensor<1x2x4x6xbf16>) -> tensor<2x4x2x8xbf16> {
  %y = ssm.attention %q, %k, %v mask(%m) {scale = 0.5 : f32, softcap = 30.0 : f32} : (tensor<2x4x2x16xbf16>, tensor<2x6x1x16xbf16>, tensor<2x6x1x8xbf16>, tensor<1x2x4x6xbf16>) -> tensor<2x4x2x8xbf16>
  return %y : tensor<2x4x2x8xbf16>
}

// -----

// A value head size past the kernel's 128 stays ssm.attention.
// CHECK-LABEL: func.func @wide_values(
// CHECK:         ssm.attention
// CHECK-NOT:     ssm.fused_attention
func.func @wide_values(%q: tensor<1x4x2x16xf32>, %k: tensor<1x4x2x16xf32>, %v: tensor<1x4x2x144xf32>) -> tensor<1x4x2x144xf32> {
  %y = ssm.attention %q, %k, %v {causal} : (tensor<1x4x2x16xf32>, tensor<1x4x2x16xf32>, tensor<1x4x2x144xf32>) -> tensor<1x4x2x144xf32>
  return %y : tensor<1x4x2x144xf32>
}

// -----

// The op's init is only written: bufferizing it out of place (the init is
// returned too) allocates a new buffer and copies nothing into it.
// CHECK-LABEL: func.func @init_not_read(
// BUF-LABEL: func.func @init_not_read(
// BUF-SAME:    %arg3: memref<1x4x2x8xf32
// BUF-NOT:     memref.copy
// BUF:         %[[A:.*]] = memref.alloc() {{.*}}: memref<1x4x2x8xf32>
// BUF-NOT:     memref.copy
// BUF:         ssm.fused_attention {{.*}} outs(%[[A]] : memref<1x4x2x8xf32>)
// BUF:         return %[[A]], %arg3
func.func @init_not_read(%q: tensor<1x4x2x8xf32>, %k: tensor<1x4x2x8xf32>, %v: tensor<1x4x2x8xf32>, %init: tensor<1x4x2x8xf32>) -> (tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>) {
  %y = ssm.fused_attention %q, %k, %v outs(%init : tensor<1x4x2x8xf32>) {scale = 1.0 : f32} : tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32> -> tensor<1x4x2x8xf32>
  return %y, %init : tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>
}
