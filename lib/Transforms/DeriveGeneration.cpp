//===- DeriveGeneration.cpp - Prefill and decode from a model function ----===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "ssm/Dialect/SSM/IR/SSMOps.h"
#include "ssm/Transforms/Passes.h"
#include "ssm/Utils/DType.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/CSE.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMDERIVEGENERATION
#include "ssm/Transforms/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;
using namespace mlir::ssm;

namespace {

/// One state tensor of the derived functions: its signature name and type.
struct StateSlot {
  std::string name;
  RankedTensorType type;
  bool growing = false; // a KV cache: (batch, past, ...) -> (batch, past + seq)
};

/// The ops that keep the function's results alive.
llvm::SetVector<Operation *> liveOps(func::FuncOp f) {
  llvm::SetVector<Operation *> live;
  SmallVector<Operation *> work;
  f.walk([&](func::ReturnOp r) { work.push_back(r); });
  while (!work.empty()) {
    Operation *op = work.pop_back_val();
    if (!live.insert(op))
      continue;
    op->walk([&](Operation *nested) {
      for (Value v : nested->getOperands())
        if (Operation *def = v.getDefiningOp())
          if (!live.contains(def))
            work.push_back(def);
    });
  }
  return live;
}

/// `a` and `b` joined along dim 1.
Value concatSeq(OpBuilder &b, Location loc, Value a, Value x) {
  auto type = cast<RankedTensorType>(a.getType());
  int64_t rank = type.getRank();
  SmallVector<OpFoldResult> sizes, aSizes, xSizes;
  for (int64_t d = 0; d < rank; ++d) {
    aSizes.push_back(tensor::getMixedSize(b, loc, a, d));
    xSizes.push_back(tensor::getMixedSize(b, loc, x, d));
  }
  sizes = aSizes;
  Value past = getValueOrCreateConstantIndexOp(b, loc, aSizes[1]);
  Value len = getValueOrCreateConstantIndexOp(b, loc, xSizes[1]);
  Value total = arith::AddIOp::create(b, loc, past, len);
  sizes[1] = total;
  Value init = tensor::EmptyOp::create(b, loc, sizes, type.getElementType());
  SmallVector<OpFoldResult> zeros(rank, b.getIndexAttr(0)),
      ones(rank, b.getIndexAttr(1));
  Value withA =
      tensor::InsertSliceOp::create(b, loc, a, init, zeros, aSizes, ones);
  SmallVector<OpFoldResult> at = zeros;
  at[1] = past;
  Value full =
      tensor::InsertSliceOp::create(b, loc, x, withA, at, xSizes, ones);
  // Keep the cache type (a dynamic length).
  return tensor::CastOp::create(b, loc, type, full);
}

/// The dimension-1 name of an input or output in a signature, if any.
std::optional<StringRef> rowDimName(const llvm::json::Value &io) {
  const llvm::json::Object *o = io.getAsObject();
  const llvm::json::Array *shape = o ? o->getArray("shape") : nullptr;
  if (!shape || shape->size() < 2)
    return std::nullopt;
  return (*shape)[1].getAsString();
}

/// The entry's outputs with one row per token: dimension 1 named, in the
/// entry's signature, as the token input's dimension 1 (and dynamic).
SmallVector<unsigned> perTokenOutputs(func::FuncOp entryFn) {
  SmallVector<unsigned> result;
  auto sig = entryFn->getAttrOfType<StringAttr>("ssm.signature");
  if (!sig)
    return result;
  llvm::Expected<llvm::json::Value> v = llvm::json::parse(sig.getValue());
  if (!v) {
    llvm::consumeError(v.takeError());
    return result;
  }
  llvm::json::Object *o = v->getAsObject();
  llvm::json::Array *in = o ? o->getArray("inputs") : nullptr;
  llvm::json::Array *out = o ? o->getArray("outputs") : nullptr;
  if (!in || !out || in->empty() || out->size() != entryFn.getNumResults())
    return result;
  std::optional<StringRef> seq = rowDimName((*in)[0]);
  if (!seq)
    return result;
  for (auto [i, io] : llvm::enumerate(*out)) {
    auto type = dyn_cast<RankedTensorType>(entryFn.getResultTypes()[i]);
    if (type && type.getRank() >= 2 && type.isDynamicDim(1) &&
        rowDimName(io) == seq)
      result.push_back(i);
  }
  return result;
}

/// Makes `f` return only the last row (along dimension 1) of its results
/// `rows`, and moves those slices up through the ops that compute them
/// alone, so that those ops compute one row.
void keepLastRow(func::FuncOp f, ArrayRef<unsigned> rows) {
  if (rows.empty())
    return;
  Block &body = f.getBody().front();
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  OpBuilder b(ret);
  for (unsigned i : rows) {
    Value v = ret.getOperand(i);
    auto type = cast<RankedTensorType>(v.getType());
    Location loc = v.getLoc();
    int64_t rank = type.getRank();
    SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)), sizes,
        strides(rank, b.getIndexAttr(1));
    for (int64_t d = 0; d < rank; ++d)
      sizes.push_back(tensor::getMixedSize(b, loc, v, d));
    Value n = tensor::DimOp::create(b, loc, v, 1);
    offsets[1] = arith::SubIOp::create(
                     b, loc, n, arith::ConstantIndexOp::create(b, loc, 1))
                     .getResult();
    sizes[1] = b.getIndexAttr(1);
    SmallVector<int64_t> shape(type.getShape());
    shape[1] = 1;
    auto sliceType = RankedTensorType::get(shape, type.getElementType());
    ret.setOperand(i, tensor::ExtractSliceOp::create(b, loc, sliceType, v,
                                                     offsets, sizes, strides));
  }
  f.setFunctionType(FunctionType::get(f.getContext(), body.getArgumentTypes(),
                                      ret.getOperandTypes()));
  // The upstream patterns move a slice above a linalg op (or a fill, or a
  // reshape) whose result nothing else reads; a value that other ops also
  // read (the residual stream) keeps its full size and is sliced there.
  // Sizes read from a result (tensor.dim) are read from its operands
  // instead, so that they do not count as readers.
  MLIRContext *ctx = f.getContext();
  RewritePatternSet patterns(ctx);
  linalg::populateBubbleUpExtractSliceOpPatterns(patterns);
  linalg::populateSwapExtractSliceWithFillPatterns(patterns);
  tensor::populateBubbleUpExtractSliceOpPatterns(patterns);
  tensor::populateFoldTensorEmptyPatterns(patterns);
  memref::populateResolveRankedShapedTypeResultDimsPatterns(patterns);
  tensor::ExtractSliceOp::getCanonicalizationPatterns(patterns, ctx);
  affine::AffineApplyOp::getCanonicalizationPatterns(patterns, ctx);
  affine::AffineLinearizeIndexOp::getCanonicalizationPatterns(patterns, ctx);
  FrozenRewritePatternSet frozen(std::move(patterns));
  // Equal slices of one value (the residual stream, read by a norm and by
  // the next residual add, both sliced) are merged between rounds, so the
  // value has one reader again and the slice moves on above it.
  for (int round = 0; round < 64; ++round) {
    bool moved = false, merged = false;
    (void)applyPatternsGreedily(f, frozen, GreedyRewriteConfig(), &moved);
    IRRewriter rewriter(ctx);
    DominanceInfo dominance(f);
    eliminateCommonSubExpressions(rewriter, dominance, f, &merged);
    if (!moved && !merged)
      break;
  }
}

