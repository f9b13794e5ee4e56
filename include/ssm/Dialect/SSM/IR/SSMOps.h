//===- SSMOps.h - SSM dialect operations ------------------------*- C++ -*-===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#ifndef SSM_DIALECT_SSM_IR_SSMOPS_H
#define SSM_DIALECT_SSM_IR_SSMOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "ssm/Dialect/SSM/IR/SSMDialect.h"
#include "ssm/Dialect/SSM/IR/SSMInterfaces.h"

#include "ssm/Dialect/SSM/IR/SSMEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "ssm/Dialect/SSM/IR/SSMAttrs.h.inc"

#define GET_OP_CLASSES
#include "ssm/Dialect/SSM/IR/SSMOps.h.inc"

namespace mlir::ssm {

/// The operands of the scalar-decay recurrence that `ssm.ssd` and
/// `ssm.discrete_ssd` share, after the op's prologue, as f32 tensors (see
/// ssm.fused_ssd): `scale`, `D`, `gate` and `initialState` are null when the
/// op has none.
struct ScalarDecayOperands {
  Value x, logDecay, scale, B, C, D, gate, initialState;
};

/// Builds at `b`'s insertion point the prologue of `op`, an `ssm.ssd` or
/// `ssm.discrete_ssd` on tensors (dt' and log decays, the gate bias), and
/// returns the recurrence's operands.
ScalarDecayOperands buildScalarDecayOperands(OpBuilder &b, Operation *op);

} // namespace mlir::ssm

#endif // SSM_DIALECT_SSM_IR_SSMOPS_H
