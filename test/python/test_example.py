"""The README's main job (examples/hybrid_layer.py) runs and matches NumPy."""
import subprocess
import sys

from harness import ROOT


def test_example_hybrid_layer():
    r = subprocess.run([sys.executable, str(ROOT / "examples" / "hybrid_layer.py")],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip().endswith("OK")
    assert "recurrent form" in r.stdout and "quadratic form" in r.stdout
