//===- GPUAttentionKernel.cpp - The fused attention kernel ----------------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// ssm.fused_attention on buffers as one gpu.launch (FlashAttention's
// forward, in f32 on the SIMT units): a block of 16 x 16 threads per 64
// rows of one (batch, kv head), a row being a (query, query head) pair of
// the query heads that read that kv head; key tiles of 64 in order, each tile's
// scores computed from 16-wide slices of q and k staged in workgroup memory
// (thread (tx, ty): rows 4 ty .. 4 ty + 3, keys 4 tx .. 4 tx + 3), scaled,
// softcapped, masked, then an online softmax (running row maximum and sum,
// the output rescaled when the maximum grows) and the output accumulated
// from 16-key slices of v (value dims 4 tx + 64 g + i, in registers).
// Workgroup memory holds vectors of 4 floats, so that each operand read is
// one 16-byte load. Causal and window masks skip the key tiles no row of
// the block sees.
//
//===----------------------------------------------------------------------===//

#include "GPUKernels.h"

#include <limits>

using namespace mlir;
using namespace mlir::ssm;
using namespace mlir::ssm::kernels;

namespace {

constexpr int64_t kThreads = 16; // per block dimension
constexpr int64_t kReg = 4;      // rows (and score columns) per thread
constexpr int64_t kRows = kThreads * kReg; // query rows per block
constexpr int64_t kKeys = kThreads * kReg; // keys per tile
constexpr int64_t kSlice = 16; // head-size slice, and keys per v slice
constexpr int64_t kVec = 4;    // floats per workgroup-memory vector
// Row pitch, in vectors, of the staged q/k slices and of the scores: one
// vector of padding against bank conflicts.
constexpr int64_t kPitch = kRows / kVec + 1;
constexpr int64_t kQKStage = kSlice * kPitch; // one q or k slice, in vectors
constexpr int64_t kMaxValueDim = 128;
constexpr int64_t kQuarters = 4; // threads per row in the softmax steps
// The step kernel: keys per tile (one per thread), most query heads per kv
// head.
constexpr int64_t kStepKeys = 128;
constexpr int64_t kStepMaxGroup = 16;

/// Combines, for each of `rows` rows, the kStepKeys values of `buf`
/// ([rows][kStepKeys], in workgroup memory) with `f` in halving steps; the
/// result is at column 0. Every thread of the block takes part.
void reduceRows(K &k, Value buf, Value tid, int64_t rows,
                function_ref<Value(Value, Value)> f) {
  for (int64_t step = kStepKeys / 2; step >= 1; step /= 2) {
    k.barrier();
    k.when(k.slt(tid, k.idx(step)), [&] {
      for (int64_t r = 0; r < rows; ++r) {
        Value row = k.idx(r);
        k.store(
            f(k.load(buf, {row, tid}), k.load(buf, {row, k.add(tid, step)})),
            buf, {row, tid});
      }
    });
  }
  k.barrier();
}

/// ssm.fused_attention of one query per sequence (a decode step) as one
/// kernel: a block of kStepKeys threads per (batch, kv head), the `group`
/// query rows of the kv head's query heads in workgroup memory; per key
/// tile each thread scores its key against every row (reading the key's
/// row itself), each row's maximum and sum over the tile in halving steps
/// through workgroup memory, the rows' probabilities there, then thread t
/// accumulates output elements t + kStepKeys u ((row, value dim) pairs)
/// over the tile's keys, reading v with neighbouring threads on
/// neighbouring value dims. y = the accumulators over the rows' sums (0 for
/// a row that saw no key).
void emitAttentionStep(OpBuilder &b, const AttentionPlan &plan,
                       StringRef module, StringRef name) {
  OpBuilder::InsertionGuard guard(b);
  FusedAttentionOp op = plan.op;
  Location loc = op.getLoc();
  K k{b, loc};
  Value q = op.getQuery(), key = op.getKey(), v = op.getValue(),
        out = op.getInit();
  int64_t rows = plan.group, headDim = plan.headDim, valueDim = plan.valueDim;
  int64_t outs = llvm::divideCeil(rows * valueDim, kStepKeys);
  double negInf = -std::numeric_limits<double>::infinity();
  Type f32 = b.getF32Type();
  gpu::LaunchOp launch = k.launch(k.mul(plan.batch, plan.kvHeads), kStepKeys, 1,
                                  {k.workgroup({rows, headDim}, f32),
                                   k.workgroup({rows, kStepKeys}, f32),
                                   k.workgroup({rows, kStepKeys}, f32)},
                                  module, name);
  ArrayRef<BlockArgument> wg = launch.getWorkgroupAttributions();
  Value qs = wg[0], red = wg[1], ps = wg[2];
  Value tid = launch.getThreadIds().x, id = launch.getBlockIds().x;
  Value kvHead = k.remu(id, plan.kvHeads), bIdx = k.divu(id, plan.kvHeads);
  AttentionRows at(k, plan, bIdx, kvHead);
  Value c0 = k.idx(0);
  // The rows' queries (row r: query head kvHead * rows + r of query 0).
  for (int64_t u = 0; u < llvm::divideCeil(rows * headDim, kStepKeys); ++u) {
    Value lin = k.add(tid, u * kStepKeys);
    k.when(k.slt(lin, k.idx(rows * headDim)), [&] {
      Value r = k.divu(lin, headDim), d = k.remu(lin, headDim);
      k.store(k.load(q, {bIdx, c0, at.headOf(r), d}), qs, {r, d});
    });
  }
  SmallVector<Value> maskHeads;
  for (int64_t r = 0; r < rows; ++r)
    maskHeads.push_back(op.getMask() ? at.maskIndex(1, at.headOf(k.idx(r)))
                                     : Value());
  // This thread's output elements t + kStepKeys u: row and value dim.
  SmallVector<Value> outRow, outDim, outIn;
  for (int64_t u = 0; u < outs; ++u) {
    Value lin = k.add(tid, u * kStepKeys);
    outIn.push_back(k.slt(lin, k.idx(rows * valueDim)));
    outRow.push_back(k.mins(k.divu(lin, valueDim), k.idx(rows - 1)));
    outDim.push_back(k.remu(lin, valueDim));
  }
  // Carried: per row the running maximum and sum, then the accumulators.
  SmallVector<Value> init(rows, k.f32(negInf));
  init.append(rows, k.f32(0.0));
  init.append(outs, k.f32(0.0));
  auto [begin, end] = at.tiles(c0, rows, kStepKeys);
  scf::ForOp tiles = k.loop(begin, end, init, [&](Value kt, ValueRange acc) {
    Value j = k.add(k.mul(kt, kStepKeys), tid);
    Value keyIn = k.slt(j, plan.keys);
    // Scores of this thread's key (0 past the keys; score() makes them
    // -inf).
    SmallVector<Value> dots(rows, k.f32(0.0));
    k.barrier(); // q's stores, and the previous tile's reads of ps
    scf::ForOp dot =
        k.loop(c0, k.idx(headDim), dots, [&](Value d, ValueRange s) {
          Value kv = k.loadOrZero(keyIn, key, {bIdx, j, kvHead, d});
          SmallVector<Value> next;
          for (int64_t r = 0; r < rows; ++r)
            next.push_back(k.fma(k.load(qs, {k.idx(r), d}), kv, s[r]));
          return next;
        });
    SmallVector<Value> s;
    for (int64_t r = 0; r < rows; ++r) {
      s.push_back(at.score(dot.getResult(r), c0, maskHeads[r], j));
      k.store(s.back(), red, {k.idx(r), tid});
    }
    reduceRows(k, red, tid, rows,
               [&](Value x, Value y) { return k.fmax(x, y); });
    SmallVector<Value> next(acc.begin(), acc.end()), alpha;
    for (int64_t r = 0; r < rows; ++r) {
      Value m = k.fmax(acc[r], k.load(red, {k.idx(r), c0}));
      next[r] = m;
      alpha.push_back(k.expShift(acc[r], m));
      Value p = k.expShift(s[r], m);
      k.store(p, ps, {k.idx(r), tid});
    }
    k.barrier(); // every thread has read red's maxima
    for (int64_t r = 0; r < rows; ++r)
      k.store(k.load(ps, {k.idx(r), tid}), red, {k.idx(r), tid});
    reduceRows(k, red, tid, rows,
               [&](Value x, Value y) { return k.fadd(x, y); });
    for (int64_t r = 0; r < rows; ++r)
      next[rows + r] =
          k.fadd(k.fmul(acc[rows + r], alpha[r]), k.load(red, {k.idx(r), c0}));
    // The accumulators: rescaled, then p v over the tile's keys.
    SmallVector<Value> o;
    for (int64_t u = 0; u < outs; ++u) {
      Value a = c0;
      for (int64_t r = 0; r < rows; ++r)
        a = r == 0
                ? alpha[0]
                : k.select(k.cmp(arith::CmpIPredicate::eq, outRow[u], k.idx(r)),
                           alpha[r], a);
      o.push_back(k.fmul(acc[2 * rows + u], a));
    }
    Value k0 = k.mul(kt, kStepKeys);
    scf::ForOp pv =
        k.loop(c0, k.mins(k.idx(kStepKeys), k.sub(plan.keys, k0)), o,
               [&](Value jj, ValueRange a) {
                 SmallVector<Value> sums;
                 for (int64_t u = 0; u < outs; ++u)
                   sums.push_back(k.fma(
                       k.load(ps, {outRow[u], jj}),
                       k.loadOrZero(outIn[u], v,
                                    {bIdx, k.add(k0, jj), kvHead, outDim[u]}),
                       a[u]));
                 return sums;
               });
    llvm::copy(pv.getResults(), next.begin() + 2 * rows);
    return next;
  });

  // y = the accumulators over the rows' sums, or 0 where a row saw no key.
  for (int64_t u = 0; u < outs; ++u)
    k.when(outIn[u], [&] {
      Value sum = tiles.getResult(rows);
      for (int64_t r = 1; r < rows; ++r)
        sum = k.select(k.cmp(arith::CmpIPredicate::eq, outRow[u], k.idx(r)),
                       tiles.getResult(rows + r), sum);
      Value none = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, sum,
                                         k.f32(0.0));
      Value y = arith::DivFOp::create(b, loc, tiles.getResult(2 * rows + u),
                                      k.select(none, k.f32(1.0), sum));
      k.store(y, out, {bIdx, c0, at.headOf(outRow[u]), outDim[u]});
    });
  gpu::TerminatorOp::create(b, loc);
}

} // namespace

