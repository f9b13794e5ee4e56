"""SSMC's CUDA and Vulkan builds beside llama.cpp's Vulkan build, on the GPU,
on the same weights.

Two halves, because the GPU machine has no MLIR:

  prepare (here, next to the build):
      .venv/bin/python bench/gpu_llama_cpp.py prepare --debs DIR [--arch sm_90a]
    builds two zoo models with fresh random weights: `llama` (tiny) and
    `mamba2` at d_state 128 and head dim 64 (the sizes llama.cpp's Vulkan
    SSM_SCAN takes; the tiny zoo mamba2's d_state 16 would send its scan to
    the CPU), compiles each with `ssmc --generation=on` for CUDA and for
    Vulkan, converts each to GGUF (float32 and float16 matrices, with
    bench/zoo_gguf.py: needs `pip install gguf`), and packs them with ssm-run,
    libssmrt.so and the .deb files in DIR into
    bench/.work/carry/llcpp.tar.xz. DIR holds a llama.cpp with the Vulkan
    backend as Debian packages (from Debian sid: llama.cpp-tools,
    llama.cpp-examples, libllama0, libggml0, libggml0-backend-vulkan, and
    sid's libc6, libstdc++6, libgcc-s1, libgomp1, libssl3t64, libvulkan1,
    because they need glibc 2.43; `apt-get download` them with a sources
    list naming sid). Nothing is built from source.

  check (on the GPU machine, from the repository root, bench/.work/carry
  carried; the Vulkan loader installed as the device README says):
      python3 bench/gpu_llama_cpp.py check [--runs 5]
    For each model:
      - the same computation: greedy tokens of llama.cpp (llama-simple, all
        layers on the GPU, float32 GGUF) from a random prompt equal SSMC's
        (ssm-run --generate) for both builds;
      - timings: prompt processing of 256 tokens (SSMC: ssm-run --entry main
        at batch 1, length 256, median of --runs; llama.cpp: llama-bench pp256,
        its mean) and decode at depth 256 (SSMC: ssm-run --generate 32 after a
        256-token prompt, median tokens/s; with SSM_VULKAN_REPLAY=0 too;
        llama.cpp: llama-bench tg32 at depth 256 (-d 256)), llama.cpp with
        float32 and with float16 matrices;
    and one table. Exit status 1 when tokens differ or a tool fails.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / ".work" / "llcpp"
ARCHIVE = ROOT / "bench" / ".work" / "carry" / "llcpp.tar.xz"
MODELS = ("llama", "mamba2")


def prepare(args):
    sys.path.insert(0, str(ROOT / "examples"))
    import onnx
    import zoo
    if WORK.exists():
        shutil.rmtree(WORK)
    (WORK / "debs").mkdir(parents=True)
    debs = sorted(Path(args.debs).glob("*.deb"))
    if not any(d.name.startswith("llama.cpp-tools") for d in debs):
        sys.exit(f"{args.debs}: no llama.cpp-tools .deb")
    for d in debs:
        shutil.copy2(d, WORK / "debs" / d.name)
    shutil.copy2(ROOT / "build" / "bin" / "ssm-run", WORK / "ssm-run")
    shutil.copy2(ROOT / "build" / "lib" / "libssmrt.so", WORK / "libssmrt.so")
    zoo.SIZES["bench"] = dict(zoo.SIZES["tiny"], state=128, head_dim=64)
    seed = int(np.random.default_rng().integers(1 << 30))
    ssmc = ROOT / "build" / "bin" / "ssmc"
    for name in MODELS:
        model = zoo.build(name, size="tiny" if name == "llama" else "bench", seed=seed)
        path = WORK / f"{name}.onnx"
        onnx.save(model, path)
        for target, suffix in (("cuda", ""), ("vulkan", ".vk")):
            cmd = [str(ssmc), str(path), "-o", str(WORK / f"{name}{suffix}.so"), "-O3",
                   f"--target={target}", "--generation=on"]
            if target == "cuda":
                cmd.append(f"--cuda-arch={args.arch}")
            subprocess.run(cmd, check=True)
        for f16 in (False, True):
            out = WORK / f"{name}.{'f16' if f16 else 'f32'}.gguf"
            subprocess.run([sys.executable, str(ROOT / "bench" / "zoo_gguf.py"), str(path),
                            str(out), "--arch", name] + (["--f16"] if f16 else []),
                           check=True)
        print(f"{name}: ok", flush=True)
    (WORK / "meta.json").write_text(json.dumps({"arch": args.arch, "seed": seed}))
    ARCHIVE.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(ARCHIVE, "w:xz") as tar:
        tar.add(WORK, arcname="llcpp")
    print(f"packed {ARCHIVE} ({ARCHIVE.stat().st_size / 1e6:.1f} MB)")


def ssm_run(*args, env=None):
    e = dict(os.environ, LD_LIBRARY_PATH=str(WORK))
    e.update(env or {})
    return subprocess.run([str(WORK / "ssm-run"), *map(str, args)], capture_output=True,
                          text=True, env=e)


class LlamaCpp:
    """The sid llama.cpp, run through sid's dynamic loader."""

    def __init__(self):
        sid = WORK / "sid"
        if not sid.exists():
            for d in sorted((WORK / "debs").glob("*.deb")):
                subprocess.run(["dpkg", "-x", str(d), str(sid)], check=True)
        lib = sid / "usr" / "lib" / "x86_64-linux-gnu"
        # The backends' directory is compiled in.
        backends = Path("/usr/lib/x86_64-linux-gnu/ggml/backends0")
        backends.parent.mkdir(parents=True, exist_ok=True)
        if backends.is_symlink() or not backends.exists():
            backends.unlink(missing_ok=True)
            backends.symlink_to(lib / "ggml" / "backends0")
        self.prefix = [str(lib / "ld-linux-x86-64.so.2"), "--library-path",
                       f"{lib}:{lib / 'llama'}"]
        self.bin = sid / "usr" / "bin"

    def run(self, tool, *args, timeout=600):
        return subprocess.run(self.prefix + [str(self.bin / tool), *map(str, args)],
                              capture_output=True, text=True, timeout=timeout)


