//===- TransposeConstantWeights.cpp - Weights stored (n, k) ---------------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Stores the constant (k, n) weights of matrix products transposed, (n, k),
// so that every output column reads its weights contiguously along the
// reduction (see the pass description in Passes.td).
//
//===----------------------------------------------------------------------===//

#include "ssm/Transforms/Contraction.h"
#include "ssm/Transforms/Passes.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/MapVector.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMTRANSPOSECONSTANTWEIGHTS
#include "ssm/Transforms/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;
using namespace mlir::ssm;

/// Position of the plain loop index `e`, if it is one.
static std::optional<unsigned> loopOf(AffineExpr e) {
  if (auto d = dyn_cast<AffineDimExpr>(e))
    return d.getPosition();
  return std::nullopt;
}

/// Whether input `i` of `op` is a rank-2 static f32 constant that a matrix
/// product reads as `(k, n)` (`nk` false) or `(n, k)` (`nk` true): `k` the
/// one reduction loop and the last index of the other input, `n` the last
/// index of the output, unused by the other input.
static bool isWeightRead(linalg::GenericOp op, unsigned i, bool &nk) {
  if (i > 1 || !op.hasPureTensorSemantics() || !isMultiplyAdd(op))
    return false;
  SmallVector<utils::IteratorType> iters = op.getIteratorTypesArray();
  if (llvm::count(iters, utils::IteratorType::reduction) != 1)
    return false;
  unsigned k =
      llvm::find(iters, utils::IteratorType::reduction) - iters.begin();
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  AffineMap out = maps[2], w = maps[i], x = maps[1 - i];
  if (out.getNumResults() == 0 || w.getNumResults() != 2 ||
      x.getNumResults() == 0)
    return false;
  std::optional<unsigned> n = loopOf(out.getResults().back());
  auto cst = op.getDpsInputs()[i].getDefiningOp<arith::ConstantOp>();
  if (!n || !cst || !isa<DenseElementsAttr>(cst.getValue()))
    return false;
  auto type = cast<RankedTensorType>(cst.getType());
  if (!type.getElementType().isF32() || !type.hasStaticShape() ||
      loopOf(x.getResults().back()) != k ||
      llvm::any_of(x.getResults(),
                   [&](AffineExpr e) { return e.isFunctionOfDim(*n); }))
    return false;
  std::optional<unsigned> first = loopOf(w.getResult(0)),
                          second = loopOf(w.getResult(1));
  nk = first == n && second == k;
  return nk || (first == k && second == n);
}

/// `attr` (k, n) transposed to (n, k).
static DenseElementsAttr transposed(DenseElementsAttr attr) {
  auto type = cast<RankedTensorType>(attr.getType());
  int64_t rows = type.getDimSize(0), cols = type.getDimSize(1);
  auto result = RankedTensorType::get({cols, rows}, type.getElementType());
  if (attr.isSplat())
    return DenseElementsAttr::get(result, attr.getSplatValue<Attribute>());
  const float *src = reinterpret_cast<const float *>(attr.getRawData().data());
  std::vector<float> dst(static_cast<size_t>(rows * cols));
  // In blocks, so that both sides stay in cache.
  constexpr int64_t block = 64;
  for (int64_t r0 = 0; r0 < rows; r0 += block)
    for (int64_t c0 = 0; c0 < cols; c0 += block)
      for (int64_t r = r0; r < std::min(rows, r0 + block); ++r)
        for (int64_t c = c0; c < std::min(cols, c0 + block); ++c)
          dst[c * rows + r] = src[r * cols + c];
  return DenseElementsAttr::getFromRawBuffer(
      result, ArrayRef<char>(reinterpret_cast<const char *>(dst.data()),
                             dst.size() * sizeof(float)));
}

/// The weight `attr`, `(k, n)` or with `nk` `(n, k)`, stored in panels of
/// `width` columns: `(ceil(n / width), k, width)`, panel j holding columns
/// [j * width, (j + 1) * width) of every row k, zeros past n.
static DenseElementsAttr paneled(DenseElementsAttr attr, int64_t width,
                                 bool nk) {
  auto type = cast<RankedTensorType>(attr.getType());
  int64_t n = type.getDimSize(nk ? 0 : 1), k = type.getDimSize(nk ? 1 : 0);
  int64_t panels = (n + width - 1) / width;
  auto result =
      RankedTensorType::get({panels, k, width}, type.getElementType());
  if (attr.isSplat() && n % width == 0)
    return DenseElementsAttr::get(result, attr.getSplatValue<Attribute>());
  std::vector<float> dst(static_cast<size_t>(panels * k * width), 0.0f);
  float splat = attr.isSplat() ? attr.getSplatValue<float>() : 0.0f;
  const float *src =
      attr.isSplat()
          ? nullptr
          : reinterpret_cast<const float *>(attr.getRawData().data());
  // In blocks of one panel by 64 rows k, so that both sides stay in cache.
  constexpr int64_t block = 64;
  for (int64_t j = 0; j < panels; ++j)
    for (int64_t r0 = 0; r0 < k; r0 += block)
      for (int64_t c = j * width; c < std::min(n, (j + 1) * width); ++c)
        for (int64_t r = r0; r < std::min(k, r0 + block); ++r)
          dst[(j * k + r) * width + c - j * width] =
              src ? src[nk ? c * k + r : r * n + c] : splat;
  return DenseElementsAttr::getFromRawBuffer(
      result, ArrayRef<char>(reinterpret_cast<const char *>(dst.data()),
                             dst.size() * sizeof(float)));
}

