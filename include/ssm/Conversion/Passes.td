//===- Passes.td - SSM conversion passes -------------------*- tablegen -*-===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#ifndef SSM_CONVERSION_PASSES_TD
#define SSM_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertSSMToLinalg : Pass<"convert-ssm-to-linalg"> {
  let summary = "Lower the supporting ssm ops to linalg, tensor, arith and math";
  let description = [{
    Lowers `ssm.rms_norm`, `ssm.causal_conv1d`, `ssm.rotary`,
    `ssm.hybrid_merge` and `ssm.token_positions` to `linalg.generic` ops on
    tensors, computing in f32 and casting back to the result element type. Mixers must have been
    lowered before (by `ssm-materialize-mixers` or `ssm-mixers-to-recurrent`);
    a mixer left in the input is reported as an error.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect", "::mlir::tensor::TensorDialect"
  ];
}

def SSMMemrefCopyToLinalg : Pass<"ssm-memref-copy-to-linalg"> {
  let summary = "Rewrite memref.copy as linalg.copy";
  let description = [{
    `memref.copy` between buffers with non-identity layouts lowers to a call
    of `memrefCopy` from MLIR's runner library, which a self-contained
    model library does not have. As `linalg.copy` it lowers to plain loops
    (`convert-linalg-to-loops`). The reference CPU pipeline runs this after
    bufferization.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

#endif // SSM_CONVERSION_PASSES_TD
