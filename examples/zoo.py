"""ONNX model zoo, generated with the `onnx` package (nothing binary is committed).

Batch and sequence stay symbolic ("batch", "seq"). Input `input_ids` (int64,
[batch, seq]), output `logits` (float32, [batch, seq, vocab]).

Written the way exporters write them, in standard default-domain ops only
(opset 20):

  llama      Llama-style decoder: RMSNorm, RoPE (halves), GQA attention with a
             causal mask, SwiGLU MLP
  mamba2     Mamba-2 LM: in_proj, causal depthwise conv + SiLU, the SSD mixer in
             its quadratic form (CumSum, Exp, Trilu, MatMul), D skip, gated
             RMSNorm, out_proj
  hybrid     layer-interleaved hybrid: Mamba-2, attention, Mamba-2 layers
  llamba     Llamba-style LM: the Llama trunk (SwiGLU MLPs) with Discrete
             Mamba-2 mixers in their quadratic form (per-head B and C,
             a_t = exp(-softplus(A_log_t)), no dt), conv without activation
  llamba_hybrid  llamba with attention (GQA, RoPE) in layers 4 and 10 (the
             middle layer when there are fewer than 11)
  llama23    the Llama decoder with the opset-23 standard Attention,
             RotaryEmbedding and RMSNormalization ops

Written with the opset-27 standard state-space ops (CausalConvWithState,
LinearAttention):

  mamba2_la       the Mamba-2 LM with its conv as CausalConvWithState and its
                  SSD as a gated LinearAttention (q = C, k = B, v = dt x,
                  per-head decay dt A, scale 1)
  gated_deltanet  Gated DeltaNet LM (Qwen3-Next style linear attention
                  layers): conv + SiLU over q, k, v, L2-normed q and k,
                  beta = sigmoid, decay -exp(A_log) softplus(a + dt_bias),
                  gated_delta LinearAttention with GQA, gated RMSNorm

Written with the custom `ai.ssmc` domain (docs/ONNX.md) for what ONNX lacks:

  discrete_mamba2  Discrete Mamba-2 (Llamba-style) LM: conv + SiLU, per-head
                   B and C, per-token A_log, D skip, z gate with bias
  mamba3           Mamba-3 SISO LM: softplus dt, per-token A, trapezoid gate,
                   rotary angles, normed B and C with biases
  mamba3_mimo      Mamba-3 MIMO LM (rank 2, channel weights Wx, Wz, Wo)
  perhead_hybrid   per-head hybrid: every layer a Mamba-2 SSD mixer; the first
                   also keeps 2 causal attention heads (rotary), merged with
                   HybridMerge (retrieval-aware distillation)

Sizes: "tiny" (tests), "130m" (mamba2: the mamba2-130m benchmark shape of
../shared/BENCHMARKS.md, tied embeddings), "1b" (the Llama-3.2-1B trunk of
the 1b shapes there, tied embeddings: llamba is llamba-1b-shape,
llamba_hybrid hybrid-1b-shape, llama llama-1b-shape; about 5.5 GB of float32
weights, written to NAME.onnx.data next to the file). Random weights.

  python examples/zoo.py NAME -o model.onnx [--size tiny] [--seed 0] [--layers N]
"""
import argparse
import os
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 20
SSMC_DOMAIN = "ai.ssmc"
MODELS = ["llama", "mamba2", "hybrid", "llama23", "mamba2_la", "gated_deltanet",
          "llamba", "llamba_hybrid", "discrete_mamba2", "mamba3", "mamba3_mimo",
          "perhead_hybrid"]
OPSETS = {"llama23": 23, "mamba2_la": 27, "gated_deltanet": 27}
ROOT = Path(__file__).resolve().parents[1]


def tool(name):
    """Path of an SSMC binary (ssmc, ssm-run) in the build directory."""
    return Path(os.environ.get("SSM_BUILD_DIR", ROOT / "build")) / "bin" / name


