//===- Matcher.h - Looking back through the ONNX graph ----------*- C++ -*-===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#ifndef SSM_LIB_FRONTEND_ONNX_MATCHER_H
#define SSM_LIB_FRONTEND_ONNX_MATCHER_H

#include "Importer.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"

#include <cmath>

namespace mlir::ssm::onnx_frontend {

/// The ONNX graph around one node: producers and use counts of values.
class Matcher {
public:
  explicit Matcher(Importer &imp) : imp(imp) {}

  /// The default-domain node of type `op` producing `name`, when `name` has
  /// exactly one use (so that replacing its consumer leaves it dead).
  const onnx::NodeProto *single(StringRef name, StringRef op) const {
    if (imp.useCount(name) != 1)
      return nullptr;
    return producedBy(name, op);
  }
  const onnx::NodeProto *producedBy(StringRef name, StringRef op) const {
    const onnx::NodeProto *p = imp.producer(name);
    if (!p || p->op_type() != op ||
        (!p->domain().empty() && p->domain() != "ai.onnx"))
      return nullptr;
    return p;
  }

  /// The value of a one-element float constant, when finite.
  std::optional<double> scalar(StringRef name) const {
    std::optional<double> v = anyScalar(name);
    if (!v || !std::isfinite(*v))
      return std::nullopt;
    return v;
  }

  /// The value of a one-element float constant, infinities included.
  std::optional<double> anyScalar(StringRef name) const {
    Tensor *t = imp.lookup(name);
    if (!t || !isa<FloatType>(t->elementType) ||
        llvm::any_of(t->shape,
                     [](AffineExpr d) { return Importer::constantOf(d) != 1; }))
      return std::nullopt;
    std::optional<SmallVector<double>> v = imp.constFloats(*t);
    if (!v || v->size() != 1)
      return std::nullopt;
    return (*v)[0];
  }

  /// Whether `name` is the additive causal mask exporters build from the
  /// sequence length: Where(Trilu(ones(n, n), upper = 0) as bool, 0, -inf)
  /// (or a large negative number for -inf), with optional leading unit dims.
  bool causalMask(StringRef name) const {
    const onnx::NodeProto *where = producedBy(name, "Where");
    if (!where || where->input_size() != 3)
      return false;
    std::optional<double> zero = anyScalar(where->input(1));
    std::optional<double> neg = anyScalar(where->input(2));
    if (zero != 0.0 || !neg || !(*neg <= -1e30))
      return false;
    return causalCondition(where->input(0));
  }

  /// Whether `cond` is the lower-triangular boolean matrix exporters build
  /// from the sequence length: Cast(Trilu(ConstantOfShape([n, n], v != 0),
  /// upper = 0) to bool) (the Cast optional), square.
  bool causalCondition(std::string cond) const {
    if (const onnx::NodeProto *cast = producedBy(cond, "Cast")) {
      for (const onnx::AttributeProto &a : cast->attribute())
        if (a.name() == "to" && a.i() != onnx::TensorProto::BOOL)
          return false;
      cond = cast->input(0);
    }
    const onnx::NodeProto *trilu = producedBy(cond, "Trilu");
    if (!trilu)
      return false;
    for (const onnx::AttributeProto &a : trilu->attribute())
      if (a.name() == "upper" && a.i() != 0)
        return false;
    if (trilu->attribute_size() == 0) // upper defaults to 1
      return false;
    if (trilu->input_size() > 1 && !trilu->input(1).empty()) {
      Tensor *k = imp.lookup(trilu->input(1));
      auto kv = k ? imp.constInts(*k) : std::nullopt;
      if (!kv || kv->size() != 1 || (*kv)[0] != 0)
        return false;
    }
    const onnx::NodeProto *ones =
        producedBy(trilu->input(0), "ConstantOfShape");
    Tensor *square = imp.lookup(trilu->input(0));
    if (!ones || !square || square->rank() != 2 ||
        imp.simplify(square->shape[0]) != imp.simplify(square->shape[1]))
      return false;
    for (const onnx::AttributeProto &a : ones->attribute())
      if (a.name() == "value" && a.has_t()) {
        std::optional<double> v;
        if (a.t().float_data_size() == 1)
          v = a.t().float_data(0);
        else if (a.t().int64_data_size() == 1)
          v = static_cast<double>(a.t().int64_data(0));
        else if (a.t().int32_data_size() == 1)
          v = a.t().int32_data(0);
        else if (a.t().has_raw_data() && !a.t().raw_data().empty())
          v = llvm::any_of(a.t().raw_data(), [](char c) { return c != 0; })
                  ? 1.0
                  : 0.0;
        if (!v || *v == 0)
          return false;
      }
    return ones->attribute_size() > 0; // the default value is 0
  }

  /// Integer attribute `name` of `node`, or `dflt`.
  static int64_t intAttr(const onnx::NodeProto &node, StringRef name,
                         int64_t dflt) {
    for (const onnx::AttributeProto &a : node.attribute())
      if (a.name() == name)
        return a.i();
    return dflt;
  }
  /// Integer list attribute `name` of `node` (empty when absent).
  static SmallVector<int64_t> intsAttr(const onnx::NodeProto &node,
                                       StringRef name) {
    for (const onnx::AttributeProto &a : node.attribute())
      if (a.name() == name)
        return SmallVector<int64_t>(a.ints().begin(), a.ints().end());
    return {};
  }
  /// The contents of constant integer input `name`.
  std::optional<SmallVector<int64_t>> ints(StringRef name) const {
    Tensor *t = imp.lookup(name);
    return t ? imp.constInts(*t) : std::nullopt;
  }

  /// Strips single-use multiplications and divisions by scalar constants
  /// from `name`, multiplying `scale` by their factors.
  std::string stripScale(std::string name, double &scale) const {
    while (true) {
      if (const onnx::NodeProto *mul = single(name, "Mul")) {
        if (auto c = scalar(mul->input(1))) {
          scale *= *c;
          name = mul->input(0);
          continue;
        }
        if (auto c = scalar(mul->input(0))) {
          scale *= *c;
          name = mul->input(1);
          continue;
        }
      }
      if (const onnx::NodeProto *div = single(name, "Div")) {
        if (auto c = scalar(div->input(1)); c && *c != 0) {
          scale /= *c;
          name = div->input(0);
          continue;
        }
      }
      return name;
    }
  }

  Importer &imp;
};

/// Verifies a recognizer's new `op` quietly: a shape the op rejects means
/// the subgraph is not what it looked like. Erases `op` and returns false
/// when it is invalid.
inline bool keepIfValid(Operation *op) {
  ScopedDiagnosticHandler quiet(op->getContext(),
                                [](Diagnostic &) { return success(); });
  if (succeeded(verify(op)))
    return true;
  op->erase();
  return false;
}

} // namespace mlir::ssm::onnx_frontend

#endif // SSM_LIB_FRONTEND_ONNX_MATCHER_H
