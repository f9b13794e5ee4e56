"""The distillation workflow: find a Transformer's attention layers, convert
it into a state-space or hybrid student with MOHAWK's weight transfer, rank
its heads by retrieval (Gather-and-Aggregate), and run MOHAWK's three stages.

    python -m ssmc.distill sites teacher.onnx
    python -m ssmc.distill heads teacher.onnx -o heads.json [--keep 2]
    python -m ssmc.distill convert teacher.onnx -o student.onnx \\
        [--mixer discrete-mamba2|mamba2] [--state-size N] \\
        [--keep-layers 0,3] [--keep-heads heads.json | 1:2,1:5]
    python -m ssmc.distill run config.toml

The conversion is a graph transform on the ONNX model: every attention site
(the chain from the shared normed input through the Q, K and V projections,
scores, softmax and the output projection) is replaced by an SSM mixer in
the `ai.ssmc` domain, initialized from the attention's weights (Q to C, K
to B with grouped-query heads repeated, V to x, O to out_proj; the
attention scale folded into C); everything else (embeddings, MLPs, norms,
the LM head) is kept as it is. The student is an ONNX model like any other:
`ssmc --train` compiles its training steps, `ssmc` its inference library.
docs/Distillation.md explains each step; SEMANTICS.md has the math.
"""
import argparse
import dataclasses
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

SSMC_DOMAIN = "ai.ssmc"
MIXERS = ("discrete-mamba2", "mamba2")
PathLike = Union[str, os.PathLike]


class DistillError(ValueError):
    """A model, configuration or file the workflow cannot use."""


# --------------------------------------------------------------------------
# Attention sites


@dataclasses.dataclass
class AttentionSite:
    """One attention layer of a teacher graph, as the exporter wrote it.

    `index` counts attention sites in graph order (the "layer" of a
    (layer, head) pair). Weights are initializer names, stored (in, out) as
    ONNX MatMul reads them; a projection's output columns are head-major
    (head i owns columns i*head_dim .. (i+1)*head_dim - 1)."""
    index: int
    hidden: str           # the normed input all three projections read
    output: str           # the output projection's result (the residual adds it)
    q_weight: str
    k_weight: str
    v_weight: str
    o_weight: str
    heads: int
    kv_heads: int
    head_dim: int
    value_dim: int
    scale: float
    masked: bool          # an additive (causal) mask before the softmax
    query: str            # (b, heads, l, head_dim) after rotary, before scaling
    key: str              # (b, key_heads, l, head_dim) after rotary
    value: str            # (b, value_heads, l, value_dim)
    key_heads: int        # heads of `key`: heads (repeated) or kv_heads
    value_heads: int
    q_bias: Optional[str] = None
    k_bias: Optional[str] = None
    v_bias: Optional[str] = None
    o_bias: Optional[str] = None

    def describe(self) -> str:
        gqa = f", {self.kv_heads} kv heads" if self.kv_heads != self.heads else ""
        return (f"attention {self.index}: {self.heads} heads{gqa}, head dim "
                f"{self.head_dim}, scale {self.scale:.4g}; q {self.q_weight}, k "
                f"{self.k_weight}, v {self.v_weight}, o {self.o_weight}; input "
                f"{self.hidden}, output {self.output}")


class _Graph:
    """Producers, consumers, initializers and inferred shapes of a graph."""

    def __init__(self, model):
        import onnx
        from onnx import numpy_helper

        self.model = model
        g = model.graph
        self.producer = {o: n for n in g.node for o in n.output if o}
        self.consumers: Dict[str, list] = {}
        for n in g.node:
            for i in n.input:
                if i:
                    self.consumers.setdefault(i, []).append(n)
        self.inits = {i.name: i for i in g.initializer}
        self._arrays: Dict[str, np.ndarray] = {}
        self._np = numpy_helper
        try:
            inferred = onnx.shape_inference.infer_shapes(model, data_prop=True)
        except Exception as e:  # noqa: BLE001 - onnx raises several kinds
            raise DistillError(f"ONNX shape inference failed: {e}") from e
        self.shapes: Dict[str, list] = {}
        for v in (list(inferred.graph.value_info) + list(inferred.graph.input)
                  + list(inferred.graph.output)):
            t = v.type.tensor_type
            if t.HasField("shape"):
                self.shapes[v.name] = [d.dim_value if d.HasField("dim_value") else None
                                       for d in t.shape.dim]
        for name, init in self.inits.items():
            self.shapes[name] = list(init.dims)

    def array(self, name: str) -> Optional[np.ndarray]:
        if name in self.inits:
            if name not in self._arrays:
                self._arrays[name] = self._np.to_array(self.inits[name])
            return self._arrays[name]
        n = self.producer.get(name)
        if n is not None and n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    return self._np.to_array(a.t)
        return None

    def scalar(self, name: str) -> Optional[float]:
        a = self.array(name)
        if a is None or a.size != 1 or not np.issubdtype(a.dtype, np.floating):
            return None
        return float(a.reshape(()))

    def weight(self, name: str) -> bool:
        """A 2-D float initializer (a projection's weight)."""
        a = self.inits.get(name)
        return a is not None and len(a.dims) == 2 and self.array(name).dtype.kind == "f"

    def only_consumer(self, name: str):
        c = self.consumers.get(name, [])
        return c[0] if len(c) == 1 else None


def _strip_scale(g: _Graph, name: str, scale: float) -> Tuple[str, float]:
    """Walks back through Mul/Div by scalar constants."""
    while True:
        n = g.producer.get(name)
        if n is None or n.op_type not in ("Mul", "Div") or len(n.input) != 2:
            return name, scale
        c1 = g.scalar(n.input[1])
        c0 = g.scalar(n.input[0]) if n.op_type == "Mul" else None
        if c1 is not None:
            scale = scale * c1 if n.op_type == "Mul" else scale / c1
            name = n.input[0]
        elif c0 is not None:
            scale *= c0
            name = n.input[1]
        else:
            return name, scale


def _heads_tensor(g: _Graph, name: str, dim: int, after_transpose: bool
                  ) -> Optional[str]:
    """The nearest rank-4 (b, heads, l, dim) tensor walking back from
    `name` through layout ops (Transpose, Reshape, Expand, Unsqueeze,
    Squeeze, scalar scaling); with `after_transpose`, only once a Transpose
    has been passed (a key reaches the scores transposed)."""
    seen_transpose = not after_transpose
    for _ in range(16):
        shape = g.shapes.get(name)
        if (seen_transpose and shape and len(shape) == 4 and shape[1]
                and shape[3] == dim):
            return name
        n = g.producer.get(name)
        if n is None:
            return None
        if n.op_type == "Transpose":
            seen_transpose = True
        elif n.op_type in ("Mul", "Div"):
            stripped, _ = _strip_scale(g, name, 1.0)
            if stripped == name:
                return None
            name = stripped
            continue
        elif n.op_type not in ("Reshape", "Expand", "Unsqueeze", "Squeeze", "Identity"):
            return None
        name = n.input[0]
    return None


def _projections(g: _Graph, start: str) -> List:
    """MatMul nodes with a 2-D float initializer weight that `start` is
    computed from (a backward walk that stops at them)."""
    found, seen, todo = [], set(), [start]
    while todo:
        name = todo.pop()
        if name in seen or name in g.inits:
            continue
        seen.add(name)
        n = g.producer.get(name)
        if n is None:
            continue
        if n.op_type == "MatMul" and g.weight(n.input[1]):
            found.append(n)
            continue
        todo.extend(i for i in n.input if i)
    return found


def _bias_after(g: _Graph, node, width: int) -> Tuple[str, Optional[str]]:
    """The output of `node` and, when the only consumer adds a 1-D float
    initializer of `width` elements (a projection's bias), that Add's output
    and the bias."""
    out = node.output[0]
    add = g.only_consumer(out)
    if add is not None and add.op_type == "Add":
        other = add.input[1] if add.input[0] == out else add.input[0]
        a = g.array(other) if other in g.inits else None
        if a is not None and a.dtype.kind == "f" and a.shape == (width,):
            return add.output[0], other
    return out, None


