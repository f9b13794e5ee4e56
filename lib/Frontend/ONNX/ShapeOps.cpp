//===- ShapeOps.cpp - ONNX shape, layout and indexing ops -----------------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::ssm;
using namespace mlir::ssm::onnx_frontend;

static std::optional<int64_t> cv(AffineExpr e) {
  return Importer::constantOf(e);
}

/// Sizes of slices and pads this large mean "to the end".
static constexpr int64_t kHuge = int64_t(1) << 31;

/// The grouping of the dimensions of `from` into those of `to` (or of `to`
/// into `from`, whichever has fewer) when each dimension of the shorter
/// shape is the product of consecutive dimensions of the longer one;
/// nothing when the reshape moves elements across dimensions otherwise.
static std::optional<SmallVector<ReassociationIndices>>
regroupingOf(ArrayRef<AffineExpr> from, ArrayRef<AffineExpr> to) {
  ArrayRef<AffineExpr> fine = from.size() > to.size() ? from : to;
  ArrayRef<AffineExpr> coarse = from.size() > to.size() ? to : from;
  if (fine.size() == coarse.size() || coarse.empty())
    return std::nullopt;
  SmallVector<ReassociationIndices> groups;
  size_t next = 0;
  for (AffineExpr target : coarse) {
    ReassociationIndices group;
    AffineExpr product = getAffineConstantExpr(1, target.getContext());
    while (next < fine.size() && (group.empty() || product != target)) {
      product = product * fine[next];
      group.push_back(next++);
    }
    if (product != target)
      return std::nullopt;
    groups.push_back(group);
  }
  // Trailing unit dimensions join the last group.
  for (; next < fine.size(); ++next) {
    if (cv(fine[next]) != 1)
      return std::nullopt;
    groups.back().push_back(next);
  }
  return groups;
}

Tensor Importer::reshape(Tensor &x, ArrayRef<AffineExpr> shape, Location loc) {
  OpBuilder &b = builder;
  if (x.elems && shape.size() <= 1) {
    Tensor r = fromElems(x.elementType, *x.elems, shape.empty());
    return r;
  }
  bool allStatic = llvm::all_of(shape, [](AffineExpr e) { return cv(e); });
  if (x.constant && allStatic) {
    Tensor r = makeConstantTensor(
        *this, x.constant.reshape(tensorType(shape, x.elementType)));
    return r;
  }
  if (llvm::equal(x.shape, shape))
    return x;
  Value v = get(x);
  RankedTensorType type = tensorType(shape, x.elementType);
  if (shape.empty()) {
    auto ones =
        RankedTensorType::get(SmallVector<int64_t>(x.rank(), 1), x.elementType);
    if (ones != v.getType())
      v = tensor::CastOp::create(b, loc, ones, v);
    v = tensor::CollapseShapeOp::create(b, loc, type, v,
                                        ArrayRef<ReassociationIndices>{});
    return fromValue(v, shape);
  }
  if (x.rank() == 0 && allStatic) {
    v = tensor::ExpandShapeOp::create(b, loc, type, v,
                                      ArrayRef<ReassociationIndices>{});
    return fromValue(v, shape);
  }
  // A reshape that only splits dimensions, or only merges them, is an
  // expand_shape or a collapse_shape: a view that later passes can see
  // through (fusion moves it past elementwise ops), unlike tensor.reshape.
  if (std::optional<SmallVector<ReassociationIndices>> groups =
          regroupingOf(x.shape, shape)) {
    if (shape.size() > x.shape.size()) {
      v = tensor::ExpandShapeOp::create(b, loc, type, v, *groups,
                                        mixedSizes(shape));
    } else {
      v = tensor::CollapseShapeOp::create(b, loc, type, v, *groups);
    }
    return fromValue(v, shape);
  }
  SmallVector<Value> dims;
  for (AffineExpr d : shape)
    dims.push_back(
        arith::IndexCastOp::create(b, loc, b.getI64Type(), materialize(d)));
  Value shapeTensor = tensor::FromElementsOp::create(
      b, loc, RankedTensorType::get({(int64_t)shape.size()}, b.getI64Type()),
      dims);
  v = tensor::ReshapeOp::create(b, loc, type, v, shapeTensor);
  return fromValue(v, shape);
}

Tensor Importer::broadcastTo(Tensor &x, ArrayRef<AffineExpr> shape,
                             Location loc) {
  if (llvm::equal(x.shape, shape))
    return x;
  OpBuilder &b = builder;
  Value init = emptyTensor(shape, x.elementType);
  AffineMap in = broadcastMap(x.shape, shape);
  AffineMap out = AffineMap::getMultiDimIdentityMap(shape.size(), context);
  SmallVector<utils::IteratorType> iters(shape.size(),
                                         utils::IteratorType::parallel);
  auto g = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, ValueRange{get(x)}, ValueRange{init},
      ArrayRef<AffineMap>{in, out}, iters,
      [](OpBuilder &nb, Location l, ValueRange a) {
        linalg::YieldOp::create(nb, l, a[0]);
      });
  return fromValue(g.getResult(0), shape);
}

