"""The main job: a per-head hybrid mixing layer, compiled and run.

Builds (deterministically, seed 0) the mixing part of one per-head hybrid
layer in the ssm dialect: a Mamba-2 SSD over 4 heads, a causal GQA attention
over the 2 kept heads, ssm.hybrid_merge, then a gated RMSNorm. Lowers it
with ssm-opt's reference pipeline in both mixer forms (materialized mixing
matrix and recurrent steps), runs it with mlir-runner, and compares both with
the float64 NumPy reference of SEMANTICS.md.

Usage: python examples/hybrid_layer.py [--print-mlir]
"""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "test" / "python"))
import reference as ref  # noqa: E402
from harness import Case, quantize, run  # noqa: E402

B, L, H, P, N, KEPT, D = 1, 8, 4, 4, 8, 2, 16


def build():
    rng = np.random.default_rng(0)
    f = lambda *s, scale=1.0: (rng.standard_normal(s) * scale).astype(np.float32)
    w = dict(x=f(B, L, H, P), dt=f(B, L, H, scale=0.5), A=-np.exp(f(H, scale=0.3)),
             Bm=f(B, L, 1, N, scale=0.5), Cm=f(B, L, 1, N, scale=0.5), Dskip=f(H),
             dt_bias=f(H, scale=0.3), q=f(B, L, KEPT, P), k=f(B, L, 1, P), v=f(B, L, 1, P),
             W=f(KEPT * P, D, scale=0.3), gate=f(B, L, D), norm_w=1 + f(D, scale=0.1))
    c = Case()
    n = {k: c.const(v)[0] for k, v in w.items()}
    t = lambda *s: "tensor<" + "x".join(map(str, s)) + "xf32>"
    c.lines += [
        f"  %y, %h = ssm.ssd {n['x']}, {n['dt']}, {n['A']}, {n['Bm']}, {n['Cm']} "
        f"D({n['Dskip']}) dt_bias({n['dt_bias']}) {{dt_softplus}} : "
        f"({t(B, L, H, P)}, {t(B, L, H)}, {t(H)}, {t(B, L, 1, N)}, {t(B, L, 1, N)}, "
        f"{t(H)}, {t(H)}) -> ({t(B, L, H, P)}, {t(B, H, P, N)})",
        f"  %s = tensor.collapse_shape %y [[0], [1], [2, 3]] : {t(B, L, H, P)} into {t(B, L, D)}",
        f"  %a4 = ssm.attention {n['q']}, {n['k']}, {n['v']} {{causal}} : "
        f"({t(B, L, KEPT, P)}, {t(B, L, 1, P)}, {t(B, L, 1, P)}) -> {t(B, L, KEPT, P)}",
        f"  %a = tensor.collapse_shape %a4 [[0], [1], [2, 3]] : {t(B, L, KEPT, P)} into {t(B, L, KEPT * P)}",
        f"  %m = ssm.hybrid_merge %s, %a, {n['W']} : ({t(B, L, D)}, {t(B, L, KEPT * P)}, "
        f"{t(KEPT * P, D)}) -> {t(B, L, D)}",
    ]
    op = (f"ssm.rms_norm %m, {n['norm_w']} gate({n['gate']}) : "
          f"({t(B, L, D)}, {t(D)}, {t(B, L, D)}) -> {t(B, L, D)}")
    mlir = c.module(op, [(t(B, L, D), "f32")])
    q = {k: quantize(v, "f32") for k, v in w.items()}
    y, _ = ref.ssd(q["x"], q["dt"], q["A"], q["Bm"], q["Cm"], D=q["Dskip"],
                   dt_bias=q["dt_bias"], dt_softplus=True)
    att = ref.attention(q["q"], q["k"], q["v"], causal=True)
    merged = ref.hybrid_merge(y.reshape(B, L, D), att.reshape(B, L, KEPT * P), q["W"])
    want = ref.rms_norm(merged, q["norm_w"], gate=q["gate"])
    return mlir, want


def main():
    mlir, want = build()
    if "--print-mlir" in sys.argv:
        print(mlir)
    print(f"per-head hybrid mixing layer: batch {B}, {L} tokens, SSD {H} heads "
          f"(p {P}, n {N}), attention on {KEPT} kept heads, model dim {D}")
    outs = {}
    for form in ("quadratic", "recurrent"):
        (outs[form],) = run(mlir, form, expect=1)
        err = np.abs(outs[form] - want).max()
        print(f"  {form:9s} form: compiled with ssm-opt --ssm-lower-to-llvm="
              f"mixer-form={form}, ran with mlir-runner; max |error| vs float64 "
              f"NumPy = {err:.2e}")
    diff = np.abs(outs["quadratic"] - outs["recurrent"]).max()
    print(f"  max |quadratic - recurrent| = {diff:.2e}")
    print("  output[0, -1, :4] =", np.array2string(outs["quadratic"][0, -1, :4], precision=5))
    ok = all(np.allclose(o, want, rtol=2e-4, atol=2e-5) for o in outs.values())
    print("OK" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
