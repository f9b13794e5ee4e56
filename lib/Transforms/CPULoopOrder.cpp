//===- CPULoopOrder.cpp - Contiguous parallel loop innermost --------------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "ssm/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMCPULOOPORDER
#include "ssm/Transforms/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;
using namespace mlir::ssm;

/// The loop indexed by the last result of `map`, if that result is a plain
/// loop index.
static std::optional<unsigned> lastIndex(AffineMap map) {
  if (map.getNumResults() == 0)
    return std::nullopt;
  if (auto d = dyn_cast<AffineDimExpr>(map.getResults().back()))
    return d.getPosition();
  return std::nullopt;
}

/// The loop to move innermost in `op`, if any (see the pass description).
static std::optional<unsigned> innermostCandidate(linalg::GenericOp op) {
  unsigned n = op.getNumLoops();
  if (n < 2 || op.getNumDpsInits() != 1)
    return std::nullopt;
  SmallVector<utils::IteratorType> iters = op.getIteratorTypesArray();
  if (iters.back() != utils::IteratorType::reduction)
    return std::nullopt;
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  std::optional<unsigned> out = lastIndex(maps.back());
  if (!out || iters[*out] != utils::IteratorType::parallel)
    return std::nullopt;
  for (AffineMap in : ArrayRef(maps).drop_back())
    if (lastIndex(in) == out)
      return out;
  return std::nullopt;
}

namespace {
struct SSMCPULoopOrder : mlir::ssm::impl::SSMCPULoopOrderBase<SSMCPULoopOrder> {
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> ops;
    getOperation()->walk([&](linalg::GenericOp op) { ops.push_back(op); });
    IRRewriter rewriter(&getContext());
    for (linalg::GenericOp op : ops) {
      std::optional<unsigned> loop = innermostCandidate(op);
      if (!loop)
        continue;
      SmallVector<unsigned> order;
      for (unsigned i = 0, e = op.getNumLoops(); i < e; ++i)
        if (i != *loop)
          order.push_back(i);
      order.push_back(*loop);
      rewriter.setInsertionPoint(op);
      if (failed(linalg::interchangeGenericOp(rewriter, op, order))) {
        op.emitOpError() << "loop interchange failed";
        return signalPassFailure();
      }
    }
  }
};
} // namespace
