"""The Python quickstart: build a small zoo model, compile it in process,
run it, and generate from a prompt with greedy and nucleus sampling.

  PYTHONPATH=build/python .venv/bin/python examples/python_generate.py
"""
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import zoo  # noqa: E402

import ssmc  # noqa: E402


def main():
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hybrid.onnx"
        onnx.save(zoo.build("hybrid", seed=0), path)
        model = ssmc.compile(path, Path(tmp) / "hybrid.so")
        print(model)
        print("inputs:", model.signature()["inputs"])

        prompt = np.array([[1, 5, 9, 2]])
        logits = model.run({"input_ids": prompt})["logits"]
        print("main: logits", logits.shape)

        session = model.session(batch=1)
        greedy = session.generate(prompt, max_new_tokens=8)
        print("greedy: ", greedy[0].tolist())
        session.reset()
        sampled = session.generate(prompt, max_new_tokens=8, seed=0,
                                   sampling=ssmc.Sampling(temperature=0.9, top_p=0.9))
        print("sampled:", sampled[0].tolist(), f"({session.state_bytes} state bytes)")


if __name__ == "__main__":
    main()
