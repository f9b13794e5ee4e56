//===- ssmc.cpp - The SSMC compiler driver --------------------------------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "ssm/Compiler/Compiler.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/Timing.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
namespace cl = llvm::cl;

namespace {
using Phase = ssm::CompilePhase;
using Emit = ssm::EmitKind;
using Generation = ssm::GenerationMode;

cl::OptionCategory category("ssmc options");
cl::opt<std::string> inputFile(cl::Positional,
                               cl::desc("<input .onnx or .mlir>"), cl::Required,
                               cl::cat(category));
cl::opt<std::string> outputFile("o", cl::desc("Output file (- for stdout)"),
                                cl::value_desc("file"), cl::init("-"),
                                cl::cat(category));
cl::opt<std::string>
    target("target",
           cl::desc("Target: cpu, cuda (NVIDIA GPUs) or vulkan (SPIR-V "
                    "kernels), or several, comma-separated: a .so holding a "
                    "build for each, the first the default (ssm-run "
                    "--device, ssm_model_load_on pick another)"),
           cl::init("cpu"), cl::cat(category));
cl::opt<std::string>
    cudaArch("cuda-arch",
             cl::desc("CUDA target: the GPU architecture the kernels are "
                      "built for (sm_80, sm_90a, ...; default sm_80, which "
                      "newer GPUs run through the embedded PTX)"),
             cl::init("sm_80"), cl::cat(category));
cl::opt<std::string> cudaFormat(
    "cuda-format",
    cl::desc("CUDA target: how the kernels are embedded: ptx (the driver "
             "compiles them when the model loads), fatbin (cubin for "
             "--cuda-arch and PTX; needs the CUDA toolkit's ptxas and "
             "fatbinary), auto (fatbin when the toolkit is found; default)"),
    cl::init("auto"), cl::cat(category));
cl::opt<std::string> cudaToolkit(
    "cuda-toolkit",
    cl::desc("CUDA target: the CUDA toolkit directory for fatbin (default: "
             "$CUDA_PATH, the ptxas on PATH, or /usr/local/cuda)"),
    cl::init(""), cl::cat(category));
cl::opt<std::string> spirvVal(
    "spirv-val",
    cl::desc("Vulkan target: validate the SPIR-V kernels with SPIRV-Tools' "
             "spirv-val: auto (when it is on PATH; default), on (an error "
             "when it is not), off"),
    cl::init("auto"), cl::cat(category));
cl::opt<bool> fusedAttention(
    "fused-attention",
    cl::desc("GPU targets: run softmax attention as one fused kernel "
             "(ssm-fuse-attention; default true); false lowers it through "
             "the mixer form like the other mixers"),
    cl::init(true), cl::cat(category));
cl::opt<bool> fusedSSD(
    "fused-ssd",
    cl::desc("GPU targets: run Mamba-2 SSD and Discrete Mamba-2 as fused "
             "kernels (ssm-fuse-ssd; default true); false lowers them "
             "through their mixer forms"),
    cl::init(true), cl::cat(category));
cl::opt<std::string> matmulPrecision(
    "matmul-precision",
    cl::desc("CUDA target: how the fused attention and SSD kernels compute "
             "their matrix products: ieee (f32 on the SIMT units; default), "
             "tf32x3 (tensor cores, each f32 operand split into two TF32 "
             "parts: about f32 accuracy) or tf32 (tensor cores on operands "
             "rounded to TF32: about 1e-3 relative error). Tensor cores need "
             "--cuda-arch sm_80 or later; older ones compute ieee. The "
             "tensor-core kernels have not yet run on a GPU"),
    cl::init("ieee"), cl::cat(category));
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
cl::opt<bool> gradients(
    "gradients",
    cl::desc("Training: the ONNX model's parameters (float initializers of "
             "more than one element) become inputs of main, after the graph "
             "inputs and named as the initializers; main_grad takes main's "
             "inputs and a cotangent d_<output> of each float output and "
             "returns main's outputs and the gradient d_<input> of each float "
             "input (reverse mode, ssm-differentiate; mixers in their "
             "chunked form, or quadratic where they have none). CPU and CUDA "
             "targets; no prefill/decode"),
    cl::init(false), cl::cat(category));
cl::opt<bool> train(
    "train",
    cl::desc("Training: the parameters become inputs as for --gradients, and "
             "the library gets loss(input_ids, labels, parameters...) "
             "(cross-entropy; labels outside the vocabulary ignored), "
             "loss_grad, and train_step(input_ids, labels, parameters..., "
             "adam_m.<p>..., adam_v.<p>..., lr, step) -> (loss, grad_norm, "
             "new parameters and AdamW state): AdamW (--adam-beta1, "
             "--adam-beta2, --adam-eps, --weight-decay), gradients clipped "
             "to --max-grad-norm. CPU, CUDA and Vulkan targets"),
    cl::init(false), cl::cat(category));
enum class TrainLoss {
  CrossEntropy,
  Distillation,
  HiddenAlignment,
  MatrixOrientation
};
cl::opt<TrainLoss> trainLoss(
    "train-loss", cl::desc("With --train: the loss of train_step"),
    cl::values(clEnumValN(TrainLoss::CrossEntropy, "cross-entropy",
                          "cross-entropy on the labels (default)"),
               clEnumValN(TrainLoss::Distillation, "distillation",
                          "knowledge distillation (MOHAWK stage 3): "
                          "-sum softmax(teacher_logits) log softmax(logits "
                          "/ T), teacher_logits an input after the labels"),
               clEnumValN(TrainLoss::HiddenAlignment, "hidden-alignment",
                          "MOHAWK stage 2: every block fed the teacher's "
                          "block input hidden.l, sum_l mean ||block_l - "
                          "hidden.(l+1)||_2 (train_step(input_ids, "
                          "hidden.0..., parameters...))"),
               clEnumValN(TrainLoss::MatrixOrientation, "matrix-orientation",
                          "MOHAWK stage 1: each mixer's mixing matrix from "
                          "the teacher's block input hidden.l against the "
                          "teacher's mixing.l, sum_l mean ||T_l - "
                          "mixing.l||_F")),
    cl::init(TrainLoss::CrossEntropy), cl::cat(category));
cl::opt<bool> hiddenStates(
    "hidden-states",
    cl::desc("The teacher's side of MOHAWK stages 1 and 2: adds the entry "
             "points hidden_states (the residual stream: each block's input "
             "hidden.l and the final hidden state) and mixing_matrices (each "
             "mixer's materialized matrix mixing.l)"),
    cl::init(false), cl::cat(category));
cl::opt<double> temperature(
    "temperature",
    cl::desc("With --train-loss=distillation: the student's temperature T"),
    cl::init(1.0), cl::cat(category));
cl::opt<double> labelWeight(
    "label-weight",
    cl::desc("With --train-loss=distillation: the weight of the cross-entropy "
             "on the labels added to the distillation loss (default 0)"),
    cl::init(0.0), cl::cat(category));
cl::opt<double> adamBeta1("adam-beta1",
                          cl::desc("With --train: AdamW's beta1 (default 0.9)"),
                          cl::init(0.9), cl::cat(category));
cl::opt<double>
    adamBeta2("adam-beta2",
              cl::desc("With --train: AdamW's beta2 (default 0.95)"),
              cl::init(0.95), cl::cat(category));
cl::opt<double>
    adamEps("adam-eps",
            cl::desc("With --train: AdamW's epsilon (default 1e-8)"),
            cl::init(1e-8), cl::cat(category));
cl::opt<double> weightDecay(
    "weight-decay",
    cl::desc("With --train: AdamW's decoupled weight decay (default 0.1)"),
    cl::init(0.1), cl::cat(category));
cl::opt<double> maxGradNorm(
    "max-grad-norm",
    cl::desc("With --train: the global gradient norm train_step clips to "
             "(default 1; 0: no clipping)"),
    cl::init(1.0), cl::cat(category));
cl::list<std::string>
    frozen("frozen",
           cl::desc("With --train: glob patterns of parameter names that "
                    "train_step leaves unchanged (comma-separated)"),
           cl::CommaSeparated, cl::cat(category));
cl::opt<unsigned> optLevel("O", cl::desc("Optimization level 0..3"), cl::Prefix,
                           cl::init(2), cl::cat(category));

cl::opt<uint64_t> constantDataThreshold(
    "constant-data-threshold",
    cl::desc("For .so and .o outputs, constants (weights) of at least this "
             "many bytes bypass LLVM: written to a data file that the link "
             "includes into the large read-only data section, so the library "
             "may exceed 2 GiB (0: every constant through LLVM)"),
    cl::init(64 * 1024), cl::cat(category));

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  // Upstream passes, which --mlir-print-ir-after=... and the like name.
  ssm::registerCompilerPasses();
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

