//===- SSMOps.cpp - SSM dialect operations and verifiers ------------------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Verifiers are the only guard against invalid IR in a build without
// assertions: every shape relation the lowerings rely on is checked here, and
// every message names the operand (or result), the dimension and its meaning.
//
//===----------------------------------------------------------------------===//

#include "ssm/Dialect/SSM/IR/SSMOps.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/StringMap.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::ssm;

namespace {

/// Binds named dimensions ("batch", "heads", ...) across the operands and
/// results of one op and reports the first inconsistency.
class ShapeChecker {
public:
  explicit ShapeChecker(Operation *op) : op(op) {}

  /// Checks that `v` (absent optional operands are skipped) has one
  /// dimension per name in `dims`, binding each name. `what` reads
  /// "operand 'x'" or "result 'y'".
  LogicalResult check(Value v, StringRef what, ArrayRef<StringRef> dims) {
    if (!v)
      return success();
    auto type = cast<ShapedType>(v.getType());
    if (type.getRank() != static_cast<int64_t>(dims.size())) {
      auto diag = op->emitOpError()
                  << what << " must have rank " << dims.size() << " (";
      llvm::interleaveComma(dims, diag);
      return diag << "), got rank " << type.getRank();
    }
    for (auto [i, name] : llvm::enumerate(dims))
      if (failed(checkDim(v, what, i, name)))
        return failure();
    return success();
  }

  /// Binds dimension `i` of `v` to `name`.
  LogicalResult checkDim(Value v, StringRef what, unsigned i, StringRef name) {
    int64_t size = cast<ShapedType>(v.getType()).getDimSize(i);
    if (ShapedType::isDynamic(size)) {
      if (!isDynamicAllowed(name))
        return op->emitOpError()
               << what << " dim " << i << " (" << name << ") must be static";
      return success();
    }
    auto it = bound.find(name);
    if (it == bound.end()) {
      bound[name] = {size, (what + " dim " + Twine(i)).str()};
      return success();
    }
    if (it->second.size != size)
      return op->emitOpError()
             << what << " dim " << i << " (" << name << ") is " << size
             << ", but " << it->second.where << " (" << name << ") is "
             << it->second.size;
    return success();
  }

  /// Static size bound to `name`, if any.
  std::optional<int64_t> get(StringRef name) const {
    auto it = bound.find(name);
    if (it == bound.end())
      return std::nullopt;
    return it->second.size;
  }
  std::string where(StringRef name) const {
    auto it = bound.find(name);
    return it == bound.end() ? std::string() : it->second.where;
  }

  /// The size bound to `name` (statically) must be at least 1.
  LogicalResult positive(StringRef name) {
    std::optional<int64_t> size = get(name);
    if (!size || *size >= 1)
      return success();
    return op->emitOpError()
           << where(name) << " (" << name << ") must be at least 1";
  }

  /// `divisor` must divide `dividend` (both bound statically), and the
  /// dividend (a number of heads) must not be 0.
  LogicalResult divides(StringRef divisor, StringRef dividend) {
    if (failed(positive(dividend)))
      return failure();
    auto a = get(divisor), b = get(dividend);
    if (!a || !b)
      return success();
    if (*a > 0 && *b % *a == 0)
      return success();
    return op->emitOpError()
           << where(divisor) << " (" << divisor << ") is " << *a
           << ", which does not divide " << where(dividend) << " (" << dividend
           << "), " << *b;
  }

private:
  static bool isDynamicAllowed(StringRef name) {
    return name == "batch" || name == "seq" || name == "kv_seq";
  }
  struct Bound {
    int64_t size;
    std::string where;
  };
  Operation *op;
  llvm::StringMap<Bound> bound;
};

Type elementTypeOf(Value v) {
  return cast<RankedTensorType>(v.getType()).getElementType();
}

/// The result `r` must have the element type of operand `v`.
LogicalResult sameElementType(Operation *op, Value r, StringRef rName, Value v,
                              StringRef vName) {
  if (!r || !v || elementTypeOf(r) == elementTypeOf(v))
    return success();
  return op->emitOpError() << rName << " element type " << elementTypeOf(r)
                           << " must equal " << vName << " element type "
                           << elementTypeOf(v);
}

/// An optional operand that is only meaningful with another one.
LogicalResult requireOperand(Operation *op, Value v, StringRef vName,
                             Value other, StringRef otherName) {
  if (v && !other)
    return op->emitOpError() << "operand '" << vName << "' requires operand '"
                             << otherName << "'";
  return success();
}

LogicalResult checkPositiveFinite(Operation *op, StringRef name,
                                  std::optional<APFloat> value) {
  if (!value)
    return success();
  double d = value->convertToDouble();
  if (std::isfinite(d) && d > 0)
    return success();
  return op->emitOpError() << "attribute '" << name
                           << "' must be finite and positive, got " << d;
}

/// `D` is (heads) or (heads, head_dim).
LogicalResult checkSkip(Operation *op, ShapeChecker &shapes, Value d) {
  if (!d)
    return success();
  int64_t rank = cast<RankedTensorType>(d.getType()).getRank();
  if (rank == 1)
    return shapes.check(d, "operand 'D'", {"heads"});
  if (rank == 2)
    return shapes.check(d, "operand 'D'", {"heads", "head_dim"});
  return op->emitOpError()
         << "operand 'D' must have rank 1 (heads) or 2 (heads, head_dim), "
            "got rank "
         << rank;
}

} // namespace

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

