"""Libraries for several targets (ssmc --target=a,b,...): one .so holding a
build per target, loaded for the first by default and for another on request
(ssm-run --device, ssmc.load(path, device=...), ssm_model_load_on). The
Vulkan builds run on Mesa's lavapipe (scripts/setup.sh installs it); each
device's outputs are checked against the reference on fresh random inputs
with new device buffers poisoned; the errors of missing builds, unknown
devices and outputs a bundle cannot be."""
import os
import subprocess
import sys

import numpy as np
import onnx
import pytest

from harness import BUILD
from onnx_tools import SSM_RUN, SSMC, compile_onnx, onnxruntime_outputs, rel_err
from test_cuda_target import info
import zoo  # noqa: E402 (examples/ is put on the path by onnx_tools)

sys.path.insert(0, str(BUILD / "python"))
import ssmc  # noqa: E402

TOL = 1e-4
POISON = dict(os.environ, SSM_VULKAN_POISON="1")


def ssm_run(*args):
    return subprocess.run([str(SSM_RUN), *map(str, args)], capture_output=True, text=True,
                          env=POISON)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """The zoo's Llama compiled for cpu and vulkan into one library."""
    d = tmp_path_factory.mktemp("bundle")
    path = d / "llama.onnx"
    onnx.save(zoo.build("llama", seed=11), str(path))
    so = compile_onnx(path, d, "--target=cpu,vulkan", "--generation=on")
    return path, so


def test_command_line_devices(bundle, rng, tmp_path):
    path, so = bundle
    compile_info, entries = info(so)
    assert compile_info["target"] == "cpu" and compile_info["targets"] == ["cpu", "vulkan"]
    assert list(entries) == ["main", "prefill", "decode"]
    ids = rng.integers(0, 128, (2, int(rng.integers(5, 20)))).astype(np.int64)
    np.save(tmp_path / "ids.npy", ids)
    want = onnxruntime_outputs(path, {"input_ids": ids})["logits"].astype(np.float64)
    for device in ["", "cpu", "vulkan"]:
        flags = ["--device", device] if device else []
        r = ssm_run(so, *flags, "--info")
        assert r.returncode == 0, r.stderr
        assert f"device: {device or 'cpu'}\n" in r.stdout
        assert '"targets":["cpu","vulkan"]' in r.stdout
        r = ssm_run(so, *flags, "--input", f"input_ids={tmp_path / 'ids.npy'}",
                    "--output-dir", tmp_path / (device or "default"))
        assert r.returncode == 0, r.stdout + r.stderr
        got = np.load(tmp_path / (device or "default") / "logits.npy")
        err = rel_err(got, want)
        assert err < TOL, (device, err)
    # Greedy generation on the Vulkan build: the same tokens as on the CPU.
    tokens = {}
    for device in ["cpu", "vulkan"]:
        r = ssm_run(so, "--device", device, "--generate", 4, "--prompt-len", 6, "--batch", 2,
                    "--seed", 5, "--output-dir", tmp_path / f"gen-{device}")
        assert r.returncode == 0, r.stdout + r.stderr
        tokens[device] = np.load(tmp_path / f"gen-{device}" / "tokens.npy")
    np.testing.assert_array_equal(tokens["vulkan"], tokens["cpu"])


def test_command_line_errors(bundle, tmp_path):
    path, so = bundle
    r = ssm_run(so, "--device", "cuda", "--info")
    assert r.returncode == 1
    assert (f"'{so}' has no cuda build, only cpu,vulkan (compile the model with "
            "ssmc --target=cpu,vulkan,cuda for one)") in r.stderr
    r = ssm_run(so, "--device", "tpu")
    assert r.returncode == 1 and "--device must be cpu, cuda or vulkan, got 'tpu'" in r.stderr
    plain = compile_onnx(path, tmp_path / "plain")
    r = ssm_run(plain, "--device", "vulkan", "--info")
    assert r.returncode == 1 and "has no vulkan build, only cpu" in r.stderr
    r = ssm_run(plain, "--device", "cpu", "--info")
    assert r.returncode == 0 and "device: cpu" in r.stdout
    for flags, message in [
            (["--target=cpu,cpu"], "--target names 'cpu' twice"),
            (["--target=cpu,tpu"], "target 'tpu' is not available"),
            (["--target=cpu,vulkan", "--emit=obj"], "the output must be a shared library"),
            (["--target=cpu,vulkan", "--compile-to=graph"],
             "the output must be a shared library")]:
        r = subprocess.run([str(SSMC), str(path), *flags, "-o", str(tmp_path / "x.so")],
                           capture_output=True, text=True)
        assert r.returncode == 1, (flags, r.stderr)
        assert message in r.stderr, (flags, r.stderr)
        assert not (tmp_path / "x.so").exists()


