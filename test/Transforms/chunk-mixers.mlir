// RUN: ssm-opt %s --ssm-chunk-mixers --split-input-file --verify-diagnostics | FileCheck %s
// RUN: ssm-opt %s --ssm-chunk-mixers=differentiable --split-input-file --verify-diagnostics | FileCheck %s --check-prefix=DIFF
// RUN: ssm-opt %s --ssm-chunk-mixers=differentiable --ssm-differentiate --canonicalize --split-input-file --verify-diagnostics | FileCheck %s --check-prefix=GRAD
// RUN: ssm-opt %s --ssm-chunk-mixers --ssm-differentiate --canonicalize --split-input-file --verify-diagnostics | FileCheck %s --check-prefix=TAPE

// SSD with chunks of 4: the sequence is zero-padded to a multiple of 4 and
// viewed as (b, chunks, 4, ...); the intra-chunk matrix is (b, h, c, 4, 4)
// (never seq x seq); one loop over the chunks carries the state, kept as
// (b, h, n, p) inside, and records the state entering each chunk; the
// output is collapsed back and sliced to the sequence length, the final
// state transposed back to (b, h, p, n).
// CHECK-LABEL: func.func @ssd
// CHECK-NOT: ssm.ssd
// CHECK: tensor.expand_shape {{.*}} into tensor<2x?x4x2x3xf32>
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<2x2x?x4x4xf32>)
// CHECK-NOT: tensor<2x2x?x?xf32>
// CHECK: %[[LOOP:.*]]:2 = scf.for {{.*}} iter_args({{.*}}) -> (tensor<2x2x5x3xf32>, tensor<2x?x2x5x3xf32>)
// CHECK: tensor.insert_slice {{.*}} : tensor<2x2x5x3xf32> into tensor<2x?x2x5x3xf32>
// CHECK: scf.yield
// CHECK: %[[FINAL:.*]] = linalg.generic {{.*}} ins(%[[LOOP]]#0 : tensor<2x2x5x3xf32>) outs(%{{.*}} : tensor<2x2x3x5xf32>)
// CHECK: tensor.collapse_shape {{.*}} into tensor<2x?x2x3xf32>
// CHECK: tensor.extract_slice {{.*}}[0, 0, 0, 0] [2, %{{.*}}, 2, 3]
// CHECK: return %{{.*}}, %[[FINAL]]
func.func @ssd(%x: tensor<2x?x2x3xf32>, %dt: tensor<2x?x2xf32>, %A: tensor<2xf32>,
               %B: tensor<2x?x1x5xf32>, %C: tensor<2x?x1x5xf32>)
    -> (tensor<2x?x2x3xf32>, tensor<2x2x3x5xf32>) {
  %y, %h = ssm.ssd %x, %dt, %A, %B, %C {dt_softplus, ssm.chunk_size = 4 : i64}
      : (tensor<2x?x2x3xf32>, tensor<2x?x2xf32>, tensor<2xf32>, tensor<2x?x1x5xf32>, tensor<2x?x1x5xf32>)
      -> (tensor<2x?x2x3xf32>, tensor<2x2x3x5xf32>)
  return %y, %h : tensor<2x?x2x3xf32>, tensor<2x2x3x5xf32>
}

// -----

// Without the attribute the mixer is left for the next lowering.
// CHECK-LABEL: func.func @unmarked
// CHECK: ssm.discrete_ssd
func.func @unmarked(%x: tensor<1x3x2x2xf32>, %a: tensor<1x3x2xf32>, %B: tensor<1x3x2x4xf32>)
    -> tensor<1x3x2x2xf32> {
  %y, %h = ssm.discrete_ssd %x, %a, %B, %B
      : (tensor<1x3x2x2xf32>, tensor<1x3x2xf32>, tensor<1x3x2x4xf32>, tensor<1x3x2x4xf32>)
      -> (tensor<1x3x2x2xf32>, tensor<1x2x2x4xf32>)
  return %y : tensor<1x3x2x2xf32>
}