/// The additive mask of attention: (batch or 1, heads or 1, seq, kv_seq).
static LogicalResult verifyAttentionMask(Operation *op, ShapeChecker &s,
                                         Value mask) {
  if (!mask)
    return success();
  auto type = cast<ShapedType>(mask.getType());
  if (type.getRank() != 4)
    return op->emitOpError() << "operand 'mask' must have rank 4 (batch or 1, "
                                "heads or 1, seq, kv_seq), got rank "
                             << type.getRank();
  if (type.isDynamicDim(1))
    return op->emitOpError() << "operand 'mask' dim 1 (heads or 1) must be "
                                "static";
  const char *names[2] = {"batch", "heads"};
  for (int i = 0; i < 2; ++i) {
    int64_t size = type.getDimSize(i);
    std::optional<int64_t> full = s.get(names[i]);
    if (ShapedType::isDynamic(size) || size == 1 || !full || size == *full)
      continue;
    return op->emitOpError()
           << "operand 'mask' dim " << i << " is " << size
           << ", but must be 1 or " << names[i] << " (" << *full << ")";
  }
  return failure(failed(s.checkDim(mask, "operand 'mask'", 2, "seq")) ||
                 failed(s.checkDim(mask, "operand 'mask'", 3, "kv_seq")));
}

/// The window of attention, if set, is at least 1.
static LogicalResult verifyAttentionWindow(Operation *op,
                                           std::optional<uint64_t> window) {
  if (window && static_cast<int64_t>(*window) <= 0)
    return op->emitOpError() << "attribute 'window' must be positive, got "
                             << static_cast<int64_t>(*window);
  return success();
}

/// What ssm.attention and ssm.fused_attention share: the shapes of the
/// operands and of the output (`out`, named `outName`), the mask, the scale,
/// softcap and window.
static LogicalResult verifyAttention(Operation *op, ShapeChecker &s, Value q,
                                     Value k, Value v, Value mask, Value out,
                                     StringRef outName,
                                     std::optional<APFloat> scale,
                                     std::optional<APFloat> softcap,
                                     std::optional<uint64_t> window) {
  if (failed(s.check(q, "operand 'query'",
                     {"batch", "seq", "heads", "head_dim"})) ||
      failed(s.check(k, "operand 'key'",
                     {"batch", "kv_seq", "kv_heads", "head_dim"})) ||
      failed(s.check(v, "operand 'value'",
                     {"batch", "kv_seq", "kv_heads", "value_dim"})) ||
      failed(s.check(out, outName, {"batch", "seq", "heads", "value_dim"})) ||
      failed(s.divides("kv_heads", "heads")) ||
      failed(s.positive("head_dim")) ||
      failed(verifyAttentionMask(op, s, mask)) ||
      failed(checkPositiveFinite(op, "scale", scale)) ||
      failed(checkPositiveFinite(op, "softcap", softcap)))
    return failure();
  return verifyAttentionWindow(op, window);
}

