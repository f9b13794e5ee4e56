"""Compiled training (ssmc --train): the cross-entropy loss against NumPy, one
AdamW step against a float64 NumPy AdamW fed with the library's own
gradients, the loss of a tiny model falling on a fixed batch, checkpoints
(a save/load round trip reproduces the next step exactly), ONNX export
(onnxruntime on the trained file equals the library), schedules, errors."""
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


@pytest.fixture(scope="module")
def llama(tmp_path_factory):
    d = tmp_path_factory.mktemp("train")
    path = d / "llama.onnx"
    onnx.save(zoo.build("llama", seed=3), str(path))
    return path, ssmc.compile(path, d / "llama.so", train=True)


def initializers(path):
    return {i.name: numpy_helper.to_array(i) for i in onnx.load(str(path)).graph.initializer}


def batch(rng, b=2, l=8, vocab=128):
    ids = rng.integers(0, vocab, (b, l))
    labels = np.roll(ids, -1, axis=1)
    labels[:, -1] = -100  # ignored
    return ids, labels


def cross_entropy(z, labels):
    z = z.astype(np.float64)
    mx = z.max(-1, keepdims=True)
    lse = np.log(np.exp(z - mx).sum(-1)) + mx[..., 0]
    valid = (labels >= 0) & (labels < z.shape[-1])
    picked = np.take_along_axis(z, np.where(valid, labels, 0)[..., None], -1)[..., 0]
    return float(((lse - picked) * valid).sum() / max(valid.sum(), 1))


def test_entry_points(llama):
    _, model = llama
    assert model.entry_points == ["main", "loss", "loss_grad", "train_step"]
    sig = model.signature("train_step")
    names = [i["name"] for i in sig["inputs"]]
    assert names[:3] == ["input_ids", "labels", "embed"]
    assert names[-2:] == ["lr", "step"]
    assert [o["name"] for o in sig["outputs"]][:3] == ["loss", "grad_norm", "embed"]


def test_loss_equals_numpy(llama, rng):
    path, model = llama
    trainer = ssmc.Trainer.from_onnx(model, path)
    ids, labels = batch(rng)
    labels[0, 2] = 5000  # out of the vocabulary: ignored too
    logits = model.run({"input_ids": ids, **trainer.parameters})["logits"]
    assert trainer.loss(ids, labels) == pytest.approx(cross_entropy(logits, labels), rel=1e-5)
    # Every label ignored: nothing to average, loss 0.
    assert trainer.loss(ids, np.full_like(labels, -100)) == 0.0


def test_one_step_equals_numpy_adamw(llama, rng):
    path, model = llama
    trainer = ssmc.Trainer.from_onnx(model, path, lr=2e-3)
    ids, labels = batch(rng)
    # Two steps so that the moments and bias corrections are exercised.
    trainer.step(ids, labels)
    params = {k: v.astype(np.float64) for k, v in trainer.parameters.items()}
    m = {k: v.astype(np.float64) for k, v in trainer.adam_m.items()}
    v = {k: v.astype(np.float64) for k, v in trainer.adam_v.items()}
    grads = model.run({"input_ids": ids, "labels": labels, **trainer.parameters,
                       "d_loss": np.array(1.0, np.float32)}, entry="loss_grad")
    g = {k: grads[f"d_{k}"].astype(np.float64) for k in params}
    norm = np.sqrt(sum((x ** 2).sum() for x in g.values()))
    scale = min(1.0, 1.0 / (norm + 1e-6))
    b1, b2, eps, wd, lr, t = 0.9, 0.95, 1e-8, 0.1, 2e-3, 2
    metrics = trainer.step(ids, labels)
    assert metrics["grad_norm"] == pytest.approx(norm, rel=1e-4)
    assert metrics["loss"] == pytest.approx(grads["loss"], rel=1e-6)
    for k in params:
        gk = g[k] * scale
        mk = b1 * m[k] + (1 - b1) * gk
        vk = b2 * v[k] + (1 - b2) * gk ** 2
        upd = mk / (1 - b1 ** t) / (np.sqrt(vk / (1 - b2 ** t)) + eps) + wd * params[k]
        want = params[k] - lr * upd
        np.testing.assert_allclose(trainer.adam_m[k], mk, rtol=1e-4, atol=1e-7, err_msg=k)
        np.testing.assert_allclose(trainer.adam_v[k], vk, rtol=1e-4, atol=1e-10, err_msg=k)
        np.testing.assert_allclose(trainer.parameters[k], want, rtol=1e-5, atol=1e-6, err_msg=k)


