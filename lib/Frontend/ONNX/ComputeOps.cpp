//===- ComputeOps.cpp - ONNX contractions, reductions and norms -----------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <limits>

using namespace mlir;
using namespace mlir::ssm;
using namespace mlir::ssm::onnx_frontend;

static std::optional<int64_t> cv(AffineExpr e) {
  return Importer::constantOf(e);
}

static Value add(OpBuilder &b, Location loc, Value x, Value y) {
  if (isa<FloatType>(x.getType()))
    return arith::AddFOp::create(b, loc, x, y);
  return arith::AddIOp::create(b, loc, x, y);
}

static Value mul(OpBuilder &b, Location loc, Value x, Value y) {
  if (isa<FloatType>(x.getType()))
    return arith::MulFOp::create(b, loc, x, y);
  return arith::MulIOp::create(b, loc, x, y);
}

/// init + sum over the reduction loops of a * b, as one linalg.generic.
static Value multiplyAccumulate(OpBuilder &b, Location loc, Value x, Value y,
                                Value init, ArrayRef<AffineMap> maps,
                                ArrayRef<utils::IteratorType> iters) {
  return linalg::GenericOp::create(
             b, loc, TypeRange{init.getType()}, ValueRange{x, y},
             ValueRange{init}, maps, iters,
             [&](OpBuilder &bb, Location l, ValueRange v) {
               linalg::YieldOp::create(
                   bb, l, add(bb, l, v[2], mul(bb, l, v[0], v[1])));
             })
      .getResult(0);
}

//===----------------------------------------------------------------------===//
// MatMul and Gemm
//===----------------------------------------------------------------------===//

LogicalResult Importer::importMatMul(Node &n) {
  if (failed(requireInputs(n, 2, 2)))
    return failure();
  Tensor &a = *n.inputs[0], &b = *n.inputs[1];
  Type et = a.elementType;
  if (b.elementType != et || et.isInteger(1))
    return fail(n, "inputs must have the same numeric element type");
  if (a.rank() < 1 || b.rank() < 1)
    return fail(n, "inputs must have rank >= 1");
  bool aVec = a.rank() == 1, bVec = b.rank() == 1;
  AffineExpr ka = a.shape.back();
  AffineExpr kb = bVec ? b.shape[0] : b.shape[b.rank() - 2];
  if (cv(ka) && cv(kb) && *cv(ka) != *cv(kb))
    return fail(n, "contraction sizes differ: " + Twine(*cv(ka)) + " vs " +
                       Twine(*cv(kb)));
  ArrayRef<AffineExpr> aBatch =
      ArrayRef<AffineExpr>(a.shape).drop_back(aVec ? 1 : 2);
  ArrayRef<AffineExpr> bBatch =
      ArrayRef<AffineExpr>(b.shape).drop_back(bVec ? 1 : 2);
  FailureOr<SmallVector<AffineExpr>> batch =
      broadcastShapes(n, {aBatch, bBatch});
  if (failed(batch))
    return failure();
  // Loops: batch..., [m], [n], k.
  int64_t nb = batch->size();
  SmallVector<AffineExpr> outShape(*batch);
  int64_t loop = nb;
  std::optional<int64_t> mLoop, nLoop;
  if (!aVec) {
    outShape.push_back(a.shape[a.rank() - 2]);
    mLoop = loop++;
  }
  if (!bVec) {
    outShape.push_back(b.shape.back());
    nLoop = loop++;
  }
  int64_t kLoop = loop++;
  auto d = [&](int64_t i) { return getAffineDimExpr(i, context); };
  auto batchExprs = [&](ArrayRef<AffineExpr> in) {
    AffineMap m = broadcastMap(in, *batch);
    SmallVector<AffineExpr> e;
    for (AffineExpr x : m.getResults())
      e.push_back(x);
    return e;
  };
  SmallVector<AffineExpr> aExprs = batchExprs(aBatch),
                          bExprs = batchExprs(bBatch);
  if (mLoop)
    aExprs.push_back(d(*mLoop));
  aExprs.push_back(d(kLoop));
  bExprs.push_back(d(kLoop));
  if (nLoop)
    bExprs.push_back(d(*nLoop));
  SmallVector<AffineExpr> outExprs;
  for (int64_t i = 0; i < kLoop; ++i)
    outExprs.push_back(d(i));
  SmallVector<AffineMap> maps = {AffineMap::get(loop, 0, aExprs, context),
                                 AffineMap::get(loop, 0, bExprs, context),
                                 AffineMap::get(loop, 0, outExprs, context)};
  SmallVector<utils::IteratorType> iters(loop, utils::IteratorType::parallel);
  iters[kLoop] = utils::IteratorType::reduction;
  Value init = filledTensor(outShape, et,
                            isa<FloatType>(et)
                                ? TypedAttr(builder.getFloatAttr(et, 0.0))
                                : TypedAttr(builder.getIntegerAttr(et, 0)));
  Value g =
      multiplyAccumulate(builder, n.loc, get(a), get(b), init, maps, iters);
  define(n, 0, fromValue(g, outShape));
  return success();
}

