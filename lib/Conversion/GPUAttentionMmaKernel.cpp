//===- GPUAttentionMmaKernel.cpp - Fused attention on tensor cores --------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// ssm.fused_attention on buffers as one kernel with the products on NVIDIA
// tensor cores (FlashAttention-2's forward; the Mma of GPUKernels.h: m16n8k8
// mma.sync on TF32 operands, or TF32x3). A block of 4 warps per 64 packed
// rows of one (batch, kv head) (rows as in the SIMT kernel: the (query,
// head) pairs of the query heads that share the kv head), q staged once in
// dynamic workgroup memory, then per key tile of 64 (the tiles some row
// sees) k and v staged and, per warp (16 rows):
//
//   - the scores S = q k^T (16 x 64: 8 accumulator tiles) over the head
//     size in steps of 8, then scaled, softcapped, masked (AttentionRows);
//   - the online softmax in registers: each row's maximum and sum over the
//     thread's 16 scores, then over the 4 threads of a quad (the lanes that
//     hold the row) with xor shuffles; the output rescaled;
//   - O += P v with P's accumulator-layout values as A fragments (k-slots t
//     and t + 4 stand for keys 2t and 2t + 1, read likewise from v).
//
// Then y = O / sum (0 for a row that saw no key). Fragment layouts as in
// GPUSSDMmaKernel.cpp. q and k rows have a pitch of 4 mod 8 floats and v
// rows 4 mod 16, so that no fragment read from workgroup memory has a bank
// conflict.
//
//===----------------------------------------------------------------------===//

#include "GPUKernels.h"

#include <limits>

using namespace mlir;
using namespace mlir::ssm;
using namespace mlir::ssm::kernels;

namespace {
constexpr int64_t kRows = 64; // packed rows per block
constexpr int64_t kKeys = 64; // keys per tile
constexpr int64_t kWarps = kRows / 16;
constexpr int64_t kThreads = 32 * kWarps;
} // namespace

