//===- ElementwiseOps.cpp - ONNX elementwise and constant ops -------------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <cmath>

using namespace mlir;
using namespace mlir::ssm;
using namespace mlir::ssm::onnx_frontend;

const llvm::StringMap<Importer::Handler> &Importer::handlers() {
  static const llvm::StringMap<Handler> table = [] {
    llvm::StringMap<Handler> t;
    for (StringRef op :
         {"Sqrt", "Exp", "Log", "Tanh", "Sigmoid", "Relu", "Softplus", "Sin",
          "Cos", "Erf", "Reciprocal", "Neg", "Abs", "Floor", "Ceil"})
      t[op] = &Importer::importUnary;
    for (StringRef op : {"Add", "Sub", "Mul", "Div", "Mod"})
      t[op] = &Importer::importBinary;
    for (StringRef op : {"Max", "Min", "Sum"})
      t[op] = &Importer::importVariadic;
    for (StringRef op :
         {"Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual"})
      t[op] = &Importer::importCompare;
    for (StringRef op : {"And", "Or", "Xor"})
      t[op] = &Importer::importLogical;
    t["Not"] = &Importer::importNot;
    t["IsNaN"] = &Importer::importIsNaN;
    t["Where"] = &Importer::importWhere;
    t["Cast"] = &Importer::importCast;
    t["Clip"] = &Importer::importClip;
    t["Pow"] = &Importer::importPow;
    t["Identity"] = &Importer::importIdentity;
    t["Constant"] = &Importer::importConstant;
    t["ConstantOfShape"] = &Importer::importConstantOfShape;
    t["Shape"] = &Importer::importShape;
    t["Reshape"] = &Importer::importReshape;
    t["Transpose"] = &Importer::importTranspose;
    t["Squeeze"] = &Importer::importSqueeze;
    t["Unsqueeze"] = &Importer::importUnsqueeze;
    t["Concat"] = &Importer::importConcat;
    t["Slice"] = &Importer::importSlice;
    t["Split"] = &Importer::importSplit;
    t["Pad"] = &Importer::importPad;
    t["Expand"] = &Importer::importExpand;
    t["Gather"] = &Importer::importGather;
    t["GatherND"] = &Importer::importGatherND;
    t["Range"] = &Importer::importRange;
    t["Trilu"] = &Importer::importTrilu;
    t["MatMul"] = &Importer::importMatMul;
    t["Gemm"] = &Importer::importGemm;
    t["Conv"] = &Importer::importConv;
    for (StringRef op : {"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin",
                         "ReduceProd", "ReduceSumSquare"})
      t[op] = &Importer::importReduce;
    t["Softmax"] = &Importer::importSoftmax;
    t["LogSoftmax"] = &Importer::importSoftmax;
    t["CumSum"] = &Importer::importCumSum;
    t["LayerNormalization"] = &Importer::importLayerNorm;
    t["SimplifiedLayerNormalization"] = &Importer::importLayerNorm;
    t["RMSNormalization"] = &Importer::importLayerNorm;
    t["com.microsoft.SimplifiedLayerNormalization"] =
        &Importer::importLayerNorm;
    t["Attention"] = &Importer::importAttention;
    t["RotaryEmbedding"] = &Importer::importRotaryEmbedding;
    t["com.microsoft.RotaryEmbedding"] = &Importer::importRotaryEmbedding;
    t["CausalConvWithState"] = &Importer::importCausalConvWithState;
    t["com.microsoft.CausalConvWithState"] =
        &Importer::importCausalConvWithState;
    t["LinearAttention"] = &Importer::importLinearAttention;
    t["com.microsoft.LinearAttention"] = &Importer::importLinearAttention;
    for (StringRef op : {"SSD", "DiscreteSSD", "Mamba3", "Attention", "RMSNorm",
                         "CausalConv1d", "Rotary", "HybridMerge"})
      t[("ai.ssmc." + op).str()] = &Importer::importSSMC;
    return t;
  }();
  return table;
}

static bool isFloat(Type t) { return isa<FloatType>(t); }

static Value floatConst(OpBuilder &b, Location loc, Type t, double v) {
  return arith::ConstantOp::create(b, loc, b.getFloatAttr(t, v));
}

//===----------------------------------------------------------------------===//
// Symbolic evaluation of small integer tensors
//===----------------------------------------------------------------------===//

