//===- MixersToRecurrent.cpp - Mixers to a loop of single-token steps -----===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "ssm/Dialect/SSM/IR/SSMOps.h"
#include "ssm/Transforms/Passes.h"
#include "ssm/Utils/Einsum.h"

#include "mlir/Dialect/SCF/IR/SCF.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMMIXERSTORECURRENT
#include "ssm/Transforms/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;
using namespace mlir::ssm;

namespace {

/// Builds the loop over tokens replacing `mixer`; returns the replacement of
/// each of its results, or failure (after reporting an error).
FailureOr<SmallVector<Value>> buildRecurrentLoop(MixerOpInterface mixer) {
  Operation *op = mixer.getOperation();
  Location loc = op->getLoc();
  OpBuilder b(op);
  SmallVector<MixerStateInfo> infos = mixer.getStateInfo();
  FailureOr<SmallVector<Value>> init = mixer.buildInitialState(b);
  if (failed(init))
    return failure(); // The op reported why.
  if (init->size() != infos.size())
    return op->emitOpError() << "could not build its initial state";
  SmallVector<Value> iterArgs;
  for (auto [value, info] : llvm::zip(*init, infos))
    iterArgs.push_back(castToTensorType(b, loc, value, info.type));

  // The sequence operand (x or query) is operand 0, sequence at dim 1.
  Value seqOperand = op->getOperand(0);
  auto outType = cast<RankedTensorType>(op->getResult(0).getType());
  SmallVector<OpFoldResult> outSizes;
  for (int64_t d = 0; d < outType.getRank(); ++d)
    outSizes.push_back(outType.isDynamicDim(d) ? dimOf(b, loc, seqOperand, d)
                                               : OpFoldResult(b.getIndexAttr(
                                                     outType.getDimSize(d))));
  iterArgs.push_back(tensor::EmptyOp::create(b, loc, outSizes, b.getF32Type()));

  Value lb = arith::ConstantIndexOp::create(b, loc, 0);
  Value ub = toIndex(b, loc, dimOf(b, loc, seqOperand, 1));
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  bool ok = true;
  auto loop = scf::ForOp::create(
      b, loc, lb, ub, one, iterArgs,
      [&](OpBuilder &nb, Location l, Value t, ValueRange args) {
        ValueRange state = args.drop_back();
        FailureOr<MixerStep> step = mixer.buildRecurrentStep(nb, t, state);
        if (failed(step) || step->outputs.size() != 1 ||
            step->newState.size() != infos.size()) {
          ok = false;
          scf::YieldOp::create(nb, l, args);
          return;
        }
        SmallVector<Value> yields;
        for (auto [value, info] : llvm::zip(step->newState, infos))
          yields.push_back(castToTensorType(nb, l, value, info.type));
        yields.push_back(
            insertAlong(nb, l, step->outputs[0], args.back(), 1, t));
        scf::YieldOp::create(nb, l, yields);
      });
  if (!ok) {
    loop.erase();
    return failure();
  }

  SmallVector<Value> replacements(op->getNumResults());
  replacements[0] = castToTensorType(b, loc, loop.getResults().back(), outType);
  SmallVector<unsigned> finals = mixer.getFinalStateResultIndices();
  if (finals.size() + 1 != op->getNumResults())
    return op->emitOpError() << "final state results do not match its state";
  for (auto [i, resultIdx] : llvm::enumerate(finals))
    replacements[resultIdx] = castToTensorType(
        b, loc, loop.getResult(i), op->getResult(resultIdx).getType());
  return replacements;
}

struct SSMMixersToRecurrent
    : mlir::ssm::impl::SSMMixersToRecurrentBase<SSMMixersToRecurrent> {
  void runOnOperation() override {
    SmallVector<MixerOpInterface> mixers;
    getOperation()->walk([&](MixerOpInterface op) { mixers.push_back(op); });
    for (MixerOpInterface mixer : mixers) {
      FailureOr<SmallVector<Value>> replacements = buildRecurrentLoop(mixer);
      if (failed(replacements))
        return signalPassFailure();
      mixer->replaceAllUsesWith(*replacements);
      mixer->erase();
    }
  }
};
} // namespace
