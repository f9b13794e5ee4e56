//===- Contraction.cpp - Matching multiply-add contractions ---------------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "ssm/Transforms/Contraction.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;

/// The term that the body of `op` adds to its one init, `out + term` (in
/// either order), when the op has `inputs` inputs and its body `ops` ops
/// (the yield included); null otherwise.
static Value accumulatedTerm(linalg::GenericOp op, unsigned inputs,
                             unsigned ops) {
  if (op.getNumDpsInputs() != inputs || op.getNumDpsInits() != 1)
    return Value();
  Block &body = op.getRegion().front();
  if (body.getNumArguments() != inputs + 1 ||
      body.getOperations().size() != ops)
    return Value();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  auto add = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add)
    return Value();
  Value out = body.getArgument(inputs);
  if (add.getLhs() == out)
    return add.getRhs();
  if (add.getRhs() == out)
    return add.getLhs();
  return Value();
}

bool mlir::ssm::isMultiplyAdd(linalg::GenericOp op) {
  Value term = accumulatedTerm(op, 2, 3);
  if (!term)
    return false;
  auto mul = term.getDefiningOp<arith::MulFOp>();
  if (!mul)
    return false;
  Block &body = op.getRegion().front();
  Value a = body.getArgument(0), b = body.getArgument(1);
  return (mul.getLhs() == a && mul.getRhs() == b) ||
         (mul.getLhs() == b && mul.getRhs() == a);
}

/// Collects into `leaves` the factors of the product tree rooted at `v`:
/// `arith.mulf` ops used once (by the tree) down to non-products.
static void collectFactors(Value v, SmallVectorImpl<Value> &leaves,
                           unsigned &products) {
  auto mul = v.getDefiningOp<arith::MulFOp>();
  if (!mul || (products > 0 && !v.hasOneUse())) {
    leaves.push_back(v);
    return;
  }
  ++products;
  collectFactors(mul.getLhs(), leaves, products);
  collectFactors(mul.getRhs(), leaves, products);
}

bool mlir::ssm::isScaledMultiplyAdd(linalg::GenericOp op) {
  Value term = accumulatedTerm(op, 3, 4);
  if (!term)
    return false;
  SmallVector<Value> leaves;
  unsigned products = 0;
  collectFactors(term, leaves, products);
  if (products != 2 || leaves.size() != 3)
    return false;
  Block &body = op.getRegion().front();
  for (unsigned i = 0; i < 3; ++i)
    if (llvm::count(leaves, body.getArgument(i)) != 1)
      return false;
  return true;
}
