"""Converts an examples/zoo.py `llama` or `mamba2` ONNX model to a llama.cpp GGUF.

For timing llama.cpp beside SSMC on the same weights. Needs `pip install gguf`
(written against gguf 0.19.0) besides onnx and numpy; --check also needs
onnxruntime, the SSMC tools (build/bin or $SSM_BUILD_DIR) and llama.cpp's
llama-simple and llama-debug.

  .venv/bin/python bench/zoo_gguf.py MODEL.onnx OUT.gguf [--arch llama|mamba2]
      [--f16] [--ctx 4096] [--check --llama-bin DIR [--loader CMD]]

The zoo names its initializers c_N, so the weights are found by the graph's
structure (the op patterns of zoo.attention_layer, swiglu_mlp, mamba2_layer):
MatMul weights in order, RMSNorm weights (Mul(w, Mul(x, inv))), the eps (the
Add before Sqrt), the RoPE inv_freq (MatMul(pos, [1, dh/2])), the Conv, the dt
bias (the Add before Softplus), A (the Mul before CumSum) and D (Mul(x, [h, 1])).
The arch is the one with Softmax (llama) or Conv (mamba2) nodes.

GGUF layout (as convert_hf_to_gguf.py writes it; numpy shape = reversed ne):
matrices [out, in] (the ONNX MatMul weight transposed), f16 with --f16, the
rest float32.
  llama:  token_embd, output_norm, output; blk.N.attn_norm, attn_q, attn_k,
          attn_v, attn_output, ffn_norm, ffn_gate, ffn_up, ffn_down. The zoo's
          RoPE rotates halves (HF rotate_half); llama.cpp's `llama` arch rotates
          adjacent pairs, so the rows of attn_q and attn_k are permuted within
          each head (HF's (i, i + dh/2) -> (2i, 2i + 1)), as the converter does.
          rope.freq_base from inv_freq, head counts from the q/k widths.
  mamba2: blk.N.attn_norm, ssm_in, ssm_conv1d (conv_dim, k) + bias, ssm_dt.bias,
          ssm_a (h, 1) (the graph holds A = -exp(A_log) already), ssm_d (h, 1),
          ssm_norm (groups = 1, di), ssm_out. ssm.time_step_rank = heads.
Tokenizer: llama.cpp's "rwkv" model (greedy longest match, no BOS/EOS/UNK, so
nothing is added to a prompt and no token ends generation); token i is the
piece " t{i}", so the text " t5 t17 t3" is exactly the ids [5, 17, 3] and the
generated text parses back to ids.

--check: compiles the ONNX with `ssmc --generation=on`, runs `ssm-run
--generate STEPS` (a random prompt, then STEPS + 1 greedy tokens: tokens.npy),
feeds that prompt's text to `llama-simple` (greedy, CPU, its defaults: f16 KV
cache, flash attention auto) and compares the generated ids (llama-completion
--temp 0 gives the same ids, but this build at times exits with status 0
before its asynchronous log has printed them). Then logits against
onnxruntime on the ONNX (rel err = max abs difference / max abs reference):
ssm-run's logits.npy rows, and llama-debug --save-logits (the last token's
row; its tokens file must equal the ids) over the prompt and over the prompt
and all but the last generated token, with an f32 KV cache and flash
attention off (the defaults, an f16 cache and flash attention, which rounds Q
to f16, give about 4e-4 on the tiny llama; float32 about 5e-7). Exit status 1
on a token mismatch, a wrong tokenization or a logit error over --tol (either
engine). A llama.cpp built for Debian sid (glibc 2.43) runs through sid's
loader: with L its lib dir, --llama-bin $SID/usr/bin
--loader "$L/ld-linux-x86-64.so.2 --library-path $L:$L/llama" (the CPU
backends must be found in /usr/lib/x86_64-linux-gnu/ggml/backends0).
"""
import argparse
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import gguf
import numpy as np
import onnx
from onnx import numpy_helper

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))
from zoo import tool  # noqa: E402


def zoo_weights(model):
    """The weights of a zoo llama or mamba2 graph, found by structure."""
    g = model.graph
    init = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    producer = {o: n for n in g.node for o in n.output}
    const = lambda node: next(init[i] for i in node.input if i in init)  # noqa: E731
    w = dict(embed=init["embed"], mats=[], norms=[], conv_w=[], conv_b=[], dt_bias=[],
             A=[], D=[], eps=None, inv_freq=None, head=None, softmax=0)
    for n in g.node:
        op, ins = n.op_type, list(n.input)
        if op == "MatMul" and ins[1] in init:
            if init[ins[1]].shape[0] == 1:
                w["inv_freq"] = init[ins[1]].ravel()
            elif n.output[0] == "logits":
                w["head"] = init[ins[1]]
            else:
                w["mats"].append(init[ins[1]])
        elif op == "Mul" and ins[0] in init and init[ins[0]].ndim == 1:
            w["norms"].append(init[ins[0]])
        elif op == "Mul" and ins[1] in init and init[ins[1]].ndim == 2:
            w["D"].append(init[ins[1]].ravel())
        elif op == "Conv":
            w["conv_w"].append(init[ins[1]])
            w["conv_b"].append(init[ins[2]])
        elif op == "Softplus":
            w["dt_bias"].append(const(producer[ins[0]]))
        elif op == "CumSum":
            w["A"].append(const(producer[ins[0]]))
        elif op == "Sqrt" and w["eps"] is None:
            w["eps"] = float(const(producer[ins[0]]))
        elif op == "Softmax":
            w["softmax"] += 1
    if w["conv_w"] and w["softmax"]:
        raise ValueError("a hybrid graph: only the zoo's llama and mamba2 convert")
    w["arch"] = "mamba2" if w["conv_w"] else "llama"
    return w


