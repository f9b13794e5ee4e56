//===- SSMToLinalg.cpp - Supporting ssm ops to linalg ---------------------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "ssm/Conversion/Passes.h"
#include "ssm/Dialect/SSM/IR/SSMOps.h"
#include "ssm/Utils/Einsum.h"

#include "llvm/ADT/TypeSwitch.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_CONVERTSSMTOLINALG
#include "ssm/Conversion/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;
using namespace mlir::ssm;

namespace {

Value mul(OpBuilder &b, Location l, Value x, Value y) {
  return arith::MulFOp::create(b, l, x, y);
}
Value add(OpBuilder &b, Location l, Value x, Value y) {
  return arith::AddFOp::create(b, l, x, y);
}
Value sub(OpBuilder &b, Location l, Value x, Value y) {
  return arith::SubFOp::create(b, l, x, y);
}

SmallVector<OpFoldResult> sizesOf(OpBuilder &b, Location loc, Value v) {
  SmallVector<OpFoldResult> sizes;
  for (int64_t d = 0, e = cast<RankedTensorType>(v.getType()).getRank(); d < e;
       ++d)
    sizes.push_back(dimOf(b, loc, v, d));
  return sizes;
}

//===----------------------------------------------------------------------===//
// rms_norm
//===----------------------------------------------------------------------===//

FailureOr<SmallVector<Value>> lower(OpBuilder &b, RMSNormOp op) {
  Location loc = op.getLoc();
  int64_t rank = cast<RankedTensorType>(op.getX().getType()).getRank();
  static constexpr StringLiteral leadNames = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  if (rank - 1 > static_cast<int64_t>(leadNames.size()))
    return op.emitOpError()
           << "lowering supports rank up to " << leadNames.size() + 1;
  Value x = castToF32(b, loc, op.getX());
  Value w = castToF32(b, loc, op.getWeight());
  std::string lead = leadNames.substr(0, rank - 1).str();
  SmallVector<OpFoldResult> sizes = sizesOf(b, loc, x);
  int64_t features = cast<RankedTensorType>(x.getType()).getDimSize(rank - 1);
  int64_t group =
      op.getGroupSize() ? static_cast<int64_t>(*op.getGroupSize()) : features;
  double eps = op.getEps().convertToDouble();

  SmallVector<OpFoldResult> leadSizes(sizes.begin(), sizes.end() - 1);
  // u = x * silu(gate)
  Value u = x;
  if (Value gate = op.getGate()) {
    Value g = castToF32(b, loc, gate);
    SmallVector<OpFoldResult> all = leadSizes;
    all.push_back(sizes.back());
    Einsum e(b, loc, lead + "d", all);
    u = e.build({e.in(x, lead + "d"), e.in(g, lead + "d")}, lead + "d", "",
                [&](OpBuilder &nb, Location l, ValueRange a) {
                  return mul(nb, l, a[0], silu(nb, l, a[1]));
                });
  }
  // ss[lead, g] = sum_k u[lead, g * G + k]^2, through u viewed as
  // (lead, d / G, G) when there are several groups; over u itself for one
  // group (so that the reduction reads u through the same loops as the
  // ops that produce it, and ssm-fuse-elementwise can fuse them).
  auto squareSum = [&](OpBuilder &nb, Location l, ValueRange a) {
    return add(nb, l, a[1], mul(nb, l, a[0], a[0]));
  };
  Value ss;
  if (group == features) {
    Einsum es(b, loc, lead + "d", sizes);
    ss = es.build({es.in(u, lead + "d")}, lead, "d", squareSum, 0.0);
  } else {
    SmallVector<OpFoldResult> ssSizes = leadSizes;
    ssSizes.push_back(b.getIndexAttr(features / group));
    ssSizes.push_back(b.getIndexAttr(group));
    SmallVector<int64_t> groupedShape(
        cast<RankedTensorType>(u.getType()).getShape().drop_back());
    groupedShape.append({features / group, group});
    SmallVector<ReassociationIndices> reassoc;
    for (int64_t i = 0; i < rank - 1; ++i)
      reassoc.push_back({i});
    reassoc.push_back({rank - 1, rank});
    Value grouped = tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get(groupedShape, b.getF32Type()), u, reassoc,
        ssSizes);
    Einsum es(b, loc, lead + "gk", ssSizes);
    ss = es.build({es.in(grouped, lead + "gk")}, lead + "g", "k", squareSum,
                  0.0);
  }
  // y = u * rsqrt(ss / G + eps) * w
  SmallVector<OpFoldResult> ySizes = leadSizes;
  ySizes.push_back(sizes.back());
  Einsum ey(b, loc, lead + "d", ySizes);
  SmallVector<AffineExpr> ssExprs;
  for (char c : lead)
    ssExprs.push_back(ey.d(c));
  if (group != features)
    ssExprs.push_back(ey.d('d').floorDiv(group));
  Value y = ey.build(
      {ey.in(u, lead + "d"), ey.in(ss, ssExprs), ey.in(w, "d")}, lead + "d", "",
      [&](OpBuilder &nb, Location l, ValueRange a) {
        Value mean =
            arith::DivFOp::create(nb, l, a[1], cstF32(nb, l, double(group)));
        Value inv =
            math::RsqrtOp::create(nb, l, add(nb, l, mean, cstF32(nb, l, eps)));
        return mul(nb, l, mul(nb, l, a[0], inv), a[2]);
      });
  return SmallVector<Value>{y};
}