struct SSMDeriveGeneration
    : mlir::ssm::impl::SSMDeriveGenerationBase<SSMDeriveGeneration> {
  using Base::Base;

  LogicalResult fail(Operation *at, const Twine &message) {
    at->emitError() << "ssm-derive-generation: " << message;
    return failure();
  }

  /// Turns `f` (a clone of the entry) into prefill: state arguments and
  /// results. Returns the state slots in order.
  FailureOr<SmallVector<StateSlot>> addState(func::FuncOp f);

  /// The signature JSON of a derived function.
  std::string signature(func::FuncOp entryFn, StringRef name,
                        ArrayRef<StateSlot> slots, bool decode,
                        ArrayRef<unsigned> lastRowOnly = {});

  void runOnOperation() override;
};

} // namespace

FailureOr<SmallVector<StateSlot>>
SSMDeriveGeneration::addState(func::FuncOp f) {
  Block &body = f.getBody().front();
  Value tokens = body.getArgument(0);
  Location loc = f.getLoc();
  OpBuilder b(f.getContext());
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  SmallVector<StateSlot> slots;
  SmallVector<Value> outs;

  auto addArg = [&](StringRef kind, unsigned index, RankedTensorType type,
                    bool growing = false) {
    slots.push_back({(kind + "." + Twine(index)).str(), type, growing});
    return body.addArgument(type, loc);
  };

  // position: tensor<1xi64>, advanced by seq.
  auto posType = RankedTensorType::get({1}, b.getI64Type());
  slots.push_back({"position", posType, false});
  Value position = body.addArgument(posType, loc);
  b.setInsertionPoint(ret);
  {
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value seq = tensor::DimOp::create(b, loc, tokens, 1);
    Value p = tensor::ExtractOp::create(b, loc, position, ValueRange{zero});
    Value next = arith::AddIOp::create(
        b, loc, p, arith::IndexCastOp::create(b, loc, b.getI64Type(), seq));
    outs.push_back(tensor::FromElementsOp::create(b, loc, posType, next));
  }

  SmallVector<Operation *> ops;
  f.walk([&](Operation *op) {
    if (isa<MixerOpInterface, CausalConv1DOp, TokenPositionsOp>(op))
      ops.push_back(op);
  });
  DenseMap<StringRef, unsigned> counts;
  auto next = [&](StringRef kind) { return counts[kind]++; };
  // A state operand fed and the matching result returned.
  auto thread = [&](Operation *op, MutableOperandRange operand, StringRef kind,
                    Value result) -> LogicalResult {
    if (!operand.empty())
      return fail(op, "the op already takes an initial state ('" + kind +
                          "'); the model must not feed its own state");
    auto type = cast<RankedTensorType>(result.getType());
    operand.assign(addArg(kind, next(kind), type));
    outs.push_back(result);
    return success();
  };

  for (Operation *op : ops) {
    LogicalResult ok =
        llvm::TypeSwitch<Operation *, LogicalResult>(op)
            .Case([&](TokenPositionsOp p) -> LogicalResult {
              if (p.getOffset())
                return fail(op, "ssm.token_positions already has an offset");
              p.getOffsetMutable().assign(position);
              return success();
            })
            .Case([&](CausalConv1DOp c) {
              return thread(op, c.getInitialStateMutable(), "conv_state",
                            c.getFinalState());
            })
            .Case([&](SSDOp m) {
              return thread(op, m.getInitialStateMutable(), "ssm_state",
                            m.getFinalState());
            })
            .Case([&](DiscreteSSDOp m) {
              return thread(op, m.getInitialStateMutable(), "ssm_state",
                            m.getFinalState());
            })
            .Case([&](LinearAttentionOp m) {
              return thread(op, m.getInitialStateMutable(),
                            "linear_attention_state", m.getFinalState());
            })
            .Case([&](Mamba3Op m) -> LogicalResult {
              if (failed(thread(op, m.getInitialStateMutable(), "ssm_state",
                                m.getFinalState())) ||
                  failed(thread(op, m.getInitialAngleMutable(), "angle_state",
                                m.getFinalAngle())) ||
                  failed(thread(op, m.getInitialKMutable(), "k_state",
                                m.getFinalK())) ||
                  failed(thread(op, m.getInitialXMutable(), "x_state",
                                m.getFinalX())))
                return failure();
              return success();
            })
            .Case([&](AttentionOp a) -> LogicalResult {
              if (!a.getCausal())
                return fail(op, "attention that is not causal cannot be fed "
                                "token by token");
              if (a.getMask())
                return fail(op, "attention with an additive mask cannot be "
                                "extended to a KV cache (only the causal "
                                "flag can)");
              int64_t l =
                  cast<RankedTensorType>(a.getQuery().getType()).getDimSize(1);
              int64_t s =
                  cast<RankedTensorType>(a.getKey().getType()).getDimSize(1);
              if (l != s)
                return fail(op, "attention whose keys are not the query "
                                "tokens (a key prefix) cannot be cached");
              unsigned i = next("kv_cache");
              b.setInsertionPoint(op);
              SmallVector<Value> extended;
              Value keyValue[] = {a.getKey(), a.getValue()};
              StringRef kinds[] = {"k_cache", "v_cache"};
              for (auto [value, kind] : llvm::zip(keyValue, kinds)) {
                auto t = cast<RankedTensorType>(value.getType());
                SmallVector<int64_t> shape(t.getShape());
                shape[1] = ShapedType::kDynamic;
                auto cacheType =
                    RankedTensorType::get(shape, t.getElementType());
                Value cache = addArg(kind, i, cacheType, /*growing=*/true);
                Value v = value;
                if (v.getType() != cacheType)
                  v = tensor::CastOp::create(b, op->getLoc(), cacheType, v);
                extended.push_back(concatSeq(b, op->getLoc(), cache, v));
              }
              op->setOperand(1, extended[0]);
              op->setOperand(2, extended[1]);
              outs.append(extended);
              return success();
            })
            .Default([&](Operation *) {
              return fail(op, "has no recurrent state this pass knows");
            });
    if (failed(ok))
      return failure();
  }

  // Position first, then the ops' states in order: `outs` already is.
  SmallVector<Value> results(ret.getOperands());
  results.append(outs);
  ret->setOperands(results);
  f.setFunctionType(FunctionType::get(f.getContext(), body.getArgumentTypes(),
                                      ValueRange(results).getTypes()));
  return slots;
}

