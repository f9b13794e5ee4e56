// RUN: ssm-opt %s -split-input-file -verify-diagnostics

// Every verifier message of lib/Dialect/SSM/IR/SSMOps.cpp, per op: rank
// errors of every operand and result, one dimension mismatch per named
// relation, "must be static" feature dimensions, divisibility, mask and
// attribute checks, required operands, element types; then failures of the
// ODS type and attribute constraints and of the generic form.

func.func @attention_rank_query(%query: tensor<2x16x8xf32>, %key: tensor<2x32x2x64xf32>, %value: tensor<2x32x2x32xf32>) {
  // expected-error @+1 {{'ssm.attention' op operand 'query' must have rank 4 (batch, seq, heads, head_dim), got rank 3}}
  %0 = ssm.attention %query, %key, %value : (tensor<2x16x8xf32>, tensor<2x32x2x64xf32>, tensor<2x32x2x32xf32>) -> tensor<2x16x8x32xf32>
  return
}

// -----

func.func @attention_rank_key(%query: tensor<2x16x8x64xf32>, %key: tensor<2x32x2xf32>, %value: tensor<2x32x2x32xf32>) {
  // expected-error @+1 {{'ssm.attention' op operand 'key' must have rank 4 (batch, kv_seq, kv_heads, head_dim), got rank 3}}
  %0 = ssm.attention %query, %key, %value : (tensor<2x16x8x64xf32>, tensor<2x32x2xf32>, tensor<2x32x2x32xf32>) -> tensor<2x16x8x32xf32>
  return
}

// -----

func.func @attention_rank_value(%query: tensor<2x16x8x64xf32>, %key: tensor<2x32x2x64xf32>, %value: tensor<2x32x2x32x1xf32>) {
  // expected-error @+1 {{'ssm.attention' op operand 'value' must have rank 4 (batch, kv_seq, kv_heads, value_dim), got rank 5}}
  %0 = ssm.attention %query, %key, %value : (tensor<2x16x8x64xf32>, tensor<2x32x2x64xf32>, tensor<2x32x2x32x1xf32>) -> tensor<2x16x8x32xf32>
  return
}

// -----

func.func @attention_rank_result(%query: tensor<2x16x8x64xf32>, %key: tensor<2x32x2x64xf32>, %value: tensor<2x32x2x32xf32>) {
  // expected-error @+1 {{'ssm.attention' op result must have rank 4 (batch, seq, heads, value_dim), got rank 3}}
  %0 = ssm.attention %query, %key, %value : (tensor<2x16x8x64xf32>, tensor<2x32x2x64xf32>, tensor<2x32x2x32xf32>) -> tensor<2x16x256xf32>
  return
}

// -----

func.func @attention_static_query_heads(%query: tensor<2x16x?x64xf32>, %key: tensor<2x32x2x64xf32>, %value: tensor<2x32x2x32xf32>) {
  // expected-error @+1 {{'ssm.attention' op operand 'query' dim 2 (heads) must be static}}
  %0 = ssm.attention %query, %key, %value : (tensor<2x16x?x64xf32>, tensor<2x32x2x64xf32>, tensor<2x32x2x32xf32>) -> tensor<2x16x8x32xf32>
  return
}

// -----

func.func @attention_static_query_head_dim(%query: tensor<2x16x8x?xf32>, %key: tensor<2x32x2x64xf32>, %value: tensor<2x32x2x32xf32>) {
  // expected-error @+1 {{'ssm.attention' op operand 'query' dim 3 (head_dim) must be static}}
  %0 = ssm.attention %query, %key, %value : (tensor<2x16x8x?xf32>, tensor<2x32x2x64xf32>, tensor<2x32x2x32xf32>) -> tensor<2x16x8x32xf32>
  return
}

// -----

func.func @attention_static_key_kv_heads(%query: tensor<2x16x8x64xf32>, %key: tensor<2x32x?x64xf32>, %value: tensor<2x32x2x32xf32>) {
  // expected-error @+1 {{'ssm.attention' op operand 'key' dim 2 (kv_heads) must be static}}
  %0 = ssm.attention %query, %key, %value : (tensor<2x16x8x64xf32>, tensor<2x32x?x64xf32>, tensor<2x32x2x32xf32>) -> tensor<2x16x8x32xf32>
  return
}

// -----

func.func @attention_static_value_value_dim(%query: tensor<2x16x8x64xf32>, %key: tensor<2x32x2x64xf32>, %value: tensor<2x32x2x?xf32>) {
  // expected-error @+1 {{'ssm.attention' op operand 'value' dim 3 (value_dim) must be static}}
  %0 = ssm.attention %query, %key, %value : (tensor<2x16x8x64xf32>, tensor<2x32x2x64xf32>, tensor<2x32x2x?xf32>) -> tensor<2x16x8x32xf32>
  return
}

// -----

func.func @attention_static_result_heads(%query: tensor<2x16x8x64xf32>, %key: tensor<2x32x2x64xf32>, %value: tensor<2x32x2x32xf32>) {
  // expected-error @+1 {{'ssm.attention' op result dim 2 (heads) must be static}}
  %0 = ssm.attention %query, %key, %value : (tensor<2x16x8x64xf32>, tensor<2x32x2x64xf32>, tensor<2x32x2x32xf32>) -> tensor<2x16x?x32xf32>
  return
}

// -----

func.func @attention_batch_key(%query: tensor<2x16x8x64xf32>, %key: tensor<3x32x2x64xf32>, %value: tensor<2x32x2x32xf32>) {
  // expected-error @+1 {{'ssm.attention' op operand 'key' dim 0 (batch) is 3, but operand 'query' dim 0 (batch) is 2}}
  %0 = ssm.attention %query, %key, %value : (tensor<2x16x8x64xf32>, tensor<3x32x2x64xf32>, tensor<2x32x2x32xf32>) -> tensor<2x16x8x32xf32>
  return
}

// -----

func.func @attention_batch_value(%query: tensor<2x16x8x64xf32>, %key: tensor<2x32x2x64xf32>, %value: tensor<3x32x2x32xf32>) {
  // expected-error @+1 {{'ssm.attention' op operand 'value' dim 0 (batch) is 3, but operand 'query' dim 0 (batch) is 2}}
  %0 = ssm.attention %query, %key, %value : (tensor<2x16x8x64xf32>, tensor<2x32x2x64xf32>, tensor<3x32x2x32xf32>) -> tensor<2x16x8x32xf32>
  return
}

// -----

func.func @attention_batch_result(%query: tensor<2x16x8x64xf32>, %key: tensor<2x32x2x64xf32>, %value: tensor<2x32x2x32xf32>) {
  // expected-error @+1 {{'ssm.attention' op result dim 0 (batch) is 3, but operand 'query' dim 0 (batch) is 2}}
  %0 = ssm.attention %query, %key, %value : (tensor<2x16x8x64xf32>, tensor<2x32x2x64xf32>, tensor<2x32x2x32xf32>) -> tensor<3x16x8x32xf32>
  return
}

// -----

func.func @attention_head_dim_key(%query: tensor<2x16x8x64xf32>, %key: tensor<2x32x2x16xf32>, %value: tensor<2x32x2x32xf32>) {
  // expected-error @+1 {{'ssm.attention' op operand 'key' dim 3 (head_dim) is 16, but operand 'query' dim 3 (head_dim) is 64}}
  %0 = ssm.attention %query, %key, %value : (tensor<2x16x8x64xf32>, tensor<2x32x2x16xf32>, tensor<2x32x2x32xf32>) -> tensor<2x16x8x32xf32>
  return
}

// -----

func.func @attention_kv_seq_value(%query: tensor<2x16x8x64xf32>, %key: tensor<2x32x2x64xf32>, %value: tensor<2x31x2x32xf32>) {
  // expected-error @+1 {{'ssm.attention' op operand 'value' dim 1 (kv_seq) is 31, but operand 'key' dim 1 (kv_seq) is 32}}
  %0 = ssm.attention %query, %key, %value : (tensor<2x16x8x64xf32>, tensor<2x32x2x64xf32>, tensor<2x31x2x32xf32>) -> tensor<2x16x8x32xf32>
  return
}

// -----

func.func @attention_kv_heads_value(%query: tensor<2x16x8x64xf32>, %key: tensor<2x32x2x64xf32>, %value: tensor<2x32x4x32xf32>) {
  // expected-error @+1 {{'ssm.attention' op operand 'value' dim 2 (kv_heads) is 4, but operand 'key' dim 2 (kv_heads) is 2}}
  %0 = ssm.attention %query, %key, %value : (tensor<2x16x8x64xf32>, tensor<2x32x2x64xf32>, tensor<2x32x4x32xf32>) -> tensor<2x16x8x32xf32>
  return
}

// -----

func.func @attention_seq_result(%query: tensor<2x16x8x64xf32>, %key: tensor<2x32x2x64xf32>, %value: tensor<2x32x2x32xf32>) {
  // expected-error @+1 {{'ssm.attention' op result dim 1 (seq) is 15, but operand 'query' dim 1 (seq) is 16}}
  %0 = ssm.attention %query, %key, %value : (tensor<2x16x8x64xf32>, tensor<2x32x2x64xf32>, tensor<2x32x2x32xf32>) -> tensor<2x15x8x32xf32>
  return
}

// -----

func.func @attention_heads_result(%query: tensor<2x16x8x64xf32>, %key: tensor<2x32x2x64xf32>, %value: tensor<2x32x2x32xf32>) {
  // expected-error @+1 {{'ssm.attention' op result dim 2 (heads) is 4, but operand 'query' dim 2 (heads) is 8}}
  %0 = ssm.attention %query, %key, %value : (tensor<2x16x8x64xf32>, tensor<2x32x2x64xf32>, tensor<2x32x2x32xf32>) -> tensor<2x16x4x32xf32>
  return
}

// -----

func.func @attention_value_dim_result(%query: tensor<2x16x8x64xf32>, %key: tensor<2x32x2x64xf32>, %value: tensor<2x32x2x32xf32>) {
  // expected-error @+1 {{'ssm.attention' op result dim 3 (value_dim) is 64, but operand 'value' dim 3 (value_dim) is 32}}
  %0 = ssm.attention %query, %key, %value : (tensor<2x16x8x64xf32>, tensor<2x32x2x64xf32>, tensor<2x32x2x32xf32>) -> tensor<2x16x8x64xf32>
  return
}

// -----

func.func @attention_kv_heads_not_dividing(%query: tensor<2x16x8x64xf32>, %key: tensor<2x32x3x64xf32>, %value: tensor<2x32x3x32xf32>) {
  // expected-error @+1 {{'ssm.attention' op operand 'key' dim 2 (kv_heads) is 3, which does not divide operand 'query' dim 2 (heads), 8}}
  %0 = ssm.attention %query, %key, %value : (tensor<2x16x8x64xf32>, tensor<2x32x3x64xf32>, tensor<2x32x3x32xf32>) -> tensor<2x16x8x32xf32>
  return
}

// -----

func.func @attention_kv_heads_zero(%query: tensor<2x16x8x64xf32>, %key: tensor<2x32x0x64xf32>, %value: tensor<2x32x0x32xf32>) {
  // expected-error @+1 {{'ssm.attention' op operand 'key' dim 2 (kv_heads) is 0, which does not divide operand 'query' dim 2 (heads), 8}}
  %0 = ssm.attention %query, %key, %value : (tensor<2x16x8x64xf32>, tensor<2x32x0x64xf32>, tensor<2x32x0x32xf32>) -> tensor<2x16x8x32xf32>
  return
}

// -----

func.func @attention_mask_rank(%query: tensor<2x16x8x64xf32>, %key: tensor<2x32x2x64xf32>, %value: tensor<2x32x2x32xf32>, %mask: tensor<8x16x32xf32>) {
  // expected-error @+1 {{'ssm.attention' op operand 'mask' must have rank 4 (batch or 1, heads or 1, seq, kv_seq), got rank 3}}
  %0 = ssm.attention %query, %key, %value mask(%mask) : (tensor<2x16x8x64xf32>, tensor<2x32x2x64xf32>, tensor<2x32x2x32xf32>, tensor<8x16x32xf32>) -> tensor<2x16x8x32xf32>
  return
}

// -----

func.func @attention_mask_heads_dynamic(%query: tensor<2x16x8x64xf32>, %key: tensor<2x32x2x64xf32>, %value: tensor<2x32x2x32xf32>, %mask: tensor<1x?x16x32xf32>) {
  // expected-error @+1 {{'ssm.attention' op operand 'mask' dim 1 (heads or 1) must be static}}
  %0 = ssm.attention %query, %key, %value mask(%mask) : (tensor<2x16x8x64xf32>, tensor<2x32x2x64xf32>, tensor<2x32x2x32xf32>, tensor<1x?x16x32xf32>) -> tensor<2x16x8x32xf32>
  return
}

// -----

func.func @attention_mask_batch_not_1_nor_full(%query: tensor<2x16x8x64xf32>, %key: tensor<2x32x2x64xf32>, %value: tensor<2x32x2x32xf32>, %mask: tensor<3x8x16x32xf32>) {
  // expected-error @+1 {{'ssm.attention' op operand 'mask' dim 0 is 3, but must be 1 or batch (2)}}
  %0 = ssm.attention %query, %key, %value mask(%mask) : (tensor<2x16x8x64xf32>, tensor<2x32x2x64xf32>, tensor<2x32x2x32xf32>, tensor<3x8x16x32xf32>) -> tensor<2x16x8x32xf32>
  return
}

// -----

func.func @attention_mask_heads_not_1_nor_full(%query: tensor<2x16x8x64xf32>, %key: tensor<2x32x2x64xf32>, %value: tensor<2x32x2x32xf32>, %mask: tensor<1x2x16x32xf32>) {
  // expected-error @+1 {{'ssm.attention' op operand 'mask' dim 1 is 2, but must be 1 or heads (8)}}
  %0 = ssm.attention %query, %key, %value mask(%mask) : (tensor<2x16x8x64xf32>, tensor<2x32x2x64xf32>, tensor<2x32x2x32xf32>, tensor<1x2x16x32xf32>) -> tensor<2x16x8x32xf32>
  return
}

// -----

func.func @attention_mask_seq(%query: tensor<2x16x8x64xf32>, %key: tensor<2x32x2x64xf32>, %value: tensor<2x32x2x32xf32>, %mask: tensor<2x1x15x32xf32>) {
  // expected-error @+1 {{'ssm.attention' op operand 'mask' dim 2 (seq) is 15, but operand 'query' dim 1 (seq) is 16}}
  %0 = ssm.attention %query, %key, %value mask(%mask) : (tensor<2x16x8x64xf32>, tensor<2x32x2x64xf32>, tensor<2x32x2x32xf32>, tensor<2x1x15x32xf32>) -> tensor<2x16x8x32xf32>
  return
}

// -----

func.func @attention_mask_kv_seq(%query: tensor<2x16x8x64xf32>, %key: tensor<2x32x2x64xf32>, %value: tensor<2x32x2x32xf32>, %mask: tensor<2x8x16x31xf32>) {
  // expected-error @+1 {{'ssm.attention' op operand 'mask' dim 3 (kv_seq) is 31, but operand 'key' dim 1 (kv_seq) is 32}}
  %0 = ssm.attention %query, %key, %value mask(%mask) : (tensor<2x16x8x64xf32>, tensor<2x32x2x64xf32>, tensor<2x32x2x32xf32>, tensor<2x8x16x31xf32>) -> tensor<2x16x8x32xf32>
  return
}

// -----

func.func @attention_result_element_type(%query: tensor<2x16x8x64xf32>, %key: tensor<2x32x2x64xf32>, %value: tensor<2x32x2x32xf32>) {
  // expected-error @+1 {{'ssm.attention' op result element type 'f16' must equal operand 'query' element type 'f32'}}
  %0 = ssm.attention %query, %key, %value : (tensor<2x16x8x64xf32>, tensor<2x32x2x64xf32>, tensor<2x32x2x32xf32>) -> tensor<2x16x8x32xf16>
  return
}

// -----

func.func @attention_scale_zero(%query: tensor<2x16x8x64xf32>, %key: tensor<2x32x2x64xf32>, %value: tensor<2x32x2x32xf32>) {
  // expected-error @+1 {{'ssm.attention' op attribute 'scale' must be finite and positive, got 0.000000e+00}}
  %0 = ssm.attention %query, %key, %value {scale = 0.0 : f32} : (tensor<2x16x8x64xf32>, tensor<2x32x2x64xf32>, tensor<2x32x2x32xf32>) -> tensor<2x16x8x32xf32>
  return
}

// -----

func.func @attention_scale_negative(%query: tensor<2x16x8x64xf32>, %key: tensor<2x32x2x64xf32>, %value: tensor<2x32x2x32xf32>) {
  // expected-error @+1 {{'ssm.attention' op attribute 'scale' must be finite and positive, got -1.250000e-01}}
  %0 = ssm.attention %query, %key, %value {scale = -0.125 : f32} : (tensor<2x16x8x64xf32>, tensor<2x32x2x64xf32>, tensor<2x32x2x32xf32>) -> tensor<2x16x8x32xf32>
  return
}

// -----

func.func @attention_scale_inf(%query: tensor<2x16x8x64xf32>, %key: tensor<2x32x2x64xf32>, %value: tensor<2x32x2x32xf32>) {
  // expected-error @+1 {{'ssm.attention' op attribute 'scale' must be finite and positive, got INF}}
  %0 = ssm.attention %query, %key, %value {scale = 0x7F800000 : f32} : (tensor<2x16x8x64xf32>, tensor<2x32x2x64xf32>, tensor<2x32x2x32xf32>) -> tensor<2x16x8x32xf32>
  return
}

// -----

func.func @attention_softcap_negative(%query: tensor<2x16x8x64xf32>, %key: tensor<2x32x2x64xf32>, %value: tensor<2x32x2x32xf32>) {
  // expected-error @+1 {{'ssm.attention' op attribute 'softcap' must be finite and positive, got -3.000000e+01}}
  %0 = ssm.attention %query, %key, %value {softcap = -30.0 : f32} : (tensor<2x16x8x64xf32>, tensor<2x32x2x64xf32>, tensor<2x32x2x32xf32>) -> tensor<2x16x8x32xf32>
  return
}

