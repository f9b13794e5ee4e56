//===- ssm-run.cpp - Run a compiled SSMC model ----------------------------===//
//
// Part of the SSMC project, under the Apache License v2.0 with LLVM Exceptions.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// ssm-run model.so [--input NAME=FILE.npy]... [--output-dir DIR] [--bench N]
// ssm-run model.so --generate N [--prompt-len L] [--batch B]
//
// Runs an entry point of a model library through the runtime C API. Inputs not
// given on the command line get random values (from --seed), so
// `ssm-run model.so --bench 10` works on its own.
//
//===----------------------------------------------------------------------===//

#include "npy.h"
#include "ssm/runtime.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <sys/stat.h>
#include <vector>

namespace {

const char *kUsage =
    "usage: ssm-run MODEL.so [options]\n"
    "\n"
    "Runs an entry point of a model library compiled by ssmc.\n"
    "\n"
    "  --device NAME         cpu, cuda or vulkan: run the model's build for\n"
    "                        that device (default: the target it was\n"
    "                        compiled for; a library compiled with\n"
    "                        ssmc --target=a,b,... holds several)\n"
    "  --entry NAME          entry point to run (default: the first)\n"
    "  --input NAME=FILE     input NAME from a C-order .npy file "
    "(repeatable)\n"
    "  --dim NAME=SIZE       value of a symbolic size (such as batch or seq)\n"
    "                        for random inputs (repeatable)\n"
    "  --default-dim N       value of other symbolic sizes (default 8)\n"
    "  --seed N              seed of random inputs (default 0)\n"
    "  --int-max N           random integer inputs lie in [0, N) (default 16)\n"
    "  --output-dir DIR      write each output to DIR/NAME.npy\n"
    "  --bench N             time N runs after the warm-up runs; print JSON\n"
    "                        with median, p10 and p90 (milliseconds)\n"
    "  --warmup N            warm-up runs before --bench (default 1)\n"
    "                        (a GPU model is timed on inputs and outputs\n"
    "                        in device memory: no copies in the times)\n"
    "  --threads N           threads of the model's parallel loops (default:\n"
    "                        $SSM_NUM_THREADS, else the number of CPUs)\n"
    "  --info                print the compile info, the device and the\n"
    "                        signatures only\n"
    "\n"
    "Generation (models with prefill/decode entry points):\n"
    "  --generate N          prefill a prompt, then N greedy decode steps;\n"
    "                        print JSON with the time to first token and\n"
    "                        prefill and decode tokens per second\n"
    "  --prompt-len L        random prompt length (default 16)\n"
    "  --batch B             sequences decoded together (default 1)\n"
    "  --prefill-chunk C     feed the prompt in prefill calls of C tokens\n"
    "                        (default: all at once)\n"
    "  --bench N             N timed generations (each from an empty state)\n"
    "                        after --warmup ones; the JSON has the medians\n"
    "                        (default: one generation, no warm-up)\n"
    "  --input NAME=FILE     the prompt instead (int64 (B, L); sets B and L)\n"
    "  --output-dir DIR      write tokens.npy (B, L + N + 1: the prompt and\n"
    "                        the generated tokens) and logits.npy (B, R, V:\n"
    "                        the rows each call returned: R = L + N when\n"
    "                        prefill returns every token's logits, else one\n"
    "                        per prefill call and one per decode step)\n"
    "  --help                this text\n"
    "\n"
    "Inputs without --input get random values: floats from N(0, 1), integers\n"
    "uniform in [0, --int-max), bools uniform. Without --output-dir or\n"
    "--bench, a summary of each output is printed.\n";

int fail(const std::string &message) {
  fprintf(stderr, "ssm-run: error: %s\n", message.c_str());
  return 1;
}

bool parseInt(const char *s, int64_t &v) {
  if (!s || !*s)
    return false;
  char *end;
  v = std::strtoll(s, &end, 10);
  return *end == '\0';
}

uint16_t toBF16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  bits += 0x7fff + ((bits >> 16) & 1);
  return static_cast<uint16_t>(bits >> 16);
}

uint16_t toF16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000;
  int32_t exp = ((x >> 23) & 0xff) - 127 + 15;
  uint32_t mant = x & 0x7fffff;
  if (exp <= 0)
    return static_cast<uint16_t>(sign); // flush tiny values to zero
  if (exp >= 31)
    return static_cast<uint16_t>(sign | 0x7c00);
  return static_cast<uint16_t>(sign | (exp << 10) | (mant >> 13));
}