using ElemFn = std::function<std::optional<AffineExpr>(ArrayRef<AffineExpr>)>;

/// Evaluates an elementwise op on the known contents of small integer
/// tensors. Returns std::nullopt when an input's contents are unknown or `fn`
/// cannot express the result.
static std::optional<Tensor> evalElems(Importer &imp, ArrayRef<Tensor *> ins,
                                       Type resultType, const ElemFn &fn) {
  if (!isa<IntegerType>(resultType) || resultType.isInteger(1))
    return std::nullopt;
  size_t len = 0;
  bool scalar = true;
  SmallVector<SmallVector<AffineExpr>> all;
  for (Tensor *t : ins) {
    if (t->rank() > 1 || t->elementType.isInteger(1))
      return std::nullopt;
    std::optional<SmallVector<AffineExpr>> e = t->elems;
    if (!e) {
      auto ints = imp.constInts(*t);
      if (!ints)
        return std::nullopt;
      e.emplace();
      for (int64_t v : *ints)
        e->push_back(imp.cst(v));
    }
    if (t->rank() == 1)
      scalar = false;
    if (e->size() != 1 && len > 1 && e->size() != len)
      return std::nullopt;
    if (e->size() != 1 || len == 0)
      len = std::max(len, e->size());
    all.push_back(*e);
  }
  SmallVector<AffineExpr> out;
  for (size_t i = 0; i < len; ++i) {
    SmallVector<AffineExpr> args;
    for (auto &e : all)
      args.push_back(e.size() == 1 ? e[0] : e[i]);
    std::optional<AffineExpr> r = fn(args);
    if (!r)
      return std::nullopt;
    out.push_back(*r);
  }
  return imp.fromElems(resultType, out, scalar);
}

static std::optional<int64_t> cv(AffineExpr e) {
  return Importer::constantOf(e);
}

//===----------------------------------------------------------------------===//
// Unary
//===----------------------------------------------------------------------===//

LogicalResult Importer::importUnary(Node &n) {
  if (failed(requireInputs(n, 1, 1)))
    return failure();
  StringRef op = n.opType();
  Tensor &x = *n.inputs[0];
  Type et = x.elementType;
  bool fp = isFloat(et);
  bool intOk = op == "Neg" || op == "Abs" || op == "Relu";
  if (!fp && !intOk)
    return fail(n, "expects a floating-point input");
  if (op == "Neg" && !fp) {
    if (auto r = evalElems(*this, {&x}, et, [&](ArrayRef<AffineExpr> a) {
          return std::optional<AffineExpr>(a[0] * -1);
        })) {
      define(n, 0, *r);
      return success();
    }
  }
  auto body = [&](OpBuilder &b, Location loc, ValueRange a) -> Value {
    Value v = a[0];
    if (op == "Sqrt")
      return math::SqrtOp::create(b, loc, v);
    if (op == "Exp")
      return math::ExpOp::create(b, loc, v);
    if (op == "Log")
      return math::LogOp::create(b, loc, v);
    if (op == "Tanh")
      return math::TanhOp::create(b, loc, v);
    if (op == "Sin")
      return math::SinOp::create(b, loc, v);
    if (op == "Cos")
      return math::CosOp::create(b, loc, v);
    if (op == "Erf")
      return math::ErfOp::create(b, loc, v);
    if (op == "Floor")
      return math::FloorOp::create(b, loc, v);
    if (op == "Ceil")
      return math::CeilOp::create(b, loc, v);
    if (op == "Sigmoid") {
      Value one = floatConst(b, loc, et, 1.0);
      Value e = math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, v));
      return arith::DivFOp::create(b, loc, one,
                                   arith::AddFOp::create(b, loc, one, e));
    }
    if (op == "Softplus") { // max(x, 0) + log1p(exp(-|x|))
      Value zero = floatConst(b, loc, et, 0.0);
      Value m = arith::MaximumFOp::create(b, loc, v, zero);
      Value na = arith::NegFOp::create(b, loc, math::AbsFOp::create(b, loc, v));
      return arith::AddFOp::create(
          b, loc, m,
          math::Log1pOp::create(b, loc, math::ExpOp::create(b, loc, na)));
    }
    if (op == "Reciprocal")
      return arith::DivFOp::create(b, loc, floatConst(b, loc, et, 1.0), v);
    if (op == "Neg")
      return fp ? arith::NegFOp::create(b, loc, v).getResult()
                : arith::SubIOp::create(b, loc,
                                        arith::ConstantOp::create(
                                            b, loc, b.getIntegerAttr(et, 0)),
                                        v)
                      .getResult();
    if (op == "Abs")
      return fp ? math::AbsFOp::create(b, loc, v).getResult()
                : math::AbsIOp::create(b, loc, v).getResult();
    // Relu
    if (fp)
      return arith::MaximumFOp::create(b, loc, v, floatConst(b, loc, et, 0.0));
    return arith::MaxSIOp::create(
        b, loc, v, arith::ConstantOp::create(b, loc, b.getIntegerAttr(et, 0)));
  };
  FailureOr<Tensor> r = elementwise(n, {&x}, et, body);
  if (failed(r))
    return failure();
  define(n, 0, *r);
  return success();
}

