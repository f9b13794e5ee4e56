//===- Importer.h - ONNX importer internals ----------------------*- C++
//-*-===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// The importer walks the graph once, in node order, emitting IR at the end of
// the function body. Every value carries a symbolic shape: one AffineExpr per
// dimension over symbols that stand for runtime sizes (the graph inputs' named
// dimensions, plus fresh symbols where a size is only known at run time).
// Small integer tensors (the shape arithmetic of exported graphs: Shape,
// Gather, Concat, Slice, Reshape, Add, Div...) also carry their contents as
// AffineExprs, so Reshape/Expand/Slice/Pad/Range targets resolve to static
// sizes where they are static, and to symbolic sizes otherwise, without
// emitting shape IR that the compiled model would have to run.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_LIB_FRONTEND_ONNX_IMPORTER_H
#define SSM_LIB_FRONTEND_ONNX_IMPORTER_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/AffineExpr.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

#include <onnx/onnx_pb.h>

#include <functional>
#include <optional>
#include <string>

namespace mlir::ssm::onnx_frontend {

/// A graph value as the importer knows it.
struct Tensor {
  /// The IR value; null until first needed when `constant` or `elems` can
  /// produce it.
  Value value;
  Type elementType;
  SmallVector<AffineExpr> shape;
  /// Contents of small integer tensors (rank <= 1), when known symbolically.
  std::optional<SmallVector<AffineExpr>> elems;
  /// Contents when a compile-time constant.
  DenseElementsAttr constant;

  int64_t rank() const { return shape.size(); }
};

/// One node being imported.
struct Node {
  const onnx::NodeProto &proto;
  StringRef domain; // "" for the default domain
  int64_t opset;
  SmallVector<Tensor *> inputs; // null for omitted optional inputs
  Location loc;

  StringRef opType() const { return proto.op_type(); }
  size_t numInputs() const { return inputs.size(); }
  Tensor *input(size_t i) const {
    return i < inputs.size() ? inputs[i] : nullptr;
  }
  const onnx::AttributeProto *attr(StringRef name) const;
};

class Importer {
public:
  Importer(MLIRContext *context, const onnx::ModelProto &model,
           std::string modelDir, std::string &error);

  OwningOpRef<ModuleOp> run();

  /// See ImportOptions.
  bool parametersAsArguments = false;

  //===--------------------------------------------------------------------===//
  // Diagnostics and attributes
  //===--------------------------------------------------------------------===//

  /// Records `message` for node `n` (prefixed with its name, op and opset)
  /// and returns failure.
  LogicalResult fail(const Node &n, const Twine &message);
  LogicalResult requireInputs(const Node &n, size_t min, size_t max);
  FailureOr<int64_t> intAttr(const Node &n, StringRef name,
                             std::optional<int64_t> dflt);
  FailureOr<float> floatAttr(const Node &n, StringRef name,
                             std::optional<float> dflt);
  FailureOr<std::string> stringAttr(const Node &n, StringRef name,
                                    std::optional<std::string> dflt);
  /// Missing attribute: returns `std::nullopt` in the FailureOr.
  FailureOr<std::optional<SmallVector<int64_t>>> intsAttr(const Node &n,
                                                          StringRef name);
  /// Fails if `n` has an attribute not in `known`.
  LogicalResult checkAttrs(const Node &n, ArrayRef<StringRef> known);

  //===--------------------------------------------------------------------===//
  // Symbolic sizes
  //===--------------------------------------------------------------------===//

  AffineExpr cst(int64_t v) { return getAffineConstantExpr(v, context); }
  /// A new symbol standing for the index value `v`.
  AffineExpr newSymbol(Value v, StringRef name = "");
  AffineExpr simplify(AffineExpr e);
  static std::optional<int64_t> constantOf(AffineExpr e);
  /// a / b for sizes: cancels common factors of products; floordiv otherwise.
  AffineExpr divide(AffineExpr a, AffineExpr b);
  AffineExpr product(ArrayRef<AffineExpr> dims);
  /// An index value computing `e`.
  Value materialize(AffineExpr e);
  SmallVector<OpFoldResult> mixedSizes(ArrayRef<AffineExpr> shape);
  SmallVector<Value> dynamicSizes(ArrayRef<AffineExpr> shape);
  RankedTensorType tensorType(ArrayRef<AffineExpr> shape, Type elementType);
  /// Renders `e` over the named symbols ("seq + 3"); empty if it uses an
  /// unnamed symbol.
  std::string render(AffineExpr e);

  //===--------------------------------------------------------------------===//
  // Values
  //===--------------------------------------------------------------------===//

