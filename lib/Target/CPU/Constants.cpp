//===- Constants.cpp - Large constant data outside the LLVM module --------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// A model's weights are most of its bytes. Translated to LLVM IR they would
// be copied into the LLVM context and again into the object file's buffer,
// and a library past 2 GiB would not link under the small code model. The
// weights go instead to a data file that an assembly source includes with
// .incbin into the large read-only data section (.lrodata on x86-64), which
// the code addresses with 64-bit offsets from the GOT.
//
//===----------------------------------------------------------------------===//

#include "ssm/Target/CPU/Codegen.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Interfaces/DataLayoutInterfaces.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

using namespace mlir;

/// Whether `name` may be written unquoted as an assembler symbol.
static bool plainSymbol(StringRef name) {
  return !name.empty() && !llvm::isDigit(name.front()) &&
         llvm::all_of(name, [](char c) {
           return llvm::isAlnum(c) || c == '_' || c == '.' || c == '$';
         });
}

/// `s` as the body of an assembler string literal.
static std::string escaped(StringRef s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  return out;
}

ssm::cpu::ExternalConstants mlir::ssm::cpu::externalizeConstants(
    ModuleOp module, uint64_t threshold, StringRef dataPath,
    llvm::raw_ostream &data, llvm::raw_ostream &assembly) {
  bool x86_64 = llvm::Triple(llvm::sys::getProcessTriple()).getArch() ==
                llvm::Triple::x86_64;
  // .lrodata is large (64-bit addressing) by name, both for LLVM's code
  // generation and for the GNU and LLVM linkers' default layouts.
  StringRef section = x86_64 ? ".lrodata" : ".rodata";
  ExternalConstants result;
  std::string file = escaped(dataPath);
  assembly << "\t.section " << section << ".ssm_constants,\"a"
           << (x86_64 ? "l" : "") << "\",@progbits\n";
  for (auto global : module.getOps<LLVM::GlobalOp>()) {
    if (!global.getConstant() || global.getThreadLocal_() ||
        !global.getValueAttr() || !plainSymbol(global.getSymName()) ||
        global.getAddrSpace() != 0)
      continue;
    auto dense = dyn_cast<DenseElementsAttr>(global.getValueAttr());
    if (!dense || !dense.getElementType().isIntOrFloat())
      continue;
    unsigned bits = dense.getElementType().getIntOrFloatBitWidth();
    if (bits % 8 != 0)
      continue; // i1 is bit-packed in the attribute
    uint64_t elementBytes = bits / 8;
    uint64_t bytes = dense.getNumElements() * elementBytes;
    if (bytes < threshold || bytes == 0 ||
        DataLayout::closest(global).getTypeSize(global.getGlobalType()) !=
            llvm::TypeSize::getFixed(bytes))
      continue;

    uint64_t align = std::max<uint64_t>(global.getAlignment().value_or(1), 64);
    uint64_t offset = llvm::alignTo(result.bytes, align);
    data.write_zeros(offset - result.bytes);
    ArrayRef<char> raw = dense.getRawData();
    if (dense.isSplat()) {
      for (uint64_t i = 0; i < dense.getNumElements(); ++i)
        data.write(raw.data(), elementBytes);
    } else {
      data.write(raw.data(), raw.size());
    }
    result.bytes = offset + bytes;
    ++result.count;

    StringRef name = global.getSymName();
    assembly << "\t.p2align " << llvm::Log2_64(align) << "\n\t.globl " << name
             << "\n\t.hidden " << name << "\n\t.type " << name
             << ",@object\n\t.size " << name << ", " << bytes << "\n"
             << name << ":\n\t.incbin \"" << file << "\", " << offset << ", "
             << bytes << "\n";

    // The global becomes a hidden declaration in the same section.
    global.removeValueAttr();
    global.setLinkage(LLVM::Linkage::External);
    global.setVisibility_(LLVM::Visibility::Hidden);
    global.setDsoLocal(true);
    global.setSection(section);
    global.setAlignment(align);
  }
  assembly << "\t.section .note.GNU-stack,\"\",@progbits\n";
  return result;
}

void mlir::ssm::cpu::writeEmbeddedLibraries(
    ArrayRef<std::pair<std::string, std::string>> libraries,
    llvm::raw_ostream &assembly) {
  bool x86_64 = llvm::Triple(llvm::sys::getProcessTriple()).getArch() ==
                llvm::Triple::x86_64;
  StringRef section = x86_64 ? ".lrodata" : ".rodata";
  assembly << "\t.section " << section << ".ssm_libraries,\"a"
           << (x86_64 ? "l" : "") << "\",@progbits\n";
  for (auto [i, library] : llvm::enumerate(libraries))
    assembly << "\t.p2align 6\n.Lssm_library" << i << ":\n\t.incbin \""
             << escaped(library.second) << "\"\n.Lssm_library" << i
             << "_end:\n";
  assembly << "\t.section .rodata.ssm_library_names,\"a\",@progbits\n";
  for (auto [i, library] : llvm::enumerate(libraries))
    assembly << ".Lssm_library_name" << i << ":\n\t.asciz \""
             << escaped(library.first) << "\"\n";
  // Pointers: relocated at load time (.data.rel.ro).
  assembly << "\t.section .data.rel.ro.ssm_libraries,\"aw\",@progbits\n"
           << "\t.p2align 3\n\t.globl ssmlib_embedded_libraries\n"
           << "\t.type ssmlib_embedded_libraries,@object\n"
           << "\t.size ssmlib_embedded_libraries, "
           << 24 * (libraries.size() + 1) << "\nssmlib_embedded_libraries:\n";
  for (size_t i = 0; i < libraries.size(); ++i)
    assembly << "\t.quad .Lssm_library_name" << i << "\n\t.quad .Lssm_library"
             << i << "\n\t.quad .Lssm_library" << i << "_end - .Lssm_library"
             << i << "\n";
  assembly << "\t.quad 0\n\t.quad 0\n\t.quad 0\n"
           << "\t.section .note.GNU-stack,\"\",@progbits\n";
}
