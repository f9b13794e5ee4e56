//===- Alignment.cpp - MOHAWK stages 1 and 2: blocks and their losses -----===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Finds a language model's blocks on its residual stream: the block input
// x_l of each mixer is the value that feeds the mixer (through its norm and
// projections) and that an add joins with a value computed from the
// mixer's output (the residual connection); the stream then runs through
// further residual adds (the MLP's) to the next block's input, and after the
// last block to the final hidden state. From those it builds
//
//   hidden_states(inputs...) -> (hidden.0, ..., hidden.n)   (teacher)
//   mixing_matrices(inputs...) -> (mixing.0, ...)           (teacher)
//   loss(input_ids, hidden.0..., [mixing.0...], params...)  (student)
//
// where the student's loss feeds every block the teacher's input u_l
// (hidden.l) in place of its own and compares, per SEMANTICS.md, the
// block's output with u_{l+1} (stage 2, hidden-state alignment) or each
// mixer's materialized mixing matrix with the teacher's (stage 1, matrix
// orientation).
//
//===----------------------------------------------------------------------===//

#include "ssm/Dialect/SSM/IR/SSMOps.h"
#include "ssm/Transforms/Differentiate.h"
#include "ssm/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMBUILDALIGNMENT
#include "ssm/Transforms/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;
using namespace mlir::ssm;

