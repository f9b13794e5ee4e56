//===- ScalarDecayMixers.cpp - Mamba-2 SSD and Discrete Mamba-2 ----------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Both ops are the scalar-decay SSM
//   H_t = exp(g_t) H_{t-1} + s_t x_t B_t^T,   y_t = H_t C_t + D x_t,
//   y_t = y_t * silu(gate_t)
// with a per-token, per-head log-decay g_t and input scale s_t that each op
// computes from its own parameters (its prologue). Everything after the
// prologue is shared.
//
//===----------------------------------------------------------------------===//

#include "MixerCommon.h"
#include "ssm/Dialect/SSM/IR/SSMOps.h"

#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::ssm;
using namespace mlir::ssm::mixers;

namespace {

/// The scalar-decay SSM after its prologue, all in f32.
struct ScalarDecay {
  Value x;        // (b, l, h, p)
  Value logDecay; // (b, l, h)
  Value scale;    // (b, l, h), or null for 1
  Value B, C;     // (b, l, g, n)
  Value D;        // (h) or (h, p), or null
  Value gate;     // (b, l, h, p), or null (bias already added)
  int64_t headsPerGroup;

  AffineExpr group(const Einsum &e) const {
    return headsPerGroup == 1 ? e.d('h') : e.d('h').floorDiv(headsPerGroup);
  }
};

/// Prologue of ssm.ssd on token `t` (or on the whole sequence).
ScalarDecay prepare(OpBuilder &b, SSDOp op, Value t) {
  Location loc = op.getLoc();
  ScalarDecay sd;
  sd.x = tokenOf(b, loc, op.getX(), t);
  sd.B = tokenOf(b, loc, op.getB(), t);
  sd.C = tokenOf(b, loc, op.getC(), t);
  sd.gate = tokenOf(b, loc, op.getZ(), t);
  sd.D = f32OrNull(b, loc, op.getD());
  sd.headsPerGroup = staticDim(op.getX(), 2) / staticDim(op.getB(), 2);

  Value dt = tokenOf(b, loc, op.getDt(), t);
  Value A = castToF32(b, loc, op.getA());
  Value bias = f32OrNull(b, loc, op.getDtBias());
  bool softplusDt = op.getDtSoftplus();
  std::optional<ArrayRef<float>> limit = op.getDtLimit();

  Einsum e(b, loc, "blh",
           {dimOf(b, loc, dt, 0), dimOf(b, loc, dt, 1), dimOf(b, loc, dt, 2)});
  SmallVector<EinInput> ins = {e.in(dt, "blh")};
  if (bias)
    ins.push_back(e.in(bias, "h"));
  sd.scale =
      e.build(ins, "blh", "", [&](OpBuilder &nb, Location l, ValueRange a) {
        Value v = a[0];
        if (bias)
          v = addF(nb, l, v, a[1]);
        if (softplusDt)
          v = softplus(nb, l, v);
        if (limit) {
          v = arith::MaximumFOp::create(nb, l, v, cstF32(nb, l, (*limit)[0]));
          v = arith::MinimumFOp::create(nb, l, v, cstF32(nb, l, (*limit)[1]));
        }
        return v;
      });
  // Each step's decay is clamped, as in the recurrence: exp(min(dt' A, 0)).
  sd.logDecay =
      e.build({e.in(sd.scale, "blh"), e.in(A, "h")}, "blh", "",
              [&](OpBuilder &nb, Location l, ValueRange a) {
                return arith::MinimumFOp::create(nb, l, mulF(nb, l, a[0], a[1]),
                                                 cstF32(nb, l, 0.0))
                    .getResult();
              });
  return sd;
}

/// Prologue of ssm.discrete_ssd on token `t` (or on the whole sequence).
ScalarDecay prepare(OpBuilder &b, DiscreteSSDOp op, Value t) {
  Location loc = op.getLoc();
  ScalarDecay sd;
  sd.x = tokenOf(b, loc, op.getX(), t);
  sd.B = tokenOf(b, loc, op.getB(), t);
  sd.C = tokenOf(b, loc, op.getC(), t);
  sd.D = f32OrNull(b, loc, op.getD());
  sd.headsPerGroup = staticDim(op.getX(), 2) / staticDim(op.getB(), 2);
  Value aLog = tokenOf(b, loc, op.getALog(), t);
  Einsum e(
      b, loc, "blh",
      {dimOf(b, loc, aLog, 0), dimOf(b, loc, aLog, 1), dimOf(b, loc, aLog, 2)});
  sd.logDecay =
      e.build({e.in(aLog, "blh")}, "blh", "",
              [&](OpBuilder &nb, Location l, ValueRange a) {
                return arith::NegFOp::create(nb, l, softplus(nb, l, a[0]));
              });
  if (Value z = tokenOf(b, loc, op.getZ(), t)) {
    sd.gate = z;
    if (Value zb = f32OrNull(b, loc, op.getZBias())) {
      Einsum g(b, loc, "blhp",
               {dimOf(b, loc, z, 0), dimOf(b, loc, z, 1), dimOf(b, loc, z, 2),
                dimOf(b, loc, z, 3)});
      sd.gate = g.build({g.in(z, "blhp"), g.in(zb, "hp")}, "blhp", "",
                        [&](OpBuilder &nb, Location l, ValueRange a) {
                          return addF(nb, l, a[0], a[1]);
                        });
    }
  }
  return sd;
}

/// exp(min(v, 0)) of every element of `v`, computed once for the ops that
/// read it broadcast over further loops (a decay per head read for every
/// (p, n) state element would otherwise be evaluated for each of them).
Value expOf(OpBuilder &b, Location loc, Value v) {
  int64_t rank = cast<RankedTensorType>(v.getType()).getRank();
  std::string idx = std::string("abcdefgh").substr(0, rank);
  SmallVector<OpFoldResult> sizes;
  for (int64_t d = 0; d < rank; ++d)
    sizes.push_back(dimOf(b, loc, v, d));
  Einsum e(b, loc, idx, sizes);
  return e.build({e.in(v, idx)}, idx, "",
                 [](OpBuilder &nb, Location l, ValueRange a) {
                   return clampedExp(nb, l, a[0]);
                 });
}

/// y = y + D x, y = y * silu(gate).
Value skipAndGate(OpBuilder &b, Location loc, const ScalarDecay &sd, Value y) {
  if (!sd.D && !sd.gate)
    return y;
  Einsum e(b, loc, "blhp",
           {dimOf(b, loc, y, 0), dimOf(b, loc, y, 1), dimOf(b, loc, y, 2),
            dimOf(b, loc, y, 3)});
  SmallVector<EinInput> ins = {e.in(y, "blhp")};
  if (sd.D) {
    ins.push_back(e.in(sd.x, "blhp"));
    ins.push_back(e.in(
        sd.D,
        cast<RankedTensorType>(sd.D.getType()).getRank() == 1 ? "h" : "hp"));
  }
  if (sd.gate)
    ins.push_back(e.in(sd.gate, "blhp"));
  return e.build(ins, "blhp", "", [&](OpBuilder &nb, Location l, ValueRange a) {
    Value v = a[0];
    unsigned next = 1;
    if (sd.D) {
      v = addF(nb, l, v, mulF(nb, l, a[1], a[2]));
      next = 3;
    }
    if (sd.gate)
      v = mulF(nb, l, v, silu(nb, l, a[next]));
    return v;
  });
}

/// M[b, h, i, j] = [j <= i] (C_i . B_j) exp(min(cum_i - cum_j, 0)) s_j.
Value mixingMatrix(OpBuilder &b, Location loc, const ScalarDecay &sd,
                   Value cum) {
  OpFoldResult B = dimOf(b, loc, sd.x, 0), L = dimOf(b, loc, sd.x, 1),
               H = dimOf(b, loc, sd.x, 2), N = dimOf(b, loc, sd.B, 3);
  Einsum c(b, loc, "bhijn", {B, H, L, L, N});
  AffineExpr g = sd.group(c);
  Value cb = c.build(
      {c.in(sd.C, {c.d('b'), c.d('i'), g, c.d('n')}),
       c.in(sd.B, {c.d('b'), c.d('j'), g, c.d('n')})},
      "bhij", "n",
      [&](OpBuilder &nb, Location l, ValueRange a) {
        return addF(nb, l, a[2], mulF(nb, l, a[0], a[1]));
      },
      0.0);
  Einsum m(b, loc, "bhij", {B, H, L, L});
  SmallVector<EinInput> ins = {m.in(cb, "bhij"), m.in(cum, "bhi"),
                               m.in(cum, "bhj")};
  if (sd.scale)
    ins.push_back(m.in(sd.scale, "bjh"));
  return m.build(ins, "bhij", "", [&](OpBuilder &nb, Location l, ValueRange a) {
    Value v = mulF(nb, l, a[0], clampedExp(nb, l, subF(nb, l, a[1], a[2])));
    if (sd.scale)
      v = mulF(nb, l, v, a[3]);
    Value causal = cmpIdx(nb, l, arith::CmpIPredicate::ule, m.index(nb, l, 'j'),
                          m.index(nb, l, 'i'));
    return selectF(nb, l, causal, v, cstF32(nb, l, 0.0));
  });
}

/// Results of the quadratic form: y (b, l, h, p) and the final state.
SmallVector<Value> quadratic(OpBuilder &b, Location loc, const ScalarDecay &sd,
                             Value init) {
  OpFoldResult B = dimOf(b, loc, sd.x, 0), L = dimOf(b, loc, sd.x, 1),
               H = dimOf(b, loc, sd.x, 2), P = dimOf(b, loc, sd.x, 3),
               N = dimOf(b, loc, sd.B, 3);
  Value cum = cumulativeSum(b, loc, sd.logDecay);
  Value M = mixingMatrix(b, loc, sd, cum);

  Einsum ey(b, loc, "bihpj", {B, L, H, P, L});
  Value y = ey.build(
      {ey.in(M, "bhij"), ey.in(sd.x, "bjhp")}, "bihp", "j",
      [&](OpBuilder &nb, Location l, ValueRange a) {
        return addF(nb, l, a[2], mulF(nb, l, a[0], a[1]));
      },
      0.0);
  if (init) {
    // y_i += exp(min(cum_i, 0)) H0 C_i.
    Value decay = expOf(b, loc, cum);
    Einsum eo(b, loc, "bihpn", {B, L, H, P, N});
    y = eo.buildInto(
        {eo.in(init, "bhpn"),
         eo.in(sd.C, {eo.d('b'), eo.d('i'), sd.group(eo), eo.d('n')}),
         eo.in(decay, "bhi")},
        "bihp", "n",
        [&](OpBuilder &nb, Location l, ValueRange a) {
          Value v = mulF(nb, l, mulF(nb, l, a[0], a[1]), a[2]);
          return addF(nb, l, a[3], v);
        },
        y);
  }
  y = skipAndGate(b, loc, sd, y);

  // H_L = exp(min(cum_L, 0)) H0 + sum_j exp(min(cum_L - cum_j, 0)) s_j x_j
  // B_j^T.
  Value total = totalSum(b, loc, sd.logDecay);
  Einsum ef(b, loc, "bhpnj", {B, H, P, N, L});
  Value start;
  if (init) {
    Einsum ei(b, loc, "bhpn", {B, H, P, N});
    start = ei.build({ei.in(init, "bhpn"), ei.in(expOf(b, loc, total), "bh")},
                     "bhpn", "", [&](OpBuilder &nb, Location l, ValueRange a) {
                       return mulF(nb, l, a[0], a[1]);
                     });
  } else {
    start = filled(b, loc, {B, H, P, N}, 0.0);
  }
  // Token j's weight in the final state, once per (b, h, j).
  Einsum ew(b, loc, "bhj", {B, H, L});
  SmallVector<EinInput> wIns = {ew.in(total, "bh"), ew.in(cum, "bhj")};
  if (sd.scale)
    wIns.push_back(ew.in(sd.scale, "bjh"));
  Value weight =
      ew.build(wIns, "bhj", "", [&](OpBuilder &nb, Location l, ValueRange a) {
        Value w = clampedExp(nb, l, subF(nb, l, a[0], a[1]));
        return sd.scale ? mulF(nb, l, w, a[2]) : w;
      });
  Value fin = ef.buildInto(
      {ef.in(sd.x, "bjhp"),
       ef.in(sd.B, {ef.d('b'), ef.d('j'), sd.group(ef), ef.d('n')}),
       ef.in(weight, "bhj")},
      "bhpn", "j",
      [&](OpBuilder &nb, Location l, ValueRange a) {
        Value v = mulF(nb, l, a[2], mulF(nb, l, a[0], a[1]));
        return addF(nb, l, a[3], v);
      },
      start);
  return {y, fin};
}

/// `v` (b, l, ...) zero-padded along the sequence to `nc * Q` tokens and
/// viewed as chunks: (b, nc, Q, ...).
Value chunkView(OpBuilder &b, Location loc, Value v, Value padded,
                OpFoldResult nc, int64_t Q) {
  if (!v)
    return v;
  auto type = cast<RankedTensorType>(v.getType());
  Value full = padAlong(b, loc, v, 1, padded);
  SmallVector<int64_t> shape = {type.getDimSize(0), ShapedType::kDynamic, Q};
  SmallVector<OpFoldResult> outSizes = {dimOf(b, loc, v, 0), nc,
                                        b.getIndexAttr(Q)};
  SmallVector<ReassociationIndices> groups = {{0}, {1, 2}};
  for (int64_t d = 2; d < type.getRank(); ++d) {
    shape.push_back(type.getDimSize(d));
    outSizes.push_back(dimOf(b, loc, v, d));
    groups.push_back({d + 1});
  }
  return tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get(shape, b.getF32Type()), full, groups,
      outSizes);
}

