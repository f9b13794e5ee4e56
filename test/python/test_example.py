"""The README's main job (examples/onnx_hybrid.py and examples/hybrid_layer.py)
runs and matches its references."""
import subprocess
import sys

from harness import ROOT


def test_example_hybrid_layer():
    r = subprocess.run([sys.executable, str(ROOT / "examples" / "hybrid_layer.py")],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip().endswith("OK")
    assert "recurrent form" in r.stdout and "quadratic form" in r.stdout


def test_example_onnx_hybrid():
    """The main job's ONNX part: generate, compile, run, match onnxruntime."""
    r = subprocess.run([sys.executable, str(ROOT / "examples" / "onnx_hybrid.py")],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ok: the example hybrid matches onnxruntime" in r.stdout
    assert '"shape":["batch","seq",128]' in r.stdout