LogicalResult AttentionOp::verify() {
  Operation *op = getOperation();
  ShapeChecker s(op);
  if (failed(verifyAttention(op, s, getQuery(), getKey(), getValue(), getMask(),
                             getResult(), "result", getScale(), getSoftcap(),
                             getWindow())))
    return failure();
  return sameElementType(op, getResult(), "result", getQuery(),
                         "operand 'query'");
}

//===----------------------------------------------------------------------===//
// FusedAttentionOp
//===----------------------------------------------------------------------===//

LogicalResult FusedAttentionOp::verify() {
  Operation *op = getOperation();
  bool onTensors = isa<RankedTensorType>(getInit().getType());
  for (OpOperand &operand : op->getOpOperands())
    if (isa<RankedTensorType>(operand.get().getType()) != onTensors)
      return emitOpError() << "operands must be all tensors or all memrefs; "
                              "operand "
                           << operand.getOperandNumber() << " is "
                           << operand.get().getType() << " but 'init' is "
                           << getInit().getType();
  if (getResult().size() != (onTensors ? 1u : 0u))
    return emitOpError() << "must have "
                         << (onTensors ? "one result"
                                       : "no "
                                         "result")
                         << " on " << (onTensors ? "tensors" : "memrefs")
                         << ", got " << getResult().size();
  if (onTensors && getResult()[0].getType() != getInit().getType())
    return emitOpError() << "result type " << getResult()[0].getType()
                         << " must equal operand 'init' type "
                         << getInit().getType();
  ShapeChecker s(op);
  if (failed(verifyAttention(op, s, getQuery(), getKey(), getValue(), getMask(),
                             getInit(), "operand 'init'", getScale(),
                             getSoftcap(), getWindow())))
    return failure();
  return s.positive("value_dim");
}

/// The memory effects of a fused kernel op in destination-passing style on
/// buffers: its inputs read, its inits written.
static void fusedKernelEffects(
    DestinationStyleOpInterface op,
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  for (OpOperand &operand : op->getOpOperands()) {
    if (!isa<MemRefType>(operand.get().getType()))
      continue;
    if (op.isDpsInit(&operand))
      effects.emplace_back(MemoryEffects::Write::get(), &operand,
                           SideEffects::DefaultResource::get());
    else
      effects.emplace_back(MemoryEffects::Read::get(), &operand,
                           SideEffects::DefaultResource::get());
  }
}

/// Bufferizes a fused kernel op on tensors: the same op, with the same
/// attributes, on the operands' buffers and without results, which are
/// replaced by the inits' buffers.
template <typename OpT>
static LogicalResult
bufferizeFusedKernel(OpT op, RewriterBase &rewriter,
                     const bufferization::BufferizationOptions &options,
                     bufferization::BufferizationState &state) {
  if (op.getResult().empty())
    return success();
  SmallVector<Value> buffers;
  for (OpOperand &operand : op->getOpOperands()) {
    FailureOr<Value> buffer =
        bufferization::getBuffer(rewriter, operand.get(), options, state);
    if (failed(buffer))
      return failure();
    buffers.push_back(*buffer);
  }
  rewriter.setInsertionPoint(op);
  OpT::create(rewriter, op.getLoc(), TypeRange(), buffers, op->getAttrs());
  bufferization::replaceOpWithBufferizedValues(
      rewriter, op, ArrayRef(buffers).take_back(op.getNumDpsInits()));
  return success();
}

void FusedAttentionOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  fusedKernelEffects(*this, effects);
}

// The inputs are read; `init` is only written (its old content is not
// used, so one-shot bufferization needs no copy of it).
bool FusedAttentionOp::bufferizesToMemoryRead(
    OpOperand &operand, const bufferization::AnalysisState &) {
  return !isDpsInit(&operand);
}

bool FusedAttentionOp::bufferizesToMemoryWrite(
    OpOperand &operand, const bufferization::AnalysisState &) {
  return isDpsInit(&operand);
}

bufferization::AliasingValueList
FusedAttentionOp::getAliasingValues(OpOperand &operand,
                                    const bufferization::AnalysisState &) {
  if (!isDpsInit(&operand) || getResult().empty())
    return {};
  return {{getResult()[0], bufferization::BufferRelation::Equivalent}};
}