/// Results of the chunked form with chunks of `Q` tokens: y (b, l, h, p) and
/// the final state. Loops `c` (chunk) and `i`, `j`, `k` (token in the
/// chunk) index the chunked views (b, nc, Q, ...) of the padded sequence;
/// padding tokens have no decay and no input, so they change nothing.
SmallVector<Value> chunked(OpBuilder &b, Location loc, const ScalarDecay &sd,
                           Value init, int64_t Q) {
  OpFoldResult B = dimOf(b, loc, sd.x, 0), L = dimOf(b, loc, sd.x, 1),
               H = dimOf(b, loc, sd.x, 2), P = dimOf(b, loc, sd.x, 3),
               N = dimOf(b, loc, sd.B, 3), QQ = b.getIndexAttr(Q),
               one = b.getIndexAttr(1);
  Value len = toIndex(b, loc, L);
  Value q = arith::ConstantIndexOp::create(b, loc, Q);
  Value nc = arith::DivUIOp::create(
      b, loc,
      arith::AddIOp::create(b, loc, len,
                            arith::ConstantIndexOp::create(b, loc, Q - 1)),
      q);
  Value padded = arith::MulIOp::create(b, loc, nc, q);
  OpFoldResult NC = nc;
  ScalarDecay pd = sd;
  pd.x = chunkView(b, loc, sd.x, padded, NC, Q);
  pd.B = chunkView(b, loc, sd.B, padded, NC, Q);
  pd.C = chunkView(b, loc, sd.C, padded, NC, Q);
  pd.logDecay = chunkView(b, loc, sd.logDecay, padded, NC, Q);
  pd.scale = chunkView(b, loc, sd.scale, padded, NC, Q);
  // B or C of token `t` of chunk c, for head h.
  auto bc = [&](const Einsum &e, Value v, char t) {
    return e.in(v, {e.d('b'), e.d('c'), e.d(t), pd.group(e), e.d('n')});
  };

  // cum[b, h, c, i]: log decay summed over the chunk up to token i.
  Einsum ec(b, loc, "bhcik", {B, H, NC, QQ, QQ});
  Value cum = prefixSum(ec, ec.in(pd.logDecay, "bckh"), "bhci", 'i', 'k');
  // cum at the chunk's last token: the chunk's total log decay (b, h, c).
  Value total = elementAlong(b, loc, cum, 3, b.getIndexAttr(Q - 1));

  // Intra-chunk mixing matrix M[b, h, c, i, j] (j <= i). B is read
  // transposed, (b, c, g, n, j), so that the innermost loop runs over j,
  // contiguous in B and in M.
  OpFoldResult G = dimOf(b, loc, sd.B, 2);
  Einsum et(b, loc, "bcgnj", {B, NC, G, N, QQ});
  Value bt = et.build({et.in(pd.B, "bcjgn")}, "bcgnj", "",
                      [](OpBuilder &, Location, ValueRange a) { return a[0]; });
  Einsum em(b, loc, "bhcijn", {B, H, NC, QQ, QQ, N});
  Value cb = em.build(
      {bc(em, pd.C, 'i'),
       em.in(bt, {em.d('b'), em.d('c'), pd.group(em), em.d('n'), em.d('j')})},
      "bhcij", "n",
      [&](OpBuilder &nb, Location l, ValueRange a) {
        return addF(nb, l, a[2], mulF(nb, l, a[0], a[1]));
      },
      0.0);
  Einsum ew(b, loc, "bhcij", {B, H, NC, QQ, QQ});
  SmallVector<EinInput> wIns = {ew.in(cb, "bhcij"), ew.in(cum, "bhci"),
                                ew.in(cum, "bhcj")};
  if (pd.scale)
    wIns.push_back(ew.in(pd.scale, "bcjh"));
  Value M =
      ew.build(wIns, "bhcij", "", [&](OpBuilder &nb, Location l, ValueRange a) {
        Value v = mulF(nb, l, a[0], clampedExp(nb, l, subF(nb, l, a[1], a[2])));
        if (pd.scale)
          v = mulF(nb, l, v, a[3]);
        Value causal = cmpIdx(nb, l, arith::CmpIPredicate::ule,
                              ew.index(nb, l, 'j'), ew.index(nb, l, 'i'));
        return selectF(nb, l, causal, v, cstF32(nb, l, 0.0));
      });

  // Each chunk's own state S[b, c, h, n, p] (from a zero state). States are
  // kept (n, p) inside the chunked form so that p, contiguous in x and y,
  // is the innermost loop of their products.
  // Token j's weight in its chunk's state, once per (b, h, c, j).
  Einsum ewj(b, loc, "bhcj", {B, H, NC, QQ});
  SmallVector<EinInput> wjIns = {ewj.in(total, "bhc"), ewj.in(cum, "bhcj")};
  if (pd.scale)
    wjIns.push_back(ewj.in(pd.scale, "bcjh"));
  Value weight = ewj.build(
      wjIns, "bhcj", "", [&](OpBuilder &nb, Location l, ValueRange a) {
        Value w = clampedExp(nb, l, subF(nb, l, a[0], a[1]));
        return pd.scale ? mulF(nb, l, w, a[2]) : w;
      });
  Einsum es(b, loc, "bchnpj", {B, NC, H, N, P, QQ});
  Value S = es.build(
      {es.in(pd.x, "bcjhp"), bc(es, pd.B, 'j'), es.in(weight, "bhcj")}, "bchnp",
      "j",
      [&](OpBuilder &nb, Location l, ValueRange a) {
        return addF(nb, l, a.back(),
                    mulF(nb, l, a[2], mulF(nb, l, a[0], a[1])));
      },
      0.0);

  // State passing: before[b, c] is the state entering chunk c.
  auto swapPN = [&](Value v, StringRef from, StringRef to) {
    Einsum e(b, loc, to, {B, H, to[2] == 'p' ? P : N, to[3] == 'p' ? P : N});
    return e.build({e.in(v, from)}, to, "",
                   [](OpBuilder &, Location, ValueRange a) { return a[0]; });
  };
  Value h0 =
      init ? swapPN(init, "bhpn", "bhnp") : filled(b, loc, {B, H, N, P}, 0.0);
  Value before0 = filled(b, loc, {B, NC, H, N, P}, 0.0);
  Value chunkDecay = expOf(b, loc, total);
  Value lb = arith::ConstantIndexOp::create(b, loc, 0);
  Value step = arith::ConstantIndexOp::create(b, loc, 1);
  auto loop = scf::ForOp::create(
      b, loc, lb, nc, step, ValueRange{h0, before0},
      [&](OpBuilder &nb, Location l, Value c, ValueRange args) {
        Value hs = args[0];
        // Rank-reducing insert of the (b, h, p, n) state at chunk c.
        OpFoldResult zero = nb.getIndexAttr(0);
        Value before = tensor::InsertSliceOp::create(
            nb, l, hs, args[1],
            SmallVector<OpFoldResult>{zero, c, zero, zero, zero},
            SmallVector<OpFoldResult>{B, one, H, N, P},
            SmallVector<OpFoldResult>(5, one));
        Value sc = sliceAlong(nb, l, S, 1, c, one);
        Value tc = sliceAlong(nb, l, chunkDecay, 2, c, one);
        Einsum e(nb, l, "bhnp", {B, H, N, P});
        Value next =
            e.build({e.in(hs, "bhnp"), e.in(tc, "bh0"), e.in(sc, "b0hnp")},
                    "bhnp", "", [&](OpBuilder &bb, Location ll, ValueRange a) {
                      return addF(bb, ll, mulF(bb, ll, a[1], a[0]), a[2]);
                    });
        scf::YieldOp::create(nb, l, ValueRange{next, before});
      });
  Value finalState = swapPN(loop.getResult(0), "bhnp", "bhpn");
  Value before = loop.getResult(1);

  // y[b, c, i, h, p] = exp(cum_i) C_i . before_c  +  sum_j M[i, j] x_j.
  Value decay = expOf(b, loc, cum);
  Einsum eo(b, loc, "bcihpn", {B, NC, QQ, H, P, N});
  Value y = eo.build(
      {bc(eo, pd.C, 'i'), eo.in(before, "bchnp"), eo.in(decay, "bhci")},
      "bcihp", "n",
      [&](OpBuilder &nb, Location l, ValueRange a) {
        Value v = mulF(nb, l, mulF(nb, l, a[0], a[1]), a[2]);
        return addF(nb, l, a[3], v);
      },
      0.0);
  Einsum ed(b, loc, "bcihpj", {B, NC, QQ, H, P, QQ});
  y = ed.buildInto(
      {ed.in(M, "bhcij"), ed.in(pd.x, "bcjhp")}, "bcihp", "j",
      [&](OpBuilder &nb, Location l, ValueRange a) {
        return addF(nb, l, a[2], mulF(nb, l, a[0], a[1]));
      },
      y);
  y = tensor::CollapseShapeOp::create(
      b, loc, y, SmallVector<ReassociationIndices>{{0}, {1, 2}, {3}, {4}});
  y = sliceAlong(b, loc, y, 1, b.getIndexAttr(0), L);
  return {skipAndGate(b, loc, sd, y), finalState};
}

