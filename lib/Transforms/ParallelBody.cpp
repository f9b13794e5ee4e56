//===- ParallelBody.cpp - Functions run by the thread pool ----------------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "ssm/Transforms/ParallelBody.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/SymbolTable.h"

using namespace mlir;

func::FuncOp mlir::ssm::createParallelBody(OpBuilder &b, Location loc,
                                           SymbolTable &symbols,
                                           StringRef name) {
  Type index = b.getIndexType();
  auto func = func::FuncOp::create(
      loc, name, b.getFunctionType({index, index, index}, {}));
  symbols.insert(func);
  func.setPrivate();
  func->setAttr("ssm.parallel_body", b.getUnitAttr());
  func->setAttr("llvm.linkage", LLVM::LinkageAttr::get(
                                    b.getContext(), LLVM::Linkage::Internal));
  func.addEntryBlock();
  return func;
}

void mlir::ssm::callWithCapturedValues(OpBuilder &b, Location loc,
                                       func::FuncOp func,
                                       SmallVector<Value> leading) {
  Block *entry = &func.getBody().front();
  SetVector<Value> outside;
  func.walk([&](Operation *op) {
    for (Value v : op->getOperands())
      if (!func.getBody().isAncestor(v.getParentRegion()))
        outside.insert(v);
  });
  for (Value v : outside) {
    Value inner;
    if (Operation *def = v.getDefiningOp();
        def && def->hasTrait<OpTrait::ConstantLike>()) {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(entry);
      inner = b.clone(*def)->getResult(0);
    } else {
      inner = entry->addArgument(v.getType(), loc);
      leading.push_back(v);
    }
    v.replaceUsesWithIf(inner, [&](OpOperand &use) {
      return func->isProperAncestor(use.getOwner());
    });
  }
  func.setFunctionType(
      b.getFunctionType(entry->getArgumentTypes(), TypeRange()));
  func::CallOp::create(b, loc, func, leading);
}
