"""CPU benchmark: SSMC against llama.cpp, IREE and onnxruntime on the same weights.

Generates the benchmark models of ../shared/BENCHMARKS.md with examples/zoo.py
(random float32 weights): mamba2-130m (zoo mamba2, size 130m) and
hybrid-1b-shape (zoo llamba_hybrid, size 1b: the Llama-3.2-1B trunk with
Discrete Mamba-2 mixers in standard ops, attention in layers 4 and 10;
5.5 GB of weights in external data), and on those same weights:

- SSMC: compiles the ONNX file with `ssmc -O3`; the full forward (every
  token's logits) through `ssm-run --bench`, the prefill entry point (the
  last token's logits, as llama-bench computes) and decode through
  `ssm-run --generate --bench`.
- llama.cpp: builds the sources vendored in the `llama-cpp-python` sdist
  (PyPI) with CMake (Release, GGML_NATIVE, CPU only, `nice -n 19`, one job;
  cached under bench/.work/llama/), writes the weights to a llama.cpp
  `mamba2` GGUF with the `gguf` package, and times prefill with `llama-bench`
  and batched decode with `llama-batched-bench`. A small C++ program built
  against libllama (`llama-logits`, source below) gives its logits for the
  parity check, and times a prefill that returns the logits of every token,
  as the ONNX graph does (llama-bench computes the last token's only).
- onnxruntime: the ONNX file itself (InferenceSession, intra_op_num_threads).
- IREE: `iree-import-onnx` (weights externalized to an .irpa archive),
  `iree-compile` for llvm-cpu on the host CPU, run through iree.runtime on
  the local-task device.

It checks logit parity against onnxruntime (prefill for every engine, decode
for SSMC and llama.cpp), times prefill of batch 1 at each --seq and decode at
each --decode-batch, all with --threads threads, measures the machine's
memory bandwidth with a streaming copy, and prints the results as JSON and as
Markdown tables with the ratios (speed ratio = peer time / SSMC time).

  .venv/bin/python bench/cpu_peers.py [--models mamba2-130m,hybrid-1b-shape]
      [--seq 128,512,2048] [--decode-batch 1,4,16]
      [--runs 3] [--threads 2] [--skip llama,iree,ort] [--layers N] [--f16]
      [--wait-idle SECONDS]

llama.cpp cannot run hybrid-1b-shape: it has no Discrete Mamba-2
architecture (the results say so). The JSON of each model goes to
bench/.work/cpu_peers/MODEL.json (or --json, with one model) and stdout,
then the tables of every model. Quick test: --layers 2 --seq 64,128 --runs 2 (the first
run builds llama.cpp: about 5 minutes).

onnxruntime is always the parity reference; --skip ort skips its timing
only. --f16 gives llama.cpp f16 matrices (its usual precision; SSMC stays
float32, so the ratios then compare different precisions). onnxruntime and
IREE run the ONNX graph, which has no cache inputs, so they have no decode:
the decode rows are SSMC and llama.cpp. A peer that fails records its error
in the output instead of stopping the run.

The machine is shared: other work on the cores slows llama.cpp's spinning
threads far more than the other engines (several times over with one core
taken). The load average at the start and end is recorded, and --wait-idle
waits, before each timing, for the CPUs to be idle.

Python packages (beyond numpy, onnx, onnxruntime): gguf, iree-base-compiler,
iree-base-runtime. Tools: cmake, ninja, a C++ compiler. Work files go to
bench/.work/ (git-ignored).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import threading
import time
import traceback
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
from zoo import ROOT, tool  # noqa: E402

WORK = ROOT / "bench" / ".work"  # models, builds (shared with cpu_onnxruntime.py)
SCRATCH = WORK / "cpu_peers"  # this script's inputs and outputs
LLAMA_CPP_PYTHON = "0.3.36"  # the sdist whose vendored llama.cpp is built
NICE = ["nice", "-n", "19"]  # builds share the machine: lowest priority, one job


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run(cmd, **kw):
    """subprocess.run with check; on failure the error carries the tail of stderr.
    A program that cannot be started (being relinked by a concurrent build)
    is retried for up to a minute."""
    for attempt in range(12):
        try:
            r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
            break
        except (PermissionError, OSError) as e:
            if isinstance(e, FileNotFoundError) or attempt == 11:
                raise
            time.sleep(5)
    if r.returncode != 0:
        tail = (r.stderr or r.stdout)[-3000:]
        raise RuntimeError(f"{Path(str(cmd[0])).name} failed ({r.returncode}): {tail}")
    return r


def stale(target, *sources):
    """True when target is missing or older than one of the sources."""
    return not target.exists() or target.stat().st_mtime < max(s.stat().st_mtime
                                                               for s in sources)


def rel_err(got, want):
    return float(np.abs(got - want).max() / np.abs(want).max())


def cpu_busy(interval=0.5):
    """Fraction of the machine's CPU time that was busy over `interval` s."""
    def snap():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v), v[3] + v[4]  # total, idle + iowait
    t0, i0 = snap()
    time.sleep(interval)
    t1, i1 = snap()
    return 1.0 - (i1 - i0) / max(1, t1 - t0)


def wait_idle(limit_s, what, record):
    """Waits up to `limit_s` s for a quiet machine (< 10% busy over half a
    second) before timing `what`; records the wait in `record`."""
    if limit_s <= 0:
        return
    t = time.time()
    busy = cpu_busy()
    while busy >= 0.1 and time.time() - t < limit_s:
        busy = cpu_busy()
    record[what] = dict(waited_s=round(time.time() - t, 1), busy=round(busy, 2))
    if busy >= 0.1:
        log(f"machine still {busy:.0%} busy after {limit_s} s; timing {what} anyway")


# ---------------------------------------------------------------------------
# The model: ONNX from the zoo, its weights by layer, the SSMC library.

# The benchmark models of ../shared/BENCHMARKS.md: zoo model and size.
MODELS = {"mamba2-130m": ("mamba2", "130m"), "hybrid-1b-shape": ("llamba_hybrid", "1b")}
# Why a peer cannot run a model (recorded in the results).
UNSUPPORTED = {
    ("llama", "hybrid-1b-shape"):
        "llama.cpp has no Discrete Mamba-2 architecture (its hybrids, granitehybrid and "
        "nemotron_h, mix Mamba-2 layers), so no GGUF of this model exists",
}