LogicalResult Importer::importGemm(Node &n) {
  if (failed(requireInputs(n, 2, 3)) ||
      failed(checkAttrs(n, {"alpha", "beta", "transA", "transB"})))
    return failure();
  Tensor &a = *n.inputs[0], &b = *n.inputs[1];
  Type et = a.elementType;
  if (!isa<FloatType>(et) || b.elementType != et)
    return fail(n, "inputs must have the same floating-point element type");
  if (a.rank() != 2 || b.rank() != 2)
    return fail(n, "A and B must be 2-D");
  FailureOr<float> alpha = floatAttr(n, "alpha", 1.0f);
  FailureOr<float> beta = floatAttr(n, "beta", 1.0f);
  FailureOr<int64_t> transA = intAttr(n, "transA", 0);
  FailureOr<int64_t> transB = intAttr(n, "transB", 0);
  if (failed(alpha) || failed(beta) || failed(transA) || failed(transB))
    return failure();
  AffineExpr m = a.shape[*transA ? 1 : 0], ka = a.shape[*transA ? 0 : 1];
  AffineExpr kb = b.shape[*transB ? 1 : 0], nn = b.shape[*transB ? 0 : 1];
  if (cv(ka) && cv(kb) && *cv(ka) != *cv(kb))
    return fail(n, "contraction sizes differ");
  auto d = [&](int64_t i) { return getAffineDimExpr(i, context); };
  SmallVector<AffineExpr> shape = {m, nn};
  SmallVector<AffineMap> maps = {
      AffineMap::get(3, 0,
                     *transA ? ArrayRef<AffineExpr>{d(2), d(0)}
                             : ArrayRef<AffineExpr>{d(0), d(2)},
                     context),
      AffineMap::get(3, 0,
                     *transB ? ArrayRef<AffineExpr>{d(1), d(2)}
                             : ArrayRef<AffineExpr>{d(2), d(1)},
                     context),
      AffineMap::get(3, 0, {d(0), d(1)}, context)};
  Value init = filledTensor(shape, et, builder.getFloatAttr(et, 0.0));
  SmallVector<utils::IteratorType> iters = {utils::IteratorType::parallel,
                                            utils::IteratorType::parallel,
                                            utils::IteratorType::reduction};
  Value g =
      multiplyAccumulate(builder, n.loc, get(a), get(b), init, maps, iters);
  Tensor y = fromValue(g, shape);
  float al = *alpha, be = *beta;
  SmallVector<Tensor *> ins = {&y};
  if (Tensor *c = n.input(2)) {
    if (c->elementType != et)
      return fail(n, "C must have the element type of A");
    ins.push_back(c);
  }
  if (al == 1.0f && ins.size() == 1) {
    define(n, 0, y);
    return success();
  }
  FailureOr<Tensor> r = elementwise(
      n, ins, et, [&](OpBuilder &bb, Location loc, ValueRange v) -> Value {
        Value acc = v[0];
        if (al != 1.0f)
          acc = arith::MulFOp::create(
              bb, loc, acc,
              arith::ConstantOp::create(bb, loc, bb.getFloatAttr(et, al)));
        if (v.size() > 1) {
          Value c = v[1];
          if (be != 1.0f)
            c = arith::MulFOp::create(
                bb, loc, c,
                arith::ConstantOp::create(bb, loc, bb.getFloatAttr(et, be)));
          acc = arith::AddFOp::create(bb, loc, acc, c);
        }
        return acc;
      });
  if (failed(r))
    return failure();
  if (!llvm::equal(r->shape, shape))
    return fail(n, "C does not broadcast to the output shape");
  define(n, 0, *r);
  return success();
}

