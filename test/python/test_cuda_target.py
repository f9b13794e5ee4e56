"""ssmc --target=cuda without a GPU: every zoo model compiles (kernels
assembled by ptxas for sm_90a when the CUDA toolkit is here, else embedded as
PTX), keeps the CPU build's entry points and signatures, and on a machine
without the CUDA driver fails at run time with a clear device error (ssm-run
exit 1, ssmc.DeviceError in Python), never a crash. bench/gpu_check.py runs
the same libraries on a GPU against the references."""
import ctypes.util
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
import pytest

from harness import BUILD
from onnx_tools import SSM_RUN, compile_onnx
import zoo  # noqa: E402 (examples/ is put on the path by onnx_tools)

sys.path.insert(0, str(BUILD / "python"))
import ssmc  # noqa: E402

CUDA = os.environ.get("CUDA_PATH") or "/usr/local/cuda"
HAVE_PTXAS = bool(shutil.which("ptxas") or os.path.exists(os.path.join(CUDA, "bin", "ptxas")))
HAVE_DRIVER = ctypes.util.find_library("cuda") is not None


def info(so):
    r = subprocess.run([str(SSM_RUN), str(so), "--info"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    compile_info = json.loads(lines[0].split(": ", 1)[1])
    entries = {line.split(":")[0][len("entry "):]: json.loads(line.split(": ", 1)[1])
               for line in lines if line.startswith("entry ")}
    return compile_info, entries


@pytest.mark.parametrize("name", list(zoo.MODELS))
def test_zoo_model_compiles_for_cuda(name, tmp_path):
    model = zoo.build(name, seed=11)
    path = tmp_path / f"{name}.onnx"
    onnx.save(model, path)
    cpu = compile_onnx(path, tmp_path / "cpu", "--generation=on")
    gpu = compile_onnx(path, tmp_path / "cuda", "--generation=on", "--target=cuda",
                       "--cuda-arch=sm_90a")
    cpu_info, cpu_entries = info(cpu)
    gpu_info, gpu_entries = info(gpu)
    assert cpu_info["target"] == "cpu"
    assert gpu_info["target"] == "cuda" and gpu_info["cuda_arch"] == "sm_90a"
    assert gpu_info["cuda_format"] == ("fatbin" if HAVE_PTXAS else "ptx")
    assert gpu_info["cpu"] == "generic"
    assert gpu_entries == cpu_entries
    assert list(gpu_entries) == ["main", "prefill", "decode"]
    if HAVE_DRIVER:
        return  # bench/gpu_check.py checks the results where a GPU is.
    ids = np.random.default_rng().integers(0, 16, (1, 5)).astype(np.int64)
    np.save(tmp_path / "ids.npy", ids)
    r = subprocess.run([str(SSM_RUN), str(gpu), "--input", f"input_ids={tmp_path / 'ids.npy'}"],
                       capture_output=True, text=True)
    assert r.returncode == 1, r.stderr
    assert "the CUDA driver is not available" in r.stderr
    assert "compiled with --target=cuda" in r.stderr
    m = ssmc.load(gpu)
    with pytest.raises(ssmc.DeviceError, match="the CUDA driver is not available"):
        m.run({"input_ids": ids})
    # The model stays usable for the error's kind: the same error again.
    with pytest.raises(ssmc.DeviceError):
        m.run({"input_ids": ids})


def test_cuda_options_errors(tmp_path):
    model = zoo.build("mamba2", seed=1)
    path = tmp_path / "m.onnx"
    onnx.save(model, path)
    with pytest.raises(ssmc.CompileError, match="--cuda-arch must name an NVIDIA architecture"):
        ssmc.compile(path, target="cuda", cuda_arch="hopper")
    with pytest.raises(ssmc.CompileError, match="--cuda-format must be auto, ptx or fatbin"):
        ssmc.compile(path, target="cuda", cuda_format="cubin")
    with pytest.raises(ssmc.CompileError, match="cuda"):
        ssmc.compile(path, target="cuda", cuda_format="fatbin",
                     cuda_toolkit=str(tmp_path / "no-toolkit"))
