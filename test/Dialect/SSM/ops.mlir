// RUN: ssm-opt %s | ssm-opt | FileCheck %s
// RUN: ssm-opt %s --mlir-print-op-generic | ssm-opt | FileCheck %s

// Round trip of every ssm op through the custom and the generic form. Each
// function covers a different set of optional operands and attributes;
// default-valued attributes (rms_norm/hybrid_merge eps = 1e-5, rotary
// pairing = halves, mamba3 rotary_pairing = interleaved) are elided when
// printed, so the CHECK lines match the full op text with no attr-dict.

// CHECK-LABEL: func.func @attention_full(
// CHECK-SAME:    %[[Q:[^:]+]]: tensor<2x16x8x64xf32>,
// CHECK-SAME:    %[[K:[^:]+]]: tensor<2x32x2x64xf32>,
// CHECK-SAME:    %[[V:[^:]+]]: tensor<2x32x2x32xf32>,
// CHECK-SAME:    %[[M:[^:]+]]: tensor<1x8x16x32xf32>)
// CHECK-NEXT:  %[[RES:[^ ,]+]] = ssm.attention %[[Q]], %[[K]], %[[V]] mask(%[[M]]) {causal, scale = 1.250000e-01 : f32, softcap = 5.000000e+01 : f32, window = 128 : i64} : (tensor<2x16x8x64xf32>, tensor<2x32x2x64xf32>, tensor<2x32x2x32xf32>, tensor<1x8x16x32xf32>) -> tensor<2x16x8x32xf32>
// CHECK-NEXT:  return %[[RES]] : tensor<2x16x8x32xf32>
func.func @attention_full(%q: tensor<2x16x8x64xf32>, %k: tensor<2x32x2x64xf32>, %v: tensor<2x32x2x32xf32>, %m: tensor<1x8x16x32xf32>) -> tensor<2x16x8x32xf32> {
  %y = ssm.attention %q, %k, %v mask(%m) {causal, scale = 0.125 : f32, window = 128 : i64, softcap = 50.0 : f32} : (tensor<2x16x8x64xf32>, tensor<2x32x2x64xf32>, tensor<2x32x2x32xf32>, tensor<1x8x16x32xf32>) -> tensor<2x16x8x32xf32>
  return %y : tensor<2x16x8x32xf32>
}

// CHECK-LABEL: func.func @attention_gqa_dynamic_f16(
// CHECK-SAME:    %[[Q:[^:]+]]: tensor<?x?x8x64xf16>,
// CHECK-SAME:    %[[K:[^:]+]]: tensor<?x?x2x64xf16>,
// CHECK-SAME:    %[[V:[^:]+]]: tensor<?x?x2x64xf16>)
// CHECK-NEXT:  %[[RES:[^ ,]+]] = ssm.attention %[[Q]], %[[K]], %[[V]] : (tensor<?x?x8x64xf16>, tensor<?x?x2x64xf16>, tensor<?x?x2x64xf16>) -> tensor<?x?x8x64xf16>
// CHECK-NEXT:  return %[[RES]] : tensor<?x?x8x64xf16>
func.func @attention_gqa_dynamic_f16(%q: tensor<?x?x8x64xf16>, %k: tensor<?x?x2x64xf16>, %v: tensor<?x?x2x64xf16>) -> tensor<?x?x8x64xf16> {
  %y = ssm.attention %q, %k, %v : (tensor<?x?x8x64xf16>, tensor<?x?x2x64xf16>, tensor<?x?x2x64xf16>) -> tensor<?x?x8x64xf16>
  return %y : tensor<?x?x8x64xf16>
}

// CHECK-LABEL: func.func @attention_mask_broadcast_bf16(
// CHECK-SAME:    %[[Q:[^:]+]]: tensor<2x?x4x16xbf16>,
// CHECK-SAME:    %[[K:[^:]+]]: tensor<2x?x4x16xbf16>,
// CHECK-SAME:    %[[V:[^:]+]]: tensor<2x?x4x16xbf16>,
// CHECK-SAME:    %[[M:[^:]+]]: tensor<2x1x?x?xbf16>)
// CHECK-NEXT:  %[[RES:[^ ,]+]] = ssm.attention %[[Q]], %[[K]], %[[V]] mask(%[[M]]) {causal} : (tensor<2x?x4x16xbf16>, tensor<2x?x4x16xbf16>, tensor<2x?x4x16xbf16>, tensor<2x1x?x?xbf16>) -> tensor<2x?x4x16xbf16>
// CHECK-NEXT:  return %[[RES]] : tensor<2x?x4x16xbf16>
func.func @attention_mask_broadcast_bf16(%q: tensor<2x?x4x16xbf16>, %k: tensor<2x?x4x16xbf16>, %v: tensor<2x?x4x16xbf16>, %m: tensor<2x1x?x?xbf16>) -> tensor<2x?x4x16xbf16> {
  %y = ssm.attention %q, %k, %v mask(%m) {causal} : (tensor<2x?x4x16xbf16>, tensor<2x?x4x16xbf16>, tensor<2x?x4x16xbf16>, tensor<2x1x?x?xbf16>) -> tensor<2x?x4x16xbf16>
  return %y : tensor<2x?x4x16xbf16>
}

