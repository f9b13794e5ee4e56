//===- SSMDialect.td - SSM dialect definition --------------*- tablegen -*-===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#ifndef SSM_DIALECT_SSM_IR_SSMDIALECT_TD
#define SSM_DIALECT_SSM_IR_SSMDIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def SSM_Dialect : Dialect {
  let name = "ssm";
  let cppNamespace = "::mlir::ssm";
  let summary = "Token mixers of hybrid attention / state space language models";
  let description = [{
    The `ssm` dialect describes the token mixers of hybrid attention / state
    space models at the level where they are one family: every mixer computes
    `y = M x` with a structured `L x L` matrix `M` per head (MOHAWK's view).
    Softmax attention, the scalar-decay state space family (Mamba-2 SSD and
    Discrete Mamba-2) and Mamba-3 (trapezoidal input, rotary state, MIMO) are
    ops that implement `MixerOpInterface`; a few supporting ops (RMSNorm,
    causal depthwise conv1d with state, rotary embedding, the per-head hybrid
    merge) cover what upstream dialects do not express well.

    Conventions shared by all ops:

    * Activations are `(batch, seq, heads, head_dim)`; batch and sequence
      dimensions may be dynamic, every feature dimension (heads, groups,
      head_dim, state size, rank, channels, kernel width) must be static.
    * Activations and weights are `f32`, `f16` or `bf16`; recurrent states are
      always `f32`, and all accumulation, softmax statistics and cumulative
      decays are computed in `f32`.
    * Exponent arguments of decays are clamped at 0: `exp(min(x, 0))`.

    The exact semantics are those of SEMANTICS.md; `docs/Rationale.md`
    explains the choice of ops and what the interface promises.
  }];
  let useDefaultAttributePrinterParser = 1;
}

def SSM_RotaryPairing : I32EnumAttr<"RotaryPairing",
    "How rotary embedding pairs the features it rotates", [
      I32EnumAttrCase<"interleaved", 0>,
      I32EnumAttrCase<"halves", 1>
    ]> {
  let cppNamespace = "::mlir::ssm";
  let genSpecializedAttr = 0;
}

def SSM_RotaryPairingAttr : EnumAttr<SSM_Dialect, SSM_RotaryPairing,
                                     "rotary_pairing"> {
  let assemblyFormat = "`<` $value `>`";
  let description = [{
    `interleaved` rotates the pairs `(2i, 2i+1)` (GPT-J style, Mamba-3 SISO);
    `halves` rotates the pairs `(i, i + R)` over the rotated width `2R`
    (GPT-NeoX / Llama `rotate_half` style, Mamba-3 MIMO).
  }];
}

def SSM_LinearAttentionRule : I32EnumAttr<"LinearAttentionRule",
    "The state update of linear attention", [
      I32EnumAttrCase<"linear", 0>,
      I32EnumAttrCase<"gated", 1>,
      I32EnumAttrCase<"delta", 2>,
      I32EnumAttrCase<"gated_delta", 3>
    ]> {
  let cppNamespace = "::mlir::ssm";
  let genSpecializedAttr = 0;
}

def SSM_LinearAttentionRuleAttr : EnumAttr<SSM_Dialect, SSM_LinearAttentionRule,
                                           "linear_attention_rule"> {
  let assemblyFormat = "`<` $value `>`";
  let description = [{
    The state update of `ssm.linear_attention`: `linear` (no decay),
    `gated` (a log-space decay), `delta` (the delta rule, DeltaNet) and
    `gated_delta` (both, Gated DeltaNet), as in ONNX `LinearAttention`.
  }];
}

class SSM_Op<string mnemonic, list<Trait> traits = []>
    : Op<SSM_Dialect, mnemonic, traits>;

// Activations and weights: f32, f16 or bf16 ranked tensors.
def SSM_FloatTensor : RankedTensorOf<[F32, F16, BF16]>;
// Recurrent states are always f32.
def SSM_StateTensor : RankedTensorOf<[F32]>;

#endif // SSM_DIALECT_SSM_IR_SSMDIALECT_TD
