"""Float64 NumPy reference of the ssm ops, written from SEMANTICS.md.

Mixers are computed in their recurrent form (one token at a time), which is
independent of the quadratic (materialized matrix) form the compiler builds.
"""
import numpy as np


def softplus(u):
    return np.where(u > 20, u, np.log1p(np.exp(np.minimum(u, 20))))


def silu(u):
    return u / (1.0 + np.exp(-u))


def attention(q, k, v, mask=None, causal=False, scale=None, window=None,
              softcap=None):
    b, l, hq, d = q.shape
    s, hkv = k.shape[1], k.shape[2]
    group = hq // hkv
    scale = 1.0 / np.sqrt(d) if scale is None else scale
    y = np.zeros((b, l, hq, v.shape[3]))
    for bi in range(b):
        for h in range(hq):
            kh = h // group
            for i in range(l):
                scores = scale * (k[bi, :, kh, :] @ q[bi, i, h, :])
                if softcap is not None:
                    scores = softcap * np.tanh(scores / softcap)
                if mask is not None:
                    mb = 0 if mask.shape[0] == 1 else bi
                    mh = 0 if mask.shape[1] == 1 else h
                    scores = scores + mask[mb, mh, i, :]
                j = np.arange(s)
                visible = np.ones(s, dtype=bool)
                last = i + (s - l)
                if causal:
                    visible &= j <= last
                if window is not None:
                    visible &= j > last - window
                if not visible.any():
                    continue
                sc = np.where(visible, scores, -np.inf)
                w = np.exp(sc - sc.max())
                w = w / w.sum()
                y[bi, i, h, :] = w @ v[bi, :, kh, :]
    return y