// CHECK-LABEL: func.func @ssd_full(
// CHECK-SAME:    %[[X:[^:]+]]: tensor<?x?x4x16xf32>,
// CHECK-SAME:    %[[DT:[^:]+]]: tensor<?x?x4xf32>,
// CHECK-SAME:    %[[A:[^:]+]]: tensor<4xf32>,
// CHECK-SAME:    %[[B:[^:]+]]: tensor<?x?x2x32xf32>,
// CHECK-SAME:    %[[C:[^:]+]]: tensor<?x?x2x32xf32>,
// CHECK-SAME:    %[[D:[^:]+]]: tensor<4xf32>,
// CHECK-SAME:    %[[BIAS:[^:]+]]: tensor<4xf32>,
// CHECK-SAME:    %[[Z:[^:]+]]: tensor<?x?x4x16xf32>,
// CHECK-SAME:    %[[H0:[^:]+]]: tensor<?x4x16x32xf32>)
// CHECK-NEXT:  %[[RES0:[^ ,]+]], %[[RES1:[^ ,]+]] = ssm.ssd %[[X]], %[[DT]], %[[A]], %[[B]], %[[C]] D(%[[D]]) dt_bias(%[[BIAS]]) z(%[[Z]]) initial_state(%[[H0]]) {dt_limit = array<f32: 0.000000e+00, 1.000000e+02>, dt_softplus} : (tensor<?x?x4x16xf32>, tensor<?x?x4xf32>, tensor<4xf32>, tensor<?x?x2x32xf32>, tensor<?x?x2x32xf32>, tensor<4xf32>, tensor<4xf32>, tensor<?x?x4x16xf32>, tensor<?x4x16x32xf32>) -> (tensor<?x?x4x16xf32>, tensor<?x4x16x32xf32>)
// CHECK-NEXT:  return %[[RES0]], %[[RES1]] : tensor<?x?x4x16xf32>, tensor<?x4x16x32xf32>
func.func @ssd_full(%x: tensor<?x?x4x16xf32>, %dt: tensor<?x?x4xf32>, %A: tensor<4xf32>, %B: tensor<?x?x2x32xf32>, %C: tensor<?x?x2x32xf32>, %D: tensor<4xf32>, %bias: tensor<4xf32>, %z: tensor<?x?x4x16xf32>, %h0: tensor<?x4x16x32xf32>) -> (tensor<?x?x4x16xf32>, tensor<?x4x16x32xf32>) {
  %y, %h = ssm.ssd %x, %dt, %A, %B, %C D(%D) dt_bias(%bias) z(%z) initial_state(%h0) {dt_softplus, dt_limit = array<f32: 0.0, 100.0>} : (tensor<?x?x4x16xf32>, tensor<?x?x4xf32>, tensor<4xf32>, tensor<?x?x2x32xf32>, tensor<?x?x2x32xf32>, tensor<4xf32>, tensor<4xf32>, tensor<?x?x4x16xf32>, tensor<?x4x16x32xf32>) -> (tensor<?x?x4x16xf32>, tensor<?x4x16x32xf32>)
  return %y, %h : tensor<?x?x4x16xf32>, tensor<?x4x16x32xf32>
}

// CHECK-LABEL: func.func @ssd_d_rank2_bf16(
// CHECK-SAME:    %[[X:[^:]+]]: tensor<2x8x4x16xbf16>,
// CHECK-SAME:    %[[DT:[^:]+]]: tensor<2x8x4xbf16>,
// CHECK-SAME:    %[[A:[^:]+]]: tensor<4xbf16>,
// CHECK-SAME:    %[[B:[^:]+]]: tensor<2x8x1x8xbf16>,
// CHECK-SAME:    %[[C:[^:]+]]: tensor<2x8x1x8xbf16>,
// CHECK-SAME:    %[[D:[^:]+]]: tensor<4x16xbf16>)
// CHECK-NEXT:  %[[RES0:[^ ,]+]], %[[RES1:[^ ,]+]] = ssm.ssd %[[X]], %[[DT]], %[[A]], %[[B]], %[[C]] D(%[[D]]) : (tensor<2x8x4x16xbf16>, tensor<2x8x4xbf16>, tensor<4xbf16>, tensor<2x8x1x8xbf16>, tensor<2x8x1x8xbf16>, tensor<4x16xbf16>) -> (tensor<2x8x4x16xbf16>, tensor<2x4x16x8xf32>)
// CHECK-NEXT:  return %[[RES0]], %[[RES1]] : tensor<2x8x4x16xbf16>, tensor<2x4x16x8xf32>
func.func @ssd_d_rank2_bf16(%x: tensor<2x8x4x16xbf16>, %dt: tensor<2x8x4xbf16>, %A: tensor<4xbf16>, %B: tensor<2x8x1x8xbf16>, %C: tensor<2x8x1x8xbf16>, %D: tensor<4x16xbf16>) -> (tensor<2x8x4x16xbf16>, tensor<2x4x16x8xf32>) {
  %y, %h = ssm.ssd %x, %dt, %A, %B, %C D(%D) : (tensor<2x8x4x16xbf16>, tensor<2x8x4xbf16>, tensor<4xbf16>, tensor<2x8x1x8xbf16>, tensor<2x8x1x8xbf16>, tensor<4x16xbf16>) -> (tensor<2x8x4x16xbf16>, tensor<2x4x16x8xf32>)
  return %y, %h : tensor<2x8x4x16xbf16>, tensor<2x4x16x8xf32>
}

// CHECK-LABEL: func.func @ssd_minimal(
// CHECK-SAME:    %[[X:[^:]+]]: tensor<1x?x2x8xf32>,
// CHECK-SAME:    %[[DT:[^:]+]]: tensor<1x?x2xf32>,
// CHECK-SAME:    %[[A:[^:]+]]: tensor<2xf32>,
// CHECK-SAME:    %[[B:[^:]+]]: tensor<1x?x2x4xf32>,
// CHECK-SAME:    %[[C:[^:]+]]: tensor<1x?x2x4xf32>)
// CHECK-NEXT:  %[[RES0:[^ ,]+]], %[[RES1:[^ ,]+]] = ssm.ssd %[[X]], %[[DT]], %[[A]], %[[B]], %[[C]] : (tensor<1x?x2x8xf32>, tensor<1x?x2xf32>, tensor<2xf32>, tensor<1x?x2x4xf32>, tensor<1x?x2x4xf32>) -> (tensor<1x?x2x8xf32>, tensor<1x2x8x4xf32>)
// CHECK-NEXT:  return %[[RES0]], %[[RES1]] : tensor<1x?x2x8xf32>, tensor<1x2x8x4xf32>
func.func @ssd_minimal(%x: tensor<1x?x2x8xf32>, %dt: tensor<1x?x2xf32>, %A: tensor<2xf32>, %B: tensor<1x?x2x4xf32>, %C: tensor<1x?x2x4xf32>) -> (tensor<1x?x2x8xf32>, tensor<1x2x8x4xf32>) {
  %y, %h = ssm.ssd %x, %dt, %A, %B, %C : (tensor<1x?x2x8xf32>, tensor<1x?x2xf32>, tensor<2xf32>, tensor<1x?x2x4xf32>, tensor<1x?x2x4xf32>) -> (tensor<1x?x2x8xf32>, tensor<1x2x8x4xf32>)
  return %y, %h : tensor<1x?x2x8xf32>, tensor<1x2x8x4xf32>
}

