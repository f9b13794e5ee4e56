// RUN: ssm-opt %s --convert-ssm-to-linalg --split-input-file --verify-diagnostics | FileCheck %s

// Grouped, gated RMSNorm: x * silu(gate), the sum of squares over groups of
// 4 features of the (…, 2, 4) view, then rsqrt(mean + eps) * w.
// CHECK-LABEL: func.func @rms_norm
// CHECK-NOT: ssm.rms_norm
// CHECK: tensor.expand_shape %{{.*}} {{\[\[}}0], [1], [2, 3]] output_shape [%{{.*}}, 3, 2, 4] : tensor<?x3x8xf32> into tensor<?x3x2x4xf32>
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]
// CHECK: math.rsqrt
func.func @rms_norm(%x: tensor<?x3x8xf32>, %w: tensor<8xf32>, %z: tensor<?x3x8xf32>) -> tensor<?x3x8xf32> {
  %y = ssm.rms_norm %x, %w gate(%z) {group_size = 4 : i64}
      : (tensor<?x3x8xf32>, tensor<8xf32>, tensor<?x3x8xf32>) -> tensor<?x3x8xf32>
  return %y : tensor<?x3x8xf32>
}

// -----

// Conv1d: the state is placed before x (offset 0), x at offset k - 1 = 3;
// tap i reads the window of 5 tokens at offset i; one elementwise op
// multiplies the k = 4 windows by w[c, i], sums them and applies SiLU; the
// final state is xf[:, l:].
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[W0:.*]] = affine_map<(d0, d1, d2) -> (d2, 0)>
// CHECK-DAG: #[[W1:.*]] = affine_map<(d0, d1, d2) -> (d2, 1)>
// CHECK-DAG: #[[W2:.*]] = affine_map<(d0, d1, d2) -> (d2, 2)>
// CHECK-DAG: #[[W3:.*]] = affine_map<(d0, d1, d2) -> (d2, 3)>
// CHECK-LABEL: func.func @conv
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, 0, 0] [2, 3, 6]
// CHECK: %[[XF:.*]] = tensor.insert_slice %{{.*}} into %{{.*}}[0, 3, 0] [2, 5, 6]
// CHECK: %[[T0:.*]] = tensor.extract_slice %[[XF]][0, 0, 0] [2, 5, 6]
// CHECK: %[[T1:.*]] = tensor.extract_slice %[[XF]][0, 1, 0] [2, 5, 6]
// CHECK: %[[T2:.*]] = tensor.extract_slice %[[XF]][0, 2, 0] [2, 5, 6]
// CHECK: %[[T3:.*]] = tensor.extract_slice %[[XF]][0, 3, 0] [2, 5, 6]
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[W0]], #[[ID]], #[[W1]], #[[ID]], #[[W2]], #[[ID]], #[[W3]], #[[ID]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME: ins(%[[T0]], %arg1, %[[T1]], %arg1, %[[T2]], %arg1, %[[T3]], %arg1 :
// CHECK: ^bb0(%[[X0:.*]]: f32, %[[W0V:.*]]: f32, %[[X1:.*]]: f32, %[[W1V:.*]]: f32, %{{.*}}: f32, %{{.*}}: f32, %{{.*}}: f32, %{{.*}}: f32, %{{.*}}: f32):
// CHECK: %[[P0:.*]] = arith.mulf %[[X0]], %[[W0V]]
// CHECK: %[[P1:.*]] = arith.mulf %[[X1]], %[[W1V]]
// CHECK: arith.addf %[[P0]], %[[P1]]
// CHECK: math.exp
// CHECK: tensor.extract_slice %[[XF]][0, 5, 0] [2, 3, 6]
func.func @conv(%x: tensor<2x5x6xf32>, %w: tensor<6x4xf32>, %s: tensor<2x6x3xf32>) -> (tensor<2x5x6xf32>, tensor<2x6x3xf32>) {
  %y, %f = ssm.causal_conv1d %x, %w initial_state(%s) {silu}
      : (tensor<2x5x6xf32>, tensor<6x4xf32>, tensor<2x6x3xf32>) -> (tensor<2x5x6xf32>, tensor<2x6x3xf32>)
  return %y, %f : tensor<2x5x6xf32>, tensor<2x6x3xf32>
}

