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

/// The input of `op` (0 or 1) that is a rank-2 f32 constant read as
/// `(k, n)`: `k` the one reduction loop and the last index of the other
/// input, `n` the last index of the output, unused by the other input.
static std::optional<unsigned> weightOperand(linalg::GenericOp op) {
  if (!op.hasPureTensorSemantics() || !isMultiplyAdd(op))
    return std::nullopt;
  SmallVector<utils::IteratorType> iters = op.getIteratorTypesArray();
  if (llvm::count(iters, utils::IteratorType::reduction) != 1)
    return std::nullopt;
  unsigned k =
      llvm::find(iters, utils::IteratorType::reduction) - iters.begin();
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  AffineMap out = maps[2];
  if (out.getNumResults() == 0)
    return std::nullopt;
  std::optional<unsigned> n = loopOf(out.getResults().back());
  if (!n)
    return std::nullopt;
  for (unsigned i = 0; i < 2; ++i) {
    AffineMap w = maps[i], x = maps[1 - i];
    auto cst = op.getDpsInputs()[i].getDefiningOp<arith::ConstantOp>();
    if (!cst || !isa<DenseElementsAttr>(cst.getValue()) ||
        w.getNumResults() != 2 || x.getNumResults() == 0)
      continue;
    auto type = cast<RankedTensorType>(cst.getType());
    if (!type.getElementType().isF32() || !type.hasStaticShape())
      continue;
    if (loopOf(w.getResult(0)) != k || loopOf(w.getResult(1)) != n ||
        loopOf(x.getResults().back()) != k ||
        llvm::any_of(x.getResults(),
                     [&](AffineExpr e) { return e.isFunctionOfDim(*n); }))
      continue;
    return i;
  }
  return std::nullopt;
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

/// `attr` (k, n) stored in panels of `width` columns: (ceil(n / width), k,
/// width), panel j holding columns [j * width, (j + 1) * width) of every row,
/// zeros past n.
static DenseElementsAttr paneled(DenseElementsAttr attr, int64_t width) {
  auto type = cast<RankedTensorType>(attr.getType());
  int64_t rows = type.getDimSize(0), cols = type.getDimSize(1);
  int64_t panels = (cols + width - 1) / width;
  auto result =
      RankedTensorType::get({panels, rows, width}, type.getElementType());
  if (attr.isSplat() && cols % width == 0)
    return DenseElementsAttr::get(result, attr.getSplatValue<Attribute>());
  std::vector<float> dst(static_cast<size_t>(panels * rows * width), 0.0f);
  if (attr.isSplat()) {
    float v = attr.getSplatValue<float>();
    for (int64_t j = 0; j < panels; ++j)
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = j * width; c < std::min(cols, (j + 1) * width); ++c)
          dst[(j * rows + r) * width + c - j * width] = v;
  } else {
    const float *src =
        reinterpret_cast<const float *>(attr.getRawData().data());
    for (int64_t j = 0; j < panels; ++j) {
      int64_t c0 = j * width, c1 = std::min(cols, c0 + width);
      for (int64_t r = 0; r < rows; ++r)
        std::copy(src + r * cols + c0, src + r * cols + c1,
                  dst.begin() + (j * rows + r) * width);
    }
  }
  return DenseElementsAttr::getFromRawBuffer(
      result, ArrayRef<char>(reinterpret_cast<const char *>(dst.data()),
                             dst.size() * sizeof(float)));
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
    // Products reading each constant as (k, n), in a fixed order.
    llvm::MapVector<Operation *,
                    SmallVector<std::pair<linalg::GenericOp, unsigned>>>
        reads;
    getOperation()->walk([&](linalg::GenericOp op) {
      if (std::optional<unsigned> i = weightOperand(op))
        reads[op.getDpsInputs()[*i].getDefiningOp()].emplace_back(op, *i);
    });
    DenseMap<Attribute, DenseElementsAttr> done;
    for (auto &[cstOp, products] : reads) {
      auto cst = cast<arith::ConstantOp>(cstOp);
      // A constant that something else also reads keeps its layout: two
      // copies of a weight would cost more memory than the layout saves.
      if (!llvm::all_of(cst->getUses(), [&](OpOperand &use) {
            return llvm::is_contained(
                products,
                std::make_pair(cast<linalg::GenericOp>(use.getOwner()),
                               use.getOperandNumber()));
          }))
        continue;
      OpBuilder b(cst);
      // The functions derived from one model hold equal constants.
      auto original = cast<DenseElementsAttr>(cst.getValue());
      DenseElementsAttr &value = done[original];
      if (!value)
        value =
            panelWidth ? paneled(original, panelWidth) : transposed(original);
      Value t = arith::ConstantOp::create(b, cst.getLoc(), value);
      for (auto [op, i] : products) {
        SmallVector<AffineMap> maps = op.getIndexingMapsArray();
        AffineMap w = maps[i];
        AffineExpr k = w.getResult(0), n = w.getResult(1);
        SmallVector<AffineExpr> results{n, k};
        if (panelWidth)
          results = {n.floorDiv(panelWidth), k, n % panelWidth};
        maps[i] = AffineMap::get(w.getNumDims(), 0, results, op.getContext());
        op->setOperand(i, t);
        op.setIndexingMapsAttr(b.getAffineMapArrayAttr(maps));
      }
      cst->erase();
    }
  }
};
} // namespace