//===----------------------------------------------------------------------===//
// Binary and variadic arithmetic
//===----------------------------------------------------------------------===//

static LogicalResult sameTypes(Importer &imp, Node &n) {
  Type et;
  for (Tensor *t : n.inputs) {
    if (!t)
      continue;
    if (et && t->elementType != et)
      return imp.fail(n, "inputs have different element types");
    et = t->elementType;
  }
  return success();
}

static int64_t floorMod(int64_t a, int64_t b) {
  int64_t r = a % b;
  return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}

LogicalResult Importer::importBinary(Node &n) {
  if (failed(requireInputs(n, 2, 2)) || failed(sameTypes(*this, n)))
    return failure();
  StringRef op = n.opType();
  Tensor &a = *n.inputs[0], &c = *n.inputs[1];
  Type et = a.elementType;
  bool fp = isFloat(et);
  int64_t fmod = 0;
  if (op == "Mod") {
    FailureOr<int64_t> f = intAttr(n, "fmod", 0);
    if (failed(f))
      return failure();
    fmod = *f;
    if (fp && !fmod)
      return fail(n, "floating-point Mod needs fmod=1");
  }
  if (et.isInteger(1))
    return fail(n, "expects numeric inputs, not bool");

  // Shape arithmetic stays symbolic.
  auto sym = [&](ArrayRef<AffineExpr> v) -> std::optional<AffineExpr> {
    AffineExpr x = v[0], y = v[1];
    auto cx = cv(x), cy = cv(y);
    if (op == "Add")
      return x + y;
    if (op == "Sub")
      return x - y;
    if (op == "Mul")
      return x * y;
    if (cy == 0)
      return std::nullopt;
    if (op == "Div") {
      if (cx && cy)
        return cst(*cx / *cy); // truncation, as ONNX integer division
      return divide(x, y);
    }
    if (cx && cy)
      return cst(fmod ? *cx % *cy : floorMod(*cx, *cy));
    if (cy && *cy > 0 && !fmod)
      return x % y;
    return std::nullopt;
  };
  if (auto r = evalElems(*this, {&a, &c}, et, sym)) {
    define(n, 0, *r);
    return success();
  }

  auto body = [&](OpBuilder &b, Location loc, ValueRange v) -> Value {
    Value x = v[0], y = v[1];
    if (op == "Add")
      return fp ? arith::AddFOp::create(b, loc, x, y).getResult()
                : arith::AddIOp::create(b, loc, x, y).getResult();
    if (op == "Sub")
      return fp ? arith::SubFOp::create(b, loc, x, y).getResult()
                : arith::SubIOp::create(b, loc, x, y).getResult();
    if (op == "Mul")
      return fp ? arith::MulFOp::create(b, loc, x, y).getResult()
                : arith::MulIOp::create(b, loc, x, y).getResult();
    if (op == "Div")
      return fp ? arith::DivFOp::create(b, loc, x, y).getResult()
                : arith::DivSIOp::create(b, loc, x, y).getResult();
    // Mod
    if (fp)
      return arith::RemFOp::create(b, loc, x, y);
    Value r = arith::RemSIOp::create(b, loc, x, y);
    if (fmod)
      return r;
    Value zero = arith::ConstantOp::create(b, loc, b.getIntegerAttr(et, 0));
    Value rNeg =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, r, zero);
    Value yNeg =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, y, zero);
    Value rNonZero =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, r, zero);
    Value differ = arith::XOrIOp::create(b, loc, rNeg, yNeg);
    Value fix = arith::AndIOp::create(b, loc, differ, rNonZero);
    return arith::SelectOp::create(b, loc, fix,
                                   arith::AddIOp::create(b, loc, r, y), r);
  };
  FailureOr<Tensor> r = elementwise(n, {&a, &c}, et, body);
  if (failed(r))
    return failure();
  define(n, 0, *r);
  return success();
}

