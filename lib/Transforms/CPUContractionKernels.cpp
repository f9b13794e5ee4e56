//===- CPUContractionKernels.cpp - Register-tiled matrix products ---------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Replaces `C += A * B` contractions on buffers by register-tiled vector
// kernels (see the pass description in Passes.td).
//
//===----------------------------------------------------------------------===//

#include "ssm/Transforms/Contraction.h"
#include "ssm/Transforms/ParallelBody.h"
#include "ssm/Transforms/Passes.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMCPUCONTRACTIONKERNELS
#include "ssm/Transforms/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;
using namespace mlir::ssm;

namespace {

/// The loops of a matched contraction, by role.
struct Contraction {
  /// Which kernel fits: an outer-product kernel (vectors along `n`, the
  /// last index of `B` and `C`) or a dot-product kernel (vectors along `k`,
  /// the last index of `A` and `B`).
  bool dot = false;
  /// For the outer-product kernel, the width of `B`'s panels when `B` is
  /// stored in panels `(n floordiv panel, k, n mod panel)` (see
  /// ssm-transpose-constant-weights), else 0.
  int64_t panel = 0;
  /// The positions of `A` and `B` among the op's inputs, and of a third
  /// factor `S` of a scaled product `C += A * B * S` (-1 if none).
  unsigned aOperand = 0, bOperand = 1;
  int sOperand = -1;
  /// Whether `S` varies with the reduction (it scales `B`'s rows) or not (it
  /// scales the output rows, once per tile).
  bool scaleAlongK = false;
  unsigned k = 0;
  /// Parallel loops used by `A` and `C` but not `B`, outermost first.
  SmallVector<unsigned> rows;
  /// Parallel loops used by `B` and `C` but not `A`, outermost first (one
  /// loop, `n`, for the outer-product kernel).
  SmallVector<unsigned> cols;
  /// The remaining parallel loops.
  SmallVector<unsigned> outer;
};

} // namespace

static bool uses(AffineMap map, unsigned dim) {
  return llvm::any_of(map.getResults(),
                      [&](AffineExpr e) { return e.isFunctionOfDim(dim); });
}

/// The loop that is the last index of `map`, if that index is a plain loop
/// index used nowhere else in `map`.
static std::optional<unsigned> lastLoop(AffineMap map) {
  if (map.getNumResults() == 0)
    return std::nullopt;
  auto d = dyn_cast<AffineDimExpr>(map.getResults().back());
  if (!d)
    return std::nullopt;
  for (AffineExpr e : map.getResults().drop_back())
    if (e.isFunctionOfDim(d.getPosition()))
      return std::nullopt;
  return d.getPosition();
}

/// Whether `v` is an f32 memref whose last dimension has unit stride.
static bool isUnitStrideF32(Value v) {
  auto type = dyn_cast<MemRefType>(v.getType());
  if (!type || !type.getElementType().isF32() || type.getRank() == 0)
    return false;
  SmallVector<int64_t> strides;
  int64_t offset;
  return succeeded(type.getStridesAndOffset(strides, offset)) &&
         strides.back() == 1;
}

/// The panel width `w` if `map` (of `B`, typed `type`) reads panels
/// `(n floordiv w, k, n mod w)` of a static width, else 0.
static int64_t panelWidth(AffineMap map, unsigned n, unsigned k,
                          MemRefType type) {
  if (map.getNumResults() != 3 || type.getRank() != 3 ||
      ShapedType::isDynamic(type.getDimSize(2)))
    return 0;
  int64_t w = type.getDimSize(2);
  MLIRContext *ctx = map.getContext();
  AffineExpr dn = getAffineDimExpr(n, ctx), dk = getAffineDimExpr(k, ctx);
  if (map.getResult(0) != dn.floorDiv(w) || map.getResult(1) != dk ||
      map.getResult(2) != dn % w)
    return 0;
  return w;
}

