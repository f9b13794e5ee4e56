//===- AttentionMixer.cpp - Softmax attention as a mixer ------------------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "MixerCommon.h"
#include "ssm/Dialect/SSM/IR/SSMOps.h"

#include "mlir/Dialect/SCF/IR/SCF.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::ssm;
using namespace mlir::ssm::mixers;

namespace {

struct AttentionParams {
  bool causal;
  double scale;
  std::optional<int64_t> window;
  std::optional<double> softcap;
  int64_t queriesPerKv;
};

AttentionParams paramsOf(AttentionOp op) {
  AttentionParams p;
  p.causal = op.getCausal();
  int64_t d = staticDim(op.getQuery(), 3);
  p.scale = op.getScale() ? op.getScale()->convertToDouble()
                          : 1.0 / std::sqrt(static_cast<double>(d));
  if (std::optional<uint64_t> w = op.getWindow())
    p.window = static_cast<int64_t>(*w);
  if (std::optional<APFloat> c = op.getSoftcap())
    p.softcap = c->convertToDouble();
  p.queriesPerKv = staticDim(op.getQuery(), 2) / staticDim(op.getKey(), 2);
  return p;
}

/// Scaled, softcapped and masked scores (b, hq, l, t) of the queries
/// against `k` (b, t, hkv, d), keys `first .. first + t - 1` of `keyCount`
/// (the causal and window masks align the queries to the end of all
/// `keyCount` keys). `mask` (already restricted to these keys) may be null.
/// With `padded`, keys at `keyCount` and beyond are padding and masked.
Value maskedScores(OpBuilder &b, Location loc, const AttentionParams &p,
                   Value q, Value k, Value mask, Value first, Value keyCount,
                   bool padded) {
  OpFoldResult B = dimOf(b, loc, q, 0), L = dimOf(b, loc, q, 1),
               H = dimOf(b, loc, q, 2), D = dimOf(b, loc, q, 3),
               T = dimOf(b, loc, k, 1);
  Einsum es(b, loc, "bhijd", {B, H, L, T, D});
  AffineExpr kvHead =
      p.queriesPerKv == 1 ? es.d('h') : es.d('h').floorDiv(p.queriesPerKv);
  Value dots = es.build(
      {es.in(q, "bihd"), es.in(k, {es.d('b'), es.d('j'), kvHead, es.d('d')})},
      "bhij", "d",
      [&](OpBuilder &nb, Location l, ValueRange a) {
        return addF(nb, l, a[2], mulF(nb, l, a[0], a[1]));
      },
      0.0);

  // Scale, softcap, additive mask, causal and window masks (-inf).
  Value offset = arith::SubIOp::create(b, loc, keyCount, toIndex(b, loc, L));
  Einsum em(b, loc, "bhij", {B, H, L, T});
  SmallVector<EinInput> ins = {em.in(dots, "bhij")};
  if (mask) {
    auto mt = cast<RankedTensorType>(mask.getType());
    std::string idx = std::string(mt.getDimSize(0) == 1 ? "0" : "b") +
                      (mt.getDimSize(1) == 1 ? "0" : "h") + "ij";
    ins.push_back(em.in(mask, idx));
  }
  double negInf = -std::numeric_limits<double>::infinity();
  return em.build(
      ins, "bhij", "", [&](OpBuilder &nb, Location l, ValueRange a) {
        Value s = mulF(nb, l, a[0], cstF32(nb, l, p.scale));
        if (p.softcap) {
          Value c = cstF32(nb, l, *p.softcap);
          s = mulF(
              nb, l, c,
              math::TanhOp::create(nb, l, arith::DivFOp::create(nb, l, s, c)));
        }
        if (mask)
          s = addF(nb, l, s, a[1]);
        if (!p.causal && !p.window && !padded)
          return s;
        Value i = em.index(nb, l, 'i');
        Value j = arith::AddIOp::create(nb, l, em.index(nb, l, 'j'), first);
        // Signed comparisons: i + (s - l) may be negative when s < l.
        Value last = arith::AddIOp::create(nb, l, i, offset);
        Value visible = arith::ConstantIntOp::create(nb, l, 1, 1);
        if (p.causal)
          visible = cmpIdx(nb, l, arith::CmpIPredicate::sle, j, last);
        if (p.window) {
          Value w = arith::ConstantIndexOp::create(nb, l, *p.window);
          Value firstSeen = arith::SubIOp::create(nb, l, last, w);
          visible = arith::AndIOp::create(
              nb, l, visible,
              cmpIdx(nb, l, arith::CmpIPredicate::sgt, j, firstSeen));
        }
        if (padded)
          visible = arith::AndIOp::create(
              nb, l, visible,
              cmpIdx(nb, l, arith::CmpIPredicate::slt, j, keyCount));
        return selectF(nb, l, visible, s, cstF32(nb, l, negInf));
      });
}

/// exp(s - m), with m = -inf (a row that has seen no key yet) read as 0 so
/// that masked scores give 0 and never NaN.
Value expShift(OpBuilder &b, Location l, Value s, Value m) {
  double negInf = -std::numeric_limits<double>::infinity();
  Value isEmpty = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OEQ, m,
                                        cstF32(b, l, negInf));
  Value safeM = selectF(b, l, isEmpty, cstF32(b, l, 0.0), m);
  return math::ExpOp::create(b, l, subF(b, l, s, safeM)).getResult();
}

