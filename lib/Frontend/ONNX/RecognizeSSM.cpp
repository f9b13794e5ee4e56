//===- RecognizeSSM.cpp - Decomposed SSM pieces to ssm ops ----------------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Mamba-2 blocks written in standard ops, recognized at import so that they
// get the mixers' chunked forms and a decode state:
//
// * The causal depthwise convolution as PyTorch's Conv1d(padding = k - 1)
//   followed by the slice to the first L outputs:
//
//     y = Slice(Conv(x (b, C, L), W (C, 1, k), bias, group = C,
//                    pads = [k - 1, r]), starts = 0, ends = L, axis = 2)
//
//   becomes ssm.causal_conv1d.
//
// * The quadratic (dual) form of SSD, as the Mamba-2 paper writes it:
//
//     dA    = Mul(dt, A)                     dt = Softplus(..), A <= 0 (h)
//     cs    = Transpose(CumSum(dA, axis = 1), [0, 2, 1])          (b, h, L)
//     seg   = Sub(Unsqueeze(cs, 3), Unsqueeze(cs, 2))             cs_i - cs_j
//     decay = Exp(Where(tril(ones(L, L)), seg, -inf))
//     cb    = Unsqueeze(MatMul(C, Transpose(B, [0, 2, 1])), 1)    (b, 1, L, L)
//     xdt   = Transpose(Mul(x, Unsqueeze(dt, 3)), [0, 2, 1, 3])   (b, h, L, p)
//     y     = MatMul(Mul(cb, decay), xdt)                         (b, h, L, p)
//
//   becomes ssm.ssd (x, dt, A, B, C; no D, bias or gate: those stay the
//   elementwise ops around it). Since dt >= 0 and A <= 0, the op's clamp
//   min(dt A, 0) changes nothing. With B and C of shape (b, L, g, n), g one
//   or the head count, cb may also be
//
//     cb    = MatMul(Transpose(C, [0, 2, 1, 3]), Transpose(B, [0, 2, 3, 1]))
//
// * The same form of Discrete Mamba-2 (Llamba), with the log decay
//   dA = Neg(Softplus(A_log)) of A_log (b, L, h) and no dt scaling
//   (xdt = Transpose(x, [0, 2, 1, 3])), becomes ssm.discrete_ssd.
//
// Every intermediate must have no other use, except the values the pattern
// itself reads twice (cs, dt). Anything else is imported as written.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"
#include "Matcher.h"
#include "ssm/Dialect/SSM/IR/SSMOps.h"

using namespace mlir;
using namespace mlir::ssm;
using namespace mlir::ssm::onnx_frontend;

/// The axes of Unsqueeze node `u` (attribute before opset 13, input after).
static std::optional<SmallVector<int64_t>>
unsqueezeAxes(const Matcher &m, const onnx::NodeProto &u, int64_t opset) {
  if (opset < 13)
    return Matcher::intsAttr(u, "axes");
  if (u.input_size() < 2)
    return std::nullopt;
  return m.ints(u.input(1));
}

static bool isPerm(const onnx::NodeProto &t, ArrayRef<int64_t> perm) {
  return ArrayRef<int64_t>(Matcher::intsAttr(t, "perm")) == perm;
}

