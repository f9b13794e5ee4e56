//===- Einsum.cpp - Building linalg.generic from index strings ------------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "ssm/Utils/Einsum.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::ssm;

Einsum::Einsum(OpBuilder &b, Location loc, StringRef loops,
               ArrayRef<OpFoldResult> sizes)
    : builder(b), loc(loc), loops(loops.str()), sizes(sizes) {}

unsigned Einsum::pos(char c) const {
  size_t p = loops.find(c);
  if (p == std::string::npos)
    llvm::report_fatal_error(llvm::Twine("Einsum: unknown loop '") +
                             std::string(1, c) + "' in '" + loops + "'");
  return static_cast<unsigned>(p);
}

AffineExpr Einsum::d(char c) const {
  return getAffineDimExpr(pos(c), builder.getContext());
}

EinInput Einsum::in(Value v, StringRef idx) const {
  EinInput input{v, {}};
  for (char c : idx)
    input.exprs.push_back(c == '0' ? getAffineConstantExpr(0, v.getContext())
                                   : d(c));
  return input;
}

EinInput Einsum::in(Value v, ArrayRef<AffineExpr> exprs) const {
  return EinInput{v, SmallVector<AffineExpr>(exprs)};
}

Value Einsum::index(OpBuilder &b, Location l, char c) const {
  return linalg::IndexOp::create(b, l, pos(c));
}

SmallVector<OpFoldResult> Einsum::sizesOf(StringRef idx) const {
  SmallVector<OpFoldResult> result;
  for (char c : idx)
    result.push_back(sizes[pos(c)]);
  return result;
}

Value Einsum::build(ArrayRef<EinInput> inputs, StringRef out, StringRef reduce,
                    EinBody body, std::optional<double> init,
                    Type elementType) {
  if (!elementType)
    elementType = builder.getF32Type();
  SmallVector<OpFoldResult> outSizes = sizesOf(out);
  Value initTensor =
      init ? filled(builder, loc, outSizes, *init, elementType)
           : tensor::EmptyOp::create(builder, loc, outSizes, elementType)
                 .getResult();
  return buildInto(inputs, out, reduce, body, initTensor);
}

Value Einsum::buildInto(ArrayRef<EinInput> inputs, StringRef out,
                        StringRef reduce, EinBody body, Value init) {
  MLIRContext *ctx = builder.getContext();
  unsigned numLoops = loops.size();
  SmallVector<AffineMap> maps;
  SmallVector<Value> ins;
  for (const EinInput &input : inputs) {
    maps.push_back(AffineMap::get(numLoops, 0, input.exprs, ctx));
    ins.push_back(input.value);
  }
  SmallVector<AffineExpr> outExprs;
  for (char c : out)
    outExprs.push_back(d(c));
  maps.push_back(AffineMap::get(numLoops, 0, outExprs, ctx));

  SmallVector<utils::IteratorType> iterators(numLoops,
                                             utils::IteratorType::parallel);
  for (char c : reduce)
    iterators[pos(c)] = utils::IteratorType::reduction;

  auto generic = linalg::GenericOp::create(
      builder, loc, TypeRange{init.getType()}, ins, ValueRange{init}, maps,
      iterators, [&](OpBuilder &b, Location l, ValueRange args) {
        Value result = body(b, l, args);
        linalg::YieldOp::create(b, l, result);
      });
  return generic.getResult(0);
}

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

OpFoldResult mlir::ssm::dimOf(OpBuilder &b, Location loc, Value tensor,
                              int64_t d) {
  auto type = cast<RankedTensorType>(tensor.getType());
  if (!type.isDynamicDim(d))
    return b.getIndexAttr(type.getDimSize(d));
  return tensor::DimOp::create(b, loc, tensor, d).getResult();
}

Value mlir::ssm::toIndex(OpBuilder &b, Location loc, OpFoldResult ofr) {
  return getValueOrCreateConstantIndexOp(b, loc, ofr);
}

Value mlir::ssm::filled(OpBuilder &b, Location loc,
                        ArrayRef<OpFoldResult> sizes, double value,
                        Type elementType) {
  if (!elementType)
    elementType = b.getF32Type();
  Value empty = tensor::EmptyOp::create(b, loc, sizes, elementType);
  Value cst = arith::ConstantOp::create(b, loc, elementType,
                                        b.getFloatAttr(elementType, value));
  return linalg::FillOp::create(b, loc, ValueRange{cst}, ValueRange{empty})
      .getResult(0);
}

