//===- Mamba3Mixer.cpp - Mamba-3 SISO / MIMO as a mixer -------------------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// The trapezoidal update
//   H_t = al_t H_{t-1} + beta_t sum_r v_{t-1,r} k_{t-1,r}^T
//                      + gamma_t sum_r v_{t,r} k_{t,r}^T
// with beta_t = (1 - lam_t) dt_t al_t and gamma_t = lam_t dt_t unrolls to
//   H_i = decay(1..i) H0' + sum_{j<=i} decay(j+1..i) c_{ij} sum_r v_{j,r}
//   k_{j,r}^T c_{ij} = lam_j dt_j + [j < i] (1 - lam_{j+1}) dt_{j+1} H0' = H0 +
//   (1 - lam_1) dt_1 sum_r v_{0,r} k_{0,r}^T   (previous token)
// which is the quadratic form built here: SSD over a rank-2 input.
//
//===----------------------------------------------------------------------===//

#include "MixerCommon.h"
#include "ssm/Dialect/SSM/IR/SSMOps.h"

#include "mlir/Dialect/SCF/IR/SCF.h"

#include <array>

using namespace mlir;
using namespace mlir::ssm;
using namespace mlir::ssm::mixers;

namespace {

/// Operands of ssm.mamba3 (token `t` of them, or all), in f32.
struct Mamba3 {
  Value x, dt, A, lam, theta, B, C; // per token
  Value D, z, Wx, Wz, Wo;           // optional
  int64_t headsPerGroup, rank, angles, stateSize;
  RotaryPairing pairing;

  /// The operands with a sequence dimension (z may be null).
  std::array<Value *, 8> perToken() {
    return {&x, &dt, &A, &lam, &theta, &B, &C, &z};
  }
};

Mamba3 prepare(OpBuilder &b, Mamba3Op op, Value t) {
  Location loc = op.getLoc();
  Mamba3 m;
  m.x = tokenOf(b, loc, op.getX(), t);
  m.dt = tokenOf(b, loc, op.getDt(), t);
  m.A = tokenOf(b, loc, op.getA(), t);
  m.lam = tokenOf(b, loc, op.getLam(), t);
  m.theta = tokenOf(b, loc, op.getTheta(), t);
  m.B = tokenOf(b, loc, op.getB(), t);
  m.C = tokenOf(b, loc, op.getC(), t);
  m.z = tokenOf(b, loc, op.getZ(), t);
  m.D = f32OrNull(b, loc, op.getD());
  m.Wx = f32OrNull(b, loc, op.getWx());
  m.Wz = f32OrNull(b, loc, op.getWz());
  m.Wo = f32OrNull(b, loc, op.getWo());
  m.headsPerGroup = staticDim(op.getX(), 2) / staticDim(op.getB(), 3);
  m.rank = staticDim(op.getB(), 2);
  m.angles = staticDim(op.getTheta(), 3);
  m.stateSize = staticDim(op.getB(), 4);
  m.pairing = op.getRotaryPairing();
  return m;
}

AffineExpr groupOf(const Mamba3 &m, const Einsum &e) {
  return m.headsPerGroup == 1 ? e.d('h') : e.d('h').floorDiv(m.headsPerGroup);
}

/// Rotates src (b, l, r, g, n) by phi (b, h, l, S): (b, l, r, h, n).
Value rotate(OpBuilder &b, Location loc, const Mamba3 &m, Value src,
             Value phi) {
  OpFoldResult B = dimOf(b, loc, src, 0), L = dimOf(b, loc, src, 1),
               R = dimOf(b, loc, src, 2), N = dimOf(b, loc, src, 4),
               H = dimOf(b, loc, phi, 1);
  Einsum e(b, loc, "blrhn", {B, L, R, H, N});
  EinInput self =
      e.in(src, {e.d('b'), e.d('l'), e.d('r'), groupOf(m, e), e.d('n')});
  int64_t S = m.angles;
  return e.build(
      {self}, "blrhn", "",
      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        if (S == 0)
          return a[0];
        RotaryIndex ri = rotaryIndex(nb, l, e.index(nb, l, 'n'), S,
                                     m.pairing == RotaryPairing::interleaved,
                                     /*halvesOffset=*/m.stateSize / 2);
        Value bi = e.index(nb, l, 'b'), li = e.index(nb, l, 'l'),
              rr = e.index(nb, l, 'r'), hi = e.index(nb, l, 'h');
        Value gi = hi;
        if (m.headsPerGroup != 1)
          gi = arith::DivUIOp::create(
              nb, l, hi,
              arith::ConstantIndexOp::create(nb, l, m.headsPerGroup));
        Value other = tensor::ExtractOp::create(
            nb, l, src, ValueRange{bi, li, rr, gi, ri.partner});
        Value ph = tensor::ExtractOp::create(nb, l, phi,
                                             ValueRange{bi, hi, li, ri.angle});
        return rotaryCombine(nb, l, ri, a[0], other,
                             math::CosOp::create(nb, l, ph),
                             math::SinOp::create(nb, l, ph));
      });
}

