//===- GPUKernels.h - Kernels of ssm-linalg-to-gpu --------------*- C++ -*-===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#ifndef SSM_LIB_CONVERSION_GPUKERNELS_H
#define SSM_LIB_CONVERSION_GPUKERNELS_H

#include "ssm/Dialect/SSM/IR/SSMOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <functional>
#include <limits>
#include <optional>

namespace mlir::ssm {

/// How the fused kernels compute their matrix products: on the SIMT units
/// in f32 (None, any target), or with NVIDIA tensor cores (mma.sync
/// m16n8k8, sm_80 and later) on operands rounded to TF32 (TF32), or split
/// into a TF32 high part and a TF32 low part with three products per
/// product (TF32x3: about f32 accuracy); accumulation is in f32.
enum class TensorCores { None, TF32, TF32x3 };

/// Parses a `tensor-cores` option value ("none", "tf32", "tf32x3").
std::optional<TensorCores> parseTensorCores(StringRef name);

/// Emits, at `b`'s insertion point, the launch of the fused attention
/// kernel computing `op` (on buffers), named `name` in the gpu.module
/// `module`, guarded so that an empty grid launches nothing; with tensor
/// cores emitFusedAttentionMma's kernel. Fails (with an error on `op`) for
/// shapes the kernel does not take.
LogicalResult emitFusedAttentionKernel(OpBuilder &b, FusedAttentionOp op,
                                       StringRef module, StringRef name,
                                       TensorCores tensorCores);

/// Emits, at `b`'s insertion point, the kernels computing `op` (on
/// buffers): the chunks' C B^T products into a device buffer allocated
/// there, then the scan over the chunks, named `name`_cb and `name`_scan in
/// the gpu.module `module` (and `name`_fixup when the sequence is cut into
/// segments); the buffers are freed after them. With tensor cores the scan
/// and the fix-up are emitSSDScanMma's. Fails (with an error on `op`) for
/// shapes the kernels do not take.
LogicalResult emitFusedSSDKernels(OpBuilder &b, FusedSSDOp op, StringRef module,
                                  StringRef name, TensorCores tensorCores);

/// What the scan kernels of one ssm.fused_ssd share: its sizes, the C B^T
/// buffer (64 x 64 per (batch, chunk, group)) and the segments (`segs` of
/// `segChunks` chunks each, with each segment's own final state and total
/// log decay in `segState` and `segTotal` when `segmented`).
struct SSDScanPlan {
  FusedSSDOp op;
  Value batch, seq, chunks, cb;
  Value segs, segChunks, segmented, segState, segTotal;
  int64_t heads, headDim, groups, stateDim, headTile, headTiles;
};

/// What the attention kernels of one ssm.fused_attention (on buffers)
/// share, built on the host: the sizes, the causal alignment `offset`
/// (keys - queries, may be negative), the packed row count (queries times
/// the query heads per kv head: a block's rows are the (query, head) pairs
/// of one kv head) and the mask's leading sizes (a broadcast dimension may
/// be dynamic).
struct AttentionPlan {
  FusedAttentionOp op;
  Value batch, seq, keys, offset, packed;
  Value maskSizes[2];
  int64_t heads, kvHeads, headDim, valueDim, group;
};
AttentionPlan attentionPlan(OpBuilder &b, FusedAttentionOp op);

/// Emits the fused attention kernel of `plan` on tensor cores, as kernel
/// `name` of gpu.module `module`: a block of 4 warps per 64 packed rows of
/// one (batch, kv head), key tiles of 64.
void emitFusedAttentionMma(OpBuilder &b, const AttentionPlan &plan,
                           TensorCores tensorCores, StringRef module,
                           StringRef name);

/// Head dims per block of emitSSDScanMma.
constexpr int64_t kSSDMmaHeadTile = 64;

/// Emits the scan (or, with `fixup`, the segments' fix-up) of `plan` on
/// tensor cores, as kernel `name` of gpu.module `module`: a block of 8
/// warps per (batch, head, 64 head dims, segment), the state slice in
/// registers as mma accumulators and in dynamic workgroup memory.
void emitSSDScanMma(OpBuilder &b, const SSDScanPlan &plan, bool fixup,
                    TensorCores tensorCores, StringRef module, StringRef name);

namespace kernels {

/// Builder shorthands for the index and f32 arithmetic of the kernels.
struct K {
  OpBuilder &b;
  Location loc;

  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value f32(double v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value sub(Value x, Value y) { return arith::SubIOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, loc, x, y); }
  Value add(Value x, int64_t y) { return add(x, idx(y)); }
  Value mul(Value x, int64_t y) { return mul(x, idx(y)); }
  Value divu(Value x, int64_t y) {
    return arith::DivUIOp::create(b, loc, x, idx(y));
  }
  Value remu(Value x, int64_t y) {
    return arith::RemUIOp::create(b, loc, x, idx(y));
  }
  Value cmp(arith::CmpIPredicate p, Value x, Value y) {
    return arith::CmpIOp::create(b, loc, p, x, y);
  }
  Value slt(Value x, Value y) { return cmp(arith::CmpIPredicate::slt, x, y); }
  Value sle(Value x, Value y) { return cmp(arith::CmpIPredicate::sle, x, y); }
  Value sgt(Value x, Value y) { return cmp(arith::CmpIPredicate::sgt, x, y); }
  Value both(Value x, Value y) { return arith::AndIOp::create(b, loc, x, y); }
  Value mins(Value x, Value y) { return arith::MinSIOp::create(b, loc, x, y); }
  Value maxs(Value x, Value y) { return arith::MaxSIOp::create(b, loc, x, y); }
  Value fadd(Value x, Value y) { return arith::AddFOp::create(b, loc, x, y); }
  Value fmul(Value x, Value y) { return arith::MulFOp::create(b, loc, x, y); }
  Value fmax(Value x, Value y) {
    return arith::MaximumFOp::create(b, loc, x, y);
  }
  Value fma(Value x, Value y, Value z) {
    return math::FmaOp::create(b, loc, x, y, z).getResult();
  }
  Value select(Value c, Value x, Value y) {
    return arith::SelectOp::create(b, loc, c, x, y);
  }
  Value load(Value m, ValueRange at) {
    return memref::LoadOp::create(b, loc, m, at);
  }
  void store(Value v, Value m, ValueRange at) {
    memref::StoreOp::create(b, loc, v, m, at);
  }
  /// m[at] where `valid`, else 0 (no load: `at` may be out of range).
  Value loadOrZero(Value valid, Value m, ValueRange at) {
    auto branch = scf::IfOp::create(b, loc, b.getF32Type(), valid,
                                    /*withElseRegion=*/true);
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(branch.thenBlock());
    scf::YieldOp::create(b, loc, load(m, at));
    b.setInsertionPointToStart(branch.elseBlock());
    scf::YieldOp::create(b, loc, f32(0.0));
    return branch.getResult(0);
  }
  /// The floats `xs` as one vector.
  Value vec(ArrayRef<Value> xs) {
    return vector::FromElementsOp::create(
        b, loc,
        VectorType::get({static_cast<int64_t>(xs.size())}, b.getF32Type()), xs);
  }
  /// The floats of vector `x`.
  SmallVector<Value> elements(Value x) {
    SmallVector<Value> xs;
    int64_t n = cast<VectorType>(x.getType()).getNumElements();
    for (int64_t i = 0; i < n; ++i)
      xs.push_back(vector::ExtractOp::create(b, loc, x, i));
    return xs;
  }
  void barrier() { gpu::BarrierOp::create(b, loc); }
  /// Runs `body` only where `cond` holds.
  void when(Value cond, function_ref<void()> body) {
    auto branch = scf::IfOp::create(b, loc, cond, false);
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(branch.thenBlock());
    body();
  }
  /// The workgroup-memory buffer type of `shape` x `element`.
  MemRefType workgroup(ArrayRef<int64_t> shape, Type element) {
    return MemRefType::get(shape, element, MemRefLayoutAttrInterface{},
                           gpu::AddressSpaceAttr::get(
                               b.getContext(), gpu::AddressSpace::Workgroup));
  }
  /// A launch of `blocks` x 1 x 1 blocks of `tx` x `ty` threads with the
  /// workgroup buffers `buffers` (and `dynamicBytes` of dynamic workgroup
  /// memory), kernel `name` of gpu.module `module`,
  /// guarded so that no block means no launch; the builder is left at the
  /// start of its body.
  gpu::LaunchOp launch(Value blocks, int64_t tx, int64_t ty,
                       ArrayRef<Type> buffers, StringRef module, StringRef name,
                       int64_t dynamicBytes = 0) {
    auto guard = scf::IfOp::create(
        b, loc, cmp(arith::CmpIPredicate::ugt, blocks, idx(0)), false);
    b.setInsertionPointToStart(guard.thenBlock());
    Value one = idx(1);
    Value dynamic = dynamicBytes
                        ? arith::ConstantIntOp::create(b, loc, dynamicBytes, 32)
                        : Value();
    auto op = gpu::LaunchOp::create(
        b, loc, blocks, one, one, idx(tx), idx(ty), one, dynamic, nullptr, {},
        buffers, {}, nullptr, nullptr, nullptr,
        FlatSymbolRefAttr::get(b.getContext(), module),
        FlatSymbolRefAttr::get(b.getContext(), name));
    b.setInsertionPointToStart(&op.getBody().front());
    return op;
  }
  /// Views of the block's dynamic workgroup memory: view(at, shape) is
  /// the f32 buffer of `shape` from float `at` on.
  std::function<Value(int64_t, ArrayRef<int64_t>)> floatViews() {
    Value raw = gpu::DynamicSharedMemoryOp::create(
        b, loc, workgroup({ShapedType::kDynamic}, b.getI8Type()));
    return [this, raw](int64_t at, ArrayRef<int64_t> shape) -> Value {
      return memref::ViewOp::create(b, loc, workgroup(shape, b.getF32Type()),
                                    raw, idx(at * 4), ValueRange{});
    };
  }
  /// acc + the outer product of `xs` and `ys` (row-major, one fma each).
  SmallVector<Value> outer(ArrayRef<Value> xs, ArrayRef<Value> ys,
                           ValueRange acc) {
    SmallVector<Value> next;
    for (auto [r, x] : llvm::enumerate(xs))
      for (auto [c, y] : llvm::enumerate(ys))
        next.push_back(fma(x, y, acc[r * ys.size() + c]));
    return next;
  }
  /// A loop over `count` steps d adding to `acc` the outer product of the
  /// workgroup-memory vectors xs[xAt(d)] and ys[yAt(d)].
  scf::ForOp stagedOuter(Value xs, Value ys, int64_t count, ValueRange acc,
                         function_ref<Value(Value)> xAt,
                         function_ref<Value(Value)> yAt) {
    return loop(idx(0), idx(count), acc, [&](Value d, ValueRange a) {
      return outer(elements(load(xs, {xAt(d)})), elements(load(ys, {yAt(d)})),
                   a);
    });
  }
  /// exp(x - m), with m = -inf (a row that has seen no key) read as 0.
  Value expShift(Value x, Value m) {
    Value empty =
        arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, m,
                              f32(-std::numeric_limits<double>::infinity()));
    Value safe = select(empty, f32(0.0), m);
    return math::ExpOp::create(b, loc, arith::SubFOp::create(b, loc, x, safe));
  }
  /// A loop from `lb` to `ub` carrying `init`; `body` gets the induction
  /// variable and the carried values and returns the next ones.
  scf::ForOp loop(Value lb, Value ub, ValueRange init,
                  function_ref<SmallVector<Value>(Value, ValueRange)> body) {
    auto l = scf::ForOp::create(b, loc, lb, ub, idx(1), init);
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(l.getBody());
    scf::YieldOp::create(b, loc,
                         body(l.getInductionVar(), l.getRegionIterArgs()));
    return l;
  }
};

/// The rows of the SSD kernels' per-chunk table in workgroup memory
/// (5 x 64 floats): per token of the chunk the log decay, the scale, the
/// inclusive prefix sum cum of the log decays, exp(cum) and the state weight
/// exp(cum_last - cum_j) scale_j.
enum ChunkRow : int64_t { kLogRow, kScaleRow, kCumRow, kExpRow, kWeightRow };

/// exp(min(x, 0)).
Value clampedExp(K &k, Value x);

/// Fills the table `chunk` for the chunk of 64 tokens from `t0` of (batch
/// `bi`, head `h`) with the block's first 64 threads (`tid` < 64): the
/// clamped log decays (0 past `seq`), the scales (with `weights`; 1, or 0
/// past `seq`, without a scale operand) and the prefix sums, exp(cum) and,
/// with `weights`, the state weights. Starts and ends with a barrier's
/// worth of ordering: workgroup memory written before it is visible to the
/// whole block after it.
void emitChunkDecays(K &k, Value chunk, Value tid, Value t0, Value seq,
                     Value logDecay, Value scale, Value bi, Value h,
                     bool weights);

/// A scan block's place: block `id` of the scan (or, with `fixup`, of the
/// fix-up, whose segments start at 1) with `perTile` segments per (batch,
/// head, head tile): its segment, head tile, head, batch, group, first head
/// dim and batch * heads + head.
struct ScanBlock {
  Value seg, tile, h, bi, gi, p0, bh;
};
ScanBlock scanBlock(K &k, Value id, Value perTile, bool fixup,
                    const SSDScanPlan &plan);

/// The tensor-core products of a kernel: m16n8k8 mma.sync on operands
/// rounded to TF32, or (TF32x3) three of them on each operand's high and
/// low TF32 parts.
struct Mma {
  K &k;
  TensorCores mode;