namespace {

/// The blocks of a model on its residual stream.
struct Spine {
  SmallVector<Value> inputs;                    // x_0 ... x_{n-1}
  Value final;                                  // x_n
  SmallVector<SmallVector<Operation *>> mixers; // the mixers of each block
};

/// Whether `op` adds two tensors of its result's shape elementwise; sets
/// `lhs` and `rhs`.
bool isElementwiseAdd(Operation *op, Value &lhs, Value &rhs) {
  if (auto add = dyn_cast<linalg::AddOp>(op)) {
    if (add.getInputs().size() != 2)
      return false;
    lhs = add.getInputs()[0];
    rhs = add.getInputs()[1];
  } else if (auto g = dyn_cast<linalg::GenericOp>(op)) {
    if (g.getNumDpsInputs() != 2 || g.getNumDpsInits() != 1 ||
        g.getNumReductionLoops() != 0 ||
        !llvm::all_of(g.getIndexingMapsArray(),
                      [](AffineMap m) { return m.isIdentity(); }))
      return false;
    Block *body = g.getBody();
    auto yield = cast<linalg::YieldOp>(body->getTerminator());
    auto addf = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
    if (!addf || &body->front() != addf.getOperation() ||
        addf->getNextNode() != yield.getOperation())
      return false;
    Value a = body->getArgument(0), b = body->getArgument(1);
    if (!((addf.getLhs() == a && addf.getRhs() == b) ||
          (addf.getLhs() == b && addf.getRhs() == a)))
      return false;
    lhs = g.getDpsInputs()[0];
    rhs = g.getDpsInputs()[1];
  } else {
    return false;
  }
  Type t = op->getResult(0).getType();
  return lhs.getType() == t && rhs.getType() == t;
}

/// The ops of `f`'s body that `v` depends on (through operands, including
/// values that nested regions use from above).
llvm::DenseSet<Operation *> dependencies(Value v) {
  llvm::DenseSet<Operation *> ops;
  SmallVector<Value> work = {v};
  while (!work.empty()) {
    Value x = work.pop_back_val();
    Operation *def = x.getDefiningOp();
    if (!def || !ops.insert(def).second)
      continue;
    def->walk([&](Operation *inner) {
      for (Value o : inner->getOperands())
        work.push_back(o);
    });
  }
  return ops;
}

/// Whether `v` depends on `x` (`deps` are v's dependencies).
bool dependsOn(const llvm::DenseSet<Operation *> &deps, Value x) {
  if (Operation *def = x.getDefiningOp())
    return deps.contains(def);
  return llvm::any_of(x.getUsers(), [&](Operation *user) {
    Operation *top = user;
    while (top && !deps.contains(top))
      top = top->getParentOp();
    return top != nullptr;
  });
}

/// The ops that depend on the results of `op`, `op` included (top-level ops
/// of the same block).
llvm::DenseSet<Operation *> dependents(Operation *op) {
  llvm::DenseSet<Operation *> ops = {op};
  for (Operation &next : llvm::make_range(std::next(Block::iterator(op)),
                                          op->getBlock()->end())) {
    bool uses = false;
    next.walk([&](Operation *inner) {
      for (Value o : inner->getOperands())
        if (Operation *def = o.getDefiningOp())
          uses |= ops.contains(def);
    });
    if (uses)
      ops.insert(&next);
  }
  return ops;
}

/// The residual add that continues the stream `v`: an add of `v` and a value
/// computed from `v` (a sublayer's output).
Operation *nextOnStream(Value v) {
  for (Operation *user : v.getUsers()) {
    Value lhs, rhs;
    if (!isElementwiseAdd(user, lhs, rhs))
      continue;
    Value other = lhs == v ? rhs : lhs;
    if (other == v)
      continue;
    if (dependsOn(dependencies(other), v))
      return user;
  }
  return nullptr;
}

FailureOr<Spine> findSpine(func::FuncOp f) {
  Spine spine;
  SmallVector<Operation *> mixers;
  for (Operation &op : f.getBody().front())
    if (isa<MixerOpInterface>(op))
      mixers.push_back(&op);
  if (mixers.empty())
    return f.emitOpError("ssm-build-alignment: the function has no mixer "
                         "(attention, SSM) ops: no blocks to align");
  SmallVector<Operation *> residualAdds;
  for (Operation *mixer : mixers) {
    llvm::DenseSet<Operation *> after = dependents(mixer);
    llvm::DenseSet<Operation *> before;
    for (Value o : mixer->getOperands())
      for (Operation *d : dependencies(o))
        before.insert(d);
    // The first add of a value computed from the mixer's output and a value
    // the mixer's inputs are computed from (the block's input).
    Operation *residual = nullptr;
    Value input;
    for (Operation &op : llvm::make_range(std::next(Block::iterator(mixer)),
                                          mixer->getBlock()->end())) {
      Value lhs, rhs;
      if (!after.contains(&op) || !isElementwiseAdd(&op, lhs, rhs))
        continue;
      for (auto [fromMixer, other] : {std::pair(lhs, rhs), {rhs, lhs}}) {
        Operation *od = other.getDefiningOp();
        Operation *fd = fromMixer.getDefiningOp();
        bool otherBefore =
            od ? before.contains(od)
               : llvm::any_of(mixer->getOperands(),
                              [&](Value o) { return o == other; }) ||
                     llvm::any_of(other.getUsers(), [&](Operation *u) {
                       return before.contains(u);
                     });
        if (fd && after.contains(fd) && (!od || !after.contains(od)) &&
            otherBefore) {
          residual = &op;
          input = other;
          break;
        }
      }
      if (residual)
        break;
    }
    if (!residual)
      return mixer->emitOpError(
          "ssm-build-alignment: no residual connection around this mixer "
          "(an add of the block's input and a value computed from the "
          "mixer's output)");
    if (!spine.inputs.empty() && spine.inputs.back() == input) {
      spine.mixers.back().push_back(mixer);
      residualAdds.back() = residual;
      continue;
    }
    if (llvm::is_contained(spine.inputs, input))
      return mixer->emitOpError("ssm-build-alignment: this mixer's block "
                                "input is an earlier block's");
    spine.inputs.push_back(input);
    spine.mixers.push_back({mixer});
    residualAdds.push_back(residual);
  }
  // Follow the stream from each block's residual add to the next block's
  // input (through the MLP's residual add), and after the last block to
  // the final hidden state.
  for (auto [l, add] : llvm::enumerate(residualAdds)) {
    Value v = add->getResult(0);
    Value target = l + 1 < spine.inputs.size() ? spine.inputs[l + 1] : Value();
    while (v != target) {
      Operation *next = nextOnStream(v);
      if (!next) {
        if (target)
          return spine.mixers[l + 1].front()->emitOpError(
                     "ssm-build-alignment: the residual stream of block ")
                 << l << " does not reach this mixer's block input";
        break;
      }
      v = next->getResult(0);
    }
    if (!target)
      spine.final = v;
  }
  return spine;
}

/// Float tensor helpers.
struct Builder {
  OpBuilder &b;
  Location loc;

