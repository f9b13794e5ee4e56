//===- FuseElementwise.cpp - Fuse elementwise prologues and epilogues -----===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Fuses chains of elementwise linalg.generic ops (and the reductions they
// feed) into single loop nests on tensors, so that the intermediates between
// them are never written. Built on upstream linalg's elementwise fusion and
// reshape propagation, with a control that keeps every value computed once
// per consumer iteration and leaves matrix products to the CPU kernels.
//
//===----------------------------------------------------------------------===//

#include "ssm/Transforms/Contraction.h"
#include "ssm/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMFUSEELEMENTWISE
#include "ssm/Transforms/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;
using namespace mlir::ssm;

/// Whether `op` is an elementwise op on tensors: every loop parallel, one
/// result, written through a permutation.
static bool isElementwise(linalg::GenericOp op) {
  return op.hasPureTensorSemantics() && op->getNumResults() == 1 &&
         op.getNumLoops() == op.getNumParallelLoops() &&
         op.getIndexingMapMatchingResult(op->getResult(0)).isPermutation();
}

/// Whether `map` reads a different element in every iteration: each result
/// is one loop, optionally negated and shifted by a constant (the partner
/// `1 - s` of a rotary pair), and every loop appears in exactly one result.
static bool readsEachElementOnce(AffineMap map) {
  if (map.getNumResults() != map.getNumDims() || map.getNumSymbols() != 0)
    return false;
  llvm::SmallBitVector seen(map.getNumDims());
  for (AffineExpr e : map.getResults()) {
    // c - d is d * -1 + c.
    if (auto sum = dyn_cast<AffineBinaryOpExpr>(e);
        sum && sum.getKind() == AffineExprKind::Add &&
        isa<AffineConstantExpr>(sum.getRHS()))
      e = sum.getLHS();
    if (auto product = dyn_cast<AffineBinaryOpExpr>(e);
        product && product.getKind() == AffineExprKind::Mul) {
      auto factor = dyn_cast<AffineConstantExpr>(product.getRHS());
      if (!factor || factor.getValue() != -1)
        return false;
      e = product.getLHS();
    }
    auto dim = dyn_cast<AffineDimExpr>(e);
    if (!dim || seen.test(dim.getPosition()))
      return false;
    seen.set(dim.getPosition());
  }
  return true;
}

/// Whether `use` of an elementwise producer's result may be fused into its
/// consumer: the consumer is a linalg.generic on tensors that reads the
/// value as an input through a permutation of all its loops (or the partner
/// map of a rotary pair, `1 - s`), so that the
/// fused body computes each producer element exactly once (a broadcast
/// read would recompute it for every broadcast index, as a matrix product
/// would for every output column).
static bool readsOncePerIteration(OpOperand &use) {
  auto consumer = dyn_cast<linalg::GenericOp>(use.getOwner());
  if (!consumer || !consumer.hasPureTensorSemantics() ||
      !consumer.isDpsInput(&use))
    return false;
  return readsEachElementOnce(consumer.getMatchingIndexingMap(&use));
}

/// Upper bound on the body size of a producer that is recomputed for each
/// of its consumers instead of being written once.
static constexpr unsigned kMaxRecomputedOps = 32;

/// The number of distinct tensors that `op` reads in full, one element per
/// iteration: those that each copy of a recomputed `op` reads again
/// (broadcast reads such as a norm's weight or a per-token statistic, and
/// constants, are not counted).
static unsigned numFullInputs(linalg::GenericOp op) {
  llvm::SmallPtrSet<Value, 4> full;
  for (OpOperand *input : op.getDpsInputOperands())
    if (readsEachElementOnce(op.getMatchingIndexingMap(input)) &&
        !matchPattern(input->get(), m_Constant()))
      full.insert(input->get());
  return full.size();
}

/// Whether the upstream fusion pattern, with the control function of this
/// pass, fuses the producer of `use` into its consumer.
static bool fusesIntoConsumer(OpOperand &use) {
  auto producer = use.get().getDefiningOp<linalg::GenericOp>();
  return producer && isElementwise(producer) && use.get().hasOneUse() &&
         readsOncePerIteration(use);
}

