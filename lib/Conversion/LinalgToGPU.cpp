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
// registers. Contractions whose tiles fill up run as shared-memory tiled
// kernels, and reductions of few points with many terms as one block per
// point (BlockReductionPlan). An op whose threads could touch the same memory
// (an input that views an output's buffer other than as that very operand
// through the same map, or an output map that is not a projected permutation of
// every parallel loop) runs whole on a single thread, in its sequential order.
//
//===----------------------------------------------------------------------===//

#include "ssm/Conversion/Passes.h"

#include "GPUKernels.h"

#include "mlir/Dialect/Affine/Utils.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/ADT/TypeSwitch.h"

#include <limits>

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
static SmallVector<Value> emitPayload(
    OpBuilder &b, Location loc, linalg::GenericOp op, ValueRange ivs,
    ValueRange outs,
    const DenseMap<unsigned, Value> &preloaded = DenseMap<unsigned, Value>()) {
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
// Block reductions
//===----------------------------------------------------------------------===//

namespace {
/// A reduction of few points and many terms (a norm's or softmax's rows at a
/// decode step, a matrix-vector product, a full reduction such as a loss):
/// one block per point, whose threads take the terms in turn (thread t the
/// terms t, t + T, ...; the innermost reduction loop fastest, so that
/// neighbouring threads read neighbouring elements), each combining its
/// terms from the combiner's identity; the block then combines the threads'
/// partial values in workgroup memory (a tree of halving steps) and thread 0
/// combines the result into the output. Applies when every output's yielded
/// value is `combiner(output, term)` with a term that reads no output, for a
/// commutative and associative combiner (integer add, min, max; float add,
/// min, max: float sums are then taken in another order than the
/// sequential one).
struct BlockReductionPlan {
  SmallVector<Operation *> combiners; // per output
  SmallVector<TypedAttr> identities;  // per output
  /// Per output, the subgroup reduction that computes its combiner exactly
  /// (integer adds, min and max; float adds), when every output has one.
  std::optional<SmallVector<gpu::AllReduceOperation>> subgroupKinds;
};
} // namespace

/// Reductions of at most this many points may take the block reduction...
static constexpr int64_t kBlockReductionMaxPoints = 16384;
/// ... when they have at least this many terms per point.
static constexpr int64_t kBlockReductionMinTerms = 256;

static std::optional<BlockReductionPlan>
planBlockReduction(linalg::GenericOp op, int64_t threads) {
  if (threads < 2 || !llvm::isPowerOf2_64(threads) ||
      op.getNumReductionLoops() == 0)
    return std::nullopt;
  Block *body = op.getBody();
  Operation *yield = body->getTerminator();
  unsigned numInputs = op.getNumDpsInputs();
  // Each running value has one use, its combiner, whose result only the
  // yield uses: no other op reads a running value, so a term that is not a
  // running value itself reads none.
  BlockReductionPlan plan;
  for (unsigned k = 0; k < op.getNumDpsInits(); ++k) {
    BlockArgument acc = body->getArgument(numInputs + k);
    if (!acc.hasOneUse())
      return std::nullopt;
    Operation *c = *acc.getUsers().begin();
    if (c->getNumOperands() != 2 || c->getNumResults() != 1 ||
        !c->getResult(0).hasOneUse() || yield->getOperand(k) != c->getResult(0))
      return std::nullopt;
    Value term = c->getOperand(0) == acc ? c->getOperand(1) : c->getOperand(0);
    if (term == acc ||
        isa<BlockArgument>(term) &&
            cast<BlockArgument>(term).getArgNumber() >= numInputs)
      return std::nullopt;
    // Integer adds that assume no overflow: the terms regrouped could
    // overflow where the sequential sum does not.
    if (auto add = dyn_cast<arith::AddIOp>(c);
        add && add.getOverflowFlags() != arith::IntegerOverflowFlags::none)
      return std::nullopt;
    Type type = acc.getType();
    if (!(type.isF32() || type.isF64() || type.isInteger(32) ||
          type.isInteger(64)))
      return std::nullopt;
    auto fl = [&](double v) -> TypedAttr { return FloatAttr::get(type, v); };
    auto in = [&](const APInt &v) -> TypedAttr {
      return IntegerAttr::get(type, v);
    };
    unsigned width = type.getIntOrFloatBitWidth();
    double inf = std::numeric_limits<double>::infinity();
    TypedAttr identity =
        llvm::TypeSwitch<Operation *, TypedAttr>(c)
            .Case([&](arith::AddFOp) { return fl(-0.0); })
            .Case([&](arith::AddIOp) { return in(APInt::getZero(width)); })
            .Case<arith::MaximumFOp, arith::MaxNumFOp>(
                [&](Operation *) { return fl(-inf); })
            .Case<arith::MinimumFOp, arith::MinNumFOp>(
                [&](Operation *) { return fl(inf); })
            .Case([&](arith::MaxSIOp) {
              return in(APInt::getSignedMinValue(width));
            })
            .Case([&](arith::MinSIOp) {
              return in(APInt::getSignedMaxValue(width));
            })
            .Case([&](arith::MaxUIOp) { return in(APInt::getZero(width)); })
            .Case([&](arith::MinUIOp) { return in(APInt::getAllOnes(width)); })
            .Default([](Operation *) { return TypedAttr(); });
    if (!identity)
      return std::nullopt;
    plan.combiners.push_back(c);
    plan.identities.push_back(identity);
  }
  // Float min and max stay with the tree: the subgroup operations leave
  // their result for NaN operands undefined. So do 64-bit integers, whose
  // subgroup operations need a device feature (shaderSubgroupExtendedTypes)
  // that the Vulkan runtime does not enable.
  SmallVector<gpu::AllReduceOperation> kinds;
  for (Operation *c : plan.combiners) {
    if (c->getResult(0).getType().isInteger(64))
      return plan;
    std::optional<gpu::AllReduceOperation> kind =
        llvm::TypeSwitch<Operation *, std::optional<gpu::AllReduceOperation>>(c)
            .Case<arith::AddFOp, arith::AddIOp>(
                [](Operation *) { return gpu::AllReduceOperation::ADD; })
            .Case([](arith::MaxSIOp) { return gpu::AllReduceOperation::MAXSI; })
            .Case([](arith::MinSIOp) { return gpu::AllReduceOperation::MINSI; })
            .Case([](arith::MaxUIOp) { return gpu::AllReduceOperation::MAXUI; })
            .Case([](arith::MinUIOp) { return gpu::AllReduceOperation::MINUI; })
            .Default([](Operation *) { return std::nullopt; });
    if (!kind)
      return plan;
    kinds.push_back(*kind);
  }
  plan.subgroupKinds = std::move(kinds);
  return plan;
}

/// `combiner` (a two-operand op of the payload) applied to `x` and `y`.
static Value combine(OpBuilder &b, Operation *combiner, Value x, Value y) {
  IRMapping map;
  map.map(combiner->getOperand(0), x);
  map.map(combiner->getOperand(1), y);
  return b.clone(*combiner, map)->getResult(0);
}

/// Emits the block-reduction kernel of `op` at the builder (host code) for
/// `points` points of the parallel loops `parallelDims`; see
/// BlockReductionPlan. With `subgroups` (the plan has subgroup kinds), each
/// subgroup combines its threads' values with gpu.subgroup_reduce, and
/// thread 0 combines the subgroups' values, instead of the halving tree.
static void emitBlockReduction(OpBuilder &b, Location loc, linalg::GenericOp op,
                               const BlockReductionPlan &plan,
                               ArrayRef<unsigned> parallelDims,
                               ArrayRef<unsigned> reductionDims,
                               ArrayRef<Value> sizes, Value points,
                               int64_t threads, StringRef module,
                               StringRef name, bool subgroups) {
  MLIRContext *ctx = b.getContext();
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
  Value threadsV = arith::ConstantIndexOp::create(b, loc, threads);
  Value terms = c1;
  for (unsigned d : reductionDims)
    terms = arith::MulIOp::create(b, loc, terms, sizes[d]);
  auto any =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt, points, c0);
  auto guard = scf::IfOp::create(b, loc, any, /*withElseRegion=*/false);
  OpBuilder::InsertionGuard g(b);
  b.setInsertionPointToStart(guard.thenBlock());
  auto shared = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  SmallVector<Type> partialTypes;
  for (Value init : op.getDpsInits())
    partialTypes.push_back(MemRefType::get(
        {threads}, cast<MemRefType>(init.getType()).getElementType(),
        MemRefLayoutAttrInterface{}, shared));
  auto launch = gpu::LaunchOp::create(
      b, loc, points, c1, c1, threadsV, c1, c1, nullptr, nullptr, {},
      partialTypes, {}, nullptr, nullptr, nullptr,
      FlatSymbolRefAttr::get(ctx, module), FlatSymbolRefAttr::get(ctx, name));
  b.setInsertionPointToStart(&launch.getBody().front());
  ArrayRef<BlockArgument> partials = launch.getWorkgroupAttributions();
  Value tid = launch.getThreadIds().x;
  unsigned numLoops = op.getNumLoops();
  SmallVector<Value> ivs(numLoops);
  // Index `linear` (below the product of `dims`' sizes) split into `dims`,
  // the last fastest.
  auto split = [&](Value linear, ArrayRef<unsigned> dims) {
    for (unsigned i = dims.size(); i-- > 1;) {
      ivs[dims[i]] = arith::RemUIOp::create(b, loc, linear, sizes[dims[i]]);
      linear = arith::DivUIOp::create(b, loc, linear, sizes[dims[i]]);
    }
    if (!dims.empty())
      ivs[dims[0]] = linear;
  };
  split(launch.getBlockIds().x, parallelDims);
  auto identities = [&] {
    SmallVector<Value> values;
    for (TypedAttr identity : plan.identities)
      values.push_back(arith::ConstantOp::create(b, loc, identity));
    return values;
  };
  // Combines each output's total into it (thread 0).
  auto storeTotals = [&](ValueRange totals) {
    for (unsigned d : reductionDims)
      ivs[d] = c0; // unused by the outputs' maps
    for (auto [k, c, total] : llvm::enumerate(plan.combiners, totals)) {
      SmallVector<Value> at = outputIndices(b, loc, op, k, ivs);
      Value old = memref::LoadOp::create(b, loc, op.getDpsInits()[k], at);
      memref::StoreOp::create(b, loc, combine(b, c, old, total),
                              op.getDpsInits()[k], at);
    }
  };
  // This thread's terms, combined from the identities.
  auto loop = scf::ForOp::create(b, loc, tid, terms, threadsV, identities());
  {
    OpBuilder::InsertionGuard inner(b);
    b.setInsertionPointToStart(loop.getBody());
    split(loop.getInductionVar(), reductionDims);
    scf::YieldOp::create(
        b, loc, emitPayload(b, loc, op, ivs, loop.getRegionIterArgs()));
  }
  if (subgroups) {
    // Lane 0 of each subgroup stores its subgroup's value at the subgroup's
    // index; thread 0 combines those in order.
    Value lane = gpu::LaneIdOp::create(b, loc, /*upperBound=*/nullptr);
    Value subgroup = gpu::SubgroupIdOp::create(b, loc, /*upperBound=*/nullptr);
    Value count = gpu::NumSubgroupsOp::create(b, loc, /*upperBound=*/nullptr);
    SmallVector<Value> reduced;
    for (auto [v, kind] : llvm::zip(loop.getResults(), *plan.subgroupKinds))
      reduced.push_back(gpu::SubgroupReduceOp::create(b, loc, v, kind,
                                                      /*uniform=*/false));
    Value leader =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, lane, c0);
    auto store = scf::IfOp::create(b, loc, leader, false);
    {
      OpBuilder::InsertionGuard inner(b);
      b.setInsertionPointToStart(store.thenBlock());
      for (auto [v, partial] : llvm::zip(reduced, partials))
        memref::StoreOp::create(b, loc, v, partial, subgroup);
    }
    gpu::BarrierOp::create(b, loc);
    Value first =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, tid, c0);
    auto last = scf::IfOp::create(b, loc, first, false);
    b.setInsertionPointToStart(last.thenBlock());
    auto gather = scf::ForOp::create(b, loc, c0, count, c1, identities());
    {
      OpBuilder::InsertionGuard inner(b);
      b.setInsertionPointToStart(gather.getBody());
      SmallVector<Value> next;
      for (auto [c, partial, acc] :
           llvm::zip(plan.combiners, partials, gather.getRegionIterArgs()))
        next.push_back(combine(
            b, c, acc,
            memref::LoadOp::create(b, loc, partial, gather.getInductionVar())));
      scf::YieldOp::create(b, loc, next);
    }
    storeTotals(gather.getResults());
    b.setInsertionPointToEnd(&launch.getBody().front());
    gpu::TerminatorOp::create(b, loc);
    return;
  }
  for (auto [v, partial] : llvm::zip(loop.getResults(), partials))
    memref::StoreOp::create(b, loc, v, partial, tid);
  gpu::BarrierOp::create(b, loc);
  // Halving steps: thread t < s combines the partials t and t + s.
  for (int64_t step = threads / 2; step >= 1; step /= 2) {
    Value stepV = arith::ConstantIndexOp::create(b, loc, step);
    Value active =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, tid, stepV);
    auto branch = scf::IfOp::create(b, loc, active, false);
    {
      OpBuilder::InsertionGuard inner(b);
      b.setInsertionPointToStart(branch.thenBlock());
      Value other = arith::AddIOp::create(b, loc, tid, stepV);
      for (auto [c, partial] : llvm::zip(plan.combiners, partials)) {
        Value x = memref::LoadOp::create(b, loc, partial, tid);
        Value y = memref::LoadOp::create(b, loc, partial, other);
        memref::StoreOp::create(b, loc, combine(b, c, x, y), partial, tid);
      }
    }
    gpu::BarrierOp::create(b, loc);
  }
  Value first =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, tid, c0);
  auto last = scf::IfOp::create(b, loc, first, false);
  b.setInsertionPointToStart(last.thenBlock());
  SmallVector<Value> totals;
  for (Value partial : partials)
    totals.push_back(memref::LoadOp::create(b, loc, partial, c0));
  storeTotals(totals);
  b.setInsertionPointToEnd(&launch.getBody().front());
  gpu::TerminatorOp::create(b, loc);
}

