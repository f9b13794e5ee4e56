//===- ssmc.cpp - The SSMC compiler driver --------------------------------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "ssm/Conversion/Passes.h"
#include "ssm/Dialect/SSM/IR/SSMDialect.h"
#include "ssm/Frontend/ONNX/Import.h"
#include "ssm/Target/CPU/Codegen.h"
#include "ssm/Target/CPU/ModelABI.h"
#include "ssm/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/Timing.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/TargetParser/Host.h"

using namespace mlir;
namespace cl = llvm::cl;

namespace {
enum class Phase { Import, Graph, Algorithm, Bufferize, Target, Serialize };
enum class Emit { Auto, MLIR, LLVM, Obj, SO };

cl::OptionCategory category("ssmc options");
cl::opt<std::string> inputFile(cl::Positional,
                               cl::desc("<input .onnx or .mlir>"), cl::Required,
                               cl::cat(category));
cl::opt<std::string> outputFile("o", cl::desc("Output file (- for stdout)"),
                                cl::value_desc("file"), cl::init("-"),
                                cl::cat(category));
cl::opt<std::string> target("target",
                            cl::desc("Target: cpu (cuda and vulkan are "
                                     "not available yet)"),
                            cl::init("cpu"), cl::cat(category));
cl::opt<Emit>
    emit("emit",
         cl::desc("What to write (default: from the -o extension, .so "
                  "otherwise)"),
         cl::values(clEnumValN(Emit::MLIR, "mlir", "MLIR after --compile-to"),
                    clEnumValN(Emit::LLVM, "llvm", "LLVM IR (textual)"),
                    clEnumValN(Emit::Obj, "obj", "a host object file"),
                    clEnumValN(Emit::SO, "so", "a shared library")),
         cl::init(Emit::Auto), cl::cat(category));
cl::opt<Phase> compileTo(
    "compile-to", cl::desc("Stop after this phase (default: serialize)"),
    cl::values(
        clEnumValN(Phase::Import, "import", "parse and verify the input"),
        clEnumValN(Phase::Graph, "graph", "graph-level cleanups"),
        clEnumValN(Phase::Algorithm, "algorithm",
                   "mixers to their algorithm, ssm ops to linalg on tensors"),
        clEnumValN(Phase::Bufferize, "bufferize", "tensors to buffers"),
        clEnumValN(Phase::Target, "target", "loops, then the LLVM dialect"),
        clEnumValN(Phase::Serialize, "serialize",
                   "LLVM IR, object file, shared library")),
    cl::init(Phase::Serialize), cl::cat(category));
cl::opt<ssm::MixerForm> mixerForm(
    "mixer-form", cl::desc("Algorithm for the mixers"),
    cl::values(
        clEnumValN(ssm::MixerForm::Chunked, "chunked",
                   "chunked form where a mixer has one "
                   "(SSD, Discrete Mamba-2, Mamba-3, attention), quadratic "
                   "otherwise (default)"),
        clEnumValN(ssm::MixerForm::Quadratic, "quadratic",
                   "materialized mixing matrix"),
        clEnumValN(ssm::MixerForm::Recurrent, "recurrent",
                   "loop of single-token steps")),
    cl::init(ssm::MixerForm::Chunked), cl::cat(category));
cl::opt<unsigned>
    chunkSize("chunk-size",
              cl::desc("Chunk size of the chunked form for every mixer "
                       "(default 0: the cost model of ssm-select-chunk-sizes; "
                       "an ssm.chunk_size attribute in .mlir input is kept)"),
              cl::init(0), cl::cat(category));
enum class Generation { Auto, On, Off };
cl::opt<Generation> generation(
    "generation",
    cl::desc("Derive stateful prefill and decode entry points from main "
             "(ssm-derive-generation)"),
    cl::values(clEnumValN(Generation::Auto, "auto",
                          "when the model allows it; a note says why not "
                          "otherwise (default)"),
               clEnumValN(Generation::On, "on",
                          "always; failing to derive them is an error"),
               clEnumValN(Generation::Off, "off", "only main")),
    cl::init(Generation::Auto), cl::cat(category));
enum class PrefillLogits { Last, All };
cl::opt<PrefillLogits> prefillLogits(
    "prefill-logits",
    cl::desc("Rows of the per-token outputs (logits) that prefill returns"),
    cl::values(clEnumValN(PrefillLogits::Last, "last",
                          "the last token's, what generation needs; the "
                          "last block and the LM head run for one token "
                          "(default)"),
               clEnumValN(PrefillLogits::All, "all",
                          "every token's (to score a prompt)")),
    cl::init(PrefillLogits::Last), cl::cat(category));
cl::opt<unsigned> optLevel("O", cl::desc("Optimization level 0..3"), cl::Prefix,
                           cl::init(2), cl::cat(category));

cl::opt<uint64_t> constantDataThreshold(
    "constant-data-threshold",
    cl::desc("For .so and .o outputs, constants (weights) of at least this "
             "many bytes bypass LLVM: written to a data file that the link "
             "includes into the large read-only data section, so the library "
             "may exceed 2 GiB (0: every constant through LLVM)"),
    cl::init(64 * 1024), cl::cat(category));

int fail(const Twine &message) {
  llvm::errs() << "ssmc: error: " << message << "\n";
  return 1;
}

Emit emitFromExtension(StringRef path) {
  return llvm::StringSwitch<Emit>(llvm::sys::path::extension(path))
      .Case(".mlir", Emit::MLIR)
      .Case(".ll", Emit::LLVM)
      .Case(".o", Emit::Obj)
      .Default(Emit::SO);
}
} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  // The phase pipelines are partly upstream pipeline text.
  registerAllPasses();
  // Upstream debugging options: --mlir-timing, --mlir-print-ir-after=...,
  // --mlir-elide-elementsattrs-if-larger=N and the like.
  registerDefaultTimingManagerCLOptions();
  registerPassManagerCLOptions();
  registerAsmPrinterCLOptions();
  registerMLIRContextCLOptions();
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "ssmc: the SSMC compiler driver\n\n"
      "Compiles a model for a target: an ONNX model (.onnx, opsets 13..27,\n"
      "external data read next to it) or MLIR (.mlir, the ssm and upstream\n"
      "dialects). Phases: import (ONNX -> linalg/tensor/ssm with symbolic\n"
      "batch and sequence sizes) -> graph (canonicalize) -> algorithm (mixers\n"
      "to their algorithm: chunked where they have a chunked form, chunk "
      "sizes\n"
      "from a cost model unless --chunk-size is given; ssm ops to linalg) ->\n"
      "bufferize -> target (loops,\n"
      "LLVM dialect, the model ABI functions) -> serialize. --compile-to "
      "stops\n"
      "after a phase and writes MLIR; --emit picks what serialize writes "
      "(LLVM\n"
      "IR, an object file or a shared library). Code generation runs in\n"
      "process; only the final link runs the C compiler driver ($CC or cc).\n\n"
      "The shared library needs only libc and libm. It exports the model ABI\n"
      "of runtime/include/ssm/model_abi.h (entry points, JSON signatures,\n"
      "compile info, ssmlib_entry_<name>) and, per public function f, the C\n"
      "interface _mlir_ciface_f over memref descriptors. Run it with ssm-run\n"
      "or the runtime C API (runtime/include/ssm/runtime.h).\n\n"
      "Examples:\n  ssmc model.onnx -o model.so -O3\n"
      "  ssmc model.onnx --compile-to=import -o model.mlir\n"
      "  ssmc layer.mlir --emit=llvm -o layer.ll\n"
      "  ssmc model.onnx -o model.so --mlir-timing  (time per phase and "
      "pass)\n");

  if (target != "cpu")
    return fail("target '" + target +
                "' is not available yet; only --target=cpu is");
  if (optLevel > 3)
    return fail("-O" + Twine(optLevel) + " is out of range (0..3)");
  Emit what = emit == Emit::Auto ? emitFromExtension(outputFile) : emit;
  if (compileTo != Phase::Serialize && what != Emit::MLIR) {
    if (emit != Emit::Auto)
      return fail("--emit=llvm|obj|so needs --compile-to=serialize; "
                  "earlier phases write MLIR");
    what = Emit::MLIR;
  }
  if ((what == Emit::Obj || what == Emit::SO) && outputFile == "-")
    return fail("binary output needs a file: give -o");

  // --mlir-timing: the phases below and every pass, printed at exit.
  DefaultTimingManager timing;
  applyDefaultTimingManagerCLOptions(timing);
  TimingScope rootTimer = timing.getRootScope();

  DialectRegistry registry;
  registry.insert<ssm::SSMDialect>();
  registerAllDialects(registry);
  registerAllExtensions(registry);
  MLIRContext context(registry);

  std::string error;
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler diagHandler(sourceMgr, &context);
  OwningOpRef<ModuleOp> module;
  TimingScope importTimer = rootTimer.nest("import");
  if (StringRef(inputFile).ends_with(".onnx")) {
    module = ssm::onnx_frontend::importONNXFile(&context, inputFile, error);
    if (!module)
      return fail(inputFile + ": " + error);
  } else {
    std::unique_ptr<llvm::MemoryBuffer> input =
        openInputFile(inputFile, &error);
    if (!input)
      return fail(error);
    sourceMgr.AddNewSourceBuffer(std::move(input), llvm::SMLoc());
    module = parseSourceFile<ModuleOp>(sourceMgr, &context);
    if (!module)
      return 1; // The parser or a verifier reported why.
  }
  importTimer.stop();

  // prefill and decode, derived from main on a copy of the module so that a
  // model that cannot be run token by token still compiles (auto).
  if (compileTo >= Phase::Graph && generation != Generation::Off &&
      (generation == Generation::On ||
       SymbolTable::lookupSymbolIn(*module, "main"))) {
    OwningOpRef<ModuleOp> derived = cast<ModuleOp>((*module)->clone());
    std::string why;
    bool ok;
    {
      ScopedDiagnosticHandler capture(&context, [&](Diagnostic &d) {
        if (generation == Generation::On)
          return failure(); // print it as usual
        if (d.getSeverity() == DiagnosticSeverity::Error && why.empty())
          why = d.str();
        return success();
      });
      PassManager dpm(&context);
      TimingScope deriveTimer = rootTimer.nest("derive generation");
      dpm.enableTiming(deriveTimer);
      ssm::SSMDeriveGenerationOptions deriveOptions;
      deriveOptions.prefillLogits =
          prefillLogits == PrefillLogits::All ? "all" : "last";
      dpm.addPass(ssm::createSSMDeriveGeneration(deriveOptions));
      ok = succeeded(dpm.run(*derived));
    }
    if (ok)
      module = std::move(derived);
    else if (generation == Generation::On)
      return 1;
    else
      llvm::errs() << "ssmc: note: no prefill/decode entry points: " << why
                   << "\n";
  }

  // Public functions are entry points: give them C interfaces.
  module->walk([&](func::FuncOp f) {
    if (f.isPublic() && !f.isExternal())
      f->setAttr("llvm.emit_c_interface", UnitAttr::get(&context));
  });

  // Entry points of the model ABI, taken before lowering.
  SmallVector<ssm::cpu::EntryPoint> entries;
  if (compileTo >= Phase::Target)
    entries = ssm::cpu::collectEntryPoints(*module);

  PassManager pm(&context);
  TimingScope passTimer = rootTimer.nest("passes");
  pm.enableTiming(passTimer);
  if (failed(applyPassManagerCLOptions(pm)))
    return 1;
  if (compileTo >= Phase::Graph)
    pm.addPass(createCanonicalizerPass());
  if (compileTo >= Phase::Algorithm)
    ssm::addAlgorithmPasses(pm, mixerForm, chunkSize);
  if (compileTo >= Phase::Bufferize)
    ssm::addBufferizePasses(pm);
  if (compileTo >= Phase::Target)
    ssm::addTargetPasses(pm, /*modelLibrary=*/true);
  if (failed(pm.run(*module)))
    return 1;
  passTimer.stop();
  if (compileTo >= Phase::Target) {
    std::string info =
        "{\"producer\":\"ssmc\",\"abi_version\":" +
        std::to_string(ssm::cpu::kModelABIVersion) +
        ",\"target\":\"cpu\",\"triple\":\"" + llvm::sys::getProcessTriple() +
        "\",\"cpu\":\"" + llvm::sys::getHostCPUName().str() +
        "\",\"opt_level\":" + std::to_string(optLevel) + ",\"mixer_form\":\"" +
        (mixerForm == ssm::MixerForm::Quadratic ? "quadratic"
         : mixerForm == ssm::MixerForm::Chunked ? "chunked"
                                                : "recurrent") +
        "\",\"chunk_size\":" + std::to_string(chunkSize) + ",\"source\":\"" +
        llvm::sys::path::filename(inputFile).str() + "\"}";
    if (failed(ssm::cpu::emitModelABI(*module, entries, info)))
      return 1;
  }

  std::unique_ptr<llvm::ToolOutputFile> output;
  auto openOutput = [&](StringRef path) {
    output = openOutputFile(path, &error);
    return output != nullptr;
  };

  if (what == Emit::MLIR) {
    if (!openOutput(outputFile))
      return fail(error);
    module->print(output->os());
    output->keep();
    return 0;
  }

  // Weights out of LLVM, into a data file that the link includes.
  llvm::SmallString<128> constantData, constantAsm;
  llvm::FileRemover removeData, removeAsm;
  if ((what == Emit::SO || what == Emit::Obj) && constantDataThreshold > 0) {
    TimingScope dataTimer = rootTimer.nest("constant data");
    if (auto ec = llvm::sys::fs::createTemporaryFile("ssmc-constants", "bin",
                                                     constantData))
      return fail("cannot create a temporary data file: " + ec.message());
    removeData.setFile(constantData);
    if (auto ec = llvm::sys::fs::createTemporaryFile("ssmc-constants", "s",
                                                     constantAsm))
      return fail("cannot create a temporary assembly file: " + ec.message());
    removeAsm.setFile(constantAsm);
    std::error_code dataEC, asmEC;
    llvm::raw_fd_ostream data(constantData, dataEC);
    llvm::raw_fd_ostream assembly(constantAsm, asmEC);
    if (dataEC || asmEC)
      return fail("cannot write the constant data files: " +
                  (dataEC ? dataEC : asmEC).message());
    ssm::cpu::externalizeConstants(*module, constantDataThreshold, constantData,
                                   data, assembly);
    data.close();
    assembly.close();
    if (data.has_error() || assembly.has_error())
      return fail(
          "cannot write the constant data files: " +
          (data.has_error() ? data.error() : assembly.error()).message());
  }

  llvm::LLVMContext llvmContext;
  TimingScope llvmTimer = rootTimer.nest("translate and optimize (LLVM)");
  FailureOr<std::unique_ptr<llvm::Module>> llvmModule =
      ssm::cpu::translateAndOptimize(*module, llvmContext, optLevel);
  if (failed(llvmModule))
    return 1;
  llvmTimer.stop();
  if (what == Emit::LLVM) {
    if (!openOutput(outputFile))
      return fail(error);
    (*llvmModule)->print(output->os(), nullptr);
    output->keep();
    return 0;
  }

  // Object file: the output itself, or a temporary for the link.
  std::string objectPath = outputFile;
  llvm::SmallString<128> tempObject;
  if (what == Emit::SO || what == Emit::Obj) {
    if (auto ec = llvm::sys::fs::createTemporaryFile("ssmc", "o", tempObject))
      return fail("cannot create a temporary object file: " + ec.message());
    objectPath = tempObject.str().str();
  }
  llvm::FileRemover removeTemp(tempObject); // no-op when empty
  if (!openOutput(objectPath))
    return fail(error);
  TimingScope objectTimer = rootTimer.nest("object code (LLVM)");
  if (failed(ssm::cpu::emitObject(**llvmModule, optLevel, output->os(), error)))
    return fail(error);
  output->keep();
  output.reset();
  objectTimer.stop();
  TimingScope linkTimer = rootTimer.nest("link");
  SmallVector<StringRef> inputs = {objectPath};
  if (!constantAsm.empty())
    inputs.push_back(constantAsm);
  if (what == Emit::Obj
          ? failed(ssm::cpu::linkRelocatable(inputs, outputFile, error))
          : failed(ssm::cpu::linkSharedLibrary(inputs, outputFile, error))) {
    llvm::sys::fs::remove(outputFile);
    return fail(error);
  }
  return 0;
}
