//===- ModelABI.h - The model.so ABI ----------------------------*- C++ -*-===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Every model library ssmc writes exports the functions declared in
// runtime/include/ssm/model_abi.h: the ABI version, compile info (JSON), the
// entry points with their JSON signatures, one `ssmlib_entry_<name>(void **args)`
// per entry point, and `ssmlib_free` for releasing outputs. This file
// collects the entry points from func-level IR and adds those functions to the
// module once it is in the LLVM dialect.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TARGET_CPU_MODELABI_H
#define SSM_TARGET_CPU_MODELABI_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"

#include <string>

namespace mlir::ssm::cpu {

/// Version of the model.so ABI written by this ssmc.
constexpr int64_t kModelABIVersion = 2;

struct EntryPoint {
  std::string name;
  /// JSON: {"name":..., "inputs":[{"name","dtype","shape"}], "outputs":[...]}.
  std::string signature;
};

/// Collects the public functions whose arguments and results are all ranked
/// tensors or memrefs, with their signatures (from the `ssm.signature`
/// attribute the ONNX importer writes, or derived from the function type), and
/// removes the `ssm.*` argument/result attributes, which the LLVM translation
/// does not know.
SmallVector<EntryPoint> collectEntryPoints(ModuleOp module);

/// Adds the ABI functions to a module in the LLVM dialect (after
/// convert-func-to-llvm produced the `_mlir_ciface_<name>` wrappers).
LogicalResult emitModelABI(ModuleOp module, ArrayRef<EntryPoint> entries,
                           StringRef compileInfoJSON);

} // namespace mlir::ssm::cpu

#endif // SSM_TARGET_CPU_MODELABI_H