static Value castElements(OpBuilder &b, Location loc, Value tensor,
                          Type target) {
  auto type = cast<RankedTensorType>(tensor.getType());
  Type source = type.getElementType();
  if (source == target)
    return tensor;
  int64_t rank = type.getRank();
  SmallVector<OpFoldResult> sizes;
  for (int64_t i = 0; i < rank; ++i)
    sizes.push_back(dimOf(b, loc, tensor, i));
  Value empty = tensor::EmptyOp::create(b, loc, sizes, target);
  AffineMap id = b.getMultiDimIdentityMap(rank);
  SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
  bool widen = source.getIntOrFloatBitWidth() < target.getIntOrFloatBitWidth();
  return linalg::GenericOp::create(
             b, loc, TypeRange{empty.getType()}, ValueRange{tensor},
             ValueRange{empty}, ArrayRef<AffineMap>{id, id}, iters,
             [&](OpBuilder &nb, Location l, ValueRange args) {
               Value v = widen ? arith::ExtFOp::create(nb, l, target, args[0])
                                     .getResult()
                               : arith::TruncFOp::create(nb, l, target, args[0])
                                     .getResult();
               linalg::YieldOp::create(nb, l, v);
             })
      .getResult(0);
}

Value mlir::ssm::castToF32(OpBuilder &b, Location loc, Value tensor) {
  return castElements(b, loc, tensor, b.getF32Type());
}

Value mlir::ssm::castFromF32(OpBuilder &b, Location loc, Value tensor,
                             Type elementType) {
  return castElements(b, loc, tensor, elementType);
}

Value mlir::ssm::sliceAlong(OpBuilder &b, Location loc, Value tensor,
                            int64_t dim, OpFoldResult offset,
                            OpFoldResult size) {
  auto type = cast<RankedTensorType>(tensor.getType());
  SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
  SmallVector<OpFoldResult> sizes, strides(type.getRank(), b.getIndexAttr(1));
  for (int64_t i = 0; i < type.getRank(); ++i)
    sizes.push_back(dimOf(b, loc, tensor, i));
  offsets[dim] = offset;
  sizes[dim] = size;
  // tensor.extract_slice rejects any offset into a zero-size dimension; such
  // a slice holds no data.
  if (llvm::is_contained(type.getShape(), 0))
    return tensor::EmptyOp::create(b, loc, sizes, type.getElementType());
  return tensor::ExtractSliceOp::create(b, loc, tensor, offsets, sizes,
                                        strides);
}

Value mlir::ssm::insertAlong(OpBuilder &b, Location loc, Value part, Value into,
                             int64_t dim, OpFoldResult offset) {
  auto type = cast<RankedTensorType>(part.getType());
  SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
  SmallVector<OpFoldResult> sizes, strides(type.getRank(), b.getIndexAttr(1));
  for (int64_t i = 0; i < type.getRank(); ++i)
    sizes.push_back(dimOf(b, loc, part, i));
  offsets[dim] = offset;
  if (llvm::is_contained(type.getShape(), 0))
    return into; // Nothing to insert.
  return tensor::InsertSliceOp::create(b, loc, part, into, offsets, sizes,
                                       strides);
}

Value mlir::ssm::dropUnitDim(OpBuilder &b, Location loc, Value tensor,
                             int64_t dim) {
  auto type = cast<RankedTensorType>(tensor.getType());
  int64_t rank = type.getRank();
  SmallVector<ReassociationIndices> groups;
  if (rank == 1)
    return tensor::CollapseShapeOp::create(b, loc, tensor, groups);
  for (int64_t i = 0; i < rank; ++i) {
    if (i == dim)
      continue;
    groups.push_back({i});
  }
  // Attach the unit dimension to a neighbour group.
  if (dim < rank - 1)
    groups[dim].insert(groups[dim].begin(), dim);
  else
    groups.back().push_back(dim);
  return tensor::CollapseShapeOp::create(b, loc, tensor, groups);
}

Value mlir::ssm::cstF32(OpBuilder &b, Location loc, double v) {
  return arith::ConstantOp::create(b, loc, b.getF32Type(),
                                   b.getF32FloatAttr(static_cast<float>(v)));
}

