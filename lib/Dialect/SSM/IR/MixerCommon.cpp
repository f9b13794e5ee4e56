//===- MixerCommon.cpp - Pieces shared by the mixer implementations -------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "MixerCommon.h"

#include "mlir/Dialect/Utils/StaticValueUtils.h"

using namespace mlir;
using namespace mlir::ssm;
using namespace mlir::ssm::mixers;

Value mixers::prefixSum(Einsum &e, const EinInput &in, StringRef out, char i,
                        char k) {
  return e.build(
      {in}, out, StringRef(&k, 1),
      [&](OpBuilder &nb, Location l, ValueRange a) {
        Value inRange = cmpIdx(nb, l, arith::CmpIPredicate::ule,
                               e.index(nb, l, k), e.index(nb, l, i));
        return selectF(nb, l, inRange, addF(nb, l, a[1], a[0]), a[1]);
      },
      0.0);
}

Value mixers::cumulativeSum(OpBuilder &b, Location loc, Value g) {
  OpFoldResult B = dimOf(b, loc, g, 0), L = dimOf(b, loc, g, 1),
               H = dimOf(b, loc, g, 2);
  Einsum e(b, loc, "bhik", {B, H, L, L});
  return prefixSum(e, e.in(g, "bkh"), "bhi", 'i', 'k');
}

Value mixers::totalSum(OpBuilder &b, Location loc, Value g) {
  OpFoldResult B = dimOf(b, loc, g, 0), L = dimOf(b, loc, g, 1),
               H = dimOf(b, loc, g, 2);
  Einsum e(b, loc, "bhk", {B, H, L});
  return e.build(
      {e.in(g, "bkh")}, "bh", "k",
      [&](OpBuilder &nb, Location l, ValueRange a) {
        return addF(nb, l, a[1], a[0]);
      },
      0.0);
}

ChunkCount mixers::chunkCount(OpBuilder &b, Location loc, OpFoldResult len,
                              int64_t q) {
  if (std::optional<int64_t> n = getConstantIntValue(len)) {
    int64_t count = (*n + q - 1) / q;
    return {arith::ConstantIndexOp::create(b, loc, count),
            b.getIndexAttr(count * q)};
  }
  Value qv = arith::ConstantIndexOp::create(b, loc, q);
  Value count = arith::DivUIOp::create(
      b, loc,
      arith::AddIOp::create(b, loc, toIndex(b, loc, len),
                            arith::ConstantIndexOp::create(b, loc, q - 1)),
      qv);
  return {count, arith::MulIOp::create(b, loc, count, qv).getResult()};
}

Value mixers::padAlong(OpBuilder &b, Location loc, Value v, int64_t dim,
                       OpFoldResult size) {
  if (!v)
    return v;
  auto type = cast<RankedTensorType>(v.getType());
  SmallVector<OpFoldResult> sizes;
  for (int64_t d = 0; d < type.getRank(); ++d)
    sizes.push_back(d == dim ? size : dimOf(b, loc, v, d));
  return insertAlong(b, loc, v,
                     filled(b, loc, sizes, 0.0, type.getElementType()), dim,
                     b.getIndexAttr(0));
}

Value mixers::elementAlong(OpBuilder &b, Location loc, Value v, int64_t dim,
                           OpFoldResult i) {
  Value slice = sliceAlong(b, loc, v, dim, i, b.getIndexAttr(1));
  return dropUnitDim(b, loc, slice, dim);
}

Value mixers::lastToken(OpBuilder &b, Location loc, Value v) {
  Value len = toIndex(b, loc, dimOf(b, loc, v, 1));
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value last = arith::SubIOp::create(b, loc, len, one);
  return elementAlong(b, loc, v, 1, last);
}
