"""ssmc --target=vulkan on Mesa's lavapipe (software Vulkan, installed by
scripts/setup.sh): every zoo model compiles (every SPIR-V module checked by
spirv-val), keeps the CPU build's entry points, and its main, prefill and
decode match the references on fresh random inputs with every new device
buffer poisoned (NaN bytes); the errors of a missing driver or device and of
bad options; the device tensor calls of the C API; a training step equal to
the CPU build's. bench/gpu_check.py runs the same checks on an NVIDIA GPU's
Vulkan driver."""
import ctypes
import ctypes.util
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import onnx
import pytest

from harness import BUILD, SSM_OPT, attention_attributes
from onnx_reference import float64_outputs
from onnx_tools import SSM_RUN, SSMC, compile_onnx, onnxruntime_outputs, rel_err
from test_cuda_target import info
import zoo  # noqa: E402 (examples/ is put on the path by onnx_tools)
from fused_cases import (FUSED_ATTENTION_CASES, FUSED_SSD_CASES,  # noqa: E402
                         attention_source, fused_attention_case, fused_ssd_case)

sys.path.insert(0, str(BUILD / "python"))
import ssmc  # noqa: E402

TOL = 1e-4
VALIDATE = "--spirv-val=on" if shutil.which("spirv-val") else "--spirv-val=auto"
POISON = dict(os.environ, SSM_VULKAN_POISON="1")


def reference_logits(path, model, ids):
    # ai.ssmc ops and the opset-27 state-space ops: the float64 evaluator.
    if any(o.domain == "ai.ssmc" or (o.domain in ("", "ai.onnx") and o.version > 26)
           for o in model.opset_import):
        return float64_outputs(model, {"input_ids": ids})["logits"]
    return onnxruntime_outputs(path, {"input_ids": ids})["logits"].astype(np.float64)


def ssm_run(*args, env=POISON):
    return subprocess.run([str(SSM_RUN), *map(str, args)], capture_output=True, text=True,
                          env=env)


def test_lavapipe_is_installed():
    """The Vulkan tests need a Vulkan driver: scripts/setup.sh installs
    Mesa's lavapipe (mesa-vulkan-drivers) and SPIRV-Tools."""
    assert ctypes.util.find_library("vulkan"), "libvulkan1 is not installed"
    assert shutil.which("spirv-val"), "spirv-tools is not installed"


@pytest.mark.parametrize("name", list(zoo.MODELS))
def test_zoo_model_on_vulkan(name, rng, tmp_path):
    model = zoo.build(name, seed=int(rng.integers(1 << 30)))
    path = tmp_path / f"{name}.onnx"
    onnx.save(model, path)
    cpu = compile_onnx(path, tmp_path / "cpu", "--generation=on")
    vk = compile_onnx(path, tmp_path / "vulkan", "--generation=on", "--target=vulkan",
                      VALIDATE)
    cpu_info, cpu_entries = info(cpu)
    vk_info, vk_entries = info(vk)
    assert vk_info["target"] == "vulkan" and vk_info["cpu"] == "generic"
    assert vk_entries == cpu_entries
    assert list(vk_entries) == ["main", "prefill", "decode"]
    # main at two shapes.
    for batch, seq in [(2, int(rng.integers(9, 24))), (1, 1)]:
        ids = rng.integers(0, 64, (batch, seq)).astype(np.int64)
        np.save(tmp_path / "ids.npy", ids)
        r = ssm_run(vk, "--entry", "main", "--input", f"input_ids={tmp_path / 'ids.npy'}",
                    "--output-dir", tmp_path / "main")
        assert r.returncode == 0, r.stdout + r.stderr
        got = np.load(tmp_path / "main" / "logits.npy")
        assert np.isfinite(got).all(), f"{name}: NaN in main's logits (an unwritten element)"
        err = rel_err(got, reference_logits(path, model, ids))
        assert err < TOL, f"{name} main at batch {batch}, seq {seq}: {err}"
    # Prefill of a prompt, then greedy decode steps: every returned row
    # against the reference's logits at that position.
    batch, length, steps = 2, int(rng.integers(5, 12)), 5
    r = ssm_run(vk, "--generate", steps, "--prompt-len", length, "--batch", batch,
                "--seed", int(rng.integers(1 << 30)), "--int-max", 64,
                "--output-dir", tmp_path / "gen")
    assert r.returncode == 0, r.stdout + r.stderr
    tokens = np.load(tmp_path / "gen" / "tokens.npy")
    logits = np.load(tmp_path / "gen" / "logits.npy")
    rows = [length - 1] + list(range(length, length + steps))
    assert logits.shape[:2] == (batch, len(rows))
    assert np.array_equal(tokens[:, length:], logits.argmax(-1))
    want = reference_logits(path, model, tokens[:, :length + steps])[:, rows]
    err = rel_err(logits, want)
    assert err < TOL, f"{name} prefill + decode: {err}"


