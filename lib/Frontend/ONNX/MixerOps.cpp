//===- MixerOps.cpp - ONNX ops that map to ssm dialect ops ----------------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// The standard ops that are one ssm op (Attention, RotaryEmbedding,
// CausalConvWithState and their com.microsoft counterparts) and the custom
// `ai.ssmc` domain, one ONNX op per ssm op (docs/ONNX.md). The ONNX layouts
// are converted to the dialect's (batch, seq, heads, dim) layout around the
// op. Dynamic sizes that the op requires to agree (batch, sequence) must be
// provably equal; everything else is checked by the op's verifier, whose
// message becomes the node's error.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"
#include "ssm/Dialect/SSM/IR/SSMOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::ssm;
using namespace mlir::ssm::onnx_frontend;

static std::optional<int64_t> cv(AffineExpr e) {
  return Importer::constantOf(e);
}

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

LogicalResult Importer::verifyCreated(const Node &n, Operation *op) {
  std::string message;
  {
    ScopedDiagnosticHandler handler(context, [&](Diagnostic &d) {
      if (message.empty())
        message = d.str();
      return success();
    });
    if (succeeded(verify(op)))
      return success();
  }
  op->erase();
  // "'ssm.ssd' op operand 'x' ..." reads better without the op prefix.
  StringRef m = message;
  if (m.consume_front("'")) {
    size_t end = m.find("' op ");
    if (end != StringRef::npos)
      m = m.drop_front(end + 5);
  }
  return fail(n, Twine("invalid inputs: ") + m);
}

namespace {
/// Binds the dynamic sizes (batch, sequence) of one node's inputs by name and
/// fails unless they are provably equal.
class SizeBinder {
public:
  SizeBinder(Importer &imp, const Node &n) : imp(imp), n(n) {}

  /// Binds dim `i` of input `what` to `name`.
  LogicalResult bind(AffineExpr e, StringRef name, StringRef what, int64_t i) {
    e = imp.simplify(e);
    auto it = bound.find(name);
    std::string where = (what + " dim " + Twine(i)).str();
    if (it == bound.end()) {
      bound[name] = {e, where};
      return success();
    }
    if (it->second.first == e)
      return success();
    auto a = cv(e), b = cv(it->second.first);
    std::string sa = a ? std::to_string(*a) : imp.render(e);
    std::string sb = b ? std::to_string(*b) : imp.render(it->second.first);
    return imp.fail(n, Twine(where) + " (" + name + ") is " +
                           (sa.empty() ? "a runtime size" : sa) + ", but " +
                           it->second.second + " is " +
                           (sb.empty() ? "a runtime size" : sb) +
                           (a && b ? "" : "; they must be provably equal"));
  }

  /// Checks the rank of `t` (skipped when null) and binds its dims: 'b'
  /// batch, 's' sequence, 'k' key sequence, anything else is left to the
  /// op's verifier.
  LogicalResult check(Tensor *t, StringRef what, StringRef dims) {
    if (!t)
      return success();
    if (t->rank() != static_cast<int64_t>(dims.size()))
      return imp.fail(n, what + " must have rank " + Twine(dims.size()) +
                             ", got rank " + Twine(t->rank()));
    for (auto [i, c] : llvm::enumerate(dims)) {
      StringRef name = c == 'b'   ? "batch"
                       : c == 's' ? "seq"
                       : c == 'k' ? "kv_seq"
                                  : "";
      if (!name.empty() && failed(bind(t->shape[i], name, what, i)))
        return failure();
    }
    return success();
  }

private:
  Importer &imp;
  const Node &n;
  llvm::StringMap<std::pair<AffineExpr, std::string>> bound;
};
} // namespace

/// The IR value of an optional float input, cast to f32 when `f32` (state
/// inputs), or null.
static Value optionalValue(Importer &imp, Tensor *t, bool f32, Location loc) {
  if (!t)
    return Value();
  if (f32 && !t->elementType.isF32())
    return imp.castTensor(*t, imp.builder.getF32Type(), loc);
  return imp.get(*t);
}

static LogicalResult requireFloat(Importer &imp, const Node &n) {
  for (auto [i, t] : llvm::enumerate(n.inputs))
    if (t && !isa<FloatType>(t->elementType))
      return imp.fail(n,
                      "input " + Twine(i) + " must be a floating-point tensor");
  return success();
}

/// (b, l, h * d) -> (b, l, h, d) for `heads` heads.
static FailureOr<Tensor> splitHeads(Importer &imp, const Node &n, Tensor &x,
                                    int64_t heads, StringRef what) {
  auto width = cv(x.shape[2]);
  if (heads <= 0 || !width || *width % heads != 0)
    return imp.fail(n, what + " dim 2 must be a static multiple of the " +
                           Twine(heads) + " heads");
  SmallVector<AffineExpr> shape = {x.shape[0], x.shape[1], imp.cst(heads),
                                   imp.cst(*width / heads)};
  return imp.reshape(x, shape, n.loc);
}

/// (b, l, h, d) -> (b, l, h * d).
static Tensor mergeHeads(Importer &imp, Tensor &x, Location loc) {
  SmallVector<AffineExpr> shape = {x.shape[0], x.shape[1],
                                   x.shape[2] * x.shape[3]};
  return imp.reshape(x, shape, loc);
}

//===----------------------------------------------------------------------===//
// Attention (opset 23+)
//===----------------------------------------------------------------------===//

