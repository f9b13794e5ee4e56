//===- GPUSerializeSPIRV.cpp - SPIR-V kernels into gpu.binary -------------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// convert-gpu-to-spirv writes the kernels of each `gpu.module @m` of a
// Vulkan (Shader) target as `spirv.module @__spv__m` beside it. This pass
// validates each such module with spirv-val (optionally), serializes each
// of its kernels as a SPIR-V module of its own, and replaces `gpu.module @m`
// by `gpu.binary @m` holding them in one container, which the host lowering
// loads with mgpuModuleLoad.
//
//===----------------------------------------------------------------------===//

#include "ssm/Conversion/Passes.h"

#include "mlir/Dialect/SPIRV/IR/SPIRVOps.h"
#include "mlir/Dialect/SPIRV/IR/TargetAndABI.h"
#include "mlir/Dialect/SPIRV/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/SPIRV/Serialization.h"
#include "llvm/ADT/StringSet.h"
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

/// A new module holding `module`'s entry point of function `kernel` and its
/// execution modes, that function, and what they use (transitively).
spirv::ModuleOp extractKernel(spirv::ModuleOp module, StringRef kernel,
                              SymbolTable &table) {
  llvm::StringSet<> needed;
  SmallVector<Operation *> worklist;
  auto need = [&](StringRef name) {
    if (Operation *op = table.lookup(name); op && needed.insert(name).second)
      worklist.push_back(op);
  };
  auto needUses = [&](Operation *op) {
    if (std::optional<SymbolTable::UseRange> uses =
            SymbolTable::getSymbolUses(op))
      for (const SymbolTable::SymbolUse &use : *uses)
        need(use.getSymbolRef().getRootReference());
  };
  need(kernel);
  SmallVector<Operation *> keep;
  for (Operation &op : module.getOps()) {
    auto e = dyn_cast<spirv::EntryPointOp>(op);
    auto m = dyn_cast<spirv::ExecutionModeOp>(op);
    if ((e && e.getFn() == kernel) || (m && m.getFn() == kernel))
      needUses(&op);
  }
  while (!worklist.empty()) {
    Operation *op = worklist.pop_back_val();
    needUses(op);
    op->walk([&](Operation *inner) {
      if (inner != op)
        needUses(inner);
    });
  }
  Operation *copy = module->cloneWithoutRegions();
  OpBuilder b = OpBuilder::atBlockEnd(&copy->getRegion(0).emplaceBlock());
  for (Operation &op : module.getOps()) {
    auto e = dyn_cast<spirv::EntryPointOp>(op);
    auto m = dyn_cast<spirv::ExecutionModeOp>(op);
    auto symbol = dyn_cast<SymbolOpInterface>(op);
    if ((e && e.getFn() == kernel) || (m && m.getFn() == kernel) ||
        (symbol && needed.contains(symbol.getName())))
      b.clone(op);
  }
  return cast<spirv::ModuleOp>(copy);
}

/// The descriptor bindings that the kernel of `one` (a module extracted by
/// extractKernel) may write, as a mask (bit i: binding i; a binding past 63
/// sets every bit): a storage buffer variable whose address reaches anything
/// but loads, through access chains.
uint64_t writtenBindings(spirv::ModuleOp one) {
  SymbolTable table(one);
  uint64_t mask = 0;
  one.walk([&](spirv::AddressOfOp address) {
    auto var = dyn_cast_or_null<spirv::GlobalVariableOp>(
        table.lookup(address.getVariable()));
    if (!var || !var.getBinding())
      return;
    bool written = false;
    SmallVector<Value> worklist = {address.getPointer()};
    while (!worklist.empty() && !written) {
      for (Operation *user : worklist.pop_back_val().getUsers()) {
        if (auto chain = dyn_cast<spirv::AccessChainOp>(user))
          worklist.push_back(chain.getResult());
        else if (!isa<spirv::LoadOp>(user))
          written = true;
      }
    }
    uint32_t binding = *var.getBinding();
    if (written)
      mask |= binding < 64 ? uint64_t(1) << binding : ~uint64_t(0);
  });
  return mask;
}

/// One kernel of the container.
struct Kernel {
  std::string name;
  SmallVector<uint32_t> code;
  uint64_t written;
};

/// The container of one SPIR-V binary per kernel that the Vulkan model
/// support code reads: the words 'SSMV' (0x564D5353) and the kernel count,
/// then per kernel (sorted by name) its name's byte offset and length, its
/// code's byte offset and length in words, and the mask of the bindings it
/// may write (low word, high word), then the names (each ended by a 0 byte,
/// padded to a word) and the code.
std::string packKernels(ArrayRef<Kernel> kernels) {
  SmallVector<uint32_t> header = {0x564D5353u, (uint32_t)kernels.size()};
  size_t tableWords = 2 + 6 * kernels.size();
  std::string names;
  SmallVector<uint32_t> nameOffsets;
  for (const Kernel &k : kernels) {
    nameOffsets.push_back(names.size());
    names += k.name;
    names.push_back(0);
    while (names.size() % 4)
      names.push_back(0);
  }
  size_t codeStart = tableWords * 4 + names.size();
  size_t at = codeStart;
  for (auto [i, k] : llvm::enumerate(kernels)) {
    header.append({uint32_t(tableWords * 4 + nameOffsets[i]),
                   uint32_t(k.name.size()), uint32_t(at),
                   uint32_t(k.code.size()), uint32_t(k.written),
                   uint32_t(k.written >> 32)});
    at += k.code.size() * 4;
  }
  std::string out(reinterpret_cast<const char *>(header.data()),
                  header.size() * 4);
  out += names;
  for (const Kernel &k : kernels)
    out.append(reinterpret_cast<const char *>(k.code.data()),
               k.code.size() * 4);
  return out;
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
      // One binary per kernel: a driver compiles (and spirv_to_nir parses)
      // only the module of the kernel it makes a pipeline for.
      SmallVector<Kernel> kernels;
      SmallVector<std::string> names;
      for (auto e : spirvModule.getOps<spirv::EntryPointOp>())
        names.push_back(e.getFn().str());
      llvm::sort(names);
      SymbolTable table(spirvModule);
      for (const std::string &kernel : names) {
        spirv::ModuleOp one = extractKernel(spirvModule, kernel, table);
        // The kernel's own capabilities and extensions (the module's are
        // those of all its kernels): a device without subgroup arithmetic
        // or float64 must still take the kernels that use neither.
        PassManager vce(&getContext(), spirv::ModuleOp::getOperationName());
        vce.addPass(spirv::createSPIRVUpdateVCEPass());
        if (failed(vce.run(one))) {
          one.erase();
          return signalPassFailure();
        }
        SmallVector<uint32_t> code;
        LogicalResult ok = spirv::serialize(one, code);
        uint64_t written = writtenBindings(one);
        one.erase();
        if (failed(ok))
          return signalPassFailure();
        kernels.push_back({kernel, std::move(code), written});
      }
      Attribute target = spirv::lookupTargetEnvOrDefault(gpuModule);
      if (ArrayAttr targets = gpuModule.getTargetsAttr();
          targets && !targets.empty())
        target = targets[0];
      StringAttr bytes = StringAttr::get(&getContext(), packKernels(kernels));
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
