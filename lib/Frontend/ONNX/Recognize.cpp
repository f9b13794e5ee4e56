//===- Recognize.cpp - Decomposed attention to ssm.attention --------------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Exporters write scaled dot-product attention as a chain of ONNX nodes
// (torch's decomposition of scaled_dot_product_attention, for example):
//
//   s = MatMul(Q * c_q, K^T * c_k) * c_s      scalar constants, each optional
//   s = s + mask                              optional additive mask
//                                             (the causal mask
//                                             Where(Trilu(ones(L, L)), 0,
//                                             -inf) becomes the causal flag)
//   p = Softmax(s, axis = -1)
//   p = Where(IsNaN(p), 0, p)                 optional guard for empty rows
//   y = MatMul(p, V)
//
// When the final MatMul is imported, the importer looks back through the
// producers of its inputs; if the chain matches, every intermediate has no
// other use and the shapes are those of multi-head attention, the MatMul
// becomes one ssm.attention (scale c_q c_k c_s, the mask as its additive
// mask). The nodes of the chain were already imported; with no use left they
// are removed by the graph phase's canonicalization. Anything that does not
// match is imported node by node as written.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"
#include "Matcher.h"
#include "ssm/Dialect/SSM/IR/SSMOps.h"

#include <cmath>

using namespace mlir;
using namespace mlir::ssm;
using namespace mlir::ssm::onnx_frontend;

/// Whether softmax node `sm` normalizes the last axis of a rank-`rank`
/// input.
static bool softmaxOverLastAxis(const onnx::NodeProto &sm, int64_t opset,
                                int64_t rank) {
  int64_t axis = opset >= 13 ? -1 : 1;
  for (const onnx::AttributeProto &a : sm.attribute())
    if (a.name() == "axis")
      axis = a.i();
  return axis == -1 || axis == rank - 1;
}