LogicalResult Importer::importVariadic(Node &n) {
  if (failed(requireInputs(n, 1, 64)) || failed(sameTypes(*this, n)))
    return failure();
  for (Tensor *t : n.inputs)
    if (!t)
      return fail(n, "inputs cannot be omitted");
  StringRef op = n.opType();
  Type et = n.inputs[0]->elementType;
  bool fp = isFloat(et);
  if (et.isInteger(1))
    return fail(n, "expects numeric inputs, not bool");
  auto sym = [&](ArrayRef<AffineExpr> v) -> std::optional<AffineExpr> {
    AffineExpr acc = v[0];
    for (AffineExpr x : v.drop_front()) {
      if (op == "Sum") {
        acc = acc + x;
        continue;
      }
      if (acc == x)
        continue;
      auto ca = cv(acc), cx = cv(x);
      if (!ca || !cx)
        return std::nullopt;
      acc = cst(op == "Max" ? std::max(*ca, *cx) : std::min(*ca, *cx));
    }
    return acc;
  };
  if (auto r = evalElems(*this, n.inputs, et, sym)) {
    define(n, 0, *r);
    return success();
  }
  auto body = [&](OpBuilder &b, Location loc, ValueRange v) -> Value {
    Value acc = v[0];
    for (Value x : v.drop_front()) {
      if (op == "Sum")
        acc = fp ? arith::AddFOp::create(b, loc, acc, x).getResult()
                 : arith::AddIOp::create(b, loc, acc, x).getResult();
      else if (op == "Max")
        acc = fp ? arith::MaximumFOp::create(b, loc, acc, x).getResult()
                 : arith::MaxSIOp::create(b, loc, acc, x).getResult();
      else
        acc = fp ? arith::MinimumFOp::create(b, loc, acc, x).getResult()
                 : arith::MinSIOp::create(b, loc, acc, x).getResult();
    }
    return acc;
  };
  FailureOr<Tensor> r = elementwise(n, n.inputs, et, body);
  if (failed(r))
    return failure();
  define(n, 0, *r);
  return success();
}

LogicalResult Importer::importCompare(Node &n) {
  if (failed(requireInputs(n, 2, 2)) || failed(sameTypes(*this, n)))
    return failure();
  StringRef op = n.opType();
  Type et = n.inputs[0]->elementType;
  bool fp = isFloat(et);
  Type i1 = builder.getI1Type();
  auto body = [&](OpBuilder &b, Location loc, ValueRange v) -> Value {
    if (fp) {
      auto pred = llvm::StringSwitch<arith::CmpFPredicate>(op)
                      .Case("Equal", arith::CmpFPredicate::OEQ)
                      .Case("Less", arith::CmpFPredicate::OLT)
                      .Case("LessOrEqual", arith::CmpFPredicate::OLE)
                      .Case("Greater", arith::CmpFPredicate::OGT)
                      .Default(arith::CmpFPredicate::OGE);
      return arith::CmpFOp::create(b, loc, pred, v[0], v[1]);
    }
    auto pred = llvm::StringSwitch<arith::CmpIPredicate>(op)
                    .Case("Equal", arith::CmpIPredicate::eq)
                    .Case("Less", arith::CmpIPredicate::slt)
                    .Case("LessOrEqual", arith::CmpIPredicate::sle)
                    .Case("Greater", arith::CmpIPredicate::sgt)
                    .Default(arith::CmpIPredicate::sge);
    return arith::CmpIOp::create(b, loc, pred, v[0], v[1]);
  };
  FailureOr<Tensor> r = elementwise(n, n.inputs, i1, body);
  if (failed(r))
    return failure();
  define(n, 0, *r);
  return success();
}

