//===- LinalgToGPU.cpp - linalg on buffers as GPU kernels -----------------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Every linalg.generic on buffers in a host function becomes a gpu.launch:
// the parallel loops are linearized into one range, each thread of a 1-D
// grid takes one point of it (the innermost parallel loop fastest, so that
// neighbouring threads touch neighbouring elements), and runs the reduction
// loops of that point as scf.for loops with the outputs' values carried in
// registers. An op whose threads could touch the same memory (an input that
// views an output's buffer other than as that very operand through the same
// map, or an output map that is not a projected permutation of every
// parallel loop) runs whole on a single thread, in its sequential order.
//
//===----------------------------------------------------------------------===//

#include "ssm/Conversion/Passes.h"

#include "mlir/Dialect/Affine/Utils.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMLINALGTOGPU
#include "ssm/Conversion/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;

static Value rootOf(Value v) {
  while (auto view = v.getDefiningOp<ViewLikeOpInterface>())
    v = view.getViewSource();
  return v;
}

/// Whether the points of `op`'s parallel loops touch disjoint output
/// elements and read no output element another point writes.
static bool pointsAreIndependent(linalg::GenericOp op) {
  unsigned numLoops = op.getNumLoops();
  SmallVector<utils::IteratorType> iters = op.getIteratorTypesArray();
  for (OpOperand &init : op.getDpsInitsMutable()) {
    AffineMap map = op.getMatchingIndexingMap(&init);
    if (!map.isProjectedPermutation())
      return false;
    llvm::SmallBitVector used(numLoops);
    for (AffineExpr e : map.getResults())
      used.set(cast<AffineDimExpr>(e).getPosition());
    for (unsigned d = 0; d < numLoops; ++d) {
      bool parallel = iters[d] == utils::IteratorType::parallel;
      if (parallel != used.test(d))
        return false;
    }
  }
  for (OpOperand *input : op.getDpsInputOperands()) {
    if (!isa<MemRefType>(input->get().getType()))
      continue;
    Value root = rootOf(input->get());
    for (OpOperand &init : op.getDpsInitsMutable()) {
      if (rootOf(init.get()) != root)
        continue;
      if (input->get() != init.get() ||
          op.getMatchingIndexingMap(input) != op.getMatchingIndexingMap(&init))
        return false;
    }
  }
  return true;
}

/// Emits the body of `op` at the loop indices `ivs` (all loops), reading the
/// outputs' current values from `outs` and returning the yielded values.
/// `preloaded` gives the values of some inputs (by operand number) that the
/// caller has read already.
static SmallVector<Value>
emitPayload(OpBuilder &b, Location loc, linalg::GenericOp op, ValueRange ivs,
            ValueRange outs, const DenseMap<unsigned, Value> &preloaded = {}) {
  IRMapping map;
  Block *body = op.getBody();
  for (OpOperand *input : op.getDpsInputOperands()) {
    BlockArgument arg = body->getArgument(input->getOperandNumber());
    if (!isa<MemRefType>(input->get().getType())) {
      map.map(arg, input->get());
      continue;
    }
    if (arg.use_empty())
      continue;
    if (Value v = preloaded.lookup(input->getOperandNumber())) {
      map.map(arg, v);
      continue;
    }
    auto indices =
        affine::expandAffineMap(b, loc, op.getMatchingIndexingMap(input), ivs);
    map.map(arg, memref::LoadOp::create(b, loc, input->get(), *indices));
  }
  for (auto [k, v] : llvm::enumerate(outs))
    map.map(body->getArgument(op.getNumDpsInputs() + k), v);
  for (Operation &o : body->without_terminator()) {
    if (auto index = dyn_cast<linalg::IndexOp>(o)) {
      map.map(index.getResult(), ivs[index.getDim()]);
      continue;
    }
    b.clone(o, map);
  }
  SmallVector<Value> results;
  for (Value v : body->getTerminator()->getOperands())
    results.push_back(map.lookupOrDefault(v));
  return results;
}

static SmallVector<Value> outputIndices(OpBuilder &b, Location loc,
                                        linalg::GenericOp op, unsigned k,
                                        ValueRange ivs) {
  OpOperand &init = op.getDpsInitsMutable()[k];
  return *affine::expandAffineMap(b, loc, op.getMatchingIndexingMap(&init),
                                  ivs);
}

