"""The main job: an ONNX hybrid language model, compiled by ssmc and run by ssm-run.

1. Generates the bundled example model deterministically with examples/zoo.py:
   a layer-interleaved hybrid (Mamba-2, attention, Mamba-2 layers; vocabulary
   128, width 64), written in standard ONNX ops with symbolic batch and
   sequence sizes.
2. Compiles it: `ssmc hybrid.onnx -o hybrid.so` (a self-contained library).
3. Runs it with `ssm-run` on fixed token ids at two different shapes (one
   model.so runs any batch and length), and checks the logits against
   onnxruntime on the same file.
4. Times a forward pass with `ssm-run --bench`.

  python examples/onnx_hybrid.py [--keep DIR]
"""
import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
from zoo import ROOT, tool  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keep", help="write the files to this directory and keep them")
    a = ap.parse_args()
    import onnx
    import onnxruntime as ort
    import zoo

    work = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="ssmc-example-"))
    work.mkdir(parents=True, exist_ok=True)
    model = zoo.build("hybrid", "tiny", seed=0, layers=3)
    onnx_path = work / "hybrid.onnx"
    onnx.save(model, onnx_path)
    ops = sorted({n.op_type for n in model.graph.node})
    print(f"1. generated {onnx_path}: {len(model.graph.node)} nodes, "
          f"{len(model.graph.initializer)} initializers, ops {', '.join(ops)}")

    so = work / "hybrid.so"
    t = time.time()
    cmd = [str(tool("ssmc")), str(onnx_path), "-o", str(so)]
    subprocess.run(cmd, check=True)
    print(f"2. {' '.join(Path(c).name if i < 2 else c for i, c in enumerate(cmd))}: "
          f"{so.stat().st_size // 1024} KiB in {time.time() - t:.1f} s")
    info = subprocess.run([str(tool("ssm-run")), str(so), "--info"],
                          capture_output=True, text=True, check=True).stdout
    print("   " + info.strip().replace("\n", "\n   "))

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    worst = 0.0
    for batch, seq in [(2, 16), (1, 37)]:
        ids = np.random.default_rng(batch * 100 + seq).integers(0, 128, (batch, seq))
        ids_path = work / f"ids_{batch}x{seq}.npy"
        np.save(ids_path, ids.astype(np.int64))
        out_dir = work / f"out_{batch}x{seq}"
        subprocess.run([str(tool("ssm-run")), str(so), "--input",
                        f"input_ids={ids_path}", "--output-dir", str(out_dir)], check=True)
        got = np.load(out_dir / "logits.npy")
        want = session.run(None, {"input_ids": ids.astype(np.int64)})[0]
        err = float(np.abs(got - want).max() / np.abs(want).max())
        worst = max(worst, err)
        print(f"3. ssm-run on input_ids {batch}x{seq}: logits {list(got.shape)}, "
              f"relative error vs onnxruntime {err:.2e}, next tokens "
              f"{got[:, -1].argmax(-1).tolist()}")
    r = subprocess.run([str(tool("ssm-run")), str(so), "--bench", "20",
                        "--dim", "batch=1", "--dim", "seq=64"],
                       capture_output=True, text=True, check=True)
    b = json.loads(r.stdout)
    print(f"4. ssm-run --bench 20 at batch 1 x seq 64: median {b['median_ms']:.2f} ms "
          f"(p10 {b['p10_ms']:.2f}, p90 {b['p90_ms']:.2f})")
    if worst > 1e-4:
        print(f"FAILED: relative error {worst:.2e} exceeds 1e-4")
        return 1
    print(f"ok: the example hybrid matches onnxruntime (worst relative error {worst:.2e})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