def make_model(model, layers):
    import zoo
    tag = model + (f"-{layers}l" if layers else "")
    onnx_path, so_path = WORK / f"{tag}.onnx", WORK / f"{tag}.so"
    if not onnx_path.exists():
        t = time.time()
        name, size = MODELS[model]
        zoo.save(zoo.build(name, size, seed=0, layers=layers), onnx_path)
        log(f"generated {onnx_path.name} in {time.time() - t:.1f} s")
    if stale(so_path, onnx_path, tool("ssmc")):
        t = time.time()
        run(NICE + [tool("ssmc"), onnx_path, "-o", so_path, "-O3"])
        log(f"compiled {so_path.name} in {time.time() - t:.1f} s")
    return tag, onnx_path, so_path


def zoo_mamba2_weights(onnx_path):
    """The weights of an examples/zoo.py mamba2 graph, by layer, found by the
    graph's structure (the op patterns of zoo.mamba2_layer), not by names.

    Per layer: rms_norm weight (Mul(w, Mul(x, inv))), in_proj (d, 2 di + 2 n + h),
    depthwise Conv weight (conv_dim, 1, k) and bias, dt bias (the Add before
    Softplus), A = -exp(.) (the Mul before CumSum), D (h, 1), the gated
    rms_norm weight (di), out_proj (di, d); then the final norm and the LM
    head (tied: MatMul(x, Transpose(embed)))."""
    import onnx
    from onnx import numpy_helper
    g = onnx.load(str(onnx_path)).graph
    inits = {t.name: t for t in g.initializer}
    arr = lambda name: numpy_helper.to_array(inits[name])  # noqa: E731
    producer = {o: n for n in g.node for o in n.output}
    w = dict(embed=arr("embed"), norms=[], matmuls=[], conv_w=[], conv_b=[],
             dt_bias=[], A=[], D=[], eps=None, head=None)
    for node in g.node:
        op, ins = node.op_type, list(node.input)
        if op == "Conv":
            w["conv_w"].append(arr(ins[1]))
            w["conv_b"].append(arr(ins[2]))
        elif op == "MatMul":
            if ins[1] in inits:
                w["matmuls"].append(arr(ins[1]))
            elif node.output[0] == "logits":
                t = producer.get(ins[1])
                if not (t is not None and t.op_type == "Transpose" and t.input[0] == "embed"):
                    raise ValueError("unexpected LM head")
        elif op == "Softplus":
            add = producer[ins[0]]
            w["dt_bias"].append(arr(next(i for i in add.input if i in inits)))
        elif op == "CumSum":
            mul = producer[ins[0]]
            w["A"].append(arr(next(i for i in mul.input if i in inits)))
        elif op == "Sqrt" and w["eps"] is None:
            add = producer[ins[0]]
            w["eps"] = float(arr(next(i for i in add.input if i in inits)))
        elif op == "Mul" and ins[0] in inits and len(inits[ins[0]].dims) == 1:
            w["norms"].append(arr(ins[0]))
        elif op == "Mul" and ins[1] in inits and len(inits[ins[1]].dims) == 2:
            w["D"].append(arr(ins[1]))
    L = len(w["conv_w"])
    if len(w["matmuls"]) == 2 * L + 1:  # untied LM head (sizes other than 130m)
        w["head"] = w["matmuls"].pop()
    counts = dict(matmuls=2 * L, norms=2 * L + 1, dt_bias=L, A=L, D=L, conv_b=L)
    for key, want in counts.items():
        if len(w[key]) != want:
            raise ValueError(f"not a zoo mamba2 graph: {len(w[key])} {key}, want {want}")
    w["in_proj"], w["out_proj"] = w["matmuls"][0::2], w["matmuls"][1::2]
    di, d = w["out_proj"][0].shape
    h = w["A"][0].shape[0]
    conv_dim, _, k = w["conv_w"][0].shape
    w["cfg"] = dict(layers=L, d=d, di=di, h=h, p=di // h, n=(conv_dim - di) // 2, k=k,
                    conv_dim=conv_dim, vocab=w["embed"].shape[0], eps=w["eps"], groups=1)
    assert w["in_proj"][0].shape == (d, 2 * di + 2 * w["cfg"]["n"] + h)
    w["weight_bytes"] = sum(int(np.prod(t.dims)) * 4 for t in g.initializer
                            if t.data_type == onnx.TensorProto.FLOAT)
    return w


def zoo_llamba_hybrid_info(onnx_path, prompt):
    """Shape and weight bytes of an examples/zoo.py llamba_hybrid graph (the
    initializers' dims, the external data unread); the state of one sequence
    holds a KV cache of `prompt` tokens in the attention layers."""
    import onnx
    g = onnx.load(str(onnx_path), load_external_data=False).graph
    dims = {t.name: list(t.dims) for t in g.initializer}
    convs = [dims[n.input[1]] for n in g.node if n.op_type == "Conv"]
    attention = sum(1 for n in g.node if n.op_type == "Softmax")
    emb = dims["embed"]
    heads = [dims[n.input[1]] for n in g.node if n.op_type == "Mul"
             and len(dims.get(n.input[1], [])) == 2 and dims[n.input[1]][1] == 1]  # D (h, 1)
    h = heads[0][0]
    mlp = max(d[1] for d in dims.values() if len(d) == 2 and d[0] == emb[1])
    d = emb[1]
    conv_dim, _, k = convs[0]
    di = d  # expand 1
    n = (conv_dim - di) // (2 * h)
    kv = [dims[m.input[1]][1] for m in g.node if m.op_type == "MatMul"
          and len(dims.get(m.input[1], [])) == 2 and dims[m.input[1]][0] == d
          and dims[m.input[1]][1] < d]  # the K and V projections
    cfg = dict(layers=len(convs) + attention, ssm_layers=len(convs), attention_layers=attention,
               d=d, di=di, h=h, p=di // h, n=n, k=k, conv_dim=conv_dim, mlp=mlp,
               vocab=emb[0], kv_width=kv[0] if kv else d, kv_prompt=prompt)
    weight_bytes = sum(int(np.prod(t.dims)) * 4 for t in g.initializer
                       if t.data_type == onnx.TensorProto.FLOAT)
    return cfg, weight_bytes