// -----

// Rotary of every feature (2R = d): x viewed with the pair as a dimension of
// size 2 ((b, l, h, R, 2) interleaved), the partner read through s -> 1 - s,
// cos/sin with a batch of 1 read at the constant index 0; no tensor.extract.
// CHECK-DAG: #[[SELF:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
// CHECK-DAG: #[[PARTNER:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, -d4 + 1)>
// CHECK-DAG: #[[ANGLE:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (0, d1, d3)>
// CHECK-LABEL: func.func @rotary
// CHECK: %[[PAIRS:.*]] = tensor.expand_shape %arg0 {{\[\[}}0], [1], [2], [3, 4]] output_shape [2, 3, 2, 4, 2]
// CHECK: %[[Y:.*]] = linalg.generic {indexing_maps = [#[[SELF]], #[[PARTNER]], #[[ANGLE]], #[[ANGLE]], #[[SELF]]]
// CHECK-SAME: ins(%[[PAIRS]], %[[PAIRS]], %arg1, %arg2 :
// CHECK: ^bb0(%[[X:.*]]: f32, %[[P:.*]]: f32, %[[C:.*]]: f32, %[[S:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[IS_FIRST:.*]] = arith.cmpi eq, %{{.*}}, %c0
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-DAG: %[[MINUS:.*]] = arith.constant -1.000000e+00 : f32
// CHECK: %[[SIGN:.*]] = arith.select %[[IS_FIRST]], %[[MINUS]], %[[ONE]] : f32
// CHECK: %[[PS:.*]] = arith.mulf %[[P]], %[[S]]
// CHECK: %[[SPS:.*]] = arith.mulf %[[SIGN]], %[[PS]]
// CHECK: %[[XC:.*]] = arith.mulf %[[X]], %[[C]]
// CHECK: arith.addf %[[XC]], %[[SPS]]
// CHECK-NOT: tensor.extract
// CHECK: tensor.collapse_shape %[[Y]] {{\[\[}}0], [1], [2], [3, 4]] : tensor<2x3x2x4x2xf32> into tensor<2x3x2x8xf32>
func.func @rotary(%x: tensor<2x3x2x8xf32>, %c: tensor<1x3x4xf32>, %s: tensor<1x3x4xf32>) -> tensor<2x3x2x8xf32> {
  %y = ssm.rotary %x, %c, %s {pairing = #ssm.rotary_pairing<interleaved>}
      : (tensor<2x3x2x8xf32>, tensor<1x3x4xf32>, tensor<1x3x4xf32>) -> tensor<2x3x2x8xf32>
  return %y : tensor<2x3x2x8xf32>
}

// -----

// Halves pairing of every feature: (b, l, h, 2, R), the partner at 1 - s in
// dimension 3.
// CHECK-DAG: #[[HPARTNER:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, -d3 + 1, d4)>
// CHECK-DAG: #[[HANGLE:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4)>
// CHECK-LABEL: func.func @rotary_halves
// CHECK: tensor.expand_shape %arg0 {{\[\[}}0], [1], [2], [3, 4]] output_shape [2, 3, 2, 2, 4]
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[HPARTNER]], #[[HANGLE]], #[[HANGLE]], #{{.*}}]
func.func @rotary_halves(%x: tensor<2x3x2x8xf32>, %c: tensor<2x3x4xf32>, %s: tensor<2x3x4xf32>) -> tensor<2x3x2x8xf32> {
  %y = ssm.rotary %x, %c, %s : (tensor<2x3x2x8xf32>, tensor<2x3x4xf32>, tensor<2x3x4xf32>) -> tensor<2x3x2x8xf32>
  return %y : tensor<2x3x2x8xf32>
}

