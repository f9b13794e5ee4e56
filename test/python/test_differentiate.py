"""Executed gradient checks of ssm-differentiate.

Each case is a float64 MLIR function marked `ssm.differentiate`; ssm-opt builds
its gradient function, ssmc compiles both into one shared library, and the
gradient of <dy, f(x)> with respect to every float argument is compared with
central finite differences of the compiled forward function on fresh random
inputs (float64, step 1e-6: agreement to about 1e-8 relative).
"""
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from harness import BUILD, SSM_OPT

sys.path.insert(0, str(BUILD / "python"))
import ssmc  # noqa: E402

SSMC = BUILD / "bin" / "ssmc"

ELEMENTWISE = """
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @elementwise(%a: tensor<?x5xf64>, %b: tensor<?x5xf64>) -> tensor<?x5xf64>
    attributes {ssm.differentiate} {
  %r = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a, %b : tensor<?x5xf64>, tensor<?x5xf64>) outs(%a : tensor<?x5xf64>) {
  ^bb0(%x: f64, %y: f64, %o: f64):
    %one = arith.constant 1.0 : f64
    %two = arith.constant 2.0 : f64
    %half = arith.constant 1.5 : f64
    %xx = arith.mulf %x, %x : f64
    %t = math.tanh %x : f64
    %nxx = arith.negf %xx : f64
    %e = math.exp %nxx : f64
    %p1 = arith.addf %one, %xx : f64
    %s = math.sqrt %p1 : f64
    %q = arith.divf %e, %s : f64
    %l = math.log1p %xx : f64
    %ab = math.absf %y : f64
    %er = math.erf %x : f64
    %si = math.sin %x : f64
    %co = math.cos %y : f64
    %pw = math.powf %p1, %half : f64
    %p2 = arith.addf %two, %ab : f64
    %rs = math.rsqrt %p2 : f64
    %mx = arith.maximumf %x, %y : f64
    %mn = arith.minimumf %x, %y : f64
    %gt = arith.cmpf ogt, %x, %y : f64
    %sel = arith.select %gt, %xx, %y : f64
    %lg = math.log %p2 : f64
    %e2 = math.exp2 %y : f64
    %em = math.expm1 %x : f64
    %sub = arith.subf %si, %co : f64
    %fm = math.fma %x, %y, %t : f64
    %v0 = arith.mulf %t, %q : f64
    %v1 = arith.addf %v0, %l : f64
    %v2 = arith.addf %v1, %er : f64
    %v3 = arith.addf %v2, %sub : f64
    %v4 = arith.addf %v3, %pw : f64
    %v5 = arith.addf %v4, %rs : f64
    %v6 = arith.addf %v5, %mx : f64
    %v7 = arith.subf %v6, %mn : f64
    %v8 = arith.addf %v7, %sel : f64
    %v9 = arith.addf %v8, %lg : f64
    %v10 = arith.addf %v9, %e2 : f64
    %v11 = arith.addf %v10, %em : f64
    %v12 = arith.addf %v11, %fm : f64
    linalg.yield %v12 : f64
  } -> tensor<?x5xf64>
  return %r : tensor<?x5xf64>
}
"""

