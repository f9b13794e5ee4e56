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

#include <memory>
#include <string>

namespace mlir::ssm::cpu {

/// Translates a module in the LLVM dialect to LLVM IR for the host and
/// optimizes it at `optLevel` (0..3). Reports errors on the module.
FailureOr<std::unique_ptr<llvm::Module>>
translateAndOptimize(ModuleOp module, llvm::LLVMContext &context,
                     unsigned optLevel);

/// Writes `module` as a position-independent host object file.
LogicalResult emitObject(llvm::Module &module, unsigned optLevel,
                         llvm::raw_pwrite_stream &os, std::string &error);

/// Links `objectPath` and the model support code (ModelSupport.c: buffer
/// memory and the thread pool of parallel loops) into the shared library
/// `outputPath` with the C compiler driver ($CC, else cc), against libc
/// and libm only.
LogicalResult linkSharedLibrary(StringRef objectPath, StringRef outputPath,
                                std::string &error);

/// Combines `objectPath` and the model support code into the relocatable
/// object `outputPath` (`cc -r`), so that an object file emitted by ssmc
/// links by itself.
LogicalResult linkRelocatable(StringRef objectPath, StringRef outputPath,
                              std::string &error);

} // namespace mlir::ssm::cpu

#endif // SSM_TARGET_CPU_CODEGEN_H
