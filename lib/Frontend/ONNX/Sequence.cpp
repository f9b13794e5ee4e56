//===- Sequence.cpp - The sequence axis: positions and token mixing -------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// What prefill and decode need to know about an imported graph.
//
// The token input is the first graph input of integer type and rank >= 2
// whose dim 1 is symbolic: its dim 1 is the sequence length `seq`.
//
// * Positions. Exporters compute position ids as Range(0, seq, 1); that
//   node becomes ssm.token_positions, whose offset ssm-derive-generation
//   sets to the running position.
// * Token mixing. A stateful step can only be derived when every exchange
//   between tokens goes through an ssm op (mixers, causal_conv1d). After a
//   node is imported, its outputs are marked with `ssm.token_mixing` (the
//   reason, on the ops the node created) when the node works along the
//   sequence axis: it builds a tensor with two sequence-sized dims (an
//   attention mask or a mixing matrix), or it reduces, scans, convolves,
//   contracts, pads, slices, gathers, splits or concatenates along a
//   sequence-sized dim. Recognized subgraphs (attention) leave their marked
//   nodes dead; ssm-derive-generation rejects a graph where a marked op is
//   live. The check is conservative for the ops it knows; an op that moves
//   the sequence into another dim and mixes it there (a Reshape that merges
//   seq with the batch, then a MatMul over it) is outside what it sees.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"
#include "ssm/Dialect/SSM/IR/SSMOps.h"

using namespace mlir;
using namespace mlir::ssm;
using namespace mlir::ssm::onnx_frontend;

void Importer::findTokenInput(func::FuncOp func) {
  for (auto [i, info] : llvm::enumerate(inputsInfo)) {
    auto type = cast<RankedTensorType>(func.getArgument(i).getType());
    if (!isa<IntegerType>(type.getElementType()) || type.getRank() < 2 ||
        !type.isDynamicDim(1))
      continue;
    tokenInput = func.getArgument(i);
    seqSymbol = info.dims[1];
    return;
  }
}

bool Importer::involvesSeq(AffineExpr e) {
  if (!seqSymbol)
    return false;
  return simplify(e).isFunctionOfSymbol(
      cast<AffineSymbolExpr>(*seqSymbol).getPosition());
}

bool Importer::recognizePositions(Node &n, AffineExpr start, AffineExpr limit,
                                  int64_t step) {
  if (!seqSymbol || step != 1 || constantOf(simplify(start)) != 0 ||
      simplify(limit) != *seqSymbol ||
      !isa<IntegerType>(n.inputs[0]->elementType))
    return false;
  SmallVector<AffineExpr> shape = {*seqSymbol};
  auto op = TokenPositionsOp::create(
      builder, n.loc, tensorType(shape, n.inputs[0]->elementType), tokenInput,
      Value());
  define(n, 0, fromValue(op.getResult(), shape));
  return true;
}

/// The axes of a Reduce node, empty when they are not known (all axes).
static std::optional<SmallVector<int64_t>> reduceAxes(Importer &imp,
                                                      const Node &n) {
  if (n.numInputs() > 1 && n.input(1)) {
    if (auto c = imp.constInts(*n.input(1)))
      return *c;
    return std::nullopt;
  }
  SmallVector<int64_t> axes;
  if (const onnx::AttributeProto *a = n.attr("axes"))
    axes.assign(a->ints().begin(), a->ints().end());
  return axes;
}

std::string Importer::tokenMixingReason(const Node &n) {
  if (!seqSymbol)
    return "";
  // An output with two sequence-sized dims: a token-by-token matrix.
  for (const std::string &out : n.proto.output()) {
    Tensor *t = out.empty() ? nullptr : lookup(out);
    if (t && llvm::count_if(t->shape,
                            [&](AffineExpr d) { return involvesSeq(d); }) >= 2)
      return "builds a tensor with two sequence-sized dimensions";
  }
  if (!n.domain.empty())
    return "";
  Tensor *x = n.input(0);
  if (!x)
    return "";
  int64_t rank = x->rank();
  auto seqAxis = [&](int64_t axis) {
    if (axis < 0)
      axis += rank;
    return axis >= 0 && axis < rank && involvesSeq(x->shape[axis]);
  };
  auto anySeq = [&](int64_t from) {
    for (int64_t a = from; a < rank; ++a)
      if (involvesSeq(x->shape[a]))
        return true;
    return false;
  };
  auto axisAttr = [&](int64_t dflt) {
    const onnx::AttributeProto *a = n.attr("axis");
    return a ? a->i() : dflt;
  };
  StringRef op = n.opType();
  if (op == "CumSum") {
    auto axis = n.input(1) ? constInts(*n.input(1)) : std::nullopt;
    if (!axis || axis->size() != 1 || seqAxis((*axis)[0]))
      return "scans along the sequence axis";
  } else if (op == "Conv" || op == "ConvTranspose" || op == "AveragePool" ||
             op == "MaxPool") {
    if (anySeq(2))
      return "convolves along the sequence axis";
  } else if (op.starts_with("Reduce")) {
    std::optional<SmallVector<int64_t>> axes = reduceAxes(*this, n);
    if (!axes || axes->empty() ? anySeq(0) : llvm::any_of(*axes, seqAxis))
      return "reduces along the sequence axis";
  } else if (op == "Softmax" || op == "LogSoftmax" || op == "Hardmax") {
    int64_t axis = axisAttr(n.opset >= 13 ? -1 : 1);
    if (n.opset >= 13 ? seqAxis(axis) : anySeq(axis < 0 ? axis + rank : axis))
      return "normalizes along the sequence axis";
  } else if (op == "MatMul" || op == "Gemm") {
    bool transA = false;
    if (const onnx::AttributeProto *a = n.attr("transA"))
      transA = a->i() != 0;
    if (rank >= 1 && seqAxis(transA && rank == 2 ? 0 : rank - 1))
      return "contracts the sequence axis";
  } else if (op == "Trilu") {
    if (rank >= 2 && (seqAxis(rank - 1) || seqAxis(rank - 2)))
      return "masks along the sequence axis";
  } else if (op == "Pad" || op == "Slice" || op == "Split" || op == "Concat" ||
             op == "Gather" || op == "GatherElements" || op == "Tile" ||
             op == "ReverseSequence") {
    // Shifting, cutting or joining along the sequence axis. Compare the
    // sequence-sized dims of the input and the output: a node that keeps
    // them as they are works on other axes.
    Tensor *y = lookup(n.proto.output(0));
    if (!y)
      return "";
    SmallVector<AffineExpr> in, out;
    for (AffineExpr d : x->shape)
      if (involvesSeq(d))
        in.push_back(simplify(d));
    for (AffineExpr d : y->shape)
      if (involvesSeq(d))
        out.push_back(simplify(d));
    if (op == "Concat") {
      int64_t axis = axisAttr(0);
      if (seqAxis(axis))
        return "concatenates along the sequence axis";
      return "";
    }
    if (op == "Gather" || op == "GatherElements") {
      if (seqAxis(axisAttr(0)))
        return "gathers along the sequence axis";
      return "";
    }
    if (in != out)
      return "moves data along the sequence axis";
  }
  return "";
}
