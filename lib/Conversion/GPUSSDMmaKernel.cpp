//===- GPUSSDMmaKernel.cpp - The fused SSD scan on tensor cores -----------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// The scan and fix-up kernels of ssm.fused_ssd with the matrix products on
// NVIDIA tensor cores (nvgpu.mma.sync, m16n8k8 on TF32 operands, f32
// accumulators; see TensorCores for the TF32x3 split). A block of 8 warps
// per (batch, head, 64 head dims, segment) passes over the segment's chunks
// of 64 tokens in order. Per chunk:
//
//   - x (64 tokens x 64 head dims) is staged in workgroup memory and the
//     chunk's table filled (emitChunkDecays);
//   - y = M x with M_ij = cb_ij exp(cum_i - cum_j) scale_j (j <= i), cb from
//     the `_cb` kernel's buffer: warp w computes the rows 16 (w % 4) .. + 15
//     and head dims 32 (w / 4) .. + 31 of y; M's fragments are built in
//     registers straight from cb, over the token tiles up to the diagonal;
//   - per slice of 32 state dims (C and B staged in workgroup memory):
//     y += exp(cum_i) C_i S^T from the state's copy in workgroup memory, and
//     the state S (64 head dims x n, mma accumulators in registers: warp w
//     owns head dims 16 (w % 4) .. + 15 and, per slice, the state dims
//     16 (w / 4) .. + 15) decays by exp(cum_last) and gains (w x)^T B;
//   - D x and the gate, y stored; S copied into workgroup memory.
//
// The fix-up (segments after the first) adds the term of the state
// entering the segment only: H carried over the earlier segments' own final
// states and total decays, y += exp(cum_i) C_i H^T (times the gate), H
// decayed per chunk; the last segment's block writes the final state.
//
// Fragment layouts (PTX ISA, mma.m16n8k8 .tf32, lane = 4 g + t): A's a0..a3
// at (g, t), (g + 8, t), (g, t + 4), (g + 8, t + 4); B's b0, b1 at (t, g),
// (t + 4, g); C's c0..c3 at (g, 2t), (g, 2t + 1), (g + 8, 2t),
// (g + 8, 2t + 1). Where the reduced index is a token (M x and (w x)^T B),
// the k-slots t and t + 4 stand for tokens 2t and 2t + 1 in both operands (a
// consistent reordering of the sum): values in accumulator layout then
// serve as A fragments, and with the pitches below no workgroup-memory read
// of a fragment has a bank conflict.
//
//===----------------------------------------------------------------------===//

#include "GPUKernels.h"

using namespace mlir;
using namespace mlir::ssm;
using namespace mlir::ssm::kernels;

namespace {

constexpr int64_t kChunk = 64;             // tokens per chunk
constexpr int64_t kTile = kSSDMmaHeadTile; // head dims per block
constexpr int64_t kNSlice = 32;            // state dims per staged slice
constexpr int64_t kWarps = 8;
constexpr int64_t kThreads = 32 * kWarps;
constexpr int64_t kXPitch = kTile + 4;   // x: [64 tokens][68]
constexpr int64_t kSPitch = kTile + 8;   // the state: [n][72]
constexpr int64_t kCPitch = kNSlice + 4; // C and B slices: [64 tokens][36]

} // namespace

