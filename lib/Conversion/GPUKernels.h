//===- GPUKernels.h - Kernels of ssm-linalg-to-gpu --------------*- C++ -*-===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#ifndef SSM_LIB_CONVERSION_GPUKERNELS_H
#define SSM_LIB_CONVERSION_GPUKERNELS_H

#include "ssm/Dialect/SSM/IR/SSMOps.h"

namespace mlir::ssm {

/// Emits, at `b`'s insertion point, the launch of the fused attention
/// kernel computing `op` (on buffers), named `name` in the gpu.module
/// `module`, guarded so that an empty grid launches nothing. Fails (with an
/// error on `op`) for shapes the kernel does not take.
LogicalResult emitFusedAttentionKernel(OpBuilder &b, FusedAttentionOp op,
                                       StringRef module, StringRef name);

} // namespace mlir::ssm

#endif // SSM_LIB_CONVERSION_GPUKERNELS_H