// -----

// Partial rotation (2R < d) reads the partner feature and cos/sin with
// tensor.extract; the features past 2R pass through.
// CHECK-LABEL: func.func @rotary_partial
// CHECK: arith.xori
// CHECK: tensor.extract %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}] : tensor<2x3x2x8xf32>
// CHECK: tensor.extract %{{.*}}[%c0{{.*}}, %{{.*}}, %{{.*}}] : tensor<1x3x2xf32>
func.func @rotary_partial(%x: tensor<2x3x2x8xf32>, %c: tensor<1x3x2xf32>, %s: tensor<1x3x2xf32>) -> tensor<2x3x2x8xf32> {
  %y = ssm.rotary %x, %c, %s {pairing = #ssm.rotary_pairing<interleaved>}
      : (tensor<2x3x2x8xf32>, tensor<1x3x2xf32>, tensor<1x3x2xf32>) -> tensor<2x3x2x8xf32>
  return %y : tensor<2x3x2x8xf32>
}

// -----

// Hybrid merge: per-token moments of both inputs, the renorm, the
// projection (reduction over the attention width) and the 0.5 average.
// CHECK-LABEL: func.func @merge
// CHECK: math.sqrt
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]
// CHECK: arith.constant 5.000000e-01 : f32
func.func @merge(%s: tensor<1x2x6xf32>, %a: tensor<1x2x4xf32>, %w: tensor<4x6xf32>) -> tensor<1x2x6xf32> {
  %y = ssm.hybrid_merge %s, %a, %w : (tensor<1x2x6xf32>, tensor<1x2x4xf32>, tensor<4x6xf32>) -> tensor<1x2x6xf32>
  return %y : tensor<1x2x6xf32>
}

// -----

func.func @mixer_left(%x: tensor<1x3x2x2xf32>, %a: tensor<1x3x2xf32>, %B: tensor<1x3x1x2xf32>) -> tensor<1x3x2x2xf32> {
  // expected-error @+1 {{'ssm.discrete_ssd' op is a mixer: lower it first with ssm-materialize-mixers or ssm-mixers-to-recurrent}}
  %y, %h = ssm.discrete_ssd %x, %a, %B, %B
      : (tensor<1x3x2x2xf32>, tensor<1x3x2xf32>, tensor<1x3x1x2xf32>, tensor<1x3x1x2xf32>) -> (tensor<1x3x2x2xf32>, tensor<1x2x2x2xf32>)
  return %y : tensor<1x3x2x2xf32>
}

// -----

// token_positions: offset[0] + the index along the sequence of the tokens.
// CHECK-LABEL: func.func @token_positions(
// CHECK-SAME: %[[IDS:.*]]: tensor<?x?xi64>, %[[OFF:.*]]: tensor<1xi64>)
// CHECK-NOT: ssm.token_positions
// CHECK: %[[L:.*]] = tensor.dim %[[IDS]], %c1
// CHECK: %[[E:.*]] = tensor.empty(%[[L]]) : tensor<?xi32>
// CHECK: %[[O:.*]] = tensor.extract %[[OFF]][%c0{{.*}}] : tensor<1xi64>
// CHECK: %[[OI:.*]] = arith.index_cast %[[O]] : i64 to index
// CHECK: linalg.generic {{.*}} outs(%[[E]] : tensor<?xi32>)
// CHECK: %[[I:.*]] = linalg.index 0 : index
// CHECK: %[[S:.*]] = arith.addi %[[I]], %[[OI]] : index
// CHECK: %[[C:.*]] = arith.index_cast %[[S]] : index to i32
// CHECK: linalg.yield %[[C]] : i32
func.func @token_positions(%ids: tensor<?x?xi64>, %off: tensor<1xi64>) -> tensor<?xi32> {
  %p = ssm.token_positions %ids offset(%off) : (tensor<?x?xi64>, tensor<1xi64>) -> tensor<?xi32>
  return %p : tensor<?xi32>
}