/// v[b, l, r, h, p] = x[b, l, h, p] * Wx[h, r, p].
Value channelInputs(OpBuilder &b, Location loc, const Mamba3 &m) {
  OpFoldResult B = dimOf(b, loc, m.x, 0), L = dimOf(b, loc, m.x, 1),
               H = dimOf(b, loc, m.x, 2), P = dimOf(b, loc, m.x, 3),
               R = b.getIndexAttr(m.rank);
  Einsum e(b, loc, "blrhp", {B, L, R, H, P});
  SmallVector<EinInput> ins = {e.in(m.x, "blhp")};
  if (m.Wx)
    ins.push_back(e.in(m.Wx, "hrp"));
  return e.build(ins, "blrhp", "",
                 [&](OpBuilder &nb, Location l, ValueRange a) {
                   return m.Wx ? mulF(nb, l, a[0], a[1]) : a[0];
                 });
}

/// y[b, l, h, p] = sum_r Wo (yr + D v) silu(z Wz).
Value combineRanks(OpBuilder &b, Location loc, const Mamba3 &m, Value yr,
                   Value v) {
  OpFoldResult B = dimOf(b, loc, yr, 0), L = dimOf(b, loc, yr, 1),
               R = dimOf(b, loc, yr, 2), H = dimOf(b, loc, yr, 3),
               P = dimOf(b, loc, yr, 4);
  Einsum e(b, loc, "blhpr", {B, L, H, P, R});
  SmallVector<EinInput> ins = {e.in(yr, "blrhp"), e.in(v, "blrhp")};
  int iD = -1, iZ = -1, iWz = -1, iWo = -1;
  auto add = [&](Value v, StringRef idx, int &slot) {
    if (!v)
      return;
    slot = ins.size();
    ins.push_back(e.in(v, idx));
  };
  add(m.D, "h", iD);
  add(m.z, "blhp", iZ);
  add(m.Wz, "hrp", iWz);
  add(m.Wo, "hrp", iWo);
  return e.build(
      ins, "blhp", "r",
      [&](OpBuilder &nb, Location l, ValueRange a) {
        Value t = a[0];
        if (iD >= 0)
          t = addF(nb, l, t, mulF(nb, l, a[iD], a[1]));
        if (iZ >= 0) {
          Value g = a[iZ];
          if (iWz >= 0)
            g = mulF(nb, l, g, a[iWz]);
          t = mulF(nb, l, t, silu(nb, l, g));
        }
        if (iWo >= 0)
          t = mulF(nb, l, t, a[iWo]);
        return addF(nb, l, a.back(), t);
      },
      0.0);
}

/// Per-token scalars: elementwise f(dt, A, lam) over (b, l, h).
Value perToken(
    OpBuilder &b, Location loc, const Mamba3 &m,
    llvm::function_ref<Value(OpBuilder &, Location, Value, Value, Value)> fn) {
  Einsum e(
      b, loc, "blh",
      {dimOf(b, loc, m.dt, 0), dimOf(b, loc, m.dt, 1), dimOf(b, loc, m.dt, 2)});
  return e.build({e.in(m.dt, "blh"), e.in(m.A, "blh"), e.in(m.lam, "blh")},
                 "blh", "", [&](OpBuilder &nb, Location l, ValueRange a) {
                   return fn(nb, l, a[0], a[1], a[2]);
                 });
}

/// The state entering the sequence (each null when zero).
struct Mamba3Init {
  Value state, angle, k, x;
};