def text(ids):
    return "".join(f" t{int(i)}" for i in ids)


def check_tokens(ll, name, rng, tmp):
    """SSMC's greedy tokens (both builds) against llama-simple's on the GPU."""
    length, steps = 16, 8
    seed = int(rng.integers(1 << 30))
    got = {}
    for suffix in ("", ".vk"):
        r = ssm_run(WORK / f"{name}{suffix}.so", "--generate", steps, "--prompt-len", length,
                    "--batch", 1, "--seed", seed, "--int-max", 128,
                    "--output-dir", tmp / f"gen{suffix}")
        if r.returncode != 0:
            return f"ssm-run{suffix}: {(r.stdout + r.stderr).strip()[-300:]}"
        got[suffix] = np.load(tmp / f"gen{suffix}" / "tokens.npy")[0]
    if not np.array_equal(got[""], got[".vk"]):
        return f"CUDA {got[''].tolist()} != Vulkan {got['.vk'].tolist()}"
    prompt, want = got[""][:length], got[""][length:]
    r = ll.run("llama-simple", "-m", WORK / f"{name}.f32.gguf", "-n", len(want), "-ngl", 99,
               text(prompt))
    out = r.stdout
    if r.returncode != 0 or text(prompt) not in out:
        return f"llama-simple: exit {r.returncode}: {(r.stdout + r.stderr).strip()[-300:]}"
    generated = out[out.index(text(prompt)) + len(text(prompt)):].split()
    ids = [int(t[1:]) for t in generated if t.startswith("t") and t[1:].isdigit()]
    if ids[:len(want)] != want.tolist():
        return f"llama.cpp {ids[:len(want)]} != SSMC {want.tolist()}"
    return None


