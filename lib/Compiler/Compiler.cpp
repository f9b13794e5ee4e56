//===- Compiler.cpp - Compile a model, in process -------------------------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "ssm/Compiler/Compiler.h"
#include "ssm/Compiler/CompileAPI.h"
#include "ssm/Conversion/Passes.h"
#include "ssm/Dialect/SSM/IR/SSMDialect.h"
#include "ssm/Frontend/ONNX/Import.h"
#include "ssm/Target/CPU/Codegen.h"
#include "ssm/Target/CPU/ModelABI.h"
#include "ssm/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/CrashRecoveryContext.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/TargetParser/Host.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <mutex>
#include <optional>

using namespace mlir;
using namespace mlir::ssm;

EmitKind mlir::ssm::emitKindFromExtension(StringRef path) {
  return llvm::StringSwitch<EmitKind>(llvm::sys::path::extension(path))
      .Case(".mlir", EmitKind::MLIR)
      .Case(".ll", EmitKind::LLVM)
      .Case(".o", EmitKind::Obj)
      .Default(EmitKind::SO);
}

/// Whether `toolkit`/bin holds ptxas and fatbinary.
static bool hasPtxas(StringRef toolkit) {
  llvm::SmallString<128> ptxas(toolkit), fatbinary(toolkit);
  llvm::sys::path::append(ptxas, "bin", "ptxas");
  llvm::sys::path::append(fatbinary, "bin", "fatbinary");
  return llvm::sys::fs::can_execute(ptxas) &&
         llvm::sys::fs::can_execute(fatbinary);
}

/// The CUDA toolkit: $CUDA_PATH, the directory above the ptxas on PATH, or
/// /usr/local/cuda; empty when none has ptxas.
static std::string findCUDAToolkit() {
  if (const char *env = std::getenv("CUDA_PATH"); env && *env)
    if (hasPtxas(env))
      return env;
  if (llvm::ErrorOr<std::string> ptxas =
          llvm::sys::findProgramByName("ptxas")) {
    llvm::SmallString<128> dir;
    if (llvm::sys::fs::real_path(*ptxas, dir))
      dir = *ptxas;
    llvm::sys::path::remove_filename(dir); // .../bin
    llvm::sys::path::remove_filename(dir);
    if (hasPtxas(dir))
      return std::string(dir);
  }
  if (hasPtxas("/usr/local/cuda"))
    return "/usr/local/cuda";
  return "";
}

namespace {
/// One compilation: its options, where it reports, and its timers.
struct Compilation {
  const CompileOptions &options;
  llvm::raw_ostream &diagnostics;
  const CompileHooks &hooks;
  TimingScope untimed; // an empty scope: nothing is timed
  TimingScope &rootTimer;

  Compilation(const CompileOptions &options, llvm::raw_ostream &diagnostics,
              const CompileHooks &hooks)
      : options(options), diagnostics(diagnostics), hooks(hooks),
        rootTimer(hooks.timing ? *hooks.timing : untimed) {}

  /// A bundle's other targets: (target, model library) pairs linked into
  /// this library as data (ssmlib_embedded_libraries), and every target of
  /// the bundle, the default first, for the compile info of each part.
  SmallVector<std::pair<std::string, std::string>> embedded;
  SmallVector<std::string> bundleTargets;

  LogicalResult fail(const Twine &message) {
    diagnostics << "ssmc: error: " << message << "\n";
    return failure();
  }

  LogicalResult run(StringRef inputPath, StringRef outputPath);
  /// The loss and optimizer options: in range, and given only with --train
  /// (the temperature and label weight only with the distillation loss).
  LogicalResult checkTrainOptions();
  /// `,"train":{...}` for the compile info: the loss and optimizer options
  /// baked into train_step (empty without --train).
  std::string trainInfo() const;
  /// `,"targets":[...]` for a bundle's compile info (empty otherwise).
  std::string targetsInfo() const;
  /// prefill and decode, derived from main on a copy of the module so that
  /// a model that cannot be run token by token still compiles (auto).
  LogicalResult deriveGeneration(MLIRContext &context,
                                 OwningOpRef<ModuleOp> &module);
  /// LLVM IR, an object file or a shared library from the LLVM dialect.
  LogicalResult serialize(ModuleOp module, EmitKind what, StringRef outputPath);
};
} // namespace

