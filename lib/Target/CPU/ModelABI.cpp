//===- ModelABI.cpp - The model.so ABI functions --------------------------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "ssm/Target/CPU/ModelABI.h"
#include "ssm/Utils/DType.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/StringSet.h"

using namespace mlir;
using namespace mlir::ssm;

static std::string jsonString(StringRef s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\', out += c;
    else if (static_cast<unsigned char>(c) >= 0x20)
      out += c;
  }
  return out + "\"";
}

/// Signature of a function without an importer-written one: arguments are
/// arg<i>, results result<i>, dynamic sizes null.
/// The JSON signature of `f` from its types; names from the `ssm.name`
/// argument and result attributes, arg<i> and result<i> where there is none
/// (all arg<i> and result<i> if that leaves two alike).
static std::string deriveSignature(func::FuncOp f) {
  auto names = [&](unsigned n, auto attrOf, StringRef prefix) {
    SmallVector<std::string> out;
    llvm::StringSet<> seen;
    for (unsigned i = 0; i < n; ++i) {
      auto name = dyn_cast_or_null<StringAttr>(attrOf(i));
      std::string s = name && !name.getValue().empty()
                          ? name.str()
                          : prefix.str() + std::to_string(i);
      if (!seen.insert(s).second)
        break;
      out.push_back(s);
    }
    if (out.size() != n) {
      out.clear();
      for (unsigned i = 0; i < n; ++i)
        out.push_back(prefix.str() + std::to_string(i));
    }
    return out;
  };
  auto list = [&](TypeRange types, ArrayRef<std::string> names) {
    std::string s = "[";
    for (auto [i, t] : llvm::enumerate(types)) {
      auto shaped = cast<ShapedType>(t);
      if (i)
        s += ",";
      s += "{\"name\":" + jsonString(names[i]) + ",\"dtype\":\"" +
           dtypeName(shaped.getElementType()).str() + "\",\"shape\":[";
      for (auto [j, d] : llvm::enumerate(shaped.getShape())) {
        if (j)
          s += ",";
        s += ShapedType::isDynamic(d) ? "null" : std::to_string(d);
      }
      s += "]}";
    }
    return s + "]";
  };
  SmallVector<std::string> inputs = names(
      f.getNumArguments(),
      [&](unsigned i) { return f.getArgAttr(i, "ssm.name"); }, "arg");
  SmallVector<std::string> outputs = names(
      f.getNumResults(),
      [&](unsigned i) { return f.getResultAttr(i, "ssm.name"); }, "result");
  return "{\"name\":" + jsonString(f.getName()) +
         ",\"inputs\":" + list(f.getArgumentTypes(), inputs) +
         ",\"outputs\":" + list(f.getResultTypes(), outputs) + "}";
}

static bool isABIType(Type t) {
  auto shaped = dyn_cast<ShapedType>(t);
  return shaped && (isa<RankedTensorType, MemRefType>(t)) &&
         !dtypeName(shaped.getElementType()).empty();
}

SmallVector<cpu::EntryPoint>
mlir::ssm::cpu::collectEntryPoints(ModuleOp module) {
  SmallVector<EntryPoint> entries;
  module.walk([&](func::FuncOp f) {
    if (!f.isPublic() || f.isExternal())
      return;
    bool ok = llvm::all_of(f.getArgumentTypes(), isABIType) &&
              llvm::all_of(f.getResultTypes(), isABIType);
    if (ok) {
      auto sig = f->getAttrOfType<StringAttr>("ssm.signature");
      entries.push_back(
          EntryPoint{f.getName().str(), sig ? sig.str() : deriveSignature(f)});
    }
    f->removeAttr("ssm.signature");
    for (unsigned i = 0; i < f.getNumArguments(); ++i)
      f.removeArgAttr(i, "ssm.name");
    for (unsigned i = 0; i < f.getNumResults(); ++i)
      f.removeResultAttr(i, StringAttr::get(f.getContext(), "ssm.name"));
  });
  return entries;
}

namespace {
struct ABIBuilder {
  ABIBuilder(ModuleOp module)
      : module(module), ctx(module.getContext()), b(ctx),
        loc(UnknownLoc::get(ctx)), ptr(LLVM::LLVMPointerType::get(ctx)),
        i64(IntegerType::get(ctx, 64)) {
    b.setInsertionPointToEnd(module.getBody());
  }

  LLVM::GlobalOp string(StringRef name, StringRef value) {
    std::string s = value.str();
    s.push_back('\0');
    auto type = LLVM::LLVMArrayType::get(IntegerType::get(ctx, 8), s.size());
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToEnd(module.getBody());
    return LLVM::GlobalOp::create(b, loc, type, /*isConstant=*/true,
                                  LLVM::Linkage::Internal, name,
                                  b.getStringAttr(s));
  }

  LLVM::LLVMFuncOp function(StringRef name, Type result, ArrayRef<Type> args) {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToEnd(module.getBody());
    auto type = LLVM::LLVMFunctionType::get(
        result ? result : LLVM::LLVMVoidType::get(ctx), args);
    auto f = LLVM::LLVMFuncOp::create(b, loc, name, type);
    return f;
  }

  Block *body(LLVM::LLVMFuncOp f) {
    Block *block = f.addEntryBlock(b);
    b.setInsertionPointToStart(block);
    return block;
  }