/// Loads each output at `ivs`, or a placeholder where the payload never
/// reads it (a pure write).
static SmallVector<Value> loadOutputs(OpBuilder &b, Location loc,
                                      linalg::GenericOp op, ValueRange ivs) {
  SmallVector<Value> outs;
  Block *body = op.getBody();
  for (unsigned k = 0; k < op.getNumDpsInits(); ++k) {
    Value init = op.getDpsInits()[k];
    BlockArgument arg = body->getArgument(op.getNumDpsInputs() + k);
    if (arg.use_empty() && op.getIteratorTypesArray().end() ==
                               llvm::find(op.getIteratorTypesArray(),
                                          utils::IteratorType::reduction)) {
      outs.push_back(ub::PoisonOp::create(b, loc, arg.getType()));
      continue;
    }
    outs.push_back(memref::LoadOp::create(b, loc, init,
                                          outputIndices(b, loc, op, k, ivs)));
  }
  return outs;
}

/// Runs the loops `dims` of `op` (in order, outermost first) as scf.for
/// loops around the payload at `ivs` (filled in as the loops are made). With
/// `carry` (`dims` are the reductions of independent points) the outputs'
/// values are loaded before the loops, carried through them and stored
/// after; otherwise every iteration loads and stores its own elements, in
/// the op's sequential order.
static void emitLoops(OpBuilder &b, Location loc, linalg::GenericOp op,
                      ArrayRef<unsigned> dims, ArrayRef<Value> sizes,
                      SmallVectorImpl<Value> &ivs, bool carry) {
  if (carry) {
    SmallVector<Value> init = loadOutputs(b, loc, op, ivs);
    std::function<SmallVector<Value>(unsigned, ValueRange)> nest =
        [&](unsigned i, ValueRange acc) -> SmallVector<Value> {
      if (i == dims.size())
        return emitPayload(b, loc, op, ivs, acc);
      Value zero = arith::ConstantIndexOp::create(b, loc, 0);
      Value one = arith::ConstantIndexOp::create(b, loc, 1);
      auto loop = scf::ForOp::create(b, loc, zero, sizes[dims[i]], one, acc);
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(loop.getBody());
      ivs[dims[i]] = loop.getInductionVar();
      SmallVector<Value> inner = nest(i + 1, loop.getRegionIterArgs());
      scf::YieldOp::create(b, loc, inner);
      return SmallVector<Value>(loop.getResults());
    };
    SmallVector<Value> results = nest(0, init);
    for (auto [k, v] : llvm::enumerate(results))
      memref::StoreOp::create(b, loc, v, op.getDpsInits()[k],
                              outputIndices(b, loc, op, k, ivs));
    return;
  }
  // Sequential: every loop in order, each point loading and storing.
  std::function<void(unsigned)> nest = [&](unsigned i) {
    if (i == dims.size()) {
      SmallVector<Value> outs;
      for (unsigned k = 0; k < op.getNumDpsInits(); ++k)
        outs.push_back(memref::LoadOp::create(
            b, loc, op.getDpsInits()[k], outputIndices(b, loc, op, k, ivs)));
      SmallVector<Value> results = emitPayload(b, loc, op, ivs, outs);
      for (auto [k, v] : llvm::enumerate(results))
        memref::StoreOp::create(b, loc, v, op.getDpsInits()[k],
                                outputIndices(b, loc, op, k, ivs));
      return;
    }
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    auto loop = scf::ForOp::create(b, loc, zero, sizes[dims[i]], one);
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(loop.getBody());
    ivs[dims[i]] = loop.getInductionVar();
    nest(i + 1);
  };
  nest(0);
}

//===----------------------------------------------------------------------===//
// Tiled reductions
//===----------------------------------------------------------------------===//

namespace {
/// A reduction whose inputs are read again by neighbouring points (a matrix
/// product and its relatives): a block of kTile x kTile threads computes a
/// tile of two parallel loops (x, the output's innermost, and y), and steps
/// through the reduction loop k in slices of kTile, each input that varies
/// with k and with only one of x and y staged in shared memory once per
/// slice for the whole block.
struct TiledPlan {
  unsigned x, y, k;
  struct Staged {
    unsigned operand; // operand number of the input
    int along;        // the parallel loop it varies with: x, y, or -1 (none)
    bool kInner;      // its innermost dimension is k (load along k)
  };
  SmallVector<Staged> staged;
  SmallVector<unsigned> others; // the remaining parallel loops
};
} // namespace

