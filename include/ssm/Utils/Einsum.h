//===- Einsum.h - Building linalg.generic from index strings ----*- C++ -*-===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// The mixer lowerings are sequences of small contractions and elementwise
// steps over named loops ("bhijn"). Einsum builds one linalg.generic per step
// from index strings, so that each step reads like its equation.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_UTILS_EINSUM_H
#define SSM_UTILS_EINSUM_H

#include "mlir/IR/AffineExpr.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/OpDefinition.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"

#include <optional>

namespace mlir::ssm {

/// An input of a generic step: a tensor and the loop expression of each of
/// its dimensions.
struct EinInput {
  Value value;
  SmallVector<AffineExpr> exprs;
};

/// The body of a step: the scalar block arguments (inputs, then the output
/// accumulator) in, the value to yield out.
using EinBody =
    llvm::function_ref<Value(OpBuilder &, Location, ValueRange args)>;

class Einsum {
public:
  /// `loops` names each loop with one character; `sizes` gives its extent.
  Einsum(OpBuilder &b, Location loc, StringRef loops,
         ArrayRef<OpFoldResult> sizes);

  /// The affine expression of loop `c`.
  AffineExpr d(char c) const;
  /// An input indexed by loop names; '0' is a constant 0 index (a broadcast
  /// dimension of size 1).
  EinInput in(Value v, StringRef idx) const;
  /// An input with explicit loop expressions (e.g. a group index h / k).
  EinInput in(Value v, ArrayRef<AffineExpr> exprs) const;

  /// Builds the generic: output indexed by `out`, loops in `reduce` are
  /// reductions, the output starts at `init` (tensor.empty where no init is
  /// given, allowed only without reductions). Returns the result tensor.
  Value build(ArrayRef<EinInput> inputs, StringRef out, StringRef reduce,
              EinBody body, std::optional<double> init = std::nullopt,
              Type elementType = {});

  /// Same, with the output starting from the tensor `init` (indexed by `out`).
  Value buildInto(ArrayRef<EinInput> inputs, StringRef out, StringRef reduce,
                  EinBody body, Value init);

  /// The sizes of the loops named in `idx`.
  SmallVector<OpFoldResult> sizesOf(StringRef idx) const;

  /// Inside a body: the current value of loop `c` (linalg.index).
  Value index(OpBuilder &b, Location loc, char c) const;

private:
  unsigned pos(char c) const;
  OpBuilder &builder;
  Location loc;
  std::string loops;
  SmallVector<OpFoldResult> sizes;
};

//===----------------------------------------------------------------------===//
// Tensor and scalar helpers shared by the lowerings.
//===----------------------------------------------------------------------===//

/// Size of dimension `d` of a ranked tensor: an attribute when static.
OpFoldResult dimOf(OpBuilder &b, Location loc, Value tensor, int64_t d);
/// An index value for an OpFoldResult.
Value toIndex(OpBuilder &b, Location loc, OpFoldResult ofr);
/// A tensor of the given sizes filled with `value`.
Value filled(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes,
             double value, Type elementType = {});
/// Converts a float tensor to f32 (no-op if it is f32 already).
Value castToF32(OpBuilder &b, Location loc, Value tensor);
/// Converts an f32 tensor to `elementType` (no-op if equal).
Value castFromF32(OpBuilder &b, Location loc, Value tensor, Type elementType);
/// tensor[..., offset : offset + size, ...] along `dim`, keeping the rank.
Value sliceAlong(OpBuilder &b, Location loc, Value tensor, int64_t dim,
                 OpFoldResult offset, OpFoldResult size);
/// Inserts `part` into `into` at `offset` along `dim`.
Value insertAlong(OpBuilder &b, Location loc, Value part, Value into,
                  int64_t dim, OpFoldResult offset);
/// Drops the unit dimension `dim` (tensor.collapse_shape).
Value dropUnitDim(OpBuilder &b, Location loc, Value tensor, int64_t dim);

/// Converts an f32 tensor to `type` (element cast, then tensor.cast for
/// static/dynamic differences).
Value castToTensorType(OpBuilder &b, Location loc, Value tensor, Type type);

/// Replaces `op` by `values` (f32 results of a lowering), each cast to the
/// type of the result it replaces, and erases `op`.
void replaceWithCastResults(OpBuilder &b, Operation *op, ValueRange values);

/// Index arithmetic of rotary embedding for feature `n` (an index value):
/// whether it is rotated, whether it is the first of its pair (rotated by
/// -sin), its angle index and its partner feature. Pairs are (2i, 2i+1) when
/// `interleaved`, else (i, i + halvesOffset) for i < angles. Out of the
/// rotated range the angle is 0 and the partner is `n` itself, so reads stay
/// in bounds.
struct RotaryIndex {
  Value inPair, first, angle, partner;
};
RotaryIndex rotaryIndex(OpBuilder &b, Location loc, Value n, int64_t angles,
                        bool interleaved, int64_t halvesOffset);
/// x_n cos(phi) -/+ x_partner sin(phi), or x_n out of the rotated range.
Value rotaryCombine(OpBuilder &b, Location loc, const RotaryIndex &ri,
                    Value self, Value partner, Value cos, Value sin);

/// Scalar f32 helpers used inside generic bodies.
Value cstF32(OpBuilder &b, Location loc, double v);
Value softplus(OpBuilder &b, Location loc,
               Value u);                         // u > 20 ? u : log1p(exp(u))
Value silu(OpBuilder &b, Location loc, Value u); // u * sigmoid(u)
Value clampedExp(OpBuilder &b, Location loc, Value u); // exp(min(u, 0))

} // namespace mlir::ssm

#endif // SSM_UTILS_EINSUM_H