  Value constant(double v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  }
  Value filled(ArrayRef<OpFoldResult> sizes, double v) {
    Value e = tensor::EmptyOp::create(b, loc, sizes, b.getF32Type());
    return linalg::FillOp::create(b, loc, constant(v), e).getResult(0);
  }

  /// mean over the leading dims of the L2 norm over the trailing `k` dims of
  /// (y - target): a scalar tensor. The norm of 0 is 0 with derivative 0
  /// (as torch.linalg.norm).
  Value meanNorm(Value y, Value target, unsigned k) {
    auto t = cast<RankedTensorType>(y.getType());
    unsigned rank = t.getRank(), lead = rank - k;
    MLIRContext *ctx = b.getContext();
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, y);
    SmallVector<OpFoldResult> leadSizes(sizes.begin(), sizes.begin() + lead);
    SmallVector<AffineExpr> leadDims;
    for (unsigned i = 0; i < lead; ++i)
      leadDims.push_back(b.getAffineDimExpr(i));
    AffineMap id = b.getMultiDimIdentityMap(rank);
    AffineMap toLead = AffineMap::get(rank, 0, leadDims, ctx);
    SmallVector<utils::IteratorType> iters(lead, utils::IteratorType::parallel);
    iters.append(k, utils::IteratorType::reduction);
    Value sq = linalg::GenericOp::create(
                   b, loc,
                   TypeRange{RankedTensorType::get(
                       t.getShape().take_front(lead), b.getF32Type())},
                   ValueRange{y, target}, ValueRange{filled(leadSizes, 0.0)},
                   ArrayRef<AffineMap>{id, id, toLead}, iters,
                   [](OpBuilder &nb, Location l, ValueRange a) {
                     Value d = arith::SubFOp::create(nb, l, a[0], a[1]);
                     Value s = arith::AddFOp::create(
                         nb, l, a[2], arith::MulFOp::create(nb, l, d, d));
                     linalg::YieldOp::create(nb, l, s);
                   })
                   .getResult(0);
    // The count of leading positions, as f32.
    Value count = arith::ConstantIndexOp::create(b, loc, 1);
    for (OpFoldResult s : leadSizes)
      count = arith::MulIOp::create(b, loc, count,
                                    getValueOrCreateConstantIndexOp(b, loc, s));
    Value countF = arith::UIToFPOp::create(
        b, loc, b.getF32Type(),
        arith::IndexCastUIOp::create(b, loc, b.getI64Type(), count));
    AffineMap leadId = b.getMultiDimIdentityMap(lead);
    AffineMap toScalar = AffineMap::get(lead, 0, {}, ctx);
    SmallVector<utils::IteratorType> red(lead, utils::IteratorType::reduction);
    Value total =
        linalg::GenericOp::create(
            b, loc, TypeRange{RankedTensorType::get({}, b.getF32Type())},
            ValueRange{sq}, ValueRange{filled({}, 0.0)},
            ArrayRef<AffineMap>{leadId, toScalar}, red,
            [](OpBuilder &nb, Location l, ValueRange a) {
              Value zero =
                  arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(0));
              Value positive = arith::CmpFOp::create(
                  nb, l, arith::CmpFPredicate::OGT, a[0], zero);
              Value norm = arith::SelectOp::create(
                  nb, l, positive, math::SqrtOp::create(nb, l, a[0]), zero);
              linalg::YieldOp::create(
                  nb, l, ValueRange{arith::AddFOp::create(nb, l, a[1], norm)});
            })
            .getResult(0);
    return linalg::GenericOp::create(
               b, loc, TypeRange{total.getType()}, ValueRange{total},
               ValueRange{tensor::EmptyOp::create(
                   b, loc, ArrayRef<OpFoldResult>{}, b.getF32Type())},
               ArrayRef<AffineMap>{AffineMap::get(0, 0, {}, ctx),
                                   AffineMap::get(0, 0, {}, ctx)},
               ArrayRef<utils::IteratorType>{},
               [&](OpBuilder &nb, Location l, ValueRange a) {
                 linalg::YieldOp::create(
                     nb, l,
                     ValueRange{arith::DivFOp::create(nb, l, a[0], countF)});
               })
        .getResult(0);
  }

  Value add(Value x, Value y) {
    if (!x)
      return y;
    MLIRContext *ctx = b.getContext();
    AffineMap s = AffineMap::get(0, 0, {}, ctx);
    return linalg::GenericOp::create(
               b, loc, TypeRange{x.getType()}, ValueRange{x, y},
               ValueRange{tensor::EmptyOp::create(
                   b, loc, ArrayRef<OpFoldResult>{}, b.getF32Type())},
               ArrayRef<AffineMap>{s, s, s}, ArrayRef<utils::IteratorType>{},
               [](OpBuilder &nb, Location l, ValueRange a) {
                 linalg::YieldOp::create(
                     nb, l,
                     ValueRange{arith::AddFOp::create(nb, l, a[0], a[1])});
               })
        .getResult(0);
  }
};

