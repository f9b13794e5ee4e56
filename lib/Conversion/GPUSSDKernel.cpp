//===- GPUSSDKernel.cpp - The fused scalar-decay SSM kernels --------------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// ssm.fused_ssd on buffers as up to three launches (the chunked SSD of
// Mamba-2, in f32 on the SIMT units, chunks of 64 tokens):
//
//   1. `_cb`: per (batch, chunk, group), the 64 x 64 products C_i . B_j of
//      the chunk's tokens, into a device buffer (16 x 16 threads, each 4 x 4
//      products, over 16-wide slices of the state staged in workgroup
//      memory);
//   2. `_scan`: per (batch, head, 32 head dims, segment), one pass over the
//      segment's chunks in order with the state slice S (32 x n) in
//      workgroup memory. Per chunk: the log decays' prefix sums cum_i;
//      y_i = sum_{j <= i} cb_ij exp(cum_i - cum_j) scale_j x_j
//      + exp(cum_i) S C_i (over 16-token and 16-state slices staged in
//      workgroup memory; each of 128 threads 4 tokens x 4 head dims), then
//      D x and the gate; then
//      S = exp(cum_last) S + sum_j exp(cum_last - cum_j) scale_j x_j B_j^T
//      (each thread 4 head dims x 4 or 8 state dims in registers);
//   3. `_fixup`, only when the sequence is cut into segments: per later
//      segment, the state entering it (the initial state carried over the
//      segments before: H = exp(T_s) H + S_s from their own final states S_s
//      and total log decays T_s), its contribution exp(cum_i) H C_i (times
//      the gate) added to y, and the final state.
//
// Segments exist only when there are fewer than kTargetBlocks (batch,
// head, tile) blocks (small batches, long sequences): the sequence is then
// cut into enough segments of whole chunks to give the GPU that many
// blocks. No per-chunk state is stored. Workgroup memory holds vectors of
// 4 floats where a thread reads 4 consecutive values.
//
//===----------------------------------------------------------------------===//

#include "GPUKernels.h"

using namespace mlir;
using namespace mlir::ssm;
using mlir::ssm::kernels::K;
using namespace mlir::ssm::kernels;

namespace {

constexpr int64_t kChunk = 64;    // tokens per chunk
constexpr int64_t kSlice = 16;    // tokens or state dims per staged slice
constexpr int64_t kVec = 4;       // floats per workgroup-memory vector
constexpr int64_t kHeadTile = 32; // head dims per scan block
constexpr int64_t kMaxState = 128;
constexpr int64_t kCumGroup = 8; // tokens per group of the prefix sums
// Scan blocks wanted at least: fewer (batch, head, head-dim tile) blocks
// than this cut the sequence into segments scanned in parallel.
constexpr int64_t kTargetBlocks = 1024;
// The tensor-core scan (emitSSDScanMma): blocks wanted at least.
constexpr int64_t kTargetBlocksMma = 256;
// Scan blocks: kTx x kTy threads; thread (tx, ty) owns head dims 4 tx ..
// 4 tx + 3 and, for y, tokens 4 ty .. 4 ty + 3.
constexpr int64_t kTx = kHeadTile / kVec; // 8
constexpr int64_t kTy = 16;
constexpr int64_t kScanThreads = kTx * kTy;
// A [16][64] slice staged as 16 rows of 16 vectors, one vector of padding.
constexpr int64_t kPitch = kChunk / kVec + 1; // 17
constexpr int64_t kSliceStage = kSlice * kPitch;

} // namespace

Value mlir::ssm::kernels::clampedExp(K &k, Value x) {
  return math::ExpOp::create(
      k.b, k.loc, arith::MinimumFOp::create(k.b, k.loc, x, k.f32(0.0)));
}