void fillRandom(ssm_tensor *t, std::mt19937_64 &rng, int64_t intMax) {
  int64_t n = ssm_tensor_num_elements(t);
  void *data = ssm_tensor_data(t);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_int_distribution<int64_t> ints(0,
                                              std::max<int64_t>(intMax, 1) - 1);
  for (int64_t i = 0; i < n; ++i) {
    switch (ssm_tensor_dtype(t)) {
    case SSM_FLOAT32:
      static_cast<float *>(data)[i] = normal(rng);
      break;
    case SSM_FLOAT64:
      static_cast<double *>(data)[i] = normal(rng);
      break;
    case SSM_FLOAT16:
      static_cast<uint16_t *>(data)[i] = toF16(normal(rng));
      break;
    case SSM_BFLOAT16:
      static_cast<uint16_t *>(data)[i] = toBF16(normal(rng));
      break;
    case SSM_INT64:
      static_cast<int64_t *>(data)[i] = ints(rng);
      break;
    case SSM_INT32:
      static_cast<int32_t *>(data)[i] = static_cast<int32_t>(ints(rng));
      break;
    case SSM_INT16:
      static_cast<int16_t *>(data)[i] = static_cast<int16_t>(ints(rng));
      break;
    case SSM_INT8:
    case SSM_UINT8:
      static_cast<uint8_t *>(data)[i] = static_cast<uint8_t>(ints(rng));
      break;
    case SSM_BOOL:
      static_cast<uint8_t *>(data)[i] = static_cast<uint8_t>(rng() & 1);
      break;
    }
  }
}

std::string shapeString(const ssm_tensor *t) {
  std::string s = "[";
  for (int64_t i = 0; i < ssm_tensor_rank(t); ++i)
    s += (i ? ", " : "") + std::to_string(ssm_tensor_shape(t)[i]);
  return s + "]";
}

void summarize(const char *name, ssm_tensor *t) {
  printf("%s: %s %s", name, ssm_dtype_name(ssm_tensor_dtype(t)),
         shapeString(t).c_str());
  int64_t n = ssm_tensor_num_elements(t);
  auto stats = [&](auto get) {
    double sum = 0, mn = INFINITY, mx = -INFINITY;
    for (int64_t i = 0; i < n; ++i) {
      double v = get(i);
      sum += v;
      mn = std::min(mn, v);
      mx = std::max(mx, v);
    }
    if (n)
      printf(" mean=%.6g min=%.6g max=%.6g", sum / n, mn, mx);
  };
  void *d = ssm_tensor_data(t);
  switch (ssm_tensor_dtype(t)) {
  case SSM_FLOAT32:
    stats([&](int64_t i) { return double(static_cast<float *>(d)[i]); });
    break;
  case SSM_FLOAT64:
    stats([&](int64_t i) { return static_cast<double *>(d)[i]; });
    break;
  case SSM_INT64:
    stats([&](int64_t i) { return double(static_cast<int64_t *>(d)[i]); });
    break;
  case SSM_INT32:
    stats([&](int64_t i) { return double(static_cast<int32_t *>(d)[i]); });
    break;
  default:
    break;
  }
  printf("\n");
}

std::string safeFileName(const std::string &name) {
  std::string s;
  for (char c : name)
    s += (isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' ||
          c == '.')
             ? c
             : '_';
  return s.empty() ? "output" : s;
}

struct Tensors {
  std::vector<ssm_tensor *> list;
  ~Tensors() {
    for (ssm_tensor *t : list)
      ssm_tensor_release(t);
  }
};

double msSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now() - start)
      .count();
}

