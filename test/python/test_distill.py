"""The distillation workflow (python/ssmc/distill.py): attention sites,
conversion with MOHAWK's weight transfer, head analysis, token files, the
stage driver (logs, checkpoints, resume, plot) and the command line.

References are independent of SSMC: onnxruntime evaluates the teacher's
graph with its intermediates exposed (the normed input of each attention,
its softmax), and the student's mixing matrices are computed from the
teacher's weights in float64 NumPy from SEMANTICS.md (Discrete Mamba-2:
M[i,j] = (C_i . B_j) exp(-sum softplus(A_log)); Mamba-2 SSD: (C_i . B_j)
exp(sum dt A) dt_j)."""
import json
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper

from harness import BUILD
import onnx_tools  # noqa: F401 (puts examples/ on the path)
import zoo  # noqa: E402

sys.path.insert(0, str(BUILD / "python"))
import ssmc  # noqa: E402
from ssmc import distill  # noqa: E402

def _hf_llama():
    if onnx_tools.HF_FIXTURES is None:
        pytest.skip("no Hugging Face fixtures (../shared/fixtures/hf)")
    return onnx_tools.HF_FIXTURES / "llama_dynamo.onnx"


def _save(model, path):
    onnx.save(model, str(path))
    return path


def _ort_values(model, names, ids):
    m = onnx.ModelProto()
    m.CopyFrom(model)
    m.graph.output.extend(onnx.ValueInfoProto(name=n) for n in names)
    s = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    out = s.run(names, {"input_ids": ids})
    return dict(zip(names, out))


def _inits(model):
    return {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}


# ---------------------------------------------------------------- sites


def test_sites_zoo_llama():
    m = zoo.build("llama", seed=3)
    sites = distill.find_attention_sites(m)
    assert [s.index for s in sites] == [0, 1]
    inits = _inits(m)
    for s in sites:
        assert (s.heads, s.kv_heads, s.head_dim, s.value_dim) == (4, 2, 16, 16)
        assert s.scale == pytest.approx(0.25)
        assert s.masked
        assert inits[s.q_weight].shape == (64, 64)
        assert inits[s.k_weight].shape == inits[s.v_weight].shape == (64, 32)
        assert inits[s.o_weight].shape == (64, 64)
        assert s.key_heads == s.value_heads == 4  # after the GQA repeat
    # The two layers use different weights.
    assert len({s.q_weight for s in sites}) == 2


def test_sites_hf_llama_export():
    sites = distill.find_attention_sites(_hf_llama())
    assert len(sites) == 2
    for s in sites:
        assert (s.heads, s.kv_heads, s.head_dim) == (4, 2, 32)
        assert s.scale == pytest.approx(32 ** -0.5, rel=1e-6)


def test_sites_none_in_ssm_and_one_in_hybrid():
    assert distill.find_attention_sites(zoo.build("mamba2")) == []
    sites = distill.find_attention_sites(zoo.build("hybrid"))
    assert len(sites) == 1  # the zoo hybrid: attention in its second layer


# ---------------------------------------------------------------- conversion


def _reference_matrix(teacher, site, ids, state, decay, mixer):
    """The student's layer-`site.index` mixing matrix at conversion time,
    from the teacher's weights and its normed input (onnxruntime)."""
    u = _ort_values(teacher, [site.hidden], ids)[site.hidden].astype(np.float64)
    w = _inits(teacher)
    h, dh, rep = site.heads, site.head_dim, site.heads // site.kv_heads
    q = (u @ w[site.q_weight]).reshape(*u.shape[:2], h, dh)
    k = (u @ w[site.k_weight]).reshape(*u.shape[:2], site.kv_heads, dh)
    k = np.repeat(k, rep, axis=2)
    q, k = q[..., :state], k[..., :state]
    L = u.shape[1]
    i, j = np.arange(L)[:, None], np.arange(L)[None, :]
    dec = np.where(j <= i, float(decay) ** np.maximum(i - j, 0), 0.0)
    # Discrete: (C_i . B_j) a^(i-j); Mamba-2 with dt = softplus(dt_bias) = 1
    # and A = log(decay): the same.
    return site.scale * np.einsum("blhn,bshn->bhls", q, k) * dec


