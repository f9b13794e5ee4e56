//===- Passes.h - SSM conversion passes and pipelines -----------*- C++ -*-===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#ifndef SSM_CONVERSION_PASSES_H
#define SSM_CONVERSION_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/UB/IR/UBOps.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir::ssm {

#define GEN_PASS_DECL
#include "ssm/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "ssm/Conversion/Passes.h.inc"

/// How the reference pipeline lowers mixers.
enum class MixerForm { Quadratic, Recurrent, Chunked };

/// Options of the `ssm-lower-to-llvm` pipeline.
struct LowerToLLVMOptions : public PassPipelineOptions<LowerToLLVMOptions> {
  PassOptions::Option<MixerForm> mixerForm{
      *this, "mixer-form", llvm::cl::desc("How mixers are lowered"),
      llvm::cl::init(MixerForm::Quadratic),
      llvm::cl::values(
          clEnumValN(MixerForm::Quadratic, "quadratic",
                     "materialized mixing matrix (ssm-materialize-mixers)"),
          clEnumValN(MixerForm::Recurrent, "recurrent",
                     "loop of single-token steps (ssm-mixers-to-recurrent)"),
          clEnumValN(MixerForm::Chunked, "chunked",
                     "chunked form where a mixer has one (ssm-chunk-mixers), "
                     "the quadratic form otherwise"))};
  PassOptions::Option<int64_t> chunkSize{
      *this, "chunk-size",
      llvm::cl::desc("Chunk size of the chunked form (0: the cost model)"),
      llvm::cl::init(0)};
};

/// The phases of the reference CPU pipeline, as ssmc runs them:
/// algorithm (mixers to the chosen form, supporting ops to linalg on
/// tensors; with the chunked form, chunk sizes from the cost model unless
/// `chunkSize` > 0), bufferize (one-shot bufferization and deallocation) and
/// target (loops, then the LLVM dialect). With `fuseAttention` (the GPU
/// targets), attention becomes ssm.fused_attention first
/// (ssm-fuse-attention), whatever the mixer form; with `fuseSSD`, the
/// scalar-decay SSMs become ssm.fused_ssd (ssm-fuse-ssd).
void addAlgorithmPasses(OpPassManager &pm, MixerForm form,
                        int64_t chunkSize = 0, bool fuseAttention = false,
                        bool fuseSSD = false);
void addBufferizePasses(OpPassManager &pm);
/// With `modelLibrary`, the code is meant for a library linked with the
/// model support code (lib/Target/CPU/ModelSupport.c): buffers are allocated
/// through `_mlir_memref_to_llvm_alloc` and friends, and the parallel loops
/// outlined by ssm-cpu-contraction-kernels run on its threads. Without it
/// (ssm-lower-to-llvm, for mlir-runner) buffers come from malloc and those
/// loops run on the calling thread.
void addTargetPasses(OpPassManager &pm, bool modelLibrary = false);

/// The target phase for NVIDIA GPUs: linalg on buffers to GPU kernels
/// (ssm-linalg-to-gpu, ssm-gpu-device-buffers), the kernels outlined and
/// lowered to NVVM, the host code to the LLVM dialect calling the CUDA model
/// support code (lib/Target/CUDA/ModelSupportCUDA.c), and the kernels
/// serialized for `chip` (an sm_XX name): as PTX (`format` "isa"), or as a
/// fatbin of cubin and PTX ("fatbin", which needs ptxas and fatbinary under
/// `toolkit`).
struct CUDATargetOptions {
  std::string chip = "sm_80";
  std::string format = "isa";
  std::string toolkit;
  unsigned optLevel = 2;
  /// The fused kernels' matrix products: "ieee" (the SIMT units), "tf32x3"
  /// or "tf32" (tensor cores, when `chip` is sm_80 or later).
  std::string matmulPrecision = "ieee";
};
void addCUDATargetPasses(OpPassManager &pm, const CUDATargetOptions &options);

/// The target phase for Vulkan: the kernels of the CUDA target's
/// ssm-linalg-to-gpu given the Vulkan ABI (ssm-gpu-vulkan-kernel-abi),
/// lowered to SPIR-V 1.3 for the Shader capability and serialized into
/// gpu.binary (ssm-gpu-serialize-spirv, which runs `validator`, the path of
/// spirv-val, on each module when it is not empty); the host code calls the
/// Vulkan model support code (lib/Target/Vulkan/ModelSupportVulkan.c).
struct VulkanTargetOptions {
  std::string validator;
};
void addVulkanTargetPasses(OpPassManager &pm,
                           const VulkanTargetOptions &options);

/// Builds the reference CPU pipeline: the three phases above in order.
void buildLowerToLLVMPipeline(OpPassManager &pm,
                              const LowerToLLVMOptions &options);

/// Registers `ssm-lower-to-llvm` with the pass pipeline registry.
void registerSSMPipelines();

} // namespace mlir::ssm

#endif // SSM_CONVERSION_PASSES_H