LogicalResult Importer::importShape(Node &n) {
  if (failed(requireInputs(n, 1, 1)) || failed(checkAttrs(n, {"start", "end"})))
    return failure();
  Tensor &x = *n.inputs[0];
  int64_t r = x.rank();
  FailureOr<int64_t> start = intAttr(n, "start", 0);
  FailureOr<int64_t> end = intAttr(n, "end", r);
  if (failed(start) || failed(end))
    return failure();
  auto clampAxis = [&](int64_t a) {
    if (a < 0)
      a += r;
    return std::clamp<int64_t>(a, 0, r);
  };
  int64_t s = clampAxis(*start), e = clampAxis(*end);
  SmallVector<AffineExpr> elems;
  for (int64_t i = s; i < e; ++i)
    elems.push_back(x.shape[i]);
  define(n, 0, fromElems(builder.getI64Type(), elems, /*scalar=*/false));
  return success();
}

LogicalResult Importer::importReshape(Node &n) {
  if (failed(requireInputs(n, 2, 2)) || failed(checkAttrs(n, {"allowzero"})))
    return failure();
  Tensor &x = *n.inputs[0];
  if (n.inputs[1]->rank() != 1)
    return fail(n, "the shape input must be 1-D");
  FailureOr<SmallVector<AffineExpr>> target =
      elemsOf(n, *n.inputs[1], "the shape input");
  FailureOr<int64_t> allowZero = intAttr(n, "allowzero", 0);
  if (failed(target) || failed(allowZero))
    return failure();
  SmallVector<AffineExpr> shape;
  int64_t inferred = -1;
  for (auto [i, d] : llvm::enumerate(*target)) {
    auto c = cv(d);
    if (c == -1) {
      if (inferred >= 0)
        return fail(n, "the shape has more than one -1");
      inferred = i;
      shape.push_back(cst(1));
      continue;
    }
    if (c == 0 && !*allowZero) {
      if (static_cast<int64_t>(i) >= x.rank())
        return fail(n, "shape entry " + Twine(i) +
                           " is 0 (copy) but the input has rank " +
                           Twine(x.rank()));
      shape.push_back(x.shape[i]);
      continue;
    }
    if (c && *c < 0)
      return fail(n, "invalid shape entry " + Twine(*c));
    shape.push_back(d);
  }
  AffineExpr total = product(x.shape);
  if (inferred >= 0) {
    AffineExpr rest = product(shape);
    if (cv(rest) == 0)
      return fail(n, "cannot infer the -1 entry next to a zero-size entry");
    shape[inferred] = divide(total, rest);
  } else {
    auto ct = cv(total), cs = cv(product(shape));
    if (ct && cs && *ct != *cs)
      return fail(n, "cannot reshape " + Twine(*ct) + " elements into " +
                         Twine(*cs));
  }
  define(n, 0, reshape(x, shape, n.loc));
  return success();
}

LogicalResult Importer::importTranspose(Node &n) {
  if (failed(requireInputs(n, 1, 1)) || failed(checkAttrs(n, {"perm"})))
    return failure();
  Tensor &x = *n.inputs[0];
  int64_t r = x.rank();
  FailureOr<std::optional<SmallVector<int64_t>>> permAttr = intsAttr(n, "perm");
  if (failed(permAttr))
    return failure();
  SmallVector<int64_t> perm;
  if (*permAttr)
    perm = **permAttr;
  else
    for (int64_t i = r - 1; i >= 0; --i)
      perm.push_back(i);
  SmallVector<bool> seen(r, false);
  if (static_cast<int64_t>(perm.size()) != r)
    return fail(n, "perm has " + Twine(perm.size()) + " entries for rank " +
                       Twine(r));
  for (int64_t &p : perm) {
    if (p < 0)
      p += r;
    if (p < 0 || p >= r || seen[p])
      return fail(n, "perm is not a permutation");
    seen[p] = true;
  }
  if (r <= 1) {
    define(n, 0, x);
    return success();
  }
  define(n, 0, transpose(x, perm, n.loc));
  return success();
}

Tensor Importer::transpose(Tensor &x, ArrayRef<int64_t> perm, Location loc) {
  SmallVector<AffineExpr> shape;
  for (int64_t p : perm)
    shape.push_back(x.shape[p]);
  Value init = emptyTensor(shape, x.elementType);
  Value t = linalg::TransposeOp::create(builder, loc, get(x), init, perm)
                .getResult()[0];
  return fromValue(t, shape);
}

