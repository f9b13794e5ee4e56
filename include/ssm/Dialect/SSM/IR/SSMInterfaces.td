//===- SSMInterfaces.td - SSM op interfaces ----------------*- tablegen -*-===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#ifndef SSM_DIALECT_SSM_IR_SSMINTERFACES_TD
#define SSM_DIALECT_SSM_IR_SSMINTERFACES_TD

include "mlir/IR/OpBase.td"

def SSM_MixerOpInterface : OpInterface<"MixerOpInterface"> {
  let cppNamespace = "::mlir::ssm";
  let description = [{
    Implemented by every token mixer. A mixer computes, per head, `y = M x`
    for a structured mixing matrix `M`; this interface is how passes see that
    structure without special cases per op:

    * `materializeMixingMatrix` builds `M` explicitly in upstream ops
      (`tensor`, `linalg`, `arith`, `math`): the quadratic reference form, and
      what MOHAWK stage 1 compares against a teacher's attention matrices.
    * `buildQuadraticForm` builds the op's full results from that matrix
      (adding what `M` does not carry: initial-state contribution, skip
      connection, gate, final states). The result is the reference semantics
      the chunked and GPU forms are tested against.
    * `getStateInfo` reports the explicit recurrent state (SSM state, rotary
      angle, last token, or the KV cache of attention).
    * `buildRecurrentStep` builds one token of the recurrence: from the state
      before the token and the op's operands restricted to that token, the
      token's outputs and the state after it.

    All values built are in `f32`; callers cast results back to the op's
    result element types.
  }];

  let methods = [
    InterfaceMethod<[{
        Builds the materialized mixing matrix at the op's location, before the
        op. The result is `tensor<B x H x (L*R) x (S*R) x f32>`: batch, mixer
        heads, output tokens times rank, input tokens times rank (`R` = 1 for
        all mixers but Mamba-3 MIMO, `S = L` for all but attention with a
        KV prefix). Row `i*R + r` and column `j*R + r'` give the weight of the
        rank-`r'` input of token `j` in the rank-`r` output of token `i`.
        Skip connections (`D`) and gates are not part of the matrix.
      }],
      "::mlir::FailureOr<::mlir::Value>", "materializeMixingMatrix",
      (ins "::mlir::OpBuilder &":$builder)>,
    InterfaceMethod<[{
        Builds the op's results in quadratic form (through the materialized
        matrix) at the op's location, in the order and types of the op's
        results.
      }],
      "::mlir::FailureOr<::llvm::SmallVector<::mlir::Value>>",
      "buildQuadraticForm", (ins "::mlir::OpBuilder &":$builder)>,
    InterfaceMethod<[{
        Whether the op has a chunked form (`buildChunkedForm`).
      }],
      "bool", "hasChunkedForm", (ins), [{}], [{ return false; }]>,
    InterfaceMethod<[{
        Builds the op's results in chunked form at the op's location, in the
        order and types of `buildQuadraticForm`: the sequence is cut into
        chunks of `chunkSize` tokens (the last one padded), each chunk is
        computed in quadratic form (its own `chunkSize x chunkSize` mixing
        matrix, as matrix products) and the state is passed from chunk to
        chunk by a loop over the chunks. For attention `chunkSize` is a tile
        of keys, and the loop carries the online softmax's running maximum,
        sum and output. Memory is O(L * chunkSize) per head instead of
        O(L^2). Only called when `hasChunkedForm` is true.
      }],
      "::mlir::FailureOr<::llvm::SmallVector<::mlir::Value>>",
      "buildChunkedForm",
      (ins "::mlir::OpBuilder &":$builder, "int64_t":$chunkSize), [{}],
      [{ return ::mlir::failure(); }]>,
    InterfaceMethod<[{
        Builds the chunked form that the differentiation passes reverse
        most cheaply (`ssm-chunk-mixers{differentiable}`): the same results
        as `buildChunkedForm`, possibly at a higher forward cost, with loops
        whose reverse needs no tape of the values they carry. Defaults to
        `buildChunkedForm`. Attention overrides it: the log-sum-exp of every
        query row first (a running maximum held constant by
        `ssm.stop_gradient`, then a sum of exponentials), then the output as a
        plain sum of `exp(score - lse) v` over the key tiles; the reverse
        recomputes each tile's probabilities from the log-sum-exp.
      }],
      "::mlir::FailureOr<::llvm::SmallVector<::mlir::Value>>",
      "buildDifferentiableChunkedForm",
      (ins "::mlir::OpBuilder &":$builder, "int64_t":$chunkSize), [{}],
      [{ return $_op.buildChunkedForm(builder, chunkSize); }]>,
    InterfaceMethod<[{
        Describes the recurrent state carried from token to token, in the
        order `buildRecurrentStep` takes and returns it.
      }],
      "::llvm::SmallVector<::mlir::ssm::MixerStateInfo>", "getStateInfo">,
    InterfaceMethod<[{
        Builds one token of the recurrence, before the op: token `t` (an
        `index` value in `[0, L)`) of the op's own operands, with the state
        before the token in `state` (in the order and shapes of
        `getStateInfo`). Returns the token's outputs (the op's results that
        have a sequence dimension, sequence size 1, f32) and the state after
        the token. Passes wrap it in a loop over tokens (the recurrent form)
        or call it once (decode).
      }],
      "::mlir::FailureOr<::mlir::ssm::MixerStep>", "buildRecurrentStep",
      (ins "::mlir::OpBuilder &":$builder, "::mlir::Value":$t,
           "::mlir::ValueRange":$state)>,
    InterfaceMethod<[{
        Builds the initial state values of the recurrence from the op's
        `initial_*` operands (zeros where absent), for a given batch size.
      }],
      "::mlir::FailureOr<::llvm::SmallVector<::mlir::Value>>",
      "buildInitialState", (ins "::mlir::OpBuilder &":$builder)>,
    InterfaceMethod<[{
        Indices of the op's results that carry the final state, in the order
        of `getStateInfo` (empty for attention, whose KV cache is not a result).
      }],
      "::llvm::SmallVector<unsigned>", "getFinalStateResultIndices">
  ];
}

#endif // SSM_DIALECT_SSM_IR_SSMINTERFACES_TD