LogicalResult
FusedAttentionOp::bufferize(RewriterBase &rewriter,
                            const bufferization::BufferizationOptions &options,
                            bufferization::BufferizationState &state) {
  return bufferizeFusedKernel(*this, rewriter, options, state);
}

//===----------------------------------------------------------------------===//
// FusedSSDOp
//===----------------------------------------------------------------------===//

LogicalResult FusedSSDOp::verify() {
  Operation *op = getOperation();
  bool onTensors = isa<RankedTensorType>(getYInit().getType());
  for (OpOperand &operand : op->getOpOperands())
    if (isa<RankedTensorType>(operand.get().getType()) != onTensors)
      return emitOpError() << "operands must be all tensors or all memrefs; "
                              "operand "
                           << operand.getOperandNumber() << " is "
                           << operand.get().getType() << " but 'y_init' is "
                           << getYInit().getType();
  if (getResult().size() != (onTensors ? 2u : 0u))
    return emitOpError() << "must have "
                         << (onTensors ? "two results" : "no result") << " on "
                         << (onTensors ? "tensors" : "memrefs") << ", got "
                         << getResult().size();
  if (onTensors && (getResult()[0].getType() != getYInit().getType() ||
                    getResult()[1].getType() != getStateInit().getType()))
    return emitOpError() << "result types must equal the types of operands "
                            "'y_init' and 'state_init'";
  StringRef blh[] = {"batch", "seq", "heads"};
  StringRef blhp[] = {"batch", "seq", "heads", "head_dim"};
  StringRef blgn[] = {"batch", "seq", "groups", "state"};
  StringRef bhpn[] = {"batch", "heads", "head_dim", "state"};
  ShapeChecker s(op);
  if (failed(s.check(getX(), "operand 'x'", blhp)) ||
      failed(s.check(getLogDecay(), "operand 'log_decay'", blh)) ||
      failed(s.check(getScale(), "operand 'scale'", blh)) ||
      failed(s.check(getB(), "operand 'B'", blgn)) ||
      failed(s.check(getC(), "operand 'C'", blgn)) ||
      failed(s.check(getGate(), "operand 'gate'", blhp)) ||
      failed(s.check(getInitialState(), "operand 'initial_state'", bhpn)) ||
      failed(s.check(getYInit(), "operand 'y_init'", blhp)) ||
      failed(s.check(getStateInit(), "operand 'state_init'", bhpn)))
    return failure();
  if (Value d = getD()) {
    int64_t rank = cast<ShapedType>(d.getType()).getRank();
    if (rank != 1 && rank != 2)
      return emitOpError() << "operand 'D' must have rank 1 (heads) or 2 "
                              "(heads, head_dim), got rank "
                           << rank;
    if (failed(rank == 1 ? s.check(d, "operand 'D'", {"heads"})
                         : s.check(d, "operand 'D'", {"heads", "head_dim"})))
      return failure();
  }
  if (failed(s.positive("groups")) || failed(s.positive("head_dim")) ||
      failed(s.positive("state")))
    return failure();
  return s.divides("groups", "heads");
}

void FusedSSDOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  fusedKernelEffects(*this, effects);
}

// The inputs are read; the inits are only written.
bool FusedSSDOp::bufferizesToMemoryRead(OpOperand &operand,
                                        const bufferization::AnalysisState &) {
  return !isDpsInit(&operand);
}

bool FusedSSDOp::bufferizesToMemoryWrite(OpOperand &operand,
                                         const bufferization::AnalysisState &) {
  return isDpsInit(&operand);
}

bufferization::AliasingValueList
FusedSSDOp::getAliasingValues(OpOperand &operand,
                              const bufferization::AnalysisState &) {
  if (!isDpsInit(&operand) || getResult().empty())
    return {};
  unsigned i = operand.getOperandNumber() - (getNumOperands() - 2);
  return {{getResult()[i], bufferization::BufferRelation::Equivalent}};
}

LogicalResult
FusedSSDOp::bufferize(RewriterBase &rewriter,
                      const bufferization::BufferizationOptions &options,
                      bufferization::BufferizationState &state) {
  return bufferizeFusedKernel(*this, rewriter, options, state);
}