/// Row maximum of scores (b, h, i, j) over j: (b, h, i).
Value rowMaximum(OpBuilder &b, Location loc, Value scores) {
  Einsum er(b, loc, "bhij",
            {dimOf(b, loc, scores, 0), dimOf(b, loc, scores, 1),
             dimOf(b, loc, scores, 2), dimOf(b, loc, scores, 3)});
  return er.build(
      {er.in(scores, "bhij")}, "bhi", "j",
      [&](OpBuilder &nb, Location l, ValueRange a) {
        return arith::MaximumFOp::create(nb, l, a[0], a[1]);
      },
      -std::numeric_limits<double>::infinity());
}

/// x / sum, or 0 where the sum is 0 (a row that sees no key).
Value divideBySum(OpBuilder &b, Location l, Value x, Value sum) {
  Value isZero = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OEQ, sum,
                                       cstF32(b, l, 0.0));
  Value safeSum = selectF(b, l, isZero, cstF32(b, l, 1.0), sum);
  return arith::DivFOp::create(b, l, x, safeSum).getResult();
}

/// softmax(masked scores): (b, hq, l, s), f32. `mask` may be null.
Value probabilities(OpBuilder &b, Location loc, const AttentionParams &p,
                    Value q, Value k, Value mask) {
  OpFoldResult B = dimOf(b, loc, q, 0), L = dimOf(b, loc, q, 1),
               H = dimOf(b, loc, q, 2), S = dimOf(b, loc, k, 1);
  Value scores = maskedScores(b, loc, p, q, k, mask,
                              arith::ConstantIndexOp::create(b, loc, 0),
                              toIndex(b, loc, S), /*padded=*/false);
  Value rowMax = rowMaximum(b, loc, scores);
  Einsum er(b, loc, "bhij", {B, H, L, S});
  Value rowSum = er.build(
      {er.in(scores, "bhij"), er.in(rowMax, "bhi")}, "bhi", "j",
      [&](OpBuilder &nb, Location l, ValueRange a) {
        return addF(nb, l, a[2], expShift(nb, l, a[0], a[1]));
      },
      0.0);
  return er.build(
      {er.in(scores, "bhij"), er.in(rowMax, "bhi"), er.in(rowSum, "bhi")},
      "bhij", "", [&](OpBuilder &nb, Location l, ValueRange a) {
        return divideBySum(nb, l, expShift(nb, l, a[0], a[1]), a[2]);
      });
}