LogicalResult Importer::importLogical(Node &n) {
  if (failed(requireInputs(n, 2, 2)))
    return failure();
  for (Tensor *t : n.inputs)
    if (!t->elementType.isInteger(1))
      return fail(n, "expects bool inputs");
  StringRef op = n.opType();
  auto body = [&](OpBuilder &b, Location loc, ValueRange v) -> Value {
    if (op == "And")
      return arith::AndIOp::create(b, loc, v[0], v[1]);
    if (op == "Or")
      return arith::OrIOp::create(b, loc, v[0], v[1]);
    return arith::XOrIOp::create(b, loc, v[0], v[1]);
  };
  FailureOr<Tensor> r = elementwise(n, n.inputs, builder.getI1Type(), body);
  if (failed(r))
    return failure();
  define(n, 0, *r);
  return success();
}

LogicalResult Importer::importNot(Node &n) {
  if (failed(requireInputs(n, 1, 1)))
    return failure();
  if (!n.inputs[0]->elementType.isInteger(1))
    return fail(n, "expects a bool input");
  FailureOr<Tensor> r =
      elementwise(n, n.inputs, builder.getI1Type(),
                  [&](OpBuilder &b, Location loc, ValueRange v) -> Value {
                    Value t =
                        arith::ConstantOp::create(b, loc, b.getBoolAttr(true));
                    return arith::XOrIOp::create(b, loc, v[0], t);
                  });
  if (failed(r))
    return failure();
  define(n, 0, *r);
  return success();
}

LogicalResult Importer::importIsNaN(Node &n) {
  if (failed(requireInputs(n, 1, 1)))
    return failure();
  if (!isFloat(n.inputs[0]->elementType))
    return fail(n, "expects a floating-point input");
  FailureOr<Tensor> r =
      elementwise(n, n.inputs, builder.getI1Type(),
                  [&](OpBuilder &b, Location loc, ValueRange v) -> Value {
                    return arith::CmpFOp::create(
                        b, loc, arith::CmpFPredicate::UNO, v[0], v[0]);
                  });
  if (failed(r))
    return failure();
  define(n, 0, *r);
  return success();
}

LogicalResult Importer::importWhere(Node &n) {
  if (failed(requireInputs(n, 3, 3)))
    return failure();
  Tensor &c = *n.inputs[0], &x = *n.inputs[1], &y = *n.inputs[2];
  if (!c.elementType.isInteger(1))
    return fail(n, "condition must be bool");
  if (x.elementType != y.elementType)
    return fail(n, "X and Y have different element types");
  if (auto cond = constInts(c); cond && c.rank() <= 1) {
    std::optional<SmallVector<AffineExpr>> condElems;
    condElems.emplace();
    for (int64_t v : *cond)
      condElems->push_back(cst(v));
    Tensor ct = fromElems(x.elementType, *condElems, c.rank() == 0);
    ct.elementType = builder.getI64Type();
    if (auto r = evalElems(
            *this, {&ct, &x, &y}, x.elementType, [&](ArrayRef<AffineExpr> v) {
              return std::optional<AffineExpr>(cv(v[0]) != 0 ? v[1] : v[2]);
            })) {
      define(n, 0, *r);
      return success();
    }
  }
  FailureOr<Tensor> r =
      elementwise(n, n.inputs, x.elementType,
                  [&](OpBuilder &b, Location loc, ValueRange v) -> Value {
                    return arith::SelectOp::create(b, loc, v[0], v[1], v[2]);
                  });
  if (failed(r))
    return failure();
  define(n, 0, *r);
  return success();
}

LogicalResult Importer::importCast(Node &n) {
  if (failed(requireInputs(n, 1, 1)) ||
      failed(checkAttrs(n, {"to", "saturate", "round_mode"})))
    return failure();
  FailureOr<int64_t> to = intAttr(n, "to", std::nullopt);
  if (failed(to))
    return failure();
  Type et = elementTypeOf(context, *to);
  if (!et)
    return fail(n, "cast to data type " + Twine(*to) + " is not supported");
  Tensor &x = *n.inputs[0];
  if (x.elementType == et) {
    define(n, 0, x);
    return success();
  }
  if (x.elems && isa<IntegerType>(et) && !et.isInteger(1) &&
      !x.elementType.isInteger(1)) {
    Tensor r = x;
    r.elementType = et;
    r.value = nullptr;
    r.constant = nullptr;
    define(n, 0, r);
    return success();
  }
  FailureOr<Tensor> r =
      elementwise(n, {&x}, et, [&](OpBuilder &b, Location loc, ValueRange v) {
        return castScalar(b, loc, v[0], et);
      });
  if (failed(r))
    return failure();
  define(n, 0, *r);
  return success();
}

