//===- MixerCommon.h - Shared pieces of the mixer lowerings -----*- C++ -*-===//
//-*-===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#ifndef SSM_LIB_DIALECT_SSM_IR_MIXERCOMMON_H
#define SSM_LIB_DIALECT_SSM_IR_MIXERCOMMON_H

#include "ssm/Utils/Einsum.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace mlir::ssm::mixers {

/// Static size of dimension `d` of `v`.
inline int64_t staticDim(Value v, int64_t d) {
  return cast<RankedTensorType>(v.getType()).getDimSize(d);
}

/// Operand cast to f32, or null when absent.
inline Value f32OrNull(OpBuilder &b, Location loc, Value v) {
  return v ? castToF32(b, loc, v) : Value();
}

/// Operand restricted to token `t` along its sequence dimension (1), cast to
/// f32; null when absent. Without `t`, the whole operand.
inline Value tokenOf(OpBuilder &b, Location loc, Value v, Value t) {
  if (!v)
    return v;
  if (t)
    v = sliceAlong(b, loc, v, 1, t, b.getIndexAttr(1));
  return castToF32(b, loc, v);
}

/// Builds, over the loops of `e`, the inclusive prefix sum of `in` along
/// loop `k` up to loop `i`: out[.., i, ..] = sum_{k <= i} in[.., k, ..]
/// (`k` is reduced, `i` is a loop of `out`).
Value prefixSum(Einsum &e, const EinInput &in, StringRef out, char i, char k);

/// Inclusive prefix sum over the sequence of a per-head quantity:
/// g (b, l, h) -> cum (b, h, l) with cum[i] = sum_{k <= i} g[k].
Value cumulativeSum(OpBuilder &b, Location loc, Value g);
/// Sum over the whole sequence: g (b, l, h) -> (b, h).
Value totalSum(OpBuilder &b, Location loc, Value g);
/// Element [.., last, ..] along dimension 1 of a (b, l, ...) f32 tensor,
/// with the sequence dimension dropped.
Value lastToken(OpBuilder &b, Location loc, Value v);
/// Chunks of `q` elements covering `len` (the last one partial): their
/// number and the padded length `count * q`, an attribute when `len` is.
struct ChunkCount {
  Value count;
  OpFoldResult padded;
};
ChunkCount chunkCount(OpBuilder &b, Location loc, OpFoldResult len, int64_t q);
/// `v` zero-padded along dimension `dim` to `size` (>= its size there);
/// null when `v` is null.
Value padAlong(OpBuilder &b, Location loc, Value v, int64_t dim,
               OpFoldResult size);
/// Element `i` along dimension `dim`, with that dimension dropped.
Value elementAlong(OpBuilder &b, Location loc, Value v, int64_t dim,
                   OpFoldResult i);

/// Scalar arithmetic shorthands for generic bodies.
inline Value mulF(OpBuilder &b, Location l, Value x, Value y) {
  return arith::MulFOp::create(b, l, x, y);
}
inline Value addF(OpBuilder &b, Location l, Value x, Value y) {
  return arith::AddFOp::create(b, l, x, y);
}
inline Value subF(OpBuilder &b, Location l, Value x, Value y) {
  return arith::SubFOp::create(b, l, x, y);
}
inline Value selectF(OpBuilder &b, Location l, Value c, Value x, Value y) {
  return arith::SelectOp::create(b, l, c, x, y);
}
inline Value cmpIdx(OpBuilder &b, Location l, arith::CmpIPredicate p, Value x,
                    Value y) {
  return arith::CmpIOp::create(b, l, p, x, y);
}

} // namespace mlir::ssm::mixers

#endif // SSM_LIB_DIALECT_SSM_IR_MIXERCOMMON_H
