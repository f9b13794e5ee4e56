"""The fused GPU kernels' test cases (ssm.attention, ssm.ssd and
ssm.discrete_ssd at sizes that exercise every path of the kernels), shared
by the Vulkan target's tests (lavapipe) and bench/gpu_fused_cases.py (the
CUDA target on the GPU machine)."""
import numpy as np

from harness import attention_attributes

# name: (b, l, s, hq, hkv, d, dv, attributes); mask: its (batch, heads) sizes,
# "?" for a dynamic batch size that is 1 at run time, "?b" for one that is b.
FUSED_ATTENTION_CASES = {
    "causal_gqa": (2, 70, 70, 4, 2, 40, 24, dict(causal=True)),
    "prefix_window": (1, 37, 150, 2, 1, 16, 8, dict(causal=True, window=50)),
    "scale_softcap_dv128": (1, 65, 65, 2, 2, 8, 128,
                            dict(causal=True, scale=0.7, softcap=2.0)),
    "mask_noncausal": (2, 20, 90, 2, 1, 64, 16, dict(mask=(1, 2))),
    "mask_run_time_broadcast": (2, 64, 64, 2, 2, 32, 32, dict(mask=("?", 1), causal=True)),
    # Fewer keys than queries: the first 70 rows see no key (0).
    "empty_rows": (1, 100, 30, 2, 2, 4, 3, dict(causal=True)),
    "window_only": (1, 80, 80, 1, 1, 16, 16, dict(window=20)),
    "decode_step": (3, 1, 129, 4, 1, 64, 64, dict(causal=True)),
    # Four query heads per kv head packed into a block's rows, each with
    # its own mask rows.
    "gqa4_mask_window": (2, 33, 40, 8, 2, 16, 16,
                         dict(causal=True, window=9, mask=(2, 8))),
    # Three heads per kv head: a query's rows straddle 64-row tiles; a
    # second, partial group of value columns (dv 100).
    "gqa3_straddle_dv100": (1, 70, 70, 6, 2, 16, 100, dict(causal=True)),
    # A window that skips whole key tiles of later blocks, with GQA.
    "gqa_window_skips_tiles": (1, 150, 150, 4, 2, 16, 16, dict(causal=True, window=40)),
    "window_fewer_keys": (1, 50, 30, 2, 1, 8, 8, dict(causal=True, window=7)),
    # A mask whose batch size is dynamic and equal to b at run time.
    "mask_run_time_batch": (2, 20, 24, 2, 2, 8, 8, dict(mask=("?b", 2))),
    # One query known at compile time (static=True: a decode step): the step
    # kernel; key counts that are not multiples of its 128-key tiles.
    "step_static_gqa4": (3, 1, 300, 8, 2, 64, 64, dict(causal=True, static=True)),
    "step_static_mask_window_softcap": (2, 1, 150, 4, 4, 16, 24,
                                        dict(causal=True, window=40, softcap=3.0,
                                             mask=(2, 4), static=True)),
    "step_static_group16_dv100": (1, 1, 70, 16, 1, 8, 100, dict(static=True)),
    # More query heads per kv head than the step kernel takes: the general one.
    "step_static_group32": (1, 1, 20, 32, 1, 8, 8, dict(causal=True, static=True)),
    # A value head size past the kernel's 128: the mixer form instead.
    "dv144_not_fused": (1, 10, 10, 1, 1, 8, 144, dict(causal=True)),
}


def attention_source(b, l, s, hq, hkv, d, dv, attrs):
    ql = "1" if attrs.get("static") else "?"
    types = [f"tensor<?x{ql}x{hq}x{d}xf32>", f"tensor<?x?x{hkv}x{d}xf32>",
             f"tensor<?x?x{hkv}x{dv}xf32>"]
    args = ["%q", "%k", "%v"]
    mask = ""
    if "mask" in attrs:
        mb, mh = attrs["mask"]
        types.append(f"tensor<{str(mb)[0]}x{mh}x?x?xf32>")
        args.append("%m")
        mask = " mask(%m)"
    result = f"tensor<?x{ql}x{hq}x{dv}xf32>"
    params = ", ".join(f"{a}: {t}" for a, t in zip(args, types))
    return (f"func.func @main({params}) -> {result} {{\n"
            f"  %y = ssm.attention %q, %k, %v{mask} {attention_attributes(attrs)} : "
            f"({', '.join(types)}) -> {result}\n"
            f"  return %y : {result}\n}}\n")


