"""SSMC's CUDA target on a GPU: correctness of every zoo model, then timings.

Two halves, because the GPU machine has no MLIR:

  prepare (here, next to the build):
      .venv/bin/python bench/gpu_check.py prepare [--models ...] [--arch sm_90a]
          [--matmul-precision ieee|tf32x3|tf32]
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
    With `prepare --train`, each model is also compiled with `--train` for
    both targets, and check runs loss_grad (the cross-entropy and its
    gradient with respect to every parameter, through the chunked mixers'
    reversed loops) of the CUDA build against the CPU build run on the same
    machine, on fresh token ids and the model's own weights, every output
    compared (the CPU build's gradients are checked against float64 finite
    differences in the test suite; bench/torch_training_check.py checks
    both against PyTorch autograd on Hugging Face exports).
    With `prepare --vulkan`, a model of block reductions (row sums, a
    matrix-vector product, a full sum) is compiled for both targets, and
    check runs it at decode-like sizes against float64 NumPy, the Vulkan
    build with its subgroup kernels and without (SSM_VULKAN_SUBGROUPS=0),
    and times all three. Each zoo model is also compiled with
    `--target=vulkan` (SPIR-V kernels, run by the GPU's Vulkan driver), and
    check runs main and generation of those builds the same way
    (SSM_VULKAN_POISON=1), and times them beside the CUDA builds (decode
    also with SSM_VULKAN_REPLAY=0: every batch of commands recorded afresh
    instead of a recorded command buffer submitted again; main and decode
    also with SSM_VULKAN_BARRIERS=all: a barrier before every command).
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
               "--target=cuda", f"--cuda-arch={args.arch}", "--generation=on",
               f"--matmul-precision={args.matmul_precision}"]
        cmds = [cmd]
        if args.vulkan:
            cmds.append([str(ssmc), str(path), "-o", str(WORK / f"{name}.vk.so"), "-O3",
                         "--target=vulkan", "--generation=on"])
        if args.train:
            from onnx import numpy_helper
            np.savez(WORK / f"{name}.params.npz",
                     **{i.name: numpy_helper.to_array(i) for i in model.graph.initializer})
            cmds.append([str(ssmc), str(path), "-o", str(WORK / f"{name}.train.so"), "-O3",
                         "--target=cuda", f"--cuda-arch={args.arch}", "--train"])
            cmds.append([str(ssmc), str(path), "-o", str(WORK / f"{name}.train.cpu.so"),
                         "--train"])
        for c in cmds:
            r = subprocess.run(c, capture_output=True, text=True)
            print(f"{name}: {'ok' if r.returncode == 0 else 'FAILED'} ({c[3]})", flush=True)
            if r.returncode != 0:
                print(r.stderr[-3000:])
                sys.exit(1)
    if args.vulkan:
        onnx.save(reductions_model(), WORK / "reductions.onnx")
        for target, suffix in (("cuda", ""), ("vulkan", ".vk")):
            c = [str(ssmc), str(WORK / "reductions.onnx"), "-o",
                 str(WORK / f"reductions{suffix}.so"), "-O3", f"--target={target}"]
            if target == "cuda":
                c.append(f"--cuda-arch={args.arch}")
            r = subprocess.run(c, capture_output=True, text=True)
            print(f"reductions: {'ok' if r.returncode == 0 else 'FAILED'} ({target})",
                  flush=True)
            if r.returncode != 0:
                print(r.stderr[-3000:])
                sys.exit(1)
    (WORK / "models.json").write_text(json.dumps({"models": names, "seed": seed,
                                                  "arch": args.arch, "train": args.train,
                                                  "vulkan": args.vulkan}))
    ARCHIVE.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(ARCHIVE, "w:xz") as tar:
        tar.add(WORK, arcname="gpu")
    print(f"packed {ARCHIVE} ({ARCHIVE.stat().st_size / 1e6:.1f} MB)")


def reductions_model():
    """Row sums, a matrix-vector product and a full sum of symbolic sizes:
    few points with many terms each, ssm-linalg-to-gpu's block reductions
    (on Vulkan also their subgroup kernels)."""
    from onnx import TensorProto, helper
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["rows", "cols"])
    v = helper.make_tensor_value_info("v", TensorProto.FLOAT, [1, "k"])
    w = helper.make_tensor_value_info("w", TensorProto.FLOAT, ["n", "k"])
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None)
            for n in ("row_sum", "gemv", "total")]
    axes = helper.make_tensor("axes", TensorProto.INT64, [1], [1])
    nodes = [helper.make_node("ReduceSum", ["x", "axes"], ["row_sum"], keepdims=0),
             helper.make_node("Transpose", ["w"], ["wt"], perm=[1, 0]),
             helper.make_node("MatMul", ["v", "wt"], ["gemv"]),
             helper.make_node("ReduceSum", ["x"], ["total"], keepdims=0)]
    graph = helper.make_graph(nodes, "reductions", [x, v, w], outs, [axes])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def check_reductions(rng, tmp, runs):
    """The block reductions at decode-like sizes (4096 rows of 4096, a
    4096 x 4096 matrix-vector product, a sum of 16.8M elements) against
    float64 NumPy (tolerance 1e-6 of the sum of the terms' magnitudes): the
    CUDA build, the Vulkan build with its subgroup kernels and with
    SSM_VULKAN_SUBGROUPS=0; then each one's median time."""
    inputs = {"x": rng.standard_normal((4096, 4096)).astype(np.float32),
              "v": rng.standard_normal((1, 4096)).astype(np.float32),
              "w": rng.standard_normal((4096, 4096)).astype(np.float32)}
    x, v, w = (inputs[k].astype(np.float64) for k in ("x", "v", "w"))
    want = {"row_sum": (x.sum(1), np.abs(x).sum(1).max()),
            "gemv": (v @ w.T, (np.abs(v) @ np.abs(w).T).max()),
            "total": (np.array(x.sum()), np.abs(x).sum())}
    args = []
    for name, value in inputs.items():
        np.save(tmp / f"{name}.npy", value)
        args += ["--input", f"{name}={tmp / f'{name}.npy'}"]
    rows, ok = [], True
    for label, suffix, env in (("CUDA", "", {}), ("Vulkan, subgroups", ".vk", {}),
                               ("Vulkan, workgroup tree", ".vk",
                                {"SSM_VULKAN_SUBGROUPS": "0"})):
        so = WORK / f"reductions{suffix}.so"
        r = ssm_run(so, *args, "--output-dir", tmp / "red", env=dict(env, SSM_VULKAN_STATS="1"))
        if r.returncode != 0:
            print(f"reductions {label}: exit {r.returncode}: {r.stderr.strip()[-400:]}")
            rows.append((label, "ERROR", None))
            ok = False
            continue
        if suffix:
            print(f"reductions {label}: {r.stderr.strip().splitlines()[-1]}", flush=True)
        errs = [np.abs(np.load(tmp / "red" / f"{n}.npy") - e).max() / scale
                for n, (e, scale) in want.items()]
        err = max(errs) if all(np.isfinite(errs)) else float("nan")
        ok &= err < 1e-6
        b = ssm_run(so, *args, "--bench", runs, "--warmup", 2,
                    env=dict(env, SSM_CUDA_POISON="0", SSM_VULKAN_POISON="0"))
        ms = json.loads(b.stdout)["median_ms"] if b.returncode == 0 else None
        rows.append((label, f"{err:.1e}", ms))
    print("\n| reductions (4096 rows of 4096, 4096x4096 gemv, total) | rel err "
          "| ms (median, inputs on the device) |\n|---|---|---|")
    for label, err, ms in rows:
        print(f"| {label} | {err} | {'-' if ms is None else f'{ms:.3f}'} |")
    return ok


def ssm_run(*args, env=None):
    e = dict(os.environ, LD_LIBRARY_PATH=str(WORK), SSM_CUDA_POISON="1",
             SSM_VULKAN_POISON="1")
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


def check_main(name, rng, tmp, suffix=""):
    so = WORK / f"{name}{suffix}.so"
    batch, length = 2, int(rng.integers(17, 40))
    ids = rng.integers(0, 64, (batch, length)).astype(np.int64)
    np.save(tmp / "ids.npy", ids)
    r = ssm_run(so, "--entry", "main", "--input", f"input_ids={tmp / 'ids.npy'}",
                "--output-dir", tmp / "main")
    if r.returncode != 0:
        return None, f"exit {r.returncode}: {(r.stdout + r.stderr).strip()[-400:]}"
    got = np.load(tmp / "main" / "logits.npy")
    return rel_err(got, reference_logits(name, ids)), f"b{batch} L{length}"


def check_generation(name, rng, tmp, suffix=""):
    so = WORK / f"{name}{suffix}.so"
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


def check_train(name, rng, tmp):
    """loss_grad of the CUDA build against the CPU build's: the worst
    max |cuda - cpu| / max |cpu| over the loss and every gradient."""
    batch, length = 2, int(rng.integers(9, 21))
    ids = rng.integers(0, 64, (batch, length)).astype(np.int64)
    labels = np.concatenate([ids[:, 1:], np.full((batch, 1), -100)], axis=1)
    files = {"input_ids": ids, "labels": labels, "d_loss": np.array(1.0, np.float32)}
    params = np.load(WORK / f"{name}.params.npz")
    sig = ssm_run(WORK / f"{name}.train.so", "--info")
    if sig.returncode != 0:
        return None, sig.stderr.strip()[-400:]
    entry = next(json.loads(line.split(": ", 1)[1]) for line in sig.stdout.splitlines()
                 if line.startswith("entry loss_grad:"))
    args = []
    for i in entry["inputs"]:
        n = i["name"]
        a = files[n] if n in files else params[n].astype(np.float32)
        np.save(tmp / f"in_{len(args) // 2}.npy", a)
        args += ["--input", f"{n}={tmp / f'in_{len(args) // 2}.npy'}"]
    outs = {}
    for target, so in (("cuda", f"{name}.train.so"), ("cpu", f"{name}.train.cpu.so")):
        r = ssm_run(WORK / so, "--entry", "loss_grad", *args, "--output-dir", tmp / target)
        if r.returncode != 0:
            return None, f"{target}: exit {r.returncode}: {(r.stdout + r.stderr).strip()[-400:]}"
        outs[target] = {o["name"]: np.load(tmp / target / f"{o['name']}.npy")
                        for o in entry["outputs"]}
    errs = {n: rel_err(outs["cuda"][n], outs["cpu"][n].astype(np.float64)) for n in outs["cpu"]}
    worst = max(errs, key=lambda n: np.inf if np.isnan(errs[n]) else errs[n])
    return errs[worst], f"b{batch} L{length}, {len(errs) - 1} gradients, worst {worst}"


def timings(name, runs, suffix="", env=None):
    so = WORK / f"{name}{suffix}.so"
    out = {}
    quiet = {"SSM_CUDA_POISON": "0", "SSM_VULKAN_POISON": "0", **(env or {})}
    r = ssm_run(so, "--entry", "main", "--dim", "batch=1", "--dim", "seq=256",
                "--int-max", 64, "--bench", runs, "--warmup", 2, env=quiet)
    out["main_ms"] = json.loads(r.stdout)["median_ms"] if r.returncode == 0 else None
    r = ssm_run(so, "--generate", 32, "--prompt-len", 256, "--batch", 1, "--int-max", 64,
                "--bench", max(3, runs // 4), "--warmup", 1, env=quiet)
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
            checks = [("main", check_main), ("gen", check_generation)]
            if meta.get("train"):
                checks.append(("train", check_train))
            if meta.get("vulkan"):
                checks.append(("vk_main", lambda *a: check_main(*a, suffix=".vk")))
                checks.append(("vk_gen", lambda *a: check_generation(*a, suffix=".vk")))
            for what, fn in checks:
                err, note = fn(name, rng, tmp)
                ok = err is not None and err < TOL
                failed |= not ok
                row[what] = f"{err:.1e}" if err is not None else "ERROR"
                row[what + "_ok"] = ok
                if not ok:
                    print(f"{name} {what}: FAILED ({note})", flush=True)
            if args.bench_runs:
                row.update(timings(name, args.bench_runs))
                if meta.get("vulkan"):
                    row.update({"vk_" + k: v for k, v in
                                timings(name, args.bench_runs, ".vk").items()})
                    # The same with every batch of commands recorded afresh
                    # (no command buffer replayed).
                    row.update({"vk_norec_" + k: v for k, v in
                                timings(name, args.bench_runs, ".vk",
                                        {"SSM_VULKAN_REPLAY": "0"}).items()})
                    # And with a barrier before every command (not only
                    # where a command depends on an earlier one).
                    row.update({"vk_allbar_" + k: v for k, v in
                                timings(name, args.bench_runs, ".vk",
                                        {"SSM_VULKAN_BARRIERS": "all"}).items()})
            rows.append(row)
            print(json.dumps(row), flush=True)
    if meta.get("vulkan") and (WORK / "reductions.vk.so").exists():
        with tempfile.TemporaryDirectory() as d:
            failed |= not check_reductions(rng, Path(d), args.bench_runs)
    fmt = lambda v, f: "-" if v is None else format(v, f)
    train = bool(meta.get("train"))
    print("\n| model | main rel err | prefill+decode rel err "
          + ("| loss_grad rel err (vs CPU) " if train else "")
          + "| main b1 L256 ms | prefill tok/s | decode tok/s |")
    print("|---|---|---|---|---|---|" + ("---|" if train else ""))
    for r in rows:
        tr = f"| {r['train']}{'' if r['train_ok'] else ' FAIL'} " if train else ""
        print(f"| {r['model']} | {r['main']}{'' if r['main_ok'] else ' FAIL'} "
              f"| {r['gen']}{'' if r['gen_ok'] else ' FAIL'} {tr}"
              f"| {fmt(r.get('main_ms'), '.2f')} | {fmt(r.get('prefill_tps'), '.0f')} "
              f"| {fmt(r.get('decode_tps'), '.1f')} |")
    if meta.get("vulkan"):
        print("\n| model | Vulkan main rel err | Vulkan prefill+decode rel err "
              "| main b1 L256 ms: CUDA | Vulkan | Vulkan / CUDA time "
              "| decode tok/s: CUDA | Vulkan | Vulkan, recorded each step "
              "| Vulkan, all barriers | main ms: Vulkan, all barriers |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            ratio = (f"{r['vk_main_ms'] / r['main_ms']:.2f}"
                     if r.get("vk_main_ms") and r.get("main_ms") else "-")
            print(f"| {r['model']} | {r['vk_main']}{'' if r['vk_main_ok'] else ' FAIL'} "
                  f"| {r['vk_gen']}{'' if r['vk_gen_ok'] else ' FAIL'} "
                  f"| {fmt(r.get('main_ms'), '.2f')} | {fmt(r.get('vk_main_ms'), '.2f')} "
                  f"| {ratio} | {fmt(r.get('decode_tps'), '.0f')} "
                  f"| {fmt(r.get('vk_decode_tps'), '.0f')} "
                  f"| {fmt(r.get('vk_norec_decode_tps'), '.0f')} "
                  f"| {fmt(r.get('vk_allbar_decode_tps'), '.0f')} "
                  f"| {fmt(r.get('vk_allbar_main_ms'), '.2f')} |")
    sys.exit(1 if failed else 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--models", nargs="*")
    p.add_argument("--arch", default="sm_90a")
    p.add_argument("--matmul-precision", default="ieee",
                   help="ssmc's --matmul-precision for the CUDA builds (ieee, tf32x3, tf32)")
    p.add_argument("--vulkan", action="store_true",
                   help="also compile --target=vulkan builds, checked and timed beside CUDA")
    p.add_argument("--train", action="store_true",
                   help="also compile --train builds (CUDA and CPU) for the loss_grad check")
    c = sub.add_parser("check")
    c.add_argument("--models", nargs="*")
    c.add_argument("--bench-runs", type=int, default=10)
    args = ap.parse_args()
    prepare(args) if args.cmd == "prepare" else check(args)


if __name__ == "__main__":
    main()