static FailureOr<SmallVector<int64_t>> axesInput(Importer &imp, Node &n,
                                                 size_t index, int64_t rank) {
  SmallVector<int64_t> axes;
  if (Tensor *t = n.input(index)) {
    auto c = imp.constInts(*t);
    if (!c || t->rank() > 1)
      return (void)imp.fail(n, "axes must be a constant 1-D tensor"), failure();
    axes = *c;
  } else if (const onnx::AttributeProto *a = n.attr("axes")) {
    axes.assign(a->ints().begin(), a->ints().end());
  }
  for (int64_t &a : axes) {
    FailureOr<int64_t> norm = imp.normalizeAxis(n, a, rank);
    if (failed(norm))
      return failure();
    a = *norm;
  }
  llvm::sort(axes);
  if (std::adjacent_find(axes.begin(), axes.end()) != axes.end())
    return (void)imp.fail(n, "axes repeat an axis"), failure();
  return axes;
}

LogicalResult Importer::importSqueeze(Node &n) {
  if (failed(requireInputs(n, 1, 2)) || failed(checkAttrs(n, {"axes"})))
    return failure();
  Tensor &x = *n.inputs[0];
  FailureOr<SmallVector<int64_t>> axes = axesInput(*this, n, 1, x.rank());
  if (failed(axes))
    return failure();
  bool all = !n.input(1) && !n.attr("axes");
  SmallVector<AffineExpr> shape;
  for (int64_t i = 0; i < x.rank(); ++i) {
    bool drop = all ? cv(x.shape[i]) == 1 : llvm::is_contained(*axes, i);
    if (drop && cv(x.shape[i]) && cv(x.shape[i]) != 1)
      return fail(n, "cannot squeeze axis " + Twine(i) + " of size " +
                         Twine(*cv(x.shape[i])));
    if (!drop)
      shape.push_back(x.shape[i]);
  }
  define(n, 0, reshape(x, shape, n.loc));
  return success();
}

LogicalResult Importer::importUnsqueeze(Node &n) {
  if (failed(requireInputs(n, 1, 2)) || failed(checkAttrs(n, {"axes"})))
    return failure();
  Tensor &x = *n.inputs[0];
  if (!n.input(1) && !n.attr("axes"))
    return fail(n, "axes are required");
  int64_t count = 0;
  if (Tensor *t = n.input(1)) {
    auto c = constInts(*t);
    if (!c)
      return fail(n, "axes must be a constant 1-D tensor");
    count = c->size();
  } else {
    count = n.attr("axes")->ints_size();
  }
  int64_t outRank = x.rank() + count;
  FailureOr<SmallVector<int64_t>> axes = axesInput(*this, n, 1, outRank);
  if (failed(axes))
    return failure();
  SmallVector<AffineExpr> shape;
  int64_t k = 0;
  for (int64_t i = 0; i < outRank; ++i)
    shape.push_back(llvm::is_contained(*axes, i) ? cst(1) : x.shape[k++]);
  define(n, 0, reshape(x, shape, n.loc));
  return success();
}

LogicalResult Importer::importConcat(Node &n) {
  if (failed(requireInputs(n, 1, 1 << 16)) || failed(checkAttrs(n, {"axis"})))
    return failure();
  FailureOr<int64_t> axisAttr = intAttr(n, "axis", std::nullopt);
  if (failed(axisAttr))
    return failure();
  Tensor &first = *n.inputs[0];
  int64_t r = first.rank();
  FailureOr<int64_t> axis = normalizeAxis(n, *axisAttr, r);
  if (failed(axis))
    return failure();
  for (Tensor *t : n.inputs) {
    if (!t)
      return fail(n, "inputs cannot be omitted");
    if (t->rank() != r || t->elementType != first.elementType)
      return fail(n, "inputs differ in rank or element type");
  }
  // Shape arithmetic.
  if (r == 1 && isa<IntegerType>(first.elementType)) {
    SmallVector<AffineExpr> elems;
    bool known = true;
    for (Tensor *t : n.inputs) {
      if (t->elems) {
        elems.append(*t->elems);
      } else if (auto c = constInts(*t)) {
        for (int64_t v : *c)
          elems.push_back(cst(v));
      } else {
        known = false;
        break;
      }
    }
    if (known && !first.elementType.isInteger(1)) {
      define(n, 0, fromElems(first.elementType, elems, false));
      return success();
    }
  }
  for (Tensor *t : n.inputs)
    for (int64_t i = 0; i < r; ++i)
      if (i != *axis && cv(t->shape[i]) && cv(first.shape[i]) &&
          *cv(t->shape[i]) != *cv(first.shape[i]))
        return fail(n, "inputs differ in size along axis " + Twine(i));
  define(n, 0, concat(n.inputs, *axis, n.loc));
  return success();
}