@pytest.mark.parametrize("mixer,state", [("discrete-mamba2", 0), ("discrete-mamba2", 8),
                                          ("mamba2", 0)])
def test_convert_transfers_attention_weights(mixer, state, rng, tmp_path):
    teacher = zoo.build("llama", seed=int(rng.integers(1 << 30)))
    decay = float(rng.uniform(0.8, 0.99))
    student, report = distill.convert(teacher, tmp_path / "s.onnx", mixer=mixer,
                                      state_size=state, decay=decay)
    assert report.converted == [0, 1]
    ops = [n.op_type for n in student.graph.node]
    assert "Softmax" not in ops
    assert ops.count("DiscreteSSD" if mixer == "discrete-mamba2" else "SSD") == 2
    assert ops.count("CausalConv1d") == 2
    lib = ssmc.compile(tmp_path / "s.onnx", tmp_path / "s.so", hidden_states=True)
    ids = rng.integers(0, 128, (2, 7))
    got = lib.run({"input_ids": ids}, entry="mixing_matrices")["mixing.0"]
    site = distill.find_attention_sites(teacher)[0]
    want = _reference_matrix(teacher, site, ids, state or site.head_dim, decay, mixer)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())
    # Embedding, MLPs, norms and the head are the teacher's, by name.
    t, s = _inits(teacher), _inits(student)
    for name in ("embed",) + tuple(n for n in t if n not in
                                   {x for st in distill.find_attention_sites(teacher)
                                    for x in (st.q_weight, st.k_weight, st.v_weight)}):
        if name in s:
            np.testing.assert_array_equal(s[name], t[name])
    # out_proj is O.
    for st in distill.find_attention_sites(teacher):
        np.testing.assert_array_equal(s[f"ssmc.distill.l{st.index}.out_proj.weight"],
                                      t[st.o_weight])


def test_convert_larger_state_adds_columns(tmp_path):
    teacher = zoo.build("llama", seed=1)
    student, report = distill.convert(teacher, state_size=24)
    assert report.state_size == 24
    w = _inits(student)["ssmc.distill.l0.in_proj.weight"]
    site = distill.find_attention_sites(teacher)[0]
    wk = _inits(teacher)[site.k_weight]
    # x (4 heads x 16), then B (4 heads x 24): head 0's first 16 columns are K's.
    B = w[:, 64:64 + 96].reshape(64, 4, 24)
    np.testing.assert_array_equal(B[:, 0, :16], wk[:, :16])
    np.testing.assert_array_equal(B[:, 1, :16], wk[:, :16])  # GQA: kv head 0 twice
    np.testing.assert_array_equal(B[:, 2, :16], wk[:, 16:32])
    assert np.abs(B[:, :, 16:]).max() > 0  # not zeros: a zero B and C would not train


def test_convert_layer_hybrid_keeps_attention(rng, tmp_path):
    teacher = _save(zoo.build("llama", seed=2), tmp_path / "t.onnx")
    ids = rng.integers(0, 128, (2, 5))
    t = ssmc.compile(teacher, tmp_path / "t.so")
    _, report = distill.convert(teacher, tmp_path / "all.onnx", keep_layers=[0, 1])
    assert report.converted == []
    s = ssmc.compile(tmp_path / "all.onnx", tmp_path / "all.so")
    np.testing.assert_allclose(s.run({"input_ids": ids})["logits"],
                               t.run({"input_ids": ids})["logits"], rtol=1e-5, atol=1e-5)
    student, report = distill.convert(teacher, tmp_path / "one.onnx", keep_layers="1")
    assert report.converted == [0]
    ops = [n.op_type for n in student.graph.node]
    assert ops.count("Softmax") == 1 and ops.count("DiscreteSSD") == 1
    # The kept layer's attention matrix is the teacher's (same block input:
    # layer 0 is converted, so compare stage-1 style from hidden states).
    lib = ssmc.compile(tmp_path / "one.onnx", tmp_path / "one.so", hidden_states=True)
    assert set(lib.run({"input_ids": ids}, entry="mixing_matrices")) == {"mixing.0", "mixing.1"}


