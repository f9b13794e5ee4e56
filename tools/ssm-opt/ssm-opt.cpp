//===- ssm-opt.cpp - The SSMC pass driver ---------------------------------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Like mlir-opt, with the ssm dialect, the upstream dialects its lowerings
// produce, SSMC's passes and pipelines, and the upstream passes.
//
//===----------------------------------------------------------------------===//

#include "ssm/Conversion/Passes.h"
#include "ssm/Dialect/SSM/IR/SSMDialect.h"
#include "ssm/Transforms/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

namespace mlir::ssm::test {
void registerTestMixingMatrixPass();
} // namespace mlir::ssm::test

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  mlir::ssm::registerSSMTransformsPasses();
  mlir::ssm::registerSSMConversionPasses();
  mlir::ssm::registerSSMPipelines();
  mlir::ssm::test::registerTestMixingMatrixPass();

  mlir::DialectRegistry registry;
  registry.insert<mlir::ssm::SSMDialect>();
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  // gpu-module-to-binary translates the kernels to LLVM IR.
  mlir::registerAllToLLVMIRTranslations(registry);
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "SSMC pass driver\n", registry));
}