/// Whether the elementwise `op` should be cloned once per use: it has
/// several uses, all of which could fuse it, its body is small, and the
/// copies read less memory than writing the result once would move. With
/// `f` tensors read in full and `k` uses, the copies read `k * f` elements
/// per element of the result; writing it reads the `f` once, writes the
/// result (a read and a write of the line) and reads it `k` times. So the
/// gated value `(y + D x) * silu(z)` feeding a norm's sum of squares and its
/// scaling is cloned (6 < 7), and so is a residual sum of two streams read
/// by a norm's two steps and the next residual addition (6 < 7), but not
/// once the next residual addition has fused that sum and reads three
/// streams (9 > 8): cloning the residual stream at every layer would make
/// each layer's norm re-add the outputs of all the layers before it.
static bool shouldCloneForEachUse(linalg::GenericOp op) {
  if (!isElementwise(op) ||
      op.getRegion().front().getOperations().size() > kMaxRecomputedOps)
    return false;
  Value result = op->getResult(0);
  unsigned k = 0;
  for (OpOperand &use : result.getUses()) {
    if (!readsOncePerIteration(use))
      return false;
    ++k;
  }
  unsigned f = numFullInputs(op);
  return k >= 2 && k * f < f + 2 + k;
}

namespace {
/// An elementwise producer whose result has several uses, all of which could
/// fuse it, is cloned once per use, so that each consumer fuses its own copy
/// and the result is never written (the gated value of a gated RMSNorm feeds
/// both the sum of squares and the scaling; SiLU reads its input twice),
/// when that reads no more memory than writing it (shouldCloneForEachUse).
/// The decision waits until the producers of its inputs have fused into it
/// or been cloned, so that it counts the inputs the copies will read.
struct CloneForEachConsumer : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    if (!shouldCloneForEachUse(op))
      return rewriter.notifyMatchFailure(
          op, "not elementwise, fewer than two uses, a use that cannot fuse "
              "it (a tensor.dim use waits for the dim patterns), a large "
              "body, or copies that would read more than the written result");
    for (OpOperand *input : op.getDpsInputOperands()) {
      auto producer = input->get().getDefiningOp<linalg::GenericOp>();
      if (producer &&
          (fusesIntoConsumer(*input) || shouldCloneForEachUse(producer)))
        return rewriter.notifyMatchFailure(
            op, "an input's producer fuses or is cloned first");
    }
    // Clones right after the producer dominate every use.
    rewriter.setInsertionPointAfter(op);
    Value result = op->getResult(0);
    SmallVector<OpOperand *> uses;
    for (OpOperand &use : result.getUses())
      uses.push_back(&use);
    for (OpOperand *use : llvm::drop_begin(uses)) {
      Operation *copy = rewriter.clone(*op);
      rewriter.modifyOpInPlace(use->getOwner(),
                               [&] { use->set(copy->getResult(0)); });
    }
    return success();
  }
};

/// linalg.transpose as a linalg.generic, so that it fuses with its
/// elementwise neighbours (a transpose feeding a matrix product was already
/// folded into it by ssm-fold-transposes).
struct GeneralizeTranspose : OpRewritePattern<linalg::TransposeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::TransposeOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureTensorSemantics())
      return failure();
    return linalg::generalizeNamedOp(rewriter, op);
  }
};

} // namespace

/// Whether `op` is a matrix product left to ssm-cpu-contraction-kernels and
/// ssm-cpu-loop-order, whose loop structure reshape propagation must not
/// change.
static bool isMatrixProduct(linalg::GenericOp op) {
  return op.getNumReductionLoops() > 0 && isMultiplyAdd(op);
}

/// Whether `reshape` (an expand_shape or collapse_shape) splits a dimension
/// into groups with a unit dimension: propagating it would bring back the
/// unit loops the first phase dropped.
static bool addsUnitDims(Operation *reshape) {
  RankedTensorType expanded;
  SmallVector<ReassociationIndices> groups;
  if (auto e = dyn_cast<tensor::ExpandShapeOp>(reshape)) {
    expanded = e.getResultType();
    groups = e.getReassociationIndices();
  } else if (auto c = dyn_cast<tensor::CollapseShapeOp>(reshape)) {
    expanded = c.getSrcType();
    groups = c.getReassociationIndices();
  } else {
    return true;
  }
  return llvm::any_of(groups, [&](const ReassociationIndices &g) {
    return g.size() > 1 && llvm::any_of(g, [&](int64_t d) {
             return expanded.getDimSize(d) == 1;
           });
  });
}