Tensor Importer::concat(ArrayRef<Tensor *> parts, int64_t axis, Location loc) {
  Tensor &first = *parts.front();
  int64_t r = first.rank();
  SmallVector<AffineExpr> shape(first.shape);
  AffineExpr total = cst(0);
  for (Tensor *t : parts)
    total = total + t->shape[axis];
  shape[axis] = simplify(total);
  Value result = emptyTensor(shape, first.elementType);
  AffineExpr offset = cst(0);
  for (Tensor *t : parts) {
    if (cv(simplify(t->shape[axis])) == 0)
      continue;
    SmallVector<AffineExpr> offsets(r, cst(0));
    offsets[axis] = offset;
    SmallVector<OpFoldResult> strides(r, builder.getIndexAttr(1));
    result = tensor::InsertSliceOp::create(builder, loc, get(*t), result,
                                           mixedSizes(offsets),
                                           mixedSizes(t->shape), strides);
    offset = simplify(offset + t->shape[axis]);
  }
  return fromValue(result, shape);
}

LogicalResult Importer::importSlice(Node &n) {
  if (failed(requireInputs(n, 3, 5)))
    return failure();
  Tensor &x = *n.inputs[0];
  int64_t r = x.rank();
  FailureOr<SmallVector<AffineExpr>> starts =
      elemsOf(n, *n.inputs[1], "starts");
  if (failed(starts))
    return failure();
  FailureOr<SmallVector<AffineExpr>> ends = elemsOf(n, *n.inputs[2], "ends");
  if (failed(ends))
    return failure();
  size_t len = starts->size();
  if (ends->size() != len)
    return fail(n, "starts and ends differ in length");
  SmallVector<int64_t> axes, steps(len, 1);
  if (Tensor *t = n.input(3)) {
    auto c = constInts(*t);
    if (!c || c->size() != len)
      return fail(n, "axes must be a constant of the length of starts");
    axes = *c;
  } else {
    for (size_t i = 0; i < len; ++i)
      axes.push_back(i);
  }
  if (Tensor *t = n.input(4)) {
    auto c = constInts(*t);
    if (!c || c->size() != len)
      return fail(n, "steps must be a constant of the length of starts");
    steps = *c;
  }
  SmallVector<AffineExpr> offsets(r, cst(0)), sizes(x.shape);
  SmallVector<int64_t> strides(r, 1);
  SmallVector<bool> seen(r, false);
  for (size_t i = 0; i < len; ++i) {
    FailureOr<int64_t> axis = normalizeAxis(n, axes[i], r);
    if (failed(axis))
      return failure();
    if (seen[*axis])
      return fail(n, "axes repeat an axis");
    seen[*axis] = true;
    int64_t step = steps[i];
    if (step == 0)
      return fail(n, "steps must not be 0");
    if (step < 0)
      return fail(n, "negative steps are not supported");
    AffineExpr d = simplify(x.shape[*axis]);
    auto norm = [&](AffineExpr v) -> AffineExpr {
      v = simplify(v);
      auto c = cv(v);
      if (c && *c < 0)
        return simplify(d + v);
      if (c && *c >= kHuge && !cv(d))
        return d;
      return v;
    };
    AffineExpr s = norm((*starts)[i]), e = norm((*ends)[i]);
    auto cd = cv(d), cs = cv(s), ce = cv(e);
    if (cd) {
      if (cs)
        s = cst(std::clamp<int64_t>(*cs, 0, *cd));
      if (ce)
        e = cst(std::clamp<int64_t>(*ce, 0, *cd));
    } else {
      // A static bound on a dynamic dimension: clamp at run time.
      auto clampRt = [&](AffineExpr v) {
        Value m = arith::MinSIOp::create(builder, n.loc, materialize(v),
                                         materialize(d));
        return newSymbol(m);
      };
      if (cs && *cs > 0)
        s = clampRt(s);
      if (ce)
        e = clampRt(e);
    }
    AffineExpr size = simplify((e - s).ceilDiv(step));
    if (auto c = cv(size); c && *c < 0)
      size = cst(0);
    offsets[*axis] = s;
    sizes[*axis] = size;
    strides[*axis] = step;
  }
  // Shape arithmetic on known contents.
  if (x.elems && r == 1) {
    auto o = cv(simplify(offsets[0])), sz = cv(simplify(sizes[0]));
    if (o && sz) {
      SmallVector<AffineExpr> elems;
      for (int64_t k = 0; k < *sz; ++k)
        elems.push_back((*x.elems)[*o + k * strides[0]]);
      define(n, 0, fromElems(x.elementType, elems, false));
      return success();
    }
  }
  SmallVector<OpFoldResult> strideAttrs;
  for (int64_t s : strides)
    strideAttrs.push_back(builder.getIndexAttr(s));
  RankedTensorType type = tensorType(sizes, x.elementType);
  Value v = tensor::ExtractSliceOp::create(builder, n.loc, type, get(x),
                                           mixedSizes(offsets),
                                           mixedSizes(sizes), strideAttrs);
  define(n, 0, fromValue(v, sizes));
  return success();
}

