"""The ssmc Python package (python/), from the build tree (build/python):
every zoo model run from Python equals ssm-run on the same library and
inputs; generate equals step-by-step decode; sampling options; bad inputs
raise ssmc errors with the runtime's or compiler's message; lifetimes (a
model dropped while a session or its outputs live) never crash; in-process
compilation from a path and from bytes."""
import gc
import os
import subprocess
import sys

import numpy as np
import onnx
import pytest

from harness import BUILD, ROOT
from onnx_tools import compile_onnx, run_model
import zoo  # noqa: E402 (examples/ is put on the path by onnx_tools)

sys.path.insert(0, str(BUILD / "python"))
try:
    import ssmc  # noqa: E402
except ImportError as e:  # a build without the package is a failed set-up
    raise ImportError(f"build/python has no ssmc package ({e}); scripts/build.sh "
                      "builds it (nanobind from scripts/requirements.txt)") from e



@pytest.fixture(scope="module")
def zoo_libs(tmp_path_factory):
    out = tmp_path_factory.mktemp("pyzoo")
    cache = {}

    def get(name):
        if name not in cache:
            model = zoo.build(name, seed=5)
            path = out / f"{name}.onnx"
            onnx.save(model, path)
            cache[name] = (path, compile_onnx(path, out / name))
        return cache[name]
    return get


@pytest.mark.parametrize("name", list(zoo.MODELS))
def test_run_equals_ssm_run(zoo_libs, name, tmp_path):
    _, so = zoo_libs(name)
    model = ssmc.load(so)
    assert model.entry_points[0] == "main"
    sig = model.signature()
    assert [i["name"] for i in sig["inputs"]] == ["input_ids"]
    ids = np.random.default_rng().integers(0, 64, (2, 7)).astype(np.int64)
    got = model.run({"input_ids": ids})
    want = run_model(so, {"input_ids": ids}, tmp_path)
    assert list(got) == [o["name"] for o in sig["outputs"]]
    for k, v in want.items():
        assert got[k].dtype == v.dtype and got[k].shape == v.shape
        np.testing.assert_array_equal(got[k], v)


def test_generate_equals_step_by_step(zoo_libs):
    _, so = zoo_libs("hybrid")
    model = ssmc.load(so)
    assert {"prefill", "decode"} <= set(model.entry_points)
    rng = np.random.default_rng()
    prompt = rng.integers(0, 64, (2, 6))
    session = model.session(batch=2)
    new = session.generate(prompt, max_new_tokens=5)
    assert new.shape == (2, 5) and session.position == 6 + 4
    # By hand: prefill, then argmax and decode.
    manual = model.session(batch=2)
    logits = manual.prefill(prompt)
    assert logits.shape[:2] == (2, 1)
    toks = []
    for i in range(5):
        nxt = logits[:, -1].argmax(-1)
        toks.append(nxt)
        if i < 4:
            logits = manual.decode(nxt[:, None])
    np.testing.assert_array_equal(new, np.stack(toks, 1))
    # The greedy tokens are main's argmax over the whole sequence.
    full = np.concatenate([prompt, new[:, :-1]], 1)
    main = model.run({"input_ids": full})["logits"]
    np.testing.assert_array_equal(main[:, 5:].argmax(-1), new)
    # reset: the same prompt gives the same tokens.
    session.reset()
    assert session.position == 0
    np.testing.assert_array_equal(session.generate(prompt, 5), new)