def permute_rope(wt, heads):
    """Rows [out, in] of a q or k projection from rotate-half to adjacent pairs."""
    return wt.reshape(heads, 2, wt.shape[0] // heads // 2, -1).swapaxes(1, 2).reshape(wt.shape)


def write_gguf(w, path, f16=False, ctx=4096):
    arch, d = w["arch"], w["embed"].shape[1]
    vocab = w["embed"].shape[0]
    wr = gguf.GGUFWriter(str(path), arch)
    mat = lambda a: np.ascontiguousarray(a, np.float16 if f16 else np.float32)  # noqa: E731
    f32 = lambda a: np.ascontiguousarray(a, np.float32)  # noqa: E731
    wr.add_name(f"ssmc zoo {arch} (random weights)")
    wr.add_file_type(gguf.LlamaFileType.MOSTLY_F16 if f16 else gguf.LlamaFileType.ALL_F32)
    wr.add_embedding_length(d)
    wr.add_layer_norm_rms_eps(w["eps"])
    wr.add_vocab_size(vocab)
    wr.add_tensor("token_embd.weight", mat(w["embed"]))
    wr.add_tensor("output_norm.weight", f32(w["norms"][-1]))
    if w["head"] is not None:  # else tied: llama.cpp falls back to token_embd
        wr.add_tensor("output.weight", mat(w["head"].T))
    m, nm = w["mats"], w["norms"]
    if arch == "llama":
        L = len(m) // 7
        assert len(m) == 7 * L and len(nm) == 2 * L + 1 and w["softmax"] == L, "not a zoo llama"
        dh = 2 * len(w["inv_freq"])
        h, kvh = m[0].shape[1] // dh, m[1].shape[1] // dh
        base = float(w["inv_freq"][1]) ** (-dh / 2)
        wr.add_context_length(ctx)
        wr.add_block_count(L)
        wr.add_feed_forward_length(m[4].shape[1])
        wr.add_head_count(h)
        wr.add_head_count_kv(kvh)
        wr.add_rope_dimension_count(dh)
        wr.add_rope_freq_base(round(base, 2))
        names = ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"]
        for i in range(L):
            p = f"blk.{i}."
            wr.add_tensor(p + "attn_norm.weight", f32(nm[2 * i]))
            wr.add_tensor(p + "ffn_norm.weight", f32(nm[2 * i + 1]))
            for j, name in enumerate(names):
                wt = m[7 * i + j].T
                if name in ("attn_q", "attn_k"):
                    wt = permute_rope(wt, h if name == "attn_q" else kvh)
                wr.add_tensor(p + name + ".weight", mat(wt))
    else:
        L = len(w["conv_w"])
        assert len(m) == 2 * L and len(nm) == 2 * L + 1 and len(w["A"]) == L, "not a zoo mamba2"
        di, h = m[1].shape[0], len(w["A"][0])
        conv_dim, _, k = w["conv_w"][0].shape
        wr.add_context_length(2 ** 20)
        wr.add_block_count(L)
        wr.add_feed_forward_length(0)
        wr.add_head_count(0)
        wr.add_ssm_conv_kernel(k)
        wr.add_ssm_inner_size(di)
        wr.add_ssm_state_size((conv_dim - di) // 2)
        wr.add_ssm_time_step_rank(h)
        wr.add_ssm_group_count(1)
        for i in range(L):
            p = f"blk.{i}."
            wr.add_tensor(p + "attn_norm.weight", f32(nm[2 * i]))
            wr.add_tensor(p + "ssm_in.weight", mat(m[2 * i].T))
            wr.add_tensor(p + "ssm_conv1d.weight", f32(w["conv_w"][i].reshape(conv_dim, k)))
            wr.add_tensor(p + "ssm_conv1d.bias", f32(w["conv_b"][i]))
            wr.add_tensor(p + "ssm_dt.bias", f32(w["dt_bias"][i]))
            wr.add_tensor(p + "ssm_a", f32(w["A"][i].reshape(h, 1)))
            wr.add_tensor(p + "ssm_d", f32(w["D"][i].reshape(h, 1)))
            wr.add_tensor(p + "ssm_norm.weight", f32(nm[2 * i + 1].reshape(1, di)))
            wr.add_tensor(p + "ssm_out.weight", mat(m[2 * i + 1].T))
    wr.add_tokenizer_model("rwkv")
    wr.add_token_list([f" t{i}" for i in range(vocab)])
    wr.add_token_types([gguf.TokenType.NORMAL] * vocab)
    wr.add_add_bos_token(False)
    wr.add_add_eos_token(False)
    wr.write_header_to_file()
    wr.write_kv_data_to_file()
    wr.write_tensors_to_file()
    wr.close()
    return arch


def text(ids):
    return "".join(f" t{int(i)}" for i in ids)


def rel_err(got, want):
    return float(np.abs(got - want).max() / np.abs(want).max())


def check(a, onnx_path, gguf_path, vocab, work):
    """Greedy tokens of llama.cpp against ssm-run; logits against onnxruntime."""
    import onnxruntime as ort
    run = lambda cmd: subprocess.run([str(c) for c in cmd], check=True,  # noqa: E731
                                     capture_output=True, text=True).stdout
    llama = lambda name: shlex.split(a.loader) + [Path(a.llama_bin) / name]  # noqa: E731
    debug = ["-m", gguf_path, "-t", a.threads, "-c", a.prompt_len + a.steps + 16, "-ngl", 0,
             "--no-warmup", "-ctk", "f32", "-ctv", "f32", "-fa", "off"]  # all float32
    so = work / "model.so"
    run([tool("ssmc"), onnx_path, "-o", so, "--generation=on"])
    run([tool("ssm-run"), so, "--generate", a.steps, "--prompt-len", a.prompt_len,
         "--batch", 1, "--seed", a.seed, "--int-max", vocab, "--output-dir", work,
         "--threads", a.threads])
    toks = np.load(work / "tokens.npy")[0]
    ssm_logits = np.load(work / "logits.npy")[0]
    prompt, ssm_gen = toks[:a.prompt_len], toks[a.prompt_len:]
    # llama-simple: greedy, prints the prompt and the generated pieces (stdout).
    out = run(llama("llama-simple") + ["-m", gguf_path, "-n", len(ssm_gen), "-ngl", 0,
                                       text(prompt)])
    ids = [int(t) for t in re.findall(r" t(\d+)", out)]
    llama_gen = ids[len(prompt):] if ids[:len(prompt)] == prompt.tolist() else ids
    ok = llama_gen == ssm_gen.tolist()
    print(f"prompt ids   {prompt.tolist()}")
    print(f"ssm-run      {ssm_gen.tolist()}")
    print(f"llama.cpp    {llama_gen}  {'MATCH' if ok else 'MISMATCH'}")
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    ref = sess.run(["logits"], {"input_ids": toks[None, :-1].astype(np.int64)})[0][0]
    err = rel_err(ssm_logits, ref[len(ref) - len(ssm_logits):])  # all rows or prefill's last
    ok &= err < a.tol
    print(f"ssm-run logits ({len(ssm_logits)} rows) vs onnxruntime: rel err {err:.2e}")
    for n in (a.prompt_len, len(toks) - 1):
        d = work / f"debug{n}"
        run(llama("llama-debug") + debug + ["-p", text(toks[:n]), "--save-logits",
                                             "--logits-output-dir", d])
        exact = np.fromfile(next(d.glob("*-tokens.bin")), np.int32).tolist() == toks[:n].tolist()
        got = np.fromfile(next(f for f in d.glob("*.bin") if not f.name.endswith("-tokens.bin")),
                          np.float32)
        err = rel_err(got, ref[n - 1])
        ok &= exact and err < a.tol
        print(f"llama-debug logits (last of {n} tokens, tokenized "
              f"{'exactly' if exact else 'WRONGLY'}) vs onnxruntime: rel err {err:.2e}, "
              f"argmax {got.argmax()} vs {ref[n - 1].argmax()}")
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("onnx", type=Path)
    ap.add_argument("gguf", type=Path)
    ap.add_argument("--arch", choices=["llama", "mamba2"], help="default: from the graph")
    ap.add_argument("--f16", action="store_true", help="f16 matrices (else all float32)")
    ap.add_argument("--ctx", type=int, default=4096, help="llama context_length")
    ap.add_argument("--check", action="store_true", help="compare with ssm-run, onnxruntime")
    ap.add_argument("--llama-bin", default="/usr/bin", help="dir of llama-simple, llama-debug")
    ap.add_argument("--loader", default="", help="command prefix for the llama.cpp tools")
    ap.add_argument("--steps", type=int, default=8, help="decode steps of the check")
    ap.add_argument("--prompt-len", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tol", type=float, default=1e-2, help="largest logit rel err")
    a = ap.parse_args()
    w = zoo_weights(onnx.load(str(a.onnx)))
    if a.arch and a.arch != w["arch"]:
        ap.error(f"the graph is a zoo {w['arch']}, not {a.arch}")
    write_gguf(w, a.gguf, a.f16, a.ctx)
    print(f"zoo_gguf: wrote {a.gguf} ({w['arch']}, {'f16' if a.f16 else 'f32'})")
    if a.check:
        with tempfile.TemporaryDirectory() as tmp:
            ok = check(a, a.onnx.resolve(), a.gguf.resolve(), w["embed"].shape[0], Path(tmp))
        sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