def find_attention_sites(model) -> List[AttentionSite]:
    """Every softmax attention of an ONNX model (a ModelProto or a path)
    whose Q, K, V and output projections are MatMuls with initializer
    weights reading one shared input, in graph order."""
    import onnx
    if isinstance(model, (str, os.PathLike)):
        model = onnx.load(os.fspath(model))
    g = _Graph(model)
    sites: List[AttentionSite] = []
    for sm in model.graph.node:
        if sm.op_type != "Softmax":
            continue
        site = _site(g, sm, len(sites))
        if site is not None:
            sites.append(site)
    return sites


def _site(g: _Graph, sm, index: int) -> Optional[AttentionSite]:
    # probs (optionally Where(IsNaN(p), 0, p)) -> MatMul(probs, V).
    probs = sm.output[0]
    av = None
    for c in g.consumers.get(probs, []):
        if c.op_type == "MatMul" and c.input[0] == probs:
            av = c
        elif c.op_type == "Where" and c.input[2] == probs:
            for cc in g.consumers.get(c.output[0], []):
                if cc.op_type == "MatMul" and cc.input[0] == c.output[0]:
                    av = cc
    if av is None:
        return None
    scores, scale = _strip_scale(g, sm.input[0], 1.0)
    masked = False
    n = g.producer.get(scores)
    if n is not None and n.op_type == "Add":
        for i in (0, 1):
            s2, sc2 = _strip_scale(g, n.input[i], scale)
            p = g.producer.get(s2)
            if p is not None and p.op_type == "MatMul":
                scores, scale, masked = s2, sc2, True
                break
    qk = g.producer.get(scores)
    if qk is None or qk.op_type != "MatMul":
        return None
    qname, scale = _strip_scale(g, qk.input[0], scale)
    kname, scale = _strip_scale(g, qk.input[1], scale)
    qshape = g.shapes.get(qname)
    if not qshape or len(qshape) != 4 or not qshape[1] or not qshape[3]:
        return None
    heads, head_dim = qshape[1], qshape[3]
    vshape = g.shapes.get(av.input[1])
    if not vshape or len(vshape) != 4 or not vshape[3]:
        return None
    value_dim = vshape[3]
    key = _heads_tensor(g, kname, head_dim, after_transpose=True)
    value = _heads_tensor(g, av.input[1], value_dim, after_transpose=False)
    if key is None or value is None:
        return None

    # The projections: one each, reading the same input.
    def proj(start, width_of):
        cands = [m for m in _projections(g, start)
                 if g.shapes[m.input[1]][1] % width_of == 0]
        return cands

    qs, ks, vs = proj(qname, head_dim), proj(key, head_dim), proj(value, value_dim)
    for q in qs:
        for k in ks:
            for v in vs:
                if q.input[0] == k.input[0] == v.input[0]:
                    break
            else:
                continue
            break
        else:
            continue
        break
    else:
        return None
    d = g.shapes[q.input[1]][0]
    if g.shapes[q.input[1]][1] != heads * head_dim:
        return None
    kv_width = g.shapes[k.input[1]][1]
    kv_heads = kv_width // head_dim
    if (kv_heads == 0 or heads % kv_heads or g.shapes[v.input[1]][1] != kv_heads * value_dim
            or g.shapes[v.input[1]][0] != d or g.shapes[k.input[1]][0] != d):
        return None
    key_heads, value_heads = g.shapes[key][1], g.shapes[value][1]
    if key_heads not in (heads, kv_heads) or value_heads not in (heads, kv_heads):
        return None

    # Output: through layout ops to MatMul(o, W_o) with W_o (heads * dv, d).
    name = av.output[0]
    o = None
    for _ in range(8):
        c = g.only_consumer(name)
        if c is None:
            return None
        if c.op_type == "MatMul" and c.input[0] == name and g.weight(c.input[1]):
            o = c
            break
        if c.op_type not in ("Transpose", "Reshape", "Identity"):
            return None
        name = c.output[0]
    if o is None or g.shapes[o.input[1]] != [heads * value_dim, d]:
        return None
    _, qb = _bias_after(g, q, heads * head_dim)
    _, kb = _bias_after(g, k, kv_width)
    _, vb = _bias_after(g, v, kv_heads * value_dim)
    out, ob = _bias_after(g, o, d)
    return AttentionSite(
        index=index, hidden=q.input[0], output=out, q_weight=q.input[1],
        k_weight=k.input[1], v_weight=v.input[1], o_weight=o.input[1], heads=heads,
        kv_heads=kv_heads, head_dim=head_dim, value_dim=value_dim, scale=scale,
        masked=masked, query=qname, key=key, value=value, key_heads=key_heads,
        value_heads=value_heads, q_bias=qb, k_bias=kb, v_bias=vb, o_bias=ob)


# --------------------------------------------------------------------------
# Conversion


def parse_heads(spec: Union[str, Sequence, None]) -> List[Tuple[int, int]]:
    """(layer, head) pairs from "1:2,1:5", a JSON file written by `heads`
    ({"keep": [[1, 2], ...]}) or a list of pairs."""
    if spec is None or spec == "":
        return []
    if isinstance(spec, (str, os.PathLike)) and os.path.exists(os.fspath(spec)):
        with open(os.fspath(spec)) as f:
            data = json.load(f)
        if not isinstance(data, dict) or "keep" not in data:
            raise DistillError(f"{spec}: expected a JSON object with a 'keep' list "
                               "(as `ssmc.distill heads` writes)")
        spec = data["keep"]
    if isinstance(spec, str):
        pairs = []
        for item in spec.split(","):
            parts = item.strip().split(":")
            if len(parts) != 2 or not all(p.strip().lstrip("-").isdigit() for p in parts):
                raise DistillError(f"bad head '{item}': expected layer:head, e.g. 1:3")
            pairs.append((int(parts[0]), int(parts[1])))
        spec = pairs
    out = []
    for p in spec:
        if len(p) != 2:
            raise DistillError(f"bad head {p!r}: expected a (layer, head) pair")
        out.append((int(p[0]), int(p[1])))
    return sorted(set(out))


def parse_layers(spec: Union[str, Sequence[int], None]) -> List[int]:
    if spec is None or spec == "":
        return []
    if isinstance(spec, str):
        try:
            return sorted({int(s) for s in spec.split(",")})
        except ValueError:
            raise DistillError(f"bad layer list '{spec}': expected e.g. 0,3") from None
    return sorted({int(s) for s in spec})


def _head_columns(width: int, heads: Sequence[int]) -> np.ndarray:
    return np.concatenate([np.arange(h * width, (h + 1) * width) for h in heads])


def _state_columns(w: np.ndarray, heads: int, head_dim: int, state: int,
                   rng: np.random.Generator) -> np.ndarray:
    """(d, heads * head_dim) -> (d, heads * state): each head's first
    `state` columns, or its columns and small random ones after them."""
    d = w.shape[0]
    w = w.reshape(d, heads, head_dim)
    if state <= head_dim:
        return w[:, :, :state].reshape(d, heads * state)
    extra = rng.standard_normal((d, heads, state - head_dim)) * (0.02 / math.sqrt(d))
    return np.concatenate([w, extra.astype(w.dtype)], axis=2).reshape(d, heads * state)