LogicalResult Importer::importClip(Node &n) {
  if (failed(requireInputs(n, 1, 3)))
    return failure();
  Tensor &x = *n.inputs[0];
  Type et = x.elementType;
  bool fp = isFloat(et);
  SmallVector<Tensor *> ins = {&x};
  Tensor *lo = n.input(1), *hi = n.input(2);
  for (Tensor *t : {lo, hi}) {
    if (!t)
      continue;
    if (t->rank() != 0 && !(t->rank() == 1 && cv(t->shape[0]) == 1))
      return fail(n, "min and max must be scalars");
    if (t->elementType != et)
      return fail(n, "min and max must have the input's element type");
    ins.push_back(t);
  }
  bool hasLo = lo != nullptr, hasHi = hi != nullptr;
  // Scalars broadcast; a [1] tensor would otherwise raise the rank of a
  // rank-0 input, which Clip does not do.
  SmallVector<Tensor> scalars;
  scalars.reserve(2);
  for (size_t i = 1; i < ins.size(); ++i) {
    if (ins[i]->rank() == 1) {
      Tensor s = *ins[i];
      Value v = get(s);
      Value zero = arith::ConstantIndexOp::create(builder, n.loc, 0);
      Value e = tensor::ExtractOp::create(builder, n.loc, v, ValueRange{zero});
      s = Tensor{tensor::FromElementsOp::create(
                     builder, n.loc, RankedTensorType::get({}, et), e),
                 et,
                 {},
                 std::nullopt,
                 nullptr};
      scalars.push_back(s);
      ins[i] = &scalars.back();
    }
  }
  FailureOr<Tensor> r = elementwise(
      n, ins, et, [&](OpBuilder &b, Location loc, ValueRange v) -> Value {
        Value acc = v[0];
        size_t k = 1;
        if (hasLo) {
          acc = fp ? arith::MaximumFOp::create(b, loc, acc, v[k]).getResult()
                   : arith::MaxSIOp::create(b, loc, acc, v[k]).getResult();
          ++k;
        }
        if (hasHi)
          acc = fp ? arith::MinimumFOp::create(b, loc, acc, v[k]).getResult()
                   : arith::MinSIOp::create(b, loc, acc, v[k]).getResult();
        return acc;
      });
  if (failed(r))
    return failure();
  define(n, 0, *r);
  return success();
}

LogicalResult Importer::importPow(Node &n) {
  if (failed(requireInputs(n, 2, 2)))
    return failure();
  Tensor &x = *n.inputs[0], &y = *n.inputs[1];
  Type et = x.elementType;
  if (!isFloat(et))
    return fail(n, "expects a floating-point base");
  std::optional<double> exponent;
  if (auto c = constFloats(y); c && !c->empty() && llvm::all_equal(*c))
    exponent = (*c)[0];
  if (exponent && (*exponent == 2.0 || *exponent == 1.0 || *exponent == 0.5 ||
                   *exponent == 3.0)) {
    double e = *exponent;
    FailureOr<Tensor> r = elementwise(
        n, {&x}, et, [&](OpBuilder &b, Location loc, ValueRange v) -> Value {
          if (e == 1.0)
            return v[0];
          if (e == 0.5)
            return math::SqrtOp::create(b, loc, v[0]);
          Value sq = arith::MulFOp::create(b, loc, v[0], v[0]);
          return e == 2.0 ? sq
                          : arith::MulFOp::create(b, loc, sq, v[0]).getResult();
        });
    if (failed(r))
      return failure();
    // Keep the broadcast shape when the exponent has a higher rank.
    if (y.rank() > x.rank()) {
      FailureOr<Tensor> b =
          elementwise(n, {&*r, &y}, et,
                      [](OpBuilder &, Location, ValueRange v) { return v[0]; });
      if (failed(b))
        return failure();
      r = b;
    }
    define(n, 0, *r);
    return success();
  }
  FailureOr<Tensor> r = elementwise(
      n, {&x, &y}, et, [&](OpBuilder &b, Location loc, ValueRange v) -> Value {
        Value e = castScalar(b, loc, v[1], et);
        return math::PowFOp::create(b, loc, v[0], e);
      });
  if (failed(r))
    return failure();
  define(n, 0, *r);
  return success();
}