void mlir::ssm::kernels::emitChunkDecays(K &k, Value chunk, Value tid, Value t0,
                                         Value seq, Value logDecay, Value scale,
                                         Value bi, Value h, bool weights) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  Value logRow = k.idx(kLogRow), scaleRow = k.idx(kScaleRow),
        cumRow = k.idx(kCumRow), expRow = k.idx(kExpRow),
        weightRow = k.idx(kWeightRow);
  // Per token: log decay min(g, 0) and scale, 0 past the sequence.
  k.when(k.slt(tid, k.idx(kChunk)), [&] {
    Value t = k.add(t0, tid);
    Value in = k.slt(t, seq);
    Value gl = arith::MinimumFOp::create(
        b, loc, k.loadOrZero(in, logDecay, {bi, t, h}), k.f32(0.0));
    k.store(gl, chunk, {logRow, tid});
    if (weights) {
      Value sc = scale ? k.loadOrZero(in, scale, {bi, t, h})
                       : k.select(in, k.f32(1.0), k.f32(0.0));
      k.store(sc, chunk, {scaleRow, tid});
    }
  });
  k.barrier();
  // cum: inclusive prefix sums, in two steps over groups of 8 tokens
  // (the sums within each group, kept in the exp row for now; then the
  // totals of the groups before).
  Value group0 = k.mul(k.divu(tid, kCumGroup), kCumGroup);
  k.when(k.slt(tid, k.idx(kChunk)), [&] {
    Value sum = k.f32(0.0);
    for (int64_t e = 0; e < kCumGroup; ++e) {
      Value j = k.add(group0, e);
      sum = k.fadd(
          sum, k.select(k.sle(j, tid), k.load(chunk, {logRow, j}), k.f32(0.0)));
    }
    k.store(sum, chunk, {expRow, tid});
  });
  k.barrier();
  k.when(k.slt(tid, k.idx(kChunk)), [&] {
    Value sum = k.load(chunk, {expRow, tid});
    for (int64_t g = 0; g + 1 < kChunk / kCumGroup; ++g) {
      Value total =
          k.load(chunk, {expRow, k.idx(g * kCumGroup + kCumGroup - 1)});
      sum = k.fadd(sum, k.select(k.slt(k.idx(g * kCumGroup), group0), total,
                                 k.f32(0.0)));
    }
    k.store(sum, chunk, {cumRow, tid});
  });
  k.barrier();
  k.when(k.slt(tid, k.idx(kChunk)), [&] {
    Value cum = k.load(chunk, {cumRow, tid});
    Value last = k.load(chunk, {cumRow, k.idx(kChunk - 1)});
    k.store(clampedExp(k, cum), chunk, {expRow, tid});
    if (weights) {
      Value w = k.fmul(clampedExp(k, arith::SubFOp::create(b, loc, last, cum)),
                       k.load(chunk, {scaleRow, tid}));
      k.store(w, chunk, {weightRow, tid});
    }
  });
  k.barrier();
}

ScanBlock mlir::ssm::kernels::scanBlock(K &k, Value id, Value perTile,
                                        bool fixup, const SSDScanPlan &plan) {
  ScanBlock blk;
  blk.seg = arith::RemUIOp::create(k.b, k.loc, id, perTile);
  if (fixup)
    blk.seg = k.add(blk.seg, 1);
  Value rest = arith::DivUIOp::create(k.b, k.loc, id, perTile);
  blk.tile = k.remu(rest, plan.headTiles);
  rest = k.divu(rest, plan.headTiles);
  blk.h = k.remu(rest, plan.heads);
  blk.bi = k.divu(rest, plan.heads);
  int64_t perGroup = plan.heads / plan.groups;
  blk.gi = perGroup == 1 ? blk.h : k.divu(blk.h, perGroup);
  blk.p0 = k.mul(blk.tile, plan.headTile);
  blk.bh = k.add(k.mul(blk.bi, plan.heads), blk.h);
  return blk;
}

void mlir::ssm::kernels::storeSSDOutput(K &k, FusedSSDOp op, Value v,
                                        function_ref<Value()> xAt,
                                        ArrayRef<Value> at, bool fixup) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  Value h = at[2], pp = at[3];
  if (Value dSkip = op.getD(); dSkip && !fixup) {
    bool rowD = cast<MemRefType>(dSkip.getType()).getRank() == 2;
    Value d = rowD ? k.load(dSkip, {h, pp}) : k.load(dSkip, {h});
    v = k.fma(d, xAt(), v);
  }
  if (Value gate = op.getGate()) {
    Value z = k.load(gate, at);
    Value sig = arith::DivFOp::create(
        b, loc, k.f32(1.0),
        k.fadd(k.f32(1.0),
               math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, z))));
    v = k.fmul(v, k.fmul(z, sig));
  }
  if (fixup)
    v = k.fadd(k.load(op.getYInit(), at), v);
  k.store(v, op.getYInit(), at);
}

