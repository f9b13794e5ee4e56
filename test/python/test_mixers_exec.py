"""Executed tests: every mixer, lowered through its materialized mixing
matrix (quadratic form) and through its recurrent step (recurrent form),
equals the float64 recurrent NumPy reference of SEMANTICS.md."""
import numpy as np
import pytest

import reference as ref
from harness import Case, Operands, assert_close, attention_attributes, quantize, run

RTOL, ATOL = 2e-4, 2e-5  # f32 compute; printMemref prints 6 significant digits


def randn(rng, *shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def dyn(flag):
    return (0, 1) if flag else ()


def check(case_mlir, wants, forms, what):
    for form in forms:
        outs = run(case_mlir, form, expect=len(wants))
        for i, (got, want) in enumerate(zip(outs, wants)):
            assert_close(got, want, RTOL, ATOL, f"{what} [{form}] result {i}")


# ---------------------------------------------------------------- attention

ATTN_CASES = {
    # name: (b, l, s, hq, hkv, d, dv, attrs)
    "causal_gqa": (2, 5, 5, 4, 2, 8, 8, dict(causal=True)),
    "causal_prefix_window": (1, 3, 7, 2, 1, 4, 6, dict(causal=True, window=3)),
    "scale_softcap": (1, 4, 4, 2, 2, 4, 4, dict(causal=True, scale=0.7, softcap=2.0)),
    "mask_noncausal": (2, 3, 5, 2, 1, 4, 4, dict(mask=(1, 2))),
    "mask_broadcast_causal": (2, 4, 4, 2, 2, 4, 4, dict(mask=(2, 1), causal=True)),
    # Fewer keys than queries: the first two query rows see no key (0).
    "causal_empty_rows": (1, 5, 3, 2, 2, 4, 3, dict(causal=True)),
}


@pytest.mark.parametrize("name", sorted(ATTN_CASES))
@pytest.mark.parametrize("dynamic", [False, True])
def test_attention(rng, name, dynamic):
    b, l, s, hq, hkv, d, dv, attrs = ATTN_CASES[name]
    q, k, v = randn(rng, b, l, hq, d), randn(rng, b, s, hkv, d), randn(rng, b, s, hkv, dv)
    c = Case()
    names, types = [], []
    for a in (q, k, v):
        n, t = c.const(a, dynamic=dyn(dynamic))
        names.append(n)
        types.append(t)
    mask = None
    text_mask = ""
    if "mask" in attrs:
        mb, mh = attrs["mask"]
        mask = randn(rng, mb, mh, l, s)
        mask[..., 0] = -1e30  # an effectively masked key
        # With dynamic sizes, the mask's batch size too: a mask of batch 1
        # (mask_noncausal) is then broadcast at run time.
        n, t = c.const(mask, dynamic=(0,) if dynamic else ())
        text_mask = f" mask({n})"
        types.append(t)
    rtype = "tensor<" + ("?x?" if dynamic else f"{b}x{l}") + f"x{hq}x{dv}xf32>"
    op = (f"ssm.attention {', '.join(names)}{text_mask} {attention_attributes(attrs)} : "
          f"({', '.join(types)}) -> {rtype}")
    want = ref.attention(*(quantize(a, "f32") for a in (q, k, v)),
                         mask=None if mask is None else quantize(mask, "f32"),
                         causal=attrs.get("causal", False), scale=attrs.get("scale"),
                         window=attrs.get("window"), softcap=attrs.get("softcap"))
    # Key tiles: one key, not dividing s, and longer than s.
    forms = ["quadratic", "chunked:1", "chunked:2", "chunked:64"]
    if attrs.get("causal") and mask is None and s >= l:
        forms.append("recurrent")
    check(c.module(op, [(rtype, "f32")]), [want], forms, f"attention {name}")


@pytest.mark.parametrize("dtype", ["f16", "bf16"])
def test_attention_low_precision(rng, dtype):
    b, l, h, d = 1, 4, 2, 8
    q, k, v = (randn(rng, b, l, h, d) for _ in range(3))
    c = Case()
    ops = [c.const(a, dtype) for a in (q, k, v)]
    rtype = f"tensor<{b}x{l}x{h}x{d}x{dtype}>"
    op = (f"ssm.attention {', '.join(n for n, _ in ops)} {{causal}} : "
          f"({', '.join(t for _, t in ops)}) -> {rtype}")
    want = ref.attention(*(quantize(a, dtype) for a in (q, k, v)), causal=True)
    # f32 compute, result rounded to the storage type.
    tol = 1e-3 if dtype == "f16" else 8e-3
    for form in ("quadratic", "recurrent", "chunked:3"):
        (got,) = run(c.module(op, [(rtype, dtype)]), form, expect=1)
        assert_close(got, want, tol, tol, f"attention {dtype} [{form}]")


# --------------------------------------------------------------------- SSD

SSD_CASES = {
    # name: (b, l, h, p, g, n, options)
    "plain": (2, 6, 2, 3, 1, 4, set()),
    "all_options": (2, 5, 4, 2, 2, 3, {"D", "dt_bias", "z", "init", "softplus", "limit"}),
    "D_per_channel": (1, 4, 2, 3, 2, 2, {"Dhp", "softplus"}),
    "one_token": (2, 1, 2, 2, 1, 3, {"init", "softplus", "z"}),
    # Some steps have dt A > 0: each step's decay is clamped at exp(0).
    "signed_dt": (1, 6, 2, 2, 1, 3, {"signed_dt", "init"}),
}


@pytest.mark.parametrize("name", sorted(SSD_CASES))
@pytest.mark.parametrize("dynamic", [False, True])
def test_ssd(rng, name, dynamic):
    b, l, h, p, g, n, opts = SSD_CASES[name]
    x = randn(rng, b, l, h, p)
    dt = randn(rng, b, l, h, scale=0.5) + (0.0 if "softplus" in opts else 1.0)
    if "softplus" not in opts and "signed_dt" not in opts:
        dt = np.abs(dt)
    A = -np.exp(randn(rng, h, scale=0.5))
    B, C = randn(rng, b, l, g, n), randn(rng, b, l, g, n)
    dd = dyn(dynamic)
    c = Case()
    ops = Operands(c).add(x, dynamic=dd).add(dt, dynamic=dd).add(A)
    ops.add(B, dynamic=dd).add(C, dynamic=dd)
    if "D" in opts:
        ops.opt("D", randn(rng, h))
    if "Dhp" in opts:
        ops.opt("D", randn(rng, h, p))
    if "dt_bias" in opts:
        ops.opt("dt_bias", randn(rng, h, scale=0.5))
    if "z" in opts:
        ops.opt("z", randn(rng, b, l, h, p), dd)
    if "init" in opts:
        ops.opt("initial_state", randn(rng, b, h, p, n), (0,) if dynamic else ())
    kw = ops.kw
    attrs = []
    if "softplus" in opts:
        attrs.append("dt_softplus")
        kw["dt_softplus"] = True
    if "limit" in opts:
        attrs.append("dt_limit = array<f32: 0.1, 0.9>")
        kw["dt_limit"] = (np.float32(0.1), np.float32(0.9))
    bl = "?x?" if dynamic else f"{b}x{l}"
    ytype = f"tensor<{bl}x{h}x{p}xf32>"
    stype = "tensor<" + ("?" if dynamic else str(b)) + f"x{h}x{p}x{n}xf32>"
    op = (f"ssm.ssd {ops.text} {{{', '.join(attrs)}}} : ({', '.join(ops.types)}) -> "
          f"({ytype}, {stype})")
    want = ref.ssd(*(quantize(a, "f32") for a in (x, dt, A, B, C)), **kw)
    # Chunks: shorter than, dividing, not dividing, and longer than l.
    check(c.module(op, [(ytype, "f32"), (stype, "f32")]), list(want),
          ["quadratic", "recurrent", "chunked:1", "chunked:2", "chunked:4",
           "chunked:64"], f"ssd {name}")


# ------------------------------------------------------- Discrete Mamba-2

@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("dynamic", [False, True])
def test_discrete_ssd(rng, full, dynamic):
    b, l, h, p, n = 2, 5, 3, 2, 4
    g = h if full else 1
    x = randn(rng, b, l, h, p)
    A_log = randn(rng, b, l, h)
    B, C = randn(rng, b, l, g, n, scale=0.5), randn(rng, b, l, g, n, scale=0.5)
    dd = dyn(dynamic)
    c = Case()
    ops = Operands(c).add(x, dynamic=dd).add(A_log, dynamic=dd)
    ops.add(B, dynamic=dd).add(C, dynamic=dd)
    if full:
        ops.opt("D", randn(rng, h)).opt("z", randn(rng, b, l, h, p), dd)
        ops.opt("z_bias", randn(rng, h, p))
        ops.opt("initial_state", randn(rng, b, h, p, n), (0,) if dynamic else ())
    kw = ops.kw
    bl = "?x?" if dynamic else f"{b}x{l}"
    ytype = f"tensor<{bl}x{h}x{p}xf32>"
    stype = "tensor<" + ("?" if dynamic else str(b)) + f"x{h}x{p}x{n}xf32>"
    op = f"ssm.discrete_ssd {ops.text} : ({', '.join(ops.types)}) -> ({ytype}, {stype})"
    want = ref.discrete_ssd(*(quantize(a, "f32") for a in (x, A_log, B, C)), **kw)
    check(c.module(op, [(ytype, "f32"), (stype, "f32")]), list(want),
          ["quadratic", "recurrent", "chunked:2", "chunked:5", "chunked:3"],
          f"discrete_ssd full={full}")


# ----------------------------------------------------------------- Mamba-3

M3_CASES = {
    # name: (b, l, h, p, r, g, n, S, pairing, options)
    "siso": (2, 5, 2, 3, 1, 1, 4, 2, "interleaved", set()),
    "siso_full": (1, 6, 2, 2, 1, 2, 6, 2, "interleaved", {"D", "z", "init"}),
    "mimo": (2, 4, 2, 2, 3, 1, 4, 2, "halves", {"W", "D", "z", "init"}),
    "mimo_wide": (2, 5, 2, 4, 2, 1, 8, 2, "halves", {"W", "D", "z", "init"}),
    "mimo_no_rotation": (1, 3, 2, 2, 2, 1, 3, 0, "halves", {"W"}),
    "mimo_partial_rotation": (1, 4, 2, 2, 2, 1, 8, 2, "halves", {"W", "init"}),
    "one_token": (2, 1, 2, 2, 2, 1, 4, 1, "interleaved", {"W", "init", "z"}),
}


@pytest.mark.parametrize("name", sorted(M3_CASES))
@pytest.mark.parametrize("dynamic", [False, True])
def test_mamba3(rng, name, dynamic):
    b, l, h, p, r, g, n, S, pairing, opts = M3_CASES[name]
    x = randn(rng, b, l, h, p)
    dt = np.abs(randn(rng, b, l, h, scale=0.5)) + np.float32(0.05)
    A = -np.abs(randn(rng, b, l, h)) - np.float32(0.1)
    lam = rng.uniform(0, 1, (b, l, h)).astype(np.float32)
    theta = randn(rng, b, l, h, S, scale=2.0)
    B, C = randn(rng, b, l, r, g, n, scale=0.6), randn(rng, b, l, r, g, n, scale=0.6)
    dd = dyn(dynamic)
    c = Case()
    ops = Operands(c)
    for a in (x, dt, A, lam, theta, B, C):
        ops.add(a, dynamic=dd)
    if "D" in opts:
        ops.opt("D", randn(rng, h))
    if "z" in opts:
        ops.opt("z", randn(rng, b, l, h, p), dd)
    if "W" in opts:
        ops.opt("Wx", randn(rng, h, r, p))
        if "z" in opts:
            ops.opt("Wz", randn(rng, h, r, p))
        ops.opt("Wo", randn(rng, h, r, p))
    bd = (0,) if dynamic else ()
    if "init" in opts:
        ops.opt("initial_state", randn(rng, b, h, p, n), bd)
        ops.opt("initial_angle", randn(rng, b, h, S), bd)
        ops.opt("initial_k", randn(rng, b, r, h, n), bd)
        ops.opt("initial_x", randn(rng, b, h, p), bd)
    kw = dict(ops.kw, pairing=pairing)
    bs = "?" if dynamic else str(b)
    bl = "?x?" if dynamic else f"{b}x{l}"
    rtypes = [f"tensor<{bl}x{h}x{p}xf32>", f"tensor<{bs}x{h}x{p}x{n}xf32>",
              f"tensor<{bs}x{h}x{S}xf32>", f"tensor<{bs}x{r}x{h}x{n}xf32>",
              f"tensor<{bs}x{h}x{p}xf32>"]
    op = (f"ssm.mamba3 {ops.text} {{rotary_pairing = #ssm.rotary_pairing<{pairing}>}} : "
          f"({', '.join(ops.types)}) -> ({', '.join(rtypes)})")
    want = ref.mamba3(*(quantize(a, "f32") for a in (x, dt, A, lam, theta, B, C)), **kw)
    check(c.module(op, [(t, "f32") for t in rtypes]), list(want),
          ["quadratic", "recurrent", "chunked:1", "chunked:2", "chunked:4",
           "chunked:64"], f"mamba3 {name}")


# -------------------------------------------------------- linear attention

LA_CASES = {
    # name: (b, l, hq, hkv, dk, dv, rule, options)
    "linear": (2, 5, 2, 2, 4, 3, "linear", set()),
    "linear_gqa_init": (1, 6, 4, 2, 3, 2, "linear", {"init", "scale"}),
    "gated_head": (2, 6, 2, 1, 4, 3, "gated", {"init"}),
    "gated_key": (1, 5, 2, 2, 3, 4, "gated", {"per_key", "init"}),
    "delta": (2, 5, 2, 2, 4, 2, "delta", set()),
    "delta_init_gqa": (1, 6, 4, 2, 3, 3, "delta", {"init"}),
    "gated_delta": (2, 6, 2, 2, 4, 3, "gated_delta", {"init", "scale"}),
    "gated_delta_key": (1, 5, 2, 1, 3, 2, "gated_delta", {"per_key", "init"}),
    "one_token": (2, 1, 2, 2, 3, 2, "gated_delta", {"init"}),
}


@pytest.mark.parametrize("name", sorted(LA_CASES))
@pytest.mark.parametrize("dynamic", [False, True])
def test_linear_attention(rng, name, dynamic):
    b, l, hq, hkv, dk, dv, rule, opts = LA_CASES[name]
    # Unit-norm keys keep the delta rule's (I - beta k k^T) contractive.
    k = randn(rng, b, l, hkv, dk)
    k /= np.linalg.norm(k, axis=-1, keepdims=True)
    q, v = randn(rng, b, l, hq, dk), randn(rng, b, l, hkv, dv)
    dd = dyn(dynamic)
    c = Case()
    ops = Operands(c).add(q, dynamic=dd).add(k, dynamic=dd).add(v, dynamic=dd)
    if "gated" in rule:
        shape = (b, l, hkv, dk) if "per_key" in opts else (b, l, hkv)
        ops.opt("decay", -np.abs(randn(rng, *shape, scale=0.5)), dd)
    if "delta" in rule:
        ops.opt("beta", rng.uniform(0.1, 1.0, (b, l, hkv)).astype(np.float32), dd)
    if "init" in opts:
        ops.opt("initial_state", randn(rng, b, hkv, dk, dv), (0,) if dynamic else ())
    kw = ops.kw
    attrs = [f"update_rule = #ssm.linear_attention_rule<{rule}>"]
    if "scale" in opts:
        attrs.append("scale = 0.75 : f32")
        kw["scale"] = 0.75
    bs = "?" if dynamic else str(b)
    bl = "?x?" if dynamic else f"{b}x{l}"
    rtypes = [f"tensor<{bl}x{hq}x{dv}xf32>", f"tensor<{bs}x{hkv}x{dk}x{dv}xf32>"]
    op = (f"ssm.linear_attention {ops.text} {{{', '.join(attrs)}}} : "
          f"({', '.join(ops.types)}) -> ({', '.join(rtypes)})")
    want = ref.linear_attention(*(quantize(a, "f32") for a in (q, k, v)), **kw)
    check(c.module(op, [(t, "f32") for t in rtypes]), list(want),
          ["quadratic", "recurrent"], f"linear_attention {name}")
