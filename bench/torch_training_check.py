"""SSMC's training graphs against PyTorch autograd, on real Hugging Face exports.

Two halves, because torch is on the GPU machine and MLIR is here:

  prepare (here, next to the build):
      .venv/bin/python bench/torch_training_check.py prepare [--steps 3]
    compiles each export of ../shared/fixtures/hf (llama_dynamo.onnx,
    mamba2_dynamo.onnx: tiny, randomly initialised LlamaForCausalLM and
    Mamba2ForCausalLM) with `ssmc --train` (CPU target), then, on fresh random
    token ids and next-token labels (a few set to -100), runs
      - loss_grad: the cross-entropy and its gradient with respect to every
        parameter (the float initializers of more than one element);
      - train_step, `--steps` times through ssmc.Trainer (AdamW, betas 0.9
        and 0.95, eps 1e-8, weight decay 0.1, clipping at global norm 1; a
        different learning rate each step): the loss and gradient norm of
        each step and the parameters after the last,
    and writes the inputs, parameters and results to
    bench/.work/carry/torch_training.npz; it also compiles each export with
    `ssmc --train --target=cuda --cuda-arch=sm_90a` into
    bench/.work/carry/<model>_cuda.so, with libssmrt.so beside (carry that
    folder).

  check (on the GPU machine, from the repository root):
      python3 bench/torch_training_check.py check
    rebuilds each model with transformers exactly as make_hf_fixtures.py
    does (same configs, torch.manual_seed(0), same order), maps every
    parameter and float buffer of the PyTorch module to the ONNX initializer
    it was exported as (equal, transposed, reshaped, or A = -exp(A_log)
    folded by the exporter), and evaluates the module with those tensors
    substituted (torch.func.functional_call) in float64 on the CPU (the
    modules cast their RMSNorm and rotary tables to float32 inside), the
    ONNX initializers being the leaves. Autograd gives the reference loss and
    gradients; torch.optim.AdamW with torch.nn.utils.clip_grad_norm_ the
    reference steps. Every element is compared:
      loss:        |ssmc - torch| / |torch|                  < 1e-5
      gradients:   max |ssmc - torch| / max |torch|, each     < 1e-3
      grad norms:  relative                                   < 1e-4
      parameters after the steps: ||ssmc - torch|| / ||torch - initial||
                                                              < 1e-3
    (ssmc computes in float32; the float32 error of torch itself against
    its float64 is printed beside). Where a GPU is, the CUDA builds run the
    same loss_grad (ssm_run) and the same steps (the C runtime's
    ssm_trainer, which keeps the parameters and moments in device memory;
    device buffers poisoned with NaN bytes, SSM_CUDA_POISON=1), checked
    against torch with the same tolerances, and a checkpoint saved after
    the steps and loaded into a fresh trainer gives back every tensor. A module tensor with no initializer, or
    an initializer no module tensor maps to, fails the check, except
    parameters of zeros that the exporter folded away (they stay zero in
    torch too).
    Writes torch_training.json to $OUT and prints one table.

Exit status 1 when any check fails.
"""
import argparse
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT.parent / "shared" / "fixtures" / "hf"
CARRY = ROOT / "bench" / ".work" / "carry"
DATA = CARRY / "torch_training.npz"
MODELS = ["llama", "mamba2"]  # the order make_hf_fixtures.py builds them in
VOCAB, BATCH, SEQ = 512, 2, 24
LRS = [1e-3, 2e-3, 5e-4, 1e-3, 3e-3]
BETAS, EPS, WEIGHT_DECAY, MAX_NORM = (0.9, 0.95), 1e-8, 0.1, 1.0
# Initializers the module computes under torch.no_grad: the rotary inverse
# frequencies (a buffer of LlamaRotaryEmbedding, whose forward is no_grad),
# which the dynamo export folded into this (1, 64 / 4, 1) initializer. They
# are frozen here (ssmc.compile(frozen=...)), as they are constant in torch;
# the check verifies that these are exactly the leaves torch does not
# differentiate.
FROZEN = {"llama": ["expand_2"], "mamba2": []}
TOL = {"loss": 1e-5, "grad": 1e-3, "grad_norm": 1e-4, "params": 1e-3}


