//===- Differentiate.cpp - Reverse-mode differentiation of functions ------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Builds, for a function f(x...) -> (y...), its gradient function
// f_grad(x..., dy...) -> (y..., dx...): the forward computation followed by
// the vector-Jacobian products of its ops in reverse order. The rules work on
// linalg on tensors: every linalg.generic's reverse is derived from its body
// (forward-mode derivatives of the scalar ops, contracted with the result's
// adjoint over the loops the operand does not use), and the tensor shape ops
// have their structural reverses.
//
//===----------------------------------------------------------------------===//

#include "ssm/Transforms/Differentiate.h"
#include "ssm/Transforms/Passes.h"

#include "ssm/Dialect/SSM/IR/SSMDialect.h"
#include "ssm/Dialect/SSM/IR/SSMOps.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/Support/JSON.h"
#include <functional>

#include "llvm/Support/MathExtras.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMDIFFERENTIATE
#define GEN_PASS_DEF_SSMSTRIPSTOPGRADIENTS
#include "ssm/Transforms/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;
using namespace mlir::ssm;

static bool isFloatTensor(Type t) {
  auto rt = dyn_cast<RankedTensorType>(t);
  return rt && isa<FloatType>(rt.getElementType());
}

/// A tensor of zeros shaped like `v`.
static Value zerosLike(OpBuilder &b, Location loc, Value v) {
  auto t = cast<RankedTensorType>(v.getType());
  Value empty = tensor::EmptyOp::create(
      b, loc, tensor::getMixedSizes(b, loc, v), t.getElementType());
  Value zero =
      arith::ConstantOp::create(b, loc, b.getZeroAttr(t.getElementType()));
  return linalg::FillOp::create(b, loc, zero, empty).getResult(0);
}

/// a + b elementwise (same shapes).
static Value addTensors(OpBuilder &b, Location loc, Value x, Value y) {
  auto t = cast<RankedTensorType>(x.getType());
  Value init = tensor::EmptyOp::create(b, loc, tensor::getMixedSizes(b, loc, x),
                                       t.getElementType());
  AffineMap id = b.getMultiDimIdentityMap(t.getRank());
  SmallVector<utils::IteratorType> iters(t.getRank(),
                                         utils::IteratorType::parallel);
  auto op = linalg::GenericOp::create(
      b, loc, TypeRange{t}, ValueRange{x, y}, ValueRange{init},
      ArrayRef<AffineMap>{id, id, id}, iters,
      [](OpBuilder &nb, Location l, ValueRange args) {
        Value s = arith::AddFOp::create(nb, l, args[0], args[1]);
        linalg::YieldOp::create(nb, l, s);
      });
  return op.getResult(0);
}

namespace {

/// Scalar arithmetic on possibly-zero (null) tangents.
struct Scalar {
  OpBuilder &b;
  Location loc;

  Value add(Value x, Value y) {
    if (!x)
      return y;
    if (!y)
      return x;
    return arith::AddFOp::create(b, loc, x, y);
  }
  Value sub(Value x, Value y) {
    if (!y)
      return x;
    if (!x)
      return arith::NegFOp::create(b, loc, y);
    return arith::SubFOp::create(b, loc, x, y);
  }
  Value mul(Value x, Value y) {
    if (!x || !y)
      return nullptr;
    return arith::MulFOp::create(b, loc, x, y);
  }
  Value div(Value x, Value y) {
    if (!x)
      return nullptr;
    return arith::DivFOp::create(b, loc, x, y);
  }
  Value neg(Value x) { return x ? arith::NegFOp::create(b, loc, x) : x; }
  Value constant(Type t, double v) {
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(t, v));
  }
  Value orZero(Value x, Type t) { return x ? x : constant(t, 0.0); }
  Value select(Value c, Value x, Value y, Type t) {
    if (!x && !y)
      return nullptr;
    return arith::SelectOp::create(b, loc, c, orZero(x, t), orZero(y, t));
  }
};

/// The reverse of one function.
class Differentiator {
public:
  explicit Differentiator(OpBuilder &b) : b(b) {}

  /// Marks the values that depend on the float tensor arguments of `f`.
  void findActive(func::FuncOp f, ArrayRef<unsigned> constants) {
    for (BlockArgument a : f.getArguments())
      if (isFloatTensor(a.getType()) &&
          !llvm::is_contained(constants, a.getArgNumber()))
        active.insert(a);
    findActive(f.getBody().front());
  }

  /// Marks `seeds` active, then the values of `block`'s ops that depend on
  /// active values.
  void findActive(ArrayRef<Value> seeds, Block &block) {
    active.insert(seeds.begin(), seeds.end());
    findActive(block);
  }

  bool isActive(Value v) const { return active.contains(v); }

  Value adjoint(Value v) const { return adjoints.lookup(v); }

  void addAdjoint(Value primal, Value contribution) {
    if (!contribution)
      return;
    Value &slot = adjoints[primal];
    slot = slot ? addTensors(b, contribution.getLoc(), slot, contribution)
                : contribution;
  }

  LogicalResult reverse(Operation *op) {
    if (llvm::none_of(op->getResults(),
                      [&](Value r) { return adjoints.count(r); }))
      return success();
    bool anyActive = false;
    op->walk([&](Operation *inner) {
      for (Value v : inner->getOperands())
        anyActive |= isActive(v);
    });
    if (!anyActive)
      return success();
    return llvm::TypeSwitch<Operation *, LogicalResult>(op)
        .Case([&](linalg::GenericOp g) { return reverseGeneric(g); })
        .Case([&](scf::ForOp loop) { return reverseFor(loop); })
        .Case([&](linalg::FillOp fill) -> LogicalResult {
          if (isActive(fill.value()))
            return fill.emitOpError(
                "ssm-differentiate: the fill value depends on the "
                "differentiated arguments; not supported yet");
          return success(); // the output is overwritten: no gradient
        })
        .Case([&](tensor::ExtractSliceOp s) {
          Value adj = adjoint(s.getResult());
          if (isActive(s.getSource())) {
            Value z = zerosLike(b, s.getLoc(), s.getSource());
            addAdjoint(s.getSource(),
                       tensor::InsertSliceOp::create(
                           b, s.getLoc(), adj, z, s.getMixedOffsets(),
                           s.getMixedSizes(), s.getMixedStrides()));
          }
          return success();
        })
        .Case([&](tensor::InsertSliceOp s) {
          Value adj = adjoint(s.getResult());
          if (isActive(s.getSource()))
            addAdjoint(s.getSource(),
                       tensor::ExtractSliceOp::create(
                           b, s.getLoc(), s.getSourceType(), adj,
                           s.getMixedOffsets(), s.getMixedSizes(),
                           s.getMixedStrides()));
          if (isActive(s.getDest())) {
            Value z = zerosLike(b, s.getLoc(), s.getSource());
            addAdjoint(s.getDest(),
                       tensor::InsertSliceOp::create(
                           b, s.getLoc(), z, adj, s.getMixedOffsets(),
                           s.getMixedSizes(), s.getMixedStrides()));
          }
          return success();
        })
        .Case([&](tensor::ExpandShapeOp e) {
          if (isActive(e.getSrc()))
            addAdjoint(e.getSrc(), tensor::CollapseShapeOp::create(
                                       b, e.getLoc(), e.getSrcType(),
                                       adjoint(e.getResult()),
                                       e.getReassociationIndices()));
          return success();
        })
        .Case([&](tensor::CollapseShapeOp c) {
          if (isActive(c.getSrc()))
            addAdjoint(c.getSrc(),
                       tensor::ExpandShapeOp::create(
                           b, c.getLoc(), c.getSrcType(),
                           adjoint(c.getResult()), c.getReassociationIndices(),
                           tensor::getMixedSizes(b, c.getLoc(), c.getSrc())));
          return success();
        })
        .Case([&](tensor::CastOp c) {
          if (isActive(c.getSource()))
            addAdjoint(c.getSource(),
                       tensor::CastOp::create(b, c.getLoc(),
                                              c.getSource().getType(),
                                              adjoint(c.getResult())));
          return success();
        })
        .Default([&](Operation *other) -> LogicalResult {
          if (isa<SSMDialect>(other->getDialect()))
            return other->emitOpError(
                "ssm-differentiate has no reverse rule for this op yet: "
                "lower it first (ssm-materialize-mixers, "
                "convert-ssm-to-linalg)");
          return other->emitOpError(
              "ssm-differentiate has no reverse rule for this op");
        });
  }

private:
  OpBuilder &b;
  llvm::DenseSet<Value> active;

