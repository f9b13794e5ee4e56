//===- GPUSerializeSPIRV.cpp - SPIR-V kernels into gpu.binary -------------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// convert-gpu-to-spirv writes the kernels of each `gpu.module @m` of a
// Vulkan (Shader) target as `spirv.module @__spv__m` beside it. This pass
// serializes each such module, optionally validates it with spirv-val, and
// replaces `gpu.module @m` by `gpu.binary @m` holding the binary, which the
// host lowering loads with mgpuModuleLoad.
//
//===----------------------------------------------------------------------===//

#include "ssm/Conversion/Passes.h"

#include "mlir/Dialect/SPIRV/IR/SPIRVOps.h"
#include "mlir/Dialect/SPIRV/IR/TargetAndABI.h"
#include "mlir/Target/SPIRV/Serialization.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMGPUSERIALIZESPIRV
#include "ssm/Conversion/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;

namespace {

/// Runs `validator` on `words`; on rejection, returns its output in `error`.
LogicalResult validate(StringRef validator, StringRef env,
                       ArrayRef<uint32_t> words, std::string &error) {
  llvm::SmallString<128> input, output;
  if (llvm::sys::fs::createTemporaryFile("ssmc-kernels", "spv", input) ||
      llvm::sys::fs::createTemporaryFile("ssmc-spirv-val", "txt", output)) {
    error = "cannot create temporary files for spirv-val";
    return failure();
  }
  llvm::FileRemover removeInput(input), removeOutput(output);
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(input, ec);
    if (ec) {
      error = "cannot write '" + input.str().str() + "': " + ec.message();
      return failure();
    }
    os.write(reinterpret_cast<const char *>(words.data()),
             words.size() * sizeof(uint32_t));
  }
  SmallVector<StringRef> argv = {validator, "--target-env", env, input};
  std::optional<StringRef> redirects[] = {std::nullopt, StringRef(output),
                                          StringRef(output)};
  std::string message;
  int rc = llvm::sys::ExecuteAndWait(validator, argv, std::nullopt, redirects,
                                     0, 0, &message);
  if (rc == 0)
    return success();
  error = rc < 0 ? "cannot run '" + validator.str() + "': " + message
                 : "spirv-val rejects the kernels";
  if (auto text = llvm::MemoryBuffer::getFile(output); text && rc > 0)
    error += ": " + StringRef((*text)->getBuffer()).trim().str();
  return failure();
}

struct SSMGPUSerializeSPIRV
    : mlir::ssm::impl::SSMGPUSerializeSPIRVBase<SSMGPUSerializeSPIRV> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<spirv::ModuleOp> spirvModules(module.getOps<spirv::ModuleOp>());
    for (spirv::ModuleOp spirvModule : spirvModules) {
      std::optional<StringRef> name = spirvModule.getName();
      if (!name || !name->starts_with("__spv__"))
        continue;
      StringRef gpuName = name->drop_front(strlen("__spv__"));
      auto gpuModule = module.lookupSymbol<gpu::GPUModuleOp>(gpuName);
      if (!gpuModule) {
        spirvModule.emitError("no gpu.module @") << gpuName << " for it";
        return signalPassFailure();
      }
      SmallVector<uint32_t> words;
      if (failed(spirv::serialize(spirvModule, words)))
        return signalPassFailure();
      if (!validator.empty()) {
        std::string error;
        if (failed(validate(validator, validatorEnv, words, error))) {
          gpuModule.emitError("kernels of @") << gpuName << ": " << error;
          return signalPassFailure();
        }
      }
      Attribute target = spirv::lookupTargetEnvOrDefault(gpuModule);
      if (ArrayAttr targets = gpuModule.getTargetsAttr();
          targets && !targets.empty())
        target = targets[0];
      StringAttr bytes = StringAttr::get(
          &getContext(), StringRef(reinterpret_cast<const char *>(words.data()),
                                   words.size() * sizeof(uint32_t)));
      auto object = gpu::ObjectAttr::getChecked(
          [&] { return gpuModule.emitError(); }, &getContext(), target,
          gpu::CompilationTarget::Binary, bytes, DictionaryAttr(),
          gpu::KernelTableAttr());
      if (!object)
        return signalPassFailure();
      OpBuilder b(gpuModule);
      gpu::BinaryOp::create(b, gpuModule.getLoc(), gpuName,
                            gpuModule.getOffloadingHandlerAttr(),
                            ArrayRef<Attribute>{object});
      gpuModule.erase();
      spirvModule.erase();
    }
  }
};

} // namespace
