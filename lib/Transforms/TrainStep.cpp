//===- TrainStep.cpp - Loss and AdamW train-step functions ----------------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// From a language model's entry function main(input_ids, params...) ->
// (logits, ...), builds
//   loss(input_ids, labels, params...) -> loss          (cross-entropy)
//   train_step(input_ids, labels, params..., m..., v..., lr, step)
//       -> (loss, grad_norm, params'..., m'..., v'...)  (one AdamW step)
// on linalg on tensors; the gradient comes from buildGradientFunction.
//
//===----------------------------------------------------------------------===//

#include "ssm/Transforms/Differentiate.h"
#include "ssm/Transforms/Passes.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/GlobPattern.h"

#include <cmath>
#include <cstdio>
#include <limits>

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMBUILDTRAINSTEP
#include "ssm/Transforms/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;
using namespace mlir::ssm;

namespace {

/// Builders of the few tensor computations the loss and the optimizer need.
struct Builder {
  OpBuilder &b;
  Location loc;
  Type f32;

  Value cst(double v) {
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(f32, v));
  }
  Value filled(ArrayRef<OpFoldResult> sizes, double v) {
    Value empty = tensor::EmptyOp::create(b, loc, sizes, f32);
    return linalg::FillOp::create(b, loc, cst(v), empty).getResult(0);
  }
  /// A generic over `numLoops` loops.
  Value generic(ArrayRef<Value> inputs, ArrayRef<AffineMap> inputMaps,
                Value init, AffineMap outMap,
                ArrayRef<utils::IteratorType> iters,
                function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
    SmallVector<AffineMap> maps(inputMaps);
    maps.push_back(outMap);
    auto op = linalg::GenericOp::create(
        b, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps,
        iters, [&](OpBuilder &nb, Location l, ValueRange args) {
          linalg::YieldOp::create(nb, l, body(nb, l, args));
        });
    return op.getResult(0);
  }
};

StringRef argName(func::FuncOp f, unsigned i);
bool isTeacherData(StringRef name);
llvm::StringSet<> unreachedArguments(func::FuncOp f);

