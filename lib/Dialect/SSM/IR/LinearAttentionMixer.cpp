//===- LinearAttentionMixer.cpp - Linear attention as a mixer -------------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// ssm.linear_attention in three forms:
//
// * recurrent: the ONNX LinearAttention recurrence, one token at a time;
// * quadratic: with w(i, j) = exp(cum_i - cum_j) the decay from token j to
//   token i (per head or per key feature; 1 without decay) and `u` the values
//   actually written to the state (`v` for the linear and gated rules),
//     y_i = scale sum_{j <= i} (q_i . (w(i, j) k_j)) u_j
//           + scale q_i . (exp(cum_i) S_0)
//   The delta rules write u_t = beta_t (v_t - (w(t, .) S_{t-1})^T k_t), a
//   unit lower triangular system in u that is solved by forward
//   substitution, one token at a time;
// * the mixing matrix P N (N = identity without the delta rule).
//
//===----------------------------------------------------------------------===//

#include "MixerCommon.h"
#include "ssm/Dialect/SSM/IR/SSMOps.h"

#include "mlir/Dialect/SCF/IR/SCF.h"

#include <cmath>

using namespace mlir;
using namespace mlir::ssm;
using namespace mlir::ssm::mixers;

namespace {

/// The op's operands (the whole sequence or one token) in f32.
struct LinearAttention {
  Value q, k, v; // (b, l, hq, dk), (b, l, hkv, dk), (b, l, hkv, dv)
  Value decay;   // (b, l, hkv) or (b, l, hkv, dk), or null
  Value beta;    // (b, l, hkv), or null
  bool perKey;   // decay per key feature
  double scale;
  int64_t queriesPerKv;

  /// The kv head read by query head `h` (a loop of `e`).
  AffineExpr kvHead(const Einsum &e, char h = 'h') const {
    return queriesPerKv == 1 ? e.d(h) : e.d(h).floorDiv(queriesPerKv);
  }
};

LinearAttention prepare(OpBuilder &b, LinearAttentionOp op, Value t) {
  Location loc = op.getLoc();
  LinearAttention la;
  la.q = tokenOf(b, loc, op.getQuery(), t);
  la.k = tokenOf(b, loc, op.getKey(), t);
  la.v = tokenOf(b, loc, op.getValue(), t);
  la.decay = tokenOf(b, loc, op.getDecay(), t);
  la.beta = tokenOf(b, loc, op.getBeta(), t);
  la.perKey =
      la.decay && cast<RankedTensorType>(la.decay.getType()).getRank() == 4;
  int64_t dk = staticDim(op.getQuery(), 3);
  la.scale = op.getScale() ? op.getScale()->convertToDouble()
                           : 1.0 / std::sqrt(static_cast<double>(dk));
  la.queriesPerKv = staticDim(op.getQuery(), 2) / staticDim(op.getKey(), 2);
  return la;
}

/// Log-decays summed over the sequence: inclusive prefix sums
/// (b, hkv, l[, dk]) and the totals (b, hkv[, dk]).
struct Decays {
  Value cum, total;
  bool perKey;

