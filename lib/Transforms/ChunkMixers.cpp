//===- ChunkMixers.cpp - Chunk size selection and chunked mixers ----------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "ssm/Dialect/SSM/IR/SSMOps.h"
#include "ssm/Transforms/Passes.h"
#include "ssm/Utils/Einsum.h"

#include "llvm/Support/MathExtras.h"

#include <cmath>

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMSELECTCHUNKSIZES
#define GEN_PASS_DEF_SSMCHUNKMIXERS
#include "ssm/Transforms/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;
using namespace mlir::ssm;

static constexpr StringLiteral kChunkSizeAttr = "ssm.chunk_size";

/// The cost model's chunk size for `op` (see the pass description).
static int64_t defaultChunkSize(MixerOpInterface op) {
  // Attention: key tiles whose keys and values (T x (d + dv) floats) fill
  // 64 KiB, so that a tile stays in the L2 cache while every query row
  // reads it.
  if (auto attention = dyn_cast<AttentionOp>(op.getOperation())) {
    int64_t d = cast<RankedTensorType>(attention.getQuery().getType())
                    .getDimSize(3),
            dv = cast<RankedTensorType>(attention.getValue().getType())
                     .getDimSize(3);
    int64_t t = llvm::bit_floor(
        static_cast<uint64_t>(std::max<int64_t>(1, 16384 / (d + dv))));
    t = std::clamp<int64_t>(t, 16, 256);
    int64_t keys =
        cast<RankedTensorType>(attention.getKey().getType()).getDimSize(1);
    if (!ShapedType::isDynamic(keys))
      t = std::max<int64_t>(1, std::min(t, keys));
    return t;
  }
  // The per-head state is (p, n): the shape of the first state.
  SmallVector<MixerStateInfo> infos = op.getStateInfo();
  int64_t p = 64, n = 64;
  if (!infos.empty() && infos[0].type.getRank() == 4) {
    p = infos[0].type.getDimSize(2);
    n = infos[0].type.getDimSize(3);
  }
  double balance = 2.0 * p * n / static_cast<double>(p + n);
  int64_t q = int64_t(1) << static_cast<int>(std::lround(std::log2(balance)));
  q = std::clamp<int64_t>(q, 16, 256);
  auto seq = cast<RankedTensorType>(op->getOperand(0).getType()).getDimSize(1);
  if (!ShapedType::isDynamic(seq))
    q = std::max<int64_t>(1, std::min(q, seq));
  return q;
}

namespace {
struct SSMSelectChunkSizes
    : mlir::ssm::impl::SSMSelectChunkSizesBase<SSMSelectChunkSizes> {
  using Base::Base;
  void runOnOperation() override {
    if (chunkSize < 0) {
      getOperation()->emitError()
          << "ssm-select-chunk-sizes: chunk-size must be at least 1 (or 0 for "
             "the cost model), got "
          << static_cast<int64_t>(chunkSize);
      return signalPassFailure();
    }
    getOperation()->walk([&](MixerOpInterface op) {
      if (!op.hasChunkedForm() || op->hasAttr("ssm.single_token"))
        return;
      if (chunkSize == 0 && op->hasAttr(kChunkSizeAttr))
        return;
      int64_t q = chunkSize > 0 ? int64_t(chunkSize) : defaultChunkSize(op);
      op->setAttr(kChunkSizeAttr,
                  IntegerAttr::get(IntegerType::get(op->getContext(), 64), q));
    });
  }
};

struct SSMChunkMixers : mlir::ssm::impl::SSMChunkMixersBase<SSMChunkMixers> {
  using Base::Base;
  void runOnOperation() override {
    SmallVector<MixerOpInterface> mixers;
    getOperation()->walk([&](MixerOpInterface op) {
      if (op->hasAttr(kChunkSizeAttr))
        mixers.push_back(op);
    });
    for (MixerOpInterface mixer : mixers) {
      Operation *op = mixer.getOperation();
      auto size = dyn_cast<IntegerAttr>(op->getAttr(kChunkSizeAttr));
      if (!size || size.getInt() < 1) {
        op->emitOpError() << "'" << kChunkSizeAttr
                          << "' must be an integer of at least 1";
        return signalPassFailure();
      }
      if (!mixer.hasChunkedForm()) {
        op->emitOpError() << "has '" << kChunkSizeAttr
                          << "' but no chunked form";
        return signalPassFailure();
      }
      OpBuilder b(op);
      FailureOr<SmallVector<Value>> results =
          differentiable
              ? mixer.buildDifferentiableChunkedForm(b, size.getInt())
              : mixer.buildChunkedForm(b, size.getInt());
      if (failed(results) || results->size() != op->getNumResults()) {
        op->emitOpError() << "could not be lowered to its chunked form";
        return signalPassFailure();
      }
      replaceWithCastResults(b, op, *results);
    }
  }
};
} // namespace