LogicalResult Importer::importAttention(Node &n) {
  if (failed(requireInputs(n, 3, 7)) ||
      failed(checkAttrs(n, {"is_causal", "kv_num_heads", "q_num_heads",
                            "qk_matmul_output_mode", "scale", "softcap",
                            "softmax_precision", "left_window_size",
                            "right_window_size"})))
    return failure();
  if (n.opset < 23)
    return fail(n, "Attention is in the default domain from opset 23");
  if (n.input(6))
    return fail(n, "input 'nonpad_kv_seqlen' is not supported yet");
  if ((n.input(4) == nullptr) != (n.input(5) == nullptr))
    return fail(n, "past_key and past_value must be given together");
  FailureOr<int64_t> causal = intAttr(n, "is_causal", 0);
  FailureOr<int64_t> qHeads = intAttr(n, "q_num_heads", 0);
  FailureOr<int64_t> kvHeads = intAttr(n, "kv_num_heads", 0);
  FailureOr<int64_t> qkMode = intAttr(n, "qk_matmul_output_mode", 0);
  FailureOr<float> softcap = floatAttr(n, "softcap", 0.0f);
  FailureOr<int64_t> left = intAttr(n, "left_window_size", -1);
  FailureOr<int64_t> right = intAttr(n, "right_window_size", -1);
  if (failed(causal) || failed(qHeads) || failed(kvHeads) || failed(qkMode) ||
      failed(softcap) || failed(left) || failed(right))
    return failure();
  std::optional<float> scale;
  if (n.attr("scale")) {
    FailureOr<float> s = floatAttr(n, "scale", std::nullopt);
    if (failed(s))
      return failure();
    scale = *s;
  }
  Tensor &q = *n.inputs[0], &k = *n.inputs[1], &v = *n.inputs[2];
  int64_t rank = q.rank();
  if ((rank != 3 && rank != 4) || k.rank() != rank || v.rank() != rank)
    return fail(n, "Q, K and V must all have rank 3 (batch, seq, heads * "
                   "dim) or all rank 4 (batch, heads, seq, dim)");
  Type et = q.elementType;
  if (!isa<FloatType>(et) || k.elementType != et || v.elementType != et)
    return fail(n, "Q, K and V must have the same floating-point element "
                   "type");

  // Everything in the ONNX 4-D layout (b, heads, seq, dim) first, for the
  // cache concatenation; then (b, seq, heads, dim) for ssm.attention.
  SmallVector<int64_t> swap = {0, 2, 1, 3};
  auto to4d = [&](Tensor &t, int64_t heads,
                  StringRef what) -> FailureOr<Tensor> {
    if (rank == 4)
      return t;
    if (heads <= 0)
      return fail(n, "3-D inputs need the q_num_heads and kv_num_heads "
                     "attributes");
    FailureOr<Tensor> split = splitHeads(*this, n, t, heads, what);
    if (failed(split))
      return failure();
    return transpose(*split, swap, n.loc);
  };
  FailureOr<Tensor> q4 = to4d(q, *qHeads, "Q");
  FailureOr<Tensor> k4 = to4d(k, *kvHeads, "K");
  FailureOr<Tensor> v4 = to4d(v, *kvHeads, "V");
  if (failed(q4) || failed(k4) || failed(v4))
    return failure();
  SizeBinder sizes(*this, n);
  if (failed(sizes.check(&*q4, "Q", "b.s.")) ||
      failed(sizes.check(&*k4, "K", "b.k.")) ||
      failed(sizes.check(&*v4, "V", "b.k.")))
    return failure();
  Tensor keys = *k4, values = *v4;
  bool hasPast = n.input(4) != nullptr;
  if (hasPast) {
    Tensor &pk = *n.inputs[4], &pv = *n.inputs[5];
    if (pk.elementType != et || pv.elementType != et)
      return fail(n, "past_key and past_value must have Q's element type");
    if (failed(sizes.check(&pk, "past_key", "b...")) ||
        failed(sizes.check(&pv, "past_value", "b...")))
      return failure();
    for (int i : {1, 3}) {
      if (simplify(pk.shape[i]) != simplify(keys.shape[i]) ||
          simplify(pv.shape[i]) != simplify(values.shape[i]))
        return fail(n, "past_key/past_value dim " + Twine(i) +
                           " must match the new keys and values");
    }
    SmallVector<Tensor *> keyParts = {&pk, &keys}, valueParts = {&pv, &values};
    keys = concat(keyParts, 2, n.loc);
    values = concat(valueParts, 2, n.loc);
  }
  define(n, 1, keys);
  define(n, 2, values);

  AffineExpr l = simplify(q4->shape[2]), s = simplify(keys.shape[2]);
  bool isCausal = *causal != 0;
  std::optional<int64_t> window;
  if (*right >= 0 || *left >= 0) {
    if (*right > 0 || (*right < 0 && !isCausal))
      return fail(n, "a sliding window that looks ahead (right_window_size "
                     "> 0, or unset without is_causal) is not supported");
    if (*left < -1 || *right < -1)
      return fail(n, "window sizes must be -1 or non-negative");
    isCausal = true; // right_window_size 0 is the causal frontier
    if (*left >= 0)
      window = *left + 1;
  }
  if (isCausal && !hasPast && l != s)
    return fail(n, "is_causal with a key sequence of a different length "
                   "than the query's and no past is not supported (ONNX "
                   "aligns that mask top-left)");

  // Additive float mask of rank 4 (batch or 1, heads or 1, seq, kv_seq).
  Value mask;
  if (Tensor *m = n.input(3)) {
    if (m->rank() < 2 || m->rank() > 4)
      return fail(n, "attn_mask must have rank 2 to 4");
    SmallVector<AffineExpr> shape(4 - m->rank(), cst(1));
    shape.append(m->shape.begin(), m->shape.end());
    if (simplify(shape[3]) != s)
      return fail(n, "attn_mask's last dim must equal the total key "
                     "sequence length (padding a shorter mask is not "
                     "supported)");
    if (!cv(shape[1]))
      return fail(n, "attn_mask's heads dim must be static");
    Tensor mt = *m;
    if (m->elementType.isInteger(1)) {
      FailureOr<Tensor> f = elementwise(
          n, {m}, et, [&](OpBuilder &b, Location loc, ValueRange a) -> Value {
            Value zero =
                arith::ConstantOp::create(b, loc, b.getFloatAttr(et, 0.0));
            Value ninf = arith::ConstantOp::create(
                b, loc,
                b.getFloatAttr(et, -std::numeric_limits<double>::infinity()));
            return arith::SelectOp::create(b, loc, a[0], zero, ninf);
          });
      if (failed(f))
        return failure();
      mt = *f;
    } else if (mt.elementType != et) {
      return fail(n, "attn_mask must be bool or Q's element type");
    }
    if (simplify(shape[2]) != l)
      return fail(n, "attn_mask's second-to-last dim must equal the query "
                     "sequence length");
    // (b, h, l, s) is the op's mask layout already.
    Tensor m4 = reshape(mt, shape, n.loc);
    mask = get(m4);
  }

  Tensor qo = transpose(*q4, swap, n.loc);
  Tensor ko = transpose(keys, swap, n.loc);
  Tensor vo = transpose(values, swap, n.loc);
  SmallVector<AffineExpr> yShape = {qo.shape[0], qo.shape[1], qo.shape[2],
                                    vo.shape[3]};
  auto op = AttentionOp::create(
      builder, n.loc, tensorType(yShape, et), get(qo), get(ko), get(vo), mask,
      isCausal ? builder.getUnitAttr() : UnitAttr(),
      scale ? builder.getF32FloatAttr(*scale) : FloatAttr(),
      window ? builder.getI64IntegerAttr(*window) : IntegerAttr(),
      *softcap > 0 ? builder.getF32FloatAttr(*softcap) : FloatAttr());
  if (failed(verifyCreated(n, op)))
    return failure();
  Tensor y = fromValue(op.getResult(), yShape);
  if (rank == 4)
    define(n, 0, transpose(y, swap, n.loc));
  else
    define(n, 0, mergeHeads(*this, y, n.loc));
  return success();
}