  /// The decay input of a generic over `e` for kv head `h` and token `tok`
  /// (null token: the total), with key feature loop 'd'.
  EinInput at(const Einsum &e, AffineExpr h, std::optional<char> tok) const {
    SmallVector<AffineExpr> idx = {e.d('b'), h};
    if (tok)
      idx.push_back(e.d(*tok));
    if (perKey)
      idx.push_back(e.d('d'));
    return e.in(tok ? cum : total, idx);
  }
};

Decays decaysOf(OpBuilder &b, Location loc, const LinearAttention &la) {
  Decays ds;
  ds.perKey = la.perKey;
  if (!la.decay)
    return ds;
  if (!la.perKey) {
    ds.cum = cumulativeSum(b, loc, la.decay);
    ds.total = totalSum(b, loc, la.decay);
    return ds;
  }
  OpFoldResult B = dimOf(b, loc, la.decay, 0), L = dimOf(b, loc, la.decay, 1),
               H = dimOf(b, loc, la.decay, 2), D = dimOf(b, loc, la.decay, 3);
  Einsum c(b, loc, "bhidk", {B, H, L, D, L});
  ds.cum = prefixSum(c, c.in(la.decay, "bkhd"), "bhid", 'i', 'k');
  Einsum t(b, loc, "bhdk", {B, H, D, L});
  ds.total = t.build(
      {t.in(la.decay, "bkhd")}, "bhd", "k",
      [&](OpBuilder &nb, Location l, ValueRange a) {
        return addF(nb, l, a[1], a[0]);
      },
      0.0);
  return ds;
}

Value expOf(OpBuilder &b, Location l, Value x) {
  return math::ExpOp::create(b, l, x);
}

/// scale * sum_d a_i[d] k_j[d] w(i, j)[d] for j <= i (j < i when `strict`),
/// 0 elsewhere: (b, ha, l, l). Head h of `a` reads kv head `h / perKv`.
Value decayedScores(OpBuilder &b, Location loc, const LinearAttention &la,
                    const Decays &ds, Value a, int64_t perKv, bool strict,
                    double scale) {
  OpFoldResult B = dimOf(b, loc, a, 0), L = dimOf(b, loc, a, 1),
               H = dimOf(b, loc, a, 2), D = dimOf(b, loc, a, 3);
  Einsum e(b, loc, "bhijd", {B, H, L, L, D});
  AffineExpr kvh = perKv == 1 ? e.d('h') : e.d('h').floorDiv(perKv);
  SmallVector<EinInput> ins = {e.in(a, "bihd"),
                               e.in(la.k, {e.d('b'), e.d('j'), kvh, e.d('d')})};
  bool keyDecay = ds.cum && ds.perKey;
  if (keyDecay) {
    ins.push_back(ds.at(e, kvh, 'i'));
    ins.push_back(ds.at(e, kvh, 'j'));
  }
  // Per-key decays enter the sum; entries above the diagonal (which may
  // overflow there) are discarded by the select below.
  Value dots = e.build(
      ins, "bhij", "d",
      [&](OpBuilder &nb, Location l, ValueRange x) {
        Value v = mulF(nb, l, x[0], x[1]);
        if (keyDecay)
          v = mulF(nb, l, v, expOf(nb, l, subF(nb, l, x[2], x[3])));
        return addF(nb, l, x.back(), v);
      },
      0.0);
  Einsum m(b, loc, "bhij", {B, H, L, L});
  AffineExpr mkvh = perKv == 1 ? m.d('h') : m.d('h').floorDiv(perKv);
  SmallVector<EinInput> mins = {m.in(dots, "bhij")};
  bool headDecay = ds.cum && !ds.perKey;
  if (headDecay) {
    mins.push_back(ds.at(m, mkvh, 'i'));
    mins.push_back(ds.at(m, mkvh, 'j'));
  }
  return m.build(
      mins, "bhij", "", [&](OpBuilder &nb, Location l, ValueRange x) {
        Value v = mulF(nb, l, x[0], cstF32(nb, l, scale));
        if (headDecay)
          v = mulF(nb, l, v, expOf(nb, l, subF(nb, l, x[1], x[2])));
        Value visible = cmpIdx(nb, l,
                               strict ? arith::CmpIPredicate::ult
                                      : arith::CmpIPredicate::ule,
                               m.index(nb, l, 'j'), m.index(nb, l, 'i'));
        return selectF(nb, l, visible, v, cstF32(nb, l, 0.0));
      });
}

/// scale * (exp(cum_i) S_0)^T a_i: the initial state read by `a`
/// (b, l, ha, dv).
Value readInitial(OpBuilder &b, Location loc, const LinearAttention &la,
                  const Decays &ds, Value a, int64_t perKv, Value init,
                  double scale) {
  OpFoldResult B = dimOf(b, loc, a, 0), L = dimOf(b, loc, a, 1),
               H = dimOf(b, loc, a, 2), D = dimOf(b, loc, a, 3),
               M = dimOf(b, loc, init, 3);
  Einsum e(b, loc, "bihmd", {B, L, H, M, D});
  AffineExpr kvh = perKv == 1 ? e.d('h') : e.d('h').floorDiv(perKv);
  SmallVector<EinInput> ins = {e.in(a, "bihd"),
                               e.in(init, {e.d('b'), kvh, e.d('d'), e.d('m')})};
  if (ds.cum)
    ins.push_back(ds.at(e, kvh, 'i'));
  return e.build(
      ins, "bihm", "d",
      [&](OpBuilder &nb, Location l, ValueRange x) {
        Value v = mulF(nb, l, mulF(nb, l, x[0], x[1]), cstF32(nb, l, scale));
        if (ds.cum)
          v = mulF(nb, l, v, expOf(nb, l, x[2]));
        return addF(nb, l, x.back(), v);
      },
      0.0);
}

/// Solves u_t = beta_t (r_t - sum_{j < t} A[t, j] u_j) token by token:
/// A (b, h, l, l) strictly lower triangular, beta (b, l, h), r (b, l, h, x).
Value forwardSubstitute(OpBuilder &b, Location loc, Value A, Value beta,
                        Value r) {
  OpFoldResult B = dimOf(b, loc, r, 0), L = dimOf(b, loc, r, 1),
               H = dimOf(b, loc, r, 2), X = dimOf(b, loc, r, 3),
               one = b.getIndexAttr(1);
  Value u0 = filled(b, loc, {B, L, H, X}, 0.0);
  Value lb = arith::ConstantIndexOp::create(b, loc, 0);
  Value ub = toIndex(b, loc, L);
  Value step = arith::ConstantIndexOp::create(b, loc, 1);
  auto loop = scf::ForOp::create(
      b, loc, lb, ub, step, ValueRange{u0},
      [&](OpBuilder &nb, Location l, Value t, ValueRange args) {
        Value u = args[0];
        Value at = sliceAlong(nb, l, A, 2, t, one);
        Value rt = sliceAlong(nb, l, r, 1, t, one);
        Value bt = sliceAlong(nb, l, beta, 1, t, one);
        Einsum e(nb, l, "bihxj", {B, one, H, X, L});
        Value acc = e.build(
            {e.in(at, "bhij"), e.in(u, "bjhx")}, "bihx", "j",
            [&](OpBuilder &bb, Location ll, ValueRange x) {
              return addF(bb, ll, x[2], mulF(bb, ll, x[0], x[1]));
            },
            0.0);
        Einsum f(nb, l, "bihx", {B, one, H, X});
        Value ut =
            f.build({f.in(rt, "bihx"), f.in(acc, "bihx"), f.in(bt, "bih")},
                    "bihx", "", [&](OpBuilder &bb, Location ll, ValueRange x) {
                      return mulF(bb, ll, x[2], subF(bb, ll, x[0], x[1]));
                    });
        scf::YieldOp::create(nb, l, insertAlong(nb, l, ut, u, 1, t));
      });
  return loop.getResult(0);
}

/// The values written to the state: v, or the delta rule's u.
Value writtenValues(OpBuilder &b, Location loc, const LinearAttention &la,
                    const Decays &ds, Value init) {
  if (!la.beta)
    return la.v;
  Value r = la.v;
  if (init) {
    // The decayed initial state read by the keys: the correction's part
    // that does not depend on earlier written values.
    Value w = readInitial(b, loc, la, ds, la.k, 1, init, 1.0);
    OpFoldResult B = dimOf(b, loc, r, 0), L = dimOf(b, loc, r, 1),
                 H = dimOf(b, loc, r, 2), M = dimOf(b, loc, r, 3);
    Einsum e(b, loc, "blhm", {B, L, H, M});
    r = e.build({e.in(r, "blhm"), e.in(w, "blhm")}, "blhm", "",
                [&](OpBuilder &nb, Location l, ValueRange x) {
                  return subF(nb, l, x[0], x[1]);
                });
  }
  Value A = decayedScores(b, loc, la, ds, la.k, 1, /*strict=*/true, 1.0);
  return forwardSubstitute(b, loc, A, la.beta, r);
}

/// y (b, l, hq, dv) and the final state (b, hkv, dk, dv).
SmallVector<Value> quadratic(OpBuilder &b, Location loc,
                             const LinearAttention &la, Value init) {
  Decays ds = decaysOf(b, loc, la);
  Value u = writtenValues(b, loc, la, ds, init);
  Value P = decayedScores(b, loc, la, ds, la.q, la.queriesPerKv,
                          /*strict=*/false, la.scale);
  OpFoldResult B = dimOf(b, loc, la.q, 0), L = dimOf(b, loc, la.q, 1),
               Hq = dimOf(b, loc, la.q, 2), Hkv = dimOf(b, loc, la.k, 2),
               Dk = dimOf(b, loc, la.k, 3), Dv = dimOf(b, loc, la.v, 3);
  Einsum ey(b, loc, "bihmj", {B, L, Hq, Dv, L});
  SmallVector<EinInput> yIns = {
      ey.in(P, "bhij"),
      ey.in(u, {ey.d('b'), ey.d('j'), la.kvHead(ey), ey.d('m')})};
  auto yBody = [&](OpBuilder &nb, Location l, ValueRange x) {
    return addF(nb, l, x[2], mulF(nb, l, x[0], x[1]));
  };
  Value y = init ? ey.buildInto(yIns, "bihm", "j", yBody,
                                readInitial(b, loc, la, ds, la.q,
                                            la.queriesPerKv, init, la.scale))
                 : ey.build(yIns, "bihm", "j", yBody, 0.0);

  // S_L = exp(total) S_0 + sum_j exp(total - cum_j) k_j u_j^T.
  Value start;
  if (init && ds.cum) {
    Einsum es(b, loc, "bhdm", {B, Hkv, Dk, Dv});
    start = es.build({es.in(init, "bhdm"), ds.at(es, es.d('h'), std::nullopt)},
                     "bhdm", "", [&](OpBuilder &nb, Location l, ValueRange x) {
                       return mulF(nb, l, x[0], expOf(nb, l, x[1]));
                     });
  } else {
    start = init ? init : filled(b, loc, {B, Hkv, Dk, Dv}, 0.0);
  }
  Einsum ef(b, loc, "bhdmj", {B, Hkv, Dk, Dv, L});
  SmallVector<EinInput> fIns = {ef.in(la.k, "bjhd"), ef.in(u, "bjhm")};
  if (ds.cum) {
    fIns.push_back(ds.at(ef, ef.d('h'), std::nullopt));
    fIns.push_back(ds.at(ef, ef.d('h'), 'j'));
  }
  Value fin = ef.buildInto(
      fIns, "bhdm", "j",
      [&](OpBuilder &nb, Location l, ValueRange x) {
        Value v = mulF(nb, l, x[0], x[1]);
        if (ds.cum)
          v = mulF(nb, l, v, expOf(nb, l, subF(nb, l, x[2], x[3])));
        return addF(nb, l, x.back(), v);
      },
      start);
  return {y, fin};
}

/// The mixing matrix acting on v: P, or P N for the delta rules.
Value mixingMatrix(OpBuilder &b, Location loc, const LinearAttention &la) {
  Decays ds = decaysOf(b, loc, la);
  Value P = decayedScores(b, loc, la, ds, la.q, la.queriesPerKv,
                          /*strict=*/false, la.scale);
  if (!la.beta)
    return P;
  OpFoldResult B = dimOf(b, loc, la.q, 0), L = dimOf(b, loc, la.q, 1),
               Hq = dimOf(b, loc, la.q, 2), Hkv = dimOf(b, loc, la.k, 2);
  // N = solve with the identity as right-hand side: (b, l, hkv, l).
  Einsum ei(b, loc, "bjhx", {B, L, Hkv, L});
  Value identity =
      ei.build({}, "bjhx", "", [&](OpBuilder &nb, Location l, ValueRange) {
        Value diag = cmpIdx(nb, l, arith::CmpIPredicate::eq,
                            ei.index(nb, l, 'j'), ei.index(nb, l, 'x'));
        return selectF(nb, l, diag, cstF32(nb, l, 1.0), cstF32(nb, l, 0.0));
      });
  Value A = decayedScores(b, loc, la, ds, la.k, 1, /*strict=*/true, 1.0);
  Value N = forwardSubstitute(b, loc, A, la.beta, identity);
  Einsum em(b, loc, "bhijk", {B, Hq, L, L, L});
  return em.build(
      {em.in(P, "bhik"),
       em.in(N, {em.d('b'), em.d('k'), la.kvHead(em), em.d('j')})},
      "bhij", "k",
      [&](OpBuilder &nb, Location l, ValueRange x) {
        return addF(nb, l, x[2], mulF(nb, l, x[0], x[1]));
      },
      0.0);
}

/// One token of the recurrence from state S (b, hkv, dk, dv).
MixerStep step(OpBuilder &b, Location loc, const LinearAttention &la, Value S) {
  OpFoldResult B = dimOf(b, loc, la.q, 0), Hq = dimOf(b, loc, la.q, 2),
               Hkv = dimOf(b, loc, la.k, 2), Dk = dimOf(b, loc, la.k, 3),
               Dv = dimOf(b, loc, la.v, 3), one = b.getIndexAttr(1);
  if (la.decay) {
    Einsum e(b, loc, "bhdm", {B, Hkv, Dk, Dv});
    S = e.build({e.in(S, "bhdm"), e.in(la.decay, la.perKey ? "b0hd" : "b0h")},
                "bhdm", "", [&](OpBuilder &nb, Location l, ValueRange x) {
                  return mulF(nb, l, x[0], expOf(nb, l, x[1]));
                });
  }
  Value u = la.v;
  if (la.beta) {
    Einsum er(b, loc, "bihmd", {B, one, Hkv, Dv, Dk});
    Value read = er.build(
        {er.in(S, "bhdm"), er.in(la.k, "bihd")}, "bihm", "d",
        [&](OpBuilder &nb, Location l, ValueRange x) {
          return addF(nb, l, x[2], mulF(nb, l, x[0], x[1]));
        },
        0.0);
    Einsum eu(b, loc, "bihm", {B, one, Hkv, Dv});
    u = eu.build(
        {eu.in(la.v, "bihm"), eu.in(read, "bihm"), eu.in(la.beta, "bih")},
        "bihm", "", [&](OpBuilder &nb, Location l, ValueRange x) {
          return mulF(nb, l, x[2], subF(nb, l, x[0], x[1]));
        });
  }
  Einsum ew(b, loc, "bhdm", {B, Hkv, Dk, Dv});
  Value next =
      ew.build({ew.in(S, "bhdm"), ew.in(la.k, "b0hd"), ew.in(u, "b0hm")},
               "bhdm", "", [&](OpBuilder &nb, Location l, ValueRange x) {
                 return addF(nb, l, x[0], mulF(nb, l, x[1], x[2]));
               });
  Einsum ey(b, loc, "bihmd", {B, one, Hq, Dv, Dk});
  Value y = ey.build(
      {ey.in(la.q, "bihd"),
       ey.in(next, {ey.d('b'), la.kvHead(ey), ey.d('d'), ey.d('m')})},
      "bihm", "d",
      [&](OpBuilder &nb, Location l, ValueRange x) {
        Value v = mulF(nb, l, mulF(nb, l, x[0], x[1]), cstF32(nb, l, la.scale));
        return addF(nb, l, x[2], v);
      },
      0.0);
  return MixerStep{{y}, {next}};
}

} // namespace