bool Importer::recognizeAttention(Node &n) {
  if (n.opType() != "MatMul" || n.numInputs() != 2 || !n.inputs[0] ||
      !n.inputs[1])
    return false;
  Matcher m(*this);
  const onnx::NodeProto &mm = n.proto;

  // p = Softmax(s), or Where(IsNaN(p), 0, p).
  std::string probs = mm.input(0);
  const onnx::NodeProto *softmax = m.single(probs, "Softmax");
  if (!softmax) {
    const onnx::NodeProto *where = m.single(probs, "Where");
    if (!where || where->input_size() != 3)
      return false;
    const onnx::NodeProto *isnan = m.single(where->input(0), "IsNaN");
    std::optional<double> zero = m.scalar(where->input(1));
    if (!isnan || !zero || *zero != 0.0 || isnan->input(0) != where->input(2))
      return false;
    softmax = m.producedBy(where->input(2), "Softmax");
    if (!softmax || useCount(where->input(2)) != 2)
      return false;
  }

  // s = scores (+ mask), scores = MatMul(q, k^T) with scalar factors.
  double scale = 1.0;
  std::string scores = m.stripScale(softmax->input(0), scale);
  std::string maskName;
  if (const onnx::NodeProto *add = m.single(scores, "Add")) {
    for (int i = 0; i < 2 && maskName.empty(); ++i) {
      double s = scale;
      std::string lhs = m.stripScale(add->input(i), s);
      if (m.single(lhs, "MatMul")) {
        scale = s;
        scores = lhs;
        maskName = add->input(1 - i);
      }
    }
    if (maskName.empty())
      return false;
  }
  const onnx::NodeProto *qk = m.single(scores, "MatMul");
  if (!qk)
    return false;
  std::string qName = m.stripScale(qk->input(0), scale);
  std::string kName = m.stripScale(qk->input(1), scale);
  if (!(scale > 0) || !std::isfinite(scale))
    return false;

  Tensor *q = lookup(qName), *kt = lookup(kName), *v = n.inputs[1];
  Tensor *mask = maskName.empty() ? nullptr : lookup(maskName);
  if (!q || !kt || (!maskName.empty() && !mask))
    return false;
  int64_t rank = q->rank();
  Type et = q->elementType;
  if ((rank != 3 && rank != 4) || kt->rank() != rank || v->rank() != rank ||
      !isa<FloatType>(et) || kt->elementType != et || v->elementType != et ||
      (mask && (mask->elementType != et || mask->rank() > rank)))
    return false;
  if (!softmaxOverLastAxis(*softmax, n.opset, rank))
    return false;
  auto same = [&](AffineExpr a, AffineExpr b) {
    return simplify(a) == simplify(b);
  };
  // Batch (and heads) must agree exactly: MatMul broadcasting is not
  // attention.
  for (int64_t i = 0; i + 2 < rank; ++i)
    if (!same(q->shape[i], kt->shape[i]) || !same(q->shape[i], v->shape[i]))
      return false;
  AffineExpr b = q->shape[0], l = q->shape[rank - 2], d = q->shape[rank - 1];
  AffineExpr s = kt->shape[rank - 1], dv = v->shape[rank - 1];
  AffineExpr h = rank == 4 ? q->shape[1] : cst(1);
  if (!constantOf(d) || !constantOf(dv) || !constantOf(h) ||
      !same(kt->shape[rank - 2], d) || !same(v->shape[rank - 2], s))
    return false;

  // The op's layout: (b, seq, heads, dim); a rank-3 form has one head.
  Location loc = n.loc;
  auto toBSHD = [&](Tensor &t, AffineExpr seq, AffineExpr dim,
                    bool transposed) -> Tensor {
    if (rank == 4) {
      SmallVector<int64_t> perm = transposed ? SmallVector<int64_t>{0, 3, 1, 2}
                                             : SmallVector<int64_t>{0, 2, 1, 3};
      return transpose(t, perm, loc);
    }
    Tensor x = transposed ? transpose(t, {0, 2, 1}, loc) : t;
    SmallVector<AffineExpr> shape = {b, seq, cst(1), dim};
    return reshape(x, shape, loc);
  };

  // A causal mask built from the sequence length becomes the op's causal
  // flag (the form prefill and decode can extend to a KV cache).
  bool causal = false;
  if (mask && same(l, s) && mask->rank() >= 2 &&
      same(mask->shape[mask->rank() - 2], l) &&
      same(mask->shape[mask->rank() - 1], s) &&
      llvm::all_of(ArrayRef(mask->shape).drop_back(2),
                   [](AffineExpr d) { return constantOf(d) == 1; }) &&
      m.causalMask(maskName)) {
    causal = true;
    mask = nullptr;
  }

  // Mask: (b or 1, h or 1, l, s), broadcast where it has 1 for l or s.
  Value maskValue;
  if (mask) {
    // The mask viewed with rank 4 (leading unit dims; a unit heads dim for
    // the rank-3 form).
    SmallVector<AffineExpr> view(rank - mask->rank(), cst(1));
    view.append(mask->shape.begin(), mask->shape.end());
    if (rank == 3)
      view.insert(view.begin() + 1, cst(1));
    auto mb = constantOf(simplify(view[0])), mh = constantOf(simplify(view[1]));
    if (!(mb == 1 || same(view[0], b)) || !mh ||
        !(*mh == 1 || same(view[1], h)))
      return false;
    SmallVector<AffineExpr> full = view;
    bool expand = false;
    for (auto [i, size] : {std::pair<int, AffineExpr>{2, l}, {3, s}}) {
      if (same(view[i], size))
        continue;
      if (constantOf(simplify(view[i])) != 1)
        return false;
      full[i] = size;
      expand = true;
    }
    Tensor mt = mask->rank() == 4 ? *mask : reshape(*mask, view, loc);
    if (expand)
      mt = broadcastTo(mt, full, loc);
    maskValue = get(mt);
  }

  Tensor qs = toBSHD(*q, l, d, false);
  Tensor ks = toBSHD(*kt, s, d, true);
  Tensor vs = toBSHD(*v, s, dv, false);
  SmallVector<AffineExpr> yShape = {b, l, h, dv};
  auto op = AttentionOp::create(
      builder, loc, tensorType(yShape, et), get(qs), get(ks), get(vs),
      maskValue, causal ? builder.getUnitAttr() : UnitAttr(),
      builder.getF32FloatAttr(scale), IntegerAttr(), FloatAttr());
  // A shape the op rejects means this is not attention after all.
  if (!keepIfValid(op))
    return false;
  Tensor y = fromValue(op.getResult(), yShape);
  if (rank == 4) {
    define(n, 0, transpose(y, {0, 2, 1, 3}, loc));
  } else {
    SmallVector<AffineExpr> shape = {b, l, dv};
    define(n, 0, reshape(y, shape, loc));
  }
  return true;
}