  void findActive(Block &block) {
    for (Operation &op : block) {
      if (isa<StopGradientOp>(op))
        continue; // held constant
      bool any = false;
      op.walk([&](Operation *inner) {
        for (Value v : inner->getOperands())
          any |= active.contains(v);
      });
      if (!any)
        continue;
      for (Value r : op.getResults())
        if (isa<FloatType>(getElementTypeOrSelf(r.getType())))
          active.insert(r);
    }
  }
  DenseMap<Value, Value> adjoints;

  /// How output k of a generic combines its value over the reduction loops.
  enum class Combiner { None, Add, Select };

  LogicalResult reverseGeneric(linalg::GenericOp g);
  LogicalResult reverseFor(scf::ForOp loop);
  Value sumGroups(Location loc, Value t,
                  ArrayRef<std::pair<size_t, int64_t>> groups);
  Value reverseDims(Location loc, Value t,
                    ArrayRef<std::pair<size_t, int64_t>> flips);
  Value emitContribution(OpBuilder &nb, Location l, linalg::GenericOp g,
                         ArrayRef<Combiner> combiners, ArrayRef<Value> reduced,
                         ValueRange args, ValueRange ivs, ArrayRef<Value> adjs,
                         ArrayRef<Value> results, Value seed,
                         Operation *&failedOp, IRMapping *primalOut = nullptr);
  LogicalResult scatterGathered(linalg::GenericOp g, Value table,
                                ArrayRef<Combiner> combiners,
                                ArrayRef<Value> reduced);
};

} // namespace

/// The forward-mode derivative of the scalar op `op` whose clone is `c`,
/// given the tangents of its operands (null: zero). Sets `ok` to false when
/// the op has no rule.
static Value tangentOf(Scalar &s, Operation *op, Operation *c,
                       ArrayRef<Value> t, bool &ok) {
  auto x = [&](unsigned i) { return c->getOperand(i); };
  Value r = c->getNumResults() == 1 ? c->getResult(0) : Value();
  Type type = r ? r.getType() : Type();
  if (!r || !isa<FloatType>(type))
    return nullptr; // integer, index and i1 values carry no derivative
  if (llvm::all_of(t, [](Value v) { return !v; }) && !isa<arith::SelectOp>(op))
    return nullptr;
  return llvm::TypeSwitch<Operation *, Value>(op)
      .Case([&](arith::AddFOp) { return s.add(t[0], t[1]); })
      .Case([&](arith::SubFOp) { return s.sub(t[0], t[1]); })
      .Case([&](arith::MulFOp) {
        return s.add(s.mul(t[0], x(1)), s.mul(x(0), t[1]));
      })
      .Case([&](arith::DivFOp) {
        // d(a/b) = (da - db * (a/b)) / b
        return s.div(s.sub(t[0], s.mul(t[1], r)), x(1));
      })
      .Case([&](arith::NegFOp) { return s.neg(t[0]); })
      .Case<arith::MaximumFOp, arith::MaxNumFOp>([&](Operation *) {
        Value ge = arith::CmpFOp::create(s.b, s.loc, arith::CmpFPredicate::OGE,
                                         x(0), x(1));
        return s.select(ge, t[0], t[1], type);
      })
      .Case<arith::MinimumFOp, arith::MinNumFOp>([&](Operation *) {
        Value le = arith::CmpFOp::create(s.b, s.loc, arith::CmpFPredicate::OLE,
                                         x(0), x(1));
        return s.select(le, t[0], t[1], type);
      })
      .Case([&](arith::SelectOp) { return s.select(x(0), t[1], t[2], type); })
      .Case([&](arith::ExtFOp) -> Value {
        return t[0] ? arith::ExtFOp::create(s.b, s.loc, type, t[0]) : t[0];
      })
      .Case([&](arith::TruncFOp) -> Value {
        return t[0] ? arith::TruncFOp::create(s.b, s.loc, type, t[0]) : t[0];
      })
      .Case([&](math::ExpOp) { return s.mul(t[0], r); })
      .Case([&](math::Exp2Op) {
        return s.mul(t[0], s.mul(r, s.constant(type, llvm::numbers::ln2)));
      })
      .Case([&](math::ExpM1Op) {
        return s.mul(t[0], s.add(r, s.constant(type, 1.0)));
      })
      .Case([&](math::LogOp) { return s.div(t[0], x(0)); })
      .Case([&](math::Log1pOp) {
        return s.div(t[0], s.add(x(0), s.constant(type, 1.0)));
      })
      .Case([&](math::Log2Op) {
        return s.div(t[0], s.mul(x(0), s.constant(type, llvm::numbers::ln2)));
      })
      .Case([&](math::SqrtOp) {
        return s.div(t[0], s.mul(r, s.constant(type, 2.0)));
      })
      .Case([&](math::RsqrtOp) {
        // d(a^-1/2) = -1/2 a^-3/2 da = -1/2 r / a da
        return s.mul(t[0], s.div(s.mul(r, s.constant(type, -0.5)), x(0)));
      })
      .Case([&](math::TanhOp) {
        return s.mul(t[0], s.sub(s.constant(type, 1.0), s.mul(r, r)));
      })
      .Case([&](math::SinOp) {
        return s.mul(t[0], math::CosOp::create(s.b, s.loc, x(0)));
      })
      .Case([&](math::CosOp) {
        return s.neg(s.mul(t[0], math::SinOp::create(s.b, s.loc, x(0))));
      })
      .Case([&](math::AbsFOp) {
        Value negative = arith::CmpFOp::create(
            s.b, s.loc, arith::CmpFPredicate::OLT, x(0), s.constant(type, 0));
        return s.select(negative, s.neg(t[0]), t[0], type);
      })
      .Case([&](math::ErfOp) {
        // 2/sqrt(pi) exp(-a^2)
        Value sq = s.mul(x(0), x(0));
        Value e = math::ExpOp::create(s.b, s.loc, s.neg(sq));
        return s.mul(t[0],
                     s.mul(e, s.constant(type, llvm::numbers::inv_sqrtpi * 2)));
      })
      .Case([&](math::PowFOp) {
        // d(a^c) = c a^(c-1) da + a^c log(a) dc
        Value da;
        if (t[0]) {
          Value cm1 = s.sub(x(1), s.constant(type, 1.0));
          Value p = math::PowFOp::create(s.b, s.loc, x(0), cm1);
          da = s.mul(t[0], s.mul(x(1), p));
        }
        Value dc;
        if (t[1])
          dc = s.mul(t[1], s.mul(r, math::LogOp::create(s.b, s.loc, x(0))));
        return s.add(da, dc);
      })
      .Case([&](math::FmaOp) {
        return s.add(s.add(s.mul(t[0], x(1)), s.mul(x(0), t[1])), t[2]);
      })
      .Case<math::FloorOp, math::CeilOp, math::RoundOp, math::RoundEvenOp,
            math::TruncOp>([&](Operation *) { return Value(); })
      .Default([&](Operation *) {
        ok = false;
        return Value();
      });
}