/// The materialized mixing matrix of `mixer`, built before it.
FailureOr<Value> mixingMatrix(Operation *mixer) {
  OpBuilder b(mixer);
  FailureOr<Value> m = cast<MixerOpInterface>(mixer).materializeMixingMatrix(b);
  if (failed(m))
    return mixer->emitOpError(
        "ssm-build-alignment: cannot materialize the mixing matrix");
  return m;
}

/// A public copy of `f` named `name`, inserted after it.
func::FuncOp copyOf(func::FuncOp f, StringRef name, SymbolTable &symbols) {
  auto copy = cast<func::FuncOp>(f->clone());
  copy.setName(name);
  copy.setPublic();
  copy->removeAttr("ssm.signature");
  symbols.insert(copy, std::next(Block::iterator(f)));
  return copy;
}

/// Replaces `f`'s return by one of `values` named `names`.
void returnValues(func::FuncOp f, ArrayRef<Value> values,
                  ArrayRef<std::string> names) {
  MLIRContext *ctx = f.getContext();
  auto ret = cast<func::ReturnOp>(f.getBody().front().getTerminator());
  OpBuilder b(ret);
  func::ReturnOp::create(b, ret.getLoc(), values);
  ret.erase();
  SmallVector<Type> types;
  SmallVector<DictionaryAttr> attrs;
  for (auto [v, n] : llvm::zip(values, names)) {
    types.push_back(v.getType());
    attrs.push_back(nameAttrs(ctx, n));
  }
  f.setType(FunctionType::get(ctx, f.getArgumentTypes(), types));
  f.setAllResultAttrs(attrs);
}

struct SSMBuildAlignment
    : mlir::ssm::impl::SSMBuildAlignmentBase<SSMBuildAlignment> {
  using Base::Base;

  LogicalResult buildTeacher(func::FuncOp main, SymbolTable &symbols);
  LogicalResult buildLoss(func::FuncOp main, SymbolTable &symbols,
                          bool matrices);

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    auto main = symbols.lookup<func::FuncOp>(entry);
    if (!main) {
      module.emitError("ssm-build-alignment: no function named '")
          << entry << "'";
      return signalPassFailure();
    }
    if (main.isExternal() || !main.getBody().hasOneBlock()) {
      main.emitOpError("ssm-build-alignment: the function must have a body "
                       "of one block");
      return signalPassFailure();
    }
    LogicalResult result = failure();
    if (mode == "hidden-states")
      result = buildTeacher(main, symbols);
    else if (mode == "hidden-alignment" || mode == "matrix-orientation")
      result = buildLoss(main, symbols, mode == "matrix-orientation");
    else
      module.emitError("ssm-build-alignment: mode must be hidden-states, "
                       "hidden-alignment or matrix-orientation, got '")
          << mode << "'";
    if (failed(result))
      signalPassFailure();
  }
};

LogicalResult SSMBuildAlignment::buildTeacher(func::FuncOp main,
                                              SymbolTable &symbols) {
  for (StringRef name : {"hidden_states", "mixing_matrices"})
    if (symbols.lookup(name))
      return main.emitOpError("ssm-build-alignment: a symbol named '")
             << name << "' exists already";
  if (failed(findSpine(main)))
    return failure();

  func::FuncOp hidden = copyOf(main, "hidden_states", symbols);
  FailureOr<Spine> spine = findSpine(hidden);
  if (failed(spine))
    return failure();
  SmallVector<Value> values(spine->inputs);
  values.push_back(spine->final);
  SmallVector<std::string> names;
  for (unsigned i = 0; i < values.size(); ++i)
    names.push_back("hidden." + std::to_string(i));
  returnValues(hidden, values, names);

  func::FuncOp mixing = copyOf(hidden, "mixing_matrices", symbols);
  spine = findSpine(mixing);
  if (failed(spine))
    return failure();
  values.clear();
  names.clear();
  for (ArrayRef<Operation *> block : spine->mixers)
    for (Operation *mixer : block) {
      FailureOr<Value> m = mixingMatrix(mixer);
      if (failed(m))
        return failure();
      names.push_back("mixing." + std::to_string(values.size()));
      values.push_back(*m);
    }
  returnValues(mixing, values, names);
  return success();
}

