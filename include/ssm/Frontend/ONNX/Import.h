//===- Import.h - ONNX model import -----------------------------*- C++ -*-===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Imports an ONNX model (opsets 13..27 of the default domain) into a module
// with one public function, `@main`, in the linalg/tensor/arith/math and ssm
// dialects. Graph inputs and outputs keep their names (arg/result attribute
// `ssm.name`); symbolic dimensions (dim_param) stay dynamic and every dimension
// the importer can resolve at compile time becomes static. The function carries
// its JSON signature in the `ssm.signature` attribute.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_FRONTEND_ONNX_IMPORT_H
#define SSM_FRONTEND_ONNX_IMPORT_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Support/LLVM.h"

#include <string>

namespace mlir::ssm::onnx_frontend {

/// Oldest and newest opset of the default ONNX domain the importer accepts.
constexpr int64_t kMinOpset = 13;
constexpr int64_t kMaxOpset = 27;

struct ImportOptions {
  /// The floating-point initializers of more than one element (the
  /// parameters) become arguments of `@main` after the graph inputs, named
  /// as the initializers, instead of constants: for training, where they
  /// change from call to call.
  bool parametersAsArguments = false;
};

/// Imports the ONNX model at `path` (external data files are read relative to
/// its directory). On failure returns null and sets `error` to one message that
/// names the offending node, op and opset where there is one.
OwningOpRef<ModuleOp> importONNXFile(MLIRContext *context, StringRef path,
                                     std::string &error,
                                     const ImportOptions &options = {});

/// Registers the dialects the importer creates ops of.
void registerImportDialects(DialectRegistry &registry);

} // namespace mlir::ssm::onnx_frontend

#endif // SSM_FRONTEND_ONNX_IMPORT_H