def fused_attention_case(name, rng):
    """The source of one FUSED_ATTENTION_CASES entry (batch and sequence
    sizes dynamic), its inputs, its float64 reference and whether the GPU
    targets fuse it (value head size at most 128)."""
    import reference as ref
    b, l, s, hq, hkv, d, dv, attrs = FUSED_ATTENTION_CASES[name]
    q = rng.standard_normal((b, l, hq, d)).astype(np.float32)
    k = rng.standard_normal((b, s, hkv, d)).astype(np.float32)
    v = rng.standard_normal((b, s, hkv, dv)).astype(np.float32)
    inputs = {"arg0": q, "arg1": k, "arg2": v}
    mask = None
    if "mask" in attrs:
        mb, mh = attrs["mask"]
        mask = rng.standard_normal((1 if mb in (1, "?") else b, mh, l, s)).astype(np.float32)
        mask[..., 0] = -1e30  # an effectively masked key
        inputs["arg3"] = mask
    want = ref.attention(*(a.astype(np.float64) for a in (q, k, v)),
                         mask=None if mask is None else mask.astype(np.float64),
                         causal=attrs.get("causal", False), scale=attrs.get("scale"),
                         window=attrs.get("window"), softcap=attrs.get("softcap"))
    return attention_source(b, l, s, hq, hkv, d, dv, attrs), inputs, (want,), dv <= 128


FUSED_SSD_CASES = {
    # Three chunks, the last partial; the kernel's 32-dim head tiles and
    # 16-dim state slices exactly filled.
    "full_options": ("ssd", 2, 150, 4, 1, 32, 32,
                     {"D", "bias", "softplus", "z", "init"}),
    # Two groups of four heads, a partial head tile (40 = 32 + 8) and a
    # state size that is not a multiple of 16; D per head dim, dt_limit.
    "groups_partial_tiles": ("ssd", 1, 64, 8, 2, 40, 20, {"Dhp", "limit", "init"}),
    # The Mamba-2 sizes (p 64, n 128: two head tiles, eight state slices).
    "mamba2_sizes": ("ssd", 1, 100, 2, 1, 64, 128, {"D", "bias", "softplus", "z"}),
    "decode_step": ("ssd", 3, 1, 4, 2, 16, 16, {"init", "softplus", "z"}),
    "signed_dt": ("ssd", 1, 70, 2, 1, 8, 8, {"signed", "init"}),
    # Slow decays over four segments of one chunk: what the fix-up carries
    # from the initial state and the earlier segments is large.
    "slow_decay_segments": ("ssd", 1, 200, 2, 1, 16, 16, {"slow", "init", "D", "z"}),
    "discrete_slow_segments": ("discrete", 2, 150, 2, 2, 8, 8, {"slow", "init"}),
    "no_options": ("ssd", 2, 5, 3, 3, 4, 4, set()),
    "discrete_full": ("discrete", 2, 90, 4, 1, 16, 24, {"D", "z", "init"}),
    "discrete_plain": ("discrete", 1, 129, 2, 2, 48, 64, set()),
    # 8 x 64 heads x 2 head tiles = 1024 scan blocks: the kernels' target,
    # so the two chunks are scanned in one segment (no fix-up kernel); the
    # shorter cases above have fewer blocks and cut their sequences into
    # segments of one chunk or more.
    "many_blocks_one_segment": ("ssd", 8, 70, 64, 8, 64, 16, {"D", "init", "softplus"}),
    # A sequence size of 1 known at compile time (a decode step): the one
    # step kernel; partial head tiles (40 = 32 + 8) and state lanes (20).
    "step_static": ("ssd", 3, 1, 4, 2, 40, 20, {"init", "softplus", "z", "D", "static"}),
    "step_static_mamba2_sizes": ("ssd", 2, 1, 4, 1, 64, 128, {"init", "Dhp", "bias", "static"}),
    "step_static_discrete": ("discrete", 2, 1, 2, 2, 16, 24, {"init", "z", "D", "static"}),
    "step_static_no_init": ("ssd", 1, 1, 2, 1, 8, 8, {"static"}),
    # Head size 128 (two tiles of the tensor-core scan, four of the SIMT
    # one) over eleven chunks, the last partial, cut into segments.
    "p128_many_chunks": ("ssd", 1, 700, 2, 1, 128, 128, {"D", "z", "init", "softplus"}),
    # A state size past the kernels' 128: the mixer form instead.
    "n144_not_fused": ("ssd", 1, 10, 2, 1, 4, 144, {"softplus"}),
}