//===----------------------------------------------------------------------===//
// causal_conv1d
//===----------------------------------------------------------------------===//

FailureOr<SmallVector<Value>> lower(OpBuilder &b, CausalConv1DOp op) {
  Location loc = op.getLoc();
  Value x = castToF32(b, loc, op.getX());
  Value w = castToF32(b, loc, op.getWeight());
  OpFoldResult B = dimOf(b, loc, x, 0), L = dimOf(b, loc, x, 1),
               C = dimOf(b, loc, x, 2);
  int64_t k = cast<RankedTensorType>(w.getType()).getDimSize(1);
  OpFoldResult K1 = b.getIndexAttr(k - 1);
  Value full =
      arith::AddIOp::create(b, loc, toIndex(b, loc, L),
                            arith::ConstantIndexOp::create(b, loc, k - 1));

  // xf = concat(initial_state^T, x) along the sequence: (b, k - 1 + l, c).
  Value xf;
  if (Value init = op.getInitialState()) {
    xf = tensor::EmptyOp::create(b, loc, ArrayRef<OpFoldResult>{B, full, C},
                                 b.getF32Type());
    Einsum et(b, loc, "bmc", {B, K1, C});
    Value prefix =
        et.build({et.in(castToF32(b, loc, init), "bcm")}, "bmc", "",
                 [](OpBuilder &, Location, ValueRange a) { return a[0]; });
    xf = insertAlong(b, loc, prefix, xf, 1, b.getIndexAttr(0));
  } else {
    xf = filled(b, loc, {B, full, C}, 0.0);
  }
  xf = insertAlong(b, loc, x, xf, 1, K1);

  // y[b, t, c] = bias[c] + sum_i w[c, i] xf[b, t + i, c] (then SiLU), one
  // elementwise op over the k taps, so that
  // ssm-fuse-elementwise can fuse it with the ops around it.
  Einsum ec(b, loc, "btc", {B, L, C});
  Value bias = op.getBias() ? castToF32(b, loc, op.getBias()) : Value();
  SmallVector<EinInput> ins;
  for (int64_t i = 0; i < k; ++i) {
    // Tap i reads xf[b, t + i, c]: the window of l tokens at offset i (a
    // view; an input map (b, t + i, c) would make the loop bounds come from
    // xf's longer sequence).
    ins.push_back(
        ec.in(sliceAlong(b, loc, xf, 1, b.getIndexAttr(i), L), "btc"));
    ins.push_back(ec.in(w, {ec.d('c'), b.getAffineConstantExpr(i)}));
  }
  if (bias)
    ins.push_back(ec.in(bias, "c"));
  bool withSilu = op.getSilu();
  Value y =
      ec.build(ins, "btc", "", [&](OpBuilder &nb, Location l, ValueRange a) {
        Value acc = bias ? a[2 * k] : Value();
        for (int64_t i = 0; i < k; ++i) {
          Value term = mul(nb, l, a[2 * i], a[2 * i + 1]);
          acc = acc ? add(nb, l, acc, term) : term;
        }
        return withSilu ? silu(nb, l, acc) : acc;
      });
  // final_state[b, c, m] = xf[b, l + m, c]
  Value tail = sliceAlong(b, loc, xf, 1, L, K1);
  Einsum ef(b, loc, "bcm", {B, C, K1});
  Value fin =
      ef.build({ef.in(tail, "bmc")}, "bcm", "",
               [](OpBuilder &, Location, ValueRange a) { return a[0]; });
  return SmallVector<Value>{y, fin};
}