/// Everything the quadratic form and the mixing matrix share.
struct Quadratic {
  Value cum;   // (b, h, l) cumulative log decay
  Value total; // (b, h)
  Value gamma; // (b, l, h) lam dt
  Value betaP; // (b, l, h) (1 - lam) dt
  Value phi;   // (b, h, l, S)
  Value k, q;  // (b, l, r, h, n)
};

Quadratic prepareQuadratic(OpBuilder &b, Location loc, const Mamba3 &m,
                           Value initialAngle) {
  Quadratic qd;
  // Each step's decay is clamped, as in the recurrence: exp(min(dt A, 0)).
  Value logDecay = perToken(
      b, loc, m, [](OpBuilder &nb, Location l, Value dt, Value A, Value) {
        return arith::MinimumFOp::create(nb, l, mulF(nb, l, dt, A),
                                         cstF32(nb, l, 0.0))
            .getResult();
      });
  qd.gamma = perToken(b, loc, m,
                      [](OpBuilder &nb, Location l, Value dt, Value,
                         Value lam) { return mulF(nb, l, lam, dt); });
  qd.betaP = perToken(
      b, loc, m, [](OpBuilder &nb, Location l, Value dt, Value, Value lam) {
        return mulF(nb, l, subF(nb, l, cstF32(nb, l, 1.0), lam), dt);
      });
  qd.cum = cumulativeSum(b, loc, logDecay);
  qd.total = totalSum(b, loc, logDecay);

  OpFoldResult B = dimOf(b, loc, m.x, 0), L = dimOf(b, loc, m.x, 1),
               H = dimOf(b, loc, m.x, 2), S = b.getIndexAttr(m.angles);
  Einsum ep(b, loc, "bhiak", {B, H, L, S, L});
  Value start;
  if (initialAngle) {
    Einsum e0(b, loc, "bhia", {B, H, L, S});
    start = e0.build({e0.in(initialAngle, "bha")}, "bhia", "",
                     [](OpBuilder &, Location, ValueRange a) { return a[0]; });
  } else {
    start = filled(b, loc, {B, H, L, S}, 0.0);
  }
  qd.phi = ep.buildInto(
      {ep.in(m.dt, "bkh"), ep.in(m.theta, "bkha")}, "bhia", "k",
      [&](OpBuilder &nb, Location l, ValueRange a) {
        Value upTo = cmpIdx(nb, l, arith::CmpIPredicate::ule,
                            ep.index(nb, l, 'k'), ep.index(nb, l, 'i'));
        return selectF(nb, l, upTo, addF(nb, l, a[2], mulF(nb, l, a[0], a[1])),
                       a[2]);
      },
      start);
  qd.k = rotate(b, loc, m, m.B, qd.phi);
  qd.q = rotate(b, loc, m, m.C, qd.phi);
  return qd;
}

/// (1 - lam_{j+1}) dt_{j+1} for j + 1 < L, else 0, inside a body.
Value nextBeta(OpBuilder &nb, Location l, const Einsum &e, Value betaP,
               Value len) {
  Value one = arith::ConstantIndexOp::create(nb, l, 1);
  Value j1 = arith::AddIOp::create(nb, l, e.index(nb, l, 'j'), one);
  Value valid = cmpIdx(nb, l, arith::CmpIPredicate::ult, j1, len);
  Value lastIdx = arith::SubIOp::create(nb, l, len, one);
  Value at = arith::SelectOp::create(nb, l, valid, j1, lastIdx);
  Value v = tensor::ExtractOp::create(
      nb, l, betaP, ValueRange{e.index(nb, l, 'b'), at, e.index(nb, l, 'h')});
  return selectF(nb, l, valid, v, cstF32(nb, l, 0.0));
}

