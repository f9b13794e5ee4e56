//===- FoldTransposes.cpp - Transposed contraction operands in place ------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "ssm/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMFOLDTRANSPOSES
#include "ssm/Transforms/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;
using namespace mlir::ssm;

namespace {
struct SSMFoldTransposes
    : mlir::ssm::impl::SSMFoldTransposesBase<SSMFoldTransposes> {
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> ops;
    getOperation()->walk([&](linalg::GenericOp op) {
      if (op.getNumReductionLoops() > 0 && op.hasPureTensorSemantics())
        ops.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::GenericOp op : ops) {
      SmallVector<AffineMap> maps = op.getIndexingMapsArray();
      bool changed = false;
      for (OpOperand *operand : op.getDpsInputOperands()) {
        auto t = operand->get().getDefiningOp<linalg::TransposeOp>();
        if (!t)
          continue;
        // result[i] = input[j] with j[perm[i]] = i: the input's dim perm[i]
        // is read with the consumer's result i.
        ArrayRef<int64_t> perm = t.getPermutation();
        AffineMap map = maps[operand->getOperandNumber()];
        SmallVector<AffineExpr> exprs(map.getNumResults());
        for (auto [i, p] : llvm::enumerate(perm))
          exprs[p] = map.getResult(i);
        maps[operand->getOperandNumber()] = AffineMap::get(
            map.getNumDims(), map.getNumSymbols(), exprs, op.getContext());
        rewriter.modifyOpInPlace(op, [&] { operand->set(t.getInput()); });
        changed = true;
      }
      if (changed)
        rewriter.modifyOpInPlace(op, [&] {
          op.setIndexingMapsAttr(rewriter.getAffineMapArrayAttr(maps));
        });
    }
    // Transposes left without users.
    getOperation()->walk([&](linalg::TransposeOp t) {
      if (t->use_empty())
        rewriter.eraseOp(t);
    });
  }
};
} // namespace