def test_convert_per_head_hybrid(rng, tmp_path):
    teacher = zoo.build("llama", seed=int(rng.integers(1 << 30)))
    student, report = distill.convert(teacher, tmp_path / "s.onnx", keep_heads="0:3,0:1")
    assert report.kept_heads == [(0, 1), (0, 3)]
    assert "2 of 8" in report.summary()
    ops = [n.op_type for n in student.graph.node]
    assert ops.count("HybridMerge") == 1 and ops.count("Attention") == 1
    site = distill.find_attention_sites(teacher)[0]
    wo = _inits(teacher)[site.o_weight]
    merge = _inits(student)["ssmc.distill.l0.merge.weight"]
    np.testing.assert_array_equal(merge, np.concatenate([wo[16:32], wo[48:64]]))
    # The kept heads' attention is the teacher's: its mixing matrices are
    # the teacher's softmax for heads 1 and 3 (layer 0 sees the same input).
    lib = ssmc.compile(tmp_path / "s.onnx", tmp_path / "s.so", hidden_states=True)
    ids = rng.integers(0, 128, (2, 6))
    mats = lib.run({"input_ids": ids}, entry="mixing_matrices")
    probs = [n.output[0] for n in teacher.graph.node if n.op_type == "Softmax"][0]
    want = _ort_values(teacher, [probs], ids)[probs][:, [1, 3]]
    hits = [k for k, v in mats.items() if v.shape == want.shape
            and np.allclose(v, want, rtol=1e-4, atol=1e-5)]
    assert hits, {k: v.shape for k, v in mats.items()}
    # Decode matches the full forward (only the kept heads have a KV cache).
    sess = lib.session()
    full = lib.run({"input_ids": ids[:1]})["logits"]
    sess.prefill(ids[0, :3])
    for t in range(3, 6):
        step = sess.decode(ids[0, t:t + 1])
        np.testing.assert_allclose(step.reshape(-1), full[0, t], rtol=1e-4, atol=1e-4)


def test_convert_hf_export_compiles(tmp_path, rng):
    _, report = distill.convert(_hf_llama(), tmp_path / "s.onnx", keep_heads=[(1, 2)],
                                mixer="mamba2", state_size=16)
    lib = ssmc.compile(tmp_path / "s.onnx", tmp_path / "s.so")
    logits = lib.run({"input_ids": rng.integers(0, 512, (1, 5))})["logits"]
    assert logits.shape == (1, 5, 512) and np.isfinite(logits).all()
    assert report.converted == [0, 1]


@pytest.mark.parametrize("kwargs,message", [
    (dict(keep_layers=[2]), "no attention layer 2"),
    (dict(keep_heads="0:4"), "layer 0 has 4 heads, no head 4"),
    (dict(keep_heads="5:0"), "no attention layer 5"),
    (dict(keep_heads="0-1"), "expected layer:head"),
    (dict(keep_layers=[0], keep_heads="0:1"), "kept whole and has kept heads"),
    (dict(mixer="mamba3"), "unknown mixer 'mamba3'"),
    (dict(decay=1.0), "decay must be in (0, 1)"),
    (dict(keep_layers="a,b"), "bad layer list"),
])
def test_convert_errors(kwargs, message):
    with pytest.raises(distill.DistillError, match=message.replace("(", r"\(").replace(")", r"\)")):
        distill.convert(zoo.build("llama"), **kwargs)


def test_convert_without_attention_is_an_error():
    with pytest.raises(distill.DistillError, match="no attention found"):
        distill.convert(zoo.build("mamba2"))


# ---------------------------------------------------------------- heads