/// M6[b, h, i, a, j, c] = (q_{i,a} . k_{j,c}) coef[i, j].
Value mixing6(OpBuilder &b, Location loc, const Mamba3 &m,
              const Quadratic &qd) {
  OpFoldResult B = dimOf(b, loc, m.x, 0), L = dimOf(b, loc, m.x, 1),
               H = dimOf(b, loc, m.x, 2), N = dimOf(b, loc, m.B, 4),
               R = b.getIndexAttr(m.rank);
  Value len = toIndex(b, loc, L);
  Einsum ec(b, loc, "bhij", {B, H, L, L});
  Value coef = ec.build(
      {ec.in(qd.cum, "bhi"), ec.in(qd.cum, "bhj"), ec.in(qd.gamma, "bjh")},
      "bhij", "", [&](OpBuilder &nb, Location l, ValueRange a) {
        Value i = ec.index(nb, l, 'i'), j = ec.index(nb, l, 'j');
        Value before = cmpIdx(nb, l, arith::CmpIPredicate::ult, j, i);
        Value beta = selectF(nb, l, before, nextBeta(nb, l, ec, qd.betaP, len),
                             cstF32(nb, l, 0.0));
        Value w = mulF(nb, l, clampedExp(nb, l, subF(nb, l, a[0], a[1])),
                       addF(nb, l, a[2], beta));
        Value causal = cmpIdx(nb, l, arith::CmpIPredicate::ule, j, i);
        return selectF(nb, l, causal, w, cstF32(nb, l, 0.0));
      });
  Einsum eq(b, loc, "bhiajcn", {B, H, L, R, L, R, N});
  return eq.build(
      {eq.in(qd.q, "biahn"), eq.in(qd.k, "bjchn"), eq.in(coef, "bhij")},
      "bhiajc", "n",
      [&](OpBuilder &nb, Location l, ValueRange a) {
        return addF(nb, l, a[3], mulF(nb, l, mulF(nb, l, a[0], a[1]), a[2]));
      },
      0.0);
}

/// H0' = H0 + (1 - lam_1) dt_1 sum_r v_{0,r} k_{0,r}^T, or null when zero.
Value effectiveInitialState(OpBuilder &b, Location loc, const Mamba3 &m,
                            Value betaP, const Mamba3Init &init) {
  Value h0 = init.state, x0 = init.x, k0 = init.k;
  if (!x0 || !k0)
    return h0;
  OpFoldResult B = dimOf(b, loc, m.x, 0), H = dimOf(b, loc, m.x, 2),
               P = dimOf(b, loc, m.x, 3), N = dimOf(b, loc, m.B, 4),
               R = b.getIndexAttr(m.rank);
  Value beta0 = elementAlong(b, loc, betaP, 1, b.getIndexAttr(0));
  Einsum e(b, loc, "bhpnr", {B, H, P, N, R});
  SmallVector<EinInput> ins = {e.in(x0, "bhp"), e.in(k0, "brhn"),
                               e.in(beta0, "bh")};
  if (m.Wx)
    ins.push_back(e.in(m.Wx, "hrp"));
  Value start = h0 ? h0 : filled(b, loc, {B, H, P, N}, 0.0);
  return e.buildInto(
      ins, "bhpn", "r",
      [&](OpBuilder &nb, Location l, ValueRange a) {
        Value v = m.Wx ? mulF(nb, l, a[0], a[3]) : a[0];
        return addF(nb, l, a.back(), mulF(nb, l, a[2], mulF(nb, l, v, a[1])));
      },
      start);
}

