//===- Compiler.h - Compile a model, in process ------------------*- C++
//-*-===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// The compiler behind `ssmc` as a library: an ONNX or MLIR model in, MLIR,
// LLVM IR, an object file or a model library (.so) out. `ssmc` is a command
// line over it; the Python package calls it in process.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_COMPILER_COMPILER_H
#define SSM_COMPILER_COMPILER_H

#include "ssm/Conversion/Passes.h"

#include "mlir/Support/LLVM.h"
#include "mlir/Support/Timing.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace mlir {
class PassManager;
} // namespace mlir

namespace mlir::ssm {

/// The phases of a compilation, in order.
enum class CompilePhase {
  Import,
  Graph,
  Algorithm,
  Bufferize,
  Target,
  Serialize
};

/// What a compilation writes. `Auto`: from the output's extension (.mlir,
/// .ll, .o), a shared library otherwise; MLIR when it stops before
/// serialize.
enum class EmitKind { Auto, MLIR, LLVM, Obj, SO };

/// Whether prefill and decode are derived from `main`.
enum class GenerationMode {
  Auto, ///< when the model allows it; a note says why not otherwise
  On,   ///< always; failing to derive them is an error
  Off   ///< only main
};

struct CompileOptions {
  /// "cpu", "cuda" or "vulkan".
  std::string target = "cpu";
  /// CUDA target: the GPU architecture (sm_XX[a]) the kernels are built for.
  std::string cudaArch = "sm_80";
  /// CUDA target: "ptx" (the driver compiles it when the model loads),
  /// "fatbin" (cubin for cudaArch and PTX; needs ptxas and fatbinary) or
  /// "auto" (fatbin when the CUDA toolkit is found, else ptx).
  std::string cudaFormat = "auto";
  /// CUDA target: the toolkit directory (bin/ptxas); empty: $CUDA_PATH,
  /// the directory above the ptxas on PATH, or /usr/local/cuda.
  std::string cudaToolkit;
  /// Vulkan target: run SPIRV-Tools' spirv-val on the kernels: "auto" (when
  /// it is on PATH), "on" (an error when it is not) or "off".
  std::string spirvVal = "auto";
  /// GPU targets: softmax attention as one fused kernel
  /// (ssm-fuse-attention) instead of its mixer form.
  bool fusedAttention = true;
  /// GPU targets: ssm.ssd and ssm.discrete_ssd as fused kernels
  /// (ssm-fuse-ssd) instead of their mixer forms.
  bool fusedSSD = true;
  /// CUDA target: how the fused attention and SSD kernels compute their
  /// matrix products: "ieee" (f32 on the SIMT units; the default), "tf32x3"
  /// (tensor cores, each f32 operand split into two TF32 parts: about f32
  /// accuracy) or "tf32" (tensor cores on operands rounded to TF32). Tensor
  /// cores need sm_80 or later; older architectures always compute ieee.
  /// The tensor-core kernels have not yet run on a GPU.
  std::string matmulPrecision = "ieee";
  EmitKind emit = EmitKind::Auto;
  CompilePhase compileTo = CompilePhase::Serialize;
  MixerForm mixerForm = MixerForm::Chunked;
  /// 0: the cost model of ssm-select-chunk-sizes.
  unsigned chunkSize = 0;
  GenerationMode generation = GenerationMode::Auto;
  /// Prefill returns every token's logits instead of the last token's.
  bool prefillLogitsAll = false;
  /// 0..3.
  unsigned optLevel = 2;
  /// Constants of at least this many bytes bypass LLVM (0: none do).
  uint64_t constantDataThreshold = 64 * 1024;
  /// Training: the parameters (float initializers of an ONNX model) become
  /// arguments of main, and main_grad (ssm-differentiate) returns their
  /// gradients for a cotangent of each output. No prefill/decode.
  bool gradients = false;
  /// Training: the parameters become arguments (as for gradients) and the
  /// module gets loss, loss_grad and train_step (ssm-build-train-step:
  /// cross-entropy on labels, one AdamW step).
  bool train = false;
  /// With train: "cross-entropy", "distillation" (teacher_logits input,
  /// MOHAWK stage 3; with the student's temperature), "hidden-alignment"
  /// (stage 2) or "matrix-orientation" (stage 1): see ssm-build-alignment.
  std::string trainLoss = "cross-entropy";
  double temperature = 1.0;
  /// With trainLoss "distillation": weight of the cross-entropy on the
  /// labels added to the distillation loss.
  double labelWeight = 0.0;
  /// With train: train_step's AdamW (decoupled weight decay) and the global
  /// gradient norm it clips to (0: no clipping).
  double adamBeta1 = 0.9;
  double adamBeta2 = 0.95;
  double adamEps = 1e-8;
  double weightDecay = 0.1;
  double maxGradNorm = 1.0;
  /// With train: glob patterns of parameters train_step leaves unchanged.
  std::vector<std::string> frozen;
  /// The teacher's side of MOHAWK stages 1 and 2: hidden_states and
  /// mixing_matrices entry points (ssm-build-alignment).
  bool hiddenStates = false;
};

/// Hooks of a caller: `configurePassManager` applies command-line pass
/// manager options (IR printing and the like); `timing` is the scope under
/// which the phases are timed. Both may be empty.
struct CompileHooks {
  std::function<LogicalResult(PassManager &)> configurePassManager;
  TimingScope *timing = nullptr;
};

/// Compiles the model in `inputPath` (.onnx, with its external data next to
/// it, or .mlir) to `outputPath` ("-" for stdout, text outputs only).
/// Errors, and notes such as why prefill and decode were not derived, are
/// printed to `diagnostics` as `ssmc: error: ...` / `ssmc: note: ...` and
/// MLIR diagnostics with their locations. On failure nothing is left at
/// `outputPath`.
LogicalResult compileModel(StringRef inputPath, StringRef outputPath,
                           const CompileOptions &options,
                           llvm::raw_ostream &diagnostics,
                           const CompileHooks &hooks = {});

/// Registers the upstream passes that the phase pipelines name (and that
/// command-line options such as --mlir-print-ir-after name); idempotent,
/// called by compileModel. A tool that parses pass options calls it before
/// parsing its command line.
void registerCompilerPasses();

/// The emit kind that `options.emit = Auto` picks for `outputPath`.
EmitKind emitKindFromExtension(StringRef outputPath);

} // namespace mlir::ssm

#endif // SSM_COMPILER_COMPILER_H
