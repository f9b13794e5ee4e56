"""Unsupported and malformed ONNX files end in one clear error (naming the
node, op and opset where there is one), exit status 1, no crash, and no output
file."""
import subprocess

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from onnx_tools import SSMC, compile_onnx, onnxruntime_outputs, rel_err, run_model


def model(nodes, inputs, outputs, inits=(), opset=20, domains=()):
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    opsets = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, 1) for d in domains]
    m = helper.make_model(graph, opset_imports=opsets)
    m.ir_version = 9
    return m


def vi(name, dtype, shape):
    return helper.make_tensor_value_info(name, dtype, shape)


def f32(name, shape=("batch", 4)):
    return vi(name, TensorProto.FLOAT, list(shape))


def compile_fails(tmp_path, m_or_bytes, *needles):
    path = tmp_path / "m.onnx"
    if isinstance(m_or_bytes, bytes):
        path.write_bytes(m_or_bytes)
    else:
        onnx.save(m_or_bytes, path)
    out = tmp_path / "m.so"
    r = subprocess.run([str(SSMC), str(path), "-o", str(out)], capture_output=True,
                       text=True)
    assert r.returncode == 1, r.stderr
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("ssmc: error: "), r.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert not out.exists()
    return lines[0]


def valid_model():
    return model([helper.make_node("Relu", ["x"], ["y"], name="r")], [f32("x")], [f32("y")])


def test_truncated_file(tmp_path):
    data = valid_model().SerializeToString()
    compile_fails(tmp_path, data[: len(data) // 2], "not a valid ONNX model", "truncated")


def test_not_protobuf(tmp_path):
    compile_fails(tmp_path, b"\xff\xfe this is not a model \x00\x01" * 8,
                  "not a valid ONNX model")


def test_unknown_op(tmp_path):
    m = model([helper.make_node("FancyOp", ["x"], ["y"], name="n1")], [f32("x")], [f32("y")])
    compile_fails(tmp_path, m, "node 'n1'", "op 'FancyOp'", "opset 20", "unsupported op")


def test_unknown_domain_op(tmp_path):
    m = model([helper.make_node("Foo", ["x"], ["y"], name="n1", domain="com.example")],
              [f32("x")], [f32("y")], domains=["com.example"])
    compile_fails(tmp_path, m, "op 'com.example.Foo'", "unsupported op")


def test_wrong_types(tmp_path):
    m = model([helper.make_node("Add", ["x", "i"], ["y"], name="add")],
              [f32("x"), vi("i", TensorProto.INT64, ["batch", 4])], [f32("y")])
    compile_fails(tmp_path, m, "node 'add'", "op 'Add'", "different element types")


def test_missing_initializer(tmp_path):
    m = model([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")],
              [f32("x")], [f32("y", ("batch", 3))])
    compile_fails(tmp_path, m, "node 'mm'", "input 'w' is not produced")


def test_opset_out_of_range(tmp_path):
    compile_fails(tmp_path, model(valid_model().graph.node, [f32("x")], [f32("y")], opset=11),
                  "opset 11 is outside the supported range 13..27")


def test_unsupported_attribute_value(tmp_path):
    w = numpy_helper.from_array(np.ones((4, 1, 3), np.float32), "w")
    m = model([helper.make_node("Conv", ["x", "w"], ["y"], name="c", group=4,
                                auto_pad="SAME_UPPER")],
              [f32("x", ("batch", 4, "seq"))], [f32("y", ("batch", 4, "seq"))], [w])
    compile_fails(tmp_path, m, "node 'c'", "op 'Conv'", "auto_pad 'SAME_UPPER'")


def test_unknown_attribute(tmp_path):
    m = model([helper.make_node("Softmax", ["x"], ["y"], name="s", axis=-1, frobnicate=2)],
              [f32("x")], [f32("y")])
    compile_fails(tmp_path, m, "node 's'", "unsupported attribute 'frobnicate'")


def test_shape_mismatch(tmp_path):
    w = numpy_helper.from_array(np.ones((5, 3), np.float32), "w")
    m = model([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")],
              [f32("x")], [f32("y", ("batch", 3))], [w])
    compile_fails(tmp_path, m, "node 'mm'", "contraction sizes differ: 4 vs 5")


def test_initializer_with_short_raw_data(tmp_path):
    w = numpy_helper.from_array(np.ones((4, 3), np.float32), "w")
    w.raw_data = b"\x00" * 20
    m = model([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")],
              [f32("x")], [f32("y", ("batch", 3))], [w])
    compile_fails(tmp_path, m, "initializer 'w'", "holds 20 bytes", "expected 48")


def test_unsupported_input_type(tmp_path):
    m = model([helper.make_node("Identity", ["x"], ["y"])],
              [vi("x", TensorProto.STRING, ["n"])], [vi("y", TensorProto.STRING, ["n"])])
    compile_fails(tmp_path, m, "graph input 'x' has unsupported type")


def test_output_never_produced(tmp_path):
    m = model([helper.make_node("Relu", ["x"], ["y"])], [f32("x")], [f32("z")])
    compile_fails(tmp_path, m, "graph output 'z' is never produced")


def test_missing_external_data(tmp_path):
    w = numpy_helper.from_array(np.ones((4, 3), np.float32), "w")
    m = model([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")],
              [f32("x")], [f32("y", ("batch", 3))], [w])
    onnx.save(m, tmp_path / "m.onnx", save_as_external_data=True, location="w.bin",
              size_threshold=0)
    (tmp_path / "w.bin").unlink()
    r = subprocess.run([str(SSMC), str(tmp_path / "m.onnx"), "-o", str(tmp_path / "m.so")],
                       capture_output=True, text=True)
    assert r.returncode == 1
    assert "initializer 'w'" in r.stderr and "cannot read external data" in r.stderr
    assert not (tmp_path / "m.so").exists()


def test_external_data_loads(tmp_path, rng):
    """Initializers in external data files (relative to the model) are read."""
    wv = rng.standard_normal((4, 3)).astype(np.float32)
    m = model([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")],
              [f32("x")], [f32("y", ("batch", 3))], [numpy_helper.from_array(wv, "w")])
    onnx.save(m, tmp_path / "ext.onnx", save_as_external_data=True, location="ext.bin",
              size_threshold=0)
    so = compile_onnx(tmp_path / "ext.onnx", tmp_path)
    x = rng.standard_normal((5, 4)).astype(np.float32)
    got = run_model(so, {"x": x}, tmp_path)["y"]
    assert rel_err(got, x.astype(np.float64) @ wv) < 1e-5


def test_gather_clamps_out_of_range_indices(tmp_path):
    """Out-of-range token ids read the nearest valid row instead of memory
    outside the table."""
    table = np.arange(12, dtype=np.float32).reshape(4, 3)
    m = model([helper.make_node("Gather", ["t", "i"], ["y"], axis=0)],
              [vi("i", TensorProto.INT64, ["n"])], [f32("y", ("n", 3))],
              [numpy_helper.from_array(table, "t")])
    onnx.save(m, tmp_path / "g.onnx")
    so = compile_onnx(tmp_path / "g.onnx", tmp_path)
    got = run_model(so, {"i": np.array([0, 3, -1, 7, -9], np.int64)}, tmp_path)["y"]
    np.testing.assert_array_equal(got, table[[0, 3, 3, 3, 0]])