def test_vulkan_training_step_matches_cpu(rng, tmp_path):
    """--train on Vulkan (f64 scalars and reductions included): three AdamW
    steps give the CPU build's losses and parameters."""
    path = tmp_path / "llama.onnx"
    onnx.save(zoo.build("llama", seed=int(rng.integers(1 << 30))), path)
    from onnx import numpy_helper
    inits = {i.name: numpy_helper.to_array(i) for i in onnx.load(path).graph.initializer}
    ids = rng.integers(0, 64, (3, 7))
    results = {}
    for target in ("cpu", "vulkan"):
        so = compile_onnx(path, tmp_path / target, "--train", f"--target={target}")
        trainer = ssmc.Trainer(ssmc.load(so), inits)
        losses = [trainer.step(ids, ids)["loss"] for _ in range(3)]
        results[target] = (losses, {n: np.array(p) for n, p in trainer.parameters.items()})
    np.testing.assert_allclose(results["vulkan"][0], results["cpu"][0], rtol=1e-5)
    assert results["cpu"][1].keys() == results["vulkan"][1].keys()
    # AdamW divides by sqrt(v) + eps: for an element whose gradients are
    # rounding-sized, the two builds' different float sums change its step
    # by a fraction of lr (seed 690589822: 4.2e-6 on one element of 8192,
    # values ~0.1); a wrong gradient moves elements by up to lr = 1e-4 (the
    # Trainer's default) per step in the wrong direction.
    for n, p in results["cpu"][1].items():
        np.testing.assert_allclose(results["vulkan"][1][n], p, rtol=1e-4, atol=2e-5,
                                   err_msg=n)


def test_vulkan_runtime_errors(tmp_path):
    """No Vulkan driver, or a device index out of range: a clear device error
    (ssm-run exit 1, ssmc.DeviceError), never a crash."""
    path = tmp_path / "m.onnx"
    onnx.save(zoo.build("mamba2", seed=1), path)
    so = compile_onnx(path, tmp_path, "--target=vulkan")
    ids = np.zeros((1, 3), np.int64)
    np.save(tmp_path / "ids.npy", ids)
    no_driver = dict(os.environ, VK_ICD_FILENAMES=str(tmp_path / "none.json"),
                     VK_DRIVER_FILES=str(tmp_path / "none.json"))
    r = ssm_run(so, "--input", f"input_ids={tmp_path / 'ids.npy'}", env=no_driver)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "cannot create a Vulkan instance" in r.stderr or \
        "no Vulkan device is available" in r.stderr, r.stderr
    r = ssm_run(so, "--input", f"input_ids={tmp_path / 'ids.npy'}",
                env=dict(os.environ, SSM_VULKAN_DEVICE="7"))
    assert r.returncode == 1
    assert "SSM_VULKAN_DEVICE=7 is out of range" in r.stderr, r.stderr
    script = (f"import sys; sys.path.insert(0, {str(BUILD / 'python')!r}); import ssmc, numpy as np\n"
              f"m = ssmc.load({str(so)!r})\n"
              "try:\n"
              "    m.run({'input_ids': np.zeros((1, 3), np.int64)})\n"
              "except ssmc.DeviceError as e:\n"
              "    print('DeviceError:', e)\n")
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                       env=dict(os.environ, SSM_VULKAN_DEVICE="7"))
    assert r.returncode == 0, r.stderr
    assert "DeviceError: " in r.stdout and "out of range" in r.stdout


