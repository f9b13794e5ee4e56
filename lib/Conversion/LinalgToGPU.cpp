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
static SmallVector<Value> emitPayload(OpBuilder &b, Location loc,
                                      linalg::GenericOp op, ValueRange ivs,
                                      ValueRange outs) {
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
