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
#include "llvm/Support/CrashRecoveryContext.h"
#include "llvm/Support/Signals.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>

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

  // Some upstream custom parsers crash on malformed input after reporting the
  // error (linalg.transpose with `permutation = [0, ?]` stores the null
  // attribute its failed parse returns). Run the driver under crash recovery:
  // a crash after diagnostics were printed ends as the error it follows
  // (exit 1); a crash before any output is an internal error (exit 70), which
  // the fuzz tests treat as a failure.
  // The stack dump also goes to stderr: note how much was written before it.
  static uint64_t before = 0, atCrash = 0;
  before = atCrash = llvm::errs().tell();
  llvm::sys::AddSignalHandler([](void *) { atCrash = llvm::errs().tell(); },
                              nullptr);
  llvm::CrashRecoveryContext::Enable();
  llvm::CrashRecoveryContext crc;
  crc.DumpStackAndCleanupOnFailure = true;
  mlir::LogicalResult result = mlir::failure();
  if (crc.RunSafely([&] {
        result = mlir::MlirOptMain(argc, argv, "SSMC pass driver\n", registry);
      }))
    return mlir::asMainReturnCode(result);
  llvm::outs().flush();
  if (atCrash > before) {
    llvm::errs() << "ssm-opt: error: MLIR crashed after reporting the "
                    "errors above; the input is invalid\n";
    std::_Exit(1);
  }
  llvm::errs() << "ssm-opt: internal error: MLIR crashed\n";
  std::_Exit(70);
}