/// Applies `patterns` to `op`; they only fuse and move ops, so stopping
/// early (the iteration and rewrite bounds) still leaves valid IR.
static void applyFusionPatterns(Operation *op, RewritePatternSet &&patterns) {
  GreedyRewriteConfig config;
  config.setMaxIterations(32);
  config.setMaxNumRewrites(1 << 20);
  (void)applyPatternsGreedily(op, std::move(patterns), config);
}

namespace {
struct SSMFuseElementwise
    : mlir::ssm::impl::SSMFuseElementwiseBase<SSMFuseElementwise> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    // The reshape patterns read sizes from output_shape and from the result
    // type; an expand_shape whose two disagree (the upstream verifier lets a
    // static entry differ from the type) would make them rewrite forever.
    WalkResult bad = getOperation()->walk([](tensor::ExpandShapeOp op) {
      for (auto [i, size] : llvm::enumerate(op.getStaticOutputShape())) {
        int64_t want = op.getResultType().getDimSize(i);
        if (!ShapedType::isDynamic(size) && !ShapedType::isDynamic(want) &&
            size != want) {
          op.emitOpError() << "output_shape entry " << i << " is " << size
                           << ", but the result type has " << want;
          return WalkResult::interrupt();
        }
      }
      return WalkResult::advance();
    });
    if (bad.wasInterrupted())
      return signalPassFailure();
    // Phase 1: generic transposes, and unit dimensions dropped (a per-token
    // statistic kept as (b, l, 1) and read through a constant index becomes
    // a (b, l) projection that reshape propagation and fusion accept).
    {
      RewritePatternSet patterns(ctx);
      patterns.add<GeneralizeTranspose>(ctx);
      linalg::ControlDropUnitDims unitDims;
      unitDims.controlFn = [](Operation *op) -> SmallVector<unsigned> {
        auto generic = dyn_cast<linalg::GenericOp>(op);
        if (!generic || isMatrixProduct(generic))
          return {};
        return llvm::to_vector(llvm::seq<unsigned>(0, generic.getNumLoops()));
      };
      linalg::populateFoldUnitExtentDimsPatterns(patterns, unitDims);
      addCanonicalizations(patterns);
      applyFusionPatterns(getOperation(), std::move(patterns));
    }
    // Phase 2: fusion.
    RewritePatternSet patterns(ctx);
    patterns.add<CloneForEachConsumer>(ctx);
    linalg::populateElementwiseOpsFusionPatterns(
        patterns, [](OpOperand *use) { return fusesIntoConsumer(*use); });
    // A reshape between two elementwise steps (the heads of (b, l, h, p)
    // viewed as (b, l, h * p)) moves out of the way: the generic on the
    // collapsed side is expanded to the finer loops.
    linalg::populateFoldReshapeOpsByExpansionPatterns(
        patterns, [](OpOperand *use) {
          Operation *reshape = use->getOwner();
          auto generic = dyn_cast<linalg::GenericOp>(reshape);
          if (generic)
            reshape = use->get().getDefiningOp();
          else
            generic = use->get().getDefiningOp<linalg::GenericOp>();
          return generic && reshape && !isMatrixProduct(generic) &&
                 !addsUnitDims(reshape);
        });
    linalg::populateEraseUnusedOperandsAndResultsPatterns(patterns);
    addCanonicalizations(patterns);
    applyFusionPatterns(getOperation(), std::move(patterns));
  }

  static void addCanonicalizations(RewritePatternSet &patterns) {
    MLIRContext *ctx = patterns.getContext();
    memref::populateResolveRankedShapedTypeResultDimsPatterns(patterns);
    tensor::DimOp::getCanonicalizationPatterns(patterns, ctx);
    linalg::GenericOp::getCanonicalizationPatterns(patterns, ctx);
    tensor::ExpandShapeOp::getCanonicalizationPatterns(patterns, ctx);
    tensor::CollapseShapeOp::getCanonicalizationPatterns(patterns, ctx);
  }
};

} // namespace
