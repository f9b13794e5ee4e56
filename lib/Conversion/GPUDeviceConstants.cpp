//===- GPUDeviceConstants.cpp - Constants the kernels read, on the device -===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// In the LLVM dialect, after the host code is lowered: every address of a
// global named in the module attribute `ssm.gpu.device_globals` (written by
// ssm-gpu-device-buffers, with each global's size in bytes) taken in a host
// function becomes a call of the model support function
// `ptr __ssm_gpu_constant(ptr host, i64 bytes)`, which returns the device
// copy of the global, made on first use and kept while the library is
// loaded.
//
//===----------------------------------------------------------------------===//

#include "ssm/Conversion/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMGPUDEVICECONSTANTS
#include "ssm/Conversion/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;

static constexpr StringLiteral kConstantFn = "__ssm_gpu_constant";

namespace {
struct SSMGPUDeviceConstants
    : mlir::ssm::impl::SSMGPUDeviceConstantsBase<SSMGPUDeviceConstants> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto globals =
        module->getAttrOfType<DictionaryAttr>("ssm.gpu.device_globals");
    if (!globals)
      return;
    MLIRContext *ctx = module.getContext();
    auto ptr = LLVM::LLVMPointerType::get(ctx);
    auto i64 = IntegerType::get(ctx, 64);
    SmallVector<LLVM::AddressOfOp> addresses;
    for (auto f : module.getOps<LLVM::LLVMFuncOp>())
      f.walk([&](LLVM::AddressOfOp a) {
        if (globals.get(a.getGlobalName()))
          addresses.push_back(a);
      });
    if (!addresses.empty() && !module.lookupSymbol(kConstantFn)) {
      OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
      LLVM::LLVMFuncOp::create(b, module.getLoc(), kConstantFn,
                               LLVM::LLVMFunctionType::get(ptr, {ptr, i64}));
    }
    for (LLVM::AddressOfOp a : addresses) {
      OpBuilder b(a->getContext());
      b.setInsertionPointAfter(a);
      auto bytes = cast<IntegerAttr>(globals.get(a.getGlobalName()));
      Value size = LLVM::ConstantOp::create(b, a.getLoc(), i64, bytes);
      auto call = LLVM::CallOp::create(b, a.getLoc(), TypeRange{ptr},
                                       kConstantFn, ValueRange{a, size});
      a.getResult().replaceAllUsesExcept(call.getResult(), call);
    }
    module->removeAttr("ssm.gpu.device_globals");
  }
};
} // namespace