def prepare(args):
    sys.path.insert(0, str(ROOT / "build" / "python"))
    import onnx
    import ssmc
    from onnx import numpy_helper

    work = ROOT / "bench" / ".work" / "torch_training"
    work.mkdir(parents=True, exist_ok=True)
    CARRY.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng()
    out = {"steps": np.array(args.steps), "lrs": np.array(LRS[:args.steps])}
    for name in MODELS:
        path = FIXTURES / f"{name}_dynamo.onnx"
        model = ssmc.compile(path, work / f"{name}.so", train=True, frozen=FROZEN[name])
        ids = rng.integers(0, VOCAB, (BATCH, SEQ))
        labels = np.concatenate([ids[:, 1:], np.full((BATCH, 1), -100)], axis=1)
        labels[rng.random(labels.shape) < 0.1] = -100
        inits = {i.name: numpy_helper.to_array(i)
                 for i in onnx.load(str(path)).graph.initializer}
        names = [i["name"] for i in model.signature("loss")["inputs"][2:]]
        params = {n: inits[n].astype(np.float32) for n in names}
        got = model.run({"input_ids": ids, "labels": labels, **params,
                         "d_loss": np.array(1.0, np.float32)}, entry="loss_grad")
        out[f"{name}/input_ids"] = ids
        out[f"{name}/labels"] = labels
        out[f"{name}/names"] = np.array(names)
        out[f"{name}/loss"] = got["loss"]
        for n in names:
            out[f"{name}/param/{n}"] = params[n]
            out[f"{name}/grad/{n}"] = got[f"d_{n}"]
        trainer = ssmc.Trainer(model, params, lr=lambda step: LRS[step - 1])
        losses, norms = [], []
        for _ in range(args.steps):
            m = trainer.step(ids, labels)
            losses.append(m["loss"])
            norms.append(m["grad_norm"])
        out[f"{name}/step_losses"] = np.array(losses)
        out[f"{name}/step_grad_norms"] = np.array(norms)
        for n in names:
            out[f"{name}/trained/{n}"] = trainer.parameters[n]
        ssmc.compile(path, CARRY / f"{name}_cuda.so", "cuda", train=True,
                     frozen=FROZEN[name], cuda_arch="sm_90a")
        print(f"{name}: {len(names)} parameters, loss {float(got['loss']):.6f}, "
              f"{args.steps} steps: losses {np.round(losses, 6).tolist()}")
    shutil.copy2(ROOT / "build" / "lib" / "libssmrt.so", CARRY / "libssmrt.so")
    np.savez_compressed(DATA, **out)
    print(f"wrote {DATA}")