  Value i64Const(int64_t v) {
    return LLVM::ConstantOp::create(b, loc, i64, b.getI64IntegerAttr(v));
  }

  /// `table[i]` for a runtime index, null when out of range.
  Value select(Value index, ArrayRef<Value> table) {
    Value result = LLVM::ZeroOp::create(b, loc, ptr);
    for (auto [k, v] : llvm::enumerate(table)) {
      Value eq = LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::eq, index,
                                      i64Const(k));
      result = LLVM::SelectOp::create(b, loc, eq, v, result);
    }
    return result;
  }

  ModuleOp module;
  MLIRContext *ctx;
  OpBuilder b;
  Location loc;
  Type ptr, i64;
};
} // namespace

LogicalResult mlir::ssm::cpu::emitModelABI(ModuleOp module,
                                           ArrayRef<EntryPoint> entries,
                                           StringRef compileInfoJSON) {
  ABIBuilder abi(module);
  OpBuilder &b = abi.b;
  Location loc = abi.loc;
  SmallVector<LLVM::GlobalOp> names, signatures;
  SmallVector<std::string> entryFns;
  for (auto [i, e] : llvm::enumerate(entries)) {
    auto ciface =
        module.lookupSymbol<LLVM::LLVMFuncOp>("_mlir_ciface_" + e.name);
    if (!ciface)
      return module.emitError() << "entry point '" << e.name
                                << "' has no C interface after lowering";
    names.push_back(
        abi.string("__ssm_entry_name_" + std::to_string(i), e.name));
    signatures.push_back(
        abi.string("__ssm_entry_signature_" + std::to_string(i), e.signature));
    // void ssm_entry_<name>(void **args): args[k] is the k-th parameter of
    // _mlir_ciface_<name> (result storage first, then input descriptors).
    std::string fnName = "ssmlib_entry_" + e.name;
    LLVM::LLVMFuncOp fn = abi.function(fnName, nullptr, {abi.ptr});
    OpBuilder::InsertionGuard g(b);
    abi.body(fn);
    SmallVector<Value> args;
    for (unsigned k = 0; k < ciface.getNumArguments(); ++k) {
      Value slot =
          LLVM::GEPOp::create(b, loc, abi.ptr, abi.ptr, fn.getArgument(0),
                              ArrayRef<LLVM::GEPArg>{(int32_t)k});
      args.push_back(LLVM::LoadOp::create(b, loc, abi.ptr, slot));
    }
    LLVM::CallOp::create(b, loc, ciface, args);
    LLVM::ReturnOp::create(b, loc, ValueRange{});
    entryFns.push_back(fnName);
  }
  auto info = abi.string("__ssm_compile_info", compileInfoJSON);

  {
    LLVM::LLVMFuncOp f = abi.function("ssmlib_abi_version", abi.i64, {});
    OpBuilder::InsertionGuard g(b);
    abi.body(f);
    LLVM::ReturnOp::create(b, loc, abi.i64Const(kModelABIVersion));
  }
  {
    LLVM::LLVMFuncOp f = abi.function("ssmlib_compile_info", abi.ptr, {});
    OpBuilder::InsertionGuard g(b);
    abi.body(f);
    LLVM::ReturnOp::create(b, loc,
                           LLVM::AddressOfOp::create(b, loc, info).getResult());
  }
  {
    LLVM::LLVMFuncOp f = abi.function("ssmlib_num_entry_points", abi.i64, {});
    OpBuilder::InsertionGuard g(b);
    abi.body(f);
    LLVM::ReturnOp::create(b, loc, abi.i64Const(entries.size()));
  }
  auto tableFn = [&](StringRef name, auto make) {
    LLVM::LLVMFuncOp f = abi.function(name, abi.ptr, {abi.i64});
    OpBuilder::InsertionGuard g(b);
    abi.body(f);
    SmallVector<Value> table;
    for (size_t i = 0; i < entries.size(); ++i)
      table.push_back(make(i));
    LLVM::ReturnOp::create(b, loc, abi.select(f.getArgument(0), table));
  };
  tableFn("ssmlib_entry_point_name", [&](size_t i) -> Value {
    return LLVM::AddressOfOp::create(b, loc, names[i]);
  });
  tableFn("ssmlib_signature", [&](size_t i) -> Value {
    return LLVM::AddressOfOp::create(b, loc, signatures[i]);
  });
  tableFn("ssmlib_entry_point_function", [&](size_t i) -> Value {
    return LLVM::AddressOfOp::create(b, loc, abi.ptr, entryFns[i]);
  });
  {
    // Buffers come from the model support code (ModelSupport.c).
    StringRef freeName = "_mlir_memref_to_llvm_free";
    auto freeFn = module.lookupSymbol<LLVM::LLVMFuncOp>(freeName);
    if (!freeFn)
      freeFn = abi.function(freeName, nullptr, {abi.ptr});
    LLVM::LLVMFuncOp f = abi.function("ssmlib_free", nullptr, {abi.ptr});
    OpBuilder::InsertionGuard g(b);
    abi.body(f);
    LLVM::CallOp::create(b, loc, freeFn, ValueRange{f.getArgument(0)});
    LLVM::ReturnOp::create(b, loc, ValueRange{});
  }
  return success();
}