def ssmc_timings(name, suffix, runs, env=None):
    so = WORK / f"{name}{suffix}.so"
    out = {}
    r = ssm_run(so, "--entry", "main", "--dim", "batch=1", "--dim", "seq=256",
                "--int-max", 128, "--bench", runs, "--warmup", 2, env=env)
    if r.returncode == 0:
        out["pp_tps"] = 256 / (json.loads(r.stdout)["median_ms"] / 1e3)
    r = ssm_run(so, "--generate", 32, "--prompt-len", 256, "--batch", 1, "--int-max", 128,
                "--bench", runs, "--warmup", 1, env=env)
    if r.returncode == 0:
        out["tg_tps"] = json.loads(r.stdout).get("decode_tokens_per_s")
    return out


def llama_timings(ll, gguf, runs):
    out = {}
    r = ll.run("llama-bench", "-m", gguf, "-ngl", 99, "-p", 256, "-n", 0, "-r", runs,
               "-o", "json")
    if r.returncode == 0:
        out["pp_tps"] = json.loads(r.stdout)[0]["avg_ts"]
    r = ll.run("llama-bench", "-m", gguf, "-ngl", 99, "-p", 0, "-n", 32, "-d", 256,
               "-r", runs, "-o", "json")
    if r.returncode == 0:
        out["tg_tps"] = json.loads(r.stdout)[0]["avg_ts"]
    else:
        print(f"llama-bench {gguf.name}: {r.stderr.strip()[-400:]}", flush=True)
    return out


def check(args):
    import tempfile
    if not (WORK / "meta.json").exists():
        with tarfile.open(ARCHIVE) as tar:
            tar.extractall(WORK.parent, filter="tar")
    ll = LlamaCpp()
    r = ll.run("llama-bench", "--list-devices")
    print("llama.cpp devices:", (r.stdout + r.stderr).strip()[-300:], flush=True)
    rng = np.random.default_rng()
    rows, failed = [], False
    for name in MODELS:
        row = {"model": name}
        with tempfile.TemporaryDirectory() as d:
            problem = check_tokens(ll, name, rng, Path(d))
        row["tokens"] = "equal" if problem is None else "DIFFER"
        if problem:
            failed = True
            print(f"{name} tokens: {problem}", flush=True)
        row.update({"cuda_" + k: v for k, v in ssmc_timings(name, "", args.runs).items()})
        row.update({"vk_" + k: v for k, v in ssmc_timings(name, ".vk", args.runs).items()})
        row.update({"vknorec_" + k: v for k, v in
                    ssmc_timings(name, ".vk", args.runs, {"SSM_VULKAN_REPLAY": "0"}).items()})
        for prec in ("f32", "f16"):
            row.update({f"ll{prec}_" + k: v for k, v in
                        llama_timings(ll, WORK / f"{name}.{prec}.gguf", args.runs).items()})
        rows.append(row)
        print(json.dumps(row), flush=True)
    fmt = lambda v: "-" if v is None else f"{v:.0f}"
    cols = [("cuda", "SSMC CUDA"), ("vk", "SSMC Vulkan"),
            ("vknorec", "SSMC Vulkan, no replay"), ("llf32", "llama.cpp Vulkan f32"),
            ("llf16", "llama.cpp Vulkan f16")]
    for metric, title in (("pp_tps", "prompt 256 tokens/s"),
                          ("tg_tps", "decode tokens/s at depth 256")):
        print(f"\n| model ({title}) | " + " | ".join(c[1] for c in cols) + " |")
        print("|---|" + "---|" * len(cols))
        for r in rows:
            print(f"| {r['model']} | " + " | ".join(fmt(r.get(f"{c[0]}_{metric}"))
                                                  for c in cols) + " |")
    print("\ntokens (llama.cpp f32 vs SSMC CUDA and Vulkan, greedy): "
          + ", ".join(f"{r['model']} {r['tokens']}" for r in rows))
    sys.exit(1 if failed else 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--debs", required=True, help="folder of the llama.cpp .deb files")
    p.add_argument("--arch", default="sm_90a")
    c = sub.add_parser("check")
    c.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    prepare(args) if args.cmd == "prepare" else check(args)


if __name__ == "__main__":
    main()