SOFTMAX_MATMUL = """
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func @softmax_matmul(%x: tensor<?x4xf64>, %w: tensor<4x3xf64>) -> tensor<?x3xf64>
    attributes {ssm.differentiate} {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x4xf64>
  %ninf = arith.constant 0xFFF0000000000000 : f64
  %zero = arith.constant 0.0 : f64
  %e0 = tensor.empty(%n) : tensor<?xf64>
  %minit = linalg.fill ins(%ninf : f64) outs(%e0 : tensor<?xf64>) -> tensor<?xf64>
  %m = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<?x4xf64>) outs(%minit : tensor<?xf64>) {
  ^bb0(%a: f64, %acc: f64):
    %r = arith.maximumf %a, %acc : f64
    linalg.yield %r : f64
  } -> tensor<?xf64>
  %e1 = tensor.empty(%n) : tensor<?x4xf64>
  %ex = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %m : tensor<?x4xf64>, tensor<?xf64>) outs(%e1 : tensor<?x4xf64>) {
  ^bb0(%a: f64, %mm: f64, %o: f64):
    %d = arith.subf %a, %mm : f64
    %e = math.exp %d : f64
    linalg.yield %e : f64
  } -> tensor<?x4xf64>
  %sinit = linalg.fill ins(%zero : f64) outs(%e0 : tensor<?xf64>) -> tensor<?xf64>
  %s = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%ex : tensor<?x4xf64>) outs(%sinit : tensor<?xf64>) {
  ^bb0(%a: f64, %acc: f64):
    %r = arith.addf %a, %acc : f64
    linalg.yield %r : f64
  } -> tensor<?xf64>
  %p = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%ex, %s : tensor<?x4xf64>, tensor<?xf64>) outs(%e1 : tensor<?x4xf64>) {
  ^bb0(%a: f64, %ss: f64, %o: f64):
    %d = arith.divf %a, %ss : f64
    linalg.yield %d : f64
  } -> tensor<?x4xf64>
  %e2 = tensor.empty(%n) : tensor<?x3xf64>
  %yinit = linalg.fill ins(%zero : f64) outs(%e2 : tensor<?x3xf64>) -> tensor<?x3xf64>
  %y = linalg.matmul ins(%p, %w : tensor<?x4xf64>, tensor<4x3xf64>)
      outs(%yinit : tensor<?x3xf64>) -> tensor<?x3xf64>
  return %y : tensor<?x3xf64>
}
"""

# RMSNorm with a broadcast weight, a min reduction, a value used twice and
# two results.
NORM = """
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>
func.func @norm(%x: tensor<3x6xf64>, %w: tensor<6xf64>) -> (tensor<3x6xf64>, tensor<3xf64>)
    attributes {ssm.differentiate} {
  %zero = arith.constant 0.0 : f64
  %inf = arith.constant 0x7FF0000000000000 : f64
  %e0 = tensor.empty() : tensor<3xf64>
  %z = linalg.fill ins(%zero : f64) outs(%e0 : tensor<3xf64>) -> tensor<3xf64>
  %ss = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<3x6xf64>) outs(%z : tensor<3xf64>) {
  ^bb0(%a: f64, %acc: f64):
    %sq = arith.mulf %a, %a : f64
    %r = arith.addf %acc, %sq : f64
    linalg.yield %r : f64
  } -> tensor<3xf64>
  %e1 = tensor.empty() : tensor<3x6xf64>
  %y = linalg.generic {indexing_maps = [#id, #row, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss, %w : tensor<3x6xf64>, tensor<3xf64>, tensor<6xf64>) outs(%e1 : tensor<3x6xf64>) {
  ^bb0(%a: f64, %s: f64, %g: f64, %o: f64):
    %n = arith.constant 6.0 : f64
    %eps = arith.constant 1.0e-5 : f64
    %mean = arith.divf %s, %n : f64
    %me = arith.addf %mean, %eps : f64
    %r = math.rsqrt %me : f64
    %xn = arith.mulf %a, %r : f64
    %out = arith.mulf %xn, %g : f64
    linalg.yield %out : f64
  } -> tensor<3x6xf64>
  %minit = linalg.fill ins(%inf : f64) outs(%e0 : tensor<3xf64>) -> tensor<3xf64>
  %mn = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%y : tensor<3x6xf64>) outs(%minit : tensor<3xf64>) {
  ^bb0(%a: f64, %acc: f64):
    %r = arith.minimumf %acc, %a : f64
    linalg.yield %r : f64
  } -> tensor<3xf64>
  return %y, %mn : tensor<3x6xf64>, tensor<3xf64>
}
"""