def test_heads_ablation_matches_a_zeroed_model(rng, tmp_path):
    teacher = _save(zoo.build("llama", seed=int(rng.integers(1 << 30))), tmp_path / "t.onnx")
    base, scores, sites = distill.analyze_heads(teacher, pairs=4, queries=4, probe_vocab=32,
                                                batches=2, batch_size=16, seed=5)
    assert len(scores) == 8 and {(s.layer, s.head) for s in scores} == \
        {(a, b) for a in range(2) for b in range(4)}
    keys = [(-s.drop, -s.loss_increase) for s in scores]
    assert keys == sorted(keys)
    # An independent check of one ablation: the model with that head's rows
    # of O zeroed, compiled as it is, on the same probe batches.
    pick = scores[int(rng.integers(8))]
    m = onnx.load(str(teacher))
    o = sites[pick.layer].o_weight
    for init in m.graph.initializer:
        if init.name == o:
            w = numpy_helper.to_array(init).copy()
            w[pick.head * 16:(pick.head + 1) * 16] = 0
            init.CopyFrom(numpy_helper.from_array(w, o))
    lib = ssmc.compile(_save(m, tmp_path / "ablated.onnx"), tmp_path / "a.so")
    prng = np.random.default_rng(5)
    data = [distill.mqar_batch(prng, 16, 4, 4, 32) for _ in range(2)]
    logits = np.concatenate([lib.run({"input_ids": i})["logits"] for i, _ in data])
    acc, loss = distill.retrieval_scores(logits, np.concatenate([lab for _, lab in data]))
    assert acc == pytest.approx(pick.accuracy)
    assert loss == pytest.approx(pick.loss, rel=1e-4)
    assert pick.drop == pytest.approx(base[0] - acc)


def test_heads_command_writes_kept_heads(tmp_path):
    teacher = _save(zoo.build("llama", seed=4), tmp_path / "t.onnx")
    out = tmp_path / "heads.json"
    r = _cli("heads", str(teacher), "-o", str(out), "--keep", "2", "--pairs", "4",
             "--probe-vocab", "32", "--batches", "1", "--batch-size", "8")
    assert r.returncode == 0, r.stderr
    data = json.loads(out.read_text())
    assert len(data["keep"]) == 2 and len(data["heads"]) == 8
    assert [tuple(p) for p in data["keep"]] == [(h["layer"], h["head"])
                                               for h in data["heads"][:2]]
    assert "rank  layer  head" in r.stdout
    # The conversion takes the file.
    _, report = distill.convert(teacher, keep_heads=str(out))
    assert report.kept_heads == sorted(tuple(p) for p in data["keep"])


# ---------------------------------------------------------------- MQAR data


def test_mqar_batch_layout(rng):
    ids, labels = distill.mqar_batch(rng, 5, pairs=3, queries=2, vocab=20)
    assert ids.shape == labels.shape == (5, 10)
    for b in range(5):
        pairs = dict(zip(ids[b, 0:6:2], ids[b, 1:6:2]))
        assert len(pairs) == 3 and all(1 <= k < 10 for k in pairs)
        assert all(10 <= v < 20 for v in pairs.values())
        for t in (6, 8):
            assert labels[b, t] == pairs[ids[b, t]] == ids[b, t + 1]
        assert (labels[b, [0, 1, 2, 3, 4, 5, 7, 9]] == -100).all()
    with pytest.raises(distill.DistillError):
        distill.mqar_batch(rng, 1, pairs=10, vocab=20)


def test_retrieval_scores():
    logits = np.zeros((1, 3, 4), np.float32)
    logits[0, 0, 2] = 5.0
    logits[0, 2, 1] = 5.0
    labels = np.array([[2, -100, 3]])
    acc, loss = distill.retrieval_scores(logits, labels)
    assert acc == 0.5
    lse = np.log(np.exp(5.0) + 3)
    assert loss == pytest.approx(((lse - 5.0) + lse) / 2)


# ---------------------------------------------------------------- token files


@pytest.mark.parametrize("dtype", ["uint16", "uint32"])
def test_token_file_windows(dtype, rng, tmp_path):
    toks = rng.integers(0, 1000, 50)
    distill.write_tokens(tmp_path / "t.bin", toks, dtype)
    assert (tmp_path / "t.bin").stat().st_size == 50 * np.dtype(dtype).itemsize
    tf = distill.TokenFile(tmp_path / "t.bin", dtype, seq_len=8)
    ids, labels = tf.batch(np.random.default_rng(0), 6)
    assert ids.shape == labels.shape == (6, 8)
    for row, lab in zip(ids, labels):
        s = int(np.flatnonzero(np.all(np.lib.stride_tricks.sliding_window_view(toks, 8) == row,
                                      axis=1))[0])
        np.testing.assert_array_equal(lab, toks[s + 1:s + 9])
    tf = distill.TokenFile(tmp_path / "t.bin", dtype, seq_len=10, aligned=True)
    ids, labels = tf.batch(np.random.default_rng(1), 4)
    for row, lab in zip(ids, labels):
        s = int(np.flatnonzero((toks.reshape(5, 10) == row).all(1))[0]) * 10
        np.testing.assert_array_equal(lab[:-1], toks[s + 1:s + 10])
        assert lab[-1] == -100