def state_bytes(cfg):
    """Recurrent state of one sequence, float32: SSM state plus conv window
    (plus, in a hybrid, the K and V caches of cfg['kv_prompt'] tokens)."""
    c = cfg
    ssm = c.get("ssm_layers", c["layers"])
    kv = 2 * c.get("attention_layers", 0) * c.get("kv_width", 0) * c.get("kv_prompt", 0)
    return (ssm * (c["h"] * c["p"] * c["n"] + (c["k"] - 1) * c["conv_dim"]) + kv) * 4


# ---------------------------------------------------------------------------
# Memory bandwidth.

def bandwidth(threads, gib=1.0, reps=5):
    """Best of `reps` streaming passes over a `gib` GiB float32 array split
    among `threads` Python threads (numpy releases the GIL): copy (bytes read
    + written per second) and read (a vectorized reduction)."""
    n = int(gib * (1 << 30)) // 4
    a = np.ones(n, np.float32)
    b = np.zeros_like(a)
    cuts = np.linspace(0, n, threads + 1).astype(np.int64)

    def timed(fn):
        ts = [threading.Thread(target=fn, args=(cuts[i], cuts[i + 1])) for i in range(threads)]
        t = time.perf_counter()
        for x in ts:
            x.start()
        for x in ts:
            x.join()
        return time.perf_counter() - t

    def copy(s, e):
        np.copyto(b[s:e], a[s:e])

    def read(s, e):
        np.add.reduce(a[s:e - (e - s) % 4096].reshape(-1, 4096), axis=0)

    copy_bw = max(2 * n * 4 / timed(copy) for _ in range(reps))
    read_bw = max(n * 4 / timed(read) for _ in range(reps))
    return dict(copy_gb_s=copy_bw / 1e9, read_gb_s=read_bw / 1e9,
                best_gb_s=max(copy_bw, read_bw) / 1e9, threads=threads, gib=gib)


# ---------------------------------------------------------------------------
# SSMC.

def ssmc_prefill(so_path, ids_path, runs, threads):
    r = run([tool("ssm-run"), so_path, "--input", f"input_ids={ids_path}", "--bench", runs,
             "--threads", threads])
    return json.loads(r.stdout)["median_ms"]


def ssmc_logits(so_path, ids_path, out_dir):
    run([tool("ssm-run"), so_path, "--input", f"input_ids={ids_path}", "--output-dir", out_dir])
    return np.load(out_dir / "logits.npy")


def ssmc_generate(so_path, steps, prompt, batch, vocab, threads, runs=1):
    r = run([tool("ssm-run"), so_path, "--generate", steps, "--prompt-len", prompt,
             "--batch", batch, "--int-max", vocab, "--threads", threads,
             *(["--bench", runs] if runs > 1 else [])])
    return json.loads(r.stdout)


# ---------------------------------------------------------------------------
# llama.cpp: build, GGUF, logits, timings.

LOGITS_CPP = r"""
// llama-logits: logits of a token sequence through libllama (built by bench/cpu_peers.py).
//   llama-logits MODEL.gguf IDS.bin THREADS N_PREFILL OUT.bin
//     feeds the first N_PREFILL tokens in one llama_decode call, then the rest one
//     token at a time (decode), and writes the logits of every token, float32 (n, vocab).
//   llama-logits MODEL.gguf IDS.bin THREADS --bench RUNS
//     times a prefill of all the tokens that returns the logits of every token:
//     one warm-up, then RUNS runs; prints JSON with the median in milliseconds.
#include "llama.h"
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

static void quiet(ggml_log_level level, const char * text, void *) {
    if (level >= GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
}

int main(int argc, char ** argv) {
    if (argc != 6) { fprintf(stderr, "usage: see the source\n"); return 2; }
    std::vector<llama_token> ids;
    FILE * f = fopen(argv[2], "rb");
    if (!f) { perror(argv[2]); return 1; }
    int32_t t;
    while (fread(&t, 4, 1, f) == 1) ids.push_back(t);
    fclose(f);
    const int n = (int) ids.size();
    const int threads = atoi(argv[3]);
    const bool bench = strcmp(argv[4], "--bench") == 0;
    const int n_prefill = bench ? n : std::min(n, std::max(1, atoi(argv[4])));
    llama_log_set(quiet, nullptr);
    llama_backend_init();
    llama_model * model = llama_model_load_from_file(argv[1], llama_model_default_params());
    if (!model) { fprintf(stderr, "cannot load %s\n", argv[1]); return 1; }
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = n;
    cp.n_batch = n;
    cp.n_ubatch = std::min(n, 512);  // llama.cpp's default ubatch
    cp.n_seq_max = 1;
    cp.n_threads = cp.n_threads_batch = threads;
    llama_context * ctx = llama_init_from_model(model, cp);
    if (!ctx) { fprintf(stderr, "cannot create the context\n"); return 1; }
    const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
    llama_batch batch = llama_batch_init(n, 0, 1);
    auto feed = [&](int pos, int m) {
        batch.n_tokens = m;
        for (int i = 0; i < m; i++) {
            batch.token[i] = ids[pos + i];
            batch.pos[i] = pos + i;
            batch.n_seq_id[i] = 1;
            batch.seq_id[i][0] = 0;
            batch.logits[i] = 1;
        }
        if (llama_decode(ctx, batch) != 0) { fprintf(stderr, "llama_decode failed\n"); exit(1); }
        llama_synchronize(ctx);
    };
    if (bench) {
        const int runs = atoi(argv[5]);
        std::vector<double> ms;
        for (int r = 0; r <= runs; r++) {
            llama_memory_clear(llama_get_memory(ctx), true);
            const int64_t t0 = ggml_time_us();
            feed(0, n);
            if (r > 0) ms.push_back((ggml_time_us() - t0) / 1e3);
        }
        std::sort(ms.begin(), ms.end());
        const size_t m = ms.size();
        printf("{\"median_ms\": %.4f, \"runs\": %zu}\n",
               m % 2 ? ms[m / 2] : 0.5 * (ms[m / 2 - 1] + ms[m / 2]), m);
    } else {
        FILE * out = fopen(argv[5], "wb");
        if (!out) { perror(argv[5]); return 1; }
        for (int pos = 0; pos < n;) {
            const int m = pos == 0 ? n_prefill : 1;
            feed(pos, m);
            for (int i = 0; i < m; i++) fwrite(llama_get_logits_ith(ctx, i), 4, n_vocab, out);
            pos += m;
        }
        fclose(out);
    }
    llama_batch_free(batch);
    llama_free(ctx);
    llama_model_free(model);
    llama_backend_free();
    return 0;
}
"""