//===----------------------------------------------------------------------===//
// rotary
//===----------------------------------------------------------------------===//

/// Rotary embedding of every feature (2R = d), without reading x through
/// tensor.extract: x is viewed with the pair as its own dimension s of size
/// 2, (b, l, h, 2, R) for halves or (b, l, h, R, 2) interleaved, and its
/// partner read through the map s -> 1 - s, so that ssm-fuse-elementwise can
/// fuse the op with the ones around it (a QK norm, the head transposes):
///   y[.., s, i] = x[.., s, i] cos_i + (s == 0 ? -1 : 1) x[.., 1 - s, i] sin_i.
Value fullRotation(OpBuilder &b, Location loc, Value x, Value cosT, Value sinT,
                   bool interleaved, bool broadcastBatch) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t angles = type.getDimSize(3) / 2;
  SmallVector<OpFoldResult> sizes = sizesOf(b, loc, x);
  SmallVector<OpFoldResult> pairSizes(sizes.begin(), sizes.begin() + 3);
  SmallVector<int64_t> pairShape(type.getShape().take_front(3));
  int64_t pairDim = interleaved ? 4 : 3; // where s is
  for (int64_t d = 3; d < 5; ++d) {
    int64_t size = d == pairDim ? 2 : angles;
    pairSizes.push_back(b.getIndexAttr(size));
    pairShape.push_back(size);
  }
  SmallVector<ReassociationIndices> groups = {{0}, {1}, {2}, {3, 4}};
  Value pairs = tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get(pairShape, b.getF32Type()), x, groups,
      pairSizes);
  std::string loops = interleaved ? "blhis" : "blhsi";
  Einsum e(b, loc, loops, pairSizes);
  SmallVector<AffineExpr> partner = {e.d('b'), e.d('l'), e.d('h')};
  AffineExpr flipped = 1 - e.d('s');
  if (interleaved)
    partner.append({e.d('i'), flipped});
  else
    partner.append({flipped, e.d('i')});
  AffineExpr batch = broadcastBatch ? b.getAffineConstantExpr(0) : e.d('b');
  SmallVector<AffineExpr> angle = {batch, e.d('l'), e.d('i')};
  Value y = e.build({e.in(pairs, loops), e.in(pairs, partner),
                     e.in(cosT, angle), e.in(sinT, angle)},
                    loops, "", [&](OpBuilder &nb, Location l, ValueRange a) {
                      Value first = arith::CmpIOp::create(
                          nb, l, arith::CmpIPredicate::eq, e.index(nb, l, 's'),
                          arith::ConstantIndexOp::create(nb, l, 0));
                      Value sign = arith::SelectOp::create(nb, l, first,
                                                           cstF32(nb, l, -1.0),
                                                           cstF32(nb, l, 1.0));
                      return add(nb, l, mul(nb, l, a[0], a[2]),
                                 mul(nb, l, sign, mul(nb, l, a[1], a[3])));
                    });
  return tensor::CollapseShapeOp::create(b, loc, type.clone(b.getF32Type()), y,
                                         groups);
}

