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
from pathlib import Path

import numpy as np
import onnx
import pytest

from harness import BUILD
from onnx_tools import SSM_RUN, SSMC, compile_onnx
import zoo  # noqa: E402 (examples/ is put on the path by onnx_tools)
from fused_cases import fused_ssd_case  # noqa: E402

sys.path.insert(0, str(BUILD / "python"))
import ssmc  # noqa: E402

CUDA = os.environ.get("CUDA_PATH") or "/usr/local/cuda"
PTXAS = shutil.which("ptxas") or os.path.join(CUDA, "bin", "ptxas")
HAVE_PTXAS = os.path.exists(PTXAS)
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



@pytest.mark.parametrize("name,loss", [("llama", "cross-entropy"),
                                       ("mamba3", "hidden-alignment")])
def test_training_compiles_for_cuda(name, loss, tmp_path):
    """--train with --target=cuda: the same training entry points and
    signatures as the CPU build (the gradient kernels assembled by ptxas when
    the toolkit is here); without the driver, ssmc.Trainer and the C
    runtime's ssm_trainer fail with a device error, never a crash.
    bench/torch_training_check.py runs these builds on a GPU against PyTorch
    autograd."""
    path = tmp_path / f"{name}.onnx"
    onnx.save(zoo.build(name, seed=5), path)
    flags = ["--train", f"--train-loss={loss}"]
    cpu = compile_onnx(path, tmp_path / "cpu", *flags)
    gpu = compile_onnx(path, tmp_path / "cuda", *flags, "--target=cuda",
                       "--cuda-arch=sm_90a")
    cpu_info, cpu_entries = info(cpu)
    gpu_info, gpu_entries = info(gpu)
    assert gpu_info["target"] == "cuda"
    assert gpu_entries == cpu_entries
    assert list(gpu_entries) == ["main", "loss", "loss_grad", "train_step"]
    if HAVE_DRIVER:
        return
    m = ssmc.load(gpu)
    from onnx import numpy_helper
    inits = {i.name: numpy_helper.to_array(i) for i in onnx.load(path).graph.initializer}
    trainer = ssmc.Trainer(m, inits)
    ids = np.random.default_rng().integers(0, 16, (1, 4))
    teacher = None
    labels = ids
    if loss == "hidden-alignment":
        labels = None
        teacher = {i["name"]: np.zeros([1, 4] + i["shape"][2:], np.float32)
                   for i in m.signature("loss")["inputs"] if i["name"].startswith("hidden.")}
    with pytest.raises(ssmc.DeviceError, match="the CUDA driver is not available"):
        trainer.step(ids, labels, teacher=teacher)
    assert trainer.steps == 0
    # The C runtime's trainer keeps a device model's tensors in device
    # memory: without the driver, creating one fails with a device error.
    from test_runtime import load_runtime, wrap
    rt = load_runtime()
    model = ctypes.c_void_p()
    assert rt.ssm_model_load(str(gpu).encode(), ctypes.byref(model)) == 0
    names = [i["name"] for i in m.signature("train_step")["inputs"]
             if i["name"] in inits]
    params = [np.ascontiguousarray(inits[n], dtype=np.float32) for n in names]
    wrapped = [wrap(rt, p) for p in params]
    arr = (ctypes.c_void_p * len(wrapped))(*[w.value for w in wrapped])
    trainer_c = ctypes.c_void_p()
    assert rt.ssm_trainer_create(model, arr, len(wrapped), ctypes.byref(trainer_c)) == 5
    assert b"the CUDA driver is not available" in rt.ssm_last_error()
    assert not trainer_c.value
    for w in wrapped:
        rt.ssm_tensor_release(w)
    rt.ssm_model_release(model)

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
    with pytest.raises(ssmc.CompileError,
                       match="--matmul-precision must be tf32x3, tf32 or ieee, got 'fp16'"):
        ssmc.compile(path, target="cuda", matmul_precision="fp16")
    r = subprocess.run([str(SSMC), str(path), "--target=cuda", "--matmul-precision=bf16",
                        "-o", str(tmp_path / "m.so")], capture_output=True, text=True)
    assert r.returncode == 1
    assert "--matmul-precision must be tf32x3, tf32 or ieee, got 'bf16'" in r.stderr


def embedded_ptx(so):
    """The PTX text embedded in a --cuda-format=ptx model library."""
    data = Path(so).read_bytes()
    start = data.index(b".version ")
    return data[start:data.index(b"\0", start)].decode()


