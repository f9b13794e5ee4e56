//===- GPUDeviceBuffers.cpp - Host code over device buffers ---------------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// After ssm-linalg-to-gpu, the host functions that launch kernels (and every
// public function: the model's entry points, whose buffers are device
// memory) keep their buffers in device memory: memref.alloc and
// memref.dealloc there are the device allocator of the CUDA model support
// code. What the host itself reads and writes must then be dealt with:
//
//   - buffers that only the host touches (the deallocation pipeline's small
//     arrays of pointers and flags) become memref.alloca, their deallocs
//     dropped;
//   - a host memref.store into a device buffer becomes a one-thread kernel;
//   - a host memref.load of a device buffer becomes a one-thread kernel that
//     copies the element into a one-element device buffer, a copy of that to
//     a host alloca (the support function __ssm_gpu_copy_to_host, which
//     waits for the kernels before it), and a load of the alloca.
//
// The names and sizes of the memref.global constants these functions use are
// recorded in the module attribute `ssm.gpu.device_globals`: the weights live
// in the library's read-only data and are copied to the device on first use
// (ssm-gpu-device-constants).
//
//===----------------------------------------------------------------------===//

#include "ssm/Conversion/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/ADT/StringSet.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMGPUDEVICEBUFFERS
#include "ssm/Conversion/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;

static constexpr StringLiteral kCopyToHost = "__ssm_gpu_copy_to_host";

/// The bytes one element of `type` takes in memory, as the LLVM lowering
/// of memrefs lays it out: a whole number of bytes, a power of two (an i1
/// takes a byte, not a bit: a global of n booleans is n bytes).
static int64_t storageBytes(Type type) {
  unsigned bits = type.isIndex() ? 64 : type.getIntOrFloatBitWidth();
  return static_cast<int64_t>(llvm::PowerOf2Ceil(llvm::divideCeil(bits, 8)));
}

/// The buffer `v` views (through views and extract_strided_metadata).
static Value rootOf(Value v) {
  while (true) {
    if (auto view = v.getDefiningOp<ViewLikeOpInterface>()) {
      v = view.getViewSource();
      continue;
    }
    if (auto meta = v.getDefiningOp<memref::ExtractStridedMetadataOp>()) {
      v = meta.getSource();
      continue;
    }
    return v;
  }
}

static bool insideKernel(Operation *op) {
  return op->getParentOfType<gpu::LaunchOp>() != nullptr;
}

/// Whether only host code touches `alloc` (directly or through
/// memref.cast), through loads, stores, deallocs, pointer extraction and calls
/// of host helpers.
static bool isHostOnly(memref::AllocOp alloc) {
  auto module = alloc->getParentOfType<ModuleOp>();
  SmallVector<Value> worklist = {alloc.getResult()};
  while (!worklist.empty()) {
    Value v = worklist.pop_back_val();
    for (OpOperand &use : v.getUses()) {
      Operation *user = use.getOwner();
      if (insideKernel(user))
        return false;
      if (auto cast = dyn_cast<memref::CastOp>(user)) {
        worklist.push_back(cast.getResult());
        continue;
      }
      if (auto load = dyn_cast<memref::LoadOp>(user)) {
        if (load.getMemRef() != v)
          return false;
        continue;
      }
      if (auto store = dyn_cast<memref::StoreOp>(user)) {
        if (store.getMemRef() != v)
          return false;
        continue;
      }
      if (isa<memref::DeallocOp, memref::ExtractAlignedPointerAsIndexOp>(user))
        continue;
      if (auto call = dyn_cast<func::CallOp>(user)) {
        auto callee = module.lookupSymbol<func::FuncOp>(call.getCallee());
        bool launches = false;
        if (callee)
          callee.walk([&](gpu::LaunchOp) { launches = true; });
        if (!callee || callee.isPublic() || launches)
          return false;
        continue;
      }
      return false;
    }
  }
  return true;
}

/// A one-block, one-thread launch; the builder is left inside it.
static gpu::LaunchOp singleThreadLaunch(OpBuilder &b, Location loc,
                                        StringRef module, StringRef name) {
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  auto launch = gpu::LaunchOp::create(
      b, loc, one, one, one, one, one, one, nullptr, nullptr, {}, {}, {},
      nullptr, nullptr, nullptr, FlatSymbolRefAttr::get(b.getContext(), module),
      FlatSymbolRefAttr::get(b.getContext(), name));
  b.setInsertionPointToStart(&launch.getBody().front());
  gpu::TerminatorOp::create(b, loc);
  b.setInsertionPointToStart(&launch.getBody().front());
  return launch;
}

namespace {
struct SSMGPUDeviceBuffers
    : mlir::ssm::impl::SSMGPUDeviceBuffersBase<SSMGPUDeviceBuffers> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = module.getContext();
    SmallVector<func::FuncOp> funcs;
    for (auto f : module.getOps<func::FuncOp>()) {
      if (f.isExternal())
        continue;
      bool launches = false;
      f.walk([&](gpu::LaunchOp) { launches = true; });
      if (f.isPublic() || launches)
        funcs.push_back(f);
    }
    std::string kernelModule = kernelPrefix + "module";
    unsigned counter = 0;
    auto nextName = [&] {
      return kernelPrefix + "scalar" + std::to_string(counter++);
    };
    bool needCopy = false;
    SmallVector<NamedAttribute> globals;
    llvm::StringSet<> seenGlobals;

