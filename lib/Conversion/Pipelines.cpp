//===- Pipelines.cpp - The ssm-lower-to-llvm pipeline ---------------------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "ssm/Conversion/Passes.h"
#include "ssm/Transforms/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"

using namespace mlir;
using namespace mlir::ssm;

void mlir::ssm::buildLowerToLLVMPipeline(OpPassManager &pm,
                                         const LowerToLLVMOptions &options) {
  if (options.mixerForm == MixerForm::Quadratic)
    pm.addPass(createSSMMaterializeMixers());
  else
    pm.addPass(createSSMMixersToRecurrent());
  pm.addPass(createConvertSSMToLinalg());
  // Upstream from here on: bufferize, lower to loops, then to LLVM. The text
  // is fixed: failing to parse it means an upstream pass or option changed.
  if (failed(parsePassPipeline(
          "convert-elementwise-to-linalg,canonicalize,cse,"
          "one-shot-bufferize{bufferize-function-boundaries "
          "function-boundary-type-conversion=identity-layout-map "
          "allow-return-allocs-from-loops},"
          "buffer-deallocation-pipeline,"
          "convert-linalg-to-loops,expand-strided-metadata,lower-affine,"
          "convert-scf-to-cf,convert-math-to-llvm,convert-math-to-libm,"
          "convert-arith-to-llvm,convert-index-to-llvm,finalize-memref-to-llvm,"
          "convert-cf-to-llvm,convert-func-to-llvm,reconcile-unrealized-casts",
          pm, llvm::errs())))
    llvm::report_fatal_error("ssm-lower-to-llvm: upstream pipeline text no "
                             "longer parses");
}

void mlir::ssm::registerSSMPipelines() {
  PassPipelineRegistration<LowerToLLVMOptions>(
      "ssm-lower-to-llvm",
      "Lower ssm ops (mixers in quadratic or recurrent form) through linalg "
      "and bufferization to the LLVM dialect, for execution with mlir-runner",
      buildLowerToLLVMPipeline);
}