def test_vulkan_compile_errors(tmp_path):
    path = tmp_path / "m.onnx"
    onnx.save(zoo.build("llama", seed=1), path)
    r = subprocess.run([str(SSMC), str(path), "--target=vulkan", "--spirv-val=maybe",
                        "-o", str(tmp_path / "m.so")], capture_output=True, text=True)
    assert r.returncode == 1
    assert "--spirv-val must be auto, on or off, got 'maybe'" in r.stderr
    r = subprocess.run([str(SSMC), str(path), "--target=vulkan", "--spirv-val=on",
                        "-o", str(tmp_path / "m.so")], capture_output=True, text=True,
                       env=dict(os.environ, PATH=str(tmp_path)))
    assert r.returncode == 1
    assert "spirv-val (SPIRV-Tools) is not on PATH" in r.stderr
    assert not (tmp_path / "m.so").exists()
    r = subprocess.run([str(SSMC), str(path), "--target=metal", "-o", str(tmp_path / "m.so")],
                       capture_output=True, text=True)
    assert r.returncode == 1
    assert "the targets are cpu, cuda and vulkan" in r.stderr


def test_vulkan_device_tensors(rng, tmp_path):
    """The device tensor calls of the C API on a Vulkan model: a host tensor
    copied in, run with the output kept on the device, copied back."""
    from test_cuda_target import SILU
    from test_runtime import load_runtime, wrap
    src = tmp_path / "silu.mlir"
    src.write_text(SILU)
    so = tmp_path / "silu.so"
    r = subprocess.run([str(SSMC), str(src), "-o", str(so), "--target=vulkan"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    rt = load_runtime()
    rt.ssm_model_device.restype = ctypes.c_char_p
    model = ctypes.c_void_p()
    assert rt.ssm_model_load(str(so).encode(), ctypes.byref(model)) == 0
    assert rt.ssm_model_device(model) == b"vulkan"
    x = rng.standard_normal((5, 8)).astype(np.float32)
    host = wrap(rt, x)
    dev = ctypes.c_void_p()
    assert rt.ssm_tensor_to_device(model, host, ctypes.byref(dev)) == 0, rt.ssm_last_error()
    assert rt.ssm_tensor_is_device(dev) == 1
    # Vulkan device addresses are handles (bit 62 set), not host pointers.
    assert rt.ssm_tensor_data(dev) >> 62 == 1
    inputs = (ctypes.c_void_p * 1)(dev.value)
    outputs = (ctypes.c_void_p * 1)()
    assert rt.ssm_run_device(model, b"silu", inputs, 1, outputs, 1) == 0, rt.ssm_last_error()
    out = ctypes.c_void_p(outputs[0])
    assert rt.ssm_tensor_is_device(out) == 1
    back = ctypes.c_void_p()
    assert rt.ssm_tensor_to_host(out, ctypes.byref(back)) == 0, rt.ssm_last_error()
    got = np.ctypeslib.as_array(ctypes.cast(rt.ssm_tensor_data(back),
                                            ctypes.POINTER(ctypes.c_float)), (5, 8)).copy()
    want = x.astype(np.float64) / (1 + np.exp(-x.astype(np.float64)))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    for t in (host, dev, out, back):
        rt.ssm_tensor_release(t)
    rt.ssm_model_release(model)


def test_python_compile_for_vulkan(rng, tmp_path):
    """ssmc.compile(target="vulkan") in process: the model runs on the Vulkan
    device and matches the CPU build; spirv_val is checked."""
    path = tmp_path / "m.onnx"
    onnx.save(zoo.build("mamba2", seed=int(rng.integers(1 << 30))), path)
    vk = ssmc.compile(path, target="vulkan", spirv_val="on" if shutil.which("spirv-val")
                      else "auto")
    cpu = ssmc.compile(path)
    ids = rng.integers(0, 64, (2, 6)).astype(np.int64)
    got = vk.run({"input_ids": ids})["logits"]
    want = cpu.run({"input_ids": ids})["logits"]
    assert rel_err(got, want) < 1e-5
    with pytest.raises(ssmc.CompileError, match="--spirv-val must be auto, on or off"):
        ssmc.compile(path, target="vulkan", spirv_val="always")


def test_vulkan_wide_grid(rng, tmp_path):
    """An elementwise op over 17.6M elements: 68750 blocks of 256 threads,
    more than lavapipe's 65535 in x; the runtime folds the grid into z and
    the kernel rebuilds its block index (ssm-gpu-vulkan-kernel-abi)."""
    from test_cuda_target import SILU
    src = tmp_path / "silu.mlir"
    src.write_text(SILU)
    m = ssmc.compile(src, target="vulkan")
    x = rng.standard_normal((2200000, 8)).astype(np.float32)
    y = m.run({"arg0": x})["result0"]
    want = x / (1 + np.exp(-x.astype(np.float64)))
    assert np.abs(y - want).max() < 1e-5


def test_vulkan_buffer_past_storage_range(tmp_path):
    """A buffer larger than the device's maxStorageBufferRange (128 MiB on
    lavapipe) cannot be bound whole, and SSMC's kernels index buffers from
    their start: a device error naming the limit, not wrong results."""
    from test_cuda_target import SILU
    src = tmp_path / "silu.mlir"
    src.write_text(SILU)
    m = ssmc.compile(src, target="vulkan")
    x = np.ones((4194560, 8), np.float32)  # 134225920 bytes, past 2^27
    with pytest.raises(ssmc.DeviceError, match="maxStorageBufferRange"):
        m.run({"arg0": x})
    # The same model on a buffer within the range still runs.
    y = m.run({"arg0": x[:1024]})["result0"]
    assert np.abs(y - x[:1024] / (1 + np.exp(-1.0))).max() < 1e-6


def test_vulkan_threads(rng, tmp_path):
    """Four threads run one Vulkan model at once, each on its own tokens,
    twice (new threads the second time: the first ones' device state was
    released when they exited); every result equals the CPU build's."""
    import threading
    path = tmp_path / "m.onnx"
    onnx.save(zoo.build("hybrid", seed=int(rng.integers(1 << 30))), path)
    vk = ssmc.compile(path, target="vulkan")
    cpu = ssmc.compile(path)
    inputs = [rng.integers(0, 64, (1, 5 + k)).astype(np.int64) for k in range(4)]
    want = [cpu.run({"input_ids": ids})["logits"] for ids in inputs]
    for _ in range(2):
        got, errors = [None] * 4, []

        def work(k):
            try:
                got[k] = vk.run({"input_ids": inputs[k]})["logits"]
            except Exception as e:  # noqa: BLE001 (reported below)
                errors.append(e)

        threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        for g, w in zip(got, want):
            assert rel_err(g, w) < 1e-5


def _replay_stats(stderr):
    m = re.search(r"ssm vulkan: (\d+) submissions, (\d+) replayed", stderr)
    assert m, stderr
    return int(m[1]), int(m[2])


def _barrier_stats(stderr):
    m = re.search(r"(\d+) barriers recorded between (\d+) commands", stderr)
    assert m, stderr
    return int(m[1]), int(m[2])


def _generation_stats(rng, tmp_path, name, steps, length, envs):
    """Compiles zoo model `name` for Vulkan and generates `steps` tokens
    once per environment of `envs` (same seed, poisoned buffers,
    SSM_VULKAN_STATS=1); checks that the runs give bitwise the same tokens
    and logits and that they match the reference; returns each run's
    stderr (its statistics line)."""
    model = zoo.build(name, seed=int(rng.integers(1 << 30)))
    path = tmp_path / f"{name}.onnx"
    onnx.save(model, path)
    vk = compile_onnx(path, tmp_path, "--generation=on", "--target=vulkan")
    seed = int(rng.integers(1 << 30))
    runs = []
    for k, env in enumerate(envs):
        out = tmp_path / f"gen{k}"
        r = ssm_run(vk, "--generate", steps, "--prompt-len", length, "--batch", 2,
                    "--seed", seed, "--int-max", 64, "--output-dir", out,
                    env=dict(POISON, SSM_VULKAN_STATS="1", **env))
        assert r.returncode == 0, r.stdout + r.stderr
        runs.append((np.load(out / "tokens.npy"), np.load(out / "logits.npy"), r.stderr))
    tokens, logits, _ = runs[0]
    for other in runs[1:]:
        assert np.array_equal(tokens, other[0])
        assert np.array_equal(logits, other[1])
    rows = [length - 1] + list(range(length, length + steps))
    want = reference_logits(path, model, tokens[:, :length + steps])[:, rows]
    assert rel_err(logits, want) < TOL
    return [stderr for _, _, stderr in runs]


def test_vulkan_barriers(rng, tmp_path):
    """A command waits only for earlier commands it depends on (a buffer
    written before that it reads or writes, or read before that it writes;
    the kernels' written bindings come from the SPIR-V container): the zoo
    llama's generation records fewer barriers than with one before every
    command (SSM_VULKAN_BARRIERS=all), gives bitwise the same tokens and
    logits, and matches the reference."""
    some, every_run = _generation_stats(
        rng, tmp_path, "llama", 4, 7,
        [{"SSM_VULKAN_BARRIERS": "", "SSM_VULKAN_REPLAY": "0"},
         {"SSM_VULKAN_BARRIERS": "all", "SSM_VULKAN_REPLAY": "0"}])
    fewer, commands = _barrier_stats(some)
    submits, _ = _replay_stats(some)
    every, commands_all = _barrier_stats(every_run)
    assert commands_all == commands
    # One before every command but the first of each submitted batch.
    assert every == commands - submits
    assert fewer < every, (fewer, every)


def test_vulkan_replay(rng, tmp_path):
    """A state-space model's decode steps submit again the command buffer
    recorded for an earlier step (the same kernels, grids and buffers: the
    buffer pool hands out the lowest free buffer, so a step gets the buffers
    of the step before or of the one before that) instead of recording anew.
    With SSM_VULKAN_REPLAY=0 (every batch recorded) the tokens and logits
    are bitwise the same; both match the reference; SSM_VULKAN_STATS counts
    the submissions (equal) and the replays (none without replay, nearly
    every decode step's with it)."""
    steps = 12
    replayed, recorded = _generation_stats(
        rng, tmp_path, "mamba2", steps, 6,
        [{"SSM_VULKAN_REPLAY": "1"}, {"SSM_VULKAN_REPLAY": "0"}])
    submits, replays = _replay_stats(replayed)
    assert _replay_stats(recorded) == (submits, 0)
    assert replays >= steps - 2, (submits, replays)


def test_vulkan_replay_after_release(rng, tmp_path):
    """ssm_model_release_memory destroys the pooled buffers, which recorded
    command buffers name: the recordings are dropped (a call after it
    records again, counted by SSM_VULKAN_STATS) and its results stay
    right."""
    path = tmp_path / "m.onnx"
    onnx.save(zoo.build("mamba2", seed=int(rng.integers(1 << 30))), path)
    vk = compile_onnx(path, tmp_path / "vk", "--target=vulkan")
    cpu = compile_onnx(path, tmp_path / "cpu")
    ids = rng.integers(0, 64, (2, 9)).astype(np.int64)
    np.save(tmp_path / "ids.npy", ids)
    want = ssmc.load(cpu).run({"input_ids": ids})["logits"]
    stats = {}
    for release in (False, True):
        script = (
            f"import sys; sys.path.insert(0, {str(BUILD / 'python')!r})\n"
            "import ssmc, numpy as np\n"
            f"m = ssmc.load({str(vk)!r}); ids = np.load({str(tmp_path / 'ids.npy')!r})\n"
            "out = [m.run({'input_ids': ids})['logits'] for _ in range(3)]\n"
            + ("m.release_memory()\n" if release else "")
            + "out.append(m.run({'input_ids': ids})['logits'])\n"
            f"np.save({str(tmp_path / f'out{int(release)}.npy')!r}, np.stack(out))\n")
        r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           env=dict(POISON, SSM_VULKAN_STATS="1"))
        assert r.returncode == 0, r.stdout + r.stderr
        stats[release] = _replay_stats(r.stderr)
        for got in np.load(tmp_path / f"out{int(release)}.npy"):
            assert rel_err(got, want.astype(np.float64)) < 1e-5
    (kept_submits, kept_replays), (rel_submits, rel_replays) = stats[False], stats[True]
    assert kept_submits == rel_submits
    assert 0 < rel_replays < kept_replays, stats


def _reductions_model(static):
    """Row sums and maxima, a matrix-vector product and a full sum: few
    points with many terms each (ssm-linalg-to-gpu's block reductions).
    With `static`, the sizes are in the graph (the kernel is chosen at
    compile time), else symbolic (chosen at run time)."""
    from onnx import TensorProto, helper
    rows, cols, k, n = (3, 1000, 777, 300) if static else ("rows", "cols", "k", "n")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [rows, cols])
    v = helper.make_tensor_value_info("v", TensorProto.FLOAT, [1, k])
    w = helper.make_tensor_value_info("w", TensorProto.FLOAT, [n, k])
    outs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, None)
            for name in ("row_sum", "row_max", "row_min", "gemv", "total")]
    axes = helper.make_tensor("axes", TensorProto.INT64, [1], [1])
    nodes = [helper.make_node("ReduceSum", ["x", "axes"], ["row_sum"], keepdims=0),
             helper.make_node("ReduceMax", ["x"], ["row_max"], axes=[1], keepdims=0),
             helper.make_node("ReduceMin", ["x"], ["row_min"], axes=[1], keepdims=0),
             helper.make_node("Transpose", ["w"], ["wt"], perm=[1, 0]),
             helper.make_node("MatMul", ["v", "wt"], ["gemv"]),
             helper.make_node("ReduceSum", ["x"], ["total"], keepdims=0)]
    graph = helper.make_graph(nodes, "reductions", [x, v, w], outs, [axes])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize("static", [False, True])