Value mlir::ssm::softplus(OpBuilder &b, Location loc, Value u) {
  Value big = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, u,
                                    cstF32(b, loc, 20.0));
  Value soft = math::Log1pOp::create(b, loc, math::ExpOp::create(b, loc, u));
  return arith::SelectOp::create(b, loc, big, u, soft);
}

Value mlir::ssm::silu(OpBuilder &b, Location loc, Value u) {
  Value neg = arith::NegFOp::create(b, loc, u);
  Value den = arith::AddFOp::create(b, loc, cstF32(b, loc, 1.0),
                                    math::ExpOp::create(b, loc, neg));
  return arith::DivFOp::create(b, loc, u, den);
}

Value mlir::ssm::clampedExp(OpBuilder &b, Location loc, Value u) {
  Value m = arith::MinimumFOp::create(b, loc, u, cstF32(b, loc, 0.0));
  return math::ExpOp::create(b, loc, m);
}

Value mlir::ssm::castToTensorType(OpBuilder &b, Location loc, Value tensor,
                                  Type type) {
  auto target = cast<RankedTensorType>(type);
  Value v = castFromF32(b, loc, tensor, target.getElementType());
  if (v.getType() != target)
    v = tensor::CastOp::create(b, loc, target, v);
  return v;
}

void mlir::ssm::replaceWithCastResults(OpBuilder &b, Operation *op,
                                       ValueRange values) {
  SmallVector<Value> replacements;
  for (auto [value, result] : llvm::zip(values, op->getResults()))
    replacements.push_back(
        castToTensorType(b, op->getLoc(), value, result.getType()));
  op->replaceAllUsesWith(replacements);
  op->erase();
}

RotaryIndex mlir::ssm::rotaryIndex(OpBuilder &b, Location loc, Value n,
                                   int64_t angles, bool interleaved,
                                   int64_t halvesOffset) {
  auto idx = [&](int64_t v) {
    return arith::ConstantIndexOp::create(b, loc, v).getResult();
  };
  auto cmp = [&](arith::CmpIPredicate p, Value x, Value y) {
    return arith::CmpIOp::create(b, loc, p, x, y).getResult();
  };
  RotaryIndex r;
  Value angle, partner;
  if (interleaved) {
    r.inPair = cmp(arith::CmpIPredicate::ult, n, idx(2 * angles));
    Value bit = arith::AndIOp::create(b, loc, n, idx(1));
    r.first = cmp(arith::CmpIPredicate::eq, bit, idx(0));
    angle = arith::DivUIOp::create(b, loc, n, idx(2));
    partner = arith::XOrIOp::create(b, loc, n, idx(1));
  } else {
    // First of a pair: n < angles; second: offset <= n < offset + angles.
    r.first = cmp(arith::CmpIPredicate::ult, n, idx(angles));
    Value back = arith::SubIOp::create(b, loc, n, idx(halvesOffset));
    Value second = arith::AndIOp::create(
        b, loc, cmp(arith::CmpIPredicate::uge, n, idx(halvesOffset)),
        cmp(arith::CmpIPredicate::ult, back, idx(angles)));
    r.inPair = arith::OrIOp::create(b, loc, r.first, second);
    angle = arith::SelectOp::create(b, loc, r.first, n, back);
    partner = arith::SelectOp::create(
        b, loc, r.first, arith::AddIOp::create(b, loc, n, idx(halvesOffset)),
        back);
  }
  r.angle = arith::SelectOp::create(b, loc, r.inPair, angle, idx(0));
  r.partner = arith::SelectOp::create(b, loc, r.inPair, partner, n);
  return r;
}

Value mlir::ssm::rotaryCombine(OpBuilder &b, Location loc,
                               const RotaryIndex &ri, Value self, Value partner,
                               Value cos, Value sin) {
  Value sign = arith::SelectOp::create(b, loc, ri.first, cstF32(b, loc, -1.0),
                                       cstF32(b, loc, 1.0));
  Value rot = arith::AddFOp::create(
      b, loc, arith::MulFOp::create(b, loc, self, cos),
      arith::MulFOp::create(b, loc, sign,
                            arith::MulFOp::create(b, loc, partner, sin)));
  return arith::SelectOp::create(b, loc, ri.inPair, rot, self);
}