def test_cuda_matmul_precision(rng, tmp_path):
    """--matmul-precision picks how the fused SSD scan multiplies: on tensor
    cores (mma.sync m16n8k8 on TF32 operands) once per product (tf32) or
    three times (tf32x3: high and low TF32 parts), or on the SIMT units
    (ieee, the default, and always below sm_80, which has no TF32 mma). Each
    build's PTX assembles for its architecture when ptxas is present; the
    GPU machine checks the results (bench/gpu_fused_cases.py)."""
    source, _, _, _ = fused_ssd_case("mamba2_sizes", rng)
    src = tmp_path / "ssd.mlir"
    src.write_text(source)
    mma = "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32"
    counts = {}
    for arch, precision in (("sm_90a", "tf32x3"), ("sm_90a", "tf32"), ("sm_90a", "ieee"),
                            ("sm_90a", None), ("sm_80", "tf32x3"), ("sm_75", "tf32x3")):
        so = tmp_path / f"{arch}_{precision}.so"
        flag = [f"--matmul-precision={precision}"] if precision else []
        r = subprocess.run([str(SSMC), str(src), "--target=cuda", f"--cuda-arch={arch}",
                            "--cuda-format=ptx", *flag, "-o", str(so)],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        ptx = embedded_ptx(so)
        assert "_ssd_scan" in ptx
        counts[arch, precision] = ptx.count(mma)
        # 256-thread blocks with dynamic workgroup memory only with tensor cores.
        assert ("__dynamic_shmem" in ptx) == (counts[arch, precision] > 0)
        if HAVE_PTXAS:
            (tmp_path / "k.ptx").write_text(ptx)
            r = subprocess.run([str(PTXAS), f"-arch={arch}", str(tmp_path / "k.ptx"),
                                "-o", str(tmp_path / "k.cubin")], capture_output=True, text=True)
            assert r.returncode == 0, r.stderr
    assert counts["sm_90a", "tf32"] > 0
    assert counts["sm_90a", "tf32x3"] == 3 * counts["sm_90a", "tf32"]
    assert counts["sm_80", "tf32x3"] == counts["sm_90a", "tf32x3"]
    assert counts["sm_90a", "ieee"] == 0 and counts["sm_75", "tf32x3"] == 0
    assert counts["sm_90a", None] == 0  # the default: ieee


SILU = """
func.func @silu(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x8xf32>
  %e = tensor.empty(%n) : tensor<?x8xf32>
  %one = arith.constant 1.0 : f32
  %r = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<?x8xf32>) outs(%e : tensor<?x8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %m = arith.negf %v : f32
    %ex = math.exp %m : f32
    %d = arith.addf %ex, %one : f32
    %s = arith.divf %v, %d : f32
    linalg.yield %s : f32
  } -> tensor<?x8xf32>
  return %r : tensor<?x8xf32>
}
"""


def test_device_tensor_api(tmp_path):
    """The device tensor calls of the C API: which device a model runs on,
    host copies, and the errors where no device memory can be had (a CPU
    model, or no driver)."""
    from test_runtime import load_runtime, wrap
    src = tmp_path / "silu.mlir"
    src.write_text(SILU)
    libs = {}
    for target in ("cpu", "cuda"):
        so = tmp_path / f"silu-{target}.so"
        r = subprocess.run([str(BUILD / "bin" / "ssmc"), str(src), "-o", str(so),
                            f"--target={target}"], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        libs[target] = so
    rt = load_runtime()
    rt.ssm_model_device.restype = ctypes.c_char_p
    models = {}
    for target, so in libs.items():
        m = ctypes.c_void_p()
        assert rt.ssm_model_load(str(so).encode(), ctypes.byref(m)) == 0
        models[target] = m
        assert rt.ssm_model_device(m) == target.encode()
    x = np.random.default_rng().standard_normal((3, 8)).astype(np.float32)
    host = wrap(rt, x)
    assert rt.ssm_tensor_is_device(host) == 0
    # A host copy of a host tensor: equal, and its own memory.
    copy = ctypes.c_void_p()
    assert rt.ssm_tensor_to_host(host, ctypes.byref(copy)) == 0
    assert rt.ssm_tensor_data(copy) != x.ctypes.data
    got = np.ctypeslib.as_array(ctypes.cast(rt.ssm_tensor_data(copy),
                                            ctypes.POINTER(ctypes.c_float)), (3, 8))
    np.testing.assert_array_equal(got, x)
    rt.ssm_tensor_release(copy)
    # CPU models have no device memory.
    dev = ctypes.c_void_p()
    assert rt.ssm_tensor_to_device(models["cpu"], host, ctypes.byref(dev)) == 1
    assert b"this model runs on the CPU" in rt.ssm_last_error()
    assert not dev.value
    outs = (ctypes.c_void_p * 1)()
    ins = (ctypes.c_void_p * 1)(host)
    assert rt.ssm_run_device(models["cpu"], None, ins, 1, outs, 1) == 1
    assert b"ssm_run_device: this model runs on the CPU" in rt.ssm_last_error()
    if not HAVE_DRIVER:
        # SSM_ERROR_DEVICE (5) with the driver's absence, from every path.
        assert rt.ssm_tensor_to_device(models["cuda"], host, ctypes.byref(dev)) == 5
        assert b"the CUDA driver is not available" in rt.ssm_last_error()
        assert rt.ssm_run_device(models["cuda"], None, ins, 1, outs, 1) == 5
        assert b"the CUDA driver is not available" in rt.ssm_last_error()
        assert not outs[0]
    rt.ssm_tensor_release(host)
    for m in models.values():
        rt.ssm_model_release(m)
