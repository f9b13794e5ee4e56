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