//===----------------------------------------------------------------------===//
// RotaryEmbedding (opset 23+ and com.microsoft)
//===----------------------------------------------------------------------===//

/// cos/sin rows for each (batch, position): `cache[pos[b, s]]`, or
/// `cache[offset + s]` for a one-element `pos`, (b, l, R).
static Tensor gatherRows(Importer &imp, Tensor &cache, Tensor &pos,
                         ArrayRef<AffineExpr> bl, Location loc) {
  OpBuilder &b = imp.builder;
  SmallVector<AffineExpr> shape = {bl[0], bl[1], cache.shape[1]};
  Value init = imp.emptyTensor(shape, cache.elementType);
  Value table = imp.get(cache);
  Value rows = imp.materialize(cache.shape[0]);
  bool offset = pos.rank() <= 1;
  MLIRContext *ctx = imp.context;
  AffineMap posMap =
      offset
          ? AffineMap::get(3, 0,
                           SmallVector<AffineExpr>(
                               pos.rank(), getAffineConstantExpr(0, ctx)),
                           ctx)
          : AffineMap::get(3, 0,
                           {getAffineDimExpr(0, ctx), getAffineDimExpr(1, ctx)},
                           ctx);
  if (!offset && cv(pos.shape[0]) == 1)
    posMap = AffineMap::get(
        3, 0, {getAffineConstantExpr(0, ctx), getAffineDimExpr(1, ctx)}, ctx);
  SmallVector<AffineMap> maps = {posMap,
                                 AffineMap::getMultiDimIdentityMap(3, ctx)};
  SmallVector<utils::IteratorType> iters(3, utils::IteratorType::parallel);
  auto g = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, ValueRange{imp.get(pos)},
      ValueRange{init}, maps, iters,
      [&](OpBuilder &nb, Location l, ValueRange a) {
        Value p = arith::IndexCastOp::create(nb, l, nb.getIndexType(), a[0]);
        if (offset)
          p = arith::AddIOp::create(nb, l, p,
                                    linalg::IndexOp::create(nb, l, 1));
        // Clamp into the table, like Gather.
        Value zero = arith::ConstantIndexOp::create(nb, l, 0);
        Value last = arith::SubIOp::create(
            nb, l, rows, arith::ConstantIndexOp::create(nb, l, 1));
        p = arith::MaxSIOp::create(nb, l, p, zero);
        p = arith::MinSIOp::create(nb, l, p, last);
        Value r = linalg::IndexOp::create(nb, l, 2);
        Value v = tensor::ExtractOp::create(nb, l, table, ValueRange{p, r});
        linalg::YieldOp::create(nb, l, v);
      });
  return imp.fromValue(g.getResult(0), shape);
}

