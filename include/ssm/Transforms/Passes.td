//===- Passes.td - SSM transformation passes ---------------*- tablegen -*-===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TRANSFORMS_PASSES_TD
#define SSM_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def SSMMaterializeMixers : Pass<"ssm-materialize-mixers"> {
  let summary = "Lower every mixer to its quadratic (materialized mixing matrix) form";
  let description = [{
    Replaces every op implementing `MixerOpInterface` by the ops that
    `buildQuadraticForm` builds: the per-head mixing matrix materialized in
    `linalg`/`tensor`/`arith`/`math`, applied to the inputs, plus the
    initial-state contribution, skip connection, gate and final states. This
    is the reference semantics that chunked and GPU forms are tested
    against; it costs O(L^2) memory per head.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect", "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def SSMMixersToRecurrent : Pass<"ssm-mixers-to-recurrent"> {
  let summary = "Lower every mixer to its recurrent form: a loop of single-token steps";
  let description = [{
    Replaces every op implementing `MixerOpInterface` by an `scf.for` over
    the tokens whose body is the op's `buildRecurrentStep`, carrying the
    explicit state of `getStateInfo` (SSM state, rotary angle, last token,
    KV cache) from token to token. This is the form decode entry points use
    one token at a time; as a whole-sequence lowering it is the second
    reference the quadratic form is checked against. Non-causal attention and
    attention with an additive mask have no recurrent form: the pass reports
    an error on them.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect", "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def SSMCPULoopOrder : Pass<"ssm-cpu-loop-order"> {
  let summary = "Order linalg.generic loops for CPU code: a contiguous parallel loop innermost";
  let description = [{
    Contractions come out of the importer and the mixer lowerings with their
    reduction loops innermost (`C[m, n] += A[m, k] B[k, n]` iterates `k`
    last), which walks `B` with a stride and leaves LLVM a floating-point
    sum it may not reorder, so the innermost loop stays scalar. This pass
    interchanges the loops of every `linalg.generic` whose innermost loop is
    a reduction and whose output's last index is a parallel loop that is also
    the last index of some input: that loop moves innermost, all others keep
    their order. Every access of the new innermost loop is then contiguous in
    the output and that input, and each iteration is independent, so LLVM's
    loop vectorizer vectorizes it. Sums keep their order (only the loops
    around them are reordered), so results are bit-identical. Generic ops
    without such a loop (row reductions, for example) are left as they are.
  }];
  let dependentDialects = ["::mlir::affine::AffineDialect",
                           "::mlir::linalg::LinalgDialect"];
}

#endif // SSM_TRANSFORMS_PASSES_TD