AttentionPlan mlir::ssm::attentionPlan(OpBuilder &b, FusedAttentionOp op) {
  Location loc = op.getLoc();
  K k{b, loc};
  AttentionPlan plan;
  plan.op = op;
  Value q = op.getQuery(), key = op.getKey(), mask = op.getMask();
  auto qType = cast<MemRefType>(q.getType());
  plan.heads = qType.getDimSize(2);
  plan.kvHeads = cast<MemRefType>(key.getType()).getDimSize(2);
  plan.headDim = qType.getDimSize(3);
  plan.valueDim = cast<MemRefType>(op.getValue().getType()).getDimSize(3);
  plan.group = plan.heads / plan.kvHeads;
  plan.batch = memref::DimOp::create(b, loc, q, 0);
  plan.seq = memref::DimOp::create(b, loc, q, 1);
  plan.keys = memref::DimOp::create(b, loc, key, 1);
  plan.offset = k.sub(plan.keys, plan.seq);
  plan.packed = k.mul(plan.seq, plan.group);
  for (int64_t d = 0; mask && d < 2; ++d)
    plan.maskSizes[d] = memref::DimOp::create(b, loc, mask, d);
  return plan;
}

AttentionRows::AttentionRows(K &k, const AttentionPlan &plan, Value bIdx,
                             Value kvHead)
    : k(k), plan(plan), op(plan.op), bIdx(bIdx), kvHead(kvHead) {
  if (op.getMask())
    maskBatch = maskIndex(0, bIdx);
}

