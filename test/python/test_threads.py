"""Parallel loops and buffer memory of model libraries (the model support
code, lib/Target/CPU/ModelSupport.c): matrix products split between threads
give the same bits for any number of threads and match onnxruntime; the
thread count is set through ssm-run, the C API and SSM_NUM_THREADS, with
clear errors; concurrent callers and repeated calls reusing kept buffers stay
correct."""
import ctypes
import json
import os
import subprocess

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from onnx_tools import SSM_RUN, compile_onnx, onnxruntime_outputs, run_model
from test_runtime import load_runtime, run_in_threads, wrap

D, N, HEADS, DH, V = 96, 200, 3, 37, 150


@pytest.fixture(scope="module")
def products(tmp_path_factory):
    """x (batch, seq, D) -> y = x W (outer-product kernel, N = 200 leaves a
    partial block of columns), t = y[..., :V] E^T with E (V, V) read
    transposed (dot-product kernel, K = 150 leaves a masked tail), and a
    batched product per head: s = (y heads) (y heads)^T (heads are outer
    loops of the kernel)."""
    out = tmp_path_factory.mktemp("threads")
    rng = np.random.default_rng(7)
    w = (rng.standard_normal((D, N)) / np.sqrt(D)).astype(np.float32)
    e = (rng.standard_normal((V, V)) / np.sqrt(V)).astype(np.float32)
    f = TensorProto.FLOAT
    inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(e, "e"),
             numpy_helper.from_array(np.array([0], np.int64), "s0"),
             numpy_helper.from_array(np.array([V], np.int64), "sv"),
             numpy_helper.from_array(np.array([HEADS * DH], np.int64), "sh"),
             numpy_helper.from_array(np.array([2], np.int64), "ax"),
             numpy_helper.from_array(np.array([0, 0, HEADS, DH], np.int64), "hs")]
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["y"]),
        helper.make_node("Slice", ["y", "s0", "sv", "ax"], ["yv"]),
        helper.make_node("Transpose", ["e"], ["et"], perm=[1, 0]),
        helper.make_node("MatMul", ["yv", "et"], ["t"]),
        helper.make_node("Slice", ["y", "s0", "sh", "ax"], ["yh"]),
        helper.make_node("Reshape", ["yh", "hs"], ["h4"]),
        helper.make_node("Transpose", ["h4"], ["q"], perm=[0, 2, 1, 3]),
        helper.make_node("Transpose", ["h4"], ["kt"], perm=[0, 2, 3, 1]),
        helper.make_node("MatMul", ["q", "kt"], ["s"]),
    ]
    graph = helper.make_graph(
        nodes, "products",
        [helper.make_tensor_value_info("x", f, ["batch", "seq", D])],
        [helper.make_tensor_value_info("y", f, ["batch", "seq", N]),
         helper.make_tensor_value_info("t", f, ["batch", "seq", V]),
         helper.make_tensor_value_info("s", f, ["batch", HEADS, "seq", "seq"])],
        inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    m.ir_version = 9
    onnx.save(m, out / "products.onnx")
    return out / "products.onnx", compile_onnx(out / "products.onnx", out)


def test_any_thread_count_gives_the_same_bits(products, rng, tmp_path):
    onnx_path, so = products
    # 2 x 67 rows: two blocks of rows, a partial register tile, and enough
    # work (rows x N x D multiply-adds) to run on several threads.
    x = rng.standard_normal((2, 67, D)).astype(np.float32)
    want = onnxruntime_outputs(onnx_path, {"x": x})
    results = []
    for threads in (1, 2, 3):
        work = tmp_path / str(threads)
        work.mkdir()
        got = run_model(so, {"x": x}, work, "--threads", str(threads))
        for name in ("y", "t", "s"):
            np.testing.assert_allclose(got[name], want[name], rtol=2e-4, atol=2e-4,
                                       err_msg=f"{name}, {threads} threads")
        results.append(got)
    for got in results[1:]:
        for name in ("y", "t", "s"):
            assert np.array_equal(got[name], results[0][name]), name


def test_thread_count_controls(products):
    _, so = products
    r = subprocess.run([str(SSM_RUN), str(so), "--threads", "0"],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "--threads needs an integer >= 1, got '0'" in r.stderr
    env = dict(os.environ, SSM_NUM_THREADS="3")
    r = subprocess.run([str(SSM_RUN), str(so), "--dim", "seq=5", "--bench", "1"],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["threads"] == 3
    r = subprocess.run([str(SSM_RUN), str(so), "--dim", "seq=5", "--bench", "1",
                        "--threads", "2"], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["threads"] == 2

    rt = load_runtime()
    rt.ssm_model_num_threads.restype = ctypes.c_int64
    model = ctypes.c_void_p()
    assert rt.ssm_model_load(str(so).encode(), ctypes.byref(model)) == 0
    assert rt.ssm_model_set_num_threads(model, ctypes.c_int64(-1)) == 1
    assert b"number of threads must be >= 0" in rt.ssm_last_error()
    assert rt.ssm_model_set_num_threads(None, ctypes.c_int64(2)) == 1
    assert rt.ssm_model_set_num_threads(model, ctypes.c_int64(5)) == 0
    assert rt.ssm_model_num_threads(model) == 5
    old = os.environ.get("SSM_NUM_THREADS")
    os.environ["SSM_NUM_THREADS"] = "4"
    try:
        assert rt.ssm_model_set_num_threads(model, ctypes.c_int64(0)) == 0
        assert rt.ssm_model_num_threads(model) == 4
    finally:
        if old is None:
            del os.environ["SSM_NUM_THREADS"]
        else:
            os.environ["SSM_NUM_THREADS"] = old
    rt.ssm_model_release(model)


def test_concurrent_callers_and_reused_buffers(products, rng):
    """Four Python threads call the model at once (one parallel loop runs at
    a time; the others run on their callers), many times, so that freed
    buffers are handed out again; every result is checked. Then the kept
    buffers are released and the model still runs."""
    onnx_path, so = products
    rt = load_runtime()
    model = ctypes.c_void_p()
    assert rt.ssm_model_load(str(so).encode(), ctypes.byref(model)) == 0
    assert rt.ssm_model_set_num_threads(model, ctypes.c_int64(2)) == 0
    inputs = [rng.standard_normal((1 + i % 2, 40 + 9 * i, D)).astype(np.float32)
              for i in range(4)]
    wants = [onnxruntime_outputs(onnx_path, {"x": x})["y"] for x in inputs]
    errors = []

    def call(x, want):
        ins = (ctypes.c_void_p * 1)(wrap(rt, x))
        outs = (ctypes.c_void_p * 3)()
        if rt.ssm_run(model, b"main", ins, 1, outs, 3) != 0:
            errors.append(rt.ssm_last_error())
            return
        got = np.ctypeslib.as_array(
            ctypes.cast(rt.ssm_tensor_data(ctypes.c_void_p(outs[0])),
                        ctypes.POINTER(ctypes.c_float)),
            shape=(want.size,)).reshape(want.shape).copy()
        if not np.allclose(got, want, rtol=2e-4, atol=2e-4):
            errors.append(f"wrong result for {x.shape}")
        for o in outs:
            rt.ssm_tensor_release(ctypes.c_void_p(o))
        rt.ssm_tensor_release(ctypes.c_void_p(ins[0]))

    def worker(i):
        for k in range(12):
            j = (i + k) % 4
            call(inputs[j], wants[j])

    run_in_threads([lambda i=i: worker(i) for i in range(4)])
    assert not errors, errors
    rt.ssm_model_release_memory(model)
    call(inputs[0], wants[0])
    assert not errors, errors
    rt.ssm_model_release(model)
