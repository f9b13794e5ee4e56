//===- ParallelBody.h - Functions run by the thread pool --------*- C++ -*-===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TRANSFORMS_PARALLELBODY_H
#define SSM_TRANSFORMS_PARALLELBODY_H

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace mlir::ssm {

/// A private function `name(begin, end, cost)` marked `ssm.parallel_body`,
/// with internal linkage and an empty entry block, inserted into `symbols`
/// (which renames it when the name is taken).
func::FuncOp createParallelBody(OpBuilder &b, Location loc,
                                SymbolTable &symbols, StringRef name);

/// Makes `func`, whose body uses values of the enclosing function directly,
/// self-contained: constants are cloned into its entry block, other values
/// become trailing arguments. Then calls it at `b`'s insertion point with
/// `leading` followed by those values.
void callWithCapturedValues(OpBuilder &b, Location loc, func::FuncOp func,
                            SmallVector<Value> leading);

} // namespace mlir::ssm

#endif // SSM_TRANSFORMS_PARALLELBODY_H
