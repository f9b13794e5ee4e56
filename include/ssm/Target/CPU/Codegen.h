//===- Codegen.h - CPU code generation from the LLVM dialect ----*- C++ -*-===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// In-process code generation for the host CPU: the LLVM dialect to LLVM IR,
// optimized at -O0..3, to a position-independent object file; only the
// final shared-library link runs an external program (the C compiler driver).
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TARGET_CPU_CODEGEN_H
#define SSM_TARGET_CPU_CODEGEN_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>
#include <string>

namespace mlir::ssm::cpu {

/// Translates a module in the LLVM dialect to LLVM IR for the host and
/// optimizes it at `optLevel` (0..3) for the host CPU, or for the generic
/// CPU of the host's architecture with `genericCPU` (the CUDA target, whose
/// host code may run on another machine's CPU). Reports errors on the
/// module.
FailureOr<std::unique_ptr<llvm::Module>>
translateAndOptimize(ModuleOp module, llvm::LLVMContext &context,
                     unsigned optLevel, bool genericCPU = false);

/// What externalizeConstants moved out of a module.
struct ExternalConstants {
  unsigned count = 0; ///< globals
  uint64_t bytes = 0; ///< length of the data file, padding included
};

/// Moves the initializers of the constant `llvm.mlir.global`s of `module`
/// holding at least `threshold` bytes of dense integer or float data (the
/// weights) to `data`, the file `dataPath`, and writes to `assembly` a GNU
/// assembler source that defines each of them over its slice of that file
/// (`.incbin`), 64-byte aligned, in the large read-only data section
/// (.lrodata on x86-64, .rodata elsewhere). Each global becomes a hidden
/// declaration in that section, so LLVM never copies the data and addresses
/// it with 64-bit offsets: the library may exceed 2 GiB. The assembly
/// source must be linked with the object code.
ExternalConstants externalizeConstants(ModuleOp module, uint64_t threshold,
                                       StringRef dataPath,
                                       llvm::raw_ostream &data,
                                       llvm::raw_ostream &assembly);

/// Writes to `assembly` a GNU assembler source that includes each
/// (target, path) library of `libraries` whole (`.incbin`, 64-byte aligned,
/// in the large read-only data section) and defines the exported table
/// `ssmlib_embedded_libraries` of model_abi.h: {target name, data, size}
/// per library, then a null entry. Linked into the first target's model
/// library, it makes a multi-target bundle (ssmc --target=a,b).
void writeEmbeddedLibraries(
    ArrayRef<std::pair<std::string, std::string>> libraries,
    llvm::raw_ostream &assembly);

/// Writes `module` as a position-independent host object file (for the host
/// CPU, or the generic one with `genericCPU`).
LogicalResult emitObject(llvm::Module &module, unsigned optLevel,
                         bool genericCPU, llvm::raw_pwrite_stream &os,
                         std::string &error);

/// Links `inputs` (the object file, and the assembly source of
/// externalizeConstants if any) and the model support code (ModelSupport.c:
/// buffer memory and the thread pool of parallel loops) into the shared library
/// `outputPath` with the C compiler driver ($CC, else cc), against libc
/// and libm only. For `target` "cuda" the support code is ModelSupportCUDA.c
/// (the CUDA driver opened at run time, device buffers, kernel launches),
/// linked against libc, libm and libdl; for "vulkan" it is the object of
/// ModelSupportVulkan.c compiled when ssmc was built (the Vulkan loader opened
/// at run time).
LogicalResult linkSharedLibrary(ArrayRef<StringRef> inputs,
                                StringRef outputPath, StringRef target,
                                std::string &error);

/// Combines `inputs` and the model support code of `target` into the
/// relocatable object `outputPath` (`cc -r`), so that an object file emitted
/// by ssmc links by itself.
LogicalResult linkRelocatable(ArrayRef<StringRef> inputs, StringRef outputPath,
                              StringRef target, std::string &error);

/// Whether this ssmc carries the Vulkan target's support code (it was built
/// with the Vulkan headers).
bool haveVulkanSupport();

} // namespace mlir::ssm::cpu

#endif // SSM_TARGET_CPU_CODEGEN_H