/// ssm.fused_ssd of one token per sequence (a decode step) as one kernel: a
/// block of 128 threads per (batch, head, 32 head dims); thread (lane, row
/// group rg) owns head dims rg + 4 r (r < 8) and state dims lane + 32 m of
/// the state: S' = exp(min(g, 0)) S + scale x B^T (read and written with
/// neighbouring threads on neighbouring state dims), each row's partial
/// C . S' over its state dims into workgroup memory, then one thread per
/// head dim sums its row's 32 partials into y (with D x and the gate).
static void emitSSDStep(OpBuilder &b, FusedSSDOp op, int64_t heads,
                        int64_t headDim, int64_t groups, int64_t stateDim,
                        StringRef module, StringRef name) {
  OpBuilder::InsertionGuard guard(b);
  Location loc = op.getLoc();
  K k{b, loc};
  Value x = op.getX(), logDecay = op.getLogDecay(), bMat = op.getB(),
        cMat = op.getC(), scale = op.getScale(), init = op.getInitialState(),
        state = op.getStateInit();
  constexpr int64_t kRowsPerBlock = 32, kLanes = 32, kRowGroups = 4;
  int64_t perThread = kRowsPerBlock / kRowGroups;
  int64_t lanesPerRow = llvm::divideCeil(stateDim, kLanes);
  int64_t tiles = llvm::divideCeil(headDim, kRowsPerBlock);
  Value batch = memref::DimOp::create(b, loc, x, 0);
  gpu::LaunchOp body = k.launch(
      k.mul(batch, heads * tiles), kLanes * kRowGroups, 1,
      {k.workgroup({kRowsPerBlock, kLanes + 1}, b.getF32Type())}, module, name);
  Value partial = body.getWorkgroupAttributions()[0];
  Value tid = body.getThreadIds().x, id = body.getBlockIds().x;
  Value lane = k.remu(tid, kLanes), rg = k.divu(tid, kLanes);
  Value tile = k.remu(id, tiles), rest = k.divu(id, tiles);
  Value h = k.remu(rest, heads), bi = k.divu(rest, heads);
  Value gi = groups == heads ? h : k.divu(h, heads / groups);
  Value p0 = k.mul(tile, kRowsPerBlock);
  Value c0 = k.idx(0);
  Value decay = clampedExp(k, k.load(logDecay, {bi, c0, h}));
  Value sc = scale ? k.load(scale, {bi, c0, h}) : k.f32(1.0);
  Value headDimV = k.idx(headDim), stateDimV = k.idx(stateDim);
  SmallVector<Value> bs, cs, ns, nIn;
  for (int64_t m = 0; m < lanesPerRow; ++m) {
    ns.push_back(k.add(lane, kLanes * m));
    nIn.push_back(k.slt(ns.back(), stateDimV));
    bs.push_back(k.loadOrZero(nIn.back(), bMat, {bi, c0, gi, ns.back()}));
    cs.push_back(k.loadOrZero(nIn.back(), cMat, {bi, c0, gi, ns.back()}));
  }
  for (int64_t r = 0; r < perThread; ++r) {
    Value row = k.add(rg, kRowGroups * r);
    Value pp = k.add(p0, row);
    Value pIn = k.slt(pp, headDimV);
    Value xv = k.fmul(sc, k.loadOrZero(pIn, x, {bi, c0, h, pp}));
    Value dot = k.f32(0.0);
    for (int64_t m = 0; m < lanesPerRow; ++m) {
      Value in = k.both(pIn, nIn[m]);
      Value s =
          k.fma(xv, bs[m],
                init ? k.fmul(decay, k.loadOrZero(in, init, {bi, h, pp, ns[m]}))
                     : k.f32(0.0));
      k.when(in, [&] { k.store(s, state, {bi, h, pp, ns[m]}); });
      dot = k.fma(cs[m], s, dot);
    }
    k.store(dot, partial, {row, lane});
  }
  k.barrier();
  Value pp = k.add(p0, tid);
  k.when(k.both(k.slt(tid, k.idx(kRowsPerBlock)), k.slt(pp, headDimV)), [&] {
    Value y = k.f32(0.0);
    for (int64_t l = 0; l < kLanes; ++l)
      y = k.fadd(y, k.load(partial, {tid, k.idx(l)}));
    SmallVector<Value> at{bi, c0, h, pp};
    storeSSDOutput(
        k, op, y, [&] { return k.load(x, at); }, at, /*fixup=*/false);
  });
  gpu::TerminatorOp::create(b, loc);
}

std::optional<TensorCores> mlir::ssm::parseTensorCores(StringRef name) {
  if (name == "none")
    return TensorCores::None;
  if (name == "tf32")
    return TensorCores::TF32;
  if (name == "tf32x3")
    return TensorCores::TF32x3;
  return std::nullopt;
}