/// y[b, i, h, e] = sum_j P[b, h, i, j] v[b, j, h / G, e].
/// With `acc` (b, l, hq, dv), the products are added to it.
Value applyProbabilities(OpBuilder &b, Location loc, const AttentionParams &p,
                         Value probs, Value v, Value acc = Value()) {
  OpFoldResult B = dimOf(b, loc, probs, 0), H = dimOf(b, loc, probs, 1),
               L = dimOf(b, loc, probs, 2), S = dimOf(b, loc, probs, 3),
               E = dimOf(b, loc, v, 3);
  Einsum e(b, loc, "bihej", {B, L, H, E, S});
  AffineExpr kvHead =
      p.queriesPerKv == 1 ? e.d('h') : e.d('h').floorDiv(p.queriesPerKv);
  SmallVector<EinInput> ins = {e.in(probs, "bhij"),
                               e.in(v, {e.d('b'), e.d('j'), kvHead, e.d('e')})};
  auto body = [&](OpBuilder &nb, Location l, ValueRange a) {
    return addF(nb, l, a[2], mulF(nb, l, a[0], a[1]));
  };
  if (acc)
    return e.buildInto(ins, "bihe", "j", body, acc);
  return e.build(ins, "bihe", "j", body, 0.0);
}

/// The mask operand of `op` in f32, or null. A batch size known only at
/// run time may be 1 there (SEMANTICS.md: b or 1): such a mask is then
/// broadcast to the queries' batch size, so that reading it at batch
/// index b is in bounds.
Value maskOf(OpBuilder &b, Location loc, AttentionOp op) {
  Value mask = f32OrNull(b, loc, op.getMask());
  if (!mask)
    return mask;
  auto type = cast<RankedTensorType>(mask.getType());
  if (!type.isDynamicDim(0))
    return mask;
  Value rows = toIndex(b, loc, dimOf(b, loc, mask, 0));
  Value isOne =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, rows,
                            arith::ConstantIndexOp::create(b, loc, 1));
  auto branch = scf::IfOp::create(b, loc, TypeRange{type}, isOne,
                                  /*withElseRegion=*/true);
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(branch.thenBlock());
    Value first =
        sliceAlong(b, loc, mask, 0, b.getIndexAttr(0), b.getIndexAttr(1));
    Einsum e(b, loc, "bhij",
             {dimOf(b, loc, op.getQuery(), 0), dimOf(b, loc, mask, 1),
              dimOf(b, loc, mask, 2), dimOf(b, loc, mask, 3)});
    Value wide =
        e.build({e.in(first, "0hij")}, "bhij", "",
                [](OpBuilder &, Location, ValueRange a) { return a[0]; });
    if (wide.getType() != type)
      wide = tensor::CastOp::create(b, loc, type, wide);
    scf::YieldOp::create(b, loc, wide);
    b.setInsertionPointToStart(branch.elseBlock());
    scf::YieldOp::create(b, loc, mask);
  }
  return branch.getResult(0);
}

/// The operands of a chunked form over tiles of T keys: q, k, v and the mask
/// in f32, the keys, values and mask zero-padded to a multiple of T.
struct KeyTiles {
  Value q, k, v, mask, keyCount, t, tiles;
  OpFoldResult B, L, H, E, TT;
  KeyTiles(OpBuilder &b, AttentionOp op, int64_t T) {
    Location loc = op.getLoc();
    q = castToF32(b, loc, op.getQuery());
    k = castToF32(b, loc, op.getKey());
    v = castToF32(b, loc, op.getValue());
    mask = maskOf(b, loc, op);
    B = dimOf(b, loc, q, 0);
    L = dimOf(b, loc, q, 1);
    H = dimOf(b, loc, q, 2);
    E = dimOf(b, loc, v, 3);
    TT = b.getIndexAttr(T);
    keyCount = toIndex(b, loc, dimOf(b, loc, k, 1));
    t = arith::ConstantIndexOp::create(b, loc, T);
    auto [count, padded] = chunkCount(b, loc, dimOf(b, loc, k, 1), T);
    tiles = count;
    k = padAlong(b, loc, k, 1, padded);
    v = padAlong(b, loc, v, 1, padded);
    mask = padAlong(b, loc, mask, 3, padded);
  }
};

} // namespace