FailureOr<Value> LinearAttentionOp::materializeMixingMatrix(OpBuilder &b) {
  return mixingMatrix(b, getLoc(), prepare(b, *this, Value()));
}

FailureOr<SmallVector<Value>>
LinearAttentionOp::buildQuadraticForm(OpBuilder &b) {
  return quadratic(b, getLoc(), prepare(b, *this, Value()),
                   f32OrNull(b, getLoc(), getInitialState()));
}

SmallVector<MixerStateInfo> LinearAttentionOp::getStateInfo() {
  auto type = cast<RankedTensorType>(getFinalState().getType());
  return {MixerStateInfo{"linear_attention_state", type, std::nullopt}};
}

FailureOr<MixerStep>
LinearAttentionOp::buildRecurrentStep(OpBuilder &b, Value t, ValueRange state) {
  if (state.size() != 1)
    return emitOpError() << "recurrent step expects 1 state value, got "
                         << state.size();
  return step(b, getLoc(), prepare(b, *this, t), state[0]);
}

FailureOr<SmallVector<Value>>
LinearAttentionOp::buildInitialState(OpBuilder &b) {
  Location loc = getLoc();
  if (Value init = getInitialState())
    return SmallVector<Value>{init};
  return SmallVector<Value>{
      filled(b, loc,
             {dimOf(b, loc, getQuery(), 0), dimOf(b, loc, getKey(), 2),
              dimOf(b, loc, getKey(), 3), dimOf(b, loc, getValue(), 3)},
             0.0)};
}

SmallVector<unsigned> LinearAttentionOp::getFinalStateResultIndices() {
  return {1};
}
