"""Recognition of decomposed attention (MatMul, scale, mask, Softmax,
optional IsNaN guard, MatMul) into ssm.attention at import, of the causal
mask built with Trilu into its causal flag, of Range(0, seq) into
ssm.token_positions, and of the Mamba-2 causal conv (Conv + Slice) and SSD
quadratic form into ssm.causal_conv1d and ssm.ssd.

Each model is one attention subgraph written the way exporters write it.
The test checks the graph-phase IR (one ssm.attention and no softmax left,
or, for subgraphs that are not attention, no ssm.attention) and compares the
compiled model with onnxruntime on fresh random inputs at symbolic batch and
sequence sizes. Tolerance: relative error below 1e-5, float32."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from onnx_tools import (compile_onnx, onnxruntime_outputs, phase_ir, rel_err,
                        run_model)

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
    return phase_ir(path, tmp_path, "graph")


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


def causal_mask_model(variant):
    """Attention whose mask is built in the graph from the sequence length,
    as the zoo and many exporters write it: Where(Trilu(ones(L, L)), 0, -inf).
    Variants that are not the causal mask (upper triangle, a diagonal offset,
    zeros instead of ones) must stay masks."""
    g = Builder()
    kt = g.op("Transpose", ["k"], perm=[0, 1, 3, 2])
    scores = g.op("Mul", [g.op("MatMul", ["q", kt]), g.const(0.3)])
    seq = g.op("Unsqueeze", [g.op("Squeeze", [g.op("Shape", ["q"], start=2, end=3)]),
                             g.const([0], np.int64)])
    fill = 0 if variant == "zeros" else 1
    ones = g.op("ConstantOfShape", [g.op("Concat", [seq, seq], axis=0)],
                value=numpy_helper.from_array(np.array([fill], np.float32)))
    trilu_in = [ones] + ([g.const(1, np.int64)] if variant == "offset" else [])
    tril = g.op("Trilu", trilu_in, upper=1 if variant == "upper" else 0)
    keep = g.op("Cast", [tril], to=TensorProto.BOOL)
    neg = -1e38 if variant == "finite" else -np.inf
    mask = g.op("Where", [keep, g.const(0.0), g.const(neg)])
    probs = g.op("Softmax", [g.op("Add", [scores, mask])], axis=-1)
    probs = g.op("Where", [g.op("IsNaN", [probs]), g.const(0.0), probs])
    g.nodes.append(helper.make_node("MatMul", [probs, "v"], ["y"], name="pv"))
    return g.model([("q", BHLD), ("k", BHLD), ("v", BHLD)], ["y"])


@pytest.mark.parametrize("variant", ["causal", "finite", "upper", "offset", "zeros"])
def test_causal_mask_becomes_causal_flag(variant, rng, tmp_path):
    m = causal_mask_model(variant)
    path = tmp_path / "m.onnx"
    onnx.save(m, path)
    ir = graph_ir(path, tmp_path)
    attention = [line for line in ir.splitlines() if "ssm.attention" in line]
    assert len(attention) == 1, ir
    if variant in ("causal", "finite"):
        assert "{causal" in attention[0] and "mask(" not in attention[0]
    else:
        assert "causal" not in attention[0] and "mask(" in attention[0]
    if variant == "zeros":  # every key masked: the guard gives zeros
        so = compile_onnx(path, tmp_path)
        feeds = feeds_for(m, rng, 2, 5)
        got = run_model(so, feeds, tmp_path)["y"]
        np.testing.assert_array_equal(got, onnxruntime_outputs(path, feeds)["y"])
        assert not got.any()
        return
    compile_check(m, rng, tmp_path, recognized=True, sizes=((2, 5), (1, 1), (2, 7)))


def positions_model(start, delta):
    """Position ids from the token input's length, as exporters compute them:
    Range(start, seq, delta), returned as float next to the ids."""
    g = Builder()
    seq = g.op("Squeeze", [g.op("Shape", ["ids"], start=1, end=2)])
    pos = g.op("Range", [g.const(start, np.int64), seq, g.const(delta, np.int64)])
    g.nodes.append(helper.make_node("Cast", [pos], ["p"], name="cast", to=TensorProto.FLOAT))
    graph = helper.make_graph(
        g.nodes, "positions",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("p", TensorProto.FLOAT, None)], initializer=g.inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    m.ir_version = 10
    return m


@pytest.mark.parametrize("start,delta,recognized", [(0, 1, True), (1, 1, False), (0, 2, False)])
def test_range_over_sequence_is_token_positions(start, delta, recognized, rng, tmp_path):
    m = positions_model(start, delta)
    path = tmp_path / "m.onnx"
    onnx.save(m, path)
    ir = graph_ir(path, tmp_path)
    assert ("ssm.token_positions" in ir) == recognized, ir
    so = compile_onnx(path, tmp_path)
    for length in (1, 6):
        ids = rng.integers(0, 9, (2, length)).astype(np.int64)
        want = onnxruntime_outputs(path, {"ids": ids})["p"]
        run_dir = tmp_path / f"run{length}"
        run_dir.mkdir()
        got = run_model(so, {"ids": ids}, run_dir)["p"]
        np.testing.assert_array_equal(got, want)


def zoo_mamba2(positive_a=False):
    """The zoo's Mamba-2 LM (standard ops: Conv + Slice, the SSD quadratic
    form); with `positive_a` its A constants made positive, which is not an
    SSM decay (the op clamps dt A at 0), so the SSD must stay as written."""
    import zoo
    model = zoo.build("mamba2", seed=5)
    if positive_a:
        for node in model.graph.node:
            if node.op_type == "CumSum":
                mul = next(n for n in model.graph.node if n.output[0] == node.input[0])
                for init in model.graph.initializer:
                    if init.name in mul.input:
                        a = numpy_helper.to_array(init)
                        init.CopyFrom(numpy_helper.from_array(np.abs(a) * 0.1, init.name))
    return model


@pytest.mark.parametrize("positive_a", [False, True])
def test_mamba2_conv_and_ssd_recognized(positive_a, rng, tmp_path):
    import zoo
    m = zoo_mamba2(positive_a)
    path = tmp_path / "m.onnx"
    onnx.save(m, path)
    ir = graph_ir(path, tmp_path)
    layers = zoo.SIZES["tiny"]["layers"]
    main = ir[:ir.index("func.func @prefill")] if "@prefill" in ir else ir
    assert main.count("ssm.causal_conv1d") == layers, main
    assert main.count("ssm.ssd") == (0 if positive_a else layers), main
    assert ("@prefill" in ir) == (not positive_a)
    so = compile_onnx(path, tmp_path)
    for b, l in ((2, 7), (1, 1)):
        ids = rng.integers(0, 64, (b, l)).astype(np.int64)
        want = onnxruntime_outputs(path, {"input_ids": ids})["logits"]
        run_dir = tmp_path / f"run{b}x{l}"
        run_dir.mkdir()
        got = run_model(so, {"input_ids": ids}, run_dir)["logits"]
        assert rel_err(got, want) < 1e-4


@pytest.mark.parametrize("variant", ["llamba", "llamba_hybrid", "relu_decay"])
def test_discrete_mamba2_quadratic_form_recognized(variant, rng, tmp_path):
    """The Discrete Mamba-2 quadratic form of the zoo's llamba models (log
    decay -softplus(A_log), per-head B and C, no dt) imports as
    ssm.discrete_ssd, one per SSM layer; with Relu in place of the Softplus
    (not that mixer) the graph compiles as written. Logits against
    onnxruntime either way."""
    import zoo
    m = zoo.build("llamba_hybrid" if variant == "llamba_hybrid" else "llamba", "tiny",
                  seed=int(rng.integers(1 << 30)))
    if variant == "relu_decay":
        for node in m.graph.node:
            if node.op_type == "Softplus":
                node.op_type = "Relu"
    path = tmp_path / "m.onnx"
    onnx.save(m, path)
    ir = graph_ir(path, tmp_path)
    main = ir[:ir.index("func.func @prefill")] if "@prefill" in ir else ir
    layers = zoo.SIZES["tiny"]["layers"]
    ssm_layers = layers - (len(zoo.llamba_attention_layers(layers))
                           if variant == "llamba_hybrid" else 0)
    assert main.count("ssm.discrete_ssd") == (0 if variant == "relu_decay" else ssm_layers), main
    assert main.count("ssm.ssd ") == 0, main
    assert main.count("ssm.causal_conv1d") == ssm_layers, main
    so = compile_onnx(path, tmp_path)
    for b, l in ((2, 7), (1, 1), (1, 33)):
        ids = rng.integers(0, 128, (b, l)).astype(np.int64)
        want = onnxruntime_outputs(path, {"input_ids": ids})["logits"]
        run_dir = tmp_path / f"run{b}x{l}"
        run_dir.mkdir()
        got = run_model(so, {"input_ids": ids}, run_dir)["logits"]
        assert rel_err(got, want) < 1e-4, (b, l)