FailureOr<Value> AttentionOp::materializeMixingMatrix(OpBuilder &b) {
  Location loc = getLoc();
  return probabilities(b, loc, paramsOf(*this), castToF32(b, loc, getQuery()),
                       castToF32(b, loc, getKey()), maskOf(b, loc, *this));
}

FailureOr<SmallVector<Value>> AttentionOp::buildQuadraticForm(OpBuilder &b) {
  Location loc = getLoc();
  AttentionParams p = paramsOf(*this);
  Value probs =
      probabilities(b, loc, p, castToF32(b, loc, getQuery()),
                    castToF32(b, loc, getKey()), maskOf(b, loc, *this));
  return SmallVector<Value>{
      applyProbabilities(b, loc, p, probs, castToF32(b, loc, getValue()))};
}

bool AttentionOp::hasChunkedForm() { return true; }

/// Online softmax over tiles of T keys (the keys, values and mask
/// zero-padded to a multiple of T, padding keys masked): per query row a
/// running maximum m, a running sum of exp(score - m) and the running
/// output, rescaled by exp(m_old - m_new) when the maximum grows; the
/// output is divided by the sum at the end. Scores are (b, hq, l, T): the
/// l x s matrix is never built.
FailureOr<SmallVector<Value>> AttentionOp::buildChunkedForm(OpBuilder &b,
                                                            int64_t T) {
  if (T < 1)
    return emitOpError() << "chunk size must be at least 1, got " << T;
  Location loc = getLoc();
  AttentionParams p = paramsOf(*this);
  KeyTiles kt(b, *this, T);
  Value q = kt.q, k = kt.k, v = kt.v, mask = kt.mask, keyCount = kt.keyCount,
        t = kt.t, tiles = kt.tiles;
  OpFoldResult B = kt.B, L = kt.L, H = kt.H, E = kt.E, TT = kt.TT;

  double negInf = -std::numeric_limits<double>::infinity();
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  auto loop = scf::ForOp::create(
      b, loc, zero, tiles, one,
      ValueRange{filled(b, loc, {B, H, L}, negInf),
                 filled(b, loc, {B, H, L}, 0.0),
                 filled(b, loc, {B, L, H, E}, 0.0)},
      [&](OpBuilder &nb, Location l, Value tile, ValueRange args) {
        Value first = arith::MulIOp::create(nb, l, tile, t);
        Value kt = sliceAlong(nb, l, k, 1, first, TT);
        Value vt = sliceAlong(nb, l, v, 1, first, TT);
        Value mt = mask ? sliceAlong(nb, l, mask, 3, first, TT) : Value();
        Value scores = maskedScores(nb, l, p, q, kt, mt, first, keyCount,
                                    /*padded=*/true);
        Value tileMax = rowMaximum(nb, l, scores);
        Einsum er(nb, l, "bhi", {B, H, L});
        Value newMax =
            er.build({er.in(args[0], "bhi"), er.in(tileMax, "bhi")}, "bhi", "",
                     [](OpBuilder &bb, Location ll, ValueRange a) {
                       return arith::MaximumFOp::create(bb, ll, a[0], a[1]);
                     });
        // exp(m_old - m_new): 0 while both are -inf (nothing seen yet).
        Value rescale =
            er.build({er.in(args[0], "bhi"), er.in(newMax, "bhi")}, "bhi", "",
                     [](OpBuilder &bb, Location ll, ValueRange a) {
                       return expShift(bb, ll, a[0], a[1]);
                     });
        Einsum ep(nb, l, "bhij", {B, H, L, TT});
        Value probs =
            ep.build({ep.in(scores, "bhij"), ep.in(newMax, "bhi")}, "bhij", "",
                     [](OpBuilder &bb, Location ll, ValueRange a) {
                       return expShift(bb, ll, a[0], a[1]);
                     });
        Value sum =
            er.build({er.in(args[1], "bhi"), er.in(rescale, "bhi")}, "bhi", "",
                     [](OpBuilder &bb, Location ll, ValueRange a) {
                       return mulF(bb, ll, a[0], a[1]);
                     });
        sum = ep.buildInto(
            {ep.in(probs, "bhij")}, "bhi", "j",
            [](OpBuilder &bb, Location ll, ValueRange a) {
              return addF(bb, ll, a[1], a[0]);
            },
            sum);
        Einsum ea(nb, l, "bihe", {B, L, H, E});
        Value acc =
            ea.build({ea.in(args[2], "bihe"), ea.in(rescale, "bhi")}, "bihe",
                     "", [](OpBuilder &bb, Location ll, ValueRange a) {
                       return mulF(bb, ll, a[0], a[1]);
                     });
        acc = applyProbabilities(nb, l, p, probs, vt, acc);
        scf::YieldOp::create(nb, l, ValueRange{newMax, sum, acc});
      });
  Einsum ey(b, loc, "bihe", {B, L, H, E});
  Value y = ey.build(
      {ey.in(loop.getResult(2), "bihe"), ey.in(loop.getResult(1), "bhi")},
      "bihe", "", [](OpBuilder &bb, Location ll, ValueRange a) {
        return divideBySum(bb, ll, a[0], a[1]);
      });
  return SmallVector<Value>{y};
}

