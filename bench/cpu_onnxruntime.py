"""CPU benchmark: SSMC against onnxruntime on the same ONNX file.

Generates the model with examples/zoo.py (random weights, the shapes of
../shared/BENCHMARKS.md), compiles it with ssmc, checks that both produce the
same logits, then times a full forward (prefill) of batch 1 at each sequence
length with both, in this process's machine, and prints the ratios as JSON and
as a Markdown table.

  .venv/bin/python bench/cpu_onnxruntime.py [--model mamba2] [--size 130m]
      [--seq 128,512] [--runs 5] [--threads 2] [--decode 32] [--decode-batch 1,4]

With --decode N, SSMC's prefill and decode entry points are also timed
through ssm-run --generate (a 128-token prompt, then N greedy decode steps,
per --decode-batch); onnxruntime has no decode for this graph (no cache
inputs), so those rows have SSMC numbers only.

SSMC runs through ssm-run --bench (median of --runs after one warm-up run);
onnxruntime through InferenceSession.run with intra_op_num_threads=--threads
(median of --runs after one warm-up run). Work files go to bench/.work/.
"""
import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
from zoo import ROOT, tool  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="mamba2")
    ap.add_argument("--size", default="130m")
    ap.add_argument("--seq", default="128,512")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--decode", type=int, default=0)
    ap.add_argument("--decode-batch", default="1")
    a = ap.parse_args()

    import onnx
    import onnxruntime as ort
    import zoo

    work = ROOT / "bench" / ".work"
    work.mkdir(parents=True, exist_ok=True)
    onnx_path = work / f"{a.model}-{a.size}.onnx"
    so_path = work / f"{a.model}-{a.size}.so"
    if not onnx_path.exists():
        t = time.time()
        onnx.save(zoo.build(a.model, a.size, seed=0), onnx_path)
        print(f"generated {onnx_path.name} in {time.time() - t:.1f} s", file=sys.stderr)
    # Recompile when the model or the compiler is newer than the library.
    newest = max(onnx_path.stat().st_mtime, tool("ssmc").stat().st_mtime)
    if not so_path.exists() or so_path.stat().st_mtime < newest:
        t = time.time()
        subprocess.run([str(tool("ssmc")), str(onnx_path), "-o", str(so_path),
                        "-O3"], check=True)
        print(f"compiled {so_path.name} in {time.time() - t:.1f} s", file=sys.stderr)

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = a.threads
    opts.inter_op_num_threads = 1
    session = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
    vocab = session.get_outputs()[0].shape[-1]
    rows = []
    for seq in [int(s) for s in a.seq.split(",")]:
        ids = np.random.default_rng(seq).integers(0, vocab, (1, seq)).astype(np.int64)
        ids_path = work / f"ids_{seq}.npy"
        np.save(ids_path, ids)
        # Parity.
        want = session.run(None, {"input_ids": ids})[0]
        out_dir = work / f"out_{seq}"
        subprocess.run([str(tool("ssm-run")), str(so_path), "--input",
                        f"input_ids={ids_path}", "--output-dir", str(out_dir)], check=True)
        got = np.load(out_dir / "logits.npy")
        err = float(np.abs(got - want).max() / np.abs(want).max())
        # onnxruntime timing.
        times = []
        session.run(None, {"input_ids": ids})
        for _ in range(a.runs):
            t = time.perf_counter()
            session.run(None, {"input_ids": ids})
            times.append((time.perf_counter() - t) * 1e3)
        ort_ms = float(np.median(times))
        # SSMC timing.
        r = subprocess.run([str(tool("ssm-run")), str(so_path), "--input",
                            f"input_ids={ids_path}", "--bench", str(a.runs)],
                           check=True, capture_output=True, text=True)
        ssmc_ms = json.loads(r.stdout)["median_ms"]
        rows.append(dict(model=f"{a.model}-{a.size}", batch=1, seq=seq, ssmc_ms=ssmc_ms,
                         onnxruntime_ms=ort_ms, ssmc_tok_s=seq / ssmc_ms * 1e3,
                         onnxruntime_tok_s=seq / ort_ms * 1e3,
                         speedup_vs_onnxruntime=ort_ms / ssmc_ms, logits_rel_err=err))
        print(json.dumps(rows[-1]))
    decode_rows = []
    for batch in [int(b) for b in a.decode_batch.split(",")] if a.decode else []:
        r = subprocess.run([str(tool("ssm-run")), str(so_path), "--generate", str(a.decode),
                            "--prompt-len", "128", "--batch", str(batch),
                            "--int-max", str(vocab)],
                           check=True, capture_output=True, text=True)
        g = json.loads(r.stdout)
        decode_rows.append(dict(model=f"{a.model}-{a.size}", batch=batch, prompt=128,
                                steps=a.decode, ttft_ms=g["ttft_ms"],
                                decode_ms_per_step=g["decode_ms_per_step"],
                                decode_tok_s=g["decode_tokens_per_s"],
                                state_bytes=g["state_bytes"]))
        print(json.dumps(decode_rows[-1]))
    print("\n| model | batch x seq | SSMC ms | onnxruntime ms | SSMC / onnxruntime speed "
          "| logits rel. err |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['model']} | 1 x {r['seq']} | {r['ssmc_ms']:.1f} | "
              f"{r['onnxruntime_ms']:.1f} | {r['speedup_vs_onnxruntime']:.3f}x | "
              f"{r['logits_rel_err']:.1e} |")
    if decode_rows:
        print("\n| model | batch | prompt | TTFT ms | decode ms/step | decode tok/s "
              "| state bytes |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for r in decode_rows:
            print(f"| {r['model']} | {r['batch']} | {r['prompt']} | {r['ttft_ms']:.1f} | "
                  f"{r['decode_ms_per_step']:.2f} | {r['decode_tok_s']:.1f} | "
                  f"{r['state_bytes']} |")


if __name__ == "__main__":
    main()
