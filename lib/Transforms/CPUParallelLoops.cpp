//===- CPUParallelLoops.cpp - Thread the outer loops of linalg.generic ----===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Every linalg.generic on buffers left after ssm-cpu-contraction-kernels
// (elementwise ops, norms, the chunked mixers' products with exponentials)
// becomes a loop over its leading parallel loops, linearized into one range
// of work items, whose body (the generic on the item's slices) is outlined
// into a function marked ssm.parallel_body, as the contraction kernels are:
// ssm-lower-parallel-calls then runs parts of the range on the model
// support code's threads.
//
//===----------------------------------------------------------------------===//

#include "ssm/Transforms/ParallelBody.h"
#include "ssm/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMCPUPARALLELLOOPS
#include "ssm/Transforms/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;
using namespace mlir::ssm;

/// The buffer a view is a view of.
static Value rootOf(Value v) {
  while (auto view = v.getDefiningOp<ViewLikeOpInterface>())
    v = view.getViewSource();
  return v;
}

/// Elements an item should at least have: per-item overhead (the index
/// arithmetic and slices) is then small against its work.
static constexpr int64_t kMinItemElements = 4096;

/// The number of leading loops of `op` to distribute: parallel loops before
/// the first reduction, each indexing every output (whose maps are
/// projected permutations, so items write disjoint elements), leaving at
/// least the innermost loop (the one LLVM vectorizes) to each item, and no
/// more than needed for items of kMinItemElements elements when the inner
/// loops are static. 0 when the op is left whole: its items could touch the
/// same memory (an input viewing an output's buffer other than as that very
/// operand read through the same map), or it is small and static.
static unsigned leadingLoops(linalg::GenericOp op) {
  SmallVector<utils::IteratorType> iters = op.getIteratorTypesArray();
  unsigned n = 0;
  while (n + 1 < iters.size() && iters[n] == utils::IteratorType::parallel)
    ++n;
  for (OpOperand &init : op.getDpsInitsMutable()) {
    AffineMap map = op.getMatchingIndexingMap(&init);
    if (!map.isProjectedPermutation())
      return 0;
    unsigned used = 0;
    while (used < n && map.isFunctionOfDim(used))
      ++used;
    n = std::min(n, used);
  }
  for (OpOperand *in : op.getDpsInputOperands())
    for (OpOperand &init : op.getDpsInitsMutable())
      if (rootOf(in->get()) == rootOf(init.get()) &&
          (in->get() != init.get() ||
           op.getMatchingIndexingMap(in) != op.getMatchingIndexingMap(&init)))
        return 0;
  // Static inner loops join the item until it is large enough.
  SmallVector<int64_t> sizes = op.getStaticLoopRanges();
  int64_t inner = 1;
  for (unsigned d = n; d < sizes.size(); ++d)
    inner = ShapedType::isDynamic(sizes[d]) || ShapedType::isDynamic(inner)
                ? ShapedType::kDynamic
                : inner * sizes[d];
  while (n > 0 && !ShapedType::isDynamic(inner) && inner < kMinItemElements &&
         !ShapedType::isDynamic(sizes[n - 1])) {
    inner *= sizes[n - 1];
    --n;
  }
  return n;
}

/// The loop order that puts the parallel loops ahead of the reductions
/// (each group keeping its order, the innermost loop staying innermost: the
/// one LLVM vectorizes), when a reduction comes first and every output's
/// map is a projected permutation; empty otherwise. A weight's gradient
/// `dW[i, j] += x[b, t, i] dy[b, t, j]` iterates (b, t, j, i) with the
/// batch and sequence loops reductions: reordered to (j, b, t, i), its
/// items are the rows `j`. Each output element's sum keeps its order.
static SmallVector<unsigned> parallelFirst(linalg::GenericOp op) {
  SmallVector<utils::IteratorType> iters = op.getIteratorTypesArray();
  unsigned loops = iters.size();
  if (loops < 3 || iters.front() != utils::IteratorType::reduction)
    return {};
  for (OpOperand &init : op.getDpsInitsMutable())
    if (!op.getMatchingIndexingMap(&init).isProjectedPermutation())
      return {};
  SmallVector<unsigned> order;
  for (unsigned d = 0; d + 1 < loops; ++d)
    if (iters[d] == utils::IteratorType::parallel)
      order.push_back(d);
  if (order.empty())
    return {};
  for (unsigned d = 0; d + 1 < loops; ++d)
    if (iters[d] != utils::IteratorType::parallel)
      order.push_back(d);
  order.push_back(loops - 1);
  return order;
}