bool Importer::recognizeCausalConv(Node &n) {
  const onnx::NodeProto &sl = n.proto;
  if (n.opset < 10 || sl.input_size() < 3)
    return false;
  Matcher m(*this);
  const onnx::NodeProto *conv = m.single(sl.input(0), "Conv");
  if (!conv || conv->input_size() < 2)
    return false;
  bool hasBias = conv->input_size() > 2 && !conv->input(2).empty();
  Tensor *x = lookup(conv->input(0)), *w = lookup(conv->input(1));
  Tensor *bias = hasBias ? lookup(conv->input(2)) : nullptr;
  if (!x || !w || (hasBias && !bias) || x->rank() != 3 || w->rank() != 3 ||
      !isa<FloatType>(x->elementType))
    return false;
  std::optional<int64_t> channels = constantOf(simplify(x->shape[1]));
  std::optional<int64_t> k = constantOf(simplify(w->shape[2]));
  if (!channels || !k || *k < 1 ||
      constantOf(simplify(w->shape[0])) != channels ||
      constantOf(simplify(w->shape[1])) != 1 ||
      Matcher::intAttr(*conv, "group", 1) != *channels)
    return false;
  for (const onnx::AttributeProto &a : conv->attribute())
    if (a.name() == "auto_pad" && a.s() != "NOTSET")
      return false;
  SmallVector<int64_t> pads = Matcher::intsAttr(*conv, "pads");
  SmallVector<int64_t> strides = Matcher::intsAttr(*conv, "strides");
  SmallVector<int64_t> dilations = Matcher::intsAttr(*conv, "dilations");
  SmallVector<int64_t> kernel = Matcher::intsAttr(*conv, "kernel_shape");
  if (pads.size() != 2 || pads[0] != *k - 1 || pads[1] < 0 ||
      pads[1] > *k - 1 ||
      !(strides.empty() || strides == SmallVector<int64_t>{1}) ||
      !(dilations.empty() || dilations == SmallVector<int64_t>{1}) ||
      !(kernel.empty() || kernel == SmallVector<int64_t>{*k}))
    return false;

  // Slice(y, [0], [L], [2 or -1], [1]): the first L outputs.
  std::optional<SmallVector<int64_t>> starts = m.ints(sl.input(1));
  std::optional<SmallVector<int64_t>> axes =
      sl.input_size() > 3 && !sl.input(3).empty() ? m.ints(sl.input(3))
                                                  : std::nullopt;
  std::optional<SmallVector<int64_t>> steps =
      sl.input_size() > 4 && !sl.input(4).empty()
          ? m.ints(sl.input(4))
          : std::optional<SmallVector<int64_t>>(SmallVector<int64_t>{1});
  Tensor *ends = lookup(sl.input(2));
  if (!starts || *starts != SmallVector<int64_t>{0} || !axes ||
      axes->size() != 1 || ((*axes)[0] != 2 && (*axes)[0] != -1) || !steps ||
      *steps != SmallVector<int64_t>{1} || !ends || !ends->elems ||
      ends->elems->size() != 1 ||
      simplify((*ends->elems)[0]) != simplify(x->shape[2]))
    return false;

  Location loc = n.loc;
  Type et = x->elementType;
  Tensor xt = transpose(*x, {0, 2, 1}, loc); // (b, L, C)
  SmallVector<AffineExpr> w2Shape = {w->shape[0], w->shape[2]};
  Tensor w2 = reshape(*w, w2Shape, loc);
  SmallVector<AffineExpr> stShape = {x->shape[0], x->shape[1], cst(*k - 1)};
  auto op = CausalConv1DOp::create(
      builder, loc, tensorType(xt.shape, et), tensorType(stShape, et), get(xt),
      get(w2), bias ? get(*bias) : Value(), Value(), UnitAttr());
  if (!keepIfValid(op))
    return false;
  Tensor y = fromValue(op.getY(), xt.shape);
  define(n, 0, transpose(y, {0, 2, 1}, loc));
  return true;
}