class CudaRun:
    """A CUDA build of a model through the C runtime (ctypes): loss_grad,
    and train steps with ssm_trainer."""

    def __init__(self, so):
        import ctypes
        self.c = ctypes
        rt = ctypes.CDLL(str(CARRY / "libssmrt.so"))
        rt.ssm_last_error.restype = ctypes.c_char_p
        rt.ssm_model_signature.restype = ctypes.c_char_p
        rt.ssm_model_device.restype = ctypes.c_char_p
        rt.ssm_tensor_data.restype = ctypes.c_void_p
        rt.ssm_tensor_data.argtypes = [ctypes.c_void_p]
        rt.ssm_tensor_rank.restype = ctypes.c_int64
        rt.ssm_tensor_shape.restype = ctypes.POINTER(ctypes.c_int64)
        rt.ssm_tensor_num_elements.restype = ctypes.c_int64
        rt.ssm_tensor_is_device.argtypes = [ctypes.c_void_p]
        rt.ssm_trainer_parameter.restype = ctypes.c_void_p
        rt.ssm_trainer_steps.restype = ctypes.c_int64
        rt.ssm_trainer_step.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                                        ctypes.c_float, ctypes.c_void_p, ctypes.c_void_p]
        self.rt = rt
        self.model = ctypes.c_void_p()
        self.ok(rt.ssm_model_load(str(so).encode(), ctypes.byref(self.model)))
        assert rt.ssm_model_device(self.model) == b"cuda"

    def ok(self, status):
        if status != 0:
            raise RuntimeError(f"status {status}: {self.rt.ssm_last_error().decode()}")

    def wrap(self, a):
        dtype = {np.dtype(np.float32): 0, np.dtype(np.int64): 4}[a.dtype]
        t = self.c.c_void_p()
        shape = (self.c.c_int64 * a.ndim)(*a.shape)
        self.ok(self.rt.ssm_tensor_wrap(dtype, a.ndim, shape, self.c.c_void_p(a.ctypes.data),
                                        self.c.byref(t)))
        return t

    def array(self, t):
        """A host copy of tensor t (host or device) as float32."""
        host = self.c.c_void_p()
        self.ok(self.rt.ssm_tensor_to_host(self.c.c_void_p(t), self.c.byref(host)))
        rank = self.rt.ssm_tensor_rank(host)
        shape = tuple(self.rt.ssm_tensor_shape(host)[i] for i in range(rank))
        n = int(np.prod(shape))
        buf = (self.c.c_float * n).from_address(self.rt.ssm_tensor_data(host)) if n else []
        a = np.frombuffer(buf, dtype=np.float32, count=n).reshape(shape).copy()
        self.rt.ssm_tensor_release(host)
        return a

    def loss_grad(self, feed):
        sig = json.loads(self.rt.ssm_model_signature(self.model, b"loss_grad"))
        arrays = [np.array(feed[i["name"]], order="C") for i in sig["inputs"]]
        inputs = [self.wrap(a) for a in arrays]
        outs = (self.c.c_void_p * len(sig["outputs"]))()
        ins = (self.c.c_void_p * len(inputs))(*[t.value for t in inputs])
        self.ok(self.rt.ssm_run(self.model, b"loss_grad", ins, len(inputs), outs,
                                len(sig["outputs"])))
        result = {o["name"]: self.array(outs[k]) for k, o in enumerate(sig["outputs"])}
        for t in list(inputs) + [self.c.c_void_p(v) for v in outs]:
            self.rt.ssm_tensor_release(t)
        return result

    def train(self, params, names, batch, lrs, ckpt):
        """ssm_trainer: the steps, then a save/load round trip; returns the
        losses, grad norms, the parameters after the steps and whether the
        trainer kept them on the device."""
        c, rt = self.c, self.rt
        sig = json.loads(rt.ssm_model_signature(self.model, b"train_step"))
        order = [i["name"] for i in sig["inputs"] if i["name"] in params]
        held = [np.array(params[n], order="C") for n in order]
        wrapped = [self.wrap(a) for a in held]
        trainer = c.c_void_p()
        arr = (c.c_void_p * len(wrapped))(*[w.value for w in wrapped])
        self.ok(rt.ssm_trainer_create(self.model, arr, len(wrapped), c.byref(trainer)))
        arrays = [np.array(a, order="C") for a in batch]
        feed_t = [self.wrap(a) for a in arrays]
        feed = (c.c_void_p * len(feed_t))(*[t.value for t in feed_t])
        losses, norms = [], []
        for lr in lrs:
            loss, norm = c.c_float(), c.c_float()
            self.ok(rt.ssm_trainer_step(trainer, feed, len(feed_t), lr, c.byref(loss),
                                        c.byref(norm)))
            losses.append(loss.value)
            norms.append(norm.value)
        on_device = all(rt.ssm_tensor_is_device(rt.ssm_trainer_parameter(trainer, i))
                        for i in range(len(order)))
        trained = {n: self.array(rt.ssm_trainer_parameter(trainer, i))
                   for i, n in enumerate(order)}
        self.ok(rt.ssm_trainer_save(trainer, str(ckpt).encode()))
        fresh = c.c_void_p()
        self.ok(rt.ssm_trainer_create(self.model, arr, len(wrapped), c.byref(fresh)))
        self.ok(rt.ssm_trainer_load(fresh, str(ckpt).encode()))
        round_trip = rt.ssm_trainer_steps(fresh) == len(lrs) and all(
            np.array_equal(self.array(rt.ssm_trainer_parameter(fresh, i)), trained[n])
            for i, n in enumerate(order))
        for t in wrapped + feed_t:
            rt.ssm_tensor_release(t)
        rt.ssm_trainer_release(trainer)
        rt.ssm_trainer_release(fresh)
        return losses, norms, trained, on_device, round_trip