/// The results (y, final state, angle, k, x) in quadratic form over the
/// tokens of `m`, starting from `init`.
SmallVector<Value> quadraticForm(OpBuilder &b, Location loc, const Mamba3 &m,
                                 const Mamba3Init &init) {
  Quadratic qd = prepareQuadratic(b, loc, m, init.angle);
  Value m6 = mixing6(b, loc, m, qd);
  Value v = channelInputs(b, loc, m);
  OpFoldResult B = dimOf(b, loc, m.x, 0), L = dimOf(b, loc, m.x, 1),
               H = dimOf(b, loc, m.x, 2), P = dimOf(b, loc, m.x, 3),
               N = dimOf(b, loc, m.B, 4), R = b.getIndexAttr(m.rank);

  Einsum ey(b, loc, "biahpjc", {B, L, R, H, P, L, R});
  Value yr = ey.build(
      {ey.in(m6, "bhiajc"), ey.in(v, "bjchp")}, "biahp", "jc",
      [&](OpBuilder &nb, Location l, ValueRange a) {
        return addF(nb, l, a[2], mulF(nb, l, a[0], a[1]));
      },
      0.0);
  Value h0 = effectiveInitialState(b, loc, m, qd.betaP, init);
  if (h0) {
    Einsum eo(b, loc, "biahpn", {B, L, R, H, P, N});
    yr = eo.buildInto(
        {eo.in(h0, "bhpn"), eo.in(qd.q, "biahn"), eo.in(qd.cum, "bhi")},
        "biahp", "n",
        [&](OpBuilder &nb, Location l, ValueRange a) {
          return addF(
              nb, l, a[3],
              mulF(nb, l, mulF(nb, l, a[0], a[1]), clampedExp(nb, l, a[2])));
        },
        yr);
  }
  Value y = combineRanks(b, loc, m, yr, v);

  // Final state.
  Value len = toIndex(b, loc, L);
  Einsum ew(b, loc, "bhj", {B, H, L});
  Value coefL = ew.build(
      {ew.in(qd.total, "bh"), ew.in(qd.cum, "bhj"), ew.in(qd.gamma, "bjh")},
      "bhj", "", [&](OpBuilder &nb, Location l, ValueRange a) {
        Value beta = nextBeta(nb, l, ew, qd.betaP, len);
        return mulF(nb, l, clampedExp(nb, l, subF(nb, l, a[0], a[1])),
                    addF(nb, l, a[2], beta));
      });
  Value start;
  if (h0) {
    Einsum es(b, loc, "bhpn", {B, H, P, N});
    start = es.build({es.in(h0, "bhpn"), es.in(qd.total, "bh")}, "bhpn", "",
                     [&](OpBuilder &nb, Location l, ValueRange a) {
                       return mulF(nb, l, a[0], clampedExp(nb, l, a[1]));
                     });
  } else {
    start = filled(b, loc, {B, H, P, N}, 0.0);
  }
  Einsum ef(b, loc, "bhpnjc", {B, H, P, N, L, R});
  Value fin = ef.buildInto(
      {ef.in(coefL, "bhj"), ef.in(v, "bjchp"), ef.in(qd.k, "bjchn")}, "bhpn",
      "jc",
      [&](OpBuilder &nb, Location l, ValueRange a) {
        return addF(nb, l, a[3], mulF(nb, l, a[0], mulF(nb, l, a[1], a[2])));
      },
      start);
  Value lastAngle =
      elementAlong(b, loc, qd.phi, 2,
                   arith::SubIOp::create(
                       b, loc, len, arith::ConstantIndexOp::create(b, loc, 1))
                       .getResult());
  return SmallVector<Value>{y, fin, lastAngle, lastToken(b, loc, qd.k),
                            lastToken(b, loc, m.x)};
}

} // namespace

FailureOr<Value> Mamba3Op::materializeMixingMatrix(OpBuilder &b) {
  Location loc = getLoc();
  Mamba3 m = prepare(b, *this, Value());
  Quadratic qd = prepareQuadratic(b, loc, m, getInitialAngle());
  Value m6 = mixing6(b, loc, m, qd);
  return tensor::CollapseShapeOp::create(
             b, loc, m6,
             ArrayRef<ReassociationIndices>{{0}, {1}, {2, 3}, {4, 5}})
      .getResult();
}

FailureOr<SmallVector<Value>> Mamba3Op::buildQuadraticForm(OpBuilder &b) {
  Location loc = getLoc();
  return quadraticForm(b, loc, prepare(b, *this, Value()),
                       Mamba3Init{f32OrNull(b, loc, getInitialState()),
                                  getInitialAngle(), getInitialK(),
                                  getInitialX()});
}

bool Mamba3Op::hasChunkedForm() { return true; }

