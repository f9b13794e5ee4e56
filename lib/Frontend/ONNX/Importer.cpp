//===- Importer.cpp - ONNX graph import -----------------------------------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "Importer.h"
#include "ssm/Dialect/SSM/IR/SSMDialect.h"
#include "ssm/Frontend/ONNX/Import.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

using namespace mlir;
using namespace mlir::ssm;
using namespace mlir::ssm::onnx_frontend;

//===----------------------------------------------------------------------===//
// Types
//===----------------------------------------------------------------------===//

Type mlir::ssm::onnx_frontend::elementTypeOf(MLIRContext *ctx,
                                             int32_t onnxType) {
  Builder b(ctx);
  switch (onnxType) {
  case onnx::TensorProto::FLOAT:
    return b.getF32Type();
  case onnx::TensorProto::DOUBLE:
    return b.getF64Type();
  case onnx::TensorProto::FLOAT16:
    return b.getF16Type();
  case onnx::TensorProto::BFLOAT16:
    return b.getBF16Type();
  case onnx::TensorProto::INT64:
    return b.getI64Type();
  case onnx::TensorProto::INT32:
    return b.getI32Type();
  case onnx::TensorProto::INT16:
    return b.getI16Type();
  case onnx::TensorProto::INT8:
  case onnx::TensorProto::UINT8:
    return b.getI8Type();
  case onnx::TensorProto::BOOL:
    return b.getI1Type();
  default:
    return nullptr;
  }
}

StringRef mlir::ssm::onnx_frontend::dtypeName(int32_t onnxType) {
  switch (onnxType) {
  case onnx::TensorProto::FLOAT:
    return "float32";
  case onnx::TensorProto::DOUBLE:
    return "float64";
  case onnx::TensorProto::FLOAT16:
    return "float16";
  case onnx::TensorProto::BFLOAT16:
    return "bfloat16";
  case onnx::TensorProto::INT64:
    return "int64";
  case onnx::TensorProto::INT32:
    return "int32";
  case onnx::TensorProto::INT16:
    return "int16";
  case onnx::TensorProto::INT8:
    return "int8";
  case onnx::TensorProto::UINT8:
    return "uint8";
  case onnx::TensorProto::BOOL:
    return "bool";
  default:
    return "unknown";
  }
}

static int64_t elementBytes(int32_t onnxType) {
  switch (onnxType) {
  case onnx::TensorProto::DOUBLE:
  case onnx::TensorProto::INT64:
    return 8;
  case onnx::TensorProto::FLOAT:
  case onnx::TensorProto::INT32:
    return 4;
  case onnx::TensorProto::FLOAT16:
  case onnx::TensorProto::BFLOAT16:
  case onnx::TensorProto::INT16:
    return 2;
  default:
    return 1;
  }
}

//===----------------------------------------------------------------------===//
// Node
//===----------------------------------------------------------------------===//

const onnx::AttributeProto *Node::attr(StringRef name) const {
  for (const onnx::AttributeProto &a : proto.attribute())
    if (a.name() == name)
      return &a;
  return nullptr;
}

//===----------------------------------------------------------------------===//
// Importer: diagnostics and attributes
//===----------------------------------------------------------------------===//

Importer::Importer(MLIRContext *context, const onnx::ModelProto &model,
                   std::string modelDir, std::string &error)
    : context(context), builder(context), model(model),
      modelDir(std::move(modelDir)), error(error) {}

LogicalResult Importer::fail(const Node &n, const Twine &message) {
  std::string op = n.domain.empty()
                       ? n.proto.op_type()
                       : (n.domain + "." + n.proto.op_type()).str();
  std::string name = n.proto.name().empty()
                         ? "#" + std::to_string(currentNodeIndex)
                         : n.proto.name();
  error = ("node '" + name + "' (op '" + op + "', opset " + Twine(n.opset) +
           "): " + message)
              .str();
  return failure();
}

LogicalResult Importer::requireInputs(const Node &n, size_t min, size_t max) {
  if (n.numInputs() < min || n.numInputs() > max)
    return fail(
        n, "expects " +
               (min == max ? Twine(min) : Twine(min) + " to " + Twine(max)) +
               " inputs, got " + Twine(n.numInputs()));
  for (size_t i = 0; i < min; ++i)
    if (!n.inputs[i])
      return fail(n, "input " + Twine(i) + " is required");
  return success();
}

LogicalResult Importer::checkAttrs(const Node &n, ArrayRef<StringRef> known) {
  for (const onnx::AttributeProto &a : n.proto.attribute())
    if (!llvm::is_contained(known, StringRef(a.name())))
      return fail(n, "unsupported attribute '" + a.name() + "'");
  return success();
}

FailureOr<int64_t> Importer::intAttr(const Node &n, StringRef name,
                                     std::optional<int64_t> dflt) {
  const onnx::AttributeProto *a = n.attr(name);
  if (!a) {
    if (dflt)
      return *dflt;
    return fail(n, "missing required attribute '" + name + "'");
  }
  if (a->type() != onnx::AttributeProto::INT)
    return fail(n, "attribute '" + name + "' must be an int");
  return a->i();
}

FailureOr<float> Importer::floatAttr(const Node &n, StringRef name,
                                     std::optional<float> dflt) {
  const onnx::AttributeProto *a = n.attr(name);
  if (!a) {
    if (dflt)
      return *dflt;
    return fail(n, "missing required attribute '" + name + "'");
  }
  if (a->type() != onnx::AttributeProto::FLOAT)
    return fail(n, "attribute '" + name + "' must be a float");
  return a->f();
}