bool Importer::recognizeSSD(Node &n) {
  const onnx::NodeProto &mm = n.proto;
  if (mm.input_size() != 2)
    return false;
  Matcher m(*this);
  auto unsqueezeOf = [&](StringRef name, int64_t axis, bool single,
                         int64_t rank) -> const onnx::NodeProto * {
    const onnx::NodeProto *u =
        single ? m.single(name, "Unsqueeze") : m.producedBy(name, "Unsqueeze");
    if (!u)
      return nullptr;
    std::optional<SmallVector<int64_t>> axes = unsqueezeAxes(m, *u, n.opset);
    if (!axes || axes->size() != 1 ||
        ((*axes)[0] != axis && (*axes)[0] != axis - rank))
      return nullptr;
    return u;
  };

  // y = MatMul(Mul(cb, decay), xdt).
  const onnx::NodeProto *mix = m.single(mm.input(0), "Mul");
  if (!mix || mix->input_size() != 2)
    return false;
  // cb = C B^T: Unsqueeze(MatMul(C, Transpose(B, [0, 2, 1])), 1) with one
  // group, or MatMul(Transpose(C, [0, 2, 1, 3]), Transpose(B, [0, 2, 3, 1]))
  // with B and C of shape (b, L, g, n).
  std::string cName, bName;
  auto matchCB = [&](StringRef name) {
    if (const onnx::NodeProto *u = unsqueezeOf(name, 1, true, 4)) {
      const onnx::NodeProto *cb = m.single(u->input(0), "MatMul");
      const onnx::NodeProto *bt =
          cb ? m.single(cb->input(1), "Transpose") : nullptr;
      if (!bt || !isPerm(*bt, {0, 2, 1}))
        return false;
      cName = cb->input(0);
      bName = bt->input(0);
      return true;
    }
    const onnx::NodeProto *cb = m.single(name, "MatMul");
    const onnx::NodeProto *ct =
        cb ? m.single(cb->input(0), "Transpose") : nullptr;
    const onnx::NodeProto *bt =
        cb ? m.single(cb->input(1), "Transpose") : nullptr;
    if (!ct || !bt || !isPerm(*ct, {0, 2, 1, 3}) || !isPerm(*bt, {0, 2, 3, 1}))
      return false;
    cName = ct->input(0);
    bName = bt->input(0);
    return true;
  };
  const onnx::NodeProto *exp = nullptr;
  for (int i = 0; i < 2 && !exp; ++i)
    if (matchCB(mix->input(i)))
      exp = m.single(mix->input(1 - i), "Exp");
  if (!exp)
    return false;
  // decay = Exp(Where(causal, cs_i - cs_j, -inf)).
  const onnx::NodeProto *where = m.single(exp->input(0), "Where");
  if (!where || where->input_size() != 3 || !m.causalCondition(where->input(0)))
    return false;
  std::optional<double> neg = m.anyScalar(where->input(2));
  if (!neg || !(*neg <= -1e30))
    return false;
  const onnx::NodeProto *sub = m.single(where->input(1), "Sub");
  if (!sub)
    return false;
  const onnx::NodeProto *ui = unsqueezeOf(sub->input(0), 3, true, 4);
  const onnx::NodeProto *uj = unsqueezeOf(sub->input(1), 2, true, 4);
  if (!ui || !uj || ui->input(0) != uj->input(0) || useCount(ui->input(0)) != 2)
    return false;
  const onnx::NodeProto *csT = m.producedBy(ui->input(0), "Transpose");
  if (!csT || !isPerm(*csT, {0, 2, 1}))
    return false;
  const onnx::NodeProto *cum = m.single(csT->input(0), "CumSum");
  if (!cum || Matcher::intAttr(*cum, "exclusive", 0) ||
      Matcher::intAttr(*cum, "reverse", 0))
    return false;
  std::optional<SmallVector<int64_t>> cumAxis = m.ints(cum->input(1));
  if (!cumAxis || cumAxis->size() != 1 ||
      ((*cumAxis)[0] != 1 && (*cumAxis)[0] != -2))
    return false;
  // The log decay: dt * A with A a negative constant (or a parameter) and
  // dt >= 0 a Softplus
  // output (Mamba-2), or -softplus(A_log) (Discrete Mamba-2).
  std::string dtName, aName, aLogName;
  if (const onnx::NodeProto *dA = m.single(cum->input(0), "Mul")) {
    for (int i = 0; i < 2 && dtName.empty() && dA->input_size() == 2; ++i) {
      Tensor *a = lookup(dA->input(1 - i));
      std::optional<SmallVector<double>> av =
          a ? constFloats(*a) : std::nullopt;
      // A parameter when the parameters are arguments (training): its
      // sign is the model's business (usually -exp(A_log)).
      if (a && a->rank() == 1 &&
          ((av && llvm::all_of(*av, [](double v) { return v <= 0; })) ||
           (!av && parametersAsArguments))) {
        dtName = dA->input(i);
        aName = dA->input(1 - i);
      }
    }
    if (dtName.empty() || !m.producedBy(dtName, "Softplus"))
      return false;
  } else if (const onnx::NodeProto *negate = m.single(cum->input(0), "Neg")) {
    const onnx::NodeProto *softplus = m.single(negate->input(0), "Softplus");
    if (!softplus)
      return false;
    aLogName = softplus->input(0);
  } else {
    return false;
  }
  bool discrete = !aLogName.empty();
  // The values: Transpose(Mul(x, Unsqueeze(dt, 3)), [0, 2, 1, 3]), or
  // Transpose(x, [0, 2, 1, 3]) in Discrete Mamba-2 (no dt scaling).
  const onnx::NodeProto *xT = m.single(mm.input(1), "Transpose");
  if (!xT || !isPerm(*xT, {0, 2, 1, 3}))
    return false;
  std::string xName;
  if (discrete) {
    xName = xT->input(0);
  } else {
    const onnx::NodeProto *xdt = m.single(xT->input(0), "Mul");
    if (!xdt || xdt->input_size() != 2)
      return false;
    for (int i = 0; i < 2 && xName.empty(); ++i) {
      const onnx::NodeProto *u = unsqueezeOf(xdt->input(1 - i), 3, true, 4);
      if (u && u->input(0) == dtName)
        xName = xdt->input(i);
    }
    if (xName.empty())
      return false;
  }

  Tensor *x = lookup(xName), *B = lookup(bName), *C = lookup(cName);
  Tensor *dt = discrete ? nullptr : lookup(dtName);
  Tensor *A = discrete ? nullptr : lookup(aName);
  Tensor *aLog = discrete ? lookup(aLogName) : nullptr;
  if (!x || !B || !C || (discrete ? !aLog : !dt || !A) || x->rank() != 4 ||
      B->rank() != C->rank() || (B->rank() != 3 && B->rank() != 4) ||
      (discrete ? aLog->rank() != 3 : dt->rank() != 3))
    return false;
  Type et = x->elementType;
  if (!isa<FloatType>(et) || B->elementType != et || C->elementType != et ||
      (discrete ? aLog->elementType != et
                : dt->elementType != et || A->elementType != et))
    return false;
  auto same = [&](AffineExpr a, AffineExpr b) {
    return simplify(a) == simplify(b);
  };
  AffineExpr b = x->shape[0], l = x->shape[1], h = x->shape[2];
  AffineExpr p = x->shape[3], ns = B->shape.back();
  // One group, or one per head (the broadcasts of the products above allow
  // no other count).
  AffineExpr groups = B->rank() == 4 ? B->shape[2] : cst(1);
  Tensor *decayParam = discrete ? aLog : dt;
  if (!same(decayParam->shape[0], b) || !same(decayParam->shape[1], l) ||
      !same(decayParam->shape[2], h) || (!discrete && !same(A->shape[0], h)) ||
      !same(B->shape[0], b) || !same(B->shape[1], l) || !same(C->shape[0], b) ||
      !same(C->shape[1], l) || !same(C->shape.back(), ns) ||
      (B->rank() == 4 && !same(C->shape[2], groups)) ||
      (!same(groups, cst(1)) && !same(groups, h)) || !constantOf(simplify(h)) ||
      !constantOf(simplify(p)) || !constantOf(simplify(ns)))
    return false;

  Location loc = n.loc;
  SmallVector<AffineExpr> bcShape = {b, l, groups, ns};
  Tensor B4 = B->rank() == 4 ? *B : reshape(*B, bcShape, loc);
  Tensor C4 = C->rank() == 4 ? *C : reshape(*C, bcShape, loc);
  SmallVector<AffineExpr> stShape = {b, h, p, ns};
  Type yType = tensorType(x->shape, et);
  Type stateType = tensorType(stShape, builder.getF32Type());
  Operation *op;
  if (discrete)
    op = DiscreteSSDOp::create(builder, loc, yType, stateType, get(*x),
                               get(*aLog), get(B4), get(C4), Value(), Value(),
                               Value(), Value());
  else
    op = SSDOp::create(builder, loc, yType, stateType, get(*x), get(*dt),
                       get(*A), get(B4), get(C4), Value(), Value(), Value(),
                       Value(), UnitAttr(), nullptr);
  if (!keepIfValid(op))
    return false;
  Tensor y = fromValue(op->getResult(0), x->shape);
  define(n, 0, transpose(y, {0, 2, 1, 3}, loc));
  return true;
}
