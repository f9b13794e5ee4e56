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

/// Parses a fixed upstream pipeline text into `pm`: failing to parse it
/// means an upstream pass or option changed.
static void addUpstream(OpPassManager &pm, const Twine &text) {
  if (failed(parsePassPipeline(text.str(), pm, llvm::errs())))
    llvm::report_fatal_error("ssm pipeline: upstream pipeline text no longer "
                             "parses");
}

void mlir::ssm::addAlgorithmPasses(OpPassManager &pm, MixerForm form,
                                   int64_t chunkSize, bool fuseAttention,
                                   bool fuseSSD) {
  if (fuseAttention)
    pm.addPass(createSSMFuseAttention());
  if (fuseSSD)
    pm.addPass(createSSMFuseSSD());
  if (form == MixerForm::Chunked) {
    pm.addPass(createSSMSelectChunkSizes(
        SSMSelectChunkSizesOptions{std::max<int64_t>(chunkSize, 0)}));
    pm.addPass(createSSMChunkMixers());
  }
  if (form == MixerForm::Recurrent)
    pm.addPass(createSSMMixersToRecurrent());
  else
    pm.addPass(createSSMMaterializeMixers());
  pm.addPass(createConvertSSMToLinalg());
  pm.addPass(createSSMStripStopGradients());
  addUpstream(pm, "convert-elementwise-to-linalg,canonicalize,cse");
  pm.addPass(createSSMFoldTransposes());
  pm.addPass(createSSMTransposeConstantWeights());
  pm.addPass(createSSMFuseElementwise());
  addUpstream(pm, "canonicalize,cse");
}

void mlir::ssm::addBufferizePasses(OpPassManager &pm) {
  addUpstream(pm, "one-shot-bufferize{bufferize-function-boundaries "
                  "function-boundary-type-conversion=identity-layout-map "
                  "allow-return-allocs-from-loops}");
  pm.addNestedPass<func::FuncOp>(createSSMIdentityLayoutResults());
  addUpstream(pm,
              "buffer-deallocation-pipeline,convert-bufferization-to-memref");
  pm.addPass(createSSMMemrefCopyToLinalg());
}

void mlir::ssm::addTargetPasses(OpPassManager &pm, bool modelLibrary) {
  pm.addPass(createSSMCPUContractionKernels());
  pm.addPass(createSSMCPULoopOrder());
  pm.addPass(createSSMCPUParallelLoops());
  pm.addPass(createSSMMergeParallelBodies());
  pm.addPass(createSSMCPUMathApproximation());
  addUpstream(pm, "convert-linalg-to-loops,expand-strided-metadata,"
                  "lower-affine,convert-scf-to-cf,"
                  "convert-vector-to-llvm{reassociate-fp-reductions=1},"
                  "convert-math-to-llvm,convert-math-to-libm,"
                  "convert-arith-to-llvm,convert-index-to-llvm");
  addUpstream(pm, modelLibrary
                      ? "finalize-memref-to-llvm{use-generic-functions=1}"
                      : "finalize-memref-to-llvm");
  addUpstream(pm, "convert-cf-to-llvm,convert-func-to-llvm,"
                  "reconcile-unrealized-casts");
  if (modelLibrary)
    pm.addPass(createSSMLowerParallelCalls());
}

/// The GPU targets' common start: linalg on buffers to outlined GPU kernels
/// (ssm-linalg-to-gpu), the host's buffers in device memory
/// (ssm-gpu-device-buffers), exp, log and tanh as the CPU target's
/// polynomials and the other transcendental functions as upstream's
/// approximations (no device math library is needed), then the kernels
/// outlined.
static void addGPUKernelPasses(OpPassManager &pm, bool subgroupReductions,
                               StringRef tensorCores = "none") {
  addUpstream(pm, "linalg-generalize-named-ops");
  SSMLinalgToGPUOptions linalgToGPU;
  linalgToGPU.subgroupReductions = subgroupReductions;
  linalgToGPU.tensorCores = tensorCores.str();
  pm.addPass(createSSMLinalgToGPU(linalgToGPU));
  pm.addPass(createSSMGPUDeviceBuffers());
  pm.addPass(createSSMCPUMathApproximation(
      SSMCPUMathApproximationOptions{/*allFunctions=*/true}));
  // Constants (hoisted out of the launches by the rewrites above) go back
  // into the kernels rather than becoming kernel arguments: immediates the
  // device compiler can fold, and no vector-typed arguments.
  addUpstream(pm, "gpu-launch-sink-index-computations,gpu-kernel-outlining,"
                  "canonicalize,cse");
}