static constexpr int64_t kTile = 16;

/// The loops `map` uses.
static llvm::SmallBitVector loopsOf(AffineMap map, unsigned numLoops) {
  llvm::SmallBitVector used(numLoops);
  for (AffineExpr e : map.getResults())
    e.walk([&](AffineExpr d) {
      if (auto dim = dyn_cast<AffineDimExpr>(d))
        used.set(dim.getPosition());
    });
  return used;
}

static std::optional<TiledPlan> planTiled(linalg::GenericOp op) {
  unsigned numLoops = op.getNumLoops();
  SmallVector<utils::IteratorType> iters = op.getIteratorTypesArray();
  SmallVector<unsigned> parallel, reduction;
  for (unsigned d = 0; d < numLoops; ++d)
    (iters[d] == utils::IteratorType::parallel ? parallel : reduction)
        .push_back(d);
  if (reduction.size() != 1 || parallel.size() < 2)
    return std::nullopt;
  TiledPlan plan;
  plan.k = reduction[0];
  AffineMap out = op.getMatchingIndexingMap(&op.getDpsInitsMutable()[0]);
  if (out.getNumResults() < 2)
    return std::nullopt;
  plan.x = cast<AffineDimExpr>(out.getResults().back()).getPosition();
  // y: of the loops that an input reads along k without x (the row
  // operand) uses, the one innermost in the output; else the output's
  // next-to-innermost loop.
  // Loops the column operands (read along k and x) also use are no good:
  // no reuse across them.
  llvm::SmallBitVector rows(numLoops), columns(numLoops);
  for (OpOperand *in : op.getDpsInputOperands()) {
    if (!isa<MemRefType>(in->get().getType()))
      continue;
    llvm::SmallBitVector used =
        loopsOf(op.getMatchingIndexingMap(in), numLoops);
    if (used.test(plan.k))
      (used.test(plan.x) ? columns : rows) |= used;
  }
  rows.reset(columns);
  plan.y = cast<AffineDimExpr>(out.getResults()[out.getNumResults() - 2])
               .getPosition();
  for (AffineExpr e : llvm::reverse(out.getResults().drop_back())) {
    unsigned d = cast<AffineDimExpr>(e).getPosition();
    if (rows.test(d)) {
      plan.y = d;
      break;
    }
  }
  for (unsigned d : parallel)
    if (d != plan.x && d != plan.y)
      plan.others.push_back(d);
  bool reused = false;
  for (OpOperand *in : op.getDpsInputOperands()) {
    if (!isa<MemRefType>(in->get().getType()) ||
        op.getBody()->getArgument(in->getOperandNumber()).use_empty())
      continue;
    AffineMap map = op.getMatchingIndexingMap(in);
    llvm::SmallBitVector used = loopsOf(map, numLoops);
    if (!used.test(plan.k) || (used.test(plan.x) && used.test(plan.y)))
      continue;
    TiledPlan::Staged s;
    s.operand = in->getOperandNumber();
    s.along = used.test(plan.x)   ? static_cast<int>(plan.x)
              : used.test(plan.y) ? static_cast<int>(plan.y)
                                  : -1;
    s.kInner =
        map.getResults().back() == getAffineDimExpr(plan.k, op.getContext());
    reused |= s.along >= 0;
    plan.staged.push_back(s);
  }
  if (!reused)
    return std::nullopt;
  return plan;
}

