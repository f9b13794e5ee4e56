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
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <limits>

namespace mlir::ssm {

/// Emits, at `b`'s insertion point, the launch of the fused attention
/// kernel computing `op` (on buffers), named `name` in the gpu.module
/// `module`, guarded so that an empty grid launches nothing. Fails (with an
/// error on `op`) for shapes the kernel does not take.
LogicalResult emitFusedAttentionKernel(OpBuilder &b, FusedAttentionOp op,
                                       StringRef module, StringRef name);

/// Emits, at `b`'s insertion point, the kernels computing `op` (on
/// buffers): the chunks' C B^T products into a device buffer allocated
/// there, then the scan over the chunks, named `name`_cb and `name`_scan in
/// the gpu.module `module`; the buffer is freed after them. Fails (with an
/// error on `op`) for shapes the kernels do not take.
LogicalResult emitFusedSSDKernels(OpBuilder &b, FusedSSDOp op, StringRef module,
                                  StringRef name);

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
  /// workgroup buffers `buffers`, kernel `name` of gpu.module `module`,
  /// guarded so that no block means no launch; the builder is left at the
  /// start of its body.
  gpu::LaunchOp launch(Value blocks, int64_t tx, int64_t ty,
                       ArrayRef<Type> buffers, StringRef module,
                       StringRef name) {
    auto guard = scf::IfOp::create(
        b, loc, cmp(arith::CmpIPredicate::ugt, blocks, idx(0)), false);
    b.setInsertionPointToStart(guard.thenBlock());
    Value one = idx(1);
    auto op = gpu::LaunchOp::create(
        b, loc, blocks, one, one, idx(tx), idx(ty), one, nullptr, nullptr, {},
        buffers, {}, nullptr, nullptr, nullptr,
        FlatSymbolRefAttr::get(b.getContext(), module),
        FlatSymbolRefAttr::get(b.getContext(), name));
    b.setInsertionPointToStart(&op.getBody().front());
    return op;
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

} // namespace kernels

} // namespace mlir::ssm

#endif // SSM_LIB_CONVERSION_GPUKERNELS_H