//===----------------------------------------------------------------------===//
// Tiled reductions
//===----------------------------------------------------------------------===//

namespace {
/// A reduction whose inputs are read again by neighbouring points (a matrix
/// product and its relatives): a block of kTile x kTile threads computes a
/// tile of two parallel loops (x, the output's innermost, and y; kTile *
/// kReg points in each), and steps
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
/// Points per thread in each of x and y.
static constexpr int64_t kReg = 4;

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
/// Thread (tx, ty) of a block computes the kReg x kReg points x = x0 + tx +
/// kTile * j, y = y0 + ty + kTile * i of the block's tile (kTile * kReg
/// wide in x and y), their values carried in registers through the
/// reduction. Points past the end compute on clamped indices (every read
/// stays in bounds) and are not stored.
static void emitTiled(OpBuilder &b, Location loc, linalg::GenericOp op,
                      const TiledPlan &plan, ArrayRef<Value> sizes,
                      StringRef module, StringRef name) {
  MLIRContext *ctx = b.getContext();
  constexpr int64_t span = kTile * kReg;
  constexpr int64_t threads = kTile * kTile;
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
  Value tile = arith::ConstantIndexOp::create(b, loc, kTile);
  Value spanV = arith::ConstantIndexOp::create(b, loc, span);
  Value tilesX = arith::CeilDivUIOp::create(b, loc, sizes[plan.x], spanV);
  Value tilesY = arith::CeilDivUIOp::create(b, loc, sizes[plan.y], spanV);
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
      shape.push_back(span + 1); // padded against bank conflicts
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
  Value tid = arith::AddIOp::create(
      b, loc, arith::MulIOp::create(b, loc, ty, tile), tx);
  Value rest = launch.getBlockIds().x;
  Value bx = arith::RemUIOp::create(b, loc, rest, tilesX);
  rest = arith::DivUIOp::create(b, loc, rest, tilesX);
  Value by = arith::RemUIOp::create(b, loc, rest, tilesY);
  rest = arith::DivUIOp::create(b, loc, rest, tilesY);
  unsigned numLoops = op.getNumLoops();
  SmallVector<Value> base(numLoops, c0);
  for (unsigned d : llvm::reverse(plan.others)) {
    base[d] = arith::RemUIOp::create(b, loc, rest, sizes[d]);
    rest = arith::DivUIOp::create(b, loc, rest, sizes[d]);
  }
  Value x0 = arith::MulIOp::create(b, loc, bx, spanV);
  Value y0 = arith::MulIOp::create(b, loc, by, spanV);
  base[plan.x] = x0;
  base[plan.y] = y0;
  auto ult = [&](Value a, Value c) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, a, c);
  };
  auto index = [&](int64_t v) {
    return arith::ConstantIndexOp::create(b, loc, v);
  };

  // The points of this thread: their loop indices (clamped), whether they
  // are inside the op's range, and their offsets in the tiles.
  Value lastX = arith::SubIOp::create(b, loc, sizes[plan.x], c1);
  Value lastY = arith::SubIOp::create(b, loc, sizes[plan.y], c1);
  SmallVector<Value> xs, ys, xin, yin, xoff, yoff;
  for (int64_t r = 0; r < kReg; ++r) {
    Value ox = arith::AddIOp::create(b, loc, tx, index(kTile * r));
    Value oy = arith::AddIOp::create(b, loc, ty, index(kTile * r));
    Value x = arith::AddIOp::create(b, loc, x0, ox);
    Value y = arith::AddIOp::create(b, loc, y0, oy);
    xoff.push_back(ox);
    yoff.push_back(oy);
    xin.push_back(ult(x, sizes[plan.x]));
    yin.push_back(ult(y, sizes[plan.y]));
    xs.push_back(arith::MinUIOp::create(b, loc, x, lastX));
    ys.push_back(arith::MinUIOp::create(b, loc, y, lastY));
  }
  auto pointIvs = [&](int64_t i, int64_t j) {
    SmallVector<Value> ivs(base);
    ivs[plan.x] = xs[j];
    ivs[plan.y] = ys[i];
    return ivs;
  };

  unsigned numOutputs = op.getNumDpsInits();
  SmallVector<Value> init;
  for (int64_t i = 0; i < kReg; ++i)
    for (int64_t j = 0; j < kReg; ++j)
      llvm::append_range(init, loadOutputs(b, loc, op, pointIvs(i, j)));

  Value size = sizes[plan.k];
  Value slices = arith::CeilDivUIOp::create(b, loc, size, tile);
  auto sliceLoop = scf::ForOp::create(b, loc, c0, slices, c1, init);
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(sliceLoop.getBody());
    Value k0 = arith::MulIOp::create(b, loc, sliceLoop.getInductionVar(), tile);
    // Stage the slice: kTile x span elements of each tile, spread over the
    // block's threads, neighbouring threads on neighbouring elements of the
    // input's innermost dimension.
    for (auto [s, t] : llvm::zip(plan.staged, tiles)) {
      int64_t elements = s.along >= 0 ? kTile * span : kTile;
      for (int64_t r = 0; r * threads < elements; ++r) {
        Value linear = arith::AddIOp::create(b, loc, tid, index(threads * r));
        Value kk, uu;
        if (s.along < 0) {
          kk = linear;
          uu = c0;
        } else if (s.kInner) {
          kk = arith::RemUIOp::create(b, loc, linear, tile);
          uu = arith::DivUIOp::create(b, loc, linear, tile);
        } else {
          kk = arith::DivUIOp::create(b, loc, linear, spanV);
          uu = arith::RemUIOp::create(b, loc, linear, spanV);
        }
        SmallVector<Value> at(base);
        at[plan.k] = arith::AddIOp::create(b, loc, k0, kk);
        Value valid = ult(at[plan.k], size);
        if (s.along >= 0) {
          at[s.along] = arith::AddIOp::create(b, loc, base[s.along], uu);
          valid = arith::AndIOp::create(b, loc, valid,
                                        ult(at[s.along], sizes[s.along]));
        } else if (elements < threads) {
          valid = arith::AndIOp::create(b, loc, valid, ult(linear, tile));
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
    }
    gpu::BarrierOp::create(b, loc);
    Value remaining = arith::SubIOp::create(b, loc, size, k0);
    Value count = arith::MinUIOp::create(b, loc, remaining, tile);
    auto inner = scf::ForOp::create(b, loc, c0, count, c1,
                                    sliceLoop.getRegionIterArgs());
    {
      OpBuilder::InsertionGuard g2(b);
      b.setInsertionPointToStart(inner.getBody());
      Value kk = inner.getInductionVar();
      Value k = arith::AddIOp::create(b, loc, k0, kk);
      // This step's staged values: per row i, per column j, or shared.
      SmallVector<DenseMap<unsigned, Value>> rowVals(kReg), colVals(kReg);
      DenseMap<unsigned, Value> common;
      for (auto [s, t] : llvm::zip(plan.staged, tiles)) {
        if (s.along < 0) {
          common[s.operand] = memref::LoadOp::create(b, loc, t, kk);
          continue;
        }
        bool alongX = static_cast<unsigned>(s.along) == plan.x;
        for (int64_t r = 0; r < kReg; ++r) {
          Value v = memref::LoadOp::create(
              b, loc, t, ValueRange{kk, alongX ? xoff[r] : yoff[r]});
          (alongX ? colVals : rowVals)[r][s.operand] = v;
        }
      }
      ValueRange acc = inner.getRegionIterArgs();
      SmallVector<Value> next;
      for (int64_t i = 0; i < kReg; ++i)
        for (int64_t j = 0; j < kReg; ++j) {
          SmallVector<Value> ivs = pointIvs(i, j);
          ivs[plan.k] = k;
          DenseMap<unsigned, Value> preloaded(common);
          for (auto [operand, v] : rowVals[i])
            preloaded[operand] = v;
          for (auto [operand, v] : colVals[j])
            preloaded[operand] = v;
          unsigned at = (i * kReg + j) * numOutputs;
          llvm::append_range(next,
                             emitPayload(b, loc, op, ivs,
                                         acc.slice(at, numOutputs), preloaded));
        }
      scf::YieldOp::create(b, loc, next);
    }
    gpu::BarrierOp::create(b, loc);
    scf::YieldOp::create(b, loc, inner.getResults());
  }
  for (int64_t i = 0; i < kReg; ++i)
    for (int64_t j = 0; j < kReg; ++j) {
      Value inside = arith::AndIOp::create(b, loc, xin[j], yin[i]);
      auto store = scf::IfOp::create(b, loc, inside, false);
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(store.thenBlock());
      SmallVector<Value> ivs = pointIvs(i, j);
      unsigned at = (i * kReg + j) * numOutputs;
      for (unsigned k = 0; k < numOutputs; ++k)
        memref::StoreOp::create(b, loc, sliceLoop.getResult(at + k),
                                op.getDpsInits()[k],
                                outputIndices(b, loc, op, k, ivs));
    }
  gpu::TerminatorOp::create(b, loc);
}