struct SSMBuildTrainStep
    : mlir::ssm::impl::SSMBuildTrainStepBase<SSMBuildTrainStep> {
  using Base::Base;

  /// The parameters the loss does not read (left unchanged).
  llvm::StringSet<> unreached;

  LogicalResult buildLoss(func::FuncOp main, SymbolTable &symbols);
  LogicalResult buildTrainStep(func::FuncOp lossGrad, SymbolTable &symbols);

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    auto main = symbols.lookup<func::FuncOp>(entry);
    if (!main) {
      module.emitError("ssm-build-train-step: no function named '")
          << entry << "'";
      return signalPassFailure();
    }
    // The alignment losses (MOHAWK stages 1 and 2) come built by
    // ssm-build-alignment; the language-model losses are built here.
    bool aligned = loss == "hidden-alignment" || loss == "matrix-orientation";
    for (StringRef name : {"loss", "loss_grad", "train_step"})
      if (symbols.lookup(name) && !(aligned && name == "loss")) {
        module.emitError("ssm-build-train-step: a symbol named '")
            << name << "' exists already";
        return signalPassFailure();
      }
    for (const std::string &p : frozen)
      if (!llvm::GlobPattern::create(p)) {
        module.emitError("ssm-build-train-step: invalid frozen pattern '")
            << p << "'";
        return signalPassFailure();
      }
    if (loss != "cross-entropy" && loss != "distillation" && !aligned) {
      module.emitError("ssm-build-train-step: loss must be cross-entropy, "
                       "distillation, hidden-alignment or "
                       "matrix-orientation, got '")
          << loss << "'";
      return signalPassFailure();
    }
    if (!(static_cast<float>(temperature) > 0) ||
        !std::isfinite(static_cast<float>(temperature))) {
      module.emitError("ssm-build-train-step: temperature must be positive");
      return signalPassFailure();
    }
    // The optimizer's hyperparameters, in the ranges torch.optim.AdamW and
    // clip_grad_norm_ accept (a NaN fails every comparison).
    auto outOfRange = [&](StringRef name, double value, StringRef range) {
      char text[32];
      snprintf(text, sizeof text, "%g", value);
      module.emitError("ssm-build-train-step: ")
          << name << " must be " << range << ", got " << text;
      signalPassFailure();
    };
    // Checked as the float32 constants train_step computes with (a beta
    // that rounds to 1, an epsilon that rounds to 0 or a value past the
    // float32 range would make NaNs).
    auto f32 = [](double v) {
      return static_cast<double>(static_cast<float>(v));
    };
    if (!(beta1 >= 0 && f32(beta1) < 1))
      return outOfRange("beta1", beta1, "in [0, 1) in float32");
    if (!(beta2 >= 0 && f32(beta2) < 1))
      return outOfRange("beta2", beta2, "in [0, 1) in float32");
    if (!(f32(eps) > 0) || !std::isfinite(f32(eps)))
      return outOfRange("eps", eps, "positive and finite in float32");
    if (!(weightDecay >= 0) || !std::isfinite(f32(weightDecay)))
      return outOfRange("weight-decay", weightDecay,
                        ">= 0 and finite in float32");
    if (!(maxGradNorm >= 0) || !std::isfinite(f32(maxGradNorm)))
      return outOfRange("max-grad-norm", maxGradNorm,
                        ">= 0 and finite in float32 (0: no clipping)");
    if (!(labelWeight >= 0) || !std::isfinite(f32(labelWeight)))
      return outOfRange("label-weight", labelWeight,
                        ">= 0 and finite in float32");
    if (labelWeight != 0 && loss != "distillation") {
      module.emitError("ssm-build-train-step: label-weight weighs the "
                       "cross-entropy added to loss=distillation; the loss "
                       "is '")
          << loss << "'";
      return signalPassFailure();
    }
    if (temperature != 1.0 && loss != "distillation") {
      module.emitError("ssm-build-train-step: temperature is the student's "
                       "temperature of loss=distillation; the loss is '")
          << loss << "'";
      return signalPassFailure();
    }
    if (aligned) {
      auto lossFn = symbols.lookup<func::FuncOp>("loss");
      if (!lossFn || lossFn.getNumResults() != 1 ||
          lossFn.getResultTypes()[0] !=
              RankedTensorType::get({}, Float32Type::get(&getContext()))) {
        module.emitError("ssm-build-train-step: loss=")
            << loss
            << " trains the function 'loss' (f32 scalar result) that "
               "ssm-build-alignment builds; there is none";
        return signalPassFailure();
      }
    } else if (failed(buildLoss(main, symbols))) {
      return signalPassFailure();
    }
    auto lossFn = symbols.lookup<func::FuncOp>("loss");
    // The teacher's outputs are data, not parameters.
    SmallVector<unsigned> constants;
    for (unsigned i = 0; i < lossFn.getNumArguments(); ++i)
      if (isTeacherData(argName(lossFn, i)))
        constants.push_back(i);
    unreached = unreachedArguments(lossFn);
    FailureOr<func::FuncOp> lossGrad =
        buildGradientFunction(lossFn, "_grad", symbols, constants);
    if (failed(lossGrad) || failed(buildTrainStep(*lossGrad, symbols)))
      return signalPassFailure();
    stripStopGradients(module);
  }
};

} // namespace

namespace {
StringRef argName(func::FuncOp f, unsigned i) {
  if (auto n = f.getArgAttrOfType<StringAttr>(i, "ssm.name"))
    return n.getValue();
  return "";
}

/// Whether the loss argument named `name` is the teacher's output (data,
/// not a parameter): its logits, hidden states or mixing matrices.
bool isTeacherData(StringRef name) {
  return name == "teacher_logits" || name.starts_with("hidden.") ||
         name.starts_with("mixing.");
}

/// The names of the arguments of `f` that its results do not depend on.
llvm::StringSet<> unreachedArguments(func::FuncOp f) {
  llvm::DenseSet<Value> seen;
  llvm::DenseSet<Operation *> walked;
  Block &entry = f.getBody().front();
  SmallVector<Value> work(entry.getTerminator()->getOperands());
  while (!work.empty()) {
    Value v = work.pop_back_val();
    if (!seen.insert(v).second)
      continue;
    Operation *def = v.getDefiningOp();
    if (!def || !walked.insert(def).second)
      continue;
    def->walk([&](Operation *inner) {
      llvm::append_range(work, inner->getOperands());
    });
  }
  llvm::StringSet<> names;
  for (BlockArgument a : entry.getArguments())
    if (!seen.contains(a))
      names.insert(argName(f, a.getArgNumber()));
  return names;
}
} // namespace