FailureOr<std::string> Importer::stringAttr(const Node &n, StringRef name,
                                            std::optional<std::string> dflt) {
  const onnx::AttributeProto *a = n.attr(name);
  if (!a) {
    if (dflt)
      return *dflt;
    return fail(n, "missing required attribute '" + name + "'");
  }
  if (a->type() != onnx::AttributeProto::STRING)
    return fail(n, "attribute '" + name + "' must be a string");
  return a->s();
}

FailureOr<std::optional<SmallVector<int64_t>>>
Importer::intsAttr(const Node &n, StringRef name) {
  const onnx::AttributeProto *a = n.attr(name);
  if (!a)
    return std::optional<SmallVector<int64_t>>();
  if (a->type() != onnx::AttributeProto::INTS)
    return fail(n, "attribute '" + name + "' must be a list of ints");
  return std::optional<SmallVector<int64_t>>(
      SmallVector<int64_t>(a->ints().begin(), a->ints().end()));
}

FailureOr<int64_t> Importer::normalizeAxis(const Node &n, int64_t axis,
                                           int64_t rank) {
  if (axis < -rank || axis >= std::max<int64_t>(rank, 1))
    return fail(n, "axis " + Twine(axis) + " is out of range for rank " +
                       Twine(rank));
  return axis < 0 ? axis + rank : axis;
}

//===----------------------------------------------------------------------===//
// Symbolic sizes
//===----------------------------------------------------------------------===//

AffineExpr Importer::newSymbol(Value v, StringRef name) {
  symbolValues.push_back(v);
  symbolNames.push_back(name.str());
  AffineExpr s = getAffineSymbolExpr(symbolValues.size() - 1, context);
  materialized[s] = v;
  return s;
}

AffineExpr Importer::simplify(AffineExpr e) {
  return simplifyAffineExpr(e, 0, symbolValues.size());
}

std::optional<int64_t> Importer::constantOf(AffineExpr e) {
  if (auto c = dyn_cast_or_null<AffineConstantExpr>(e))
    return c.getValue();
  return std::nullopt;
}

static void collectFactors(AffineExpr e, int64_t &c,
                           SmallVectorImpl<AffineExpr> &factors) {
  if (auto k = dyn_cast<AffineConstantExpr>(e)) {
    c *= k.getValue();
    return;
  }
  if (e.getKind() == AffineExprKind::Mul) {
    auto bin = cast<AffineBinaryOpExpr>(e);
    collectFactors(bin.getLHS(), c, factors);
    collectFactors(bin.getRHS(), c, factors);
    return;
  }
  factors.push_back(e);
}

AffineExpr Importer::product(ArrayRef<AffineExpr> dims) {
  AffineExpr p = cst(1);
  for (AffineExpr d : dims)
    p = p * d;
  return simplify(p);
}

AffineExpr Importer::divide(AffineExpr a, AffineExpr b) {
  a = simplify(a);
  b = simplify(b);
  int64_t ca = 1, cb = 1;
  SmallVector<AffineExpr> fa, fb;
  collectFactors(a, ca, fa);
  collectFactors(b, cb, fb);
  bool exact = cb != 0 && ca % cb == 0;
  for (AffineExpr f : fb) {
    auto *it = llvm::find(fa, f);
    if (it == fa.end()) {
      exact = false;
      break;
    }
    fa.erase(it);
  }
  if (exact)
    return product(fa) * cst(ca / cb);
  return simplify(a.floorDiv(b));
}

Value Importer::materialize(AffineExpr e) {
  e = simplify(e);
  if (auto it = materialized.find(e); it != materialized.end())
    return it->second;
  Location loc = builder.getUnknownLoc();
  Value v;
  if (auto c = dyn_cast<AffineConstantExpr>(e)) {
    v = arith::ConstantIndexOp::create(builder, loc, c.getValue());
  } else if (auto s = dyn_cast<AffineSymbolExpr>(e)) {
    v = symbolValues[s.getPosition()];
  } else if (auto bin = dyn_cast<AffineBinaryOpExpr>(e)) {
    Value l = materialize(bin.getLHS());
    Value r = materialize(bin.getRHS());
    switch (e.getKind()) {
    case AffineExprKind::Add:
      v = arith::AddIOp::create(builder, loc, l, r);
      break;
    case AffineExprKind::Mul:
      v = arith::MulIOp::create(builder, loc, l, r);
      break;
    case AffineExprKind::FloorDiv:
      v = arith::FloorDivSIOp::create(builder, loc, l, r);
      break;
    case AffineExprKind::CeilDiv:
      v = arith::CeilDivSIOp::create(builder, loc, l, r);
      break;
    default: { // Mod: non-negative remainder, as affine mod.
      Value rem = arith::RemSIOp::create(builder, loc, l, r);
      Value zero = arith::ConstantIndexOp::create(builder, loc, 0);
      Value neg = arith::CmpIOp::create(builder, loc, arith::CmpIPredicate::slt,
                                        rem, zero);
      Value fixed = arith::AddIOp::create(builder, loc, rem, r);
      v = arith::SelectOp::create(builder, loc, neg, fixed, rem);
      break;
    }
    }
  } else {
    v = arith::ConstantIndexOp::create(builder, loc, 0); // no dims are used
  }
  materialized[e] = v;
  return v;
}

SmallVector<OpFoldResult> Importer::mixedSizes(ArrayRef<AffineExpr> shape) {
  SmallVector<OpFoldResult> sizes;
  for (AffineExpr d : shape) {
    d = simplify(d);
    if (auto c = constantOf(d); c && *c >= 0)
      sizes.push_back(builder.getIndexAttr(*c));
    else
      sizes.push_back(materialize(d));
  }
  return sizes;
}