// -----

func.func @bad_size(%x: tensor<1x3x2x2xf32>, %a: tensor<1x3x2xf32>, %B: tensor<1x3x2x4xf32>)
    -> tensor<1x3x2x2xf32> {
  // expected-error @+1 {{'ssm.discrete_ssd' op 'ssm.chunk_size' must be an integer of at least 1}}
  %y, %h = ssm.discrete_ssd %x, %a, %B, %B {ssm.chunk_size = 0 : i64}
      : (tensor<1x3x2x2xf32>, tensor<1x3x2xf32>, tensor<1x3x2x4xf32>, tensor<1x3x2x4xf32>)
      -> (tensor<1x3x2x2xf32>, tensor<1x2x2x4xf32>)
  return %y : tensor<1x3x2x2xf32>
}

// -----

func.func @no_chunked_form(%q: tensor<1x3x2x4xf32>) -> tensor<1x3x2x4xf32> {
  // expected-error @+1 {{'ssm.linear_attention' op has 'ssm.chunk_size' but no chunked form}}
  %y, %h = ssm.linear_attention %q, %q, %q
      {update_rule = #ssm.linear_attention_rule<linear>, ssm.chunk_size = 2 : i64}
      : (tensor<1x3x2x4xf32>, tensor<1x3x2x4xf32>, tensor<1x3x2x4xf32>)
      -> (tensor<1x3x2x4xf32>, tensor<1x2x4x4xf32>)
  return %y : tensor<1x3x2x4xf32>
}

// -----

// Attention in tiles of 4 keys: keys and values are zero-padded from 10 to
// 12; one loop over the 3 tiles carries the running row maximum, the
// running sum (both (b, hq, l)) and the output (b, l, hq, dv); the scores
// are (b, hq, l, 4), never the 6 x 10 matrix; the output is divided by the
// sum after the loop.
// CHECK-LABEL: func.func @attention
// CHECK-NOT: ssm.attention
// CHECK-NOT: tensor<1x4x6x10xf32>
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, 0, 0, 0] [1, 10, 2, 8] {{.*}} into tensor<1x12x2x8xf32>
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, 0, 0, 0] [1, 10, 2, 3] {{.*}} into tensor<1x12x2x3xf32>
// CHECK: %[[LOOP:.*]]:3 = scf.for %{{.*}} = %{{.*}} to %[[N:.*]] step {{.*}} -> (tensor<1x4x6xf32>, tensor<1x4x6xf32>, tensor<1x6x4x3xf32>)
// CHECK: tensor.extract_slice {{.*}} [1, 4, 2, 8] {{.*}} to tensor<1x4x2x8xf32>
// CHECK: tensor.extract_slice {{.*}} [1, 4, 2, 3] {{.*}} to tensor<1x4x2x3xf32>
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<1x4x6x4xf32>)
// CHECK: arith.maximumf
// CHECK: math.exp
// CHECK: scf.yield {{.*}} : tensor<1x4x6xf32>, tensor<1x4x6xf32>, tensor<1x6x4x3xf32>
// CHECK: linalg.generic {{.*}} ins(%[[LOOP]]#2, %[[LOOP]]#1 : tensor<1x6x4x3xf32>, tensor<1x4x6xf32>)
// CHECK: arith.divf
func.func @attention(%q: tensor<1x6x4x8xf32>, %k: tensor<1x10x2x8xf32>, %v: tensor<1x10x2x3xf32>)
    -> tensor<1x6x4x3xf32> {
  %y = ssm.attention %q, %k, %v {causal, ssm.chunk_size = 4 : i64}
      : (tensor<1x6x4x8xf32>, tensor<1x10x2x8xf32>, tensor<1x10x2x3xf32>) -> tensor<1x6x4x3xf32>
  return %y : tensor<1x6x4x3xf32>
}

// -----