def test_python_devices(tmp_path, rng):
    """ssmc.compile(target="vulkan,cpu"): loaded for Vulkan; load(device=)
    gives the CPU build; two loads of one build share its library (the
    thread setting)."""
    path = tmp_path / "mamba2.onnx"
    onnx.save(zoo.build("mamba2", seed=int(rng.integers(1 << 30))), str(path))
    vk = ssmc.compile(path, tmp_path / "m.so", target="vulkan,cpu")
    assert vk.device == "vulkan" and vk.targets == ["vulkan", "cpu"]
    cpu = ssmc.load(tmp_path / "m.so", device="cpu")
    cpu2 = ssmc.load(tmp_path / "m.so", device="cpu")
    assert cpu.device == "cpu" and cpu.targets == ["vulkan", "cpu"]
    assert cpu.compile_info["target"] == "cpu"
    cpu.num_threads = 1
    assert cpu2.num_threads == 1
    cpu.num_threads = 2
    assert cpu2.num_threads == 2
    ids = rng.integers(0, 128, (2, 13))
    want = onnxruntime_outputs(path, {"input_ids": ids})["logits"].astype(np.float64)
    for model in (vk, cpu):
        assert rel_err(model.run({"input_ids": ids})["logits"], want) < TOL
    with pytest.raises(ssmc.NotFoundError, match="has no cuda build, only vulkan,cpu"):
        ssmc.load(tmp_path / "m.so", device="cuda")
    with pytest.raises(ssmc.InvalidArgumentError, match="device must be cpu, cuda or vulkan"):
        ssmc.load(tmp_path / "m.so", device="gpu")


def test_cuda_build_in_a_bundle(tmp_path):
    """A CUDA build (PTX; no GPU on this machine) rides along: it loads, says
    it is a CUDA model, and fails to run with the driver's error, while the
    CPU build of the same file runs."""
    path = tmp_path / "llama.onnx"
    onnx.save(zoo.build("llama", seed=2), str(path))
    so = compile_onnx(path, tmp_path, "--target=cpu,cuda")
    model = ssmc.load(so, device="cuda")
    assert model.device == "cuda" and model.compile_info["target"] == "cuda"
    ids = np.zeros((1, 3), np.int64)
    if not os.path.exists("/dev/nvidia0"):
        with pytest.raises(ssmc.DeviceError):
            model.run({"input_ids": ids})
    assert ssmc.load(so).run({"input_ids": ids})["logits"].shape == (1, 3, 128)


def test_embedded_builds_held_together(tmp_path, rng):
    """Two embedded builds of one bundle, and embedded builds of two
    bundles, loaded at the same time: each is its own library with its own
    weights (the dynamic loader must not hand back one for another)."""
    paths = {}
    for name, seed in (("a", 21), ("b", 22)):
        paths[name] = tmp_path / f"{name}.onnx"
        onnx.save(zoo.build("llama", seed=seed), str(paths[name]))
    so_a = compile_onnx(paths["a"], tmp_path / "A", "--target=cpu,vulkan,cuda")
    so_b = compile_onnx(paths["b"], tmp_path / "B", "--target=vulkan,cpu")
    vk_a = ssmc.load(so_a, device="vulkan")
    cuda_a = ssmc.load(so_a, device="cuda")
    cpu_b = ssmc.load(so_b, device="cpu")
    assert (vk_a.device, cuda_a.device, cpu_b.device) == ("vulkan", "cuda", "cpu")
    assert vk_a.compile_info["source"] == "a.onnx" and cpu_b.compile_info["source"] == "b.onnx"
    ids = rng.integers(0, 128, (1, 7))
    for model, path in ((vk_a, paths["a"]), (cpu_b, paths["b"])):
        want = onnxruntime_outputs(path, {"input_ids": ids})["logits"].astype(np.float64)
        assert rel_err(model.run({"input_ids": ids})["logits"], want) < TOL