def test_vulkan_block_reductions(rng, tmp_path, static):
    """Reductions of few points with many terms (a block of threads per
    point, partial values combined in workgroup memory, or in subgroups
    first where the device has subgroup arithmetic) against float64 NumPy
    (shapes as onnxruntime's), with poisoned device buffers, at sizes that
    take the block kernel and at sizes that do not, with the subgroup
    kernels (lavapipe has subgroup arithmetic) and without them
    (SSM_VULKAN_SUBGROUPS=0); tolerance 1e-6 of the sum of the terms'
    magnitudes."""
    path = tmp_path / "r.onnx"
    onnx.save(_reductions_model(static), path)
    so = compile_onnx(path, tmp_path, "--target=vulkan", VALIDATE)
    # The block kernels are there: ssm-linalg-to-gpu on the bufferized
    # module gives a 256-element workgroup array of partial values to each
    # of the four reductions and the product.
    ir = tmp_path / "r.mlir"
    r = subprocess.run([str(SSMC), str(path), "--compile-to=bufferize", "--emit=mlir", "-o",
                        str(ir)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([str(SSM_OPT), str(ir), "--linalg-generalize-named-ops",
                        "--ssm-linalg-to-gpu"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("memref<256xf32, #gpu.address_space<workgroup>>)") == 5
    # With subgroup variants (the Vulkan pipeline's setting): the sums and
    # the product get one each; the float maximum and minimum do not.
    r = subprocess.run([str(SSM_OPT), str(ir), "--linalg-generalize-named-ops",
                        "--ssm-linalg-to-gpu=subgroup-reductions=1"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("_subgroups) workgroup(") == 3
    assert r.stdout.count("memref<256xf32, #gpu.address_space<workgroup>>)") == 8
    # Each kernel's SPIR-V declares only its own capabilities: the subgroup
    # kernels subgroup arithmetic, the others not (a device without it
    # still takes them).
    if shutil.which("spirv-dis"):
        data = so.read_bytes()
        word = lambda i: int.from_bytes(data[i:i + 4], "little")  # noqa: E731
        # The container: 'SSMV' where its first kernel's code starts with the
        # SPIR-V magic number (the bytes also occur in the support code).
        at = next(m.start() for m in re.finditer(b"SSMV", data)
                  if data[m.start() + word(m.start() + 16):][:4] == b"\x03\x02\x23\x07")
        count = word(at + 4)
        caps = {}
        for i in range(count):
            e = [int.from_bytes(data[at + 8 + 24 * i + 4 * j:at + 12 + 24 * i + 4 * j],
                                "little") for j in range(6)]
            name = data[at + e[0]:at + e[0] + e[1]].decode()
            (tmp_path / "k.spv").write_bytes(data[at + e[2]:at + e[2] + 4 * e[3]])
            dis = subprocess.run(["spirv-dis", str(tmp_path / "k.spv")],
                                 capture_output=True, text=True)
            assert dis.returncode == 0, dis.stderr
            caps[name] = "OpCapability GroupNonUniformArithmetic" in dis.stdout
        assert sum(caps.values()) == 3 and len(caps) > 3, caps
        assert all(has == name.endswith("_subgroups") for name, has in caps.items())
    shapes = [(3, 1000, 777, 300)] if static else [(3, 1000, 777, 300), (2, 40, 30, 20),
                                                    (20000, 300, 256, 5)]
    for rows, cols, k, n in shapes:
        inputs = {"x": rng.standard_normal((rows, cols)).astype(np.float32),
                  "v": rng.standard_normal((1, k)).astype(np.float32),
                  "w": rng.standard_normal((n, k)).astype(np.float32)}
        # float64 references, and the scale a float32 sum's error grows with
        # (the sum of the terms' magnitudes): a long sum of random signs can
        # be much smaller than its terms.
        x, v, w = (inputs[k].astype(np.float64) for k in ("x", "v", "w"))
        want = {"row_sum": (x.sum(1), np.abs(x).sum(1).max()),
                "row_max": (x.max(1), np.abs(x).max()),
                "row_min": (x.min(1), np.abs(x).max()),
                "gemv": (v @ w.T, (np.abs(v) @ np.abs(w).T).max()),
                "total": (np.array(x.sum()), np.abs(x).sum())}
        ort = onnxruntime_outputs(path, inputs)
        args = []
        for name, value in inputs.items():
            np.save(tmp_path / f"{name}.npy", value)
            args += ["--input", f"{name}={tmp_path / f'{name}.npy'}"]
        for subgroups in ("1", "0"):
            out = tmp_path / f"out{rows}_{subgroups}"
            r = ssm_run(so, *args, "--output-dir", out,
                        env=dict(POISON, SSM_VULKAN_SUBGROUPS=subgroups,
                                 SSM_VULKAN_STATS="1"))
            assert r.returncode == 0, r.stdout + r.stderr
            state = "on" if subgroups == "1" else "off"
            assert f"subgroup reductions {state}" in r.stderr, r.stderr
            for name, (expected, scale) in want.items():
                got = np.load(out / f"{name}.npy")
                assert got.shape == ort[name].shape == expected.shape, name
                err = np.abs(got - expected).max() / scale
                assert err < 1e-6, (name, rows, cols, k, n, subgroups, err)


@pytest.mark.parametrize("name", sorted(FUSED_ATTENTION_CASES))
def test_vulkan_fused_attention(name, rng, tmp_path):
    """Softmax attention as the GPU targets' fused kernel
    (ssm-fuse-attention, then ssm-linalg-to-gpu's FlashAttention kernel):
    GQA (the query heads of a kv head packed into one block's rows),
    causal alignment to the end of the keys, sliding windows, softcap,
    additive masks (broadcast, also along a batch size known only at run
    time), rows that see no key, a decode step, value head sizes that are
    not a multiple of the kernel's 16 columns, query and key counts that
    are not multiples of its 64-row tiles; against the float64 reference of
    SEMANTICS.md, fresh random inputs, poisoned device buffers, tolerance
    1e-5 of the largest output. The same model with --fused-attention=false
    (the chunked mixer form) agrees; a value head size past 128 is not
    fused. A single query known at compile time (decode) runs the step
    kernel (up to 16 query heads per kv head)."""
    source, inputs, (want,), fused = fused_attention_case(name, rng)
    src = tmp_path / "attention.mlir"
    src.write_text(source)
    r = subprocess.run([str(SSMC), str(src), "--target=vulkan", "--compile-to=algorithm",
                        "--emit=mlir", "-o", "-"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert ("ssm.fused_attention" in r.stdout) == fused, r.stdout
    outs = {}
    for flag in ("true", "false"):
        so = tmp_path / f"attention_{flag}.so"
        r = subprocess.run([str(SSMC), str(src), "--target=vulkan", VALIDATE,
                            f"--fused-attention={flag}", "-o", str(so)],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        flags = []
        for n, a in inputs.items():
            np.save(tmp_path / f"{n}.npy", a)
            flags += ["--input", f"{n}={tmp_path / f'{n}.npy'}"]
        # One query at compile time, at most 16 query heads per kv head:
        # the step kernel.
        b_, l_, s_, hq, hkv, d, dv, attrs = FUSED_ATTENTION_CASES[name]
        step = attrs.get("static", False) and hq // hkv <= 16 and flag == "true"
        assert (b"_attention_step" in so.read_bytes()) == step
        r = ssm_run(so, *flags, "--output-dir", tmp_path / flag)
        assert r.returncode == 0, r.stdout + r.stderr
        outs[flag] = np.load(tmp_path / flag / "result0.npy")
        scale = np.abs(want).max()
        assert np.abs(outs[flag] - want).max() <= 1e-5 * scale, flag
    if name == "empty_rows":
        _, l, s = FUSED_ATTENTION_CASES[name][:3]
        assert not outs["true"][:, :l - s].any()


def test_python_compile_fused_attention_option(rng, tmp_path):
    """ssmc.compile(..., fused_attention=...) as ssmc's --fused-attention:
    the fused kernel (named *_attention in the library) only when True;
    both builds match the float64 reference."""
    import reference as ref
    b, l, s, hq, hkv, d, dv, attrs = FUSED_ATTENTION_CASES["causal_gqa"]
    src = tmp_path / "attention.mlir"
    src.write_text(attention_source(b, l, s, hq, hkv, d, dv, attrs))
    q = rng.standard_normal((b, l, hq, d)).astype(np.float32)
    k = rng.standard_normal((b, s, hkv, d)).astype(np.float32)
    v = rng.standard_normal((b, s, hkv, dv)).astype(np.float32)
    want = ref.attention(*(a.astype(np.float64) for a in (q, k, v)), causal=True)
    for fused in (True, False):
        so = tmp_path / f"attention_{fused}.so"
        m = ssmc.compile(src, so, target="vulkan", fused_attention=fused)
        assert (b"_attention" in so.read_bytes()) == fused
        y = m.run({"arg0": q, "arg1": k, "arg2": v})["result0"]
        assert np.abs(y - want).max() <= 1e-5 * np.abs(want).max(), fused


# name: (op, b, l, h, g, p, n, options): op "ssd" or "discrete"; options
# from D (per head), Dhp (per head dim), bias (dt_bias), softplus, limit
# (dt_limit), z (gate; Discrete Mamba-2's with z_bias), init
# (initial_state), signed (some steps with dt A > 0, clamped to decay 1),
# slow (decays near 1: the initial state and early tokens reach the end).
@pytest.mark.parametrize("name", sorted(FUSED_SSD_CASES))
def test_vulkan_fused_ssd(name, rng, tmp_path):
    """Mamba-2 SSD and Discrete Mamba-2 as the GPU targets' fused kernels
    (ssm-fuse-ssd, then ssm-linalg-to-gpu's C B^T and chunk-scan kernels):
    every optional operand, groups shared by several heads, head and state
    sizes that do not fill the kernels' tiles, sequences of one token, of
    less than a chunk and of several chunks with a partial last one, steps
    whose decay is clamped; y and the final state against the float64
    reference of SEMANTICS.md, fresh random inputs, poisoned device
    buffers, tolerance 1e-5 of the largest output. The same model with
    --fused-ssd=false (the chunked mixer form) agrees; a state size past
    128 is not fused. Both the segmented scan (few blocks: scan, then
    fix-up) and the unsegmented one (many blocks) are covered, and the step
    kernel of a sequence size of 1 known at compile time (decode)."""
    source, inputs, want, n = fused_ssd_case(name, rng)
    src = tmp_path / "ssd.mlir"
    src.write_text(source)
    r = subprocess.run([str(SSMC), str(src), "--target=vulkan", "--compile-to=algorithm",
                        "--emit=mlir", "-o", "-"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert ("ssm.fused_ssd" in r.stdout) == (n <= 128), r.stdout
    flags = []
    for key, a in inputs.items():
        np.save(tmp_path / f"{key}.npy", a)
        flags += ["--input", f"{key}={tmp_path / f'{key}.npy'}"]
    for flag in ("true", "false"):
        so = tmp_path / f"ssd_{flag}.so"
        r = subprocess.run([str(SSMC), str(src), "--target=vulkan", VALIDATE,
                            f"--fused-ssd={flag}", "-o", str(so)],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        # A sequence size of 1 at compile time: the step kernel instead.
        kernel = b"_ssd_step" if "static" in FUSED_SSD_CASES[name][7] else b"_ssd_scan"
        assert (kernel in so.read_bytes()) == (flag == "true" and n <= 128)
        r = ssm_run(so, *flags, "--output-dir", tmp_path / flag)
        assert r.returncode == 0, r.stdout + r.stderr
        for i, w in enumerate(want):
            got = np.load(tmp_path / flag / f"result{i}.npy")
            assert got.shape == w.shape
            err = np.abs(got - w).max() / np.abs(w).max()
            assert err <= 1e-5, (flag, i, err)


def test_python_compile_fused_ssd_option(rng, tmp_path):
    """ssmc.compile(..., fused_ssd=...) as ssmc's --fused-ssd: the fused
    kernels (named *_ssd_scan in the library) only when True; both builds
    match the float64 reference (y and the final state)."""
    source, inputs, want, _ = fused_ssd_case("full_options", rng)
    src = tmp_path / "ssd.mlir"
    src.write_text(source)
    for fused in (True, False):
        so = tmp_path / f"ssd_{fused}.so"
        m = ssmc.compile(src, so, target="vulkan", fused_ssd=fused)
        assert (b"_ssd_scan" in so.read_bytes()) == fused
        outs = m.run(inputs)
        for i, w in enumerate(want):
            got = outs[f"result{i}"]
            assert np.abs(got - w).max() <= 1e-5 * np.abs(w).max(), (fused, i)