FailureOr<SmallVector<Value>> lower(OpBuilder &b, RotaryOp op) {
  Location loc = op.getLoc();
  Value x = castToF32(b, loc, op.getX());
  Value cosT = castToF32(b, loc, op.getCos());
  Value sinT = castToF32(b, loc, op.getSin());
  auto cosType = cast<RankedTensorType>(cosT.getType());
  int64_t angles = cosType.getDimSize(2);
  bool broadcastBatch = cosType.getDimSize(0) == 1;
  bool interleaved = op.getPairing() == RotaryPairing::interleaved;
  int64_t features = cast<RankedTensorType>(x.getType()).getDimSize(3);
  if (angles > 0 && 2 * angles == features)
    return SmallVector<Value>{
        fullRotation(b, loc, x, cosT, sinT, interleaved, broadcastBatch)};
  Einsum e(b, loc, "blhn", sizesOf(b, loc, x));
  Value y = e.build({e.in(x, "blhn")}, "blhn", "",
                    [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                      if (angles == 0)
                        return a[0];
                      RotaryIndex ri = rotaryIndex(nb, l, e.index(nb, l, 'n'),
                                                   angles, interleaved,
                                                   /*halvesOffset=*/angles);
                      Value bi = e.index(nb, l, 'b'), li = e.index(nb, l, 'l'),
                            hi = e.index(nb, l, 'h');
                      Value other = tensor::ExtractOp::create(
                          nb, l, x, ValueRange{bi, li, hi, ri.partner});
                      Value cb = broadcastBatch
                                     ? arith::ConstantIndexOp::create(nb, l, 0)
                                     : bi;
                      Value c = tensor::ExtractOp::create(
                          nb, l, cosT, ValueRange{cb, li, ri.angle});
                      Value s = tensor::ExtractOp::create(
                          nb, l, sinT, ValueRange{cb, li, ri.angle});
                      return rotaryCombine(nb, l, ri, a[0], other, c, s);
                    });
  return SmallVector<Value>{y};
}

//===----------------------------------------------------------------------===//
// hybrid_merge
//===----------------------------------------------------------------------===//

/// Per-token mean and population variance over the last dim of (b, l, d).
std::pair<Value, Value> moments(OpBuilder &b, Location loc, Value v) {
  SmallVector<OpFoldResult> sizes = sizesOf(b, loc, v);
  double count = double(cast<RankedTensorType>(v.getType()).getDimSize(2));
  Einsum e(b, loc, "bld", sizes);
  Einsum t(b, loc, "bl", {sizes[0], sizes[1]});
  auto divide = [&](Value v) {
    return t.build({t.in(v, "bl")}, "bl", "",
                   [&](OpBuilder &nb, Location l, ValueRange a) {
                     return arith::DivFOp::create(nb, l, a[0],
                                                  cstF32(nb, l, count))
                         .getResult();
                   });
  };
  Value mean = divide(e.build(
      {e.in(v, "bld")}, "bl", "d",
      [&](OpBuilder &nb, Location l, ValueRange a) {
        return add(nb, l, a[1], a[0]);
      },
      0.0));
  Value var = divide(e.build(
      {e.in(v, "bld"), e.in(mean, "bl")}, "bl", "d",
      [&](OpBuilder &nb, Location l, ValueRange a) {
        Value c = sub(nb, l, a[0], a[1]);
        return add(nb, l, a[2], mul(nb, l, c, c));
      },
      0.0));
  return {mean, var};
}

