//===- FuseAttention.cpp - ssm.attention to ssm.fused_attention -----------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "ssm/Dialect/SSM/IR/SSMOps.h"
#include "ssm/Transforms/Passes.h"
#include "ssm/Utils/Einsum.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <cmath>

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMFUSEATTENTION
#include "ssm/Transforms/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;
using namespace mlir::ssm;

namespace {

/// The largest value head size the kernel of ssm-linalg-to-gpu takes.
constexpr int64_t kMaxFusedValueDim = 128;

/// Whether the fused kernel takes `op`: static head counts and head sizes,
/// and a value head size of at most `maxValueDim`.
bool fusible(AttentionOp op, int64_t maxValueDim) {
  auto q = cast<RankedTensorType>(op.getQuery().getType());
  auto k = cast<RankedTensorType>(op.getKey().getType());
  auto v = cast<RankedTensorType>(op.getValue().getType());
  if (q.isDynamicDim(2) || q.isDynamicDim(3) || k.isDynamicDim(2) ||
      v.isDynamicDim(3))
    return false;
  return v.getDimSize(3) <= maxValueDim;
}

struct SSMFuseAttention
    : mlir::ssm::impl::SSMFuseAttentionBase<SSMFuseAttention> {
  using Base::Base;

  void runOnOperation() override {
    if (maxValueDim < 1 || maxValueDim > kMaxFusedValueDim) {
      getOperation()->emitError()
          << "ssm-fuse-attention: max-value-dim must be between 1 and "
          << kMaxFusedValueDim << " (the fused kernel's limit), got "
          << static_cast<int64_t>(maxValueDim);
      return signalPassFailure();
    }
    SmallVector<AttentionOp> ops;
    getOperation()->walk([&](AttentionOp op) {
      if (fusible(op, maxValueDim))
        ops.push_back(op);
    });
    for (AttentionOp op : ops) {
      OpBuilder b(op);
      Location loc = op.getLoc();
      Value q = castToF32(b, loc, op.getQuery());
      Value k = castToF32(b, loc, op.getKey());
      Value v = castToF32(b, loc, op.getValue());
      Value mask = op.getMask() ? castToF32(b, loc, op.getMask()) : Value();
      SmallVector<OpFoldResult> sizes = {
          dimOf(b, loc, q, 0), dimOf(b, loc, q, 1), dimOf(b, loc, q, 2),
          dimOf(b, loc, v, 3)};
      Value init = tensor::EmptyOp::create(b, loc, sizes, b.getF32Type());
      int64_t d = cast<RankedTensorType>(q.getType()).getDimSize(3);
      double scale = op.getScale() ? op.getScale()->convertToDouble()
                                   : 1.0 / std::sqrt(static_cast<double>(d));
      auto fused = FusedAttentionOp::create(
          b, loc, TypeRange{init.getType()}, q, k, v, mask, init,
          op.getCausalAttr(), b.getF32FloatAttr(scale), op.getWindowAttr(),
          op.getSoftcapAttr());
      replaceWithCastResults(b, op, fused.getResult());
    }
  }
};

} // namespace