LogicalResult Importer::importSplit(Node &n) {
  if (failed(requireInputs(n, 1, 2)) ||
      failed(checkAttrs(n, {"axis", "split", "num_outputs"})))
    return failure();
  Tensor &x = *n.inputs[0];
  FailureOr<int64_t> axisAttr = intAttr(n, "axis", 0);
  if (failed(axisAttr))
    return failure();
  FailureOr<int64_t> axis = normalizeAxis(n, *axisAttr, x.rank());
  if (failed(axis))
    return failure();
  int64_t outputs = n.proto.output_size();
  SmallVector<AffineExpr> sizes;
  AffineExpr d = x.shape[*axis];
  if (Tensor *t = n.input(1)) {
    FailureOr<SmallVector<AffineExpr>> s = elemsOf(n, *t, "split");
    if (failed(s))
      return failure();
    sizes = *s;
  } else if (const onnx::AttributeProto *a = n.attr("split")) {
    for (int64_t v : a->ints())
      sizes.push_back(cst(v));
  } else {
    FailureOr<int64_t> num = intAttr(n, "num_outputs", outputs);
    if (failed(num))
      return failure();
    if (*num <= 0)
      return fail(n, "num_outputs must be positive");
    AffineExpr chunk = simplify(d.ceilDiv(*num));
    for (int64_t i = 0; i < *num; ++i)
      sizes.push_back(i + 1 < *num ? chunk : simplify(d - chunk * (*num - 1)));
  }
  if (static_cast<int64_t>(sizes.size()) != outputs)
    return fail(n, "splits into " + Twine(sizes.size()) + " parts but has " +
                       Twine(outputs) + " outputs");
  AffineExpr total = cst(0);
  for (AffineExpr s : sizes)
    total = total + s;
  if (auto ct = cv(simplify(total)), cd = cv(simplify(d));
      ct && cd && *ct != *cd)
    return fail(n, "split sizes sum to " + Twine(*ct) + ", not " + Twine(*cd));
  AffineExpr offset = cst(0);
  for (int64_t i = 0; i < outputs; ++i) {
    SmallVector<AffineExpr> offsets(x.rank(), cst(0)), shape(x.shape);
    offsets[*axis] = offset;
    shape[*axis] = sizes[i];
    SmallVector<OpFoldResult> strides(x.rank(), builder.getIndexAttr(1));
    Value v = tensor::ExtractSliceOp::create(
        builder, n.loc, tensorType(shape, x.elementType), get(x),
        mixedSizes(offsets), mixedSizes(shape), strides);
    define(n, i, fromValue(v, shape));
    offset = simplify(offset + sizes[i]);
  }
  return success();
}

LogicalResult Importer::importPad(Node &n) {
  if (failed(requireInputs(n, 2, 4)) || failed(checkAttrs(n, {"mode"})))
    return failure();
  FailureOr<std::string> mode = stringAttr(n, "mode", std::string("constant"));
  if (failed(mode))
    return failure();
  if (*mode != "constant")
    return fail(n, "mode '" + *mode + "' is not supported (only constant)");
  Tensor &x = *n.inputs[0];
  int64_t r = x.rank();
  FailureOr<SmallVector<AffineExpr>> pads = elemsOf(n, *n.inputs[1], "pads");
  if (failed(pads))
    return failure();
  SmallVector<int64_t> axes;
  if (Tensor *t = n.input(3)) {
    auto c = constInts(*t);
    if (!c)
      return fail(n, "axes must be constant");
    for (int64_t a : *c) {
      FailureOr<int64_t> norm = normalizeAxis(n, a, r);
      if (failed(norm))
        return failure();
      axes.push_back(*norm);
    }
  } else {
    for (int64_t i = 0; i < r; ++i)
      axes.push_back(i);
  }
  size_t k = axes.size();
  if (pads->size() != 2 * k)
    return fail(n, "pads has " + Twine(pads->size()) + " entries, expected " +
                       Twine(2 * k));
  SmallVector<AffineExpr> before(r, cst(0)), after(r, cst(0));
  for (size_t i = 0; i < k; ++i) {
    before[axes[i]] = simplify((*pads)[i]);
    after[axes[i]] = simplify((*pads)[i + k]);
  }
  // Negative constant pads crop first.
  Tensor src = x;
  SmallVector<AffineExpr> cropOff(r, cst(0)), cropSize(x.shape);
  bool crop = false;
  for (int64_t i = 0; i < r; ++i) {
    if (auto c = cv(before[i]); c && *c < 0) {
      cropOff[i] = cst(-*c);
      cropSize[i] = simplify(cropSize[i] + *c);
      before[i] = cst(0);
      crop = true;
    }
    if (auto c = cv(after[i]); c && *c < 0) {
      cropSize[i] = simplify(cropSize[i] + *c);
      after[i] = cst(0);
      crop = true;
    }
  }
  if (crop) {
    SmallVector<OpFoldResult> strides(r, builder.getIndexAttr(1));
    Value v = tensor::ExtractSliceOp::create(
        builder, n.loc, tensorType(cropSize, x.elementType), get(x),
        mixedSizes(cropOff), mixedSizes(cropSize), strides);
    src = fromValue(v, cropSize);
  }
  Value padValue;
  if (Tensor *t = n.input(2)) {
    if (t->elementType != x.elementType || t->rank() > 1)
      return fail(n, "constant_value must be a scalar of the input's type");
    if (auto f = constFloats(*t); f && f->size() == 1) {
      padValue = scalarConstant(x.elementType, (*f)[0]);
    } else {
      SmallVector<Value> idx;
      if (t->rank() == 1)
        idx.push_back(arith::ConstantIndexOp::create(builder, n.loc, 0));
      padValue = tensor::ExtractOp::create(builder, n.loc, get(*t), idx);
    }
  } else {
    padValue = scalarConstant(x.elementType, 0.0);
  }
  SmallVector<AffineExpr> shape;
  for (int64_t i = 0; i < r; ++i)
    shape.push_back(simplify(before[i] + src.shape[i] + after[i]));
  Value init = emptyTensor(shape, x.elementType);
  Value filled = linalg::FillOp::create(builder, n.loc, ValueRange{padValue},
                                        ValueRange{init})
                     .getResult(0);
  SmallVector<OpFoldResult> strides(r, builder.getIndexAttr(1));
  Value v = tensor::InsertSliceOp::create(builder, n.loc, get(src), filled,
                                          mixedSizes(before),
                                          mixedSizes(src.shape), strides);
  define(n, 0, fromValue(v, shape));
  return success();
}