LogicalResult Importer::importRotaryEmbedding(Node &n) {
  bool ms = n.domain == "com.microsoft";
  if (failed(requireInputs(n, ms ? 4 : 3, 4)) ||
      failed(checkAttrs(n, {"interleaved", "num_heads", "rotary_embedding_dim",
                            "scale", "is_packed_batching"})))
    return failure();
  if (!ms && n.opset < 23)
    return fail(n, "RotaryEmbedding is in the default domain from opset 23");
  if (!ms && (n.attr("scale") || n.attr("is_packed_batching")))
    return fail(n, "attributes 'scale' and 'is_packed_batching' belong to "
                   "com.microsoft.RotaryEmbedding");
  FailureOr<int64_t> interleaved = intAttr(n, "interleaved", 0);
  FailureOr<int64_t> heads = intAttr(n, "num_heads", 0);
  FailureOr<int64_t> rotDim = intAttr(n, "rotary_embedding_dim", 0);
  FailureOr<float> scale = floatAttr(n, "scale", 1.0f);
  FailureOr<int64_t> packed = intAttr(n, "is_packed_batching", 0);
  if (failed(interleaved) || failed(heads) || failed(rotDim) || failed(scale) ||
      failed(packed))
    return failure();
  if (*scale != 1.0f)
    return fail(n, "attribute 'scale' other than 1 is not supported");
  if (*packed)
    return fail(n, "packed batching is not supported");
  Tensor &x = *n.inputs[0];
  Tensor *pos = ms ? n.inputs[1] : n.input(3);
  Tensor &cosT = *n.inputs[ms ? 2 : 1], &sinT = *n.inputs[ms ? 3 : 2];
  Type et = x.elementType;
  if (!isa<FloatType>(et) || cosT.elementType != et || sinT.elementType != et)
    return fail(n, "input, cos_cache and sin_cache must have the same "
                   "floating-point element type");
  if (x.rank() != 3 && x.rank() != 4)
    return fail(n, "the input must have rank 3 (batch, seq, hidden) or 4 "
                   "(batch, heads, seq, head_size)");
  SmallVector<int64_t> swap = {0, 2, 1, 3};
  Tensor xs;
  if (x.rank() == 4) {
    xs = transpose(x, swap, n.loc);
  } else {
    if (*heads <= 0)
      return fail(n, "a 3-D input needs the num_heads attribute");
    FailureOr<Tensor> split = splitHeads(*this, n, x, *heads, "the input");
    if (failed(split))
      return failure();
    xs = *split;
  }
  auto headDim = cv(xs.shape[3]);
  if (!headDim)
    return fail(n, "the head size must be static");
  int64_t rot = *rotDim ? *rotDim : *headDim;
  if (rot <= 0 || rot % 2 || rot > *headDim)
    return fail(n, "rotary_embedding_dim " + Twine(rot) +
                       " must be even, positive and at most the head size " +
                       Twine(*headDim));
  SmallVector<AffineExpr> bl = {xs.shape[0], xs.shape[1]};
  Tensor cosR, sinR;
  if (pos) {
    if (!pos->elementType.isInteger(64) && !pos->elementType.isInteger(32))
      return fail(n, "position_ids must be int64 or int32");
    if (cosT.rank() != 2 || sinT.rank() != 2)
      return fail(n, "with position_ids, cos_cache and sin_cache must be 2-D "
                     "(max_position, rotary_dim / 2)");
    bool offset =
        pos->rank() == 0 || (pos->rank() == 1 && cv(pos->shape[0]) == 1);
    if (!offset) {
      if (pos->rank() != 2)
        return fail(n, "position_ids must be (batch, seq) or one start "
                       "position");
      SizeBinder sizes(*this, n);
      if (failed(sizes.check(&xs, "the input", "bs..")) ||
          (cv(pos->shape[0]) != 1 &&
           failed(sizes.bind(pos->shape[0], "batch", "position_ids", 0))) ||
          failed(sizes.bind(pos->shape[1], "seq", "position_ids", 1)))
        return failure();
    } else if (!ms) {
      return fail(n, "position_ids must be (batch, seq)");
    }
    cosR = gatherRows(*this, cosT, *pos, bl, n.loc);
    sinR = gatherRows(*this, sinT, *pos, bl, n.loc);
  } else {
    if (cosT.rank() != 3 || sinT.rank() != 3)
      return fail(n, "without position_ids, cos_cache and sin_cache must be "
                     "3-D (batch, seq, rotary_dim / 2)");
    SizeBinder sizes(*this, n);
    // The caches may be shared by the batch (dim 0 of size 1).
    StringRef cosDims = cv(cosT.shape[0]) == 1 ? ".s." : "bs.";
    StringRef sinDims = cv(sinT.shape[0]) == 1 ? ".s." : "bs.";
    if (failed(sizes.check(&xs, "the input", "bs..")) ||
        failed(sizes.check(&cosT, "cos_cache", cosDims)) ||
        failed(sizes.check(&sinT, "sin_cache", sinDims)))
      return failure();
    cosR = cosT;
    sinR = sinT;
  }
  if (cv(cosR.shape[2]) != rot / 2 || cv(sinR.shape[2]) != rot / 2)
    return fail(n, "the last dim of cos_cache and sin_cache must be "
                   "rotary_embedding_dim / 2 = " +
                       Twine(rot / 2));
  auto op = RotaryOp::create(
      builder, n.loc, get(xs).getType(), get(xs), get(cosR), get(sinR),
      *interleaved ? RotaryPairing::interleaved : RotaryPairing::halves);
  if (failed(verifyCreated(n, op)))
    return failure();
  Tensor y = fromValue(op.getResult(), xs.shape);
  if (x.rank() == 4)
    define(n, 0, transpose(y, swap, n.loc));
  else
    define(n, 0, reshape(y, x.shape, n.loc));
  return success();
}