// CHECK-LABEL: func.func @discrete_ssd_full(
// CHECK-SAME:    %[[X:[^:]+]]: tensor<?x?x4x16xf32>,
// CHECK-SAME:    %[[A:[^:]+]]: tensor<?x?x4xf32>,
// CHECK-SAME:    %[[B:[^:]+]]: tensor<?x?x4x8xf32>,
// CHECK-SAME:    %[[C:[^:]+]]: tensor<?x?x4x8xf32>,
// CHECK-SAME:    %[[D:[^:]+]]: tensor<4xf32>,
// CHECK-SAME:    %[[Z:[^:]+]]: tensor<?x?x4x16xf32>,
// CHECK-SAME:    %[[ZB:[^:]+]]: tensor<4x16xf32>,
// CHECK-SAME:    %[[H0:[^:]+]]: tensor<?x4x16x8xf32>)
// CHECK-NEXT:  %[[RES0:[^ ,]+]], %[[RES1:[^ ,]+]] = ssm.discrete_ssd %[[X]], %[[A]], %[[B]], %[[C]] D(%[[D]]) z(%[[Z]]) z_bias(%[[ZB]]) initial_state(%[[H0]]) : (tensor<?x?x4x16xf32>, tensor<?x?x4xf32>, tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<4xf32>, tensor<?x?x4x16xf32>, tensor<4x16xf32>, tensor<?x4x16x8xf32>) -> (tensor<?x?x4x16xf32>, tensor<?x4x16x8xf32>)
// CHECK-NEXT:  return %[[RES0]], %[[RES1]] : tensor<?x?x4x16xf32>, tensor<?x4x16x8xf32>
func.func @discrete_ssd_full(%x: tensor<?x?x4x16xf32>, %a: tensor<?x?x4xf32>, %B: tensor<?x?x4x8xf32>, %C: tensor<?x?x4x8xf32>, %D: tensor<4xf32>, %z: tensor<?x?x4x16xf32>, %zb: tensor<4x16xf32>, %h0: tensor<?x4x16x8xf32>) -> (tensor<?x?x4x16xf32>, tensor<?x4x16x8xf32>) {
  %y, %h = ssm.discrete_ssd %x, %a, %B, %C D(%D) z(%z) z_bias(%zb) initial_state(%h0) : (tensor<?x?x4x16xf32>, tensor<?x?x4xf32>, tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<4xf32>, tensor<?x?x4x16xf32>, tensor<4x16xf32>, tensor<?x4x16x8xf32>) -> (tensor<?x?x4x16xf32>, tensor<?x4x16x8xf32>)
  return %y, %h : tensor<?x?x4x16xf32>, tensor<?x4x16x8xf32>
}

// CHECK-LABEL: func.func @discrete_ssd_f16(
// CHECK-SAME:    %[[X:[^:]+]]: tensor<2x8x4x16xf16>,
// CHECK-SAME:    %[[A:[^:]+]]: tensor<2x8x4xf16>,
// CHECK-SAME:    %[[B:[^:]+]]: tensor<2x8x2x8xf16>,
// CHECK-SAME:    %[[C:[^:]+]]: tensor<2x8x2x8xf16>,
// CHECK-SAME:    %[[D:[^:]+]]: tensor<4x16xf16>,
// CHECK-SAME:    %[[Z:[^:]+]]: tensor<2x8x4x16xf16>)
// CHECK-NEXT:  %[[RES0:[^ ,]+]], %[[RES1:[^ ,]+]] = ssm.discrete_ssd %[[X]], %[[A]], %[[B]], %[[C]] D(%[[D]]) z(%[[Z]]) : (tensor<2x8x4x16xf16>, tensor<2x8x4xf16>, tensor<2x8x2x8xf16>, tensor<2x8x2x8xf16>, tensor<4x16xf16>, tensor<2x8x4x16xf16>) -> (tensor<2x8x4x16xf16>, tensor<2x4x16x8xf32>)
// CHECK-NEXT:  return %[[RES0]], %[[RES1]] : tensor<2x8x4x16xf16>, tensor<2x4x16x8xf32>
func.func @discrete_ssd_f16(%x: tensor<2x8x4x16xf16>, %a: tensor<2x8x4xf16>, %B: tensor<2x8x2x8xf16>, %C: tensor<2x8x2x8xf16>, %D: tensor<4x16xf16>, %z: tensor<2x8x4x16xf16>) -> (tensor<2x8x4x16xf16>, tensor<2x4x16x8xf32>) {
  %y, %h = ssm.discrete_ssd %x, %a, %B, %C D(%D) z(%z) : (tensor<2x8x4x16xf16>, tensor<2x8x4xf16>, tensor<2x8x2x8xf16>, tensor<2x8x2x8xf16>, tensor<4x16xf16>, tensor<2x8x4x16xf16>) -> (tensor<2x8x4x16xf16>, tensor<2x4x16x8xf32>)
  return %y, %h : tensor<2x8x4x16xf16>, tensor<2x4x16x8xf32>
}

// CHECK-LABEL: func.func @mamba3_siso(
// CHECK-SAME:    %[[X:[^:]+]]: tensor<2x8x4x16xf32>,
// CHECK-SAME:    %[[DT:[^:]+]]: tensor<2x8x4xf32>,
// CHECK-SAME:    %[[A:[^:]+]]: tensor<2x8x4xf32>,
// CHECK-SAME:    %[[LAM:[^:]+]]: tensor<2x8x4xf32>,
// CHECK-SAME:    %[[THETA:[^:]+]]: tensor<2x8x4x8xf32>,
// CHECK-SAME:    %[[B:[^:]+]]: tensor<2x8x1x1x16xf32>,
// CHECK-SAME:    %[[C:[^:]+]]: tensor<2x8x1x1x16xf32>,
// CHECK-SAME:    %[[D:[^:]+]]: tensor<4xf32>,
// CHECK-SAME:    %[[Z:[^:]+]]: tensor<2x8x4x16xf32>)
// CHECK-NEXT:  %[[RES0:[^ ,]+]], %[[RES1:[^ ,]+]], %[[RES2:[^ ,]+]], %[[RES3:[^ ,]+]], %[[RES4:[^ ,]+]] = ssm.mamba3 %[[X]], %[[DT]], %[[A]], %[[LAM]], %[[THETA]], %[[B]], %[[C]] D(%[[D]]) z(%[[Z]]) : (tensor<2x8x4x16xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4x8xf32>, tensor<2x8x1x1x16xf32>, tensor<2x8x1x1x16xf32>, tensor<4xf32>, tensor<2x8x4x16xf32>) -> (tensor<2x8x4x16xf32>, tensor<2x4x16x16xf32>, tensor<2x4x8xf32>, tensor<2x1x4x16xf32>, tensor<2x4x16xf32>)
// CHECK-NEXT:  return %[[RES0]], %[[RES1]], %[[RES2]], %[[RES3]], %[[RES4]] : tensor<2x8x4x16xf32>, tensor<2x4x16x16xf32>, tensor<2x4x8xf32>, tensor<2x1x4x16xf32>, tensor<2x4x16xf32>
func.func @mamba3_siso(%x: tensor<2x8x4x16xf32>, %dt: tensor<2x8x4xf32>, %A: tensor<2x8x4xf32>, %lam: tensor<2x8x4xf32>, %theta: tensor<2x8x4x8xf32>, %B: tensor<2x8x1x1x16xf32>, %C: tensor<2x8x1x1x16xf32>, %D: tensor<4xf32>, %z: tensor<2x8x4x16xf32>) -> (tensor<2x8x4x16xf32>, tensor<2x4x16x16xf32>, tensor<2x4x8xf32>, tensor<2x1x4x16xf32>, tensor<2x4x16xf32>) {
  %y, %h, %ang, %k, %xl = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C D(%D) z(%z) : (tensor<2x8x4x16xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4x8xf32>, tensor<2x8x1x1x16xf32>, tensor<2x8x1x1x16xf32>, tensor<4xf32>, tensor<2x8x4x16xf32>) -> (tensor<2x8x4x16xf32>, tensor<2x4x16x16xf32>, tensor<2x4x8xf32>, tensor<2x1x4x16xf32>, tensor<2x4x16xf32>)
  return %y, %h, %ang, %k, %xl : tensor<2x8x4x16xf32>, tensor<2x4x16x16xf32>, tensor<2x4x8xf32>, tensor<2x1x4x16xf32>, tensor<2x4x16xf32>
}