// -----

func.func @attention_softcap_nan(%query: tensor<2x16x8x64xf32>, %key: tensor<2x32x2x64xf32>, %value: tensor<2x32x2x32xf32>) {
  // expected-error @+1 {{'ssm.attention' op attribute 'softcap' must be finite and positive, got nan}}
  %0 = ssm.attention %query, %key, %value {softcap = 0x7FC00000 : f32} : (tensor<2x16x8x64xf32>, tensor<2x32x2x64xf32>, tensor<2x32x2x32xf32>) -> tensor<2x16x8x32xf32>
  return
}

// -----

func.func @attention_window_zero(%query: tensor<2x16x8x64xf32>, %key: tensor<2x32x2x64xf32>, %value: tensor<2x32x2x32xf32>) {
  // expected-error @+1 {{'ssm.attention' op attribute 'window' must be positive, got 0}}
  %0 = ssm.attention %query, %key, %value {causal, window = 0 : i64} : (tensor<2x16x8x64xf32>, tensor<2x32x2x64xf32>, tensor<2x32x2x32xf32>) -> tensor<2x16x8x32xf32>
  return
}

// -----

func.func @attention_window_negative(%query: tensor<2x16x8x64xf32>, %key: tensor<2x32x2x64xf32>, %value: tensor<2x32x2x32xf32>) {
  // expected-error @+1 {{'ssm.attention' op attribute 'window' must be positive, got -16}}
  %0 = ssm.attention %query, %key, %value {window = -16 : i64} : (tensor<2x16x8x64xf32>, tensor<2x32x2x64xf32>, tensor<2x32x2x32xf32>) -> tensor<2x16x8x32xf32>
  return
}

// -----

func.func @attention_ods_query_i32(%query: tensor<2x16x8x64xi32>, %key: tensor<2x32x2x64xf32>, %value: tensor<2x32x2x32xf32>) {
  // expected-error @+1 {{'ssm.attention' op operand #0 must be ranked tensor of 32-bit float or 16-bit float or bfloat16 type values, but got 'tensor<2x16x8x64xi32>'}}
  %0 = ssm.attention %query, %key, %value : (tensor<2x16x8x64xi32>, tensor<2x32x2x64xf32>, tensor<2x32x2x32xf32>) -> tensor<2x16x8x32xf32>
  return
}

// -----

func.func @attention_ods_mask_i32(%query: tensor<2x16x8x64xf32>, %key: tensor<2x32x2x64xf32>, %value: tensor<2x32x2x32xf32>, %mask: tensor<1x8x16x32xi32>) {
  // expected-error @+1 {{'ssm.attention' op operand #3 must be ranked tensor of 32-bit float or 16-bit float or bfloat16 type values, but got 'tensor<1x8x16x32xi32>'}}
  %0 = ssm.attention %query, %key, %value mask(%mask) : (tensor<2x16x8x64xf32>, tensor<2x32x2x64xf32>, tensor<2x32x2x32xf32>, tensor<1x8x16x32xi32>) -> tensor<2x16x8x32xf32>
  return
}

// -----