// The differentiable form of the same attention: three loops over the 3 key
// tiles, each carrying one value: the row maximum (held constant), the sum
// of exp(score - max), then the output as a plain sum of exp(score - lse) v
// (no rescaling, no division after the loop).
// DIFF-LABEL: func.func @attention_training
// DIFF-NOT: tensor<1x4x6x10xf32>
// DIFF: %[[MAX:.*]] = scf.for {{.*}} -> (tensor<1x4x6xf32>)
// DIFF: arith.maximumf
// DIFF: %[[M:.*]] = ssm.stop_gradient %[[MAX]] : tensor<1x4x6xf32>
// DIFF: %[[SUM:.*]] = scf.for {{.*}} -> (tensor<1x4x6xf32>)
// DIFF: linalg.generic {{.*}} ins(%{{.*}}, %[[M]] : tensor<1x4x6x4xf32>, tensor<1x4x6xf32>)
// DIFF: math.exp
// DIFF: %[[LSE:.*]] = linalg.generic {{.*}} ins(%[[M]], %[[SUM]] : tensor<1x4x6xf32>, tensor<1x4x6xf32>)
// DIFF: math.log
// DIFF: %[[Y:.*]] = scf.for {{.*}} -> (tensor<1x6x4x3xf32>)
// DIFF: linalg.generic {{.*}} ins(%{{.*}}, %[[LSE]] : tensor<1x4x6x4xf32>, tensor<1x4x6xf32>)
// DIFF: math.exp
// DIFF-NOT: arith.divf
// DIFF: return %[[Y]]

// Its gradient keeps no tape: the forward loops return what they carry
// and nothing else; the reverse of the output loop carries the gradients of
// the (padded) keys, values, queries and log-sum-exp, that of the sum loop
// those of the keys and queries; the maximum's loop has no reverse.
// GRAD-LABEL: func.func @attention_training_grad(
// GRAD-NOT: tensor<3x
// GRAD: scf.for {{.*}} -> (tensor<1x4x6xf32>)
// GRAD: scf.for {{.*}} -> (tensor<1x4x6xf32>)
// GRAD: scf.for {{.*}} -> (tensor<1x6x4x3xf32>)
// GRAD: scf.for {{.*}} -> (tensor<1x12x2x8xf32>, tensor<1x12x2x3xf32>, tensor<1x6x4x8xf32>, tensor<1x4x6xf32>)
// GRAD: scf.for {{.*}} -> (tensor<1x12x2x8xf32>, tensor<1x6x4x8xf32>)
// GRAD-NOT: scf.for
// GRAD-NOT: ssm.stop_gradient
// GRAD: return

// The online form's reverse tapes the maximum, the sum and the output of
// every tile (3 tiles).
// TAPE-LABEL: func.func @attention_training_grad(
// TAPE: tensor.empty() : tensor<3x1x4x6xf32>
// TAPE: tensor.empty() : tensor<3x1x4x6xf32>
// TAPE: tensor.empty() : tensor<3x1x6x4x3xf32>
func.func @attention_training(%q: tensor<1x6x4x8xf32>, %k: tensor<1x10x2x8xf32>, %v: tensor<1x10x2x3xf32>)
    -> tensor<1x6x4x3xf32> attributes {ssm.differentiate} {
  %y = ssm.attention %q, %k, %v {causal, ssm.chunk_size = 4 : i64}
      : (tensor<1x6x4x8xf32>, tensor<1x10x2x8xf32>, tensor<1x10x2x3xf32>) -> tensor<1x6x4x3xf32>
  return %y : tensor<1x6x4x3xf32>
}

// -----

// The additive mask is padded along its key dimension and sliced per tile.
// CHECK-LABEL: func.func @attention_mask
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, 0, 0, 0] [1, 1, 3, 5] {{.*}} into tensor<1x1x3x6xf32>
// CHECK: scf.for
// CHECK: tensor.extract_slice {{.*}} [1, 1, 3, 2] {{.*}} to tensor<1x1x3x2xf32>
func.func @attention_mask(%q: tensor<1x3x2x4xf32>, %k: tensor<1x5x2x4xf32>, %m: tensor<1x1x3x5xf32>)
    -> tensor<1x3x2x4xf32> {
  %y = ssm.attention %q, %k, %k mask(%m) {ssm.chunk_size = 2 : i64}
      : (tensor<1x3x2x4xf32>, tensor<1x5x2x4xf32>, tensor<1x5x2x4xf32>, tensor<1x1x3x5xf32>)
      -> tensor<1x3x2x4xf32>
  return %y : tensor<1x3x2x4xf32>
}

