//===- CPULoopOrder.cpp - Contiguous parallel loop innermost --------------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "ssm/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
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

/// For a contraction that keeps its reduction loop innermost (no parallel
/// loop can go there): the order of the loops that keeps the reduction(s)
/// innermost and puts the loops of the largest input (by static elements)
/// outermost, so that the largest operand is streamed once while the others
/// stay in cache. Empty when nothing changes.
static SmallVector<unsigned> dotProductOrder(linalg::GenericOp op) {
  unsigned n = op.getNumLoops();
  SmallVector<utils::IteratorType> iters = op.getIteratorTypesArray();
  if (n < 2 || op.getNumDpsInits() != 1 ||
      iters.back() != utils::IteratorType::reduction)
    return {};
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  int64_t best = -1;
  AffineMap largest;
  for (OpOperand *in : op.getDpsInputOperands()) {
    auto type = dyn_cast<ShapedType>(in->get().getType());
    if (!type)
      continue;
    int64_t elems = 1;
    for (int64_t d : type.getShape())
      elems *= ShapedType::isDynamic(d) ? 1 : d;
    if (elems > best) {
      best = elems;
      largest = maps[in->getOperandNumber()];
    }
  }
  if (!largest)
    return {};
  SmallVector<unsigned> order;
  llvm::SmallDenseSet<unsigned> placed;
  auto place = [&](unsigned i) {
    if (placed.insert(i).second)
      order.push_back(i);
  };
  for (AffineExpr e : largest.getResults())
    if (auto d = dyn_cast<AffineDimExpr>(e);
        d && iters[d.getPosition()] == utils::IteratorType::parallel)
      place(d.getPosition());
  for (unsigned i = 0; i < n; ++i)
    if (iters[i] == utils::IteratorType::parallel)
      place(i);
  for (unsigned i = 0; i < n; ++i)
    place(i);
  for (unsigned i = 0; i < n; ++i)
    if (order[i] != i)
      return order;
  return {};
}

/// Lets LLVM vectorize the innermost reduction of `op`: the floating-point
/// add that accumulates into the output may be reassociated (and the
/// multiply feeding it contracted into an FMA). Returns whether it found it.
static bool allowReassociation(linalg::GenericOp op) {
  Block &body = op.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  if (yield.getNumOperands() != 1)
    return false;
  auto add = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
  Value acc = body.getArguments().back();
  if (!add || (add.getLhs() != acc && add.getRhs() != acc))
    return false;
  auto flags = arith::FastMathFlags::reassoc | arith::FastMathFlags::contract;
  add.setFastmath(flags);
  Value term = add.getLhs() == acc ? add.getRhs() : add.getLhs();
  if (auto mul = term.getDefiningOp<arith::MulFOp>())
    mul.setFastmath(arith::FastMathFlags::contract);
  return true;
}

/// Rows of a block of a row-blocked contraction.
static constexpr int64_t kRowBlock = 8;

/// For a contraction already ordered with a contiguous parallel loop
/// innermost (`C[m, n] += A[m, k] B[k, n]` as (m, k, n)) whose largest input
/// is a large static matrix (the weights) that some outer parallel loops do
/// not index (the rows m): blocks those rows by kRowBlock and orders each
/// block (k, m, n), so that the weights are streamed once per block of rows
/// instead of once per row. Returns the blocked op (or `op` unchanged).
static FailureOr<linalg::GenericOp> blockRows(RewriterBase &rewriter,
                                              linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics())
    return op;
  SmallVector<utils::IteratorType> iters = op.getIteratorTypesArray();
  unsigned n = op.getNumLoops();
  if (n < 3 || iters.back() != utils::IteratorType::parallel)
    return op;
  // The largest input, static.
  int64_t best = 0;
  AffineMap weights;
  for (OpOperand *in : op.getDpsInputOperands()) {
    auto type = dyn_cast<MemRefType>(in->get().getType());
    if (!type || !type.hasStaticShape())
      continue;
    if (type.getNumElements() > best) {
      best = type.getNumElements();
      weights = op.getMatchingIndexingMap(in);
    }
  }
  if (!weights || best < (int64_t(1) << 16))
    return op;
  SmallVector<int64_t> tiles(n, 0);
  SmallVector<unsigned> rows, reductions, others;
  for (unsigned i = 0; i + 1 < n; ++i) {
    bool used = llvm::any_of(weights.getResults(), [&](AffineExpr e) {
      return e.isFunctionOfDim(i);
    });
    if (iters[i] == utils::IteratorType::reduction)
      reductions.push_back(i);
    else if (!used)
      rows.push_back(i), tiles[i] = kRowBlock;
    else
      others.push_back(i);
  }
  if (rows.empty() || reductions.empty())
    return op;
  rewriter.setInsertionPoint(op);
  linalg::LinalgTilingOptions options;
  options.setTileSizes(tiles);
  FailureOr<linalg::TiledLinalgOp> tiled =
      linalg::tileLinalgOp(rewriter, op, options);
  if (failed(tiled))
    return failure();
  rewriter.eraseOp(op);
  auto inner = cast<linalg::GenericOp>(tiled->op.getOperation());
  // Inside a block: (other parallel loops, reductions, rows, innermost).
  SmallVector<unsigned> order(others);
  order.append(reductions);
  order.append(rows);
  order.push_back(n - 1);
  rewriter.setInsertionPoint(inner);
  if (failed(linalg::interchangeGenericOp(rewriter, inner, order)))
    return failure();
  return inner;
}

namespace {
struct SSMCPULoopOrder : mlir::ssm::impl::SSMCPULoopOrderBase<SSMCPULoopOrder> {
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> ops;
    getOperation()->walk([&](linalg::GenericOp op) { ops.push_back(op); });
    IRRewriter rewriter(&getContext());
    for (linalg::GenericOp op : ops) {
      std::optional<unsigned> loop = innermostCandidate(op);
      SmallVector<unsigned> order;
      if (loop) {
        for (unsigned i = 0, e = op.getNumLoops(); i < e; ++i)
          if (i != *loop)
            order.push_back(i);
        order.push_back(*loop);
      } else if (op.getNumLoops() > 0 &&
                 op.getIteratorTypesArray().back() ==
                     utils::IteratorType::reduction &&
                 allowReassociation(op)) {
        order = dotProductOrder(op);
      }
      if (order.empty())
        continue;
      rewriter.setInsertionPoint(op);
      FailureOr<linalg::GenericOp> ordered =
          linalg::interchangeGenericOp(rewriter, op, order);
      if (failed(ordered)) {
        op.emitOpError() << "loop interchange failed";
        return signalPassFailure();
      }
      if (loop && failed(blockRows(rewriter, *ordered))) {
        ordered->emitOpError() << "row blocking failed";
        return signalPassFailure();
      }
    }
  }
};
} // namespace