/// Matches `op`, with the inputs `ai` as `A`, `bi` as `B` and `si` (-1:
/// none) as the scale `S`, against the two kernels' layouts.
static std::optional<Contraction> match(linalg::GenericOp op, unsigned ai,
                                        unsigned bi, int si) {
  SmallVector<utils::IteratorType> iters = op.getIteratorTypesArray();
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  unsigned ci = op.getNumDpsInputs();
  AffineMap a = maps[ai], b = maps[bi], c = maps[ci];
  Value av = op->getOperand(ai), bv = op->getOperand(bi),
        cv = op->getOperand(ci);
  if (!isa<MemRefType>(av.getType()) || !isa<MemRefType>(bv.getType()) ||
      !isUnitStrideF32(cv))
    return std::nullopt;
  auto aType = cast<MemRefType>(av.getType());
  auto bType = cast<MemRefType>(bv.getType());
  if (!aType.getElementType().isF32() || !bType.getElementType().isF32())
    return std::nullopt;

  // One reduction; C indexed by every parallel loop, each once.
  Contraction m;
  m.aOperand = ai;
  m.bOperand = bi;
  m.sOperand = si;
  unsigned reductions = 0;
  for (unsigned i = 0, e = iters.size(); i < e; ++i)
    if (iters[i] == utils::IteratorType::reduction)
      m.k = i, ++reductions;
  if (reductions != 1 || c.getNumResults() + 1 != iters.size())
    return std::nullopt;
  llvm::SmallDenseSet<unsigned> seen;
  for (AffineExpr e : c.getResults()) {
    auto d = dyn_cast<AffineDimExpr>(e);
    if (!d || d.getPosition() == m.k || !seen.insert(d.getPosition()).second)
      return std::nullopt;
  }

  std::optional<unsigned> cLast = lastLoop(c), bLast = lastLoop(b),
                          aLast = lastLoop(a);
  if (cLast && !uses(a, *cLast) && isUnitStrideF32(bv) &&
      (m.panel = panelWidth(b, *cLast, m.k, bType))) {
    m.cols.push_back(*cLast);
  } else if (cLast && bLast == cLast && !uses(a, *cLast) &&
             isUnitStrideF32(bv)) {
    m.cols.push_back(*cLast);
  } else if (si < 0 && aLast == m.k && bLast == m.k && isUnitStrideF32(av) &&
             isUnitStrideF32(bv)) {
    m.dot = true;
  } else {
    return std::nullopt;
  }
  for (AffineExpr e : c.getResults()) {
    unsigned d = cast<AffineDimExpr>(e).getPosition();
    if (llvm::is_contained(m.cols, d))
      continue;
    bool inA = uses(a, d), inB = uses(b, d);
    if (inA && !inB)
      m.rows.push_back(d);
    else if (m.dot && inB && !inA)
      m.cols.push_back(d);
    else
      m.outer.push_back(d);
  }
  if (m.dot && m.cols.empty())
    return std::nullopt;
  if (si < 0)
    return m;
  // The scale (outer-product kernel): an f32 value per reduction index or
  // per output row (and outer loops), never per column.
  AffineMap s = maps[si];
  auto sType = dyn_cast<MemRefType>(op->getOperand(si).getType());
  if (!sType || !sType.getElementType().isF32() || uses(s, m.cols.front()))
    return std::nullopt;
  m.scaleAlongK = uses(s, m.k);
  if (m.scaleAlongK &&
      llvm::any_of(m.rows, [&](unsigned d) { return uses(s, d); }))
    return std::nullopt;
  return m;
}

/// Matches `op` against the two kernels' layouts: `C += A * B`, or
/// `C += A * B * S` for the outer-product kernel, trying the inputs in each
/// role (the product commutes). Of the roles that fit, the first with the
/// most row loops wins: the tile's rows share each load of `B`.
static std::optional<Contraction> match(linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInits() != 1)
    return std::nullopt;
  SmallVector<std::array<int, 3>> roles;
  if (op.getNumDpsInputs() == 2 && isMultiplyAdd(op))
    roles = {{0, 1, -1}, {1, 0, -1}};
  else if (op.getNumDpsInputs() == 3 && isScaledMultiplyAdd(op))
    roles = {{0, 1, 2}, {1, 0, 2}, {0, 2, 1}, {2, 0, 1}, {1, 2, 0}, {2, 1, 0}};
  std::optional<Contraction> best;
  for (auto [ai, bi, si] : roles) {
    std::optional<Contraction> m = match(op, ai, bi, si);
    if (m && (!best || m->rows.size() > best->rows.size()))
      best = std::move(m);
  }
  return best;
}

/// Folds the reduction loops of a multiply-add into one when they are
/// consecutive loops that every operand indexes consecutively, in order,
/// through dimensions its buffer can collapse: a weight's gradient,
/// `dW[i, j] += x[b, t, i] dy[b, t, j]`, sums over batch and sequence, and
/// with the two as one reduction `k` it is a matrix product the kernels
/// take. Only when the folded op matches a kernel; each output element's sum
/// keeps its order.
static void foldReductions(IRRewriter &rewriter, linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInits() != 1 ||
      !(isMultiplyAdd(op) || isScaledMultiplyAdd(op)))
    return;
  SmallVector<utils::IteratorType> iters = op.getIteratorTypesArray();
  ReassociationIndices reductions;
  for (unsigned i = 0, e = iters.size(); i < e; ++i)
    if (iters[i] == utils::IteratorType::reduction)
      reductions.push_back(i);
  if (reductions.size() < 2 ||
      reductions.back() - reductions.front() + 1 != (int64_t)reductions.size())
    return;
  SmallVector<ReassociationIndices> folded = {reductions};
  if (!linalg::areDimSequencesPreserved(op.getIndexingMapsArray(), folded))
    return;
  for (OpOperand &operand : op->getOpOperands()) {
    auto type = dyn_cast<MemRefType>(operand.get().getType());
    if (!type)
      return;
    AffineMap map = op.getMatchingIndexingMap(&operand);
    SmallVector<ReassociationIndices> groups;
    for (unsigned r = 0, e = map.getNumResults(); r < e; ++r) {
      auto d = dyn_cast<AffineDimExpr>(map.getResult(r));
      if (d && !groups.empty() && (int64_t)d.getPosition() > reductions[0] &&
          (int64_t)d.getPosition() <= reductions.back())
        groups.back().push_back(r);
      else
        groups.push_back({(int64_t)r});
    }
    if (!memref::CollapseShapeOp::isGuaranteedCollapsible(type, groups))
      return;
  }
  // The collapse moves the body: work on a copy, kept only if it matches.
  rewriter.setInsertionPoint(op);
  auto copy = cast<linalg::GenericOp>(rewriter.clone(*op));
  FailureOr<linalg::CollapseResult> collapsed =
      linalg::collapseOpIterationDims(copy, folded, rewriter);
  auto generic =
      succeeded(collapsed)
          ? dyn_cast<linalg::GenericOp>(collapsed->collapsedOp.getOperation())
          : linalg::GenericOp();
  if (generic && match(generic)) {
    rewriter.eraseOp(op);
  } else if (succeeded(collapsed)) {
    SmallVector<Value> operands(collapsed->collapsedOp->getOperands());
    rewriter.eraseOp(collapsed->collapsedOp);
    for (Value v : operands)
      if (auto view = v.getDefiningOp<memref::CollapseShapeOp>();
          view && view->use_empty())
        rewriter.eraseOp(view);
  }
  rewriter.eraseOp(copy);
}