SmallVector<Value> Importer::dynamicSizes(ArrayRef<AffineExpr> shape) {
  SmallVector<Value> sizes;
  for (AffineExpr d : shape) {
    auto c = constantOf(simplify(d));
    if (!c || *c < 0)
      sizes.push_back(materialize(d));
  }
  return sizes;
}

RankedTensorType Importer::tensorType(ArrayRef<AffineExpr> shape,
                                      Type elementType) {
  SmallVector<int64_t> dims;
  for (AffineExpr d : shape) {
    auto c = constantOf(simplify(d));
    dims.push_back(c && *c >= 0 ? *c : ShapedType::kDynamic);
  }
  return RankedTensorType::get(dims, elementType);
}

std::string Importer::render(AffineExpr e) {
  e = simplify(e);
  if (auto c = constantOf(e))
    return std::to_string(*c);
  if (auto s = dyn_cast<AffineSymbolExpr>(e)) {
    const std::string &name = symbolNames[s.getPosition()];
    return name;
  }
  auto bin = dyn_cast<AffineBinaryOpExpr>(e);
  if (!bin)
    return "";
  std::string l = render(bin.getLHS()), r = render(bin.getRHS());
  if (l.empty() || r.empty())
    return "";
  switch (e.getKind()) {
  case AffineExprKind::Add:
    if (auto c = constantOf(bin.getRHS()); c && *c < 0)
      return l + " - " + std::to_string(-*c);
    return l + " + " + r;
  case AffineExprKind::Mul:
    return "(" + l + ") * (" + r + ")";
  case AffineExprKind::FloorDiv:
    return "(" + l + ") floordiv (" + r + ")";
  case AffineExprKind::CeilDiv:
    return "(" + l + ") ceildiv (" + r + ")";
  default:
    return "(" + l + ") mod (" + r + ")";
  }
}

//===----------------------------------------------------------------------===//
// Values
//===----------------------------------------------------------------------===//

Value Importer::get(Tensor &t) {
  if (t.value)
    return t.value;
  Location loc = builder.getUnknownLoc();
  if (t.constant) {
    t.value = arith::ConstantOp::create(builder, loc, t.constant);
    return t.value;
  }
  // Known contents of a small integer tensor.
  SmallVector<Value> elems;
  for (AffineExpr e : *t.elems) {
    Value v = materialize(e);
    elems.push_back(arith::IndexCastOp::create(builder, loc, t.elementType, v));
  }
  t.value = tensor::FromElementsOp::create(
      builder, loc, tensorType(t.shape, t.elementType), elems);
  return t.value;
}

Tensor Importer::fromValue(Value v) {
  auto type = cast<RankedTensorType>(v.getType());
  Tensor t{v, type.getElementType(), {}, std::nullopt, nullptr};
  for (int64_t i = 0; i < type.getRank(); ++i) {
    if (!type.isDynamicDim(i)) {
      t.shape.push_back(cst(type.getDimSize(i)));
      continue;
    }
    Value dim = tensor::DimOp::create(builder, v.getLoc(), v, i);
    t.shape.push_back(newSymbol(dim));
  }
  return t;
}

Tensor Importer::fromValue(Value v, ArrayRef<AffineExpr> shape) {
  auto type = cast<RankedTensorType>(v.getType());
  RankedTensorType want = tensorType(shape, type.getElementType());
  if (want != type)
    v = tensor::CastOp::create(builder, v.getLoc(), want, v);
  SmallVector<AffineExpr> s;
  for (AffineExpr d : shape)
    s.push_back(simplify(d));
  return Tensor{v, type.getElementType(), s, std::nullopt, nullptr};
}

Tensor Importer::fromElems(Type elementType, ArrayRef<AffineExpr> elems,
                           bool scalar) {
  Tensor t;
  t.elementType = elementType;
  if (!scalar)
    t.shape.push_back(cst(elems.size()));
  SmallVector<AffineExpr> simplified;
  for (AffineExpr e : elems)
    simplified.push_back(simplify(e));
  t.elems = simplified;
  return t;
}

std::optional<SmallVector<int64_t>> Importer::constInts(const Tensor &t) {
  SmallVector<int64_t> result;
  if (t.elems) {
    for (AffineExpr e : *t.elems) {
      auto c = constantOf(e);
      if (!c)
        return std::nullopt;
      result.push_back(*c);
    }
    return result;
  }
  if (t.constant && isa<IntegerType>(t.elementType)) {
    bool isBool = t.elementType.isInteger(1);
    for (const APInt &v : t.constant.getValues<APInt>())
      result.push_back(isBool ? v.getZExtValue() : v.getSExtValue());
    return result;
  }
  return std::nullopt;
}

std::optional<SmallVector<double>> Importer::constFloats(const Tensor &t) {
  SmallVector<double> result;
  if (t.constant && isa<FloatType>(t.elementType)) {
    for (const APFloat &v : t.constant.getValues<APFloat>())
      result.push_back(v.convertToDouble());
    return result;
  }
  if (auto ints = constInts(t)) {
    for (int64_t v : *ints)
      result.push_back(static_cast<double>(v));
    return result;
  }
  return std::nullopt;
}

