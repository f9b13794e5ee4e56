"""ONNX ops that import as one ssm op, each in a one-node model compiled by
ssmc and run by ssm-run with symbolic batch and sequence sizes:

- the standard Attention (opset 23) and com.microsoft.RotaryEmbedding against
  onnxruntime;
- the standard RotaryEmbedding (opset 23) and CausalConvWithState (opset 27)
  against onnx's reference evaluator (onnxruntime lacks them or fails on them);
  com.microsoft.CausalConvWithState against the same evaluator's standard op;
- the custom ai.ssmc domain (docs/ONNX.md) against the float64 reference of
  SEMANTICS.md (reference.py).

Tolerance: relative error (max |diff| / max |ref|) below 1e-4, float32."""
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import reference as ref
from onnx_tools import compile_onnx, onnxruntime_outputs, rel_err, run_model

TOL = 1e-4
ONNX_TYPES = {np.dtype(np.float32): TensorProto.FLOAT,
              np.dtype(np.int64): TensorProto.INT64,
              np.dtype(np.bool_): TensorProto.BOOL}


def f32(rng, *shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def one_node(op, inputs, outputs, domain="", opset=23, **attrs):
    """A model of one node. `inputs` is a list of (name, array, dims) or None
    for an omitted optional input; dims name the symbolic sizes (strings) and
    give the static ones (None: all static)."""
    names, infos, feeds = [], [], {}
    for entry in inputs:
        if entry is None:
            names.append("")
            continue
        name, value, dims = entry
        dims = list(value.shape) if dims is None else dims
        names.append(name)
        infos.append(helper.make_tensor_value_info(name, ONNX_TYPES[value.dtype], dims))
        feeds[name] = value
    node = helper.make_node(op, names, outputs, name="node", domain=domain, **attrs)
    outs = [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs]
    opsets = [helper.make_opsetid("", opset)]
    if domain:
        opsets.append(helper.make_opsetid(domain, 1))
    graph = helper.make_graph([node], op, infos, outs)
    m = helper.make_model(graph, opset_imports=opsets)
    m.ir_version = 10
    return m, feeds


def compile_and_run(m, feeds, tmp_path):
    path = tmp_path / "m.onnx"
    onnx.save(m, path)
    so = compile_onnx(path, tmp_path)
    return run_model(so, feeds, tmp_path)


def check(got, want, what=""):
    assert set(got) == set(want), (sorted(got), sorted(want))
    for name in want:
        assert got[name].shape == want[name].shape, (name, got[name].shape, want[name].shape)
        err = rel_err(got[name], want[name])
        assert err < TOL, f"{what} {name}: relative error {err}"


def reference_outputs(m, feeds):
    from onnx.reference import ReferenceEvaluator
    names = [o.name for o in m.graph.output]
    return dict(zip(names, ReferenceEvaluator(m).run(None, feeds)))


# ------------------------------------------------------------ Attention (23)

ATTENTION_CASES = {
    # name: (layout, b, l, past, hq, hkv, d, mask, attrs)
    "4d_causal_gqa": (4, 2, 5, 0, 4, 2, 8, None, dict(is_causal=1)),
    "3d_heads_attrs": (3, 2, 6, 0, 4, 1, 8, None, dict(is_causal=1, q_num_heads=4, kv_num_heads=1)),
    "bool_mask": (4, 2, 4, 0, 2, 2, 8, "bool", {}),
    "float_mask_scale_softcap": (4, 1, 5, 0, 2, 1, 4, "float", dict(scale=0.3, softcap=3.0)),
    "past_cache_causal": (4, 2, 3, 4, 4, 2, 8, None, dict(is_causal=1)),
}


@pytest.mark.parametrize("name", sorted(ATTENTION_CASES))
def test_standard_attention(name, rng, tmp_path):
    layout, b, l, past, hq, hkv, d, mask, attrs = ATTENTION_CASES[name]
    if layout == 4:
        q = f32(rng, b, hq, l, d)
        k, v = f32(rng, b, hkv, l, d), f32(rng, b, hkv, l, d)
        dims = lambda x: ["batch", x.shape[1], "seq", x.shape[3]]  # noqa: E731
    else:
        q = f32(rng, b, l, hq * d)
        k, v = f32(rng, b, l, hkv * d), f32(rng, b, l, hkv * d)
        dims = lambda x: ["batch", "seq", x.shape[2]]  # noqa: E731
    inputs = [("Q", q, dims(q)), ("K", k, dims(k)), ("V", v, dims(v))]
    total = l + past
    if mask == "bool":
        mk = rng.random((l, total)) < 0.7
        mk[:, 0] = True
        inputs.append(("mask", mk, ["seq", "seq"]))
    elif mask == "float":
        inputs.append(("mask", f32(rng, 1, hq, l, total), [1, hq, "seq", "seq"]))
    else:
        inputs.append(None)
    outputs = ["Y"]
    if past:
        pk, pv = f32(rng, b, hkv, past, d), f32(rng, b, hkv, past, d)
        inputs += [("past_key", pk, ["batch", hkv, "past", d]),
                   ("past_value", pv, ["batch", hkv, "past", d])]
        outputs += ["present_key", "present_value"]
    m, feeds = one_node("Attention", inputs, outputs, **attrs)
    want = onnxruntime_outputs_for(m, feeds, outputs)
    check(compile_and_run(m, feeds, tmp_path), want, name)


def onnxruntime_outputs_for(m, feeds, outputs, tmp=None):
    import onnxruntime as ort
    s = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    return dict(zip(outputs, s.run(outputs, feeds)))


# ------------------------------------------------------ RotaryEmbedding (23)

@pytest.mark.parametrize("layout", [3, 4])
@pytest.mark.parametrize("interleaved", [0, 1])
@pytest.mark.parametrize("partial", [False, True])
def test_standard_rotary_embedding(layout, interleaved, partial, rng, tmp_path):
    b, l, h, d, maxpos = 2, 5, 3, 8, 16
    rot = 4 if partial else d
    x = f32(rng, b, h, l, d) if layout == 4 else f32(rng, b, l, h * d)
    dims = ["batch", h, "seq", d] if layout == 4 else ["batch", "seq", h * d]
    ang = rng.uniform(0, 6, (maxpos, rot // 2))
    cos, sin = np.cos(ang).astype(np.float32), np.sin(ang).astype(np.float32)
    pos = rng.integers(0, maxpos, (b, l)).astype(np.int64)
    attrs = dict(interleaved=interleaved)
    if partial:
        attrs["rotary_embedding_dim"] = rot
    if layout == 3:
        attrs["num_heads"] = h
    m, feeds = one_node("RotaryEmbedding",
                        [("x", x, dims), ("cos", cos, None), ("sin", sin, None),
                         ("pos", pos, ["batch", "seq"])], ["y"], **attrs)
    check(compile_and_run(m, feeds, tmp_path), reference_outputs(m, feeds))


@pytest.mark.parametrize("shared", [False, True])
def test_standard_rotary_embedding_without_positions(shared, rng, tmp_path):
    """Caches gathered per token, per sequence or shared by the batch (the
    Hugging Face opset-23 exports)."""
    b, l, h, d = 2, 4, 2, 6
    x = f32(rng, b, h, l, d)
    ang = rng.uniform(0, 6, (1 if shared else b, l, d // 2))
    cos, sin = np.cos(ang).astype(np.float32), np.sin(ang).astype(np.float32)
    m, feeds = one_node("RotaryEmbedding",
                        [("x", x, ["batch", h, "seq", d]),
                         ("cos", cos, [1 if shared else "batch", "seq", d // 2]),
                         ("sin", sin, [1 if shared else "batch", "seq", d // 2])], ["y"])
    check(compile_and_run(m, feeds, tmp_path), reference_outputs(m, feeds))


@pytest.mark.parametrize("interleaved", [0, 1])
def test_microsoft_rotary_embedding(interleaved, rng, tmp_path):
    b, l, h, d, maxpos = 2, 5, 2, 8, 32
    x = f32(rng, b, l, h * d)
    ang = rng.uniform(0, 6, (maxpos, d // 2))
    cos, sin = np.cos(ang).astype(np.float32), np.sin(ang).astype(np.float32)
    pos = rng.integers(0, maxpos, (b, l)).astype(np.int64)
    m, feeds = one_node("RotaryEmbedding",
                        [("x", x, ["batch", "seq", h * d]), ("pos", pos, ["batch", "seq"]),
                         ("cos", cos, None), ("sin", sin, None)], ["y"],
                        domain="com.microsoft", num_heads=h, interleaved=interleaved)
    check(compile_and_run(m, feeds, tmp_path), onnxruntime_outputs_for(m, feeds, ["y"]))


# -------------------------------------------------- CausalConvWithState (27)

@pytest.mark.parametrize("activation", ["none", "silu"])
@pytest.mark.parametrize("with_state", [False, True])
def test_causal_conv_with_state(activation, with_state, rng, tmp_path):
    b, c, l, k = 2, 6, 7, 4
    x, w, bias = f32(rng, b, c, l), f32(rng, c, 1, k, scale=0.5), f32(rng, c)
    inputs = [("x", x, ["batch", c, "seq"]), ("w", w, None), ("bias", bias, None)]
    if with_state:
        inputs.append(("state", f32(rng, b, c, k - 1), ["batch", c, k - 1]))
    m, feeds = one_node("CausalConvWithState", inputs, ["y", "present"], opset=27,
                        activation=activation)
    check(compile_and_run(m, feeds, tmp_path), reference_outputs(m, feeds))


@pytest.mark.parametrize("channels_last", [0, 1])
def test_microsoft_causal_conv_with_state(channels_last, rng, tmp_path):
    b, c, l, k = 2, 5, 6, 3
    x, w = f32(rng, b, c, l), f32(rng, c, 1, k, scale=0.5)
    state = f32(rng, b, c, k - 1)
    std, feeds = one_node("CausalConvWithState",
                          [("x", x, None), ("w", w, None), None, ("state", state, None)],
                          ["y", "present"], opset=27, activation="silu")
    want = reference_outputs(std, feeds)
    if channels_last:
        feeds = {"x": x.transpose(0, 2, 1).copy(), "w": w,
                 "state": state.transpose(0, 2, 1).copy()}
        want = {n: a.transpose(0, 2, 1) for n, a in want.items()}
    m, _ = one_node("CausalConvWithState",
                    [("x", feeds["x"], None), ("w", w, None), None,
                     ("state", feeds["state"], None)],
                    ["y", "present"], domain="com.microsoft", opset=20,
                    activation="silu", channels_last=channels_last)
    check(compile_and_run(m, feeds, tmp_path), want)


# ------------------------------------------------------ LinearAttention (27)

LINEAR_ATTENTION_CASES = {
    # name: (rule, b, l, hq, hkv, dk, dv, per_key_decay, past, beta_shared)
    "linear": ("linear", 2, 5, 2, 2, 4, 3, False, False, False),
    "linear_gqa_past": ("linear", 1, 6, 4, 2, 3, 5, False, True, False),
    "gated_head": ("gated", 2, 6, 2, 1, 4, 3, False, True, False),
    "gated_key": ("gated", 1, 5, 2, 2, 3, 4, True, False, False),
    "delta": ("delta", 2, 5, 2, 2, 4, 2, False, True, False),
    "delta_shared_beta": ("delta", 1, 4, 2, 2, 3, 3, False, False, True),
    "gated_delta_gqa": ("gated_delta", 2, 6, 4, 2, 4, 3, False, True, False),
    "gated_delta_key": ("gated_delta", 1, 5, 2, 1, 3, 2, True, True, False),
}


def linear_attention_model(case, rng, domain="", scale=None):
    rule, b, l, hq, hkv, dk, dv, per_key, past, shared = case
    k = f32(rng, b, l, hkv, dk)
    k /= np.linalg.norm(k, axis=-1, keepdims=True)  # a contractive delta rule
    inputs = [("query", f32(rng, b, l, hq * dk), ["batch", "seq", hq * dk]),
              ("key", k.reshape(b, l, hkv * dk), ["batch", "seq", hkv * dk]),
              ("value", f32(rng, b, l, hkv * dv), ["batch", "seq", hkv * dv]),
              ("past_state", f32(rng, b, hkv, dk, dv), ["batch", hkv, dk, dv])
              if past else None]
    if "gated" in rule:
        width = hkv * dk if per_key else hkv
        g = -np.abs(f32(rng, b, l, width, scale=0.5))
        inputs.append(("decay", g, ["batch", "seq", width]))
    elif "delta" in rule:
        inputs.append(None)
    if "delta" in rule:
        width = 1 if shared else hkv
        beta = rng.uniform(0.1, 1.0, (b, l, width)).astype(np.float32)
        inputs.append(("beta", beta, ["batch", "seq", width]))
    attrs = dict(q_num_heads=hq, kv_num_heads=hkv, update_rule=rule)
    if scale is not None:
        attrs["scale"] = scale
    return one_node("LinearAttention", inputs, ["y", "present_state"],
                    domain=domain, opset=27, **attrs)


@pytest.mark.parametrize("name", sorted(LINEAR_ATTENTION_CASES))
def test_linear_attention(name, rng, tmp_path):
    m, feeds = linear_attention_model(LINEAR_ATTENTION_CASES[name], rng)
    want = onnxruntime_outputs_for(m, feeds, ["y", "present_state"])
    check(compile_and_run(m, feeds, tmp_path), want, name)


@pytest.mark.parametrize("name", ["gated_delta_gqa", "gated_key", "linear"])
def test_microsoft_linear_attention(name, rng, tmp_path):
    m, feeds = linear_attention_model(LINEAR_ATTENTION_CASES[name], rng,
                                      domain="com.microsoft", scale=0.6)
    want = onnxruntime_outputs_for(m, feeds, ["y", "present_state"])
    check(compile_and_run(m, feeds, tmp_path), want, name)


def test_linear_attention_matches_float64(rng, tmp_path):
    """The same op against the float64 reference (reference.py), which also
    checks the onnxruntime results used above."""
    case = LINEAR_ATTENTION_CASES["gated_delta_gqa"]
    rule, b, l, hq, hkv, dk, dv = case[:7]
    m, feeds = linear_attention_model(case, rng)
    q64 = lambda a, h: a.astype(np.float64).reshape(b, l, h, -1)  # noqa: E731
    y, state = ref.linear_attention(
        q64(feeds["query"], hq), q64(feeds["key"], hkv), q64(feeds["value"], hkv),
        decay=feeds["decay"].astype(np.float64), beta=feeds["beta"].astype(np.float64),
        initial_state=feeds["past_state"])
    want = {"y": y.reshape(b, l, hq * dv), "present_state": state}
    check(compile_and_run(m, feeds, tmp_path), want, "float64")
    check(onnxruntime_outputs_for(m, feeds, ["y", "present_state"]), want, "onnxruntime")


# ------------------------------------------------------------- ai.ssmc

def ssmc_node(op, inputs, outputs, **attrs):
    return one_node(op, inputs, outputs, domain="ai.ssmc", opset=20, **attrs)


def bl(*rest):
    return ["batch", "seq", *rest]


def test_ssmc_ssd(rng, tmp_path):
    b, l, h, p, g, n = 2, 7, 4, 8, 2, 6
    x, dt = f32(rng, b, l, h, p), f32(rng, b, l, h)
    A = -np.exp(rng.uniform(0, 1, h)).astype(np.float32)
    B, C = f32(rng, b, l, g, n), f32(rng, b, l, g, n)
    D, bias, z = f32(rng, h), f32(rng, h), f32(rng, b, l, h, p)
    init = f32(rng, b, h, p, n)
    m, feeds = ssmc_node("SSD", [("x", x, bl(h, p)), ("dt", dt, bl(h)), ("A", A, None),
                                 ("B", B, bl(g, n)), ("C", C, bl(g, n)), ("D", D, None),
                                 ("dt_bias", bias, None), ("z", z, bl(h, p)),
                                 ("init", init, ["batch", h, p, n])],
                         ["y", "state"], dt_softplus=1, dt_limit=[0.0, 2.0])
    y, st = ref.ssd(*(a.astype(np.float64) for a in (x, dt, A, B, C, D, bias, z, init)),
                    dt_softplus=True, dt_limit=(0.0, 2.0))
    check(compile_and_run(m, feeds, tmp_path), {"y": y, "state": st})


def test_ssmc_discrete_ssd(rng, tmp_path):
    b, l, h, p, n = 2, 6, 3, 4, 5
    x, a_log = f32(rng, b, l, h, p), f32(rng, b, l, h)
    B, C = f32(rng, b, l, h, n), f32(rng, b, l, h, n)
    D, z, zb = f32(rng, h, p), f32(rng, b, l, h, p), f32(rng, h, p)
    m, feeds = ssmc_node("DiscreteSSD", [("x", x, bl(h, p)), ("a", a_log, bl(h)),
                                         ("B", B, bl(h, n)), ("C", C, bl(h, n)),
                                         ("D", D, None), ("z", z, bl(h, p)),
                                         ("zb", zb, None)], ["y", "state"])
    y, st = ref.discrete_ssd(*(a.astype(np.float64) for a in (x, a_log, B, C, D, z, zb)))
    check(compile_and_run(m, feeds, tmp_path), {"y": y, "state": st})


@pytest.mark.parametrize("rank", [1, 2])
def test_ssmc_mamba3(rank, rng, tmp_path):
    b, l, h, p, g, n, S = 2, 5, 2, 4, 1, 8, 2
    pairing = "interleaved" if rank == 1 else "halves"
    x = f32(rng, b, l, h, p)
    dt = np.exp(f32(rng, b, l, h, scale=0.3)).astype(np.float32) * 0.5
    A = -np.exp(f32(rng, b, l, h, scale=0.3)).astype(np.float32)
    lam = rng.uniform(0, 1, (b, l, h)).astype(np.float32)
    theta = f32(rng, b, l, h, S)
    B, C = f32(rng, b, l, rank, g, n), f32(rng, b, l, rank, g, n)
    D, z = f32(rng, h), f32(rng, b, l, h, p)
    inputs = [("x", x, bl(h, p)), ("dt", dt, bl(h)), ("A", A, bl(h)), ("lam", lam, bl(h)),
              ("theta", theta, bl(h, S)), ("B", B, bl(rank, g, n)), ("C", C, bl(rank, g, n)),
              ("D", D, None), ("z", z, bl(h, p))]
    W = [f32(rng, h, rank, p) for _ in range(3)] if rank > 1 else [None] * 3
    for name, w in zip(("Wx", "Wz", "Wo"), W):
        inputs.append(None if w is None else (name, w, None))
    states = [f32(rng, b, h, p, n), f32(rng, b, h, S), f32(rng, b, rank, h, n), f32(rng, b, h, p)]
    for name, s in zip(("s0", "a0", "k0", "x0"), states):
        inputs.append((name, s, ["batch", *s.shape[1:]]))
    outs = ["y", "state", "angle", "k", "xlast"]
    m, feeds = ssmc_node("Mamba3", inputs, outs, rotary_pairing=pairing)
    d64 = lambda a: None if a is None else a.astype(np.float64)  # noqa: E731
    want = ref.mamba3(*(d64(a) for a in (x, dt, A, lam, theta, B, C, D, z, *W, *states)),
                      pairing=pairing)
    check(compile_and_run(m, feeds, tmp_path), dict(zip(outs, want)))


def test_ssmc_attention(rng, tmp_path):
    b, l, s, hq, hkv, d = 2, 4, 6, 4, 2, 8
    q, k, v = f32(rng, b, l, hq, d), f32(rng, b, s, hkv, d), f32(rng, b, s, hkv, d)
    m, feeds = ssmc_node("Attention", [("q", q, bl(hq, d)), ("k", k, ["batch", "kv", hkv, d]),
                                       ("v", v, ["batch", "kv", hkv, d])], ["y"],
                         causal=1, window=3, softcap=2.5, scale=0.4)
    want = ref.attention(*(a.astype(np.float64) for a in (q, k, v)), causal=True,
                         window=3, softcap=2.5, scale=0.4)
    check(compile_and_run(m, feeds, tmp_path), {"y": want})


def test_ssmc_supporting_ops(rng, tmp_path):
    """RMSNorm (gated, grouped), CausalConv1d, Rotary and HybridMerge in one
    graph, against the reference applied in the same order."""
    b, l, c, k, h, dh, e = 2, 5, 8, 4, 2, 4, 6
    x, w = f32(rng, b, l, c), 1 + f32(rng, c, scale=0.1)
    gate = f32(rng, b, l, c)
    cw, cb, cs = f32(rng, c, k, scale=0.5), f32(rng, c), f32(rng, b, c, k - 1)
    ang = rng.uniform(0, 6, (1, l, 2))
    cos, sin = np.cos(ang).astype(np.float32), np.sin(ang).astype(np.float32)
    attn, mw = f32(rng, b, l, e), f32(rng, e, c, scale=0.3)
    nodes = [
        helper.make_node("RMSNorm", ["x", "w", "gate"], ["n"], domain="ai.ssmc",
                         eps=1e-5, group_size=4),
        helper.make_node("CausalConv1d", ["n", "cw", "cb", "cs"], ["conv", "conv_state"],
                         domain="ai.ssmc", silu=1),
        helper.make_node("Reshape", ["conv", "hshape"], ["heads"]),
        helper.make_node("Rotary", ["heads", "cos", "sin"], ["rot4"], domain="ai.ssmc",
                         pairing="interleaved"),
        helper.make_node("Reshape", ["rot4", "flat"], ["rot"]),
        helper.make_node("HybridMerge", ["rot", "attn", "mw"], ["y"], domain="ai.ssmc"),
    ]
    feeds = {"x": x, "gate": gate, "cs": cs, "attn": attn}
    ins = [helper.make_tensor_value_info("x", TensorProto.FLOAT, bl(c)),
           helper.make_tensor_value_info("gate", TensorProto.FLOAT, bl(c)),
           helper.make_tensor_value_info("cs", TensorProto.FLOAT, ["batch", c, k - 1]),
           helper.make_tensor_value_info("attn", TensorProto.FLOAT, bl(e))]
    inits = [onnx.numpy_helper.from_array(a, n) for n, a in
             [("w", w), ("cw", cw), ("cb", cb), ("cos", cos), ("sin", sin), ("mw", mw),
              ("hshape", np.array([0, 0, h, dh], np.int64)),
              ("flat", np.array([0, 0, c], np.int64))]]
    outs = [helper.make_tensor_value_info(o, TensorProto.FLOAT, None)
            for o in ("y", "conv_state")]
    m = helper.make_model(helper.make_graph(nodes, "g", ins, outs, inits),
                          opset_imports=[helper.make_opsetid("", 20),
                                         helper.make_opsetid("ai.ssmc", 1)])
    d = lambda a: a.astype(np.float64)  # noqa: E731
    nrm = ref.rms_norm(d(x), d(w), d(gate), 1e-5, 4)
    conv, conv_state = ref.causal_conv1d(nrm, d(cw), d(cb), d(cs), silu_act=True)
    rot = ref.rotary(conv.reshape(b, l, h, dh), d(cos), d(sin), "interleaved").reshape(b, l, c)
    y = ref.hybrid_merge(rot, d(attn), d(mw))
    check(compile_and_run(m, feeds, tmp_path), {"y": y, "conv_state": conv_state})


# ------------------------------------------------------------- errors

def error_of(m, tmp_path):
    import subprocess
    from onnx_tools import SSMC
    path = tmp_path / "bad.onnx"
    onnx.save(m, path)
    r = subprocess.run([str(SSMC), str(path), "-o", str(tmp_path / "bad.so")],
                       capture_output=True, text=True)
    assert r.returncode == 1, r.stderr
    assert not (tmp_path / "bad.so").exists()
    assert r.stderr.count("\n") == 1, r.stderr
    return r.stderr


def test_error_ssmc_mismatched_sequence(rng, tmp_path):
    x, a = f32(rng, 1, 4, 2, 3), f32(rng, 1, 4, 2)
    B = f32(rng, 1, 4, 2, 5)
    m, _ = ssmc_node("DiscreteSSD", [("x", x, bl(2, 3)), ("a", a, ["batch", "other", 2]),
                                     ("B", B, bl(2, 5)), ("C", B, bl(2, 5))], ["y"])
    err = error_of(m, tmp_path)
    assert "node 'node' (op 'ai.ssmc.DiscreteSSD', opset 1)" in err
    assert "input 'A_log' dim 1 (seq)" in err and "provably equal" in err


def test_error_ssmc_verifier_message(rng, tmp_path):
    x = f32(rng, 1, 4, 3, 2)
    B = f32(rng, 1, 4, 2, 5)  # 2 groups do not divide 3 heads
    m, _ = ssmc_node("DiscreteSSD", [("x", x, bl(3, 2)), ("a", f32(rng, 1, 4, 3), bl(3)),
                                     ("B", B, bl(2, 5)), ("C", B, bl(2, 5))], ["y"])
    err = error_of(m, tmp_path)
    assert "invalid inputs: operand 'B' dim 2 (groups) is 2, which does not divide" in err


def test_error_ssmc_unknown_op_and_attribute(rng, tmp_path):
    x = f32(rng, 1, 4, 8)
    m, _ = ssmc_node("Mamba4", [("x", x, None)], ["y"])
    assert "(op 'ai.ssmc.Mamba4', opset 1): unsupported op" in error_of(m, tmp_path)
    m, _ = ssmc_node("RMSNorm", [("x", x, None), ("w", f32(rng, 8), None)], ["y"],
                     epsilon=1e-5)
    assert "epsilon" in error_of(m, tmp_path)


def test_error_attention_unsupported(rng, tmp_path):
    q = f32(rng, 1, 2, 3, 4)
    m, _ = one_node("Attention", [("Q", q, None), ("K", q, None), ("V", q, None)],
                    ["Y", "", "", "qk"])
    assert "output 'qk' is not supported" in error_of(m, tmp_path)
    m, _ = one_node("Attention", [("Q", q, None), ("K", q, None), ("V", q, None)], ["Y"],
                    opset=20)
    assert "from opset 23" in error_of(m, tmp_path)


def test_error_rotary_dim(rng, tmp_path):
    x = f32(rng, 1, 2, 3, 4)
    cos = f32(rng, 8, 3)
    m, _ = one_node("RotaryEmbedding", [("x", x, None), ("c", cos, None), ("s", cos, None),
                                        ("p", np.zeros((1, 3), np.int64), None)], ["y"])
    assert "rotary_embedding_dim / 2 = 2" in error_of(m, tmp_path)


def test_error_linear_attention(rng, tmp_path):
    q = f32(rng, 1, 3, 8)
    qkv = [("q", q, None), ("k", q, None), ("v", q, None)]
    heads = dict(q_num_heads=2, kv_num_heads=2)
    m, _ = one_node("LinearAttention", qkv, ["y"], opset=27, update_rule="gated", **heads)
    assert "update_rule 'gated' requires the decay input" in error_of(m, tmp_path)
    m, _ = one_node("LinearAttention", qkv, ["y"], opset=27, update_rule="hebbian", **heads)
    assert "update_rule must be 'linear'" in error_of(m, tmp_path)
    m, _ = one_node("LinearAttention", qkv, ["y"], opset=27, update_rule="linear",
                    q_num_heads=3, kv_num_heads=2)
    assert "q_num_heads (3) must be a positive multiple of kv_num_heads (2)" in \
        error_of(m, tmp_path)
    m, _ = one_node("LinearAttention", qkv, ["y"], opset=26, update_rule="linear", **heads)
    assert "from opset 27" in error_of(m, tmp_path)
    m, _ = one_node("LinearAttention", qkv + [None, ("g", f32(rng, 1, 3, 3), None)], ["y"],
                    opset=27, update_rule="gated", **heads)
    assert "decay's last dim must be kv_num_heads (2) or kv_num_heads * d_k (8)" in \
        error_of(m, tmp_path)
    m, _ = one_node("LinearAttention", qkv, ["y"], domain="com.microsoft", opset=27,
                    update_rule="linear", state_window=4, **heads)
    assert "'state_window' = 4 is not supported" in error_of(m, tmp_path)
    m, _ = one_node("LinearAttention", qkv, ["y"], opset=27, update_rule="linear")
    assert "missing required attribute" in error_of(m, tmp_path)