//===----------------------------------------------------------------------===//
// CausalConvWithState (opset 27 and com.microsoft)
//===----------------------------------------------------------------------===//

LogicalResult Importer::importCausalConvWithState(Node &n) {
  bool ms = n.domain == "com.microsoft";
  SmallVector<StringRef> known = {"activation"};
  if (ms)
    known.append({"channels_last", "dilation", "ndim", "state_window",
                  "state_update_capacity", "state_channels_last",
                  "state_length", "input_channel_offset", "input_channels"});
  if (failed(requireInputs(n, 2, 4)) || failed(checkAttrs(n, known)) ||
      failed(requireFloat(*this, n)))
    return failure();
  if (!ms && n.opset < 27)
    return fail(n,
                "CausalConvWithState is in the default domain from opset 27");
  FailureOr<std::string> act = stringAttr(n, "activation", "none");
  if (failed(act))
    return failure();
  if (*act != "none" && *act != "silu" && *act != "swish")
    return fail(n, "activation must be 'none', 'silu' or 'swish', got '" +
                       *act + "'");
  int64_t channelsLast = 0;
  if (ms) {
    FailureOr<int64_t> cl = intAttr(n, "channels_last", 0);
    if (failed(cl))
      return failure();
    channelsLast = *cl;
    // Only the defaults of the extended attributes are supported.
    for (auto [name, dflt] : {std::pair<StringRef, int64_t>{"dilation", 1},
                              {"ndim", 1},
                              {"state_window", 0},
                              {"state_update_capacity", 0},
                              {"state_length", 0},
                              {"input_channel_offset", 0},
                              {"input_channels", 0},
                              {"state_channels_last", -1}}) {
      FailureOr<int64_t> v = intAttr(n, name, dflt);
      if (failed(v))
        return failure();
      if (*v != dflt)
        return fail(n, "attribute '" + name + "' = " + Twine(*v) +
                           " is not supported (only " + Twine(dflt) + ")");
    }
  }
  Tensor &x = *n.inputs[0], &w = *n.inputs[1];
  Tensor *bias = n.input(2), *past = n.input(3);
  Type et = x.elementType;
  if (x.rank() != 3)
    return fail(n, "the input must have rank 3");
  if (w.rank() != 3 || cv(w.shape[1]) != 1)
    return fail(n, "weight must be (channels, 1, kernel)");
  // The op's layouts: x (b, l, c), weight (c, k), state (b, c, k - 1).
  SmallVector<int64_t> swap = {0, 2, 1};
  Tensor xs = channelsLast ? x : transpose(x, swap, n.loc);
  SmallVector<AffineExpr> wShape = {w.shape[0], w.shape[2]};
  Tensor w2 = reshape(w, wShape, n.loc);
  Value init;
  if (past) {
    if (past->rank() != 3)
      return fail(n, "past_state must have rank 3");
    Tensor ps = channelsLast ? transpose(*past, swap, n.loc) : *past;
    init = get(ps);
  }
  SizeBinder sizes(*this, n);
  if (failed(sizes.check(&xs, "input", "bs.")))
    return failure();
  SmallVector<AffineExpr> stShape = {xs.shape[0], xs.shape[2], w.shape[2] - 1};
  auto op = CausalConv1DOp::create(
      builder, n.loc, get(xs).getType(), tensorType(stShape, et), get(xs),
      get(w2), optionalValue(*this, bias, false, n.loc), init,
      *act != "none" ? builder.getUnitAttr() : UnitAttr());
  if (failed(verifyCreated(n, op)))
    return failure();
  Tensor y = fromValue(op.getY(), xs.shape);
  Tensor st = fromValue(op.getFinalState(), stShape);
  define(n, 0, channelsLast ? y : transpose(y, swap, n.loc));
  define(n, 1, channelsLast ? transpose(st, swap, n.loc) : st);
  return success();
}

//===----------------------------------------------------------------------===//
// LinearAttention (opset 27 and com.microsoft)
//===----------------------------------------------------------------------===//