/// One token: H' = exp(min(g, 0)) H + s x B^T, y = H' C (+ D x, gate).
MixerStep step(OpBuilder &b, Location loc, const ScalarDecay &sd, Value h) {
  OpFoldResult B = dimOf(b, loc, sd.x, 0), H = dimOf(b, loc, sd.x, 2),
               P = dimOf(b, loc, sd.x, 3), N = dimOf(b, loc, sd.B, 3),
               one = b.getIndexAttr(1);
  Einsum es(b, loc, "bhpn", {B, H, P, N});
  SmallVector<EinInput> ins = {
      es.in(h, "bhpn"), es.in(expOf(b, loc, sd.logDecay), "b0h"),
      es.in(sd.x, "b0hp"),
      es.in(sd.B, {es.d('b'), getAffineConstantExpr(0, b.getContext()),
                   sd.group(es), es.d('n')})};
  if (sd.scale)
    ins.push_back(es.in(sd.scale, "b0h"));
  Value next =
      es.build(ins, "bhpn", "", [&](OpBuilder &nb, Location l, ValueRange a) {
        Value in = mulF(nb, l, a[2], a[3]);
        if (sd.scale)
          in = mulF(nb, l, in, a[4]);
        return addF(nb, l, mulF(nb, l, a[1], a[0]), in);
      });
  Einsum ey(b, loc, "bihpn", {B, one, H, P, N});
  Value y = ey.build(
      {ey.in(next, "bhpn"),
       ey.in(sd.C, {ey.d('b'), ey.d('i'), sd.group(ey), ey.d('n')})},
      "bihp", "n",
      [&](OpBuilder &nb, Location l, ValueRange a) {
        return addF(nb, l, a[2], mulF(nb, l, a[0], a[1]));
      },
      0.0);
  return MixerStep{{skipAndGate(b, loc, sd, y)}, {next}};
}