def build_llama(version):
    """Builds libllama, llama-bench and llama-batched-bench from the llama.cpp
    vendored in the llama-cpp-python `version` sdist (reusing a previous
    build), and llama-logits against them. Returns the paths and the build's
    record (version, seconds)."""
    base = WORK / "llama"
    base.mkdir(parents=True, exist_ok=True)
    src = base / f"llama_cpp_python-{version}" / "vendor" / "llama.cpp"
    build = base / "build"
    lib = build / "bin"
    bins = dict(bench=lib / "llama-bench", batched=lib / "llama-batched-bench",
                logits=lib / "llama-logits")
    record_path = build / "ssmc-bench-build.json"
    record = json.loads(record_path.read_text()) if record_path.exists() else None
    if record and record["llama_cpp_python"] != version:
        shutil.rmtree(build)  # another version's build
        record = None
    if not (record and bins["bench"].exists() and bins["batched"].exists()):
        t0 = time.time()
        if not src.exists():
            sdist = base / f"llama_cpp_python-{version}.tar.gz"
            if not sdist.exists():
                log(f"downloading the llama-cpp-python {version} sdist")
                run([sys.executable, "-m", "pip", "download", f"llama-cpp-python=={version}",
                     "--no-binary", ":all:", "--no-deps", "-d", base])
            with tarfile.open(sdist) as tar:
                tar.extractall(base, filter="data")
        log(f"building llama.cpp ({src}) with one job at nice 19; this takes minutes")
        run(NICE + ["cmake", "-S", src, "-B", build, "-G", "Ninja",
                    "-DCMAKE_BUILD_TYPE=Release", "-DGGML_NATIVE=ON", "-DGGML_CUDA=OFF",
                    "-DGGML_METAL=OFF", "-DGGML_BLAS=OFF", "-DGGML_VULKAN=OFF",
                    "-DGGML_CCACHE=OFF", "-DLLAMA_OPENSSL=OFF", "-DLLAMA_BUILD_TESTS=OFF",
                    "-DLLAMA_BUILD_EXAMPLES=OFF", "-DLLAMA_BUILD_SERVER=OFF",
                    "-DLLAMA_BUILD_APP=OFF"])
        run(NICE + ["ninja", "-C", build, "-j1", "llama", "llama-bench", "llama-batched-bench"])
        record = dict(llama_cpp_python=version, build_s=round(time.time() - t0, 1),
                      flags="Release, GGML_NATIVE=ON, CPU only, ninja -j1, nice -n 19")
        record_path.write_text(json.dumps(record))
        log(f"built llama.cpp in {record['build_s']} s")
    cpp = build / "llama-logits.cpp"
    if not bins["logits"].exists() or not cpp.exists() or cpp.read_text() != LOGITS_CPP:
        cpp.write_text(LOGITS_CPP)
        run(NICE + [os.environ.get("CXX", "c++"), "-O2", "-std=c++17", cpp, "-o",
                    bins["logits"], "-I", src / "include", "-I", src / "ggml" / "include",
                    "-L", lib, "-lllama", "-lggml", "-lggml-base", f"-Wl,-rpath,{lib}"])
    return bins, record