LogicalResult Importer::importLinearAttention(Node &n) {
  bool ms = n.domain == "com.microsoft";
  SmallVector<StringRef> known = {"chunk_size", "kv_num_heads", "q_num_heads",
                                  "scale", "update_rule"};
  if (ms)
    known.push_back("state_window");
  if (failed(requireInputs(n, 3, 6)) || failed(checkAttrs(n, known)) ||
      failed(requireFloat(*this, n)))
    return failure();
  if (!ms && n.opset < 27)
    return fail(n, "LinearAttention is in the default domain from opset 27");
  FailureOr<int64_t> qHeads = intAttr(n, "q_num_heads", std::nullopt);
  FailureOr<int64_t> kvHeads = intAttr(n, "kv_num_heads", std::nullopt);
  FailureOr<int64_t> chunk = intAttr(n, "chunk_size", 64);
  FailureOr<float> scale = floatAttr(n, "scale", 0.0f);
  FailureOr<std::string> ruleName = stringAttr(n, "update_rule", "gated_delta");
  FailureOr<int64_t> stateWindow = intAttr(n, "state_window", 0);
  if (failed(qHeads) || failed(kvHeads) || failed(chunk) || failed(scale) ||
      failed(ruleName) || failed(stateWindow))
    return failure();
  // chunk_size is a tuning hint without effect on the result.
  if (*stateWindow != 0)
    return fail(n, "attribute 'state_window' = " + Twine(*stateWindow) +
                       " is not supported (only 0)");
  std::optional<LinearAttentionRule> rule =
      symbolizeLinearAttentionRule(*ruleName);
  if (!rule)
    return fail(n, "update_rule must be 'linear', 'gated', 'delta' or "
                   "'gated_delta', got '" +
                       *ruleName + "'");
  if (*qHeads <= 0 || *kvHeads <= 0 || *qHeads % *kvHeads != 0)
    return fail(n, "q_num_heads (" + Twine(*qHeads) +
                       ") must be a positive multiple of kv_num_heads (" +
                       Twine(*kvHeads) + ")");
  bool gated = LinearAttentionOp::isGated(*rule);
  bool delta = LinearAttentionOp::isDelta(*rule);
  Tensor *past = n.input(3), *decay = n.input(4), *beta = n.input(5);
  if (gated != (decay != nullptr))
    return fail(n, "update_rule '" + *ruleName + "' " +
                       (gated ? "requires" : "does not take") +
                       " the decay input");
  if (delta != (beta != nullptr))
    return fail(n, "update_rule '" + *ruleName + "' " +
                       (delta ? "requires" : "does not take") +
                       " the beta input");
  if (!std::isfinite(*scale))
    return fail(n, "scale must be finite");

  Tensor &q = *n.inputs[0], &k = *n.inputs[1], &v = *n.inputs[2];
  Type et = q.elementType;
  for (Tensor *t : {&k, &v, decay, beta})
    if (t && t->elementType != et)
      return fail(n, "query, key, value, decay and beta must have the same "
                     "element type");
  SizeBinder sizes(*this, n);
  if (failed(sizes.check(&q, "query", "bs.")) ||
      failed(sizes.check(&k, "key", "bs.")) ||
      failed(sizes.check(&v, "value", "bs.")) ||
      failed(sizes.check(decay, "decay", "bs.")) ||
      failed(sizes.check(beta, "beta", "bs.")) ||
      failed(sizes.check(past, "past_state", "b...")))
    return failure();
  FailureOr<Tensor> q4 = splitHeads(*this, n, q, *qHeads, "query");
  FailureOr<Tensor> k4 = splitHeads(*this, n, k, *kvHeads, "key");
  FailureOr<Tensor> v4 = splitHeads(*this, n, v, *kvHeads, "value");
  if (failed(q4) || failed(k4) || failed(v4))
    return failure();
  int64_t dk = *cv(k4->shape[3]);
  if (cv(q4->shape[3]) != dk)
    return fail(n, "query and key must have the same head size, got " +
                       Twine(*cv(q4->shape[3])) + " and " + Twine(dk));

  // decay: (b, l, hkv) per head, or (b, l, hkv * dk) per key feature.
  Value decayValue;
  if (decay) {
    std::optional<int64_t> last = cv(decay->shape[2]);
    if (last == *kvHeads) {
      decayValue = get(*decay);
    } else if (last == *kvHeads * dk) {
      FailureOr<Tensor> d4 = splitHeads(*this, n, *decay, *kvHeads, "decay");
      if (failed(d4))
        return failure();
      decayValue = get(*d4);
    } else {
      return fail(n, "decay's last dim must be kv_num_heads (" +
                         Twine(*kvHeads) + ") or kv_num_heads * d_k (" +
                         Twine(*kvHeads * dk) + ")");
    }
  }
  // beta: (b, l, hkv), or (b, l, 1) shared by the heads.
  Value betaValue;
  if (beta) {
    std::optional<int64_t> last = cv(beta->shape[2]);
    if (last == *kvHeads) {
      betaValue = get(*beta);
    } else if (last == 1) {
      SmallVector<AffineExpr> shape = {beta->shape[0], beta->shape[1],
                                       cst(*kvHeads)};
      Tensor wide = broadcastTo(*beta, shape, n.loc);
      betaValue = get(wide);
    } else {
      return fail(n, "beta's last dim must be kv_num_heads (" +
                         Twine(*kvHeads) + ") or 1");
    }
  }
  Type stateType = past ? past->elementType : et;
  SmallVector<AffineExpr> yShape = {q4->shape[0], q4->shape[1], cst(*qHeads),
                                    v4->shape[3]};
  SmallVector<AffineExpr> stShape = {q4->shape[0], cst(*kvHeads), cst(dk),
                                     v4->shape[3]};
  auto op = LinearAttentionOp::create(
      builder, n.loc, tensorType(yShape, et),
      tensorType(stShape, builder.getF32Type()), get(*q4), get(*k4), get(*v4),
      decayValue, betaValue, optionalValue(*this, past, true, n.loc),
      LinearAttentionRuleAttr::get(context, *rule),
      *scale != 0.0f ? builder.getF32FloatAttr(*scale) : FloatAttr());
  if (failed(verifyCreated(n, op)))
    return failure();
  Tensor y = fromValue(op.getY(), yShape);
  define(n, 0, mergeHeads(*this, y, n.loc));
  Tensor st = fromValue(op.getFinalState(), stShape);
  // present_state has past_state's element type (the query's without one).
  if (!stateType.isF32())
    st = fromValue(castTensor(st, stateType, n.loc), stShape);
  define(n, 1, st);
  return success();
}

//===----------------------------------------------------------------------===//
// The ai.ssmc domain
//===----------------------------------------------------------------------===//

