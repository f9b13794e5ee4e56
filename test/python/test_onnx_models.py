"""ONNX models compile with ssmc and match their references: the Hugging Face
exports in ../shared/fixtures/hf and test/fixtures/hf (hybrids, opset 23)
against PyTorch's logits (and against
onnxruntime at other batch and sequence sizes, since one model.so runs any),
the zoo models of examples/zoo.py in standard ops against onnxruntime, and
those written with the custom ai.ssmc domain against the float64 reference
(onnx_reference.py). Tolerance: relative error (max |diff| / max |ref|) below
1e-4 in float32."""
import subprocess

import numpy as np
import onnx
import pytest

from onnx_reference import float64_outputs
from harness import ROOT
from onnx_tools import (HF_FIXTURES, compile_onnx, onnxruntime_outputs, rel_err,
                        run_model)
import zoo  # noqa: E402 (examples/ is put on the path by onnx_tools)

TOL = 1e-4
REPO_HF = ROOT / "test" / "fixtures" / "hf"
# name -> (onnx file, reference npz, onnxruntime runs it)
REPO_MODELS = {
    "bamba": ("opset20/bamba", True),
    "nemotronh": ("opset20/nemotronh", True),
    "granitemoehybrid": ("opset20/granitemoehybrid", True),
    "llama_opset23": ("opset23/llama", False),
    "bamba_opset23": ("opset23/bamba", False),
}


def hf_files(model):
    """(onnx path, reference npz path, onnxruntime runs it) of a fixture:
    the shared exports (llama, mamba2) or the committed ones."""
    if model in REPO_MODELS:
        stem, ort_ok = REPO_MODELS[model]
        return REPO_HF / f"{stem}.onnx", REPO_HF / f"{stem}_ref.npz", ort_ok
    if HF_FIXTURES is None:
        pytest.skip("the Hugging Face fixtures (../shared/fixtures/hf) are not "
                    "on this machine; set SSM_HF_FIXTURES to their directory")
    return HF_FIXTURES / f"{model}_dynamo.onnx", HF_FIXTURES / f"{model}_ref.npz", True


HF = ["llama", "mamba2", *REPO_MODELS]


@pytest.fixture(scope="module")
def hf_models(tmp_path_factory):
    out = tmp_path_factory.mktemp("hf")
    cache = {}

    def get(model):
        if model not in cache:
            cache[model] = compile_onnx(hf_files(model)[0], out / model)
        return cache[model]
    return get


@pytest.mark.parametrize("model", HF)
def test_hf_export_matches_pytorch(hf_models, model, tmp_path):
    ref = np.load(hf_files(model)[1])
    got = run_model(hf_models(model), {"input_ids": ref["input_ids"]}, tmp_path)
    assert got["logits"].shape == ref["logits"].shape
    err = rel_err(got["logits"], ref["logits"])
    print(f"{model}: relative error vs PyTorch {err:.3g}")
    assert err < TOL


@pytest.mark.parametrize("model", [m for m in HF if m not in REPO_MODELS or REPO_MODELS[m][1]])
@pytest.mark.parametrize("batch,seq", [(1, 2), (3, 37)])
def test_hf_export_dynamic_shapes(hf_models, model, batch, seq, rng, tmp_path):
    path, _, _ = hf_files(model)
    ids = rng.integers(0, 512, (batch, seq)).astype(np.int64)
    want = onnxruntime_outputs(path, {"input_ids": ids})
    got = run_model(hf_models(model), {"input_ids": ids}, tmp_path)
    assert got["logits"].shape == (batch, seq, 512)
    assert rel_err(got["logits"], want["logits"]) < TOL


def check_zoo_model(name, reference, rng, tmp_path, *extra):
    import onnx
    model = zoo.build(name, "tiny", seed=int(rng.integers(1 << 30)))
    path = tmp_path / f"{name}.onnx"
    onnx.save(model, path)
    so = compile_onnx(path, tmp_path, *extra)
    for batch, seq in [(2, 9), (1, 1), (3, 20)]:
        ids = rng.integers(0, 128, (batch, seq)).astype(np.int64)
        want = reference(path, model, {"input_ids": ids})
        got = run_model(so, {"input_ids": ids}, tmp_path)
        err = rel_err(got["logits"], want["logits"])
        assert err < TOL, f"{name} at batch {batch}, seq {seq}: {err}"