namespace {

/// Builds the kernel of one matched contraction in place of the op.
class KernelBuilder {
public:
  KernelBuilder(OpBuilder &b, linalg::GenericOp op, const Contraction &m,
                const SSMCPUContractionKernelsOptions &options)
      : b(b), loc(op.getLoc()), m(m), opts(options),
        vecType(VectorType::get({options.vectorWidth}, b.getF32Type())),
        maskType(VectorType::get({options.vectorWidth}, b.getI1Type())) {
    // The operands by role: A, B, C and S (maps, values).
    SmallVector<AffineMap> opMaps = op.getIndexingMapsArray();
    unsigned ci = op.getNumDpsInputs();
    maps = {opMaps[m.aOperand], opMaps[m.bOperand], opMaps[ci]};
    a = op->getOperand(m.aOperand);
    bm = op->getOperand(m.bOperand);
    c = op->getOperand(ci);
    if (m.sOperand >= 0) {
      maps.push_back(opMaps[m.sOperand]);
      scale = op->getOperand(m.sOperand);
    }
    // Loop sizes: static ones as constants, others from the first operand
    // dimension indexed by the loop alone.
    SmallVector<int64_t> staticSizes = op.getStaticLoopRanges();
    sizes.assign(staticSizes.size(), Value());
    for (auto [i, size] : llvm::enumerate(staticSizes))
      if (!ShapedType::isDynamic(size))
        sizes[i] = cst(size);
    for (OpOperand &operand : op->getOpOperands())
      for (auto [dim, e] :
           llvm::enumerate(op.getMatchingIndexingMap(&operand).getResults()))
        if (auto d = dyn_cast<AffineDimExpr>(e); d && !sizes[d.getPosition()])
          sizes[d.getPosition()] =
              memref::DimOp::create(b, loc, operand.get(), cst(dim));
    ivs.assign(sizes.size(), cst(0));
  }

  /// Builds the kernel in place of the op. The work is a loop over the
  /// outer loops and the blocks of columns together; with the `parallel`
  /// option, that loop is outlined into a function of the module called
  /// through the model support code's thread pool (see
  /// ssm-lower-parallel-calls).
  void build(SymbolTable &symbols) {
    Value numRows = extent(m.rows);
    Value numCols = m.dot ? extent(m.cols) : sizes[m.cols.front()];
    int64_t width = blockColumns();
    Value numBlocks = fold<arith::DivUIOp>(
        fold<arith::AddIOp>(numCols, cst(width - 1)), cst(width));
    Value total = fold<arith::MulIOp>(extent(m.outer), numBlocks);
    if (!opts.parallel) {
      buildBody(cst(0), total, numRows, numCols, numBlocks);
      return eraseUnusedConstants();
    }

    // The function, built with the values of the enclosing function used
    // directly; they become its arguments below.
    OpBuilder::InsertPoint site = b.saveInsertionPoint();
    func::FuncOp func = createParallelBody(b, loc, symbols, "__ssm_kernel");
    Block *entry = &func.getBody().front();
    b.setInsertionPointToStart(entry);
    // Constants of the body are made in the function.
    auto outerConstants = std::exchange(constants, decltype(constants)());
    Operation *outerAnchor = std::exchange(anchor, nullptr);
    Value outerZero = std::exchange(zero, Value());
    buildBody(entry->getArgument(0), entry->getArgument(1), numRows, numCols,
              numBlocks);
    func::ReturnOp::create(b, loc);
    eraseUnusedConstants();
    constants = std::move(outerConstants);
    anchor = outerAnchor;
    zero = outerZero;

    b.restoreInsertionPoint(site);
    Value cost =
        fold<arith::MulIOp>(fold<arith::MulIOp>(numRows, numCols), sizes[m.k]);
    callWithCapturedValues(b, loc, func, {cst(0), total, cost});
    eraseUnusedConstants();
  }

private:
  /// An index constant, created once before the kernel.
  Value cst(int64_t v) {
    Value &value = constants[v];
    if (!value)
      value =
          atAnchor([&] { return arith::ConstantIndexOp::create(b, loc, v); });
    return value;
  }