Value AttentionRows::queryOf(Value p) {
  return plan.group == 1 ? p : k.divu(p, plan.group);
}

Value AttentionRows::headOf(Value p) {
  return plan.group == 1
             ? kvHead
             : k.add(k.mul(kvHead, plan.group), k.remu(p, plan.group));
}

Value AttentionRows::maskIndex(int64_t d, Value i) {
  Value mask = op.getMask();
  int64_t size = cast<MemRefType>(mask.getType()).getDimSize(d);
  if (size == 1)
    return k.idx(0);
  if (!ShapedType::isDynamic(size))
    return i;
  return k.select(k.cmp(arith::CmpIPredicate::eq, plan.maskSizes[d], k.idx(1)),
                  k.idx(0), i);
}

std::pair<Value, Value> AttentionRows::tiles(Value p0, int64_t rows,
                                             int64_t tileKeys) {
  Value c0 = k.idx(0);
  Value lastRow =
      queryOf(k.sub(k.mins(k.add(p0, rows), plan.packed), k.idx(1)));
  // (Unsigned division of values clamped at 0: no signed floor division in
  // the kernel.)
  Value end = k.divu(k.add(plan.keys, tileKeys - 1), tileKeys);
  if (op.getCausal()) {
    Value lastKey = k.add(lastRow, plan.offset);
    Value seen = k.select(k.slt(lastKey, c0), c0,
                          k.add(k.divu(k.maxs(lastKey, c0), tileKeys), 1));
    end = k.mins(end, seen);
  }
  Value begin = c0;
  if (std::optional<uint64_t> window = op.getWindow()) {
    Value firstKey = k.sub(k.add(queryOf(p0), plan.offset),
                           k.idx(static_cast<int64_t>(*window) - 1));
    begin = k.divu(k.maxs(firstKey, c0), tileKeys);
  }
  return {begin, end};
}