void mlir::ssm::emitFusedAttentionMma(OpBuilder &b, const AttentionPlan &plan,
                                      TensorCores tensorCores, StringRef module,
                                      StringRef name) {
  OpBuilder::InsertionGuard guard(b);
  FusedAttentionOp op = plan.op;
  Location loc = op.getLoc();
  K k{b, loc};
  Mma mma{k, tensorCores};
  Value q = op.getQuery(), key = op.getKey(), v = op.getValue(),
        out = op.getInit();
  int64_t dPad = llvm::alignTo(plan.headDim, 8);
  int64_t dvPad = llvm::alignTo(plan.valueDim, 8);
  int64_t qPitch = dPad + 4, vPitch = llvm::alignTo(dvPad, 16) + 4;
  int64_t dSteps = dPad / 8, vTiles = dvPad / 8;
  double negInf = -std::numeric_limits<double>::infinity();

  Value queryTiles =
      arith::CeilDivUIOp::create(b, loc, plan.packed, k.idx(kRows));
  Value blocks = k.mul(k.mul(queryTiles, plan.batch), plan.kvHeads);
  int64_t qAt = 0, kAt = kRows * qPitch, vAt = kAt + kKeys * qPitch,
          size = vAt + kKeys * vPitch;
  gpu::LaunchOp launch =
      k.launch(blocks, kThreads, 1, {}, module, name, size * 4);
  auto view = k.floatViews();
  Value qs = view(qAt, {kRows, qPitch}), ks = view(kAt, {kKeys, qPitch}),
        vs = view(vAt, {kKeys, vPitch});

  Value tid = launch.getThreadIds().x;
  Value lane = k.remu(tid, 32), warp = k.divu(tid, 32);
  Value g = k.divu(lane, 4), t = k.remu(lane, 4);
  Value rest = launch.getBlockIds().x;
  Value tile = arith::RemUIOp::create(b, loc, rest, queryTiles);
  rest = arith::DivUIOp::create(b, loc, rest, queryTiles);
  Value kvHead = k.remu(rest, plan.kvHeads);
  Value bIdx = k.divu(rest, plan.kvHeads);
  Value p0 = k.mul(tile, kRows);
  AttentionRows at(k, plan, bIdx, kvHead);

  // q: [64 rows][dPad], neighbouring threads on neighbouring head dims.
  Value headDimV = k.idx(plan.headDim), valueDimV = k.idx(plan.valueDim);
  for (int64_t u = 0; u < kRows * dPad / kThreads; ++u) {
    Value lin = k.add(tid, u * kThreads);
    Value row = k.divu(lin, dPad), col = k.remu(lin, dPad);
    Value p = k.add(p0, row);
    Value in = k.both(k.slt(p, plan.packed), k.slt(col, headDimV));
    k.store(k.loadOrZero(in, q, {bIdx, at.queryOf(p), at.headOf(p), col}), qs,
            {row, col});
  }

  // This thread's rows: local 16 warp + g + 8 r.
  Value local[2], queries[2], heads[2], maskHeads[2];
  for (int64_t r = 0; r < 2; ++r) {
    local[r] = k.add(k.add(k.mul(warp, 16), g), 8 * r);
    Value p = k.add(p0, local[r]);
    queries[r] = at.queryOf(p);
    heads[r] = at.headOf(p);
    if (op.getMask())
      maskHeads[r] = at.maskIndex(1, heads[r]);
  }
  // Carried: the rows' running maxima and sums, then O (vTiles tiles of 4:
  // rows local[r], value dims 8 nt + 2 t + e at nt * 4 + r * 2 + e).
  SmallVector<Value> init{k.f32(negInf), k.f32(negInf), k.f32(0.0), k.f32(0.0)};
  init.append(vTiles * 4, k.f32(0.0));
  auto [begin, end] = at.tiles(p0, kRows, kKeys);
  scf::ForOp tiles =
      k.loop(begin, end, init, [&](Value kt, ValueRange carried) {
        Value k0 = k.mul(kt, kKeys);
        // The previous tile's reads (and, first, q's stores) are done.
        k.barrier();
        for (int64_t u = 0; u < kKeys * dPad / kThreads; ++u) {
          Value lin = k.add(tid, u * kThreads);
          Value row = k.divu(lin, dPad), col = k.remu(lin, dPad);
          Value j = k.add(k0, row);
          Value in = k.both(k.slt(j, plan.keys), k.slt(col, headDimV));
          k.store(k.loadOrZero(in, key, {bIdx, j, kvHead, col}), ks,
                  {row, col});
        }
        for (int64_t u = 0; u < kKeys * dvPad / kThreads; ++u) {
          Value lin = k.add(tid, u * kThreads);
          Value row = k.divu(lin, dvPad), col = k.remu(lin, dvPad);
          Value j = k.add(k0, row);
          Value in = k.both(k.slt(j, plan.keys), k.slt(col, valueDimV));
          k.store(k.loadOrZero(in, v, {bIdx, j, kvHead, col}), vs, {row, col});
        }
        k.barrier();

        // S = q k^T: keys 8 nt + 2 t + e at nt * 4 + r * 2 + e.
        SmallVector<Value> sInit(32, k.f32(0.0));
        scf::ForOp dots = k.loop(
            k.idx(0), k.idx(dSteps), sInit, [&](Value ds, ValueRange acc) {
              Value dA = k.add(k.mul(ds, 8), t), dB = k.add(dA, 4);
              SmallVector<Value> a{
                  k.load(qs, {local[0], dA}), k.load(qs, {local[1], dA}),
                  k.load(qs, {local[0], dB}), k.load(qs, {local[1], dB})};
              SmallVector<Value> next;
              for (int64_t nt = 0; nt < 8; ++nt) {
                Value kr = k.add(g, 8 * nt);
                llvm::append_range(
                    next, mma(a, {k.load(ks, {kr, dA}), k.load(ks, {kr, dB})},
                              acc.slice(nt * 4, 4)));
              }
              return next;
            });

        // Scores, then each row's maximum and sum over its quad.
        auto overQuad = [&](Value x, function_ref<Value(Value, Value)> f) {
          for (int32_t offset : {1, 2})
            x = f(x, gpu::ShuffleOp::create(b, loc, x, offset, 32,
                                            gpu::ShuffleMode::XOR)
                         .getShuffleResult());
          return x;
        };
        SmallVector<Value> s(32);
        Value rowMax[2] = {k.f32(negInf), k.f32(negInf)};
        for (int64_t nt = 0; nt < 8; ++nt)
          for (int64_t r = 0; r < 2; ++r)
            for (int64_t e = 0; e < 2; ++e) {
              int64_t i = nt * 4 + r * 2 + e;
              Value j = k.add(k.add(k0, k.mul(t, 2)), 8 * nt + e);
              s[i] = at.score(dots.getResult(i), queries[r], maskHeads[r], j);
              rowMax[r] = k.fmax(rowMax[r], s[i]);
            }
        SmallVector<Value> next(carried.begin(), carried.end());
        Value alpha[2], rowSum[2] = {k.f32(0.0), k.f32(0.0)};
        for (int64_t r = 0; r < 2; ++r) {
          Value m =
              k.fmax(carried[r], overQuad(rowMax[r], [&](Value x, Value y) {
                       return k.fmax(x, y);
                     }));
          alpha[r] = k.expShift(carried[r], m);
          next[r] = m;
          for (int64_t nt = 0; nt < 8; ++nt)
            for (int64_t e = 0; e < 2; ++e) {
              Value &x = s[nt * 4 + r * 2 + e];
              x = k.expShift(x, m);
              rowSum[r] = k.fadd(rowSum[r], x);
            }
          next[2 + r] = k.fadd(k.fmul(carried[2 + r], alpha[r]),
                               overQuad(rowSum[r], [&](Value x, Value y) {
                                 return k.fadd(x, y);
                               }));
        }
        MutableArrayRef<Value> o(next.data() + 4, vTiles * 4);
        for (int64_t nt = 0; nt < vTiles; ++nt)
          for (int64_t r = 0; r < 2; ++r)
            for (int64_t e = 0; e < 2; ++e) {
              Value &x = o[nt * 4 + r * 2 + e];
              x = k.fmul(x, alpha[r]);
            }
        // O += P v over the tile's 8 steps of 8 keys.
        for (int64_t jt = 0; jt < 8; ++jt) {
          SmallVector<Value> a{s[jt * 4], s[jt * 4 + 2], s[jt * 4 + 1],
                               s[jt * 4 + 3]};
          Value jA = k.add(k.mul(t, 2), 8 * jt), jB = k.add(jA, 1);
          for (int64_t nt = 0; nt < vTiles; ++nt) {
            Value col = k.add(g, 8 * nt);
            SmallVector<Value> sum =
                mma(a, {k.load(vs, {jA, col}), k.load(vs, {jB, col})},
                    ValueRange(o.slice(nt * 4, 4)));
            llvm::copy(sum, o.begin() + nt * 4);
          }
        }
        return next;
      });

  // y = O / sum, or 0 for a row that saw no key.
  for (int64_t r = 0; r < 2; ++r) {
    Value sum = tiles.getResult(2 + r);
    Value none = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, sum,
                                       k.f32(0.0));
    Value safe = k.select(none, k.f32(1.0), sum);
    Value rowIn = k.slt(k.add(p0, local[r]), plan.packed);
    for (int64_t nt = 0; nt < vTiles; ++nt)
      for (int64_t e = 0; e < 2; ++e) {
        Value col = k.add(k.mul(t, 2), 8 * nt + e);
        k.when(k.both(rowIn, k.slt(col, valueDimV)), [&] {
          Value y = arith::DivFOp::create(
              b, loc, tiles.getResult(4 + nt * 4 + r * 2 + e), safe);
          k.store(y, out, {bIdx, queries[r], heads[r], col});
        });
      }
  }
  gpu::TerminatorOp::create(b, loc);
}
