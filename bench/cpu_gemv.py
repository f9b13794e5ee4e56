"""CPU benchmark: decode-shaped matrix products (few rows, large weights),
SSMC against onnxruntime (MLAS) and NumPy (its BLAS), as weight-read GB/s.

A decode step of a language model is matrix products of a few rows (the
batch) by weights read once from memory; this isolates them. The model is
an ONNX graph of --layers MLP blocks, y = x + relu(x @ W_up) @ W_down with
W_up (K, 4K) and W_down (4K, K), plus an optional head x @ W_head (K, V)
(the LM head's shape); random float32 weights. Each engine's time is the
median of --runs after a warm-up, 2 threads by default; outputs are checked
against a float64 NumPy reference. GB/s = weight bytes / time.

  .venv/bin/python bench/cpu_gemv.py [--k 768] [--layers 3] [--head 50280]
      [--batch 1,4,16] [--runs 20] [--threads 2]
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ap = argparse.ArgumentParser(description=__doc__,
                             formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--k", type=int, default=768)
ap.add_argument("--layers", type=int, default=3)
ap.add_argument("--head", type=int, default=0, help="LM-head columns (0: none)")
ap.add_argument("--batch", default="1,4,16")
ap.add_argument("--runs", type=int, default=20)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--no-numpy", action="store_true")
A = ap.parse_args()
# NumPy's BLAS reads its thread count at import.
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(A.threads)

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
from zoo import ROOT, tool  # noqa: E402


def build_model(path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(0)
    k = A.k
    inits, nodes, weights = [], [], []
    x = "x"
    for i in range(A.layers):
        up = (rng.standard_normal((k, 4 * k)) / np.sqrt(k)).astype(np.float32)
        down = (rng.standard_normal((4 * k, k)) / np.sqrt(4 * k)).astype(np.float32)
        weights.append(("up", up))
        weights.append(("down", down))
        inits += [numpy_helper.from_array(up, f"up{i}"),
                  numpy_helper.from_array(down, f"down{i}")]
        nodes += [helper.make_node("MatMul", [x, f"up{i}"], [f"h{i}"]),
                  helper.make_node("Relu", [f"h{i}"], [f"r{i}"]),
                  helper.make_node("MatMul", [f"r{i}", f"down{i}"], [f"d{i}"]),
                  helper.make_node("Add", [x, f"d{i}"], [f"y{i}"])]
        x = f"y{i}"
    out_dim = k
    if A.head:
        head = (rng.standard_normal((k, A.head)) / np.sqrt(k)).astype(np.float32)
        weights.append(("head", head))
        inits.append(numpy_helper.from_array(head, "head"))
        nodes.append(helper.make_node("MatMul", [x, "head"], ["logits"]))
        x, out_dim = "logits", A.head
    nodes.append(helper.make_node("Identity", [x], ["out"]))
    graph = helper.make_graph(
        nodes, "gemv",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", k])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["batch", out_dim])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, path)
    return weights


def reference(weights, x):
    x = x.astype(np.float64)
    i = 0
    while i < len(weights) and weights[i][0] == "up":
        h = np.maximum(x @ weights[i][1].astype(np.float64), 0)
        x = x + h @ weights[i + 1][1].astype(np.float64)
        i += 2
    if i < len(weights):
        x = x @ weights[i][1].astype(np.float64)
    return x


def numpy_forward(weights, x):
    i = 0
    while i < len(weights) and weights[i][0] == "up":
        x = x + np.maximum(x @ weights[i][1], 0) @ weights[i + 1][1]
        i += 2
    if i < len(weights):
        x = x @ weights[i][1]
    return x


def median_ms(fn, runs):
    fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return float(np.median(times))


def main():
    import onnxruntime as ort
    work = ROOT / "bench" / ".work" / "gemv"
    work.mkdir(parents=True, exist_ok=True)
    tag = f"k{A.k}-l{A.layers}-h{A.head}"
    onnx_path, so_path = work / f"{tag}.onnx", work / f"{tag}.so"
    weights = build_model(onnx_path)
    wbytes = sum(w.nbytes for _, w in weights)
    subprocess.run([str(tool("ssmc")), str(onnx_path), "-o", str(so_path), "-O3"],
                   check=True)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = A.threads
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
    rows = []
    for batch in [int(b) for b in A.batch.split(",")]:
        x = np.random.default_rng(batch).standard_normal((batch, A.k)).astype(np.float32)
        want = reference(weights, x)
        xp = work / f"x{batch}.npy"
        np.save(xp, x)
        out = work / f"out{batch}"
        subprocess.run([str(tool("ssm-run")), str(so_path), "--input", f"x={xp}",
                        "--output-dir", str(out), "--threads", str(A.threads)],
                       check=True)
        got = np.load(out / "out.npy")
        err = float(np.abs(got - want).max() / np.abs(want).max())
        assert err < 1e-4, f"SSMC output differs from the reference: {err}"
        r = subprocess.run([str(tool("ssm-run")), str(so_path), "--input", f"x={xp}",
                            "--bench", str(A.runs), "--warmup", "3",
                            "--threads", str(A.threads)],
                           check=True, capture_output=True, text=True)
        ssmc_ms = json.loads(r.stdout)["median_ms"]
        ort_ms = median_ms(lambda: sess.run(None, {"x": x}), A.runs)
        np_ms = None if A.no_numpy else median_ms(lambda: numpy_forward(weights, x), A.runs)
        rows.append(dict(batch=batch, ssmc_ms=ssmc_ms, ort_ms=ort_ms, numpy_ms=np_ms,
                         err=err))
    print(json.dumps(dict(weights_mb=wbytes / 1e6, shape=tag, threads=A.threads,
                          rows=rows)))
    print(f"\n{wbytes / 1e6:.1f} MB of weights ({tag}), {A.threads} threads\n")
    print("| batch | SSMC ms | GB/s | onnxruntime ms | GB/s | NumPy ms | GB/s "
          "| SSMC / onnxruntime | SSMC / NumPy |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        gbs = lambda ms: wbytes / ms / 1e6  # noqa: E731
        npc = (f"{r['numpy_ms']:.3f} | {gbs(r['numpy_ms']):.1f} | "
               if r["numpy_ms"] else "- | - | ")
        npr = f"{r['numpy_ms'] / r['ssmc_ms']:.2f}x" if r["numpy_ms"] else "-"
        print(f"| {r['batch']} | {r['ssmc_ms']:.3f} | {gbs(r['ssmc_ms']):.1f} | "
              f"{r['ort_ms']:.3f} | {gbs(r['ort_ms']):.1f} | {npc}"
              f"{r['ort_ms'] / r['ssmc_ms']:.2f}x | {npr} |")


if __name__ == "__main__":
    main()