def test_sampling(zoo_libs):
    _, so = zoo_libs("mamba2")
    model = ssmc.load(so)
    prompt = np.random.default_rng().integers(0, 64, (1, 4))
    greedy = model.session().generate(prompt, 6)
    # top_k = 1 is greedy at any temperature; a seed makes sampling repeatable.
    top1 = model.session().generate(prompt, 6, sampling=dict(temperature=2.0, top_k=1), seed=1)
    np.testing.assert_array_equal(top1, greedy)
    s = ssmc.Sampling(temperature=1.5, top_p=0.9)
    a = model.session().generate(prompt, 6, sampling=s, seed=7)
    b = model.session().generate(prompt, 6, sampling=s, seed=7)
    np.testing.assert_array_equal(a, b)
    # Hot sampling of many draws covers more than the argmax token.
    logits = np.zeros((1, 64))
    logits[0, 3] = 1.0
    draws = [ssmc.Sampling(temperature=1.0).pick(logits, np.random.default_rng(i))[0]
             for i in range(50)]
    assert len(set(draws)) > 5
    # top_p keeps the smallest set reaching p: here only token 3.
    logits[0, 3] = 20.0
    assert {ssmc.Sampling(temperature=1.0, top_p=0.5).pick(logits, np.random.default_rng(i))[0]
            for i in range(20)} == {3}
    # stop_token: sequences stop early, padded with it.
    stop = int(greedy[0, 2])
    out = model.session().generate(prompt, 6, stop_token=stop)
    assert out.shape[1] == list(greedy[0]).index(stop) + 1
    for bad in (dict(temperature=-1), dict(top_k=-2), dict(top_p=0.0), dict(top_p=1.5)):
        with pytest.raises(ssmc.InvalidArgumentError):
            ssmc.Sampling(**bad)


class DLPackOnly:
    """An array that offers only DLPack (as torch or cupy tensors do)."""

    def __init__(self, a):
        self.a = a

    def __dlpack__(self, **kw):
        return self.a.__dlpack__(**kw)

    def __dlpack_device__(self):
        return self.a.__dlpack_device__()


def test_inputs_and_dlpack(zoo_libs):
    _, so = zoo_libs("llama")
    model = ssmc.load(so)
    ids = np.random.default_rng().integers(0, 64, (1, 5)).astype(np.int64)
    want = model.run({"input_ids": ids})["logits"]
    np.testing.assert_array_equal(model.run({"input_ids": DLPackOnly(ids)})["logits"], want)
    # Lists, int32 and non-contiguous arrays are converted.
    np.testing.assert_array_equal(model.run({"input_ids": ids.tolist()})["logits"], want)
    np.testing.assert_array_equal(model.run({"input_ids": ids.astype(np.int32)})["logits"], want)
    wide = np.zeros((1, 10), np.int64)
    wide[:, ::2] = ids
    np.testing.assert_array_equal(model.run({"input_ids": wide[:, ::2]})["logits"], want)


def test_inputs_are_read_only(tmp_path, rng):
    """Arrays passed in place are never written, even where the function's
    tensors would update them (insert_slice into an argument)."""
    src = tmp_path / "f.mlir"
    src.write_text("""
func.func @f(%a: tensor<6x6xf64>) -> (tensor<6x3xf64>, tensor<6x6xf64>) {
  %s = tensor.extract_slice %a[0, 3] [6, 3] [1, 1] : tensor<6x6xf64> to tensor<6x3xf64>
  %e = tensor.empty() : tensor<6x3xf64>
  %c = arith.constant 0.0 : f64
  %z = linalg.fill ins(%c : f64) outs(%e : tensor<6x3xf64>) -> tensor<6x3xf64>
  %i = tensor.insert_slice %z into %a[0, 3] [6, 3] [1, 1] : tensor<6x3xf64> into tensor<6x6xf64>
  return %s, %i : tensor<6x3xf64>, tensor<6x6xf64>
}
""")
    model = ssmc.compile(src, tmp_path / "f.so", generation="off")
    a = rng.standard_normal((6, 6))
    before = a.copy()
    out = model.run({"arg0": a})
    np.testing.assert_array_equal(a, before)
    np.testing.assert_array_equal(out["result0"], before[:, 3:])
    want = before.copy()
    want[:, 3:] = 0
    np.testing.assert_array_equal(out["result1"], want)


