"""Stateful generation: ssmc derives prefill and decode from a model's main
(ssm-derive-generation); prefill of L tokens then k decode steps equals the
full forward over L + k tokens. The reference is independent of SSMC:
onnxruntime for the zoo models in standard ops, the float64 evaluator
(onnx_reference.py) for those written with the ai.ssmc domain; both over the
whole sequence the generator fed (the prompt and its greedy tokens).
Models compiled with the default --prefill-logits=last return the logits of
each prefill call's last token only; with --prefill-logits=all, of every
token. Tolerance: relative error 1e-4 in float32. Also: the runtime's generator API
(errors, state size, slot reset) through ctypes, and the models whose
generation cannot be derived yet."""
import ctypes
import json
import subprocess

import numpy as np
import onnx
import pytest

from harness import BUILD
from onnx_reference import float64_outputs
from onnx_tools import SSM_RUN, SSMC, compile_onnx, onnxruntime_outputs, rel_err, run_model
import zoo  # noqa: E402 (examples/ is put on the path by onnx_tools)

TOL = 1e-4
LIBSSMRT = BUILD / "lib" / "libssmrt.so"
# Every zoo model: those in standard ops (mamba2, hybrid) through the
# recognized causal conv, SSD quadratic form and causal attention.
GENERATING = list(zoo.MODELS)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    out = tmp_path_factory.mktemp("gen")
    cache = {}

    def get(name, prefill_logits="last"):
        key = (name, prefill_logits)
        if key not in cache:
            model = zoo.build(name, seed=3)
            path = out / f"{name}.onnx"
            onnx.save(model, path)
            cache[key] = (model, path,
                          compile_onnx(path, out / f"{name}-{prefill_logits}", "--generation=on",
                                       f"--prefill-logits={prefill_logits}"))
        return cache[key]
    return get


def returned_rows(length, chunk, steps, prefill_logits):
    """The token positions whose logits the generator's calls return: every
    token fed, or the last token of each prefill call, then every decode
    step."""
    if prefill_logits == "all":
        return list(range(length + steps))
    step = chunk or length
    ends = [min(at + step, length) - 1 for at in range(0, length, step)]
    return ends + list(range(length, length + steps))


def reference_logits(model, path, tokens):
    custom = any(o.domain == "ai.ssmc" for o in model.opset_import)
    if custom:
        return float64_outputs(model, {"input_ids": tokens})["logits"]
    return onnxruntime_outputs(path, {"input_ids": tokens})["logits"]


