//===- SSMOps.td - SSM dialect operations ------------------*- tablegen -*-===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#ifndef SSM_DIALECT_SSM_IR_SSMOPS_TD
#define SSM_DIALECT_SSM_IR_SSMOPS_TD

include "ssm/Dialect/SSM/IR/SSMDialect.td"
include "ssm/Dialect/SSM/IR/SSMInterfaces.td"
include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.td"
include "mlir/Interfaces/DestinationStyleOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

// `methods` names the interface methods with a default implementation that
// the op overrides (a chunked form, for example).
class SSM_MixerOp<string mnemonic, list<Trait> traits = [],
                  list<string> methods = []>
    : SSM_Op<mnemonic, !listconcat(traits, [
        Pure, DeclareOpInterfaceMethods<SSM_MixerOpInterface, methods>])> {
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Mixers
//===----------------------------------------------------------------------===//

def SSM_AttentionOp : SSM_MixerOp<"attention", [],
                                  ["hasChunkedForm", "buildChunkedForm",
                                   "buildDifferentiableChunkedForm"]> {
  let summary = "Softmax attention with GQA, causal/sliding-window masks and softcap";
  let description = [{
    Multi-head softmax attention. `query` is `(b, l, hq, d)`, `key` is
    `(b, s, hkv, d)`, `value` is `(b, s, hkv, dv)`; `hq` must be a multiple
    of `hkv` (grouped-query attention: query head `i` reads kv head
    `i / (hq / hkv)`). The result is `(b, l, hq, dv)`.

    ```
    scores = scale * q k^T                      scale defaults to 1/sqrt(d)
    scores = softcap * tanh(scores / softcap)   if softcap is set
    scores = scores + mask                      if mask is given
    causal:  query i sees keys j <= i + (s - l)   (aligned to the end)
    window:  query i sees keys j >  i + (s - l) - window
    y = softmax(scores) v                       softmax in f32
    ```

    `mask` is additive, `(b or 1, hq or 1, l, s)`. A query row that sees no
    key gives 0. The mixing matrix is `softmax(scores)`, `(b, hq, l, s)`.
    The recurrent step keeps the keys and values seen so far as a KV cache
    (the first `s - l` keys and values are its initial content, so it needs
    `s >= l`); it does not take an additive mask.

    Example:

    ```mlir
    %y = ssm.attention %q, %k, %v {causal, window = 128 : i64}
        : (tensor<?x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32>)
        -> tensor<?x?x8x64xf32>
    ```
  }];
  let arguments = (ins SSM_FloatTensor:$query, SSM_FloatTensor:$key,
                       SSM_FloatTensor:$value,
                       Optional<SSM_FloatTensor>:$mask,
                       UnitAttr:$causal,
                       OptionalAttr<F32Attr>:$scale,
                       OptionalAttr<I64Attr>:$window,
                       OptionalAttr<F32Attr>:$softcap);
  let results = (outs SSM_FloatTensor:$result);
  let assemblyFormat = [{
    $query `,` $key `,` $value (`mask` `(` $mask^ `)`)? attr-dict `:`
    functional-type(operands, results)
  }];
}

def SSM_SSDOp : SSM_MixerOp<"ssd", [AttrSizedOperandSegments],
                           ["hasChunkedForm", "buildChunkedForm"]> {
  let summary = "Mamba-2 state space duality (SSD) mixer";
  let description = [{
    The Mamba-2 selective state space mixer of state-spaces/mamba
    `mamba_chunk_scan_combined`. Operands: `x (b, l, h, p)`, `dt (b, l, h)`,
    `A (h)` (negative), `B` and `C (b, l, g, n)` with `h % g == 0` (head `i`
    uses group `i / (h / g)`), and optionally `D (h)` or `(h, p)`,
    `dt_bias (h)`, `z (b, l, h, p)` and `initial_state (b, h, p, n)`.

    ```
    dt'  = dt + dt_bias;  dt' = softplus(dt') if dt_softplus   (u > 20: u)
    dt'  = clamp(dt', dt_limit[0], dt_limit[1])                if dt_limit
    a_t  = exp(min(dt'_t A, 0))
    H_t  = a_t H_{t-1} + dt'_t x_t B_t^T          H_0 = initial_state or 0
    y_t  = H_t C_t + D x_t
    y_t  = y_t * silu(z_t)                         if z
    ```

    Results: `y (b, l, h, p)` and the final state `H_L (b, h, p, n)`, f32.
    Mixing matrix (j <= i): `M[i,j] = (C_i . B_j) exp(sum_{k=j+1..i} dt'_k A) dt'_j`.

    ```mlir
    %y, %h = ssm.ssd %x, %dt, %A, %B, %C D(%D) dt_bias(%bias) z(%z)
        {dt_softplus}
        : (tensor<?x?x4x16xf32>, tensor<?x?x4xf32>, tensor<4xf32>,
           tensor<?x?x1x32xf32>, tensor<?x?x1x32xf32>, tensor<4xf32>,
           tensor<4xf32>, tensor<?x?x4x16xf32>)
        -> (tensor<?x?x4x16xf32>, tensor<?x4x16x32xf32>)
    ```
  }];
  let arguments = (ins SSM_FloatTensor:$x, SSM_FloatTensor:$dt,
                       SSM_FloatTensor:$A, SSM_FloatTensor:$B,
                       SSM_FloatTensor:$C,
                       Optional<SSM_FloatTensor>:$D,
                       Optional<SSM_FloatTensor>:$dt_bias,
                       Optional<SSM_FloatTensor>:$z,
                       Optional<SSM_StateTensor>:$initial_state,
                       UnitAttr:$dt_softplus,
                       OptionalAttr<DenseF32ArrayAttr>:$dt_limit);
  let results = (outs SSM_FloatTensor:$y, SSM_StateTensor:$final_state);
  let assemblyFormat = [{
    $x `,` $dt `,` $A `,` $B `,` $C (`D` `(` $D^ `)`)?
    (`dt_bias` `(` $dt_bias^ `)`)? (`z` `(` $z^ `)`)?
    (`initial_state` `(` $initial_state^ `)`)? attr-dict `:`
    functional-type(operands, results)
  }];
}

def SSM_DiscreteSSDOp : SSM_MixerOp<"discrete_ssd", [AttrSizedOperandSegments],
                                   ["hasChunkedForm", "buildChunkedForm"]> {
  let summary = "Discrete Mamba-2 mixer (MOHAWK / Phi-Mamba / Llamba student)";
  let description = [{
    The scalar-decay SSM of Discrete Mamba-2: no dt scaling of the input and
    a per-token decay parameter. Operands: `x (b, l, h, p)`,
    `A_log (b, l, h)`, `B` and `C (b, l, g, n)` (`g = h` in Discrete Mamba-2,
    where every head has its own B and C; `h % g == 0` in general), and
    optionally `D (h)` or `(h, p)`, `z (b, l, h, p)`, `z_bias (h, p)` (only
    with `z`) and `initial_state (b, h, p, n)`.

    ```
    a_t = exp(-softplus(A_log_t))
    H_t = a_t H_{t-1} + x_t B_t^T                  H_0 = initial_state or 0
    y_t = H_t C_t + D x_t
    y_t = y_t * silu(z_t + z_bias)                 if z
    ```

    Results: `y (b, l, h, p)` and the final state `(b, h, p, n)`, f32.
    Mixing matrix (j <= i): `M[i,j] = (C_i . B_j) exp(-sum_{k=j+1..i} softplus(A_log_k))`.
  }];
  let arguments = (ins SSM_FloatTensor:$x, SSM_FloatTensor:$A_log,
                       SSM_FloatTensor:$B, SSM_FloatTensor:$C,
                       Optional<SSM_FloatTensor>:$D,
                       Optional<SSM_FloatTensor>:$z,
                       Optional<SSM_FloatTensor>:$z_bias,
                       Optional<SSM_StateTensor>:$initial_state);
  let results = (outs SSM_FloatTensor:$y, SSM_StateTensor:$final_state);
  let assemblyFormat = [{
    $x `,` $A_log `,` $B `,` $C (`D` `(` $D^ `)`)? (`z` `(` $z^ `)`)?
    (`z_bias` `(` $z_bias^ `)`)? (`initial_state` `(` $initial_state^ `)`)?
    attr-dict `:` functional-type(operands, results)
  }];
}

def SSM_Mamba3Op : SSM_MixerOp<"mamba3", [AttrSizedOperandSegments],
                               ["hasChunkedForm", "buildChunkedForm"]> {
  let summary = "Mamba-3 mixer: trapezoidal input, rotary state, MIMO rank r";
  let description = [{
    The Mamba-3 mixer (state-spaces/mamba `modules/mamba3.py`) after its
    elementwise prologue: the operands are the per-token quantities the
    recurrence uses, so that the prologue (softplus of dt, the A floor,
    sigmoid of the trapezoid gate, `pi * tanh` of the angles, the B/C
    RMSNorms and biases) stays in ordinary ops that the fusion pass folds in.

    Operands: `x (b, l, h, p)`; `dt (b, l, h)` the positive step;
    `A (b, l, h)` the negative per-token decay rate; `lam (b, l, h)` the
    trapezoid weight in `[0, 1]`; `theta (b, l, h, S)` the angle rates with
    `2S <= n`; `B` and `C (b, l, r, g, n)` (already normed and biased, not
    rotated); optionally `D (h)`, `z (b, l, h, p)`, the MIMO channel weights
    `Wx`, `Wz`, `Wo (h, r, p)` (1 where absent), and the initial state:
    `initial_state (b, h, p, n)`, `initial_angle (b, h, S)`,
    `initial_k (b, r, h, n)` (the previous token's rotated key) and
    `initial_x (b, h, p)` (the previous token's input), all f32, zeros where
    absent.

    ```
    al_t    = exp(min(dt_t A_t, 0))
    phi_t   = phi_{t-1} + dt_t theta_t
    k_{t,r} = Rot(phi_t) B_{t,r}         q_{t,r} = Rot(phi_t) C_{t,r}
    v_{t,r} = x_t * Wx[r]
    H_t     = al_t H_{t-1} + (1 - lam_t) dt_t al_t sum_r v_{t-1,r} k_{t-1,r}^T
                           + lam_t dt_t sum_r v_{t,r} k_{t,r}^T
    y_{t,r} = (H_t q_{t,r} + D v_{t,r}) * silu(z_t * Wz[r])   (gate if z)
    y_t     = sum_r Wo[r] * y_{t,r}
    ```

    `Rot` rotates `S` pairs of state features by the angles `phi`, pairing
    them as `rotary_pairing` says: `interleaved` rotates `(2i, 2i+1)` (SISO
    reference), `halves` rotates `(i, i + n/2)` (MIMO reference), for
    `i < S`; the other features pass through. Rank `r = 1` without channel weights is Mamba-3 SISO.
    Results: `y (b, l, h, p)`, `final_state (b, h, p, n)`,
    `final_angle (b, h, S)`, `final_k (b, r, h, n)`, `final_x (b, h, p)`;
    the sequence must have at least one token.

    Mixing matrix, per head and (token, rank) pair, j <= i:
    `M[(i,r),(j,r')] = (q_{i,r} . k_{j,r'}) exp(sum_{k=j+1..i} dt_k A_k)
    (lam_j dt_j + [j < i] (1 - lam_{j+1}) dt_{j+1})`, acting on `v`.
  }];
  let arguments = (ins SSM_FloatTensor:$x, SSM_FloatTensor:$dt,
                       SSM_FloatTensor:$A, SSM_FloatTensor:$lam,
                       SSM_FloatTensor:$theta, SSM_FloatTensor:$B,
                       SSM_FloatTensor:$C,
                       Optional<SSM_FloatTensor>:$D,
                       Optional<SSM_FloatTensor>:$z,
                       Optional<SSM_FloatTensor>:$Wx,
                       Optional<SSM_FloatTensor>:$Wz,
                       Optional<SSM_FloatTensor>:$Wo,
                       Optional<SSM_StateTensor>:$initial_state,
                       Optional<SSM_StateTensor>:$initial_angle,
                       Optional<SSM_StateTensor>:$initial_k,
                       Optional<SSM_StateTensor>:$initial_x,
                       DefaultValuedAttr<SSM_RotaryPairingAttr,
                           "::mlir::ssm::RotaryPairing::interleaved">:$rotary_pairing);
  let results = (outs SSM_FloatTensor:$y, SSM_StateTensor:$final_state,
                      SSM_StateTensor:$final_angle, SSM_StateTensor:$final_k,
                      SSM_StateTensor:$final_x);
  let assemblyFormat = [{
    $x `,` $dt `,` $A `,` $lam `,` $theta `,` $B `,` $C
    (`D` `(` $D^ `)`)? (`z` `(` $z^ `)`)? (`Wx` `(` $Wx^ `)`)?
    (`Wz` `(` $Wz^ `)`)? (`Wo` `(` $Wo^ `)`)?
    (`initial_state` `(` $initial_state^ `)`)?
    (`initial_angle` `(` $initial_angle^ `)`)?
    (`initial_k` `(` $initial_k^ `)`)? (`initial_x` `(` $initial_x^ `)`)?
    attr-dict `:` functional-type(operands, results)
  }];
  let extraClassDeclaration = [{
    /// MIMO rank r (1 for SISO).
    int64_t getRank() {
      return ::llvm::cast<::mlir::RankedTensorType>(getB().getType())
          .getDimSize(2);
    }
  }];
}

def SSM_LinearAttentionOp : SSM_MixerOp<"linear_attention",
                                        [AttrSizedOperandSegments]> {
  let summary = "Linear attention: linear, gated, delta and gated delta rules";
  let description = [{
    The linear attention family of ONNX `LinearAttention` (opset 27): a
    matrix state per key/value head, updated once per token. `query` is
    `(b, l, hq, dk)`, `key` is `(b, l, hkv, dk)`, `value` is
    `(b, l, hkv, dv)`, with `hq` a multiple of `hkv` (query head `i` reads
    the state of kv head `i / (hq / hkv)`). `decay` is the log-space decay,
    `(b, l, hkv)` (per head) or `(b, l, hkv, dk)` (per key feature); it is
    required by the gated rules and not allowed otherwise. `beta` is the
    delta rule's update rate `(b, l, hkv)`, required by the delta rules and
    not allowed otherwise. `initial_state` is `(b, hkv, dk, dv)`, f32, zeros
    where absent.

    ```
    S   = S * exp(g_t)                       gated rules (g_t broadcast over dv)
    u_t = beta_t (v_t - S^T k_t)             delta rules;  u_t = v_t otherwise
    S_t = S + k_t u_t^T
    y_t = scale * S_t^T q_t                  scale defaults to 1/sqrt(dk)
    ```

    Unlike the SSM mixers, the decay is used as given (ONNX does not clamp
    it at 0). Results: `y (b, l, hq, dv)` in the query's element type and
    the final state `S_L (b, hkv, dk, dv)`, f32.

    Mixing matrix, per query head (`w(i, j)` is the decay from token `j` to
    token `i`, `exp(cum_i - cum_j)` per key feature, 1 without decay):
    `P[i, j] = [j <= i] scale * sum_d q_i[d] k_j[d] w(i, j)[d]` for the linear
    and gated rules. The delta rules apply `P` to the written values
    `u = N v`, with `N = (I + diag(beta) A)^-1 diag(beta)` and
    `A[i, j] = [j < i] sum_d k_i[d] k_j[d] w(i, j)[d]`, so their matrix is
    `P N`.

    ```mlir
    %y, %s = ssm.linear_attention %q, %k, %v decay(%g) beta(%beta)
        {update_rule = #ssm.linear_attention_rule<gated_delta>}
        : (tensor<?x?x4x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x8xf32>,
           tensor<?x?x2xf32>, tensor<?x?x2xf32>)
        -> (tensor<?x?x4x8xf32>, tensor<?x2x16x8xf32>)
    ```
  }];
  let arguments = (ins SSM_FloatTensor:$query, SSM_FloatTensor:$key,
                       SSM_FloatTensor:$value,
                       Optional<SSM_FloatTensor>:$decay,
                       Optional<SSM_FloatTensor>:$beta,
                       Optional<SSM_StateTensor>:$initial_state,
                       SSM_LinearAttentionRuleAttr:$update_rule,
                       OptionalAttr<F32Attr>:$scale);
  let results = (outs SSM_FloatTensor:$y, SSM_StateTensor:$final_state);
  let assemblyFormat = [{
    $query `,` $key `,` $value (`decay` `(` $decay^ `)`)?
    (`beta` `(` $beta^ `)`)? (`initial_state` `(` $initial_state^ `)`)?
    attr-dict `:` functional-type(operands, results)
  }];
  let extraClassDeclaration = [{
    /// Whether `rule` decays the state (gated, gated_delta).
    static bool isGated(LinearAttentionRule rule) {
      return rule == LinearAttentionRule::gated ||
             rule == LinearAttentionRule::gated_delta;
    }
    /// Whether `rule` is a delta rule (delta, gated_delta).
    static bool isDelta(LinearAttentionRule rule) {
      return rule == LinearAttentionRule::delta ||
             rule == LinearAttentionRule::gated_delta;
    }
    bool isGated() { return isGated(getUpdateRule()); }
    bool isDelta() { return isDelta(getUpdateRule()); }
  }];
}

//===----------------------------------------------------------------------===//
// Supporting ops
//===----------------------------------------------------------------------===//

def SSM_RMSNormOp : SSM_Op<"rms_norm", [Pure, AllTypesMatch<["x", "result"]>]> {
  let summary = "RMSNorm, optionally grouped and gated (Mamba-2 gated RMSNorm)";
  let description = [{
    Normalizes the last dimension `d` of `x` (any rank >= 1) by its root mean
    square, in groups of `group_size` features (default: all `d`):

    ```
    u = x * silu(gate)                     if gate (same shape as x)
    y = u / sqrt(mean_group(u^2) + eps) * weight
    ```

    `weight` is `(d)`. The gated, grouped form is the Mamba-2 block's
    `RMSNormGated(norm_before_gate=False)`.
  }];
  let arguments = (ins SSM_FloatTensor:$x, SSM_FloatTensor:$weight,
                       Optional<SSM_FloatTensor>:$gate,
                       DefaultValuedAttr<F32Attr, "1.0e-5">:$eps,
                       OptionalAttr<I64Attr>:$group_size);
  let results = (outs SSM_FloatTensor:$result);
  let assemblyFormat = [{
    $x `,` $weight (`gate` `(` $gate^ `)`)? attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def SSM_CausalConv1DOp : SSM_Op<"causal_conv1d", [Pure, AttrSizedOperandSegments]> {
  let summary = "Depthwise causal 1-D convolution with state";
  let description = [{
    Depthwise causal convolution over the sequence, as in Mamba's
    `causal_conv1d`. `x` is `(b, l, c)`, `weight` is `(c, k)`, `bias` is
    `(c)`, `initial_state` is `(b, c, k - 1)` (the last `k - 1` inputs before
    this sequence; zeros where absent):

    ```
    xf   = concat(initial_state^T, x) along the sequence   (b, k - 1 + l, c)
    y_t  = bias + sum_{i < k} weight[:, i] * xf_{t + i}
    y_t  = silu(y_t)                                       if silu
    ```

    Results: `y (b, l, c)` and `final_state (b, c, k - 1)`, the last `k - 1`
    inputs, the decode state.
  }];
  let arguments = (ins SSM_FloatTensor:$x, SSM_FloatTensor:$weight,
                       Optional<SSM_FloatTensor>:$bias,
                       Optional<SSM_FloatTensor>:$initial_state,
                       UnitAttr:$silu);
  let results = (outs SSM_FloatTensor:$y, SSM_FloatTensor:$final_state);
  let assemblyFormat = [{
    $x `,` $weight (`bias` `(` $bias^ `)`)?
    (`initial_state` `(` $initial_state^ `)`)? attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def SSM_RotaryOp : SSM_Op<"rotary", [Pure, AllTypesMatch<["x", "result"]>]> {
  let summary = "Rotary position embedding";
  let description = [{
    Rotates the first `2R` features of every head of `x (b, l, h, d)` by the
    per-token angles whose cosines and sines are `cos` and `sin`
    (`(b or 1, l, R)`, `2R <= d`); the other features pass through. Pairs
    are `(2i, 2i+1)` (`interleaved`) or `(i, i + R)` (`halves`, Llama):

    ```
    y_a = x_a cos_i - x_b sin_i
    y_b = x_b cos_i + x_a sin_i        for each pair (a, b) with angle index i
    ```
  }];
  let arguments = (ins SSM_FloatTensor:$x, SSM_FloatTensor:$cos,
                       SSM_FloatTensor:$sin,
                       DefaultValuedAttr<SSM_RotaryPairingAttr,
                           "::mlir::ssm::RotaryPairing::halves">:$pairing);
  let results = (outs SSM_FloatTensor:$result);
  let assemblyFormat = [{
    $x `,` $cos `,` $sin attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def SSM_TokenPositionsOp : SSM_Op<"token_positions", [Pure]> {
  let summary = "Positions of the tokens of this call in their sequences";
  let description = [{
    The position of every token along the sequence axis (dim 1) of `tokens`
    (`(batch, seq, ...)`, the token ids): `offset + [0, seq)`, where
    `offset` (`tensor<1xi64>`, the number of tokens the sequences already
    hold) is 0 when absent. The ONNX importer writes it for `Range(0, seq, 1)`
    over the token input's sequence length, which is how exporters compute
    position ids; `ssm-derive-generation` gives it the running position of
    prefill and decode, so rotary embeddings and position embeddings stay
    right when a sequence is fed in pieces.

    ```mlir
    %pos = ssm.token_positions %ids offset(%position)
        : (tensor<?x?xi64>, tensor<1xi64>) -> tensor<?xi64>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$tokens,
                       Optional<TensorOf<[I64]>>:$offset);
  let results = (outs RankedTensorOf<[I32, I64]>:$result);
  let assemblyFormat = [{
    $tokens (`offset` `(` $offset^ `)`)? attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def SSM_HybridMergeOp : SSM_Op<"hybrid_merge", [Pure]> {
  let summary = "Merge of the SSM and kept attention heads of a per-head hybrid";
  let description = [{
    The output merge of a per-head hybrid layer (retrieval-aware
    distillation): every layer runs its SSM mixer over all heads; a layer
    with `k > 0` kept `(layer, head)` pairs also runs a `k`-head
    `ssm.attention` on the same normed input, and the two are merged:

    ```
    renorm(a) = (a - mean(a)) / sqrt(var(a) + eps) * sqrt(var(s) + eps) + mean(s)
    y = 0.5 * (s + renorm(a) W)
    ```

    `ssm_out` (`s`) is `(b, l, d)` (after the SSM output projection),
    `attn_out` (`a`) is `(b, l, e)` (the kept heads, concatenated), `weight`
    (`W`) is `(e, d)`; means and (population) variances are per token, over
    the last dimension. The per-head hybrid is the pattern
    `ssm mixer + ssm.attention (kept heads) + ssm.hybrid_merge`; only the
    attention's heads need a KV cache.
  }];
  let arguments = (ins SSM_FloatTensor:$ssm_out, SSM_FloatTensor:$attn_out,
                       SSM_FloatTensor:$weight,
                       DefaultValuedAttr<F32Attr, "1.0e-5">:$eps);
  let results = (outs SSM_FloatTensor:$result);
  let assemblyFormat = [{
    $ssm_out `,` $attn_out `,` $weight attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def SSM_StopGradientOp : SSM_Op<"stop_gradient",
                                [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "Identity whose result the differentiation passes hold constant";
  let description = [{
    Returns its operand. `ssm-differentiate` and `ssm-build-train-step` treat
    the result as a constant: no gradient flows through it (as
    `jax.lax.stop_gradient` or `torch.Tensor.detach`). Use it where a value
    changes the computation but not its result, so that its gradient is zero
    and computing it would only cost time and memory: the running maximum
    that stabilizes a log-sum-exp is the case in point (the differentiable
    chunked form of `ssm.attention` puts it there).

    Both differentiation passes replace every `ssm.stop_gradient` by its
    operand when they are done; `ssm-strip-stop-gradients` does that alone
    (the CPU and CUDA pipelines run it after `convert-ssm-to-linalg`).

    ```mlir
    %m0 = ssm.stop_gradient %m : tensor<?x4x?xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

//===----------------------------------------------------------------------===//
// Kernels of the GPU targets
//===----------------------------------------------------------------------===//

def SSM_F32TensorOrBuffer : AnyTypeOf<[RankedTensorOf<[F32]>, MemRefOf<[F32]>],
                                     "ranked tensor or memref of f32">;

def SSM_FusedAttentionOp : SSM_Op<"fused_attention", [
    DestinationStyleOpInterface,
    DeclareOpInterfaceMethods<MemoryEffectsOpInterface>,
    DeclareOpInterfaceMethods<BufferizableOpInterface,
        ["bufferizesToMemoryRead", "bufferizesToMemoryWrite",
         "getAliasingValues", "bufferize"]>]> {
  let summary = "Softmax attention as one fused kernel (GPU targets)";
  let description = [{
    `ssm.attention` in the form the GPU targets run as one kernel
    (FlashAttention: per block of queries, tiles of keys with an online
    softmax; the `l x s` scores are never stored). `ssm-fuse-attention`
    makes it from `ssm.attention`; `ssm-linalg-to-gpu` turns its buffer form
    into the kernel's launch. The semantics are `ssm.attention`'s, with the
    scale explicit and everything `f32`: `query` `(b, l, hq, d)`, `key`
    `(b, s, hkv, d)`, `value` `(b, s, hkv, dv)`, the optional additive
    `mask` `(b or 1, hq or 1, l, s)`; the result is written to `init`
    `(b, l, hq, dv)`, which is not read.

    The op is in destination-passing style and works on tensors (one
    result, tied to `init`) or on buffers (no result); one-shot
    bufferization turns the first into the second. Head counts and head
    sizes (`hq`, `hkv`, `d`, `dv`) are static; batch and sequence sizes may
    be dynamic. The kernel `ssm-linalg-to-gpu` emits takes value head sizes
    up to 128 (a larger one is an error there).

    ```mlir
    %y = ssm.fused_attention %q, %k, %v outs(%init : tensor<?x?x8x64xf32>)
        {causal, scale = 0.125 : f32}
        : tensor<?x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32>
        -> tensor<?x?x8x64xf32>
    ```
  }];
  let arguments = (ins SSM_F32TensorOrBuffer:$query,
                       SSM_F32TensorOrBuffer:$key,
                       SSM_F32TensorOrBuffer:$value,
                       Optional<SSM_F32TensorOrBuffer>:$mask,
                       SSM_F32TensorOrBuffer:$init,
                       UnitAttr:$causal, F32Attr:$scale,
                       OptionalAttr<I64Attr>:$window,
                       OptionalAttr<F32Attr>:$softcap);
  let results = (outs Variadic<RankedTensorOf<[F32]>>:$result);
  let assemblyFormat = [{
    $query `,` $key `,` $value (`mask` `(` $mask^ `:` type($mask) `)`)?
    `outs` `(` $init `:` type($init) `)` attr-dict `:` type($query) `,`
    type($key) `,` type($value) (`->` type($result)^)?
  }];
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return getInitMutable();
    }
  }];
  let hasVerifier = 1;
}

def SSM_FusedSSDOp : SSM_Op<"fused_ssd", [
    AttrSizedOperandSegments, DestinationStyleOpInterface,
    DeclareOpInterfaceMethods<MemoryEffectsOpInterface>,
    DeclareOpInterfaceMethods<BufferizableOpInterface,
        ["bufferizesToMemoryRead", "bufferizesToMemoryWrite",
         "getAliasingValues", "bufferize"]>]> {
  let summary = "The scalar-decay SSM (SSD, Discrete Mamba-2) as fused kernels (GPU targets)";
  let description = [{
    The selective state space recurrence shared by `ssm.ssd` and
    `ssm.discrete_ssd` after their prologues, in the form the GPU targets
    run as two kernels (the chunks' `C B^T` products, then one pass over
    the chunks per head carrying the state in workgroup memory; no state
    per chunk is stored). `ssm-fuse-ssd` makes it from those ops;
    `ssm-linalg-to-gpu` turns its buffer form into the kernels' launches.
    Everything is `f32`. Operands: `x (b, l, h, p)`, the per-token log
    decay `log_decay (b, l, h)`, optionally the input scale
    `scale (b, l, h)` (SSD's `dt'`; 1 when absent), `B` and `C
    (b, l, g, n)` with `h % g == 0` (head `i` uses group `i / (h / g)`),
    optionally `D (h)` or `(h, p)`, the gate `gate (b, l, h, p)` and
    `initial_state (b, h, p, n)`:

    ```
    H_t = exp(min(log_decay_t, 0)) H_{t-1} + scale_t x_t B_t^T
    y_t = H_t C_t + D x_t
    y_t = y_t * silu(gate_t)                      if gate
    ```

    `y` is written to `y_init (b, l, h, p)` and the final state `H_l` to
    `state_init (b, h, p, n)`; neither is read. The op is in
    destination-passing style and works on tensors (two results, tied to
    the inits) or on buffers (no result). Head count, group count, head
    size and state size are static; batch and sequence sizes may be
    dynamic. The kernels take state sizes up to 128.

    ```mlir
    %y, %s = ssm.fused_ssd %x, %g, %B, %C scale(%dt : tensor<?x?x8xf32>)
        outs(%ye, %se : tensor<?x?x8x64xf32>, tensor<?x8x64x128xf32>)
        : tensor<?x?x8x64xf32>, tensor<?x?x8xf32>, tensor<?x?x1x128xf32>,
          tensor<?x?x1x128xf32>
        -> tensor<?x?x8x64xf32>, tensor<?x8x64x128xf32>
    ```
  }];
  let arguments = (ins SSM_F32TensorOrBuffer:$x,
                       SSM_F32TensorOrBuffer:$log_decay,
                       SSM_F32TensorOrBuffer:$B, SSM_F32TensorOrBuffer:$C,
                       Optional<SSM_F32TensorOrBuffer>:$scale,
                       Optional<SSM_F32TensorOrBuffer>:$D,
                       Optional<SSM_F32TensorOrBuffer>:$gate,
                       Optional<SSM_F32TensorOrBuffer>:$initial_state,
                       SSM_F32TensorOrBuffer:$y_init,
                       SSM_F32TensorOrBuffer:$state_init);
  let results = (outs Variadic<RankedTensorOf<[F32]>>:$result);
  let assemblyFormat = [{
    $x `,` $log_decay `,` $B `,` $C
    (`scale` `(` $scale^ `:` type($scale) `)`)?
    (`D` `(` $D^ `:` type($D) `)`)?
    (`gate` `(` $gate^ `:` type($gate) `)`)?
    (`initial_state` `(` $initial_state^ `:` type($initial_state) `)`)?
    `outs` `(` $y_init `,` $state_init `:` type($y_init) `,`
    type($state_init) `)` attr-dict `:` type($x) `,` type($log_decay) `,`
    type($B) `,` type($C) (`->` type($result)^)?
  }];
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return ::mlir::MutableOperandRange(getOperation(),
          getOperation()->getNumOperands() - 2, 2);
    }
  }];
  let hasVerifier = 1;
}

#endif // SSM_DIALECT_SSM_IR_SSMOPS_TD