SmallVector<MixerStateInfo> stateInfo(Value x, Value bMat) {
  auto xt = cast<RankedTensorType>(x.getType());
  auto type = RankedTensorType::get({xt.getDimSize(0), xt.getDimSize(2),
                                     xt.getDimSize(3), staticDim(bMat, 3)},
                                    Float32Type::get(x.getContext()));
  return {MixerStateInfo{"ssm_state", type, std::nullopt}};
}

Value initialState(OpBuilder &b, Location loc, Value x, Value bMat,
                   Value init) {
  if (init)
    return init;
  return filled(b, loc,
                {dimOf(b, loc, x, 0), dimOf(b, loc, x, 2), dimOf(b, loc, x, 3),
                 dimOf(b, loc, bMat, 3)},
                0.0);
}

} // namespace

ScalarDecayOperands mlir::ssm::buildScalarDecayOperands(OpBuilder &b,
                                                        Operation *op) {
  ScalarDecay sd = isa<SSDOp>(op)
                       ? prepare(b, cast<SSDOp>(op), Value())
                       : prepare(b, cast<DiscreteSSDOp>(op), Value());
  Value init = isa<SSDOp>(op) ? cast<SSDOp>(op).getInitialState()
                              : cast<DiscreteSSDOp>(op).getInitialState();
  return ScalarDecayOperands{
      sd.x, sd.logDecay, sd.scale, sd.B,
      sd.C, sd.D,        sd.gate,  f32OrNull(b, op->getLoc(), init)};
}

