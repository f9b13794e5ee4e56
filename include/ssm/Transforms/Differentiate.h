//===- Differentiate.h - Reverse-mode differentiation -----------*- C++ -*-===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TRANSFORMS_DIFFERENTIATE_H
#define SSM_TRANSFORMS_DIFFERENTIATE_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::ssm {

/// The argument/result attributes naming an entry point's input or output
/// (`ssm.name`), as the model signature reads them.
inline DictionaryAttr nameAttrs(MLIRContext *ctx, StringRef name) {
  return DictionaryAttr::get(ctx,
                             {NamedAttribute(StringAttr::get(ctx, "ssm.name"),
                                             StringAttr::get(ctx, name))});
}

/// Adds `f`'s gradient function `<f><suffix>(x..., dy...) -> (y..., dx...)`
/// next to it (see the ssm-differentiate pass) and returns it; on failure
/// the diagnostics name the op without a rule. The float arguments whose
/// numbers are in `constants` are held constant (no gradient).
FailureOr<func::FuncOp>
buildGradientFunction(func::FuncOp f, StringRef suffix, SymbolTable &symbols,
                      ArrayRef<unsigned> constants = {});

/// Replaces every ssm.stop_gradient under `root` by its operand (the
/// differentiation passes do this when they are done).
void stripStopGradients(Operation *root);

} // namespace mlir::ssm

#endif // SSM_TRANSFORMS_DIFFERENTIATE_H