/// Emits the tiled kernel of `op` at the builder (host code); see TiledPlan.
static void emitTiled(OpBuilder &b, Location loc, linalg::GenericOp op,
                      const TiledPlan &plan, ArrayRef<Value> sizes,
                      StringRef module, StringRef name) {
  MLIRContext *ctx = b.getContext();
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
  Value tile = arith::ConstantIndexOp::create(b, loc, kTile);
  Value tilesX = arith::CeilDivUIOp::create(b, loc, sizes[plan.x], tile);
  Value tilesY = arith::CeilDivUIOp::create(b, loc, sizes[plan.y], tile);
  Value blocks = arith::MulIOp::create(b, loc, tilesX, tilesY);
  for (unsigned d : plan.others)
    blocks = arith::MulIOp::create(b, loc, blocks, sizes[d]);
  auto shared = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  SmallVector<Type> tileTypes;
  for (const TiledPlan::Staged &s : plan.staged) {
    Type elementType =
        cast<MemRefType>(op->getOperand(s.operand).getType()).getElementType();
    SmallVector<int64_t> shape = {kTile};
    if (s.along >= 0)
      shape.push_back(kTile + 1); // padded against bank conflicts
    tileTypes.push_back(MemRefType::get(shape, elementType,
                                        MemRefLayoutAttrInterface{}, shared));
  }
  auto launch = gpu::LaunchOp::create(
      b, loc, blocks, c1, c1, tile, tile, c1, nullptr, nullptr, {}, tileTypes,
      {}, nullptr, nullptr, nullptr, FlatSymbolRefAttr::get(ctx, module),
      FlatSymbolRefAttr::get(ctx, name));
  b.setInsertionPointToStart(&launch.getBody().front());
  ArrayRef<BlockArgument> tiles = launch.getWorkgroupAttributions();
  Value tx = launch.getThreadIds().x, ty = launch.getThreadIds().y;
  Value rest = launch.getBlockIds().x;
  Value bx = arith::RemUIOp::create(b, loc, rest, tilesX);
  rest = arith::DivUIOp::create(b, loc, rest, tilesX);
  Value by = arith::RemUIOp::create(b, loc, rest, tilesY);
  rest = arith::DivUIOp::create(b, loc, rest, tilesY);
  unsigned numLoops = op.getNumLoops();
  SmallVector<Value> ivs(numLoops, c0);
  for (unsigned d : llvm::reverse(plan.others)) {
    ivs[d] = arith::RemUIOp::create(b, loc, rest, sizes[d]);
    rest = arith::DivUIOp::create(b, loc, rest, sizes[d]);
  }
  Value x0 = arith::MulIOp::create(b, loc, bx, tile);
  Value y0 = arith::MulIOp::create(b, loc, by, tile);
  ivs[plan.x] = arith::AddIOp::create(b, loc, x0, tx);
  ivs[plan.y] = arith::AddIOp::create(b, loc, y0, ty);
  auto ult = [&](Value a, Value c) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, a, c);
  };
  Value inRange = arith::AndIOp::create(b, loc, ult(ivs[plan.x], sizes[plan.x]),
                                        ult(ivs[plan.y], sizes[plan.y]));

  // The outputs' initial values (placeholders outside the op's range).
  SmallVector<Type> accTypes;
  for (Value init : op.getDpsInits())
    accTypes.push_back(cast<MemRefType>(init.getType()).getElementType());
  auto initIf = scf::IfOp::create(b, loc, accTypes, inRange, true);
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(initIf.thenBlock());
    scf::YieldOp::create(b, loc, loadOutputs(b, loc, op, ivs));
    b.setInsertionPointToStart(initIf.elseBlock());
    SmallVector<Value> poison;
    for (Type t : accTypes)
      poison.push_back(ub::PoisonOp::create(b, loc, t));
    scf::YieldOp::create(b, loc, poison);
  }

  Value size = sizes[plan.k];
  Value slices = arith::CeilDivUIOp::create(b, loc, size, tile);
  auto sliceLoop =
      scf::ForOp::create(b, loc, c0, slices, c1, initIf.getResults());
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(sliceLoop.getBody());
    Value k0 = arith::MulIOp::create(b, loc, sliceLoop.getInductionVar(), tile);
    // Stage the slice: each thread loads at most one element of each tile.
    for (auto [s, t] : llvm::zip(plan.staged, tiles)) {
      // Along k with the x thread index when k is the input's innermost
      // dimension (neighbouring threads read neighbouring elements).
      Value kk = s.kInner || s.along < 0 ? tx : ty;
      Value uu = s.kInner || s.along < 0 ? ty : tx;
      SmallVector<Value> at(ivs);
      at[plan.k] = arith::AddIOp::create(b, loc, k0, kk);
      Value valid = ult(at[plan.k], size);
      if (s.along >= 0) {
        Value u0 = static_cast<unsigned>(s.along) == plan.x ? x0 : y0;
        at[s.along] = arith::AddIOp::create(b, loc, u0, uu);
        valid = arith::AndIOp::create(b, loc, valid,
                                      ult(at[s.along], sizes[s.along]));
      } else {
        // One row of threads loads the k-only slice.
        valid = arith::AndIOp::create(
            b, loc, valid,
            arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, uu, c0));
      }
      auto load = scf::IfOp::create(b, loc, valid, false);
      OpBuilder::InsertionGuard g2(b);
      b.setInsertionPointToStart(load.thenBlock());
      OpOperand &operand = op->getOpOperand(s.operand);
      auto indices = affine::expandAffineMap(
          b, loc, op.getMatchingIndexingMap(&operand), at);
      Value v = memref::LoadOp::create(b, loc, operand.get(), *indices);
      SmallVector<Value> tileIdx = {kk};
      if (s.along >= 0)
        tileIdx.push_back(uu);
      memref::StoreOp::create(b, loc, v, t, tileIdx);
    }
    gpu::BarrierOp::create(b, loc);
    Value remaining = arith::SubIOp::create(b, loc, size, k0);
    Value count = arith::MinUIOp::create(b, loc, remaining, tile);
    auto compute = scf::IfOp::create(b, loc, accTypes, inRange, true);
    {
      OpBuilder::InsertionGuard g2(b);
      b.setInsertionPointToStart(compute.thenBlock());
      auto inner = scf::ForOp::create(b, loc, c0, count, c1,
                                      sliceLoop.getRegionIterArgs());
      {
        OpBuilder::InsertionGuard g3(b);
        b.setInsertionPointToStart(inner.getBody());
        Value kk = inner.getInductionVar();
        SmallVector<Value> at(ivs);
        at[plan.k] = arith::AddIOp::create(b, loc, k0, kk);
        DenseMap<unsigned, Value> preloaded;
        for (auto [s, t] : llvm::zip(plan.staged, tiles)) {
          SmallVector<Value> tileIdx = {kk};
          if (s.along >= 0)
            tileIdx.push_back(static_cast<unsigned>(s.along) == plan.x ? tx
                                                                       : ty);
          preloaded[s.operand] = memref::LoadOp::create(b, loc, t, tileIdx);
        }
        scf::YieldOp::create(
            b, loc,
            emitPayload(b, loc, op, at, inner.getRegionIterArgs(), preloaded));
      }
      scf::YieldOp::create(b, loc, inner.getResults());
      b.setInsertionPointToStart(compute.elseBlock());
      scf::YieldOp::create(b, loc, sliceLoop.getRegionIterArgs());
    }
    gpu::BarrierOp::create(b, loc);
    scf::YieldOp::create(b, loc, compute.getResults());
  }
  auto store = scf::IfOp::create(b, loc, inRange, false);
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(store.thenBlock());
    for (auto [k, v] : llvm::enumerate(sliceLoop.getResults()))
      memref::StoreOp::create(b, loc, v, op.getDpsInits()[k],
                              outputIndices(b, loc, op, k, ivs));
  }
  gpu::TerminatorOp::create(b, loc);
}