SIZES = {
    "tiny": dict(vocab=128, d=64, layers=2, heads=4, kv_heads=2, mlp=128,
                 expand=2, head_dim=16, state=16, conv=4),
    "130m": dict(vocab=50280, d=768, layers=24, heads=12, kv_heads=12, mlp=3072,
                 expand=2, head_dim=64, state=128, conv=4),
    "1b": dict(vocab=128256, d=2048, layers=16, heads=32, kv_heads=8, mlp=8192,
               expand=1, head_dim=64, state=64, conv=4),
}
# Models whose ModelProto would pass protobuf's 2 GiB: saved with their
# weights in an external data file next to the .onnx file.
EXTERNAL_DATA_BYTES = 1 << 30


class Graph:
    """A small builder: named initializers and nodes with fresh output names."""

    def __init__(self, rng):
        self.rng = rng
        self.nodes, self.inits, self.count = [], [], 0
        self.domains = set()

    def fresh(self, base):
        self.count += 1
        return f"{base}_{self.count}"

    def const(self, value, dtype=np.float32, name=None):
        name = name or self.fresh("c")
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def ints(self, values):
        return self.const(np.array(values, dtype=np.int64), np.int64)

    def weight(self, shape, scale=None, name=None):
        scale = scale if scale is not None else 1.0 / np.sqrt(shape[0])
        return self.const(self.rng.standard_normal(shape) * scale, name=name)

    def op(self, op_type, inputs, outputs=1, domain="", **attrs):
        names = [self.fresh(op_type.lower()) for _ in range(outputs)]
        self.nodes.append(helper.make_node(op_type, inputs, names, name=names[0],
                                           domain=domain, **attrs))
        return names[0] if outputs == 1 else names

    def ssmc(self, op_type, inputs, outputs=1, **attrs):
        """A node of the custom ai.ssmc domain."""
        self.domains.add(SSMC_DOMAIN)
        return self.op(op_type, inputs, outputs, domain=SSMC_DOMAIN, **attrs)

    # Composite pieces, written as exporters decompose them.
    def rms_norm(self, x, dim, eps=1e-5):
        w = self.const(1.0 + 0.1 * self.rng.standard_normal(dim))
        sq = self.op("Pow", [x, self.const(2.0)])
        mean = self.op("ReduceMean", [sq, self.ints([-1])], keepdims=1)
        inv = self.op("Reciprocal", [self.op("Sqrt", [self.op("Add", [mean, self.const(eps)])])])
        return self.op("Mul", [w, self.op("Mul", [x, inv])])

    def silu(self, x):
        return self.op("Mul", [x, self.op("Sigmoid", [x])])

    def seq_len(self, x):
        """Scalar int64: the length of the sequence axis (1) of x."""
        return self.op("Squeeze", [self.op("Shape", [x], start=1, end=2)])


