//===- Contraction.h - Matching multiply-add contractions -------*- C++ -*-===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TRANSFORMS_CONTRACTION_H
#define SSM_TRANSFORMS_CONTRACTION_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"

namespace mlir::ssm {

/// Whether the body of `op` is exactly `out + a * b` (in either order), with
/// `a` and `b` its two inputs and `out` its one init.
bool isMultiplyAdd(linalg::GenericOp op);

/// Whether the body of `op` is `out + a * b * s`: the product of its three
/// inputs, each used once, in any order and association, added to its one
/// init. (A chunked SSD weights the products of its chunk states by a decay
/// that depends on the reduction index or on the output row.)
bool isScaledMultiplyAdd(linalg::GenericOp op);

} // namespace mlir::ssm

#endif // SSM_TRANSFORMS_CONTRACTION_H