namespace {
struct SSMLinalgToGPU : mlir::ssm::impl::SSMLinalgToGPUBase<SSMLinalgToGPU> {
  using Base::Base;

  LogicalResult convert(linalg::GenericOp op, unsigned &counter) {
    if (!op.hasPureBufferSemantics())
      return op.emitOpError("ssm-linalg-to-gpu needs linalg on buffers "
                            "(run bufferization first)");
    Location loc = op.getLoc();
    OpBuilder b(op);
    unsigned numLoops = op.getNumLoops();
    SmallVector<Value> sizes;
    for (Range r :
         cast<linalg::LinalgOp>(op.getOperation()).createLoopRanges(b, loc))
      sizes.push_back(getValueOrCreateConstantIndexOp(b, loc, r.size));
    SmallVector<utils::IteratorType> iters = op.getIteratorTypesArray();
    bool independent = pointsAreIndependent(op);
    SmallVector<unsigned> parallelDims, reductionDims, allDims;
    for (unsigned d = 0; d < numLoops; ++d) {
      allDims.push_back(d);
      (iters[d] == utils::IteratorType::parallel ? parallelDims : reductionDims)
          .push_back(d);
    }
    if (!independent)
      parallelDims.clear();

    // A tiled kernel where the two tiled loops fill a tile, else (decode
    // shapes: a loop of one or a few) the one-thread-per-point kernel.
    std::optional<TiledPlan> plan;
    if (independent)
      plan = planTiled(op);
    if (plan) {
      Value tile = arith::ConstantIndexOp::create(b, loc, kTile);
      auto uge = [&](Value a, Value c) {
        return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, a, c);
      };
      Value big = arith::AndIOp::create(b, loc, uge(sizes[plan->x], tile),
                                        uge(sizes[plan->y], tile));
      Value others = arith::ConstantIndexOp::create(b, loc, 1);
      for (unsigned d : plan->others)
        others = arith::MulIOp::create(b, loc, others, sizes[d]);
      big = arith::AndIOp::create(
          b, loc, big,
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt, others,
                                arith::ConstantIndexOp::create(b, loc, 0)));
      auto branch = scf::IfOp::create(b, loc, big, /*withElseRegion=*/true);
      b.setInsertionPointToStart(branch.thenBlock());
      emitTiled(b, loc, op, *plan, sizes, kernelPrefix + "module",
                kernelPrefix + std::to_string(counter++));
      b.setInsertionPointToStart(branch.elseBlock());
    }