//===----------------------------------------------------------------------===//
// Interface methods, shared by SSDOp and DiscreteSSDOp
//===----------------------------------------------------------------------===//

namespace {
template <typename OpT> FailureOr<Value> materializeImpl(OpT op, OpBuilder &b) {
  ScalarDecay sd = prepare(b, op, Value());
  return mixingMatrix(b, op.getLoc(), sd,
                      cumulativeSum(b, op.getLoc(), sd.logDecay));
}

template <typename OpT>
FailureOr<SmallVector<Value>> quadraticImpl(OpT op, OpBuilder &b) {
  ScalarDecay sd = prepare(b, op, Value());
  return quadratic(b, op.getLoc(), sd,
                   f32OrNull(b, op.getLoc(), op.getInitialState()));
}

template <typename OpT>
FailureOr<SmallVector<Value>> chunkedImpl(OpT op, OpBuilder &b,
                                          int64_t chunkSize) {
  if (chunkSize < 1)
    return op.emitOpError()
           << "chunk size must be at least 1, got " << chunkSize;
  ScalarDecay sd = prepare(b, op, Value());
  return chunked(b, op.getLoc(), sd,
                 f32OrNull(b, op.getLoc(), op.getInitialState()), chunkSize);
}

template <typename OpT>
FailureOr<MixerStep> stepImpl(OpT op, OpBuilder &b, Value t, ValueRange state) {
  if (state.size() != 1)
    return op.emitOpError()
           << "recurrent step expects 1 state value, got " << state.size();
  return step(b, op.getLoc(), prepare(b, op, t), state[0]);
}

template <typename OpT>
FailureOr<SmallVector<Value>> initialStateImpl(OpT op, OpBuilder &b) {
  return SmallVector<Value>{
      initialState(b, op.getLoc(), op.getX(), op.getB(), op.getInitialState())};
}
} // namespace