LogicalResult SSMBuildTrainStep::buildLoss(func::FuncOp main,
                                           SymbolTable &symbols) {
  MLIRContext *ctx = main.getContext();
  if (main.getNumArguments() < 1 || main.getNumResults() < 1)
    return main.emitOpError("ssm-build-train-step: the entry must take the "
                            "token ids and return the logits");
  auto ids = dyn_cast<RankedTensorType>(main.getArgumentTypes()[0]);
  auto logitsType = dyn_cast<RankedTensorType>(main.getResultTypes()[0]);
  if (!ids || ids.getRank() != 2 || !isa<IntegerType>(ids.getElementType()) ||
      !logitsType || logitsType.getRank() != 3 ||
      !logitsType.getElementType().isF32())
    return main.emitOpError(
        "ssm-build-train-step: the entry must take integer token ids (batch, "
        "seq) first and return float32 logits (batch, seq, vocab) first");

  auto lossFn = cast<func::FuncOp>(main->clone());
  lossFn.setName("loss");
  lossFn->removeAttr("ssm.signature");
  symbols.insert(lossFn, std::next(Block::iterator(main)));
  Block &entry = lossFn.getBody().front();
  auto ret = cast<func::ReturnOp>(entry.getTerminator());
  auto labelsType = RankedTensorType::get(ids.getShape(), ids.getElementType());
  if (failed(lossFn.insertArgument(1, labelsType, nameAttrs(ctx, "labels"),
                                   lossFn.getLoc())))
    return failure();
  Value labels = entry.getArgument(1);
  Value z = ret.getOperand(0);
  bool distill = loss == "distillation";
  Value teacher;
  if (distill) {
    if (failed(lossFn.insertArgument(
            2, logitsType, nameAttrs(ctx, "teacher_logits"), lossFn.getLoc())))
      return failure();
    teacher = entry.getArgument(2);
  }

  OpBuilder b(ret);
  Location loc = lossFn.getLoc();
  Type f32 = b.getF32Type();
  Builder t{b, loc, f32};
  auto par = utils::IteratorType::parallel;
  auto red = utils::IteratorType::reduction;
  AffineExpr d0 = b.getAffineDimExpr(0), d1 = b.getAffineDimExpr(1);
  AffineMap id3 = b.getMultiDimIdentityMap(3);
  AffineMap row3 = AffineMap::get(3, 0, {d0, d1}, ctx);
  AffineMap id2 = b.getMultiDimIdentityMap(2);
  AffineMap scalar2 = AffineMap::get(2, 0, {}, ctx);
  AffineMap scalar0 = AffineMap::get(0, 0, {}, ctx);
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, z);
  SmallVector<OpFoldResult> rows = {sizes[0], sizes[1]};
  Value vocab = getValueOrCreateConstantIndexOp(b, loc, sizes[2]);

  // Per token: logsumexp(z) - z[label]; labels outside [0, vocab) are
  // ignored (as PyTorch's ignore_index -100).
  Value m = t.generic({z}, {id3},
                      t.filled(rows, -std::numeric_limits<double>::infinity()),
                      row3, {par, par, red},
                      [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                        return arith::MaximumFOp::create(nb, l, a[0], a[1]);
                      });
  Value s =
      t.generic({z, m}, {id3, row3}, t.filled(rows, 0.0), row3, {par, par, red},
                [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                  Value d = arith::SubFOp::create(nb, l, a[0], a[1]);
                  Value e = math::ExpOp::create(nb, l, d);
                  return arith::AddFOp::create(nb, l, a[2], e);
                });
  auto valid = [&](OpBuilder &nb, Location l, Value label) {
    Value zero =
        arith::ConstantOp::create(nb, l, nb.getIntegerAttr(label.getType(), 0));
    Value v = arith::IndexCastOp::create(nb, l, label.getType(), vocab);
    Value ge =
        arith::CmpIOp::create(nb, l, arith::CmpIPredicate::sge, label, zero);
    Value lt =
        arith::CmpIOp::create(nb, l, arith::CmpIPredicate::slt, label, v);
    return arith::AndIOp::create(nb, l, ge, lt);
  };
  Value empty2 = tensor::EmptyOp::create(b, loc, rows, f32);
  Value perToken = t.generic(
      {labels, m, s}, {id2, id2, id2}, empty2, id2, {par, par},
      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        Value ok = valid(nb, l, a[0]);
        Value zeroI = arith::ConstantOp::create(
            nb, l, nb.getIntegerAttr(a[0].getType(), 0));
        Value label = arith::SelectOp::create(nb, l, ok, a[0], zeroI);
        Value idx = arith::IndexCastOp::create(nb, l, nb.getIndexType(), label);
        Value bi = linalg::IndexOp::create(nb, l, 0);
        Value li = linalg::IndexOp::create(nb, l, 1);
        Value picked = tensor::ExtractOp::create(nb, l, z, {bi, li, idx});
        Value lse = arith::AddFOp::create(
            nb, l, math::LogOp::create(nb, l, a[2]), a[1]);
        Value v = arith::SubFOp::create(nb, l, lse, picked);
        Value zero = arith::ConstantOp::create(nb, l, nb.getFloatAttr(f32, 0));
        return arith::SelectOp::create(nb, l, ok, v, zero);
      });
  if (distill) {
    // -sum_v softmax(t)_v log softmax(z / tau)_v
    //   = logsumexp(z / tau) - sum_v softmax(t)_v z_v / tau,
    // plus label-weight times the cross-entropy on the labels.
    double tau = temperature, w = labelWeight;
    Value mt = t.generic(
        {teacher}, {id3},
        t.filled(rows, -std::numeric_limits<double>::infinity()), row3,
        {par, par, red}, [](OpBuilder &nb, Location l, ValueRange a) -> Value {
          return arith::MaximumFOp::create(nb, l, a[0], a[1]);
        });
    // st = sum exp(t - mt), cross = sum exp(t - mt) z, sz = sum exp((z -
    // m)/tau)
    auto sumOf = [&](ArrayRef<Value> ins, ArrayRef<AffineMap> maps,
                     function_ref<Value(OpBuilder &, Location, ValueRange)> f) {
      return t.generic(ins, maps, t.filled(rows, 0.0), row3, {par, par, red},
                       [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                         return arith::AddFOp::create(nb, l, a.back(),
                                                      f(nb, l, a));
                       });
    };
    Value st = sumOf({teacher, mt}, {id3, row3},
                     [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                       return math::ExpOp::create(
                           nb, l, arith::SubFOp::create(nb, l, a[0], a[1]));
                     });
    Value cross = sumOf({teacher, mt, z}, {id3, row3, id3},
                        [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                          Value e = math::ExpOp::create(
                              nb, l, arith::SubFOp::create(nb, l, a[0], a[1]));
                          return arith::MulFOp::create(nb, l, e, a[2]);
                        });
    Value sz = sumOf(
        {z, m}, {id3, row3},
        [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
          Value d = arith::SubFOp::create(nb, l, a[0], a[1]);
          Value c =
              arith::ConstantOp::create(nb, l, nb.getFloatAttr(f32, 1.0 / tau));
          return math::ExpOp::create(nb, l, arith::MulFOp::create(nb, l, d, c));
        });
    perToken = t.generic(
        {labels, m, sz, st, cross, perToken}, {id2, id2, id2, id2, id2, id2},
        tensor::EmptyOp::create(b, loc, rows, f32), id2, {par, par},
        [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
          auto c = [&](double v) -> Value {
            return arith::ConstantOp::create(nb, l, nb.getFloatAttr(f32, v));
          };
          // logsumexp(z / tau) = log(sz) + m / tau
          Value lse = arith::AddFOp::create(
              nb, l, math::LogOp::create(nb, l, a[2]),
              arith::MulFOp::create(nb, l, a[1], c(1.0 / tau)));
          Value expect = arith::DivFOp::create(
              nb, l, a[4], arith::MulFOp::create(nb, l, a[3], c(tau)));
          Value kd = arith::SubFOp::create(nb, l, lse, expect);
          if (w != 0)
            kd = arith::AddFOp::create(
                nb, l, kd, arith::MulFOp::create(nb, l, c(w), a[5]));
          return arith::SelectOp::create(nb, l, valid(nb, l, a[0]), kd, c(0));
        });
  }
  Value total =
      t.generic({perToken}, {id2}, t.filled({}, 0.0), scalar2, {red, red},
                [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                  return arith::AddFOp::create(nb, l, a[1], a[0]);
                });
  Value count = t.generic(
      {labels}, {id2}, t.filled({}, 0.0), scalar2, {red, red},
      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        Value one = arith::ConstantOp::create(nb, l, nb.getFloatAttr(f32, 1));
        Value zero = arith::ConstantOp::create(nb, l, nb.getFloatAttr(f32, 0));
        Value c = arith::SelectOp::create(nb, l, valid(nb, l, a[0]), one, zero);
        return arith::AddFOp::create(nb, l, a[1], c);
      });
  Value mean = t.generic(
      {total, count}, {scalar0, scalar0},
      tensor::EmptyOp::create(b, loc, ArrayRef<OpFoldResult>{}, f32), scalar0,
      {}, [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        Value one = arith::ConstantOp::create(nb, l, nb.getFloatAttr(f32, 1));
        Value n = arith::MaximumFOp::create(nb, l, a[1], one);
        return arith::DivFOp::create(nb, l, a[0], n);
      });
  func::ReturnOp::create(b, ret.getLoc(), ValueRange{mean});
  ret.erase();
  SmallVector<Type> argTypes(lossFn.getArgumentTypes());
  lossFn.setType(FunctionType::get(ctx, argTypes, {mean.getType()}));
  lossFn.setAllResultAttrs(ArrayRef<DictionaryAttr>{nameAttrs(ctx, "loss")});
  return success();
}