  /// Erases the constants made for intermediate sizes that folded away, and
  /// starts a new set of constants (for the next function built into).
  void eraseUnusedConstants() {
    SmallVector<Value> made(llvm::make_second_range(constants));
    if (zero)
      made.push_back(zero);
    for (Value c : made)
      if (c.use_empty())
        c.getDefiningOp()->erase();
    constants.clear();
    anchor = nullptr;
    zero = Value();
  }

  /// `make()` built before everything else of the kernel, so that it
  /// dominates every use.
  Value atAnchor(function_ref<Value()> make) {
    OpBuilder::InsertionGuard guard(b);
    if (anchor)
      b.setInsertionPoint(anchor);
    Value value = make();
    if (!anchor)
      anchor = value.getDefiningOp();
    return value;
  }

  /// `x op y` on indices, folded to a kernel constant when both are
  /// constants (and `x * 1`, `x + 0`, `x - 0` to `x`).
  template <typename OpTy> Value fold(Value x, Value y) {
    std::optional<int64_t> cx = getConstantIntValue(x),
                           cy = getConstantIntValue(y);
    if (cx && cy) {
      uint64_t ux = *cx, uy = *cy;
      if constexpr (std::is_same_v<OpTy, arith::AddIOp>)
        return cst(ux + uy);
      if constexpr (std::is_same_v<OpTy, arith::SubIOp>)
        return cst(ux - uy);
      if constexpr (std::is_same_v<OpTy, arith::MulIOp>)
        return cst(ux * uy);
      if constexpr (std::is_same_v<OpTy, arith::MinUIOp>)
        return cst(std::min(ux, uy));
      if constexpr (std::is_same_v<OpTy, arith::MaxUIOp>)
        return cst(std::max(ux, uy));
      if (uy != 0) {
        if constexpr (std::is_same_v<OpTy, arith::RemUIOp>)
          return cst(ux % uy);
        if constexpr (std::is_same_v<OpTy, arith::DivUIOp>)
          return cst(ux / uy);
      }
    }
    if (std::is_same_v<OpTy, arith::MulIOp> && cy == 1)
      return x;
    if ((std::is_same_v<OpTy, arith::AddIOp> ||
         std::is_same_v<OpTy, arith::SubIOp>)&&cy == 0)
      return x;
    return OpTy::create(b, loc, x, y);
  }

  /// Whether `x < y` (unsigned) is known false: both constants.
  bool knownNotLess(Value x, Value y) {
    std::optional<int64_t> cx = getConstantIntValue(x),
                           cy = getConstantIntValue(y);
    return cx && cy && uint64_t(*cx) >= uint64_t(*cy);
  }

  Value zeroVector() {
    if (!zero)
      zero = atAnchor([&]() -> Value {
        return arith::ConstantOp::create(
            b, loc, cast<TypedAttr>(b.getZeroAttr(vecType)));
      });
    return zero;
  }

  /// The product of the sizes of `loops`.
  Value extent(ArrayRef<unsigned> loops) {
    if (loops.empty())
      return cst(1);
    Value n = sizes[loops.front()];
    for (unsigned l : loops.drop_front())
      n = fold<arith::MulIOp>(n, sizes[l]);
    return n;
  }

  /// Sets the loop values of `loops` from a linear index over them
  /// (row-major, the last loop fastest).
  void delinearize(ArrayRef<unsigned> loops, Value linear,
                   SmallVectorImpl<Value> &values) {
    if (loops.empty())
      return;
    for (unsigned l : llvm::reverse(loops.drop_front())) {
      values[l] = fold<arith::RemUIOp>(linear, sizes[l]);
      linear = fold<arith::DivUIOp>(linear, sizes[l]);
    }
    values[loops.front()] = linear;
  }

  /// The indices of operand `operand` at the loop values `values`.
  SmallVector<Value> indices(unsigned operand, ArrayRef<Value> values) {
    AffineMap map = maps[operand];
    SmallVector<OpFoldResult> all(values.begin(), values.end());
    SmallVector<Value> result;
    for (AffineExpr e : map.getResults()) {
      if (auto d = dyn_cast<AffineDimExpr>(e)) {
        result.push_back(values[d.getPosition()]);
        continue;
      }
      AffineMap one = AffineMap::get(map.getNumDims(), 0, e);
      result.push_back(affine::makeComposedAffineApply(b, loc, one, all));
    }
    return result;
  }

  Value operandValue(unsigned operand) {
    return operand == 0 ? a : operand == 1 ? bm : operand == 2 ? c : scale;
  }

  Value load(unsigned operand, ArrayRef<Value> values, Value mask) {
    SmallVector<Value> idx = indices(operand, values);
    Value base = operandValue(operand);
    if (!mask)
      return vector::LoadOp::create(b, loc, vecType, base, idx);
    return vector::MaskedLoadOp::create(b, loc, vecType, base, idx, mask,
                                        zeroVector());
  }