def write_gguf(w, path, f16):
    """llama.cpp `mamba2` GGUF of the zoo weights, with the transforms of
    convert_hf_to_gguf.py's Mamba2Model: matrices as [out, in] (GGUF reverses
    numpy's shape), conv1d squeezed to (conv_dim, k), A (already -exp(A_log)
    in the graph) and D as (h, 1), the gated norm as (groups, di / groups), the
    output tied to token_embd (no output.weight). No tokenizer: type "none"
    with {arch}.vocab_size dummy tokens (the benchmarks feed token ids).
    With f16, the 2-D matrices are f16 and the rest float32, as the converter
    does."""
    import gguf
    c = w["cfg"]
    tmp = path.with_name(path.name + ".tmp")  # renamed when complete
    wr = gguf.GGUFWriter(str(tmp), "mamba2")
    wr.add_name("ssmc zoo mamba2 (random weights)")
    wr.add_context_length(2 ** 20)
    wr.add_embedding_length(c["d"])
    wr.add_feed_forward_length(0)
    wr.add_head_count(0)
    wr.add_block_count(c["layers"])
    wr.add_ssm_conv_kernel(c["k"])
    wr.add_ssm_inner_size(c["di"])
    wr.add_ssm_state_size(c["n"])
    wr.add_ssm_time_step_rank(c["h"])
    wr.add_ssm_group_count(c["groups"])
    wr.add_layer_norm_rms_eps(c["eps"])
    wr.add_file_type(gguf.LlamaFileType.MOSTLY_F16 if f16 else gguf.LlamaFileType.ALL_F32)
    wr.add_tokenizer_model("none")
    wr.add_vocab_size(c["vocab"])
    mat = (lambda a: np.ascontiguousarray(a, np.float16)) if f16 else \
        (lambda a: np.ascontiguousarray(a, np.float32))
    f32 = lambda a: np.ascontiguousarray(a, np.float32)  # noqa: E731
    wr.add_tensor("token_embd.weight", mat(w["embed"]))
    wr.add_tensor("output_norm.weight", f32(w["norms"][-1]))
    if w["head"] is not None:
        wr.add_tensor("output.weight", mat(w["head"].T))
    for i in range(c["layers"]):
        p = f"blk.{i}."
        wr.add_tensor(p + "attn_norm.weight", f32(w["norms"][2 * i]))
        wr.add_tensor(p + "ssm_in.weight", mat(w["in_proj"][i].T))
        wr.add_tensor(p + "ssm_conv1d.weight", f32(w["conv_w"][i].reshape(c["conv_dim"], c["k"])))
        wr.add_tensor(p + "ssm_conv1d.bias", f32(w["conv_b"][i]))
        wr.add_tensor(p + "ssm_dt.bias", f32(w["dt_bias"][i]))
        wr.add_tensor(p + "ssm_a", f32(w["A"][i].reshape(c["h"], 1)))
        wr.add_tensor(p + "ssm_d", f32(w["D"][i].reshape(c["h"], 1)))
        wr.add_tensor(p + "ssm_norm.weight",
                      f32(w["norms"][2 * i + 1].reshape(c["groups"], c["di"] // c["groups"])))
        wr.add_tensor(p + "ssm_out.weight", mat(w["out_proj"][i].T))
    wr.write_header_to_file()
    wr.write_kv_data_to_file()
    wr.write_tensors_to_file()
    wr.close()
    tmp.replace(path)


def gguf_bytes(path):
    import gguf
    return int(sum(t.n_bytes for t in gguf.GGUFReader(str(path)).tensors))


def llama_logits(bins, gguf_path, ids, threads, n_prefill):
    ids_bin, out = SCRATCH / "llama_ids.bin", SCRATCH / "llama_logits.bin"
    np.asarray(ids, np.int32).tofile(ids_bin)
    run([bins["logits"], gguf_path, ids_bin, threads, n_prefill, out])
    return np.fromfile(out, np.float32).reshape(len(ids), -1)


def llama_all_logits_prefill(bins, gguf_path, ids, threads, runs):
    ids_bin = SCRATCH / "llama_ids.bin"
    np.asarray(ids, np.int32).tofile(ids_bin)
    r = run([bins["logits"], gguf_path, ids_bin, threads, "--bench", runs])
    return json.loads(r.stdout)["median_ms"]


def llama_prefill(bins, gguf_path, seqs, threads, runs):
    """llama-bench -p N -n 0: median ms per prompt length (last-token logits)."""
    r = run([bins["bench"], "-m", gguf_path, "-p", ",".join(map(str, seqs)), "-n", "0",
             "-t", threads, "-r", runs, "-o", "json"])
    tests = json.loads(r.stdout)
    info = {k: tests[0].get(k) for k in ("build_commit", "build_number", "cpu_info",
                                         "n_batch", "n_ubatch", "type_k")} if tests else {}
    return {t["n_prompt"]: statistics.median(t["samples_ns"]) / 1e6 for t in tests}, info


def llama_decode(bins, gguf_path, batches, prompt, steps, threads, runs):
    """llama-batched-bench (each of `batches` sequences gets its own `prompt`
    tokens, then `steps` decode steps of one token per sequence): median ms
    per decode step over `runs` invocations."""
    ctx = max(batches) * (prompt + steps)
    per = {b: [] for b in batches}
    for _ in range(runs):
        r = run([bins["batched"], "-m", gguf_path, "-c", ctx, "-b", 2048, "-ub", 512,
                 "-npp", prompt, "-ntg", steps, "-npl", ",".join(map(str, batches)),
                 "-t", threads, "-tb", threads, "--output-format", "jsonl"])
        seen = set()
        for line in (r.stdout + "\n" + r.stderr).splitlines():
            if line.startswith("{") and '"speed_tg"' in line:
                row = json.loads(line)
                per[row["pl"]].append(row["t_tg"] / row["tg"] * 1e3)
                seen.add(row["pl"])
        if seen != set(batches):
            raise RuntimeError(f"llama-batched-bench gave no row for batch "
                               f"{sorted(set(batches) - seen)}: stdout {r.stdout[-1500:]!r} "
                               f"stderr {r.stderr[-1500:]!r}")
    return {b: statistics.median(v) for b, v in per.items()}


# ---------------------------------------------------------------------------
# IREE.

def iree_tool(name):
    p = Path(sys.executable).parent / name
    return p if p.exists() else Path(shutil.which(name) or name)


def iree_build(onnx_path, tag):
    """ONNX -> MLIR with the weights in an .irpa parameter archive -> vmfb."""
    d = WORK / "iree"
    d.mkdir(parents=True, exist_ok=True)
    mlir, irpa, vmfb = d / f"{tag}.mlir", d / f"{tag}.irpa", d / f"{tag}.vmfb"
    if stale(mlir, onnx_path) or not irpa.exists():
        t = time.time()
        # --large-model: past protobuf's 2 GiB (external data), the importer's
        # in-memory checker fails; this flag infers shapes through files.
        large = Path(f"{onnx_path}.data").exists()
        run(NICE + [iree_tool("iree-import-onnx"), onnx_path, "-o", mlir,
                    "--externalize-params", "--save-params-to", irpa]
            + (["--large-model"] if large else []))
        log(f"iree-import-onnx {onnx_path.name} in {time.time() - t:.1f} s")
    if stale(vmfb, mlir):
        t = time.time()
        run(NICE + [iree_tool("iree-compile"), mlir, "-o", vmfb,
                    "--iree-hal-target-device=local",
                    "--iree-hal-local-target-device-backends=llvm-cpu",
                    "--iree-llvmcpu-target-cpu=host"])
        log(f"iree-compile {mlir.name} in {time.time() - t:.1f} s")
    return vmfb, irpa


def iree_session(vmfb, irpa, threads):
    """A callable ids -> logits (numpy) on IREE's local-task device with
    `threads` workers."""
    import iree.runtime as rt
    rt.flags.parse_flags(f"--task_topology_group_count={threads}")
    config = rt.Config("local-task")
    index = rt.ParameterIndex()
    index.load(str(irpa))
    params = rt.create_io_parameters_module(config.vm_instance,
                                            index.create_provider(scope="model"))
    hal = rt.create_hal_module(config.vm_instance, config.device)
    main = rt.VmModule.mmap(config.vm_instance, str(vmfb))
    name = next(f for f in main.function_names if not f.startswith("__") and "$" not in f)
    fn = rt.load_vm_modules(params, hal, main, config=config)[-1][name]
    session = lambda ids: fn(ids).to_host()  # noqa: E731
    session.keep = (config, index, params, hal, main)  # keep the runtime objects alive
    return session


def timed_median(fn, runs):
    fn()  # warm-up
    ts = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t) * 1e3)
    return float(np.median(ts))


# ---------------------------------------------------------------------------

def machine():
    cpu = "?"
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")  # noqa: E741
                   if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return dict(cpu=cpu, logical_cpus=os.cpu_count(), host=os.uname().nodename)


def versions():
    from importlib.metadata import PackageNotFoundError, version
    out = {}
    for p in ("numpy", "onnx", "onnxruntime", "gguf", "iree-base-compiler", "iree-base-runtime"):
        try:
            out[p] = version(p)
        except PackageNotFoundError:
            out[p] = None
    return out


class Peers:
    """Runs one step of a peer; a failure is recorded in `errors` (and, when
    `fatal`, turns the peer off) instead of stopping the benchmark."""

    def __init__(self, errors, off):
        self.errors, self.off = errors, set(off)

    def __call__(self, peer, what, fn, fatal=False):
        if peer in self.off:
            return None
        try:
            return fn()
        except Exception as e:  # noqa: BLE001 - any failure of a peer is data
            msg = f"{type(e).__name__}: {e}".strip()
            self.errors[f"{peer}: {what}"] = msg
            log(f"{peer}: {what} failed: {msg[:2000]}")
            if os.environ.get("SSMC_BENCH_TRACEBACK"):
                traceback.print_exc()
            if fatal:
                self.off.add(peer)
            return None


def fmt(x, spec=".1f"):
    return "-" if x is None else format(x, spec)


def fmt_x(x):
    return "-" if x is None else f"{x:.3f}x"


def ratio(peer_ms, ssmc_ms):
    return None if peer_ms is None or ssmc_ms is None else peer_ms / ssmc_ms


def print_tables(res):
    m, bw = res["model"], res["bandwidth"]
    gguf = f"{m['gguf_bytes'] / 1e6:.1f} MB GGUF {m['gguf_type']}" if m.get("gguf_bytes") else \
        "no GGUF"
    print(f"\n{m['tag']} ({m['cfg']['layers']} layers), {res['threads']} threads, "
          f"{res['machine']['cpu']} ({res['machine']['logical_cpus']} logical CPUs). "
          f"Measured bandwidth: copy {bw['copy_gb_s']:.1f} GB/s (read + written), read "
          f"{bw['read_gb_s']:.1f} GB/s. Weights: {m['weight_bytes'] / 1e6:.1f} MB float32 "
          f"(SSMC, onnxruntime, IREE), {gguf} (llama.cpp); state "
          f"{m['state_bytes_per_seq'] / 1e6:.2f} MB per sequence. Load average (1 min) at "
          f"start {res['loadavg_start'][0]:.2f}, at end {res['loadavg_end'][0]:.2f}: other work "
          f"on the cores slows llama.cpp's spinning threads most.")
    print("Decode bandwidth fraction: weight bytes per step (+ the state read and written) / "
          "step time / the best measured bandwidth.")

    print("\n| engine | path | tokens | logits rel. err vs onnxruntime |")
    print("| --- | --- | --- | --- |")
    for r in res["parity"]:
        print(f"| {r['engine']} | {r['path']} | {r['tokens']} | {fmt(r['rel_err'], '.1e')} |")

    print("\nLast-token logits: SSMC prefill (the generator's prefill entry point) and "
          "llama-bench; every token's logits: SSMC main, llama.cpp all-logits, onnxruntime, "
          "IREE. Each ratio compares like with like.")
    print("\n| batch x seq | SSMC prefill ms | llama.cpp ms | SSMC main ms "
          "| llama.cpp all-logits ms | onnxruntime ms "
          "| IREE ms | SSMC / llama.cpp | SSMC / llama.cpp all-logits | SSMC / onnxruntime "
          "| SSMC / IREE | SSMC err | IREE err |")
    print("| --- " * 13 + "|")
    for r in res["prefill"]:
        print(f"| 1 x {r['seq']} | {fmt(r.get('ssmc_prefill_ms'))} | {fmt(r['llama_ms'])} | "
              f"{fmt(r['ssmc_ms'])} | "
              f"{fmt(r['llama_all_logits_ms'])} | {fmt(r['onnxruntime_ms'])} | "
              f"{fmt(r['iree_ms'])} | {fmt_x(r['speed_vs_llama'])} | "
              f"{fmt_x(r['speed_vs_llama_all_logits'])} | "
              f"{fmt_x(r['speed_vs_onnxruntime'])} | {fmt_x(r['speed_vs_iree'])} | "
              f"{fmt(r['ssmc_rel_err'], '.1e')} | {fmt(r['iree_rel_err'], '.1e')} |")

    print("\n| batch | prompt | steps | SSMC ms/step | llama.cpp ms/step | SSMC / llama.cpp "
          "| SSMC tok/s | llama.cpp tok/s | SSMC BW frac. weights (+ state) "
          "| llama.cpp BW frac. weights (+ state) |")
    print("| --- " * 10 + "|")
    for r in res["decode"]:
        print(f"| {r['batch']} | {r['prompt']} | {r['steps']} | {fmt(r['ssmc_ms_per_step'], '.2f')}"
              f" | {fmt(r['llama_ms_per_step'], '.2f')} | {fmt_x(r['speed_vs_llama'])} | "
              f"{fmt(r['ssmc_tok_s'])} | {fmt(r['llama_tok_s'])} | "
              f"{fmt(r['ssmc_bw_frac'], '.2f')} ({fmt(r['ssmc_bw_frac_with_state'], '.2f')}) | "
              f"{fmt(r['llama_bw_frac'], '.2f')} ({fmt(r['llama_bw_frac_with_state'], '.2f')}) |")
    busy = {k: v for k, v in res.get("idle_waits", {}).items() if v["busy"] >= 0.1}
    if busy:
        print(f"\nTimed on a busy machine (--wait-idle gave up): {busy}")
    if res["errors"]:
        print("\nErrors:")
        for k, v in res["errors"].items():
            print(f"- {k}: {v[:1500]}")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="mamba2-130m,hybrid-1b-shape",
                    help=f"benchmark models, among {', '.join(MODELS)}")
    ap.add_argument("--seq", default="128,512,2048", help="prefill lengths (batch 1)")
    ap.add_argument("--decode-batch", default="1,4,16", help="decode batch sizes")
    ap.add_argument("--decode-steps", type=int, default=32)
    ap.add_argument("--prompt-len", type=int, default=128, help="prompt before decode")
    ap.add_argument("--runs", type=int, default=3, help="timed runs (median) per row")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip", default="", help="peers to skip: llama,iree,ort")
    ap.add_argument("--layers", type=int, help="cut the model to N layers (quick tests)")
    ap.add_argument("--f16", action="store_true", help="f16 matrices in the GGUF")
    ap.add_argument("--parity-len", type=int, default=64,
                    help="prompt of the parity check (then --parity-steps decode steps)")
    ap.add_argument("--parity-steps", type=int, default=8)
    ap.add_argument("--llama-cpp-python", default=LLAMA_CPP_PYTHON,
                    help="version of the llama-cpp-python sdist to build llama.cpp from")
    ap.add_argument("--wait-idle", type=float, default=0, metavar="SECONDS",
                    help="before each timing, wait up to SECONDS for the other processes "
                    "to leave the CPUs idle (a shared machine)")
    ap.add_argument("--json", type=Path, help="write the results here too "
                    "(default bench/.work/cpu_peers/MODEL.json)")
    a = ap.parse_args()
    skip = {s.strip() for s in a.skip.split(",") if s.strip()}
    if skip - {"llama", "iree", "ort"}:
        ap.error(f"unknown peers in --skip: {sorted(skip - {'llama', 'iree', 'ort'})}")
    models = [m.strip() for m in a.models.split(",") if m.strip()]
    if not models or set(models) - set(MODELS):
        ap.error(f"--models: choose among {sorted(MODELS)}")
    if a.json and len(models) > 1:
        ap.error("--json takes one model")
    seqs = [int(s) for s in a.seq.split(",") if s]
    batches = [int(b) for b in a.decode_batch.split(",") if b]
    SCRATCH.mkdir(parents=True, exist_ok=True)
    results = [bench_model(a, model, skip, seqs, batches) for model in models]
    for res in results:
        print_tables(res)


