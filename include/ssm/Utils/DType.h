//===- DType.h - Runtime dtype names of MLIR types --------------*- C++ -*-===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#ifndef SSM_UTILS_DTYPE_H
#define SSM_UTILS_DTYPE_H

#include "mlir/IR/Types.h"

namespace mlir::ssm {

/// The dtype name of element type `t` in entry-point signatures and the
/// runtime (float32, int64, bool, ...), or "" for a type the runtime has no
/// dtype for.
StringRef dtypeName(Type t);

} // namespace mlir::ssm

#endif // SSM_UTILS_DTYPE_H