def test_token_file_errors(tmp_path):
    (tmp_path / "odd.bin").write_bytes(b"\x00\x01\x02")
    with pytest.raises(distill.DistillError, match="not a whole number of uint16"):
        distill.TokenFile(tmp_path / "odd.bin")
    distill.write_tokens(tmp_path / "t.bin", np.arange(30))
    with pytest.raises(distill.DistillError, match="outside the model's vocabulary of 20"):
        distill.TokenFile(tmp_path / "t.bin", seq_len=4, vocab=20)
    with pytest.raises(distill.DistillError, match="fewer than one window"):
        distill.TokenFile(tmp_path / "t.bin", seq_len=30)
    with pytest.raises(distill.DistillError, match="aligned sequences of 7"):
        distill.TokenFile(tmp_path / "t.bin", seq_len=7, aligned=True)
    with pytest.raises(distill.DistillError, match="uint16 or uint32"):
        distill.TokenFile(tmp_path / "t.bin", "int8")
    with pytest.raises(distill.DistillError, match="no token file"):
        distill.TokenFile(tmp_path / "missing.bin")


# ---------------------------------------------------------------- the stages


def _setup_run(tmp_path, stages, student=None, extra=""):
    teacher = _save(zoo.build("llama", seed=7), tmp_path / "t.onnx")
    ids, _ = distill.mqar_batch(np.random.default_rng(0), 64, 4, 4, 32)
    distill.write_tokens(tmp_path / "tok.bin", ids)
    text = [f'teacher = "{teacher.name}"', 'workdir = "run"', 'output = "s.onnx"']
    text += ["[student]"] + (student or [])
    text += ["[data]", 'tokens = "tok.bin"', "seq_len = 16", "batch_size = 4",
             "aligned = true"]
    for k, steps in stages.items():
        text += [f"[stage{k}]", f"steps = {steps}", "lr = 1e-3"]
    text += ["[log]", "every = 1", "checkpoint_every = 2", "progress = false", extra]
    (tmp_path / "c.toml").write_text("\n".join(text) + "\n")
    return tmp_path / "c.toml"