FailureOr<SmallVector<Value>> lower(OpBuilder &b, HybridMergeOp op) {
  Location loc = op.getLoc();
  Value s = castToF32(b, loc, op.getSsmOut());
  Value a = castToF32(b, loc, op.getAttnOut());
  Value w = castToF32(b, loc, op.getWeight());
  double eps = op.getEps().convertToDouble();
  auto [ms, vs] = moments(b, loc, s);
  auto [ma, va] = moments(b, loc, a);
  Einsum en(b, loc, "ble", sizesOf(b, loc, a));
  Value an = en.build(
      {en.in(a, "ble"), en.in(ma, "bl"), en.in(va, "bl"), en.in(ms, "bl"),
       en.in(vs, "bl")},
      "ble", "", [&](OpBuilder &nb, Location l, ValueRange x) {
        Value e = cstF32(nb, l, eps);
        Value scale = arith::DivFOp::create(
            nb, l, math::SqrtOp::create(nb, l, add(nb, l, x[4], e)),
            math::SqrtOp::create(nb, l, add(nb, l, x[2], e)));
        return add(nb, l, mul(nb, l, sub(nb, l, x[0], x[1]), scale), x[3]);
      });
  OpFoldResult B = dimOf(b, loc, s, 0), L = dimOf(b, loc, s, 1),
               D = dimOf(b, loc, s, 2), E = dimOf(b, loc, a, 2);
  Einsum ep(b, loc, "blde", {B, L, D, E});
  Value proj = ep.build(
      {ep.in(an, "ble"), ep.in(w, "ed")}, "bld", "e",
      [&](OpBuilder &nb, Location l, ValueRange x) {
        return add(nb, l, x[2], mul(nb, l, x[0], x[1]));
      },
      0.0);
  Einsum eo(b, loc, "bld", {B, L, D});
  Value y =
      eo.build({eo.in(s, "bld"), eo.in(proj, "bld")}, "bld", "",
               [&](OpBuilder &nb, Location l, ValueRange x) {
                 return mul(nb, l, cstF32(nb, l, 0.5), add(nb, l, x[0], x[1]));
               });
  return SmallVector<Value>{y};
}

//===----------------------------------------------------------------------===//
// token_positions
//===----------------------------------------------------------------------===//

FailureOr<SmallVector<Value>> lower(OpBuilder &b, TokenPositionsOp op) {
  Location loc = op.getLoc();
  auto type = cast<RankedTensorType>(op.getResult().getType());
  SmallVector<OpFoldResult> size = {dimOf(b, loc, op.getTokens(), 1)};
  Value init = tensor::EmptyOp::create(b, loc, size, type.getElementType());
  Value offset = arith::ConstantIndexOp::create(b, loc, 0);
  if (Value o = op.getOffset()) {
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    offset = arith::IndexCastOp::create(
        b, loc, b.getIndexType(),
        tensor::ExtractOp::create(b, loc, o, ValueRange{zero}));
  }
  AffineMap id = b.getMultiDimIdentityMap(1);
  auto g = linalg::GenericOp::create(
      b, loc, TypeRange{type}, ValueRange{}, ValueRange{init},
      ArrayRef<AffineMap>{id},
      ArrayRef<utils::IteratorType>{utils::IteratorType::parallel},
      [&](OpBuilder &nb, Location l, ValueRange) {
        Value i = linalg::IndexOp::create(nb, l, 0);
        Value p = arith::AddIOp::create(nb, l, i, offset);
        linalg::YieldOp::create(
            nb, l,
            arith::IndexCastOp::create(nb, l, type.getElementType(), p)
                .getResult());
      });
  return SmallVector<Value>{g.getResult(0)};
}

struct ConvertSSMToLinalg
    : mlir::ssm::impl::ConvertSSMToLinalgBase<ConvertSSMToLinalg> {
  void runOnOperation() override {
    SmallVector<Operation *> ops;
    bool mixerLeft = false;
    getOperation()->walk([&](Operation *op) {
      if (isa<MixerOpInterface>(op)) {
        op->emitOpError() << "is a mixer: lower it first with "
                             "ssm-materialize-mixers or "
                             "ssm-mixers-to-recurrent";
        mixerLeft = true;
      } else if (isa<RMSNormOp, CausalConv1DOp, RotaryOp, HybridMergeOp,
                     TokenPositionsOp>(op)) {
        ops.push_back(op);
      }
    });
    if (mixerLeft)
      return signalPassFailure();
    for (Operation *op : ops) {
      OpBuilder b(op);
      FailureOr<SmallVector<Value>> results =
          llvm::TypeSwitch<Operation *, FailureOr<SmallVector<Value>>>(op)
              .Case<RMSNormOp, CausalConv1DOp, RotaryOp, HybridMergeOp,
                    TokenPositionsOp>(
                  [&](auto concrete) { return lower(b, concrete); })
              .Default([](Operation *) { return failure(); });
      if (failed(results))
        return signalPassFailure();
      replaceWithCastResults(b, op, *results);
    }
  }
};

} // namespace