LogicalResult Importer::importExpand(Node &n) {
  if (failed(requireInputs(n, 2, 2)))
    return failure();
  Tensor &x = *n.inputs[0];
  if (n.inputs[1]->rank() != 1)
    return fail(n, "the shape input must be 1-D");
  FailureOr<SmallVector<AffineExpr>> target =
      elemsOf(n, *n.inputs[1], "the shape input");
  if (failed(target))
    return failure();
  FailureOr<SmallVector<AffineExpr>> shape =
      broadcastShapes(n, {ArrayRef<AffineExpr>(x.shape), *target});
  if (failed(shape))
    return failure();
  if (x.elems && shape->size() <= 1) {
    SmallVector<AffineExpr> elems;
    auto len = shape->empty() ? std::optional<int64_t>(1) : cv((*shape)[0]);
    if (len) {
      for (int64_t i = 0; i < *len; ++i)
        elems.push_back(x.elems->size() == 1 ? (*x.elems)[0] : (*x.elems)[i]);
      define(n, 0, fromElems(x.elementType, elems, shape->empty()));
      return success();
    }
  }
  define(n, 0, broadcastTo(x, *shape, n.loc));
  return success();
}

/// Clamps a runtime index into [0, size) after wrapping negatives.
static Value normalizeIndex(OpBuilder &b, Location loc, Value idx, Value size) {
  idx = arith::IndexCastOp::create(b, loc, b.getIndexType(), idx);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value neg =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, idx, zero);
  idx = arith::SelectOp::create(b, loc, neg,
                                arith::AddIOp::create(b, loc, idx, size), idx);
  // Out-of-range indices are clamped rather than read out of bounds.
  Value last = arith::SubIOp::create(b, loc, size, one);
  idx = arith::MinSIOp::create(b, loc, idx, last);
  return arith::MaxSIOp::create(b, loc, idx, zero);
}

LogicalResult Importer::importGather(Node &n) {
  if (failed(requireInputs(n, 2, 2)) || failed(checkAttrs(n, {"axis"})))
    return failure();
  Tensor &data = *n.inputs[0], &indices = *n.inputs[1];
  if (!isa<IntegerType>(indices.elementType) ||
      indices.elementType.isInteger(1))
    return fail(n, "indices must be integers");
  FailureOr<int64_t> axisAttr = intAttr(n, "axis", 0);
  if (failed(axisAttr))
    return failure();
  if (data.rank() == 0)
    return fail(n, "data must have rank >= 1");
  FailureOr<int64_t> axis = normalizeAxis(n, *axisAttr, data.rank());
  if (failed(axis))
    return failure();
  // Shape arithmetic.
  if (data.elems && indices.rank() <= 1) {
    if (auto idx = constInts(indices)) {
      SmallVector<AffineExpr> elems;
      int64_t size = data.elems->size();
      bool ok = true;
      for (int64_t i : *idx) {
        if (i < 0)
          i += size;
        if (i < 0 || i >= size) {
          ok = false;
          break;
        }
        elems.push_back((*data.elems)[i]);
      }
      if (!ok)
        return fail(n, "index out of range");
      define(n, 0, fromElems(data.elementType, elems, indices.rank() == 0));
      return success();
    }
  }
  SmallVector<AffineExpr> shape;
  for (int64_t i = 0; i < *axis; ++i)
    shape.push_back(data.shape[i]);
  shape.append(indices.shape.begin(), indices.shape.end());
  for (int64_t i = *axis + 1; i < data.rank(); ++i)
    shape.push_back(data.shape[i]);
  int64_t q = indices.rank();
  Value dataV = get(data);
  Value size = materialize(data.shape[*axis]);
  SmallVector<AffineExpr> idxExprs;
  for (int64_t i = 0; i < q; ++i)
    idxExprs.push_back(getAffineDimExpr(*axis + i, context));
  AffineMap idxMap = AffineMap::get(shape.size(), 0, idxExprs, context);
  AffineMap outMap = AffineMap::getMultiDimIdentityMap(shape.size(), context);
  Value init = emptyTensor(shape, data.elementType);
  SmallVector<utils::IteratorType> iters(shape.size(),
                                         utils::IteratorType::parallel);
  int64_t ax = *axis;
  int64_t dataRank = data.rank();
  auto g = linalg::GenericOp::create(
      builder, n.loc, TypeRange{init.getType()}, ValueRange{get(indices)},
      ValueRange{init}, ArrayRef<AffineMap>{idxMap, outMap}, iters,
      [&](OpBuilder &b, Location loc, ValueRange a) {
        SmallVector<Value> pos;
        for (int64_t i = 0; i < dataRank; ++i) {
          if (i < ax)
            pos.push_back(linalg::IndexOp::create(b, loc, i));
          else if (i == ax)
            pos.push_back(normalizeIndex(b, loc, a[0], size));
          else
            pos.push_back(linalg::IndexOp::create(b, loc, i - 1 + q));
        }
        Value v = tensor::ExtractOp::create(b, loc, dataV, pos);
        linalg::YieldOp::create(b, loc, v);
      });
  define(n, 0, fromValue(g.getResult(0), shape));
  return success();
}

