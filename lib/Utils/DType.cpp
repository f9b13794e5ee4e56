//===- DType.cpp - Runtime dtype names of MLIR types ----------------------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "ssm/Utils/DType.h"

#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;

StringRef mlir::ssm::dtypeName(Type t) {
  if (t.isF32())
    return "float32";
  if (t.isF64())
    return "float64";
  if (t.isF16())
    return "float16";
  if (t.isBF16())
    return "bfloat16";
  if (t.isInteger(1))
    return "bool";
  if (t.isInteger(8))
    return "int8";
  if (t.isInteger(16))
    return "int16";
  if (t.isInteger(32))
    return "int32";
  if (t.isInteger(64))
    return "int64";
  return "";
}