//===----------------------------------------------------------------------===//
// SSDOp and DiscreteSSDOp
//===----------------------------------------------------------------------===//

/// Shapes shared by the scalar-decay family.
static LogicalResult verifyScalarDecayShapes(Operation *op, ShapeChecker &s,
                                             Value x, Value b, Value c, Value z,
                                             Value init, Value y,
                                             Value finalState) {
  if (failed(
          s.check(x, "operand 'x'", {"batch", "seq", "heads", "head_dim"})) ||
      failed(s.check(b, "operand 'B'", {"batch", "seq", "groups", "state"})) ||
      failed(s.check(c, "operand 'C'", {"batch", "seq", "groups", "state"})) ||
      failed(
          s.check(z, "operand 'z'", {"batch", "seq", "heads", "head_dim"})) ||
      failed(s.check(init, "operand 'initial_state'",
                     {"batch", "heads", "head_dim", "state"})) ||
      failed(s.check(y, "result 'y'", {"batch", "seq", "heads", "head_dim"})) ||
      failed(s.check(finalState, "result 'final_state'",
                     {"batch", "heads", "head_dim", "state"})) ||
      failed(s.divides("groups", "heads")))
    return failure();
  return sameElementType(op, y, "result 'y'", x, "operand 'x'");
}

LogicalResult SSDOp::verify() {
  Operation *op = getOperation();
  ShapeChecker s(op);
  if (failed(s.check(getX(), "operand 'x'",
                     {"batch", "seq", "heads", "head_dim"})) ||
      failed(s.check(getDt(), "operand 'dt'", {"batch", "seq", "heads"})) ||
      failed(s.check(getA(), "operand 'A'", {"heads"})) ||
      failed(s.check(getDtBias(), "operand 'dt_bias'", {"heads"})) ||
      failed(checkSkip(op, s, getD())) ||
      failed(verifyScalarDecayShapes(op, s, getX(), getB(), getC(), getZ(),
                                     getInitialState(), getY(),
                                     getFinalState())))
    return failure();
  if (std::optional<ArrayRef<float>> limit = getDtLimit()) {
    if (limit->size() != 2 || !std::isfinite((*limit)[0]) ||
        !std::isfinite((*limit)[1]) || (*limit)[0] > (*limit)[1])
      return emitOpError() << "attribute 'dt_limit' must hold two finite "
                              "values lo <= hi";
  }
  return success();
}

LogicalResult DiscreteSSDOp::verify() {
  Operation *op = getOperation();
  ShapeChecker s(op);
  if (failed(s.check(getX(), "operand 'x'",
                     {"batch", "seq", "heads", "head_dim"})) ||
      failed(
          s.check(getALog(), "operand 'A_log'", {"batch", "seq", "heads"})) ||
      failed(s.check(getZBias(), "operand 'z_bias'", {"heads", "head_dim"})) ||
      failed(requireOperand(op, getZBias(), "z_bias", getZ(), "z")) ||
      failed(checkSkip(op, s, getD())))
    return failure();
  return verifyScalarDecayShapes(op, s, getX(), getB(), getC(), getZ(),
                                 getInitialState(), getY(), getFinalState());
}

//===----------------------------------------------------------------------===//
// Mamba3Op
//===----------------------------------------------------------------------===//

