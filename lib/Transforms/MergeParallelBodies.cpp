//===- MergeParallelBodies.cpp - One copy of identical outlined loops -----===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "ssm/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/OperationSupport.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/MapVector.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMMERGEPARALLELBODIES
#include "ssm/Transforms/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;

/// A hash of what makes two functions identical: the type, the attributes
/// other than the name, and each op of the body (name, attributes, types;
/// the operands are compared by isRegionEquivalentTo).
static llvm::hash_code hashFunction(func::FuncOp f) {
  llvm::hash_code h = hash_value(f.getFunctionType());
  for (NamedAttribute a : f->getAttrs())
    if (a.getName() != SymbolTable::getSymbolAttrName())
      h = llvm::hash_combine(h, a.getName(), a.getValue());
  f.getBody().walk([&](Operation *op) {
    h = llvm::hash_combine(h, OperationEquivalence::computeHash(
                                  op, OperationEquivalence::ignoreHashValue,
                                  OperationEquivalence::ignoreHashValue,
                                  OperationEquivalence::IgnoreLocations));
  });
  return h;
}

static bool sameAttributes(func::FuncOp a, func::FuncOp b) {
  auto rest = [](func::FuncOp f) {
    SmallVector<NamedAttribute> attrs;
    for (NamedAttribute n : f->getAttrs())
      if (n.getName() != SymbolTable::getSymbolAttrName())
        attrs.push_back(n);
    return attrs;
  };
  return rest(a) == rest(b);
}

namespace {
struct SSMMergeParallelBodies
    : mlir::ssm::impl::SSMMergeParallelBodiesBase<SSMMergeParallelBodies> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> bodies;
    for (auto f : module.getOps<func::FuncOp>())
      if (f->hasAttr("ssm.parallel_body") && !f.isExternal())
        bodies.push_back(f);
    if (bodies.size() < 2)
      return;

    // Functions used other than as a callee stay as they are.
    DenseSet<StringAttr> otherUse;
    if (std::optional<SymbolTable::UseRange> uses =
            SymbolTable::getSymbolUses(&module.getBodyRegion())) {
      for (const SymbolTable::SymbolUse &use : *uses)
        if (!isa<func::CallOp>(use.getUser()))
          otherUse.insert(use.getSymbolRef().getRootReference());
    } else {
      return; // an unknown op may refer to any symbol
    }

    // Classes of identical functions, by hash then by comparison.
    DenseMap<StringAttr, StringAttr> replacement;
    DenseMap<size_t, SmallVector<func::FuncOp>> byHash;
    for (func::FuncOp f : bodies) {
      if (otherUse.contains(f.getSymNameAttr()))
        continue;
      SmallVector<func::FuncOp> &kept = byHash[hashFunction(f)];
      auto same = llvm::find_if(kept, [&](func::FuncOp k) {
        return k.getFunctionType() == f.getFunctionType() &&
               sameAttributes(k, f) &&
               OperationEquivalence::isRegionEquivalentTo(
                   &k.getBody(), &f.getBody(),
                   OperationEquivalence::IgnoreLocations);
      });
      if (same == kept.end())
        kept.push_back(f);
      else
        replacement[f.getSymNameAttr()] = same->getSymNameAttr();
    }
    if (replacement.empty())
      return;

    module.walk([&](func::CallOp call) {
      auto it = replacement.find(call.getCalleeAttr().getAttr());
      if (it != replacement.end())
        call.setCalleeAttr(FlatSymbolRefAttr::get(it->second));
    });
    for (func::FuncOp f : bodies)
      if (replacement.contains(f.getSymNameAttr()))
        f.erase();
  }
};
} // namespace