/// Chunks of Q tokens in quadratic form, one after the other: the loop over
/// the chunks carries the four state values from the end of a chunk into
/// the next (so the trapezoid term that links a chunk's first token to the
/// previous token enters through `initial_k` and `initial_x`). The sequence
/// is zero-padded to a multiple of Q: padding tokens have dt = 0, so no
/// decay, no angle step and no input, and change neither the state nor the
/// angle; the last key and input are taken from the last real token.
FailureOr<SmallVector<Value>> Mamba3Op::buildChunkedForm(OpBuilder &b,
                                                         int64_t Q) {
  if (Q < 1)
    return emitOpError() << "chunk size must be at least 1, got " << Q;
  Location loc = getLoc();
  Mamba3 m = prepare(b, *this, Value());
  OpFoldResult B = dimOf(b, loc, m.x, 0), L = dimOf(b, loc, m.x, 1),
               H = dimOf(b, loc, m.x, 2), P = dimOf(b, loc, m.x, 3),
               QQ = b.getIndexAttr(Q), one = b.getIndexAttr(1);
  Value len = toIndex(b, loc, L);
  Value q = arith::ConstantIndexOp::create(b, loc, Q);
  auto [nc, padded] = chunkCount(b, loc, L, Q);
  Mamba3 pm = m;
  for (Value *v : pm.perToken())
    *v = padAlong(b, loc, *v, 1, padded);

  FailureOr<SmallVector<Value>> state = buildInitialState(b);
  if (failed(state))
    return failure();
  SmallVector<Value> iterArgs = {filled(b, loc, {B, padded, H, P}, 0.0)};
  for (Value v : *state)
    iterArgs.push_back(castToF32(b, loc, v));
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value step = arith::ConstantIndexOp::create(b, loc, 1);
  auto loop = scf::ForOp::create(
      b, loc, zero, nc, step, iterArgs,
      [&](OpBuilder &nb, Location l, Value c, ValueRange args) {
        Value start = arith::MulIOp::create(nb, l, c, q);
        Mamba3 cm = pm;
        for (Value *v : cm.perToken())
          if (*v)
            *v = sliceAlong(nb, l, *v, 1, start, QQ);
        SmallVector<Value> r = quadraticForm(
            nb, l, cm, Mamba3Init{args[1], args[2], args[3], args[4]});
        SmallVector<Value> next = {insertAlong(nb, l, r[0], args[0], 1, start)};
        for (unsigned i = 1; i < 5; ++i)
          next.push_back(castToTensorType(nb, l, r[i], args[i].getType()));
        scf::YieldOp::create(nb, l, next);
      });

  Value y = sliceAlong(b, loc, loop.getResult(0), 1, b.getIndexAttr(0), L);
  Value angle = loop.getResult(2);
  // The last token's key: its B rotated by the final angle.
  Value last = arith::SubIOp::create(b, loc, len, step);
  Value bLast = sliceAlong(b, loc, m.B, 1, last, one);
  Einsum ea(b, loc, "bhia", {B, H, one, b.getIndexAttr(m.angles)});
  Value phi =
      ea.build({ea.in(angle, "bha")}, "bhia", "",
               [](OpBuilder &, Location, ValueRange a) { return a[0]; });
  Value kLast = dropUnitDim(b, loc, rotate(b, loc, m, bLast, phi), 1);
  return SmallVector<Value>{y, loop.getResult(1), angle, kLast,
                            lastToken(b, loc, m.x)};
}

SmallVector<MixerStateInfo> Mamba3Op::getStateInfo() {
  auto xt = cast<RankedTensorType>(getX().getType());
  int64_t batch = xt.getDimSize(0), heads = xt.getDimSize(2),
          headDim = xt.getDimSize(3);
  int64_t n = staticDim(getB(), 4), r = getRank(),
          angles = staticDim(getTheta(), 3);
  Type f32 = Float32Type::get(getContext());
  return {{"ssm_state", RankedTensorType::get({batch, heads, headDim, n}, f32),
           std::nullopt},
          {"angle", RankedTensorType::get({batch, heads, angles}, f32),
           std::nullopt},
          {"last_k", RankedTensorType::get({batch, r, heads, n}, f32),
           std::nullopt},
          {"last_x", RankedTensorType::get({batch, heads, headDim}, f32),
           std::nullopt}};
}

FailureOr<SmallVector<Value>> Mamba3Op::buildInitialState(OpBuilder &b) {
  Location loc = getLoc();
  OpFoldResult B = dimOf(b, loc, getX(), 0);
  SmallVector<Value> state;
  Value given[4] = {getInitialState(), getInitialAngle(), getInitialK(),
                    getInitialX()};
  SmallVector<MixerStateInfo> infos = getStateInfo();
  for (auto [value, info] : llvm::zip(given, infos)) {
    if (value) {
      state.push_back(value);
      continue;
    }
    SmallVector<OpFoldResult> sizes = {B};
    for (int64_t d : info.type.getShape().drop_front())
      sizes.push_back(b.getIndexAttr(d));
    state.push_back(filled(b, loc, sizes, 0.0));
  }
  return state;
}