/// The median of `v` (not empty).
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/// Greedy generation through a generator: prefill `prompt` (in calls of
/// `chunk` tokens, 0: at once), then `steps` decode steps; `warmup` untimed
/// runs, then `runs` timed runs, each with a new generator. Prints the
/// median timings as JSON; writes the last run's tokens.npy and logits.npy
/// to `outputDir` when given.
int generate(ssm_model *model, const std::string &modelPath, ssm_tensor *prompt,
             int64_t steps, int64_t chunk, const std::string &outputDir,
             int64_t runs, int64_t warmup) {
  int64_t batch = ssm_tensor_shape(prompt)[0];
  int64_t len = ssm_tensor_shape(prompt)[1];
  const int64_t *promptData =
      static_cast<const int64_t *>(ssm_tensor_data(prompt));
  std::vector<std::vector<int64_t>> seqs(batch);
  std::vector<std::vector<float>> rows(batch); // each call's logits rows
  int64_t vocab = -1, stateBytes = 0;
  std::vector<int64_t> next(batch);
  bool keep = !outputDir.empty();
  ssm_generator *gen = nullptr;

  // Records a call's logits and picks the next token of every sequence.
  auto take = [&](ssm_tensor *out) -> bool {
    Tensors release;
    release.list.push_back(out);
    if (ssm_tensor_dtype(out) != SSM_FLOAT32 || ssm_tensor_rank(out) != 3) {
      fail("generation needs logits (float32, rank 3) as the first output");
      return false;
    }
    const int64_t *shape = ssm_tensor_shape(out);
    vocab = shape[2];
    const float *d = static_cast<const float *>(ssm_tensor_data(out));
    for (int64_t b = 0; b < batch; ++b) {
      const float *last = d + (b * shape[1] + shape[1] - 1) * vocab;
      next[b] = std::max_element(last, last + vocab) - last;
      if (keep)
        rows[b].insert(rows[b].end(), d + b * shape[1] * vocab,
                       d + (b + 1) * shape[1] * vocab);
    }
    return true;
  };
  auto feed = [&](bool decode, const std::vector<int64_t> &ids, int64_t n) {
    int64_t shape[2] = {batch, n};
    ssm_tensor *t = nullptr, *out = nullptr;
    if (ssm_tensor_wrap(SSM_INT64, 2, shape, const_cast<int64_t *>(ids.data()),
                        &t) != SSM_OK)
      return fail(ssm_last_error()), false;
    Tensors release;
    release.list.push_back(t);
    ssm_status s = decode ? ssm_generator_decode(gen, t, &out)
                          : ssm_generator_prefill(gen, t, &out);
    if (s != SSM_OK)
      return fail(ssm_last_error()), false;
    return take(out);
  };

  std::vector<double> ttfts, prefills, decodes;
  for (int64_t run = 0; run < warmup + runs; ++run) {
    if (ssm_generator_create(model, batch, &gen) != SSM_OK)
      return fail(ssm_last_error());
    struct ReleaseGen {
      ssm_generator *g;
      ~ReleaseGen() { ssm_generator_release(g); }
    } releaseGen{gen};
    for (int64_t b = 0; b < batch; ++b) {
      seqs[b].assign(promptData + b * len, promptData + (b + 1) * len);
      rows[b].clear();
    }
    auto start = std::chrono::steady_clock::now();
    int64_t step = chunk > 0 ? chunk : len;
    for (int64_t at = 0; at < len; at += step) {
      int64_t n = std::min(step, len - at);
      std::vector<int64_t> piece(batch * n);
      for (int64_t b = 0; b < batch; ++b)
        std::copy(seqs[b].begin() + at, seqs[b].begin() + at + n,
                  piece.begin() + b * n);
      if (!feed(false, piece, n))
        return 1;
    }
    double prefillMs = msSince(start);
    for (int64_t b = 0; b < batch; ++b)
      seqs[b].push_back(next[b]);
    double ttftMs = msSince(start);
    auto decodeStart = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < steps; ++i) {
      std::vector<int64_t> ids(next);
      if (!feed(true, ids, 1))
        return 1;
      for (int64_t b = 0; b < batch; ++b)
        seqs[b].push_back(next[b]);
    }
    double decodeMs = msSince(decodeStart);
    stateBytes = ssm_generator_state_bytes(gen);
    if (run >= warmup) {
      ttfts.push_back(ttftMs);
      prefills.push_back(prefillMs);
      decodes.push_back(decodeMs);
    }
  }
  double ttftMs = median(ttfts), prefillMs = median(prefills),
         decodeMs = median(decodes);
  printf("{\"model\": \"%s\", \"batch\": %lld, \"prompt_len\": %lld, "
         "\"decode_steps\": %lld, \"runs\": %lld, \"warmup\": %lld, "
         "\"ttft_ms\": %.4f, \"prefill_ms\": %.4f, "
         "\"prefill_tokens_per_s\": %.2f, \"decode_ms\": %.4f, "
         "\"decode_ms_per_step\": %.4f, \"decode_tokens_per_s\": %.2f, "
         "\"state_bytes\": %lld, \"threads\": %lld}\n",
         modelPath.c_str(), (long long)batch, (long long)len, (long long)steps,
         (long long)runs, (long long)warmup, ttftMs, prefillMs,
         batch * len / (prefillMs / 1e3), decodeMs,
         steps ? decodeMs / steps : 0.0,
         steps ? batch * steps / (decodeMs / 1e3) : 0.0, (long long)stateBytes,
         (long long)ssm_model_num_threads(model));

  if (keep) {
    mkdir(outputDir.c_str(), 0777);
    // Rows returned: every token fed, or (a model compiled with
    // --prefill-logits=last) the last token of each prefill call.
    int64_t total = len + steps + 1,
            fed = vocab > 0 ? static_cast<int64_t>(rows[0].size()) / vocab : 0;
    std::vector<int64_t> all;
    std::vector<float> allLogits;
    for (int64_t b = 0; b < batch; ++b) {
      all.insert(all.end(), seqs[b].begin(), seqs[b].end());
      allLogits.insert(allLogits.end(), rows[b].begin(), rows[b].end());
    }
    int64_t tshape[2] = {batch, total}, lshape[3] = {batch, fed, vocab};
    ssm_tensor *t = nullptr, *l = nullptr;
    Tensors release;
    if (ssm_tensor_wrap(SSM_INT64, 2, tshape, all.data(), &t) != SSM_OK)
      return fail(ssm_last_error());
    release.list.push_back(t);
    if (ssm_tensor_wrap(SSM_FLOAT32, 3, lshape, allLogits.data(), &l) != SSM_OK)
      return fail(ssm_last_error());
    release.list.push_back(l);
    std::string error;
    if (!ssm::npy::write(outputDir + "/tokens.npy", t, error) ||
        !ssm::npy::write(outputDir + "/logits.npy", l, error))
      return fail(error);
  }
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  std::string modelPath, entry, outputDir, deviceName;
  std::map<std::string, std::string> inputFiles;
  std::map<std::string, int64_t> dims;
  int64_t defaultDim = 8, seed = 0, intMax = 16, bench = 0, warmup = 1;
  int64_t generateSteps = -1, promptLen = 16, batch = 1, prefillChunk = 0;
  int64_t threads = 0;
  bool info = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char *opt) -> const char * {
      if (i + 1 >= argc) {
        fail(std::string(opt) + " needs a value");
        return nullptr;
      }
      return argv[++i];
    };
    auto intValue = [&](const char *opt, int64_t &v, int64_t min) {
      const char *s = value(opt);
      if (!s)
        return false;
      if (!parseInt(s, v) || v < min) {
        fail(std::string(opt) + " needs an integer >= " + std::to_string(min) +
             ", got '" + s + "'");
        return false;
      }
      return true;
    };
    // Integer options: name, variable, minimum.
    const struct {
      const char *name;
      int64_t *value;
      int64_t min;
    } intOptions[] = {{"--default-dim", &defaultDim, 0},
                      {"--seed", &seed, 0},
                      {"--int-max", &intMax, 1},
                      {"--bench", &bench, 1},
                      {"--warmup", &warmup, 0},
                      {"--generate", &generateSteps, 0},
                      {"--prompt-len", &promptLen, 1},
                      {"--batch", &batch, 1},
                      {"--prefill-chunk", &prefillChunk, 1},
                      {"--threads", &threads, 1}};
    auto intOption = std::find_if(std::begin(intOptions), std::end(intOptions),
                                  [&](const auto &o) { return a == o.name; });
    if (intOption != std::end(intOptions)) {
      if (!intValue(intOption->name, *intOption->value, intOption->min))
        return 1;
    } else if (a == "--help" || a == "-h") {
      fputs(kUsage, stdout);
      return 0;
    } else if (a == "--device") {
      const char *s = value("--device");
      if (!s)
        return 1;
      deviceName = s;
      if (deviceName != "cpu" && deviceName != "cuda" && deviceName != "vulkan")
        return fail("--device must be cpu, cuda or vulkan, got '" + deviceName +
                    "'");
    } else if (a == "--entry") {
      const char *s = value("--entry");
      if (!s)
        return 1;
      entry = s;
    } else if (a == "--input" || a == "--dim") {
      const char *s = value(a.c_str());
      if (!s)
        return 1;
      std::string kv = s;
      size_t eq = kv.find('=');
      if (eq == std::string::npos || eq == 0)
        return fail(a + " needs NAME=VALUE, got '" + kv + "'");
      std::string k = kv.substr(0, eq), v = kv.substr(eq + 1);
      if (a == "--input") {
        inputFiles[k] = v;
      } else {
        int64_t n;
        if (!parseInt(v.c_str(), n) || n < 0)
          return fail("--dim " + k + " needs a size >= 0, got '" + v + "'");
        dims[k] = n;
      }
    } else if (a == "--output-dir") {
      const char *s = value("--output-dir");
      if (!s)
        return 1;
      outputDir = s;
    } else if (a == "--info") {
      info = true;
    } else if (!a.empty() && a[0] == '-') {
      return fail("unknown option '" + a + "' (see --help)");
    } else if (modelPath.empty()) {
      modelPath = a;
    } else {
      return fail("more than one model given ('" + modelPath + "', '" + a +
                  "')");
    }
  }
  if (modelPath.empty())
    return fail("no model given (see --help)");

  ssm_model *model = nullptr;
  if (ssm_model_load_on(modelPath.c_str(), deviceName.c_str(), &model) !=
      SSM_OK)
    return fail(ssm_last_error());
  struct Release {
    ssm_model *m;
    ~Release() { ssm_model_release(m); }
  } releaseModel{model};
  if (threads > 0 && ssm_model_set_num_threads(model, threads) != SSM_OK)
    return fail(ssm_last_error());

  if (info) {
    printf("compile info: %s\n", ssm_model_compile_info(model));
    printf("device: %s\n", ssm_model_device(model));
    for (int64_t i = 0; i < ssm_model_num_entry_points(model); ++i) {
      const char *name = ssm_model_entry_point(model, i);
      printf("entry %s: %s\n", name, ssm_model_signature(model, name));
    }
    return 0;
  }

  if (generateSteps >= 0) {
    if (!entry.empty())
      return fail("--generate does not take --entry");
    ssm_tensor *prompt = nullptr;
    Tensors release;
    if (!inputFiles.empty()) {
      if (inputFiles.size() != 1)
        return fail("--generate takes one --input: the prompt");
      std::string error;
      if (!ssm::npy::read(inputFiles.begin()->second, &prompt, error))
        return fail("prompt: " + error);
      release.list.push_back(prompt);
      if (ssm_tensor_dtype(prompt) != SSM_INT64 ||
          ssm_tensor_rank(prompt) != 2 || ssm_tensor_shape(prompt)[1] < 1)
        return fail("the prompt must be int64 (batch, len >= 1)");
    } else {
      int64_t shape[2] = {batch, promptLen};
      if (ssm_tensor_create(SSM_INT64, 2, shape, &prompt) != SSM_OK)
        return fail(ssm_last_error());
      release.list.push_back(prompt);
      std::mt19937_64 rng(static_cast<uint64_t>(seed));
      fillRandom(prompt, rng, intMax);
    }
    // Without --bench: one run, no warm-up.
    return generate(model, modelPath, prompt, generateSteps, prefillChunk,
                    outputDir, bench > 0 ? bench : 1, bench > 0 ? warmup : 0);
  }

  const char *entryName = entry.empty() ? nullptr : entry.c_str();
  int64_t numInputs = ssm_entry_num_inputs(model, entryName);
  int64_t numOutputs = ssm_entry_num_outputs(model, entryName);
  if (numInputs < 0 || numOutputs < 0)
    return fail(ssm_last_error());
  if (!entryName)
    entryName = ssm_model_entry_point(model, 0);

  // Inputs: from files, or random.
  Tensors inputs;
  std::mt19937_64 rng(static_cast<uint64_t>(seed));
  std::map<std::string, bool> used;
  for (int64_t j = 0; j < numInputs; ++j) {
    ssm_io_info io;
    if (ssm_entry_input(model, entryName, j, &io) != SSM_OK)
      return fail(ssm_last_error());
    ssm_tensor *t = nullptr;
    auto file = inputFiles.find(io.name);
    if (file != inputFiles.end()) {
      std::string error;
      if (!ssm::npy::read(file->second, &t, error))
        return fail("input '" + std::string(io.name) + "': " + error);
      used[io.name] = true;
    } else {
      std::vector<int64_t> shape;
      for (int64_t k = 0; k < io.rank; ++k) {
        if (io.dims[k] >= 0) {
          shape.push_back(io.dims[k]);
          continue;
        }
        const char *dn = io.dim_names[k];
        auto it = dn ? dims.find(dn) : dims.end();
        shape.push_back(it != dims.end() ? it->second : defaultDim);
      }
      if (ssm_tensor_create(io.dtype, io.rank, shape.data(), &t) != SSM_OK)
        return fail(ssm_last_error());
      fillRandom(t, rng, intMax);
    }
    inputs.list.push_back(t);
  }
  for (const auto &kv : inputFiles)
    if (!used.count(kv.first))
      return fail("entry point '" + std::string(entryName) +
                  "' has no input named '" + kv.first + "'");

  std::function<ssm_status(Tensors &)> runOnce = [&](Tensors &outputs) {
    outputs.list.assign(numOutputs, nullptr);
    return ssm_run(model, entryName, inputs.list.data(), numInputs,
                   outputs.list.data(), numOutputs);
  };

  Tensors outputs;
  if (runOnce(outputs) != SSM_OK) {
    outputs.list.clear();
    return fail(ssm_last_error());
  }

  // A device model is timed on inputs already in device memory, its outputs
  // left there: the time of the model's device work, without the copies.
  const std::string device = ssm_model_device(model);
  Tensors deviceInputs;
  if (bench > 0 && device != "cpu") {
    for (ssm_tensor *t : inputs.list) {
      ssm_tensor *d = nullptr;
      if (ssm_tensor_to_device(model, t, &d) != SSM_OK)
        return fail(ssm_last_error());
      deviceInputs.list.push_back(d);
    }
    runOnce = [&](Tensors &outputs) {
      outputs.list.assign(numOutputs, nullptr);
      return ssm_run_device(model, entryName, deviceInputs.list.data(),
                            numInputs, outputs.list.data(), numOutputs);
    };
  }

  if (bench > 0) {
    for (int64_t i = 1; i < warmup; ++i) {
      Tensors o;
      if (runOnce(o) != SSM_OK)
        return fail(ssm_last_error());
    }
    std::vector<double> ms;
    for (int64_t i = 0; i < bench; ++i) {
      Tensors o;
      auto start = std::chrono::steady_clock::now();
      ssm_status s = runOnce(o);
      auto end = std::chrono::steady_clock::now();
      if (s != SSM_OK)
        return fail(ssm_last_error());
      ms.push_back(
          std::chrono::duration<double, std::milli>(end - start).count());
    }
    std::sort(ms.begin(), ms.end());
    auto pct = [&](double q) {
      return ms[static_cast<size_t>(std::lround(q * (ms.size() - 1)))];
    };
    printf("{\"model\": \"%s\", \"entry\": \"%s\", \"device\": \"%s\", "
           "\"runs\": %lld, "
           "\"warmup\": %lld, \"threads\": %lld, \"median_ms\": %.4f, "
           "\"p10_ms\": %.4f, \"p90_ms\": %.4f, \"min_ms\": %.4f, "
           "\"inputs\": {",
           modelPath.c_str(), entryName, device.c_str(), (long long)bench,
           (long long)warmup, (long long)ssm_model_num_threads(model), pct(0.5),
           pct(0.1), pct(0.9), ms.front());
    for (int64_t j = 0; j < numInputs; ++j) {
      ssm_io_info io;
      ssm_entry_input(model, entryName, j, &io);
      std::string shape = shapeString(inputs.list[j]);
      printf("%s\"%s\": %s", j ? ", " : "", io.name, shape.c_str());
    }
    printf("}}\n");
  }

  if (!outputDir.empty()) {
    mkdir(outputDir.c_str(), 0777);
    for (int64_t k = 0; k < numOutputs; ++k) {
      ssm_io_info io;
      ssm_entry_output(model, entryName, k, &io);
      std::string path = outputDir + "/" + safeFileName(io.name) + ".npy";
      std::string error;
      if (!ssm::npy::write(path, outputs.list[k], error))
        return fail(error);
    }
  } else if (bench == 0) {
    for (int64_t k = 0; k < numOutputs; ++k) {
      ssm_io_info io;
      ssm_entry_output(model, entryName, k, &io);
      summarize(io.name, outputs.list[k]);
    }
  }
  return 0;
}