/// The chunked form for differentiation: three loops over tiles of T keys,
/// none of whose reverses needs a tape.
///
///   m   = max_j score_ij                  held constant (ssm.stop_gradient):
///                                         lse does not depend on it
///   sum = sum_j exp(score_ij - m_i)
///   lse = m + log(sum)                    (0 for a row that sees no key)
///   y   = sum_j exp(score_ij - lse_i) v_j
///
/// The last two loops only add into what they carry, so the reverse of each
/// recomputes a tile's scores and probabilities from the log-sum-exp (the
/// FlashAttention backward: dS = P (dP - rowsum(dO o O)) arises from the
/// output loop's reverse and the sum loop's). The scores are computed three
/// times instead of once; no l x s matrix and no per-tile accumulator is
/// kept.
FailureOr<SmallVector<Value>>
AttentionOp::buildDifferentiableChunkedForm(OpBuilder &b, int64_t T) {
  if (T < 1)
    return emitOpError() << "chunk size must be at least 1, got " << T;
  Location loc = getLoc();
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  KeyTiles tiled(b, *this, T);
  AttentionParams p = paramsOf(*this);
  Value q = tiled.q, k = tiled.k, v = tiled.v, mask = tiled.mask;
  OpFoldResult B = tiled.B, L = tiled.L, H = tiled.H, E = tiled.E,
               TT = tiled.TT;
  double negInf = -std::numeric_limits<double>::infinity();

  // A loop over the key tiles carrying `init`; `body` gets a tile's masked
  // scores (b, hq, l, T), its values (b, T, hkv, dv) and the carried value,
  // and returns the next carried value.
  auto overTiles =
      [&](Value init,
          function_ref<Value(OpBuilder &, Location, Value, Value, Value)>
              body) {
        return scf::ForOp::create(
                   b, loc, zero, tiled.tiles, one, ValueRange{init},
                   [&](OpBuilder &nb, Location l, Value tile, ValueRange args) {
                     Value first = arith::MulIOp::create(nb, l, tile, tiled.t);
                     Value kt = sliceAlong(nb, l, k, 1, first, TT);
                     Value vt = sliceAlong(nb, l, v, 1, first, TT);
                     Value mt =
                         mask ? sliceAlong(nb, l, mask, 3, first, TT) : Value();
                     Value scores =
                         maskedScores(nb, l, p, q, kt, mt, first,
                                      tiled.keyCount, /*padded=*/true);
                     scf::YieldOp::create(nb, l,
                                          body(nb, l, scores, vt, args[0]));
                   })
            .getResult(0);
      };

  Value rowMax =
      overTiles(filled(b, loc, {B, H, L}, negInf),
                [&](OpBuilder &nb, Location l, Value scores, Value, Value acc) {
                  Einsum er(nb, l, "bhij", {B, H, L, TT});
                  return er.buildInto(
                      {er.in(scores, "bhij")}, "bhi", "j",
                      [](OpBuilder &bb, Location ll, ValueRange a) {
                        return arith::MaximumFOp::create(bb, ll, a[1], a[0]);
                      },
                      acc);
                });
  rowMax = StopGradientOp::create(b, loc, rowMax.getType(), rowMax);
  Value rowSum =
      overTiles(filled(b, loc, {B, H, L}, 0.0),
                [&](OpBuilder &nb, Location l, Value scores, Value, Value acc) {
                  Einsum er(nb, l, "bhij", {B, H, L, TT});
                  return er.buildInto(
                      {er.in(scores, "bhij"), er.in(rowMax, "bhi")}, "bhi", "j",
                      [](OpBuilder &bb, Location ll, ValueRange a) {
                        return addF(bb, ll, a[2], expShift(bb, ll, a[0], a[1]));
                      },
                      acc);
                });
  // lse = m + log(sum); 0 where the row sees no key (sum = 0, m = -inf), so
  // that exp(-inf - lse) gives that row's probabilities 0.
  Einsum el(b, loc, "bhi", {B, H, L});
  Value lse = el.build(
      {el.in(rowMax, "bhi"), el.in(rowSum, "bhi")}, "bhi", "",
      [&](OpBuilder &nb, Location l, ValueRange a) {
        Value c0 = cstF32(nb, l, 0.0);
        Value empty =
            arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OEQ, a[1], c0);
        Value safeMax = selectF(nb, l, empty, c0, a[0]);
        Value safeSum = selectF(nb, l, empty, cstF32(nb, l, 1.0), a[1]);
        Value logSum = math::LogOp::create(nb, l, safeSum);
        return selectF(nb, l, empty, c0, addF(nb, l, safeMax, logSum));
      });
  Value y = overTiles(
      filled(b, loc, {B, L, H, E}, 0.0),
      [&](OpBuilder &nb, Location l, Value scores, Value vt, Value acc) {
        Einsum ep(nb, l, "bhij", {B, H, L, TT});
        Value probs = ep.build(
            {ep.in(scores, "bhij"), ep.in(lse, "bhi")}, "bhij", "",
            [](OpBuilder &bb, Location ll, ValueRange a) {
              return math::ExpOp::create(bb, ll, subF(bb, ll, a[0], a[1]))
                  .getResult();
            });
        return applyProbabilities(nb, l, p, probs, vt, acc);
      });
  return SmallVector<Value>{y};
}