def test_loss_falls_and_checkpoint_round_trip(llama, rng, tmp_path):
    path, model = llama
    schedule = ssmc.cosine_schedule(3e-3, total_steps=40, warmup_steps=3)
    trainer = ssmc.Trainer.from_onnx(model, path, lr=schedule)
    ids, labels = batch(rng)
    losses = [trainer.step(ids, labels)["loss"] for _ in range(30)]
    assert losses[-1] < 0.2 * losses[0], losses
    assert trainer.loss(ids, labels) < losses[-1]

    ckpt = tmp_path / "ckpt.safetensors"
    trainer.save(ckpt)
    after = trainer.step(ids, labels)
    resumed = ssmc.Trainer.from_onnx(model, path, lr=schedule)
    resumed.load(ckpt)
    assert resumed.steps == 30
    again = resumed.step(ids, labels)
    assert again == after
    for k in trainer.parameters:
        np.testing.assert_array_equal(resumed.parameters[k], trainer.parameters[k])
        np.testing.assert_array_equal(resumed.adam_v[k], trainer.adam_v[k])

    # The trained model as ONNX: onnxruntime agrees with the library.
    out = tmp_path / "trained.onnx"
    trainer.export_onnx(path, out)
    trained = initializers(out)
    np.testing.assert_array_equal(trained["embed"], trainer.parameters["embed"])
    want = model.run({"input_ids": ids, **trainer.parameters})["logits"]
    got = ort.InferenceSession(str(out)).run(None, {"input_ids": ids})[0]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_mamba2_trains(tmp_path, rng):
    path = tmp_path / "mamba2.onnx"
    onnx.save(zoo.build("mamba2", seed=4), str(path))
    model = ssmc.compile(path, tmp_path / "m.so", train=True)
    trainer = ssmc.Trainer.from_onnx(model, path, lr=3e-3)
    ids, labels = batch(rng)
    losses = [trainer.step(ids, labels)["loss"] for _ in range(25)]
    assert losses[-1] < 0.3 * losses[0], losses


def test_schedules():
    cos = ssmc.cosine_schedule(1.0, total_steps=110, warmup_steps=10, final=0.1)
    assert cos(5) == pytest.approx(0.5)
    assert cos(10) == pytest.approx(1.0)
    assert cos(60) == pytest.approx(0.55)
    assert cos(110) == pytest.approx(0.1)
    wsd = ssmc.warmup_stable_decay_schedule(2.0, total_steps=100, warmup_steps=10,
                                            decay_steps=20, final=0.0)
    assert wsd(5) == pytest.approx(1.0)
    assert wsd(50) == pytest.approx(2.0)
    assert wsd(90) == pytest.approx(1.0)
    assert wsd(100) == pytest.approx(0.0)


def test_safetensors_format(tmp_path):
    a = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "n": np.array([7], np.int64)}
    p = tmp_path / "t.safetensors"
    ssmc.save_safetensors(p, a, {"step": "3"})
    raw = p.read_bytes()
    header_len = int.from_bytes(raw[:8], "little")
    assert raw[8:8 + header_len].decode().startswith("{")
    back, meta = ssmc.load_safetensors(p)
    assert meta == {"step": "3"}
    for k in a:
        np.testing.assert_array_equal(back[k], a[k])
    (tmp_path / "bad").write_bytes(b"\x01")
    with pytest.raises(ValueError, match="not a safetensors file"):
        ssmc.load_safetensors(tmp_path / "bad")


def test_trainer_errors(llama, tmp_path):
    path, model = llama
    params = initializers(path)
    del params["embed"]
    with pytest.raises(ValueError, match="missing parameters: embed"):
        ssmc.Trainer(model, params)
    trainer = ssmc.Trainer.from_onnx(model, path)
    bad = dict(trainer.parameters)
    bad["embed"] = np.zeros((2, 2), np.float32)
    ssmc.save_safetensors(tmp_path / "bad.safetensors", bad)
    with pytest.raises(ValueError, match="adam_m.embed|shape"):
        trainer.load(tmp_path / "bad.safetensors")
    plain = ssmc.compile(path, tmp_path / "plain.so", generation="off")
    with pytest.raises(ValueError, match="no train_step: compile it with train=True"):
        ssmc.Trainer(plain, initializers(path))


