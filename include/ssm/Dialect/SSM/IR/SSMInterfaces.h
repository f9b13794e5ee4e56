//===- SSMInterfaces.h - SSM op interfaces ----------------------*- C++ -*-===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#ifndef SSM_DIALECT_SSM_IR_SSMINTERFACES_H
#define SSM_DIALECT_SSM_IR_SSMINTERFACES_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "llvm/ADT/SmallVector.h"

#include <optional>
#include <string>

namespace mlir::ssm {

/// One piece of a mixer's recurrent state.
struct MixerStateInfo {
  /// Short name used in entry-point signatures ("ssm_state", "k_cache", ...).
  std::string name;
  /// Shape and element type; the batch dimension follows the op's operands.
  RankedTensorType type;
  /// For KV caches: the dimension that grows by one per token.
  std::optional<unsigned> growingDim;
};

/// The result of building one recurrent step.
struct MixerStep {
  /// Per-token outputs (sequence size 1), f32, in the order of the op's
  /// results that have a sequence dimension.
  SmallVector<Value> outputs;
  /// State after the token, in the order of getStateInfo().
  SmallVector<Value> newState;
};

} // namespace mlir::ssm

#include "ssm/Dialect/SSM/IR/SSMInterfaces.h.inc"

#endif // SSM_DIALECT_SSM_IR_SSMINTERFACES_H