void mlir::ssm::addCUDATargetPasses(OpPassManager &pm,
                                    const CUDATargetOptions &options) {
  // Tensor cores (mma.sync on TF32) from sm_80 on.
  StringRef digits = options.chip;
  unsigned version = 0;
  bool tensorCores =
      digits.consume_front("sm_") &&
      !digits.take_while(llvm::isDigit).getAsInteger(10, version) &&
      version >= 80 && options.matmulPrecision != "ieee";
  // The rest of math (sqrt, fma, abs, rounding) are NVPTX instructions.
  addGPUKernelPasses(pm, /*subgroupReductions=*/false,
                     tensorCores ? options.matmulPrecision : "none");
  // Math is left to convert-math-to-llvm (NVPTX instructions), not to
  // convert-gpu-to-nvvm's libdevice calls.
  addUpstream(pm, "gpu.module(lower-affine,convert-scf-to-cf,"
                  "convert-nvgpu-to-nvvm,"
                  "convert-gpu-to-nvvm{allowed-dialects=arith,cf,func,index,"
                  "memref,ub,vector},convert-math-to-llvm,"
                  "reconcile-unrealized-casts,"
                  "canonicalize,cse)");
  addUpstream(pm, "nvvm-attach-target{chip=" + options.chip +
                      " features=+ptx80 O=" + std::to_string(options.optLevel) +
                      "}");
  addUpstream(pm, "expand-strided-metadata,lower-affine,convert-scf-to-cf,"
                  "convert-math-to-llvm,convert-math-to-libm,"
                  "convert-arith-to-llvm,convert-index-to-llvm,"
                  // Before gpu-to-llvm, which would lower memref.alloc to
                  // malloc: buffers come from the support code.
                  "finalize-memref-to-llvm{use-generic-functions=1},"
                  "gpu-to-llvm,convert-cf-to-llvm,convert-func-to-llvm,"
                  "reconcile-unrealized-casts");
  pm.addPass(createSSMGPUDeviceConstants());
  std::string binary = "gpu-module-to-binary{format=" + options.format;
  if (!options.toolkit.empty())
    binary += " toolkit=" + options.toolkit;
  addUpstream(pm, binary + "}");
}

void mlir::ssm::addVulkanTargetPasses(OpPassManager &pm,
                                      const VulkanTargetOptions &options) {
  // The rest of math becomes GLSL.std.450 instructions. Block reductions
  // get subgroup variants, used where the device has subgroup arithmetic.
  addGPUKernelPasses(pm, /*subgroupReductions=*/true);
  // What the kernels may use; spirv-update-vce keeps what each module needs,
  // and the runtime enables the matching device features.
  addUpstream(pm,
              "spirv-attach-target{ver=v1.3 client_api=Vulkan "
              "caps=Shader,Int64,Int16,Int8,Float64,StorageBuffer8BitAccess,"
              "StorageBuffer16BitAccess,GroupNonUniform,"
              "GroupNonUniformArithmetic "
              "exts=SPV_KHR_storage_buffer_storage_class,"
              "SPV_KHR_8bit_storage,SPV_KHR_16bit_storage}");
  pm.addPass(createSSMGPUVulkanKernelABI());
  addUpstream(pm, "gpu.module(lower-affine,arith-expand,convert-math-to-spirv,"
                  "canonicalize,cse)");
  addUpstream(pm, "convert-gpu-to-spirv");
  addUpstream(pm, "spirv.module(spirv-lower-abi-attrs,spirv-update-vce,"
                  "canonicalize)");
  pm.addPass(createSSMGPUSerializeSPIRV(SSMGPUSerializeSPIRVOptions{
      options.validator, /*validatorEnv=*/"vulkan1.1"}));
  addUpstream(pm, "canonicalize,cse,expand-strided-metadata,lower-affine,"
                  "convert-scf-to-cf,convert-math-to-llvm,convert-math-to-libm,"
                  "convert-arith-to-llvm,convert-index-to-llvm,"
                  "finalize-memref-to-llvm{use-generic-functions=1},"
                  "gpu-to-llvm{use-bare-pointers-for-kernels=1},"
                  "convert-cf-to-llvm,convert-func-to-llvm,"
                  "reconcile-unrealized-casts");
  pm.addPass(createSSMGPUDeviceConstants());
}

void mlir::ssm::buildLowerToLLVMPipeline(OpPassManager &pm,
                                         const LowerToLLVMOptions &options) {
  addAlgorithmPasses(pm, options.mixerForm, options.chunkSize);
  addBufferizePasses(pm);
  addTargetPasses(pm);
}

void mlir::ssm::registerSSMPipelines() {
  PassPipelineRegistration<LowerToLLVMOptions>(
      "ssm-lower-to-llvm",
      "Lower ssm ops (mixers in quadratic or recurrent form) through linalg "
      "and bufferization to the LLVM dialect, for execution with mlir-runner",
      buildLowerToLLVMPipeline);
}