LogicalResult Importer::importGatherND(Node &n) {
  if (failed(requireInputs(n, 2, 2)) || failed(checkAttrs(n, {"batch_dims"})))
    return failure();
  FailureOr<int64_t> batchDims = intAttr(n, "batch_dims", 0);
  if (failed(batchDims))
    return failure();
  if (*batchDims != 0)
    return fail(n, "batch_dims other than 0 are not supported");
  Tensor &data = *n.inputs[0], &indices = *n.inputs[1];
  if (!isa<IntegerType>(indices.elementType) || indices.rank() < 1)
    return fail(n, "indices must be an integer tensor of rank >= 1");
  auto k = cv(indices.shape.back());
  if (!k || *k < 1 || *k > data.rank())
    return fail(n, "the last dimension of indices must be static and "
                   "between 1 and the rank of data");
  SmallVector<AffineExpr> shape(indices.shape.begin(), indices.shape.end() - 1);
  int64_t prefix = shape.size();
  for (int64_t i = *k; i < data.rank(); ++i)
    shape.push_back(data.shape[i]);
  Value dataV = get(data), idxV = get(indices);
  SmallVector<Value> sizes;
  for (int64_t i = 0; i < *k; ++i)
    sizes.push_back(materialize(data.shape[i]));
  Value init = emptyTensor(shape, data.elementType);
  SmallVector<utils::IteratorType> iters(shape.size(),
                                         utils::IteratorType::parallel);
  AffineMap outMap = AffineMap::getMultiDimIdentityMap(shape.size(), context);
  int64_t kk = *k, dataRank = data.rank();
  auto g = linalg::GenericOp::create(
      builder, n.loc, TypeRange{init.getType()}, ValueRange{}, ValueRange{init},
      ArrayRef<AffineMap>{outMap}, iters,
      [&](OpBuilder &b, Location loc, ValueRange) {
        SmallVector<Value> outIdx;
        for (int64_t i = 0; i < static_cast<int64_t>(shape.size()); ++i)
          outIdx.push_back(linalg::IndexOp::create(b, loc, i));
        SmallVector<Value> pos;
        for (int64_t j = 0; j < kk; ++j) {
          SmallVector<Value> ii(outIdx.begin(), outIdx.begin() + prefix);
          ii.push_back(arith::ConstantIndexOp::create(b, loc, j));
          Value raw = tensor::ExtractOp::create(b, loc, idxV, ii);
          pos.push_back(normalizeIndex(b, loc, raw, sizes[j]));
        }
        for (int64_t i = kk; i < dataRank; ++i)
          pos.push_back(outIdx[prefix + i - kk]);
        linalg::YieldOp::create(
            b, loc, tensor::ExtractOp::create(b, loc, dataV, pos).getResult());
      });
  define(n, 0, fromValue(g.getResult(0), shape));
  return success();
}