FailureOr<Value> SSDOp::materializeMixingMatrix(OpBuilder &b) {
  return materializeImpl(*this, b);
}
FailureOr<SmallVector<Value>> SSDOp::buildQuadraticForm(OpBuilder &b) {
  return quadraticImpl(*this, b);
}
bool SSDOp::hasChunkedForm() { return true; }
FailureOr<SmallVector<Value>> SSDOp::buildChunkedForm(OpBuilder &b,
                                                      int64_t chunkSize) {
  return chunkedImpl(*this, b, chunkSize);
}
SmallVector<MixerStateInfo> SSDOp::getStateInfo() {
  return stateInfo(getX(), getB());
}
FailureOr<MixerStep> SSDOp::buildRecurrentStep(OpBuilder &b, Value t,
                                               ValueRange state) {
  return stepImpl(*this, b, t, state);
}
FailureOr<SmallVector<Value>> SSDOp::buildInitialState(OpBuilder &b) {
  return initialStateImpl(*this, b);
}
SmallVector<unsigned> SSDOp::getFinalStateResultIndices() { return {1}; }

FailureOr<Value> DiscreteSSDOp::materializeMixingMatrix(OpBuilder &b) {
  return materializeImpl(*this, b);
}
FailureOr<SmallVector<Value>> DiscreteSSDOp::buildQuadraticForm(OpBuilder &b) {
  return quadraticImpl(*this, b);
}
bool DiscreteSSDOp::hasChunkedForm() { return true; }
FailureOr<SmallVector<Value>>
DiscreteSSDOp::buildChunkedForm(OpBuilder &b, int64_t chunkSize) {
  return chunkedImpl(*this, b, chunkSize);
}
SmallVector<MixerStateInfo> DiscreteSSDOp::getStateInfo() {
  return stateInfo(getX(), getB());
}
FailureOr<MixerStep> DiscreteSSDOp::buildRecurrentStep(OpBuilder &b, Value t,
                                                       ValueRange state) {
  return stepImpl(*this, b, t, state);
}
FailureOr<SmallVector<Value>> DiscreteSSDOp::buildInitialState(OpBuilder &b) {
  return initialStateImpl(*this, b);
}
SmallVector<unsigned> DiscreteSSDOp::getFinalStateResultIndices() {
  return {1};
}