// CHECK-LABEL: func.func @mamba3_mimo(
// CHECK-SAME:    %[[X:[^:]+]]: tensor<?x?x4x16xbf16>,
// CHECK-SAME:    %[[DT:[^:]+]]: tensor<?x?x4xbf16>,
// CHECK-SAME:    %[[A:[^:]+]]: tensor<?x?x4xbf16>,
// CHECK-SAME:    %[[LAM:[^:]+]]: tensor<?x?x4xbf16>,
// CHECK-SAME:    %[[THETA:[^:]+]]: tensor<?x?x4x4xbf16>,
// CHECK-SAME:    %[[B:[^:]+]]: tensor<?x?x4x2x32xbf16>,
// CHECK-SAME:    %[[C:[^:]+]]: tensor<?x?x4x2x32xbf16>,
// CHECK-SAME:    %[[D:[^:]+]]: tensor<4xbf16>,
// CHECK-SAME:    %[[Z:[^:]+]]: tensor<?x?x4x16xbf16>,
// CHECK-SAME:    %[[WX:[^:]+]]: tensor<4x4x16xbf16>,
// CHECK-SAME:    %[[WZ:[^:]+]]: tensor<4x4x16xbf16>,
// CHECK-SAME:    %[[WO:[^:]+]]: tensor<4x4x16xbf16>,
// CHECK-SAME:    %[[H0:[^:]+]]: tensor<?x4x16x32xf32>,
// CHECK-SAME:    %[[ANG0:[^:]+]]: tensor<?x4x4xf32>,
// CHECK-SAME:    %[[K0:[^:]+]]: tensor<?x4x4x32xf32>,
// CHECK-SAME:    %[[X0:[^:]+]]: tensor<?x4x16xf32>)
// CHECK-NEXT:  %[[RES0:[^ ,]+]], %[[RES1:[^ ,]+]], %[[RES2:[^ ,]+]], %[[RES3:[^ ,]+]], %[[RES4:[^ ,]+]] = ssm.mamba3 %[[X]], %[[DT]], %[[A]], %[[LAM]], %[[THETA]], %[[B]], %[[C]] D(%[[D]]) z(%[[Z]]) Wx(%[[WX]]) Wz(%[[WZ]]) Wo(%[[WO]]) initial_state(%[[H0]]) initial_angle(%[[ANG0]]) initial_k(%[[K0]]) initial_x(%[[X0]]) {rotary_pairing = #ssm.rotary_pairing<halves>} : (tensor<?x?x4x16xbf16>, tensor<?x?x4xbf16>, tensor<?x?x4xbf16>, tensor<?x?x4xbf16>, tensor<?x?x4x4xbf16>, tensor<?x?x4x2x32xbf16>, tensor<?x?x4x2x32xbf16>, tensor<4xbf16>, tensor<?x?x4x16xbf16>, tensor<4x4x16xbf16>, tensor<4x4x16xbf16>, tensor<4x4x16xbf16>, tensor<?x4x16x32xf32>, tensor<?x4x4xf32>, tensor<?x4x4x32xf32>, tensor<?x4x16xf32>) -> (tensor<?x?x4x16xbf16>, tensor<?x4x16x32xf32>, tensor<?x4x4xf32>, tensor<?x4x4x32xf32>, tensor<?x4x16xf32>)
// CHECK-NEXT:  return %[[RES0]], %[[RES1]], %[[RES2]], %[[RES3]], %[[RES4]] : tensor<?x?x4x16xbf16>, tensor<?x4x16x32xf32>, tensor<?x4x4xf32>, tensor<?x4x4x32xf32>, tensor<?x4x16xf32>
func.func @mamba3_mimo(%x: tensor<?x?x4x16xbf16>, %dt: tensor<?x?x4xbf16>, %A: tensor<?x?x4xbf16>, %lam: tensor<?x?x4xbf16>, %theta: tensor<?x?x4x4xbf16>, %B: tensor<?x?x4x2x32xbf16>, %C: tensor<?x?x4x2x32xbf16>, %D: tensor<4xbf16>, %z: tensor<?x?x4x16xbf16>, %wx: tensor<4x4x16xbf16>, %wz: tensor<4x4x16xbf16>, %wo: tensor<4x4x16xbf16>, %h0: tensor<?x4x16x32xf32>, %ang0: tensor<?x4x4xf32>, %k0: tensor<?x4x4x32xf32>, %x0: tensor<?x4x16xf32>) -> (tensor<?x?x4x16xbf16>, tensor<?x4x16x32xf32>, tensor<?x4x4xf32>, tensor<?x4x4x32xf32>, tensor<?x4x16xf32>) {
  %y, %h, %ang, %k, %xl = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C D(%D) z(%z) Wx(%wx) Wz(%wz) Wo(%wo) initial_state(%h0) initial_angle(%ang0) initial_k(%k0) initial_x(%x0) {rotary_pairing = #ssm.rotary_pairing<halves>} : (tensor<?x?x4x16xbf16>, tensor<?x?x4xbf16>, tensor<?x?x4xbf16>, tensor<?x?x4xbf16>, tensor<?x?x4x4xbf16>, tensor<?x?x4x2x32xbf16>, tensor<?x?x4x2x32xbf16>, tensor<4xbf16>, tensor<?x?x4x16xbf16>, tensor<4x4x16xbf16>, tensor<4x4x16xbf16>, tensor<4x4x16xbf16>, tensor<?x4x16x32xf32>, tensor<?x4x4xf32>, tensor<?x4x4x32xf32>, tensor<?x4x16xf32>) -> (tensor<?x?x4x16xbf16>, tensor<?x4x16x32xf32>, tensor<?x4x4xf32>, tensor<?x4x4x32xf32>, tensor<?x4x16xf32>)
  return %y, %h, %ang, %k, %xl : tensor<?x?x4x16xbf16>, tensor<?x4x16x32xf32>, tensor<?x4x4xf32>, tensor<?x4x4x32xf32>, tensor<?x4x16xf32>
}

// CHECK-LABEL: func.func @mamba3_explicit_interleaved(
// CHECK-SAME:    %[[X:[^:]+]]: tensor<1x4x2x8xf32>,
// CHECK-SAME:    %[[DT:[^:]+]]: tensor<1x4x2xf32>,
// CHECK-SAME:    %[[A:[^:]+]]: tensor<1x4x2xf32>,
// CHECK-SAME:    %[[LAM:[^:]+]]: tensor<1x4x2xf32>,
// CHECK-SAME:    %[[THETA:[^:]+]]: tensor<1x4x2x2xf32>,
// CHECK-SAME:    %[[B:[^:]+]]: tensor<1x4x1x1x4xf32>,
// CHECK-SAME:    %[[C:[^:]+]]: tensor<1x4x1x1x4xf32>)
// CHECK-NEXT:  %[[RES0:[^ ,]+]], %[[RES1:[^ ,]+]], %[[RES2:[^ ,]+]], %[[RES3:[^ ,]+]], %[[RES4:[^ ,]+]] = ssm.mamba3 %[[X]], %[[DT]], %[[A]], %[[LAM]], %[[THETA]], %[[B]], %[[C]] : (tensor<1x4x2x8xf32>, tensor<1x4x2xf32>, tensor<1x4x2xf32>, tensor<1x4x2xf32>, tensor<1x4x2x2xf32>, tensor<1x4x1x1x4xf32>, tensor<1x4x1x1x4xf32>) -> (tensor<1x4x2x8xf32>, tensor<1x2x8x4xf32>, tensor<1x2x2xf32>, tensor<1x1x2x4xf32>, tensor<1x2x8xf32>)
// CHECK-NEXT:  return %[[RES0]], %[[RES1]], %[[RES2]], %[[RES3]], %[[RES4]] : tensor<1x4x2x8xf32>, tensor<1x2x8x4xf32>, tensor<1x2x2xf32>, tensor<1x1x2x4xf32>, tensor<1x2x8xf32>
func.func @mamba3_explicit_interleaved(%x: tensor<1x4x2x8xf32>, %dt: tensor<1x4x2xf32>, %A: tensor<1x4x2xf32>, %lam: tensor<1x4x2xf32>, %theta: tensor<1x4x2x2xf32>, %B: tensor<1x4x1x1x4xf32>, %C: tensor<1x4x1x1x4xf32>) -> (tensor<1x4x2x8xf32>, tensor<1x2x8x4xf32>, tensor<1x2x2xf32>, tensor<1x1x2x4xf32>, tensor<1x2x8xf32>) {
  %y, %h, %ang, %k, %xl = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C {rotary_pairing = #ssm.rotary_pairing<interleaved>} : (tensor<1x4x2x8xf32>, tensor<1x4x2xf32>, tensor<1x4x2xf32>, tensor<1x4x2xf32>, tensor<1x4x2x2xf32>, tensor<1x4x1x1x4xf32>, tensor<1x4x1x1x4xf32>) -> (tensor<1x4x2x8xf32>, tensor<1x2x8x4xf32>, tensor<1x2x2xf32>, tensor<1x1x2x4xf32>, tensor<1x2x8xf32>)
  return %y, %h, %ang, %k, %xl : tensor<1x4x2x8xf32>, tensor<1x2x8x4xf32>, tensor<1x2x2xf32>, tensor<1x1x2x4xf32>, tensor<1x2x8xf32>
}

// CHECK-LABEL: func.func @rms_norm_gated(
// CHECK-SAME:    %[[X:[^:]+]]: tensor<2x?x64xf32>,
// CHECK-SAME:    %[[W:[^:]+]]: tensor<64xf32>,
// CHECK-SAME:    %[[G:[^:]+]]: tensor<2x?x64xf32>)
// CHECK-NEXT:  %[[RES:[^ ,]+]] = ssm.rms_norm %[[X]], %[[W]] gate(%[[G]]) {eps = 9.99999997E-7 : f32, group_size = 16 : i64} : (tensor<2x?x64xf32>, tensor<64xf32>, tensor<2x?x64xf32>) -> tensor<2x?x64xf32>
// CHECK-NEXT:  return %[[RES]] : tensor<2x?x64xf32>
func.func @rms_norm_gated(%x: tensor<2x?x64xf32>, %w: tensor<64xf32>, %g: tensor<2x?x64xf32>) -> tensor<2x?x64xf32> {
  %y = ssm.rms_norm %x, %w gate(%g) {eps = 1.0e-6 : f32, group_size = 16 : i64} : (tensor<2x?x64xf32>, tensor<64xf32>, tensor<2x?x64xf32>) -> tensor<2x?x64xf32>
  return %y : tensor<2x?x64xf32>
}

// CHECK-LABEL: func.func @rms_norm_default_f16(
// CHECK-SAME:    %[[X:[^:]+]]: tensor<?x128xf16>,
// CHECK-SAME:    %[[W:[^:]+]]: tensor<128xf16>)
// CHECK-NEXT:  %[[RES:[^ ,]+]] = ssm.rms_norm %[[X]], %[[W]] : (tensor<?x128xf16>, tensor<128xf16>) -> tensor<?x128xf16>
// CHECK-NEXT:  return %[[RES]] : tensor<?x128xf16>
func.func @rms_norm_default_f16(%x: tensor<?x128xf16>, %w: tensor<128xf16>) -> tensor<?x128xf16> {
  %y = ssm.rms_norm %x, %w : (tensor<?x128xf16>, tensor<128xf16>) -> tensor<?x128xf16>
  return %y : tensor<?x128xf16>
}

// CHECK-LABEL: func.func @causal_conv1d_full(
// CHECK-SAME:    %[[X:[^:]+]]: tensor<2x?x64xf32>,
// CHECK-SAME:    %[[W:[^:]+]]: tensor<64x4xf32>,
// CHECK-SAME:    %[[B:[^:]+]]: tensor<64xf32>,
// CHECK-SAME:    %[[S0:[^:]+]]: tensor<2x64x3xf32>)
// CHECK-NEXT:  %[[RES0:[^ ,]+]], %[[RES1:[^ ,]+]] = ssm.causal_conv1d %[[X]], %[[W]] bias(%[[B]]) initial_state(%[[S0]]) {silu} : (tensor<2x?x64xf32>, tensor<64x4xf32>, tensor<64xf32>, tensor<2x64x3xf32>) -> (tensor<2x?x64xf32>, tensor<2x64x3xf32>)
// CHECK-NEXT:  return %[[RES0]], %[[RES1]] : tensor<2x?x64xf32>, tensor<2x64x3xf32>
func.func @causal_conv1d_full(%x: tensor<2x?x64xf32>, %w: tensor<64x4xf32>, %b: tensor<64xf32>, %s0: tensor<2x64x3xf32>) -> (tensor<2x?x64xf32>, tensor<2x64x3xf32>) {
  %y, %s = ssm.causal_conv1d %x, %w bias(%b) initial_state(%s0) {silu} : (tensor<2x?x64xf32>, tensor<64x4xf32>, tensor<64xf32>, tensor<2x64x3xf32>) -> (tensor<2x?x64xf32>, tensor<2x64x3xf32>)
  return %y, %s : tensor<2x?x64xf32>, tensor<2x64x3xf32>
}

// CHECK-LABEL: func.func @causal_conv1d_minimal_bf16(
// CHECK-SAME:    %[[X:[^:]+]]: tensor<?x?x32xbf16>,
// CHECK-SAME:    %[[W:[^:]+]]: tensor<32x4xbf16>)
// CHECK-NEXT:  %[[RES0:[^ ,]+]], %[[RES1:[^ ,]+]] = ssm.causal_conv1d %[[X]], %[[W]] : (tensor<?x?x32xbf16>, tensor<32x4xbf16>) -> (tensor<?x?x32xbf16>, tensor<?x32x3xbf16>)
// CHECK-NEXT:  return %[[RES0]], %[[RES1]] : tensor<?x?x32xbf16>, tensor<?x32x3xbf16>
func.func @causal_conv1d_minimal_bf16(%x: tensor<?x?x32xbf16>, %w: tensor<32x4xbf16>) -> (tensor<?x?x32xbf16>, tensor<?x32x3xbf16>) {
  %y, %s = ssm.causal_conv1d %x, %w : (tensor<?x?x32xbf16>, tensor<32x4xbf16>) -> (tensor<?x?x32xbf16>, tensor<?x32x3xbf16>)
  return %y, %s : tensor<?x?x32xbf16>, tensor<?x32x3xbf16>
}

// CHECK-LABEL: func.func @rotary_interleaved_broadcast(
// CHECK-SAME:    %[[X:[^:]+]]: tensor<2x8x4x16xf32>,
// CHECK-SAME:    %[[C:[^:]+]]: tensor<1x8x4xf32>,
// CHECK-SAME:    %[[S:[^:]+]]: tensor<1x8x4xf32>)
// CHECK-NEXT:  %[[RES:[^ ,]+]] = ssm.rotary %[[X]], %[[C]], %[[S]] {pairing = #ssm.rotary_pairing<interleaved>} : (tensor<2x8x4x16xf32>, tensor<1x8x4xf32>, tensor<1x8x4xf32>) -> tensor<2x8x4x16xf32>
// CHECK-NEXT:  return %[[RES]] : tensor<2x8x4x16xf32>
func.func @rotary_interleaved_broadcast(%x: tensor<2x8x4x16xf32>, %c: tensor<1x8x4xf32>, %s: tensor<1x8x4xf32>) -> tensor<2x8x4x16xf32> {
  %y = ssm.rotary %x, %c, %s {pairing = #ssm.rotary_pairing<interleaved>} : (tensor<2x8x4x16xf32>, tensor<1x8x4xf32>, tensor<1x8x4xf32>) -> tensor<2x8x4x16xf32>
  return %y : tensor<2x8x4x16xf32>
}

// CHECK-LABEL: func.func @rotary_halves_dynamic_f16(
// CHECK-SAME:    %[[X:[^:]+]]: tensor<?x?x4x16xf16>,
// CHECK-SAME:    %[[C:[^:]+]]: tensor<?x?x8xf16>,
// CHECK-SAME:    %[[S:[^:]+]]: tensor<?x?x8xf16>)
// CHECK-NEXT:  %[[RES:[^ ,]+]] = ssm.rotary %[[X]], %[[C]], %[[S]] : (tensor<?x?x4x16xf16>, tensor<?x?x8xf16>, tensor<?x?x8xf16>) -> tensor<?x?x4x16xf16>
// CHECK-NEXT:  return %[[RES]] : tensor<?x?x4x16xf16>
func.func @rotary_halves_dynamic_f16(%x: tensor<?x?x4x16xf16>, %c: tensor<?x?x8xf16>, %s: tensor<?x?x8xf16>) -> tensor<?x?x4x16xf16> {
  %y = ssm.rotary %x, %c, %s {pairing = #ssm.rotary_pairing<halves>} : (tensor<?x?x4x16xf16>, tensor<?x?x8xf16>, tensor<?x?x8xf16>) -> tensor<?x?x4x16xf16>
  return %y : tensor<?x?x4x16xf16>
}

// CHECK-LABEL: func.func @hybrid_merge_eps(
// CHECK-SAME:    %[[S:[^:]+]]: tensor<2x?x64xf32>,
// CHECK-SAME:    %[[A:[^:]+]]: tensor<2x?x32xf32>,
// CHECK-SAME:    %[[W:[^:]+]]: tensor<32x64xf32>)
// CHECK-NEXT:  %[[RES:[^ ,]+]] = ssm.hybrid_merge %[[S]], %[[A]], %[[W]] {eps = 9.99999997E-7 : f32} : (tensor<2x?x64xf32>, tensor<2x?x32xf32>, tensor<32x64xf32>) -> tensor<2x?x64xf32>
// CHECK-NEXT:  return %[[RES]] : tensor<2x?x64xf32>
func.func @hybrid_merge_eps(%s: tensor<2x?x64xf32>, %a: tensor<2x?x32xf32>, %w: tensor<32x64xf32>) -> tensor<2x?x64xf32> {
  %y = ssm.hybrid_merge %s, %a, %w {eps = 1.0e-6 : f32} : (tensor<2x?x64xf32>, tensor<2x?x32xf32>, tensor<32x64xf32>) -> tensor<2x?x64xf32>
  return %y : tensor<2x?x64xf32>
}

// CHECK-LABEL: func.func @hybrid_merge_default_bf16(
// CHECK-SAME:    %[[S:[^:]+]]: tensor<?x?x64xbf16>,
// CHECK-SAME:    %[[A:[^:]+]]: tensor<?x?x16xbf16>,
// CHECK-SAME:    %[[W:[^:]+]]: tensor<16x64xbf16>)
// CHECK-NEXT:  %[[RES:[^ ,]+]] = ssm.hybrid_merge %[[S]], %[[A]], %[[W]] : (tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<16x64xbf16>) -> tensor<?x?x64xbf16>
// CHECK-NEXT:  return %[[RES]] : tensor<?x?x64xbf16>
func.func @hybrid_merge_default_bf16(%s: tensor<?x?x64xbf16>, %a: tensor<?x?x16xbf16>, %w: tensor<16x64xbf16>) -> tensor<?x?x64xbf16> {
  %y = ssm.hybrid_merge %s, %a, %w : (tensor<?x?x64xbf16>, tensor<?x?x16xbf16>, tensor<16x64xbf16>) -> tensor<?x?x64xbf16>
  return %y : tensor<?x?x64xbf16>
}


// CHECK-LABEL: func.func @linear_attention_gated_delta(
// CHECK-SAME:    %[[Q:[^:]+]]: tensor<?x?x4x16xf32>,
// CHECK-SAME:    %[[K:[^:]+]]: tensor<?x?x2x16xf32>,
// CHECK-SAME:    %[[V:[^:]+]]: tensor<?x?x2x8xf32>,
// CHECK-SAME:    %[[G:[^:]+]]: tensor<?x?x2xf32>,
// CHECK-SAME:    %[[BETA:[^:]+]]: tensor<?x?x2xf32>,
// CHECK-SAME:    %[[S0:[^:]+]]: tensor<?x2x16x8xf32>)
// CHECK-NEXT:  %[[RES0:[^ ,]+]], %[[RES1:[^ ,]+]] = ssm.linear_attention %[[Q]], %[[K]], %[[V]] decay(%[[G]]) beta(%[[BETA]]) initial_state(%[[S0]]) {scale = 5.000000e-01 : f32, update_rule = #ssm.linear_attention_rule<gated_delta>} : (tensor<?x?x4x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x8xf32>, tensor<?x?x2xf32>, tensor<?x?x2xf32>, tensor<?x2x16x8xf32>) -> (tensor<?x?x4x8xf32>, tensor<?x2x16x8xf32>)
// CHECK-NEXT:  return %[[RES0]], %[[RES1]]
func.func @linear_attention_gated_delta(%q: tensor<?x?x4x16xf32>, %k: tensor<?x?x2x16xf32>, %v: tensor<?x?x2x8xf32>, %g: tensor<?x?x2xf32>, %beta: tensor<?x?x2xf32>, %s0: tensor<?x2x16x8xf32>) -> (tensor<?x?x4x8xf32>, tensor<?x2x16x8xf32>) {
  %y, %s = ssm.linear_attention %q, %k, %v decay(%g) beta(%beta) initial_state(%s0) {update_rule = #ssm.linear_attention_rule<gated_delta>, scale = 0.5 : f32} : (tensor<?x?x4x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x8xf32>, tensor<?x?x2xf32>, tensor<?x?x2xf32>, tensor<?x2x16x8xf32>) -> (tensor<?x?x4x8xf32>, tensor<?x2x16x8xf32>)
  return %y, %s : tensor<?x?x4x8xf32>, tensor<?x2x16x8xf32>
}

// CHECK-LABEL: func.func @linear_attention_per_key_bf16(
// CHECK:  ssm.linear_attention %{{.*}}, %{{.*}}, %{{.*}} decay(%{{.*}}) {update_rule = #ssm.linear_attention_rule<gated>} : (tensor<1x5x2x4xbf16>, tensor<1x5x2x4xbf16>, tensor<1x5x2x3xbf16>, tensor<1x5x2x4xbf16>) -> (tensor<1x5x2x3xbf16>, tensor<1x2x4x3xf32>)
func.func @linear_attention_per_key_bf16(%q: tensor<1x5x2x4xbf16>, %k: tensor<1x5x2x4xbf16>, %v: tensor<1x5x2x3xbf16>, %g: tensor<1x5x2x4xbf16>) -> tensor<1x5x2x3xbf16> {
  %y, %s = ssm.linear_attention %q, %k, %v decay(%g) {update_rule = #ssm.linear_attention_rule<gated>} : (tensor<1x5x2x4xbf16>, tensor<1x5x2x4xbf16>, tensor<1x5x2x3xbf16>, tensor<1x5x2x4xbf16>) -> (tensor<1x5x2x3xbf16>, tensor<1x2x4x3xf32>)
  return %y : tensor<1x5x2x3xbf16>
}

// CHECK-LABEL: func.func @linear_attention_linear(
// CHECK:  ssm.linear_attention %{{.*}}, %{{.*}}, %{{.*}} {update_rule = #ssm.linear_attention_rule<linear>}
func.func @linear_attention_linear(%q: tensor<2x3x1x4xf32>, %k: tensor<2x3x1x4xf32>, %v: tensor<2x3x1x4xf32>) -> tensor<2x3x1x4xf32> {
  %y, %s = ssm.linear_attention %q, %k, %v {update_rule = #ssm.linear_attention_rule<linear>} : (tensor<2x3x1x4xf32>, tensor<2x3x1x4xf32>, tensor<2x3x1x4xf32>) -> (tensor<2x3x1x4xf32>, tensor<2x1x4x4xf32>)
  return %y : tensor<2x3x1x4xf32>
}

// CHECK-LABEL: func.func @token_positions(
// CHECK-SAME: %[[IDS:.*]]: tensor<?x?xi64>, %[[OFF:.*]]: tensor<1xi64>)
// CHECK-NEXT:  %[[P0:.*]] = ssm.token_positions %[[IDS]] : (tensor<?x?xi64>) -> tensor<?xi64>
// CHECK-NEXT:  %[[P1:.*]] = ssm.token_positions %[[IDS]] offset(%[[OFF]]) : (tensor<?x?xi64>, tensor<1xi64>) -> tensor<?xi32>
// CHECK-NEXT:  return %[[P0]], %[[P1]]
func.func @token_positions(%ids: tensor<?x?xi64>, %off: tensor<1xi64>) -> (tensor<?xi64>, tensor<?xi32>) {
  %p0 = ssm.token_positions %ids : (tensor<?x?xi64>) -> tensor<?xi64>
  %p1 = ssm.token_positions %ids offset(%off) : (tensor<?x?xi64>, tensor<1xi64>) -> tensor<?xi32>
  return %p0, %p1 : tensor<?xi64>, tensor<?xi32>
}

// CHECK-LABEL: func.func @stop_gradient(
// CHECK-SAME: %[[X:.*]]: tensor<?x4xf32>)
// CHECK-NEXT:  %[[Y:.*]] = ssm.stop_gradient %[[X]] : tensor<?x4xf32>
// CHECK-NEXT:  return %[[Y]]
func.func @stop_gradient(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %y = ssm.stop_gradient %x : tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}

// CHECK-LABEL: func.func @fused_attention_tensors(
// CHECK-SAME: %[[Q:[^:]+]]: tensor<?x?x8x64xf32>, %[[K:[^:]+]]: tensor<?x?x2x64xf32>, %[[V:[^:]+]]: tensor<?x?x2x32xf32>, %[[I:[^:]+]]: tensor<?x?x8x32xf32>)
// CHECK-NEXT:  %[[Y:.*]] = ssm.fused_attention %[[Q]], %[[K]], %[[V]] outs(%[[I]] : tensor<?x?x8x32xf32>) {causal, scale = 1.250000e-01 : f32, window = 16 : i64} : tensor<?x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x32xf32> -> tensor<?x?x8x32xf32>
// CHECK-NEXT:  return %[[Y]]
func.func @fused_attention_tensors(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x2x64xf32>, %v: tensor<?x?x2x32xf32>, %init: tensor<?x?x8x32xf32>) -> tensor<?x?x8x32xf32> {
  %y = ssm.fused_attention %q, %k, %v outs(%init : tensor<?x?x8x32xf32>) {causal, scale = 0.125 : f32, window = 16 : i64} : tensor<?x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x32xf32> -> tensor<?x?x8x32xf32>
  return %y : tensor<?x?x8x32xf32>
}

// CHECK-LABEL: func.func @fused_attention_buffers(
// CHECK-SAME: %[[Q:[^:]+]]: memref<2x4x2x8xf32>, %[[K:[^:]+]]: memref<2x5x1x8xf32>, %[[V:[^:]+]]: memref<2x5x1x6xf32>, %[[M:[^:]+]]: memref<1x2x4x5xf32>, %[[I:[^:]+]]: memref<2x4x2x6xf32>)
// CHECK-NEXT:  ssm.fused_attention %[[Q]], %[[K]], %[[V]] mask(%[[M]] : memref<1x2x4x5xf32>) outs(%[[I]] : memref<2x4x2x6xf32>) {scale = 5.000000e-01 : f32, softcap = 3.000000e+01 : f32} : memref<2x4x2x8xf32>, memref<2x5x1x8xf32>, memref<2x5x1x6xf32>
// CHECK-NEXT:  return
func.func @fused_attention_buffers(%q: memref<2x4x2x8xf32>, %k: memref<2x5x1x8xf32>, %v: memref<2x5x1x6xf32>, %m: memref<1x2x4x5xf32>, %init: memref<2x4x2x6xf32>) {
  ssm.fused_attention %q, %k, %v mask(%m : memref<1x2x4x5xf32>) outs(%init : memref<2x4x2x6xf32>) {scale = 0.5 : f32, softcap = 30.0 : f32} : memref<2x4x2x8xf32>, memref<2x5x1x8xf32>, memref<2x5x1x6xf32>
  return
}

// CHECK-LABEL: func.func @fused_ssd_tensors(
// CHECK-SAME: %[[X:[^:]+]]: tensor<?x?x8x64xf32>, %[[G:[^:]+]]: tensor<?x?x8xf32>, %[[B:[^:]+]]: tensor<?x?x2x128xf32>, %[[C:[^:]+]]: tensor<?x?x2x128xf32>, %[[S:[^:]+]]: tensor<?x?x8xf32>, %[[YI:[^:]+]]: tensor<?x?x8x64xf32>, %[[SI:[^:]+]]: tensor<?x8x64x128xf32>)
// CHECK-NEXT:  %[[R:.*]]:2 = ssm.fused_ssd %[[X]], %[[G]], %[[B]], %[[C]] scale(%[[S]] : tensor<?x?x8xf32>) outs(%[[YI]], %[[SI]] : tensor<?x?x8x64xf32>, tensor<?x8x64x128xf32>) : tensor<?x?x8x64xf32>, tensor<?x?x8xf32>, tensor<?x?x2x128xf32>, tensor<?x?x2x128xf32> -> tensor<?x?x8x64xf32>, tensor<?x8x64x128xf32>
// CHECK-NEXT:  return %[[R]]#0, %[[R]]#1
func.func @fused_ssd_tensors(%x: tensor<?x?x8x64xf32>, %g: tensor<?x?x8xf32>, %B: tensor<?x?x2x128xf32>, %C: tensor<?x?x2x128xf32>, %s: tensor<?x?x8xf32>, %yi: tensor<?x?x8x64xf32>, %si: tensor<?x8x64x128xf32>) -> (tensor<?x?x8x64xf32>, tensor<?x8x64x128xf32>) {
  %y, %h = ssm.fused_ssd %x, %g, %B, %C scale(%s : tensor<?x?x8xf32>) outs(%yi, %si : tensor<?x?x8x64xf32>, tensor<?x8x64x128xf32>) : tensor<?x?x8x64xf32>, tensor<?x?x8xf32>, tensor<?x?x2x128xf32>, tensor<?x?x2x128xf32> -> tensor<?x?x8x64xf32>, tensor<?x8x64x128xf32>
  return %y, %h : tensor<?x?x8x64xf32>, tensor<?x8x64x128xf32>
}

// CHECK-LABEL: func.func @fused_ssd_buffers(
// CHECK-SAME: %[[X:[^:]+]]: memref<2x5x4x3xf32>, %[[G:[^:]+]]: memref<2x5x4xf32>, %[[B:[^:]+]]: memref<2x5x1x6xf32>, %[[C:[^:]+]]: memref<2x5x1x6xf32>, %[[D:[^:]+]]: memref<4x3xf32>, %[[Z:[^:]+]]: memref<2x5x4x3xf32>, %[[H0:[^:]+]]: memref<2x4x3x6xf32>, %[[YI:[^:]+]]: memref<2x5x4x3xf32>, %[[SI:[^:]+]]: memref<2x4x3x6xf32>)
// CHECK-NEXT:  ssm.fused_ssd %[[X]], %[[G]], %[[B]], %[[C]] D(%[[D]] : memref<4x3xf32>) gate(%[[Z]] : memref<2x5x4x3xf32>) initial_state(%[[H0]] : memref<2x4x3x6xf32>) outs(%[[YI]], %[[SI]] : memref<2x5x4x3xf32>, memref<2x4x3x6xf32>) : memref<2x5x4x3xf32>, memref<2x5x4xf32>, memref<2x5x1x6xf32>, memref<2x5x1x6xf32>
// CHECK-NEXT:  return
func.func @fused_ssd_buffers(%x: memref<2x5x4x3xf32>, %g: memref<2x5x4xf32>, %B: memref<2x5x1x6xf32>, %C: memref<2x5x1x6xf32>, %D: memref<4x3xf32>, %z: memref<2x5x4x3xf32>, %h0: memref<2x4x3x6xf32>, %yi: memref<2x5x4x3xf32>, %si: memref<2x4x3x6xf32>) {
  ssm.fused_ssd %x, %g, %B, %C D(%D : memref<4x3xf32>) gate(%z : memref<2x5x4x3xf32>) initial_state(%h0 : memref<2x4x3x6xf32>) outs(%yi, %si : memref<2x5x4x3xf32>, memref<2x4x3x6xf32>) : memref<2x5x4x3xf32>, memref<2x5x4xf32>, memref<2x5x1x6xf32>, memref<2x5x1x6xf32>
  return
}
