//===- CompileAPI.h - Compile a model, with options as text -----*- C++ -*-===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// compileModel (Compiler.h) behind plain types, with each option as the text
// `ssmc` takes on its command line: for callers built apart from MLIR's
// headers and flags (the Python extension, built with RTTI and exceptions).
//
//===----------------------------------------------------------------------===//

#ifndef SSM_COMPILER_COMPILEAPI_H
#define SSM_COMPILER_COMPILEAPI_H

#include <cstdint>
#include <string>
#include <vector>

namespace mlir::ssm {

struct CompileRequest {
  std::string input;                      ///< .onnx or .mlir file
  std::string output;                     ///< output file
  std::string target = "cpu";             ///< cpu | cuda | vulkan
  std::string cudaArch = "sm_80";         ///< sm_XX[a]
  std::string cudaFormat = "auto";        ///< auto | ptx | fatbin
  std::string cudaToolkit;                ///< empty: found
  std::string spirvVal = "auto";          ///< auto | on | off (vulkan)
  bool fusedAttention = true;             ///< GPU: attention as one kernel
  bool fusedSSD = true;                   ///< GPU: SSD as fused kernels
  std::string matmulPrecision = "ieee";   ///< CUDA: ieee | tf32x3 | tf32
  std::string emit = "auto";              ///< auto | mlir | llvm | obj | so
  std::string compileTo = "serialize";    ///< import | graph | ... | serialize
  std::string mixerForm = "chunked";      ///< chunked | quadratic | recurrent
  std::string generation = "auto";        ///< auto | on | off
  std::string prefillLogits = "last";     ///< last | all
  int64_t chunkSize = 0;                  ///< 0: the cost model
  int64_t optLevel = 2;                   ///< 0..3
  int64_t constantDataThreshold = 65536;  ///< bytes; 0: none
  bool gradients = false; ///< parameters as arguments, main_grad
  bool train = false;     ///< loss, loss_grad, train_step
  std::string trainLoss =
      "cross-entropy"; ///< distillation, hidden-alignment, matrix-orientation
  double temperature = 1.0; ///< distillation temperature
  double labelWeight = 0.0; ///< distillation: cross-entropy weight
  double adamBeta1 = 0.9;   ///< train_step's AdamW
  double adamBeta2 = 0.95;
  double adamEps = 1e-8;
  double weightDecay = 0.1;
  double maxGradNorm = 1.0;        ///< global gradient norm clip; 0: none
  std::vector<std::string> frozen; ///< parameter globs not trained
  bool hiddenStates = false;       ///< hidden_states, mixing_matrices
};

/// Compiles as `ssmc` does. Returns true on success. Errors and notes, the
/// way `ssmc` prints them, are appended to `diagnostics`; an option value
/// that `ssmc` would not take is an error.
bool compile(const CompileRequest &request, std::string &diagnostics);

} // namespace mlir::ssm

#endif // SSM_COMPILER_COMPILEAPI_H