LogicalResult Compilation::deriveGeneration(MLIRContext &context,
                                            OwningOpRef<ModuleOp> &module) {
  GenerationMode mode = options.generation;
  if (options.gradients || options.train)
    return success(); // main takes the parameters: no prefill/decode
  if (mode == GenerationMode::Off ||
      (mode == GenerationMode::Auto &&
       !SymbolTable::lookupSymbolIn(*module, "main")))
    return success();
  OwningOpRef<ModuleOp> derived = cast<ModuleOp>((*module)->clone());
  std::string why;
  bool ok;
  {
    ScopedDiagnosticHandler capture(&context, [&](Diagnostic &d) {
      if (mode == GenerationMode::On)
        return failure(); // print it as usual
      if (d.getSeverity() == DiagnosticSeverity::Error && why.empty())
        why = d.str();
      return success();
    });
    PassManager dpm(&context);
    TimingScope deriveTimer = rootTimer.nest("derive generation");
    dpm.enableTiming(deriveTimer);
    SSMDeriveGenerationOptions deriveOptions;
    deriveOptions.prefillLogits = options.prefillLogitsAll ? "all" : "last";
    dpm.addPass(createSSMDeriveGeneration(deriveOptions));
    ok = succeeded(dpm.run(*derived));
  }
  if (ok) {
    module = std::move(derived);
    return success();
  }
  if (mode == GenerationMode::On)
    return failure();
  diagnostics << "ssmc: note: no prefill/decode entry points: " << why << "\n";
  return success();
}

/// `s` as a JSON string literal (quoted, escaped).
static std::string jsonString(StringRef s) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::json::Value(s.str());
  return text;
}

std::string Compilation::targetsInfo() const {
  if (bundleTargets.empty())
    return "";
  std::string text;
  llvm::raw_string_ostream os(text);
  os << ",\"targets\":" << llvm::json::Value(llvm::json::Array(bundleTargets));
  return text;
}

std::string Compilation::trainInfo() const {
  if (!options.train)
    return "";
  llvm::json::Object train{{"loss", options.trainLoss},
                           {"frozen", llvm::json::Array(options.frozen)},
                           {"adam_beta1", options.adamBeta1},
                           {"adam_beta2", options.adamBeta2},
                           {"adam_eps", options.adamEps},
                           {"weight_decay", options.weightDecay},
                           {"max_grad_norm", options.maxGradNorm}};
  if (options.trainLoss == "distillation") {
    train["temperature"] = options.temperature;
    train["label_weight"] = options.labelWeight;
  }
  std::string text;
  llvm::raw_string_ostream os(text);
  os << ",\"train\":" << llvm::json::Value(std::move(train));
  return text;
}