def hf_models():
    """The modules of make_hf_fixtures.py, with its seed and order."""
    import torch
    import transformers as T

    common = dict(vocab_size=VOCAB, tie_word_embeddings=False)
    configs = {
        "llama": (T.LlamaForCausalLM, T.LlamaConfig(
            hidden_size=128, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, intermediate_size=256,
            max_position_embeddings=256, **common)),
        "mamba2": (T.Mamba2ForCausalLM, T.Mamba2Config(
            hidden_size=128, num_hidden_layers=2, num_heads=4, head_dim=64,
            state_size=16, n_groups=1, expand=2, conv_kernel=4, chunk_size=16,
            **common)),
    }
    torch.manual_seed(0)
    torch.randint(0, VOCAB, (BATCH, SEQ))  # the fixtures' input ids
    models = {}
    for name in MODELS:
        cls, cfg = configs[name]
        models[name] = cls(cfg).eval()
    return models


def match(tensors, params):
    """For each float tensor of the module, the initializer it was exported
    as and how to rebuild it from that initializer."""
    import torch

    found, used = {}, set()
    for tname, t in tensors.items():
        w = t.detach().cpu().double().numpy()
        hit = None
        for pname, p in params.items():
            p = p.astype(np.float64)
            if p.shape == w.shape and np.array_equal(p, w):
                hit = (pname, "equal")
            elif p.ndim == 2 and p.T.shape == w.shape and np.array_equal(p.T, w):
                hit = (pname, "transposed")
            elif p.size == w.size and p.shape != w.shape and np.array_equal(p.reshape(w.shape), w):
                hit = (pname, "reshaped")
            elif (p.shape == w.shape and tname.endswith("A_log")
                  and np.allclose(p, -np.exp(w), rtol=1e-6, atol=0)):
                hit = (pname, "A = -exp(A_log)")
            if hit:
                break
        if hit:
            found[tname] = hit
            used.add(hit[0])
    return found, used


def rebuild(how, leaf, shape):
    import torch
    if how == "equal":
        return leaf
    if how == "transposed":
        return leaf.t()
    if how == "reshaped":
        return leaf.reshape(shape)
    return torch.log(-leaf)  # A_log from A = -exp(A_log)


def reference(module, found, shapes, leaves, ids, labels):
    import torch
    import torch.nn.functional as F
    subs = {t: rebuild(how, leaves[p], shapes[t]) for t, (p, how) in found.items()}
    logits = torch.func.functional_call(module, subs, (ids,), {"use_cache": False}).logits
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1),
                           ignore_index=-100)