//===----------------------------------------------------------------------===//
// Host loop nests
//===----------------------------------------------------------------------===//

/// Whether `op` may run in a kernel as part of a host loop nest: loops and
/// branches, scalar loads and stores, and side-effect-free scalar ops.
static bool isKernelScalarOp(Operation *op) {
  if (isa<scf::ForOp, scf::IfOp, scf::YieldOp, memref::LoadOp, memref::StoreOp>(
          op))
    return true;
  if (op->getNumRegions() != 0 || !isMemoryEffectFree(op))
    return false;
  return llvm::all_of(op->getResultTypes(),
                      [](Type t) { return t.isIntOrIndexOrFloat(); });
}

/// The loops of the perfect nest rooted at `root` (outermost first): each
/// loop's body holds only the next loop (and the terminator).
static SmallVector<scf::ForOp> perfectNest(scf::ForOp root) {
  SmallVector<scf::ForOp> loops = {root};
  while (true) {
    Block *body = loops.back().getBody();
    if (!llvm::hasSingleElement(body->without_terminator()))
      break;
    auto inner = dyn_cast<scf::ForOp>(&body->front());
    if (!inner || inner.getNumResults() != 0)
      break;
    loops.push_back(inner);
  }
  return loops;
}

/// The loops of `loops` whose iterations may run on different threads: a
/// loop's induction variable is an index of every store of the nest, and
/// every buffer stored to is read and written through that same memref
/// value at the same indices only (so two iterations of the loop touch
/// disjoint elements of what the nest writes), and its bounds are defined
/// outside the nest.
static SmallVector<unsigned> threadLoops(ArrayRef<scf::ForOp> loops) {
  scf::ForOp root = loops.front();
  DenseMap<Value, std::pair<Value, SmallVector<Value>>> written;
  bool ok = true;
  SmallVector<memref::StoreOp> stores;
  root.walk([&](memref::StoreOp store) {
    stores.push_back(store);
    Value r = rootOf(store.getMemRef());
    SmallVector<Value> indices(store.getIndices());
    auto [it, fresh] =
        written.try_emplace(r, std::make_pair(store.getMemRef(), indices));
    if (!fresh &&
        (it->second.first != store.getMemRef() || it->second.second != indices))
      ok = false;
  });
  root.walk([&](memref::LoadOp load) {
    auto it = written.find(rootOf(load.getMemRef()));
    if (it != written.end() &&
        (it->second.first != load.getMemRef() ||
         it->second.second != SmallVector<Value>(load.getIndices())))
      ok = false;
  });
  SmallVector<unsigned> result;
  if (!ok || stores.empty())
    return result;
  for (unsigned i = 0; i < loops.size(); ++i) {
    scf::ForOp loop = loops[i];
    Value iv = loop.getInductionVar();
    bool indexesAll = llvm::all_of(stores, [&](memref::StoreOp store) {
      return llvm::is_contained(store.getIndices(), iv);
    });
    bool outside = llvm::all_of(
        ValueRange{loop.getLowerBound(), loop.getUpperBound(), loop.getStep()},
        [&](Value v) {
          return !root->isAncestor(v.getParentBlock()->getParentOp());
        });
    if (indexesAll && outside)
      result.push_back(i);
  }
  return result;
}

