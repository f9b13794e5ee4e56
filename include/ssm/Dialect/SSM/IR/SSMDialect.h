//===- SSMDialect.h - SSM dialect -------------------------------*- C++ -*-===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#ifndef SSM_DIALECT_SSM_IR_SSMDIALECT_H
#define SSM_DIALECT_SSM_IR_SSMDIALECT_H

#include "mlir/IR/Dialect.h"

#include "ssm/Dialect/SSM/IR/SSMDialect.h.inc"

#endif // SSM_DIALECT_SSM_IR_SSMDIALECT_H