@pytest.mark.parametrize("name", ["llama", "mamba2", "hybrid", "llama23", "mamba2_la",
                                  "gated_deltanet", "llamba", "llamba_hybrid"])
def test_zoo_model_matches_onnxruntime(name, rng, tmp_path):
    check_zoo_model(name, lambda path, model, feeds: onnxruntime_outputs(path, feeds),
                    rng, tmp_path)


@pytest.mark.parametrize("name", ["discrete_mamba2", "mamba3", "mamba3_mimo",
                                  "perhead_hybrid"])
def test_zoo_model_matches_float64_reference(name, rng, tmp_path):
    check_zoo_model(name, lambda path, model, feeds: float64_outputs(model, feeds),
                    rng, tmp_path)


@pytest.mark.parametrize("threshold", [0, 1])
def test_constant_data_threshold(threshold, rng, tmp_path):
    """Every weight through LLVM (0), or every weight in the data file linked
    with .incbin into .lrodata (1 byte and up): the same logits as
    onnxruntime; the .lrodata section holds the weights only in the second
    case."""
    check_zoo_model("hybrid", lambda path, model, feeds: onnxruntime_outputs(path, feeds),
                    rng, tmp_path, f"--constant-data-threshold={threshold}")
    sections = subprocess.run(["readelf", "-SW", str(tmp_path / "hybrid.so")],
                              capture_output=True, text=True, check=True).stdout
    large = [line.split() for line in sections.splitlines() if ".lrodata" in line]
    size = int(large[0][large[0].index(".lrodata") + 4], 16) if large else 0
    weights = sum(np.prod(t.dims) * 4 for t in zoo.build("hybrid", "tiny").graph.initializer
                  if t.data_type == 1)
    if threshold:
        assert size >= weights, (size, weights)
    else:
        assert size < 4096, size


@pytest.mark.parametrize("tied", [False, True])
def test_large_projections(tied, tmp_path):
    """Projections large enough for the CPU loop order's row blocking (weights
    of at least 64K elements) and the dot-product kernel's reduction blocks
    (1100 = 1024 + a partial block with a masked tail), and an LM head with
    tied embeddings (MatMul with the transposed embedding, read in place as
    dot products), at row counts that are and are not multiples of the
    block, against onnxruntime."""
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng()
    d, f, vocab = 256, 1100, 300  # f: a reduction past one dot-block-k block (1024)
    emb = rng.standard_normal((vocab, d)).astype(np.float32)
    w = (rng.standard_normal((d, f)) / 16).astype(np.float32)
    w2 = (rng.standard_normal((f, d)) / 16).astype(np.float32)
    head = emb if tied else rng.standard_normal((vocab, d)).astype(np.float32)
    inits = [numpy_helper.from_array(a, n) for a, n in
             ((emb, "emb"), (w, "w"), (w2, "w2"), (head, "head"))]
    nodes = [helper.make_node("Gather", ["emb", "input_ids"], ["x"]),
             helper.make_node("MatMul", ["x", "w"], ["h"]),
             helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("MatMul", ["r", "w2"], ["y"]),
             helper.make_node("Transpose", ["head"], ["ht"], perm=[1, 0]),
             helper.make_node("MatMul", ["y", "ht"], ["logits"])]
    graph = helper.make_graph(
        nodes, "proj", [helper.make_tensor_value_info("input_ids", TensorProto.INT64,
                                                      ["batch", "seq"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "proj.onnx"
    onnx.save(model, path)
    so = compile_onnx(path, tmp_path / "so")
    for b, l in ((1, 1), (2, 13), (3, 8)):
        ids = rng.integers(0, vocab, (b, l)).astype(np.int64)
        want = onnxruntime_outputs(path, {"input_ids": ids})["logits"]
        run_dir = tmp_path / f"r{b}x{l}"
        run_dir.mkdir()
        got = run_model(so, {"input_ids": ids}, run_dir)["logits"]
        assert rel_err(got, want) < TOL, (b, l)