def test_run_three_stages(tmp_path):
    cfg = _setup_run(tmp_path, {1: 6, 2: 6, 3: 6})
    res = distill.run(cfg, log=lambda *_: None)
    work = tmp_path / "run"
    rows = list(__import__("csv").DictReader(open(work / "log.csv")))
    assert [int(r["global_step"]) for r in rows] == list(range(1, 19))
    for k in (1, 2, 3):
        losses = [float(r["loss"]) for r in rows if int(r["stage"]) == k]
        assert len(losses) == 6 and losses[-1] < losses[0], (k, losses)
    png = (work / "loss.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000
    # The student: every stage's parameters in the output ONNX, which
    # compiles for inference like any model.
    out = onnx.load(str(res["output"]))
    s3 = distill.load_checkpoint_parameters(work / "checkpoint-stage3.safetensors")
    inits = _inits(out)
    for name, value in s3.items():
        np.testing.assert_array_equal(inits[name], value)
    init = _inits(onnx.load(str(work / "student-init.onnx")))
    changed = [n for n in s3 if not np.array_equal(s3[n], init[n])]
    assert any(n.startswith("ssmc.distill.l0.in_proj") for n in changed)
    lib = ssmc.compile(res["output"], tmp_path / "s.so")
    assert lib.run({"input_ids": np.ones((1, 4), np.int64)})["logits"].shape == (1, 4, 128)


def test_stage_optimizer_options(tmp_path):
    """A stage table's AdamW, clipping and label-weight keys are compiled
    into that stage's train_step (the student library's compile info)."""
    cfg = _setup_run(tmp_path, {3: 1})
    text = cfg.read_text().replace("lr = 1e-3", "lr = 1e-3\nlabel_weight = 0.5\n"
                                   "adam_betas = [0.8, 0.9]\nadam_eps = 1e-6\n"
                                   "weight_decay = 0\nmax_grad_norm = 0.5")
    cfg.write_text(text)
    distill.run(cfg, log=lambda *_: None)
    info = ssmc.load(tmp_path / "run" / "student-stage3.so").compile_info["train"]
    assert info == {"loss": "distillation", "frozen": [], "adam_beta1": 0.8,
                    "adam_beta2": 0.9, "adam_eps": 1e-6, "weight_decay": 0.0,
                    "max_grad_norm": 0.5, "temperature": 1.0, "label_weight": 0.5}


def test_run_resumes_after_interruption(tmp_path, monkeypatch):
    a = tmp_path / "a"
    a.mkdir()
    distill.run(_setup_run(a, {2: 5, 3: 5}), log=lambda *_: None)
    b = tmp_path / "b"
    b.mkdir()
    cfg = _setup_run(b, {2: 5, 3: 5})
    real = ssmc.Trainer.step
    calls = [0]

    def flaky(self, *args, **kwargs):
        calls[0] += 1
        if calls[0] == 8:  # stage 3, step 3 (after the step-2 checkpoint)
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    monkeypatch.setattr(ssmc.Trainer, "step", flaky)
    with pytest.raises(KeyboardInterrupt):
        distill.run(cfg, log=lambda *_: None)
    progress = json.loads((b / "run" / "progress.json").read_text())
    assert progress["completed"] == [2]
    monkeypatch.setattr(ssmc.Trainer, "step", real)
    messages = []
    distill.run(cfg, log=messages.append)
    assert "stage 3: resumed at step 2" in messages
    pa = distill.load_checkpoint_parameters(a / "run" / "checkpoint-stage3.safetensors")
    pb = distill.load_checkpoint_parameters(b / "run" / "checkpoint-stage3.safetensors")
    for n in pa:
        np.testing.assert_allclose(pb[n], pa[n], rtol=1e-6, atol=1e-7)
    rows = list(__import__("csv").DictReader(open(b / "run" / "log.csv")))
    assert [int(r["global_step"]) for r in rows] == list(range(1, 11))


def test_run_per_head_hybrid_rejects_stage1(tmp_path):
    cfg = _setup_run(tmp_path, {1: 2}, student=['keep_heads = "1:0"'])
    with pytest.raises(distill.DistillError, match="per-head hybrid"):
        distill.run(cfg, log=lambda *_: None)


def test_run_rejects_a_changed_config(tmp_path):
    cfg = _setup_run(tmp_path, {2: 1})
    distill.run(cfg, log=lambda *_: None)
    cfg.write_text(cfg.read_text().replace("[stage2]", "[stage3]"))
    with pytest.raises(distill.DistillError, match="another teacher, student or stages"):
        distill.run(cfg, log=lambda *_: None)
    distill.run(cfg, restart=True, log=lambda *_: None)


@pytest.mark.parametrize("raw,message", [
    ({}, "a \\[data\\] table is required"),
    ({"data": {"tokens": "t.bin"}}, "'teacher' is required"),
    ({"teacher": "t.onnx", "data": {"tokens": "t.bin"}}, "no stage"),
    ({"teacher": "t.onnx", "data": {"tokens": "t.bin", "shuffle": 1},
      "stage2": {"steps": 1, "lr": 1e-3}}, "unknown keys shuffle"),
    ({"teacher": "t.onnx", "data": {"tokens": "t.bin"}, "stage2": {"steps": 1}},
     "'lr' is required"),
    ({"teacher": "t.onnx", "data": {"tokens": "t.bin"},
      "stage2": {"steps": 1, "lr": 1e-3, "temperature": 2.0}}, "temperature is a stage 3"),
    ({"teacher": "t.onnx", "data": {"tokens": "t.bin"},
      "stage3": {"steps": "10", "lr": 1e-3}}, "'steps' must be int"),
    ({"teacher": "t.onnx", "data": {"tokens": "t.bin"},
      "stage2": {"steps": 1, "lr": 1e-3, "label_weight": 0.5}}, "label_weight is a stage 3"),
    ({"teacher": "t.onnx", "data": {"tokens": "t.bin"},
      "stage3": {"steps": 1, "lr": 1e-3, "adam_betas": [0.9]}}, "adam_betas must be two"),
    ({"teacher": "t.onnx", "data": {"tokens": "t.bin"},
      "stage3": {"steps": 1, "lr": 1e-3, "adam_betas": [0.9, 1.0]}}, "adam_betas must be two"),
    ({"teacher": "t.onnx", "data": {"tokens": "t.bin"},
      "stage3": {"steps": 1, "lr": 1e-3, "weight_decay": -0.1}}, "weight_decay >= 0"),
    ({"teacher": "t.onnx", "data": {"tokens": "t.bin"},
      "stage3": {"steps": 1, "lr": 1e-3, "temperature": float("inf")}}, "finite temperature"),
    ({"teacher": "t.onnx", "data": {"tokens": "t.bin"},
      "stage1": {"steps": 1, "lr": 1e-3, "max_grad_norm": -1}}, "max_grad_norm >= 0"),
    ({"teacher": "t.onnx", "data": {"tokens": "t.bin"},
      "stage3": {"steps": 10, "lr": 1e-3, "schedule": "linear"}}, "schedule must be"),
    ({"teacher": "t.onnx", "data": {"tokens": "t.bin"}, "student": {"path": "s.onnx",
      "mixer": "mamba2"}, "stage3": {"steps": 1, "lr": 1e-3}}, "conversion options"),
    ({"teacher": "t.onnx", "data": {"tokens": "t.bin"}, "log": {"format": "xml"},
      "stage3": {"steps": 1, "lr": 1e-3}}, "csv or jsonl"),
])
def test_config_errors(raw, message):
    with pytest.raises(distill.DistillError, match=message):
        distill.Config.from_dict(raw)


def test_jsonl_log_and_existing_student(tmp_path):
    teacher = _save(zoo.build("llama", seed=1), tmp_path / "t.onnx")
    distill.convert(teacher, tmp_path / "st.onnx", mixer="mamba2")
    cfg = _setup_run(tmp_path, {3: 3}, extra='format = "jsonl"',
                     student=['path = "st.onnx"'])
    distill.run(cfg, log=lambda *_: None)
    rows = [json.loads(x) for x in open(tmp_path / "run" / "log.jsonl")]
    assert [r["step"] for r in rows] == [1, 2, 3]
    ops = [n.op_type for n in onnx.load(str(tmp_path / "s.onnx")).graph.node]
    assert "SSD" in ops


# ---------------------------------------------------------------- command line


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "ssmc.distill", *args], capture_output=True,
                          text=True, env={**__import__("os").environ,
                                          "PYTHONPATH": str(BUILD / "python")})