def test_outputs_own_their_buffers(tmp_path):
    """An entry point that returns one tensor twice (as CSE makes of equal
    results: the zero gradients of two unused parameters) gives outputs that
    each own their memory: independent arrays, each freed once. Run in a
    child process, since a double free aborts it."""
    src = tmp_path / "f.mlir"
    src.write_text("""
func.func @f(%a: tensor<3xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<3xf32>) {
  %e = tensor.empty() : tensor<4xf32>
  %c = arith.constant 0.0 : f32
  %z = linalg.fill ins(%c : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  return %z, %z, %a : tensor<4xf32>, tensor<4xf32>, tensor<3xf32>
}
""")
    ssmc.compile(src, tmp_path / "f.so", generation="off")
    child = f"""
import gc, numpy as np, ssmc
m = ssmc.load({str(tmp_path / "f.so")!r})
for _ in range(3):
    a = np.arange(3, dtype=np.float32)
    out = m.run({{"arg0": a}})
    out["result0"][:] = 7
    assert (out["result1"] == 0).all(), out
    assert (out["result2"] == a).all(), out
    del out
    gc.collect()
print("done")
"""
    r = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(BUILD / "python")})
    assert r.returncode == 0 and "done" in r.stdout, r.stderr


def test_errors(zoo_libs, tmp_path):
    path, so = zoo_libs("llama")
    model = ssmc.load(so)
    ids = np.zeros((1, 3), np.int64)
    with pytest.raises(ssmc.InvalidArgumentError, match="missing input 'input_ids'"):
        model.run({})
    with pytest.raises(ssmc.InvalidArgumentError, match="has no input 'x'"):
        model.run({"input_ids": ids, "x": ids})
    with pytest.raises(ssmc.InvalidArgumentError, match="must be int64, got float32"):
        model.run({"input_ids": ids.astype(np.float32)})
    with pytest.raises(ssmc.InvalidArgumentError, match="must have rank 2, got 1"):
        model.run({"input_ids": ids[0]})
    with pytest.raises(ssmc.InvalidArgumentError, match="must be int64, got float64"):
        model.run({"input_ids": DLPackOnly(np.zeros((1, 3)))})
    with pytest.raises(ssmc.NotFoundError):
        model.signature("nope")
    with pytest.raises(ssmc.NotFoundError):
        model.run({"input_ids": ids}, entry="nope")
    bogus = tmp_path / "bogus.so"
    bogus.write_bytes(b"not a library")
    with pytest.raises(ssmc.LoadError):
        ssmc.load(bogus)
    with pytest.raises(ssmc.Error):
        ssmc.load(tmp_path / "missing.so")
    session = model.session(batch=2)
    with pytest.raises(ssmc.InvalidArgumentError, match="one token per sequence"):
        session.decode(np.zeros((2, 2), np.int64))
    with pytest.raises(ssmc.InvalidArgumentError, match="tokens must be integers"):
        session.prefill(np.zeros((2, 2), np.float32))
    with pytest.raises(ssmc.InvalidArgumentError, match="batch must be at least 1"):
        model.session(batch=0)
    with pytest.raises(ssmc.InvalidArgumentError, match="KV caches"):
        session.reset(0)
    assert session.position == 0  # errors leave the state as it was
    with pytest.raises(ssmc.InvalidArgumentError):
        model.num_threads = -1


def test_lifetimes(zoo_libs):
    _, so = zoo_libs("mamba3")
    model = ssmc.load(so)
    session = model.session(batch=1)
    out = model.run({"input_ids": np.ones((1, 4), np.int64)})["logits"]
    first = session.prefill(np.ones((1, 3), np.int64))
    del model
    gc.collect()
    # The session keeps its model; outputs keep theirs.
    logits = session.decode(np.ones((1, 1), np.int64))
    assert logits.shape[:2] == (1, 1) and np.isfinite(logits).all()
    assert np.isfinite(out).all() and np.isfinite(first).all()
    del session
    gc.collect()
    assert float(out.sum()) == float(out.sum())