@dataclasses.dataclass
class ConversionReport:
    sites: List[AttentionSite]
    converted: List[int]
    kept_layers: List[int]
    kept_heads: List[Tuple[int, int]]
    mixer: str
    state_size: int

    def summary(self) -> str:
        total = sum(s.heads for s in self.sites)
        lines = [f"{len(self.sites)} attention layers, {total} heads"]
        for s in self.sites:
            if s.index in self.kept_layers:
                what = "kept as attention"
            else:
                kh = [h for (layer, h) in self.kept_heads if layer == s.index]
                what = f"{self.mixer}, state size {self.state_size}"
                if kh:
                    what += f" + attention heads {kh} (per-head hybrid)"
            lines.append(f"  layer {s.index}: {what}")
        if self.kept_heads:
            lines.append(f"kept heads: {len(self.kept_heads)} of {total} "
                         f"({100.0 * len(self.kept_heads) / total:.1f}%)")
        return "\n".join(lines)


def convert(teacher, output: Optional[PathLike] = None, *, mixer: str = "discrete-mamba2",
            state_size: int = 0, keep_layers=None, keep_heads=None, conv_width: int = 4,
            decay: float = 0.99, seed: int = 0):
    """Builds the student of an attention teacher (ONNX path or ModelProto).

    Each attention site not in `keep_layers` becomes `mixer` (Discrete
    Mamba-2 or Mamba-2) over the teacher's query heads, with MOHAWK's
    transfer: x from V, B from K (grouped-query heads repeated), C from Q
    times the attention scale, out_proj from O; state size `state_size`
    (0: the head dim; smaller keeps each head's first columns, larger adds
    small random ones); a depthwise causal convolution of `conv_width`
    taps over [x, B, C] initialized to the identity (0: none); the decay
    starts near `decay` per token (A_log's bias). `keep_heads` (layer,
    head) pairs make those layers per-head hybrids: the SSM over all heads
    plus attention over the kept heads, merged by HybridMerge (the merge
    weight from those heads' rows of O). Returns (ModelProto, report);
    writes the model when `output` is given."""
    import onnx
    from onnx import helper, numpy_helper

    if mixer not in MIXERS:
        raise DistillError(f"unknown mixer '{mixer}': expected one of {', '.join(MIXERS)}")
    if not 0.0 < decay < 1.0:
        raise DistillError(f"decay must be in (0, 1), got {decay}")
    if state_size < 0 or conv_width < 0:
        raise DistillError("state size and convolution width must not be negative")
    if isinstance(teacher, (str, os.PathLike)):
        model = onnx.load(os.fspath(teacher))
    else:
        model = onnx.ModelProto()
        model.CopyFrom(teacher)
    sites = find_attention_sites(model)
    if not sites:
        raise DistillError("no attention found: the teacher must compute softmax attention "
                           "with Q, K, V and output projections that are MatMuls by "
                           "initializers of one shared input")
    kept_layers = parse_layers(keep_layers)
    kept_heads = parse_heads(keep_heads)
    by_index = {s.index: s for s in sites}
    for layer in kept_layers:
        if layer not in by_index:
            raise DistillError(f"keep_layers: there is no attention layer {layer} "
                               f"(the teacher has {len(sites)})")
    for layer, h in kept_heads:
        if layer not in by_index:
            raise DistillError(f"keep_heads: there is no attention layer {layer} "
                               f"(the teacher has {len(sites)})")
        if not 0 <= h < by_index[layer].heads:
            raise DistillError(f"keep_heads: layer {layer} has {by_index[layer].heads} "
                               f"heads, no head {h}")
        if layer in kept_layers:
            raise DistillError(f"layer {layer} is kept whole and has kept heads too")

    g = _Graph(model)
    rng = np.random.default_rng(seed)
    new_inits, new_nodes = [], {}
    counter = [0]

    def init(name, array):
        new_inits.append(numpy_helper.from_array(np.asarray(array, np.float32), name))
        return name

    def ints(name, values):
        new_inits.append(numpy_helper.from_array(np.asarray(values, np.int64), name))
        return name

    converted = []
    for s in sites:
        if s.index in kept_layers:
            continue
        converted.append(s.index)
        nodes = []
        pre = f"ssmc.distill.l{s.index}."

        def node(op, inputs, outputs=None, domain="", **attrs):
            counter[0] += 1
            outputs = outputs or [f"{pre}{op.lower()}_{counter[0]}"]
            nodes.append(helper.make_node(op, inputs, outputs, name=f"{pre}{op}_{counter[0]}",
                                          domain=domain, **attrs))
            return outputs[0] if len(outputs) == 1 else outputs

        h, dh, dv, d = s.heads, s.head_dim, s.value_dim, g.shapes[s.q_weight][0]
        n = state_size or dh
        rep = h // s.kv_heads
        wq, wk, wv, wo = (g.array(w).astype(np.float32)
                          for w in (s.q_weight, s.k_weight, s.v_weight, s.o_weight))

        def repeat(w, width):  # kv heads -> query heads (head i uses kv head i // rep)
            return w.reshape(d, s.kv_heads, 1, width).repeat(rep, axis=2).reshape(d, h * width)

        def repeat_bias(b, width):
            return b.reshape(s.kv_heads, 1, width).repeat(rep, axis=1).reshape(h * width)

        wx = repeat(wv, dv)
        wb = _state_columns(repeat(wk, dh), h, dh, n, rng)
        wc = _state_columns(wq * s.scale, h, dh, n, rng)
        extra = h  # A_log (discrete) or dt (mamba2): one column per head
        w_in = np.concatenate([wx, wb, wc, np.zeros((d, extra), np.float32)], axis=1)
        zeros = lambda k: np.zeros(k, np.float32)  # noqa: E731
        bx = repeat_bias(g.array(s.v_bias), dv) if s.v_bias else zeros(h * dv)
        bb = (_state_columns(repeat_bias(g.array(s.k_bias), dh)[None], h, dh, n, rng)[0]
              if s.k_bias else zeros(h * n))
        bc = (_state_columns((g.array(s.q_bias) * s.scale)[None], h, dh, n, rng)[0]
              if s.q_bias else zeros(h * n))
        if mixer == "discrete-mamba2":
            # a = exp(-softplus(A_log)) = decay at A_log = log(exp(-log decay) - 1).
            b_extra = np.full(h, math.log(math.expm1(-math.log(decay))), np.float32)
        else:
            b_extra = zeros(h)  # dt before dt_bias
        b_in = np.concatenate([bx, bb, bc, b_extra]).astype(np.float32)
        proj = node("MatMul", [s.hidden, init(pre + "in_proj.weight", w_in)])
        proj = node("Add", [proj, init(pre + "in_proj.bias", b_in)])
        conv_dim = h * dv + 2 * h * n
        xbc, extra_out = node("Split", [proj, ints(pre + "split_in", [conv_dim, extra])],
                              outputs=[pre + "xbc", pre + "extra"], axis=2)
        if conv_width:
            wconv = np.zeros((conv_dim, conv_width), np.float32)
            wconv[:, -1] = 1.0
            xbc = node("CausalConv1d", [xbc, init(pre + "conv1d.weight", wconv),
                                        init(pre + "conv1d.bias", zeros(conv_dim))],
                       domain=SSMC_DOMAIN, silu=0)
        xs, B, C = node("Split", [xbc, ints(pre + "split_xbc", [h * dv, h * n, h * n])],
                        outputs=[pre + "x", pre + "B", pre + "C"], axis=2)
        as_heads = lambda t, w: node("Reshape", [t, ints(pre + f"heads_{w}_{t.split('.')[-1]}",  # noqa: E731
                                                         [0, 0, h, w])])
        xs, B, C = as_heads(xs, dv), as_heads(B, n), as_heads(C, n)
        D = init(pre + "D", zeros(h))
        if mixer == "discrete-mamba2":
            y = node("DiscreteSSD", [xs, extra_out, B, C, D], domain=SSMC_DOMAIN)
        else:
            A = node("Neg", [node("Exp", [init(pre + "A_log", np.full(h, math.log(-math.log(decay)),
                                                                       np.float32))])])
            # softplus(dt_bias) = 1 at the start: x enters unscaled.
            dt_bias = init(pre + "dt_bias", np.full(h, math.log(math.e - 1.0), np.float32))
            y = node("SSD", [xs, extra_out, A, B, C, D, dt_bias], domain=SSMC_DOMAIN,
                     dt_softplus=1)
        y = node("Reshape", [y, ints(pre + "merge_heads", [0, 0, h * dv])])
        kh = [hd for (layer, hd) in kept_heads if layer == s.index]
        final = s.output
        if not kh:
            out = node("MatMul", [y, init(pre + "out_proj.weight", wo)],
                       outputs=None if s.o_bias else [final])
            if s.o_bias:
                node("Add", [out, s.o_bias], outputs=[final])
        else:
            out = node("MatMul", [y, init(pre + "out_proj.weight", wo)])
            if s.o_bias:
                out = node("Add", [out, s.o_bias])

            def gather(t, heads_of_t, width):
                idx = [hd if heads_of_t == h else hd // rep for hd in kh]
                t = node("Gather", [t, ints(pre + f"kept_{width}_{heads_of_t}_{counter[0]}",
                                            idx)], axis=1)
                return node("Transpose", [t], perm=[0, 2, 1, 3])

            q = gather(s.query, h, dh)
            k = gather(s.key, s.key_heads, dh)
            v = gather(s.value, s.value_heads, dv)
            a = node("Attention", [q, k, v], domain=SSMC_DOMAIN, causal=1, scale=s.scale)
            a = node("Reshape", [a, ints(pre + "merge_kept", [0, 0, len(kh) * dv])])
            w_merge = wo[_head_columns(dv, kh)]
            node("HybridMerge", [out, a, init(pre + "merge.weight", w_merge)],
                 outputs=[final], domain=SSMC_DOMAIN)
        new_nodes[s.output] = nodes

    # Splice: each converted site's new nodes replace the node writing its
    # output; then everything nothing reads any more goes.
    graph = model.graph
    nodes = []
    for nd in graph.node:
        written = [o for o in nd.output if o in new_nodes]
        if written:
            nodes.extend(new_nodes[written[0]])
        else:
            nodes.append(nd)
    del graph.node[:]
    graph.node.extend(nodes)
    graph.initializer.extend(new_inits)
    _remove_dead(model)
    if not any(o.domain == SSMC_DOMAIN for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid(SSMC_DOMAIN, 1))
    model.producer_name = "ssmc.distill"
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as e:
        raise DistillError(f"the converted model is not valid ONNX: {e}") from e
    if output is not None:
        onnx.save(model, os.fspath(output))
    report = ConversionReport(sites, converted, kept_layers, kept_heads, mixer,
                              state_size or sites[0].head_dim)
    return model, report


def _remove_dead(model) -> None:
    """Drops nodes whose outputs nothing reads (graph outputs are read) and
    initializers no node reads, to a fixed point."""
    graph = model.graph
    live = {o.name for o in graph.output}
    kept = []
    for nd in reversed(list(graph.node)):
        if any(o in live for o in nd.output if o):
            kept.append(nd)
            live.update(i for i in nd.input if i)
            for a in nd.attribute:  # subgraphs read outer names
                for sub in ([a.g] if a.HasField("g") else []) + list(a.graphs):
                    for sn in sub.node:
                        live.update(i for i in sn.input if i)
    kept.reverse()
    del graph.node[:]
    graph.node.extend(kept)
    inits = [i for i in graph.initializer if i.name in live]
    del graph.initializer[:]
    graph.initializer.extend(inits)
    vis = [v for v in graph.value_info if v.name in live]
    del graph.value_info[:]
    graph.value_info.extend(vis)


# --------------------------------------------------------------------------
# Retrieval probe and head analysis


def mqar_batch(rng: np.random.Generator, size: int, pairs: int = 8, queries: int = 8,
               vocab: int = 128) -> Tuple[np.ndarray, np.ndarray]:
    """Multi-query associative recall (Zoology): `pairs` key-value pairs
    (k1 v1 k2 v2 ...), then `queries` of the keys again, each followed by
    its value. Keys from [1, vocab/2), values from [vocab/2, vocab). Returns
    token ids (size, 2 * (pairs + queries)) and labels: -100 except at each
    query key, where the label is its value (the next token)."""
    half = vocab // 2
    if pairs < 1 or pairs > half - 1 or not 1 <= queries <= pairs:
        raise DistillError("need 1 <= queries <= pairs < vocab / 2 - 1")
    seq = 2 * (pairs + queries)
    ids = np.zeros((size, seq), np.int64)
    labels = np.full((size, seq), -100, np.int64)
    for b in range(size):
        keys = rng.choice(np.arange(1, half), pairs, replace=False)
        values = rng.integers(half, vocab, pairs)
        ids[b, 0:2 * pairs:2] = keys
        ids[b, 1:2 * pairs:2] = values
        asked = rng.choice(pairs, queries, replace=False)
        start = 2 * pairs
        ids[b, start::2] = keys[asked]
        ids[b, start + 1::2] = values[asked]
        labels[b, start::2] = values[asked]
    return ids, labels


def retrieval_scores(logits: np.ndarray, labels: np.ndarray) -> Tuple[float, float]:
    """(accuracy, mean cross-entropy) at the labelled positions."""
    mask = labels >= 0
    z = logits[mask].astype(np.float64)
    y = labels[mask]
    if y.size == 0:
        raise DistillError("no labelled positions")
    acc = float((z.argmax(-1) == y).mean())
    zmax = z.max(-1, keepdims=True)
    lse = np.log(np.exp(z - zmax).sum(-1)) + zmax[:, 0]
    return acc, float((lse - z[np.arange(len(y)), y]).mean())


@dataclasses.dataclass
class HeadScore:
    layer: int
    head: int
    accuracy: float
    loss: float
    drop: float           # baseline accuracy - accuracy
    loss_increase: float


def analyze_heads(teacher: PathLike, *, pairs: int = 8, queries: int = 8,
                  probe_vocab: int = 0, batches: int = 4, batch_size: int = 64,
                  seed: int = 0, workdir: Optional[PathLike] = None):
    """Ablates each attention head of `teacher` (its rows of the output
    projection zeroed, i.e. the head's output removed) on the MQAR probe
    and ranks heads by the accuracy drop (then the loss increase). The
    teacher is compiled once with the output projections as inputs, so
    each ablation is one run. Returns (baseline (accuracy, loss), scores
    sorted best first, sites)."""
    import onnx
    from . import compile as ssmc_compile
    from onnx import helper, numpy_helper

    model = onnx.load(os.fspath(teacher))
    sites = find_attention_sites(model)
    if not sites:
        raise DistillError(f"{teacher}: no attention found")
    weights = {}
    graph = model.graph
    names = {s.o_weight for s in sites}
    keep = []
    for init in graph.initializer:
        if init.name in names:
            weights[init.name] = numpy_helper.to_array(init).astype(np.float32)
            graph.input.append(helper.make_tensor_value_info(
                init.name, onnx.TensorProto.FLOAT, list(init.dims)))
        else:
            keep.append(init)
    del graph.initializer[:]
    graph.initializer.extend(keep)
    work = Path(workdir) if workdir else None
    probe = ssmc_compile(model.SerializeToString(),
                         (work / "heads-probe.so") if work else None, generation="off")
    vocab = None
    for o in probe.signature("main")["outputs"]:
        if o["name"] == "logits" or vocab is None:
            vocab = o["shape"][-1]
    if not isinstance(vocab, int):
        raise DistillError("the teacher's logits need a static vocabulary size")
    probe_vocab = probe_vocab or min(vocab, 128)
    if probe_vocab > vocab:
        raise DistillError(f"probe vocabulary {probe_vocab} exceeds the model's {vocab}")
    rng = np.random.default_rng(seed)
    data = [mqar_batch(rng, batch_size, pairs, queries, probe_vocab) for _ in range(batches)]

    def score(ws):
        logits = np.concatenate([probe.run({"input_ids": ids, **ws})["logits"]
                                 for ids, _ in data])
        return retrieval_scores(logits, np.concatenate([lab for _, lab in data]))

    base = score(weights)
    scores = []
    for s in sites:
        for h in range(s.heads):
            ws = dict(weights)
            w = ws[s.o_weight].copy()
            w[h * s.value_dim:(h + 1) * s.value_dim] = 0.0
            ws[s.o_weight] = w
            acc, loss = score(ws)
            scores.append(HeadScore(s.index, h, acc, loss, base[0] - acc, loss - base[1]))
    scores.sort(key=lambda x: (-x.drop, -x.loss_increase, x.layer, x.head))
    return base, scores, sites


def heads_report(base, scores: Sequence[HeadScore], top: int = 0) -> str:
    lines = [f"baseline: accuracy {base[0]:.4f}, loss {base[1]:.4f}",
             "rank  layer  head  accuracy    drop  loss increase"]
    for r, s in enumerate(scores[:top] if top else scores, 1):
        lines.append(f"{r:4d}  {s.layer:5d}  {s.head:4d}  {s.accuracy:8.4f}  {s.drop:6.4f}"
                     f"  {s.loss_increase:13.4f}")
    return "\n".join(lines)


def write_heads(path: PathLike, base, scores: Sequence[HeadScore], keep: int,
                probe: dict) -> List[Tuple[int, int]]:
    kept = [(s.layer, s.head) for s in scores[:keep]]
    data = {"keep": [list(p) for p in kept],
            "baseline": {"accuracy": base[0], "loss": base[1]},
            "probe": probe,
            "heads": [dataclasses.asdict(s) for s in scores]}
    with open(os.fspath(path), "w") as f:
        json.dump(data, f, indent=1)
    return kept


# --------------------------------------------------------------------------
# Token files


class TokenFile:
    """A flat binary file of token ids (uint16 or uint32, little-endian, no
    header: what nanoGPT-style preprocessing writes). Batches are windows of
    seq_len + 1 tokens (inputs, and the next tokens as labels) at random
    offsets, or, with `aligned`, whole consecutive sequences of seq_len
    tokens (the file is sequences laid end to end; the last label of each is
    ignored)."""

    def __init__(self, path: PathLike, dtype: str = "uint16", seq_len: int = 64,
                 aligned: bool = False, vocab: Optional[int] = None):
        if dtype not in ("uint16", "uint32"):
            raise DistillError(f"token dtype must be uint16 or uint32, not '{dtype}'")
        path = Path(path)
        if not path.is_file():
            raise DistillError(f"no token file {path}")
        size = np.dtype(dtype).itemsize
        if path.stat().st_size % size:
            raise DistillError(f"{path}: {path.stat().st_size} bytes is not a whole number of "
                               f"{dtype} tokens")
        self.tokens = np.memmap(path, dtype=np.dtype(dtype).newbyteorder("<"), mode="r")
        self.seq_len, self.aligned, self.path = seq_len, aligned, path
        need = seq_len if aligned else seq_len + 1
        if seq_len < 2 or len(self.tokens) < need:
            raise DistillError(f"{path}: {len(self.tokens)} tokens, fewer than one window of "
                               f"{need}")
        if aligned and len(self.tokens) % seq_len:
            raise DistillError(f"{path}: {len(self.tokens)} tokens is not a whole number of "
                               f"aligned sequences of {seq_len}")
        if vocab is not None:
            top = int(self.tokens.max())
            if top >= vocab:
                raise DistillError(f"{path}: token {top} is outside the model's vocabulary "
                                   f"of {vocab}")

    def batch(self, rng: np.random.Generator, size: int) -> Tuple[np.ndarray, np.ndarray]:
        L = self.seq_len
        if self.aligned:
            starts = rng.integers(0, len(self.tokens) // L, size) * L
            ids = np.stack([np.asarray(self.tokens[s:s + L]) for s in starts]).astype(np.int64)
            labels = np.full_like(ids, -100)
            labels[:, :-1] = ids[:, 1:]
            return ids, labels
        starts = rng.integers(0, len(self.tokens) - L, size)
        w = np.stack([np.asarray(self.tokens[s:s + L + 1]) for s in starts]).astype(np.int64)
        return w[:, :-1], w[:, 1:]


def write_tokens(path: PathLike, tokens: np.ndarray, dtype: str = "uint16") -> None:
    t = np.asarray(tokens).reshape(-1)
    if dtype not in ("uint16", "uint32"):
        raise DistillError(f"token dtype must be uint16 or uint32, not '{dtype}'")
    if t.size and (t.min() < 0 or t.max() > np.iinfo(dtype).max):
        raise DistillError(f"tokens do not fit {dtype}")
    t.astype(np.dtype(dtype).newbyteorder("<")).tofile(os.fspath(path))


# --------------------------------------------------------------------------
# The stages


STAGES = {1: "matrix-orientation", 2: "hidden-alignment", 3: "distillation"}
STAGE_NAMES = {1: "matrix orientation", 2: "hidden-state alignment",
               3: "knowledge distillation"}


@dataclasses.dataclass
class StageConfig:
    steps: int
    lr: float
    warmup: int = 0
    schedule: str = "wsd"      # wsd (warmup-stable-decay), cosine, constant
    temperature: float = 1.0   # stage 3
    label_weight: float = 0.0  # stage 3: weight of the cross-entropy on the labels
    frozen: Tuple[str, ...] = ()
    adam_betas: Tuple[float, float] = (0.9, 0.95)
    adam_eps: float = 1e-8
    weight_decay: float = 0.1
    max_grad_norm: float = 1.0  # 0: no clipping


@dataclasses.dataclass
class Config:
    teacher: Path
    workdir: Path
    output: Path
    tokens: Path
    token_dtype: str = "uint16"
    seq_len: int = 64
    batch_size: int = 8
    aligned: bool = False
    seed: int = 0
    stages: Dict[int, StageConfig] = dataclasses.field(default_factory=dict)
    student: Optional[Path] = None          # an existing student ONNX instead of converting
    convert: Dict = dataclasses.field(default_factory=dict)
    log_format: str = "csv"
    log_every: int = 10
    checkpoint_every: int = 100
    progress: bool = True

    @classmethod
    def load(cls, path: PathLike) -> "Config":
        """From a TOML (or JSON) file; relative paths are relative to it."""
        path = Path(path)
        if not path.is_file():
            raise DistillError(f"no config file {path}")
        text = path.read_text()
        try:
            if path.suffix == ".json":
                raw = json.loads(text)
            else:
                try:
                    import tomllib
                except ImportError:  # Python < 3.11
                    try:
                        import tomli as tomllib
                    except ImportError:
                        raise DistillError(f"{path}: TOML configs need Python 3.11 or the "
                                           "tomli package; or write the config as JSON "
                                           "(.json)") from None
                raw = tomllib.loads(text)
        except DistillError:
            raise
        except Exception as e:  # noqa: BLE001 - json and tomllib errors
            raise DistillError(f"{path}: {e}") from e
        return cls.from_dict(raw, path.parent)

    @classmethod
    def from_dict(cls, raw: Dict, base: PathLike = ".") -> "Config":
        base = Path(base)
        raw = dict(raw)

        def take(d, key, kind, default=None, where="config"):
            if key not in d:
                if default is None:
                    raise DistillError(f"{where}: '{key}' is required")
                return default
            v = d.pop(key)
            if kind is float and isinstance(v, int) and not isinstance(v, bool):
                v = float(v)
            if not isinstance(v, kind) or (kind is int and isinstance(v, bool)):
                raise DistillError(f"{where}: '{key}' must be {kind.__name__}, got {v!r}")
            return v

        rel = lambda p: p if Path(p).is_absolute() else base / p  # noqa: E731
        data = raw.pop("data", None)
        if not isinstance(data, dict):
            raise DistillError("config: a [data] table is required (tokens = \"file.bin\")")
        cfg = cls(teacher=rel(take(raw, "teacher", str)),
                  workdir=rel(take(raw, "workdir", str, "distill-run")),
                  output=rel(take(raw, "output", str, "student.onnx")),
                  tokens=rel(take(data, "tokens", str, where="[data]")),
                  token_dtype=take(data, "dtype", str, "uint16", "[data]"),
                  seq_len=take(data, "seq_len", int, 64, "[data]"),
                  batch_size=take(data, "batch_size", int, 8, "[data]"),
                  aligned=take(data, "aligned", bool, False, "[data]"),
                  seed=take(raw, "seed", int, 0))
        if data:
            raise DistillError(f"[data]: unknown keys {', '.join(sorted(data))}")
        student = raw.pop("student", {})
        if not isinstance(student, dict):
            raise DistillError("config: [student] must be a table")
        student = dict(student)
        if "path" in student:
            cfg.student = rel(take(student, "path", str, where="[student]"))
            if student:
                raise DistillError("[student]: 'path' takes an existing student; conversion "
                                   f"options ({', '.join(sorted(student))}) do not apply")
        allowed = {"mixer", "state_size", "keep_layers", "keep_heads", "conv_width", "decay"}
        unknown = set(student) - allowed
        if unknown:
            raise DistillError(f"[student]: unknown keys {', '.join(sorted(unknown))}")
        if isinstance(student.get("keep_heads"), str):
            kh = rel(student["keep_heads"])
            student["keep_heads"] = str(kh) if Path(kh).exists() else student["keep_heads"]
        cfg.convert = student
        for k in (1, 2, 3):
            st = raw.pop(f"stage{k}", None)
            if st is None:
                continue
            if not isinstance(st, dict):
                raise DistillError(f"config: [stage{k}] must be a table")
            st = dict(st)
            w = f"[stage{k}]"
            sc = StageConfig(steps=take(st, "steps", int, where=w), lr=take(st, "lr", float, where=w),
                             warmup=take(st, "warmup", int, 0, w),
                             schedule=take(st, "schedule", str, "wsd", w),
                             temperature=take(st, "temperature", float, 1.0, w),
                             label_weight=take(st, "label_weight", float, 0.0, w),
                             frozen=tuple(take(st, "frozen", list, [], w)),
                             adam_betas=tuple(take(st, "adam_betas", list, [0.9, 0.95], w)),
                             adam_eps=take(st, "adam_eps", float, 1e-8, w),
                             weight_decay=take(st, "weight_decay", float, 0.1, w),
                             max_grad_norm=take(st, "max_grad_norm", float, 1.0, w))
            if st:
                raise DistillError(f"{w}: unknown keys {', '.join(sorted(st))}")
            if sc.steps < 1 or not sc.lr > 0 or sc.warmup < 0 or sc.warmup > sc.steps:
                raise DistillError(f"{w}: need steps >= 1, lr > 0 and 0 <= warmup <= steps")
            if sc.schedule not in ("wsd", "cosine", "constant"):
                raise DistillError(f"{w}: schedule must be wsd, cosine or constant")
            if k != 3 and sc.temperature != 1.0:
                raise DistillError(f"{w}: temperature is a stage 3 option")
            if k != 3 and sc.label_weight != 0.0:
                raise DistillError(f"{w}: label_weight is a stage 3 option")
            if not (sc.temperature > 0 and math.isfinite(sc.temperature)
                    and sc.label_weight >= 0):
                raise DistillError(f"{w}: need a finite temperature > 0 and label_weight >= 0")
            betas = sc.adam_betas
            if (len(betas) != 2 or not all(isinstance(b, (int, float)) and not isinstance(b, bool)
                                           and 0 <= b < 1 for b in betas)):
                raise DistillError(f"{w}: adam_betas must be two numbers in [0, 1), got {list(betas)}")
            sc.adam_betas = (float(betas[0]), float(betas[1]))
            if not (sc.adam_eps > 0 and sc.weight_decay >= 0 and sc.max_grad_norm >= 0
                    and all(math.isfinite(v) for v in (sc.adam_eps, sc.weight_decay,
                                                         sc.max_grad_norm, sc.label_weight))):
                raise DistillError(f"{w}: need adam_eps > 0, weight_decay >= 0 and "
                                   "max_grad_norm >= 0 (0: no clipping), all finite")
            cfg.stages[k] = sc
        log = raw.pop("log", {})
        if not isinstance(log, dict):
            raise DistillError("config: [log] must be a table")
        log = dict(log)
        cfg.log_format = take(log, "format", str, "csv", "[log]")
        cfg.log_every = take(log, "every", int, 10, "[log]")
        cfg.checkpoint_every = take(log, "checkpoint_every", int, 100, "[log]")
        cfg.progress = take(log, "progress", bool, True, "[log]")
        if log:
            raise DistillError(f"[log]: unknown keys {', '.join(sorted(log))}")
        if cfg.log_format not in ("csv", "jsonl"):
            raise DistillError("[log]: format must be csv or jsonl")
        if cfg.log_every < 1 or cfg.checkpoint_every < 1:
            raise DistillError("[log]: every and checkpoint_every must be at least 1")
        if raw:
            raise DistillError(f"config: unknown keys {', '.join(sorted(raw))}")
        if not cfg.stages:
            raise DistillError("config: no stage: add [stage1], [stage2] and/or [stage3] "
                               "(steps, lr)")
        if cfg.batch_size < 1:
            raise DistillError("[data]: batch_size must be at least 1")
        return cfg


def _schedule(sc: StageConfig):
    from .training import cosine_schedule, warmup_stable_decay_schedule
    if sc.schedule == "cosine":
        return cosine_schedule(sc.lr, sc.steps, warmup_steps=sc.warmup)
    if sc.schedule == "wsd":
        return warmup_stable_decay_schedule(sc.lr, sc.steps, warmup_steps=sc.warmup,
                                            decay_steps=sc.steps // 5)
    return lambda step: sc.lr if step > sc.warmup or sc.warmup == 0 else sc.lr * step / sc.warmup


def load_checkpoint_parameters(path: PathLike) -> Dict[str, np.ndarray]:
    """The parameters of a trainer checkpoint (without the AdamW moments)."""
    from .training import load_safetensors
    tensors, _ = load_safetensors(path)
    return {k: v for k, v in tensors.items() if not k.startswith(("adam_m.", "adam_v."))}


class _Log:
    """Per-step metrics to CSV or JSON lines; on resume, the rows after the
    checkpoint are dropped (they are recomputed)."""
    FIELDS = ["stage", "step", "global_step", "loss", "grad_norm", "lr", "seconds"]

    def __init__(self, path: Path, fmt: str):
        self.path, self.fmt = path, fmt

    def rows(self) -> List[Dict]:
        if not self.path.exists():
            return []
        out = []
        with open(self.path) as f:
            if self.fmt == "jsonl":
                out = [json.loads(line) for line in f if line.strip()]
            else:
                import csv
                out = [{k: (int(v) if k in ("stage", "step", "global_step") else float(v))
                        for k, v in row.items()} for row in csv.DictReader(f)]
        return out

    def truncate(self, keep) -> None:
        rows = [r for r in self.rows() if keep(r)]
        self.path.unlink(missing_ok=True)
        for r in rows:
            self.write(r)

    def write(self, row: Dict) -> None:
        new = not self.path.exists()
        with open(self.path, "a") as f:
            if self.fmt == "jsonl":
                f.write(json.dumps(row) + "\n")
            else:
                if new:
                    f.write(",".join(self.FIELDS) + "\n")
                f.write(",".join(str(row[k]) for k in self.FIELDS) + "\n")


class _Progress:
    def __init__(self, enabled: bool, stage: int, total: int, stream=None):
        self.stream = stream or sys.stderr
        self.enabled, self.stage, self.total = enabled, stage, total
        self.tty = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self.start = time.monotonic()
        self.first = None

    def update(self, step: int, loss: float, every: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if self.first is None:
            self.first = (step - 1, now)
        done = step - self.first[0]
        rate = done / max(now - self.first[1], 1e-9)
        eta = (self.total - step) / rate if rate > 0 else 0.0
        width = 24
        fill = int(width * step / self.total)
        text = (f"stage {self.stage} [{'#' * fill}{'.' * (width - fill)}] {step}/{self.total}"
                f"  loss {loss:.4f}  {rate:.2f} step/s  eta {eta:.0f}s")
        if self.tty:
            self.stream.write("\r" + text)
            if step == self.total:
                self.stream.write("\n")
        elif step % every == 0 or step == self.total:
            self.stream.write(text + "\n")
        self.stream.flush()


def run(config: Union[Config, PathLike], *, restart: bool = False, log=print) -> Dict:
    """Runs the configured MOHAWK stages on the student (converted from the
    teacher unless the config names one), resuming from the work
    directory's last checkpoint unless `restart`. Returns a summary
    (stages, final losses, output path)."""
    import onnx
    import shutil
    from . import compile as ssmc_compile
    from .training import Trainer

    cfg = config if isinstance(config, Config) else Config.load(config)
    work = cfg.workdir
    if restart and work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    if not cfg.teacher.is_file():
        raise DistillError(f"no teacher model {cfg.teacher}")
    state_path = work / "progress.json"
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    fingerprint = {"teacher": str(cfg.teacher), "student": str(cfg.student),
                   "convert": cfg.convert, "stages": sorted(cfg.stages)}
    if state and state.get("fingerprint") != json.loads(json.dumps(fingerprint)):
        raise DistillError(f"{work} holds a run with another teacher, student or stages: "
                           "use another workdir, or restart")
    state.setdefault("fingerprint", fingerprint)
    state.setdefault("completed", [])

    def save_state():
        tmp = state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=1))
        os.replace(tmp, state_path)

    student0 = work / "student-init.onnx"
    if not student0.exists():
        if cfg.student is not None:
            if not cfg.student.is_file():
                raise DistillError(f"no student model {cfg.student}")
            shutil.copyfile(cfg.student, student0)
        else:
            opts = dict(cfg.convert)
            _, report = convert(cfg.teacher, student0.with_suffix(".tmp"), **opts)
            os.replace(student0.with_suffix(".tmp"), student0)
            log(report.summary())
    kept_heads = bool(cfg.convert.get("keep_heads"))
    if 1 in cfg.stages and kept_heads:
        raise DistillError("stage 1 (matrix orientation) compares one student mixer per "
                           "layer with the teacher's attention; a per-head hybrid's layers "
                           "have two mixers: run stages 2 and 3 for it")
    save_state()

    teacher_lib = None
    vocab = None
    logger = _Log(work / f"log.{cfg.log_format}", cfg.log_format)
    current = student0
    global_step = sum(cfg.stages[k].steps for k in state["completed"] if k in cfg.stages)
    results = {}
    for k in sorted(cfg.stages):
        sc = cfg.stages[k]
        stage_out = work / f"student-stage{k}.onnx"
        if k in state["completed"]:
            current = stage_out
            continue
        if teacher_lib is None:
            teacher_lib = ssmc_compile(cfg.teacher, work / "teacher.so", hidden_states=True,
                                       generation="off")
            vocab = teacher_lib.signature("main")["outputs"][0]["shape"][-1]
            tokens = TokenFile(cfg.tokens, cfg.token_dtype, cfg.seq_len, cfg.aligned,
                               vocab if isinstance(vocab, int) else None)
        log(f"stage {k}: {STAGE_NAMES[k]}, {sc.steps} steps, lr {sc.lr:g}")
        try:
            student_lib = ssmc_compile(current, work / f"student-stage{k}.so", train=True,
                                       train_loss=STAGES[k], temperature=sc.temperature,
                                       label_weight=sc.label_weight, adam_betas=sc.adam_betas,
                                       adam_eps=sc.adam_eps, weight_decay=sc.weight_decay,
                                       max_grad_norm=sc.max_grad_norm, frozen=sc.frozen,
                                       generation="off")
        except Exception as e:
            raise DistillError(f"stage {k}: the student does not compile for "
                               f"{STAGES[k]}: {e}") from e
        trainer = Trainer.from_onnx(student_lib, current, lr=_schedule(sc))
        ckpt = work / f"checkpoint-stage{k}.safetensors"
        if ckpt.exists():
            trainer.load(ckpt)
            log(f"stage {k}: resumed at step {trainer.steps}")
        done = trainer.steps
        logger.truncate(lambda r: r["stage"] != k or r["step"] <= done)
        progress = _Progress(cfg.progress, k, sc.steps)
        t0 = time.monotonic()
        last = None
        for step in range(done + 1, sc.steps + 1):
            rng = np.random.default_rng([cfg.seed, k, step])
            ids, labels = tokens.batch(rng, cfg.batch_size)
            if k == 3:
                logits = teacher_lib.run({"input_ids": ids})["logits"]
                m = trainer.step(ids, labels, logits)
            else:
                h = teacher_lib.run({"input_ids": ids}, entry="hidden_states")
                if k == 1:
                    h.update(teacher_lib.run({"input_ids": ids}, entry="mixing_matrices"))
                m = trainer.step(ids, teacher=h)
            if not math.isfinite(m["loss"]):
                raise DistillError(f"stage {k} step {step}: the loss is {m['loss']} (lower "
                                   "the learning rate)")
            last = m
            gs = global_step + step
            if step % cfg.log_every == 0 or step == sc.steps or step == 1:
                logger.write({"stage": k, "step": step, "global_step": gs,
                              "loss": m["loss"], "grad_norm": m["grad_norm"], "lr": m["lr"],
                              "seconds": round(time.monotonic() - t0, 3)})
            progress.update(step, m["loss"], cfg.log_every)
            if step % cfg.checkpoint_every == 0 and step < sc.steps:
                trainer.save(ckpt.with_suffix(".tmp"))
                os.replace(ckpt.with_suffix(".tmp"), ckpt)
        trainer.save(ckpt.with_suffix(".tmp"))
        os.replace(ckpt.with_suffix(".tmp"), ckpt)
        trainer.export_onnx(current, stage_out.with_suffix(".tmp"))
        os.replace(stage_out.with_suffix(".tmp"), stage_out)
        current = stage_out
        global_step += sc.steps
        state["completed"].append(k)
        save_state()
        results[k] = last
        if last is not None:
            log(f"stage {k}: done, last loss {last['loss']:.5f}")
    shutil.copyfile(current, cfg.output)
    plot = work / "loss.png"
    plot_losses(logger.rows(), plot)
    log(f"wrote {cfg.output} (log {logger.path}, plot {plot})")
    return {"output": cfg.output, "stages": sorted(cfg.stages), "last": results,
            "log": logger.path, "plot": plot}


# --------------------------------------------------------------------------
# The loss plot: PNG, written with zlib alone (no plotting library needed).

_FONT = {  # 3 x 5 glyphs, rows top to bottom
    "0": "111101101101111", "1": "010110010010111", "2": "111001111100111",
    "3": "111001111001111", "4": "101101111001001", "5": "111100111001111",
    "6": "111100111101111", "7": "111001010010010", "8": "111101111101111",
    "9": "111101111001111", ".": "000000000000010", "-": "000000111000000",
    "e": "000111101110011", "s": "000011110001110", "t": "010111010010011",
    "a": "000011101101011", "g": "011101011001110", "l": "110010010010111",
    "o": "000111101101111", "p": "000111101111100", " ": "000000000000000",
    "x": "000101010101000", "/": "001001010100100", "n": "000110101101101",
    "r": "000111100100100", "i": "010000010010010", "d": "001011101101011",
    "m": "000111111101101", "h": "100110101101101", "c": "000111100100111",
    "k": "100101110101101", "f": "011100110100100", "u": "000101101101111",
    "y": "000101111001110", "=": "000111000111000", "b": "100100110101110",
    "(": "010100100100010", ")": "010001001001010", ":": "000010000010000",
}
_COLORS = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189)]