std::string SSMDeriveGeneration::signature(func::FuncOp entryFn, StringRef name,
                                           ArrayRef<StateSlot> slots,
                                           bool decode,
                                           ArrayRef<unsigned> lastRowOnly) {
  llvm::json::Array inputs, outputs;
  // The names of the token input's batch and sequence sizes ("" when it
  // has none: the state's sizes are then unnamed too).
  std::string batchName, seqName;
  if (auto sig = entryFn->getAttrOfType<StringAttr>("ssm.signature")) {
    if (llvm::Expected<llvm::json::Value> v =
            llvm::json::parse(sig.getValue())) {
      if (llvm::json::Object *o = v->getAsObject()) {
        if (llvm::json::Array *in = o->getArray("inputs"))
          inputs = *in;
        if (llvm::json::Array *out = o->getArray("outputs"))
          outputs = *out;
      }
    } else {
      llvm::consumeError(v.takeError());
    }
  }
  auto derived = [&](Type t, StringRef n) {
    auto type = cast<RankedTensorType>(t);
    llvm::json::Array shape;
    for (int64_t d : type.getShape())
      shape.push_back(ShapedType::isDynamic(d) ? llvm::json::Value(nullptr)
                                               : llvm::json::Value(d));
    return llvm::json::Object{{"name", n},
                              {"dtype", dtypeName(type.getElementType())},
                              {"shape", std::move(shape)}};
  };
  if (inputs.size() != 1)
    inputs =
        llvm::json::Array{derived(entryFn.getArgumentTypes()[0], "tokens")};
  if (outputs.size() != entryFn.getNumResults()) {
    outputs.clear();
    for (auto [i, t] : llvm::enumerate(entryFn.getResultTypes()))
      outputs.push_back(derived(t, "result" + std::to_string(i)));
  }
  if (llvm::json::Object *tok = inputs[0].getAsObject())
    if (llvm::json::Array *shape = tok->getArray("shape");
        shape && shape->size() >= 2) {
      if (auto s = (*shape)[0].getAsString())
        batchName = s->str();
      if (auto s = (*shape)[1].getAsString())
        seqName = s->str();
      if (decode)
        (*shape)[1] = 1;
    }
  if (decode)
    for (llvm::json::Value &out : outputs)
      if (llvm::json::Object *o = out.getAsObject())
        if (llvm::json::Array *shape = o->getArray("shape"))
          for (llvm::json::Value &d : *shape)
            if (auto s = d.getAsString();
                s && !seqName.empty() && s->contains(seqName))
              d = *s == seqName ? llvm::json::Value(1)
                                : llvm::json::Value(nullptr);
  for (unsigned i : lastRowOnly)
    if (i < outputs.size())
      if (llvm::json::Object *o = outputs[i].getAsObject())
        if (llvm::json::Array *shape = o->getArray("shape");
            shape && shape->size() >= 2)
          (*shape)[1] = 1;
  for (const StateSlot &slot : slots) {
    auto shapeOf = [&](bool output) {
      llvm::json::Array shape;
      for (auto [d, size] : llvm::enumerate(slot.type.getShape())) {
        if (!ShapedType::isDynamic(size))
          shape.push_back(size);
        else if (d == 0 && !batchName.empty())
          shape.push_back(batchName);
        else if (d == 1 && slot.growing && !output)
          shape.push_back("past");
        else if (d == 1 && slot.growing && decode)
          shape.push_back("past + 1");
        else if (d == 1 && slot.growing && !seqName.empty())
          shape.push_back("past + " + seqName);
        else
          shape.push_back(nullptr);
      }
      return shape;
    };
    std::string dtype = dtypeName(slot.type.getElementType()).str();
    inputs.push_back(llvm::json::Object{
        {"name", slot.name}, {"dtype", dtype}, {"shape", shapeOf(false)}});
    outputs.push_back(llvm::json::Object{
        {"name", slot.name}, {"dtype", dtype}, {"shape", shapeOf(true)}});
  }
  llvm::json::Object sig{{"name", name},
                         {"inputs", std::move(inputs)},
                         {"outputs", std::move(outputs)},
                         {"state", static_cast<int64_t>(slots.size())},
                         {"generation", decode ? "decode" : "prefill"}};
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::json::Value(std::move(sig));
  return text;
}

