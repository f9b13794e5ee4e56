"""ONNX Reshape at import: a reshape that only splits dimensions (heads out
of features) or only merges consecutive ones becomes tensor.expand_shape or
tensor.collapse_shape, views that ssm-fuse-elementwise moves past
elementwise ops; any other reshape stays tensor.reshape. Each model is
checked in the import-phase IR and against onnxruntime on fresh random
inputs at symbolic batch and sequence sizes. Tolerance: relative error below
1e-6, float32 (the ops around the reshape are exact up to rounding)."""
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from onnx_tools import compile_onnx, onnxruntime_outputs, phase_ir, rel_err, run_model

TOL = 1e-6


def model(target, in_dims, shape_from_input=False):
    """x (in_dims) -> Tanh -> Reshape(target) -> Mul by 2. `target` may hold
    0 (copy) and -1 (inferred), as exporters write it; with
    `shape_from_input`, the symbolic sizes come from Shape(x) and Gather, the
    way torch.onnx writes `x.view(b, l, h, p)`."""
    nodes, inits = [], []
    nodes.append(helper.make_node("Tanh", ["x"], ["t"]))
    if shape_from_input:
        inits.append(numpy_helper.from_array(np.array([0], np.int64), "i0"))
        inits.append(numpy_helper.from_array(np.array([1], np.int64), "i1"))
        inits.append(numpy_helper.from_array(np.array(target[2:], np.int64), "rest"))
        nodes += [helper.make_node("Shape", ["x"], ["s"]),
                  helper.make_node("Gather", ["s", "i0"], ["b"], axis=0),
                  helper.make_node("Gather", ["s", "i1"], ["l"], axis=0),
                  helper.make_node("Concat", ["b", "l", "rest"], ["shape"], axis=0)]
    else:
        inits.append(numpy_helper.from_array(np.array(target, np.int64), "shape"))
    inits.append(numpy_helper.from_array(np.array(2.0, np.float32), "two"))
    nodes += [helper.make_node("Reshape", ["t", "shape"], ["r"]),
              helper.make_node("Mul", ["r", "two"], ["y"])]
    g = helper.make_graph(
        nodes, "reshape",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_dims)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 20)])
    m.ir_version = 10
    return m


CASES = {
    # name: (target, input dims, shape from Shape(x), expected op)
    "split_heads": ([0, 0, 4, 8], ["batch", "seq", 32], False, "tensor.expand_shape"),
    "split_heads_dynamic": ([0, 0, 4, 8], ["batch", "seq", 32], True,
                            "tensor.expand_shape"),
    "split_inferred": ([0, 0, -1, 8], ["batch", "seq", 32], False, "tensor.expand_shape"),
    "merge_heads": ([0, 0, 32], ["batch", "seq", 4, 8], False, "tensor.collapse_shape"),
    "merge_inferred": ([0, 0, -1], ["batch", "seq", 4, 8], False, "tensor.collapse_shape"),
    "merge_tokens": ([-1, 32], ["batch", "seq", 32], False, "tensor.collapse_shape"),
    "trailing_unit": ([0, 0, 32, 1], ["batch", "seq", 32], False, "tensor.expand_shape"),
    "drop_unit": ([0, 0, 32], ["batch", "seq", 1, 32], False, "tensor.collapse_shape"),
    # Elements move across dimensions: neither a split nor a merge.
    "regroup": ([0, 0, 8, 4], ["batch", "seq", 4, 8], False, "tensor.reshape"),
    "split_and_merge": ([0, 0, 16, 2], ["batch", "seq", 4, 8], False, "tensor.reshape"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_reshape(name, rng, tmp_path):
    target, dims, from_input, expected = CASES[name]
    m = model(target, dims, from_input)
    path = tmp_path / "m.onnx"
    onnx.save(m, path)
    ir = phase_ir(path, tmp_path, "import")
    reshapes = {op: ir.count(op + " ") for op in
                ("tensor.expand_shape", "tensor.collapse_shape", "tensor.reshape")}
    assert reshapes[expected] == 1, ir
    assert sum(reshapes.values()) == 1, (reshapes, ir)
    so = compile_onnx(path, tmp_path)
    for b, l in ((2, 5), (1, 1), (3, 7)):
        shape = [b if d == "batch" else l if d == "seq" else d for d in dims]
        feeds = {"x": rng.standard_normal(shape).astype(np.float32)}
        want = onnxruntime_outputs(path, feeds)["y"]
        run_dir = tmp_path / f"run{b}x{l}"
        run_dir.mkdir()
        got = run_model(so, feeds, run_dir)["y"]
        assert got.shape == want.shape
        assert rel_err(got, want) < TOL, f"{b}x{l}: {rel_err(got, want)}"