/// Emits at `nb`'s insertion point the body of `g` on the element values
/// `args` (one per operand of `g`) and, when `ivs` is not empty, at those
/// loop indices (replacing linalg.index); returns sum_k adjs[k] *
/// d(out_k)/d(seed) (null: zero), where `seed` is a block argument or a
/// value of the body. Sets `failedOp` to a body op without a rule.
Value Differentiator::emitContribution(
    OpBuilder &nb, Location l, linalg::GenericOp g,
    ArrayRef<Combiner> combiners, ArrayRef<Value> reduced, ValueRange args,
    ValueRange ivs, ArrayRef<Value> adjs, ArrayRef<Value> results, Value seed,
    Operation *&failedOp, IRMapping *primalOut) {
  Block *body = g.getBody();
  auto yield = cast<linalg::YieldOp>(body->getTerminator());
  Scalar s{nb, l};
  IRMapping primal;
  DenseMap<Value, Value> tangent;
  for (auto [i, a] : llvm::enumerate(args))
    primal.map(body->getArgument(i), a);
  if (isa<BlockArgument>(seed))
    tangent[seed] = s.constant(seed.getType(), 1.0); // d(seed)/d(seed) = 1
  for (Operation &op : body->without_terminator()) {
    if (auto index = dyn_cast<linalg::IndexOp>(op); index && !ivs.empty()) {
      primal.map(index.getResult(), ivs[index.getDim()]);
      continue;
    }
    Operation *c = nb.clone(op, primal);
    if (op.getNumRegions() != 0) {
      failedOp = &op;
      continue;
    }
    if (op.getNumResults() == 1 && op.getResult(0) == seed) {
      tangent[seed] = s.constant(seed.getType(), 1.0);
      continue;
    }
    SmallVector<Value> t;
    for (Value v : op.getOperands())
      t.push_back(tangent.lookup(v));
    bool ruleOk = true;
    Value tr = tangentOf(s, &op, c, t, ruleOk);
    if (!ruleOk)
      failedOp = &op;
    if (tr)
      tangent[op.getResult(0)] = tr;
  }
  Value total;
  for (unsigned k = 0; k < g.getNumDpsInits(); ++k) {
    if (!adjs[k])
      continue;
    Value e = combiners[k] == Combiner::None ? yield.getOperand(k) : reduced[k];
    Value te = tangent.lookup(e);
    if (!te)
      continue;
    Value contribution = s.mul(adjs[k], te);
    if (combiners[k] == Combiner::Select) {
      // Only the point that attains the max/min receives it.
      Value attains = arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OEQ,
                                            primal.lookup(e), results[k]);
      contribution = s.select(attains, contribution, nullptr, te.getType());
    }
    total = s.add(total, contribution);
  }
  if (primalOut)
    *primalOut = primal;
  return total;
}

/// Whether output `k` of `g` yields its accumulator plus terms that do not
/// depend on any accumulator (acc + e, acc - e, also under selects whose
/// condition does not depend on one: a masked sum). The reverse of such an
/// output never reads the accumulator's value.
static bool isAdditiveOutput(linalg::GenericOp g, unsigned k) {
  Block *body = g.getBody();
  unsigned numIns = g.getNumDpsInputs();
  auto isAcc = [&](Value v) {
    auto a = dyn_cast<BlockArgument>(v);
    return a && a.getOwner() == body && a.getArgNumber() >= numIns;
  };
  std::function<bool(Value)> dependsOnAcc = [&](Value v) -> bool {
    if (isAcc(v))
      return true;
    Operation *def = v.getDefiningOp();
    if (!def || def->getBlock() != body)
      return false;
    return llvm::any_of(def->getOperands(), dependsOnAcc);
  };
  std::function<bool(Value, Value)> additive = [&](Value y, Value acc) -> bool {
    if (y == acc)
      return true;
    Operation *def = y.getDefiningOp();
    if (!def || def->getBlock() != body)
      return false;
    if (isa<arith::AddFOp>(def))
      return (additive(def->getOperand(0), acc) &&
              !dependsOnAcc(def->getOperand(1))) ||
             (additive(def->getOperand(1), acc) &&
              !dependsOnAcc(def->getOperand(0)));
    if (isa<arith::SubFOp>(def))
      return additive(def->getOperand(0), acc) &&
             !dependsOnAcc(def->getOperand(1));
    if (auto sel = dyn_cast<arith::SelectOp>(def))
      return !dependsOnAcc(sel.getCondition()) &&
             additive(sel.getTrueValue(), acc) &&
             additive(sel.getFalseValue(), acc);
    return false;
  };
  Value y = body->getTerminator()->getOperand(k);
  return additive(y, body->getArgument(numIns + k));
}