def _png(path: PathLike, pixels: np.ndarray) -> None:
    import struct
    import zlib
    h, w, _ = pixels.shape
    raw = b"".join(b"\x00" + pixels[y].astype(np.uint8).tobytes() for y in range(h))

    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
    Path(path).write_bytes(png)


def _text(img, x, y, s, color=(0, 0, 0), scale=2):
    for ch in s.lower():
        glyph = _FONT.get(ch, _FONT[" "])
        for i, bit in enumerate(glyph):
            if bit == "1":
                r, c = divmod(i, 3)
                img[y + r * scale:y + (r + 1) * scale, x + c * scale:x + (c + 1) * scale] = color
        x += 4 * scale


def _line(img, x0, y0, x1, y1, color):
    n = int(max(abs(x1 - x0), abs(y1 - y0))) + 1
    xs = np.linspace(x0, x1, n).round().astype(int)
    ys = np.linspace(y0, y1, n).round().astype(int)
    h, w, _ = img.shape
    ok = (xs >= 0) & (xs < w) & (ys >= 0) & (ys < h)
    img[ys[ok], xs[ok]] = color
    img[np.clip(ys[ok] + 1, 0, h - 1), xs[ok]] = color


def plot_losses(rows: Sequence[Dict], path: PathLike, width: int = 720, height: int = 420
                ) -> None:
    """Loss against the global step, one color per stage, log-scaled loss
    axis (each stage's loss has its own units: hidden-state distances,
    Frobenius norms, cross-entropy), stage boundaries dashed."""
    img = np.full((height, width, 3), 255, np.uint8)
    left, right, top, bottom = 70, width - 20, 40, height - 40
    img[top:bottom, left] = img[bottom, left:right] = (0, 0, 0)
    pts = [(r["global_step"], r["loss"], r["stage"]) for r in rows if r["loss"] > 0]
    _text(img, left, 10, "loss by step (log scale)")
    if pts:
        xs = np.array([p[0] for p in pts], float)
        ys = np.log10(np.array([p[1] for p in pts], float))
        x0, x1 = xs.min(), max(xs.max(), xs.min() + 1)
        y0, y1 = np.floor(ys.min() * 2) / 2, np.ceil(ys.max() * 2) / 2
        y1 = max(y1, y0 + 0.5)
        px = lambda x: left + (x - x0) / (x1 - x0) * (right - left - 10) + 5  # noqa: E731
        py = lambda y: bottom - 5 - (y - y0) / (y1 - y0) * (bottom - top - 10)  # noqa: E731
        for t in np.arange(y0, y1 + 1e-9, 0.5):
            yy = int(py(t))
            img[yy, left - 5:left] = (0, 0, 0)
            label = f"{10 ** t:.3g}"
            _text(img, left - 10 - 8 * len(label), yy - 5, label)
        for t in np.linspace(x0, x1, 5):
            xx = int(px(t))
            img[bottom:bottom + 5, xx] = (0, 0, 0)
            _text(img, xx - 8, bottom + 10, str(int(round(t))))
        stages = sorted({p[2] for p in pts})
        for i, st in enumerate(stages):
            color = _COLORS[i % len(_COLORS)]
            sel = [j for j, p in enumerate(pts) if p[2] == st]
            if i:
                xb = int(px(xs[sel[0]]))
                img[top:bottom:6, xb] = (150, 150, 150)
            for a, b in zip(sel, sel[1:]):
                _line(img, px(xs[a]), py(ys[a]), px(xs[b]), py(ys[b]), color)
            if len(sel) == 1:
                _line(img, px(xs[sel[0]]) - 2, py(ys[sel[0]]), px(xs[sel[0]]) + 2,
                      py(ys[sel[0]]), color)
            lx = right - 110
            ly = top + 5 + 16 * i
            img[ly:ly + 10, lx:lx + 10] = color
            _text(img, lx + 16, ly, f"stage {st}")
    _png(path, img)