  /// The scalar of operand `operand` (A or S) at the loop values `values`
  /// with the reduction at `k`, broadcast to a vector.
  Value splatAt(unsigned operand, ArrayRef<Value> values, Value k) {
    SmallVector<Value> at(values);
    at[m.k] = k;
    Value s = memref::LoadOp::create(b, loc, operandValue(operand),
                                     indices(operand, at));
    return vector::BroadcastOp::create(b, loc, vecType, s);
  }

  void store(Value value, ArrayRef<Value> values, Value mask) {
    SmallVector<Value> idx = indices(2, values);
    if (!mask)
      vector::StoreOp::create(b, loc, value, c, idx);
    else
      vector::MaskedStoreOp::create(b, loc, c, idx, mask, value);
  }

  /// A loop `for iv = lb to ub step step` whose body `body` builds.
  void loop(Value lb, Value ub, int64_t step, function_ref<void(Value)> body) {
    auto forOp = scf::ForOp::create(b, loc, lb, ub, cst(step));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(forOp.getBody());
    body(forOp.getInductionVar());
  }

  /// Columns of a block: the unit of the work split between threads.
  int64_t blockColumns() const {
    return m.dot ? opts.dotCols : opts.vectorWidth * numVectors();
  }

  /// Vectors per row of the outer-product kernel's tile: one panel of a
  /// paneled `B`.
  int64_t numVectors() const {
    return m.panel ? m.panel / opts.vectorWidth : opts.vectors;
  }