def bench_model(a, model, skip, seqs, batches):
    """Everything for one model: results (also written as JSON)."""
    errors = {}
    off = skip - {"ort"}
    for (peer, m), why in UNSUPPORTED.items():
        if m == model and peer not in off:
            errors[f"{peer}: unsupported"] = why
            off.add(peer)
    peers = Peers(errors, off)
    res = dict(command=" ".join([Path(sys.executable).name] + sys.argv), machine=machine(),
               date=time.strftime("%Y-%m-%d %H:%M"), threads=a.threads, versions=versions(),
               loadavg_start=os.getloadavg(), errors=errors, parity=[], prefill=[], decode=[])

    import onnxruntime as ort
    tag, onnx_path, so_path = make_model(model, a.layers)
    if model == "mamba2-130m":
        w = zoo_mamba2_weights(onnx_path)
        cfg, weight_bytes = w["cfg"], w["weight_bytes"]
    else:
        w = None
        cfg, weight_bytes = zoo_llamba_hybrid_info(onnx_path, a.prompt_len)
    vocab = cfg["vocab"]
    res["model"] = dict(tag=tag, onnx=str(onnx_path), cfg=cfg, weight_bytes=weight_bytes,
                        state_bytes_per_seq=state_bytes(cfg))

    # llama.cpp: build (cached) and GGUF (rewritten when the ONNX file is newer).
    gguf_path = WORK / f"{tag}-{'f16' if a.f16 else 'f32'}.gguf"
    bins = peers("llama", "build", lambda: build_llama(a.llama_cpp_python), fatal=True)
    if bins:
        bins, res["versions"]["llama.cpp build"] = bins

    def make_gguf():
        if stale(gguf_path, onnx_path):
            t = time.time()
            write_gguf(w, gguf_path, a.f16)
            log(f"wrote {gguf_path.name} in {time.time() - t:.1f} s")
        res["model"].update(gguf=str(gguf_path), gguf_bytes=gguf_bytes(gguf_path),
                            gguf_type="f16 matrices" if a.f16 else "f32")
    peers("llama", "GGUF", make_gguf, fatal=True)
    del w

    # IREE: import, compile (cached), load.
    iree = peers("iree", "import/compile/load",
                 lambda: iree_session(*iree_build(onnx_path, tag), a.threads), fatal=True)

    log("measuring memory bandwidth")
    res["bandwidth"] = bw = bandwidth(a.threads)

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = a.threads
    opts.inter_op_num_threads = 1
    session = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
    ort_run = lambda ids: session.run(None, {"input_ids": ids})[0]  # noqa: E731

    # Parity: a prompt, then greedy decode steps (SSMC picks the tokens); every
    # engine's logits of that sequence against onnxruntime's.
    log("parity")
    P, K = a.parity_len, a.parity_steps
    prompt = np.random.default_rng(1).integers(0, vocab, (1, P)).astype(np.int64)
    np.save(SCRATCH / "parity_prompt.npy", prompt)
    gen_dir = SCRATCH / "parity_generate"
    run([tool("ssm-run"), so_path, "--generate", K, "--input",
         f"input_ids={SCRATCH / 'parity_prompt.npy'}", "--output-dir", gen_dir])
    toks = np.load(gen_dir / "tokens.npy")[:, :P + K].astype(np.int64)
    want = ort_run(toks)
    got = np.load(gen_dir / "logits.npy")
    parity = res["parity"]
    # prefill returns the last prompt token's logits (ssmc's default
    # --prefill-logits=last), or every prompt token's.
    first = 0 if got.shape[1] == P + K else P - 1
    parity.append(dict(engine="SSMC", path="prefill (generate)", tokens=f"{first}..{P - 1}",
                       rel_err=rel_err(got[:, :P - first], want[:, first:P])))
    parity.append(dict(engine="SSMC", path="decode", tokens=f"{P}..{P + K - 1}",
                       rel_err=rel_err(got[:, P - first:], want[:, P:])))
    lg = peers("llama", "logits", lambda: llama_logits(bins, gguf_path, toks[0], a.threads, P))
    if lg is not None:
        parity.append(dict(engine="llama.cpp", path="prefill", tokens=f"0..{P - 1}",
                           rel_err=rel_err(lg[:P], want[0, :P])))
        parity.append(dict(engine="llama.cpp", path="decode", tokens=f"{P}..{P + K - 1}",
                           rel_err=rel_err(lg[P:], want[0, P:])))
    out = peers("iree", "parity run", lambda: iree(toks))
    if out is not None:
        parity.append(dict(engine="IREE", path="prefill", tokens=f"0..{P + K - 1}",
                           rel_err=rel_err(out, want)))
    for r in parity:
        log(json.dumps(r))

    # Prefill, batch 1.
    idle = res["idle_waits"] = {}
    quiet = lambda what: wait_idle(a.wait_idle, what, idle)  # noqa: E731
    quiet("llama.cpp prefill")
    llama_pf, info = peers("llama", "llama-bench prefill",
                           lambda: llama_prefill(bins, gguf_path, seqs, a.threads, a.runs)) \
        or ({}, {})
    res["versions"]["llama-bench"] = info
    for seq in seqs:
        log(f"prefill {seq}")
        ids = np.random.default_rng(seq).integers(0, vocab, (1, seq)).astype(np.int64)
        ids_path = SCRATCH / f"ids_{seq}.npy"
        np.save(ids_path, ids)
        want = ort_run(ids)
        row = dict(batch=1, seq=seq)
        got = ssmc_logits(so_path, ids_path, SCRATCH / f"out_{seq}")
        row["ssmc_rel_err"] = rel_err(got, want)
        got = peers("iree", f"prefill {seq}", lambda: iree(ids))
        row["iree_rel_err"] = None if got is None else rel_err(got, want)
        del want, got
        quiet(f"prefill {seq}")
        row["ssmc_ms"] = ssmc_prefill(so_path, ids_path, a.runs, a.threads)
        # The prefill entry point (a generator's first call: the last
        # token's logits, as llama-bench computes), one warm-up run.
        row["ssmc_prefill_ms"] = ssmc_generate(so_path, 0, seq, 1, vocab, a.threads,
                                               max(a.runs, 2))["prefill_ms"]
        row["onnxruntime_ms"] = None if "ort" in skip else timed_median(lambda: ort_run(ids),
                                                                        a.runs)
        row["iree_ms"] = None if row["iree_rel_err"] is None else \
            peers("iree", f"prefill {seq}", lambda: timed_median(lambda: iree(ids), a.runs))
        row["llama_ms"] = llama_pf.get(seq)
        row["llama_all_logits_ms"] = peers(
            "llama", f"all-logits prefill {seq}",
            lambda: llama_all_logits_prefill(bins, gguf_path, ids[0], a.threads, a.runs))
        # Last-token logits against last-token logits, every token's logits
        # against every token's.
        row["speed_vs_llama"] = ratio(row["llama_ms"], row["ssmc_prefill_ms"])
        for peer, key in (("llama_all_logits", "llama_all_logits_ms"),
                          ("onnxruntime", "onnxruntime_ms"), ("iree", "iree_ms")):
            row[f"speed_vs_{peer}"] = ratio(row[key], row["ssmc_ms"])
        row.update({f"{k}_tok_s": seq / row[f"{k}_ms"] * 1e3 if row[f"{k}_ms"] else None
                    for k in ("ssmc", "ssmc_prefill", "llama", "onnxruntime", "iree")})
        res["prefill"].append(row)
        log(json.dumps(row))

    # Decode: a --prompt-len prompt per sequence, then --decode-steps steps.
    log("decode")
    quiet("llama.cpp decode")
    llama_dec = peers("llama", "llama-batched-bench decode",
                      lambda: llama_decode(bins, gguf_path, batches, a.prompt_len,
                                           a.decode_steps, a.threads, a.runs)) or {}
    w_bytes, g_bytes = res["model"]["weight_bytes"], res["model"].get("gguf_bytes")
    state = res["model"]["state_bytes_per_seq"]

    def frac(nbytes, ms):
        """Fraction of the measured bandwidth: nbytes moved per step of ms."""
        return None if ms is None or nbytes is None else \
            nbytes / (ms / 1e3) / (bw["best_gb_s"] * 1e9)

    for b in batches:
        quiet(f"decode {b}")
        g = ssmc_generate(so_path, a.decode_steps, a.prompt_len, b, vocab, a.threads,
                          max(a.runs, 2))
        ssmc_ms, llama_ms = g["decode_ms_per_step"], llama_dec.get(b)
        rw_state = 2 * b * state  # each sequence's state read and written once per step
        row = dict(batch=b, prompt=a.prompt_len, steps=a.decode_steps,
                   ssmc_ms_per_step=ssmc_ms, llama_ms_per_step=llama_ms,
                   speed_vs_llama=ratio(llama_ms, ssmc_ms), ssmc_tok_s=b / ssmc_ms * 1e3,
                   llama_tok_s=None if llama_ms is None else b / llama_ms * 1e3,
                   ssmc_ttft_ms=g["ttft_ms"], ssmc_state_bytes=g.get("state_bytes"),
                   ssmc_bw_frac=frac(w_bytes, ssmc_ms),
                   ssmc_bw_frac_with_state=frac(w_bytes + rw_state, ssmc_ms),
                   llama_bw_frac=frac(g_bytes, llama_ms),
                   llama_bw_frac_with_state=frac(g_bytes and g_bytes + rw_state, llama_ms))
        res["decode"].append(row)
        log(json.dumps(row))

    res["loadavg_end"] = os.getloadavg()
    out = a.json or SCRATCH / f"{tag}.json"
    out.write_text(json.dumps(res, indent=1))
    print(json.dumps(res, indent=1))
    log(f"wrote {out}")
    return res


if __name__ == "__main__":
    main()