namespace {
/// One input of an ai.ssmc op: its name, its dims ('b' batch, 's' sequence,
/// '.' static; "*" any rank) and whether it is a state (f32).
struct InputSpec {
  const char *name;
  const char *dims;
  bool required;
  bool state;
};

struct OpSpec {
  SmallVector<InputSpec> inputs;
  SmallVector<StringRef> attrs;
};

const llvm::StringMap<OpSpec> &ssmcSpecs() {
  static const llvm::StringMap<OpSpec> specs = [] {
    llvm::StringMap<OpSpec> s;
    s["SSD"] = {{{"x", "bs..", true, false},
                 {"dt", "bs.", true, false},
                 {"A", ".", true, false},
                 {"B", "bs..", true, false},
                 {"C", "bs..", true, false},
                 {"D", "*", false, false},
                 {"dt_bias", ".", false, false},
                 {"z", "bs..", false, false},
                 {"initial_state", "b...", false, true}},
                {"dt_softplus", "dt_limit"}};
    s["DiscreteSSD"] = {{{"x", "bs..", true, false},
                         {"A_log", "bs.", true, false},
                         {"B", "bs..", true, false},
                         {"C", "bs..", true, false},
                         {"D", "*", false, false},
                         {"z", "bs..", false, false},
                         {"z_bias", "..", false, false},
                         {"initial_state", "b...", false, true}},
                        {}};
    s["Mamba3"] = {{{"x", "bs..", true, false},
                    {"dt", "bs.", true, false},
                    {"A", "bs.", true, false},
                    {"lam", "bs.", true, false},
                    {"theta", "bs..", true, false},
                    {"B", "bs...", true, false},
                    {"C", "bs...", true, false},
                    {"D", ".", false, false},
                    {"z", "bs..", false, false},
                    {"Wx", "...", false, false},
                    {"Wz", "...", false, false},
                    {"Wo", "...", false, false},
                    {"initial_state", "b...", false, true},
                    {"initial_angle", "b..", false, true},
                    {"initial_k", "b...", false, true},
                    {"initial_x", "b..", false, true}},
                   {"rotary_pairing"}};
    s["Attention"] = {{{"query", "bs..", true, false},
                       {"key", "bk..", true, false},
                       {"value", "bk..", true, false},
                       {"mask", "*", false, false}},
                      {"causal", "scale", "window", "softcap"}};
    s["RMSNorm"] = {{{"x", "*", true, false},
                     {"weight", ".", true, false},
                     {"gate", "*", false, false}},
                    {"eps", "group_size"}};
    s["CausalConv1d"] = {{{"x", "bs.", true, false},
                          {"weight", "..", true, false},
                          {"bias", ".", false, false},
                          {"initial_state", "b..", false, false}},
                         {"silu"}};
    s["Rotary"] = {{{"x", "bs..", true, false},
                    {"cos", "*", true, false},
                    {"sin", "*", true, false}},
                   {"pairing"}};
    s["HybridMerge"] = {{{"ssm_out", "bs.", true, false},
                         {"attn_out", "bs.", true, false},
                         {"weight", "..", true, false}},
                        {"eps"}};
    return s;
  }();
  return specs;
}
} // namespace

static FailureOr<RotaryPairing> pairingAttr(Importer &imp, const Node &n,
                                            StringRef name, StringRef dflt) {
  FailureOr<std::string> p = imp.stringAttr(n, name, dflt.str());
  if (failed(p))
    return failure();
  if (*p == "interleaved")
    return RotaryPairing::interleaved;
  if (*p == "halves")
    return RotaryPairing::halves;
  return imp.fail(n, "attribute '" + name +
                         "' must be 'interleaved' or 'halves', got '" + *p +
                         "'");
}