FailureOr<SmallVector<AffineExpr>> Importer::elemsOf(const Node &n, Tensor &t,
                                                     StringRef what) {
  if (t.elems)
    return *t.elems;
  if (!isa<IntegerType>(t.elementType) || t.rank() > 1)
    return fail(n, what + " must be an integer tensor of rank 0 or 1");
  if (auto ints = constInts(t)) {
    SmallVector<AffineExpr> result;
    for (int64_t v : *ints)
      result.push_back(cst(v));
    return result;
  }
  std::optional<int64_t> len = t.rank() == 0 ? 1 : constantOf(t.shape[0]);
  if (!len || *len > 4096)
    return fail(n, what + " must have a static length");
  // Contents only known at run time: one fresh symbol per element.
  SmallVector<AffineExpr> result;
  Value v = get(t);
  Location loc = n.loc;
  for (int64_t i = 0; i < *len; ++i) {
    SmallVector<Value> idx;
    if (t.rank() == 1)
      idx.push_back(arith::ConstantIndexOp::create(builder, loc, i));
    Value e = tensor::ExtractOp::create(builder, loc, v, idx);
    Value index =
        arith::IndexCastOp::create(builder, loc, builder.getIndexType(), e);
    result.push_back(newSymbol(index));
  }
  return result;
}

Value Importer::emptyTensor(ArrayRef<AffineExpr> shape, Type elementType) {
  return tensor::EmptyOp::create(builder, builder.getUnknownLoc(),
                                 tensorType(shape, elementType),
                                 dynamicSizes(shape));
}

Value Importer::filledTensor(ArrayRef<AffineExpr> shape, Type elementType,
                             TypedAttr value) {
  Location loc = builder.getUnknownLoc();
  Value empty = emptyTensor(shape, elementType);
  Value v = arith::ConstantOp::create(builder, loc, value);
  return linalg::FillOp::create(builder, loc, ValueRange{v}, ValueRange{empty})
      .getResult(0);
}

Value Importer::scalarConstant(Type type, double value) {
  Location loc = builder.getUnknownLoc();
  if (auto ft = dyn_cast<FloatType>(type))
    return arith::ConstantOp::create(builder, loc,
                                     builder.getFloatAttr(ft, value));
  return arith::ConstantOp::create(
      builder, loc, builder.getIntegerAttr(type, static_cast<int64_t>(value)));
}

FailureOr<SmallVector<AffineExpr>>
Importer::broadcastShapes(const Node &n,
                          ArrayRef<ArrayRef<AffineExpr>> shapes) {
  size_t rank = 0;
  for (ArrayRef<AffineExpr> s : shapes)
    rank = std::max(rank, s.size());
  SmallVector<AffineExpr> out(rank, cst(1));
  for (size_t i = 0; i < rank; ++i) {
    for (ArrayRef<AffineExpr> s : shapes) {
      if (i + s.size() < rank)
        continue;
      AffineExpr d = simplify(s[i + s.size() - rank]);
      auto cd = constantOf(d), co = constantOf(out[i]);
      if (cd == 1)
        continue;
      if (co == 1) {
        out[i] = d;
        continue;
      }
      if (cd && co && *cd != *co)
        return fail(n, "cannot broadcast dimension " + Twine(i) + ": " +
                           Twine(*co) + " vs " + Twine(*cd));
      if (cd && !co)
        out[i] = d; // the static size is the more precise one
    }
  }
  return out;
}

AffineMap Importer::broadcastMap(ArrayRef<AffineExpr> in,
                                 ArrayRef<AffineExpr> out) {
  size_t offset = out.size() - in.size();
  SmallVector<AffineExpr> exprs;
  for (size_t j = 0; j < in.size(); ++j) {
    if (constantOf(simplify(in[j])) == 1 &&
        constantOf(simplify(out[offset + j])) != 1)
      exprs.push_back(cst(0));
    else
      exprs.push_back(getAffineDimExpr(offset + j, context));
  }
  return AffineMap::get(out.size(), 0, exprs, context);
}

FailureOr<Tensor> Importer::elementwise(const Node &n, ArrayRef<Tensor *> ins,
                                        Type resultType,
                                        const ScalarBody &body) {
  SmallVector<ArrayRef<AffineExpr>> shapes;
  for (Tensor *t : ins)
    shapes.push_back(t->shape);
  FailureOr<SmallVector<AffineExpr>> out = broadcastShapes(n, shapes);
  if (failed(out))
    return failure();
  SmallVector<Value> inputs;
  SmallVector<AffineMap> maps;
  for (Tensor *t : ins) {
    inputs.push_back(get(*t));
    maps.push_back(broadcastMap(t->shape, *out));
  }
  Value init = emptyTensor(*out, resultType);
  maps.push_back(AffineMap::getMultiDimIdentityMap(out->size(), context));
  SmallVector<utils::IteratorType> iterators(out->size(),
                                             utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      builder, n.loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps,
      iterators, [&](OpBuilder &b, Location loc, ValueRange args) {
        Value r = body(b, loc, args.drop_back());
        linalg::YieldOp::create(b, loc, r);
      });
  return Tensor{generic.getResult(0), resultType, *out, std::nullopt, nullptr};
}