LogicalResult Differentiator::reverseGeneric(linalg::GenericOp g) {
  Location loc = g.getLoc();
  Block *body = g.getBody();
  auto yield = cast<linalg::YieldOp>(body->getTerminator());
  unsigned numIns = g.getNumDpsInputs();
  unsigned numOuts = g.getNumDpsInits();
  bool reduces = g.getNumReductionLoops() > 0;
  SmallVector<AffineMap> maps = g.getIndexingMapsArray();

  // Values the body captures from above that need a gradient: tables it
  // reads elements of (tensor.extract, an embedding lookup).
  llvm::SetVector<Value> tables;
  WalkResult captured = g.getRegion().walk([&](Operation *inner) {
    for (Value v : inner->getOperands()) {
      if (!isActive(v) || g.getRegion().isAncestor(v.getParentRegion()))
        continue;
      if (llvm::none_of(inner->getResultTypes(), [](Type t) {
            return isa<FloatType>(getElementTypeOrSelf(t));
          }))
        continue; // tensor.dim and the like: no derivative

      auto extract = dyn_cast<tensor::ExtractOp>(inner);
      if (extract && extract.getTensor() == v && inner->getBlock() == body) {
        tables.insert(v);
        continue;
      }
      inner->emitOpError("ssm-differentiate: the body of a linalg.generic "
                         "reads a value it captures from above that "
                         "depends on the differentiated arguments (other "
                         "than through tensor.extract); not supported yet");
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  if (captured.wasInterrupted())
    return failure();

  // The combiners of the reduced outputs: additive in the accumulator
  // (acc + e, also under selects: a masked sum), or max/min(acc, e).
  SmallVector<Combiner> combiners(numOuts, Combiner::None);
  SmallVector<Value> reduced(numOuts); // e, the value combined into acc
  for (unsigned k = 0; k < numOuts; ++k) {
    if (!reduces || !adjoint(g.getResult(k)))
      continue;
    BlockArgument acc = body->getArgument(numIns + k);
    Value y = yield.getOperand(k);
    if (isAdditiveOutput(g, k)) {
      // d(y)/d(x) with the accumulators held constant is d(e)/d(x).
      combiners[k] = Combiner::Add;
      reduced[k] = y;
      continue;
    }
    Operation *def = y.getDefiningOp();
    bool single = acc.hasOneUse() && def && def->getNumOperands() == 2 &&
                  llvm::is_contained(def->getOperands(), Value(acc));
    if (single && isa<arith::MaximumFOp, arith::MaxNumFOp, arith::MinimumFOp,
                      arith::MinNumFOp>(def)) {
      combiners[k] = Combiner::Select;
      reduced[k] =
          def->getOperand(0) == acc ? def->getOperand(1) : def->getOperand(0);
      continue;
    }
    return g.emitOpError("ssm-differentiate: output #")
           << k
           << " is reduced by a combiner other than a sum (acc + e, possibly "
              "masked by selects), max or min of the accumulator; no reverse "
              "rule";
  }

  for (Value table : tables)
    if (failed(scatterGathered(g, table, combiners, reduced)))
      return failure();

  // One gradient generic per active operand, over the same loops.
  for (unsigned j = 0; j < numIns + numOuts; ++j) {
    Value operand = g->getOperand(j);
    if (!isActive(operand))
      continue;
    if (!isa<RankedTensorType>(operand.getType()))
      return g.emitOpError("ssm-differentiate: scalar operand #")
             << j
             << " depends on the differentiated arguments; not "
                "supported yet";
    BlockArgument seed = body->getArgument(j);
    if (j >= numIns) {
      unsigned k = j - numIns;
      Value adj = adjoint(g.getResult(k));
      if (reduces) {
        if (combiners[k] == Combiner::Add) {
          addAdjoint(operand, adj); // d(init + sum e)/d(init) = 1
          continue;
        }
        if (combiners[k] == Combiner::Select)
          return g.emitOpError("ssm-differentiate: the initial value of a "
                               "max/min reduction depends on the "
                               "differentiated arguments; not supported yet");
        continue; // no adjoint for this output: nothing flows back
      }
      if (seed.use_empty())
        continue; // overwritten
    }
    // The operand's map: distinct loops, or constants (a fixed index, as
    // in the taps of a convolution). The gradient op writes the part of
    // the gradient the loops index; constants select the slice it goes to.
    AffineMap map = maps[j];
    auto operandType = cast<RankedTensorType>(operand.getType());
    SmallVector<AffineExpr> loopResults;
    SmallVector<OpFoldResult> offsets, sizes, reducedSizes, loopSizes;
    SmallVector<std::pair<size_t, int64_t>> groups; // (dim, group size)
    SmallVector<std::pair<size_t, int64_t>> flips;  // (dim, c): c - d
    llvm::SmallBitVector used(g.getNumLoops());
    bool projection = true;
    for (auto [r, result] : llvm::enumerate(map.getResults())) {
      AffineExpr e = result;
      OpFoldResult size =
          tensor::getMixedSize(b, loc, operand, static_cast<int64_t>(r));
      if (auto c = dyn_cast<AffineConstantExpr>(e)) {
        offsets.push_back(b.getIndexAttr(c.getValue()));
        sizes.push_back(b.getIndexAttr(1));
        continue;
      }
      // d floordiv c: c consecutive points of loop d share the element (a
      // group of heads reading one key or B/C head): the gradient is
      // computed along d, then summed over each group.
      int64_t factor = 1;
      if (auto bin = dyn_cast<AffineBinaryOpExpr>(e);
          bin && bin.getKind() == AffineExprKind::FloorDiv) {
        auto c = dyn_cast<AffineConstantExpr>(bin.getRHS());
        if (c && c.getValue() > 0) {
          factor = c.getValue();
          e = bin.getLHS();
        }
      }
      // c - d over d in [0, c]: the dimension reversed (the partner of a
      // rotary pair): the gradient is computed along d, then reversed.
      std::optional<int64_t> reflect;
      if (auto sum = dyn_cast<AffineBinaryOpExpr>(e);
          sum && sum.getKind() == AffineExprKind::Add) {
        AffineExpr lhs = sum.getLHS(), rhs = sum.getRHS();
        if (isa<AffineConstantExpr>(lhs))
          std::swap(lhs, rhs);
        auto c = dyn_cast<AffineConstantExpr>(rhs);
        auto mul = dyn_cast<AffineBinaryOpExpr>(lhs);
        if (c && mul && mul.getKind() == AffineExprKind::Mul &&
            isa<AffineDimExpr>(mul.getLHS())) {
          auto m = dyn_cast<AffineConstantExpr>(mul.getRHS());
          std::optional<int64_t> n = getConstantIntValue(size);
          if (m && m.getValue() == -1 && n && *n == c.getValue() + 1) {
            reflect = c.getValue();
            e = mul.getLHS();
          }
        }
      }
      auto d = dyn_cast<AffineDimExpr>(e);
      if (!d || used.test(d.getPosition())) {
        projection = false;
        break;
      }
      if (reflect)
        flips.push_back({reducedSizes.size(), *reflect});
      used.set(d.getPosition());
      loopResults.push_back(e);
      offsets.push_back(b.getIndexAttr(0));
      sizes.push_back(size);
      if (factor != 1) {
        if (loopSizes.empty())
          for (Range range : cast<linalg::LinalgOp>(g.getOperation())
                                 .createLoopRanges(b, loc))
            loopSizes.push_back(range.size);
        groups.push_back({reducedSizes.size(), factor});
        reducedSizes.push_back(loopSizes[d.getPosition()]);
        continue;
      }
      reducedSizes.push_back(size);
    }
    if (!projection)
      return g.emitOpError("ssm-differentiate: operand #")
             << j << " is read through " << AffineMapAttr::get(map)
             << ", not a projection of the loops; no reverse rule yet";
    bool sliced = loopResults.size() != map.getNumResults();

    // Inputs of the gradient op: the original operands, then per output
    // with an adjoint its result (for max/min) and its adjoint.
    SmallVector<Value> inputs(g->getOperands());
    SmallVector<AffineMap> newMaps(maps);
    SmallVector<int> resultArg(numOuts, -1), adjArg(numOuts, -1);
    for (unsigned k = 0; k < numOuts; ++k) {
      Value adj = adjoint(g.getResult(k));
      if (!adj)
        continue;
      if (combiners[k] == Combiner::Select) {
        resultArg[k] = inputs.size();
        inputs.push_back(g.getResult(k));
        newMaps.push_back(maps[numIns + k]);
      }
      adjArg[k] = inputs.size();
      inputs.push_back(adj);
      newMaps.push_back(maps[numIns + k]);
    }
    newMaps.push_back(AffineMap::get(map.getNumDims(), map.getNumSymbols(),
                                     loopResults, g.getContext()));
    SmallVector<utils::IteratorType> iters;
    for (unsigned d = 0; d < g.getNumLoops(); ++d)
      iters.push_back(used.test(d) ? utils::IteratorType::parallel
                                   : utils::IteratorType::reduction);
    Value init;
    if (!sliced && groups.empty() && flips.empty()) {
      init = zerosLike(b, loc, operand);
    } else {
      Value empty = tensor::EmptyOp::create(b, loc, reducedSizes,
                                            operandType.getElementType());
      Value zero = arith::ConstantOp::create(
          b, loc, b.getZeroAttr(operandType.getElementType()));
      init = linalg::FillOp::create(b, loc, zero, empty).getResult(0);
    }

    Operation *failedOp = nullptr;
    bool any = false;
    auto grad = linalg::GenericOp::create(
        b, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, newMaps,
        iters, [&](OpBuilder &nb, Location l, ValueRange args) {
          SmallVector<Value> adjs(numOuts), results(numOuts);
          for (unsigned k = 0; k < numOuts; ++k) {
            if (adjArg[k] >= 0)
              adjs[k] = args[adjArg[k]];
            if (resultArg[k] >= 0)
              results[k] = args[resultArg[k]];
          }
          Value total = emitContribution(
              nb, l, g, combiners, reduced, args.take_front(numIns + numOuts),
              /*ivs=*/{}, adjs, results, seed, failedOp);
          Scalar s{nb, l};
          Value acc = args.back();
          any = total != nullptr;
          linalg::YieldOp::create(nb, l, total ? s.add(acc, total) : acc);
        });
    if (failedOp) {
      grad->erase();
      return failedOp->emitOpError(
          "ssm-differentiate: no derivative rule for this op in the body of "
          "a linalg.generic");
    }
    if (!any) {
      grad->erase();
      continue;
    }
    Value result = grad.getResult(0);
    if (!flips.empty())
      result = reverseDims(loc, result, flips);
    if (!groups.empty())
      result = sumGroups(loc, result, groups);
    // Static sizes the group sums found may be dynamic in the operand.
    SmallVector<int64_t> shape;
    for (auto [r, e] : llvm::enumerate(map.getResults()))
      if (!isa<AffineConstantExpr>(e))
        shape.push_back(operandType.getDimSize(r));
    auto wanted = RankedTensorType::get(shape, operandType.getElementType());
    if (result.getType() != wanted)
      result = tensor::CastOp::create(b, loc, wanted, result);
    if (sliced) {
      SmallVector<OpFoldResult> strides(offsets.size(), b.getIndexAttr(1));
      result = tensor::InsertSliceOp::create(
          b, loc, result, zerosLike(b, loc, operand), offsets, sizes, strides);
    }
    addAdjoint(operand, result);
  }
  return success();
}

/// Whether `v` is a tensor of zeros made by zerosLike.
static bool isZeros(Value v) {
  auto fill = v.getDefiningOp<linalg::FillOp>();
  return fill && matchPattern(fill.value(), m_AnyZeroFloat());
}

/// acc + contribution; a contribution that is a slice inserted into zeros
/// (the reverse of tensor.extract_slice) is added to that slice of `acc`
/// only, so a loop that reads one row of a captured tensor per iteration
/// accumulates its gradient in time proportional to the row.
static Value accumulate(OpBuilder &b, Location loc, Value acc,
                        Value contribution) {
  auto insert = contribution.getDefiningOp<tensor::InsertSliceOp>();
  if (!insert || !isZeros(insert.getDest()))
    return addTensors(b, loc, acc, contribution);
  Value old = tensor::ExtractSliceOp::create(
      b, loc, insert.getSourceType(), acc, insert.getMixedOffsets(),
      insert.getMixedSizes(), insert.getMixedStrides());
  Value sum = addTensors(b, loc, old, insert.getSource());
  return tensor::InsertSliceOp::create(
      b, loc, sum, acc, insert.getMixedOffsets(), insert.getMixedSizes(),
      insert.getMixedStrides());
}

/// Row `i` of `tape` (n, shape...) as a tensor of `type` (shape...).
static Value tapeRow(OpBuilder &b, Location loc, Value tape, Value i,
                     RankedTensorType type) {
  SmallVector<OpFoldResult> offsets(type.getRank() + 1, b.getIndexAttr(0));
  SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1)};
  SmallVector<OpFoldResult> strides(type.getRank() + 1, b.getIndexAttr(1));
  offsets[0] = i;
  for (int64_t d = 0; d < type.getRank(); ++d)
    sizes.push_back(tensor::getMixedSize(b, loc, tape, d + 1));
  return tensor::ExtractSliceOp::create(b, loc, type, tape, offsets, sizes,
                                        strides);
}

/// The reverse of an scf.for. The loop is replaced by one that also records
/// the values it carries into each iteration (a tape of trip count x carried
/// size: the memory this costs is the price of the rule). A second loop then
/// runs the iterations backwards: it recomputes each iteration's body from
/// its taped inputs and applies the body's reverse, carrying the adjoints of
/// the loop-carried values and accumulating those of the values the body
/// captures from above.
LogicalResult Differentiator::reverseFor(scf::ForOp loop) {
  Location loc = loop.getLoc();
  if (!loop.getInductionVar().getType().isIndex())
    return loop.emitOpError("ssm-differentiate: the induction variable is not "
                            "an index; no reverse rule yet");
  unsigned numCarried = loop.getNumRegionIterArgs();
  for (Value init : loop.getInitArgs())
    if (!isa<RankedTensorType>(init.getType()))
      return loop.emitOpError("ssm-differentiate: a loop-carried value is "
                              "not a ranked tensor; no reverse rule yet");
  llvm::SetVector<Value> above;
  getUsedValuesDefinedAbove(loop.getRegion(), above);
  SmallVector<Value> captured;
  for (Value v : above) {
    if (!isActive(v))
      continue;
    if (!isFloatTensor(v.getType()))
      return loop.emitOpError("ssm-differentiate: the loop body captures a "
                              "scalar that depends on the differentiated "
                              "arguments; not supported yet");
    captured.push_back(v);
  }

  // The taping loop, in place of the original (right after it, so that the
  // original's users can read its results).
  OpBuilder fb(loop->getContext());
  fb.setInsertionPointAfter(loop);
  Value lb = loop.getLowerBound(), ub = loop.getUpperBound(),
        step = loop.getStep();
  Value zero = arith::ConstantIndexOp::create(fb, loc, 0);
  Value one = arith::ConstantIndexOp::create(fb, loc, 1);
  Value trips = arith::CeilDivSIOp::create(
      fb, loc, arith::SubIOp::create(fb, loc, ub, lb), step);
  trips = arith::MaxSIOp::create(fb, loc, trips, zero);
  Block *body = loop.getBody();
  auto yield = cast<scf::YieldOp>(body->getTerminator());
  // A carried value whose contents the reverse never reads needs no tape:
  // one the body only writes slices of (an insert_slice into it is its one
  // use, and the result is yielded in its place: the chunk states of a
  // chunked scan), and one the body only adds to (it is the accumulator of
  // a reduction that adds into it, and the sum is yielded in its place: the
  // output of attention over key tiles, a running sum).
  auto unread = [&](unsigned j) {
    BlockArgument c = loop.getRegionIterArgs()[j];
    if (!c.hasOneUse())
      return false;
    OpOperand &use = *c.getUses().begin();
    Operation *user = use.getOwner();
    if (user->getBlock() != body || user->getNumResults() == 0)
      return false;
    Value written;
    if (auto insert = dyn_cast<tensor::InsertSliceOp>(user)) {
      if (insert.getDest() != c)
        return false;
      written = insert.getResult();
    } else if (auto g = dyn_cast<linalg::GenericOp>(user)) {
      if (!g.isDpsInit(&use) || g.getNumReductionLoops() == 0)
        return false;
      unsigned k = use.getOperandNumber() - g.getNumDpsInputs();
      if (!isAdditiveOutput(g, k))
        return false;
      written = g.getResult(k);
    } else {
      return false;
    }
    return yield.getOperand(j) == written && written.hasOneUse();
  };
  SmallVector<int> tapeOf(numCarried, -1);
  unsigned numTapes = 0;
  for (unsigned j = 0; j < numCarried; ++j)
    if (!unread(j))
      tapeOf[j] = numTapes++;
  SmallVector<Value> inits(loop.getInitArgs());
  for (unsigned j = 0; j < numCarried; ++j) {
    if (tapeOf[j] < 0)
      continue;
    Value init = loop.getInitArgs()[j];
    auto t = cast<RankedTensorType>(init.getType());
    SmallVector<OpFoldResult> sizes = {trips};
    llvm::append_range(sizes, tensor::getMixedSizes(fb, loc, init));
    inits.push_back(
        tensor::EmptyOp::create(fb, loc, sizes, t.getElementType()));
  }
  auto taping = scf::ForOp::create(
      fb, loc, lb, ub, step, inits,
      [&](OpBuilder &nb, Location l, Value iv, ValueRange args) {
        Value i = arith::DivUIOp::create(
            nb, l, arith::SubIOp::create(nb, l, iv, lb), step);
        IRMapping map;
        map.map(loop.getInductionVar(), iv);
        SmallVector<Value> results;
        SmallVector<Value> tapes;
        for (unsigned j = 0; j < numCarried; ++j) {
          Value c = args[j];
          map.map(loop.getRegionIterArgs()[j], c);
          if (tapeOf[j] < 0)
            continue;
          auto t = cast<RankedTensorType>(c.getType());
          Value tape = args[numCarried + tapeOf[j]];
          SmallVector<OpFoldResult> offsets(t.getRank() + 1,
                                            nb.getIndexAttr(0));
          SmallVector<OpFoldResult> sizes = {nb.getIndexAttr(1)};
          SmallVector<OpFoldResult> strides(t.getRank() + 1,
                                            nb.getIndexAttr(1));
          offsets[0] = i;
          llvm::append_range(sizes, tensor::getMixedSizes(nb, l, c));
          tapes.push_back(tensor::InsertSliceOp::create(nb, l, c, tape, offsets,
                                                        sizes, strides));
        }
        for (Operation &op : body->without_terminator())
          nb.clone(op, map);
        for (Value v : yield.getOperands())
          results.push_back(map.lookupOrDefault(v));
        llvm::append_range(results, tapes);
        scf::YieldOp::create(nb, l, results);
      });
  SmallVector<Value> newResults(taping.getResults().take_front(numCarried));
  // The adjoints of the results, read before the results are replaced.
  SmallVector<Value> resultAdjoints;
  for (Value r : loop.getResults())
    resultAdjoints.push_back(adjoint(r));
  loop->replaceAllUsesWith(newResults);
  ValueRange tapes = taping.getResults().drop_front(numCarried);

  // The reverse loop: iteration k undoes forward iteration n - 1 - k.
  SmallVector<unsigned> floatCarried;
  SmallVector<Value> revInits;
  for (unsigned j = 0; j < numCarried; ++j) {
    if (!isFloatTensor(loop.getResult(j).getType()))
      continue;
    floatCarried.push_back(j);
    revInits.push_back(resultAdjoints[j]
                           ? resultAdjoints[j]
                           : zerosLike(b, loc, loop.getInitArgs()[j]));
  }
  for (Value v : captured)
    revInits.push_back(zerosLike(b, loc, v));
  Value revZero = arith::ConstantIndexOp::create(b, loc, 0);
  Value revOne = arith::ConstantIndexOp::create(b, loc, 1);
  Value revTrips = trips;
  bool failedReverse = false;
  // The body is built in place (not in a body-builder callback), so that
  // the values of the reverse iteration sit in a region of a real op: the
  // rules walk their parent regions.
  auto rev = scf::ForOp::create(b, loc, revZero, revTrips, revOne, revInits);
  {
    Block *revBody = rev.getBody();
    if (!revBody->empty())
      revBody->getTerminator()->erase();
    OpBuilder nb = OpBuilder::atBlockEnd(revBody);
    Location l = loc;
    Value k = rev.getInductionVar();
    ValueRange args = rev.getRegionIterArgs();
    Value last = arith::SubIOp::create(nb, l, revTrips, revOne);
    Value i = arith::SubIOp::create(nb, l, last, k);
    Value t =
        arith::AddIOp::create(nb, l, lb, arith::MulIOp::create(nb, l, i, step));
    IRMapping map;
    map.map(loop.getInductionVar(), t);
    SmallVector<Value> inputs;
    for (unsigned j = 0; j < numCarried; ++j) {
      auto type = cast<RankedTensorType>(loop.getRegionIterArgs()[j].getType());
      // An unread value's contents (see above) are never read: an empty
      // tensor of its shape stands in for it.
      Value c = tapeOf[j] >= 0
                    ? tapeRow(nb, l, tapes[tapeOf[j]], i, type)
                    : tensor::EmptyOp::create(
                          nb, l, tensor::getMixedSizes(nb, l, newResults[j]),
                          type.getElementType())
                          .getResult();
      map.map(loop.getRegionIterArgs()[j], c);
      inputs.push_back(c);
    }
    // Recompute the iteration, then reverse it.
    SmallVector<Operation *> recomputed;
    for (Operation &op : body->without_terminator())
      recomputed.push_back(nb.clone(op, map));
    Differentiator inner(nb);
    SmallVector<Value> seeds;
    for (unsigned j : floatCarried)
      seeds.push_back(inputs[j]);
    llvm::append_range(seeds, captured);
    inner.findActive(seeds, *nb.getInsertionBlock());
    for (auto [n, j] : llvm::enumerate(floatCarried)) {
      Value y = map.lookupOrDefault(yield.getOperand(j));
      if (inner.isActive(y))
        inner.addAdjoint(y, args[n]);
    }
    for (Operation *op : llvm::reverse(recomputed))
      if (failed(inner.reverse(op))) {
        failedReverse = true;
        break;
      }
    SmallVector<Value> next;
    for (unsigned j : floatCarried) {
      Value a = inner.adjoint(inputs[j]);
      next.push_back(a ? a : zerosLike(nb, l, inputs[j]));
    }
    for (auto [m, v] : llvm::enumerate(captured)) {
      Value acc = args[floatCarried.size() + m];
      Value a = inner.adjoint(v);
      next.push_back(a ? accumulate(nb, l, acc, a) : acc);
    }
    scf::YieldOp::create(nb, l, next);
  }
  if (failedReverse)
    return failure(); // the body op without a rule has said why
  for (auto [n, j] : llvm::enumerate(floatCarried))
    if (isActive(loop.getInitArgs()[j]))
      addAdjoint(loop.getInitArgs()[j], rev.getResult(n));
  for (auto [m, v] : llvm::enumerate(captured))
    addAdjoint(v, rev.getResult(floatCarried.size() + m));
  return success();
}

/// The reverse of the elements a generic's body reads from a captured
/// tensor (tensor.extract at computed indices, as in an embedding lookup):
/// the adjoints are added into the table's gradient at those indices, in a
/// loop nest over the generic's iteration space (sequential: indices may
/// repeat).
LogicalResult Differentiator::scatterGathered(linalg::GenericOp g, Value table,
                                              ArrayRef<Combiner> combiners,
                                              ArrayRef<Value> reduced) {
  Location loc = g.getLoc();
  Block *body = g.getBody();
  unsigned numOuts = g.getNumDpsInits();
  SmallVector<AffineMap> maps = g.getIndexingMapsArray();
  SmallVector<tensor::ExtractOp> extracts;
  for (Operation &op : body->without_terminator())
    if (auto e = dyn_cast<tensor::ExtractOp>(op); e && e.getTensor() == table)
      extracts.push_back(e);
  SmallVector<Value> lbs, ubs, steps;
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  for (Range r :
       cast<linalg::LinalgOp>(g.getOperation()).createLoopRanges(b, loc)) {
    lbs.push_back(zero);
    ubs.push_back(getValueOrCreateConstantIndexOp(b, loc, r.size));
    steps.push_back(one);
  }
  Value init = zerosLike(b, loc, table);
  Operation *failedOp = nullptr;
  bool any = false;
  scf::LoopNest nest = scf::buildLoopNest(
      b, loc, lbs, ubs, steps, ValueRange{init},
      [&](OpBuilder &nb, Location l, ValueRange ivs,
          ValueRange iterArgs) -> scf::ValueVector {
        // The element of `v` at map(ivs).
        auto element = [&](Value v, AffineMap map) -> Value {
          SmallVector<Value> indices;
          for (AffineExpr e : map.getResults()) {
            AffineMap m = AffineMap::get(map.getNumDims(), 0, e);
            indices.push_back(getValueOrCreateConstantIndexOp(
                nb, l,
                affine::makeComposedFoldedAffineApply(
                    nb, l, m, getAsOpFoldResult(SmallVector<Value>(ivs)))));
          }
          return tensor::ExtractOp::create(nb, l, v, indices);
        };
        SmallVector<Value> args;
        for (OpOperand &operand : g->getOpOperands())
          args.push_back(
              isa<RankedTensorType>(operand.get().getType())
                  ? element(operand.get(), maps[operand.getOperandNumber()])
                  : operand.get());
        SmallVector<Value> adjs(numOuts), results(numOuts);
        for (unsigned k = 0; k < numOuts; ++k) {
          AffineMap m = maps[g.getNumDpsInputs() + k];
          if (Value adj = adjoint(g.getResult(k)))
            adjs[k] = element(adj, m);
          if (adjs[k] && combiners[k] == Combiner::Select)
            results[k] = element(g.getResult(k), m);
        }
        Value grad = iterArgs[0];
        for (tensor::ExtractOp e : extracts) {
          IRMapping primal;
          Value c =
              emitContribution(nb, l, g, combiners, reduced, args, ivs, adjs,
                               results, e.getResult(), failedOp, &primal);
          if (!c)
            continue;
          any = true;
          SmallVector<Value> indices;
          for (Value i : e.getIndices())
            indices.push_back(primal.lookupOrDefault(i));
          Value old = tensor::ExtractOp::create(nb, l, grad, indices);
          Value sum = arith::AddFOp::create(nb, l, old, c);
          grad = tensor::InsertOp::create(nb, l, sum, grad, indices);
        }
        return {grad};
      });
  if (failedOp)
    return failedOp->emitOpError("ssm-differentiate: no derivative rule for "
                                 "this op in the body of a linalg.generic");
  if (any)
    addAdjoint(table, nest.results[0]);
  return success();
}

/// `t` with the dimensions of `flips` (dimension, c) reversed: element i
/// taken from c - i.
Value Differentiator::reverseDims(Location loc, Value t,
                                  ArrayRef<std::pair<size_t, int64_t>> flips) {
  auto type = cast<RankedTensorType>(t.getType());
  SmallVector<AffineExpr> read;
  for (int64_t i = 0; i < type.getRank(); ++i)
    read.push_back(b.getAffineDimExpr(i));
  for (auto [i, c] : flips)
    read[i] = b.getAffineConstantExpr(c) - b.getAffineDimExpr(i);
  Value init = tensor::EmptyOp::create(b, loc, tensor::getMixedSizes(b, loc, t),
                                       type.getElementType());
  SmallVector<utils::IteratorType> iters(type.getRank(),
                                         utils::IteratorType::parallel);
  auto op = linalg::GenericOp::create(
      b, loc, TypeRange{type}, ValueRange{t}, ValueRange{init},
      ArrayRef<AffineMap>{
          AffineMap::get(type.getRank(), 0, read, b.getContext()),
          b.getMultiDimIdentityMap(type.getRank())},
      iters, [](OpBuilder &nb, Location l, ValueRange args) {
        linalg::YieldOp::create(nb, l, args[0]);
      });
  return op.getResult(0);
}

/// Sums groups of consecutive elements of `t`: (dimension, group size) in
/// `groups`; each such dimension shrinks by its group size.
Value Differentiator::sumGroups(Location loc, Value t,
                                ArrayRef<std::pair<size_t, int64_t>> groups) {
  auto type = cast<RankedTensorType>(t.getType());
  SmallVector<ReassociationIndices> reassociation;
  SmallVector<OpFoldResult> expandedSizes;
  SmallVector<int64_t> expandedShape;
  SmallVector<bool> inner;
  unsigned next = 0;
  DenseMap<size_t, int64_t> factorOf(groups.begin(), groups.end());
  for (int64_t i = 0; i < type.getRank(); ++i) {
    OpFoldResult full = tensor::getMixedSize(b, loc, t, i);
    auto it = factorOf.find(i);
    if (it == factorOf.end()) {
      reassociation.push_back({next++});
      expandedSizes.push_back(full);
      expandedShape.push_back(type.getDimSize(i));
      inner.push_back(false);
      continue;
    }
    int64_t f = it->second;
    OpFoldResult outerSize = affine::makeComposedFoldedAffineApply(
        b, loc, b.getAffineSymbolExpr(0).floorDiv(f), {full});
    reassociation.push_back({next, next + 1});
    next += 2;
    expandedSizes.push_back(outerSize);
    expandedSizes.push_back(b.getIndexAttr(f));
    std::optional<int64_t> o = getConstantIntValue(outerSize);
    expandedShape.push_back(o ? *o : ShapedType::kDynamic);
    expandedShape.push_back(f);
    inner.push_back(false);
    inner.push_back(true);
  }
  auto expandedType =
      RankedTensorType::get(expandedShape, type.getElementType());
  Value expanded = tensor::ExpandShapeOp::create(b, loc, expandedType, t,
                                                 reassociation, expandedSizes);
  SmallVector<AffineExpr> kept;
  SmallVector<OpFoldResult> keptSizes;
  SmallVector<utils::IteratorType> iters;
  for (auto [i, isInner] : llvm::enumerate(inner)) {
    iters.push_back(isInner ? utils::IteratorType::reduction
                            : utils::IteratorType::parallel);
    if (!isInner) {
      kept.push_back(b.getAffineDimExpr(i));
      keptSizes.push_back(expandedSizes[i]);
    }
  }
  Value empty =
      tensor::EmptyOp::create(b, loc, keptSizes, type.getElementType());
  Value zero =
      arith::ConstantOp::create(b, loc, b.getZeroAttr(type.getElementType()));
  Value init = linalg::FillOp::create(b, loc, zero, empty).getResult(0);
  auto sum = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, ValueRange{expanded}, ValueRange{init},
      ArrayRef<AffineMap>{
          b.getMultiDimIdentityMap(inner.size()),
          AffineMap::get(inner.size(), 0, kept, b.getContext())},
      iters, [](OpBuilder &nb, Location l, ValueRange args) {
        Value s = arith::AddFOp::create(nb, l, args[0], args[1]);
        linalg::YieldOp::create(nb, l, s);
      });
  return sum.getResult(0);
}