def test_readme_training_block_runs(tmp_path, rng):
    """The README's training example, verbatim, on a zoo model."""
    import os
    import subprocess

    from harness import ROOT

    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Training", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    onnx.save(zoo.build("llama", seed=1), str(tmp_path / "model.onnx"))
    ids, labels = batch(rng)
    prelude = ("import numpy as np, ssmc\n"
               f"input_ids = np.array({ids.tolist()})\nlabels = np.array({labels.tolist()})\n")
    code = prelude + block + "\nprint(metrics['loss'] > 0, trainer.steps)\n"
    env = dict(os.environ, PYTHONPATH=str(BUILD / "python"))
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                       text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith("True 1"), r.stdout
    assert (tmp_path / "ckpt.safetensors").exists() and (tmp_path / "trained.onnx").exists()


def test_distillation(tmp_path, rng):
    """MOHAWK stage 3: the student (same architecture, other weights) learns
    the teacher's distribution; the loss is -sum softmax(t) log softmax(z/T)
    averaged over the tokens with valid labels, plus nothing from labels."""
    teacher_path = tmp_path / "teacher.onnx"
    student_path = tmp_path / "student.onnx"
    onnx.save(zoo.build("llama", seed=11), str(teacher_path))
    onnx.save(zoo.build("llama", seed=12), str(student_path))
    teacher = ssmc.compile(teacher_path, tmp_path / "t.so", generation="off")
    student = ssmc.compile(student_path, tmp_path / "s.so", train=True,
                           train_loss="distillation", temperature=2.0)
    assert [i["name"] for i in student.signature("train_step")["inputs"]][:3] == [
        "input_ids", "labels", "teacher_logits"]
    ids, labels = batch(rng)
    t_logits = teacher.run({"input_ids": ids})["logits"]
    trainer = ssmc.Trainer.from_onnx(student, student_path, lr=3e-3)
    z = student.run({"input_ids": ids, **trainer.parameters})["logits"].astype(np.float64)
    t = t_logits.astype(np.float64)
    p = np.exp(t - t.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    zs = z / 2.0
    logq = zs - (np.log(np.exp(zs - zs.max(-1, keepdims=True)).sum(-1, keepdims=True))
                 + zs.max(-1, keepdims=True))
    valid = labels >= 0
    want = float((-(p * logq).sum(-1) * valid).sum() / valid.sum())
    assert trainer.loss(ids, labels, t_logits) == pytest.approx(want, rel=1e-5)
    # The teacher's logits are data: loss_grad has no gradient for them.
    grad_sig = student.signature("loss_grad")
    assert "d_teacher_logits" not in [o["name"] for o in grad_sig["outputs"]]
    losses = [trainer.step(ids, labels, t_logits)["loss"] for _ in range(30)]
    # The loss is the teacher's entropy plus KL(teacher || student at T):
    # the KL part must shrink.
    entropy = float((-(p * np.log(p)).sum(-1) * valid).sum() / valid.sum())
    assert losses[0] > entropy
    assert losses[-1] - entropy < 0.3 * (losses[0] - entropy), (entropy, losses)
    with pytest.raises(ValueError, match="teacher_logits must be given"):
        trainer.step(ids, labels)


def test_frozen_parameters(tmp_path, rng):
    path = tmp_path / "llama.onnx"
    onnx.save(zoo.build("llama", seed=3), str(path))
    model = ssmc.compile(path, tmp_path / "f.so", train=True, frozen=["embed", "c_1*"])
    trainer = ssmc.Trainer.from_onnx(model, path, lr=1e-2)
    before = {k: v.copy() for k, v in trainer.parameters.items()}
    frozen = {k for k in before if k == "embed" or k.startswith("c_1")}
    assert "embed" in frozen and len(frozen) > 1
    ids, labels = batch(rng)
    metrics = trainer.step(ids, labels)
    for k, v in trainer.parameters.items():
        if k in frozen:
            np.testing.assert_array_equal(v, before[k], err_msg=k)
        else:
            assert not np.array_equal(v, before[k]), k
    # The norm covers the trained parameters only.
    grads = model.run({"input_ids": ids, "labels": labels, **before,
                       "d_loss": np.array(1.0, np.float32)}, entry="loss_grad")
    norm = np.sqrt(sum((grads[f"d_{k}"].astype(np.float64) ** 2).sum()
                       for k in before if k not in frozen))
    assert metrics["grad_norm"] == pytest.approx(norm, rel=1e-4)
    with pytest.raises(ssmc.CompileError, match="invalid frozen pattern"):
        ssmc.compile(path, tmp_path / "bad.so", train=True, frozen=["[a"])