# --------------------------------------------------------------------------
# Command line


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ssmc.distill", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("sites", help="list the attention layers the conversion finds")
    p.add_argument("teacher")
    p = sub.add_parser("convert", help="build the SSM or hybrid student (ONNX)")
    p.add_argument("teacher")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--mixer", default="discrete-mamba2", choices=MIXERS)
    p.add_argument("--state-size", type=int, default=0,
                   help="SSM state size per head (default: the attention head dim)")
    p.add_argument("--keep-layers", default="", help="attention layers kept whole, e.g. 0,3")
    p.add_argument("--keep-heads", default="",
                   help="(layer, head) pairs kept as attention in per-head hybrid layers: "
                        "layer:head,... or the JSON file `heads` writes")
    p.add_argument("--conv-width", type=int, default=4,
                   help="taps of the causal convolution over x, B, C (0: none)")
    p.add_argument("--decay", type=float, default=0.99,
                   help="the SSM's initial decay per token")
    p.add_argument("--seed", type=int, default=0)
    p = sub.add_parser("heads", help="rank attention heads by retrieval (ablation on MQAR)")
    p.add_argument("teacher")
    p.add_argument("-o", "--output", help="write the ranking and the kept heads (JSON)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--keep", type=int, help="heads to keep (default: 2%% of all, at least 1)")
    g.add_argument("--keep-fraction", type=float)
    p.add_argument("--pairs", type=int, default=8)
    p.add_argument("--queries", type=int, default=0, help="default: pairs")
    p.add_argument("--probe-vocab", type=int, default=0,
                   help="tokens the probe draws from (default: min(vocab, 128))")
    p.add_argument("--batches", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--top", type=int, default=0, help="rows of the table to print (0: all)")
    p = sub.add_parser("run", help="run MOHAWK stages from a config file (TOML or JSON)")
    p.add_argument("config")
    p.add_argument("--restart", action="store_true",
                   help="discard the work directory's progress and start over")
    args = ap.parse_args(argv)
    try:
        if args.command == "sites":
            sites = find_attention_sites(args.teacher)
            if not sites:
                print(f"{args.teacher}: no attention found", file=sys.stderr)
                return 1
            for s in sites:
                print(s.describe())
        elif args.command == "convert":
            _, report = convert(args.teacher, args.output, mixer=args.mixer,
                                state_size=args.state_size, keep_layers=args.keep_layers,
                                keep_heads=args.keep_heads, conv_width=args.conv_width,
                                decay=args.decay, seed=args.seed)
            print(report.summary())
            print(f"wrote {args.output}")
        elif args.command == "heads":
            queries = args.queries or args.pairs
            base, scores, _ = analyze_heads(
                args.teacher, pairs=args.pairs, queries=queries, probe_vocab=args.probe_vocab,
                batches=args.batches, batch_size=args.batch_size, seed=args.seed)
            total = len(scores)
            if args.keep is not None:
                keep = args.keep
            elif args.keep_fraction is not None:
                keep = int(args.keep_fraction * total)
            else:
                keep = max(1, int(0.02 * total))
            if not 0 <= keep <= total:
                raise DistillError(f"cannot keep {keep} of {total} heads")
            print(heads_report(base, scores, args.top))
            if args.output:
                probe = {"task": "mqar", "pairs": args.pairs, "queries": queries,
                         "probe_vocab": args.probe_vocab, "batches": args.batches,
                         "batch_size": args.batch_size, "seed": args.seed}
                kept = write_heads(args.output, base, scores, keep, probe)
                print(f"kept {len(kept)} of {total} heads: "
                      f"{', '.join(f'{a}:{b}' for a, b in kept)}; wrote {args.output}")
        else:
            run(args.config, restart=args.restart)
    except (DistillError, OSError) as e:
        print(f"ssmc.distill: error: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # the library's own errors (compile, run)
        from . import Error
        if isinstance(e, Error):
            print(f"ssmc.distill: error: {e}", file=sys.stderr)
            return 1
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
