"""Runs ssm ops through ssm-opt's reference pipeline and mlir-runner.

Each case becomes one MLIR function `main` whose inputs are dense constants
(exact hex bytes of the random float32/f16/bf16 values), whose op results are
printed with printMemrefF32, and whose output is parsed back into NumPy.
"""
import os
import re
import subprocess
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("SSM_BUILD_DIR", ROOT / "build"))
SSM_OPT = BUILD / "bin" / "ssm-opt"
LLVM_BIN = Path(os.environ.get("LLVM_BIN", "/usr/lib/llvm-22/bin"))
LLVM_LIB = Path(os.environ.get("LLVM_LIB", "/usr/lib/llvm-22/lib"))
MLIR_RUNNER = LLVM_BIN / "mlir-runner"

_NP_DTYPES = {"f32": np.float32, "f16": np.float16}


def _to_bf16_bits(a):
    """Round-to-nearest-even float32 -> bfloat16 bit patterns (uint16)."""
    bits = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)
    rounding = ((bits >> 16) & 1) + 0x7FFF
    return ((bits + rounding) >> 16).astype(np.uint16)


def quantize(a, dtype):
    """The values a tensor of `dtype` holds for `a`, as float64."""
    if dtype == "f32":
        return a.astype(np.float32).astype(np.float64)
    if dtype == "f16":
        return a.astype(np.float16).astype(np.float64)
    if dtype == "bf16":
        bits = _to_bf16_bits(a.astype(np.float32)).astype(np.uint32) << 16
        return bits.view(np.float32).astype(np.float64)
    raise ValueError(dtype)


def tensor_type(shape, dtype, dynamic=()):
    dims = ["?" if i in dynamic else str(d) for i, d in enumerate(shape)]
    return "tensor<" + "x".join(dims + [dtype]) + ">"


def dense_literal(a, dtype):
    if dtype == "bf16":
        raw = _to_bf16_bits(a).tobytes()
    else:
        raw = np.ascontiguousarray(a, dtype=_NP_DTYPES[dtype]).tobytes()
    return 'dense<"0x' + raw.hex().upper() + '">'


class Case:
    """One op applied to constant inputs."""

    def __init__(self):
        self.lines = []
        self.counter = 0

    def const(self, a, dtype="f32", dynamic=()):
        """Adds a constant; `dynamic` dims are erased by a tensor.cast."""
        name = f"%c{self.counter}"
        self.counter += 1
        static_t = tensor_type(a.shape, dtype)
        self.lines.append(
            f"  {name} = arith.constant {dense_literal(a, dtype)} : {static_t}")
        if not dynamic:
            return name, static_t
        dyn_t = tensor_type(a.shape, dtype, dynamic)
        self.lines.append(f"  {name}d = tensor.cast {name} : {static_t} to {dyn_t}")
        return name + "d", dyn_t

    def module(self, op_text, results):
        """`results`: list of (type, f32?) of the op results, printed in order."""
        body = list(self.lines)
        names = [f"%r{i}" for i in range(len(results))]
        body.append(f"  {', '.join(names)} = {op_text}")
        for i, (rtype, elt) in enumerate(results):
            val = names[i]
            if elt != "f32":
                # Print through f32 (extf in a linalg-free way: via arith on tensors).
                f32_t = rtype.replace(elt, "f32")
                body.append(f"  {val}x = arith.extf {val} : {rtype} to {f32_t}")
                val, rtype = val + "x", f32_t
            body.append(f"  {val}u = tensor.cast {val} : {rtype} to tensor<*xf32>")
            body.append(f"  call @printMemrefF32({val}u) : (tensor<*xf32>) -> ()")
        return ("func.func @main() {\n" + "\n".join(body) +
                "\n  return\n}\nfunc.func private @printMemrefF32(tensor<*xf32>)\n")


class Operands:
    """Builds an op's operand list: positional operands, then keyword
    operands written `label(%v)`, with their types and the float32-rounded
    values for the NumPy reference (`kw`, keyed by reference argument)."""

    def __init__(self, case):
        self.case, self.names, self.types, self.kw = case, [], [], {}
        self.keyword_text = ""

    def add(self, a, dtype="f32", dynamic=()):
        name, t = self.case.const(a, dtype, dynamic)
        self.names.append(name)
        self.types.append(t)
        return self

    def opt(self, label, a, dynamic=(), key=None):
        name, t = self.case.const(a, dynamic=dynamic)
        self.keyword_text += f" {label}({name})"
        self.types.append(t)
        self.kw[key or label] = quantize(a, "f32")
        return self

    @property
    def text(self):
        return ", ".join(self.names) + self.keyword_text


