"""Time of one compiled AdamW train step on the CPU (ssmc --train,
ssmc.Trainer), for zoo models at a small batch: the cost that bounds the
distillation workflow's stages and examples/mqar.py on this machine.

    .venv/bin/python bench/cpu_training_step.py [--models llama,mamba2] [--batch 16] [--seq 16]

Prints, per model, the median step time over --runs steps (after one warm
step) and the tokens per second; results go to bench/RESULTS.md by hand
with the command line and the commit."""
import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))
sys.path.insert(0, str(ROOT / "build" / "python"))


def main():
    import onnx
    import ssmc
    import zoo

    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="llama,mamba2,llamba")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq", type=int, default=16)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--threads", type=int, default=0, help="0: the library's default")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print(f"{'model':10s} {'step ms':>9s} {'tokens/s':>10s}")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models.split(","):
            path = Path(tmp) / f"{name}.onnx"
            onnx.save(zoo.build(name), str(path))
            model = ssmc.compile(path, Path(tmp) / f"{name}.so", train=True,
                                 generation="off")
            if args.threads:
                model.num_threads = args.threads
            trainer = ssmc.Trainer.from_onnx(model, path, lr=1e-4)
            ids = rng.integers(0, 128, (args.batch, args.seq))
            labels = rng.integers(0, 128, (args.batch, args.seq))
            trainer.step(ids, labels)
            times = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                trainer.step(ids, labels)
                times.append(time.perf_counter() - t0)
            t = statistics.median(times)
            print(f"{name:10s} {t * 1e3:9.1f} {args.batch * args.seq / t:10.0f}")


if __name__ == "__main__":
    main()