namespace {
struct SSMLinalgToGPU : mlir::ssm::impl::SSMLinalgToGPUBase<SSMLinalgToGPU> {
  using Base::Base;

  /// The block reduction of `op`; with subgroup-reductions and a plan that
  /// has subgroup kinds, both kernels, the subgroup one launched when the
  /// device supports it (`__ssm_gpu_subgroup_reductions() != 0`).
  void emitBlockReductions(OpBuilder &b, Location loc, linalg::GenericOp op,
                           const BlockReductionPlan &plan,
                           ArrayRef<unsigned> parallelDims,
                           ArrayRef<unsigned> reductionDims,
                           ArrayRef<Value> sizes, Value points,
                           unsigned &counter) {
    std::string name = kernelPrefix + std::to_string(counter++);
    std::string module = kernelPrefix + "module";
    if (!subgroupReductions || !plan.subgroupKinds) {
      emitBlockReduction(b, loc, op, plan, parallelDims, reductionDims, sizes,
                         points, blockSize, module, name, /*subgroups=*/false);
      return;
    }
    ModuleOp top = op->getParentOfType<ModuleOp>();
    constexpr StringLiteral query = "__ssm_gpu_subgroup_reductions";
    auto type = b.getFunctionType({}, {b.getI32Type()});
    if (!top.lookupSymbol<func::FuncOp>(query)) {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(top.getBody());
      func::FuncOp::create(b, loc, query, type).setPrivate();
    }
    Value answer =
        func::CallOp::create(b, loc, query, type.getResults(), ValueRange{})
            .getResult(0);
    Value use = arith::CmpIOp::create(
        b, loc, arith::CmpIPredicate::ne, answer,
        arith::ConstantIntOp::create(b, loc, b.getI32Type(), 0));
    auto branch = scf::IfOp::create(b, loc, use, /*withElseRegion=*/true);
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(branch.thenBlock());
    emitBlockReduction(b, loc, op, plan, parallelDims, reductionDims, sizes,
                       points, blockSize, module, name + "_subgroups",
                       /*subgroups=*/true);
    b.setInsertionPointToStart(branch.elseBlock());
    emitBlockReduction(b, loc, op, plan, parallelDims, reductionDims, sizes,
                       points, blockSize, module, name, /*subgroups=*/false);
  }