void mlir::ssm::emitSSDScanMma(OpBuilder &b, const SSDScanPlan &plan,
                               bool fixup, TensorCores tensorCores,
                               StringRef module, StringRef name) {
  OpBuilder::InsertionGuard guard(b);
  FusedSSDOp op = plan.op;
  Location loc = op.getLoc();
  K k{b, loc};
  Mma mma{k, tensorCores};
  Value x = op.getX(), logDecay = op.getLogDecay(), bMat = op.getB(),
        cMat = op.getC(), scale = op.getScale(), init = op.getInitialState(),
        state = op.getStateInit();
  int64_t heads = plan.heads, headDim = plan.headDim, groups = plan.groups,
          stateDim = plan.stateDim, headTiles = plan.headTiles;
  int64_t statePad = llvm::alignTo(stateDim, kNSlice);
  int64_t slices = statePad / kNSlice;
  Value c0 = k.idx(0), one = k.idx(1);
  Value seq = plan.seq, chunks = plan.chunks, segs = plan.segs;

  // Segments per (batch, head, tile): all of them, or those after the first.
  Value perTile = fixup ? k.sub(segs, one) : segs;
  Value blocks = k.mul(k.mul(plan.batch, heads * headTiles), perTile);
  // Dynamic workgroup memory, in floats: x and B (the scan only), the
  // state, C, the chunk's table.
  int64_t xSize = fixup ? 0 : kChunk * kXPitch;
  int64_t bSize = fixup ? 0 : kChunk * kCPitch;
  int64_t stAt = xSize, cAt = stAt + statePad * kSPitch,
          bAt = cAt + kChunk * kCPitch, tableAt = bAt + bSize,
          size = tableAt + 5 * kChunk;
  gpu::LaunchOp body =
      k.launch(blocks, kThreads, 1, {}, module, name, size * 4);
  auto view = k.floatViews();
  Value xs = fixup ? Value() : view(0, {kChunk, kXPitch});
  Value st = view(stAt, {statePad, kSPitch});
  Value cs = view(cAt, {kChunk, kCPitch});
  Value bs = fixup ? Value() : view(bAt, {kChunk, kCPitch});
  Value table = view(tableAt, {5, kChunk});

  Value tid = body.getThreadIds().x, id = body.getBlockIds().x;
  Value lane = k.remu(tid, 32), warp = k.divu(tid, 32);
  Value g = k.divu(lane, 4), t = k.remu(lane, 4);
  Value quarter = k.remu(warp, 4), half = k.divu(warp, 4);
  ScanBlock blk = scanBlock(k, id, perTile, fixup, plan);
  Value seg = blk.seg, tile = blk.tile, h = blk.h, bi = blk.bi, gi = blk.gi,
        p0 = blk.p0, bh = blk.bh;
  Value headDimV = k.idx(headDim), stateDimV = k.idx(stateDim);

  // This thread's state elements: slot ((s * 2 + q) * 2 + r) * 2 + e is
  // head dim stateP(r) of the tile and state dim stateN(s, q, e).
  auto slot = [](int64_t s, int64_t q, int64_t r, int64_t e) {
    return ((s * 2 + q) * 2 + r) * 2 + e;
  };
  auto stateP = [&](int64_t r) {
    return k.add(k.add(k.mul(quarter, 16), g), 8 * r);
  };
  auto stateN = [&](int64_t s, int64_t q, int64_t e) {
    return k.add(k.add(k.mul(half, 16), k.mul(t, 2)), kNSlice * s + 8 * q + e);
  };
  auto forOwned =
      [&](function_ref<void(int64_t, int64_t, int64_t, int64_t)> f) {
        for (int64_t s = 0; s < slices; ++s)
          for (int64_t q = 0; q < 2; ++q)
            for (int64_t r = 0; r < 2; ++r)
              for (int64_t e = 0; e < 2; ++e)
                f(s, q, r, e);
      };
  auto ownIn = [&](int64_t s, int64_t q, int64_t r, int64_t e) {
    return k.both(k.slt(k.add(p0, stateP(r)), headDimV),
                  k.slt(stateN(s, q, e), stateDimV));
  };
  // Segment `sIdx`'s own final state at this thread's element.
  auto segAt = [&](Value sIdx, int64_t s, int64_t q, int64_t r, int64_t e) {
    Value at = k.add(k.mul(k.add(k.mul(bh, segs), sIdx), headDim),
                     k.add(p0, stateP(r)));
    return k.add(k.mul(at, stateDim), stateN(s, q, e));
  };
  // Stores this thread's elements of `vals` into `to` (the real ones).
  auto storeTo =
      [&](ArrayRef<Value> vals, Value to,
          function_ref<SmallVector<Value>(int64_t, int64_t, int64_t, int64_t)>
              at) {
        forOwned([&](int64_t s, int64_t q, int64_t r, int64_t e) {
          k.when(ownIn(s, q, r, e),
                 [&] { k.store(vals[slot(s, q, r, e)], to, at(s, q, r, e)); });
        });
      };
  auto finalAt = [&](int64_t s, int64_t q, int64_t r, int64_t e) {
    return SmallVector<Value>{bi, h, k.add(p0, stateP(r)), stateN(s, q, e)};
  };
  // The state's copy in workgroup memory, [n][p].
  auto storeCopy = [&](ArrayRef<Value> vals) {
    forOwned([&](int64_t s, int64_t q, int64_t r, int64_t e) {
      k.store(vals[slot(s, q, r, e)], st, {stateN(s, q, e), stateP(r)});
    });
  };

  // The state entering the segment, as in the SIMT scan: the first
  // segment's from the initial state (or 0), the others' from 0; the fix-up
  // carries the segments' own final states (H = exp(T_s) H + S_s from 0)
  // and writes the final state from the last segment.
  SmallVector<Value> start;
  Value first = k.cmp(arith::CmpIPredicate::eq, seg, c0);
  forOwned([&](int64_t s, int64_t q, int64_t r, int64_t e) {
    start.push_back(
        init && !fixup
            ? k.loadOrZero(k.both(first, ownIn(s, q, r, e)), init,
                           {bi, h, k.add(p0, stateP(r)), stateN(s, q, e)})
            : k.f32(0.0));
  });
  if (fixup) {
    auto carry = [&](Value sIdx, ValueRange hs) {
      Value decay =
          clampedExp(k, k.load(plan.segTotal, {k.add(k.mul(bh, segs), sIdx)}));
      SmallVector<Value> next;
      forOwned([&](int64_t s, int64_t q, int64_t r, int64_t e) {
        next.push_back(k.fma(decay, hs[slot(s, q, r, e)],
                             k.loadOrZero(ownIn(s, q, r, e), plan.segState,
                                          {segAt(sIdx, s, q, r, e)})));
      });
      return next;
    };
    scf::ForOp before = k.loop(c0, seg, start, carry);
    start.assign(before.getResults().begin(), before.getResults().end());
    Value lastSeg = k.cmp(arith::CmpIPredicate::eq, seg, k.sub(segs, one));
    k.when(lastSeg, [&] { storeTo(carry(seg, start), state, finalAt); });
  }
  storeCopy(start);
  k.barrier();

  Value cBegin = k.mul(seg, plan.segChunks);
  Value cEnd = k.mins(k.add(cBegin, plan.segChunks), chunks);
  SmallVector<Value> loopInit{k.f32(0.0)};
  llvm::append_range(loopInit, start);
  auto chunkLoop = scf::ForOp::create(b, loc, cBegin, cEnd, one, loopInit);
  {
    OpBuilder::InsertionGuard inLoop(b);
    b.setInsertionPointToStart(chunkLoop.getBody());
    Value c = chunkLoop.getInductionVar();
    Value t0 = k.mul(c, kChunk);
    SmallVector<Value> sv(chunkLoop.getRegionIterArgs().drop_front());
    // x, [64 tokens][64 head dims] (neighbouring threads, neighbouring
    // head dims).
    if (!fixup)
      for (int64_t u = 0; u < kChunk * kTile / kThreads; ++u) {
        Value row = k.add(k.divu(tid, kTile), u * (kThreads / kTile));
        Value col = k.remu(tid, kTile);
        Value tok = k.add(t0, row), pp = k.add(p0, col);
        k.store(k.loadOrZero(k.both(k.slt(tok, seq), k.slt(pp, headDimV)), x,
                             {bi, tok, h, pp}),
                xs, {row, col});
      }
    emitChunkDecays(k, table, tid, t0, seq, logDecay, scale, bi, h,
                    /*weights=*/!fixup);

    // y: rows iRow[r] of the chunk, head dims 32 half + 8 nt + 2 t + e of
    // the tile; accumulator nt * 4 + r * 2 + e.
    Value iRow[2] = {k.add(k.mul(quarter, 16), g),
                     k.add(k.add(k.mul(quarter, 16), g), 8)};
    SmallVector<Value> yAcc(16, k.f32(0.0));
    auto yCol = [&](int64_t nt) {
      return k.add(k.mul(half, 32), k.add(g, 8 * nt));
    };
    if (!fixup) {
      // y = M x over the token tiles jt <= 2 quarter + 1.
      Value base = k.mul(k.add(k.mul(k.add(k.mul(bi, chunks), c), groups), gi),
                         kChunk * kChunk);
      Value cumI[2] = {k.load(table, {k.idx(kCumRow), iRow[0]}),
                       k.load(table, {k.idx(kCumRow), iRow[1]})};
      Value tiles = k.add(k.mul(quarter, 2), 2);
      scf::ForOp diag = k.loop(c0, tiles, yAcc, [&](Value jt, ValueRange acc) {
        Value j[2] = {k.add(k.mul(jt, 8), k.mul(t, 2)), Value()};
        j[1] = k.add(j[0], 1);
        // m[r * 2 + e] = M at (iRow[r], j[e]).
        SmallVector<Value> m;
        for (int64_t r = 0; r < 2; ++r)
          for (int64_t e = 0; e < 2; ++e) {
            Value cbv = k.load(
                plan.cb, {k.add(base, k.add(k.mul(iRow[r], kChunk), j[e]))});
            Value decay = clampedExp(
                k, arith::SubFOp::create(
                       b, loc, cumI[r], k.load(table, {k.idx(kCumRow), j[e]})));
            Value v = k.fmul(k.fmul(cbv, decay),
                             k.load(table, {k.idx(kScaleRow), j[e]}));
            m.push_back(k.select(k.sle(j[e], iRow[r]), v, k.f32(0.0)));
          }
        SmallVector<Value> a{m[0], m[2], m[1], m[3]};
        SmallVector<Value> next;
        for (int64_t nt = 0; nt < 4; ++nt) {
          Value col = yCol(nt);
          llvm::append_range(
              next, mma(a, {k.load(xs, {j[0], col}), k.load(xs, {j[1], col})},
                        acc.slice(nt * 4, 4)));
        }
        return next;
      });
      yAcc.assign(diag.getResults().begin(), diag.getResults().end());
    }

    // Per slice of 32 state dims: y += exp(cum_i) C_i S^T, and the state's
    // tiles in the slice decayed and (the scan) updated.
    Value eI[2] = {k.load(table, {k.idx(kExpRow), iRow[0]}),
                   k.load(table, {k.idx(kExpRow), iRow[1]})};
    Value decay = k.load(table, {k.idx(kExpRow), k.idx(kChunk - 1)});
    Value pRow[2] = {stateP(0), stateP(1)};
    for (int64_t s = 0; s < slices; ++s) {
      for (int64_t u = 0; u < kChunk * kNSlice / kThreads; ++u) {
        Value row = k.add(warp, u * kWarps);
        Value tok = k.add(t0, row), nn = k.add(lane, kNSlice * s);
        Value in = k.both(k.slt(tok, seq), k.slt(nn, stateDimV));
        k.store(k.loadOrZero(in, cMat, {bi, tok, gi, nn}), cs, {row, lane});
        if (!fixup)
          k.store(k.loadOrZero(in, bMat, {bi, tok, gi, nn}), bs, {row, lane});
      }
      k.barrier();
      scf::ForOp off =
          k.loop(c0, k.idx(kNSlice / 8), yAcc, [&](Value ks, ValueRange acc) {
            Value kA = k.add(k.mul(ks, 8), t), kB = k.add(kA, 4);
            SmallVector<Value> a{k.fmul(k.load(cs, {iRow[0], kA}), eI[0]),
                                 k.fmul(k.load(cs, {iRow[1], kA}), eI[1]),
                                 k.fmul(k.load(cs, {iRow[0], kB}), eI[0]),
                                 k.fmul(k.load(cs, {iRow[1], kB}), eI[1])};
            Value nA = k.add(kA, kNSlice * s), nB = k.add(kB, kNSlice * s);
            SmallVector<Value> next;
            for (int64_t nt = 0; nt < 4; ++nt) {
              Value col = yCol(nt);
              llvm::append_range(
                  next, mma(a, {k.load(st, {nA, col}), k.load(st, {nB, col})},
                            acc.slice(nt * 4, 4)));
            }
            return next;
          });
      yAcc.assign(off.getResults().begin(), off.getResults().end());

      MutableArrayRef<Value> own(sv.data() + slot(s, 0, 0, 0), 8);
      for (Value &v : own)
        v = k.fmul(decay, v);
      if (!fixup) {
        scf::ForOp update =
            k.loop(c0, k.idx(kChunk / 8), own, [&](Value ks, ValueRange acc) {
              Value jA = k.add(k.mul(ks, 8), k.mul(t, 2)), jB = k.add(jA, 1);
              Value wA = k.load(table, {k.idx(kWeightRow), jA});
              Value wB = k.load(table, {k.idx(kWeightRow), jB});
              SmallVector<Value> a{k.fmul(k.load(xs, {jA, pRow[0]}), wA),
                                   k.fmul(k.load(xs, {jA, pRow[1]}), wA),
                                   k.fmul(k.load(xs, {jB, pRow[0]}), wB),
                                   k.fmul(k.load(xs, {jB, pRow[1]}), wB)};
              SmallVector<Value> next;
              for (int64_t q = 0; q < 2; ++q) {
                Value col = k.add(k.add(k.mul(half, 16), g), 8 * q);
                llvm::append_range(
                    next, mma(a, {k.load(bs, {jA, col}), k.load(bs, {jB, col})},
                              acc.slice(q * 4, 4)));
              }
              return next;
            });
        llvm::copy(update.getResults(), own.begin());
      }
      k.barrier();
    }

    // y + D x, times silu(gate), stored (the fix-up adds to y).
    for (int64_t nt = 0; nt < 4; ++nt)
      for (int64_t r = 0; r < 2; ++r)
        for (int64_t e = 0; e < 2; ++e) {
          Value pl = k.add(k.add(k.mul(half, 32), k.mul(t, 2)), 8 * nt + e);
          Value tok = k.add(t0, iRow[r]), pp = k.add(p0, pl);
          k.when(k.both(k.slt(tok, seq), k.slt(pp, headDimV)), [&] {
            storeSSDOutput(
                k, op, yAcc[nt * 4 + r * 2 + e],
                [&] {
                  return k.load(xs, {iRow[r], pl});
                },
                {bi, tok, h, pp}, fixup);
          });
        }
    storeCopy(sv);
    k.barrier();
    SmallVector<Value> next{
        k.fadd(chunkLoop.getRegionIterArgs()[0],
               k.load(table, {k.idx(kCumRow), k.idx(kChunk - 1)}))};
    llvm::append_range(next, sv);
    scf::YieldOp::create(b, loc, next);
  }
  if (!fixup) {
    // The scan's end: the final state when not segmented, else the
    // segment's own final state and total log decay.
    SmallVector<Value> own(chunkLoop.getResults().drop_front());
    auto branch = scf::IfOp::create(b, loc, plan.segmented, true);
    OpBuilder::InsertionGuard inThen(b);
    b.setInsertionPointToStart(branch.thenBlock());
    storeTo(own, plan.segState,
            [&](int64_t s, int64_t q, int64_t r, int64_t e) {
              return SmallVector<Value>{segAt(seg, s, q, r, e)};
            });
    k.when(k.both(k.cmp(arith::CmpIPredicate::eq, tid, c0),
                  k.cmp(arith::CmpIPredicate::eq, tile, c0)),
           [&] {
             k.store(chunkLoop.getResult(0), plan.segTotal,
                     {k.add(k.mul(bh, segs), seg)});
           });
    b.setInsertionPointToStart(branch.elseBlock());
    storeTo(own, state, finalAt);
    b.setInsertionPointAfter(branch);
  }
  gpu::TerminatorOp::create(b, loc);
}