LogicalResult Compilation::checkTrainOptions() {
  CompileOptions defaults;
  struct Numeric {
    const char *flag;
    double value, fallback;
    bool (*ok)(double);
    const char *range;
  };
  // As the float32 constants train_step computes with.
  auto fraction = [](double v) { return v >= 0 && static_cast<float>(v) < 1; };
  auto positive = [](double v) {
    float f = static_cast<float>(v);
    return f > 0 && std::isfinite(f);
  };
  auto nonNegative = [](double v) {
    return v >= 0 && std::isfinite(static_cast<float>(v));
  };
  const Numeric numeric[] = {
      {"--temperature", options.temperature, defaults.temperature, positive,
       "positive and finite in float32"},
      {"--label-weight", options.labelWeight, defaults.labelWeight, nonNegative,
       ">= 0 and finite in float32"},
      {"--adam-beta1", options.adamBeta1, defaults.adamBeta1, fraction,
       "in [0, 1) in float32"},
      {"--adam-beta2", options.adamBeta2, defaults.adamBeta2, fraction,
       "in [0, 1) in float32"},
      {"--adam-eps", options.adamEps, defaults.adamEps, positive,
       "positive and finite in float32"},
      {"--weight-decay", options.weightDecay, defaults.weightDecay, nonNegative,
       ">= 0 and finite in float32"},
      {"--max-grad-norm", options.maxGradNorm, defaults.maxGradNorm,
       nonNegative, ">= 0 and finite in float32 (0: no clipping)"}};
  for (const Numeric &n : numeric) {
    // NaN differs from every default, so it is caught either way.
    bool given = !(n.value == n.fallback);
    if (!given)
      continue;
    if (!options.train)
      return fail(Twine(n.flag) + " is an option of --train");
    if (!n.ok(n.value)) {
      char text[32];
      snprintf(text, sizeof text, "%g", n.value);
      return fail(Twine(n.flag) + " must be " + n.range + ", got " + text);
    }
  }
  if (!options.train && !options.frozen.empty())
    return fail("--frozen is an option of --train");
  if (!options.train && options.trainLoss != defaults.trainLoss)
    return fail("--train-loss is an option of --train");
  if (options.trainLoss != "distillation") {
    if (options.temperature != defaults.temperature)
      return fail("--temperature is the student's temperature of "
                  "--train-loss=distillation; the loss is " +
                  options.trainLoss);
    if (options.labelWeight != defaults.labelWeight)
      return fail("--label-weight weighs the cross-entropy added to "
                  "--train-loss=distillation; the loss is " +
                  options.trainLoss);
  }
  return success();
}