Value Importer::castScalar(OpBuilder &b, Location loc, Value v, Type to) {
  Type from = v.getType();
  if (from == to)
    return v;
  auto fromF = dyn_cast<FloatType>(from);
  auto toF = dyn_cast<FloatType>(to);
  if (fromF && toF) {
    if (fromF.getWidth() < toF.getWidth())
      return arith::ExtFOp::create(b, loc, to, v);
    return arith::TruncFOp::create(b, loc, to, v);
  }
  if (!fromF && toF) {
    if (from.isInteger(1))
      return arith::UIToFPOp::create(b, loc, to, v);
    return arith::SIToFPOp::create(b, loc, to, v);
  }
  if (fromF && !toF) {
    if (to.isInteger(1)) {
      Value zero = arith::ConstantOp::create(b, loc, b.getFloatAttr(from, 0));
      return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNE, v, zero);
    }
    return arith::FPToSIOp::create(b, loc, to, v);
  }
  unsigned fw = from.getIntOrFloatBitWidth(), tw = to.getIntOrFloatBitWidth();
  if (to.isInteger(1)) {
    Value zero = arith::ConstantOp::create(b, loc, b.getIntegerAttr(from, 0));
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, v, zero);
  }
  if (fw < tw)
    return from.isInteger(1)
               ? arith::ExtUIOp::create(b, loc, to, v).getResult()
               : arith::ExtSIOp::create(b, loc, to, v).getResult();
  return arith::TruncIOp::create(b, loc, to, v);
}

Value Importer::castTensor(Tensor &t, Type to, Location loc) {
  if (t.elementType == to)
    return get(t);
  Node dummy{onnx::NodeProto::default_instance(), "", 0, {}, loc};
  Tensor *in = &t;
  FailureOr<Tensor> r =
      elementwise(dummy, ArrayRef<Tensor *>(in), to,
                  [&](OpBuilder &b, Location l, ValueRange a) {
                    return castScalar(b, l, a[0], to);
                  });
  return r->value;
}

void Importer::define(const Node &n, size_t output, Tensor t) {
  if (static_cast<int>(output) >= n.proto.output_size())
    return;
  const std::string &name = n.proto.output(output);
  if (name.empty())
    return;
  for (AffineExpr &d : t.shape) {
    d = simplify(d);
    if (auto c = constantOf(d); c && *c < 0)
      negativeSize = true;
  }
  values[name] = std::move(t);
}

//===----------------------------------------------------------------------===//
// Initializers
//===----------------------------------------------------------------------===//

FailureOr<DenseElementsAttr> Importer::tensorAttr(const onnx::TensorProto &p,
                                                  const Twine &what) {
  auto failWith = [&](const Twine &message) -> FailureOr<DenseElementsAttr> {
    error = (what + ": " + message).str();
    return failure();
  };
  Type et = elementTypeOf(context, p.data_type());
  if (!et)
    return failWith("data type " + Twine(p.data_type()) + " (" +
                    dtypeName(p.data_type()) + ") is not supported");
  SmallVector<int64_t> shape;
  int64_t numel = 1;
  for (int64_t d : p.dims()) {
    if (d < 0 || (d > 0 && numel > (int64_t(1) << 40) / d))
      return failWith("invalid dimension " + Twine(d));
    shape.push_back(d);
    numel *= d;
  }
  auto type = RankedTensorType::get(shape, et);
  int64_t bytes = elementBytes(p.data_type());

  std::unique_ptr<llvm::MemoryBuffer> external;
  StringRef raw;
  bool hasRaw = p.has_raw_data();
  if (p.data_location() == onnx::TensorProto::EXTERNAL) {
    std::string location;
    int64_t offset = 0, length = -1;
    for (const onnx::StringStringEntryProto &kv : p.external_data()) {
      if (kv.key() == "location")
        location = kv.value();
      else if (kv.key() == "offset" || kv.key() == "length") {
        int64_t v;
        if (StringRef(kv.value()).getAsInteger(10, v) || v < 0)
          return failWith("external data " + kv.key() + " '" + kv.value() +
                          "' is not a non-negative integer");
        (kv.key() == "offset" ? offset : length) = v;
      }
    }
    if (location.empty())
      return failWith("external data has no location");
    SmallString<256> path(modelDir);
    llvm::sys::path::append(path, location);
    if (length < 0)
      length = numel * bytes;
    auto buffer = llvm::MemoryBuffer::getFileSlice(path, length, offset,
                                                   /*IsVolatile=*/false);
    if (!buffer)
      return failWith("cannot read external data '" + path.str() + "' (" +
                      buffer.getError().message() + ")");
    external = std::move(*buffer);
    raw = external->getBuffer();
    hasRaw = true;
    if (static_cast<int64_t>(raw.size()) != length)
      return failWith("external data file '" + path.str() + "' is too short");
  } else if (hasRaw) {
    raw = p.raw_data();
  }

  if (hasRaw) {
    if (static_cast<int64_t>(raw.size()) != numel * bytes)
      return failWith("holds " + Twine(raw.size()) +
                      " bytes of data, expected " + Twine(numel * bytes) +
                      " for shape and type");
    if (et.isInteger(1)) {
      SmallVector<bool> values;
      for (char c : raw)
        values.push_back(c != 0);
      return DenseElementsAttr::get(type, ArrayRef<bool>(values));
    }
    if (numel == 0)
      return DenseElementsAttr::get(type, ArrayRef<Attribute>());
    return DenseElementsAttr::getFromRawBuffer(
        type, ArrayRef<char>(raw.data(), raw.size()));
  }

  auto checkCount = [&](int64_t count) -> LogicalResult {
    if (count != numel) {
      error = (what + ": holds " + Twine(count) + " values, expected " +
               Twine(numel))
                  .str();
      return failure();
    }
    return success();
  };
  switch (p.data_type()) {
  case onnx::TensorProto::FLOAT: {
    if (failed(checkCount(p.float_data_size())))
      return failure();
    SmallVector<float> v(p.float_data().begin(), p.float_data().end());
    return DenseElementsAttr::get(type, ArrayRef<float>(v));
  }
  case onnx::TensorProto::DOUBLE: {
    if (failed(checkCount(p.double_data_size())))
      return failure();
    SmallVector<double> v(p.double_data().begin(), p.double_data().end());
    return DenseElementsAttr::get(type, ArrayRef<double>(v));
  }
  case onnx::TensorProto::INT64: {
    if (failed(checkCount(p.int64_data_size())))
      return failure();
    SmallVector<int64_t> v(p.int64_data().begin(), p.int64_data().end());
    return DenseElementsAttr::get(type, ArrayRef<int64_t>(v));
  }
  default: { // int32_data holds 32-bit and narrower types (and f16/bf16 bits).
    if (failed(checkCount(p.int32_data_size())))
      return failure();
    if (et.isInteger(1)) {
      SmallVector<bool> v;
      for (int32_t x : p.int32_data())
        v.push_back(x != 0);
      return DenseElementsAttr::get(type, ArrayRef<bool>(v));
    }
    if (isa<FloatType>(et)) {
      SmallVector<APFloat> v;
      for (int32_t x : p.int32_data())
        v.push_back(APFloat(cast<FloatType>(et).getFloatSemantics(),
                            APInt(16, static_cast<uint16_t>(x))));
      return DenseElementsAttr::get(type, ArrayRef<APFloat>(v));
    }
    SmallVector<APInt> v;
    for (int32_t x : p.int32_data())
      v.push_back(APInt(et.getIntOrFloatBitWidth(), static_cast<uint64_t>(x),
                        /*isSigned=*/true, /*implicitTrunc=*/true));
    return DenseElementsAttr::get(type, ArrayRef<APInt>(v));
  }
  }
}