def _per_head(m, heads):
    """(b, g, n) -> (b, h, n): head i uses group i // (h // g)."""
    return np.repeat(m, heads // m.shape[1], axis=1)


def scalar_decay(x, log_decay, scale, B, C, D=None, gate=None, init=None):
    """H_t = exp(min(g_t, 0)) H_{t-1} + s_t x_t B_t^T; y_t = H_t C_t + D x_t."""
    b, l, h, p = x.shape
    n = B.shape[3]
    H = np.zeros((b, h, p, n)) if init is None else init.astype(np.float64)
    y = np.zeros_like(x, dtype=np.float64)
    for t in range(l):
        a = np.exp(np.minimum(log_decay[:, t], 0.0))  # (b, h)
        Bt = _per_head(B[:, t], h)
        Ct = _per_head(C[:, t], h)
        inp = x[:, t, :, :, None] * Bt[:, :, None, :]
        if scale is not None:
            inp = inp * scale[:, t, :, None, None]
        H = a[:, :, None, None] * H + inp
        yt = np.einsum("bhpn,bhn->bhp", H, Ct)
        if D is not None:
            yt = yt + (D[None, :, None] if D.ndim == 1 else D[None]) * x[:, t]
        if gate is not None:
            yt = yt * silu(gate[:, t])
        y[:, t] = yt
    return y, H


def ssd(x, dt, A, B, C, D=None, dt_bias=None, z=None, initial_state=None,
        dt_softplus=False, dt_limit=None):
    dtp = dt + (0.0 if dt_bias is None else dt_bias[None, None, :])
    if dt_softplus:
        dtp = softplus(dtp)
    if dt_limit is not None:
        dtp = np.clip(dtp, dt_limit[0], dt_limit[1])
    return scalar_decay(x, dtp * A[None, None, :], dtp, B, C, D, z,
                        initial_state)


def discrete_ssd(x, A_log, B, C, D=None, z=None, z_bias=None,
                 initial_state=None):
    gate = None
    if z is not None:
        gate = z + (0.0 if z_bias is None else z_bias[None, None])
    return scalar_decay(x, -softplus(A_log), None, B, C, D, gate,
                        initial_state)


def rotate(vec, phi, pairing):
    """Rotates S pairs of the state features of vec (..., n) by phi (..., S):
    (2i, 2i+1) when interleaved, (i, i + n/2) for halves (Mamba-3 MIMO)."""
    out = vec.copy()
    S, half = phi.shape[-1], vec.shape[-1] // 2
    for i in range(S):
        a, c = (2 * i, 2 * i + 1) if pairing == "interleaved" else (i, i + half)
        cos, sin = np.cos(phi[..., i]), np.sin(phi[..., i])
        out[..., a] = vec[..., a] * cos - vec[..., c] * sin
        out[..., c] = vec[..., c] * cos + vec[..., a] * sin
    return out


def mamba3(x, dt, A, lam, theta, B, C, D=None, z=None, Wx=None, Wz=None,
           Wo=None, initial_state=None, initial_angle=None, initial_k=None,
           initial_x=None, pairing="interleaved"):
    b, l, h, p = x.shape
    r, n = B.shape[2], B.shape[4]
    S = theta.shape[3]
    ones = np.ones((h, r, p))
    Wx = ones if Wx is None else Wx
    Wz = ones if Wz is None else Wz
    Wo = ones if Wo is None else Wo
    H = np.zeros((b, h, p, n)) if initial_state is None else initial_state.copy()
    phi = np.zeros((b, h, S)) if initial_angle is None else initial_angle.copy()
    k_prev = np.zeros((b, r, h, n)) if initial_k is None else initial_k.copy()
    x_prev = np.zeros((b, h, p)) if initial_x is None else initial_x.copy()
    wx = Wx.transpose(1, 0, 2)[None]  # (1, r, h, p)
    y = np.zeros((b, l, h, p))
    for t in range(l):
        phi = phi + dt[:, t, :, None] * theta[:, t]
        Bt = np.stack([_per_head(B[:, t, ri], h) for ri in range(r)], 1)
        Ct = np.stack([_per_head(C[:, t, ri], h) for ri in range(r)], 1)
        k = rotate(Bt, phi[:, None], pairing)  # (b, r, h, n)
        q = rotate(Ct, phi[:, None], pairing)
        al = np.exp(np.minimum(dt[:, t] * A[:, t], 0.0))  # (b, h)
        beta = (1 - lam[:, t]) * dt[:, t] * al
        gamma = lam[:, t] * dt[:, t]
        v_prev = x_prev[:, None] * wx  # (b, r, h, p)
        v = x[:, t][:, None] * wx
        H = (al[:, :, None, None] * H
             + beta[:, :, None, None] * np.einsum("brhp,brhn->bhpn", v_prev, k_prev)
             + gamma[:, :, None, None] * np.einsum("brhp,brhn->bhpn", v, k))
        yr = np.einsum("bhpn,brhn->brhp", H, q)
        if D is not None:
            yr = yr + D[None, None, :, None] * v
        if z is not None:
            yr = yr * silu(z[:, t][:, None] * Wz.transpose(1, 0, 2)[None])
        y[:, t] = (yr * Wo.transpose(1, 0, 2)[None]).sum(1)
        k_prev, x_prev = k, x[:, t].copy()
    return y, H, phi, k_prev, x_prev


def rms_norm(x, weight, gate=None, eps=1e-5, group_size=None):
    u = x if gate is None else x * silu(gate)
    d = x.shape[-1]
    g = d if group_size is None else group_size
    ug = u.reshape(u.shape[:-1] + (d // g, g))
    norm = ug / np.sqrt((ug ** 2).mean(-1, keepdims=True) + eps)
    return norm.reshape(u.shape) * weight


def causal_conv1d(x, weight, bias=None, initial_state=None, silu_act=False):
    b, l, c = x.shape
    k = weight.shape[1]
    prev = (np.zeros((b, c, k - 1)) if initial_state is None
            else initial_state).transpose(0, 2, 1)
    xf = np.concatenate([prev, x], axis=1)  # (b, k - 1 + l, c)
    y = np.zeros((b, l, c))
    for t in range(l):
        y[:, t] = (xf[:, t:t + k, :] * weight.T[None]).sum(1)
    if bias is not None:
        y = y + bias
    if silu_act:
        y = silu(y)
    return y, xf[:, l:, :].transpose(0, 2, 1)


def rotary(x, cos, sin, pairing="halves"):
    out = x.copy()
    R = cos.shape[-1]
    cb = cos[:, :, None, :]
    sb = sin[:, :, None, :]
    for i in range(R):
        a, c = (2 * i, 2 * i + 1) if pairing == "interleaved" else (i, i + R)
        out[..., a] = x[..., a] * cb[..., i] - x[..., c] * sb[..., i]
        out[..., c] = x[..., c] * cb[..., i] + x[..., a] * sb[..., i]
    return out


def hybrid_merge(ssm_out, attn_out, weight, eps=1e-5):
    ms, vs = ssm_out.mean(-1, keepdims=True), ssm_out.var(-1, keepdims=True)
    ma, va = attn_out.mean(-1, keepdims=True), attn_out.var(-1, keepdims=True)
    an = (attn_out - ma) / np.sqrt(va + eps) * np.sqrt(vs + eps) + ms
    return 0.5 * (ssm_out + an @ weight)


def linear_attention(q, k, v, decay=None, beta=None, initial_state=None,
                     scale=None):
    """ONNX LinearAttention (opset 27) in the ssm layout: q (b, l, hq, dk),
    k (b, l, hkv, dk), v (b, l, hkv, dv), decay (b, l, hkv) or
    (b, l, hkv, dk), beta (b, l, hkv), state (b, hkv, dk, dv). The rule
    follows from which of decay and beta are given."""
    b, l, hq, dk = q.shape
    hkv = k.shape[2]
    group = hq // hkv
    scale = 1.0 / np.sqrt(dk) if scale is None else scale
    S = (np.zeros((b, hkv, dk, v.shape[3])) if initial_state is None
         else initial_state.astype(np.float64).copy())
    y = np.zeros((b, l, hq, v.shape[3]))
    for t in range(l):
        if decay is not None:
            g = decay[:, t]
            g = g[..., None, None] if g.ndim == 2 else g[..., None]
            S = S * np.exp(g)
        u = v[:, t]
        if beta is not None:
            u = beta[:, t, :, None] * (u - np.einsum("bhdm,bhd->bhm", S, k[:, t]))
        S = S + k[:, t, :, :, None] * u[:, :, None, :]
        y[:, t] = scale * np.einsum("bhd,bhdm->bhm", q[:, t],
                                    np.repeat(S, group, axis=1))
    return y, S