  // --mlir-timing: the phases and every pass, printed at exit.
  DefaultTimingManager timing;
  applyDefaultTimingManagerCLOptions(timing);
  TimingScope rootTimer = timing.getRootScope();

  ssm::CompileOptions options;
  options.target = target;
  options.cudaArch = cudaArch;
  options.cudaFormat = cudaFormat;
  options.cudaToolkit = cudaToolkit;
  options.spirvVal = spirvVal;
  options.fusedAttention = fusedAttention;
  options.fusedSSD = fusedSSD;
  options.matmulPrecision = matmulPrecision;
  options.emit = emit;
  options.compileTo = compileTo;
  options.mixerForm = mixerForm;
  options.chunkSize = chunkSize;
  options.generation = generation;
  options.prefillLogitsAll = prefillLogits == PrefillLogits::All;
  options.optLevel = optLevel;
  options.constantDataThreshold = constantDataThreshold;
  options.gradients = gradients;
  options.train = train;
  // Given at all (a value equal to the default included): the driver can
  // only tell values that differ from the defaults.
  {
    std::pair<const char *, const cl::Option *> trainOnly[] = {
        {"--train-loss", &trainLoss},        {"--temperature", &temperature},
        {"--label-weight", &labelWeight},    {"--adam-beta1", &adamBeta1},
        {"--adam-beta2", &adamBeta2},        {"--adam-eps", &adamEps},
        {"--weight-decay", &weightDecay},    {"--max-grad-norm", &maxGradNorm},
        {"--frozen", std::addressof(frozen)}};
    for (auto [flag, option] : trainOnly)
      if (option->getNumOccurrences() && !train) {
        llvm::errs() << "ssmc: error: " << flag << " is an option of --train\n";
        return 1;
      }
    if (train && trainLoss != TrainLoss::Distillation)
      for (auto [flag, option] : ArrayRef(trainOnly).slice(1, 2))
        if (option->getNumOccurrences()) {
          llvm::errs() << "ssmc: error: " << flag
                       << " is an option of --train-loss=distillation\n";
          return 1;
        }
  }
  switch (trainLoss) {
  case TrainLoss::CrossEntropy:
    options.trainLoss = "cross-entropy";
    break;
  case TrainLoss::Distillation:
    options.trainLoss = "distillation";
    break;
  case TrainLoss::HiddenAlignment:
    options.trainLoss = "hidden-alignment";
    break;
  case TrainLoss::MatrixOrientation:
    options.trainLoss = "matrix-orientation";
    break;
  }
  options.hiddenStates = hiddenStates;
  options.temperature = temperature;
  options.labelWeight = labelWeight;
  options.adamBeta1 = adamBeta1;
  options.adamBeta2 = adamBeta2;
  options.adamEps = adamEps;
  options.weightDecay = weightDecay;
  options.maxGradNorm = maxGradNorm;
  options.frozen.assign(frozen.begin(), frozen.end());
  ssm::CompileHooks hooks;
  hooks.timing = &rootTimer;
  hooks.configurePassManager = [](PassManager &pm) {
    return applyPassManagerCLOptions(pm);
  };
  return failed(ssm::compileModel(inputFile, outputFile, options, llvm::errs(),
                                  hooks))
             ? 1
             : 0;
}
