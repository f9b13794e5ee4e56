"""Executed test of ssm-cpu-math-approximation: the polynomial forms of exp,
expm1, log, log1p and tanh that replace libm calls in compiled code, on f32
inputs spanning each function's useful range (and its edges), against float64
NumPy. The whole CPU pipeline runs (ssm-lower-to-llvm, then mlir-runner).

printMemref keeps 6 digits, too few to see float32 errors, so the compiled
code computes the error itself, in a function called with the inputs: (f(x) - r) / max(|r|, 1e-30), with r the
float64 result rounded to float32. Tolerance: 1e-6 relative, about 8 float32
ulps (r's own rounding is half an ulp); the largest error measured is 1.8e-7.
The lowered code is also checked to call no libm function for f."""
import numpy as np
import pytest

import re

from harness import dense_literal, lower, run

TOL = 1e-6


def inputs(name, rng):
    if name == "exp":
        edges = [-87.0, -20.0, -1e-7, 0.0, 1e-7, 1.0, 20.0, 88.0]
        body = rng.uniform(-87, 88, 200)
    elif name == "expm1":
        edges = [-20.0, -1.0, -1e-6, 0.0, 1e-6, 0.5, 20.0]
        body = rng.uniform(-20, 20, 200)
    elif name == "log":
        edges = [1e-30, 1e-5, 0.5, 1.0, 2.0, 1e30]
        body = np.exp(rng.uniform(-60, 60, 200))
    elif name == "log1p":
        edges = [-0.999, -0.5, -1e-7, 0.0, 1e-7, 1.0, 1e6]
        body = np.concatenate([rng.uniform(-0.999, 1, 100),
                               np.exp(rng.uniform(-15, 13, 100))])
    else:  # tanh
        edges = [-20.0, -9.0, -1e-4, 0.0, 1e-4, 0.3, 9.0, 20.0]
        body = rng.uniform(-10, 10, 200)
    return np.concatenate([edges, body]).astype(np.float32)


REFERENCE = {"exp": np.exp, "expm1": np.expm1, "log": np.log, "log1p": np.log1p,
             "tanh": np.tanh}


def error_module(name, x, r, scale):
    """@main passes the constants to @error, so that the function is applied
    at run time (on constants, canonicalization would fold it with libm)."""
    t = f"tensor<{x.size}xf32>"
    return f"""func.func @error(%x: {t}, %r: {t}, %s: {t}) -> {t} {{
  %y = math.{name} %x : {t}
  %d = arith.subf %y, %r : {t}
  %e = arith.divf %d, %s : {t}
  return %e : {t}
}}
func.func @main() {{
  %x = arith.constant {dense_literal(x, "f32")} : {t}
  %r = arith.constant {dense_literal(r, "f32")} : {t}
  %s = arith.constant {dense_literal(scale, "f32")} : {t}
  %e = call @error(%x, %r, %s) : ({t}, {t}, {t}) -> {t}
  %u = tensor.cast %e : {t} to tensor<*xf32>
  call @printMemrefF32(%u) : (tensor<*xf32>) -> ()
  return
}}
func.func private @printMemrefF32(tensor<*xf32>)
"""


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_math_function(name, rng):
    x = inputs(name, rng)
    r = REFERENCE[name](x.astype(np.float64)).astype(np.float32)
    scale = np.maximum(np.abs(r), np.float32(1e-30))
    module = error_module(name, x, r, scale)
    # No libm call or LLVM intrinsic (which becomes one) is left.
    low = lower(module, "pass-pipeline=builtin.module(ssm-lower-to-llvm)")
    assert low.returncode == 0, low.stderr
    assert not re.search(rf"intr\.{name}\b|@{name}f\b", low.stdout), name
    (err,) = run(module, expect=1)
    worst = int(np.argmax(np.abs(err)))
    assert np.abs(err).max() < TOL, (
        f"{name}({x[worst]!r}): relative error {err[worst]:.3g}")
