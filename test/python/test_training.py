"""Compiled training (ssmc --train): the cross-entropy loss against NumPy, one
AdamW step against a float64 NumPy AdamW fed with the library's own
gradients, the loss of a tiny model falling on a fixed batch, checkpoints
(a save/load round trip reproduces the next step exactly), ONNX export
(onnxruntime on the trained file equals the library), schedules, errors."""
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


def check_adamw_step(model, path, rng, b1=0.9, b2=0.95, eps=1e-8, wd=0.1, clip=1.0):
    """Two steps of `model`'s train_step; the second against a float64
    NumPy AdamW with these hyperparameters fed the library's gradients."""
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
    scale = min(1.0, clip / (norm + 1e-6)) if clip > 0 else 1.0
    lr, t = 2e-3, 2
    metrics = trainer.step(ids, labels)
    assert metrics["grad_norm"] == pytest.approx(norm, rel=2e-6)
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
    return scale


def test_one_step_equals_numpy_adamw(llama, rng):
    path, model = llama
    check_adamw_step(model, path, rng)
    info = model.compile_info["train"]
    assert info == {"loss": "cross-entropy", "frozen": [], "adam_beta1": 0.9,
                    "adam_beta2": 0.95, "adam_eps": 1e-8, "weight_decay": 0.1,
                    "max_grad_norm": 1.0}


@pytest.mark.parametrize("clip", [0.05, 0.0])
def test_optimizer_options(tmp_path, rng, clip):
    """ssmc.compile's AdamW options and clipping norm, compiled into
    train_step: the step equals NumPy's AdamW with the same values (0.05
    clips these gradients; 0 turns clipping off)."""
    path = tmp_path / "llama.onnx"
    onnx.save(zoo.build("llama", seed=4), str(path))
    opts = dict(adam_betas=(0.8, 0.99), adam_eps=1e-4, weight_decay=0.3, max_grad_norm=clip)
    model = ssmc.compile(path, tmp_path / "o.so", train=True, **opts)
    scale = check_adamw_step(model, path, rng, b1=0.8, b2=0.99, eps=1e-4, wd=0.3, clip=clip)
    assert (scale < 1) == (clip > 0)
    info = model.compile_info["train"]
    assert (info["adam_beta1"], info["adam_beta2"], info["adam_eps"], info["weight_decay"],
            info["max_grad_norm"]) == (0.8, 0.99, 1e-4, 0.3, clip)


@pytest.mark.parametrize("opts,message", [
    (dict(adam_betas=(1.0, 0.9)), "--adam-beta1 must be in \\[0, 1\\) in float32, got 1"),
    (dict(adam_betas=(0.99999999, 0.9)), "--adam-beta1 must be in \\[0, 1\\) in float32"),
    (dict(adam_betas=(0.9, float("nan"))), "--adam-beta2 must be in \\[0, 1\\) in float32, got nan"),
    (dict(adam_eps=0.0), "--adam-eps must be positive and finite"),
    (dict(adam_eps=1e-50), "--adam-eps must be positive and finite in float32, got 1e-50"),
    (dict(weight_decay=-0.1), "--weight-decay must be >= 0 and finite"),
    (dict(max_grad_norm=float("inf")), "--max-grad-norm must be >= 0 and finite"),
    (dict(label_weight=0.5), "--label-weight weighs the cross-entropy added to "
                             "--train-loss=distillation; the loss is cross-entropy"),
    (dict(temperature=2.0), "--temperature is the student's temperature"),
    (dict(train=False, weight_decay=0.0), "--weight-decay is an option of --train"),
    (dict(train=False, frozen=["embed"]), "--frozen is an option of --train"),
    (dict(train=False, train_loss="distillation"), "--train-loss is an option of --train"),
])
def test_optimizer_option_errors(tmp_path, opts, message):
    path = tmp_path / "llama.onnx"
    onnx.save(zoo.build("llama", seed=3), str(path))
    opts = {"train": True, **opts}
    with pytest.raises(ssmc.CompileError, match=message):
        ssmc.compile(path, tmp_path / "bad.so", **opts)
    with pytest.raises(ssmc.InvalidArgumentError, match="adam_betas must be a pair"):
        ssmc.compile(path, tmp_path / "bad.so", train=True, adam_betas=0.9)