SHAPES = """
func.func @shapes(%x: tensor<4x6xf64>, %b: tensor<2x3x5xf64>) -> (tensor<2x2x5xf64>, tensor<?x6xf64>)
    attributes {ssm.differentiate} {
  %lo = tensor.extract_slice %x[0, 0] [2, 6] [1, 1] : tensor<4x6xf64> to tensor<2x6xf64>
  %hi = tensor.extract_slice %x[1, 0] [3, 6] [1, 1] : tensor<4x6xf64> to tensor<3x6xf64>
  %e = tensor.expand_shape %lo [[0], [1, 2]] output_shape [2, 2, 3] : tensor<2x6xf64> into tensor<2x2x3xf64>
  %zero = arith.constant 0.0 : f64
  %e0 = tensor.empty() : tensor<2x2x5xf64>
  %z = linalg.fill ins(%zero : f64) outs(%e0 : tensor<2x2x5xf64>) -> tensor<2x2x5xf64>
  %bm = linalg.batch_matmul ins(%e, %b : tensor<2x2x3xf64>, tensor<2x3x5xf64>)
      outs(%z : tensor<2x2x5xf64>) -> tensor<2x2x5xf64>
  %t0 = tensor.empty() : tensor<6x3xf64>
  %t = linalg.transpose ins(%hi : tensor<3x6xf64>) outs(%t0 : tensor<6x3xf64>) permutation = [1, 0]
  %c = tensor.collapse_shape %b [[0, 1], [2]] : tensor<2x3x5xf64> into tensor<6x5xf64>
  %cs = tensor.extract_slice %c[0, 0] [6, 3] [1, 1] : tensor<6x5xf64> to tensor<6x3xf64>
  %big = tensor.empty() : tensor<6x6xf64>
  %bz = linalg.fill ins(%zero : f64) outs(%big : tensor<6x6xf64>) -> tensor<6x6xf64>
  %i1 = tensor.insert_slice %t into %bz[0, 0] [6, 3] [1, 1] : tensor<6x3xf64> into tensor<6x6xf64>
  %i2 = tensor.insert_slice %cs into %i1[0, 3] [6, 3] [1, 1] : tensor<6x3xf64> into tensor<6x6xf64>
  %d = tensor.cast %i2 : tensor<6x6xf64> to tensor<?x6xf64>
  return %bm, %d : tensor<2x2x5xf64>, tensor<?x6xf64>
}
"""

# An embedding lookup (token ids clamped into range) and constant indices
# in an indexing map (the taps of a convolution).
GATHER_TAPS = """
#i = affine_map<(d0, d1) -> (d0)>
#ij = affine_map<(d0, d1) -> (d0, d1)>
#w0 = affine_map<(d0, d1) -> (d1, 0)>
#w2 = affine_map<(d0, d1) -> (d1, 2)>
func.func @gather_taps(%t: tensor<6x4xf64>, %w: tensor<4x3xf64>, %ids: tensor<?xi64>) -> tensor<?x4xf64>
    attributes {ssm.differentiate} {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %ids, %c0 : tensor<?xi64>
  %e = tensor.empty(%n) : tensor<?x4xf64>
  %y = linalg.generic {indexing_maps = [#i, #w0, #w2, #ij], iterator_types = ["parallel", "parallel"]}
      ins(%ids, %w, %w : tensor<?xi64>, tensor<4x3xf64>, tensor<4x3xf64>) outs(%e : tensor<?x4xf64>) {
  ^bb0(%id: i64, %a: f64, %b: f64, %o: f64):
    %lo = arith.constant 0 : index
    %hi = arith.constant 5 : index
    %i = arith.index_cast %id : i64 to index
    %i1 = arith.minsi %i, %hi : index
    %i2 = arith.maxsi %i1, %lo : index
    %j = linalg.index 1 : index
    %v = tensor.extract %t[%i2, %j] : tensor<6x4xf64>
    %vv = arith.mulf %v, %v : f64
    %p = arith.mulf %v, %a : f64
    %q = arith.mulf %vv, %b : f64
    %r = arith.addf %p, %q : f64
    linalg.yield %r : f64
  } -> tensor<?x4xf64>
  return %y : tensor<?x4xf64>
}
"""

CASES = {
    "gather_taps": (GATHER_TAPS, {"t": (6, 4), "w": (4, 3), "ids": ("int", (7,), 8)}),
    "elementwise": (ELEMENTWISE, {"a": (4, 5), "b": (4, 5)}),
    "softmax_matmul": (SOFTMAX_MATMUL, {"x": (5, 4), "w": (4, 3)}),
    "norm": (NORM, {"x": (3, 6), "w": (6,)}),
    "shapes": (SHAPES, {"x": (4, 6), "b": (2, 3, 5)}),
}


