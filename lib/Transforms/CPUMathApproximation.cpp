//===- CPUMathApproximation.cpp - Vectorizable math functions -------------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "ssm/Transforms/Passes.h"

#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMCPUMATHAPPROXIMATION
#include "ssm/Transforms/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;

namespace {
struct SSMCPUMathApproximation
    : mlir::ssm::impl::SSMCPUMathApproximationBase<SSMCPUMathApproximation> {
  using Base::Base;

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(patterns, [](StringRef name) {
      name.consume_front("math.");
      return llvm::is_contained({"exp", "expm1", "log", "log1p", "tanh"}, name);
    });
    if (allFunctions) {
      // The preferred polynomials above win over upstream's others.
      populateMathF32ExpansionPatterns(patterns, [](StringRef) { return true; });
      populateMathPolynomialApproximationPatterns(
          patterns, [](StringRef) { return true; }, /*benefit=*/0);
    }
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