def test_cli_sites_and_convert(tmp_path):
    teacher = _save(zoo.build("llama", seed=1), tmp_path / "t.onnx")
    r = _cli("sites", str(teacher))
    assert r.returncode == 0 and r.stdout.count("attention ") == 2
    assert "4 heads, 2 kv heads, head dim 16" in r.stdout
    r = _cli("convert", str(teacher), "-o", str(tmp_path / "s.onnx"), "--keep-heads", "1:2")
    assert r.returncode == 0, r.stderr
    assert "kept heads: 1 of 8 (12.5%)" in r.stdout
    assert (tmp_path / "s.onnx").exists()


def test_cli_errors(tmp_path):
    m = _save(zoo.build("mamba2"), tmp_path / "m.onnx")
    r = _cli("sites", str(m))
    assert r.returncode == 1 and "no attention found" in r.stderr
    r = _cli("convert", str(m), "-o", str(tmp_path / "s.onnx"))
    assert r.returncode == 1 and r.stderr.startswith("ssmc.distill: error: no attention found")
    r = _cli("run", str(tmp_path / "missing.toml"))
    assert r.returncode == 1 and "no config file" in r.stderr
    (tmp_path / "bad.toml").write_text("teacher = [\n")
    r = _cli("run", str(tmp_path / "bad.toml"))
    assert r.returncode == 1 and "bad.toml" in r.stderr and "Traceback" not in r.stderr