  /// Items [lo, hi) of (outer loops x blocks of columns), for every block
  /// of rows.
  void buildBody(Value lo, Value hi, Value numRows, Value numCols,
                 Value numBlocks) {
    // A single row (a decode step of one sequence) gets tiles of one row:
    // the full tile would multiply clamped duplicates of it. (With two rows
    // or more, the full tile, which reads each weight once for all its
    // rows, is faster.)
    auto body = [&](bool narrow) {
      bool saved = std::exchange(narrowRows, narrow);
      blocks(lo, hi, numRows, numCols, numBlocks);
      narrowRows = saved;
    };
    if (tileRows() == 1 || knownNotLess(numRows, cst(2)))
      return body(false);
    if (getConstantIntValue(numRows))
      return body(true);
    Value single = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                         numRows, cst(1));
    auto ifOp = scf::IfOp::create(b, loc, single, /*withElse=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    body(true);
    b.setInsertionPointToStart(ifOp.elseBlock());
    body(false);
  }

  /// Items [lo, hi) of (outer loops x blocks of columns), in blocks of rows
  /// and of the reduction.
  void blocks(Value lo, Value hi, Value numRows, Value numCols,
              Value numBlocks) {
    rowBlocks(numRows, [&](Value start, Value end) {
      // The reduction runs in blocks (`dot-block-k`, `block-k`), so that a
      // block of rows of `A` stays in the cache for all columns, and a
      // block of a column tile's `B` for all rows: [kLo, kHi) per pass over
      // the columns.
      Value size = sizes[m.k];
      int64_t blockK = m.dot ? opts.dotBlockK : opts.blockK;
      if (blockK <= 0 || knownNotLess(cst(blockK), size))
        return columns(lo, hi, start, end, numRows, numCols, numBlocks, cst(0),
                       size);
      // The dot-product kernel's blocks are whole vectors.
      int64_t w = m.dot ? opts.vectorWidth : 1;
      blockK = (blockK + w - 1) / w * w;
      loop(cst(0), size, blockK, [&](Value kLo) {
        Value kHi =
            fold<arith::MinUIOp>(fold<arith::AddIOp>(kLo, cst(blockK)), size);
        columns(lo, hi, start, end, numRows, numCols, numBlocks, kLo, kHi);
      });
    });
  }

  /// Items [lo, hi) of (outer loops x blocks of columns) for the rows
  /// [start, end) and the reduction indices [kLo, kHi).
  void columns(Value lo, Value hi, Value start, Value end, Value numRows,
               Value numCols, Value numBlocks, Value kLo, Value kHi) {
    int64_t width = blockColumns();
    // One-row tiles over paneled weights take `narrow-panels` whole panels
    // at once (a stream per panel): [lo, groupHi) in groups, the rest (and
    // a partial last panel) one by one below.
    int64_t group = opts.narrowPanels;
    if (narrowRows && m.panel && !m.dot && m.outer.empty() && group > 1) {
      Value fullBlocks = fold<arith::DivUIOp>(numCols, cst(width));
      Value fullHi =
          fold<arith::MaxUIOp>(lo, fold<arith::MinUIOp>(hi, fullBlocks));
      Value groups =
          fold<arith::DivUIOp>(fold<arith::SubIOp>(fullHi, lo), cst(group));
      Value groupHi =
          fold<arith::AddIOp>(lo, fold<arith::MulIOp>(groups, cst(group)));
      if (!knownNotLess(lo, groupHi)) {
        loop(lo, groupHi, group, [&](Value item) {
          Value col = fold<arith::MulIOp>(item, cst(width));
          rowTiles(start, end, col, /*masked=*/false, kLo, kHi, group);
        });
        lo = groupHi;
      }
    }
    loop(lo, hi, 1, [&](Value item) {
      if (!m.outer.empty())
        delinearize(m.outer, fold<arith::DivUIOp>(item, numBlocks), ivs);
      Value col = fold<arith::MulIOp>(fold<arith::RemUIOp>(item, numBlocks),
                                      cst(width));
      if (m.dot)
        return dotTiles(start, end, col, numCols, kLo, kHi);
      // A full block, or the last, partial one (masked).
      Value full = fold<arith::SubIOp>(
          numCols, fold<arith::RemUIOp>(numCols, cst(width)));
      if (knownNotLess(full, numCols))
        return rowTiles(start, end, col, /*masked=*/false, kLo, kHi);
      Value isFull =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, col, full);
      auto ifOp = scf::IfOp::create(b, loc, isFull, /*withElse=*/true);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(ifOp.thenBlock());
      rowTiles(start, end, col, /*masked=*/false, kLo, kHi);
      b.setInsertionPointToStart(ifOp.elseBlock());
      rowTiles(start, end, col, /*masked=*/true, kLo, kHi);
    });
  }

  /// Rows of the register tile (one when no loop is a row).
  int64_t tileRows() const {
    if (m.rows.empty())
      return 1;
    if (narrowRows)
      return 1;
    return m.dot ? opts.dotRows : opts.rows;
  }

  /// Blocks of rows (`block-rows`), and `body(blockStart, blockEnd)` inside.
  void rowBlocks(Value numRows, function_ref<void(Value, Value)> body) {
    int64_t tr = tileRows();
    int64_t block = std::max<int64_t>(tr, (opts.blockRows + tr - 1) / tr * tr);
    loop(cst(0), numRows, block, [&](Value start) {
      Value end =
          fold<arith::MinUIOp>(fold<arith::AddIOp>(start, cst(block)), numRows);
      body(start, end);
    });
  }

  /// The loop values of the `tileRows()` rows of a tile starting at linear
  /// row `first`, clamped to `end - 1` (duplicates recompute the last row).
  SmallVector<SmallVector<Value>> tileRowValues(Value first, Value end) {
    SmallVector<SmallVector<Value>> result;
    Value last = fold<arith::SubIOp>(end, cst(1));
    for (int64_t r = 0; r < tileRows(); ++r) {
      Value row =
          fold<arith::MinUIOp>(fold<arith::AddIOp>(first, cst(r)), last);
      SmallVector<Value> values(ivs);
      delinearize(m.rows, row, values);
      result.push_back(std::move(values));
    }
    return result;
  }

  //===--------------------------------------------------------------------===//
  // Outer-product kernel
  //===--------------------------------------------------------------------===//

  /// The tiles of rows [start, end) (never empty). With paneled weights,
  /// the first tile prefetches the panels' rows ahead (`prefetch-rows`):
  /// it streams them from memory, the later tiles find them in the cache.
  void rowTiles(Value start, Value end, Value col, bool masked, Value kLo,
                Value kHi, int64_t numBlocks = 1) {
    Value from = start;
    if (m.panel && opts.prefetchRows > 0) {
      prefetch = true;
      outerProductTile(start, end, col, masked, kLo, kHi, numBlocks);
      prefetch = false;
      if (narrowRows)
        return;
      from = fold<arith::AddIOp>(start, cst(tileRows()));
    }
    loop(from, end, tileRows(), [&](Value first) {
      outerProductTile(first, end, col, masked, kLo, kHi, numBlocks);
    });
  }

  /// C[rows, col + (0 .. numBlocks * vectors * width)] += the sum over k
  /// in [kLo, kHi) of the products (`numBlocks` > 1: whole panels only).
  void outerProductTile(Value first, Value end, Value col, bool masked,
                        Value kLo, Value kHi, int64_t numBlocks) {
    unsigned n = m.cols.front();
    int64_t perBlock = numVectors(), nv = perBlock * numBlocks, nr = tileRows();
    // A paneled B: the tile's columns are panels col / panel on, whose
    // padding past n is zeros (no mask needed).
    Value panel = m.panel ? fold<arith::DivUIOp>(col, cst(m.panel)) : Value();
    SmallVector<Value> panels;
    for (int64_t i = 0; panel && i < numBlocks; ++i)
      panels.push_back(fold<arith::AddIOp>(panel, cst(i)));
    SmallVector<SmallVector<Value>> rows = tileRowValues(first, end);
    SmallVector<Value> cols, masks;
    for (int64_t t = 0; t < nv; ++t) {
      cols.push_back(fold<arith::AddIOp>(col, cst(t * opts.vectorWidth)));
      if (masked) {
        Value left = fold<arith::SubIOp>(sizes[n], cols.back());
        masks.push_back(vector::CreateMaskOp::create(b, loc, maskType, left));
      } else {
        masks.push_back(Value());
      }
    }
    auto at = [&](int64_t r, int64_t t) {
      SmallVector<Value> values(rows[r]);
      values[n] = cols[t];
      return values;
    };
    // A scale per output row multiplies the tile's sums once, at the end:
    // they start from zero instead of from C.
    bool scaleRows = scale && !m.scaleAlongK;
    SmallVector<Value> init;
    for (int64_t r = 0; r < nr; ++r)
      for (int64_t t = 0; t < nv; ++t)
        init.push_back(scaleRows ? zeroVector() : load(2, at(r, t), masks[t]));
    auto kLoop = scf::ForOp::create(
        b, loc, kLo, kHi, cst(1), init,
        [&](OpBuilder &, Location, Value k, ValueRange acc) {
          // Each panel's row `prefetch-rows` ahead (clamped to the last).
          if (prefetch) {
            Value ahead = fold<arith::MinUIOp>(
                fold<arith::AddIOp>(k, cst(opts.prefetchRows)),
                fold<arith::SubIOp>(sizes[m.k], cst(1)));
            for (Value p : panels)
              for (int64_t t = 0; t < perBlock; ++t)
                memref::PrefetchOp::create(
                    b, loc, bm, ValueRange{p, ahead, cst(t * opts.vectorWidth)},
                    /*isWrite=*/false, /*localityHint=*/3,
                    /*isDataCache=*/true);
          }
          SmallVector<Value> bvec;
          for (int64_t t = 0; t < nv; ++t) {
            if (panel) {
              bvec.push_back(vector::LoadOp::create(
                  b, loc, vecType, bm,
                  ValueRange{panels[t / perBlock], k,
                             cst(t % perBlock * opts.vectorWidth)}));
              continue;
            }
            SmallVector<Value> values = at(0, t);
            values[m.k] = k;
            bvec.push_back(load(1, values, masks[t]));
          }
          // A scale per reduction index multiplies B's row k.
          if (scale && m.scaleAlongK) {
            Value splat = splatAt(3, rows[0], k);
            for (Value &v : bvec)
              v = arith::MulFOp::create(b, loc, v, splat);
          }
          SmallVector<Value> next;
          for (int64_t r = 0; r < nr; ++r) {
            Value splat = splatAt(0, rows[r], k);
            for (int64_t t = 0; t < nv; ++t)
              next.push_back(vector::FMAOp::create(b, loc, splat, bvec[t],
                                                   acc[r * nv + t]));
          }
          scf::YieldOp::create(b, loc, next);
        });
    // Every old value is read before any is written: clamped duplicates of
    // the last row then store the same sum.
    SmallVector<Value> sums(kLoop.getResults());
    if (scaleRows) {
      SmallVector<Value> old;
      for (int64_t r = 0; r < nr; ++r)
        for (int64_t t = 0; t < nv; ++t)
          old.push_back(load(2, at(r, t), masks[t]));
      for (int64_t r = 0; r < nr; ++r) {
        Value splat = splatAt(3, rows[r], kLo);
        for (int64_t t = 0; t < nv; ++t)
          sums[r * nv + t] = vector::FMAOp::create(
              b, loc, splat, sums[r * nv + t], old[r * nv + t]);
      }
    }
    for (int64_t r = 0; r < nr; ++r)
      for (int64_t t = 0; t < nv; ++t)
        store(sums[r * nv + t], at(r, t), masks[t]);
  }

  //===--------------------------------------------------------------------===//
  // Dot-product kernel
  //===--------------------------------------------------------------------===//

  /// The dot-product tiles of rows [start, end).
  void dotTiles(Value start, Value end, Value col, Value numCols, Value kLo,
                Value kHi) {
    loop(start, end, tileRows(),
         [&](Value first) { dotTile(first, end, col, numCols, kLo, kHi); });
  }

  /// C[rows, cols] += the sum over k in [kLo, kHi) of the products.
  void dotTile(Value first, Value end, Value col, Value numCols, Value kLo,
               Value kHi) {
    int64_t nr = tileRows(), nc = opts.dotCols, w = opts.vectorWidth;
    SmallVector<SmallVector<Value>> rows = tileRowValues(first, end);
    SmallVector<SmallVector<Value>> cols;
    Value lastCol = fold<arith::SubIOp>(numCols, cst(1));
    for (int64_t j = 0; j < nc; ++j) {
      Value cj =
          fold<arith::MinUIOp>(fold<arith::AddIOp>(col, cst(j)), lastCol);
      SmallVector<Value> values(ivs);
      delinearize(m.cols, cj, values);
      cols.push_back(std::move(values));
    }
    SmallVector<Value> init(nr * nc, zeroVector());
    // [kLo, full) in whole vectors, then a masked tail up to kHi.
    // kLo is a multiple of w (a block start), so with the reduction a
    // multiple of w, every block is whole.
    std::optional<int64_t> total = getConstantIntValue(sizes[m.k]);
    Value full =
        total && *total % w == 0
            ? kHi
            : fold<arith::SubIOp>(
                  kHi,
                  fold<arith::RemUIOp>(fold<arith::SubIOp>(kHi, kLo), cst(w)));
    // One step of `w` reduction indices from `k`, masked or not.
    auto step = [&](Value k, ValueRange acc, Value mask) {
      SmallVector<Value> avec, bvec;
      for (int64_t r = 0; r < nr; ++r) {
        SmallVector<Value> values(rows[r]);
        values[m.k] = k;
        avec.push_back(load(0, values, mask));
      }
      for (int64_t j = 0; j < nc; ++j) {
        SmallVector<Value> values(cols[j]);
        values[m.k] = k;
        bvec.push_back(load(1, values, mask));
      }
      SmallVector<Value> next;
      for (int64_t r = 0; r < nr; ++r)
        for (int64_t j = 0; j < nc; ++j)
          next.push_back(
              vector::FMAOp::create(b, loc, avec[r], bvec[j], acc[r * nc + j]));
      return next;
    };
    auto kLoop = scf::ForOp::create(
        b, loc, kLo, full, cst(w), init,
        [&](OpBuilder &, Location, Value k, ValueRange acc) {
          scf::YieldOp::create(b, loc, step(k, acc, Value()));
        });
    // The last, partial step of k, under a test unless known.
    SmallVector<Value> sums(kLoop.getResults());
    auto tailStep = [&] {
      Value left = fold<arith::SubIOp>(kHi, full);
      Value mask = vector::CreateMaskOp::create(b, loc, maskType, left);
      return step(full, kLoop.getResults(), mask);
    };
    std::optional<int64_t> cf = getConstantIntValue(full),
                           ch = getConstantIntValue(kHi);
    if (cf && ch && *cf < *ch) {
      sums = tailStep();
    } else if (full != kHi && !knownNotLess(full, kHi)) {
      Value partial =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, full, kHi);
      auto tail = scf::IfOp::create(
          b, loc, partial,
          [&](OpBuilder &, Location) {
            scf::YieldOp::create(b, loc, tailStep());
          },
          [&](OpBuilder &, Location) {
            scf::YieldOp::create(b, loc, kLoop.getResults());
          });
      sums.assign(tail.getResults().begin(), tail.getResults().end());
    }
    // Every old value is read before any is written: clamped duplicates
    // then store the same sum.
    SmallVector<SmallVector<Value>> idx;
    SmallVector<Value> old;
    for (int64_t r = 0; r < nr; ++r)
      for (int64_t j = 0; j < nc; ++j) {
        SmallVector<Value> values(rows[r]);
        for (unsigned l : m.cols)
          values[l] = cols[j][l];
        idx.push_back(indices(2, values));
        old.push_back(memref::LoadOp::create(b, loc, c, idx.back()));
      }
    for (int64_t i = 0; i < nr * nc; ++i) {
      Value sum = vector::ReductionOp::create(
          b, loc, vector::CombiningKind::ADD, sums[i], old[i],
          arith::FastMathFlags::reassoc);
      memref::StoreOp::create(b, loc, sum, c, idx[i]);
    }
  }

  OpBuilder &b;
  Location loc;
  const Contraction &m;
  const SSMCPUContractionKernelsOptions &opts;
  VectorType vecType, maskType;
  SmallVector<AffineMap> maps;
  Value a, bm, c, scale;
  /// The first op built: constants go before it.
  Operation *anchor = nullptr;
  Value zero;
  llvm::SmallDenseMap<int64_t, Value> constants;
  /// Whether the tiles being built have one row (see buildBody).
  bool narrowRows = false;
  /// Whether the tile being built prefetches its panels (see rowTiles).
  bool prefetch = false;
  /// Loop sizes, and the current values of the loops built so far.
  SmallVector<Value> sizes, ivs;
};

