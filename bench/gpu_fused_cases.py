"""The fused attention and SSD kernels of the CUDA target on every case of
test/python/fused_cases.py (the Vulkan target's lavapipe tests run the same
cases in CI), at each --matmul-precision.

  prepare (here, next to the build):
      .venv/bin/python bench/gpu_fused_cases.py prepare
    compiles each case with `ssmc --target=cuda --cuda-arch=sm_90a` and
    --matmul-precision tf32x3 (tensor cores, each operand split into two
    TF32 parts), tf32 (tensor cores, operands rounded to TF32) and ieee (the
    SIMT kernels; the default) and packs the builds with ssm-run into
    bench/.work/carry/fusedcases.tar.xz.

  check (on the GPU machine; bench/.work/carry carried):
      python3 bench/gpu_fused_cases.py check
    makes each case's fresh random inputs and float64 reference (the
    attention output, or y and the final state; from SEMANTICS.md through
    test/python/reference.py, on the CPU there), runs every build through ssm-run with poisoned device
    buffers and compares every element: max |got - want| / max |want| below 1e-5 for
    tf32x3 and ieee, below 5e-3 for tf32 (operands rounded to 11 bits).
    Prints one table; exits 1 when a case fails.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / ".work" / "fusedcases"
CARRY = ROOT / "bench" / ".work" / "carry"
ARCHIVE = CARRY / "fusedcases.tar.xz"
PRECISIONS = {"tf32x3": 1e-5, "tf32": 5e-3, "ieee": 1e-5}


sys.path.insert(0, str(ROOT / "test" / "python"))


def cases():
    """(directory name, maker of (source, inputs, wants, fused)) per case."""
    from fused_cases import (FUSED_ATTENTION_CASES, FUSED_SSD_CASES, fused_attention_case,
                             fused_ssd_case)
    return ([(f"attention_{n}", lambda rng, n=n: fused_attention_case(n, rng))
             for n in sorted(FUSED_ATTENTION_CASES)] +
            [(f"ssd_{n}", lambda rng, n=n: fused_ssd_case(n, rng)) for n in sorted(FUSED_SSD_CASES)])


def prepare(args):
    if WORK.exists():
        shutil.rmtree(WORK)
    WORK.mkdir(parents=True)
    ssmc = ROOT / "build" / "bin" / "ssmc"
    shutil.copy2(ROOT / "build" / "bin" / "ssm-run", WORK / "ssm-run")
    shutil.copy2(ROOT / "build" / "lib" / "libssmrt.so", WORK / "libssmrt.so")
    rng = np.random.default_rng()
    for name, make in cases():
        source, _, _, _ = make(rng)  # the source has sizes only
        case = WORK / name
        case.mkdir()
        (case / "model.mlir").write_text(source)
        for precision in PRECISIONS:
            r = subprocess.run([str(ssmc), str(case / "model.mlir"), "--target=cuda",
                                "--cuda-arch=sm_90a", f"--matmul-precision={precision}",
                                "-o", str(case / f"{precision}.so")],
                               capture_output=True, text=True)
            if r.returncode != 0:
                sys.exit(f"{name} ({precision}): {r.stderr}")
        print(f"{name}: ok", flush=True)
    CARRY.mkdir(parents=True, exist_ok=True)
    with tarfile.open(ARCHIVE, "w:xz") as tar:
        tar.add(WORK, arcname="fusedcases")
    print(f"packed {ARCHIVE} ({ARCHIVE.stat().st_size / 1e6:.1f} MB)")


def check(args):
    makers = dict(cases())
    if not WORK.exists():
        with tarfile.open(ARCHIVE) as tar:
            tar.extractall(WORK.parent, filter="tar")
    env = dict(os.environ, LD_LIBRARY_PATH=str(WORK), SSM_CUDA_POISON="1")
    failed = False
    rng = np.random.default_rng()
    print("| case | " + " | ".join(PRECISIONS) + " |")
    print("|---|" + "---|" * len(PRECISIONS))
    for case in sorted(p for p in WORK.iterdir() if p.is_dir()):
        _, inputs, wants, _ = makers[case.name](rng)
        flags = []
        for key, a in inputs.items():
            np.save(case / f"{key}.npy", a)
            flags += ["--input", f"{key}={case / f'{key}.npy'}"]
        cells = []
        for precision, tol in PRECISIONS.items():
            with tempfile.TemporaryDirectory() as out:
                r = subprocess.run([str(WORK / "ssm-run"), str(case / f"{precision}.so"),
                                    *flags, "--output-dir", out],
                                   capture_output=True, text=True, env=env)
                if r.returncode != 0:
                    cells.append("error")
                    print(f"{case.name} ({precision}): {(r.stdout + r.stderr)[-800:]}",
                          file=sys.stderr)
                    failed = True
                    continue
                err = 0.0
                for i, w in enumerate(wants):
                    got = np.load(Path(out) / f"result{i}.npy").astype(np.float64)
                    e = (float(np.abs(got - w).max() / np.abs(w).max())
                         if got.shape == w.shape and np.isfinite(got).all() else float("inf"))
                    err = max(err, e)
            ok = err <= tol
            failed |= not ok
            cells.append(f"{err:.1e}" + ("" if ok else " FAIL"))
        print(f"| {case.name} | " + " | ".join(cells) + " |", flush=True)
    sys.exit(1 if failed else 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("prepare")
    sub.add_parser("check")
    args = ap.parse_args()
    {"prepare": prepare, "check": check}[args.cmd](args)


if __name__ == "__main__":
    main()