LogicalResult Importer::importSSMC(Node &n) {
  auto it = ssmcSpecs().find(n.opType());
  if (it == ssmcSpecs().end())
    return fail(n, "unsupported op");
  const OpSpec &spec = it->second;
  size_t required = 0;
  for (const InputSpec &in : spec.inputs)
    required += in.required;
  if (failed(requireInputs(n, required, spec.inputs.size())) ||
      failed(checkAttrs(n, spec.attrs)) || failed(requireFloat(*this, n)))
    return failure();
  if (n.opset != 1)
    return fail(n, "the ai.ssmc domain has version 1 only");
  SizeBinder sizes(*this, n);
  SmallVector<Value> v;
  for (auto [i, in] : llvm::enumerate(spec.inputs)) {
    Tensor *t = n.input(i);
    std::string what = "input '" + std::string(in.name) + "'";
    if (in.required && !t)
      return fail(n, what + " is required");
    if (StringRef(in.dims) != "*" && failed(sizes.check(t, what, in.dims)))
      return failure();
    v.push_back(optionalValue(*this, t, in.state, n.loc));
  }
  Tensor &x = *n.inputs[0];
  Type et = x.elementType, f32 = builder.getF32Type();
  StringRef type = n.opType();
  SmallVector<std::pair<Value, SmallVector<AffineExpr>>> results;
  Operation *created = nullptr;

  if (type == "SSD" || type == "DiscreteSSD") {
    Tensor &b = *n.inputs[type == "SSD" ? 3 : 2];
    SmallVector<AffineExpr> st = {x.shape[0], x.shape[2], x.shape[3],
                                  b.shape[3]};
    Type yT = tensorType(x.shape, et), sT = tensorType(st, f32);
    if (type == "SSD") {
      FailureOr<int64_t> sp = intAttr(n, "dt_softplus", 0);
      if (failed(sp))
        return failure();
      DenseF32ArrayAttr limit;
      if (const onnx::AttributeProto *a = n.attr("dt_limit")) {
        SmallVector<float> lim(a->floats().begin(), a->floats().end());
        limit = builder.getDenseF32ArrayAttr(lim);
      }
      auto op = SSDOp::create(builder, n.loc, yT, sT, v[0], v[1], v[2], v[3],
                              v[4], v[5], v[6], v[7], v[8],
                              *sp ? builder.getUnitAttr() : UnitAttr(), limit);
      created = op;
      results = {{op.getY(), x.shape}, {op.getFinalState(), st}};
    } else {
      auto op = DiscreteSSDOp::create(builder, n.loc, yT, sT, v[0], v[1], v[2],
                                      v[3], v[4], v[5], v[6], v[7]);
      created = op;
      results = {{op.getY(), x.shape}, {op.getFinalState(), st}};
    }
  } else if (type == "Mamba3") {
    Tensor &theta = *n.inputs[4], &b = *n.inputs[5];
    FailureOr<RotaryPairing> pairing =
        pairingAttr(*this, n, "rotary_pairing", "interleaved");
    if (failed(pairing))
      return failure();
    AffineExpr B = x.shape[0], H = x.shape[2], P = x.shape[3], N = b.shape[4],
               R = b.shape[2], S = theta.shape[3];
    SmallVector<AffineExpr> st = {B, H, P, N}, ang = {B, H, S},
                            kk = {B, R, H, N}, xx = {B, H, P};
    auto op = Mamba3Op::create(
        builder, n.loc, tensorType(x.shape, et), tensorType(st, f32),
        tensorType(ang, f32), tensorType(kk, f32), tensorType(xx, f32), v[0],
        v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11],
        v[12], v[13], v[14], v[15], RotaryPairingAttr::get(context, *pairing));
    created = op;
    results = {{op.getY(), x.shape},
               {op.getFinalState(), st},
               {op.getFinalAngle(), ang},
               {op.getFinalK(), kk},
               {op.getFinalX(), xx}};
  } else if (type == "Attention") {
    Tensor &val = *n.inputs[2];
    FailureOr<int64_t> causal = intAttr(n, "causal", 0);
    FailureOr<int64_t> window = intAttr(n, "window", 0);
    FailureOr<float> scale = floatAttr(n, "scale", 0.0f);
    FailureOr<float> softcap = floatAttr(n, "softcap", 0.0f);
    if (failed(causal) || failed(window) || failed(scale) || failed(softcap))
      return failure();
    SmallVector<AffineExpr> yShape = {x.shape[0], x.shape[1], x.shape[2],
                                      val.shape[3]};
    auto op = AttentionOp::create(
        builder, n.loc, tensorType(yShape, et), v[0], v[1], v[2], v[3],
        *causal ? builder.getUnitAttr() : UnitAttr(),
        n.attr("scale") ? builder.getF32FloatAttr(*scale) : FloatAttr(),
        n.attr("window") ? builder.getI64IntegerAttr(*window) : IntegerAttr(),
        n.attr("softcap") ? builder.getF32FloatAttr(*softcap) : FloatAttr());
    created = op;
    results = {{op.getResult(), yShape}};
  } else if (type == "RMSNorm") {
    FailureOr<float> eps = floatAttr(n, "eps", 1e-5f);
    FailureOr<int64_t> group = intAttr(n, "group_size", 0);
    if (failed(eps) || failed(group))
      return failure();
    auto op = RMSNormOp::create(builder, n.loc, tensorType(x.shape, et), v[0],
                                v[1], v[2], builder.getF32FloatAttr(*eps),
                                n.attr("group_size")
                                    ? builder.getI64IntegerAttr(*group)
                                    : IntegerAttr());
    created = op;
    results = {{op.getResult(), x.shape}};
  } else if (type == "CausalConv1d") {
    Tensor &w = *n.inputs[1];
    FailureOr<int64_t> silu = intAttr(n, "silu", 0);
    if (failed(silu))
      return failure();
    SmallVector<AffineExpr> st = {x.shape[0], x.shape[2], w.shape[1] - 1};
    auto op = CausalConv1DOp::create(
        builder, n.loc, tensorType(x.shape, et), tensorType(st, et), v[0], v[1],
        v[2], v[3], *silu ? builder.getUnitAttr() : UnitAttr());
    created = op;
    results = {{op.getY(), x.shape}, {op.getFinalState(), st}};
  } else if (type == "Rotary") {
    FailureOr<RotaryPairing> pairing =
        pairingAttr(*this, n, "pairing", "halves");
    if (failed(pairing))
      return failure();
    auto op = RotaryOp::create(builder, n.loc, tensorType(x.shape, et), v[0],
                               v[1], v[2], *pairing);
    created = op;
    results = {{op.getResult(), x.shape}};
  } else { // HybridMerge
    FailureOr<float> eps = floatAttr(n, "eps", 1e-5f);
    if (failed(eps))
      return failure();
    auto op =
        HybridMergeOp::create(builder, n.loc, tensorType(x.shape, et), v[0],
                              v[1], v[2], builder.getF32FloatAttr(*eps));
    created = op;
    results = {{op.getResult(), x.shape}};
  }
  if (failed(verifyCreated(n, created)))
    return failure();
  for (auto [i, r] : llvm::enumerate(results))
    define(n, i, fromValue(r.first, r.second));
  return success();
}