  /// A launch of ceil(points / threads) blocks of `threads` threads,
  /// guarded so that an empty range launches nothing (a grid of 0 blocks is
  /// an error); `b` is left at the start of its body. All kernels go to one
  /// gpu.module (one device binary per model).
  gpu::LaunchOp launchGrid(OpBuilder &b, Location loc, Value points,
                           Value threads, unsigned &counter) {
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    Value blocks = arith::CeilDivUIOp::create(b, loc, points, threads);
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value any =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt, points, zero);
    auto guard = scf::IfOp::create(b, loc, any, /*withElseRegion=*/false);
    b.setInsertionPointToStart(guard.thenBlock());
    std::string name = kernelPrefix + std::to_string(counter++);
    auto launch = gpu::LaunchOp::create(
        b, loc, blocks, one, one, threads, one, one, nullptr, nullptr, {}, {},
        {}, nullptr, nullptr, nullptr,
        FlatSymbolRefAttr::get(b.getContext(), kernelPrefix + "module"),
        FlatSymbolRefAttr::get(b.getContext(), name));
    b.setInsertionPointToStart(&launch.getBody().front());
    return launch;
  }

  /// In `launch`'s body: this thread's point of a range of `counts`
  /// (outermost first, the innermost fastest), inside an scf.if that skips
  /// the threads past the range's `points`; `b` is left in that branch.
  static SmallVector<Value> threadPoint(OpBuilder &b, Location loc,
                                        gpu::LaunchOp launch, Value threads,
                                        Value points, ArrayRef<Value> counts) {
    Value id = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, launch.getBlockIds().x, threads),
        launch.getThreadIds().x);
    Value inRange =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, id, points);
    auto inside = scf::IfOp::create(b, loc, inRange, false);
    b.setInsertionPointToStart(inside.thenBlock());
    SmallVector<Value> point(counts.size());
    Value rest = id;
    for (int k = counts.size() - 1; k >= 0; --k) {
      point[k] = arith::RemUIOp::create(b, loc, rest, counts[k]);
      rest = arith::DivUIOp::create(b, loc, rest, counts[k]);
    }
    return point;
  }

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
    // Sizes known at compile time decide the branch here: a static loop
    // shorter than a tile never takes the tiled kernel, so none is emitted.
    auto staticSize = [&](unsigned d) { return getConstantIntValue(sizes[d]); };
    if (plan) {
      for (unsigned d : {plan->x, plan->y})
        if (std::optional<int64_t> n = staticSize(d); n && *n < kTile)
          plan.reset();
    }
    if (plan) {
      for (unsigned d : plan->others)
        if (std::optional<int64_t> n = staticSize(d); n && *n == 0)
          plan.reset();
    }
    // All of them known to fill a tile: the tiled kernel alone.
    if (plan) {
      bool always = true;
      for (unsigned d : {plan->x, plan->y}) {
        std::optional<int64_t> n = staticSize(d);
        always &= n && *n >= kTile;
      }
      for (unsigned d : plan->others) {
        std::optional<int64_t> n = staticSize(d);
        always &= n && *n > 0;
      }
      if (always) {
        emitTiled(b, loc, op, *plan, sizes, kernelPrefix + "module",
                  kernelPrefix + std::to_string(counter++));
        op.erase();
        return success();
      }
    }
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

    // Few points with many terms each: the block reduction (decided here
    // when the sizes are static, else at run time).
    std::optional<BlockReductionPlan> reduction;
    if (independent)
      reduction = planBlockReduction(op, blockSize);
    if (reduction) {
      std::optional<int64_t> staticPoints = 1, staticTerms = 1;
      for (unsigned d : parallelDims)
        staticPoints = staticPoints && staticSize(d)
                           ? std::optional(*staticPoints * *staticSize(d))
                           : std::nullopt;
      for (unsigned d : reductionDims)
        staticTerms = staticTerms && staticSize(d)
                          ? std::optional(*staticTerms * *staticSize(d))
                          : std::nullopt;
      if ((staticPoints && *staticPoints > kBlockReductionMaxPoints) ||
          (staticTerms && *staticTerms < kBlockReductionMinTerms))
        reduction.reset();
      bool always = reduction && staticPoints && staticTerms;
      if (always) {
        emitBlockReductions(b, loc, op, *reduction, parallelDims, reductionDims,
                            sizes, points, counter);
        op.erase();
        return success();
      }
    }
    if (reduction) {
      Value terms = one;
      for (unsigned d : reductionDims)
        terms = arith::MulIOp::create(b, loc, terms, sizes[d]);
      Value few = arith::CmpIOp::create(
          b, loc, arith::CmpIPredicate::ule, points,
          arith::ConstantIndexOp::create(b, loc, kBlockReductionMaxPoints));
      Value many = arith::CmpIOp::create(
          b, loc, arith::CmpIPredicate::uge, terms,
          arith::ConstantIndexOp::create(b, loc, kBlockReductionMinTerms));
      auto branch =
          scf::IfOp::create(b, loc, arith::AndIOp::create(b, loc, few, many),
                            /*withElseRegion=*/true);
      b.setInsertionPointToStart(branch.thenBlock());
      emitBlockReductions(b, loc, op, *reduction, parallelDims, reductionDims,
                          sizes, points, counter);
      b.setInsertionPointToStart(branch.elseBlock());
    }
    Value threads = arith::ConstantIndexOp::create(
        b, loc, parallelDims.empty() ? 1 : blockSize.getValue());
    gpu::LaunchOp launch = launchGrid(b, loc, points, threads, counter);
    SmallVector<Value> ivs(numLoops);
    if (parallelDims.empty()) {
      emitLoops(b, loc, op,
                independent ? ArrayRef<unsigned>(reductionDims)
                            : ArrayRef<unsigned>(allDims),
                sizes, ivs, independent);
    } else {
      SmallVector<Value> counts;
      for (unsigned d : parallelDims)
        counts.push_back(sizes[d]);
      SmallVector<Value> point =
          threadPoint(b, loc, launch, threads, points, counts);
      for (auto [d, v] : llvm::zip(parallelDims, point))
        ivs[d] = v;
      emitLoops(b, loc, op, reductionDims, sizes, ivs, /*carry=*/true);
    }
    b.setInsertionPointToEnd(&launch.getBody().front());
    gpu::TerminatorOp::create(b, loc);
    op.erase();
    return success();
  }

  /// A host loop nest of scalar loads, stores and arithmetic (the
  /// differentiation's scatter-add of a gather's adjoint) as one kernel:
  /// the loops of threadLoops() linearized over a 1-D grid, the others run
  /// in order by every thread (one thread when there are none).
  void convertLoopNest(scf::ForOp root, unsigned &counter) {
    Location loc = root.getLoc();
    OpBuilder b(root);
    SmallVector<scf::ForOp> loops = perfectNest(root);
    SmallVector<unsigned> parallel = threadLoops(loops);
    SmallVector<Value> counts;
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value points = arith::ConstantIndexOp::create(b, loc, 1);
    for (unsigned i : parallel) {
      scf::ForOp l = loops[i];
      Value span =
          arith::SubIOp::create(b, loc, l.getUpperBound(), l.getLowerBound());
      // An empty range (upper below lower) counts as no iterations.
      span = arith::MaxSIOp::create(b, loc, span, zero);
      counts.push_back(arith::CeilDivUIOp::create(b, loc, span, l.getStep()));
      points = arith::MulIOp::create(b, loc, points, counts.back());
    }
    Value threads = arith::ConstantIndexOp::create(
        b, loc, parallel.empty() ? 1 : blockSize.getValue());
    gpu::LaunchOp launch = launchGrid(b, loc, points, threads, counter);
    IRMapping map;
    if (!parallel.empty()) {
      SmallVector<Value> point =
          threadPoint(b, loc, launch, threads, points, counts);
      for (auto [i, idx] : llvm::zip(parallel, point)) {
        scf::ForOp l = loops[i];
        map.map(l.getInductionVar(),
                arith::AddIOp::create(
                    b, loc, l.getLowerBound(),
                    arith::MulIOp::create(b, loc, idx, l.getStep())));
      }
    }
    // The nest again inside the kernel, the thread loops replaced by the
    // thread's indices, then the innermost body.
    for (unsigned i = 0; i < loops.size(); ++i) {
      if (llvm::is_contained(parallel, i))
        continue;
      scf::ForOp l = loops[i];
      auto loop =
          scf::ForOp::create(b, loc, map.lookupOrDefault(l.getLowerBound()),
                             map.lookupOrDefault(l.getUpperBound()),
                             map.lookupOrDefault(l.getStep()));
      map.map(l.getInductionVar(), loop.getInductionVar());
      b.setInsertionPointToStart(loop.getBody());
    }
    for (Operation &o : loops.back().getBody()->without_terminator())
      b.clone(o, map);
    b.setInsertionPointToEnd(&launch.getBody().front());
    gpu::TerminatorOp::create(b, loc);
    root.erase();
  }

  /// The host loop nests to convert: outermost scf.for loops outside any
  /// kernel, with no results, holding only scalar code (isKernelScalarOp)
  /// that reads or writes device buffers: buffers a kernel also uses, the
  /// arguments of public functions (the entry points') and globals. A nest
  /// over buffers only the host touches (the deallocation pipeline's
  /// arrays) stays on the host.
  SmallVector<scf::ForOp> hostLoopNests(ModuleOp module) {
    DenseSet<Value> device;
    module.walk([&](gpu::LaunchOp launch) {
      launch.getBody().walk([&](Operation *o) {
        for (Value v : o->getOperands())
          if (isa<MemRefType>(v.getType()) &&
              !launch->isAncestor(v.getParentBlock()->getParentOp()))
            device.insert(rootOf(v));
      });
    });
    SmallVector<scf::ForOp> nests;
    module.walk<WalkOrder::PreOrder>([&](Operation *o) {
      if (isa<gpu::GPUModuleOp, gpu::LaunchOp>(o))
        return WalkResult::skip();
      auto loop = dyn_cast<scf::ForOp>(o);
      if (!loop)
        return WalkResult::advance();
      if (loop.getNumResults() != 0)
        return WalkResult::advance();
      bool scalar = true, touches = false, onDevice = true;
      loop.getBody()->walk([&](Operation *inner) {
        scalar &= isKernelScalarOp(inner);
        Value mem;
        if (auto load = dyn_cast<memref::LoadOp>(inner))
          mem = load.getMemRef();
        if (auto store = dyn_cast<memref::StoreOp>(inner))
          mem = store.getMemRef();
        if (!mem)
          return;
        touches = true;
        Value r = rootOf(mem);
        bool isDevice =
            device.contains(r) || r.getDefiningOp<memref::GetGlobalOp>();
        if (auto arg = dyn_cast<BlockArgument>(r))
          if (auto fn = dyn_cast<func::FuncOp>(arg.getOwner()->getParentOp()))
            isDevice |= fn.isPublic();
        onDevice &= isDevice;
      });
      if (scalar && touches && onDevice) {
        nests.push_back(loop);
        return WalkResult::skip();
      }
      return WalkResult::advance();
    });
    return nests;
  }

  /// Replaces every op of type OpT (on buffers) by its fused kernels,
  /// named `<kernel-prefix><n><suffix>`.
  template <typename OpT>
  LogicalResult
  emitFused(ModuleOp module, StringRef suffix, unsigned &counter,
            function_ref<LogicalResult(OpBuilder &, OpT, StringRef, StringRef)>
                emit) {
    SmallVector<OpT> fused;
    module.walk([&](OpT op) { fused.push_back(op); });
    for (OpT op : fused) {
      if (!op.getResult().empty())
        return op.emitOpError()
               << "ssm-linalg-to-gpu needs " << OpT::getOperationName()
               << " on buffers (run bufferization first)";
      OpBuilder b(op);
      if (failed(emit(b, op, kernelPrefix + "module",
                      kernelPrefix + std::to_string(counter++) + suffix.str())))
        return failure();
      op.erase();
    }
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
    std::optional<ssm::TensorCores> cores = ssm::parseTensorCores(tensorCores);
    if (!cores) {
      module.emitError() << "ssm-linalg-to-gpu: unknown tensor-cores value '"
                         << tensorCores << "' (expected none, tf32 or tf32x3)";
      return signalPassFailure();
    }
    unsigned counter = 0;
    // The fused kernels first (they take the first names).
    auto emitSSD = [&](OpBuilder &b, ssm::FusedSSDOp op, StringRef kernels,
                       StringRef kernel) {
      return ssm::emitFusedSSDKernels(b, op, kernels, kernel, *cores);
    };
    auto emitAttention = [&](OpBuilder &b, ssm::FusedAttentionOp op,
                             StringRef kernels, StringRef kernel) {
      return ssm::emitFusedAttentionKernel(b, op, kernels, kernel, *cores);
    };
    if (failed(emitFused<ssm::FusedAttentionOp>(module, "_attention", counter,
                                                emitAttention)) ||
        failed(emitFused<ssm::FusedSSDOp>(module, "_ssd", counter, emitSSD)))
      return signalPassFailure();
    for (linalg::LinalgOp op : ops)
      if (failed(convert(cast<linalg::GenericOp>(op.getOperation()), counter)))
        return signalPassFailure();
    for (scf::ForOp nest : hostLoopNests(module))
      convertLoopNest(nest, counter);
  }
};
} // namespace
