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

def SSMIdentityLayoutResults : Pass<"ssm-identity-layout-results", "::mlir::func::FuncOp"> {
  let summary = "Copy function results that are strided views into identity-layout buffers";
  let description = [{
    With `function-boundary-type-conversion=identity-layout-map`,
    one-shot-bufferize returns a view of a larger buffer (a
    `memref.subview`, for example the first `l` tokens of a padded
    sequence) through a `memref.cast` to the identity layout. The cast is
    only right when the view's strides happen to be the identity ones: a
    subview at offset 0 with a dynamic outer stride (such as
    `strided<[?, 8, 4, 1]>`) passes the cast's static check, and the caller
    then reads the buffer with wrong strides.

    This pass, run right after one-shot-bufferize, replaces each such
    returned cast (from a non-identity layout to the identity layout) by a
    new identity-layout buffer and a copy of the view into it. Returned
    buffers that already have the identity layout are left alone.

    ```mlir
    %v = memref.subview %buf[0, 0] [2, %l] [1, 1]
        : memref<2x?xf32> to memref<2x?xf32, strided<[?, 1]>>
    %c = memref.cast %v : memref<2x?xf32, strided<[?, 1]>> to memref<2x?xf32>
    return %c : memref<2x?xf32>
    // becomes
    %d = memref.dim %v, %c1 : memref<2x?xf32, strided<[?, 1]>>
    %new = memref.alloc(%d) : memref<2x?xf32>
    memref.copy %v, %new : memref<2x?xf32, strided<[?, 1]>> to memref<2x?xf32>
    return %new : memref<2x?xf32>
    ```
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

#endif // SSM_CONVERSION_PASSES_TD