/// A Tensor for a constant; small integer vectors also get their contents as
/// symbolic elements.
static Tensor constantTensor(Importer &imp, DenseElementsAttr attr) {
  Tensor t;
  auto type = cast<RankedTensorType>(attr.getType());
  t.elementType = type.getElementType();
  for (int64_t d : type.getShape())
    t.shape.push_back(imp.cst(d));
  t.constant = attr;
  if (isa<IntegerType>(t.elementType) && !t.elementType.isInteger(1) &&
      type.getRank() <= 1 && type.getNumElements() <= 64) {
    SmallVector<AffineExpr> elems;
    for (const APInt &v : attr.getValues<APInt>())
      elems.push_back(imp.cst(v.getSExtValue()));
    t.elems = elems;
  }
  return t;
}

Tensor mlir::ssm::onnx_frontend::makeConstantTensor(Importer &imp,
                                                    DenseElementsAttr attr) {
  return constantTensor(imp, attr);
}

LogicalResult Importer::importInitializer(const onnx::TensorProto &p) {
  FailureOr<DenseElementsAttr> attr =
      tensorAttr(p, "initializer '" + p.name() + "'");
  if (failed(attr))
    return failure();
  values[p.name()] = constantTensor(*this, *attr);
  return success();
}

//===----------------------------------------------------------------------===//
// Graph
//===----------------------------------------------------------------------===//

LogicalResult Importer::importNode(const onnx::NodeProto &p) {
  StringRef domain = p.domain();
  if (domain == "ai.onnx")
    domain = "";
  auto opsetIt = opsets.find(domain);
  Location loc = NameLoc::get(
      StringAttr::get(context, p.name().empty() ? p.op_type() : p.name()));
  Node n{p, domain, opsetIt == opsets.end() ? 0 : opsetIt->second, {}, loc};
  if (opsetIt == opsets.end())
    return fail(n,
                "domain '" + domain + "' is not in the model's opset_import");
  for (const std::string &name : p.input()) {
    if (name.empty()) {
      n.inputs.push_back(nullptr);
      continue;
    }
    auto it = values.find(name);
    if (it == values.end())
      return fail(n, "input '" + name +
                         "' is not produced by an earlier node, an "
                         "initializer or a graph input");
    n.inputs.push_back(&it->second);
  }
  std::string key =
      domain.empty() ? p.op_type() : (domain + "." + p.op_type()).str();
  const auto &table = handlers();
  auto it = table.find(key);
  if (it == table.end())
    return fail(n, "unsupported op");
  negativeSize = false;
  Block *block = builder.getInsertionBlock();
  Operation *before = block->empty() ? nullptr : &block->back();
  bool recognized =
      (key == "MatMul" && (recognizeAttention(n) || recognizeSSD(n))) ||
      (key == "Slice" && recognizeCausalConv(n));
  if (!recognized && failed((this->*(it->second))(n)))
    return failure();
  if (negativeSize)
    return fail(n, "computes a negative dimension size; the model's shapes "
                   "are inconsistent");
  for (const std::string &out : p.output())
    if (!out.empty() && !values.count(out))
      return fail(n, "output '" + out + "' is not supported");
  // Mark the ops this node created for its outputs when it mixes tokens
  // outside an ssm op (Sequence.cpp).
  if (std::string why = recognized ? "" : tokenMixingReason(n); !why.empty()) {
    std::string name =
        p.name().empty() ? "#" + std::to_string(currentNodeIndex) : p.name();
    auto reason =
        builder.getStringAttr("node '" + name + "' (" + key + ") " + why);
    for (const std::string &out : p.output()) {
      Tensor *t = out.empty() ? nullptr : lookup(out);
      Operation *def = t && t->value ? t->value.getDefiningOp() : nullptr;
      if (def && def->getBlock() == block &&
          (!before || before->isBeforeInBlock(def)))
        def->setAttr("ssm.token_mixing", reason);
    }
  }
  return success();
}