LogicalResult Importer::importRange(Node &n) {
  if (failed(requireInputs(n, 3, 3)))
    return failure();
  Tensor &start = *n.inputs[0], &limit = *n.inputs[1], &delta = *n.inputs[2];
  Type et = start.elementType;
  if (limit.elementType != et || delta.elementType != et)
    return fail(n, "inputs have different element types");
  for (Tensor *t : n.inputs)
    if (t->rank() != 0 && !(t->rank() == 1 && cv(t->shape[0]) == 1))
      return fail(n, "inputs must be scalars");
  if (isa<FloatType>(et)) {
    auto s = constFloats(start), l = constFloats(limit), d = constFloats(delta);
    if (!s || !l || !d)
      return fail(n, "floating-point ranges need constant inputs");
    if ((*d)[0] == 0)
      return fail(n, "delta must not be 0");
    int64_t count = std::max<int64_t>(
        0, static_cast<int64_t>(std::ceil(((*l)[0] - (*s)[0]) / (*d)[0])));
    SmallVector<APFloat> v;
    for (int64_t i = 0; i < count; ++i) {
      APFloat f((*s)[0] + i * (*d)[0]);
      bool lost;
      f.convert(cast<FloatType>(et).getFloatSemantics(),
                APFloat::rmNearestTiesToEven, &lost);
      v.push_back(f);
    }
    define(n, 0,
           makeConstantTensor(
               *this,
               DenseElementsAttr::get(RankedTensorType::get({count}, et), v)));
    return success();
  }
  FailureOr<SmallVector<AffineExpr>> s = elemsOf(n, start, "start");
  FailureOr<SmallVector<AffineExpr>> l = elemsOf(n, limit, "limit");
  FailureOr<SmallVector<AffineExpr>> d = elemsOf(n, delta, "delta");
  if (failed(s) || failed(l) || failed(d))
    return failure();
  auto cd = cv((*d)[0]);
  if (!cd || *cd == 0)
    return fail(n, "delta must be a non-zero constant");
  AffineExpr count = *cd > 0 ? simplify(((*l)[0] - (*s)[0]).ceilDiv(*cd))
                             : simplify(((*s)[0] - (*l)[0]).ceilDiv(-*cd));
  if (auto c = cv(count); c && *c < 0)
    count = cst(0);
  if (recognizePositions(n, (*s)[0], (*l)[0], *cd))
    return success();
  if (auto c = cv(count); c && *c <= 64) {
    SmallVector<AffineExpr> elems;
    for (int64_t i = 0; i < *c; ++i)
      elems.push_back(simplify((*s)[0] + i * *cd));
    define(n, 0, fromElems(et, elems, false));
    return success();
  }
  SmallVector<AffineExpr> shape = {count};
  Value init = emptyTensor(shape, et);
  Value startV = materialize((*s)[0]);
  AffineMap outMap = AffineMap::getMultiDimIdentityMap(1, context);
  int64_t step = *cd;
  auto g = linalg::GenericOp::create(
      builder, n.loc, TypeRange{init.getType()}, ValueRange{}, ValueRange{init},
      ArrayRef<AffineMap>{outMap},
      ArrayRef<utils::IteratorType>{utils::IteratorType::parallel},
      [&](OpBuilder &b, Location loc, ValueRange) {
        Value i = linalg::IndexOp::create(b, loc, 0);
        Value st = arith::ConstantIndexOp::create(b, loc, step);
        Value v = arith::AddIOp::create(b, loc, startV,
                                        arith::MulIOp::create(b, loc, i, st));
        linalg::YieldOp::create(
            b, loc, arith::IndexCastOp::create(b, loc, et, v).getResult());
      });
  define(n, 0, fromValue(g.getResult(0), shape));
  return success();
}

LogicalResult Importer::importTrilu(Node &n) {
  if (failed(requireInputs(n, 1, 2)) || failed(checkAttrs(n, {"upper"})))
    return failure();
  Tensor &x = *n.inputs[0];
  if (x.rank() < 2)
    return fail(n, "input must have rank >= 2");
  FailureOr<int64_t> upper = intAttr(n, "upper", 1);
  if (failed(upper))
    return failure();
  int64_t k = 0;
  if (Tensor *t = n.input(1)) {
    auto c = constInts(*t);
    if (!c || c->size() != 1)
      return fail(n, "k must be a constant scalar");
    k = (*c)[0];
  }
  int64_t r = x.rank();
  bool up = *upper != 0;
  Type et = x.elementType;
  FailureOr<Tensor> res = elementwise(
      n, {&x}, et, [&](OpBuilder &b, Location loc, ValueRange a) -> Value {
        Value i = linalg::IndexOp::create(b, loc, r - 2);
        Value j = linalg::IndexOp::create(b, loc, r - 1);
        Value diff = arith::SubIOp::create(b, loc, j, i);
        Value kv = arith::ConstantIndexOp::create(b, loc, k);
        Value keep = arith::CmpIOp::create(
            b, loc, up ? arith::CmpIPredicate::sge : arith::CmpIPredicate::sle,
            diff, kv);
        Value zero =
            isa<FloatType>(et)
                ? arith::ConstantOp::create(b, loc, b.getFloatAttr(et, 0))
                      .getResult()
                : arith::ConstantOp::create(b, loc, b.getIntegerAttr(et, 0))
                      .getResult();
        return arith::SelectOp::create(b, loc, keep, a[0], zero);
      });
  if (failed(res))
    return failure();
  define(n, 0, *res);
  return success();
}
