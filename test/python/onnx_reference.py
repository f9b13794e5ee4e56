"""Float64 reference evaluation of ONNX models, including the custom ai.ssmc
domain: the model is converted to float64 (initializers, graph inputs and
outputs, Cast targets, constants) and run by onnx's reference evaluator, with
the ai.ssmc ops computed by reference.py (the recurrent float64 reference of
SEMANTICS.md)."""
import numpy as np
import onnx
from onnx import TensorProto, numpy_helper
from onnx.reference import ReferenceEvaluator
from onnx.reference.op_run import OpRun

import reference as ref


def _d(a):
    return None if a is None else np.asarray(a, dtype=np.float64)


class SSD(OpRun):
    op_domain = "ai.ssmc"

    def _run(self, *inputs, dt_softplus=0, dt_limit=None):
        args = [_d(a) for a in inputs] + [None] * (9 - len(inputs))
        return ref.ssd(*args, dt_softplus=bool(dt_softplus),
                       dt_limit=None if dt_limit is None else tuple(dt_limit))


class DiscreteSSD(OpRun):
    op_domain = "ai.ssmc"

    def _run(self, *inputs):
        args = [_d(a) for a in inputs] + [None] * (8 - len(inputs))
        return ref.discrete_ssd(*args)


class Mamba3(OpRun):
    op_domain = "ai.ssmc"

    def _run(self, *inputs, rotary_pairing="interleaved"):
        args = [_d(a) for a in inputs] + [None] * (16 - len(inputs))
        if isinstance(rotary_pairing, bytes):
            rotary_pairing = rotary_pairing.decode()
        return ref.mamba3(*args, pairing=rotary_pairing)


class Attention(OpRun):
    op_domain = "ai.ssmc"

    # The evaluator passes the defaults of the standard Attention's
    # attributes too (it finds schemas by name), so read the node's own.
    def _run(self, query, key, value, mask=None, **standard_attrs):
        a = {x.name: onnx.helper.get_attribute_value(x) for x in self.onnx_node.attribute}
        return (ref.attention(_d(query), _d(key), _d(value), _d(mask),
                              bool(a.get("causal", 0)), a.get("scale"), a.get("window"),
                              a.get("softcap")),)


class RMSNorm(OpRun):
    op_domain = "ai.ssmc"

    def _run(self, x, weight, gate=None, eps=1e-5, group_size=None):
        return (ref.rms_norm(_d(x), _d(weight), _d(gate), eps, group_size),)


class CausalConv1d(OpRun):
    op_domain = "ai.ssmc"

    def _run(self, x, weight, bias=None, initial_state=None, silu=0):
        return ref.causal_conv1d(_d(x), _d(weight), _d(bias), _d(initial_state),
                                 silu_act=bool(silu))


class Rotary(OpRun):
    op_domain = "ai.ssmc"

    def _run(self, x, cos, sin, pairing="halves"):
        if isinstance(pairing, bytes):
            pairing = pairing.decode()
        return (ref.rotary(_d(x), _d(cos), _d(sin), pairing),)


class HybridMerge(OpRun):
    op_domain = "ai.ssmc"

    def _run(self, ssm_out, attn_out, weight, eps=1e-5):
        return (ref.hybrid_merge(_d(ssm_out), _d(attn_out), _d(weight), eps),)


SSMC_OPS = [SSD, DiscreteSSD, Mamba3, Attention, RMSNorm, CausalConv1d, Rotary,
            HybridMerge]


def to_float64(model):
    """A copy of `model` computing in float64 where it computed in float32."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    for i, init in enumerate(g.initializer):
        if init.data_type == TensorProto.FLOAT:
            a = numpy_helper.to_array(init).astype(np.float64)
            g.initializer[i].CopyFrom(numpy_helper.from_array(a, init.name))
    for vi in list(g.input) + list(g.output) + list(g.value_info):
        if vi.type.tensor_type.elem_type == TensorProto.FLOAT:
            vi.type.tensor_type.elem_type = TensorProto.DOUBLE
    for node in g.node:
        for attr in node.attribute:
            if node.op_type == "Cast" and attr.name == "to" and attr.i == TensorProto.FLOAT:
                attr.i = TensorProto.DOUBLE
            if attr.type == onnx.AttributeProto.TENSOR and attr.t.data_type == TensorProto.FLOAT:
                a = numpy_helper.to_array(attr.t).astype(np.float64)
                attr.t.CopyFrom(numpy_helper.from_array(a, attr.t.name))
    return m


def float64_outputs(model, feeds):
    """Outputs (name -> float64 array) of `model` on `feeds`."""
    m = to_float64(model)
    feeds = {k: (v.astype(np.float64) if v.dtype == np.float32 else v)
             for k, v in feeds.items()}
    names = [o.name for o in m.graph.output]
    # onnx's evaluator matches new ops by name alone, so ai.ssmc.Attention
    # would shadow the standard Attention: only register them when used.
    custom = any(o.domain == "ai.ssmc" for o in m.opset_import)
    evaluator = ReferenceEvaluator(m, new_ops=SSMC_OPS if custom else None)
    return dict(zip(names, evaluator.run(None, feeds)))