struct SSMCPUContractionKernels
    : mlir::ssm::impl::SSMCPUContractionKernelsBase<SSMCPUContractionKernels> {
  using Base::Base;

  void runOnOperation() override {
    if (rows < 1 || vectors < 1 || vectorWidth < 1 || dotRows < 1 ||
        dotCols < 1 || blockRows < 1 || narrowPanels < 1 || prefetchRows < 0) {
      getOperation()->emitError()
          << "ssm-cpu-contraction-kernels: tile sizes must be positive "
             "(prefetch-rows not negative)";
      return signalPassFailure();
    }
    IRRewriter rewriter(&getContext());
    SmallVector<linalg::GenericOp> generics;
    getOperation()->walk([&](linalg::GenericOp op) { generics.push_back(op); });
    for (linalg::GenericOp op : generics)
      foldReductions(rewriter, op);
    SmallVector<std::pair<linalg::GenericOp, Contraction>> found;
    getOperation()->walk([&](linalg::GenericOp op) {
      // Panels of whole vectors only.
      if (std::optional<Contraction> m = match(op);
          m && m->panel % vectorWidth == 0)
        found.emplace_back(op, std::move(*m));
    });
    SSMCPUContractionKernelsOptions options{
        rows,      vectors, vectorWidth,  dotRows,      dotCols, blockRows,
        dotBlockK, blockK,  narrowPanels, prefetchRows, parallel};
    SymbolTable symbols(getOperation());
    for (auto &[op, m] : found) {
      rewriter.setInsertionPoint(op);
      KernelBuilder(rewriter, op, m, options).build(symbols);
      rewriter.eraseOp(op);
    }
  }
};

} // namespace