  /// x rounded to TF32 (to nearest, ties away from zero), as f32.
  Value round(Value x) {
    OpBuilder &b = k.b;
    Value bits = arith::BitcastOp::create(b, k.loc, b.getI32Type(), x);
    bits = arith::AddIOp::create(
        b, k.loc, bits, arith::ConstantIntOp::create(b, k.loc, 0x1000, 32));
    bits = arith::AndIOp::create(
        b, k.loc, bits, arith::ConstantIntOp::create(b, k.loc, -0x2000, 32));
    return arith::BitcastOp::create(b, k.loc, b.getF32Type(), bits);
  }
  Value fragment(ArrayRef<Value> xs, int64_t rows, int64_t cols) {
    return vector::FromElementsOp::create(
        k.b, k.loc, VectorType::get({rows, cols}, k.b.getF32Type()), xs);
  }
  /// acc + a b for the A fragment `a` (4 values), the B fragment `bf` (2)
  /// and the accumulators `acc` (4), in C's order.
  SmallVector<Value> operator()(ArrayRef<Value> a, ArrayRef<Value> bf,
                                ValueRange acc) {
    SmallVector<Value> aHi, aLo, bHi, bLo;
    auto split = [&](ArrayRef<Value> xs, SmallVector<Value> &hi,
                     SmallVector<Value> &lo) {
      for (Value x : xs) {
        hi.push_back(round(x));
        if (mode == TensorCores::TF32x3)
          lo.push_back(round(arith::SubFOp::create(k.b, k.loc, x, hi.back())));
      }
    };
    split(a, aHi, aLo);
    split(bf, bHi, bLo);
    Value c = fragment(SmallVector<Value>(acc), 2, 2);
    auto run = [&](ArrayRef<Value> x, ArrayRef<Value> y) {
      c = nvgpu::MmaSyncOp::create(k.b, k.loc, fragment(x, 4, 1),
                                   fragment(y, 2, 1), c,
                                   ArrayRef<int64_t>{16, 8, 8},
                                   /*tf32Enabled=*/true);
    };
    // The small products first.
    if (mode == TensorCores::TF32x3) {
      run(aLo, bHi);
      run(aHi, bLo);
    }
    run(aHi, bHi);
    SmallVector<Value> out;
    for (int64_t r = 0; r < 2; ++r)
      for (int64_t e = 0; e < 2; ++e)
        out.push_back(
            vector::ExtractOp::create(k.b, k.loc, c, ArrayRef<int64_t>{r, e}));
    return out;
  }
};

/// The per-row and per-score steps of the attention kernels, inside a
/// kernel computing (batch `bIdx`, kv head `kvHead`).
struct AttentionRows {
  K &k;
  const AttentionPlan &plan;
  FusedAttentionOp op;
  Value bIdx, kvHead, maskBatch;