LogicalResult mlir::ssm::emitFusedSSDKernels(OpBuilder &b, FusedSSDOp op,
                                             StringRef module, StringRef name,
                                             TensorCores tensorCores) {
  Location loc = op.getLoc();
  K k{b, loc};
  Value x = op.getX(), logDecay = op.getLogDecay(), bMat = op.getB(),
        cMat = op.getC(), scale = op.getScale(), init = op.getInitialState(),
        state = op.getStateInit();
  auto xType = cast<MemRefType>(x.getType());
  auto bType = cast<MemRefType>(bMat.getType());
  int64_t heads = xType.getDimSize(2), headDim = xType.getDimSize(3),
          groups = bType.getDimSize(2), stateDim = bType.getDimSize(3);
  if (ShapedType::isDynamic(heads) || ShapedType::isDynamic(headDim) ||
      ShapedType::isDynamic(groups) || ShapedType::isDynamic(stateDim) ||
      stateDim > kMaxState)
    return op.emitOpError()
           << "the fused kernels need static head, group, head-size and "
              "state sizes and a state size of at most "
           << kMaxState << ", got " << bType;
  // The state padded to whole slices; its dims in groups of 4, padded to a
  // multiple of kTy (each scan thread owns groups ty + kTy m).
  int64_t statePad = llvm::alignTo(stateDim, kSlice);
  int64_t stateGroups = statePad / kVec;
  int64_t ownGroups = llvm::divideCeil(stateGroups, kTy);
  int64_t groupsPad = ownGroups * kTy;
  bool mma = tensorCores != TensorCores::None;
  int64_t headTile = mma ? kSSDMmaHeadTile : kHeadTile;
  int64_t headTiles = llvm::divideCeil(headDim, headTile);
  // A single token (a decode step): one step kernel.
  if (xType.getDimSize(1) == 1) {
    emitSSDStep(b, op, heads, headDim, groups, stateDim, module,
                (name + "_step").str());
    return success();
  }

  Value c0 = k.idx(0), one = k.idx(1);
  Value batch = memref::DimOp::create(b, loc, x, 0);
  Value seq = memref::DimOp::create(b, loc, x, 1);
  Value chunks = k.divu(k.add(seq, kChunk - 1), kChunk);
  Type f32 = b.getF32Type();
  Type vecType = VectorType::get({kVec}, f32);

  // The C B^T products: cb[((bi * chunks + c) * groups + g) * 64 + i][j]
  // (at least one element: no zero-size allocation).
  Value cbSize = k.mul(k.mul(k.mul(batch, chunks), groups), kChunk * kChunk);
  cbSize = k.maxs(cbSize, one);
  Value cb = memref::AllocOp::create(
      b, loc, MemRefType::get({ShapedType::kDynamic}, f32), ValueRange{cbSize});

  //===--------------------------------------------------------------------===//
  // Kernel 1: C B^T per (batch, chunk, group).
  //===--------------------------------------------------------------------===//
  {
    OpBuilder::InsertionGuard g(b);
    Value blocks = k.mul(k.mul(batch, chunks), groups);
    gpu::LaunchOp body =
        k.launch(blocks, 16, 16, {k.workgroup({2 * kSliceStage}, vecType)},
                 module, (name + "_cb").str());
    Value stage = body.getWorkgroupAttributions()[0];
    Value tx = body.getThreadIds().x, ty = body.getThreadIds().y;
    Value tid = k.add(k.mul(ty, 16), tx);
    Value id = body.getBlockIds().x;
    Value gi = k.remu(id, groups);
    Value rest = k.divu(id, groups);
    Value c = arith::RemUIOp::create(b, loc, rest, chunks);
    Value bi = arith::DivUIOp::create(b, loc, rest, chunks);
    Value t0 = k.mul(c, kChunk);
    int64_t slices = statePad / kSlice;
    SmallVector<Value> init(kVec * kVec, k.f32(0.0));
    scf::ForOp dots =
        k.loop(c0, k.idx(slices), init, [&](Value slice, ValueRange s) {
          // Thread tid stages tokens 4 q .. 4 q + 3 at state dim dd.
          Value dd = k.remu(tid, kSlice), q = k.divu(tid, kSlice);
          Value nn = k.add(k.mul(slice, kSlice), dd);
          Value nIn = k.slt(nn, k.idx(stateDim));
          SmallVector<Value> cv, bv;
          for (int64_t e = 0; e < kVec; ++e) {
            Value t = k.add(t0, k.add(k.mul(q, kVec), e));
            Value in = k.both(nIn, k.slt(t, seq));
            cv.push_back(k.loadOrZero(in, cMat, {bi, t, gi, nn}));
            bv.push_back(k.loadOrZero(in, bMat, {bi, t, gi, nn}));
          }
          Value at = k.add(k.mul(dd, kPitch), q);
          k.store(k.vec(cv), stage, {at});
          k.store(k.vec(bv), stage, {k.add(at, kSliceStage)});
          k.barrier();
          scf::ForOp inner = k.stagedOuter(
              stage, stage, kSlice, s,
              [&](Value d) { return k.add(k.mul(d, kPitch), ty); },
              [&](Value d) {
                return k.add(k.add(k.mul(d, kPitch), kSliceStage), tx);
              });
          k.barrier();
          return SmallVector<Value>(inner.getResults());
        });
    Value base = k.mul(id, kChunk * kChunk);
    for (int64_t r = 0; r < kVec; ++r)
      for (int64_t j = 0; j < kVec; ++j) {
        Value i = k.add(k.mul(ty, kVec), r), jj = k.add(k.mul(tx, kVec), j);
        k.store(dots.getResult(r * kVec + j), cb,
                {k.add(base, k.add(k.mul(i, kChunk), jj))});
      }
    gpu::TerminatorOp::create(b, loc);
  }

  //===--------------------------------------------------------------------===//
  // Kernels 2 and 3: the scan over the chunks per (batch, head, head-dim
  // tile, segment of the sequence), then the segments' fix-up.
  //===--------------------------------------------------------------------===//
  // Segments: with few (batch, head, tile) blocks, the sequence is cut into
  // segments of whole chunks scanned in parallel, each from a zero state
  // (the first from the initial state); the fix-up kernel then adds, per
  // later segment, the contribution of the state entering it (computed
  // from the segments' own final states and total decays) and writes the
  // final state.
  Value tiles = k.mul(batch, heads * headTiles);
  Value segs = arith::CeilDivUIOp::create(
      b, loc, k.idx(mma ? kTargetBlocksMma : kTargetBlocks),
      k.maxs(tiles, one));
  segs = k.maxs(k.mins(segs, chunks), one);
  Value segChunks =
      k.maxs(arith::CeilDivUIOp::create(b, loc, chunks, segs), one);
  segs = k.maxs(arith::CeilDivUIOp::create(b, loc, chunks, segChunks), one);
  Value segmented = k.cmp(arith::CmpIPredicate::ugt, segs, one);
  // Each segment's own final state, (b, h, segment, p, n), and total log
  // decay, (b, h, segment); one element when not segmented.
  Value segStateSize = k.select(
      segmented, k.mul(k.mul(batch, segs), heads * headDim * stateDim), one);
  Value segState = memref::AllocOp::create(
      b, loc, MemRefType::get({ShapedType::kDynamic}, f32),
      ValueRange{k.maxs(segStateSize, one)});
  Value segTotal = memref::AllocOp::create(
      b, loc, MemRefType::get({ShapedType::kDynamic}, f32),
      ValueRange{k.maxs(k.mul(k.mul(batch, segs), heads), one)});

  SSDScanPlan plan{op,        batch,     seq,      chunks,   cb,    segs,
                   segChunks, segmented, segState, segTotal, heads, headDim,
                   groups,    stateDim,  headTile, headTiles};
  auto emitScan = [&](bool fixup) {
    OpBuilder::InsertionGuard g(b);
    // Segments per (batch, head, tile): all of them, or those after the
    // first.
    Value perTile = fixup ? k.sub(segs, one) : segs;
    Value blocks = k.mul(tiles, perTile);
    // st: the state slice, [statePad][kTx] vectors of 4 head dims;
    // stage: the staged slices of one phase; chunk: per token of the chunk
    // the log decay, the scale, cum, exp(cum) and the state weight
    // exp(cum_last - cum_j) scale_j.
    int64_t stageSize =
        std::max(kSliceStage + kSlice * kTx, kSlice * kTx + kSlice * groupsPad);
    gpu::LaunchOp body =
        k.launch(blocks, kTx, kTy,
                 {k.workgroup({statePad * kTx}, vecType),
                  k.workgroup({fixup ? kSliceStage : stageSize}, vecType),
                  k.workgroup({5, kChunk}, f32)},
                 module, (name + (fixup ? "_fixup" : "_scan")).str());
    ArrayRef<BlockArgument> wg = body.getWorkgroupAttributions();
    Value st = wg[0], stage = wg[1], chunk = wg[2];
    Value tx = body.getThreadIds().x, ty = body.getThreadIds().y;
    Value tid = k.add(k.mul(ty, kTx), tx);
    Value id = body.getBlockIds().x;
    ScanBlock blk = scanBlock(k, id, perTile, fixup, plan);
    Value seg = blk.seg, tile = blk.tile, h = blk.h, bi = blk.bi, gi = blk.gi,
          p0 = blk.p0;
    Value scaleRow = k.idx(kScaleRow), cumRow = k.idx(kCumRow),
          expRow = k.idx(kExpRow), weightRow = k.idx(kWeightRow);
    Value headDimV = k.idx(headDim), stateDimV = k.idx(stateDim);
    Value bh = k.add(k.mul(bi, heads), h);

    // This thread's state elements: head dims p0 + 4 tx + e, state dims
    // 4 (ty + kTy m) + i; slot (m * 4 + i) * 4 + e of its register copies.
    SmallVector<Value> ownPp, ownPpIn;
    for (int64_t e = 0; e < kVec; ++e) {
      ownPp.push_back(k.add(p0, k.add(k.mul(tx, kVec), e)));
      ownPpIn.push_back(k.slt(ownPp.back(), headDimV));
    }
    auto ownGroup = [&](int64_t m) { return k.add(ty, kTy * m); };
    auto ownNn = [&](int64_t m, int64_t i) {
      return k.add(k.mul(ownGroup(m), kVec), i);
    };
    // Whether state group `grp` is a real row of st (not padding).
    auto groupIn = [&](Value grp) -> Value {
      if (stateGroups % kTy == 0)
        return arith::ConstantIntOp::create(b, loc, 1, 1);
      return k.slt(grp, k.idx(stateGroups));
    };
    auto ownIn = [&](int64_t m, int64_t i, int64_t e) {
      return k.both(k.both(groupIn(ownGroup(m)), ownPpIn[e]),
                    k.slt(ownNn(m, i), stateDimV));
    };
    int64_t owned = ownGroups * kVec * kVec;
    auto slot = [](int64_t m, int64_t i, int64_t e) {
      return (m * kVec + i) * kVec + e;
    };
    // Segment `s`'s own final state, element (m, i, e) of this thread.
    auto segAt = [&](Value s, int64_t m, int64_t i, int64_t e) {
      Value at = k.add(k.mul(k.add(k.mul(bh, segs), s), headDim), ownPp[e]);
      return k.add(k.mul(at, stateDim), ownNn(m, i));
    };
    // This thread's state elements (padding: 0) into st.
    auto storeOwned = [&](ArrayRef<Value> vals) {
      for (int64_t m = 0; m < ownGroups; ++m)
        k.when(groupIn(ownGroup(m)), [&] {
          for (int64_t i = 0; i < kVec; ++i)
            k.store(k.vec(vals.slice(slot(m, i, 0), kVec)), st,
                    {k.add(k.mul(ownNn(m, i), kTx), tx)});
        });
    };
    // Stores this thread's elements of `vals` into `to`.
    auto storeTo =
        [&](ArrayRef<Value> vals, Value to,
            function_ref<SmallVector<Value>(int64_t, int64_t, int64_t)> at) {
          for (int64_t m = 0; m < ownGroups; ++m)
            for (int64_t i = 0; i < kVec; ++i)
              for (int64_t e = 0; e < kVec; ++e)
                k.when(ownIn(m, i, e),
                       [&] { k.store(vals[slot(m, i, e)], to, at(m, i, e)); });
        };
    auto finalAt = [&](int64_t m, int64_t i, int64_t e) {
      return SmallVector<Value>{bi, h, ownPp[e], ownNn(m, i)};
    };

    // The state entering the segment: the scan starts the first segment
    // from the initial state (or 0) and the others from 0; the fix-up
    // carries the segments' own final states over the segments before
    // (H = exp(T_s) H + S_s from H = 0: the first segment's S_0 includes the
    // initial state) and writes the final state from the last one.
    SmallVector<Value> start;
    Value first = k.cmp(arith::CmpIPredicate::eq, seg, c0);
    for (int64_t m = 0; m < ownGroups; ++m)
      for (int64_t i = 0; i < kVec; ++i)
        for (int64_t e = 0; e < kVec; ++e)
          start.push_back(
              init && !fixup ? k.loadOrZero(k.both(first, ownIn(m, i, e)), init,
                                            {bi, h, ownPp[e], ownNn(m, i)})
                             : k.f32(0.0));
    if (fixup) {
      auto carry = [&](Value s, ValueRange hs) {
        Value decay =
            clampedExp(k, k.load(segTotal, {k.add(k.mul(bh, segs), s)}));
        SmallVector<Value> next;
        for (int64_t m = 0; m < ownGroups; ++m)
          for (int64_t i = 0; i < kVec; ++i)
            for (int64_t e = 0; e < kVec; ++e)
              next.push_back(k.fma(
                  decay, hs[slot(m, i, e)],
                  k.loadOrZero(ownIn(m, i, e), segState, {segAt(s, m, i, e)})));
        return next;
      };
      scf::ForOp before = k.loop(c0, seg, start, carry);
      start.assign(before.getResults().begin(), before.getResults().end());
      Value lastSeg = k.cmp(arith::CmpIPredicate::eq, seg, k.sub(segs, one));
      k.when(lastSeg, [&] { storeTo(carry(seg, start), state, finalAt); });
    }
    storeOwned(start);
    k.barrier();

    Value cBegin = k.mul(seg, segChunks);
    Value cEnd = k.mins(k.add(cBegin, segChunks), chunks);
    auto chunkLoop =
        scf::ForOp::create(b, loc, cBegin, cEnd, one, ValueRange{k.f32(0.0)});
    {
      OpBuilder::InsertionGuard inLoop(b);
      b.setInsertionPointToStart(chunkLoop.getBody());
      Value c = chunkLoop.getInductionVar();
      Value t0 = k.mul(c, kChunk);
      emitChunkDecays(k, chunk, tid, t0, seq, logDecay, scale, bi, h,
                      /*weights=*/!fixup);

      // y: rows 4 ty + r, head dims 4 tx + e of the tile.
      SmallVector<Value> rowI;
      for (int64_t r = 0; r < kVec; ++r)
        rowI.push_back(k.add(k.mul(ty, kVec), r));
      SmallVector<Value> yInit(kVec * kVec, k.f32(0.0));
      // y += M x over slices of 16 tokens j: M staged transposed,
      // [16 j][16 vectors of 4 rows], x as [16 j][8 vectors of 4 dims].
      if (!fixup) {
        scf::ForOp diag = k.loop(
            c0, k.idx(kChunk / kSlice), yInit, [&](Value js, ValueRange acc) {
              Value j0 = k.mul(js, kSlice);
              for (int64_t u = 0; u < 2; ++u) {
                Value lin = k.add(tid, kScanThreads * u);
                Value q = k.divu(lin, kSlice), jj = k.remu(lin, kSlice);
                Value j = k.add(j0, jj);
                Value cumJ = k.load(chunk, {cumRow, j});
                Value scJ = k.load(chunk, {scaleRow, j});
                Value base =
                    k.mul(k.add(k.mul(k.add(k.mul(bi, chunks), c), groups), gi),
                          kChunk * kChunk);
                SmallVector<Value> ms;
                for (int64_t e = 0; e < kVec; ++e) {
                  Value i = k.add(k.mul(q, kVec), e);
                  Value at = k.add(base, k.add(k.mul(i, kChunk), j));
                  Value cumI = k.load(chunk, {cumRow, i});
                  Value m =
                      k.fmul(k.fmul(k.load(cb, {at}),
                                    clampedExp(k, arith::SubFOp::create(
                                                      b, loc, cumI, cumJ))),
                             scJ);
                  ms.push_back(k.select(k.sle(j, i), m, k.f32(0.0)));
                }
                k.store(k.vec(ms), stage, {k.add(k.mul(jj, kPitch), q)});
              }
              {
                Value jj = k.divu(tid, kTx), pv = k.remu(tid, kTx);
                Value t = k.add(t0, k.add(j0, jj));
                Value tIn = k.slt(t, seq);
                SmallVector<Value> xs;
                for (int64_t e = 0; e < kVec; ++e) {
                  Value pp = k.add(p0, k.add(k.mul(pv, kVec), e));
                  xs.push_back(k.loadOrZero(k.both(tIn, k.slt(pp, headDimV)), x,
                                            {bi, t, h, pp}));
                }
                k.store(k.vec(xs), stage,
                        {k.add(k.idx(kSliceStage), k.add(k.mul(jj, kTx), pv))});
              }
              k.barrier();
              scf::ForOp inner = k.stagedOuter(
                  stage, stage, kSlice, acc,
                  [&](Value jj) { return k.add(k.mul(jj, kPitch), ty); },
                  [&](Value jj) {
                    return k.add(k.idx(kSliceStage), k.add(k.mul(jj, kTx), tx));
                  });
              k.barrier();
              return SmallVector<Value>(inner.getResults());
            });
        yInit.assign(diag.getResults().begin(), diag.getResults().end());
      }
      // y += exp(cum_i) C_i . S over slices of 16 state dims: C exp(cum)
      // staged transposed, [16 n][16 vectors of 4 rows].
      scf::ForOp off = k.loop(
          c0, k.idx(statePad / kSlice), yInit, [&](Value ns, ValueRange acc) {
            for (int64_t u = 0; u < 2; ++u) {
              Value lin = k.add(tid, kScanThreads * u);
              Value q = k.divu(lin, kSlice), nl = k.remu(lin, kSlice);
              Value nn = k.add(k.mul(ns, kSlice), nl);
              Value nIn = k.slt(nn, stateDimV);
              SmallVector<Value> cs;
              for (int64_t e = 0; e < kVec; ++e) {
                Value i = k.add(k.mul(q, kVec), e);
                Value t = k.add(t0, i);
                Value cv = k.loadOrZero(k.both(nIn, k.slt(t, seq)), cMat,
                                        {bi, t, gi, nn});
                cs.push_back(k.fmul(cv, k.load(chunk, {expRow, i})));
              }
              k.store(k.vec(cs), stage, {k.add(k.mul(nl, kPitch), q)});
            }
            k.barrier();
            scf::ForOp inner = k.stagedOuter(
                stage, st, kSlice, acc,
                [&](Value nl) { return k.add(k.mul(nl, kPitch), ty); },
                [&](Value nl) {
                  Value nn = k.add(k.mul(ns, kSlice), nl);
                  return k.add(k.mul(nn, kTx), tx);
                });
            k.barrier();
            return SmallVector<Value>(inner.getResults());
          });
      // y + D x, times silu(gate), stored.
      for (int64_t r = 0; r < kVec; ++r) {
        Value t = k.add(t0, rowI[r]);
        Value tIn = k.slt(t, seq);
        for (int64_t e = 0; e < kVec; ++e) {
          k.when(k.both(tIn, ownPpIn[e]), [&] {
            SmallVector<Value> at{bi, t, h, ownPp[e]};
            storeSSDOutput(
                k, op, off.getResult(r * kVec + e),
                [&] { return k.load(x, at); }, at, fixup);
          });
        }
      }

      // S = exp(cum_last) S + sum_j w_j x_j B_j^T over slices of 16 tokens:
      // w x staged as [16 j][8 vectors of 4 head dims], B as [16 j]
      // [groupsPad vectors of 4 state dims].
      SmallVector<Value> upd(owned, k.f32(0.0));
      if (!fixup) {
        scf::ForOp update = k.loop(

            c0, k.idx(kChunk / kSlice), upd, [&](Value js, ValueRange acc) {
              Value j0 = k.mul(js, kSlice);
              {
                Value jj = k.divu(tid, kTx), pv = k.remu(tid, kTx);
                Value t = k.add(t0, k.add(j0, jj));
                Value tIn = k.slt(t, seq);
                Value w = k.load(chunk, {weightRow, k.add(j0, jj)});
                SmallVector<Value> xs;
                for (int64_t e = 0; e < kVec; ++e) {
                  Value pp = k.add(p0, k.add(k.mul(pv, kVec), e));
                  xs.push_back(
                      k.fmul(k.loadOrZero(k.both(tIn, k.slt(pp, headDimV)), x,
                                          {bi, t, h, pp}),
                             w));
                }
                k.store(k.vec(xs), stage, {k.add(k.mul(jj, kTx), pv)});
              }
              int64_t bVectors = kSlice * groupsPad;
              for (int64_t u = 0; u < llvm::divideCeil(bVectors, kScanThreads);
                   ++u) {
                Value lin = k.add(tid, kScanThreads * u);
                Value jj = k.divu(lin, groupsPad), grp = k.remu(lin, groupsPad);
                Value t = k.add(t0, k.add(j0, jj));
                Value tIn = k.both(k.slt(t, seq), k.slt(lin, k.idx(bVectors)));
                SmallVector<Value> bs;
                for (int64_t i = 0; i < kVec; ++i) {
                  Value nn = k.add(k.mul(grp, kVec), i);
                  bs.push_back(k.loadOrZero(k.both(tIn, k.slt(nn, stateDimV)),
                                            bMat, {bi, t, gi, nn}));
                }
                k.when(k.slt(lin, k.idx(bVectors)), [&] {
                  k.store(k.vec(bs), stage, {k.add(k.idx(kSlice * kTx), lin)});
                });
              }
              k.barrier();
              scf::ForOp inner =
                  k.loop(c0, k.idx(kSlice), acc, [&](Value jj, ValueRange a) {
                    SmallVector<Value> xv =
                        k.elements(k.load(stage, {k.add(k.mul(jj, kTx), tx)}));
                    SmallVector<Value> next(a.begin(), a.end());
                    for (int64_t m = 0; m < ownGroups; ++m) {
                      SmallVector<Value> bv = k.elements(k.load(
                          stage,
                          {k.add(k.idx(kSlice * kTx),
                                 k.add(k.mul(jj, groupsPad), ownGroup(m)))}));
                      MutableArrayRef<Value> part(next.data() + m * kVec * kVec,
                                                  kVec * kVec);
                      llvm::copy(k.outer(bv, xv, part), part.begin());
                    }
                    return next;
                  });
              k.barrier();
              return SmallVector<Value>(inner.getResults());
            });
        upd.assign(update.getResults().begin(), update.getResults().end());
      }
      // The fix-up only decays the state (its x B^T terms are the scan's).
      Value decay = k.load(chunk, {expRow, k.idx(kChunk - 1)});
      for (int64_t m = 0; m < ownGroups; ++m) {
        Value grp = ownGroup(m);
        k.when(groupIn(grp), [&] {
          for (int64_t i = 0; i < kVec; ++i) {
            Value at = k.add(k.mul(k.add(k.mul(grp, kVec), i), kTx), tx);
            SmallVector<Value> old = k.elements(k.load(st, {at}));
            SmallVector<Value> xs;
            for (int64_t e = 0; e < kVec; ++e)
              xs.push_back(k.fma(decay, old[e], upd[slot(m, i, e)]));
            k.store(k.vec(xs), st, {at});
          }
        });
      }
      k.barrier();
      Value total = k.fadd(chunkLoop.getRegionIterArgs()[0],
                           k.load(chunk, {cumRow, k.idx(kChunk - 1)}));
      scf::YieldOp::create(b, loc, total);
    }
    if (fixup) {
      gpu::TerminatorOp::create(b, loc);
      return;
    }

    // The scan's end: the final state when not segmented, else the
    // segment's own final state and total log decay.
    SmallVector<Value> own;
    for (int64_t m = 0; m < ownGroups; ++m)
      for (int64_t i = 0; i < kVec; ++i) {
        Value nn = ownNn(m, i);
        Value at = k.add(k.mul(k.mins(nn, k.idx(statePad - 1)), kTx), tx);
        llvm::append_range(own, k.elements(k.load(st, {at})));
      }
    auto branch = scf::IfOp::create(b, loc, segmented, true);
    {
      OpBuilder::InsertionGuard inThen(b);
      b.setInsertionPointToStart(branch.thenBlock());
      storeTo(own, segState, [&](int64_t m, int64_t i, int64_t e) {
        return SmallVector<Value>{segAt(seg, m, i, e)};
      });
      k.when(k.both(k.cmp(arith::CmpIPredicate::eq, tid, c0),
                    k.cmp(arith::CmpIPredicate::eq, tile, c0)),
             [&] {
               k.store(chunkLoop.getResult(0), segTotal,
                       {k.add(k.mul(bh, segs), seg)});
             });
      b.setInsertionPointToStart(branch.elseBlock());
      storeTo(own, state, finalAt);
    }
    gpu::TerminatorOp::create(b, loc);
  };
  if (mma) {
    emitSSDScanMma(b, plan, /*fixup=*/false, tensorCores, module,
                   (name + "_scan").str());
    emitSSDScanMma(b, plan, /*fixup=*/true, tensorCores, module,
                   (name + "_fixup").str());
  } else {
    emitScan(/*fixup=*/false);
    emitScan(/*fixup=*/true);
  }
  memref::DeallocOp::create(b, loc, cb);
  memref::DeallocOp::create(b, loc, segState);
  memref::DeallocOp::create(b, loc, segTotal);
  return success();
}