def compile_module(text, tmp_path, pre_passes=()):
    src = tmp_path / "f.mlir"
    src.write_text(text)
    grad = tmp_path / "grad.mlir"
    passes = list(pre_passes) + ["--ssm-differentiate"]
    r = subprocess.run([str(SSM_OPT), str(src), *passes, "-o", str(grad)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    lib = tmp_path / "grad.so"
    r = subprocess.run([str(SSMC), str(grad), "--generation=off", "-o", str(lib)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return ssmc.load(lib)


def check_gradients(model, name, inputs, rng, eps=1e-6, tol=1e-6):
    """<dy, f(x)>'s gradient from `name`_grad against central differences."""
    sig = model.signature(name)
    in_names = [i["name"] for i in sig["inputs"]]
    out_names = [o["name"] for o in sig["outputs"]]
    args = dict(zip(in_names, inputs))
    outputs = model.run(args, entry=name)
    cot = {f"d_{o}": rng.standard_normal(outputs[o].shape) for o in out_names}
    got = model.run({**args, **cot}, entry=name + "_grad")
    for o in out_names:
        np.testing.assert_array_equal(got[o], outputs[o])

    def objective(values):
        outs = model.run(dict(zip(in_names, values)), entry=name)
        return sum(float((outs[o] * cot[f"d_{o}"]).sum()) for o in out_names)

    for i, x in enumerate(inputs):
        if x.dtype != np.float64:
            assert f"d_{in_names[i]}" not in got  # no gradient for ids
            continue
        fd = np.zeros_like(x)
        for idx in np.ndindex(x.shape):
            plus = [v.copy() for v in inputs]
            minus = [v.copy() for v in inputs]
            plus[i][idx] += eps
            minus[i][idx] -= eps
            fd[idx] = (objective(plus) - objective(minus)) / (2 * eps)
        g = got[f"d_{in_names[i]}"]
        scale = max(1.0, np.abs(fd).max())
        err = np.abs(g - fd).max() / scale
        assert err < tol, f"d_{in_names[i]}: error {err:.3g}\n{g}\n{fd}"


@pytest.mark.parametrize("case", sorted(CASES))
def test_gradient(case, rng, tmp_path):
    text, shapes = CASES[case]
    model = compile_module(text, tmp_path)
    inputs = [rng.integers(-1, s[2], s[1]) if s[0] == "int"
              else rng.standard_normal(s) for s in shapes.values()]
    check_gradients(model, case, inputs, rng)


def test_gradient_errors(tmp_path):
    src = tmp_path / "f.mlir"
    src.write_text("func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {\n"
                   "  return %x : tensor<4xf32>\n}\n")
    r = subprocess.run([str(SSM_OPT), str(src),
                        "--ssm-differentiate=functions=g"],
                       capture_output=True, text=True)
    assert r.returncode == 1
    assert "no function named 'g' to differentiate" in r.stderr
    r = subprocess.run([str(SSM_OPT), str(src),
                        "--ssm-differentiate=functions=f",
                        "--ssm-differentiate=functions=f"],
                       capture_output=True, text=True)
    assert r.returncode == 1
    assert "a symbol named 'f_grad' exists already" in r.stderr


# Every zoo model (tiny) with --gradients: the parameters become inputs of
# main and main_grad returns d<logits . r>/d(parameter) for a random r. Each
# parameter's gradient is checked along a random direction v against a
# Richardson-extrapolated central difference of the compiled float32 main
# (steps 2e-3 and 1e-3: truncation error O(step^4), float32 noise about 1e-2
# absolute at these sizes; 5e-4 and 2.5e-4 where those disagree).
ZOO_GRADIENTS = ["llama", "mamba2", "hybrid", "llamba", "llamba_hybrid", "llama23",
                 "mamba2_la", "discrete_mamba2", "mamba3", "mamba3_mimo",
                 "perhead_hybrid", "gated_deltanet"]


def _zoo_model(name, tmp_path, rng):
    import onnx_tools  # noqa: F401 (puts examples/ on the path)
    import zoo

    path = tmp_path / f"{name}.onnx"
    onnx.save(zoo.build(name, seed=int(rng.integers(1 << 16))), str(path))
    return path


@pytest.mark.parametrize("name", ZOO_GRADIENTS)
def test_zoo_model_gradients(name, rng, tmp_path):
    _check_zoo_gradients(name, rng, tmp_path)


# The mixers with a chunked form (SSD, Discrete Mamba-2, Mamba-3,
# attention) are differentiated in it; chunks of 4 over 6 tokens make two
# chunks, the second partial.
@pytest.mark.parametrize("name", ["mamba2", "llamba", "mamba3", "hybrid"])
def test_zoo_model_gradients_chunked(name, rng, tmp_path):
    _check_zoo_gradients(name, rng, tmp_path, chunk_size=4)


def _check_zoo_gradients(name, rng, tmp_path, chunk_size=0):
    path = _zoo_model(name, tmp_path, rng)
    model = ssmc.compile(path, tmp_path / "g.so", gradients=True, chunk_size=chunk_size)
    assert model.entry_points == ["main", "main_grad"]
    graph = onnx.load(str(path)).graph
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    sig = model.signature("main")
    params = {i["name"]: inits[i["name"]].astype(np.float32) for i in sig["inputs"][1:]}
    # Every float initializer of more than one element is a parameter.
    assert set(params) == {k for k, v in inits.items()
                           if v.dtype == np.float32 and v.size > 1}
    ids = rng.integers(0, 128, (2, 6))
    logits = model.run({"input_ids": ids, **params})["logits"]
    r = rng.standard_normal(logits.shape).astype(np.float32)
    got = model.run({"input_ids": ids, **params, "d_logits": r}, entry="main_grad")
    # main_grad computes the forward in the differentiable (chunked) form,
    # whose sums run in another order: float32 rounding of the largest
    # logits' size, not of each element's.
    np.testing.assert_allclose(got["logits"], logits, rtol=1e-5,
                               atol=2e-5 * max(1.0, float(np.abs(logits).max())))

    def loss(p):
        out = model.run({"input_ids": ids, **p})["logits"]
        return float((out.astype(np.float64) * r).sum())

    total_err = total = 0.0
    for k, v in params.items():
        d = rng.standard_normal(v.shape).astype(np.float32)

        def fd(eps):
            plus, minus = dict(params), dict(params)
            plus[k] = v + eps * d
            minus[k] = v - eps * d
            return (loss(plus) - loss(minus)) / (2 * eps)

        have = float((got[f"d_{k}"].astype(np.float64) * d).sum())
        want = (4 * fd(1e-3) - fd(2e-3)) / 3
        if abs(have - want) > 0.03 * abs(want) + 0.05:
            # Where the function curves sharply along d (the L2 norm of a
            # key near zero), steps of 1e-3 are too coarse: smaller ones,
            # at more float32 noise, before failing.
            want = (4 * fd(2.5e-4) - fd(5e-4)) / 3
        assert abs(have - want) <= 0.03 * abs(want) + 0.05, (k, have, want)
        total_err += abs(have - want)
        total += abs(want)
    assert total_err <= 1e-2 * total, (total_err, total)


def test_zoo_model_gradients_unsupported(tmp_path):
    """Gradients are built without generation entry points; ssmc says so
    when asked for both."""
    path = _zoo_model("gated_deltanet", tmp_path, np.random.default_rng(0))
    with pytest.raises(ssmc.CompileError, match="cannot be combined with --generation=on"):
        ssmc.compile(path, tmp_path / "g.so", gradients=True, generation="on")


# Each ssm op, lowered by ssm-materialize-mixers and convert-ssm-to-linalg
# (and, for the mixers with one, in its chunked form by ssm-chunk-mixers:
# the forms --gradients differentiates), then moved to float64 (the ops
# take f32/f16/bf16; the lowered linalg works in any float type) so that
# its gradient is checked against central differences to 1e-6.
SSM_OPS = {
    "ssd": ("""
func.func @ssd(%x: tensor<1x5x2x3xf32>, %dt: tensor<1x5x2xf32>, %A: tensor<2xf32>,
               %B: tensor<1x5x1x4xf32>, %C: tensor<1x5x1x4xf32>)
    -> (tensor<1x5x2x3xf32>, tensor<1x2x3x4xf32>) attributes {ssm.differentiate} {
  %y, %h = ssm.ssd %x, %dt, %A, %B, %C {dt_softplus}
      : (tensor<1x5x2x3xf32>, tensor<1x5x2xf32>, tensor<2xf32>, tensor<1x5x1x4xf32>, tensor<1x5x1x4xf32>)
      -> (tensor<1x5x2x3xf32>, tensor<1x2x3x4xf32>)
  return %y, %h : tensor<1x5x2x3xf32>, tensor<1x2x3x4xf32>
}"""),
    "discrete_ssd": ("""
func.func @discrete_ssd(%x: tensor<1x4x2x2xf32>, %a: tensor<1x4x2xf32>, %B: tensor<1x4x2x3xf32>,
                        %C: tensor<1x4x2x3xf32>) -> (tensor<1x4x2x2xf32>, tensor<1x2x2x3xf32>)
    attributes {ssm.differentiate} {
  %y, %h = ssm.discrete_ssd %x, %a, %B, %C
      : (tensor<1x4x2x2xf32>, tensor<1x4x2xf32>, tensor<1x4x2x3xf32>, tensor<1x4x2x3xf32>)
      -> (tensor<1x4x2x2xf32>, tensor<1x2x2x3xf32>)
  return %y, %h : tensor<1x4x2x2xf32>, tensor<1x2x2x3xf32>
}"""),
    "attention": ("""
func.func @attention(%q: tensor<1x4x4x3xf32>, %k: tensor<1x4x2x3xf32>, %v: tensor<1x4x2x3xf32>)
    -> tensor<1x4x4x3xf32> attributes {ssm.differentiate} {
  %y = ssm.attention %q, %k, %v {causal, softcap = 3.0 : f32}
      : (tensor<1x4x4x3xf32>, tensor<1x4x2x3xf32>, tensor<1x4x2x3xf32>) -> tensor<1x4x4x3xf32>
  return %y : tensor<1x4x4x3xf32>
}"""),
    # GQA, a sliding window, an additive mask, and fewer keys than queries:
    # causal alignment to the end leaves queries 0 and 1 without a key (their
    # output is 0, and so is every gradient through them).
    "attention_masked": ("""
func.func @attention_masked(%q: tensor<1x4x4x3xf32>, %k: tensor<1x3x2x3xf32>, %v: tensor<1x3x2x2xf32>,
                            %m: tensor<1x4x4x3xf32>) -> tensor<1x4x4x2xf32> attributes {ssm.differentiate} {
  %y = ssm.attention %q, %k, %v mask(%m) {causal, window = 2 : i64}
      : (tensor<1x4x4x3xf32>, tensor<1x3x2x3xf32>, tensor<1x3x2x2xf32>, tensor<1x4x4x3xf32>) -> tensor<1x4x4x2xf32>
  return %y : tensor<1x4x4x2xf32>
}"""),
    "mamba3": ("""
func.func @mamba3(%x: tensor<1x4x2x2xf32>, %dt: tensor<1x4x2xf32>, %A: tensor<1x4x2xf32>,
                  %lam: tensor<1x4x2xf32>, %th: tensor<1x4x2x1xf32>, %B: tensor<1x4x1x1x4xf32>,
                  %C: tensor<1x4x1x1x4xf32>) -> tensor<1x4x2x2xf32> attributes {ssm.differentiate} {
  %y, %h, %a, %k, %xl = ssm.mamba3 %x, %dt, %A, %lam, %th, %B, %C
      : (tensor<1x4x2x2xf32>, tensor<1x4x2xf32>, tensor<1x4x2xf32>, tensor<1x4x2xf32>,
         tensor<1x4x2x1xf32>, tensor<1x4x1x1x4xf32>, tensor<1x4x1x1x4xf32>)
      -> (tensor<1x4x2x2xf32>, tensor<1x2x2x4xf32>, tensor<1x2x1xf32>, tensor<1x1x2x4xf32>, tensor<1x2x2xf32>)
  return %y : tensor<1x4x2x2xf32>
}"""),
    "linear_attention": ("""
func.func @linear_attention(%q: tensor<1x4x2x3xf32>, %k: tensor<1x4x2x3xf32>, %v: tensor<1x4x2x2xf32>,
                            %g: tensor<1x4x2xf32>) -> tensor<1x4x2x2xf32> attributes {ssm.differentiate} {
  %y, %s = ssm.linear_attention %q, %k, %v decay(%g)
      {update_rule = #ssm.linear_attention_rule<gated>}
      : (tensor<1x4x2x3xf32>, tensor<1x4x2x3xf32>, tensor<1x4x2x2xf32>, tensor<1x4x2xf32>)
      -> (tensor<1x4x2x2xf32>, tensor<1x2x3x2xf32>)
  return %y : tensor<1x4x2x2xf32>
}"""),
    # The delta rules: forward substitution in an scf.for (taped, reversed).
    "delta_rule": ("""
func.func @delta_rule(%q: tensor<1x4x2x3xf32>, %k: tensor<1x4x1x3xf32>, %v: tensor<1x4x1x2xf32>,
                      %beta: tensor<1x4x1xf32>) -> (tensor<1x4x2x2xf32>, tensor<1x1x3x2xf32>)
    attributes {ssm.differentiate} {
  %y, %s = ssm.linear_attention %q, %k, %v beta(%beta)
      {update_rule = #ssm.linear_attention_rule<delta>}
      : (tensor<1x4x2x3xf32>, tensor<1x4x1x3xf32>, tensor<1x4x1x2xf32>, tensor<1x4x1xf32>)
      -> (tensor<1x4x2x2xf32>, tensor<1x1x3x2xf32>)
  return %y, %s : tensor<1x4x2x2xf32>, tensor<1x1x3x2xf32>
}"""),
    "gated_delta_rule": ("""
func.func @gated_delta_rule(%q: tensor<1x5x2x3xf32>, %k: tensor<1x5x2x3xf32>, %v: tensor<1x5x2x2xf32>,
                            %g: tensor<1x5x2xf32>, %beta: tensor<1x5x2xf32>,
                            %s0: tensor<1x2x3x2xf32>) -> (tensor<1x5x2x2xf32>, tensor<1x2x3x2xf32>)
    attributes {ssm.differentiate} {
  %y, %s = ssm.linear_attention %q, %k, %v decay(%g) beta(%beta) initial_state(%s0)
      {update_rule = #ssm.linear_attention_rule<gated_delta>}
      : (tensor<1x5x2x3xf32>, tensor<1x5x2x3xf32>, tensor<1x5x2x2xf32>, tensor<1x5x2xf32>,
         tensor<1x5x2xf32>, tensor<1x2x3x2xf32>)
      -> (tensor<1x5x2x2xf32>, tensor<1x2x3x2xf32>)
  return %y, %s : tensor<1x5x2x2xf32>, tensor<1x2x3x2xf32>
}"""),
    "rms_norm": ("""
func.func @rms_norm(%x: tensor<1x3x8xf32>, %w: tensor<8xf32>, %z: tensor<1x3x8xf32>)
    -> tensor<1x3x8xf32> attributes {ssm.differentiate} {
  %y = ssm.rms_norm %x, %w gate(%z) {group_size = 4 : i64}
      : (tensor<1x3x8xf32>, tensor<8xf32>, tensor<1x3x8xf32>) -> tensor<1x3x8xf32>
  return %y : tensor<1x3x8xf32>
}"""),
    "causal_conv1d": ("""
func.func @causal_conv1d(%x: tensor<1x5x3xf32>, %w: tensor<3x4xf32>, %b: tensor<3xf32>)
    -> (tensor<1x5x3xf32>, tensor<1x3x3xf32>) attributes {ssm.differentiate} {
  %y, %f = ssm.causal_conv1d %x, %w bias(%b) {silu}
      : (tensor<1x5x3xf32>, tensor<3x4xf32>, tensor<3xf32>) -> (tensor<1x5x3xf32>, tensor<1x3x3xf32>)
  return %y, %f : tensor<1x5x3xf32>, tensor<1x3x3xf32>
}"""),
    "rotary": ("""
func.func @rotary(%x: tensor<1x3x2x4xf32>, %c: tensor<1x3x2xf32>, %s: tensor<1x3x2xf32>)
    -> tensor<1x3x2x4xf32> attributes {ssm.differentiate} {
  %y = ssm.rotary %x, %c, %s : (tensor<1x3x2x4xf32>, tensor<1x3x2xf32>, tensor<1x3x2xf32>) -> tensor<1x3x2x4xf32>
  return %y : tensor<1x3x2x4xf32>
}"""),
    "hybrid_merge": ("""
func.func @hybrid_merge(%s: tensor<1x3x6xf32>, %a: tensor<1x3x4xf32>, %w: tensor<4x6xf32>)
    -> tensor<1x3x6xf32> attributes {ssm.differentiate} {
  %y = ssm.hybrid_merge %s, %a, %w : (tensor<1x3x6xf32>, tensor<1x3x4xf32>, tensor<4x6xf32>) -> tensor<1x3x6xf32>
  return %y : tensor<1x3x6xf32>
}"""),
}


def _op_inputs(model, name, rng):
    """Inputs in each argument's valid range (decays negative, gates in
    (0, 1))."""
    values = []
    for i in model.signature(name)["inputs"]:
        shape = i["shape"]
        if i["name"] == "arg2" and name == "ssd":           # A < 0
            values.append(-rng.uniform(0.5, 1.5, shape))
        elif name == "mamba3" and i["name"] in ("arg1",):   # dt > 0
            values.append(rng.uniform(0.2, 1.0, shape))
        elif name == "mamba3" and i["name"] == "arg2":      # A < 0
            values.append(-rng.uniform(0.5, 1.5, shape))
        elif name == "mamba3" and i["name"] == "arg3":      # lambda in (0, 1)
            values.append(rng.uniform(0.1, 0.9, shape))
        elif name in ("linear_attention", "gated_delta_rule") and i["name"] == "arg3":
            values.append(-rng.uniform(0.1, 1.0, shape))    # log decay < 0
        elif (name, i["name"]) in (("delta_rule", "arg3"), ("gated_delta_rule", "arg4")):
            values.append(rng.uniform(0.1, 0.9, shape))     # beta in (0, 1)
        else:
            values.append(rng.standard_normal(shape))
    return values


# The mixers with a chunked form, differentiated in it (chunks of 2: a
# partial last chunk where the length is odd); "differentiable" is the form
# the training pipeline uses (attention from the log-sum-exp, the others as
# "chunked").
CHUNKED = ["ssd", "discrete_ssd", "mamba3", "attention", "attention_masked"]


@pytest.mark.parametrize("op,form", [(op, "quadratic") for op in sorted(SSM_OPS)]
                         + [(op, "chunked") for op in CHUNKED]
                         + [(op, "differentiable") for op in CHUNKED])
def test_ssm_op_gradient(op, form, rng, tmp_path):
    src = tmp_path / "op.mlir"
    src.write_text(SSM_OPS[op])
    lowered = tmp_path / "lowered.mlir"
    chunking = {"quadratic": [],
                "chunked": ["--ssm-select-chunk-sizes=chunk-size=2", "--ssm-chunk-mixers"],
                "differentiable": ["--ssm-select-chunk-sizes=chunk-size=2",
                                   "--ssm-chunk-mixers=differentiable=true"]}[form]
    r = subprocess.run([str(SSM_OPT), str(src), *chunking, "--ssm-materialize-mixers",
                        "--convert-ssm-to-linalg", "-o", str(lowered)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    text = lowered.read_text()
    rest = text.replace("ssm.differentiate", "").replace("ssm.stop_gradient", "")
    assert "ssm." not in rest
    if form != "quadratic":
        assert "scf.for" in text  # the loop over chunks
    if form == "differentiable" and op.startswith("attention"):
        # max, sum of exponentials, output: three loops over the key tiles,
        # the maximum held constant.
        assert text.count("scf.for") == 3 and "ssm.stop_gradient" in text
    model = compile_module(text.replace("f32", "f64"), tmp_path)
    check_gradients(model, op, _op_inputs(model, op, rng), rng)