def check(args):
    import torch

    torch.set_num_threads(min(16, os.cpu_count() or 1))
    data = dict(np.load(DATA))
    steps = int(data["steps"])
    lrs = [float(x) for x in data["lrs"]]
    models = hf_models()
    report, ok = {}, True
    rows = []
    for name in MODELS:
        module = models[name]
        names = [str(n) for n in data[f"{name}/names"]]
        params = {n: data[f"{name}/param/{n}"] for n in names}
        tensors = dict(module.named_parameters())
        tensors.update({k: v for k, v in module.named_buffers() if v.is_floating_point()})
        found, used = match(tensors, params)
        missing = sorted(set(dict(module.named_parameters())) - set(found))
        # Parameters of zeros (Mamba2's conv1d bias) that the exporter's
        # constant folding removed (x + 0): the export has no such
        # parameter, so torch keeps them at zero too.
        zeros = [t for t in missing if not tensors[t].detach().any()]
        missing = [t for t in missing if t not in zeros]
        unused = sorted(set(names) - used)
        entry = {"mapping": {t: list(v) for t, v in found.items()},
                 "zero_parameters_folded_by_the_exporter": zeros,
                 "module_tensors_without_initializer": missing,
                 "initializers_without_module_tensor": unused}
        if missing or unused:
            ok = False
            entry["error"] = "the module and the export do not correspond"
            report[name] = entry
            print(f"{name}: FAILED to map: module tensors {missing}, initializers {unused}")
            continue
        shapes = {t: tuple(v.shape) for t, v in tensors.items()}
        ids = torch.tensor(data[f"{name}/input_ids"])
        labels = torch.tensor(data[f"{name}/labels"])

        def grads(dtype):
            m = module.to(dtype)
            leaves = {n: torch.tensor(params[n], dtype=dtype, requires_grad=True) for n in names}
            loss = reference(m, found, shapes, leaves, ids, labels)
            loss.backward()
            return loss.item(), {n: leaves[n].grad.double().numpy() for n in names
                                 if leaves[n].grad is not None}

        loss64, g64 = grads(torch.float64)
        loss32, g32 = grads(torch.float32)
        constant = sorted(set(names) - set(g64))
        entry["constant_in_torch"] = constant
        if constant != sorted(FROZEN[name]):
            ok = False
            entry["error"] = (f"torch holds {constant} constant, the compiled step "
                              f"freezes {FROZEN[name]}")
            report[name] = entry
            print(f"{name}: FAILED: {entry['error']}")
            continue
        trained = [n for n in names if n in g64]
        grad_err32 = {n: float(np.abs(g32[n] - g64[n]).max()
                               / max(np.abs(g64[n]).max(), 1e-30)) for n in trained}

        # AdamW steps in float64 from the same initial parameters.
        m = module.to(torch.float64)
        leaves = {n: torch.tensor(params[n], dtype=torch.float64, requires_grad=n in trained)
                  for n in names}
        opt = torch.optim.AdamW([leaves[n] for n in trained], lr=lrs[0], betas=BETAS, eps=EPS,
                                weight_decay=WEIGHT_DECAY)
        step_losses, step_norms = [], []
        for s in range(steps):
            for group in opt.param_groups:
                group["lr"] = lrs[s]
            opt.zero_grad()
            loss = reference(m, found, shapes, leaves, ids, labels)
            loss.backward()
            norm = torch.nn.utils.clip_grad_norm_([leaves[n] for n in trained], MAX_NORM)
            opt.step()
            step_losses.append(loss.item())
            step_norms.append(float(norm))
        after = {n: leaves[n].detach().numpy() for n in names}

        def compare(ours):
            """ours: loss, grads, step_losses, step_norms, trained (the
            parameters after the steps), against torch."""
            loss_err = abs(ours["loss"] - loss64) / abs(loss64)
            grad_err = {}
            for n in trained:
                scale = max(np.abs(g64[n]).max(), 1e-30)
                grad_err[n] = float(np.abs(ours["grads"][n] - g64[n]).max() / scale)
            step_loss_err = float(np.max(np.abs(np.array(ours["step_losses"]) - step_losses)
                                         / np.abs(step_losses)))
            norm_err = float(np.max(np.abs(np.array(ours["step_norms"]) - step_norms)
                                    / np.abs(step_norms)))
            diff = moved = 0.0
            for n in names:
                diff += float(((ours["trained"][n] - after[n]) ** 2).sum())
                moved += float(((after[n] - params[n]) ** 2).sum())
            param_err = (diff / moved) ** 0.5
            worst = max(grad_err, key=grad_err.get)
            checks = {"loss": loss_err <= TOL["loss"] and step_loss_err <= TOL["loss"],
                      "grad": grad_err[worst] <= TOL["grad"],
                      "grad_norm": norm_err <= TOL["grad_norm"],
                      "params": param_err <= TOL["params"]}
            detail = {
                "loss": {"ssmc": ours["loss"], "torch_f64": loss64, "torch_f32": loss32,
                         "rel_err": loss_err},
                "grad_rel_err": grad_err,
                "steps": {"lrs": lrs[:steps], "ssmc_losses": list(ours["step_losses"]),
                          "torch_losses": step_losses,
                          "ssmc_grad_norms": list(ours["step_norms"]),
                          "torch_grad_norms": step_norms, "loss_rel_err": step_loss_err,
                          "grad_norm_rel_err": norm_err, "param_rel_err": param_err},
                "passed": checks}
            row = (len(trained), loss_err, grad_err[worst], worst, max(grad_err32.values()),
                   norm_err, param_err, all(checks.values()))
            return detail, row

        cpu = {"loss": float(data[f"{name}/loss"]),
               "grads": {n: data[f"{name}/grad/{n}"] for n in trained},
               "step_losses": data[f"{name}/step_losses"],
               "step_norms": data[f"{name}/step_grad_norms"],
               "trained": {n: data[f"{name}/trained/{n}"] for n in names}}
        detail, row = compare(cpu)
        entry.update(detail)
        entry["torch_f32_grad_rel_err"] = grad_err32
        ok &= row[-1]
        rows.append((name, "cpu") + row)

        so = CARRY / f"{name}_cuda.so"
        if args.cuda and so.exists():
            os.environ["SSM_CUDA_POISON"] = "1"
            run = CudaRun(so)
            got = run.loss_grad({"input_ids": data[f"{name}/input_ids"],
                                 "labels": data[f"{name}/labels"], **params,
                                 "d_loss": np.array(1.0, np.float32)})
            losses, norms, after_steps, on_device, round_trip = run.train(
                params, names, [data[f"{name}/input_ids"], data[f"{name}/labels"]],
                lrs[:steps], Path(os.environ.get("OUT", ".")) / f"{name}_cuda.safetensors")
            cuda = {"loss": float(got["loss"]), "grads": {n: got[f"d_{n}"] for n in trained},
                    "step_losses": losses, "step_norms": norms, "trained": after_steps}
            detail, row = compare(cuda)
            detail["passed"]["state_on_device"] = bool(on_device)
            detail["passed"]["checkpoint_round_trip"] = bool(round_trip)
            row = row[:-1] + (row[-1] and on_device and round_trip,)
            entry["cuda"] = detail
            ok &= row[-1]
            rows.append((name, "cuda") + row)
        elif args.cuda:
            ok = False
            entry["cuda"] = {"error": f"{so} is missing: run prepare"}
            print(f"{name}: FAILED: {so} is missing")
        report[name] = entry

    print(f"\n{'model':8} {'target':6} {'params':>6} {'loss err':>9} {'grad err':>9} "
          f"{'(worst)':24} {'torch f32':>9} {'norm err':>9} {'steps err':>9}  ok")
    for r in rows:
        print(f"{r[0]:8} {r[1]:6} {r[2]:6d} {r[3]:9.2e} {r[4]:9.2e} {r[5][:24]:24} "
              f"{r[6]:9.2e} {r[7]:9.2e} {r[8]:9.2e}  {'yes' if r[9] else 'NO'}")
    out = Path(os.environ.get("OUT", "."))
    out.mkdir(parents=True, exist_ok=True)
    (out / "torch_training.json").write_text(json.dumps(report, indent=1))
    print("PASSED" if ok else "FAILED")
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--steps", type=int, default=3, choices=range(1, len(LRS) + 1))
    c = sub.add_parser("check")
    c.add_argument("--no-cuda", dest="cuda", action="store_false",
                   help="check the CPU results only (no GPU)")
    args = ap.parse_args()
    if args.cmd == "prepare":
        prepare(args)
        return 0
    return check(args)


if __name__ == "__main__":
    sys.exit(main())