func.func @attention_ods_result_unranked(%query: tensor<2x16x8x64xf32>, %key: tensor<2x32x2x64xf32>, %value: tensor<2x32x2x32xf32>) {
  // expected-error @+1 {{'ssm.attention' op result #0 must be ranked tensor of 32-bit float or 16-bit float or bfloat16 type values, but got 'tensor<*xf32>'}}
  %0 = ssm.attention %query, %key, %value : (tensor<2x16x8x64xf32>, tensor<2x32x2x64xf32>, tensor<2x32x2x32xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @attention_ods_scale_f64(%query: tensor<2x16x8x64xf32>, %key: tensor<2x32x2x64xf32>, %value: tensor<2x32x2x32xf32>) {
  // expected-error @+1 {{custom op 'ssm.attention' 'ssm.attention' op attribute 'scale' failed to satisfy constraint: 32-bit float attribute}}
  %0 = ssm.attention %query, %key, %value {scale = 0.125 : f64} : (tensor<2x16x8x64xf32>, tensor<2x32x2x64xf32>, tensor<2x32x2x32xf32>) -> tensor<2x16x8x32xf32>
  return
}

// -----

func.func @attention_ods_window_i32(%query: tensor<2x16x8x64xf32>, %key: tensor<2x32x2x64xf32>, %value: tensor<2x32x2x32xf32>) {
  // expected-error @+1 {{custom op 'ssm.attention' 'ssm.attention' op attribute 'window' failed to satisfy constraint: 64-bit signless integer attribute}}
  %0 = ssm.attention %query, %key, %value {window = 16 : i32} : (tensor<2x16x8x64xf32>, tensor<2x32x2x64xf32>, tensor<2x32x2x32xf32>) -> tensor<2x16x8x32xf32>
  return
}

// -----

func.func @attention_ods_causal_not_unit(%query: tensor<2x16x8x64xf32>, %key: tensor<2x32x2x64xf32>, %value: tensor<2x32x2x32xf32>) {
  // expected-error @+1 {{custom op 'ssm.attention' 'ssm.attention' op attribute 'causal' failed to satisfy constraint: unit attribute}}
  %0 = ssm.attention %query, %key, %value {causal = 1 : i64} : (tensor<2x16x8x64xf32>, tensor<2x32x2x64xf32>, tensor<2x32x2x32xf32>) -> tensor<2x16x8x32xf32>
  return
}

// -----

func.func @ssd_rank_x(%x: tensor<2x16x32xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.ssd' op operand 'x' must have rank 4 (batch, seq, heads, head_dim), got rank 3}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C : (tensor<2x16x32xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_rank_dt(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4x1xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.ssd' op operand 'dt' must have rank 3 (batch, seq, heads), got rank 4}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4x1xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_rank_A(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<1x4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.ssd' op operand 'A' must have rank 1 (heads), got rank 2}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<1x4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_rank_dt_bias(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>, %dt_bias: tensor<4x1xf32>) {
  // expected-error @+1 {{'ssm.ssd' op operand 'dt_bias' must have rank 1 (heads), got rank 2}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C dt_bias(%dt_bias) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>, tensor<4x1xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_rank_D_3(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>, %D: tensor<4x8x1xf32>) {
  // expected-error @+1 {{'ssm.ssd' op operand 'D' must have rank 1 (heads) or 2 (heads, head_dim), got rank 3}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C D(%D) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>, tensor<4x8x1xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_rank_D_0(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>, %D: tensor<f32>) {
  // expected-error @+1 {{'ssm.ssd' op operand 'D' must have rank 1 (heads) or 2 (heads, head_dim), got rank 0}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C D(%D) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>, tensor<f32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_rank_B(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x16xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.ssd' op operand 'B' must have rank 4 (batch, seq, groups, state), got rank 3}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_rank_C(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16x1xf32>) {
  // expected-error @+1 {{'ssm.ssd' op operand 'C' must have rank 4 (batch, seq, groups, state), got rank 5}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16x1xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_rank_z(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>, %z: tensor<2x16x32xf32>) {
  // expected-error @+1 {{'ssm.ssd' op operand 'z' must have rank 4 (batch, seq, heads, head_dim), got rank 3}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C z(%z) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>, tensor<2x16x32xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_rank_initial_state(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>, %initial_state: tensor<2x4x128xf32>) {
  // expected-error @+1 {{'ssm.ssd' op operand 'initial_state' must have rank 4 (batch, heads, head_dim, state), got rank 3}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C initial_state(%initial_state) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>, tensor<2x4x128xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_rank_y(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.ssd' op result 'y' must have rank 4 (batch, seq, heads, head_dim), got rank 3}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x32xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_rank_final_state(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.ssd' op result 'final_state' must have rank 4 (batch, heads, head_dim, state), got rank 3}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<8x8x16xf32>)
  return
}

// -----

func.func @ssd_static_x_heads(%x: tensor<2x16x?x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.ssd' op operand 'x' dim 2 (heads) must be static}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C : (tensor<2x16x?x8xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_static_x_head_dim(%x: tensor<2x16x4x?xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.ssd' op operand 'x' dim 3 (head_dim) must be static}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C : (tensor<2x16x4x?xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_static_dt_heads(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x?xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.ssd' op operand 'dt' dim 2 (heads) must be static}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x?xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_static_A_heads(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<?xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.ssd' op operand 'A' dim 0 (heads) must be static}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<?xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_static_B_groups(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x?x16xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.ssd' op operand 'B' dim 2 (groups) must be static}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x?x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_static_B_state(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x?xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.ssd' op operand 'B' dim 3 (state) must be static}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x2x?xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_static_initial_state_head_dim(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>, %initial_state: tensor<2x4x?x16xf32>) {
  // expected-error @+1 {{'ssm.ssd' op operand 'initial_state' dim 2 (head_dim) must be static}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C initial_state(%initial_state) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>, tensor<2x4x?x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_static_final_state_state(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.ssd' op result 'final_state' dim 3 (state) must be static}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x?xf32>)
  return
}

// -----

func.func @ssd_batch_dt(%x: tensor<2x16x4x8xf32>, %dt: tensor<3x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.ssd' op operand 'dt' dim 0 (batch) is 3, but operand 'x' dim 0 (batch) is 2}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C : (tensor<2x16x4x8xf32>, tensor<3x16x4xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_seq_dt(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x15x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.ssd' op operand 'dt' dim 1 (seq) is 15, but operand 'x' dim 1 (seq) is 16}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x15x4xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_heads_dt(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x2xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.ssd' op operand 'dt' dim 2 (heads) is 2, but operand 'x' dim 2 (heads) is 4}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x2xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_heads_A(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<8xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.ssd' op operand 'A' dim 0 (heads) is 8, but operand 'x' dim 2 (heads) is 4}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<8xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_heads_dt_bias(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>, %dt_bias: tensor<2xf32>) {
  // expected-error @+1 {{'ssm.ssd' op operand 'dt_bias' dim 0 (heads) is 2, but operand 'x' dim 2 (heads) is 4}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C dt_bias(%dt_bias) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>, tensor<2xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_heads_D_rank1(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>, %D: tensor<3xf32>) {
  // expected-error @+1 {{'ssm.ssd' op operand 'D' dim 0 (heads) is 3, but operand 'x' dim 2 (heads) is 4}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C D(%D) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>, tensor<3xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_heads_D_rank2(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>, %D: tensor<2x8xf32>) {
  // expected-error @+1 {{'ssm.ssd' op operand 'D' dim 0 (heads) is 2, but operand 'x' dim 2 (heads) is 4}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C D(%D) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>, tensor<2x8xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_head_dim_D_rank2(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>, %D: tensor<4x16xf32>) {
  // expected-error @+1 {{'ssm.ssd' op operand 'D' dim 1 (head_dim) is 16, but operand 'x' dim 3 (head_dim) is 8}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C D(%D) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>, tensor<4x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_batch_B(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<1x16x2x16xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.ssd' op operand 'B' dim 0 (batch) is 1, but operand 'x' dim 0 (batch) is 2}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<1x16x2x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_seq_B(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x8x2x16xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.ssd' op operand 'B' dim 1 (seq) is 8, but operand 'x' dim 1 (seq) is 16}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x8x2x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_groups_C(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x1x16xf32>) {
  // expected-error @+1 {{'ssm.ssd' op operand 'C' dim 2 (groups) is 1, but operand 'B' dim 2 (groups) is 2}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x1x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_state_C(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x32xf32>) {
  // expected-error @+1 {{'ssm.ssd' op operand 'C' dim 3 (state) is 32, but operand 'B' dim 3 (state) is 16}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x32xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_seq_z(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>, %z: tensor<2x17x4x8xf32>) {
  // expected-error @+1 {{'ssm.ssd' op operand 'z' dim 1 (seq) is 17, but operand 'x' dim 1 (seq) is 16}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C z(%z) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>, tensor<2x17x4x8xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_head_dim_z(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>, %z: tensor<2x16x4x16xf32>) {
  // expected-error @+1 {{'ssm.ssd' op operand 'z' dim 3 (head_dim) is 16, but operand 'x' dim 3 (head_dim) is 8}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C z(%z) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>, tensor<2x16x4x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_batch_initial_state(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>, %initial_state: tensor<4x4x8x16xf32>) {
  // expected-error @+1 {{'ssm.ssd' op operand 'initial_state' dim 0 (batch) is 4, but operand 'x' dim 0 (batch) is 2}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C initial_state(%initial_state) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>, tensor<4x4x8x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_heads_initial_state(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>, %initial_state: tensor<2x8x8x16xf32>) {
  // expected-error @+1 {{'ssm.ssd' op operand 'initial_state' dim 1 (heads) is 8, but operand 'x' dim 2 (heads) is 4}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C initial_state(%initial_state) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>, tensor<2x8x8x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_head_dim_initial_state(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>, %initial_state: tensor<2x4x4x16xf32>) {
  // expected-error @+1 {{'ssm.ssd' op operand 'initial_state' dim 2 (head_dim) is 4, but operand 'x' dim 3 (head_dim) is 8}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C initial_state(%initial_state) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>, tensor<2x4x4x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_state_initial_state(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>, %initial_state: tensor<2x4x8x64xf32>) {
  // expected-error @+1 {{'ssm.ssd' op operand 'initial_state' dim 3 (state) is 64, but operand 'B' dim 3 (state) is 16}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C initial_state(%initial_state) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>, tensor<2x4x8x64xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_heads_y(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.ssd' op result 'y' dim 2 (heads) is 2, but operand 'x' dim 2 (heads) is 4}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x2x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_head_dim_y(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.ssd' op result 'y' dim 3 (head_dim) is 4, but operand 'x' dim 3 (head_dim) is 8}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x4x4xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_batch_final_state(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.ssd' op result 'final_state' dim 0 (batch) is 1, but operand 'x' dim 0 (batch) is 2}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<1x4x8x16xf32>)
  return
}

// -----

func.func @ssd_state_final_state(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.ssd' op result 'final_state' dim 3 (state) is 32, but operand 'B' dim 3 (state) is 16}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x32xf32>)
  return
}

// -----

func.func @ssd_groups_not_dividing(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x3x16xf32>, %C: tensor<2x16x3x16xf32>) {
  // expected-error @+1 {{'ssm.ssd' op operand 'B' dim 2 (groups) is 3, which does not divide operand 'x' dim 2 (heads), 4}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x3x16xf32>, tensor<2x16x3x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_groups_zero(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x0x16xf32>, %C: tensor<2x16x0x16xf32>) {
  // expected-error @+1 {{'ssm.ssd' op operand 'B' dim 2 (groups) is 0, which does not divide operand 'x' dim 2 (heads), 4}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x0x16xf32>, tensor<2x16x0x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_dt_limit_three_values(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.ssd' op attribute 'dt_limit' must hold two finite values lo <= hi}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C {dt_limit = array<f32: 0.0, 1.0, 2.0>} : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_dt_limit_one_value(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.ssd' op attribute 'dt_limit' must hold two finite values lo <= hi}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C {dt_limit = array<f32: 0.0>} : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_dt_limit_lo_above_hi(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.ssd' op attribute 'dt_limit' must hold two finite values lo <= hi}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C {dt_limit = array<f32: 10.0, 1.0>} : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_dt_limit_inf(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.ssd' op attribute 'dt_limit' must hold two finite values lo <= hi}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C {dt_limit = array<f32: 0.0, 0x7F800000>} : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_dt_limit_nan(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.ssd' op attribute 'dt_limit' must hold two finite values lo <= hi}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C {dt_limit = array<f32: 0x7FC00000, 1.0>} : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_y_element_type(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.ssd' op result 'y' element type 'f16' must equal operand 'x' element type 'f32'}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x4x8xf16>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_ods_x_i32(%x: tensor<2x16x4x8xi32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.ssd' op operand #0 must be ranked tensor of 32-bit float or 16-bit float or bfloat16 type values, but got 'tensor<2x16x4x8xi32>'}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C : (tensor<2x16x4x8xi32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_ods_initial_state_f16(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>, %initial_state: tensor<2x4x8x16xf16>) {
  // expected-error @+1 {{'ssm.ssd' op operand #5 must be ranked tensor of 32-bit float values, but got 'tensor<2x4x8x16xf16>'}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C initial_state(%initial_state) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>, tensor<2x4x8x16xf16>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_ods_final_state_bf16(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.ssd' op result #1 must be ranked tensor of 32-bit float values, but got 'tensor<2x4x8x16xbf16>'}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xbf16>)
  return
}

// -----

func.func @ssd_ods_dt_limit_f64(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{custom op 'ssm.ssd' 'ssm.ssd' op attribute 'dt_limit' failed to satisfy constraint: f32 dense array attribute}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C {dt_limit = array<f64: 0.0, 1.0>} : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_ods_dt_softplus_not_unit(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{custom op 'ssm.ssd' 'ssm.ssd' op attribute 'dt_softplus' failed to satisfy constraint: unit attribute}}
  %0:2 = ssm.ssd %x, %dt, %A, %B, %C {dt_softplus = true} : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @discrete_ssd_rank_x(%x: tensor<2x16x32xf32>, %A_log: tensor<2x16x4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.discrete_ssd' op operand 'x' must have rank 4 (batch, seq, heads, head_dim), got rank 3}}
  %0:2 = ssm.discrete_ssd %x, %A_log, %B, %C : (tensor<2x16x32xf32>, tensor<2x16x4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @discrete_ssd_rank_A_log(%x: tensor<2x16x4x8xf32>, %A_log: tensor<2x16xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.discrete_ssd' op operand 'A_log' must have rank 3 (batch, seq, heads), got rank 2}}
  %0:2 = ssm.discrete_ssd %x, %A_log, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @discrete_ssd_rank_z_bias(%x: tensor<2x16x4x8xf32>, %A_log: tensor<2x16x4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>, %z: tensor<2x16x4x8xf32>, %z_bias: tensor<32xf32>) {
  // expected-error @+1 {{'ssm.discrete_ssd' op operand 'z_bias' must have rank 2 (heads, head_dim), got rank 1}}
  %0:2 = ssm.discrete_ssd %x, %A_log, %B, %C z(%z) z_bias(%z_bias) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>, tensor<2x16x4x8xf32>, tensor<32xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @discrete_ssd_rank_D(%x: tensor<2x16x4x8xf32>, %A_log: tensor<2x16x4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>, %D: tensor<4x8x1xf32>) {
  // expected-error @+1 {{'ssm.discrete_ssd' op operand 'D' must have rank 1 (heads) or 2 (heads, head_dim), got rank 3}}
  %0:2 = ssm.discrete_ssd %x, %A_log, %B, %C D(%D) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>, tensor<4x8x1xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @discrete_ssd_rank_B(%x: tensor<2x16x4x8xf32>, %A_log: tensor<2x16x4xf32>, %B: tensor<2x16x16xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.discrete_ssd' op operand 'B' must have rank 4 (batch, seq, groups, state), got rank 3}}
  %0:2 = ssm.discrete_ssd %x, %A_log, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @discrete_ssd_rank_C(%x: tensor<2x16x4x8xf32>, %A_log: tensor<2x16x4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2xf32>) {
  // expected-error @+1 {{'ssm.discrete_ssd' op operand 'C' must have rank 4 (batch, seq, groups, state), got rank 3}}
  %0:2 = ssm.discrete_ssd %x, %A_log, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @discrete_ssd_rank_z(%x: tensor<2x16x4x8xf32>, %A_log: tensor<2x16x4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>, %z: tensor<2x16x32xf32>) {
  // expected-error @+1 {{'ssm.discrete_ssd' op operand 'z' must have rank 4 (batch, seq, heads, head_dim), got rank 3}}
  %0:2 = ssm.discrete_ssd %x, %A_log, %B, %C z(%z) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>, tensor<2x16x32xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @discrete_ssd_rank_initial_state(%x: tensor<2x16x4x8xf32>, %A_log: tensor<2x16x4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>, %initial_state: tensor<2x4x8xf32>) {
  // expected-error @+1 {{'ssm.discrete_ssd' op operand 'initial_state' must have rank 4 (batch, heads, head_dim, state), got rank 3}}
  %0:2 = ssm.discrete_ssd %x, %A_log, %B, %C initial_state(%initial_state) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>, tensor<2x4x8xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @discrete_ssd_rank_y(%x: tensor<2x16x4x8xf32>, %A_log: tensor<2x16x4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.discrete_ssd' op result 'y' must have rank 4 (batch, seq, heads, head_dim), got rank 5}}
  %0:2 = ssm.discrete_ssd %x, %A_log, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x4x8x1xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @discrete_ssd_rank_final_state(%x: tensor<2x16x4x8xf32>, %A_log: tensor<2x16x4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.discrete_ssd' op result 'final_state' must have rank 4 (batch, heads, head_dim, state), got rank 3}}
  %0:2 = ssm.discrete_ssd %x, %A_log, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x128xf32>)
  return
}

// -----

func.func @discrete_ssd_static_x_heads(%x: tensor<2x16x?x8xf32>, %A_log: tensor<2x16x4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.discrete_ssd' op operand 'x' dim 2 (heads) must be static}}
  %0:2 = ssm.discrete_ssd %x, %A_log, %B, %C : (tensor<2x16x?x8xf32>, tensor<2x16x4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @discrete_ssd_static_A_log_heads(%x: tensor<2x16x4x8xf32>, %A_log: tensor<2x16x?xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.discrete_ssd' op operand 'A_log' dim 2 (heads) must be static}}
  %0:2 = ssm.discrete_ssd %x, %A_log, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x?xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @discrete_ssd_static_z_bias_head_dim(%x: tensor<2x16x4x8xf32>, %A_log: tensor<2x16x4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>, %z: tensor<2x16x4x8xf32>, %z_bias: tensor<4x?xf32>) {
  // expected-error @+1 {{'ssm.discrete_ssd' op operand 'z_bias' dim 1 (head_dim) must be static}}
  %0:2 = ssm.discrete_ssd %x, %A_log, %B, %C z(%z) z_bias(%z_bias) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>, tensor<2x16x4x8xf32>, tensor<4x?xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @discrete_ssd_static_C_groups(%x: tensor<2x16x4x8xf32>, %A_log: tensor<2x16x4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x?x16xf32>) {
  // expected-error @+1 {{'ssm.discrete_ssd' op operand 'C' dim 2 (groups) must be static}}
  %0:2 = ssm.discrete_ssd %x, %A_log, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x?x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @discrete_ssd_static_initial_state_state(%x: tensor<2x16x4x8xf32>, %A_log: tensor<2x16x4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>, %initial_state: tensor<?x4x8x?xf32>) {
  // expected-error @+1 {{'ssm.discrete_ssd' op operand 'initial_state' dim 3 (state) must be static}}
  %0:2 = ssm.discrete_ssd %x, %A_log, %B, %C initial_state(%initial_state) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>, tensor<?x4x8x?xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @discrete_ssd_batch_A_log(%x: tensor<2x16x4x8xf32>, %A_log: tensor<1x16x4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.discrete_ssd' op operand 'A_log' dim 0 (batch) is 1, but operand 'x' dim 0 (batch) is 2}}
  %0:2 = ssm.discrete_ssd %x, %A_log, %B, %C : (tensor<2x16x4x8xf32>, tensor<1x16x4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @discrete_ssd_seq_A_log(%x: tensor<2x16x4x8xf32>, %A_log: tensor<2x32x4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.discrete_ssd' op operand 'A_log' dim 1 (seq) is 32, but operand 'x' dim 1 (seq) is 16}}
  %0:2 = ssm.discrete_ssd %x, %A_log, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x32x4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @discrete_ssd_heads_A_log(%x: tensor<2x16x4x8xf32>, %A_log: tensor<2x16x8xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.discrete_ssd' op operand 'A_log' dim 2 (heads) is 8, but operand 'x' dim 2 (heads) is 4}}
  %0:2 = ssm.discrete_ssd %x, %A_log, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x8xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @discrete_ssd_heads_z_bias(%x: tensor<2x16x4x8xf32>, %A_log: tensor<2x16x4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>, %z: tensor<2x16x4x8xf32>, %z_bias: tensor<2x8xf32>) {
  // expected-error @+1 {{'ssm.discrete_ssd' op operand 'z_bias' dim 0 (heads) is 2, but operand 'x' dim 2 (heads) is 4}}
  %0:2 = ssm.discrete_ssd %x, %A_log, %B, %C z(%z) z_bias(%z_bias) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>, tensor<2x16x4x8xf32>, tensor<2x8xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @discrete_ssd_head_dim_z_bias(%x: tensor<2x16x4x8xf32>, %A_log: tensor<2x16x4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>, %z: tensor<2x16x4x8xf32>, %z_bias: tensor<4x4xf32>) {
  // expected-error @+1 {{'ssm.discrete_ssd' op operand 'z_bias' dim 1 (head_dim) is 4, but operand 'x' dim 3 (head_dim) is 8}}
  %0:2 = ssm.discrete_ssd %x, %A_log, %B, %C z(%z) z_bias(%z_bias) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>, tensor<2x16x4x8xf32>, tensor<4x4xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @discrete_ssd_heads_D(%x: tensor<2x16x4x8xf32>, %A_log: tensor<2x16x4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>, %D: tensor<2xf32>) {
  // expected-error @+1 {{'ssm.discrete_ssd' op operand 'D' dim 0 (heads) is 2, but operand 'x' dim 2 (heads) is 4}}
  %0:2 = ssm.discrete_ssd %x, %A_log, %B, %C D(%D) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>, tensor<2xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @discrete_ssd_head_dim_D(%x: tensor<2x16x4x8xf32>, %A_log: tensor<2x16x4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>, %D: tensor<4x2xf32>) {
  // expected-error @+1 {{'ssm.discrete_ssd' op operand 'D' dim 1 (head_dim) is 2, but operand 'x' dim 3 (head_dim) is 8}}
  %0:2 = ssm.discrete_ssd %x, %A_log, %B, %C D(%D) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>, tensor<4x2xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @discrete_ssd_batch_B(%x: tensor<2x16x4x8xf32>, %A_log: tensor<2x16x4xf32>, %B: tensor<3x16x2x16xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.discrete_ssd' op operand 'B' dim 0 (batch) is 3, but operand 'x' dim 0 (batch) is 2}}
  %0:2 = ssm.discrete_ssd %x, %A_log, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<3x16x2x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @discrete_ssd_seq_C(%x: tensor<2x16x4x8xf32>, %A_log: tensor<2x16x4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x4x2x16xf32>) {
  // expected-error @+1 {{'ssm.discrete_ssd' op operand 'C' dim 1 (seq) is 4, but operand 'x' dim 1 (seq) is 16}}
  %0:2 = ssm.discrete_ssd %x, %A_log, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x2x16xf32>, tensor<2x4x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @discrete_ssd_groups_C(%x: tensor<2x16x4x8xf32>, %A_log: tensor<2x16x4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x4x16xf32>) {
  // expected-error @+1 {{'ssm.discrete_ssd' op operand 'C' dim 2 (groups) is 4, but operand 'B' dim 2 (groups) is 2}}
  %0:2 = ssm.discrete_ssd %x, %A_log, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x4x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @discrete_ssd_state_C(%x: tensor<2x16x4x8xf32>, %A_log: tensor<2x16x4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x8xf32>) {
  // expected-error @+1 {{'ssm.discrete_ssd' op operand 'C' dim 3 (state) is 8, but operand 'B' dim 3 (state) is 16}}
  %0:2 = ssm.discrete_ssd %x, %A_log, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x8xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @discrete_ssd_heads_z(%x: tensor<2x16x4x8xf32>, %A_log: tensor<2x16x4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>, %z: tensor<2x16x2x8xf32>) {
  // expected-error @+1 {{'ssm.discrete_ssd' op operand 'z' dim 2 (heads) is 2, but operand 'x' dim 2 (heads) is 4}}
  %0:2 = ssm.discrete_ssd %x, %A_log, %B, %C z(%z) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x8xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @discrete_ssd_state_initial_state(%x: tensor<2x16x4x8xf32>, %A_log: tensor<2x16x4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>, %initial_state: tensor<2x4x8x8xf32>) {
  // expected-error @+1 {{'ssm.discrete_ssd' op operand 'initial_state' dim 3 (state) is 8, but operand 'B' dim 3 (state) is 16}}
  %0:2 = ssm.discrete_ssd %x, %A_log, %B, %C initial_state(%initial_state) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>, tensor<2x4x8x8xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @discrete_ssd_batch_y(%x: tensor<2x16x4x8xf32>, %A_log: tensor<2x16x4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.discrete_ssd' op result 'y' dim 0 (batch) is 1, but operand 'x' dim 0 (batch) is 2}}
  %0:2 = ssm.discrete_ssd %x, %A_log, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<1x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @discrete_ssd_heads_final_state(%x: tensor<2x16x4x8xf32>, %A_log: tensor<2x16x4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.discrete_ssd' op result 'final_state' dim 1 (heads) is 2, but operand 'x' dim 2 (heads) is 4}}
  %0:2 = ssm.discrete_ssd %x, %A_log, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x2x8x16xf32>)
  return
}

// -----

func.func @discrete_ssd_z_bias_requires_z(%x: tensor<2x16x4x8xf32>, %A_log: tensor<2x16x4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>, %z_bias: tensor<4x8xf32>) {
  // expected-error @+1 {{'ssm.discrete_ssd' op operand 'z_bias' requires operand 'z'}}
  %0:2 = ssm.discrete_ssd %x, %A_log, %B, %C z_bias(%z_bias) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>, tensor<4x8xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @discrete_ssd_groups_not_dividing(%x: tensor<2x16x4x8xf32>, %A_log: tensor<2x16x4xf32>, %B: tensor<2x16x3x16xf32>, %C: tensor<2x16x3x16xf32>) {
  // expected-error @+1 {{'ssm.discrete_ssd' op operand 'B' dim 2 (groups) is 3, which does not divide operand 'x' dim 2 (heads), 4}}
  %0:2 = ssm.discrete_ssd %x, %A_log, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x3x16xf32>, tensor<2x16x3x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @discrete_ssd_y_element_type(%x: tensor<2x16x4x8xbf16>, %A_log: tensor<2x16x4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.discrete_ssd' op result 'y' element type 'f32' must equal operand 'x' element type 'bf16'}}
  %0:2 = ssm.discrete_ssd %x, %A_log, %B, %C : (tensor<2x16x4x8xbf16>, tensor<2x16x4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @discrete_ssd_ods_A_log_i32(%x: tensor<2x16x4x8xf32>, %A_log: tensor<2x16x4xi32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.discrete_ssd' op operand #1 must be ranked tensor of 32-bit float or 16-bit float or bfloat16 type values, but got 'tensor<2x16x4xi32>'}}
  %0:2 = ssm.discrete_ssd %x, %A_log, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xi32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @discrete_ssd_ods_initial_state_f16(%x: tensor<2x16x4x8xf32>, %A_log: tensor<2x16x4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>, %initial_state: tensor<2x4x8x16xf16>) {
  // expected-error @+1 {{'ssm.discrete_ssd' op operand #4 must be ranked tensor of 32-bit float values, but got 'tensor<2x4x8x16xf16>'}}
  %0:2 = ssm.discrete_ssd %x, %A_log, %B, %C initial_state(%initial_state) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>, tensor<2x4x8x16xf16>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @discrete_ssd_ods_final_state_f16(%x: tensor<2x16x4x8xf32>, %A_log: tensor<2x16x4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.discrete_ssd' op result #1 must be ranked tensor of 32-bit float values, but got 'tensor<2x4x8x16xf16>'}}
  %0:2 = ssm.discrete_ssd %x, %A_log, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf16>)
  return
}

// -----

func.func @mamba3_rank_x(%x: tensor<2x16x32xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'x' must have rank 4 (batch, seq, heads, head_dim), got rank 3}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C : (tensor<2x16x32xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_rank_dt(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'dt' must have rank 3 (batch, seq, heads), got rank 2}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_rank_A(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4x1xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'A' must have rank 3 (batch, seq, heads), got rank 4}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4x1xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_rank_lam(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'lam' must have rank 3 (batch, seq, heads), got rank 2}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_rank_theta(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'theta' must have rank 4 (batch, seq, heads, angles), got rank 3}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_rank_B(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x16xf32>, %C: tensor<2x16x2x2x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'B' must have rank 5 (batch, seq, rank, groups, state), got rank 4}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_rank_C(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x4x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'C' must have rank 5 (batch, seq, rank, groups, state), got rank 4}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x4x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_rank_D(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>, %D: tensor<4x8xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'D' must have rank 1 (heads), got rank 2}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C D(%D) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>, tensor<4x8xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_rank_z(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>, %z: tensor<2x16x32xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'z' must have rank 4 (batch, seq, heads, head_dim), got rank 3}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C z(%z) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x32xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_rank_Wx(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>, %Wx: tensor<4x8xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'Wx' must have rank 3 (heads, rank, head_dim), got rank 2}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C Wx(%Wx) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>, tensor<4x8xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_rank_Wz(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>, %z: tensor<2x16x4x8xf32>, %Wz: tensor<4x2x8x1xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'Wz' must have rank 3 (heads, rank, head_dim), got rank 4}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C z(%z) Wz(%Wz) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x4x8xf32>, tensor<4x2x8x1xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_rank_Wo(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>, %Wo: tensor<8x8xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'Wo' must have rank 3 (heads, rank, head_dim), got rank 2}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C Wo(%Wo) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>, tensor<8x8xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_rank_initial_state(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>, %initial_state: tensor<2x4x128xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'initial_state' must have rank 4 (batch, heads, head_dim, state), got rank 3}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C initial_state(%initial_state) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>, tensor<2x4x128xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_rank_initial_angle(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>, %initial_angle: tensor<2x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'initial_angle' must have rank 3 (batch, heads, angles), got rank 2}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C initial_angle(%initial_angle) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_rank_initial_k(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>, %initial_k: tensor<2x8x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'initial_k' must have rank 4 (batch, rank, heads, state), got rank 3}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C initial_k(%initial_k) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>, tensor<2x8x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_rank_initial_x(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>, %initial_x: tensor<2x32xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'initial_x' must have rank 3 (batch, heads, head_dim), got rank 2}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C initial_x(%initial_x) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>, tensor<2x32xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_rank_y(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op result 'y' must have rank 4 (batch, seq, heads, head_dim), got rank 3}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>) -> (tensor<2x16x32xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_rank_final_state(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op result 'final_state' must have rank 4 (batch, heads, head_dim, state), got rank 3}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x128xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_rank_final_angle(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op result 'final_angle' must have rank 3 (batch, heads, angles), got rank 2}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x16xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_rank_final_k(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op result 'final_k' must have rank 4 (batch, rank, heads, state), got rank 3}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x8x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_rank_final_x(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op result 'final_x' must have rank 3 (batch, heads, head_dim), got rank 4}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8x1xf32>)
  return
}

// -----

func.func @mamba3_static_x_heads(%x: tensor<2x16x?x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'x' dim 2 (heads) must be static}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C : (tensor<2x16x?x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_static_x_head_dim(%x: tensor<2x16x4x?xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'x' dim 3 (head_dim) must be static}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C : (tensor<2x16x4x?xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_static_theta_angles(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x?xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'theta' dim 3 (angles) must be static}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x?xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_static_B_rank(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x?x2x16xf32>, %C: tensor<2x16x2x2x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'B' dim 2 (rank) must be static}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x?x2x16xf32>, tensor<2x16x2x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_static_B_groups(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x?x16xf32>, %C: tensor<2x16x2x2x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'B' dim 3 (groups) must be static}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x?x16xf32>, tensor<2x16x2x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_static_B_state(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x?xf32>, %C: tensor<2x16x2x2x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'B' dim 4 (state) must be static}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x?xf32>, tensor<2x16x2x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_static_Wx_rank(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>, %Wx: tensor<4x?x8xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'Wx' dim 1 (rank) must be static}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C Wx(%Wx) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>, tensor<4x?x8xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_static_initial_k_rank(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>, %initial_k: tensor<2x?x4x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'initial_k' dim 1 (rank) must be static}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C initial_k(%initial_k) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>, tensor<2x?x4x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_static_final_angle_angles(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op result 'final_angle' dim 2 (angles) must be static}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x?xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_batch_dt(%x: tensor<2x16x4x8xf32>, %dt: tensor<1x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'dt' dim 0 (batch) is 1, but operand 'x' dim 0 (batch) is 2}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C : (tensor<2x16x4x8xf32>, tensor<1x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_seq_dt(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x8x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'dt' dim 1 (seq) is 8, but operand 'x' dim 1 (seq) is 16}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x8x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_heads_A(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x2xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'A' dim 2 (heads) is 2, but operand 'x' dim 2 (heads) is 4}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x2xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_seq_lam(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x15x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'lam' dim 1 (seq) is 15, but operand 'x' dim 1 (seq) is 16}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x15x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_heads_theta(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x8x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'theta' dim 2 (heads) is 8, but operand 'x' dim 2 (heads) is 4}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x8x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_batch_B(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<4x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'B' dim 0 (batch) is 4, but operand 'x' dim 0 (batch) is 2}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<4x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_rank_mismatch_C(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x1x2x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'C' dim 2 (rank) is 1, but operand 'B' dim 2 (rank) is 2}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x1x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_groups_C(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x1x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'C' dim 3 (groups) is 1, but operand 'B' dim 3 (groups) is 2}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x1x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_state_C(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x32xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'C' dim 4 (state) is 32, but operand 'B' dim 4 (state) is 16}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x32xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_heads_D(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>, %D: tensor<2xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'D' dim 0 (heads) is 2, but operand 'x' dim 2 (heads) is 4}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C D(%D) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>, tensor<2xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_head_dim_z(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>, %z: tensor<2x16x4x4xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'z' dim 3 (head_dim) is 4, but operand 'x' dim 3 (head_dim) is 8}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C z(%z) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x4x4xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_heads_Wx(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>, %Wx: tensor<2x2x8xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'Wx' dim 0 (heads) is 2, but operand 'x' dim 2 (heads) is 4}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C Wx(%Wx) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>, tensor<2x2x8xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_rank_mismatch_Wx(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>, %Wx: tensor<4x4x8xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'Wx' dim 1 (rank) is 4, but operand 'B' dim 2 (rank) is 2}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C Wx(%Wx) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>, tensor<4x4x8xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_head_dim_Wz(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>, %z: tensor<2x16x4x8xf32>, %Wz: tensor<4x2x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'Wz' dim 2 (head_dim) is 16, but operand 'x' dim 3 (head_dim) is 8}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C z(%z) Wz(%Wz) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x4x8xf32>, tensor<4x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_rank_mismatch_Wo(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>, %Wo: tensor<4x1x8xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'Wo' dim 1 (rank) is 1, but operand 'B' dim 2 (rank) is 2}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C Wo(%Wo) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>, tensor<4x1x8xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_head_dim_initial_state(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>, %initial_state: tensor<2x4x16x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'initial_state' dim 2 (head_dim) is 16, but operand 'x' dim 3 (head_dim) is 8}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C initial_state(%initial_state) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>, tensor<2x4x16x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_state_initial_state(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>, %initial_state: tensor<2x4x8x8xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'initial_state' dim 3 (state) is 8, but operand 'B' dim 4 (state) is 16}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C initial_state(%initial_state) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>, tensor<2x4x8x8xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_angles_initial_angle(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>, %initial_angle: tensor<2x4x2xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'initial_angle' dim 2 (angles) is 2, but operand 'theta' dim 3 (angles) is 4}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C initial_angle(%initial_angle) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>, tensor<2x4x2xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_batch_initial_angle(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>, %initial_angle: tensor<1x4x4xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'initial_angle' dim 0 (batch) is 1, but operand 'x' dim 0 (batch) is 2}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C initial_angle(%initial_angle) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>, tensor<1x4x4xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_rank_mismatch_initial_k(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>, %initial_k: tensor<2x1x4x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'initial_k' dim 1 (rank) is 1, but operand 'B' dim 2 (rank) is 2}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C initial_k(%initial_k) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>, tensor<2x1x4x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_heads_initial_k(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>, %initial_k: tensor<2x2x2x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'initial_k' dim 2 (heads) is 2, but operand 'x' dim 2 (heads) is 4}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C initial_k(%initial_k) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>, tensor<2x2x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_state_initial_k(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>, %initial_k: tensor<2x2x4x8xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'initial_k' dim 3 (state) is 8, but operand 'B' dim 4 (state) is 16}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C initial_k(%initial_k) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>, tensor<2x2x4x8xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_head_dim_initial_x(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>, %initial_x: tensor<2x4x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'initial_x' dim 2 (head_dim) is 16, but operand 'x' dim 3 (head_dim) is 8}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C initial_x(%initial_x) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>, tensor<2x4x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_seq_y(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op result 'y' dim 1 (seq) is 8, but operand 'x' dim 1 (seq) is 16}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>) -> (tensor<2x8x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_head_dim_final_state(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op result 'final_state' dim 2 (head_dim) is 4, but operand 'x' dim 3 (head_dim) is 8}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x4x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_angles_final_angle(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op result 'final_angle' dim 2 (angles) is 8, but operand 'theta' dim 3 (angles) is 4}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_rank_mismatch_final_k(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op result 'final_k' dim 1 (rank) is 4, but operand 'B' dim 2 (rank) is 2}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x4x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_state_final_k(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op result 'final_k' dim 3 (state) is 32, but operand 'B' dim 4 (state) is 16}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x32xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_heads_final_x(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op result 'final_x' dim 1 (heads) is 2, but operand 'x' dim 2 (heads) is 4}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x2x8xf32>)
  return
}

// -----

func.func @mamba3_Wz_requires_z(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>, %Wz: tensor<4x2x8xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'Wz' requires operand 'z'}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C Wz(%Wz) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>, tensor<4x2x8xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_groups_not_dividing(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x3x16xf32>, %C: tensor<2x16x2x3x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'B' dim 3 (groups) is 3, which does not divide operand 'x' dim 2 (heads), 4}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x3x16xf32>, tensor<2x16x2x3x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_twice_angles_exceed_state(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x9xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'theta' dim 3 (angles) is 9, but twice the angles must not exceed operand 'B' dim 4 (state), 16}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x9xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x9xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_mimo_rank_zero(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x0x2x16xf32>, %C: tensor<2x16x0x2x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'B' dim 2 (rank) must be at least 1}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x0x2x16xf32>, tensor<2x16x0x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x0x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_seq_zero(%x: tensor<2x0x4x8xf32>, %dt: tensor<2x0x4xf32>, %A: tensor<2x0x4xf32>, %lam: tensor<2x0x4xf32>, %theta: tensor<2x0x4x4xf32>, %B: tensor<2x0x2x2x16xf32>, %C: tensor<2x0x2x2x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'x' dim 1 (seq) must be at least 1: the final state needs a last token}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C : (tensor<2x0x4x8xf32>, tensor<2x0x4xf32>, tensor<2x0x4xf32>, tensor<2x0x4xf32>, tensor<2x0x4x4xf32>, tensor<2x0x2x2x16xf32>, tensor<2x0x2x2x16xf32>) -> (tensor<2x0x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_y_element_type(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op result 'y' element type 'f16' must equal operand 'x' element type 'f32'}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>) -> (tensor<2x16x4x8xf16>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_ods_x_i32(%x: tensor<2x16x4x8xi32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand #0 must be ranked tensor of 32-bit float or 16-bit float or bfloat16 type values, but got 'tensor<2x16x4x8xi32>'}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C : (tensor<2x16x4x8xi32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_ods_initial_angle_f16(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>, %initial_angle: tensor<2x4x4xf16>) {
  // expected-error @+1 {{'ssm.mamba3' op operand #7 must be ranked tensor of 32-bit float values, but got 'tensor<2x4x4xf16>'}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C initial_angle(%initial_angle) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>, tensor<2x4x4xf16>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_ods_initial_k_bf16(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>, %initial_k: tensor<2x2x4x16xbf16>) {
  // expected-error @+1 {{'ssm.mamba3' op operand #7 must be ranked tensor of 32-bit float values, but got 'tensor<2x2x4x16xbf16>'}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C initial_k(%initial_k) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>, tensor<2x2x4x16xbf16>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_ods_final_k_bf16(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op result #3 must be ranked tensor of 32-bit float values, but got 'tensor<2x2x4x16xbf16>'}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xbf16>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @mamba3_ods_rotary_pairing_i32(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<2x16x4xf32>, %lam: tensor<2x16x4xf32>, %theta: tensor<2x16x4x4xf32>, %B: tensor<2x16x2x2x16xf32>, %C: tensor<2x16x2x2x16xf32>) {
  // expected-error @+1 {{custom op 'ssm.mamba3' 'ssm.mamba3' op attribute 'rotary_pairing' failed to satisfy constraint: How rotary embedding pairs the features it rotates}}
  %0:5 = ssm.mamba3 %x, %dt, %A, %lam, %theta, %B, %C {rotary_pairing = 1 : i32} : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x2x2x16xf32>, tensor<2x16x2x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x2x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @rms_norm_rank_x_zero(%x: tensor<f32>, %weight: tensor<1xf32>) {
  // expected-error @+1 {{'ssm.rms_norm' op operand 'x' must have rank >= 1}}
  %0 = ssm.rms_norm %x, %weight : (tensor<f32>, tensor<1xf32>) -> tensor<f32>
  return
}

// -----

func.func @rms_norm_static_features(%x: tensor<2x16x?xf32>, %weight: tensor<64xf32>) {
  // expected-error @+1 {{'ssm.rms_norm' op operand 'x' dim 2 (features) must be static}}
  %0 = ssm.rms_norm %x, %weight : (tensor<2x16x?xf32>, tensor<64xf32>) -> tensor<2x16x?xf32>
  return
}

// -----

func.func @rms_norm_rank_weight(%x: tensor<2x16x64xf32>, %weight: tensor<1x64xf32>) {
  // expected-error @+1 {{'ssm.rms_norm' op operand 'weight' must have rank 1 (features), got rank 2}}
  %0 = ssm.rms_norm %x, %weight : (tensor<2x16x64xf32>, tensor<1x64xf32>) -> tensor<2x16x64xf32>
  return
}

// -----

func.func @rms_norm_features_weight(%x: tensor<2x16x64xf32>, %weight: tensor<32xf32>) {
  // expected-error @+1 {{'ssm.rms_norm' op operand 'weight' dim 0 (features) is 32, but operand 'x' dim 2 (features) is 64}}
  %0 = ssm.rms_norm %x, %weight : (tensor<2x16x64xf32>, tensor<32xf32>) -> tensor<2x16x64xf32>
  return
}

// -----

func.func @rms_norm_gate_shape(%x: tensor<2x16x64xf32>, %weight: tensor<64xf32>, %gate: tensor<2x8x64xf32>) {
  // expected-error @+1 {{'ssm.rms_norm' op operand 'gate' shape must match operand 'x' shape, got 'tensor<2x8x64xf32>' and 'tensor<2x16x64xf32>'}}
  %0 = ssm.rms_norm %x, %weight gate(%gate) : (tensor<2x16x64xf32>, tensor<64xf32>, tensor<2x8x64xf32>) -> tensor<2x16x64xf32>
  return
}

// -----

func.func @rms_norm_gate_rank(%x: tensor<2x16x64xf32>, %weight: tensor<64xf32>, %gate: tensor<16x64xf32>) {
  // expected-error @+1 {{'ssm.rms_norm' op operand 'gate' shape must match operand 'x' shape, got 'tensor<16x64xf32>' and 'tensor<2x16x64xf32>'}}
  %0 = ssm.rms_norm %x, %weight gate(%gate) : (tensor<2x16x64xf32>, tensor<64xf32>, tensor<16x64xf32>) -> tensor<2x16x64xf32>
  return
}

// -----

func.func @rms_norm_eps_negative(%x: tensor<2x16x64xf32>, %weight: tensor<64xf32>) {
  // expected-error @+1 {{'ssm.rms_norm' op attribute 'eps' must be finite and non-negative, got -1.000000e-05}}
  %0 = ssm.rms_norm %x, %weight {eps = -1.0e-05 : f32} : (tensor<2x16x64xf32>, tensor<64xf32>) -> tensor<2x16x64xf32>
  return
}

// -----

func.func @rms_norm_eps_nan(%x: tensor<2x16x64xf32>, %weight: tensor<64xf32>) {
  // expected-error @+1 {{'ssm.rms_norm' op attribute 'eps' must be finite and non-negative, got nan}}
  %0 = ssm.rms_norm %x, %weight {eps = 0x7FC00000 : f32} : (tensor<2x16x64xf32>, tensor<64xf32>) -> tensor<2x16x64xf32>
  return
}

// -----

func.func @rms_norm_eps_inf(%x: tensor<2x16x64xf32>, %weight: tensor<64xf32>) {
  // expected-error @+1 {{'ssm.rms_norm' op attribute 'eps' must be finite and non-negative, got INF}}
  %0 = ssm.rms_norm %x, %weight {eps = 0x7F800000 : f32} : (tensor<2x16x64xf32>, tensor<64xf32>) -> tensor<2x16x64xf32>
  return
}

// -----

func.func @rms_norm_group_size_zero(%x: tensor<2x16x64xf32>, %weight: tensor<64xf32>) {
  // expected-error @+1 {{'ssm.rms_norm' op attribute 'group_size' (0) must be positive and divide operand 'x' dim 2 (features), 64}}
  %0 = ssm.rms_norm %x, %weight {group_size = 0 : i64} : (tensor<2x16x64xf32>, tensor<64xf32>) -> tensor<2x16x64xf32>
  return
}

// -----

func.func @rms_norm_group_size_negative(%x: tensor<2x16x64xf32>, %weight: tensor<64xf32>) {
  // expected-error @+1 {{'ssm.rms_norm' op attribute 'group_size' (-16) must be positive and divide operand 'x' dim 2 (features), 64}}
  %0 = ssm.rms_norm %x, %weight {group_size = -16 : i64} : (tensor<2x16x64xf32>, tensor<64xf32>) -> tensor<2x16x64xf32>
  return
}

// -----

func.func @rms_norm_group_size_not_dividing(%x: tensor<2x16x64xf32>, %weight: tensor<64xf32>) {
  // expected-error @+1 {{'ssm.rms_norm' op attribute 'group_size' (48) must be positive and divide operand 'x' dim 2 (features), 64}}
  %0 = ssm.rms_norm %x, %weight {group_size = 48 : i64} : (tensor<2x16x64xf32>, tensor<64xf32>) -> tensor<2x16x64xf32>
  return
}

// -----

func.func @rms_norm_ods_result_type(%x: tensor<2x16x64xf32>, %weight: tensor<64xf32>) {
  // expected-error @+1 {{'ssm.rms_norm' op failed to verify that all of {x, result} have same type}}
  %0 = ssm.rms_norm %x, %weight : (tensor<2x16x64xf32>, tensor<64xf32>) -> tensor<2x16x64xf16>
  return
}

// -----

func.func @rms_norm_ods_weight_i32(%x: tensor<2x16x64xf32>, %weight: tensor<64xi32>) {
  // expected-error @+1 {{'ssm.rms_norm' op operand #1 must be ranked tensor of 32-bit float or 16-bit float or bfloat16 type values, but got 'tensor<64xi32>'}}
  %0 = ssm.rms_norm %x, %weight : (tensor<2x16x64xf32>, tensor<64xi32>) -> tensor<2x16x64xf32>
  return
}

// -----

func.func @rms_norm_ods_eps_f64(%x: tensor<2x16x64xf32>, %weight: tensor<64xf32>) {
  // expected-error @+1 {{custom op 'ssm.rms_norm' 'ssm.rms_norm' op attribute 'eps' failed to satisfy constraint: 32-bit float attribute}}
  %0 = ssm.rms_norm %x, %weight {eps = 1.0e-05 : f64} : (tensor<2x16x64xf32>, tensor<64xf32>) -> tensor<2x16x64xf32>
  return
}

// -----

func.func @rms_norm_ods_group_size_i32(%x: tensor<2x16x64xf32>, %weight: tensor<64xf32>) {
  // expected-error @+1 {{custom op 'ssm.rms_norm' 'ssm.rms_norm' op attribute 'group_size' failed to satisfy constraint: 64-bit signless integer attribute}}
  %0 = ssm.rms_norm %x, %weight {group_size = 16 : i32} : (tensor<2x16x64xf32>, tensor<64xf32>) -> tensor<2x16x64xf32>
  return
}

// -----

func.func @causal_conv1d_rank_x(%x: tensor<2x16x32x1xf32>, %weight: tensor<32x4xf32>) {
  // expected-error @+1 {{'ssm.causal_conv1d' op operand 'x' must have rank 3 (batch, seq, channels), got rank 4}}
  %0:2 = ssm.causal_conv1d %x, %weight : (tensor<2x16x32x1xf32>, tensor<32x4xf32>) -> (tensor<2x16x32x1xf32>, tensor<2x32x3xf32>)
  return
}

// -----

func.func @causal_conv1d_rank_weight(%x: tensor<2x16x32xf32>, %weight: tensor<32x1x4xf32>) {
  // expected-error @+1 {{'ssm.causal_conv1d' op operand 'weight' must have rank 2 (channels, kernel), got rank 3}}
  %0:2 = ssm.causal_conv1d %x, %weight : (tensor<2x16x32xf32>, tensor<32x1x4xf32>) -> (tensor<2x16x32xf32>, tensor<2x32x3xf32>)
  return
}

// -----

func.func @causal_conv1d_rank_bias(%x: tensor<2x16x32xf32>, %weight: tensor<32x4xf32>, %bias: tensor<1x32xf32>) {
  // expected-error @+1 {{'ssm.causal_conv1d' op operand 'bias' must have rank 1 (channels), got rank 2}}
  %0:2 = ssm.causal_conv1d %x, %weight bias(%bias) : (tensor<2x16x32xf32>, tensor<32x4xf32>, tensor<1x32xf32>) -> (tensor<2x16x32xf32>, tensor<2x32x3xf32>)
  return
}

// -----

func.func @causal_conv1d_rank_initial_state(%x: tensor<2x16x32xf32>, %weight: tensor<32x4xf32>, %initial_state: tensor<2x96xf32>) {
  // expected-error @+1 {{'ssm.causal_conv1d' op operand 'initial_state' must have rank 3 (batch, channels, kernel_minus_1), got rank 2}}
  %0:2 = ssm.causal_conv1d %x, %weight initial_state(%initial_state) : (tensor<2x16x32xf32>, tensor<32x4xf32>, tensor<2x96xf32>) -> (tensor<2x16x32xf32>, tensor<2x32x3xf32>)
  return
}

// -----

func.func @causal_conv1d_rank_y(%x: tensor<2x16x32xf32>, %weight: tensor<32x4xf32>) {
  // expected-error @+1 {{'ssm.causal_conv1d' op result 'y' must have rank 3 (batch, seq, channels), got rank 2}}
  %0:2 = ssm.causal_conv1d %x, %weight : (tensor<2x16x32xf32>, tensor<32x4xf32>) -> (tensor<2x512xf32>, tensor<2x32x3xf32>)
  return
}

// -----

func.func @causal_conv1d_rank_final_state(%x: tensor<2x16x32xf32>, %weight: tensor<32x4xf32>) {
  // expected-error @+1 {{'ssm.causal_conv1d' op result 'final_state' must have rank 3 (batch, channels, kernel_minus_1), got rank 2}}
  %0:2 = ssm.causal_conv1d %x, %weight : (tensor<2x16x32xf32>, tensor<32x4xf32>) -> (tensor<2x16x32xf32>, tensor<2x32xf32>)
  return
}

// -----

func.func @causal_conv1d_static_x_channels(%x: tensor<2x16x?xf32>, %weight: tensor<32x4xf32>) {
  // expected-error @+1 {{'ssm.causal_conv1d' op operand 'x' dim 2 (channels) must be static}}
  %0:2 = ssm.causal_conv1d %x, %weight : (tensor<2x16x?xf32>, tensor<32x4xf32>) -> (tensor<2x16x32xf32>, tensor<2x32x3xf32>)
  return
}

// -----

func.func @causal_conv1d_static_weight_kernel(%x: tensor<2x16x32xf32>, %weight: tensor<32x?xf32>) {
  // expected-error @+1 {{'ssm.causal_conv1d' op operand 'weight' dim 1 (kernel) must be static}}
  %0:2 = ssm.causal_conv1d %x, %weight : (tensor<2x16x32xf32>, tensor<32x?xf32>) -> (tensor<2x16x32xf32>, tensor<2x32x3xf32>)
  return
}

// -----

func.func @causal_conv1d_static_initial_state_kernel_minus_1(%x: tensor<2x16x32xf32>, %weight: tensor<32x4xf32>, %initial_state: tensor<2x32x?xf32>) {
  // expected-error @+1 {{'ssm.causal_conv1d' op operand 'initial_state' dim 2 (kernel_minus_1) must be static}}
  %0:2 = ssm.causal_conv1d %x, %weight initial_state(%initial_state) : (tensor<2x16x32xf32>, tensor<32x4xf32>, tensor<2x32x?xf32>) -> (tensor<2x16x32xf32>, tensor<2x32x3xf32>)
  return
}

// -----

func.func @causal_conv1d_static_final_state_kernel_minus_1(%x: tensor<2x16x32xf32>, %weight: tensor<32x4xf32>) {
  // expected-error @+1 {{'ssm.causal_conv1d' op result 'final_state' dim 2 (kernel_minus_1) must be static}}
  %0:2 = ssm.causal_conv1d %x, %weight : (tensor<2x16x32xf32>, tensor<32x4xf32>) -> (tensor<2x16x32xf32>, tensor<2x32x?xf32>)
  return
}

// -----

func.func @causal_conv1d_channels_weight(%x: tensor<2x16x32xf32>, %weight: tensor<16x4xf32>) {
  // expected-error @+1 {{'ssm.causal_conv1d' op operand 'weight' dim 0 (channels) is 16, but operand 'x' dim 2 (channels) is 32}}
  %0:2 = ssm.causal_conv1d %x, %weight : (tensor<2x16x32xf32>, tensor<16x4xf32>) -> (tensor<2x16x32xf32>, tensor<2x32x3xf32>)
  return
}

// -----

func.func @causal_conv1d_channels_bias(%x: tensor<2x16x32xf32>, %weight: tensor<32x4xf32>, %bias: tensor<64xf32>) {
  // expected-error @+1 {{'ssm.causal_conv1d' op operand 'bias' dim 0 (channels) is 64, but operand 'x' dim 2 (channels) is 32}}
  %0:2 = ssm.causal_conv1d %x, %weight bias(%bias) : (tensor<2x16x32xf32>, tensor<32x4xf32>, tensor<64xf32>) -> (tensor<2x16x32xf32>, tensor<2x32x3xf32>)
  return
}

// -----

func.func @causal_conv1d_batch_initial_state(%x: tensor<2x16x32xf32>, %weight: tensor<32x4xf32>, %initial_state: tensor<1x32x3xf32>) {
  // expected-error @+1 {{'ssm.causal_conv1d' op operand 'initial_state' dim 0 (batch) is 1, but operand 'x' dim 0 (batch) is 2}}
  %0:2 = ssm.causal_conv1d %x, %weight initial_state(%initial_state) : (tensor<2x16x32xf32>, tensor<32x4xf32>, tensor<1x32x3xf32>) -> (tensor<2x16x32xf32>, tensor<2x32x3xf32>)
  return
}

// -----

func.func @causal_conv1d_channels_initial_state(%x: tensor<2x16x32xf32>, %weight: tensor<32x4xf32>, %initial_state: tensor<2x16x3xf32>) {
  // expected-error @+1 {{'ssm.causal_conv1d' op operand 'initial_state' dim 1 (channels) is 16, but operand 'x' dim 2 (channels) is 32}}
  %0:2 = ssm.causal_conv1d %x, %weight initial_state(%initial_state) : (tensor<2x16x32xf32>, tensor<32x4xf32>, tensor<2x16x3xf32>) -> (tensor<2x16x32xf32>, tensor<2x32x3xf32>)
  return
}

// -----

func.func @causal_conv1d_batch_y(%x: tensor<2x16x32xf32>, %weight: tensor<32x4xf32>) {
  // expected-error @+1 {{'ssm.causal_conv1d' op result 'y' dim 0 (batch) is 3, but operand 'x' dim 0 (batch) is 2}}
  %0:2 = ssm.causal_conv1d %x, %weight : (tensor<2x16x32xf32>, tensor<32x4xf32>) -> (tensor<3x16x32xf32>, tensor<2x32x3xf32>)
  return
}

// -----

func.func @causal_conv1d_seq_y(%x: tensor<2x16x32xf32>, %weight: tensor<32x4xf32>) {
  // expected-error @+1 {{'ssm.causal_conv1d' op result 'y' dim 1 (seq) is 8, but operand 'x' dim 1 (seq) is 16}}
  %0:2 = ssm.causal_conv1d %x, %weight : (tensor<2x16x32xf32>, tensor<32x4xf32>) -> (tensor<2x8x32xf32>, tensor<2x32x3xf32>)
  return
}

// -----

func.func @causal_conv1d_channels_y(%x: tensor<2x16x32xf32>, %weight: tensor<32x4xf32>) {
  // expected-error @+1 {{'ssm.causal_conv1d' op result 'y' dim 2 (channels) is 64, but operand 'x' dim 2 (channels) is 32}}
  %0:2 = ssm.causal_conv1d %x, %weight : (tensor<2x16x32xf32>, tensor<32x4xf32>) -> (tensor<2x16x64xf32>, tensor<2x32x3xf32>)
  return
}

// -----

func.func @causal_conv1d_batch_final_state(%x: tensor<2x16x32xf32>, %weight: tensor<32x4xf32>) {
  // expected-error @+1 {{'ssm.causal_conv1d' op result 'final_state' dim 0 (batch) is 1, but operand 'x' dim 0 (batch) is 2}}
  %0:2 = ssm.causal_conv1d %x, %weight : (tensor<2x16x32xf32>, tensor<32x4xf32>) -> (tensor<2x16x32xf32>, tensor<1x32x3xf32>)
  return
}

// -----

func.func @causal_conv1d_channels_final_state(%x: tensor<2x16x32xf32>, %weight: tensor<32x4xf32>) {
  // expected-error @+1 {{'ssm.causal_conv1d' op result 'final_state' dim 1 (channels) is 8, but operand 'x' dim 2 (channels) is 32}}
  %0:2 = ssm.causal_conv1d %x, %weight : (tensor<2x16x32xf32>, tensor<32x4xf32>) -> (tensor<2x16x32xf32>, tensor<2x8x3xf32>)
  return
}

// -----

func.func @causal_conv1d_kernel_minus_1_final_vs_initial(%x: tensor<2x16x32xf32>, %weight: tensor<32x4xf32>, %initial_state: tensor<2x32x3xf32>) {
  // expected-error @+1 {{'ssm.causal_conv1d' op result 'final_state' dim 2 (kernel_minus_1) is 2, but operand 'initial_state' dim 2 (kernel_minus_1) is 3}}
  %0:2 = ssm.causal_conv1d %x, %weight initial_state(%initial_state) : (tensor<2x16x32xf32>, tensor<32x4xf32>, tensor<2x32x3xf32>) -> (tensor<2x16x32xf32>, tensor<2x32x2xf32>)
  return
}

// -----

func.func @causal_conv1d_kernel_zero(%x: tensor<2x16x32xf32>, %weight: tensor<32x0xf32>) {
  // expected-error @+1 {{'ssm.causal_conv1d' op operand 'weight' dim 1 (kernel) must be at least 1}}
  %0:2 = ssm.causal_conv1d %x, %weight : (tensor<2x16x32xf32>, tensor<32x0xf32>) -> (tensor<2x16x32xf32>, tensor<2x32x0xf32>)
  return
}

// -----

func.func @causal_conv1d_final_state_not_kernel_minus_1(%x: tensor<2x16x32xf32>, %weight: tensor<32x4xf32>) {
  // expected-error @+1 {{'ssm.causal_conv1d' op result 'final_state' dim 2 is 4, but must be kernel - 1 = 3}}
  %0:2 = ssm.causal_conv1d %x, %weight : (tensor<2x16x32xf32>, tensor<32x4xf32>) -> (tensor<2x16x32xf32>, tensor<2x32x4xf32>)
  return
}

// -----

func.func @causal_conv1d_initial_state_not_kernel_minus_1(%x: tensor<2x16x32xf32>, %weight: tensor<32x4xf32>, %initial_state: tensor<2x32x2xf32>) {
  // expected-error @+1 {{'ssm.causal_conv1d' op operand 'initial_state' dim 2 is 2, but must be kernel - 1 = 3}}
  %0:2 = ssm.causal_conv1d %x, %weight initial_state(%initial_state) : (tensor<2x16x32xf32>, tensor<32x4xf32>, tensor<2x32x2xf32>) -> (tensor<2x16x32xf32>, tensor<2x32x2xf32>)
  return
}

// -----

func.func @causal_conv1d_y_element_type(%x: tensor<2x16x32xf32>, %weight: tensor<32x4xf32>) {
  // expected-error @+1 {{'ssm.causal_conv1d' op result 'y' element type 'bf16' must equal operand 'x' element type 'f32'}}
  %0:2 = ssm.causal_conv1d %x, %weight : (tensor<2x16x32xf32>, tensor<32x4xf32>) -> (tensor<2x16x32xbf16>, tensor<2x32x3xf32>)
  return
}

// -----

func.func @causal_conv1d_final_state_element_type(%x: tensor<2x16x32xf32>, %weight: tensor<32x4xf32>) {
  // expected-error @+1 {{'ssm.causal_conv1d' op result 'final_state' element type 'f16' must equal operand 'x' element type 'f32'}}
  %0:2 = ssm.causal_conv1d %x, %weight : (tensor<2x16x32xf32>, tensor<32x4xf32>) -> (tensor<2x16x32xf32>, tensor<2x32x3xf16>)
  return
}

// -----

func.func @causal_conv1d_initial_state_element_type(%x: tensor<2x16x32xf32>, %weight: tensor<32x4xf32>, %initial_state: tensor<2x32x3xf16>) {
  // expected-error @+1 {{'ssm.causal_conv1d' op operand 'initial_state' element type 'f16' must equal operand 'x' element type 'f32'}}
  %0:2 = ssm.causal_conv1d %x, %weight initial_state(%initial_state) : (tensor<2x16x32xf32>, tensor<32x4xf32>, tensor<2x32x3xf16>) -> (tensor<2x16x32xf32>, tensor<2x32x3xf32>)
  return
}

// -----

func.func @causal_conv1d_ods_x_i32(%x: tensor<2x16x32xi32>, %weight: tensor<32x4xf32>) {
  // expected-error @+1 {{'ssm.causal_conv1d' op operand #0 must be ranked tensor of 32-bit float or 16-bit float or bfloat16 type values, but got 'tensor<2x16x32xi32>'}}
  %0:2 = ssm.causal_conv1d %x, %weight : (tensor<2x16x32xi32>, tensor<32x4xf32>) -> (tensor<2x16x32xf32>, tensor<2x32x3xf32>)
  return
}

// -----

func.func @causal_conv1d_ods_silu_not_unit(%x: tensor<2x16x32xf32>, %weight: tensor<32x4xf32>) {
  // expected-error @+1 {{custom op 'ssm.causal_conv1d' 'ssm.causal_conv1d' op attribute 'silu' failed to satisfy constraint: unit attribute}}
  %0:2 = ssm.causal_conv1d %x, %weight {silu = 1 : i64} : (tensor<2x16x32xf32>, tensor<32x4xf32>) -> (tensor<2x16x32xf32>, tensor<2x32x3xf32>)
  return
}

// -----

func.func @rotary_rank_x(%x: tensor<2x16x128xf32>, %cos: tensor<1x16x8xf32>, %sin: tensor<1x16x8xf32>) {
  // expected-error @+1 {{'ssm.rotary' op operand 'x' must have rank 4 (batch, seq, heads, head_dim), got rank 3}}
  %0 = ssm.rotary %x, %cos, %sin : (tensor<2x16x128xf32>, tensor<1x16x8xf32>, tensor<1x16x8xf32>) -> tensor<2x16x128xf32>
  return
}

// -----

func.func @rotary_static_x_heads(%x: tensor<2x16x?x32xf32>, %cos: tensor<1x16x8xf32>, %sin: tensor<1x16x8xf32>) {
  // expected-error @+1 {{'ssm.rotary' op operand 'x' dim 2 (heads) must be static}}
  %0 = ssm.rotary %x, %cos, %sin : (tensor<2x16x?x32xf32>, tensor<1x16x8xf32>, tensor<1x16x8xf32>) -> tensor<2x16x?x32xf32>
  return
}

// -----

func.func @rotary_static_x_head_dim(%x: tensor<2x16x4x?xf32>, %cos: tensor<1x16x8xf32>, %sin: tensor<1x16x8xf32>) {
  // expected-error @+1 {{'ssm.rotary' op operand 'x' dim 3 (head_dim) must be static}}
  %0 = ssm.rotary %x, %cos, %sin : (tensor<2x16x4x?xf32>, tensor<1x16x8xf32>, tensor<1x16x8xf32>) -> tensor<2x16x4x?xf32>
  return
}

// -----

func.func @rotary_cos_sin_shape_mismatch(%x: tensor<2x16x4x32xf32>, %cos: tensor<1x16x8xf32>, %sin: tensor<1x16x4xf32>) {
  // expected-error @+1 {{'ssm.rotary' op operand 'sin' type 'tensor<1x16x4xf32>' must equal operand 'cos' type 'tensor<1x16x8xf32>'}}
  %0 = ssm.rotary %x, %cos, %sin : (tensor<2x16x4x32xf32>, tensor<1x16x8xf32>, tensor<1x16x4xf32>) -> tensor<2x16x4x32xf32>
  return
}

// -----

func.func @rotary_cos_sin_element_type_mismatch(%x: tensor<2x16x4x32xf32>, %cos: tensor<1x16x8xf32>, %sin: tensor<1x16x8xf16>) {
  // expected-error @+1 {{'ssm.rotary' op operand 'sin' type 'tensor<1x16x8xf16>' must equal operand 'cos' type 'tensor<1x16x8xf32>'}}
  %0 = ssm.rotary %x, %cos, %sin : (tensor<2x16x4x32xf32>, tensor<1x16x8xf32>, tensor<1x16x8xf16>) -> tensor<2x16x4x32xf32>
  return
}

// -----

func.func @rotary_rank_cos(%x: tensor<2x16x4x32xf32>, %cos: tensor<16x8xf32>, %sin: tensor<16x8xf32>) {
  // expected-error @+1 {{'ssm.rotary' op operand 'cos' must have rank 3 (batch or 1, seq, angles), got rank 2}}
  %0 = ssm.rotary %x, %cos, %sin : (tensor<2x16x4x32xf32>, tensor<16x8xf32>, tensor<16x8xf32>) -> tensor<2x16x4x32xf32>
  return
}

// -----

func.func @rotary_cos_batch_not_1_nor_batch(%x: tensor<2x16x4x32xf32>, %cos: tensor<3x16x8xf32>, %sin: tensor<3x16x8xf32>) {
  // expected-error @+1 {{'ssm.rotary' op operand 'cos' dim 0 is 3, but must be 1 or batch (2)}}
  %0 = ssm.rotary %x, %cos, %sin : (tensor<2x16x4x32xf32>, tensor<3x16x8xf32>, tensor<3x16x8xf32>) -> tensor<2x16x4x32xf32>
  return
}

// -----

func.func @rotary_seq_cos(%x: tensor<2x16x4x32xf32>, %cos: tensor<1x8x8xf32>, %sin: tensor<1x8x8xf32>) {
  // expected-error @+1 {{'ssm.rotary' op operand 'cos' dim 1 (seq) is 8, but operand 'x' dim 1 (seq) is 16}}
  %0 = ssm.rotary %x, %cos, %sin : (tensor<2x16x4x32xf32>, tensor<1x8x8xf32>, tensor<1x8x8xf32>) -> tensor<2x16x4x32xf32>
  return
}

// -----

func.func @rotary_static_cos_angles(%x: tensor<2x16x4x32xf32>, %cos: tensor<1x16x?xf32>, %sin: tensor<1x16x?xf32>) {
  // expected-error @+1 {{'ssm.rotary' op operand 'cos' dim 2 (angles) must be static}}
  %0 = ssm.rotary %x, %cos, %sin : (tensor<2x16x4x32xf32>, tensor<1x16x?xf32>, tensor<1x16x?xf32>) -> tensor<2x16x4x32xf32>
  return
}

// -----

func.func @rotary_twice_angles_exceed_head_dim(%x: tensor<2x16x4x32xf32>, %cos: tensor<2x16x17xf32>, %sin: tensor<2x16x17xf32>) {
  // expected-error @+1 {{'ssm.rotary' op operand 'cos' dim 2 (angles) is 17, but twice the angles must not exceed operand 'x' dim 3 (head_dim), 32}}
  %0 = ssm.rotary %x, %cos, %sin : (tensor<2x16x4x32xf32>, tensor<2x16x17xf32>, tensor<2x16x17xf32>) -> tensor<2x16x4x32xf32>
  return
}

// -----

func.func @rotary_ods_result_type(%x: tensor<2x16x4x32xf32>, %cos: tensor<1x16x8xf32>, %sin: tensor<1x16x8xf32>) {
  // expected-error @+1 {{'ssm.rotary' op failed to verify that all of {x, result} have same type}}
  %0 = ssm.rotary %x, %cos, %sin : (tensor<2x16x4x32xf32>, tensor<1x16x8xf32>, tensor<1x16x8xf32>) -> tensor<2x16x4x32xbf16>
  return
}

// -----

func.func @rotary_ods_x_i32(%x: tensor<2x16x4x32xi32>, %cos: tensor<1x16x8xf32>, %sin: tensor<1x16x8xf32>) {
  // expected-error @+1 {{'ssm.rotary' op operand #0 must be ranked tensor of 32-bit float or 16-bit float or bfloat16 type values, but got 'tensor<2x16x4x32xi32>'}}
  %0 = ssm.rotary %x, %cos, %sin : (tensor<2x16x4x32xi32>, tensor<1x16x8xf32>, tensor<1x16x8xf32>) -> tensor<2x16x4x32xi32>
  return
}

// -----

func.func @rotary_ods_pairing_i32(%x: tensor<2x16x4x32xf32>, %cos: tensor<1x16x8xf32>, %sin: tensor<1x16x8xf32>) {
  // expected-error @+1 {{custom op 'ssm.rotary' 'ssm.rotary' op attribute 'pairing' failed to satisfy constraint: How rotary embedding pairs the features it rotates}}
  %0 = ssm.rotary %x, %cos, %sin {pairing = 0 : i32} : (tensor<2x16x4x32xf32>, tensor<1x16x8xf32>, tensor<1x16x8xf32>) -> tensor<2x16x4x32xf32>
  return
}

// -----

func.func @rotary_parse_pairing_unknown(%x: tensor<2x16x4x32xf32>, %cos: tensor<1x16x8xf32>, %sin: tensor<1x16x8xf32>) {
  // expected-error @+2 {{expected ::mlir::ssm::RotaryPairing to be one of: interleaved, halves}}
  // expected-error @+1 {{failed to parse SSM_RotaryPairingAttr parameter 'value' which is to be a `::mlir::ssm::RotaryPairing`}}
  %0 = ssm.rotary %x, %cos, %sin {pairing = #ssm.rotary_pairing<diagonal>} : (tensor<2x16x4x32xf32>, tensor<1x16x8xf32>, tensor<1x16x8xf32>) -> tensor<2x16x4x32xf32>
  return
}

// -----

func.func @hybrid_merge_rank_ssm_out(%ssm_out: tensor<32x64xf32>, %attn_out: tensor<2x16x32xf32>, %weight: tensor<32x64xf32>) {
  // expected-error @+1 {{'ssm.hybrid_merge' op operand 'ssm_out' must have rank 3 (batch, seq, model_dim), got rank 2}}
  %0 = ssm.hybrid_merge %ssm_out, %attn_out, %weight : (tensor<32x64xf32>, tensor<2x16x32xf32>, tensor<32x64xf32>) -> tensor<2x16x64xf32>
  return
}

// -----

func.func @hybrid_merge_rank_attn_out(%ssm_out: tensor<2x16x64xf32>, %attn_out: tensor<2x16x2x16xf32>, %weight: tensor<32x64xf32>) {
  // expected-error @+1 {{'ssm.hybrid_merge' op operand 'attn_out' must have rank 3 (batch, seq, attn_dim), got rank 4}}
  %0 = ssm.hybrid_merge %ssm_out, %attn_out, %weight : (tensor<2x16x64xf32>, tensor<2x16x2x16xf32>, tensor<32x64xf32>) -> tensor<2x16x64xf32>
  return
}

// -----

func.func @hybrid_merge_rank_weight(%ssm_out: tensor<2x16x64xf32>, %attn_out: tensor<2x16x32xf32>, %weight: tensor<2048xf32>) {
  // expected-error @+1 {{'ssm.hybrid_merge' op operand 'weight' must have rank 2 (attn_dim, model_dim), got rank 1}}
  %0 = ssm.hybrid_merge %ssm_out, %attn_out, %weight : (tensor<2x16x64xf32>, tensor<2x16x32xf32>, tensor<2048xf32>) -> tensor<2x16x64xf32>
  return
}

// -----

func.func @hybrid_merge_rank_result(%ssm_out: tensor<2x16x64xf32>, %attn_out: tensor<2x16x32xf32>, %weight: tensor<32x64xf32>) {
  // expected-error @+1 {{'ssm.hybrid_merge' op result must have rank 3 (batch, seq, model_dim), got rank 2}}
  %0 = ssm.hybrid_merge %ssm_out, %attn_out, %weight : (tensor<2x16x64xf32>, tensor<2x16x32xf32>, tensor<32x64xf32>) -> tensor<2x1024xf32>
  return
}

// -----

func.func @hybrid_merge_static_model_dim(%ssm_out: tensor<2x16x?xf32>, %attn_out: tensor<2x16x32xf32>, %weight: tensor<32x64xf32>) {
  // expected-error @+1 {{'ssm.hybrid_merge' op operand 'ssm_out' dim 2 (model_dim) must be static}}
  %0 = ssm.hybrid_merge %ssm_out, %attn_out, %weight : (tensor<2x16x?xf32>, tensor<2x16x32xf32>, tensor<32x64xf32>) -> tensor<2x16x64xf32>
  return
}

// -----

func.func @hybrid_merge_static_attn_dim(%ssm_out: tensor<2x16x64xf32>, %attn_out: tensor<2x16x?xf32>, %weight: tensor<32x64xf32>) {
  // expected-error @+1 {{'ssm.hybrid_merge' op operand 'attn_out' dim 2 (attn_dim) must be static}}
  %0 = ssm.hybrid_merge %ssm_out, %attn_out, %weight : (tensor<2x16x64xf32>, tensor<2x16x?xf32>, tensor<32x64xf32>) -> tensor<2x16x64xf32>
  return
}

// -----

func.func @hybrid_merge_batch_attn_out(%ssm_out: tensor<2x16x64xf32>, %attn_out: tensor<1x16x32xf32>, %weight: tensor<32x64xf32>) {
  // expected-error @+1 {{'ssm.hybrid_merge' op operand 'attn_out' dim 0 (batch) is 1, but operand 'ssm_out' dim 0 (batch) is 2}}
  %0 = ssm.hybrid_merge %ssm_out, %attn_out, %weight : (tensor<2x16x64xf32>, tensor<1x16x32xf32>, tensor<32x64xf32>) -> tensor<2x16x64xf32>
  return
}

// -----

func.func @hybrid_merge_seq_attn_out(%ssm_out: tensor<2x16x64xf32>, %attn_out: tensor<2x8x32xf32>, %weight: tensor<32x64xf32>) {
  // expected-error @+1 {{'ssm.hybrid_merge' op operand 'attn_out' dim 1 (seq) is 8, but operand 'ssm_out' dim 1 (seq) is 16}}
  %0 = ssm.hybrid_merge %ssm_out, %attn_out, %weight : (tensor<2x16x64xf32>, tensor<2x8x32xf32>, tensor<32x64xf32>) -> tensor<2x16x64xf32>
  return
}

// -----

func.func @hybrid_merge_attn_dim_weight(%ssm_out: tensor<2x16x64xf32>, %attn_out: tensor<2x16x32xf32>, %weight: tensor<16x64xf32>) {
  // expected-error @+1 {{'ssm.hybrid_merge' op operand 'weight' dim 0 (attn_dim) is 16, but operand 'attn_out' dim 2 (attn_dim) is 32}}
  %0 = ssm.hybrid_merge %ssm_out, %attn_out, %weight : (tensor<2x16x64xf32>, tensor<2x16x32xf32>, tensor<16x64xf32>) -> tensor<2x16x64xf32>
  return
}

// -----

func.func @hybrid_merge_model_dim_weight(%ssm_out: tensor<2x16x64xf32>, %attn_out: tensor<2x16x32xf32>, %weight: tensor<32x32xf32>) {
  // expected-error @+1 {{'ssm.hybrid_merge' op operand 'weight' dim 1 (model_dim) is 32, but operand 'ssm_out' dim 2 (model_dim) is 64}}
  %0 = ssm.hybrid_merge %ssm_out, %attn_out, %weight : (tensor<2x16x64xf32>, tensor<2x16x32xf32>, tensor<32x32xf32>) -> tensor<2x16x64xf32>
  return
}

// -----

func.func @hybrid_merge_model_dim_result(%ssm_out: tensor<2x16x64xf32>, %attn_out: tensor<2x16x32xf32>, %weight: tensor<32x64xf32>) {
  // expected-error @+1 {{'ssm.hybrid_merge' op result dim 2 (model_dim) is 32, but operand 'ssm_out' dim 2 (model_dim) is 64}}
  %0 = ssm.hybrid_merge %ssm_out, %attn_out, %weight : (tensor<2x16x64xf32>, tensor<2x16x32xf32>, tensor<32x64xf32>) -> tensor<2x16x32xf32>
  return
}

// -----

func.func @hybrid_merge_seq_result(%ssm_out: tensor<2x16x64xf32>, %attn_out: tensor<2x16x32xf32>, %weight: tensor<32x64xf32>) {
  // expected-error @+1 {{'ssm.hybrid_merge' op result dim 1 (seq) is 4, but operand 'ssm_out' dim 1 (seq) is 16}}
  %0 = ssm.hybrid_merge %ssm_out, %attn_out, %weight : (tensor<2x16x64xf32>, tensor<2x16x32xf32>, tensor<32x64xf32>) -> tensor<2x4x64xf32>
  return
}

// -----

func.func @hybrid_merge_result_element_type(%ssm_out: tensor<2x16x64xf32>, %attn_out: tensor<2x16x32xf32>, %weight: tensor<32x64xf32>) {
  // expected-error @+1 {{'ssm.hybrid_merge' op result element type 'f16' must equal operand 'ssm_out' element type 'f32'}}
  %0 = ssm.hybrid_merge %ssm_out, %attn_out, %weight : (tensor<2x16x64xf32>, tensor<2x16x32xf32>, tensor<32x64xf32>) -> tensor<2x16x64xf16>
  return
}

// -----

func.func @hybrid_merge_eps_zero(%ssm_out: tensor<2x16x64xf32>, %attn_out: tensor<2x16x32xf32>, %weight: tensor<32x64xf32>) {
  // expected-error @+1 {{'ssm.hybrid_merge' op attribute 'eps' must be finite and positive, got 0.000000e+00}}
  %0 = ssm.hybrid_merge %ssm_out, %attn_out, %weight {eps = 0.0 : f32} : (tensor<2x16x64xf32>, tensor<2x16x32xf32>, tensor<32x64xf32>) -> tensor<2x16x64xf32>
  return
}

// -----

func.func @hybrid_merge_eps_negative(%ssm_out: tensor<2x16x64xf32>, %attn_out: tensor<2x16x32xf32>, %weight: tensor<32x64xf32>) {
  // expected-error @+1 {{'ssm.hybrid_merge' op attribute 'eps' must be finite and positive, got -1.000000e-05}}
  %0 = ssm.hybrid_merge %ssm_out, %attn_out, %weight {eps = -1.0e-05 : f32} : (tensor<2x16x64xf32>, tensor<2x16x32xf32>, tensor<32x64xf32>) -> tensor<2x16x64xf32>
  return
}

// -----

func.func @hybrid_merge_eps_nan(%ssm_out: tensor<2x16x64xf32>, %attn_out: tensor<2x16x32xf32>, %weight: tensor<32x64xf32>) {
  // expected-error @+1 {{'ssm.hybrid_merge' op attribute 'eps' must be finite and positive, got nan}}
  %0 = ssm.hybrid_merge %ssm_out, %attn_out, %weight {eps = 0x7FC00000 : f32} : (tensor<2x16x64xf32>, tensor<2x16x32xf32>, tensor<32x64xf32>) -> tensor<2x16x64xf32>
  return
}

// -----

func.func @hybrid_merge_ods_weight_i32(%ssm_out: tensor<2x16x64xf32>, %attn_out: tensor<2x16x32xf32>, %weight: tensor<32x64xi32>) {
  // expected-error @+1 {{'ssm.hybrid_merge' op operand #2 must be ranked tensor of 32-bit float or 16-bit float or bfloat16 type values, but got 'tensor<32x64xi32>'}}
  %0 = ssm.hybrid_merge %ssm_out, %attn_out, %weight : (tensor<2x16x64xf32>, tensor<2x16x32xf32>, tensor<32x64xi32>) -> tensor<2x16x64xf32>
  return
}

// -----

func.func @attention_generic_two_masks(%q: tensor<2x16x8x64xf32>) {
  // expected-error @+1 {{'ssm.attention' op operand group starting at #3 requires 0 or 1 element, but found 2}}
  %0 = "ssm.attention"(%q, %q, %q, %q, %q) : (tensor<2x16x8x64xf32>, tensor<2x16x8x64xf32>, tensor<2x16x8x64xf32>, tensor<2x16x8x64xf32>, tensor<2x16x8x64xf32>) -> tensor<2x16x8x64xf32>
  return
}

// -----

func.func @attention_generic_two_operands(%q: tensor<2x16x8x64xf32>) {
  // expected-error @+1 {{'ssm.attention' op expected 3 or more operands, but found 2}}
  %0 = "ssm.attention"(%q, %q) : (tensor<2x16x8x64xf32>, tensor<2x16x8x64xf32>) -> tensor<2x16x8x64xf32>
  return
}

// -----

func.func @ssd_generic_missing_segment_sizes(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.ssd' op operand count (5) does not match with the total size (0) specified in attribute 'operandSegmentSizes'}}
  %0:2 = "ssm.ssd"(%x, %dt, %A, %B, %B) : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_generic_two_D(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.ssd' op operand group starting at #5 requires 0 or 1 element, but found 2}}
  %0:2 = "ssm.ssd"(%x, %dt, %A, %B, %B, %A, %A) <{operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 2, 0, 0, 0>}> : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @ssd_generic_one_result(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.ssd' op expected 2 results}}
  %0 = "ssm.ssd"(%x, %dt, %A, %B, %B) <{operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0, 0, 0>}> : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>) -> tensor<2x16x4x8xf32>
  return
}

// -----

func.func @ssd_generic_empty_dt_limit(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %A: tensor<4xf32>, %B: tensor<2x16x2x16xf32>) {
  // expected-error @+1 {{'ssm.ssd' op attribute 'dt_limit' must hold two finite values lo <= hi}}
  %0:2 = "ssm.ssd"(%x, %dt, %A, %B, %B) <{dt_limit = array<f32>, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0, 0, 0>}> : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<4xf32>, tensor<2x16x2x16xf32>, tensor<2x16x2x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>)
  return
}

// -----

func.func @mamba3_generic_four_results(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %th: tensor<2x16x4x4xf32>, %B: tensor<2x16x1x1x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op expected 5 results}}
  %0:4 = "ssm.mamba3"(%x, %dt, %dt, %dt, %th, %B, %B) <{operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0>}> : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4xf32>, tensor<2x16x1x1x16xf32>, tensor<2x16x1x1x16xf32>) -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x1x4x16xf32>)
  return
}

// -----

func.func @causal_conv1d_generic_missing_segment_sizes(%x: tensor<2x16x32xf32>, %w: tensor<32x4xf32>) {
  // expected-error @+1 {{'ssm.causal_conv1d' op operand count (2) does not match with the total size (0) specified in attribute 'operandSegmentSizes'}}
  %0:2 = "ssm.causal_conv1d"(%x, %w) : (tensor<2x16x32xf32>, tensor<32x4xf32>) -> (tensor<2x16x32xf32>, tensor<2x32x3xf32>)
  return
}

// -----

func.func @hybrid_merge_generic_eps_f64(%s: tensor<2x16x64xf32>, %a: tensor<2x16x32xf32>, %w: tensor<32x64xf32>) {
  // expected-error @+1 {{'ssm.hybrid_merge' op attribute 'eps' failed to satisfy constraint: 32-bit float attribute}}
  %0 = "ssm.hybrid_merge"(%s, %a, %w) <{eps = 1.0e-05 : f64}> : (tensor<2x16x64xf32>, tensor<2x16x32xf32>, tensor<32x64xf32>) -> tensor<2x16x64xf32>
  return
}

// -----

// Regression: 2 * angles must not overflow in the check.
func.func @rotary_angles_overflow(%x: tensor<2x16x4x32xf32>, %c: tensor<1x16x4611686018427387904xf32>) -> tensor<2x16x4x32xf32> {
  // expected-error @+1 {{'ssm.rotary' op operand 'cos' dim 2 (angles) is 4611686018427387904, but twice the angles must not exceed operand 'x' dim 3 (head_dim), 32}}
  %y = ssm.rotary %x, %c, %c : (tensor<2x16x4x32xf32>, tensor<1x16x4611686018427387904xf32>, tensor<1x16x4611686018427387904xf32>) -> tensor<2x16x4x32xf32>
  return %y : tensor<2x16x4x32xf32>
}

// -----

func.func @mamba3_angles_overflow(%x: tensor<2x16x4x8xf32>, %dt: tensor<2x16x4xf32>, %th: tensor<2x16x4x4611686018427387904xf32>, %B: tensor<2x16x1x1x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'theta' dim 3 (angles) is 4611686018427387904, but twice the angles must not exceed operand 'B' dim 4 (state), 16}}
  %y, %h, %a, %k, %xl = ssm.mamba3 %x, %dt, %dt, %dt, %th, %B, %B
      : (tensor<2x16x4x8xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4xf32>, tensor<2x16x4x4611686018427387904xf32>, tensor<2x16x1x1x16xf32>, tensor<2x16x1x1x16xf32>)
      -> (tensor<2x16x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4611686018427387904xf32>, tensor<2x1x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

// Regression: an empty sequence is rejected whichever operand shows it.
func.func @mamba3_seq_zero_not_in_x(%x: tensor<2x?x4x8xf32>, %dt: tensor<2x0x4xf32>, %th: tensor<2x0x4x4xf32>, %B: tensor<2x0x1x1x16xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'dt' dim 1 (seq) must be at least 1: the final state needs a last token}}
  %y, %h, %a, %k, %xl = ssm.mamba3 %x, %dt, %dt, %dt, %th, %B, %B
      : (tensor<2x?x4x8xf32>, tensor<2x0x4xf32>, tensor<2x0x4xf32>, tensor<2x0x4xf32>, tensor<2x0x4x4xf32>, tensor<2x0x1x1x16xf32>, tensor<2x0x1x1x16xf32>)
      -> (tensor<2x?x4x8xf32>, tensor<2x4x8x16xf32>, tensor<2x4x4xf32>, tensor<2x1x4x16xf32>, tensor<2x4x8xf32>)
  return
}

// -----

func.func @rms_norm_no_features(%x: tensor<2x0xf32>, %w: tensor<0xf32>) -> tensor<2x0xf32> {
  // expected-error @+1 {{'ssm.rms_norm' op operand 'x' dim 1 (features) must be at least 1}}
  %y = ssm.rms_norm %x, %w : (tensor<2x0xf32>, tensor<0xf32>) -> tensor<2x0xf32>
  return %y : tensor<2x0xf32>
}

// -----

func.func @ssd_no_heads(%x: tensor<1x3x0x2xf32>, %dt: tensor<1x3x0xf32>, %A: tensor<0xf32>, %B: tensor<1x3x1x4xf32>) {
  // expected-error @+1 {{'ssm.ssd' op operand 'x' dim 2 (heads) must be at least 1}}
  %y, %h = ssm.ssd %x, %dt, %A, %B, %B : (tensor<1x3x0x2xf32>, tensor<1x3x0xf32>, tensor<0xf32>, tensor<1x3x1x4xf32>, tensor<1x3x1x4xf32>) -> (tensor<1x3x0x2xf32>, tensor<1x0x2x4xf32>)
  return
}

// -----

func.func @attention_no_heads(%q: tensor<1x3x0x4xf32>, %k: tensor<1x3x1x4xf32>) {
  // expected-error @+1 {{'ssm.attention' op operand 'query' dim 2 (heads) must be at least 1}}
  %y = ssm.attention %q, %k, %k : (tensor<1x3x0x4xf32>, tensor<1x3x1x4xf32>, tensor<1x3x1x4xf32>) -> tensor<1x3x0x4xf32>
  return
}

// -----

func.func @attention_no_head_dim(%q: tensor<1x3x2x0xf32>, %k: tensor<1x3x1x0xf32>, %v: tensor<1x3x1x4xf32>) {
  // expected-error @+1 {{'ssm.attention' op operand 'query' dim 3 (head_dim) must be at least 1}}
  %y = ssm.attention %q, %k, %v : (tensor<1x3x2x0xf32>, tensor<1x3x1x0xf32>, tensor<1x3x1x4xf32>) -> tensor<1x3x2x4xf32>
  return
}

// -----

func.func @mamba3_no_heads(%x: tensor<1x3x0x2xf32>, %dt: tensor<1x3x0xf32>, %th: tensor<1x3x0x1xf32>, %B: tensor<1x3x1x1x4xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'x' dim 2 (heads) must be at least 1}}
  %y, %h, %a, %k, %xl = ssm.mamba3 %x, %dt, %dt, %dt, %th, %B, %B
      : (tensor<1x3x0x2xf32>, tensor<1x3x0xf32>, tensor<1x3x0xf32>, tensor<1x3x0xf32>, tensor<1x3x0x1xf32>, tensor<1x3x1x1x4xf32>, tensor<1x3x1x1x4xf32>)
      -> (tensor<1x3x0x2xf32>, tensor<1x0x2x4xf32>, tensor<1x0x1xf32>, tensor<1x1x0x4xf32>, tensor<1x0x2xf32>)
  return
}

// -----

func.func @mamba3_seq_rank_overflow(%x: tensor<1x4611686018427387904x2x2xf32>, %dt: tensor<1x4611686018427387904x2xf32>, %th: tensor<1x4611686018427387904x2x1xf32>, %B: tensor<1x4611686018427387904x4x1x4xf32>) {
  // expected-error @+1 {{'ssm.mamba3' op operand 'x' dim 1 (seq) is 4611686018427387904: seq * rank overflows}}
  %y, %h, %a, %k, %xl = ssm.mamba3 %x, %dt, %dt, %dt, %th, %B, %B
      : (tensor<1x4611686018427387904x2x2xf32>, tensor<1x4611686018427387904x2xf32>, tensor<1x4611686018427387904x2xf32>, tensor<1x4611686018427387904x2xf32>, tensor<1x4611686018427387904x2x1xf32>, tensor<1x4611686018427387904x4x1x4xf32>, tensor<1x4611686018427387904x4x1x4xf32>)
      -> (tensor<1x4611686018427387904x2x2xf32>, tensor<1x2x2x4xf32>, tensor<1x2x1xf32>, tensor<1x4x2x4xf32>, tensor<1x2x2xf32>)
  return
}

// -----

func.func @linear_attention_missing_decay(%q: tensor<1x5x2x4xf32>, %k: tensor<1x5x2x4xf32>, %v: tensor<1x5x2x3xf32>) {
  // expected-error @+1 {{'ssm.linear_attention' op update rule 'gated' requires operand 'decay'}}
  %0:2 = ssm.linear_attention %q, %k, %v {update_rule = #ssm.linear_attention_rule<gated>} : (tensor<1x5x2x4xf32>, tensor<1x5x2x4xf32>, tensor<1x5x2x3xf32>) -> (tensor<1x5x2x3xf32>, tensor<1x2x4x3xf32>)
  return
}

// -----

func.func @linear_attention_extra_decay(%q: tensor<1x5x2x4xf32>, %k: tensor<1x5x2x4xf32>, %v: tensor<1x5x2x3xf32>, %g: tensor<1x5x2xf32>) {
  // expected-error @+1 {{'ssm.linear_attention' op update rule 'linear' does not take operand 'decay'}}
  %0:2 = ssm.linear_attention %q, %k, %v decay(%g) {update_rule = #ssm.linear_attention_rule<linear>} : (tensor<1x5x2x4xf32>, tensor<1x5x2x4xf32>, tensor<1x5x2x3xf32>, tensor<1x5x2xf32>) -> (tensor<1x5x2x3xf32>, tensor<1x2x4x3xf32>)
  return
}

// -----

func.func @linear_attention_missing_beta(%q: tensor<1x5x2x4xf32>, %k: tensor<1x5x2x4xf32>, %v: tensor<1x5x2x3xf32>) {
  // expected-error @+1 {{'ssm.linear_attention' op update rule 'delta' requires operand 'beta'}}
  %0:2 = ssm.linear_attention %q, %k, %v {update_rule = #ssm.linear_attention_rule<delta>} : (tensor<1x5x2x4xf32>, tensor<1x5x2x4xf32>, tensor<1x5x2x3xf32>) -> (tensor<1x5x2x3xf32>, tensor<1x2x4x3xf32>)
  return
}

// -----

func.func @linear_attention_extra_beta(%q: tensor<1x5x2x4xf32>, %k: tensor<1x5x2x4xf32>, %v: tensor<1x5x2x3xf32>, %g: tensor<1x5x2xf32>, %b: tensor<1x5x2xf32>) {
  // expected-error @+1 {{'ssm.linear_attention' op update rule 'gated' does not take operand 'beta'}}
  %0:2 = ssm.linear_attention %q, %k, %v decay(%g) beta(%b) {update_rule = #ssm.linear_attention_rule<gated>} : (tensor<1x5x2x4xf32>, tensor<1x5x2x4xf32>, tensor<1x5x2x3xf32>, tensor<1x5x2xf32>, tensor<1x5x2xf32>) -> (tensor<1x5x2x3xf32>, tensor<1x2x4x3xf32>)
  return
}

// -----

func.func @linear_attention_heads(%q: tensor<1x5x3x4xf32>, %k: tensor<1x5x2x4xf32>, %v: tensor<1x5x2x3xf32>) {
  // expected-error @+1 {{'ssm.linear_attention' op operand 'key' dim 2 (kv_heads) is 2, which does not divide operand 'query' dim 2 (heads), 3}}
  %0:2 = ssm.linear_attention %q, %k, %v {update_rule = #ssm.linear_attention_rule<linear>} : (tensor<1x5x3x4xf32>, tensor<1x5x2x4xf32>, tensor<1x5x2x3xf32>) -> (tensor<1x5x3x3xf32>, tensor<1x2x4x3xf32>)
  return
}

// -----

func.func @linear_attention_decay_rank(%q: tensor<1x5x2x4xf32>, %k: tensor<1x5x2x4xf32>, %v: tensor<1x5x2x3xf32>, %g: tensor<1x5xf32>) {
  // expected-error @+1 {{'ssm.linear_attention' op operand 'decay' must have rank 3 (batch, seq, kv_heads) or 4 (batch, seq, kv_heads, head_dim), got rank 2}}
  %0:2 = ssm.linear_attention %q, %k, %v decay(%g) {update_rule = #ssm.linear_attention_rule<gated>} : (tensor<1x5x2x4xf32>, tensor<1x5x2x4xf32>, tensor<1x5x2x3xf32>, tensor<1x5xf32>) -> (tensor<1x5x2x3xf32>, tensor<1x2x4x3xf32>)
  return
}

// -----

func.func @linear_attention_decay_key_dim(%q: tensor<1x5x2x4xf32>, %k: tensor<1x5x2x4xf32>, %v: tensor<1x5x2x3xf32>, %g: tensor<1x5x2x3xf32>) {
  // expected-error @+1 {{'ssm.linear_attention' op operand 'decay' dim 3 (head_dim) is 3, but operand 'query' dim 3 (head_dim) is 4}}
  %0:2 = ssm.linear_attention %q, %k, %v decay(%g) {update_rule = #ssm.linear_attention_rule<gated>} : (tensor<1x5x2x4xf32>, tensor<1x5x2x4xf32>, tensor<1x5x2x3xf32>, tensor<1x5x2x3xf32>) -> (tensor<1x5x2x3xf32>, tensor<1x2x4x3xf32>)
  return
}

// -----

func.func @linear_attention_state(%q: tensor<1x5x2x4xf32>, %k: tensor<1x5x2x4xf32>, %v: tensor<1x5x2x3xf32>, %s0: tensor<1x2x3x4xf32>) {
  // expected-error @+1 {{'ssm.linear_attention' op operand 'initial_state' dim 2 (head_dim) is 3, but operand 'query' dim 3 (head_dim) is 4}}
  %0:2 = ssm.linear_attention %q, %k, %v initial_state(%s0) {update_rule = #ssm.linear_attention_rule<linear>} : (tensor<1x5x2x4xf32>, tensor<1x5x2x4xf32>, tensor<1x5x2x3xf32>, tensor<1x2x3x4xf32>) -> (tensor<1x5x2x3xf32>, tensor<1x2x4x3xf32>)
  return
}

// -----

func.func @linear_attention_value_seq(%q: tensor<1x5x2x4xf32>, %k: tensor<1x5x2x4xf32>, %v: tensor<1x6x2x3xf32>) {
  // expected-error @+1 {{'ssm.linear_attention' op operand 'value' dim 1 (seq) is 6, but operand 'query' dim 1 (seq) is 5}}
  %0:2 = ssm.linear_attention %q, %k, %v {update_rule = #ssm.linear_attention_rule<linear>} : (tensor<1x5x2x4xf32>, tensor<1x5x2x4xf32>, tensor<1x6x2x3xf32>) -> (tensor<1x5x2x3xf32>, tensor<1x2x4x3xf32>)
  return
}

// -----

func.func @linear_attention_scale(%q: tensor<1x5x2x4xf32>, %k: tensor<1x5x2x4xf32>, %v: tensor<1x5x2x3xf32>) {
  // expected-error @+1 {{'ssm.linear_attention' op attribute 'scale' must be finite and non-zero, got 0}}
  %0:2 = ssm.linear_attention %q, %k, %v {update_rule = #ssm.linear_attention_rule<linear>, scale = 0.0 : f32} : (tensor<1x5x2x4xf32>, tensor<1x5x2x4xf32>, tensor<1x5x2x3xf32>) -> (tensor<1x5x2x3xf32>, tensor<1x2x4x3xf32>)
  return
}

// -----

func.func @linear_attention_result_type(%q: tensor<1x5x2x4xf32>, %k: tensor<1x5x2x4xf32>, %v: tensor<1x5x2x3xf32>) {
  // expected-error @+1 {{'ssm.linear_attention' op result 'y' element type 'f16' must equal operand 'query' element type 'f32'}}
  %0:2 = ssm.linear_attention %q, %k, %v {update_rule = #ssm.linear_attention_rule<linear>} : (tensor<1x5x2x4xf32>, tensor<1x5x2x4xf32>, tensor<1x5x2x3xf32>) -> (tensor<1x5x2x3xf16>, tensor<1x2x4x3xf32>)
  return
}

// -----

func.func @token_positions_rank(%ids: tensor<?xi64>) {
  // expected-error @+1 {{'ssm.token_positions' op operand 'tokens' must have rank at least 2 (batch, seq, ...), got rank 1}}
  %p = ssm.token_positions %ids : (tensor<?xi64>) -> tensor<?xi64>
  return
}

// -----

func.func @token_positions_result_rank(%ids: tensor<?x?xi64>) {
  // expected-error @+1 {{'ssm.token_positions' op result must have rank 1, got rank 2}}
  %p = ssm.token_positions %ids : (tensor<?x?xi64>) -> tensor<1x?xi64>
  return
}

// -----

func.func @token_positions_size(%ids: tensor<2x5xi64>) {
  // expected-error @+1 {{'ssm.token_positions' op result size 4 must equal operand 'tokens' dim 1 (seq), 5}}
  %p = ssm.token_positions %ids : (tensor<2x5xi64>) -> tensor<4xi64>
  return
}

// -----

func.func @token_positions_offset(%ids: tensor<2x5xi64>, %off: tensor<2xi64>) {
  // expected-error @+1 {{'ssm.token_positions' op operand 'offset' must be tensor<1xi64>, got 'tensor<2xi64>'}}
  %p = ssm.token_positions %ids offset(%off) : (tensor<2x5xi64>, tensor<2xi64>) -> tensor<5xi64>
  return
}

// -----

func.func @stop_gradient_type(%x: tensor<4xf32>) {
  // expected-error @+1 {{'ssm.stop_gradient' op failed to verify that all of {input, result} have same type}}
  %y = "ssm.stop_gradient"(%x) : (tensor<4xf32>) -> tensor<4xf16>
  return
}

// -----

// ssm.fused_attention: tensors and memrefs mixed, result count and type,
// shapes (shared with ssm.attention's names), the mask, attributes.

func.func @fused_attention_mixed(%q: tensor<1x4x2x8xf32>, %k: tensor<1x4x2x8xf32>, %v: tensor<1x4x2x8xf32>, %init: memref<1x4x2x8xf32>) {
  // expected-error @+1 {{'ssm.fused_attention' op operands must be all tensors or all memrefs; operand 0 is 'tensor<1x4x2x8xf32>' but 'init' is 'memref<1x4x2x8xf32>'}}
  ssm.fused_attention %q, %k, %v outs(%init : memref<1x4x2x8xf32>) {scale = 1.0 : f32} : tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>
  return
}

// -----

func.func @fused_attention_no_result(%q: tensor<1x4x2x8xf32>, %k: tensor<1x4x2x8xf32>, %v: tensor<1x4x2x8xf32>, %init: tensor<1x4x2x8xf32>) {
  // expected-error @+1 {{'ssm.fused_attention' op must have one result on tensors, got 0}}
  ssm.fused_attention %q, %k, %v outs(%init : tensor<1x4x2x8xf32>) {scale = 1.0 : f32} : tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>
  return
}

// -----

func.func @fused_attention_memref_result(%q: memref<1x4x2x8xf32>, %k: memref<1x4x2x8xf32>, %v: memref<1x4x2x8xf32>, %init: memref<1x4x2x8xf32>) {
  // expected-error @+1 {{'ssm.fused_attention' op must have no result on memrefs, got 1}}
  %0 = ssm.fused_attention %q, %k, %v outs(%init : memref<1x4x2x8xf32>) {scale = 1.0 : f32} : memref<1x4x2x8xf32>, memref<1x4x2x8xf32>, memref<1x4x2x8xf32> -> tensor<1x4x2x8xf32>
  return
}

// -----

func.func @fused_attention_result_type(%q: tensor<1x4x2x8xf32>, %k: tensor<1x4x2x8xf32>, %v: tensor<1x4x2x8xf32>, %init: tensor<1x4x2x8xf32>) {
  // expected-error @+1 {{'ssm.fused_attention' op result type 'tensor<?x4x2x8xf32>' must equal operand 'init' type 'tensor<1x4x2x8xf32>'}}
  %0 = ssm.fused_attention %q, %k, %v outs(%init : tensor<1x4x2x8xf32>) {scale = 1.0 : f32} : tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32> -> tensor<?x4x2x8xf32>
  return
}

// -----

func.func @fused_attention_init_shape(%q: memref<1x4x2x8xf32>, %k: memref<1x4x2x8xf32>, %v: memref<1x4x2x8xf32>, %init: memref<1x4x2x6xf32>) {
  // expected-error @+1 {{'ssm.fused_attention' op operand 'init' dim 3 (value_dim) is 6, but operand 'value' dim 3 (value_dim) is 8}}
  ssm.fused_attention %q, %k, %v outs(%init : memref<1x4x2x6xf32>) {scale = 1.0 : f32} : memref<1x4x2x8xf32>, memref<1x4x2x8xf32>, memref<1x4x2x8xf32>
  return
}

// -----

func.func @fused_attention_heads(%q: memref<1x4x3x8xf32>, %k: memref<1x4x2x8xf32>, %v: memref<1x4x2x8xf32>, %init: memref<1x4x3x8xf32>) {
  // expected-error @+1 {{'ssm.fused_attention' op operand 'key' dim 2 (kv_heads) is 2, which does not divide operand 'query' dim 2 (heads), 3}}
  ssm.fused_attention %q, %k, %v outs(%init : memref<1x4x3x8xf32>) {scale = 1.0 : f32} : memref<1x4x3x8xf32>, memref<1x4x2x8xf32>, memref<1x4x2x8xf32>
  return
}

// -----

func.func @fused_attention_dynamic_head_dim(%q: memref<1x4x2x?xf32>, %k: memref<1x4x2x8xf32>, %v: memref<1x4x2x8xf32>, %init: memref<1x4x2x8xf32>) {
  // expected-error @+1 {{'ssm.fused_attention' op operand 'query' dim 3 (head_dim) must be static}}
  ssm.fused_attention %q, %k, %v outs(%init : memref<1x4x2x8xf32>) {scale = 1.0 : f32} : memref<1x4x2x?xf32>, memref<1x4x2x8xf32>, memref<1x4x2x8xf32>
  return
}

// -----

func.func @fused_attention_mask(%q: memref<2x4x2x8xf32>, %k: memref<2x5x2x8xf32>, %v: memref<2x5x2x8xf32>, %m: memref<3x1x4x5xf32>, %init: memref<2x4x2x8xf32>) {
  // expected-error @+1 {{'ssm.fused_attention' op operand 'mask' dim 0 is 3, but must be 1 or batch (2)}}
  ssm.fused_attention %q, %k, %v mask(%m : memref<3x1x4x5xf32>) outs(%init : memref<2x4x2x8xf32>) {scale = 1.0 : f32} : memref<2x4x2x8xf32>, memref<2x5x2x8xf32>, memref<2x5x2x8xf32>
  return
}

// -----

func.func @fused_attention_mask_keys(%q: memref<2x4x2x8xf32>, %k: memref<2x5x2x8xf32>, %v: memref<2x5x2x8xf32>, %m: memref<1x1x4x6xf32>, %init: memref<2x4x2x8xf32>) {
  // expected-error @+1 {{'ssm.fused_attention' op operand 'mask' dim 3 (kv_seq) is 6, but operand 'key' dim 1 (kv_seq) is 5}}
  ssm.fused_attention %q, %k, %v mask(%m : memref<1x1x4x6xf32>) outs(%init : memref<2x4x2x8xf32>) {scale = 1.0 : f32} : memref<2x4x2x8xf32>, memref<2x5x2x8xf32>, memref<2x5x2x8xf32>
  return
}

// -----

func.func @fused_attention_scale(%q: memref<1x4x2x8xf32>, %k: memref<1x4x2x8xf32>, %v: memref<1x4x2x8xf32>, %init: memref<1x4x2x8xf32>) {
  // expected-error @+1 {{'ssm.fused_attention' op attribute 'scale' must be finite and positive, got 0}}
  ssm.fused_attention %q, %k, %v outs(%init : memref<1x4x2x8xf32>) {scale = 0.0 : f32} : memref<1x4x2x8xf32>, memref<1x4x2x8xf32>, memref<1x4x2x8xf32>
  return
}

// -----

func.func @fused_attention_softcap(%q: memref<1x4x2x8xf32>, %k: memref<1x4x2x8xf32>, %v: memref<1x4x2x8xf32>, %init: memref<1x4x2x8xf32>) {
  // expected-error @+1 {{'ssm.fused_attention' op attribute 'softcap' must be finite and positive, got -1}}
  ssm.fused_attention %q, %k, %v outs(%init : memref<1x4x2x8xf32>) {scale = 1.0 : f32, softcap = -1.0 : f32} : memref<1x4x2x8xf32>, memref<1x4x2x8xf32>, memref<1x4x2x8xf32>
  return
}

// -----

func.func @fused_attention_window(%q: memref<1x4x2x8xf32>, %k: memref<1x4x2x8xf32>, %v: memref<1x4x2x8xf32>, %init: memref<1x4x2x8xf32>) {
  // expected-error @+1 {{'ssm.fused_attention' op attribute 'window' must be positive, got 0}}
  ssm.fused_attention %q, %k, %v outs(%init : memref<1x4x2x8xf32>) {causal, scale = 1.0 : f32, window = 0 : i64} : memref<1x4x2x8xf32>, memref<1x4x2x8xf32>, memref<1x4x2x8xf32>
  return
}

// -----

func.func @fused_attention_f16(%q: memref<1x4x2x8xf16>, %k: memref<1x4x2x8xf32>, %v: memref<1x4x2x8xf32>, %init: memref<1x4x2x8xf32>) {
  // expected-error @+1 {{'ssm.fused_attention' op operand #0 must be ranked tensor or memref of f32}}
  ssm.fused_attention %q, %k, %v outs(%init : memref<1x4x2x8xf32>) {scale = 1.0 : f32} : memref<1x4x2x8xf16>, memref<1x4x2x8xf32>, memref<1x4x2x8xf32>
  return
}

// -----

// ssm.fused_ssd: tensors and memrefs mixed, result count and types, shapes
// (x, log_decay, B, C, the optional operands and the inits by name), D's
// rank, groups dividing heads.

// -----

func.func @fused_ssd_mixed(%x: tensor<1x4x2x8xf32>, %g: memref<1x4x2xf32>, %B: memref<1x4x1x16xf32>, %C: memref<1x4x1x16xf32>, %yi: memref<1x4x2x8xf32>, %si: memref<1x2x8x16xf32>) {
  // expected-error @+1 {{'ssm.fused_ssd' op operands must be all tensors or all memrefs; operand 0 is 'tensor<1x4x2x8xf32>' but 'y_init' is 'memref<1x4x2x8xf32>'}}
  ssm.fused_ssd %x, %g, %B, %C outs(%yi, %si : memref<1x4x2x8xf32>, memref<1x2x8x16xf32>) : tensor<1x4x2x8xf32>, memref<1x4x2xf32>, memref<1x4x1x16xf32>, memref<1x4x1x16xf32>
  return
}

// -----

func.func @fused_ssd_no_results(%x: tensor<1x4x2x8xf32>, %g: tensor<1x4x2xf32>, %B: tensor<1x4x1x16xf32>, %C: tensor<1x4x1x16xf32>, %yi: tensor<1x4x2x8xf32>, %si: tensor<1x2x8x16xf32>) {
  // expected-error @+1 {{'ssm.fused_ssd' op must have two results on tensors, got 0}}
  ssm.fused_ssd %x, %g, %B, %C outs(%yi, %si : tensor<1x4x2x8xf32>, tensor<1x2x8x16xf32>) : tensor<1x4x2x8xf32>, tensor<1x4x2xf32>, tensor<1x4x1x16xf32>, tensor<1x4x1x16xf32>
  return
}

// -----

func.func @fused_ssd_memref_results(%x: memref<1x4x2x8xf32>, %g: memref<1x4x2xf32>, %B: memref<1x4x1x16xf32>, %C: memref<1x4x1x16xf32>, %yi: memref<1x4x2x8xf32>, %si: memref<1x2x8x16xf32>) {
  // expected-error @+1 {{'ssm.fused_ssd' op must have no result on memrefs, got 2}}
  %0:2 = ssm.fused_ssd %x, %g, %B, %C outs(%yi, %si : memref<1x4x2x8xf32>, memref<1x2x8x16xf32>) : memref<1x4x2x8xf32>, memref<1x4x2xf32>, memref<1x4x1x16xf32>, memref<1x4x1x16xf32> -> tensor<1x4x2x8xf32>, tensor<1x2x8x16xf32>
  return
}

// -----

func.func @fused_ssd_result_types(%x: tensor<1x4x2x8xf32>, %g: tensor<1x4x2xf32>, %B: tensor<1x4x1x16xf32>, %C: tensor<1x4x1x16xf32>, %yi: tensor<1x4x2x8xf32>, %si: tensor<1x2x8x16xf32>) {
  // expected-error @+1 {{'ssm.fused_ssd' op result types must equal the types of operands 'y_init' and 'state_init'}}
  %0:2 = ssm.fused_ssd %x, %g, %B, %C outs(%yi, %si : tensor<1x4x2x8xf32>, tensor<1x2x8x16xf32>) : tensor<1x4x2x8xf32>, tensor<1x4x2xf32>, tensor<1x4x1x16xf32>, tensor<1x4x1x16xf32> -> tensor<1x4x2x8xf32>, tensor<?x2x8x16xf32>
  return
}

// -----

func.func @fused_ssd_state_shape(%x: memref<1x4x2x8xf32>, %g: memref<1x4x2xf32>, %B: memref<1x4x1x16xf32>, %C: memref<1x4x1x16xf32>, %yi: memref<1x4x2x8xf32>, %si: memref<1x2x8x12xf32>) {
  // expected-error @+1 {{'ssm.fused_ssd' op operand 'state_init' dim 3 (state) is 12, but operand 'B' dim 3 (state) is 16}}
  ssm.fused_ssd %x, %g, %B, %C outs(%yi, %si : memref<1x4x2x8xf32>, memref<1x2x8x12xf32>) : memref<1x4x2x8xf32>, memref<1x4x2xf32>, memref<1x4x1x16xf32>, memref<1x4x1x16xf32>
  return
}

// -----

func.func @fused_ssd_log_decay_rank(%x: memref<1x4x2x8xf32>, %g: memref<1x4xf32>, %B: memref<1x4x1x16xf32>, %C: memref<1x4x1x16xf32>, %yi: memref<1x4x2x8xf32>, %si: memref<1x2x8x16xf32>) {
  // expected-error @+1 {{'ssm.fused_ssd' op operand 'log_decay' must have rank 3 (batch, seq, heads), got rank 2}}
  ssm.fused_ssd %x, %g, %B, %C outs(%yi, %si : memref<1x4x2x8xf32>, memref<1x2x8x16xf32>) : memref<1x4x2x8xf32>, memref<1x4xf32>, memref<1x4x1x16xf32>, memref<1x4x1x16xf32>
  return
}

// -----

func.func @fused_ssd_scale_shape(%x: memref<1x4x2x8xf32>, %g: memref<1x4x2xf32>, %B: memref<1x4x1x16xf32>, %C: memref<1x4x1x16xf32>, %s: memref<1x4x3xf32>, %yi: memref<1x4x2x8xf32>, %si: memref<1x2x8x16xf32>) {
  // expected-error @+1 {{'ssm.fused_ssd' op operand 'scale' dim 2 (heads) is 3, but operand 'x' dim 2 (heads) is 2}}
  ssm.fused_ssd %x, %g, %B, %C scale(%s : memref<1x4x3xf32>) outs(%yi, %si : memref<1x4x2x8xf32>, memref<1x2x8x16xf32>) : memref<1x4x2x8xf32>, memref<1x4x2xf32>, memref<1x4x1x16xf32>, memref<1x4x1x16xf32>
  return
}

// -----

func.func @fused_ssd_D_rank(%x: memref<1x4x2x8xf32>, %g: memref<1x4x2xf32>, %B: memref<1x4x1x16xf32>, %C: memref<1x4x1x16xf32>, %D: memref<2x8x1xf32>, %yi: memref<1x4x2x8xf32>, %si: memref<1x2x8x16xf32>) {
  // expected-error @+1 {{'ssm.fused_ssd' op operand 'D' must have rank 1 (heads) or 2 (heads, head_dim), got rank 3}}
  ssm.fused_ssd %x, %g, %B, %C D(%D : memref<2x8x1xf32>) outs(%yi, %si : memref<1x4x2x8xf32>, memref<1x2x8x16xf32>) : memref<1x4x2x8xf32>, memref<1x4x2xf32>, memref<1x4x1x16xf32>, memref<1x4x1x16xf32>
  return
}

// -----

func.func @fused_ssd_D_shape(%x: memref<1x4x2x8xf32>, %g: memref<1x4x2xf32>, %B: memref<1x4x1x16xf32>, %C: memref<1x4x1x16xf32>, %D: memref<2x4xf32>, %yi: memref<1x4x2x8xf32>, %si: memref<1x2x8x16xf32>) {
  // expected-error @+1 {{'ssm.fused_ssd' op operand 'D' dim 1 (head_dim) is 4, but operand 'x' dim 3 (head_dim) is 8}}
  ssm.fused_ssd %x, %g, %B, %C D(%D : memref<2x4xf32>) outs(%yi, %si : memref<1x4x2x8xf32>, memref<1x2x8x16xf32>) : memref<1x4x2x8xf32>, memref<1x4x2xf32>, memref<1x4x1x16xf32>, memref<1x4x1x16xf32>
  return
}

// -----

func.func @fused_ssd_gate_shape(%x: memref<1x4x2x8xf32>, %g: memref<1x4x2xf32>, %B: memref<1x4x1x16xf32>, %C: memref<1x4x1x16xf32>, %z: memref<1x4x2x7xf32>, %yi: memref<1x4x2x8xf32>, %si: memref<1x2x8x16xf32>) {
  // expected-error @+1 {{'ssm.fused_ssd' op operand 'gate' dim 3 (head_dim) is 7, but operand 'x' dim 3 (head_dim) is 8}}
  ssm.fused_ssd %x, %g, %B, %C gate(%z : memref<1x4x2x7xf32>) outs(%yi, %si : memref<1x4x2x8xf32>, memref<1x2x8x16xf32>) : memref<1x4x2x8xf32>, memref<1x4x2xf32>, memref<1x4x1x16xf32>, memref<1x4x1x16xf32>
  return
}

// -----

func.func @fused_ssd_initial_state_batch(%x: memref<1x4x2x8xf32>, %g: memref<1x4x2xf32>, %B: memref<1x4x1x16xf32>, %C: memref<1x4x1x16xf32>, %h0: memref<2x2x8x16xf32>, %yi: memref<1x4x2x8xf32>, %si: memref<1x2x8x16xf32>) {
  // expected-error @+1 {{'ssm.fused_ssd' op operand 'initial_state' dim 0 (batch) is 2, but operand 'x' dim 0 (batch) is 1}}
  ssm.fused_ssd %x, %g, %B, %C initial_state(%h0 : memref<2x2x8x16xf32>) outs(%yi, %si : memref<1x4x2x8xf32>, memref<1x2x8x16xf32>) : memref<1x4x2x8xf32>, memref<1x4x2xf32>, memref<1x4x1x16xf32>, memref<1x4x1x16xf32>
  return
}

// -----

func.func @fused_ssd_groups(%x: memref<1x4x3x8xf32>, %g: memref<1x4x3xf32>, %B: memref<1x4x2x16xf32>, %C: memref<1x4x2x16xf32>, %yi: memref<1x4x3x8xf32>, %si: memref<1x3x8x16xf32>) {
  // expected-error @+1 {{'ssm.fused_ssd' op operand 'B' dim 2 (groups) is 2, which does not divide operand 'x' dim 2 (heads), 3}}
  ssm.fused_ssd %x, %g, %B, %C outs(%yi, %si : memref<1x4x3x8xf32>, memref<1x3x8x16xf32>) : memref<1x4x3x8xf32>, memref<1x4x3xf32>, memref<1x4x2x16xf32>, memref<1x4x2x16xf32>
  return
}

// -----

func.func @fused_ssd_dynamic_state(%x: memref<1x4x2x8xf32>, %g: memref<1x4x2xf32>, %B: memref<1x4x1x?xf32>, %C: memref<1x4x1x16xf32>, %yi: memref<1x4x2x8xf32>, %si: memref<1x2x8x16xf32>) {
  // expected-error @+1 {{'ssm.fused_ssd' op operand 'B' dim 3 (state) must be static}}
  ssm.fused_ssd %x, %g, %B, %C outs(%yi, %si : memref<1x4x2x8xf32>, memref<1x2x8x16xf32>) : memref<1x4x2x8xf32>, memref<1x4x2xf32>, memref<1x4x1x?xf32>, memref<1x4x1x16xf32>
  return
}

// -----

func.func @fused_ssd_zero_head_dim(%x: memref<1x4x2x0xf32>, %g: memref<1x4x2xf32>, %B: memref<1x4x1x16xf32>, %C: memref<1x4x1x16xf32>, %yi: memref<1x4x2x0xf32>, %si: memref<1x2x0x16xf32>) {
  // expected-error @+1 {{'ssm.fused_ssd' op operand 'x' dim 3 (head_dim) must be at least 1}}
  ssm.fused_ssd %x, %g, %B, %C outs(%yi, %si : memref<1x4x2x0xf32>, memref<1x2x0x16xf32>) : memref<1x4x2x0xf32>, memref<1x4x2xf32>, memref<1x4x1x16xf32>, memref<1x4x1x16xf32>
  return
}