/// Whether a product reads its weight as `(n, k)`.
static bool isWeightReadNk(std::pair<linalg::GenericOp, unsigned> product) {
  bool nk = false;
  isWeightRead(product.first, product.second, nk);
  return nk;
}

namespace {
struct SSMTransposeConstantWeights
    : mlir::ssm::impl::SSMTransposeConstantWeightsBase<
          SSMTransposeConstantWeights> {
  using Base::Base;

  void runOnOperation() override {
    if (panelWidth < 0) {
      getOperation()->emitError()
          << "ssm-transpose-constant-weights: panel-width must be >= 0";
      return signalPassFailure();
    }
    // Products reading each constant as a weight, in a fixed order.
    llvm::MapVector<Operation *,
                    SmallVector<std::pair<linalg::GenericOp, unsigned>>>
        reads;
    getOperation()->walk([&](linalg::GenericOp op) {
      bool nk;
      for (unsigned i = 0; i < 2; ++i)
        if (isWeightRead(op, i, nk))
          reads[op.getDpsInputs()[i].getDefiningOp()].emplace_back(op, i);
    });
    DenseMap<Attribute, DenseElementsAttr> done[2]; // by orientation
    for (auto &[cstOp, products] : reads) {
      auto cst = cast<arith::ConstantOp>(cstOp);
      // Every product must read it the same way ((n, k) only with panels:
      // a constant already (n, k) suits the dot-product kernel as it is).
      bool nk = isWeightReadNk(products.front());
      bool same = llvm::all_of(products, [&](auto product) {
        return isWeightReadNk(product) == nk;
      });
      if (!same || (nk && !panelWidth))
        continue;
      // A constant that something else also reads keeps its layout: two
      // copies of a weight would cost more memory than the layout saves.
      // With panels, an element read (the gather of tied embeddings) reads
      // the panels instead.
      SmallVector<tensor::ExtractOp> extracts;
      if (!llvm::all_of(cst->getUses(), [&](OpOperand &use) {
            if (auto extract = dyn_cast<tensor::ExtractOp>(use.getOwner());
                extract && panelWidth) {
              extracts.push_back(extract);
              return true;
            }
            auto generic = dyn_cast<linalg::GenericOp>(use.getOwner());
            return generic &&
                   llvm::is_contained(
                       products,
                       std::make_pair(generic, use.getOperandNumber()));
          }))
        continue;
      OpBuilder b(cst);
      // The functions derived from one model hold equal constants.
      auto original = cast<DenseElementsAttr>(cst.getValue());
      DenseElementsAttr &value = done[nk][original];
      if (!value)
        value = panelWidth ? paneled(original, panelWidth, nk)
                           : transposed(original);
      Value t = arith::ConstantOp::create(b, cst.getLoc(), value);
      for (auto [op, i] : products) {
        SmallVector<AffineMap> maps = op.getIndexingMapsArray();
        AffineMap w = maps[i];
        AffineExpr k = w.getResult(nk ? 1 : 0), n = w.getResult(nk ? 0 : 1);
        SmallVector<AffineExpr> results{n, k};
        if (panelWidth)
          results = {n.floorDiv(panelWidth), k, n % panelWidth};
        maps[i] = AffineMap::get(w.getNumDims(), 0, results, op.getContext());
        op->setOperand(i, t);
        op.setIndexingMapsAttr(b.getAffineMapArrayAttr(maps));
      }
      // W[k, n] (or E[n, k]) is P[n floordiv w, k, n mod w].
      for (tensor::ExtractOp extract : extracts) {
        b.setInsertionPoint(extract);
        Location loc = extract.getLoc();
        Value n = extract.getIndices()[nk ? 0 : 1],
              k = extract.getIndices()[nk ? 1 : 0];
        Value w = arith::ConstantIndexOp::create(b, loc, panelWidth);
        Value panel = arith::DivUIOp::create(b, loc, n, w);
        Value lane = arith::RemUIOp::create(b, loc, n, w);
        Value read =
            tensor::ExtractOp::create(b, loc, t, ValueRange{panel, k, lane});
        extract.replaceAllUsesWith(read);
        extract.erase();
      }
      cst->erase();
    }
  }
};
} // namespace