void SSMDeriveGeneration::runOnOperation() {
  ModuleOp module = getOperation();
  SymbolTable symbols(module);
  auto entryFn = symbols.lookup<func::FuncOp>(entry);
  if (!entryFn || entryFn.isExternal()) {
    module.emitError() << "ssm-derive-generation: no function '" << entry
                       << "' with a body";
    return signalPassFailure();
  }
  for (StringRef name : {"prefill", "decode"})
    if (symbols.lookup(name)) {
      module.emitError() << "ssm-derive-generation: the module already has a "
                            "symbol '"
                         << name << "'";
      return signalPassFailure();
    }
  if (prefillLogits != "last" && prefillLogits != "all") {
    module.emitError() << "ssm-derive-generation: prefill-logits must be "
                          "'last' or 'all', got '"
                       << prefillLogits << "'";
    return signalPassFailure();
  }
  if (entryFn.getNumArguments() != 1) {
    (void)fail(entryFn, "prefill and decode need a model whose only input is "
                        "the token ids (batch, seq); '" +
                            entry + "' has " +
                            Twine(entryFn.getNumArguments()) + " inputs");
    return signalPassFailure();
  }
  auto tokenType = dyn_cast<RankedTensorType>(entryFn.getArgumentTypes()[0]);
  if (!tokenType || tokenType.getRank() != 2 ||
      !isa<IntegerType>(tokenType.getElementType()) ||
      !tokenType.isDynamicDim(1)) {
    (void)fail(entryFn,
               "the input must be integer token ids (batch, seq) "
               "with a dynamic sequence length, got " +
                   llvm::formatv("{0}", entryFn.getArgumentTypes()[0]).str());
    return signalPassFailure();
  }
  for (Operation *op : liveOps(entryFn))
    if (auto why = op->getAttrOfType<StringAttr>("ssm.token_mixing")) {
      (void)fail(op, "the model mixes tokens outside the ssm ops, so it "
                     "cannot be run token by token: " +
                         why.getValue() +
                         " (a decomposed mixer that the importer does not "
                         "recognize)");
      return signalPassFailure();
    }

  auto prefill = cast<func::FuncOp>(entryFn->clone());
  prefill.setName("prefill");
  symbols.insert(prefill, std::next(Block::iterator(entryFn)));
  // The entry's argument and result attributes (names) do not describe the
  // new arguments; the signature does.
  prefill.removeArgAttrsAttr();
  prefill.removeResAttrsAttr();
  FailureOr<SmallVector<StateSlot>> slots = addState(prefill);
  if (failed(slots)) {
    prefill.erase();
    return signalPassFailure();
  }

  // decode: prefill over one token; mixers in chunks of one token.
  auto decode = cast<func::FuncOp>(prefill->clone());
  decode.setName("decode");
  symbols.insert(decode, std::next(Block::iterator(prefill)));
  {
    Block &body = decode.getBody().front();
    BlockArgument tokens = body.getArgument(0);
    auto one = RankedTensorType::get({tokenType.getDimSize(0), 1},
                                     tokenType.getElementType());
    tokens.setType(one);
    OpBuilder b = OpBuilder::atBlockBegin(&body);
    auto cast = tensor::CastOp::create(b, decode.getLoc(), tokenType, tokens);
    tokens.replaceAllUsesExcept(cast.getResult(), cast.getOperation());
    decode.setFunctionType(FunctionType::get(
        &getContext(), body.getArgumentTypes(), decode.getResultTypes()));
    // One token: the quadratic form is a 1 x 1 matrix plus the state
    // update, in the state's own layout; no chunked form.
    decode.walk([&](MixerOpInterface m) {
      m->setAttr("ssm.single_token", b.getUnitAttr());
    });
  }

  // prefill: the last token's rows only (decode, cloned above, has one).
  SmallVector<unsigned> lastRow;
  if (prefillLogits == "last")
    lastRow = perTokenOutputs(entryFn);
  keepLastRow(prefill, lastRow);

  OpBuilder b(&getContext());
  prefill->setAttr("ssm.signature",
                   b.getStringAttr(signature(entryFn, "prefill", *slots,
                                             /*decode=*/false, lastRow)));
  decode->setAttr("ssm.signature",
                  b.getStringAttr(signature(entryFn, "decode", *slots,
                                            /*decode=*/true)));
  // The state arguments belong to the caller's generation state, which the
  // results replace: they may be updated in place (the other arguments of
  // entry points are read-only, see ssmc).
  for (func::FuncOp f : {prefill, decode})
    for (unsigned i = 1; i < f.getNumArguments(); ++i)
      f.setArgAttr(i, "bufferization.writable", b.getBoolAttr(true));
  // The importer's marks have served their purpose.
  module.walk([](Operation *op) { op->removeAttr("ssm.token_mixing"); });
}
