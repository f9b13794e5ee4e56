//===- TestMixingMatrix.cpp - Test pass returning mixing matrices ---------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// -test-ssm-mixing-matrix: in every function, each mixer's materialized
// mixing matrix (MixerOpInterface::materializeMixingMatrix) becomes what the
// function returns, so that tests can execute and check it directly.
//
//===----------------------------------------------------------------------===//

#include "ssm/Dialect/SSM/IR/SSMOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassRegistry.h"

using namespace mlir;
using namespace mlir::ssm;

namespace {
struct TestMixingMatrixPass
    : public PassWrapper<TestMixingMatrixPass, OperationPass<func::FuncOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(TestMixingMatrixPass)
  StringRef getArgument() const final { return "test-ssm-mixing-matrix"; }
  StringRef getDescription() const final {
    return "Make each function return the materialized mixing matrices of "
           "its mixers (for tests)";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry
        .insert<arith::ArithDialect, linalg::LinalgDialect, math::MathDialect,
                scf::SCFDialect, tensor::TensorDialect>();
  }
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    SmallVector<MixerOpInterface> mixers;
    func.walk([&](MixerOpInterface op) { mixers.push_back(op); });
    if (mixers.empty())
      return;
    // The matrices are returned from the function's single block, so the
    // mixers must be in it (a test pass: callers are not updated).
    if (!func.getBody().hasOneBlock()) {
      func.emitError() << "-test-ssm-mixing-matrix needs a single-block "
                          "function";
      return signalPassFailure();
    }
    for (MixerOpInterface mixer : mixers) {
      if (mixer->getBlock() != &func.getBody().front()) {
        mixer->emitOpError() << "must be in the function body for "
                                "-test-ssm-mixing-matrix";
        return signalPassFailure();
      }
    }
    SmallVector<Value> matrices;
    for (MixerOpInterface mixer : mixers) {
      OpBuilder b(mixer);
      FailureOr<Value> m = mixer.materializeMixingMatrix(b);
      if (failed(m)) {
        mixer->emitOpError() << "could not materialize its mixing matrix";
        return signalPassFailure();
      }
      matrices.push_back(*m);
    }
    auto ret = dyn_cast<func::ReturnOp>(func.getBody().back().getTerminator());
    if (!ret) {
      func.emitError() << "expected a func.return terminator";
      return signalPassFailure();
    }
    OpBuilder b(ret);
    func::ReturnOp::create(b, ret.getLoc(), matrices);
    ret.erase();
    func.setFunctionType(FunctionType::get(func.getContext(),
                                           func.getArgumentTypes(),
                                           ValueRange(matrices).getTypes()));
    for (MixerOpInterface mixer : mixers)
      if (mixer->use_empty())
        mixer->erase();
  }
};
} // namespace

namespace mlir::ssm::test {
void registerTestMixingMatrixPass() {
  PassRegistration<TestMixingMatrixPass>();
}
} // namespace mlir::ssm::test
