//===- IdentityLayoutResults.cpp - Returned views copied to plain buffers -===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "ssm/Conversion/Passes.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMIDENTITYLAYOUTRESULTS
#include "ssm/Conversion/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;

namespace {
struct SSMIdentityLayoutResults
    : mlir::ssm::impl::SSMIdentityLayoutResultsBase<SSMIdentityLayoutResults> {
  void runOnOperation() override {
    getOperation()->walk([&](func::ReturnOp ret) {
      OpBuilder b(ret);
      for (OpOperand &operand : ret->getOpOperands()) {
        auto cast = operand.get().getDefiningOp<memref::CastOp>();
        if (!cast)
          continue;
        auto source = dyn_cast<MemRefType>(cast.getSource().getType());
        auto result = dyn_cast<MemRefType>(cast.getType());
        if (!source || !result || source.getLayout().isIdentity() ||
            !result.getLayout().isIdentity())
          continue;
        Location loc = cast.getLoc();
        SmallVector<Value> sizes;
        for (int64_t d = 0; d < result.getRank(); ++d)
          if (result.isDynamicDim(d))
            sizes.push_back(memref::DimOp::create(b, loc, cast.getSource(), d));
        Value copy = memref::AllocOp::create(b, loc, result, sizes);
        memref::CopyOp::create(b, loc, cast.getSource(), copy);
        operand.set(copy);
        if (cast->use_empty())
          cast->erase();
      }
    });
  }
};
} // namespace