  AttentionRows(K &k, const AttentionPlan &plan, Value bIdx, Value kvHead);
  /// Packed row p's query and query head.
  Value queryOf(Value p);
  Value headOf(Value p);
  /// The mask's index along its dimension `d` (0: batch, 1: head) for
  /// index `i`: 0 along a broadcast dimension.
  Value maskIndex(int64_t d, Value i);
  /// The key tiles [begin, end) of `tileKeys` keys that some of the packed
  /// rows p0 .. p0 + `rows` - 1 see (causal and window masks).
  std::pair<Value, Value> tiles(Value p0, int64_t rows, int64_t tileKeys);
  /// The score of q . k = `dot` for query `query` (mask head index
  /// `maskHead`) and key `j`: scaled, softcapped, the mask added, -inf where
  /// the key is not seen.
  Value score(Value dot, Value query, Value maskHead, Value j);
};

/// Stores y at `at` = (batch, token, head, head dim) of `op`: `v` plus
/// D x (x from `xAt`; not in the fix-up), times silu(gate) when `op` has a
/// gate; the fix-up adds it to y instead.
void storeSSDOutput(K &k, FusedSSDOp op, Value v, function_ref<Value()> xAt,
                    ArrayRef<Value> at, bool fixup);

} // namespace kernels

} // namespace mlir::ssm

#endif // SSM_LIB_CONVERSION_GPUKERNELS_H
