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
    Lowers `ssm.rms_norm`, `ssm.causal_conv1d`, `ssm.rotary` and
    `ssm.hybrid_merge` to `linalg.generic` ops on tensors, computing in f32
    and casting back to the result element type. Mixers must have been
    lowered before (by `ssm-materialize-mixers` or `ssm-mixers-to-recurrent`);
    a mixer left in the input is reported as an error.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect", "::mlir::tensor::TensorDialect"
  ];
}

#endif // SSM_CONVERSION_PASSES_TD