//===----------------------------------------------------------------------===//
// Conv (1-D, grouped)
//===----------------------------------------------------------------------===//

LogicalResult Importer::importConv(Node &n) {
  if (failed(requireInputs(n, 2, 3)) ||
      failed(checkAttrs(n, {"auto_pad", "dilations", "group", "kernel_shape",
                            "pads", "strides"})))
    return failure();
  Tensor &x = *n.inputs[0], &w = *n.inputs[1];
  Type et = x.elementType;
  if (!isa<FloatType>(et) || w.elementType != et)
    return fail(n, "inputs must have the same floating-point element type");
  if (x.rank() != 3 || w.rank() != 3)
    return fail(n, "only 1-D convolutions (rank-3 input and weight) are "
                   "supported");
  FailureOr<std::string> autoPad =
      stringAttr(n, "auto_pad", std::string("NOTSET"));
  FailureOr<int64_t> group = intAttr(n, "group", 1);
  FailureOr<std::optional<SmallVector<int64_t>>> pads = intsAttr(n, "pads");
  FailureOr<std::optional<SmallVector<int64_t>>> strides =
      intsAttr(n, "strides");
  FailureOr<std::optional<SmallVector<int64_t>>> dil = intsAttr(n, "dilations");
  FailureOr<std::optional<SmallVector<int64_t>>> ks =
      intsAttr(n, "kernel_shape");
  if (failed(autoPad) || failed(group) || failed(pads) || failed(strides) ||
      failed(dil) || failed(ks))
    return failure();
  if (*autoPad != "NOTSET")
    return fail(n, "auto_pad '" + *autoPad + "' is not supported");
  auto k = cv(w.shape[2]), cout = cv(w.shape[0]), cinG = cv(w.shape[1]),
       cin = cv(x.shape[1]);
  if (!k || !cout || !cinG || !cin)
    return fail(n, "channel counts and kernel size must be static");
  int64_t g = *group;
  if (g < 1 || *cout % g || *cin != *cinG * g)
    return fail(n, "group " + Twine(g) + " does not divide the channels");
  int64_t padB = 0, padE = 0, stride = 1, dilation = 1;
  if (*pads) {
    if ((*pads)->size() != 2)
      return fail(n, "pads must have 2 entries");
    padB = (**pads)[0];
    padE = (**pads)[1];
  }
  if (*strides) {
    if ((*strides)->size() != 1)
      return fail(n, "strides must have 1 entry");
    stride = (**strides)[0];
  }
  if (*dil) {
    if ((*dil)->size() != 1)
      return fail(n, "dilations must have 1 entry");
    dilation = (**dil)[0];
  }
  if (*ks && ((*ks)->size() != 1 || (**ks)[0] != *k))
    return fail(n, "kernel_shape does not match the weight");
  if (padB < 0 || padE < 0 || stride < 1 || dilation < 1)
    return fail(n, "pads, strides and dilations must be positive");

  // Zero-pad the input, then convolve.
  SmallVector<AffineExpr> padded = {x.shape[0], x.shape[1],
                                    simplify(x.shape[2] + padB + padE)};
  Value xp = get(x);
  if (padB || padE) {
    Value filled = filledTensor(padded, et, builder.getFloatAttr(et, 0.0));
    SmallVector<OpFoldResult> st(3, builder.getIndexAttr(1));
    xp = tensor::InsertSliceOp::create(builder, n.loc, xp, filled,
                                       mixedSizes({cst(0), cst(0), cst(padB)}),
                                       mixedSizes(x.shape), st);
  }
  AffineExpr outLen =
      simplify((padded[2] - dilation * (*k - 1) - 1).floorDiv(stride) + 1);
  SmallVector<AffineExpr> shape = {x.shape[0], cst(*cout), outLen};
  int64_t coutG = *cout / g;
  // Loops: n, oc, l, ic (within the group), k.
  auto d = [&](int64_t i) { return getAffineDimExpr(i, context); };
  AffineExpr channel = d(1).floorDiv(coutG) * *cinG + d(3);
  SmallVector<AffineMap> maps = {
      AffineMap::get(5, 0, {d(0), channel, d(2) * stride + d(4) * dilation},
                     context),
      AffineMap::get(5, 0, {d(1), d(3), d(4)}, context),
      AffineMap::get(5, 0, {d(0), d(1), d(2)}, context)};
  Value init;
  if (Tensor *bias = n.input(2)) {
    if (bias->rank() != 1 || bias->elementType != et)
      return fail(n, "bias must be 1-D with the input's element type");
    // Broadcast bias (C) along batch and length.
    Value e = emptyTensor(shape, et);
    AffineMap bm = AffineMap::get(3, 0, {d(1)}, context);
    AffineMap om = AffineMap::getMultiDimIdentityMap(3, context);
    SmallVector<utils::IteratorType> it(3, utils::IteratorType::parallel);
    init = linalg::GenericOp::create(
               builder, n.loc, TypeRange{e.getType()}, ValueRange{get(*bias)},
               ValueRange{e}, ArrayRef<AffineMap>{bm, om}, it,
               [](OpBuilder &bb, Location loc, ValueRange v) {
                 linalg::YieldOp::create(bb, loc, v[0]);
               })
               .getResult(0);
  } else {
    init = filledTensor(shape, et, builder.getFloatAttr(et, 0.0));
  }
  SmallVector<utils::IteratorType> iters = {
      utils::IteratorType::parallel, utils::IteratorType::parallel,
      utils::IteratorType::parallel, utils::IteratorType::reduction,
      utils::IteratorType::reduction};
  Value conv =
      multiplyAccumulate(builder, n.loc, xp, get(w), init, maps, iters);
  define(n, 0, fromValue(conv, shape));
  return success();
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

Tensor Importer::reduce(
    Tensor &x, ArrayRef<int64_t> axes, bool keepDims, TypedAttr init,
    const std::function<Value(OpBuilder &, Location, Value, Value)> &combine,
    Location loc) {
  int64_t r = x.rank();
  SmallVector<AffineExpr> outShape, keptShape, outExprs;
  SmallVector<utils::IteratorType> iters;
  for (int64_t i = 0; i < r; ++i) {
    bool red = llvm::is_contained(axes, i);
    iters.push_back(red ? utils::IteratorType::reduction
                        : utils::IteratorType::parallel);
    if (!red) {
      outShape.push_back(x.shape[i]);
      outExprs.push_back(getAffineDimExpr(i, context));
    }
    keptShape.push_back(red ? cst(1) : x.shape[i]);
  }
  Value initT = filledTensor(outShape, x.elementType, init);
  SmallVector<AffineMap> maps = {AffineMap::getMultiDimIdentityMap(r, context),
                                 AffineMap::get(r, 0, outExprs, context)};
  auto g = linalg::GenericOp::create(
      builder, loc, TypeRange{initT.getType()}, ValueRange{get(x)},
      ValueRange{initT}, maps, iters,
      [&](OpBuilder &b, Location l, ValueRange v) {
        linalg::YieldOp::create(b, l, combine(b, l, v[1], v[0]));
      });
  Tensor out = fromValue(g.getResult(0), outShape);
  if (!keepDims || axes.empty())
    return out;
  if (outShape.empty()) {
    auto type = tensorType(keptShape, x.elementType);
    Value v = tensor::ExpandShapeOp::create(builder, loc, type, out.value,
                                            ArrayRef<ReassociationIndices>{});
    return fromValue(v, keptShape);
  }
  // Each kept dim groups with the reduced unit dims after it; leading
  // reduced dims join the first group.
  SmallVector<ReassociationIndices> reassoc(outShape.size());
  int64_t kept = 0;
  for (int64_t i = 0; i < r; ++i) {
    if (!llvm::is_contained(axes, i))
      ++kept;
    reassoc[std::max<int64_t>(kept - 1, 0)].push_back(i);
  }
  auto type = tensorType(keptShape, x.elementType);
  Value v = tensor::ExpandShapeOp::create(builder, loc, type, out.value,
                                          reassoc, mixedSizes(keptShape));
  return fromValue(v, keptShape);
}

LogicalResult Importer::importReduce(Node &n) {
  if (failed(requireInputs(n, 1, 2)) ||
      failed(checkAttrs(n, {"axes", "keepdims", "noop_with_empty_axes"})))
    return failure();
  Tensor &x = *n.inputs[0];
  StringRef op = n.opType();
  Type et = x.elementType;
  bool fp = isa<FloatType>(et);
  if (!fp && (op == "ReduceMean" || et.isInteger(1)))
    return fail(n, "expects a floating-point input");
  FailureOr<int64_t> keep = intAttr(n, "keepdims", 1);
  FailureOr<int64_t> noop = intAttr(n, "noop_with_empty_axes", 0);
  if (failed(keep) || failed(noop))
    return failure();
  SmallVector<int64_t> axes;
  if (Tensor *t = n.input(1)) {
    auto c = constInts(*t);
    if (!c)
      return fail(n, "axes must be constant");
    axes = *c;
  } else if (const onnx::AttributeProto *a = n.attr("axes")) {
    axes.assign(a->ints().begin(), a->ints().end());
  }
  if (axes.empty()) {
    if (*noop) {
      define(n, 0, x);
      return success();
    }
    for (int64_t i = 0; i < x.rank(); ++i)
      axes.push_back(i);
  }
  for (int64_t &a : axes) {
    FailureOr<int64_t> norm = normalizeAxis(n, a, x.rank());
    if (failed(norm))
      return failure();
    a = *norm;
  }
  llvm::sort(axes);
  axes.erase(std::unique(axes.begin(), axes.end()), axes.end());

  double initV = 0.0;
  if (op == "ReduceMax")
    initV = -std::numeric_limits<double>::infinity();
  else if (op == "ReduceMin")
    initV = std::numeric_limits<double>::infinity();
  else if (op == "ReduceProd")
    initV = 1.0;
  TypedAttr init;
  if (fp) {
    init = builder.getFloatAttr(et, initV);
  } else {
    unsigned w = et.getIntOrFloatBitWidth();
    APInt v = op == "ReduceMax"   ? APInt::getSignedMinValue(w)
              : op == "ReduceMin" ? APInt::getSignedMaxValue(w)
                                  : APInt(w, op == "ReduceProd" ? 1 : 0);
    init = builder.getIntegerAttr(et, v);
  }
  auto combine = [&](OpBuilder &b, Location loc, Value acc, Value v) -> Value {
    if (op == "ReduceMax")
      return fp ? arith::MaximumFOp::create(b, loc, acc, v).getResult()
                : arith::MaxSIOp::create(b, loc, acc, v).getResult();
    if (op == "ReduceMin")
      return fp ? arith::MinimumFOp::create(b, loc, acc, v).getResult()
                : arith::MinSIOp::create(b, loc, acc, v).getResult();
    if (op == "ReduceProd")
      return mul(b, loc, acc, v);
    if (op == "ReduceSumSquare")
      return add(b, loc, acc, mul(b, loc, v, v));
    return add(b, loc, acc, v);
  };
  Tensor r = reduce(x, axes, *keep != 0, init, combine, n.loc);
  if (op == "ReduceMean") {
    SmallVector<AffineExpr> reduced;
    for (int64_t a : axes)
      reduced.push_back(x.shape[a]);
    Value count = materialize(product(reduced));
    Value countI =
        arith::IndexCastOp::create(builder, n.loc, builder.getI64Type(), count);
    Value countF = arith::SIToFPOp::create(builder, n.loc, et, countI);
    FailureOr<Tensor> mean = elementwise(
        n, {&r}, et, [&](OpBuilder &b, Location loc, ValueRange v) -> Value {
          return arith::DivFOp::create(b, loc, v[0], countF);
        });
    if (failed(mean))
      return failure();
    define(n, 0, *mean);
    return success();
  }
  define(n, 0, r);
  return success();
}

LogicalResult Importer::importSoftmax(Node &n) {
  if (failed(requireInputs(n, 1, 1)) || failed(checkAttrs(n, {"axis"})))
    return failure();
  Tensor &x = *n.inputs[0];
  Type et = x.elementType;
  if (!isa<FloatType>(et))
    return fail(n, "expects a floating-point input");
  FailureOr<int64_t> axisAttr = intAttr(n, "axis", -1);
  if (failed(axisAttr))
    return failure();
  FailureOr<int64_t> axis = normalizeAxis(n, *axisAttr, x.rank());
  if (failed(axis))
    return failure();
  bool logSoftmax = n.opType() == "LogSoftmax";
  SmallVector<int64_t> axes = {*axis};
  Tensor m = reduce(
      x, axes, true,
      builder.getFloatAttr(et, -std::numeric_limits<double>::infinity()),
      [](OpBuilder &b, Location loc, Value acc, Value v) -> Value {
        return arith::MaximumFOp::create(b, loc, acc, v);
      },
      n.loc);
  FailureOr<Tensor> shifted = elementwise(
      n, {&x, &m}, et, [&](OpBuilder &b, Location loc, ValueRange v) -> Value {
        // A row of -inf (fully masked) gives NaN, as in PyTorch and ONNX.
        return arith::SubFOp::create(b, loc, v[0], v[1]);
      });
  if (failed(shifted))
    return failure();
  FailureOr<Tensor> e =
      elementwise(n, {&*shifted}, et,
                  [&](OpBuilder &b, Location loc, ValueRange v) -> Value {
                    return math::ExpOp::create(b, loc, v[0]);
                  });
  if (failed(e))
    return failure();
  Tensor s = reduce(
      *e, axes, true, builder.getFloatAttr(et, 0.0),
      [](OpBuilder &b, Location loc, Value acc, Value v) -> Value {
        return arith::AddFOp::create(b, loc, acc, v);
      },
      n.loc);
  FailureOr<Tensor> r =
      logSoftmax
          ? elementwise(n, {&*shifted, &s}, et,
                        [&](OpBuilder &b, Location loc, ValueRange v) -> Value {
                          return arith::SubFOp::create(
                              b, loc, v[0], math::LogOp::create(b, loc, v[1]));
                        })
          : elementwise(n, {&*e, &s}, et,
                        [&](OpBuilder &b, Location loc, ValueRange v) -> Value {
                          return arith::DivFOp::create(b, loc, v[0], v[1]);
                        });
  if (failed(r))
    return failure();
  define(n, 0, *r);
  return success();
}

LogicalResult Importer::importCumSum(Node &n) {
  if (failed(requireInputs(n, 2, 2)) ||
      failed(checkAttrs(n, {"exclusive", "reverse"})))
    return failure();
  Tensor &x = *n.inputs[0];
  Type et = x.elementType;
  if (et.isInteger(1))
    return fail(n, "expects a numeric input");
  auto axisC = constInts(*n.inputs[1]);
  if (!axisC || axisC->size() != 1)
    return fail(n, "axis must be a constant scalar");
  FailureOr<int64_t> axis = normalizeAxis(n, (*axisC)[0], x.rank());
  FailureOr<int64_t> exclusive = intAttr(n, "exclusive", 0);
  FailureOr<int64_t> reverse = intAttr(n, "reverse", 0);
  if (failed(axis) || failed(exclusive) || failed(reverse))
    return failure();
  int64_t r = x.rank(), ax = *axis;
  bool excl = *exclusive, rev = *reverse;
  // A loop along the axis carrying the running sum (one slice) and the
  // result; each step is a slice-wide elementwise add.
  SmallVector<AffineExpr> sliceShape(x.shape);
  sliceShape[ax] = cst(1);
  TypedAttr zeroAttr = isa<FloatType>(et)
                           ? TypedAttr(builder.getFloatAttr(et, 0.0))
                           : TypedAttr(builder.getIntegerAttr(et, 0));
  Value acc0 = filledTensor(sliceShape, et, zeroAttr);
  Value out0 = emptyTensor(x.shape, et);
  Value xv = get(x);
  SmallVector<OpFoldResult> sizes = mixedSizes(sliceShape);
  Value len = materialize(x.shape[ax]);
  Value zero = arith::ConstantIndexOp::create(builder, n.loc, 0);
  Value one = arith::ConstantIndexOp::create(builder, n.loc, 1);
  Value lastIdx = arith::SubIOp::create(builder, n.loc, len, one);
  auto sliceType = tensorType(sliceShape, et);
  auto loop = scf::ForOp::create(
      builder, n.loc, zero, len, one, ValueRange{acc0, out0},
      [&](OpBuilder &b, Location loc, Value i, ValueRange iter) {
        Value idx =
            rev ? arith::SubIOp::create(b, loc, lastIdx, i).getResult() : i;
        SmallVector<OpFoldResult> offsets(r, b.getIndexAttr(0));
        offsets[ax] = idx;
        SmallVector<OpFoldResult> strides(r, b.getIndexAttr(1));
        Value cur = tensor::ExtractSliceOp::create(b, loc, sliceType, xv,
                                                   offsets, sizes, strides);
        Value empty = tensor::EmptyOp::create(b, loc, sizes, et);
        AffineMap id = AffineMap::getMultiDimIdentityMap(r, context);
        SmallVector<utils::IteratorType> it(r, utils::IteratorType::parallel);
        Value next =
            linalg::GenericOp::create(
                b, loc, TypeRange{empty.getType()}, ValueRange{iter[0], cur},
                ValueRange{empty}, ArrayRef<AffineMap>{id, id, id}, it,
                [](OpBuilder &bb, Location l, ValueRange v) {
                  linalg::YieldOp::create(bb, l, add(bb, l, v[0], v[1]));
                })
                .getResult(0);
        Value written = excl ? iter[0] : next;
        Value out = tensor::InsertSliceOp::create(b, loc, written, iter[1],
                                                  offsets, sizes, strides);
        scf::YieldOp::create(b, loc, ValueRange{next, out});
      });
  define(n, 0, fromValue(loop.getResult(1), x.shape));
  return success();
}

//===----------------------------------------------------------------------===//
// Normalization
//===----------------------------------------------------------------------===//

LogicalResult Importer::importLayerNorm(Node &n) {
  bool rms = n.opType() != "LayerNormalization";
  if (failed(requireInputs(n, 2, rms ? 2 : 3)) ||
      failed(checkAttrs(n, {"axis", "epsilon", "stash_type"})))
    return failure();
  Tensor &x = *n.inputs[0], &scale = *n.inputs[1];
  Type et = x.elementType;
  if (!isa<FloatType>(et) || scale.elementType != et)
    return fail(n, "inputs must have the same floating-point element type");
  FailureOr<int64_t> axisAttr = intAttr(n, "axis", -1);
  FailureOr<float> eps = floatAttr(n, "epsilon", 1e-5f);
  FailureOr<int64_t> stash = intAttr(n, "stash_type", 1);
  if (failed(axisAttr) || failed(eps) || failed(stash))
    return failure();
  FailureOr<int64_t> axis = normalizeAxis(n, *axisAttr, x.rank());
  if (failed(axis))
    return failure();
  // Statistics in f32 (stash_type 1) or the input type.
  Type st = *stash == 1 && et.getIntOrFloatBitWidth() < 32
                ? Type(builder.getF32Type())
                : et;
  Tensor xs = x;
  if (st != et)
    xs = fromValue(castTensor(x, st, n.loc), x.shape);
  SmallVector<int64_t> axes;
  SmallVector<AffineExpr> reduced;
  for (int64_t i = *axis; i < x.rank(); ++i) {
    axes.push_back(i);
    reduced.push_back(x.shape[i]);
  }
  Value count = materialize(product(reduced));
  Value countF = arith::SIToFPOp::create(
      builder, n.loc, st,
      arith::IndexCastOp::create(builder, n.loc, builder.getI64Type(), count));
  auto sum = [](OpBuilder &b, Location loc, Value acc, Value v) -> Value {
    return arith::AddFOp::create(b, loc, acc, v);
  };
  Value epsV =
      arith::ConstantOp::create(builder, n.loc, builder.getFloatAttr(st, *eps));
  Tensor centered = xs;
  Tensor mean;
  if (!rms) {
    Tensor s =
        reduce(xs, axes, true, builder.getFloatAttr(st, 0.0), sum, n.loc);
    FailureOr<Tensor> m = elementwise(
        n, {&s}, st, [&](OpBuilder &b, Location loc, ValueRange v) -> Value {
          return arith::DivFOp::create(b, loc, v[0], countF);
        });
    if (failed(m))
      return failure();
    mean = *m;
    FailureOr<Tensor> c =
        elementwise(n, {&xs, &mean}, st,
                    [&](OpBuilder &b, Location loc, ValueRange v) -> Value {
                      return arith::SubFOp::create(b, loc, v[0], v[1]);
                    });
    if (failed(c))
      return failure();
    centered = *c;
  }
  Tensor ss = reduce(
      centered, axes, true, builder.getFloatAttr(st, 0.0),
      [](OpBuilder &b, Location loc, Value acc, Value v) -> Value {
        return arith::AddFOp::create(b, loc, acc,
                                     arith::MulFOp::create(b, loc, v, v));
      },
      n.loc);
  FailureOr<Tensor> invStd = elementwise(
      n, {&ss}, st, [&](OpBuilder &b, Location loc, ValueRange v) -> Value {
        Value var = arith::DivFOp::create(b, loc, v[0], countF);
        return math::RsqrtOp::create(b, loc,
                                     arith::AddFOp::create(b, loc, var, epsV));
      });
  if (failed(invStd))
    return failure();
  SmallVector<Tensor *> ins = {&centered, &*invStd, &scale};
  Tensor *bias = rms ? nullptr : n.input(2);
  if (bias) {
    if (bias->elementType != et)
      return fail(n, "B must have the input's element type");
    ins.push_back(bias);
  }
  FailureOr<Tensor> y = elementwise(
      n, ins, et, [&](OpBuilder &b, Location loc, ValueRange v) -> Value {
        Value norm = arith::MulFOp::create(b, loc, v[0], v[1]);
        norm = castScalar(b, loc, norm, et);
        Value r = arith::MulFOp::create(b, loc, norm, v[2]);
        if (v.size() > 3)
          r = arith::AddFOp::create(b, loc, r, v[3]);
        return r;
      });
  if (failed(y))
    return failure();
  if (!llvm::equal(y->shape, x.shape))
    return fail(n, "scale or bias does not broadcast to the input shape");
  define(n, 0, *y);
  if (rms) {
    define(n, 1, *invStd);
  } else {
    define(n, 1, mean);
    define(n, 2, *invStd);
  }
  return success();
}
