//===- FuseSSD.cpp - ssm.ssd and ssm.discrete_ssd to ssm.fused_ssd --------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "ssm/Dialect/SSM/IR/SSMOps.h"
#include "ssm/Transforms/Passes.h"
#include "ssm/Utils/Einsum.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMFUSESSD
#include "ssm/Transforms/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;
using namespace mlir::ssm;

namespace {

/// The largest state size the kernels of ssm-linalg-to-gpu take.
constexpr int64_t kMaxFusedStateDim = 128;

struct SSMFuseSSD : mlir::ssm::impl::SSMFuseSSDBase<SSMFuseSSD> {
  using Base::Base;

  void runOnOperation() override {
    if (maxStateDim < 1 || maxStateDim > kMaxFusedStateDim) {
      getOperation()->emitError()
          << "ssm-fuse-ssd: max-state-dim must be between 1 and "
          << kMaxFusedStateDim << " (the fused kernels' limit), got "
          << static_cast<int64_t>(maxStateDim);
      return signalPassFailure();
    }
    SmallVector<Operation *> ops;
    getOperation()->walk([&](Operation *op) {
      if (!isa<SSDOp, DiscreteSSDOp>(op))
        return;
      Value bMat = isa<SSDOp>(op) ? cast<SSDOp>(op).getB()
                                  : cast<DiscreteSSDOp>(op).getB();
      if (cast<RankedTensorType>(bMat.getType()).getDimSize(3) <= maxStateDim)
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      OpBuilder b(op);
      Location loc = op->getLoc();
      ScalarDecayOperands in = buildScalarDecayOperands(b, op);
      SmallVector<OpFoldResult> ySizes = {
          dimOf(b, loc, in.x, 0), dimOf(b, loc, in.x, 1),
          dimOf(b, loc, in.x, 2), dimOf(b, loc, in.x, 3)};
      SmallVector<OpFoldResult> stateSizes = {
          dimOf(b, loc, in.x, 0), dimOf(b, loc, in.x, 2),
          dimOf(b, loc, in.x, 3), dimOf(b, loc, in.B, 3)};
      Value yInit = tensor::EmptyOp::create(b, loc, ySizes, b.getF32Type());
      Value stateInit =
          tensor::EmptyOp::create(b, loc, stateSizes, b.getF32Type());
      auto fused = FusedSSDOp::create(
          b, loc, TypeRange{yInit.getType(), stateInit.getType()}, in.x,
          in.logDecay, in.B, in.C, in.scale, in.D, in.gate, in.initialState,
          yInit, stateInit);
      replaceWithCastResults(b, op, fused.getResult());
    }
  }
};

} // namespace