def attention_layer(g, x, c, positions):
    d, h, kvh = c["d"], c["heads"], c["kv_heads"]
    dh = d // h
    hx = g.rms_norm(x, d)

    def heads(w_out, n):
        y = g.op("MatMul", [hx, g.weight((d, w_out))])
        y = g.op("Reshape", [y, g.ints([0, 0, n, dh])])
        return g.op("Transpose", [y], perm=[0, 2, 1, 3])  # [b, n, l, dh]

    q, k, v = heads(h * dh, h), heads(kvh * dh, kvh), heads(kvh * dh, kvh)
    # RoPE (halves): angles[l, i] = pos[l] * inv_freq[i].
    inv_freq = 1.0 / (10000.0 ** (np.arange(0, dh, 2) / dh))
    pos = g.op("Unsqueeze", [g.op("Cast", [positions], to=TensorProto.FLOAT), g.ints([1])])
    ang = g.op("MatMul", [pos, g.const(inv_freq[None, :])])
    emb = g.op("Concat", [ang, ang], axis=-1)
    cos, sin = g.op("Cos", [emb]), g.op("Sin", [emb])

    def rope(t):
        lo = g.op("Slice", [t, g.ints([0]), g.ints([dh // 2]), g.ints([-1])])
        hi = g.op("Slice", [t, g.ints([dh // 2]), g.ints([dh]), g.ints([-1])])
        rot = g.op("Concat", [g.op("Neg", [hi]), lo], axis=-1)
        return g.op("Add", [g.op("Mul", [t, cos]), g.op("Mul", [rot, sin])])

    q, k = rope(q), rope(k)
    # GQA: repeat each kv head h/kvh times (Unsqueeze, Expand, Reshape).
    rep = h // kvh

    def repeat(t):
        if rep == 1:
            return t
        shape = g.op("Shape", [t])
        b_, l_ = (g.op("Slice", [shape, g.ints([i]), g.ints([i + 1])]) for i in (0, 2))
        t5 = g.op("Unsqueeze", [t, g.ints([2])])
        target = g.op("Concat", [b_, g.ints([kvh, rep]), l_, g.ints([dh])], axis=0)
        t5 = g.op("Expand", [t5, target])
        return g.op("Reshape", [t5, g.op("Concat", [b_, g.ints([h]), l_, g.ints([dh])], axis=0)])

    k, v = repeat(k), repeat(v)
    scores = g.op("MatMul", [q, g.op("Transpose", [k], perm=[0, 1, 3, 2])])
    scores = g.op("Mul", [scores, g.const(1.0 / np.sqrt(dh))])
    # Causal mask from the sequence length.
    seq = g.op("Unsqueeze", [g.seq_len(x), g.ints([0])])
    ones = g.op("ConstantOfShape", [g.op("Concat", [seq, seq], axis=0)],
                value=numpy_helper.from_array(np.array([1.0], dtype=np.float32)))
    keep = g.op("Cast", [g.op("Trilu", [ones], upper=0)], to=TensorProto.BOOL)
    mask = g.op("Where", [keep, g.const(0.0), g.const(-np.inf)])
    probs = g.op("Softmax", [g.op("Add", [scores, mask])], axis=-1)
    o = g.op("Transpose", [g.op("MatMul", [probs, v])], perm=[0, 2, 1, 3])
    o = g.op("Reshape", [o, g.ints([0, 0, d])])
    x = g.op("Add", [x, g.op("MatMul", [o, g.weight((d, d))])])
    return swiglu_mlp(g, x, c)


def swiglu_mlp(g, x, c):
    """x + down(silu(gate(n)) * up(n)) with n = RMSNorm(x): the Llama MLP."""
    d = c["d"]
    hx = g.rms_norm(x, d)
    gate = g.silu(g.op("MatMul", [hx, g.weight((d, c["mlp"]))]))
    up = g.op("MatMul", [hx, g.weight((d, c["mlp"]))])
    down = g.op("MatMul", [g.op("Mul", [gate, up]), g.weight((c["mlp"], d))])
    return g.op("Add", [x, down])


def torch_conv1d(g, t, channels, k):
    """PyTorch's causal depthwise Conv1d(padding = k - 1)[..., :L] over
    t [b, l, channels]: the result is [b, channels, l]."""
    seq = g.op("Unsqueeze", [g.seq_len(t), g.ints([0])])
    conv = g.op("Conv", [g.op("Transpose", [t], perm=[0, 2, 1]),
                         g.weight((channels, 1, k), scale=0.5), g.weight((channels,), 0.1)],
                group=channels, pads=[k - 1, k - 1], kernel_shape=[k])
    return g.op("Slice", [conv, g.ints([0]), seq, g.ints([2])])


def segment_decay(g, log_decay, x):
    """exp(cs_i - cs_j) for j <= i, else 0, with cs the cumulative sum of
    log_decay [b, l, h] over the sequence: [b, h, l, l]."""
    cs = g.op("Transpose", [g.op("CumSum", [log_decay, g.const(1, np.int64)])],
              perm=[0, 2, 1])  # [b, h, l]
    seg = g.op("Sub", [g.op("Unsqueeze", [cs, g.ints([3])]), g.op("Unsqueeze", [cs, g.ints([2])])])
    seq = g.op("Unsqueeze", [g.seq_len(x), g.ints([0])])
    ones = g.op("ConstantOfShape", [g.op("Concat", [seq, seq], axis=0)],
                value=numpy_helper.from_array(np.array([1], dtype=np.int64)))
    causal = g.op("Cast", [g.op("Trilu", [ones], upper=0)], to=TensorProto.BOOL)
    return g.op("Exp", [g.op("Where", [causal, seg, g.const(-np.inf)])])


def mamba2_layer(g, x, c):
    d, p, n, k = c["d"], c["head_dim"], c["state"], c["conv"]
    di = c["expand"] * d
    h = di // p
    conv_dim = di + 2 * n
    hx = g.rms_norm(x, d)
    proj = g.op("MatMul", [hx, g.weight((d, 2 * di + 2 * n + h))])
    z, xbc, dt = g.op("Split", [proj, g.ints([di, conv_dim, h])], outputs=3, axis=2)
    # Causal depthwise conv over the sequence, then SiLU.
    xbc = g.op("Transpose", [g.silu(torch_conv1d(g, xbc, conv_dim, k))], perm=[0, 2, 1])
    xs, B, C = g.op("Split", [xbc, g.ints([di, n, n])], outputs=3, axis=2)
    xs = g.op("Reshape", [xs, g.ints([0, 0, h, p])])
    # dt = softplus(dt + bias); a = dt * A with A < 0.
    dt = g.op("Softplus", [g.op("Add", [dt, g.const(g.rng.uniform(-3, -1, h))])])
    A = g.const(-np.exp(g.rng.uniform(0, 1.5, h)))
    decay = segment_decay(g, g.op("Mul", [dt, A]), x)
    cb = g.op("Unsqueeze", [g.op("MatMul", [C, g.op("Transpose", [B], perm=[0, 2, 1])]),
                            g.ints([1])])
    m = g.op("Mul", [cb, decay])
    xdt = g.op("Transpose", [g.op("Mul", [xs, g.op("Unsqueeze", [dt, g.ints([3])])])],
               perm=[0, 2, 1, 3])
    y = g.op("Transpose", [g.op("MatMul", [m, xdt])], perm=[0, 2, 1, 3])  # [b, l, h, p]
    y = g.op("Add", [y, g.op("Mul", [xs, g.const(g.rng.standard_normal((h, 1)))])])
    y = g.op("Reshape", [y, g.ints([0, 0, di])])
    y = g.rms_norm(g.op("Mul", [y, g.silu(z)]), di)
    return g.op("Add", [x, g.op("MatMul", [y, g.weight((di, d))])])


def attention23_layer(g, x, c, positions):
    """The Llama layer with the opset-23 Attention, RotaryEmbedding and
    RMSNormalization ops (3-D packed heads)."""
    d, h, kvh = c["d"], c["heads"], c["kv_heads"]
    dh = d // h

    def norm(t):
        return g.op("RMSNormalization", [t, g.const(1.0 + 0.1 * g.rng.standard_normal(d))],
                    axis=-1, epsilon=1e-5)

    hx = norm(x)
    inv_freq = 1.0 / (10000.0 ** (np.arange(0, dh, 2) / dh))
    ang = np.arange(256)[:, None] * inv_freq[None, :]
    cos, sin = g.const(np.cos(ang)), g.const(np.sin(ang))
    pos = g.op("Unsqueeze", [positions, g.ints([0])])  # [1, seq]
    pos = g.op("Expand", [pos, g.op("Shape", [x], start=0, end=2)])

    def proj(n, rotate):
        y = g.op("MatMul", [hx, g.weight((d, n * dh))])
        if rotate:
            y = g.op("RotaryEmbedding", [y, cos, sin, pos], num_heads=n)
        return y

    q, k, v = proj(h, True), proj(kvh, True), proj(kvh, False)
    o = g.op("Attention", [q, k, v], is_causal=1, q_num_heads=h, kv_num_heads=kvh)
    x = g.op("Add", [x, g.op("MatMul", [o, g.weight((d, d))])])
    hx = norm(x)
    gate = g.silu(g.op("MatMul", [hx, g.weight((d, c["mlp"]))]))
    up = g.op("MatMul", [hx, g.weight((d, c["mlp"]))])
    down = g.op("MatMul", [g.op("Mul", [gate, up]), g.weight((c["mlp"], d))])
    return g.op("Add", [x, down])


def conv_with_state(g, t, channels, k):
    """CausalConvWithState (opset 27) with SiLU over [b, l, channels]."""
    t = g.op("Transpose", [t], perm=[0, 2, 1])
    y = g.op("CausalConvWithState", [t, g.weight((channels, 1, k), scale=0.5),
                                      g.weight((channels,), 0.1)], outputs=2,
             activation="silu")[0]
    return g.op("Transpose", [y], perm=[0, 2, 1])


def mamba2_inputs(g, x, c, conv):
    """The Mamba-2 block up to the mixer: norm, in_proj, `conv` (with SiLU)
    over [x, B, C]. Returns the sizes (d, p, n, h, di), the normed input and
    z, x, B, C, dt."""
    d, p, n, k = c["d"], c["head_dim"], c["state"], c["conv"]
    di = c["expand"] * d
    h = di // p
    hx = g.rms_norm(x, d)
    proj = g.op("MatMul", [hx, g.weight((d, 2 * di + 2 * n + h))])
    z, xbc, dt = g.op("Split", [proj, g.ints([di, di + 2 * n, h])], outputs=3, axis=2)
    xbc = conv(g, xbc, di + 2 * n, k)
    xs, B, C = g.op("Split", [xbc, g.ints([di, n, n])], outputs=3, axis=2)
    return (d, p, n, h, di), hx, z, xs, B, C, dt


def mamba2_la_layer(g, x, c):
    (d, p, n, h, di), _, z, xs, B, C, dt = mamba2_inputs(g, x, c, conv_with_state)
    dt = g.op("Softplus", [g.op("Add", [dt, g.const(g.rng.uniform(-3, -1, h))])])  # [b, l, h]
    A = g.const(-np.exp(g.rng.uniform(0, 1.5, h)))

    def per_head(t):  # [b, l, n] -> [b, l, h * n], the group shared by all heads
        t = g.op("Expand", [g.op("Unsqueeze", [t, g.ints([2])]), g.ints([1, 1, h, 1])])
        return g.op("Reshape", [t, g.ints([0, 0, h * n])])

    x4 = g.op("Reshape", [xs, g.ints([0, 0, h, p])])
    v = g.op("Reshape", [g.op("Mul", [x4, g.op("Unsqueeze", [dt, g.ints([3])])]),
                         g.ints([0, 0, di])])
    y = g.op("LinearAttention", [per_head(C), per_head(B), v, "", g.op("Mul", [dt, A])],
             outputs=2, q_num_heads=h, kv_num_heads=h, update_rule="gated", scale=1.0)[0]
    y = g.op("Add", [g.op("Reshape", [y, g.ints([0, 0, h, p])]),
                     g.op("Mul", [x4, g.const(g.rng.standard_normal((h, 1)))])])
    y = g.op("Reshape", [y, g.ints([0, 0, di])])
    y = g.rms_norm(g.op("Mul", [y, g.silu(z)]), di)
    return g.op("Add", [x, g.op("MatMul", [y, g.weight((di, d))])])


def gated_deltanet_layer(g, x, c):
    d, k = c["d"], c["conv"]
    hk, hv, dk, dv = c["kv_heads"], c["heads"], c["head_dim"], c["head_dim"]
    hx = g.rms_norm(x, d)
    width = 2 * hk * dk + hv * dv
    qkv = conv_with_state(g, g.op("MatMul", [hx, g.weight((d, width))]), width, k)
    q, kk, v = g.op("Split", [qkv, g.ints([hk * dk, hk * dk, hv * dv])], outputs=3, axis=2)

    def l2norm(t, heads):
        t4 = g.op("Reshape", [t, g.ints([0, 0, heads, dk])])
        ss = g.op("ReduceSum", [g.op("Mul", [t4, t4]), g.ints([-1])], keepdims=1)
        inv = g.op("Reciprocal", [g.op("Sqrt", [g.op("Add", [ss, g.const(1e-6)])])])
        return g.op("Reshape", [g.op("Mul", [t4, inv]), g.ints([0, 0, heads * dk])])

    # The value heads are the state heads; q and k are shared by groups of
    # value heads, so they are repeated to hv heads (interleaved, as GQA).
    def repeat(t):
        t = g.op("Reshape", [t, g.ints([0, 0, hk, 1, dk])])
        t = g.op("Expand", [t, g.ints([1, 1, 1, hv // hk, 1])])
        return g.op("Reshape", [t, g.ints([0, 0, hv * dk])])

    q, kk = repeat(l2norm(q, hk)), repeat(l2norm(kk, hk))
    beta = g.op("Sigmoid", [g.op("MatMul", [hx, g.weight((d, hv))])])
    a = g.op("MatMul", [hx, g.weight((d, hv))])
    A = g.const(-np.exp(g.rng.uniform(0, 1.5, hv)))
    decay = g.op("Mul", [A, g.op("Softplus", [g.op("Add", [a, g.const(g.rng.uniform(-3, -1, hv))])])])
    y = g.op("LinearAttention", [q, kk, v, "", decay, beta], outputs=2, q_num_heads=hv,
             kv_num_heads=hv, update_rule="gated_delta")[0]
    z = g.op("MatMul", [hx, g.weight((d, hv * dv))])
    y = g.rms_norm(g.op("Mul", [y, g.silu(z)]), hv * dv)
    return g.op("Add", [x, g.op("MatMul", [y, g.weight((hv * dv, d))])])


def ssmc_conv(g, t, channels, k):
    """ai.ssmc.CausalConv1d with SiLU over [b, l, channels]."""
    return g.ssmc("CausalConv1d", [t, g.weight((channels, k), scale=0.5),
                                   g.weight((channels,), 0.1)], silu=1)


def discrete_mamba2_layer(g, x, c):
    d, p, n, k = c["d"], c["head_dim"], c["state"], c["conv"]
    di = c["expand"] * d
    h = di // p
    hx = g.rms_norm(x, d)
    proj = g.op("MatMul", [hx, g.weight((d, 2 * di + 2 * h * n + h))])
    z, xbc, a_log = g.op("Split", [proj, g.ints([di, di + 2 * h * n, h])], outputs=3, axis=2)
    xbc = ssmc_conv(g, xbc, di + 2 * h * n, k)
    xs, B, C = g.op("Split", [xbc, g.ints([di, h * n, h * n])], outputs=3, axis=2)
    heads = lambda t, w: g.op("Reshape", [t, g.ints([0, 0, h, w])])  # noqa: E731
    a_log = g.op("Add", [a_log, g.const(g.rng.uniform(-1, 1, h))])
    y = g.ssmc("DiscreteSSD", [heads(xs, p), a_log, heads(B, n), heads(C, n),
                               g.const(g.rng.standard_normal(h)), heads(z, p),
                               g.weight((h, p), 0.1)])
    y = g.op("Reshape", [y, g.ints([0, 0, di])])
    return g.op("Add", [x, g.op("MatMul", [y, g.weight((di, d))])])


def llamba_layer(g, x, c):
    """A Llamba block in standard ops: Discrete Mamba-2 (SEMANTICS.md: in_proj
    to [x | B | C | z | A_log], causal depthwise conv without activation
    over [x, B, C], every head its own B and C, a_t = exp(-softplus(A_log_t)),
    no dt scaling of x, D skip, z gate with bias) in its quadratic form, then
    the SwiGLU MLP."""
    d, p, n, k = c["d"], c["head_dim"], c["state"], c["conv"]
    di = c["expand"] * d
    h = di // p
    conv_dim = di + 2 * h * n
    hx = g.rms_norm(x, d)
    proj = g.op("MatMul", [hx, g.weight((d, conv_dim + di + h))])
    xbc, z, a_log = g.op("Split", [proj, g.ints([conv_dim, di, h])], outputs=3, axis=2)
    xbc = g.op("Transpose", [torch_conv1d(g, xbc, conv_dim, k)], perm=[0, 2, 1])
    xs, B, C = g.op("Split", [xbc, g.ints([di, h * n, h * n])], outputs=3, axis=2)
    heads = lambda t, w: g.op("Reshape", [t, g.ints([0, 0, h, w])])  # noqa: E731
    xs, B, C, z = heads(xs, p), heads(B, n), heads(C, n), heads(z, p)
    # log a_t = -softplus(A_log_t), per token and head.
    a_log = g.op("Add", [a_log, g.const(g.rng.uniform(-1, 1, h))])
    decay = segment_decay(g, g.op("Neg", [g.op("Softplus", [a_log])]), x)
    cb = g.op("MatMul", [g.op("Transpose", [C], perm=[0, 2, 1, 3]),
                         g.op("Transpose", [B], perm=[0, 2, 3, 1])])  # [b, h, l, l]
    m = g.op("Mul", [cb, decay])
    y = g.op("MatMul", [m, g.op("Transpose", [xs], perm=[0, 2, 1, 3])])
    y = g.op("Transpose", [y], perm=[0, 2, 1, 3])  # [b, l, h, p]
    y = g.op("Add", [y, g.op("Mul", [xs, g.const(g.rng.standard_normal((h, 1)))])])
    y = g.op("Mul", [y, g.silu(g.op("Add", [z, g.weight((h, p), 0.1)]))])
    y = g.op("Reshape", [y, g.ints([0, 0, di])])
    x = g.op("Add", [x, g.op("MatMul", [y, g.weight((di, d))])])
    return swiglu_mlp(g, x, c)


def llamba_attention_layers(layers):
    """The layers of llamba_hybrid that keep attention: 4 and 10 of the
    16-layer 1b shape (../shared/BENCHMARKS.md hybrid-1b-shape); with fewer
    than 11 layers, the middle one."""
    return {4, 10} if layers >= 11 else {layers // 2}


def mamba3_layer(g, x, c, rank):
    d, p, n = c["d"], c["head_dim"], c["state"]
    di = c["expand"] * d
    h, S = di // p, n // 4
    hx = g.rms_norm(x, d)
    widths = [di, di, rank * n, rank * n, h, h, h, h * S]
    proj = g.op("MatMul", [hx, g.weight((d, sum(widths)))])
    z, xs, B, C, dt, A, lam, theta = g.op("Split", [proj, g.ints(widths)], outputs=8, axis=2)
    dt = g.op("Softplus", [g.op("Add", [dt, g.const(g.rng.uniform(-3, -1, h))])])
    A = g.op("Neg", [g.op("Softplus", [A])])
    lam = g.op("Sigmoid", [lam])
    theta = g.op("Reshape", [theta, g.ints([0, 0, h, S])])

    def bc(t):
        t = g.op("Reshape", [t, g.ints([0, 0, rank, 1, n])])
        t = g.ssmc("RMSNorm", [t, g.const(1.0 + 0.1 * g.rng.standard_normal(n))])
        return g.op("Add", [t, g.weight((rank, 1, n), 0.1)])

    heads = lambda t: g.op("Reshape", [t, g.ints([0, 0, h, p])])  # noqa: E731
    ins = [heads(xs), dt, A, lam, theta, bc(B), bc(C), g.const(g.rng.standard_normal(h)),
           heads(z)]
    if rank > 1:
        ins += [g.const(1.0 + 0.2 * g.rng.standard_normal((h, rank, p))) for _ in range(3)]
    y = g.ssmc("Mamba3", ins, rotary_pairing="interleaved" if rank == 1 else "halves")
    y = g.op("Reshape", [y, g.ints([0, 0, di])])
    return g.op("Add", [x, g.op("MatMul", [y, g.weight((di, d))])])


def perhead_hybrid_layer(g, x, c, positions, kept):
    """A Mamba-2 SSD mixer over all heads; with `kept` > 0 attention heads
    also, merged with HybridMerge."""
    (d, p, n, h, di), hx, z, xs, B, C, dt = mamba2_inputs(g, x, c, ssmc_conv)
    heads = lambda t, hh, w: g.op("Reshape", [t, g.ints([0, 0, hh, w])])  # noqa: E731
    A = g.const(-np.exp(g.rng.uniform(0, 1.5, h)))
    y = g.ssmc("SSD", [heads(xs, h, p), dt, A, heads(B, 1, n), heads(C, 1, n),
                       g.const(g.rng.standard_normal(h)), g.const(g.rng.uniform(-3, -1, h)),
                       heads(z, h, p)], dt_softplus=1)
    s = g.op("MatMul", [g.op("Reshape", [y, g.ints([0, 0, di])]), g.weight((di, d))])
    if kept:
        dh = d // c["heads"]
        inv_freq = 1.0 / (10000.0 ** (np.arange(0, dh, 2) / dh))
        pos = g.op("Unsqueeze", [g.op("Cast", [positions], to=TensorProto.FLOAT), g.ints([1])])
        ang = g.op("Unsqueeze", [g.op("MatMul", [pos, g.const(inv_freq[None, :])]), g.ints([0])])
        cos, sin = g.op("Cos", [ang]), g.op("Sin", [ang])
        qkv = [heads(g.op("MatMul", [hx, g.weight((d, kept * dh))]), kept, dh) for _ in range(3)]
        q, kk = (g.ssmc("Rotary", [t, cos, sin]) for t in qkv[:2])
        a = g.ssmc("Attention", [q, kk, qkv[2]], causal=1)
        a = g.op("Reshape", [a, g.ints([0, 0, kept * dh])])
        s = g.ssmc("HybridMerge", [s, a, g.weight((kept * dh, d))])
    return g.op("Add", [x, s])


def build(name, size="tiny", seed=0, layers=None):
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}")
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}")
    c = dict(SIZES[size])
    if layers:
        c["layers"] = layers
    rng = np.random.default_rng(seed)
    g = Graph(rng)
    emb = g.weight((c["vocab"], c["d"]), scale=1.0, name="embed")
    x = g.op("Gather", [emb, "input_ids"], axis=0)
    positions = g.op("Range", [g.const(0, np.int64), g.seq_len("input_ids"),
                               g.const(1, np.int64)])
    for i in range(c["layers"]):
        if name == "llama" or (name == "hybrid" and i % 2 == 1) or (
                name == "llamba_hybrid" and i in llamba_attention_layers(c["layers"])):
            x = attention_layer(g, x, c, positions)
        elif name.startswith("llamba"):
            x = llamba_layer(g, x, c)
        elif name == "llama23":
            x = attention23_layer(g, x, c, positions)
        elif name == "mamba2_la":
            x = mamba2_la_layer(g, x, c)
        elif name == "gated_deltanet":
            x = gated_deltanet_layer(g, x, c)
        elif name == "discrete_mamba2":
            x = discrete_mamba2_layer(g, x, c)
        elif name.startswith("mamba3"):
            x = mamba3_layer(g, x, c, 2 if name == "mamba3_mimo" else 1)
        elif name == "perhead_hybrid":
            x = perhead_hybrid_layer(g, x, c, positions, 2 if i == 0 else 0)
        else:
            x = mamba2_layer(g, x, c)
    x = g.rms_norm(x, c["d"])
    if size in ("130m", "1b"):  # tied embeddings
        head = g.op("Transpose", [emb], perm=[1, 0])
    else:
        head = g.weight((c["d"], c["vocab"]))
    logits = g.op("MatMul", [x, head])
    g.nodes[-1].output[0] = "logits"
    graph = helper.make_graph(
        g.nodes, f"{name}_{size}",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT,
                                       ["batch", "seq", c["vocab"]])],
        g.inits)
    opset = OPSETS.get(name, OPSET)
    imports = [helper.make_opsetid("", opset)]
    imports += [helper.make_opsetid(dom, 1) for dom in sorted(g.domains)]
    model = helper.make_model(graph, opset_imports=imports, producer_name="ssmc-zoo")
    model.ir_version = 11 if opset >= 27 else 10 if opset >= 23 else 9
    if sum(len(t.raw_data) for t in g.inits) < EXTERNAL_DATA_BYTES:
        onnx.checker.check_model(model, full_check=size == "tiny")
    return model


def save(model, path):
    """Writes `model` to `path`, its weights to `path`.data when they are
    large (then checks the saved model, which the checker reads by path)."""
    path = Path(path)
    if sum(len(t.raw_data) for t in model.graph.initializer) < EXTERNAL_DATA_BYTES:
        onnx.save(model, path)
        return
    data = path.name + ".data"
    (path.parent / data).unlink(missing_ok=True)  # external data is appended
    onnx.save(model, path, save_as_external_data=True, all_tensors_to_one_file=True,
              location=data, size_threshold=1024)
    onnx.checker.check_model(str(path))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("name", choices=MODELS)
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--size", default="tiny", choices=sorted(SIZES))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--layers", type=int)
    a = ap.parse_args()
    model = build(a.name, a.size, a.seed, a.layers)
    save(model, a.output)
    print(f"zoo: wrote {a.output} ({a.name}, {a.size}, {len(model.graph.node)} nodes)")


if __name__ == "__main__":
    main()