LogicalResult SSMBuildAlignment::buildLoss(func::FuncOp main,
                                           SymbolTable &symbols,
                                           bool matrices) {
  MLIRContext *ctx = main.getContext();
  if (symbols.lookup("loss"))
    return main.emitOpError(
        "ssm-build-alignment: a symbol named 'loss' exists already");
  if (failed(findSpine(main)))
    return failure();
  auto ids = main.getNumArguments()
                 ? dyn_cast<RankedTensorType>(main.getArgumentTypes()[0])
                 : RankedTensorType();
  if (!ids || !isa<IntegerType>(ids.getElementType()))
    return main.emitOpError("ssm-build-alignment: the entry must take "
                            "integer token ids first");
  func::FuncOp loss = copyOf(main, "loss", symbols);
  FailureOr<Spine> spine = findSpine(loss);
  if (failed(spine))
    return failure();
  if (matrices)
    for (ArrayRef<Operation *> block : spine->mixers)
      if (block.size() != 1)
        return block[1]->emitOpError("ssm-build-alignment: matrix orientation "
                                     "needs one mixer per "
                                     "block (this block has ")
               << block.size() << ")";

  // The teacher's hidden states as arguments after the token ids; every
  // block reads them in place of its own input.
  unsigned n = spine->inputs.size();
  SmallVector<Value> stream(spine->inputs);
  stream.push_back(spine->final);
  SmallVector<Value> outputs(stream.begin() + 1, stream.end());
  unsigned numHidden = matrices ? n : n + 1;
  SmallVector<Value> teacher;
  Block &entry = loss.getBody().front();
  for (unsigned i = 0; i < numHidden; ++i) {
    if (failed(loss.insertArgument(
            1 + i, stream[i].getType(),
            nameAttrs(ctx, "hidden." + std::to_string(i)), loss.getLoc())))
      return failure();
    teacher.push_back(entry.getArgument(1 + i));
  }
  for (unsigned i = 0; i < numHidden; ++i)
    stream[i].replaceAllUsesWith(teacher[i]);

  auto ret = cast<func::ReturnOp>(entry.getTerminator());
  OpBuilder b(ret);
  Builder t{b, loss.getLoc()};
  Value total;
  if (!matrices) {
    // Stage 2: sum_l mean_{b,t} ||block_l(u_l) - u_{l+1}||_2.
    for (unsigned l = 0; l < n; ++l) {
      Value y = outputs[l];
      if (cast<RankedTensorType>(y.getType()).getRank() < 2 ||
          !cast<RankedTensorType>(y.getType()).getElementType().isF32())
        return loss.emitOpError("ssm-build-alignment: the hidden states "
                                "must be f32 tensors of rank 2 or more");
      total = t.add(total, t.meanNorm(y, teacher[l + 1], 1));
    }
  } else {
    // Stage 1: sum_l mean_{b,h} ||T_l(u_l) - A_l||_F.
    unsigned next = 1 + numHidden;
    for (ArrayRef<Operation *> block : spine->mixers) {
      Operation *mixer = block.front();
      FailureOr<Value> m = mixingMatrix(mixer);
      if (failed(m))
        return failure();
      unsigned j = next - 1 - numHidden;
      if (failed(loss.insertArgument(
              next, m->getType(), nameAttrs(ctx, "mixing." + std::to_string(j)),
              loss.getLoc())))
        return failure();
      total = t.add(total, t.meanNorm(*m, entry.getArgument(next), 2));
      ++next;
    }
  }
  returnValues(loss, {total}, {"loss"});
  return success();
}

} // namespace