  /// The IR value of `t`, emitting its constant or contents on first use.
  Value get(Tensor &t);
  /// A tensor from an IR value; its static sizes are kept, dynamic ones get
  /// fresh symbols bound to tensor.dim.
  Tensor fromValue(Value v);
  /// A tensor from an IR value whose shape is `shape` (tensor.cast inserted
  /// when the static sizes differ).
  Tensor fromValue(Value v, ArrayRef<AffineExpr> shape);
  Tensor fromElems(Type elementType, ArrayRef<AffineExpr> elems, bool scalar);
  /// The contents of `t` as integers, when compile-time constant.
  std::optional<SmallVector<int64_t>> constInts(const Tensor &t);
  /// The contents of `t` as doubles, when a compile-time constant.
  std::optional<SmallVector<double>> constFloats(const Tensor &t);
  /// Symbolic contents of a rank <= 1 integer tensor; falls back to runtime
  /// extraction (fresh symbols) when they are not known.
  FailureOr<SmallVector<AffineExpr>> elemsOf(const Node &n, Tensor &t,
                                             StringRef what);
  Value emptyTensor(ArrayRef<AffineExpr> shape, Type elementType);
  Value filledTensor(ArrayRef<AffineExpr> shape, Type elementType,
                     TypedAttr value);
  Value scalarConstant(Type type, double value);
  /// Broadcast shape of `shapes` (numpy rules); fails on a static mismatch.
  FailureOr<SmallVector<AffineExpr>>
  broadcastShapes(const Node &n, ArrayRef<ArrayRef<AffineExpr>> shapes);
  /// The indexing map reading an input of shape `in` inside loops over the
  /// broadcast shape `out`.
  AffineMap broadcastMap(ArrayRef<AffineExpr> in, ArrayRef<AffineExpr> out);
  /// A linalg.generic over the broadcast shape of `ins` computing `body` on
  /// the scalar inputs.
  using ScalarBody = std::function<Value(OpBuilder &, Location, ValueRange)>;
  FailureOr<Tensor> elementwise(const Node &n, ArrayRef<Tensor *> ins,
                                Type resultType, const ScalarBody &body);
  Value castScalar(OpBuilder &b, Location loc, Value v, Type to);
  Value castTensor(Tensor &t, Type to, Location loc);

  /// `x` viewed with `shape` (same number of elements).
  Tensor reshape(Tensor &x, ArrayRef<AffineExpr> shape, Location loc);
  /// `x` broadcast to `shape` (a broadcast-compatible shape of rank >= x's).
  Tensor broadcastTo(Tensor &x, ArrayRef<AffineExpr> shape, Location loc);
  /// `parts` (same rank and element type, equal sizes off `axis`) joined
  /// along `axis`.
  Tensor concat(ArrayRef<Tensor *> parts, int64_t axis, Location loc);
  /// `x` with its dimensions permuted: result dim i is x's dim perm[i].
  Tensor transpose(Tensor &x, ArrayRef<int64_t> perm, Location loc);

  /// Normalizes an axis attribute/input against `rank`.
  FailureOr<int64_t> normalizeAxis(const Node &n, int64_t axis, int64_t rank);

  void define(const Node &n, size_t output, Tensor t);

  //===--------------------------------------------------------------------===//
  // Op handlers (ElementwiseOps.cpp, ShapeOps.cpp, ComputeOps.cpp)
  //===--------------------------------------------------------------------===//

  using Handler = LogicalResult (Importer::*)(Node &);
  static const llvm::StringMap<Handler> &handlers();

  LogicalResult importUnary(Node &n);
  LogicalResult importBinary(Node &n);
  LogicalResult importVariadic(Node &n);
  LogicalResult importCompare(Node &n);
  LogicalResult importLogical(Node &n);
  LogicalResult importNot(Node &n);
  LogicalResult importIsNaN(Node &n);
  LogicalResult importWhere(Node &n);
  LogicalResult importCast(Node &n);
  LogicalResult importClip(Node &n);
  LogicalResult importPow(Node &n);
  LogicalResult importIdentity(Node &n);
  LogicalResult importConstant(Node &n);
  LogicalResult importConstantOfShape(Node &n);

  LogicalResult importShape(Node &n);
  LogicalResult importReshape(Node &n);
  LogicalResult importTranspose(Node &n);
  LogicalResult importSqueeze(Node &n);
  LogicalResult importUnsqueeze(Node &n);
  LogicalResult importConcat(Node &n);
  LogicalResult importSlice(Node &n);
  LogicalResult importSplit(Node &n);
  LogicalResult importPad(Node &n);
  LogicalResult importExpand(Node &n);
  LogicalResult importGather(Node &n);
  LogicalResult importGatherND(Node &n);
  LogicalResult importRange(Node &n);
  LogicalResult importTrilu(Node &n);

  LogicalResult importMatMul(Node &n);
  LogicalResult importGemm(Node &n);
  LogicalResult importConv(Node &n);
  LogicalResult importReduce(Node &n);
  LogicalResult importSoftmax(Node &n);
  LogicalResult importCumSum(Node &n);
  LogicalResult importLayerNorm(Node &n);