def test_optimizer_options_command_line(tmp_path):
    """ssmc's --adam-beta1/--adam-beta2/--adam-eps/--weight-decay/
    --max-grad-norm/--label-weight: recorded in the compile info that
    ssm-run --info prints; out of range or without --train, an error."""
    path = tmp_path / "llama.onnx"
    onnx.save(zoo.build("llama", seed=3), str(path))
    ssmc_bin = str(BUILD / "bin" / "ssmc")
    r = subprocess.run([ssmc_bin, str(path), "--train", "--train-loss=distillation",
                        "--temperature=2", "--label-weight=0.25", "--adam-beta1=0.5",
                        "--adam-beta2=0.75", "--adam-eps=1e-6", "--weight-decay=0",
                        "--max-grad-norm=0", "--frozen=embed,c_*", "-o", str(tmp_path / "t.so")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([str(BUILD / "bin" / "ssm-run"), str(tmp_path / "t.so"), "--info"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    line = next(x for x in r.stdout.splitlines() if x.startswith("compile info: "))
    info = json.loads(line[len("compile info: "):])
    assert info["train"] == {"loss": "distillation", "frozen": ["embed", "c_*"],
                             "adam_beta1": 0.5, "adam_beta2": 0.75, "adam_eps": 1e-6,
                             "weight_decay": 0.0, "max_grad_norm": 0.0,
                             "temperature": 2.0, "label_weight": 0.25}
    for flags, message in [(["--weight-decay=0.2"], "--weight-decay is an option of --train"),
                           (["--train", "--adam-beta2=1.5"], "--adam-beta2 must be in [0, 1)"),
                           (["--train", "--max-grad-norm=-1"],
                            "--max-grad-norm must be >= 0 and finite in float32 (0: no "
                            "clipping)"),
                           (["--weight-decay=0.1"], "--weight-decay is an option of --train"),
                           (["--train", "--temperature=1"],
                            "--temperature is an option of --train-loss=distillation")]:
        r = subprocess.run([ssmc_bin, str(path), *flags, "-o", str(tmp_path / "x.so")],
                           capture_output=True, text=True)
        assert r.returncode == 1, (flags, r.stderr)
        assert message in r.stderr, (flags, r.stderr)


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
    # The norm covers the trained parameters only; summed in float64 (a
    # float32 running sum drops the small squares: 1e-4 off and worse).
    grads = model.run({"input_ids": ids, "labels": labels, **before,
                       "d_loss": np.array(1.0, np.float32)}, entry="loss_grad")
    norm = np.sqrt(sum((grads[f"d_{k}"].astype(np.float64) ** 2).sum()
                       for k in before if k not in frozen))
    assert metrics["grad_norm"] == pytest.approx(norm, rel=2e-6)
    with pytest.raises(ssmc.CompileError, match="invalid frozen pattern"):
        ssmc.compile(path, tmp_path / "bad.so", train=True, frozen=["[a"])


def _runtime():
    """The C runtime through ctypes (ssm_trainer_* and what they need)."""
    import ctypes
    rt = ctypes.CDLL(str(BUILD / "lib" / "libssmrt.so"))
    rt.ssm_last_error.restype = ctypes.c_char_p
    rt.ssm_tensor_data.restype = ctypes.c_void_p
    rt.ssm_tensor_data.argtypes = [ctypes.c_void_p]
    rt.ssm_tensor_shape.restype = ctypes.POINTER(ctypes.c_int64)
    rt.ssm_tensor_num_elements.restype = ctypes.c_int64
    rt.ssm_trainer_parameter.restype = ctypes.c_void_p
    rt.ssm_trainer_parameter_name.restype = ctypes.c_char_p
    rt.ssm_trainer_batch_input_name.restype = ctypes.c_char_p
    rt.ssm_trainer_num_parameters.restype = ctypes.c_int64
    rt.ssm_trainer_num_batch_inputs.restype = ctypes.c_int64
    rt.ssm_trainer_steps.restype = ctypes.c_int64
    rt.ssm_trainer_step.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                                    ctypes.c_float, ctypes.c_void_p, ctypes.c_void_p]
    return rt


def _wrap(rt, a):
    import ctypes
    dtype = {np.dtype(np.float32): 0, np.dtype(np.int64): 4}[a.dtype]
    t = ctypes.c_void_p()
    shape = (ctypes.c_int64 * a.ndim)(*a.shape)
    assert rt.ssm_tensor_wrap(dtype, a.ndim, shape, ctypes.c_void_p(a.ctypes.data),
                              ctypes.byref(t)) == 0
    return t


def _array(rt, t, shape):
    import ctypes
    n = int(np.prod(shape))
    buf = (ctypes.c_float * n).from_address(rt.ssm_tensor_data(t))
    return np.frombuffer(buf, dtype=np.float32, count=n).reshape(shape).copy()


def test_c_runtime_trainer(llama, rng, tmp_path):
    """ssm_trainer (the C runtime holds the parameters, moments and step
    count): the same steps as ssmc.Trainer, checkpoints each can read from
    the other, and clear errors."""
    import ctypes
    path, model = llama
    rt = _runtime()
    m = ctypes.c_void_p()
    assert rt.ssm_model_load(str(model.path).encode(), ctypes.byref(m)) == 0
    inits = initializers(path)
    names = [i["name"] for i in model.signature("loss")["inputs"][2:]]
    params = [np.array(inits[n], dtype=np.float32) for n in names]  # copies
    wrapped = [_wrap(rt, p) for p in params]
    trainer = ctypes.c_void_p()
    arr = (ctypes.c_void_p * len(params))(*[w.value for w in wrapped])
    assert rt.ssm_trainer_create(m, arr, len(params), ctypes.byref(trainer)) == 0, \
        rt.ssm_last_error()
    assert rt.ssm_trainer_num_parameters(trainer) == len(names)
    assert [rt.ssm_trainer_parameter_name(trainer, i).decode()
            for i in range(len(names))] == names
    assert rt.ssm_trainer_num_batch_inputs(trainer) == 2
    assert rt.ssm_trainer_batch_input_name(trainer, 1) == b"labels"
    params[0][:] = 0  # copied at creation: the caller's arrays are free again

    ids, labels = batch(rng)
    ids_t, labels_t = _wrap(rt, ids), _wrap(rt, labels)
    feed = (ctypes.c_void_p * 2)(ids_t.value, labels_t.value)
    lrs = [1e-3, 3e-3, 2e-3, 1e-3]
    py = ssmc.Trainer(model, inits, lr=lambda step: lrs[step - 1])
    for lr in lrs[:3]:
        loss, norm = ctypes.c_float(), ctypes.c_float()
        assert rt.ssm_trainer_step(trainer, feed, 2, lr, ctypes.byref(loss),
                                   ctypes.byref(norm)) == 0, rt.ssm_last_error()
        want = py.step(ids, labels)
        np.testing.assert_allclose(loss.value, want["loss"], rtol=1e-6)
        np.testing.assert_allclose(norm.value, want["grad_norm"], rtol=1e-6)
    assert rt.ssm_trainer_steps(trainer) == 3
    for i, n in enumerate(names):
        got = _array(rt, rt.ssm_trainer_parameter(trainer, i), py.parameters[n].shape)
        np.testing.assert_allclose(got, py.parameters[n], rtol=1e-6, atol=1e-7)

    # Checkpoints: C to Python and Python to C.
    c_ckpt, py_ckpt = tmp_path / "c.safetensors", tmp_path / "py.safetensors"
    assert rt.ssm_trainer_save(trainer, str(c_ckpt).encode()) == 0
    other = ssmc.Trainer(model, inits)
    other.load(c_ckpt)
    assert other.steps == 3
    for n in names:
        np.testing.assert_allclose(other.parameters[n], py.parameters[n], rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(other.adam_v[n], py.adam_v[n], rtol=1e-6, atol=1e-12)
    py.step(ids, labels)
    py.save(py_ckpt)
    assert rt.ssm_trainer_load(trainer, str(py_ckpt).encode()) == 0, rt.ssm_last_error()
    assert rt.ssm_trainer_steps(trainer) == 4
    got = _array(rt, rt.ssm_trainer_parameter(trainer, 0), py.parameters[names[0]].shape)
    np.testing.assert_array_equal(got, py.parameters[names[0]])

    # Errors: each a status and a message; the trainer is unchanged.
    assert rt.ssm_trainer_step(trainer, feed, 1, 1e-3, None, None) == 1
    assert b"takes 2 batch inputs (input_ids, labels), got 1" in rt.ssm_last_error()
    assert rt.ssm_trainer_load(trainer, str(tmp_path / "none").encode()) == 2
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{}      ")  # 16 bytes promised
    assert rt.ssm_trainer_load(trainer, str(bad).encode()) == 1
    assert b"is not a trainer checkpoint: header size 16" in rt.ssm_last_error()
    bad.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    assert rt.ssm_trainer_load(trainer, str(bad).encode()) == 1
    assert b"no tensor 'embed'" in rt.ssm_last_error()
    assert rt.ssm_trainer_steps(trainer) == 4
    wrong = ctypes.c_void_p()
    assert rt.ssm_trainer_create(m, arr, 1, ctypes.byref(wrong)) == 1
    assert f"trains {len(names)} parameters, got 1".encode() in rt.ssm_last_error()
    swapped = (ctypes.c_void_p * len(params))(*[w.value for w in wrapped])
    swapped[0], swapped[1] = swapped[1], swapped[0]
    assert rt.ssm_trainer_create(m, swapped, len(params), ctypes.byref(wrong)) == 1
    assert f"parameter '{names[0]}' must be float32 of shape".encode() in rt.ssm_last_error()
    rt.ssm_trainer_release(trainer)
    for w in wrapped + [ids_t, labels_t]:
        rt.ssm_tensor_release(w)
    rt.ssm_model_release(m)