LogicalResult Compilation::run(StringRef inputPath, StringRef outputPath) {
  bool cuda = options.target == "cuda";
  bool vulkan = options.target == "vulkan";
  if (options.target != "cpu" && !cuda && !vulkan)
    return fail("target '" + options.target +
                "' is not available; the targets are cpu, cuda and vulkan");
  std::string spirvVal;
  if (vulkan) {
    if (!cpu::haveVulkanSupport())
      return fail("--target=vulkan: this ssmc was built without the Vulkan "
                  "headers (libvulkan-dev); rebuild it with them");
    if (options.spirvVal != "auto" && options.spirvVal != "on" &&
        options.spirvVal != "off")
      return fail("--spirv-val must be auto, on or off, got '" +
                  options.spirvVal + "'");
    if (options.spirvVal != "off") {
      if (llvm::ErrorOr<std::string> found =
              llvm::sys::findProgramByName("spirv-val"))
        spirvVal = *found;
      else if (options.spirvVal == "on")
        return fail("--spirv-val=on: spirv-val (SPIRV-Tools) is not on PATH");
    }
  }
  bool device = cuda || vulkan;
  if (options.hiddenStates && (options.gradients || options.train))
    return fail("--hidden-states builds the teacher's entry points; compile "
                "the teacher without --gradients and --train");
  if (failed(checkTrainOptions()))
    return failure();
  if ((options.gradients || options.train) &&
      options.generation == GenerationMode::On)
    return fail("--gradients and --train build training entry points only; "
                "they cannot be combined with --generation=on");
  std::string cudaFormat, cudaToolkit;
  if (cuda) {
    StringRef arch = options.cudaArch;
    unsigned version = 0;
    StringRef digits = arch;
    bool archOK = digits.consume_front("sm_");
    digits.consume_back("a");
    archOK = archOK && !digits.getAsInteger(10, version) && version >= 50;
    if (!archOK)
      return fail("--cuda-arch must name an NVIDIA architecture such as "
                  "sm_80 or sm_90a, got '" +
                  options.cudaArch + "'");
    if (options.matmulPrecision != "tf32x3" &&
        options.matmulPrecision != "tf32" && options.matmulPrecision != "ieee")
      return fail("--matmul-precision must be tf32x3, tf32 or ieee, got '" +
                  options.matmulPrecision + "'");
    if (options.cudaFormat != "auto" && options.cudaFormat != "ptx" &&
        options.cudaFormat != "fatbin")
      return fail("--cuda-format must be auto, ptx or fatbin, got '" +
                  options.cudaFormat + "'");
    cudaToolkit =
        options.cudaToolkit.empty() ? findCUDAToolkit() : options.cudaToolkit;
    bool haveToolkit = !cudaToolkit.empty() && hasPtxas(cudaToolkit);
    if (options.cudaFormat == "fatbin" && !haveToolkit)
      return fail("--cuda-format=fatbin needs the CUDA toolkit's ptxas and "
                  "fatbinary" +
                  (options.cudaToolkit.empty()
                       ? std::string(" (none found: give --cuda-toolkit, set "
                                     "CUDA_PATH or put ptxas on PATH)")
                       : " under '" + options.cudaToolkit + "/bin'"));
    cudaFormat = options.cudaFormat == "ptx" ||
                         (options.cudaFormat == "auto" && !haveToolkit)
                     ? "isa"
                     : "fatbin";
  }
  if (options.optLevel > 3)
    return fail("-O" + Twine(options.optLevel) + " is out of range (0..3)");
  EmitKind what = options.emit == EmitKind::Auto
                      ? emitKindFromExtension(outputPath)
                      : options.emit;
  CompilePhase compileTo = options.compileTo;
  if (compileTo != CompilePhase::Serialize && what != EmitKind::MLIR) {
    if (options.emit != EmitKind::Auto)
      return fail("--emit=llvm|obj|so needs --compile-to=serialize; "
                  "earlier phases write MLIR");
    what = EmitKind::MLIR;
  }
  if ((what == EmitKind::Obj || what == EmitKind::SO) && outputPath == "-")
    return fail("binary output needs a file: give -o");

  DialectRegistry registry;
  registry.insert<SSMDialect>();
  registerAllDialects(registry);
  registerAllExtensions(registry);
  // gpu-module-to-binary translates the CUDA target's kernels to LLVM IR.
  registerAllToLLVMIRTranslations(registry);
  MLIRContext context(registry);

  std::string error;
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler diagHandler(sourceMgr, &context, diagnostics);
  OwningOpRef<ModuleOp> module;
  TimingScope importTimer = rootTimer.nest("import");
  if (inputPath.ends_with(".onnx")) {
    onnx_frontend::ImportOptions importOptions;
    importOptions.parametersAsArguments = options.gradients || options.train;
    module = onnx_frontend::importONNXFile(&context, inputPath, error,
                                           importOptions);
    if (!module)
      return fail(inputPath + ": " + error);
  } else {
    std::unique_ptr<llvm::MemoryBuffer> file = openInputFile(inputPath, &error);
    if (!file)
      return fail(error);
    sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
    // Some upstream custom parsers crash after reporting an error
    // (linalg.transpose with `permutation = [0, ?]` stores the null attribute
    // its failed parse returns): parse under crash recovery, so that such
    // input ends as an error, in a tool or in the Python package alike. What
    // the interrupted parse built is leaked.
    llvm::CrashRecoveryContext::Enable();
    llvm::CrashRecoveryContext crc;
    if (!crc.RunSafely(
            [&] { module = parseSourceFile<ModuleOp>(sourceMgr, &context); })) {
      (void)module.release();
      return fail(inputPath + ": the MLIR parser crashed on this input (after "
                              "the errors above, if any); it is invalid");
    }
    if (!module)
      return failure(); // The parser or a verifier reported why.
  }
  importTimer.stop();

  if (compileTo >= CompilePhase::Graph &&
      failed(deriveGeneration(context, module)))
    return failure();

  // Training: the mixers in their quadratic form, then main_grad (an entry
  // point, so before they are collected).
  if (compileTo >= CompilePhase::Graph &&
      (options.gradients || options.train)) {
    PassManager gpm(&context);
    TimingScope gradientTimer = rootTimer.nest("gradients");
    gpm.enableTiming(gradientTimer);
    gpm.addPass(createCanonicalizerPass());
    bool aligned = options.trainLoss == "hidden-alignment" ||
                   options.trainLoss == "matrix-orientation";
    if (options.train && aligned)
      gpm.addPass(createSSMBuildAlignment(
          SSMBuildAlignmentOptions{"main", options.trainLoss}));
    // Mixers with a chunked form are differentiated in it (a loop over
    // chunks: its reverse keeps one state per chunk, no L x L matrix;
    // attention's reverse recomputes each key tile from the log-sum-exp);
    // the others in their quadratic form.
    gpm.addPass(createSSMSelectChunkSizes(
        SSMSelectChunkSizesOptions{static_cast<int64_t>(options.chunkSize)}));
    gpm.addPass(createSSMChunkMixers(SSMChunkMixersOptions{true}));
    gpm.addPass(createSSMMaterializeMixers());
    gpm.addPass(createConvertSSMToLinalg());
    if (options.gradients)
      gpm.addPass(createSSMDifferentiate(SSMDifferentiateOptions{{"main"}}));
    if (options.train) {
      SSMBuildTrainStepOptions trainOptions;
      trainOptions.loss = options.trainLoss;
      trainOptions.temperature = options.temperature;
      trainOptions.labelWeight = options.labelWeight;
      trainOptions.beta1 = options.adamBeta1;
      trainOptions.beta2 = options.adamBeta2;
      trainOptions.eps = options.adamEps;
      trainOptions.weightDecay = options.weightDecay;
      trainOptions.maxGradNorm = options.maxGradNorm;
      trainOptions.frozen.assign(options.frozen.begin(), options.frozen.end());
      gpm.addPass(createSSMBuildTrainStep(trainOptions));
    }
    if (failed(gpm.run(*module)))
      return failure();
  }

  // The teacher's hidden states and mixing matrices (MOHAWK stages 1, 2).
  if (compileTo >= CompilePhase::Graph && options.hiddenStates) {
    PassManager hpm(&context);
    TimingScope hiddenTimer = rootTimer.nest("hidden states");
    hpm.enableTiming(hiddenTimer);
    hpm.addPass(createCanonicalizerPass());
    hpm.addPass(createSSMBuildAlignment(
        SSMBuildAlignmentOptions{"main", "hidden-states"}));
    if (failed(hpm.run(*module)))
      return failure();
  }

  // Public functions are entry points: give them C interfaces. Their
  // arguments are the caller's arrays: read-only unless marked otherwise
  // (the generation state of prefill and decode is updated in place).
  module->walk([&](func::FuncOp f) {
    if (!f.isPublic() || f.isExternal())
      return;
    f->setAttr("llvm.emit_c_interface", UnitAttr::get(&context));
    for (unsigned i = 0; i < f.getNumArguments(); ++i)
      if (isa<TensorType>(f.getArgumentTypes()[i]) &&
          !f.getArgAttr(i, "bufferization.writable"))
        f.setArgAttr(i, "bufferization.writable",
                     BoolAttr::get(&context, false));
  });

  // Entry points of the model ABI, taken before lowering.
  SmallVector<cpu::EntryPoint> entries;
  if (compileTo >= CompilePhase::Target)
    entries = cpu::collectEntryPoints(*module);

  PassManager pm(&context);
  TimingScope passTimer = rootTimer.nest("passes");
  pm.enableTiming(passTimer);
  if (hooks.configurePassManager && failed(hooks.configurePassManager(pm)))
    return failure();
  if (compileTo >= CompilePhase::Graph)
    pm.addPass(createCanonicalizerPass());

  if (compileTo >= CompilePhase::Algorithm)
    addAlgorithmPasses(pm, options.mixerForm, options.chunkSize,
                       device && options.fusedAttention,
                       device && options.fusedSSD);
  if (compileTo >= CompilePhase::Bufferize)
    addBufferizePasses(pm);
  if (compileTo >= CompilePhase::Target) {
    if (cuda) {
      CUDATargetOptions cudaOptions;
      cudaOptions.chip = options.cudaArch;
      cudaOptions.format = cudaFormat;
      cudaOptions.toolkit = cudaFormat == "fatbin" ? cudaToolkit : "";
      cudaOptions.optLevel = options.optLevel;
      cudaOptions.matmulPrecision = options.matmulPrecision;
      addCUDATargetPasses(pm, cudaOptions);
    } else if (vulkan) {
      VulkanTargetOptions vulkanOptions;
      vulkanOptions.validator = spirvVal;
      addVulkanTargetPasses(pm, vulkanOptions);
    } else {
      addTargetPasses(pm, /*modelLibrary=*/true);
    }
  }
  if (failed(pm.run(*module)))
    return failure();
  passTimer.stop();
  if (compileTo >= CompilePhase::Target) {
    MixerForm form = options.mixerForm;
    std::string info =
        "{\"producer\":\"ssmc\",\"abi_version\":" +
        std::to_string(cpu::kModelABIVersion) + ",\"target\":\"" +
        options.target + "\"" +
        (cuda ? ",\"cuda_arch\":\"" + options.cudaArch +
                    "\",\"cuda_format\":\"" +
                    (cudaFormat == "isa" ? "ptx" : "fatbin") + "\""
              : std::string()) +
        ",\"triple\":\"" + llvm::sys::getProcessTriple() + "\",\"cpu\":\"" +
        (device ? std::string("generic") : llvm::sys::getHostCPUName().str()) +
        "\",\"opt_level\":" + std::to_string(options.optLevel) +
        ",\"mixer_form\":\"" +
        (form == MixerForm::Quadratic ? "quadratic"
         : form == MixerForm::Chunked ? "chunked"
                                      : "recurrent") +
        "\",\"chunk_size\":" + std::to_string(options.chunkSize) +
        ",\"source\":" + jsonString(llvm::sys::path::filename(inputPath)) +
        targetsInfo() + trainInfo() + "}";
    if (failed(cpu::emitModelABI(*module, entries, info)))
      return failure();
  }

  if (what == EmitKind::MLIR) {
    std::unique_ptr<llvm::ToolOutputFile> output =
        openOutputFile(outputPath, &error);
    if (!output)
      return fail(error);
    module->print(output->os());
    output->keep();
    return success();
  }
  return serialize(*module, what, outputPath);
}