FailureOr<MixerStep> Mamba3Op::buildRecurrentStep(OpBuilder &b, Value t,
                                                  ValueRange state) {
  if (state.size() != 4)
    return emitOpError() << "recurrent step expects 4 state values, got "
                         << state.size();
  Location loc = getLoc();
  Mamba3 m = prepare(b, *this, t);
  Value h = state[0], phi = state[1], kPrev = state[2], xPrev = state[3];
  OpFoldResult B = dimOf(b, loc, m.x, 0), one = b.getIndexAttr(1),
               H = dimOf(b, loc, m.x, 2), P = dimOf(b, loc, m.x, 3),
               N = dimOf(b, loc, m.B, 4), R = b.getIndexAttr(m.rank),
               S = b.getIndexAttr(m.angles);

  // phi_t = phi_{t-1} + dt_t theta_t, as (b, h, 1, S).
  Einsum ea(b, loc, "bhia", {B, H, one, S});
  Value phiT =
      ea.build({ea.in(phi, "bha"), ea.in(m.dt, "bih"), ea.in(m.theta, "biha")},
               "bhia", "", [&](OpBuilder &nb, Location l, ValueRange a) {
                 return addF(nb, l, a[0], mulF(nb, l, a[1], a[2]));
               });
  Value k = rotate(b, loc, m, m.B, phiT); // (b, 1, r, h, n)
  Value q = rotate(b, loc, m, m.C, phiT);

  // H_t = al H + beta sum_r v_prev k_prev^T + gamma sum_r v k^T.
  Einsum es(b, loc, "bhpn", {B, H, P, N});
  Value decayed = es.build(
      {es.in(h, "bhpn"), es.in(m.dt, "b0h"), es.in(m.A, "b0h")}, "bhpn", "",
      [&](OpBuilder &nb, Location l, ValueRange a) {
        return mulF(nb, l, a[0], clampedExp(nb, l, mulF(nb, l, a[1], a[2])));
      });
  Einsum eu(b, loc, "bhpnr", {B, H, P, N, R});
  SmallVector<EinInput> ins = {eu.in(xPrev, "bhp"), eu.in(kPrev, "brhn"),
                               eu.in(m.x, "b0hp"),  eu.in(k, "b0rhn"),
                               eu.in(m.dt, "b0h"),  eu.in(m.A, "b0h"),
                               eu.in(m.lam, "b0h")};
  if (m.Wx)
    ins.push_back(eu.in(m.Wx, "hrp"));
  Value next = eu.buildInto(
      ins, "bhpn", "r",
      [&](OpBuilder &nb, Location l, ValueRange a) {
        Value dt = a[4], lam = a[6];
        Value al = clampedExp(nb, l, mulF(nb, l, dt, a[5]));
        Value beta = mulF(
            nb, l, mulF(nb, l, subF(nb, l, cstF32(nb, l, 1.0), lam), dt), al);
        Value gamma = mulF(nb, l, lam, dt);
        Value vPrev = m.Wx ? mulF(nb, l, a[0], a[7]) : a[0];
        Value v = m.Wx ? mulF(nb, l, a[2], a[7]) : a[2];
        Value upd = addF(nb, l, mulF(nb, l, beta, mulF(nb, l, vPrev, a[1])),
                         mulF(nb, l, gamma, mulF(nb, l, v, a[3])));
        return addF(nb, l, a.back(), upd);
      },
      decayed);

  Einsum ey(b, loc, "biahpn", {B, one, R, H, P, N});
  Value yr = ey.build(
      {ey.in(next, "bhpn"), ey.in(q, "biahn")}, "biahp", "n",
      [&](OpBuilder &nb, Location l, ValueRange a) {
        return addF(nb, l, a[2], mulF(nb, l, a[0], a[1]));
      },
      0.0);
  Value y = combineRanks(b, loc, m, yr, channelInputs(b, loc, m));
  return MixerStep{{y},
                   {next, dropUnitDim(b, loc, phiT, 2),
                    dropUnitDim(b, loc, k, 1), dropUnitDim(b, loc, m.x, 1)}};
}

SmallVector<unsigned> Mamba3Op::getFinalStateResultIndices() {
  return {1, 2, 3, 4};
}