/// The name of argument/result i from its ssm.name attribute.
static std::string nameOf(DictionaryAttr attrs, StringRef fallback,
                          unsigned i) {
  if (attrs)
    if (auto n = attrs.getAs<StringAttr>("ssm.name"))
      return n.str();
  return (fallback + Twine(i)).str();
}

/// The JSON signature of the gradient function from the function's own
/// (which names dimensions symbolically): inputs, then one cotangent per
/// float output; outputs, then one gradient per float input.
static std::optional<std::string>
gradientSignature(StringRef signature, StringRef name,
                  ArrayRef<unsigned> cotangentOf, ArrayRef<unsigned> gradOf) {
  llvm::Expected<llvm::json::Value> parsed = llvm::json::parse(signature);
  if (!parsed) {
    llvm::consumeError(parsed.takeError());
    return std::nullopt;
  }
  llvm::json::Object *sig = parsed->getAsObject();
  llvm::json::Array *inputs = sig ? sig->getArray("inputs") : nullptr;
  llvm::json::Array *outputs = sig ? sig->getArray("outputs") : nullptr;
  if (!inputs || !outputs)
    return std::nullopt;
  auto renamed =
      [](const llvm::json::Value &entry) -> std::optional<llvm::json::Value> {
    const llvm::json::Object *o = entry.getAsObject();
    std::optional<StringRef> n = o ? o->getString("name") : std::nullopt;
    if (!n)
      return std::nullopt;
    llvm::json::Object copy = *o;
    copy["name"] = ("d_" + *n).str();
    return llvm::json::Value(std::move(copy));
  };
  llvm::json::Array newInputs = *inputs, newOutputs = *outputs;
  for (unsigned i : cotangentOf) {
    if (i >= outputs->size())
      return std::nullopt;
    std::optional<llvm::json::Value> e = renamed((*outputs)[i]);
    if (!e)
      return std::nullopt;
    newInputs.push_back(std::move(*e));
  }
  for (unsigned i : gradOf) {
    if (i >= inputs->size())
      return std::nullopt;
    std::optional<llvm::json::Value> e = renamed((*inputs)[i]);
    if (!e)
      return std::nullopt;
    newOutputs.push_back(std::move(*e));
  }
  llvm::json::Object out{{"name", name},
                         {"inputs", std::move(newInputs)},
                         {"outputs", std::move(newOutputs)}};
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::json::Value(std::move(out));
  return text;
}