Value AttentionRows::score(Value dot, Value query, Value maskHead, Value j) {
  Value x = k.fmul(dot, k.f32(op.getScale().convertToDouble()));
  if (std::optional<APFloat> softcap = op.getSoftcap()) {
    Value cap = k.f32(softcap->convertToDouble());
    x = k.fmul(cap, math::TanhOp::create(
                        k.b, k.loc, arith::DivFOp::create(k.b, k.loc, x, cap)));
  }
  if (Value mask = op.getMask()) {
    // Clamped indices: the entries past the range are discarded.
    x = k.fadd(x, k.load(mask, {maskBatch, maskHead,
                                k.mins(query, k.sub(plan.seq, k.idx(1))),
                                k.mins(j, k.sub(plan.keys, k.idx(1)))}));
  }
  Value visible = k.slt(j, plan.keys);
  Value last = k.add(query, plan.offset);
  if (op.getCausal())
    visible = k.both(visible, k.sle(j, last));
  if (std::optional<uint64_t> window = op.getWindow())
    visible = k.both(
        visible, k.sgt(j, k.sub(last, k.idx(static_cast<int64_t>(*window)))));
  return k.select(visible, x, k.f32(-std::numeric_limits<double>::infinity()));
}

LogicalResult mlir::ssm::emitFusedAttentionKernel(OpBuilder &b,
                                                  FusedAttentionOp op,
                                                  StringRef module,
                                                  StringRef name,
                                                  TensorCores tensorCores) {
  Location loc = op.getLoc();
  K k{b, loc};
  Value q = op.getQuery(), key = op.getKey(), v = op.getValue(),
        out = op.getInit();
  auto qType = cast<MemRefType>(q.getType());
  auto kType = cast<MemRefType>(key.getType());
  auto vType = cast<MemRefType>(v.getType());
  int64_t heads = qType.getDimSize(2), kvHeads = kType.getDimSize(2),
          headDim = qType.getDimSize(3), valueDim = vType.getDimSize(3);
  if (ShapedType::isDynamic(heads) || ShapedType::isDynamic(kvHeads) ||
      ShapedType::isDynamic(headDim) || ShapedType::isDynamic(valueDim) ||
      valueDim > kMaxValueDim)
    return op.emitOpError()
           << "the fused kernel needs static head counts and head sizes and "
              "a value head size of at most "
           << kMaxValueDim << ", got " << vType;
  AttentionPlan plan = attentionPlan(b, op);
  // One query per sequence known at compile time (a decode step), a few
  // query heads per kv head and head sizes up to 128: the step kernel.
  if (qType.getDimSize(1) == 1 && plan.group <= kStepMaxGroup &&
      headDim <= kMaxValueDim) {
    emitAttentionStep(b, plan, module, (name + "_step").str());
    return success();
  }
  // The tensor-core kernel stages whole q and k rows: head sizes up to 128.
  if (tensorCores != TensorCores::None && headDim <= kMaxValueDim) {
    emitFusedAttentionMma(b, plan, tensorCores, module, name);
    return success();
  }
  // The output columns of a thread: groups of 4 value dims, tx * 4 + 64 g.
  int64_t colGroups = llvm::divideCeil(valueDim, kThreads * kVec);
  int64_t cols = colGroups * kVec;
  int64_t vPitch = colGroups * kThreads; // a v slice row, in vectors
  double negInf = -std::numeric_limits<double>::infinity();
  Value batch = plan.batch, keys = plan.keys;
  // A block's rows are (query, head) pairs of one kv head: row p is query
  // p / group of head kvHead * group + p % group (GQA: the query heads that
  // share a kv head share its key and value tiles; a decode step fills
  // `group` rows instead of one).
  Value packed = plan.packed;
  Value queryTiles = arith::CeilDivUIOp::create(b, loc, packed, k.idx(kRows));
  Value blocks = k.mul(k.mul(queryTiles, batch), kvHeads);
  Type f32 = b.getF32Type();
  Type vecType = VectorType::get({kVec}, f32);
  // stage: a q and a k slice ([16][17] vectors of 4 rows each), or a v
  // slice ([16][vPitch] vectors of 4 value dims); scores: [64][17] vectors
  // of 4 keys; part: per-thread partial maxima and sums; stats: per row the
  // running maximum, the running sum and this tile's rescale.
  gpu::LaunchOp launch = k.launch(
      blocks, kThreads, kThreads,
      {k.workgroup({std::max(2 * kQKStage, kSlice * vPitch)}, vecType),
       k.workgroup({kRows, kPitch}, vecType),
       k.workgroup({kRows * kQuarters}, f32), k.workgroup({3, kRows}, f32)},
      module, name);
  Value one = k.idx(1);
  ArrayRef<BlockArgument> wg = launch.getWorkgroupAttributions();
  Value stage = wg[0], scores = wg[1], part = wg[2], stats = wg[3];
  Value tx = launch.getThreadIds().x, ty = launch.getThreadIds().y;
  Value tid = k.add(k.mul(ty, kThreads), tx);
  Value rest = launch.getBlockIds().x;
  Value tile = arith::RemUIOp::create(b, loc, rest, queryTiles);
  rest = arith::DivUIOp::create(b, loc, rest, queryTiles);
  Value kvHead = k.remu(rest, kvHeads);
  Value bIdx = k.divu(rest, kvHeads);
  Value p0 = k.mul(tile, kRows);
  AttentionRows at(k, plan, bIdx, kvHead);
  auto queryOf = [&](Value p) { return at.queryOf(p); };
  auto headOf = [&](Value p) { return at.headOf(p); };
  Value c0 = k.idx(0);
  Value mStat = k.idx(0), lStat = one, aStat = k.idx(2);

  // Running maximum -inf and sum 0 for every row.
  {
    auto first = scf::IfOp::create(b, loc, k.slt(tid, k.idx(kRows)), false);
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(first.thenBlock());
    k.store(k.f32(negInf), stats, {mStat, tid});
    k.store(k.f32(0.0), stats, {lStat, tid});
  }
  k.barrier();

  // The key tiles some row of this block sees.
  auto [begin, end] = at.tiles(p0, kRows, kKeys);

  // This thread's rows (ty * 4 + r), keys (tx * 4 + c) and value columns
  // (tx * 4 + 64 g + i).
  SmallVector<Value> rowOff, rowIn, rows, rowHeads;
  for (int64_t r = 0; r < kReg; ++r) {
    rowOff.push_back(k.add(k.mul(ty, kReg), r));
    Value p = k.add(p0, rowOff.back());
    rowIn.push_back(k.slt(p, packed));
    rows.push_back(queryOf(p));
    rowHeads.push_back(headOf(p));
  }
  SmallVector<Value> accInit(kReg * cols, k.f32(0.0));
  SmallVector<Value> maskHeads;
  if (op.getMask())
    for (Value h : rowHeads)
      maskHeads.push_back(at.maskIndex(1, h));

  scf::ForOp tiles = k.loop(begin, end, accInit, [&](Value kt, ValueRange acc) {
    Value k0 = k.mul(kt, kKeys);
    // Scores of this tile: sum over slices of 16 head dims. Each thread
    // stages 4 rows of q and 4 keys of k at one head dim.
    int64_t slices = llvm::divideCeil(headDim, kSlice);
    SmallVector<Value> sInit(kReg * kReg, k.f32(0.0));
    scf::ForOp dots =
        k.loop(c0, k.idx(slices), sInit, [&](Value slice, ValueRange s) {
          Value dd = k.remu(tid, kSlice), g = k.divu(tid, kSlice);
          Value d = k.add(k.mul(slice, kSlice), dd);
          Value dIn = k.slt(d, k.idx(headDim));
          SmallVector<Value> qv, kv;
          for (int64_t i = 0; i < kVec; ++i) {
            Value p = k.add(p0, k.add(k.mul(g, kVec), i));
            Value kr = k.add(k0, k.add(k.mul(g, kVec), i));
            qv.push_back(k.loadOrZero(k.both(dIn, k.slt(p, packed)), q,
                                      {bIdx, queryOf(p), headOf(p), d}));
            kv.push_back(k.loadOrZero(k.both(dIn, k.slt(kr, keys)), key,
                                      {bIdx, kr, kvHead, d}));
          }
          Value at = k.add(k.mul(dd, kPitch), g);
          k.store(k.vec(qv), stage, {at});
          k.store(k.vec(kv), stage, {k.add(at, kQKStage)});
          k.barrier();
          scf::ForOp inner = k.stagedOuter(
              stage, stage, std::min(kSlice, headDim), s,
              [&](Value dd) { return k.add(k.mul(dd, kPitch), ty); },
              [&](Value dd) {
                return k.add(k.add(k.mul(dd, kPitch), kQKStage), tx);
              });
          k.barrier();
          return SmallVector<Value>(inner.getResults());
        });

    // Scale, softcap, mask; -inf where the key is not seen.
    for (int64_t r = 0; r < kReg; ++r) {
      SmallVector<Value> xs;
      for (int64_t c = 0; c < kReg; ++c) {
        Value j = k.add(k0, k.add(k.mul(tx, kVec), c));
        xs.push_back(at.score(dots.getResult(r * kReg + c), rows[r],
                              op.getMask() ? maskHeads[r] : Value(), j));
      }
      k.store(k.vec(xs), scores, {rowOff[r], tx});
    }
    k.barrier();

    // Online softmax: four threads per row, 16 scores (4 vectors) each.
    Value row = k.divu(tid, kQuarters);
    Value group0 = k.mul(k.remu(tid, kQuarters), kKeys / kVec / kQuarters);
    SmallVector<Value> mine;
    for (int64_t i = 0; i < kKeys / kVec / kQuarters; ++i)
      llvm::append_range(mine,
                         k.elements(k.load(scores, {row, k.add(group0, i)})));
    auto overRow = [&](Value init, function_ref<Value(Value, Value)> f) {
      Value x = init;
      for (int64_t i = 0; i < kQuarters; ++i)
        x = f(x, k.load(part, {k.add(k.mul(row, kQuarters), i)}));
      return x;
    };
    Value myMax = k.f32(negInf);
    for (Value x : mine)
      myMax = k.fmax(myMax, x);
    k.store(myMax, part, {tid});
    k.barrier();
    Value oldMax = k.load(stats, {mStat, row});
    Value newMax = k.fmax(oldMax, overRow(k.f32(negInf), [&](Value x, Value y) {
                            return k.fmax(x, y);
                          }));
    Value mySum = k.f32(0.0);
    for (int64_t i = 0; i < kKeys / kVec / kQuarters; ++i) {
      SmallVector<Value> ps;
      for (int64_t c = 0; c < kVec; ++c) {
        ps.push_back(k.expShift(mine[i * kVec + c], newMax));
        mySum = k.fadd(mySum, ps.back());
      }
      k.store(k.vec(ps), scores, {row, k.add(group0, i)});
    }
    k.barrier();
    k.store(mySum, part, {tid});
    k.barrier();
    {
      auto lead = scf::IfOp::create(
          b, loc, k.cmp(arith::CmpIPredicate::eq, k.remu(tid, kQuarters), c0),
          false);
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(lead.thenBlock());
      Value alpha = k.expShift(oldMax, newMax);
      Value sum = overRow(k.fmul(k.load(stats, {lStat, row}), alpha),
                          [&](Value x, Value y) { return k.fadd(x, y); });
      k.store(newMax, stats, {mStat, row});
      k.store(sum, stats, {lStat, row});
      k.store(alpha, stats, {aStat, row});
    }
    k.barrier();

    // Rescale the output rows, then add P v over slices of 16 keys: per 4
    // keys, a vector of P per row and a vector of v per column group.
    SmallVector<Value> scaled;
    for (int64_t r = 0; r < kReg; ++r) {
      Value alpha = k.load(stats, {aStat, rowOff[r]});
      for (int64_t c = 0; c < cols; ++c)
        scaled.push_back(k.fmul(acc[r * cols + c], alpha));
    }
    scf::ForOp pv =
        k.loop(c0, k.idx(kKeys / kSlice), scaled, [&](Value vs, ValueRange a) {
          Value j0 = k.mul(vs, kSlice);
          // kSlice * vPitch vectors: colGroups per thread.
          for (int64_t t = 0; t < colGroups; ++t) {
            Value lin = k.add(tid, kThreads * kThreads * t);
            Value jj = k.divu(lin, vPitch);
            Value e0 = k.mul(k.remu(lin, vPitch), kVec);
            Value kr = k.add(k.add(k0, j0), jj);
            Value keyIn = k.slt(kr, keys);
            SmallVector<Value> xs;
            for (int64_t i = 0; i < kVec; ++i) {
              Value e = k.add(e0, i);
              xs.push_back(
                  k.loadOrZero(k.both(keyIn, k.slt(e, k.idx(valueDim))), v,
                               {bIdx, kr, kvHead, e}));
            }
            k.store(k.vec(xs), stage, {lin});
          }
          k.barrier();
          scf::ForOp inner =
              k.loop(c0, k.idx(kSlice / kVec), a, [&](Value jq, ValueRange av) {
                SmallVector<SmallVector<Value>> p;
                for (int64_t r = 0; r < kReg; ++r)
                  p.push_back(k.elements(k.load(
                      scores, {rowOff[r], k.add(k.divu(j0, kVec), jq)})));
                SmallVector<Value> next(av.begin(), av.end());
                for (int64_t kk = 0; kk < kVec; ++kk) {
                  Value jrow = k.add(k.mul(jq, kVec), kk);
                  for (int64_t g = 0; g < colGroups; ++g) {
                    SmallVector<Value> x = k.elements(k.load(
                        stage,
                        {k.add(k.mul(jrow, vPitch), k.add(tx, kThreads * g))}));
                    for (int64_t r = 0; r < kReg; ++r)
                      for (int64_t i = 0; i < kVec; ++i) {
                        Value &slot = next[r * cols + g * kVec + i];
                        slot = k.fma(p[r][kk], x[i], slot);
                      }
                  }
                }
                return next;
              });
          k.barrier();
          return SmallVector<Value>(inner.getResults());
        });
    return SmallVector<Value>(pv.getResults());
  });

  // y = acc / sum, or 0 for a row that saw no key.
  for (int64_t r = 0; r < kReg; ++r) {
    Value sum = k.load(stats, {lStat, rowOff[r]});
    Value none = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, sum,
                                       k.f32(0.0));
    Value safe = k.select(none, k.f32(1.0), sum);
    for (int64_t c = 0; c < cols; ++c) {
      Value e =
          k.add(k.mul(tx, kVec), k.idx(c / kVec * kThreads * kVec + c % kVec));
      Value inside = k.both(rowIn[r], k.slt(e, k.idx(valueDim)));
      auto store = scf::IfOp::create(b, loc, inside, false);
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(store.thenBlock());
      Value y =
          arith::DivFOp::create(b, loc, tiles.getResult(r * cols + c), safe);
      k.store(y, out, {bIdx, rows[r], rowHeads[r], e});
    }
  }
  gpu::TerminatorOp::create(b, loc);
  return success();
}
