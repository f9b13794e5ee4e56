"""The runtime (libssmrt) and ssm-run: self-contained model libraries, checked
inputs with clear errors, several outputs (including ones that alias an input
or a constant), concurrent runs, random inputs and --bench."""
import ctypes
import json
import os
import subprocess
import threading

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from harness import BUILD
from onnx_tools import SSM_RUN, compile_onnx, run_model

LIBSSMRT = BUILD / "lib" / "libssmrt.so"


@pytest.fixture(scope="module")
def multi(tmp_path_factory):
    """Inputs x [batch, seq, 4] (float32) and m [seq] (float32) share `seq`.
    Outputs: y = x * m[:, None], y split in two along the last axis, x itself,
    and a constant."""
    out = tmp_path_factory.mktemp("multi")
    c = numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(2, 3), "c")
    nodes = [
        helper.make_node("Unsqueeze", ["m", "ax"], ["m2"]),
        helper.make_node("Mul", ["x", "m2"], ["y"]),
        helper.make_node("Split", ["y", "sp"], ["y0", "y1"], axis=2),
        helper.make_node("Identity", ["x"], ["xc"]),
        helper.make_node("Identity", ["c"], ["cc"]),
    ]
    inits = [c, numpy_helper.from_array(np.array([1], np.int64), "ax"),
             numpy_helper.from_array(np.array([1, 3], np.int64), "sp")]
    f = TensorProto.FLOAT
    graph = helper.make_graph(
        nodes, "multi",
        [helper.make_tensor_value_info("x", f, ["batch", "seq", 4]),
         helper.make_tensor_value_info("m", f, ["seq"])],
        [helper.make_tensor_value_info("y", f, ["batch", "seq", 4]),
         helper.make_tensor_value_info("y0", f, ["batch", "seq", 1]),
         helper.make_tensor_value_info("y1", f, ["batch", "seq", 3]),
         helper.make_tensor_value_info("xc", f, ["batch", "seq", 4]),
         helper.make_tensor_value_info("cc", f, [2, 3])], inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    m.ir_version = 9
    onnx.save(m, out / "multi.onnx")
    return compile_onnx(out / "multi.onnx", out)


def test_model_library_is_self_contained(multi, tmp_path):
    for binary in (multi, SSM_RUN, LIBSSMRT):
        deps = subprocess.run(["ldd", str(binary)], capture_output=True, text=True).stdout
        assert "LLVM" not in deps and "MLIR" not in deps, deps
    # Run it with the dynamic loader reporting every library it loads; no
    # LLVM or MLIR library may appear, and nothing points the loader at them.
    env = {"PATH": os.environ["PATH"], "LD_DEBUG": "libs"}
    r = subprocess.run([str(SSM_RUN), str(multi), "--dim", "seq=3"], env=env,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    loaded = [l for l in r.stderr.splitlines() if "calling init:" in l]
    assert any("multi.so" in l for l in loaded)
    assert not any("LLVM" in l or "MLIR" in l for l in loaded), loaded


def test_several_outputs_and_aliases(multi, rng, tmp_path):
    x = rng.standard_normal((2, 5, 4)).astype(np.float32)
    m = rng.standard_normal(5).astype(np.float32)
    got = run_model(multi, {"x": x, "m": m}, tmp_path)
    y = x * m[:, None]
    np.testing.assert_allclose(got["y"], y, rtol=1e-6)
    np.testing.assert_allclose(got["y0"], y[..., :1], rtol=1e-6)
    np.testing.assert_allclose(got["y1"], y[..., 1:], rtol=1e-6)
    np.testing.assert_array_equal(got["xc"], x)
    np.testing.assert_array_equal(got["cc"], np.arange(6, dtype=np.float32).reshape(2, 3))


def ssm_run_fails(args, *needles):
    r = subprocess.run([str(SSM_RUN), *map(str, args)], capture_output=True, text=True)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert r.stderr.startswith("ssm-run: error: "), r.stderr
    for needle in needles:
        assert needle in r.stderr, r.stderr


def test_ssm_run_input_errors(multi, tmp_path):
    np.save(tmp_path / "x_i64.npy", np.zeros((2, 5, 4), np.int64))
    np.save(tmp_path / "x_rank2.npy", np.zeros((5, 4), np.float32))
    np.save(tmp_path / "x_bad4.npy", np.zeros((2, 5, 7), np.float32))
    np.save(tmp_path / "x.npy", np.zeros((2, 5, 4), np.float32))
    np.save(tmp_path / "m6.npy", np.zeros(6, np.float32))
    ssm_run_fails([multi, "--input", f"x={tmp_path / 'x_i64.npy'}"],
                  "input 'x' (#0) must be float32, got int64")
    ssm_run_fails([multi, "--input", f"x={tmp_path / 'x_rank2.npy'}"],
                  "input 'x' (#0) must have rank 3, got 2")
    ssm_run_fails([multi, "--input", f"x={tmp_path / 'x_bad4.npy'}"],
                  "must have size 4 in dimension 2, got 7")
    ssm_run_fails([multi, "--input", f"x={tmp_path / 'x.npy'}",
                   "--input", f"m={tmp_path / 'm6.npy'}"],
                  "input 'm' (#1) has seq = 6", "another input has seq = 5")
    ssm_run_fails([multi, "--input", f"nope={tmp_path / 'x.npy'}"], "no input named 'nope'")
    ssm_run_fails([multi, "--input", f"x={tmp_path / 'missing.npy'}"], "cannot open")
    (tmp_path / "bad.npy").write_bytes(b"not numpy at all")
    ssm_run_fails([multi, "--input", f"x={tmp_path / 'bad.npy'}"], "is not a .npy file")
    ssm_run_fails([LIBSSMRT], "is not an SSMC model library")
    ssm_run_fails([tmp_path / "nothing.so"], "cannot load")
    ssm_run_fails([multi, "--entry", "other"], "no entry point 'other'")
    ssm_run_fails([multi, "--bench", "0"], "--bench needs an integer >= 1")
    ssm_run_fails([multi, "--frobnicate"], "unknown option '--frobnicate'")
    ssm_run_fails([], "no model given")


def test_ssm_run_random_inputs_and_bench(multi):
    r = subprocess.run([str(SSM_RUN), str(multi), "--bench", "3", "--dim", "batch=2",
                        "--default-dim", "7"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["runs"] == 3 and report["inputs"] == {"x": [2, 7, 4], "m": [7]}
    assert 0 <= report["p10_ms"] <= report["median_ms"] <= report["p90_ms"]
    info = subprocess.run([str(SSM_RUN), str(multi), "--info"], capture_output=True,
                          text=True)
    assert '"mixer_form":"chunked","chunk_size":0' in info.stdout
    assert '{"name":"m","dtype":"float32","shape":["seq"]}' in info.stdout


class IOInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("dtype", ctypes.c_int), ("rank", ctypes.c_int64),
                ("dims", ctypes.POINTER(ctypes.c_int64)),
                ("dim_names", ctypes.POINTER(ctypes.c_char_p))]


def load_runtime():
    rt = ctypes.CDLL(str(LIBSSMRT))
    rt.ssm_last_error.restype = ctypes.c_char_p
    rt.ssm_model_signature.restype = ctypes.c_char_p
    rt.ssm_model_compile_info.restype = ctypes.c_char_p
    rt.ssm_tensor_data.restype = ctypes.c_void_p
    rt.ssm_tensor_shape.restype = ctypes.POINTER(ctypes.c_int64)
    rt.ssm_entry_num_inputs.restype = ctypes.c_int64
    return rt


def run_in_threads(functions):
    """Runs each function on a thread of its own and waits for all."""
    threads = [threading.Thread(target=f) for f in functions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def wrap(rt, a):
    t = ctypes.c_void_p()
    shape = (ctypes.c_int64 * a.ndim)(*a.shape)
    assert rt.ssm_tensor_wrap(0, a.ndim, shape, ctypes.c_void_p(a.ctypes.data),
                              ctypes.byref(t)) == 0
    return t


def test_c_api_checks_and_concurrent_runs(multi, rng):
    rt = load_runtime()
    model = ctypes.c_void_p()
    assert rt.ssm_model_load(str(multi).encode(), ctypes.byref(model)) == 0
    assert rt.ssm_entry_num_inputs(model, b"main") == 2
    info = IOInfo()
    assert rt.ssm_entry_input(model, b"main", 1, ctypes.byref(info)) == 0
    assert info.name == b"m" and info.rank == 1 and info.dims[0] == -1
    assert info.dim_names[0] == b"seq"
    assert rt.ssm_entry_input(model, b"main", 2, ctypes.byref(info)) == 2  # not found
    assert b"no input 2" in rt.ssm_last_error()

    # A missing input is an error status with a message, not a crash.
    outs = (ctypes.c_void_p * 5)()
    ins = (ctypes.c_void_p * 2)(None, None)
    assert rt.ssm_run(model, None, ins, 2, outs, 5) == 1
    assert b"input 'x' (#0) is missing" in rt.ssm_last_error()
    assert rt.ssm_run(model, None, ins, 1, outs, 5) == 1
    assert b"expects 2 inputs, got 1" in rt.ssm_last_error()

    # Threads share the model; each run gets its own outputs.
    x = rng.standard_normal((3, 6, 4)).astype(np.float32)
    m = rng.standard_normal(6).astype(np.float32)
    want = x * m[:, None]
    errors = []

    def worker():
        for _ in range(20):
            ins = (ctypes.c_void_p * 2)(wrap(rt, x), wrap(rt, m))
            outs = (ctypes.c_void_p * 5)()
            if rt.ssm_run(model, b"main", ins, 2, outs, 5) != 0:
                errors.append(rt.ssm_last_error())
                return
            n = want.size
            got = np.ctypeslib.as_array(
                ctypes.cast(rt.ssm_tensor_data(ctypes.c_void_p(outs[0])),
                            ctypes.POINTER(ctypes.c_float)),
                shape=(n,)).reshape(want.shape).copy()
            if not np.allclose(got, want, rtol=1e-6):
                errors.append("wrong result")
            for o in outs:
                rt.ssm_tensor_release(ctypes.c_void_p(o))
            for i in ins:
                rt.ssm_tensor_release(ctypes.c_void_p(i))

    run_in_threads([worker] * 4)
    assert not errors, errors
    rt.ssm_model_release(model)