LogicalResult Mamba3Op::verify() {
  Operation *op = getOperation();
  ShapeChecker s(op);
  StringRef bsh[] = {"batch", "seq", "heads"};
  StringRef bshp[] = {"batch", "seq", "heads", "head_dim"};
  StringRef bsrgn[] = {"batch", "seq", "rank", "groups", "state"};
  StringRef hrp[] = {"heads", "rank", "head_dim"};
  if (failed(s.check(getX(), "operand 'x'", bshp)) ||
      failed(s.check(getDt(), "operand 'dt'", bsh)) ||
      failed(s.check(getA(), "operand 'A'", bsh)) ||
      failed(s.check(getLam(), "operand 'lam'", bsh)) ||
      failed(s.check(getTheta(), "operand 'theta'",
                     {"batch", "seq", "heads", "angles"})) ||
      failed(s.check(getB(), "operand 'B'", bsrgn)) ||
      failed(s.check(getC(), "operand 'C'", bsrgn)) ||
      failed(s.check(getD(), "operand 'D'", {"heads"})) ||
      failed(s.check(getZ(), "operand 'z'", bshp)) ||
      failed(s.check(getWx(), "operand 'Wx'", hrp)) ||
      failed(s.check(getWz(), "operand 'Wz'", hrp)) ||
      failed(s.check(getWo(), "operand 'Wo'", hrp)) ||
      failed(requireOperand(op, getWz(), "Wz", getZ(), "z")) ||
      failed(s.check(getInitialState(), "operand 'initial_state'",
                     {"batch", "heads", "head_dim", "state"})) ||
      failed(s.check(getInitialAngle(), "operand 'initial_angle'",
                     {"batch", "heads", "angles"})) ||
      failed(s.check(getInitialK(), "operand 'initial_k'",
                     {"batch", "rank", "heads", "state"})) ||
      failed(s.check(getInitialX(), "operand 'initial_x'",
                     {"batch", "heads", "head_dim"})) ||
      failed(s.check(getY(), "result 'y'", bshp)) ||
      failed(s.check(getFinalState(), "result 'final_state'",
                     {"batch", "heads", "head_dim", "state"})) ||
      failed(s.check(getFinalAngle(), "result 'final_angle'",
                     {"batch", "heads", "angles"})) ||
      failed(s.check(getFinalK(), "result 'final_k'",
                     {"batch", "rank", "heads", "state"})) ||
      failed(s.check(getFinalX(), "result 'final_x'",
                     {"batch", "heads", "head_dim"})) ||
      failed(s.divides("groups", "heads")))
    return failure();
  int64_t angles = *s.get("angles"), state = *s.get("state");
  if (angles > state / 2) // 2 * angles could overflow
    return emitOpError() << "operand 'theta' dim 3 (angles) is " << angles
                         << ", but twice the angles must not exceed operand "
                            "'B' dim 4 (state), "
                         << state;
  if (*s.get("rank") < 1)
    return emitOpError() << "operand 'B' dim 2 (rank) must be at least 1";
  // The mixing matrix is (seq * rank) square: its size must fit in int64.
  if (std::optional<int64_t> seq = s.get("seq");
      seq && *seq > std::numeric_limits<int64_t>::max() / *s.get("rank"))
    return emitOpError() << s.where("seq") << " (seq) is " << *seq
                         << ": seq * rank overflows";
  // Any per-token operand may carry the static sequence length.
  if (s.get("seq") == 0)
    return emitOpError() << s.where("seq")
                         << " (seq) must be at least 1: the final state needs "
                            "a last token";
  return sameElementType(op, getY(), "result 'y'", getX(), "operand 'x'");
}

//===----------------------------------------------------------------------===//
// LinearAttentionOp
//===----------------------------------------------------------------------===//