    for (func::FuncOp f : funcs) {
      // Host-only buffers to the stack.
      SmallVector<memref::AllocOp> hostOnly;
      f.walk([&](memref::AllocOp alloc) {
        if (!insideKernel(alloc) && isHostOnly(alloc))
          hostOnly.push_back(alloc);
      });
      for (memref::AllocOp alloc : hostOnly) {
        if (!alloc.getType().hasStaticShape()) {
          alloc.emitOpError("is a host buffer of dynamic size in a function "
                            "that runs kernels; the CUDA target keeps host "
                            "buffers on the stack and needs static sizes");
          return signalPassFailure();
        }
        SmallVector<Value> aliases = {alloc.getResult()};
        while (!aliases.empty())
          for (Operation *user :
               llvm::make_early_inc_range(aliases.pop_back_val().getUsers())) {
            if (isa<memref::DeallocOp>(user))
              user->erase();
            else if (auto cast = dyn_cast<memref::CastOp>(user))
              aliases.push_back(cast.getResult());
          }
        OpBuilder b(alloc);
        auto alloca =
            memref::AllocaOp::create(b, alloc.getLoc(), alloc.getType(),
                                     ValueRange{}, alloc.getAlignmentAttr());
        alloc.replaceAllUsesWith(alloca.getResult());
        alloc.erase();
      }
      auto isHost = [&](Value memref) {
        return isa_and_nonnull<memref::AllocaOp>(
            rootOf(memref).getDefiningOp());
      };

      // Host stores into device buffers.
      SmallVector<memref::StoreOp> stores;
      SmallVector<memref::LoadOp> loads;
      f.walk([&](Operation *op) {
        if (insideKernel(op))
          return;
        if (auto store = dyn_cast<memref::StoreOp>(op))
          if (!isHost(store.getMemRef()))
            stores.push_back(store);
        if (auto load = dyn_cast<memref::LoadOp>(op))
          if (!isHost(load.getMemRef()))
            loads.push_back(load);
      });
      for (memref::StoreOp store : stores) {
        OpBuilder b(store);
        singleThreadLaunch(b, store.getLoc(), kernelModule, nextName());
        memref::StoreOp::create(b, store.getLoc(), store.getValueToStore(),
                                store.getMemRef(), store.getIndices());
        store.erase();
      }
      for (memref::LoadOp load : loads) {
        Location loc = load.getLoc();
        OpBuilder b(load);
        Type elementType = load.getType();
        auto one = MemRefType::get({1}, elementType);
        Value device = memref::AllocOp::create(b, loc, one);
        Value zero = arith::ConstantIndexOp::create(b, loc, 0);
        {
          OpBuilder::InsertionGuard g(b);
          singleThreadLaunch(b, loc, kernelModule, nextName());
          Value v = memref::LoadOp::create(b, loc, load.getMemRef(),
                                           load.getIndices());
          memref::StoreOp::create(b, loc, v, device, zero);
        }
        Value host = memref::AllocaOp::create(b, loc, one);
        auto ptr = [&](Value m) {
          Value p = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, m);
          return arith::IndexCastOp::create(b, loc, b.getI64Type(), p);
        };
        Value bytes = arith::ConstantIntOp::create(b, loc, b.getI64Type(),
                                                   storageBytes(elementType));
        func::CallOp::create(b, loc, kCopyToHost, TypeRange{},
                             ValueRange{ptr(host), ptr(device), bytes});
        memref::DeallocOp::create(b, loc, device);
        Value v = memref::LoadOp::create(b, loc, host, zero);
        load.replaceAllUsesWith(v);
        load.erase();
        needCopy = true;
      }

      // Constants the kernels read.
      f.walk([&](memref::GetGlobalOp get) {
        auto global = module.lookupSymbol<memref::GlobalOp>(get.getNameAttr());
        if (!global || !seenGlobals.insert(global.getSymName()).second)
          return;
        MemRefType type = global.getType();
        int64_t bytes =
            type.getNumElements() * storageBytes(type.getElementType());
        globals.push_back(
            NamedAttribute(global.getSymNameAttr(),
                           IntegerAttr::get(IntegerType::get(ctx, 64), bytes)));
      });
    }
    if (needCopy && !module.lookupSymbol(kCopyToHost)) {
      OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
      auto i64 = b.getI64Type();
      auto fn =
          func::FuncOp::create(b, module.getLoc(), kCopyToHost,
                               FunctionType::get(ctx, {i64, i64, i64}, {}));
      fn.setPrivate();
    }
    module->setAttr("ssm.gpu.device_globals",
                    DictionaryAttr::get(ctx, globals));
  }
};
} // namespace