    // Points of the grid: the product of the parallel loops' sizes.
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    Value points = one;
    for (unsigned d : parallelDims)
      points = arith::MulIOp::create(b, loc, points, sizes[d]);
    Value threads = arith::ConstantIndexOp::create(
        b, loc, parallelDims.empty() ? 1 : blockSize.getValue());
    Value blocks = arith::CeilDivUIOp::create(b, loc, points, threads);
    // An empty range launches nothing (a grid of 0 blocks is an error).
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value any =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt, points, zero);
    auto guard = scf::IfOp::create(b, loc, any, /*withElseRegion=*/false);
    b.setInsertionPointToStart(guard.thenBlock());
    // All kernels go to one gpu.module (one device binary per model).
    std::string name = kernelPrefix + std::to_string(counter++);
    auto launch = gpu::LaunchOp::create(
        b, loc, blocks, one, one, threads, one, one, nullptr, nullptr, {}, {},
        {}, nullptr, nullptr, nullptr,
        FlatSymbolRefAttr::get(b.getContext(), kernelPrefix + "module"),
        FlatSymbolRefAttr::get(b.getContext(), name));
    b.setInsertionPointToStart(&launch.getBody().front());
    SmallVector<Value> ivs(numLoops);
    if (parallelDims.empty()) {
      emitLoops(b, loc, op,
                independent ? ArrayRef<unsigned>(reductionDims)
                            : ArrayRef<unsigned>(allDims),
                sizes, ivs, independent);
    } else {
      gpu::KernelDim3 blockId = launch.getBlockIds();
      gpu::KernelDim3 threadId = launch.getThreadIds();
      Value id = arith::AddIOp::create(
          b, loc, arith::MulIOp::create(b, loc, blockId.x, threads),
          threadId.x);
      Value inRange =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, id, points);
      auto inside = scf::IfOp::create(b, loc, inRange, false);
      b.setInsertionPointToStart(inside.thenBlock());
      Value rest = id;
      for (unsigned d : llvm::reverse(parallelDims)) {
        ivs[d] = arith::RemUIOp::create(b, loc, rest, sizes[d]);
        rest = arith::DivUIOp::create(b, loc, rest, sizes[d]);
      }
      emitLoops(b, loc, op, reductionDims, sizes, ivs, /*carry=*/true);
      b.setInsertionPointAfter(inside);
    }
    gpu::TerminatorOp::create(b, loc);
    op.erase();
    return success();
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    // Named ops must have been generalized (linalg-generalize-named-ops).
    SmallVector<linalg::LinalgOp> ops;
    WalkResult named = module.walk([&](Operation *o) {
      if (isa<gpu::GPUModuleOp>(o))
        return WalkResult::skip();
      if (isa<gpu::LaunchOp>(o))
        return WalkResult::skip();
      if (auto l = dyn_cast<linalg::LinalgOp>(o)) {
        if (!isa<linalg::GenericOp>(o)) {
          o->emitOpError("is not a linalg.generic: run "
                         "linalg-generalize-named-ops before "
                         "ssm-linalg-to-gpu");
          return WalkResult::interrupt();
        }
        ops.push_back(l);
      }
      return WalkResult::advance();
    });
    if (named.wasInterrupted())
      return signalPassFailure();
    unsigned counter = 0;
    for (linalg::LinalgOp op : ops)
      if (failed(convert(cast<linalg::GenericOp>(op.getOperation()), counter)))
        return signalPassFailure();
  }
};
} // namespace