SmallVector<MixerStateInfo> AttentionOp::getStateInfo() {
  auto kt = cast<RankedTensorType>(getKey().getType());
  auto vt = cast<RankedTensorType>(getValue().getType());
  int64_t batch = cast<RankedTensorType>(getQuery().getType()).getDimSize(0);
  Type f32 = Float32Type::get(getContext());
  auto cache = [&](RankedTensorType t) {
    return RankedTensorType::get(
        {batch, ShapedType::kDynamic, t.getDimSize(2), t.getDimSize(3)}, f32);
  };
  return {MixerStateInfo{"k_cache", cache(kt), 1u},
          MixerStateInfo{"v_cache", cache(vt), 1u}};
}

/// The recurrent form keeps the s - l keys before the first query as the
/// initial cache: it needs s >= l (checked here when both are static; a
/// runtime requirement otherwise).
static LogicalResult checkKeysCoverQueries(AttentionOp op) {
  int64_t l = staticDim(op.getQuery(), 1), s = staticDim(op.getKey(), 1);
  if (ShapedType::isDynamic(l) || ShapedType::isDynamic(s) || s >= l)
    return success();
  return op.emitOpError() << "has no recurrent form with fewer keys (" << s
                          << ") than queries (" << l << ")";
}

FailureOr<SmallVector<Value>> AttentionOp::buildInitialState(OpBuilder &b) {
  if (failed(checkKeysCoverQueries(*this)))
    return failure();
  // The keys and values before the first query (s - l of them) fill the
  // cache initially.
  Location loc = getLoc();
  Value prefix =
      arith::SubIOp::create(b, loc, toIndex(b, loc, dimOf(b, loc, getKey(), 1)),
                            toIndex(b, loc, dimOf(b, loc, getQuery(), 1)));
  SmallVector<Value> state;
  Value keyValue[2] = {getKey(), getValue()};
  SmallVector<MixerStateInfo> infos = getStateInfo();
  for (auto [value, info] : llvm::zip(keyValue, infos)) {
    Value slice = sliceAlong(b, loc, value, 1, b.getIndexAttr(0), prefix);
    Value f32 = castToF32(b, loc, slice);
    state.push_back(tensor::CastOp::create(b, loc, info.type, f32));
  }
  return state;
}

