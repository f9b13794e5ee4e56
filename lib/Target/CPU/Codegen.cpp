//===- Codegen.cpp - CPU code generation from the LLVM dialect ------------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "ssm/Target/CPU/Codegen.h"

#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"

using namespace mlir;

static std::unique_ptr<llvm::TargetMachine>
hostTargetMachine(unsigned optLevel, bool genericCPU, std::string &error) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  std::string triple = llvm::sys::getProcessTriple();
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(llvm::Triple(triple), error);
  if (!target)
    return nullptr;
  llvm::CodeGenOptLevel level = optLevel == 0   ? llvm::CodeGenOptLevel::None
                                : optLevel == 1 ? llvm::CodeGenOptLevel::Less
                                : optLevel == 2
                                    ? llvm::CodeGenOptLevel::Default
                                    : llvm::CodeGenOptLevel::Aggressive;
  llvm::TargetOptions options;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      llvm::Triple(triple),
      genericCPU ? llvm::StringRef("generic") : llvm::sys::getHostCPUName(),
      /*Features=*/"", options, llvm::Reloc::PIC_, std::nullopt, level));
  if (!tm)
    error = "cannot create a target machine for " + triple;
  return tm;
}

FailureOr<std::unique_ptr<llvm::Module>>
mlir::ssm::cpu::translateAndOptimize(ModuleOp module,
                                     llvm::LLVMContext &context,
                                     unsigned optLevel, bool genericCPU) {
  DialectRegistry registry;
  registerAllToLLVMIRTranslations(registry);
  module->getContext()->appendDialectRegistry(registry);
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, context);
  if (!llvmModule) {
    module.emitError() << "translation to LLVM IR failed (is the module "
                          "fully in the LLVM dialect?)";
    return failure();
  }
  std::string error;
  std::unique_ptr<llvm::TargetMachine> tm =
      hostTargetMachine(optLevel, genericCPU, error);
  if (!tm) {
    module.emitError() << error;
    return failure();
  }
  llvmModule->setDataLayout(tm->createDataLayout());
  llvmModule->setTargetTriple(tm->getTargetTriple());
  auto optimize =
      makeOptimizingTransformer(optLevel, /*sizeLevel=*/0, tm.get());
  if (llvm::Error err = optimize(llvmModule.get())) {
    module.emitError() << "LLVM optimization failed: "
                       << llvm::toString(std::move(err));
    return failure();
  }
  return llvmModule;
}

LogicalResult mlir::ssm::cpu::emitObject(llvm::Module &module,
                                         unsigned optLevel, bool genericCPU,
                                         llvm::raw_pwrite_stream &os,
                                         std::string &error) {
  std::unique_ptr<llvm::TargetMachine> tm =
      hostTargetMachine(optLevel, genericCPU, error);
  if (!tm)
    return failure();
  llvm::legacy::PassManager pm;
  if (tm->addPassesToEmitFile(pm, os, nullptr,
                              llvm::CodeGenFileType::ObjectFile)) {
    error = "the target machine cannot emit object files";
    return failure();
  }
  pm.run(module);
  return success();
}

#include "ModelSupport.inc"
#include "ModelSupportCUDA.inc"
#include "ModelSupportVulkan.inc"

bool mlir::ssm::cpu::haveVulkanSupport() { return SSM_HAVE_VULKAN_SUPPORT; }

/// Runs the C compiler driver ($CC, else cc) with `args` after the program
/// name, compiling the model support source of `target` along
/// (ModelSupport.c, ModelSupportCUDA.c for "cuda", or the object of
/// ModelSupportVulkan.c for "vulkan").
static LogicalResult runDriver(ArrayRef<StringRef> args, StringRef target,
                               std::string &error) {
  std::string driver = "cc";
  if (const char *cc = std::getenv("CC"); cc && *cc)
    driver = cc;
  llvm::ErrorOr<std::string> program = llvm::sys::findProgramByName(driver);
  if (!program) {
    error = "cannot find the C compiler driver '" + driver +
            "' to link the model library";
    return failure();
  }
  bool vulkan = target == "vulkan";
  llvm::SmallString<128> support;
  if (auto ec = llvm::sys::fs::createTemporaryFile(
          "ssmc-support", vulkan ? "o" : "c", support)) {
    error = "cannot create a temporary file: " + ec.message();
    return failure();
  }
  llvm::FileRemover removeSupport(support);
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(support, ec);
    if (ec) {
      error = "cannot write '" + support.str().str() + "': " + ec.message();
      return failure();
    }
    if (vulkan)
      os.write(reinterpret_cast<const char *>(kModelSupportVulkanObject),
               kModelSupportVulkanObjectSize);
    else
      os << (target == "cuda" ? kModelSupportCUDASource : kModelSupportSource);
  }
  SmallVector<StringRef> argv = {*program};
  argv.append(args.begin(), args.end());
  if (vulkan)
    argv.append({support, "-O2", "-fPIC", "-pthread"});
  else
    argv.append({"-x", "c", support, "-x", "none", "-O2", "-fPIC", "-pthread"});
  std::string message;
  int rc = llvm::sys::ExecuteAndWait(*program, argv, std::nullopt, {}, 0, 0,
                                     &message);
  if (rc != 0) {
    error = "linking with '" + *program + "' failed" +
            (message.empty() ? std::string() : ": " + message);
    return failure();
  }
  return success();
}

LogicalResult mlir::ssm::cpu::linkSharedLibrary(ArrayRef<StringRef> inputs,
                                                StringRef outputPath,
                                                StringRef target,
                                                std::string &error) {
  SmallVector<StringRef> args = {"-shared", "-o", outputPath};
  args.append(inputs.begin(), inputs.end());
  args.push_back("-lm");
  if (target == "cuda" || target == "vulkan")
    args.push_back("-ldl");
  return runDriver(args, target, error);
}

LogicalResult mlir::ssm::cpu::linkRelocatable(ArrayRef<StringRef> inputs,
                                              StringRef outputPath,
                                              StringRef target,
                                              std::string &error) {
  SmallVector<StringRef> args = {"-r", "-nostdlib", "-o", outputPath};
  args.append(inputs.begin(), inputs.end());
  return runDriver(args, target, error);
}