static std::string jsonString(StringRef s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\', out += c;
    else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else
      out += c;
  }
  return out + "\"";
}

std::string Importer::signatureJSON(func::FuncOp func) {
  auto list = [&](ArrayRef<IOInfo> infos) {
    std::string s = "[";
    for (const IOInfo &io : infos) {
      if (s.size() > 1)
        s += ",";
      s += "{\"name\":" + jsonString(io.name) + ",\"dtype\":\"" +
           dtypeName(io.dtype).str() + "\",\"shape\":[";
      for (size_t i = 0; i < io.dims.size(); ++i) {
        if (i)
          s += ",";
        if (auto c = constantOf(simplify(io.dims[i])))
          s += std::to_string(*c);
        else {
          std::string r = render(io.dims[i]);
          s += r.empty() ? "null" : jsonString(r);
        }
      }
      s += "]}";
    }
    return s + "]";
  };
  return "{\"name\":" + jsonString(func.getName()) +
         ",\"inputs\":" + list(inputsInfo) +
         ",\"outputs\":" + list(outputsInfo) + "}";
}

LogicalResult Importer::importGraph(func::FuncOp &func) {
  const onnx::GraphProto &graph = model.graph();
  llvm::StringSet<> initializerNames;
  for (const onnx::TensorProto &init : graph.initializer())
    initializerNames.insert(init.name());

  // Graph inputs (those without an initializer) become function arguments.
  SmallVector<Type> argTypes;
  SmallVector<const onnx::ValueInfoProto *> args;
  for (const onnx::ValueInfoProto &in : graph.input()) {
    if (initializerNames.contains(in.name()))
      continue;
    if (!in.type().has_tensor_type())
      return error = "graph input '" + in.name() + "' is not a tensor",
             failure();
    const onnx::TypeProto::Tensor &tt = in.type().tensor_type();
    Type et = elementTypeOf(context, tt.elem_type());
    if (!et)
      return error = "graph input '" + in.name() + "' has unsupported type " +
                     dtypeName(tt.elem_type()).str() + " (" +
                     std::to_string(tt.elem_type()) + ")",
             failure();
    if (!tt.has_shape())
      return error = "graph input '" + in.name() +
                     "' has no shape (its rank must be known)",
             failure();
    SmallVector<int64_t> dims;
    for (const onnx::TensorShapeProto::Dimension &d : tt.shape().dim())
      dims.push_back(d.has_dim_value() && d.dim_value() >= 0
                         ? d.dim_value()
                         : ShapedType::kDynamic);
    argTypes.push_back(RankedTensorType::get(dims, et));
    args.push_back(&in);
  }
  // Parameters as arguments: the float initializers of more than one
  // element (scalars stay constants: epsilons and the like).
  SmallVector<const onnx::TensorProto *> params;
  llvm::StringSet<> paramNames;
  if (parametersAsArguments) {
    for (const onnx::TensorProto &init : graph.initializer()) {
      Type et = elementTypeOf(context, init.data_type());
      int64_t numel = 1;
      for (int64_t d : init.dims())
        numel *= d;
      if (!et || !isa<FloatType>(et) || init.dims_size() == 0 || numel <= 1)
        continue;
      argTypes.push_back(RankedTensorType::get(
          SmallVector<int64_t>(init.dims().begin(), init.dims().end()), et));
      params.push_back(&init);
      paramNames.insert(init.name());
    }
  }

  func = func::FuncOp::create(builder, UnknownLoc::get(context), "main",
                              builder.getFunctionType(argTypes, {}));
  Block *entry = func.addEntryBlock();
  builder.setInsertionPointToStart(entry);

  for (auto [i, in] : llvm::enumerate(args)) {
    Value arg = entry->getArgument(i);
    auto type = cast<RankedTensorType>(arg.getType());
    Tensor t{arg, type.getElementType(), {}, std::nullopt, nullptr};
    IOInfo info{in->name(), in->type().tensor_type().elem_type(), {}};
    for (auto [d, dim] :
         llvm::enumerate(in->type().tensor_type().shape().dim())) {
      if (!type.isDynamicDim(d)) {
        t.shape.push_back(cst(type.getDimSize(d)));
      } else if (dim.has_dim_param() && !dim.dim_param().empty()) {
        auto it = namedSymbols.find(dim.dim_param());
        if (it == namedSymbols.end()) {
          Value v = tensor::DimOp::create(builder, arg.getLoc(), arg, d);
          it = namedSymbols
                   .insert({dim.dim_param(), newSymbol(v, dim.dim_param())})
                   .first;
        }
        t.shape.push_back(it->second);
      } else {
        Value v = tensor::DimOp::create(builder, arg.getLoc(), arg, d);
        t.shape.push_back(
            newSymbol(v, in->name() + "_dim" + std::to_string(d)));
      }
    }
    info.dims = t.shape;
    inputsInfo.push_back(info);
    func.setArgAttr(i, "ssm.name", builder.getStringAttr(in->name()));
    values[in->name()] = t;
  }
  for (auto [i, p] : llvm::enumerate(params)) {
    unsigned index = args.size() + i;
    Value arg = entry->getArgument(index);
    auto type = cast<RankedTensorType>(arg.getType());
    Tensor t{arg, type.getElementType(), {}, std::nullopt, nullptr};
    for (int64_t d : type.getShape())
      t.shape.push_back(cst(d));
    inputsInfo.push_back(IOInfo{p->name(), p->data_type(), t.shape});
    func.setArgAttr(index, "ssm.name", builder.getStringAttr(p->name()));
    values[p->name()] = t;
  }

  findTokenInput(func);
  for (const onnx::TensorProto &init : graph.initializer())
    if (!paramNames.contains(init.name()) && failed(importInitializer(init)))
      return failure();

  for (const onnx::NodeProto &node : graph.node()) {
    for (const std::string &out : node.output())
      if (!out.empty())
        producers[out] = &node;
    for (const std::string &in : node.input())
      if (!in.empty())
        ++useCounts[in];
  }
  for (const onnx::ValueInfoProto &out : graph.output())
    ++useCounts[out.name()];

  for (const auto &[index, node] : llvm::enumerate(graph.node())) {
    currentNodeIndex = index;
    if (failed(importNode(node)))
      return failure();
  }

  SmallVector<Value> results;
  SmallVector<Type> resultTypes;
  for (const onnx::ValueInfoProto &out : graph.output()) {
    auto it = values.find(out.name());
    if (it == values.end())
      return error = "graph output '" + out.name() + "' is never produced",
             failure();
    Tensor &t = it->second;
    Value v = get(t);
    results.push_back(v);
    resultTypes.push_back(v.getType());
    int32_t dtype =
        out.type().has_tensor_type() ? out.type().tensor_type().elem_type() : 0;
    if (elementTypeOf(context, dtype) != t.elementType) {
      // Trust the computed type; name it from the MLIR type.
      Type et = t.elementType;
      dtype = et.isF32()         ? onnx::TensorProto::FLOAT
              : et.isF64()       ? onnx::TensorProto::DOUBLE
              : et.isF16()       ? onnx::TensorProto::FLOAT16
              : et.isBF16()      ? onnx::TensorProto::BFLOAT16
              : et.isInteger(64) ? onnx::TensorProto::INT64
              : et.isInteger(32) ? onnx::TensorProto::INT32
              : et.isInteger(1)  ? onnx::TensorProto::BOOL
                                 : onnx::TensorProto::INT8;
    }
    outputsInfo.push_back(IOInfo{out.name(), dtype, t.shape});
  }
  if (results.empty())
    return error = "the graph has no outputs", failure();
  func::ReturnOp::create(builder, UnknownLoc::get(context), results);
  func.setFunctionType(builder.getFunctionType(argTypes, resultTypes));
  for (auto [i, out] : llvm::enumerate(graph.output()))
    func.setResultAttr(i, "ssm.name", builder.getStringAttr(out.name()));
  func->setAttr("ssm.signature", builder.getStringAttr(signatureJSON(func)));
  return success();
}