// -----

// Mamba-3 MIMO (rank 2) in chunks of 8: the per-token operands are
// zero-padded to a multiple of 8; one loop over the chunks computes each
// chunk in quadratic form (its (b, h, 8, r, 8, r) mixing matrix), writes
// the chunk's output and passes the state, angle, last key and last input
// to the next chunk. After the loop the output is sliced back to the
// sequence, and the last key is the last token's B rotated by the final
// angle.
// CHECK-LABEL: func.func @mamba3
// CHECK-NOT: ssm.mamba3
// CHECK: %[[LOOP:.*]]:5 = scf.for {{.*}} -> (tensor<1x?x2x3xf32>, tensor<1x2x3x4xf32>, tensor<1x2x1xf32>, tensor<1x2x2x4xf32>, tensor<1x2x3xf32>)
// CHECK: tensor.extract_slice {{.*}} [1, 8, 2, 3] {{.*}} to tensor<1x8x2x3xf32>
// CHECK: tensor.extract_slice {{.*}} [1, 8, 2, 1, 4] {{.*}} to tensor<1x8x2x1x4xf32>
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<1x2x8x2x8x2xf32>)
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, %{{.*}}, 0, 0] [1, 8, 2, 3] {{.*}} : tensor<1x8x2x3xf32> into tensor<1x?x2x3xf32>
// CHECK: scf.yield
// CHECK: %[[Y:.*]] = tensor.extract_slice %[[LOOP]]#0[0, 0, 0, 0] [1, %{{.*}}, 2, 3]
// CHECK: linalg.generic {{.*}} ins(%[[LOOP]]#2 : tensor<1x2x1xf32>)
// CHECK: math.cos
// CHECK: return %[[Y]], %[[LOOP]]#1, %[[LOOP]]#2, %{{.*}}, %{{.*}} :
func.func @mamba3(%x: tensor<1x?x2x3xf32>, %dt: tensor<1x?x2xf32>, %A: tensor<1x?x2xf32>,
                  %lam: tensor<1x?x2xf32>, %th: tensor<1x?x2x1xf32>,
                  %B: tensor<1x?x2x1x4xf32>, %C: tensor<1x?x2x1x4xf32>, %W: tensor<2x2x3xf32>)
    -> (tensor<1x?x2x3xf32>, tensor<1x2x3x4xf32>, tensor<1x2x1xf32>, tensor<1x2x2x4xf32>, tensor<1x2x3xf32>) {
  %y, %h, %a, %k, %xl = ssm.mamba3 %x, %dt, %A, %lam, %th, %B, %C Wx(%W) Wo(%W)
      {rotary_pairing = #ssm.rotary_pairing<halves>, ssm.chunk_size = 8 : i64}
      : (tensor<1x?x2x3xf32>, tensor<1x?x2xf32>, tensor<1x?x2xf32>, tensor<1x?x2xf32>, tensor<1x?x2x1xf32>,
         tensor<1x?x2x1x4xf32>, tensor<1x?x2x1x4xf32>, tensor<2x2x3xf32>, tensor<2x2x3xf32>)
      -> (tensor<1x?x2x3xf32>, tensor<1x2x3x4xf32>, tensor<1x2x1xf32>, tensor<1x2x2x4xf32>, tensor<1x2x3xf32>)
  return %y, %h, %a, %k, %xl : tensor<1x?x2x3xf32>, tensor<1x2x3x4xf32>, tensor<1x2x1xf32>, tensor<1x2x2x4xf32>, tensor<1x2x3xf32>
}
