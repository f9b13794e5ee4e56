"""Recognition of decomposed attention (MatMul, scale, mask, Softmax,
optional IsNaN guard, MatMul) into ssm.attention at import.

Each model is one attention subgraph written the way exporters write it.
The test checks the graph-phase IR (one ssm.attention and no softmax left,
or, for subgraphs that are not attention, no ssm.attention) and compares the
compiled model with onnxruntime on fresh random inputs at symbolic batch and
sequence sizes. Tolerance: relative error below 1e-5, float32."""
import subprocess

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from onnx_tools import SSMC, compile_onnx, onnxruntime_outputs, rel_err, run_model

TOL = 1e-5


class Builder:
    def __init__(self):
        self.nodes, self.inits, self.n = [], [], 0

    def op(self, op, inputs, **attrs):
        self.n += 1
        out = f"t{self.n}"
        self.nodes.append(helper.make_node(op, inputs, [out], name=f"n{self.n}", **attrs))
        return out

    def const(self, value, dtype=np.float32):
        self.n += 1
        name = f"c{self.n}"
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def model(self, inputs, outputs, opset=20):
        vi = [helper.make_tensor_value_info(n, TensorProto.FLOAT, dims) for n, dims in inputs]
        outs = [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs]
        g = helper.make_graph(self.nodes, "attention", vi, outs, initializer=self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
        m.ir_version = 10
        return m


H, D = 2, 8
BHLD = ["batch", H, "seq", D]


def sdpa(variant):
    """Returns (model, feeds builder) for one way of writing attention."""
    g = Builder()
    inputs = [("q", BHLD), ("k", BHLD), ("v", BHLD)]
    outputs = ["y"]
    q, k, v = "q", "k", "v"
    kt = g.op("Transpose", [k], perm=[0, 1, 3, 2])
    if variant in ("torch", "torch_guard", "all_masked", "softmax_also_output"):
        # torch: q and k^T each scaled by sqrt(scale).
        s = g.const(1.0 / np.sqrt(np.sqrt(D)))
        scores = g.op("MatMul", [g.op("Mul", [q, s]), g.op("Mul", [kt, s])])
    elif variant == "div_scores":
        scores = g.op("Div", [g.op("MatMul", [q, kt]), g.const(np.sqrt(D))])
    elif variant == "runtime_scale":
        inputs.append(("scale", []))
        scores = g.op("Mul", [g.op("MatMul", [q, kt]), "scale"])
    else:
        scores = g.op("Mul", [g.const(0.3), g.op("MatMul", [q, kt])])
    if variant in ("torch", "torch_guard", "all_masked", "softmax_also_output",
                   "runtime_scale", "axis"):
        inputs.append(("mask", [1, 1, "seq", "seq"]))
        scores = g.op("Add", ["mask", scores] if variant == "torch" else [scores, "mask"])
    elif variant == "key_padding":
        inputs.append(("mask", ["batch", 1, 1, "seq"]))  # broadcast over queries
        scores = g.op("Add", [scores, "mask"])
    probs = g.op("Softmax", [scores], axis=2 if variant == "axis" else -1)
    if variant in ("torch_guard", "all_masked"):
        probs = g.op("Where", [g.op("IsNaN", [probs]), g.const(0.0), probs])
    if variant == "softmax_also_output":
        g.nodes.append(helper.make_node("Identity", [probs], ["p"], name="expose"))
        outputs.append("p")
    g.nodes.append(helper.make_node("MatMul", [probs, v], ["y"], name="pv"))
    return g.model(inputs, outputs)


def rank3_model():
    """(batch * heads, seq, dim) operands, scale on the scores."""
    g = Builder()
    dims = ["bh", "seq", D]
    scores = g.op("MatMul", ["q", g.op("Transpose", ["k"], perm=[0, 2, 1])])
    scores = g.op("Add", [g.op("Mul", [scores, g.const(0.25)]), "mask"])
    probs = g.op("Softmax", [scores], axis=-1)
    g.nodes.append(helper.make_node("MatMul", [probs, "v"], ["y"], name="pv"))
    return g.model([("q", dims), ("k", dims), ("v", dims), ("mask", ["seq", "seq"])], ["y"])


def feeds_for(m, rng, b=2, l=5):
    sizes = {"batch": b, "seq": l, "bh": b * H}
    feeds = {}
    for i in m.graph.input:
        shape = [sizes[d.dim_param] if d.dim_param else d.dim_value
                 for d in i.type.tensor_type.shape.dim]
        feeds[i.name] = rng.standard_normal(shape).astype(np.float32)
    if "scale" in feeds:
        feeds["scale"] = np.array(0.4, np.float32)
    if "mask" in feeds:
        mk = feeds["mask"]
        if mk.shape[-2] == mk.shape[-1]:
            causal = np.tril(np.ones(mk.shape[-2:], bool))
            feeds["mask"] = np.where(causal, 0.1 * mk, -np.inf).astype(np.float32)
        else:  # key padding: the last key of batch 0 is masked
            feeds["mask"] = np.zeros(mk.shape, np.float32)
            feeds["mask"][0, ..., -1] = -np.inf
    return feeds


def graph_ir(path, tmp_path):
    out = tmp_path / "graph.mlir"
    r = subprocess.run([str(SSMC), str(path), "--compile-to=graph", "--emit=mlir",
                        "-o", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return out.read_text()


def compile_check(m, rng, tmp_path, recognized, sizes=((2, 5), (1, 1), (3, 9))):
    path = tmp_path / "m.onnx"
    onnx.save(m, path)
    ir = graph_ir(path, tmp_path)
    if recognized:
        assert ir.count("ssm.attention") == 1, ir
        assert "math.exp" not in ir  # the decomposed softmax is gone
    else:
        assert "ssm.attention" not in ir
    so = compile_onnx(path, tmp_path)
    for b, l in sizes:
        feeds = feeds_for(m, rng, b, l)
        want = onnxruntime_outputs(path, feeds)
        run_dir = tmp_path / f"run{b}x{l}"
        run_dir.mkdir()
        got = run_model(so, feeds, run_dir)
        for name in want:
            assert got[name].shape == want[name].shape
            err = rel_err(got[name], want[name])
            assert err < TOL, f"{name} at {b}x{l}: relative error {err}"


@pytest.mark.parametrize("variant", ["torch", "torch_guard", "div_scores", "plain",
                                     "key_padding"])
def test_recognized(variant, rng, tmp_path):
    compile_check(sdpa(variant), rng, tmp_path, recognized=True)


def test_recognized_rank3(rng, tmp_path):
    compile_check(rank3_model(), rng, tmp_path, recognized=True)


def test_fully_masked_row_with_guard(rng, tmp_path):
    """A query that sees no key gives 0, as the IsNaN guard makes it."""
    m = sdpa("all_masked")
    path = tmp_path / "m.onnx"
    onnx.save(m, path)
    assert graph_ir(path, tmp_path).count("ssm.attention") == 1
    feeds = feeds_for(m, rng)
    feeds["mask"][..., 2, :] = -np.inf
    want = onnxruntime_outputs(path, feeds)
    assert np.all(want["y"][:, :, 2] == 0)
    got = run_model(compile_onnx(path, tmp_path), feeds, tmp_path)
    assert rel_err(got["y"], want["y"]) < TOL


@pytest.mark.parametrize("variant", ["softmax_also_output", "runtime_scale", "axis"])
def test_not_attention_compiles_as_written(variant, rng, tmp_path):
    """Chains whose intermediates have other uses, whose scale is not a
    constant or whose softmax is over another axis stay as written."""
    compile_check(sdpa(variant), rng, tmp_path, recognized=False,
                  sizes=((2, 5), (1, 3)))