def fused_ssd_case(name, rng):
    """The source of one FUSED_SSD_CASES entry (batch and sequence sizes
    dynamic), its inputs and its float64 reference (y, final state)."""
    import reference as ref
    op, b, l, h, g, p, n, opts = FUSED_SSD_CASES[name]
    r = lambda *s, scale=1.0: (rng.standard_normal(s) * scale).astype(np.float32)  # noqa: E731
    bl = "?x1" if "static" in opts else "?x?"
    x = r(b, l, h, p)
    B, C = r(b, l, g, n, scale=0.5), r(b, l, g, n, scale=0.5)
    args = [("x", x, f"tensor<{bl}x{h}x{p}xf32>")]
    kw = {}
    if op == "ssd":
        dt = r(b, l, h, scale=0.5)
        if "softplus" not in opts and "signed" not in opts:
            dt = np.abs(dt) + np.float32(0.05)
        if "slow" in opts:
            dt = np.abs(dt) * np.float32(0.02)
        A = -np.exp(r(h, scale=0.5))
        args += [("dt", dt, f"tensor<{bl}x{h}xf32>"), ("A", A, f"tensor<{h}xf32>")]
    else:
        A_log = r(b, l, h) - (np.float32(5.0) if "slow" in opts else np.float32(0.0))
        args += [("A_log", A_log, f"tensor<{bl}x{h}xf32>")]
    args += [("B", B, f"tensor<{bl}x{g}x{n}xf32>"), ("C", C, f"tensor<{bl}x{g}x{n}xf32>")]
    optional = []
    if "D" in opts:
        optional.append(("D", r(h), f"tensor<{h}xf32>"))
    if "Dhp" in opts:
        optional.append(("D", r(h, p), f"tensor<{h}x{p}xf32>"))
    if "bias" in opts:
        optional.append(("dt_bias", r(h, scale=0.5), f"tensor<{h}xf32>"))
    if "z" in opts:
        optional.append(("z", r(b, l, h, p), f"tensor<{bl}x{h}x{p}xf32>"))
        if op == "discrete":
            optional.append(("z_bias", r(h, p), f"tensor<{h}x{p}xf32>"))
    if "init" in opts:
        optional.append(("initial_state", r(b, h, p, n), f"tensor<?x{h}x{p}x{n}xf32>"))
    attrs = []
    if "softplus" in opts:
        attrs.append("dt_softplus")
        kw["dt_softplus"] = True
    if "limit" in opts:
        attrs.append("dt_limit = array<f32: 0.1, 0.9>")
        kw["dt_limit"] = (0.1, 0.9)
    for key, a, _ in optional:
        kw[key] = a.astype(np.float64)
    every = args + optional
    types = [t for _, _, t in every]
    params = ", ".join(f"%{key}: {t}" for key, _, t in every)
    text = ", ".join(f"%{key}" for key, _, _ in args)
    text += "".join(f" {key}(%{key})" for key, _, _ in optional)
    ytype, stype = f"tensor<{bl}x{h}x{p}xf32>", f"tensor<?x{h}x{p}x{n}xf32>"
    mnemonic = "ssd" if op == "ssd" else "discrete_ssd"
    source = (f"func.func @main({params}) -> ({ytype}, {stype}) {{\n"
              f"  %y, %s = ssm.{mnemonic} {text} {{{', '.join(attrs)}}} : "
              f"({', '.join(types)}) -> ({ytype}, {stype})\n"
              f"  return %y, %s : {ytype}, {stype}\n}}\n")
    f64 = [a.astype(np.float64) for _, a, _ in args]
    want = ref.ssd(*f64, **kw) if op == "ssd" else ref.discrete_ssd(*f64, **kw)
    inputs = {f"arg{i}": a for i, (_, a, _) in enumerate(every)}
    return source, inputs, want, n
