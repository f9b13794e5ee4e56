"""ssmc compiles a function with ssm ops to a self-contained shared library;
loaded with ctypes (no MLIR or LLVM in the process) and called through its C
interface with dynamic batch and sequence sizes, it matches float64 NumPy."""
import ctypes
import subprocess

import numpy as np
import pytest

import reference as ref
from harness import BUILD, assert_close, quantize

SSMC = BUILD / "bin" / "ssmc"

SSD_FUNC = """
func.func @mix(%x: tensor<?x?x3x2xf32>, %dt: tensor<?x?x3xf32>, %A: tensor<3xf32>,
               %B: tensor<?x?x1x4xf32>, %C: tensor<?x?x1x4xf32>, %D: tensor<3xf32>)
    -> tensor<?x?x3x2xf32> {
  %y, %h = ssm.ssd %x, %dt, %A, %B, %C D(%D) {dt_softplus}
      : (tensor<?x?x3x2xf32>, tensor<?x?x3xf32>, tensor<3xf32>, tensor<?x?x1x4xf32>,
         tensor<?x?x1x4xf32>, tensor<3xf32>) -> (tensor<?x?x3x2xf32>, tensor<?x3x2x4xf32>)
  return %y : tensor<?x?x3x2xf32>
}
"""


def descriptor_type(rank):
    class Descriptor(ctypes.Structure):
        _fields_ = [("allocated", ctypes.c_void_p), ("aligned", ctypes.c_void_p),
                    ("offset", ctypes.c_int64), ("sizes", ctypes.c_int64 * rank),
                    ("strides", ctypes.c_int64 * rank)]
    return Descriptor


def descriptor(arr):
    d = descriptor_type(arr.ndim)()
    d.allocated = d.aligned = arr.ctypes.data
    d.offset = 0
    for i, (n, s) in enumerate(zip(arr.shape, arr.strides)):
        d.sizes[i], d.strides[i] = n, s // arr.itemsize
    return d


def read(d, rank):
    shape = tuple(d.sizes[i] for i in range(rank))
    count = int(np.prod(shape))
    buf = (ctypes.c_float * max(count, 1)).from_address(d.aligned + 4 * d.offset)
    flat = np.ctypeslib.as_array(buf)[:count].astype(np.float64)
    strides = tuple(d.strides[i] for i in range(rank))
    return np.lib.stride_tricks.as_strided(flat, shape, [s * 8 for s in strides]).copy()


@pytest.mark.parametrize("form", ["quadratic", "recurrent", "chunked", "chunked:2"])
@pytest.mark.parametrize("opt", ["0", "3"])
def test_ssd_shared_library(rng, tmp_path, form, opt):
    src = tmp_path / "mix.mlir"
    src.write_text(SSD_FUNC)
    lib = tmp_path / "mix.so"
    form, _, chunk = form.partition(":")
    extra = [f"--chunk-size={chunk}"] if chunk else []
    r = subprocess.run([str(SSMC), str(src), "-o", str(lib), f"-O{opt}",
                        f"--mixer-form={form}", *extra], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    ldd = subprocess.run(["ldd", str(lib)], capture_output=True, text=True).stdout
    assert "MLIR" not in ldd and "LLVM" not in ldd, ldd

    so = ctypes.CDLL(str(lib))
    for b, l in [(2, 5), (1, 1), (3, 9)]:  # one library, any batch and length
        x = rng.standard_normal((b, l, 3, 2)).astype(np.float32)
        dt = rng.standard_normal((b, l, 3)).astype(np.float32)
        A = -np.exp(rng.standard_normal(3).astype(np.float32))
        B = rng.standard_normal((b, l, 1, 4)).astype(np.float32)
        C = rng.standard_normal((b, l, 1, 4)).astype(np.float32)
        D = rng.standard_normal(3).astype(np.float32)
        out = descriptor_type(4)()
        args = [descriptor(a) for a in (x, dt, A, B, C, D)]
        so._mlir_ciface_mix(ctypes.byref(out), *[ctypes.byref(a) for a in args])
        got = read(out, 4)
        want, _ = ref.ssd(*(quantize(a, "f32") for a in (x, dt, A, B, C)),
                          D=quantize(D, "f32"), dt_softplus=True)
        assert_close(got, want, 1e-4, 1e-5, f"ssmc .so {form} -O{opt} b={b} l={l}")


# The first l columns of a padded (2, l + 8) buffer, returned: the view has
# the padded row stride, so the result must be copied to a plain buffer
# (ssm-identity-layout-results) before the caller reads it as (2, l).
PADDED_VIEW = """
func.func @main(%x: tensor<2x?xf32>) -> tensor<2x?xf32> {
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %zero = arith.constant 0.0 : f32
  %l = tensor.dim %x, %c1 : tensor<2x?xf32>
  %padded = arith.addi %l, %c8 : index
  %e = tensor.empty(%padded) : tensor<2x?xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x?xf32>) -> tensor<2x?xf32>
  %p = tensor.insert_slice %x into %f[0, 0] [2, %l] [1, 1] : tensor<2x?xf32> into tensor<2x?xf32>
  %e2 = tensor.empty(%padded) : tensor<2x?xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%p : tensor<2x?xf32>) outs(%e2 : tensor<2x?xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %a, %a : f32
    linalg.yield %s : f32
  } -> tensor<2x?xf32>
  %r = tensor.extract_slice %y[0, 0] [2, %l] [1, 1] : tensor<2x?xf32> to tensor<2x?xf32>
  return %r : tensor<2x?xf32>
}
"""


def test_returned_view_of_padded_buffer(rng, tmp_path):
    src = tmp_path / "pad.mlir"
    src.write_text(PADDED_VIEW)
    so = tmp_path / "pad.so"
    subprocess.run([str(SSMC), str(src), "-o", str(so)], check=True, capture_output=True)
    x = rng.standard_normal((2, int(rng.integers(3, 12)))).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "out"
    subprocess.run([str(BUILD / "bin" / "ssm-run"), str(so), "--input", f"arg0={tmp_path / 'x.npy'}",
                    "--output-dir", str(out)], check=True, capture_output=True)
    got = np.load(out / "result0.npy")
    assert got.shape == x.shape
    np.testing.assert_array_equal(got, 2 * x)