def generate(so, out_dir, *args):
    r = subprocess.run([str(SSM_RUN), str(so), "--output-dir", str(out_dir), *args],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    return report, np.load(out_dir / "tokens.npy"), np.load(out_dir / "logits.npy")


def check_generation(model, path, so, chunk, prefill_logits, tmp_path):
    rng = np.random.default_rng()
    batch, length, steps = 2, int(rng.integers(5, 12)), 6
    args = ["--generate", str(steps), "--prompt-len", str(length), "--batch", str(batch),
            "--seed", str(int(rng.integers(1 << 30))), "--int-max", "64"]
    if chunk:
        args += ["--prefill-chunk", str(chunk)]
    report, tokens, logits = generate(so, tmp_path, *args)
    rows = returned_rows(length, chunk, steps, prefill_logits)
    assert tokens.shape == (batch, length + steps + 1)
    assert logits.shape[:2] == (batch, len(rows))
    assert report["prompt_len"] == length and report["decode_steps"] == steps
    # Greedy: every generated token is the argmax of the logits before it.
    np.testing.assert_array_equal(tokens[:, length:],
                                  logits[:, rows.index(length - 1):].argmax(-1))
    want = reference_logits(model, path, tokens[:, :length + steps])[:, rows]
    err = rel_err(logits, want)
    assert err < TOL, f"relative error {err:.2e}"
    # And equal to the compiled main over the same tokens.
    (tmp_path / "main").mkdir()
    main = run_model(so, {"input_ids": tokens[:, :length + steps]}, tmp_path / "main")
    assert rel_err(logits, main["logits"][:, rows].astype(np.float64)) < TOL


@pytest.mark.parametrize("chunk", [None, 1, 3])
@pytest.mark.parametrize("name", GENERATING)
def test_prefill_then_decode_equals_full_forward(models, name, chunk, tmp_path):
    model, path, so = models(name)
    check_generation(model, path, so, chunk, "last", tmp_path)


@pytest.mark.parametrize("name", ["mamba2", "hybrid", "perhead_hybrid"])
def test_prefill_logits_all(models, name, tmp_path):
    """--prefill-logits=all: prefill returns the logits of every token."""
    model, path, so = models(name, "all")
    check_generation(model, path, so, 3, "all", tmp_path)


def test_generation_not_derivable_says_why(tmp_path):
    """A model that mixes tokens outside the ssm ops (here: the zoo Mamba-2
    with a cumulative sum feeding a second output, so its SSD is not
    recognized) compiles main only, and says which node is why."""
    model = zoo.build("mamba2")
    cums = [n for n in model.graph.node if n.op_type == "CumSum"]
    model.graph.output.append(onnx.helper.make_tensor_value_info(
        cums[0].output[0], onnx.TensorProto.FLOAT, None))
    path = tmp_path / "m.onnx"
    onnx.save(model, path)
    r = subprocess.run([str(SSMC), str(path), "-o", str(tmp_path / "m.so")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "note: no prefill/decode entry points" in r.stderr
    assert f"node '{cums[0].name}' (CumSum) scans along the sequence axis" in r.stderr
    r = subprocess.run([str(SSMC), str(path), "-o", str(tmp_path / "m.so"),
                        "--generation=on"], capture_output=True, text=True)
    assert r.returncode != 0 and "mixes tokens outside the ssm ops" in r.stderr
    r = subprocess.run([str(SSM_RUN), str(tmp_path / "m.so"), "--generate", "2"],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "has no prefill/decode entry points" in r.stderr


def test_generation_off_compiles_main_only(models, tmp_path):
    _, path, _ = models("mamba3")
    so = compile_onnx(path, tmp_path, "--generation=off")
    r = subprocess.run([str(SSM_RUN), str(so), "--info"], capture_output=True, text=True)
    assert "entry main" in r.stdout and "prefill" not in r.stdout


def test_signatures(models):
    _, _, so = models("llama")
    r = subprocess.run([str(SSM_RUN), str(so), "--info"], capture_output=True, text=True)
    sigs = {line.split(":")[0][len("entry "):]: json.loads(line.split(": ", 1)[1])
            for line in r.stdout.splitlines() if line.startswith("entry ")}
    assert list(sigs) == ["main", "prefill", "decode"]
    pre, dec = sigs["prefill"], sigs["decode"]
    layers = zoo.SIZES["tiny"]["layers"]
    assert pre["generation"] == "prefill" and dec["generation"] == "decode"
    assert pre["state"] == 1 + 2 * layers
    names = [i["name"] for i in pre["inputs"]]
    assert names[:2] == ["input_ids", "position"]
    assert names[2:4] == ["k_cache.0", "v_cache.0"]
    k = pre["inputs"][2]
    assert k["shape"][:2] == ["batch", "past"]
    assert pre["outputs"][3]["shape"][:2] == ["batch", "past + seq"]
    assert dec["inputs"][0]["shape"] == ["batch", 1]
    assert dec["outputs"][0]["shape"][:2] == ["batch", 1]
    assert dec["outputs"][3]["shape"][:2] == ["batch", "past + 1"]
    # The logits of prefill: the last token's row by default, every row with
    # --prefill-logits=all.
    assert pre["outputs"][0]["shape"][:2] == ["batch", 1]
    _, _, so_all = models("llama", "all")
    r = subprocess.run([str(SSM_RUN), str(so_all), "--info"], capture_output=True, text=True)
    pre_all = json.loads(next(line.split(": ", 1)[1] for line in r.stdout.splitlines()
                              if line.startswith("entry prefill")))
    assert pre_all["outputs"][0]["shape"][:2] == ["batch", "seq"]


def test_generate_errors(models, tmp_path):
    _, _, so = models("mamba3")
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((2, 3), np.float32))
    r = subprocess.run([str(SSM_RUN), str(so), "--generate", "2", "--input", f"x={bad}"],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "the prompt must be int64" in r.stderr
    r = subprocess.run([str(SSM_RUN), str(so), "--generate", "2", "--entry", "main"],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "--generate does not take --entry" in r.stderr
    # prefill returns the last token's logits: it needs at least one token.
    r = subprocess.run([str(SSM_RUN), str(so), "--entry", "prefill", "--dim", "batch=1",
                        "--dim", "seq=0"], capture_output=True, text=True)
    assert r.returncode == 1
    assert ("entry point 'prefill': input 'input_ids' (#0) must hold at least one token"
            in r.stderr)


def test_generate_bench(models, tmp_path):
    """--generate with --bench: N timed generations from an empty state after
    the warm-up ones, medians in the JSON; every run generates the same
    tokens as a single run."""
    _, _, so = models("mamba2")
    args = ["--generate", "3", "--prompt-len", "5", "--batch", "2", "--int-max", "64"]
    one, tokens, logits = generate(so, tmp_path / "one", *args)
    assert one["runs"] == 1 and one["warmup"] == 0
    rep, tokens2, logits2 = generate(so, tmp_path / "rep", *args, "--bench", "3",
                                     "--warmup", "2")
    assert rep["runs"] == 3 and rep["warmup"] == 2
    assert rep["ttft_ms"] >= rep["prefill_ms"] > 0 and rep["decode_ms_per_step"] > 0
    np.testing.assert_array_equal(tokens2, tokens)
    np.testing.assert_array_equal(logits2, logits)


# The C API through ctypes.

class Runtime:
    def __init__(self):
        rt = ctypes.CDLL(str(LIBSSMRT))
        rt.ssm_last_error.restype = ctypes.c_char_p
        rt.ssm_tensor_data.restype = ctypes.c_void_p
        rt.ssm_tensor_shape.restype = ctypes.POINTER(ctypes.c_int64)
        rt.ssm_tensor_rank.restype = ctypes.c_int64
        rt.ssm_generator_position.restype = ctypes.c_int64
        rt.ssm_generator_state_bytes.restype = ctypes.c_int64
        for f in ("ssm_generator_create", "ssm_generator_prefill", "ssm_generator_decode",
                  "ssm_generator_reset"):
            getattr(rt, f).restype = ctypes.c_int
        rt.ssm_generator_reset.argtypes = [ctypes.c_void_p, ctypes.c_int64]
        rt.ssm_generator_create.argtypes = [ctypes.c_void_p, ctypes.c_int64,
                                            ctypes.POINTER(ctypes.c_void_p)]
        self.rt = rt
        self.keep = []

    def error(self):
        return self.rt.ssm_last_error().decode()

    def load(self, so):
        model = ctypes.c_void_p()
        assert self.rt.ssm_model_load(str(so).encode(), ctypes.byref(model)) == 0, self.error()
        return model

    def generator(self, model, batch):
        g = ctypes.c_void_p()
        status = self.rt.ssm_generator_create(model, batch, ctypes.byref(g))
        return status, g

    def tokens(self, a):
        a = np.ascontiguousarray(a, np.int64)
        self.keep.append(a)
        t = ctypes.c_void_p()
        shape = (ctypes.c_int64 * a.ndim)(*a.shape)
        assert self.rt.ssm_tensor_wrap(4, a.ndim, shape, ctypes.c_void_p(a.ctypes.data),
                                       ctypes.byref(t)) == 0
        return t

    def step(self, g, a, decode=False):
        out = ctypes.c_void_p()
        f = self.rt.ssm_generator_decode if decode else self.rt.ssm_generator_prefill
        status = f(g, self.tokens(a), ctypes.byref(out))
        if status != 0:
            return status, None
        rank = self.rt.ssm_tensor_rank(out)
        shape = tuple(self.rt.ssm_tensor_shape(out)[i] for i in range(rank))
        data = ctypes.cast(self.rt.ssm_tensor_data(out), ctypes.POINTER(ctypes.c_float))
        logits = np.ctypeslib.as_array(data, shape=shape).copy()
        self.rt.ssm_tensor_release(out)
        return 0, logits


def test_generator_api(models):
    _, path, so = models("llama")
    rt = Runtime()
    model = rt.load(so)
    assert rt.generator(model, 0)[0] == 1 and "batch must be at least 1" in rt.error()
    status, g = rt.generator(model, 2)
    assert status == 0, rt.error()
    assert rt.rt.ssm_generator_position(g) == 0
    empty = rt.rt.ssm_generator_state_bytes(g)
    rng = np.random.default_rng()
    prompt = rng.integers(0, 64, (2, 5))
    status, first = rt.step(g, prompt)
    assert status == 0, rt.error()
    assert first.shape[:2] == (2, 1)  # the last prompt token's logits
    assert rt.rt.ssm_generator_position(g) == 5
    # The KV caches hold 5 tokens of every layer, head and dim (k and v), in
    # float32. The zoo Llama repeats its kv heads before the attention (as
    # exporters write GQA), and the recognized attention keeps them repeated,
    # so the cache has `heads` heads, not `kv_heads`.
    c = zoo.SIZES["tiny"]
    kv = 2 * c["layers"] * 2 * 5 * c["heads"] * (c["d"] // c["heads"]) * 4
    assert rt.rt.ssm_generator_state_bytes(g) == empty + kv
    # Errors leave the state as it was.
    assert rt.step(g, rng.integers(0, 64, (2, 2)), decode=True)[0] == 1
    assert "takes one token per sequence, got 2" in rt.error()
    assert rt.step(g, rng.integers(0, 64, (3, 1)), decode=True)[0] == 1
    assert "tokens must be int64 (batch = 2" in rt.error()
    assert rt.rt.ssm_generator_position(g) == 5
    assert rt.rt.ssm_generator_reset(g, 0) == 1
    assert "cannot be reset in a model with attention KV caches" in rt.error()
    assert rt.rt.ssm_generator_reset(g, 2) == 1 and "out of range" in rt.error()
    nxt = rng.integers(0, 64, (2, 1))
    status, second = rt.step(g, nxt, decode=True)
    assert status == 0, rt.error()
    want = onnxruntime_outputs(path, {"input_ids": np.concatenate([prompt, nxt], 1)})["logits"]
    assert rel_err(np.concatenate([first, second], 1), want[:, 4:]) < TOL
    # Reset all: the same prompt gives the same logits again.
    assert rt.rt.ssm_generator_reset(g, -1) == 0
    assert rt.rt.ssm_generator_position(g) == 0
    assert rt.rt.ssm_generator_state_bytes(g) == empty
    status, again = rt.step(g, prompt)
    assert status == 0 and np.array_equal(again, first)
    rt.rt.ssm_generator_release(g)
    rt.rt.ssm_model_release(model)


def test_generator_slot_reset(models):
    """In a model without KV caches one slot can start a new sequence while
    the other goes on."""
    model_proto, path, so = models("mamba3")
    rt = Runtime()
    model = rt.load(so)
    status, g = rt.generator(model, 2)
    assert status == 0, rt.error()
    rng = np.random.default_rng()
    a, b = rng.integers(0, 64, (2, 4)), rng.integers(0, 64, (2, 3))
    assert rt.step(g, a)[0] == 0
    assert rt.rt.ssm_generator_reset(g, 1) == 0, rt.error()
    status, logits = rt.step(g, b)
    assert status == 0, rt.error()
    slot0 = float64_outputs(model_proto, {"input_ids": np.concatenate([a, b], 1)[:1]})["logits"]
    slot1 = float64_outputs(model_proto, {"input_ids": b[1:]})["logits"]
    assert rel_err(logits[:1], slot0[:, -1:]) < TOL
    assert rel_err(logits[1:], slot1[:, -1:]) < TOL
    rt.rt.ssm_generator_release(g)
    rt.rt.ssm_model_release(model)


def test_model_without_generation(tmp_path):
    path = tmp_path / "m.onnx"
    onnx.save(zoo.build("mamba3"), path)
    so = compile_onnx(path, tmp_path, "--generation=off")
    rt = Runtime()
    model = rt.load(so)
    status, _ = rt.generator(model, 1)
    assert status == 2 and "no prefill/decode entry points" in rt.error()
    rt.rt.ssm_model_release(model)