FailureOr<MixerStep> AttentionOp::buildRecurrentStep(OpBuilder &b, Value t,
                                                     ValueRange state) {
  if (!getCausal())
    return emitOpError() << "has no recurrent form: it is not causal";
  if (getMask())
    return emitOpError()
           << "has no recurrent form with an additive mask operand";
  if (failed(checkKeysCoverQueries(*this)))
    return failure();
  if (state.size() != 2)
    return emitOpError() << "recurrent step expects 2 state values, got "
                         << state.size();
  Location loc = getLoc();
  Value prefix =
      arith::SubIOp::create(b, loc, toIndex(b, loc, dimOf(b, loc, getKey(), 1)),
                            toIndex(b, loc, dimOf(b, loc, getQuery(), 1)));
  Value pos = arith::AddIOp::create(b, loc, prefix, t);
  Value q = tokenOf(b, loc, getQuery(), t);
  // Append this token's key and value to the caches.
  SmallVector<Value> caches;
  Value keyValue[2] = {getKey(), getValue()};
  SmallVector<MixerStateInfo> infos = getStateInfo();
  for (auto [operand, cache, info] : llvm::zip(keyValue, state, infos)) {
    Value kv = castToF32(
        b, loc, sliceAlong(b, loc, operand, 1, pos, b.getIndexAttr(1)));
    OpFoldResult len = dimOf(b, loc, cache, 1);
    Value newLen =
        arith::AddIOp::create(b, loc, toIndex(b, loc, len),
                              arith::ConstantIndexOp::create(b, loc, 1));
    SmallVector<OpFoldResult> sizes = {dimOf(b, loc, cache, 0), newLen,
                                       dimOf(b, loc, cache, 2),
                                       dimOf(b, loc, cache, 3)};
    Value grown = tensor::EmptyOp::create(b, loc, sizes, b.getF32Type());
    grown = insertAlong(b, loc, cache, grown, 1, b.getIndexAttr(0));
    grown = insertAlong(b, loc, kv, grown, 1, len);
    caches.push_back(tensor::CastOp::create(b, loc, info.type, grown));
  }
  // The token's query sees the whole cache (causal, aligned to the end).
  AttentionParams p = paramsOf(*this);
  Value probs = probabilities(b, loc, p, q, caches[0], Value());
  Value y = applyProbabilities(b, loc, p, probs, caches[1]);
  return MixerStep{{y}, caches};
}

SmallVector<unsigned> AttentionOp::getFinalStateResultIndices() { return {}; }