FailureOr<func::FuncOp>
mlir::ssm::buildGradientFunction(func::FuncOp f, StringRef suffix,
                                 SymbolTable &symbols,
                                 ArrayRef<unsigned> constants) {
  MLIRContext *ctx = f.getContext();
  if (f.isExternal())
    return f.emitOpError("ssm-differentiate: the function has no body");
  if (!f.getBody().hasOneBlock())
    return f.emitOpError(
        "ssm-differentiate: the function has more than one block");
  std::string name = (f.getName() + suffix).str();
  if (symbols.lookup(name))
    return f.emitOpError("ssm-differentiate: a symbol named '")
           << name << "' exists already";

  auto grad = cast<func::FuncOp>(f->clone());
  grad.setName(name);
  grad.setPublic();
  grad->removeAttr("ssm.signature");
  symbols.insert(grad, std::next(Block::iterator(f)));

  // Named ops to generics (their reverse comes from the body); fills stay.
  IRRewriter rewriter(ctx);
  SmallVector<linalg::LinalgOp> named;
  grad.walk([&](linalg::LinalgOp op) {
    if (!isa<linalg::GenericOp, linalg::FillOp>(op))
      named.push_back(op);
  });
  for (linalg::LinalgOp op : named) {
    rewriter.setInsertionPoint(op);
    if (failed(linalg::generalizeNamedOp(rewriter, op)))
      return op->emitOpError("ssm-differentiate: cannot generalize");
  }

  Block &entry = grad.getBody().front();
  auto ret = cast<func::ReturnOp>(entry.getTerminator());
  unsigned numArgs = grad.getNumArguments();
  unsigned numResults = grad.getNumResults();

  // Cotangent arguments, one per float tensor result.
  SmallVector<Type> argTypes(grad.getArgumentTypes());
  SmallVector<DictionaryAttr> argAttrs, resultAttrs;
  for (unsigned i = 0; i < numArgs; ++i)
    argAttrs.push_back(grad.getArgAttrDict(i));
  for (unsigned i = 0; i < numResults; ++i)
    resultAttrs.push_back(grad.getResultAttrDict(i));
  SmallVector<std::pair<unsigned, BlockArgument>> cotangents;
  SmallVector<unsigned> cotangentOf, gradOf;
  for (unsigned i = 0; i < numResults; ++i) {
    Type t = grad.getResultTypes()[i];
    if (!isFloatTensor(t))
      continue;
    BlockArgument a = entry.addArgument(t, grad.getLoc());
    argTypes.push_back(t);
    argAttrs.push_back(
        nameAttrs(ctx, "d_" + nameOf(resultAttrs[i], "result", i)));
    cotangents.push_back({i, a});
    cotangentOf.push_back(i);
  }

  OpBuilder b(ret);
  Differentiator diff(b);
  diff.findActive(grad, constants);
  for (auto [i, a] : cotangents)
    if (diff.isActive(ret.getOperand(i)))
      diff.addAdjoint(ret.getOperand(i), a);
  SmallVector<Operation *> ops;
  for (Operation &op : entry.without_terminator())
    ops.push_back(&op);
  for (Operation *op : llvm::reverse(ops))
    if (failed(diff.reverse(op)))
      return failure();

  SmallVector<Value> results(ret.getOperands());
  SmallVector<Type> resultTypes(grad.getResultTypes());
  for (unsigned i = 0; i < numArgs; ++i) {
    BlockArgument a = entry.getArgument(i);
    if (!isFloatTensor(a.getType()) || llvm::is_contained(constants, i))
      continue;
    gradOf.push_back(i);
    Value g = diff.adjoint(a);
    results.push_back(g ? g : zerosLike(b, grad.getLoc(), a));
    resultTypes.push_back(a.getType());
    resultAttrs.push_back(nameAttrs(ctx, "d_" + nameOf(argAttrs[i], "arg", i)));
  }
  func::ReturnOp::create(b, ret.getLoc(), results);
  ret.erase();
  grad.setType(FunctionType::get(ctx, argTypes, resultTypes));
  grad.setAllArgAttrs(argAttrs);
  grad.setAllResultAttrs(resultAttrs);
  if (auto sig = f->getAttrOfType<StringAttr>("ssm.signature")) {
    std::optional<std::string> text =
        gradientSignature(sig.getValue(), name, cotangentOf, gradOf);
    if (!text)
      return f.emitOpError("ssm-differentiate: cannot read the function's "
                           "ssm.signature");
    grad->setAttr("ssm.signature", StringAttr::get(ctx, *text));
  }
  return grad;
}

