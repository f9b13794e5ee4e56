"""Compile ONNX models with ssmc and run them with ssm-run (through .npy files),
the way a user does; compare with onnxruntime."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from harness import BUILD, ROOT

SSMC = BUILD / "bin" / "ssmc"
SSM_RUN = BUILD / "bin" / "ssm-run"

def _find_hf_fixtures():
    """The shared Hugging Face exports: $SSM_HF_FIXTURES, or ../shared next to
    the checkout, or the workplace's /work/shared."""
    candidates = [os.environ.get("SSM_HF_FIXTURES"),
                  ROOT.parent / "shared" / "fixtures" / "hf",
                  "/work/shared/fixtures/hf"]
    for c in candidates:
        if c and (Path(c) / "llama_dynamo.onnx").exists():
            return Path(c)
    return None


HF_FIXTURES = _find_hf_fixtures()
sys.path.insert(0, str(ROOT / "examples"))


def compile_onnx(onnx_path, out_dir, *extra):
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    so = Path(out_dir) / (Path(onnx_path).stem + ".so")
    r = subprocess.run([str(SSMC), str(onnx_path), "-o", str(so), *extra],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return so


def phase_ir(onnx_path, out_dir, phase):
    """The MLIR text of `onnx_path` after ssmc's phase `phase` (import, graph,
    ...)."""
    out = Path(out_dir) / f"{phase}.mlir"
    r = subprocess.run([str(SSMC), str(onnx_path), f"--compile-to={phase}",
                        "--emit=mlir", "-o", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return out.read_text()


def run_model(so, inputs, out_dir, *extra):
    """Runs `so` on `inputs` (name -> array) with ssm-run; returns its outputs
    (name -> array)."""
    out_dir = Path(out_dir)
    args = [str(SSM_RUN), str(so), "--output-dir", str(out_dir / "out")]
    for name, value in inputs.items():
        path = out_dir / f"in_{name}.npy"
        np.save(path, value)
        args += ["--input", f"{name}={path}"]
    r = subprocess.run(args + list(extra), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return {p.stem: np.load(p) for p in (out_dir / "out").glob("*.npy")}


def onnxruntime_outputs(onnx_path, inputs):
    import onnxruntime as ort
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, inputs)))


def rel_err(got, want):
    return float(np.abs(got.astype(np.float64) - want).max() / np.abs(want).max())