namespace {
struct SSMCPUParallelLoops
    : mlir::ssm::impl::SSMCPUParallelLoopsBase<SSMCPUParallelLoops> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<linalg::GenericOp> ops;
    for (auto func : module.getOps<func::FuncOp>()) {
      if (func->hasAttr("ssm.parallel_body") || func.isExternal())
        continue;
      // Only generics of the function's own block: those inside loops (the
      // chunk loop of a mixer) are small per iteration.
      for (Operation &op : func.getBody().front())
        if (auto g = dyn_cast<linalg::GenericOp>(op);
            g && g.hasPureBufferSemantics())
          ops.push_back(g);
    }
    IRRewriter rewriter(&getContext());
    for (linalg::GenericOp &op : ops) {
      SmallVector<unsigned> order = parallelFirst(op);
      if (order.empty())
        continue;
      rewriter.setInsertionPoint(op);
      FailureOr<linalg::GenericOp> reordered =
          linalg::interchangeGenericOp(rewriter, op, order);
      if (succeeded(reordered))
        op = *reordered;
    }
    llvm::erase_if(ops,
                   [](linalg::GenericOp g) { return leadingLoops(g) == 0; });
    SymbolTable symbols(module);
    for (linalg::GenericOp op : ops)
      if (failed(distribute(rewriter, symbols, op)))
        return signalPassFailure();
  }

  LogicalResult distribute(IRRewriter &rewriter, SymbolTable &symbols,
                           linalg::GenericOp op) {
    Location loc = op.getLoc();
    unsigned n = leadingLoops(op);
    rewriter.setInsertionPoint(op);
    // The work of one item: the product of the other loops' sizes. These
    // loop nests are mostly bound by memory, not by their arithmetic: an
    // element counts as one multiply-add of the kernels, so that a decode
    // step's state update (2^17 to 2^18 elements, well under a millisecond)
    // stays on the calling thread instead of paying for a wake-up.
    SmallVector<Range, 4> ranges = cast<linalg::LinalgOp>(op.getOperation())
                                       .createLoopRanges(rewriter, loc);
    Value itemCost = arith::ConstantIndexOp::create(rewriter, loc, 1);
    for (unsigned d = n; d < ranges.size(); ++d)
      itemCost = arith::MulIOp::create(
          rewriter, loc, itemCost,
          getValueOrCreateConstantIndexOp(rewriter, loc, ranges[d].size));

    SmallVector<int64_t> tiles(op.getNumLoops(), 0);
    std::fill_n(tiles.begin(), n, 1);
    FailureOr<linalg::TiledLinalgOp> tiled = linalg::tileLinalgOp(
        rewriter, op,
        linalg::LinalgTilingOptions().setTileSizes(tiles).setLoopType(
            linalg::LinalgTilingLoopType::Loops));
    if (failed(tiled))
      return op.emitOpError() << "could not be split into work items";
    rewriter.eraseOp(op);
    SmallVector<scf::ForOp> loops;
    for (Operation *l : tiled->loops)
      loops.push_back(cast<scf::ForOp>(l));
    if (loops.size() > 1 && failed(coalesceLoops(rewriter, loops)))
      return loops.front().emitOpError() << "could not linearize the items";
    scf::ForOp loop = loops.front();

    // The function: scf.for over [begin, end) with the loop's body.
    func::FuncOp func =
        createParallelBody(rewriter, loc, symbols, "__ssm_loops");
    Block *entry = &func.getBody().front();
    rewriter.setInsertionPointToStart(entry);
    auto inner = scf::ForOp::create(rewriter, loc, entry->getArgument(0),
                                    entry->getArgument(1), loop.getStep());
    rewriter.eraseOp(inner.getBody()->getTerminator());
    IRMapping mapping;
    mapping.map(loop.getInductionVar(), inner.getInductionVar());
    rewriter.setInsertionPointToStart(inner.getBody());
    for (Operation &o : *loop.getBody())
      rewriter.clone(o, mapping);
    rewriter.setInsertionPointToEnd(entry);
    func::ReturnOp::create(rewriter, loc);

    rewriter.setInsertionPoint(loop);
    Value items = arith::SubIOp::create(rewriter, loc, loop.getUpperBound(),
                                        loop.getLowerBound());
    callWithCapturedValues(
        rewriter, loc, func,
        {loop.getLowerBound(), loop.getUpperBound(),
         arith::MulIOp::create(rewriter, loc, items, itemCost)});
    rewriter.eraseOp(loop);
    return success();
  }
};

} // namespace