LogicalResult LinearAttentionOp::verify() {
  Operation *op = getOperation();
  ShapeChecker s(op);
  if (failed(s.check(getQuery(), "operand 'query'",
                     {"batch", "seq", "heads", "head_dim"})) ||
      failed(s.check(getKey(), "operand 'key'",
                     {"batch", "seq", "kv_heads", "head_dim"})) ||
      failed(s.check(getValue(), "operand 'value'",
                     {"batch", "seq", "kv_heads", "value_dim"})) ||
      failed(
          s.check(getBeta(), "operand 'beta'", {"batch", "seq", "kv_heads"})) ||
      failed(s.check(getInitialState(), "operand 'initial_state'",
                     {"batch", "kv_heads", "head_dim", "value_dim"})) ||
      failed(s.check(getY(), "result 'y'",
                     {"batch", "seq", "heads", "value_dim"})) ||
      failed(s.check(getFinalState(), "result 'final_state'",
                     {"batch", "kv_heads", "head_dim", "value_dim"})) ||
      failed(s.divides("kv_heads", "heads")) || failed(s.positive("head_dim")))
    return failure();
  if (Value decay = getDecay()) {
    int64_t rank = cast<RankedTensorType>(decay.getType()).getRank();
    if (rank == 3) {
      if (failed(
              s.check(decay, "operand 'decay'", {"batch", "seq", "kv_heads"})))
        return failure();
    } else if (rank == 4) {
      if (failed(s.check(decay, "operand 'decay'",
                         {"batch", "seq", "kv_heads", "head_dim"})))
        return failure();
    } else {
      return emitOpError() << "operand 'decay' must have rank 3 (batch, seq, "
                              "kv_heads) or 4 (batch, seq, kv_heads, "
                              "head_dim), got rank "
                           << rank;
    }
  }
  StringRef rule = stringifyLinearAttentionRule(getUpdateRule());
  if (isGated() != static_cast<bool>(getDecay()))
    return emitOpError() << "update rule '" << rule << "' "
                         << (isGated() ? "requires" : "does not take")
                         << " operand 'decay'";
  if (isDelta() != static_cast<bool>(getBeta()))
    return emitOpError() << "update rule '" << rule << "' "
                         << (isDelta() ? "requires" : "does not take")
                         << " operand 'beta'";
  // The output is linear in the scale: any finite, non-zero value works.
  if (std::optional<APFloat> scale = getScale()) {
    double d = scale->convertToDouble();
    if (!std::isfinite(d) || d == 0)
      return emitOpError() << "attribute 'scale' must be finite and non-zero, "
                              "got "
                           << d;
  }
  return sameElementType(op, getY(), "result 'y'", getQuery(),
                         "operand 'query'");
}

//===----------------------------------------------------------------------===//
// Supporting ops
//===----------------------------------------------------------------------===//

LogicalResult RMSNormOp::verify() {
  Operation *op = getOperation();
  auto type = cast<RankedTensorType>(getX().getType());
  if (type.getRank() < 1)
    return emitOpError() << "operand 'x' must have rank >= 1";
  int64_t last = type.getRank() - 1;
  ShapeChecker s(op);
  if (failed(s.checkDim(getX(), "operand 'x'", last, "features")) ||
      failed(s.check(getWeight(), "operand 'weight'", {"features"})))
    return failure();
  if (Value gate = getGate()) {
    auto gateType = cast<RankedTensorType>(gate.getType());
    if (failed(verifyCompatibleShape(gateType.getShape(), type.getShape())))
      return emitOpError() << "operand 'gate' shape must match operand 'x' "
                              "shape, got "
                           << gateType << " and " << type;
  }
  double eps = getEps().convertToDouble();
  if (!std::isfinite(eps) || eps < 0)
    return emitOpError() << "attribute 'eps' must be finite and "
                            "non-negative, got "
                         << eps;
  if (failed(s.positive("features")))
    return failure();
  int64_t features = *s.get("features");
  if (std::optional<uint64_t> g = getGroupSize()) {
    int64_t group = static_cast<int64_t>(*g);
    if (group <= 0 || features % group != 0)
      return emitOpError() << "attribute 'group_size' (" << group
                           << ") must be positive and divide operand 'x' "
                              "dim "
                           << last << " (features), " << features;
  }
  return success();
}

LogicalResult CausalConv1DOp::verify() {
  Operation *op = getOperation();
  ShapeChecker s(op);
  if (failed(s.check(getX(), "operand 'x'", {"batch", "seq", "channels"})) ||
      failed(
          s.check(getWeight(), "operand 'weight'", {"channels", "kernel"})) ||
      failed(s.check(getBias(), "operand 'bias'", {"channels"})) ||
      failed(s.check(getInitialState(), "operand 'initial_state'",
                     {"batch", "channels", "kernel_minus_1"})) ||
      failed(s.check(getY(), "result 'y'", {"batch", "seq", "channels"})) ||
      failed(s.check(getFinalState(), "result 'final_state'",
                     {"batch", "channels", "kernel_minus_1"})))
    return failure();
  int64_t kernel = *s.get("kernel");
  if (kernel < 1)
    return emitOpError() << "operand 'weight' dim 1 (kernel) must be at "
                            "least 1";
  if (std::optional<int64_t> km1 = s.get("kernel_minus_1");
      km1 && *km1 != kernel - 1)
    return emitOpError() << s.where("kernel_minus_1") << " is " << *km1
                         << ", but must be kernel - 1 = " << kernel - 1;
  if (failed(
          sameElementType(op, getY(), "result 'y'", getX(), "operand 'x'")) ||
      failed(sameElementType(op, getFinalState(), "result 'final_state'",
                             getX(), "operand 'x'")) ||
      failed(sameElementType(op, getInitialState(), "operand 'initial_state'",
                             getX(), "operand 'x'")))
    return failure();
  return success();
}