def test_compile_in_process(tmp_path):
    model_proto = zoo.build("mamba3", seed=2)
    path = tmp_path / "m.onnx"
    onnx.save(model_proto, path)
    m = ssmc.compile(path, tmp_path / "m.so", opt_level=1)
    assert (tmp_path / "m.so").exists() and m.compile_info["opt_level"] == 1
    assert {"main", "prefill", "decode"} <= set(m.entry_points)
    m2 = ssmc.compile(model_proto.SerializeToString(), generation="off")
    assert m2.entry_points == ["main"]
    ids = np.random.default_rng().integers(0, 64, (1, 6)).astype(np.int64)
    np.testing.assert_array_equal(m.run({"input_ids": ids})["logits"],
                                  m2.run({"input_ids": ids})["logits"])
    # A model whose generation cannot be derived: main only, and a note why.
    mamba2 = zoo.build("mamba2")
    cums = [n for n in mamba2.graph.node if n.op_type == "CumSum"]
    mamba2.graph.output.append(onnx.helper.make_tensor_value_info(
        cums[0].output[0], onnx.TensorProto.FLOAT, None))
    m3 = ssmc.compile(mamba2.SerializeToString())
    assert m3.entry_points == ["main"]
    assert any("no prefill/decode entry points" in n for n in m3.compile_notes)
    with pytest.raises(ssmc.CompileError, match="prefill_logits must be one of last, all"):
        ssmc.compile(path, prefill_logits="first")
    with pytest.raises(ssmc.CompileError, match="target 'tpu' is not available"):
        ssmc.compile(path, target="tpu")
    with pytest.raises(ssmc.CompileError):
        ssmc.compile(b"\x08\x01garbage")
    with pytest.raises(ssmc.NotFoundError):
        ssmc.compile(tmp_path / "missing.onnx")
    # Upstream's linalg.transpose parser crashes after this error: the
    # compiler recovers, the process lives on.
    bad = tmp_path / "bad.mlir"
    bad.write_text(
        "func.func @f(%t: tensor<2x3xf32>) -> tensor<3x2xf32> {\n"
        "  %e = tensor.empty() : tensor<3x2xf32>\n"
        "  %r = linalg.transpose ins(%t : tensor<2x3xf32>) outs(%e : tensor<3x2xf32>) permutation = [1, ?]\n"
        "  return %r : tensor<3x2xf32>\n}\n")
    with pytest.raises(ssmc.CompileError, match="the MLIR parser crashed on this input"):
        ssmc.compile(bad)


def test_runtime_extension_has_no_mlir(zoo_libs):
    """Loading and running a model from Python loads neither MLIR nor LLVM
    (only ssmc.compile does)."""
    _, so = zoo_libs("llama")
    code = (f"import sys; sys.path.insert(0, {str(BUILD / 'python')!r}); import ssmc, numpy;"
            f"m = ssmc.load({str(so)!r}); m.run({{'input_ids': numpy.ones((1, 2), 'int64')}});"
            "maps = open('/proc/self/maps').read();"
            "print('MLIR' in maps or 'LLVM' in maps)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"


def test_help_reads_well():
    doc = ssmc.Session.generate.__doc__
    assert "max_new_tokens" in doc and "sampling" in doc
    assert "DLPack" in ssmc.__doc__


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(BUILD / "python")
    return env


def test_example_script_runs():
    r = subprocess.run([sys.executable, str(ROOT / "examples" / "python_generate.py")],
                       capture_output=True, text=True, env=_env(), timeout=600)
    assert r.returncode == 0, r.stderr
    assert "greedy: " in r.stdout and "sampled:" in r.stdout


def test_readme_quickstart_runs_as_written(tmp_path):
    """The README's Python block, verbatim, next to a model.onnx."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Python", 1)[1]
    block = section.split("```python", 1)[1].split("```", 1)[0]
    onnx.save(zoo.build("hybrid", seed=1), tmp_path / "model.onnx")
    code = block + "\nprint(logits.shape, tokens.shape)\n"
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                       text=True, env=_env(), timeout=600)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[-2].startswith("(1, 3, ") and "(1, 16)" in r.stdout, r.stdout


@pytest.mark.skipif(os.environ.get("SSM_SKIP_PIP_INSTALL_TEST") == "1",
                    reason="SSM_SKIP_PIP_INSTALL_TEST=1")
def test_pip_install_in_fresh_venv(tmp_path):
    """`pip install ./python` into a new virtual environment (a second,
    separate build of the project, about 4 minutes on 2 cores), then the
    README quickstart against the installed module."""
    r = subprocess.run(["bash", str(ROOT / "scripts" / "check-pip-install.sh"),
                        str(tmp_path / "pip")], capture_output=True, text=True,
                       timeout=3000)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "pip install ./python: OK" in r.stdout
    assert str(tmp_path / "pip" / "venv" / "lib") in r.stdout