_NUM = re.compile(r"-?(?:nan|inf|\d+(?:\.\d*)?(?:e[-+]?\d+)?)")


def parse_memrefs(text):
    out = []
    for chunk in text.split("Unranked Memref")[1:]:
        sizes = [int(s) for s in re.search(r"sizes = \[([^\]]*)\]", chunk)
                 .group(1).replace(" ", "").split(",") if s]
        if int(np.prod(sizes)) == 0:
            out.append(np.zeros(sizes))
            continue
        data = chunk.split("data =", 1)[1]
        vals = [float(v) for v in _NUM.findall(data)]
        out.append(np.array(vals, dtype=np.float64).reshape(sizes))
    return out


def lower(mlir, pipeline):
    return subprocess.run([str(SSM_OPT), f"--{pipeline}", "-"], input=mlir,
                          capture_output=True, text=True, timeout=300)


def run(mlir, form="quadratic", expect=None):
    """Lowers `mlir` with the given mixer form ("chunked:Q" for the chunked
    form with chunks of Q tokens), runs it, returns outputs."""
    options = f"mixer-form={form}"
    if form.startswith("chunked:"):
        options = f"mixer-form=chunked chunk-size={form.split(':')[1]}"
    low = lower(mlir, f"pass-pipeline=builtin.module(ssm-lower-to-llvm{{{options}}})")
    if low.returncode != 0:
        raise RuntimeError(f"ssm-opt failed ({form}):\n{low.stderr}")
    libs = ",".join(str(LLVM_LIB / l) for l in
                    ("libmlir_runner_utils.so", "libmlir_c_runner_utils.so"))
    res = subprocess.run([str(MLIR_RUNNER), "-e", "main",
                          "-entry-point-result=void", f"-shared-libs={libs}"],
                         input=low.stdout, capture_output=True, text=True,
                         timeout=300)
    if res.returncode != 0:
        raise RuntimeError(f"mlir-runner failed ({form}):\n{res.stderr}")
    outs = parse_memrefs(res.stdout)
    if expect is not None and len(outs) != expect:
        raise RuntimeError(f"expected {expect} outputs, got {len(outs)}")
    return outs


def assert_close(got, want, rtol, atol, what=""):
    """Every element within atol + rtol * |want| (printMemref keeps 6 digits)."""
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    err = np.abs(got - want)
    bound = atol + rtol * np.abs(want)
    bad = ~(err <= bound)
    assert not bad.any(), (
        f"{what}: {bad.sum()} of {bad.size} elements off; max error "
        f"{np.nanmax(err):.3g} at {np.unravel_index(np.nanargmax(err), err.shape)}")


def run_mixing_matrix(case, op_text, result_types):
    """Materialized mixing matrix of the mixer `op_text` on `case`'s inputs.

    Runs -test-ssm-mixing-matrix on a function computing the op, then calls
    it from a main that prints the matrix it now returns.
    """
    names = [f"%r{i}" for i in range(len(result_types))]
    func = ("func.func @matrix() -> " + result_types[0] + " {\n" +
            "\n".join(case.lines) + f"\n  {', '.join(names)} = {op_text}\n"
            f"  return %r0 : {result_types[0]}\n}}\n")
    low = lower(func, "test-ssm-mixing-matrix")
    if low.returncode != 0:
        raise RuntimeError(f"-test-ssm-mixing-matrix failed:\n{low.stderr}")
    mtype = re.search(r"func\.func @matrix\(\) -> (tensor<[^>]*>)", low.stdout).group(1)
    main = (f"func.func @main() {{\n  %m = call @matrix() : () -> {mtype}\n"
            f"  %u = tensor.cast %m : {mtype} to tensor<*xf32>\n"
            "  call @printMemrefF32(%u) : (tensor<*xf32>) -> ()\n  return\n}\n"
            "func.func private @printMemrefF32(tensor<*xf32>)\n")
    module = low.stdout.rstrip()
    assert module.endswith("}"), module[-200:]
    (m,) = run(module[:-1] + main + "}\n", "quadratic", expect=1)
    return m


def attention_attributes(attrs):
    """The attribute dictionary text of an ssm.attention op from a test
    case's options (causal, scale, window, softcap)."""
    items = []
    if attrs.get("causal"):
        items.append("causal")
    if "scale" in attrs:
        items.append(f"scale = {attrs['scale']} : f32")
    if "window" in attrs:
        items.append(f"window = {attrs['window']} : i64")
    if "softcap" in attrs:
        items.append(f"softcap = {attrs['softcap']} : f32")
    return "{" + ", ".join(items) + "}"
