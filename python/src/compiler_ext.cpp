//===- compiler_ext.cpp - Python bindings of the compiler -----------------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// ssmc._compiler: the compiler behind ssmc, in process (CompileAPI.h). Kept
// apart from ssmc._runtime so that loading and running a model never loads
// MLIR and LLVM; ssmc.compile imports it on first use.
//
//===----------------------------------------------------------------------===//

#include "ssm/Compiler/CompileAPI.h"

#include <nanobind/nanobind.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

namespace nb = nanobind;

NB_MODULE(_compiler, m) {
  m.doc() = "The SSMC compiler, in process (internal; use ssmc.compile).";
  m.def(
      "compile",
      [](const std::string &input, const std::string &output,
         const std::string &target, const std::string &emit,
         const std::string &compileTo, const std::string &mixerForm,
         const std::string &generation, const std::string &prefillLogits,
         int64_t chunkSize, int64_t optLevel, int64_t constantDataThreshold,
         const std::string &cudaArch, const std::string &cudaFormat,
         const std::string &cudaToolkit, bool gradients, bool train,
         const std::string &trainLoss, double temperature, double labelWeight,
         double adamBeta1, double adamBeta2, double adamEps, double weightDecay,
         double maxGradNorm, const std::vector<std::string> &frozen,
         bool hiddenStates, const std::string &spirvVal, bool fusedAttention,
         bool fusedSSD, const std::string &matmulPrecision) {
        mlir::ssm::CompileRequest r;
        r.input = input;
        r.output = output;
        r.target = target;
        r.emit = emit;
        r.compileTo = compileTo;
        r.mixerForm = mixerForm;
        r.generation = generation;
        r.prefillLogits = prefillLogits;
        r.chunkSize = chunkSize;
        r.optLevel = optLevel;
        r.constantDataThreshold = constantDataThreshold;
        r.cudaArch = cudaArch;
        r.cudaFormat = cudaFormat;
        r.cudaToolkit = cudaToolkit;
        r.gradients = gradients;
        r.train = train;
        r.trainLoss = trainLoss;
        r.temperature = temperature;
        r.labelWeight = labelWeight;
        r.adamBeta1 = adamBeta1;
        r.adamBeta2 = adamBeta2;
        r.adamEps = adamEps;
        r.weightDecay = weightDecay;
        r.maxGradNorm = maxGradNorm;
        r.frozen = frozen;
        r.hiddenStates = hiddenStates;
        r.spirvVal = spirvVal;
        r.fusedAttention = fusedAttention;
        r.fusedSSD = fusedSSD;
        r.matmulPrecision = matmulPrecision;
        std::string diagnostics;
        bool ok;
        {
          nb::gil_scoped_release unlocked;
          ok = mlir::ssm::compile(r, diagnostics);
        }
        return std::make_pair(ok, diagnostics);
      },
      nb::arg("input"), nb::arg("output"), nb::arg("target"), nb::arg("emit"),
      nb::arg("compile_to"), nb::arg("mixer_form"), nb::arg("generation"),
      nb::arg("prefill_logits"), nb::arg("chunk_size"), nb::arg("opt_level"),
      nb::arg("constant_data_threshold"), nb::arg("cuda_arch"),
      nb::arg("cuda_format"), nb::arg("cuda_toolkit"), nb::arg("gradients"),
      nb::arg("train"), nb::arg("train_loss"), nb::arg("temperature"),
      nb::arg("label_weight"), nb::arg("adam_beta1"), nb::arg("adam_beta2"),
      nb::arg("adam_eps"), nb::arg("weight_decay"), nb::arg("max_grad_norm"),
      nb::arg("frozen"), nb::arg("hidden_states"), nb::arg("spirv_val"),
      nb::arg("fused_attention"), nb::arg("fused_ssd"),
      nb::arg("matmul_precision"),
      "Compiles as ssmc does; returns (ok, diagnostics text).");
}