LogicalResult Compilation::serialize(ModuleOp module, EmitKind what,
                                     StringRef outputPath) {
  std::string error;
  // Weights out of LLVM, into a data file that the link includes.
  llvm::SmallString<128> constantData, constantAsm;
  llvm::FileRemover removeData, removeAsm;
  if ((what == EmitKind::SO || what == EmitKind::Obj) &&
      options.constantDataThreshold > 0) {
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
    cpu::externalizeConstants(module, options.constantDataThreshold,
                              constantData, data, assembly);
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
      cpu::translateAndOptimize(module, llvmContext, options.optLevel,
                                /*genericCPU=*/options.target != "cpu");
  if (failed(llvmModule))
    return failure();
  llvmTimer.stop();
  std::unique_ptr<llvm::ToolOutputFile> output;
  if (what == EmitKind::LLVM) {
    output = openOutputFile(outputPath, &error);
    if (!output)
      return fail(error);
    (*llvmModule)->print(output->os(), nullptr);
    output->keep();
    return success();
  }

  // Object file: the output itself, or a temporary for the link.
  llvm::SmallString<128> tempObject;
  if (auto ec = llvm::sys::fs::createTemporaryFile("ssmc", "o", tempObject))
    return fail("cannot create a temporary object file: " + ec.message());
  llvm::FileRemover removeTemp(tempObject);
  output = openOutputFile(tempObject, &error);
  if (!output)
    return fail(error);
  TimingScope objectTimer = rootTimer.nest("object code (LLVM)");
  if (failed(cpu::emitObject(**llvmModule, options.optLevel,
                             /*genericCPU=*/options.target != "cpu",
                             output->os(), error)))
    return fail(error);
  output->keep();
  output.reset();
  objectTimer.stop();
  TimingScope linkTimer = rootTimer.nest("link");
  SmallVector<StringRef> inputs = {tempObject};
  if (!constantAsm.empty())
    inputs.push_back(constantAsm);
  llvm::SmallString<128> embeddedAsm;
  llvm::FileRemover removeEmbedded;
  if (!embedded.empty()) {
    if (auto ec = llvm::sys::fs::createTemporaryFile("ssmc-embedded", "s",
                                                     embeddedAsm))
      return fail("cannot create a temporary assembly file: " + ec.message());
    removeEmbedded.setFile(embeddedAsm);
    std::error_code ec;
    llvm::raw_fd_ostream assembly(embeddedAsm, ec);
    if (ec)
      return fail("cannot write '" + embeddedAsm.str() + "': " + ec.message());
    cpu::writeEmbeddedLibraries(embedded, assembly);
    assembly.close();
    if (assembly.has_error())
      return fail("cannot write '" + embeddedAsm.str() +
                  "': " + assembly.error().message());
    inputs.push_back(embeddedAsm);
  }
  if (what == EmitKind::Obj ? failed(cpu::linkRelocatable(
                                  inputs, outputPath, options.target, error))
                            : failed(cpu::linkSharedLibrary(
                                  inputs, outputPath, options.target, error))) {
    llvm::sys::fs::remove(outputPath);
    return fail(error);
  }
  return success();
}

void mlir::ssm::registerCompilerPasses() {
  // Registering a pass pipeline twice is a fatal error upstream.
  static std::once_flag registered;
  std::call_once(registered, [] { registerAllPasses(); });
}

LogicalResult mlir::ssm::compileModel(StringRef inputPath, StringRef outputPath,
                                      const CompileOptions &options,
                                      llvm::raw_ostream &diagnostics,
                                      const CompileHooks &hooks) {
  registerCompilerPasses();
  if (!StringRef(options.target).contains(','))
    return Compilation(options, diagnostics, hooks).run(inputPath, outputPath);

  // Several targets: one model library per target, the first linked with
  // the others embedded as data (the runtime loads one of them on request).
  auto fail = [&](const Twine &message) {
    diagnostics << "ssmc: error: " << message << "\n";
    return failure();
  };
  SmallVector<StringRef> parts;
  StringRef(options.target).split(parts, ',');
  SmallVector<std::string> targets;
  for (StringRef t : parts) {
    t = t.trim();
    if (t != "cpu" && t != "cuda" && t != "vulkan")
      return fail("target '" + t +
                  "' is not available; the targets are cpu, cuda and vulkan");
    if (llvm::is_contained(targets, t))
      return fail("--target names '" + t + "' twice");
    targets.push_back(t.str());
  }
  EmitKind what = options.emit == EmitKind::Auto
                      ? emitKindFromExtension(outputPath)
                      : options.emit;
  if (what != EmitKind::SO || options.compileTo != CompilePhase::Serialize)
    return fail("--target=" + options.target +
                ": several targets make one model library; the output must "
                "be a shared library (.so or --emit=so)");
  if (outputPath == "-")
    return fail("binary output needs a file: give -o");
  // The other targets first, into temporary libraries.
  SmallVector<std::pair<std::string, std::string>> embedded;
  SmallVector<std::unique_ptr<llvm::FileRemover>> removers;
  for (const std::string &t : ArrayRef(targets).drop_front()) {
    llvm::SmallString<128> library;
    if (auto ec =
            llvm::sys::fs::createTemporaryFile("ssmc-" + t, "so", library))
      return fail("cannot create a temporary file: " + ec.message());
    removers.push_back(std::make_unique<llvm::FileRemover>(library));
    CompileOptions other = options;
    other.target = t;
    other.emit = EmitKind::SO;
    Compilation part(other, diagnostics, hooks);
    part.bundleTargets = targets;
    if (failed(part.run(inputPath, library)))
      return failure();
    embedded.emplace_back(t, library.str().str());
  }
  CompileOptions first = options;
  first.target = targets.front();
  Compilation compilation(first, diagnostics, hooks);
  compilation.embedded = std::move(embedded);
  compilation.bundleTargets = std::move(targets);
  return compilation.run(inputPath, outputPath);
}

//===----------------------------------------------------------------------===//
// Options as text (CompileAPI.h).
//===----------------------------------------------------------------------===//

bool mlir::ssm::compile(const CompileRequest &request,
                        std::string &diagnostics) {
  llvm::raw_string_ostream os(diagnostics);
  auto bad = [&](StringRef option, StringRef value, StringRef choices) {
    os << "ssmc: error: " << option << " must be one of " << choices
       << ", got '" << value << "'\n";
    return false;
  };
  CompileOptions options;
  options.target = request.target;
  options.cudaArch = request.cudaArch;
  options.cudaFormat = request.cudaFormat;
  options.cudaToolkit = request.cudaToolkit;
  options.spirvVal = request.spirvVal;
  options.fusedAttention = request.fusedAttention;
  options.fusedSSD = request.fusedSSD;
  options.matmulPrecision = request.matmulPrecision;
  std::optional<EmitKind> emit =
      llvm::StringSwitch<std::optional<EmitKind>>(request.emit)
          .Case("auto", EmitKind::Auto)
          .Case("mlir", EmitKind::MLIR)
          .Case("llvm", EmitKind::LLVM)
          .Case("obj", EmitKind::Obj)
          .Case("so", EmitKind::SO)
          .Default(std::nullopt);
  if (!emit)
    return bad("emit", request.emit, "auto, mlir, llvm, obj, so");
  options.emit = *emit;
  std::optional<CompilePhase> phase =
      llvm::StringSwitch<std::optional<CompilePhase>>(request.compileTo)
          .Case("import", CompilePhase::Import)
          .Case("graph", CompilePhase::Graph)
          .Case("algorithm", CompilePhase::Algorithm)
          .Case("bufferize", CompilePhase::Bufferize)
          .Case("target", CompilePhase::Target)
          .Case("serialize", CompilePhase::Serialize)
          .Default(std::nullopt);
  if (!phase)
    return bad("compile_to", request.compileTo,
               "import, graph, algorithm, bufferize, target, serialize");
  options.compileTo = *phase;
  std::optional<MixerForm> form =
      llvm::StringSwitch<std::optional<MixerForm>>(request.mixerForm)
          .Case("chunked", MixerForm::Chunked)
          .Case("quadratic", MixerForm::Quadratic)
          .Case("recurrent", MixerForm::Recurrent)
          .Default(std::nullopt);
  if (!form)
    return bad("mixer_form", request.mixerForm,
               "chunked, quadratic, recurrent");
  options.mixerForm = *form;
  std::optional<GenerationMode> generation =
      llvm::StringSwitch<std::optional<GenerationMode>>(request.generation)
          .Case("auto", GenerationMode::Auto)
          .Case("on", GenerationMode::On)
          .Case("off", GenerationMode::Off)
          .Default(std::nullopt);
  if (!generation)
    return bad("generation", request.generation, "auto, on, off");
  options.generation = *generation;
  options.gradients = request.gradients;
  options.train = request.train;
  if (request.trainLoss != "cross-entropy" &&
      request.trainLoss != "distillation" &&
      request.trainLoss != "hidden-alignment" &&
      request.trainLoss != "matrix-orientation")
    return bad("train_loss", request.trainLoss,
               "cross-entropy, distillation, hidden-alignment, "
               "matrix-orientation");
  options.trainLoss = request.trainLoss;
  options.temperature = request.temperature;
  options.labelWeight = request.labelWeight;
  options.adamBeta1 = request.adamBeta1;
  options.adamBeta2 = request.adamBeta2;
  options.adamEps = request.adamEps;
  options.weightDecay = request.weightDecay;
  options.maxGradNorm = request.maxGradNorm;
  options.frozen = request.frozen;
  options.hiddenStates = request.hiddenStates;
  if (request.prefillLogits != "last" && request.prefillLogits != "all")
    return bad("prefill_logits", request.prefillLogits, "last, all");
  options.prefillLogitsAll = request.prefillLogits == "all";
  if (request.chunkSize < 0 || request.optLevel < 0 ||
      request.constantDataThreshold < 0) {
    os << "ssmc: error: chunk_size, opt_level and constant_data_threshold "
          "must be >= 0\n";
    return false;
  }
  options.chunkSize = static_cast<unsigned>(request.chunkSize);
  options.optLevel = static_cast<unsigned>(
      std::min<int64_t>(request.optLevel, std::numeric_limits<int>::max()));
  options.constantDataThreshold =
      static_cast<uint64_t>(request.constantDataThreshold);
  return succeeded(compileModel(request.input, request.output, options, os));
}
