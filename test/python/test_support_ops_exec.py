"""Executed tests of the supporting ops (rms_norm, causal_conv1d, rotary,
hybrid_merge) through convert-ssm-to-linalg, against float64 NumPy."""
import numpy as np
import pytest

import reference as ref
from harness import Case, assert_close, quantize, run

RTOL, ATOL = 2e-4, 2e-5


def randn(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def q32(a):
    return quantize(a, "f32")


@pytest.mark.parametrize("gated,group", [(False, None), (True, 4), (True, None)])
@pytest.mark.parametrize("dynamic", [False, True])
def test_rms_norm(rng, gated, group, dynamic):
    x, w = randn(rng, 2, 3, 8), randn(rng, 8)
    c = Case()
    dd = (0, 1) if dynamic else ()
    (xn, xt), (wn, wt) = c.const(x, dynamic=dd), c.const(w)
    text, types = f"{xn}, {wn}", [xt, wt]
    g = None
    if gated:
        g = randn(rng, 2, 3, 8)
        gn, gt = c.const(g, dynamic=dd)
        text += f" gate({gn})"
        types.append(gt)
    attrs = ["eps = 1.000000e-03 : f32"]
    if group:
        attrs.append(f"group_size = {group} : i64")
    op = f"ssm.rms_norm {text} {{{', '.join(attrs)}}} : ({', '.join(types)}) -> {xt}"
    want = ref.rms_norm(q32(x), q32(w), None if g is None else q32(g), 1e-3, group)
    (got,) = run(c.module(op, [(xt, "f32")]), expect=1)
    assert_close(got, want, RTOL, ATOL, "rms_norm")


def test_rms_norm_rank1_bf16(rng):
    x, w = randn(rng, 16), randn(rng, 16)
    c = Case()
    (xn, xt), (wn, wt) = c.const(x, "bf16"), c.const(w, "bf16")
    op = f"ssm.rms_norm {xn}, {wn} : ({xt}, {wt}) -> {xt}"
    want = ref.rms_norm(quantize(x, "bf16"), quantize(w, "bf16"))
    (got,) = run(c.module(op, [(xt, "bf16")]), expect=1)
    assert_close(got, want, 1e-2, 1e-2, "rms_norm bf16")


@pytest.mark.parametrize("state,bias,act", [(False, False, False), (True, True, True),
                                             (True, False, False)])
@pytest.mark.parametrize("dynamic", [False, True])
def test_causal_conv1d(rng, state, bias, act, dynamic):
    b, l, ch, k = 2, 5, 3, 4
    x, w = randn(rng, b, l, ch), randn(rng, ch, k)
    c = Case()
    dd = (0, 1) if dynamic else ()
    (xn, xt), (wn, wt) = c.const(x, dynamic=dd), c.const(w)
    text, types, kw = f"{xn}, {wn}", [xt, wt], {}
    if bias:
        bv = randn(rng, ch)
        n, t = c.const(bv)
        text += f" bias({n})"
        types.append(t)
        kw["bias"] = q32(bv)
    if state:
        s0 = randn(rng, b, ch, k - 1)
        n, t = c.const(s0, dynamic=(0,) if dynamic else ())
        text += f" initial_state({n})"
        types.append(t)
        kw["initial_state"] = q32(s0)
    st = "tensor<" + ("?" if dynamic else str(b)) + f"x{ch}x{k - 1}xf32>"
    op = (f"ssm.causal_conv1d {text} {{{'silu' if act else ''}}} : "
          f"({', '.join(types)}) -> ({xt}, {st})")
    want = ref.causal_conv1d(q32(x), q32(w), silu_act=act, **kw)
    outs = run(c.module(op, [(xt, "f32"), (st, "f32")]), expect=2)
    for i, (got, wnt) in enumerate(zip(outs, want)):
        assert_close(got, wnt, RTOL, ATOL, f"causal_conv1d result {i}")


@pytest.mark.parametrize("pairing", ["interleaved", "halves"])
@pytest.mark.parametrize("batch_bcast", [False, True])
def test_rotary(rng, pairing, batch_bcast):
    b, l, h, d, R = 2, 3, 2, 10, 3  # partial rotary: 2R = 6 < d
    x = randn(rng, b, l, h, d)
    ang = randn(rng, 1 if batch_bcast else b, l, R)
    cos, sin = np.cos(ang).astype(np.float32), np.sin(ang).astype(np.float32)
    c = Case()
    (xn, xt), (cn, ct), (sn, st) = c.const(x), c.const(cos), c.const(sin)
    op = (f"ssm.rotary {xn}, {cn}, {sn} {{pairing = #ssm.rotary_pairing<{pairing}>}}"
          f" : ({xt}, {ct}, {st}) -> {xt}")
    want = ref.rotary(q32(x), q32(cos), q32(sin), pairing)
    (got,) = run(c.module(op, [(xt, "f32")]), expect=1)
    assert_close(got, want, RTOL, ATOL, f"rotary {pairing}")


@pytest.mark.parametrize("dynamic", [False, True])
def test_hybrid_merge(rng, dynamic):
    s, a, w = randn(rng, 2, 3, 6), randn(rng, 2, 3, 4) * 3 + 1, randn(rng, 4, 6)
    c = Case()
    dd = (0, 1) if dynamic else ()
    (sn, stype), (an, atype), (wn, wtype) = c.const(s, dynamic=dd), c.const(a, dynamic=dd), c.const(w)
    op = f"ssm.hybrid_merge {sn}, {an}, {wn} : ({stype}, {atype}, {wtype}) -> {stype}"
    want = ref.hybrid_merge(q32(s), q32(a), q32(w))
    (got,) = run(c.module(op, [(stype, "f32")]), expect=1)
    assert_close(got, want, RTOL, ATOL, "hybrid_merge")