LogicalResult RotaryOp::verify() {
  Operation *op = getOperation();
  ShapeChecker s(op);
  if (failed(s.check(getX(), "operand 'x'",
                     {"batch", "seq", "heads", "head_dim"})))
    return failure();
  if (getCos().getType() != getSin().getType())
    return emitOpError() << "operand 'sin' type " << getSin().getType()
                         << " must equal operand 'cos' type "
                         << getCos().getType();
  auto cosType = cast<RankedTensorType>(getCos().getType());
  if (cosType.getRank() != 3)
    return emitOpError() << "operand 'cos' must have rank 3 (batch or 1, "
                            "seq, angles), got rank "
                         << cosType.getRank();
  int64_t cb = cosType.getDimSize(0);
  std::optional<int64_t> batch = s.get("batch");
  if (!ShapedType::isDynamic(cb) && cb != 1 && batch && cb != *batch)
    return emitOpError() << "operand 'cos' dim 0 is " << cb
                         << ", but must be 1 or batch (" << *batch << ")";
  if (failed(s.checkDim(getCos(), "operand 'cos'", 1, "seq")) ||
      failed(s.checkDim(getCos(), "operand 'cos'", 2, "angles")))
    return failure();
  int64_t angles = *s.get("angles"), headDim = *s.get("head_dim");
  if (angles > headDim / 2) // 2 * angles could overflow
    return emitOpError() << "operand 'cos' dim 2 (angles) is " << angles
                         << ", but twice the angles must not exceed operand "
                            "'x' dim 3 (head_dim), "
                         << headDim;
  return success();
}

LogicalResult HybridMergeOp::verify() {
  Operation *op = getOperation();
  ShapeChecker s(op);
  if (failed(s.check(getSsmOut(), "operand 'ssm_out'",
                     {"batch", "seq", "model_dim"})) ||
      failed(s.check(getAttnOut(), "operand 'attn_out'",
                     {"batch", "seq", "attn_dim"})) ||
      failed(s.check(getWeight(), "operand 'weight'",
                     {"attn_dim", "model_dim"})) ||
      failed(s.check(getResult(), "result", {"batch", "seq", "model_dim"})) ||
      failed(sameElementType(op, getResult(), "result", getSsmOut(),
                             "operand 'ssm_out'")))
    return failure();
  double eps = getEps().convertToDouble();
  if (!std::isfinite(eps) || eps <= 0)
    return emitOpError() << "attribute 'eps' must be finite and positive, "
                            "got "
                         << eps;
  return success();
}

LogicalResult TokenPositionsOp::verify() {
  auto tokens = cast<RankedTensorType>(getTokens().getType());
  auto result = cast<RankedTensorType>(getResult().getType());
  if (tokens.getRank() < 2)
    return emitOpError() << "operand 'tokens' must have rank at least 2 "
                            "(batch, seq, ...), got rank "
                         << tokens.getRank();
  if (result.getRank() != 1)
    return emitOpError() << "result must have rank 1, got rank "
                         << result.getRank();
  int64_t seq = tokens.getDimSize(1), n = result.getDimSize(0);
  if (!ShapedType::isDynamic(seq) && !ShapedType::isDynamic(n) && seq != n)
    return emitOpError() << "result size " << n
                         << " must equal operand 'tokens' dim 1 (seq), " << seq;
  if (Value offset = getOffset()) {
    auto type = cast<RankedTensorType>(offset.getType());
    if (type.getRank() != 1 || type.getDimSize(0) != 1)
      return emitOpError() << "operand 'offset' must be tensor<1xi64>, got "
                           << type;
  }
  return success();
}

#define GET_OP_CLASSES
#include "ssm/Dialect/SSM/IR/SSMOps.cpp.inc"
