//===- MaterializeMixers.cpp - Mixers to their quadratic form -------------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "ssm/Dialect/SSM/IR/SSMOps.h"
#include "ssm/Transforms/Passes.h"
#include "ssm/Utils/Einsum.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMMATERIALIZEMIXERS
#include "ssm/Transforms/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;
using namespace mlir::ssm;

namespace {
struct SSMMaterializeMixers
    : mlir::ssm::impl::SSMMaterializeMixersBase<SSMMaterializeMixers> {
  void runOnOperation() override {
    SmallVector<MixerOpInterface> mixers;
    getOperation()->walk([&](MixerOpInterface op) { mixers.push_back(op); });
    for (MixerOpInterface mixer : mixers) {
      Operation *op = mixer.getOperation();
      OpBuilder b(op);
      FailureOr<SmallVector<Value>> results = mixer.buildQuadraticForm(b);
      if (failed(results) || results->size() != op->getNumResults()) {
        op->emitOpError() << "could not be lowered to its quadratic form";
        return signalPassFailure();
      }
      replaceWithCastResults(b, op, *results);
    }
  }
};
} // namespace