LogicalResult SSMBuildTrainStep::buildTrainStep(func::FuncOp lossGrad,
                                                SymbolTable &symbols) {
  MLIRContext *ctx = lossGrad.getContext();
  auto step = cast<func::FuncOp>(lossGrad->clone());
  step.setName("train_step");
  step->removeAttr("ssm.signature");
  symbols.insert(step, std::next(Block::iterator(lossGrad)));
  Block &entry = step.getBody().front();
  auto ret = cast<func::ReturnOp>(entry.getTerminator());
  OpBuilder b(&entry, entry.begin());
  Location loc = step.getLoc();
  Type f32 = b.getF32Type();
  Builder t{b, loc, f32};

  // d(loss) = 1: the cotangent argument (the last) becomes a constant.
  unsigned numArgs = step.getNumArguments();
  Value one = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(RankedTensorType::get({}, f32), 1.0f));
  entry.getArgument(numArgs - 1).replaceAllUsesWith(one);
  if (failed(step.eraseArgument(numArgs - 1)))
    return failure();
  numArgs -= 1;

  // The parameters: the float arguments, in the order of their gradients.
  SmallVector<unsigned> params;
  for (unsigned i = 0; i < numArgs; ++i)
    if (auto rt = dyn_cast<RankedTensorType>(step.getArgumentTypes()[i]);
        rt && isa<FloatType>(rt.getElementType()) &&
        !isTeacherData(argName(step, i)))
      params.push_back(i);
  if (ret.getNumOperands() != 1 + params.size())
    return step.emitOpError("ssm-build-train-step: unexpected gradient "
                            "function results");
  // The optimizer works on float32 parameters (they are the master
  // weights); a half-precision model would need float32 copies of them.
  for (unsigned p : params) {
    Type et =
        cast<RankedTensorType>(step.getArgumentTypes()[p]).getElementType();
    if (!et.isF32())
      return step.emitOpError("ssm-build-train-step: parameter '")
             << argName(step, p) << "' has element type " << et
             << "; train_step updates float32 parameters only";
  }
  SmallVector<llvm::GlobPattern> patterns;
  for (const std::string &p : frozen)
    patterns.push_back(cantFail(llvm::GlobPattern::create(p)));
  auto isFrozen = [&](StringRef name) {
    // A parameter the loss does not read has no gradient: left unchanged
    // (no weight decay either), as torch.optim.AdamW skips it.
    if (unreached.contains(name))
      return true;
    return llvm::any_of(
        patterns, [&](const llvm::GlobPattern &g) { return g.match(name); });
  };

  // Optimizer state and hyperparameters as arguments.
  auto named = [&](StringRef n) { return nameAttrs(ctx, n); };
  SmallVector<BlockArgument> ms, vs;
  SmallVector<Type> argTypes(step.getArgumentTypes());
  SmallVector<DictionaryAttr> argAttrs;
  for (unsigned i = 0; i < numArgs; ++i)
    argAttrs.push_back(step.getArgAttrDict(i));
  for (StringRef prefix : {"adam_m.", "adam_v."})
    for (unsigned p : params) {
      Type type = step.getArgumentTypes()[p];
      BlockArgument a = entry.addArgument(type, loc);
      (prefix == "adam_m." ? ms : vs).push_back(a);
      argTypes.push_back(type);
      argAttrs.push_back(named((prefix + argName(step, p)).str()));
    }
  auto scalarType = RankedTensorType::get({}, f32);
  BlockArgument lr = entry.addArgument(scalarType, loc);
  BlockArgument stepNo = entry.addArgument(scalarType, loc);
  argTypes.append({scalarType, scalarType});
  argAttrs.append({named("lr"), named("step")});

  b.setInsertionPoint(ret);
  Value lossValue = ret.getOperand(0);
  // The global gradient norm over the trained parameters, and the clipping
  // scale min(1, max_norm / (norm + 1e-6)). The squares are summed in
  // float64 and in two levels (the rows of each gradient along its first
  // dimension, then the rows' sums): a float32 running sum of a large
  // gradient loses the terms below half an ulp of the sum, and the rows
  // are independent loops (threads on a GPU).
  Type f64 = b.getF64Type();
  Builder d{b, loc, f64};
  Value sq = d.filled({}, 0.0);
  AffineMap scalarMap1 = AffineMap::get(1, 0, {}, ctx);
  auto addSquare = [](OpBuilder &nb, Location l, ValueRange a) -> Value {
    Value x = a[0];
    if (x.getType() != a[1].getType())
      x = arith::ExtFOp::create(nb, l, a[1].getType(), x);
    return arith::AddFOp::create(nb, l, a[1],
                                 arith::MulFOp::create(nb, l, x, x));
  };
  auto addValue = [](OpBuilder &nb, Location l, ValueRange a) -> Value {
    return arith::AddFOp::create(nb, l, a[1], a[0]);
  };
  for (auto [k, p] : llvm::enumerate(params)) {
    if (isFrozen(argName(step, p)))
      continue;
    Value g = ret.getOperand(1 + k);
    auto gt = cast<RankedTensorType>(g.getType());
    int64_t rank = gt.getRank();
    if (rank == 0) {
      sq = d.generic({g}, {AffineMap::get(0, 0, {}, ctx)}, sq,
                     AffineMap::get(0, 0, {}, ctx), {}, addSquare);
      continue;
    }
    SmallVector<utils::IteratorType> iters(rank,
                                           utils::IteratorType::reduction);
    iters[0] = utils::IteratorType::parallel;
    Value rows = d.filled({tensor::getMixedSize(b, loc, g, 0)}, 0.0);
    rows = d.generic({g}, {b.getMultiDimIdentityMap(rank)}, rows,
                     AffineMap::get(rank, 0, {b.getAffineDimExpr(0)}, ctx),
                     iters, addSquare);
    sq = d.generic({rows}, {b.getMultiDimIdentityMap(1)}, sq, scalarMap1,
                   {utils::IteratorType::reduction}, addValue);
  }
  AffineMap scalar0 = AffineMap::get(0, 0, {}, ctx);
  double maxNorm = maxGradNorm;
  Value norm = t.generic(
      {sq}, {scalar0},
      tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{}, f32), scalar0, {},
      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        return arith::TruncFOp::create(nb, l, f32,
                                       math::SqrtOp::create(nb, l, a[0]));
      });
  Value clip = t.generic(
      {norm}, {scalar0},
      tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{}, f32), scalar0, {},
      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        Value oneF = arith::ConstantOp::create(nb, l, nb.getFloatAttr(f32, 1));
        if (maxNorm <= 0)
          return oneF;
        Value eps =
            arith::ConstantOp::create(nb, l, nb.getFloatAttr(f32, 1e-6));
        Value mx =
            arith::ConstantOp::create(nb, l, nb.getFloatAttr(f32, maxNorm));
        Value q = arith::DivFOp::create(
            nb, l, mx, arith::AddFOp::create(nb, l, a[0], eps));
        return arith::MinimumFOp::create(nb, l, q, oneF);
      });

  // AdamW, per parameter: m' = b1 m + (1 - b1) g, v' = b2 v + (1 - b2) g^2,
  // p' = p - lr (m' / (1 - b1^t) / (sqrt(v' / (1 - b2^t)) + eps) + wd p).
  double b1 = beta1, b2 = beta2, epsilon = eps, wd = weightDecay;
  SmallVector<Value> newParams, newMs, newVs;
  for (auto [k, p] : llvm::enumerate(params)) {
    Value param = entry.getArgument(p);
    if (isFrozen(argName(step, p))) {
      newParams.push_back(param);
      newMs.push_back(ms[k]);
      newVs.push_back(vs[k]);
      continue;
    }
    auto pt = cast<RankedTensorType>(param.getType());
    unsigned rank = pt.getRank();
    AffineMap id = b.getMultiDimIdentityMap(rank);
    AffineMap scalar = AffineMap::get(rank, 0, {}, ctx);
    SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
    SmallVector<Value> inits;
    for (int i = 0; i < 3; ++i)
      inits.push_back(tensor::EmptyOp::create(
          b, loc, tensor::getMixedSizes(b, loc, param), f32));
    auto op = linalg::GenericOp::create(
        b, loc, TypeRange{pt, pt, pt},
        ValueRange{param, ret.getOperand(1 + k), ms[k], vs[k], clip, lr,
                   stepNo},
        inits,
        ArrayRef<AffineMap>{id, id, id, id, scalar, scalar, scalar, id, id, id},
        iters, [&](OpBuilder &nb, Location l, ValueRange a) {
          auto c = [&](double v) -> Value {
            return arith::ConstantOp::create(nb, l, nb.getFloatAttr(f32, v));
          };
          Value g = arith::MulFOp::create(nb, l, a[1], a[4]);
          Value m = arith::AddFOp::create(
              nb, l, arith::MulFOp::create(nb, l, c(b1), a[2]),
              arith::MulFOp::create(nb, l, c(1 - b1), g));
          Value g2 = arith::MulFOp::create(nb, l, g, g);
          Value v = arith::AddFOp::create(
              nb, l, arith::MulFOp::create(nb, l, c(b2), a[3]),
              arith::MulFOp::create(nb, l, c(1 - b2), g2));
          Value bc1 = arith::SubFOp::create(
              nb, l, c(1), math::PowFOp::create(nb, l, c(b1), a[6]));
          Value bc2 = arith::SubFOp::create(
              nb, l, c(1), math::PowFOp::create(nb, l, c(b2), a[6]));
          Value mhat = arith::DivFOp::create(nb, l, m, bc1);
          Value vhat = arith::DivFOp::create(nb, l, v, bc2);
          Value denom = arith::AddFOp::create(
              nb, l, math::SqrtOp::create(nb, l, vhat), c(epsilon));
          Value update = arith::AddFOp::create(
              nb, l, arith::DivFOp::create(nb, l, mhat, denom),
              arith::MulFOp::create(nb, l, c(wd), a[0]));
          Value newP = arith::SubFOp::create(
              nb, l, a[0], arith::MulFOp::create(nb, l, a[5], update));
          linalg::YieldOp::create(nb, l, ValueRange{newP, m, v});
        });
    newParams.push_back(op.getResult(0));
    newMs.push_back(op.getResult(1));
    newVs.push_back(op.getResult(2));
  }

  SmallVector<Value> results = {lossValue, norm};
  SmallVector<DictionaryAttr> resultAttrs = {named("loss"), named("grad_norm")};
  results.append(newParams);
  for (unsigned p : params)
    resultAttrs.push_back(named(argName(step, p)));
  results.append(newMs);
  for (unsigned p : params)
    resultAttrs.push_back(named(("adam_m." + argName(step, p)).str()));
  results.append(newVs);
  for (unsigned p : params)
    resultAttrs.push_back(named(("adam_v." + argName(step, p)).str()));
  auto newRet = func::ReturnOp::create(b, ret.getLoc(), results);
  ret.erase();
  SmallVector<Type> resultTypes(newRet.getOperandTypes());
  step.setType(FunctionType::get(ctx, argTypes, resultTypes));
  step.setAllArgAttrs(argAttrs);
  step.setAllResultAttrs(resultAttrs);
  return success();
}