namespace {
struct SSMDifferentiate
    : mlir::ssm::impl::SSMDifferentiateBase<SSMDifferentiate> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    SmallVector<func::FuncOp> targets;
    for (const std::string &name : functions) {
      auto f = symbols.lookup<func::FuncOp>(name);
      if (!f) {
        module.emitError("ssm-differentiate: no function named '")
            << name << "' to differentiate";
        return signalPassFailure();
      }
      targets.push_back(f);
    }
    if (functions.empty())
      for (auto f : module.getOps<func::FuncOp>())
        if (f->hasAttr("ssm.differentiate"))
          targets.push_back(f);
    for (func::FuncOp f : targets) {
      f->removeAttr("ssm.differentiate");
      if (failed(buildGradientFunction(f, suffix, symbols)))
        return signalPassFailure();
    }
    stripStopGradients(module);
  }
};

struct SSMStripStopGradients
    : mlir::ssm::impl::SSMStripStopGradientsBase<SSMStripStopGradients> {
  void runOnOperation() override { stripStopGradients(getOperation()); }
};
} // namespace

void mlir::ssm::stripStopGradients(Operation *root) {
  SmallVector<StopGradientOp> ops;
  root->walk([&](StopGradientOp op) { ops.push_back(op); });
  for (StopGradientOp op : ops) {
    op.getResult().replaceAllUsesWith(op.getInput());
    op->erase();
  }
}