  LogicalResult importAttention(Node &n);
  LogicalResult importRotaryEmbedding(Node &n);
  LogicalResult importCausalConvWithState(Node &n);
  LogicalResult importLinearAttention(Node &n);
  /// The custom ai.ssmc domain: one op per ssm dialect op.
  LogicalResult importSSMC(Node &n);

  /// Imports MatMul node `n` as ssm.attention when it ends a decomposed
  /// attention subgraph (Recognize.cpp); false (nothing emitted, no error)
  /// otherwise.
  bool recognizeAttention(Node &n);
  /// Imports Slice node `n` as ssm.causal_conv1d when it ends a causal
  /// depthwise convolution (Conv with left padding k - 1, then the first L
  /// outputs; RecognizeSSM.cpp); false otherwise.
  bool recognizeCausalConv(Node &n);
  /// Imports MatMul node `n` as ssm.ssd when it ends the quadratic SSD form
  /// (RecognizeSSM.cpp); false otherwise.
  bool recognizeSSD(Node &n);

  //===--------------------------------------------------------------------===//
  // The sequence axis (Sequence.cpp)
  //===--------------------------------------------------------------------===//

  /// Finds the token input (the first integer graph input of rank >= 2 with
  /// a symbolic dim 1) and the symbol of its sequence length.
  void findTokenInput(func::FuncOp func);
  /// Whether size `e` depends on the sequence length.
  bool involvesSeq(AffineExpr e);
  /// Imports Range node `n` (start, limit, step) as ssm.token_positions when
  /// it is Range(0, seq, 1); false (nothing emitted) otherwise.
  bool recognizePositions(Node &n, AffineExpr start, AffineExpr limit,
                          int64_t step);
  /// Why imported node `n` exchanges data between tokens outside an ssm op,
  /// or "" when it does not (as far as the check sees).
  std::string tokenMixingReason(const Node &n);

  /// The graph's node producing value `name`, or null (graph inputs,
  /// initializers).
  const onnx::NodeProto *producer(StringRef name) const {
    auto it = producers.find(name);
    return it == producers.end() ? nullptr : it->second;
  }
  /// Uses of value `name` as a node input or graph output.
  unsigned useCount(StringRef name) const { return useCounts.lookup(name); }
  /// The imported tensor `name`, or null.
  Tensor *lookup(StringRef name) {
    auto it = values.find(name);
    return it == values.end() ? nullptr : &it->second;
  }

  /// Verifies a newly created op; on failure erases it and reports the
  /// verifier's message as the node's error.
  LogicalResult verifyCreated(const Node &n, Operation *op);

  /// Reduces `x` over `axes` (sorted, unique) with `combine`, starting from
  /// `init`; keeps the reduced dims as size 1 when `keepDims`.
  Tensor reduce(
      Tensor &x, ArrayRef<int64_t> axes, bool keepDims, TypedAttr init,
      const std::function<Value(OpBuilder &, Location, Value, Value)> &combine,
      Location loc);

  MLIRContext *context;
  OpBuilder builder;

private:
  LogicalResult importGraph(func::FuncOp &func);
  LogicalResult importInitializer(const onnx::TensorProto &proto);
  FailureOr<DenseElementsAttr> tensorAttr(const onnx::TensorProto &proto,
                                          const Twine &what);
  LogicalResult importNode(const onnx::NodeProto &proto);
  std::string signatureJSON(func::FuncOp func);

  const onnx::ModelProto &model;
  std::string modelDir;
  std::string &error;
  llvm::StringMap<int64_t> opsets;
  llvm::StringMap<Tensor> values;
  llvm::StringMap<const onnx::NodeProto *> producers;
  llvm::StringMap<unsigned> useCounts;
  SmallVector<Value> symbolValues;
  SmallVector<std::string> symbolNames;
  llvm::StringMap<AffineExpr> namedSymbols;
  DenseMap<AffineExpr, Value> materialized;
  struct IOInfo {
    std::string name;
    int32_t dtype;
    SmallVector<AffineExpr> dims;
  };
  SmallVector<IOInfo> inputsInfo, outputsInfo;
  size_t currentNodeIndex = 0;
  /// The token input and its sequence-length symbol (findTokenInput).
  Value tokenInput;
  std::optional<AffineExpr> seqSymbol;
  bool negativeSize = false;
};

/// A Tensor for a constant; small integer vectors also carry their contents.
Tensor makeConstantTensor(Importer &imp, DenseElementsAttr attr);

/// MLIR element type of an ONNX TensorProto data type, or null.
Type elementTypeOf(MLIRContext *context, int32_t onnxType);
/// The JSON dtype name of an ONNX data type.
StringRef dtypeName(int32_t onnxType);

} // namespace mlir::ssm::onnx_frontend

#endif // SSM_LIB_FRONTEND_ONNX_IMPORTER_H
