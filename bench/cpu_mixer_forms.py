"""Chunked vs quadratic form of one SSD mixer on CPU (an ablation of the
chunking pass, not a peer comparison).

One `ssm.ssd` op with the mamba2-130m layer shapes (24 heads, head size 64,
state 128, one B/C group, batch 1) is compiled by `ssmc -O3` twice,
`--mixer-form=quadratic` and `--mixer-form=chunked` (chunk size from the cost
model unless --chunk-size), run by `ssm-run` on the same random inputs
(same --seed), checked to agree, and timed (`ssm-run --bench`, median).

  .venv/bin/python bench/cpu_mixer_forms.py [--seq 128 512 2048] [--runs 3]
"""
import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))
from zoo import tool  # noqa: E402

H, P, N = 24, 64, 128
SSD = f"""
func.func @ssd(%x: tensor<1x?x{H}x{P}xf32>, %dt: tensor<1x?x{H}xf32>, %A: tensor<{H}xf32>,
               %B: tensor<1x?x1x{N}xf32>, %C: tensor<1x?x1x{N}xf32>)
    -> (tensor<1x?x{H}x{P}xf32>, tensor<1x{H}x{P}x{N}xf32>) {{
  %y, %h = ssm.ssd %x, %dt, %A, %B, %C {{dt_softplus}}
      : (tensor<1x?x{H}x{P}xf32>, tensor<1x?x{H}xf32>, tensor<{H}xf32>,
         tensor<1x?x1x{N}xf32>, tensor<1x?x1x{N}xf32>)
      -> (tensor<1x?x{H}x{P}xf32>, tensor<1x{H}x{P}x{N}xf32>)
  return %y, %h : tensor<1x?x{H}x{P}xf32>, tensor<1x{H}x{P}x{N}xf32>
}}
"""


def run(so, seq, runs, out_dir):
    common = [str(tool("ssm-run")), str(so), "--default-dim", str(seq), "--seed", "7"]
    r = subprocess.run(common + ["--output-dir", str(out_dir)], capture_output=True,
                       text=True)
    if r.returncode != 0:
        sys.exit(f"ssm-run failed: {r.stderr}")
    outs = [np.load(p) for p in sorted(Path(out_dir).glob("*.npy"))]
    r = subprocess.run(common + ["--bench", str(runs)], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"ssm-run --bench failed: {r.stderr}")
    return outs, json.loads(r.stdout)["median_ms"]


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seq", type=int, nargs="+", default=[128, 512, 2048])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--chunk-size", type=int, default=0)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = tmp / "ssd.mlir"
        src.write_text(SSD)
        libs = {}
        for form in ("quadratic", "chunked"):
            libs[form] = tmp / f"{form}.so"
            extra = [f"--chunk-size={a.chunk_size}"] if form == "chunked" else []
            r = subprocess.run([str(tool("ssmc")), str(src), "-o", str(libs[form]), "-O3",
                                f"--mixer-form={form}", *extra],
                               capture_output=True, text=True)
            if r.returncode != 0:
                sys.exit(f"ssmc failed: {r.stderr}")
        print("| seq | quadratic ms | chunked ms | chunked / quadratic speed | max rel. diff |")
        print("| --- | --- | --- | --- | --- |")
        for seq in a.seq:
            res = {f: run(libs[f], seq, a.runs, tmp / f"{f}{seq}") for f in libs}
            (qo, qt), (co, ct) = res["quadratic"], res["chunked"]
            diff = max(float(np.abs(x - y).max() / np.abs(x).max()) for x, y in zip(qo, co))
            if diff > 1e-4:
                sys.exit(f"forms disagree at seq {seq}: relative difference {diff}")
            print(f"| {seq} | {qt:.1f} | {ct:.1f} | {qt / ct:.2f}x | {diff:.1e} |")


if __name__ == "__main__":
    main()
