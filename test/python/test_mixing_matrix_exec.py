"""The materialized mixing matrix of every mixer (the interface's
materializeMixingMatrix, through -test-ssm-mixing-matrix) equals the
closed-form matrix of SEMANTICS.md computed in float64 NumPy."""
import numpy as np
import pytest

import reference as ref
from harness import Case, assert_close, quantize, run_mixing_matrix

RTOL, ATOL = 2e-4, 2e-5


def randn(rng, *shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def segsum(g):
    """(b, l, h) log decays -> (b, h, i, j) = sum_{k=j+1..i} g_k (j <= i)."""
    cum = np.cumsum(g, axis=1).transpose(0, 2, 1)
    return cum[:, :, :, None] - cum[:, :, None, :]


def causal(l):
    return np.tril(np.ones((l, l), dtype=bool))


def test_attention_matrix(rng):
    b, l, s, hq, hkv, d = 2, 3, 5, 4, 2, 4
    q, k, v = randn(rng, b, l, hq, d), randn(rng, b, s, hkv, d), randn(rng, b, s, hkv, d)
    c = Case()
    ops = [c.const(a) for a in (q, k, v)]
    rt = f"tensor<{b}x{l}x{hq}x{d}xf32>"
    op = (f"ssm.attention {', '.join(n for n, _ in ops)} {{causal, window = 3 : i64}} : "
          f"({', '.join(t for _, t in ops)}) -> {rt}")
    got = run_mixing_matrix(c, op, [rt])
    qq, kk = quantize(q, "f32"), quantize(k, "f32")
    kk = np.repeat(kk, hq // hkv, axis=2)
    scores = np.einsum("bihd,bjhd->bhij", qq, kk) / np.sqrt(d)
    i, j = np.arange(l)[:, None] + (s - l), np.arange(s)[None, :]
    scores = np.where((j <= i) & (j > i - 3), scores, -np.inf)
    want = np.exp(scores - scores.max(-1, keepdims=True))
    want /= want.sum(-1, keepdims=True)
    assert_close(got, want, RTOL, ATOL, "attention matrix")


@pytest.mark.parametrize("op_name", ["ssd", "discrete_ssd"])
def test_scalar_decay_matrix(rng, op_name):
    b, l, h, p, g, n = 2, 6, 4, 2, 2, 3
    x = randn(rng, b, l, h, p)
    B, C = randn(rng, b, l, g, n), randn(rng, b, l, g, n)
    c = Case()
    if op_name == "ssd":
        dt, A = randn(rng, b, l, h), -np.exp(randn(rng, h, scale=0.3))
        ins = [c.const(a) for a in (x, dt, A, B, C)]
        dtp = ref.softplus(quantize(dt, "f32"))
        logdec, scale = dtp * quantize(A, "f32")[None, None], dtp
        attrs = " {dt_softplus}"
    else:
        a_log = randn(rng, b, l, h)
        ins = [c.const(a) for a in (x, a_log, B, C)]
        logdec, scale = -ref.softplus(quantize(a_log, "f32")), np.ones((b, l, h))
        attrs = ""
    rts = [f"tensor<{b}x{l}x{h}x{p}xf32>", f"tensor<{b}x{h}x{p}x{n}xf32>"]
    op = (f"ssm.{op_name} {', '.join(nm for nm, _ in ins)}{attrs} : "
          f"({', '.join(t for _, t in ins)}) -> ({', '.join(rts)})")
    got = run_mixing_matrix(c, op, rts)
    Bh = np.repeat(quantize(B, "f32"), h // g, axis=2)
    Ch = np.repeat(quantize(C, "f32"), h // g, axis=2)
    cb = np.einsum("bihn,bjhn->bhij", Ch, Bh)
    want = cb * np.exp(np.minimum(segsum(logdec), 0)) * scale.transpose(0, 2, 1)[:, :, None, :]
    want = np.where(causal(l), want, 0.0)
    assert_close(got, want, RTOL, ATOL, f"{op_name} matrix")


@pytest.mark.parametrize("r,pairing", [(1, "interleaved"), (3, "halves")])
def test_mamba3_matrix(rng, r, pairing):
    b, l, h, p, g, n, S = 1, 4, 2, 2, 1, 4, 2
    x = randn(rng, b, l, h, p)
    dt = np.abs(randn(rng, b, l, h, scale=0.5)) + np.float32(0.05)
    A = -np.abs(randn(rng, b, l, h)) - np.float32(0.1)
    lam = rng.uniform(0, 1, (b, l, h)).astype(np.float32)
    theta = randn(rng, b, l, h, S)
    B, C = randn(rng, b, l, r, g, n, scale=0.6), randn(rng, b, l, r, g, n, scale=0.6)
    phi0 = randn(rng, b, h, S)
    c = Case()
    ins = [c.const(a) for a in (x, dt, A, lam, theta, B, C)]
    a0, t0 = c.const(phi0)
    rts = [f"tensor<{b}x{l}x{h}x{p}xf32>", f"tensor<{b}x{h}x{p}x{n}xf32>",
           f"tensor<{b}x{h}x{S}xf32>", f"tensor<{b}x{r}x{h}x{n}xf32>", f"tensor<{b}x{h}x{p}xf32>"]
    op = (f"ssm.mamba3 {', '.join(nm for nm, _ in ins)} initial_angle({a0}) "
          f"{{rotary_pairing = #ssm.rotary_pairing<{pairing}>}} : "
          f"({', '.join(t for _, t in ins)}, {t0}) -> ({', '.join(rts)})")
    got = run_mixing_matrix(c, op, rts)
    q = {k: quantize(v, "f32") for k, v in dict(dt=dt, A=A, lam=lam, theta=theta, B=B, C=C,
                                                  phi0=phi0).items()}
    phi = q["phi0"][:, None] + np.cumsum(q["dt"][..., None] * q["theta"], axis=1)  # (b,l,h,S)
    Bh = np.repeat(q["B"], h // g, axis=3)  # (b,l,r,h,n)
    Ch = np.repeat(q["C"], h // g, axis=3)
    k = ref.rotate(Bh, phi[:, :, None], pairing)
    qv = ref.rotate(Ch, phi[:, :, None], pairing)
    qk = np.einsum("biahn,bjchn->bhiajc", qv, k)
    decay = np.exp(np.minimum(segsum(q["dt"] * q["A"]), 0))  # (b,h,i,j)
    gamma = (q["lam"] * q["dt"]).transpose(0, 2, 1)  # (b,h,j)
    beta = ((1 - q["lam"]) * q["dt"]).transpose(0, 2, 1)
    beta_next = np.concatenate([beta[:, :, 1:], np.zeros((b, h, 1))], axis=2)
    i, j = np.arange(l)[:, None], np.arange(l)[None, :]
    coef = decay * (gamma[:, :, None, :] + np.where(j < i, beta_next[:, :, None, :], 0.0))
    coef = np.where(j <= i, coef, 0.0)
    want = (qk * coef[:, :, :, None, :, None]).reshape(b, h, l * r, l * r)
    assert_close(got, want, RTOL, ATOL, f"mamba3 matrix r={r}")


@pytest.mark.parametrize("rule,per_key", [("linear", False), ("gated", True),
                                          ("delta", False), ("gated_delta", False),
                                          ("gated_delta", True)])
def test_linear_attention_matrix(rng, rule, per_key):
    b, l, hq, hkv, dk = 1, 5, 4, 2, 3
    q, k = randn(rng, b, l, hq, dk), randn(rng, b, l, hkv, dk)
    k /= np.linalg.norm(k, axis=-1, keepdims=True)
    v = randn(rng, b, l, hkv, 2)
    c = Case()
    ins = [c.const(a) for a in (q, k, v)]
    text, types, kw = "", [t for _, t in ins], {}
    if "gated" in rule:
        g = -np.abs(randn(rng, *((b, l, hkv, dk) if per_key else (b, l, hkv)), scale=0.5))
        n, t = c.const(g)
        text, kw["decay"] = text + f" decay({n})", quantize(g, "f32")
        types.append(t)
    if "delta" in rule:
        beta = rng.uniform(0.1, 1.0, (b, l, hkv)).astype(np.float32)
        n, t = c.const(beta)
        text, kw["beta"] = text + f" beta({n})", quantize(beta, "f32")
        types.append(t)
    rts = [f"tensor<{b}x{l}x{hq}x2xf32>", f"tensor<{b}x{hkv}x{dk}x2xf32>"]
    op = (f"ssm.linear_attention {', '.join(nm for nm, _ in ins)}{text} "
          f"{{update_rule = #ssm.linear_attention_rule<{rule}>}} : "
          f"({', '.join(types)}) -> ({', '.join(rts)})")
    got = run_mixing_matrix(c, op, rts)
    # Column j of the matrix is the (recurrent) response to a unit value at
    # token j: y is linear in v.
    qq, kk = quantize(q, "f32"), quantize(k, "f32")
    want = np.zeros((b, hq, l, l))
    for j in range(l):
        e = np.zeros((b, l, hkv, 1))
        e[:, j] = 1.0
        y, _ = ref.linear_attention(qq, kk, e, **kw)
        want[:, :, :, j] = y[..., 0].transpose(0, 2, 1)
    assert_close(got, want, RTOL, ATOL, f"linear_attention matrix {rule}")
