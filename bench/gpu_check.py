"""SSMC's CUDA target on a GPU: correctness of every zoo model, then timings.

Two halves, because the GPU machine has no MLIR:

  prepare (here, next to the build):
      .venv/bin/python bench/gpu_check.py prepare [--models ...] [--arch sm_90a]
    writes each zoo model (tiny, fresh seed) as ONNX and compiles it with
    `ssmc --target=cuda --generation=on` into bench/.work/gpu/, with
    ssm-run and libssmrt.so beside them, and packs that folder into
    bench/.work/carry/gpu.tar.xz (a tenth of the size: carry that).

  check (on the GPU machine, from the repository root; bench/.work/carry
  carried, unpacked when bench/.work/gpu is absent):
      python3 bench/gpu_check.py check [--bench-runs N]
    For each model, on fresh random token ids:
      - main: the whole sequence, every element of the logits against the
        reference;
      - generation: prefill of a prompt then greedy decode steps (ssm-run
        --generate), each returned row against the reference's logits at that
        position of the tokens fed.
    Device buffers are poisoned (SSM_CUDA_POISON=1: NaN bytes), so an element
    no kernel writes fails the check. The reference is independent of SSMC:
    onnxruntime (CPU) for models in standard ONNX ops, the float64 NumPy
    evaluator of test/python/onnx_reference.py (written from SEMANTICS.md)
    for those with ai.ssmc ops. Tolerance: max |got - want| / max |want| <
    1e-4 (float32 everywhere).
    Then timings of main (ssm-run --bench: median of host wall times; a
    device model's inputs and state stay on the device between runs) and of
    generation (prefill and decode tokens per second), and one table.

Exit status 1 when any check fails.
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
WORK = ROOT / "bench" / ".work" / "gpu"
ARCHIVE = ROOT / "bench" / ".work" / "carry" / "gpu.tar.xz"
TOL = 1e-4


def prepare(args):
    sys.path.insert(0, str(ROOT / "examples"))
    import onnx
    import zoo
    WORK.mkdir(parents=True, exist_ok=True)
    ssmc = ROOT / "build" / "bin" / "ssmc"
    shutil.copy2(ROOT / "build" / "bin" / "ssm-run", WORK / "ssm-run")
    shutil.copy2(ROOT / "build" / "lib" / "libssmrt.so", WORK / "libssmrt.so")
    seed = int(np.random.default_rng().integers(1 << 30))
    names = args.models or list(zoo.MODELS)
    for name in names:
        model = zoo.build(name, seed=seed)
        path = WORK / f"{name}.onnx"
        onnx.save(model, path)
        cmd = [str(ssmc), str(path), "-o", str(WORK / f"{name}.so"), "-O3",
               "--target=cuda", f"--cuda-arch={args.arch}", "--generation=on"]
        r = subprocess.run(cmd, capture_output=True, text=True)
        print(f"{name}: {'ok' if r.returncode == 0 else 'FAILED'}", flush=True)
        if r.returncode != 0:
            print(r.stderr[-3000:])
            sys.exit(1)
    (WORK / "models.json").write_text(json.dumps({"models": names, "seed": seed,
                                                  "arch": args.arch}))
    ARCHIVE.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(ARCHIVE, "w:xz") as tar:
        tar.add(WORK, arcname="gpu")
    print(f"packed {ARCHIVE} ({ARCHIVE.stat().st_size / 1e6:.1f} MB)")


def ssm_run(*args, env=None):
    e = dict(os.environ, LD_LIBRARY_PATH=str(WORK), SSM_CUDA_POISON="1")
    e.update(env or {})
    return subprocess.run([str(WORK / "ssm-run"), *map(str, args)], capture_output=True,
                          text=True, env=e)


def reference_logits(name, tokens):
    import onnx
    path = WORK / f"{name}.onnx"
    model = onnx.load(path)
    # ai.ssmc ops, and the opset-27 state-space ops that onnxruntime does not
    # load yet: the float64 evaluator.
    if any(o.domain == "ai.ssmc" or (o.domain in ("", "ai.onnx") and o.version > 26)
           for o in model.opset_import):
        sys.path.insert(0, str(ROOT / "test" / "python"))
        from onnx_reference import float64_outputs
        return float64_outputs(model, {"input_ids": tokens})["logits"]
    import onnxruntime as ort
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["logits"], {"input_ids": tokens})[0].astype(np.float64)


def rel_err(got, want):
    if not np.isfinite(got).all():
        return float("nan")
    return float(np.abs(got.astype(np.float64) - want).max() / np.abs(want).max())


def check_main(name, rng, tmp):
    so = WORK / f"{name}.so"
    batch, length = 2, int(rng.integers(17, 40))
    ids = rng.integers(0, 64, (batch, length)).astype(np.int64)
    np.save(tmp / "ids.npy", ids)
    r = ssm_run(so, "--entry", "main", "--input", f"input_ids={tmp / 'ids.npy'}",
                "--output-dir", tmp / "main")
    if r.returncode != 0:
        return None, f"exit {r.returncode}: {(r.stdout + r.stderr).strip()[-400:]}"
    got = np.load(tmp / "main" / "logits.npy")
    return rel_err(got, reference_logits(name, ids)), f"b{batch} L{length}"


def check_generation(name, rng, tmp):
    so = WORK / f"{name}.so"
    batch, length, steps = 2, int(rng.integers(5, 14)), 6
    r = ssm_run(so, "--generate", steps, "--prompt-len", length, "--batch", batch,
                "--seed", int(rng.integers(1 << 30)), "--int-max", 64,
                "--output-dir", tmp / "gen")
    if r.returncode != 0:
        return None, f"exit {r.returncode}: {(r.stdout + r.stderr).strip()[-400:]}"
    tokens = np.load(tmp / "gen" / "tokens.npy")
    logits = np.load(tmp / "gen" / "logits.npy")
    rows = [length - 1] + list(range(length, length + steps))
    if logits.shape[:2] != (batch, len(rows)):
        return None, f"logits shape {logits.shape}"
    if not np.array_equal(tokens[:, length:], logits.argmax(-1)):
        return None, "generated tokens are not the argmax of the logits"
    want = reference_logits(name, tokens[:, :length + steps])[:, rows]
    return rel_err(logits, want), f"b{batch} prompt {length} + {steps} steps"


def timings(name, runs):
    so = WORK / f"{name}.so"
    out = {}
    r = ssm_run(so, "--entry", "main", "--dim", "batch=1", "--dim", "seq=256",
                "--int-max", 64, "--bench", runs, "--warmup", 2, env={"SSM_CUDA_POISON": "0"})
    out["main_ms"] = json.loads(r.stdout)["median_ms"] if r.returncode == 0 else None
    r = ssm_run(so, "--generate", 32, "--prompt-len", 256, "--batch", 1, "--int-max", 64,
                "--bench", max(3, runs // 4), "--warmup", 1, env={"SSM_CUDA_POISON": "0"})
    if r.returncode == 0:
        rep = json.loads(r.stdout)
        out["prefill_tps"] = rep.get("prefill_tokens_per_s")
        out["decode_tps"] = rep.get("decode_tokens_per_s")
    return out


def check(args):
    import tempfile
    if not (WORK / "models.json").exists():
        with tarfile.open(ARCHIVE) as tar:
            tar.extractall(WORK.parent, filter="tar")
    meta = json.loads((WORK / "models.json").read_text())
    names = args.models or meta["models"]
    rng = np.random.default_rng()
    gpu = "no nvidia-smi"
    if shutil.which("nvidia-smi"):
        gpu = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version",
                              "--format=csv,noheader"], capture_output=True, text=True).stdout
    print(f"GPU: {gpu.strip()}; models compiled for {meta['arch']}", flush=True)
    rows, failed = [], False
    for name in names:
        with tempfile.TemporaryDirectory() as d:
            tmp = Path(d)
            row = {"model": name}
            for what, fn in (("main", check_main), ("gen", check_generation)):
                err, note = fn(name, rng, tmp)
                ok = err is not None and err < TOL
                failed |= not ok
                row[what] = f"{err:.1e}" if err is not None else "ERROR"
                row[what + "_ok"] = ok
                if not ok:
                    print(f"{name} {what}: FAILED ({note})", flush=True)
            if args.bench_runs:
                row.update(timings(name, args.bench_runs))
            rows.append(row)
            print(json.dumps(row), flush=True)
    fmt = lambda v, f: "-" if v is None else format(v, f)
    print("\n| model | main rel err | prefill+decode rel err | main b1 L256 ms "
          "| prefill tok/s | decode tok/s |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['main']}{'' if r['main_ok'] else ' FAIL'} "
              f"| {r['gen']}{'' if r['gen_ok'] else ' FAIL'} "
              f"| {fmt(r.get('main_ms'), '.2f')} | {fmt(r.get('prefill_tps'), '.0f')} "
              f"| {fmt(r.get('decode_tps'), '.1f')} |")
    sys.exit(1 if failed else 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--models", nargs="*")
    p.add_argument("--arch", default="sm_90a")
    c = sub.add_parser("check")
    c.add_argument("--models", nargs="*")
    c.add_argument("--bench-runs", type=int, default=10)
    args = ap.parse_args()
    prepare(args) if args.cmd == "prepare" else check(args)


if __name__ == "__main__":
    main()