LogicalResult Importer::importIdentity(Node &n) {
  if (failed(requireInputs(n, 1, 1)))
    return failure();
  define(n, 0, *n.inputs[0]);
  return success();
}

//===----------------------------------------------------------------------===//
// Constants
//===----------------------------------------------------------------------===//

LogicalResult Importer::importConstant(Node &n) {
  if (failed(requireInputs(n, 0, 0)))
    return failure();
  if (n.proto.attribute_size() != 1)
    return fail(n, "expects exactly one value attribute");
  const onnx::AttributeProto &a = n.proto.attribute(0);
  StringRef name = a.name();
  DenseElementsAttr attr;
  if (name == "value" && a.type() == onnx::AttributeProto::TENSOR) {
    FailureOr<DenseElementsAttr> t = tensorAttr(a.t(), "value");
    if (failed(t)) {
      std::string message = error;
      return fail(n, message);
    }
    attr = *t;
  } else if (name == "value_float" && a.type() == onnx::AttributeProto::FLOAT) {
    attr = DenseElementsAttr::get(
        RankedTensorType::get({}, builder.getF32Type()), a.f());
  } else if (name == "value_floats" &&
             a.type() == onnx::AttributeProto::FLOATS) {
    SmallVector<float> v(a.floats().begin(), a.floats().end());
    attr = DenseElementsAttr::get(
        RankedTensorType::get({(int64_t)v.size()}, builder.getF32Type()),
        ArrayRef<float>(v));
  } else if (name == "value_int" && a.type() == onnx::AttributeProto::INT) {
    attr =
        DenseElementsAttr::get(RankedTensorType::get({}, builder.getI64Type()),
                               static_cast<int64_t>(a.i()));
  } else if (name == "value_ints" && a.type() == onnx::AttributeProto::INTS) {
    SmallVector<int64_t> v(a.ints().begin(), a.ints().end());
    attr = DenseElementsAttr::get(
        RankedTensorType::get({(int64_t)v.size()}, builder.getI64Type()),
        ArrayRef<int64_t>(v));
  } else {
    return fail(n, "unsupported value attribute '" + name + "'");
  }
  define(n, 0, makeConstantTensor(*this, attr));
  return success();
}

LogicalResult Importer::importConstantOfShape(Node &n) {
  if (failed(requireInputs(n, 1, 1)) || failed(checkAttrs(n, {"value"})))
    return failure();
  FailureOr<SmallVector<AffineExpr>> shape =
      elemsOf(n, *n.inputs[0], "the shape input");
  if (failed(shape))
    return failure();
  if (n.inputs[0]->rank() != 1)
    return fail(n, "the shape input must be 1-D");
  DenseElementsAttr value = DenseElementsAttr::get(
      RankedTensorType::get({1}, builder.getF32Type()), 0.0f);
  if (const onnx::AttributeProto *a = n.attr("value")) {
    if (a->type() != onnx::AttributeProto::TENSOR)
      return fail(n, "attribute 'value' must be a tensor");
    FailureOr<DenseElementsAttr> t = tensorAttr(a->t(), "value");
    if (failed(t)) {
      std::string message = error;
      return fail(n, message);
    }
    if (t->getNumElements() != 1)
      return fail(n, "attribute 'value' must hold one element");
    value = *t;
  }
  Type et = value.getElementType();
  auto splat = value.getSplatValue<Attribute>();
  bool allStatic = llvm::all_of(*shape, [](AffineExpr e) { return cv(e); });
  if (allStatic) {
    SmallVector<int64_t> dims;
    for (AffineExpr e : *shape)
      dims.push_back(*cv(e));
    if (llvm::any_of(dims, [](int64_t d) { return d < 0; }))
      return fail(n, "negative size in the shape input");
    auto type = RankedTensorType::get(dims, et);
    define(n, 0,
           makeConstantTensor(*this, DenseElementsAttr::get(type, splat)));
    return success();
  }
  Value v = filledTensor(*shape, et, cast<TypedAttr>(splat));
  define(n, 0, fromValue(v, *shape));
  return success();
}
