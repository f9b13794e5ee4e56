//===- LowerParallelCalls.cpp - Parallel loops through the thread pool ----===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "ssm/Transforms/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/DataLayoutInterfaces.h"
#include "llvm/ADT/MapVector.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMLOWERPARALLELCALLS
#include "ssm/Transforms/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;
using namespace mlir::ssm;

/// The model support function that runs a task over [0, n).
static constexpr StringLiteral kParallelFor = "__ssm_parallel_for";

namespace {
struct SSMLowerParallelCalls
    : mlir::ssm::impl::SSMLowerParallelCallsBase<SSMLowerParallelCalls> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    SmallVector<LLVM::LLVMFuncOp> bodies;
    for (auto f : module.getOps<LLVM::LLVMFuncOp>())
      if (f->hasAttr("ssm.parallel_body"))
        bodies.push_back(f);
    if (bodies.empty())
      return;

    OpBuilder b(ctx);
    Location loc = module.getLoc();
    auto ptr = LLVM::LLVMPointerType::get(ctx);
    auto i64 = IntegerType::get(ctx, 64);
    auto voidType = LLVM::LLVMVoidType::get(ctx);
    b.setInsertionPointToEnd(module.getBody());
    auto parallelFor = module.lookupSymbol<LLVM::LLVMFuncOp>(kParallelFor);
    if (!parallelFor)
      parallelFor = LLVM::LLVMFuncOp::create(
          b, loc, kParallelFor,
          LLVM::LLVMFunctionType::get(voidType, {ptr, ptr, i64, i64}));

    // The calls of every body, found in one walk.
    DenseMap<StringAttr, SmallVector<LLVM::CallOp>> callsOf;
    for (LLVM::LLVMFuncOp body : bodies)
      callsOf[body.getSymNameAttr()];
    module.walk([&](LLVM::CallOp call) {
      if (auto callee = call.getCalleeAttr()) {
        auto it = callsOf.find(callee.getAttr());
        if (it != callsOf.end())
          it->second.push_back(call);
      }
    });

    // Each body's record: the first item, then the values.
    DataLayout layout = DataLayout::closest(module);
    SymbolTable symbols(module);
    SmallVector<LLVM::LLVMStructType> records;
    // Per caller, the largest record it passes: one stack slot serves all
    // its calls, as the pool returns only when a call's items are done.
    llvm::MapVector<Operation *, uint64_t> slotBytes;
    for (LLVM::LLVMFuncOp body : bodies) {
      ArrayRef<Type> params = body.getFunctionType().getParams();
      if (params.size() < 3 || !llvm::all_of(params.take_front(3), [&](Type t) {
            return t == i64;
          })) {
        body.emitError() << "ssm.parallel_body function must take (i64 begin, "
                            "i64 end, i64 cost, ...)";
        return signalPassFailure();
      }
      SmallVector<Type> fields = {i64};
      llvm::append_range(fields, params.drop_front(3));
      records.push_back(LLVM::LLVMStructType::getLiteral(ctx, fields));
      uint64_t bytes = layout.getTypeSize(records.back()).getFixedValue();
      for (LLVM::CallOp call : callsOf[body.getSymNameAttr()]) {
        uint64_t &slot = slotBytes[call->getParentOfType<LLVM::LLVMFuncOp>()];
        slot = std::max(slot, bytes);
      }
    }

    // The slots, in the callers' entry blocks.
    DenseMap<Operation *, Value> slots;
    for (auto [caller, bytes] : slotBytes) {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(
          &cast<LLVM::LLVMFuncOp>(caller).getBody().front());
      Value one = LLVM::ConstantOp::create(b, loc, i64, 1);
      auto storage = LLVM::LLVMArrayType::get(i64, llvm::divideCeil(bytes, 8));
      slots[caller] =
          LLVM::AllocaOp::create(b, loc, ptr, storage, one, /*alignment=*/16);
    }

    for (auto [body, record] : llvm::zip_equal(bodies, records)) {
      ArrayRef<Type> fields = record.getBody();
      // <body>_task(ctx, begin, end).
      b.setInsertionPointAfter(body);
      auto task = LLVM::LLVMFuncOp::create(
          b, loc, (body.getName() + "_task").str(),
          LLVM::LLVMFunctionType::get(voidType, {ptr, i64, i64}),
          LLVM::Linkage::Internal);
      symbols.insert(task);
      {
        OpBuilder::InsertionGuard guard(b);
        Block *entry = task.addEntryBlock(b);
        b.setInsertionPointToStart(entry);
        SmallVector<Value> loaded;
        for (auto [i, type] : llvm::enumerate(fields)) {
          Value at = LLVM::GEPOp::create(
              b, loc, ptr, record, entry->getArgument(0),
              ArrayRef<LLVM::GEPArg>{0, static_cast<int32_t>(i)});
          loaded.push_back(LLVM::LoadOp::create(b, loc, type, at));
        }
        Value zero = LLVM::ConstantOp::create(b, loc, i64, 0);
        SmallVector<Value> args = {
            LLVM::AddOp::create(b, loc, loaded[0], entry->getArgument(1)),
            LLVM::AddOp::create(b, loc, loaded[0], entry->getArgument(2)),
            zero};
        args.append(loaded.begin() + 1, loaded.end());
        LLVM::CallOp::create(b, loc, body, args);
        LLVM::ReturnOp::create(b, loc, ValueRange());
      }

      // Calls: the record in the caller's slot, then the pool.
      for (LLVM::CallOp call : callsOf[body.getSymNameAttr()]) {
        Value slot = slots[call->getParentOfType<LLVM::LLVMFuncOp>()];
        b.setInsertionPoint(call);
        ValueRange operands = call.getArgOperands();
        SmallVector<Value> values = {operands[0]};
        values.append(operands.begin() + 3, operands.end());
        for (auto [i, v] : llvm::enumerate(values)) {
          Value at = LLVM::GEPOp::create(
              b, call.getLoc(), ptr, record, slot,
              ArrayRef<LLVM::GEPArg>{0, static_cast<int32_t>(i)});
          LLVM::StoreOp::create(b, call.getLoc(), v, at);
        }
        Value n =
            LLVM::SubOp::create(b, call.getLoc(), operands[1], operands[0]);
        Value fn = LLVM::AddressOfOp::create(b, call.getLoc(), task);
        LLVM::CallOp::create(b, call.getLoc(), parallelFor,
                             ValueRange{fn, slot, n, operands[2]});
        call.erase();
      }
      body->removeAttr("ssm.parallel_body");
    }
  }
};
} // namespace