OwningOpRef<ModuleOp> Importer::run() {
  for (const onnx::OperatorSetIdProto &o : model.opset_import()) {
    StringRef domain = o.domain();
    if (domain == "ai.onnx")
      domain = "";
    opsets[domain] = o.version();
  }
  auto def = opsets.find("");
  if (def == opsets.end()) {
    error = "the model does not import the default ONNX domain";
    return nullptr;
  }
  if (def->second < kMinOpset || def->second > kMaxOpset) {
    error = "default-domain opset " + std::to_string(def->second) +
            " is outside the supported range " + std::to_string(kMinOpset) +
            ".." + std::to_string(kMaxOpset);
    return nullptr;
  }
  OwningOpRef<ModuleOp> module = ModuleOp::create(UnknownLoc::get(context));
  builder.setInsertionPointToEnd(module->getBody());
  func::FuncOp func;
  if (failed(importGraph(func)))
    return nullptr;
  if (failed(verify(*module))) {
    error = "the imported module does not verify (an importer bug; the "
            "diagnostics above say where)";
    return nullptr;
  }
  return module;
}

//===----------------------------------------------------------------------===//
// Entry points
//===----------------------------------------------------------------------===//

void mlir::ssm::onnx_frontend::registerImportDialects(
    DialectRegistry &registry) {
  registry.insert<arith::ArithDialect, func::FuncDialect, linalg::LinalgDialect,
                  math::MathDialect, scf::SCFDialect, tensor::TensorDialect,
                  ssm::SSMDialect>();
}

OwningOpRef<ModuleOp>
mlir::ssm::onnx_frontend::importONNXFile(MLIRContext *context, StringRef path,
                                         std::string &error,
                                         const ImportOptions &options) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer) {
    error = "cannot read '" + path.str() + "': " + buffer.getError().message();
    return nullptr;
  }
  onnx::ModelProto model;
  google::protobuf::io::ArrayInputStream stream((*buffer)->getBufferStart(),
                                                (*buffer)->getBufferSize());
  google::protobuf::io::CodedInputStream coded(&stream);
  coded.SetTotalBytesLimit(std::numeric_limits<int>::max());
  if (!model.ParseFromCodedStream(&coded) || !coded.ConsumedEntireMessage()) {
    error = "'" + path.str() +
            "' is not a valid ONNX model (protobuf parsing failed; is the "
            "file truncated?)";
    return nullptr;
  }
  if (!model.has_graph()) {
    error = "'" + path.str() + "' has no graph";
    return nullptr;
  }
  for (StringRef d : {"linalg", "tensor", "arith", "math", "scf", "func"})
    context->getOrLoadDialect(d);
  context->getOrLoadDialect<ssm::SSMDialect>();
  SmallString<256> dir(path);
  llvm::sys::path::remove_filename(dir);
  if (dir.empty())
    dir = ".";
  Importer importer(context, model, dir.str().str(), error);
  importer.parametersAsArguments = options.parametersAsArguments;
  return importer.run();
}
