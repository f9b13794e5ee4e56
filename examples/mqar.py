"""Retrieval-aware distillation on multi-query associative recall (MQAR),
end to end with SSMC: train an attention teacher, find its retrieval heads,
distill it into (a) a pure state-space model and (b) a per-head hybrid that
keeps the top heads as attention, and compare retrieval accuracy.

    .venv/bin/python examples/mqar.py                 # the documented run
    .venv/bin/python examples/mqar.py --small         # the test suite's size

The task (Zoology, Arora et al. 2023): a sequence lists `pairs` key-value
pairs (k1 v1 k2 v2 ...), then asks for the keys again, each query key
followed by its value; only the positions of query keys are labelled, so
accuracy measures retrieval alone (ssmc.distill.mqar_batch).

Steps, each with SSMC's compiled train step (ssmc.Trainer) and the
workflow's tools (ssmc.distill; docs/Distillation.md):

1. The teacher: a small Llama (examples/zoo.py, `--heads` query heads per
   layer, 2 layers) trained on MQAR with cross-entropy on the query labels.
2. Head analysis: every head ablated on held-out MQAR batches
   (`ssmc.distill.analyze_heads`), ranked by the accuracy drop.
3. Conversion (`ssmc.distill.convert`): (a) every attention layer to
   Discrete Mamba-2 with MOHAWK's weight transfer; (b) the same, plus the
   top heads (at most 10% of all) kept as attention, merged per layer.
4. Distillation (`ssmc.distill.run`): stage 2 (hidden-state alignment) and
   stage 3 (knowledge distillation on MQAR sequences, every position) for
   both students, the same steps and learning rates.
5. Accuracy of the teacher, (a) and (b) on fresh MQAR batches.
"""
import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples"))
sys.path.insert(0, str(ROOT / "build" / "python"))

# The documented run and the test suite's small one.
FULL = dict(teacher_steps=1500, teacher_warmup=75, batch_size=32, lr=1e-2, pairs=8,
            vocab=64, heads=8,
            stage2_steps=300, stage3_steps=2000, distill_lr=3e-3, distill_batch=32,
            eval_batches=16)
SMALL = dict(teacher_steps=1000, teacher_warmup=100, batch_size=32, lr=1e-2, pairs=8,
             vocab=64, heads=8,
             stage2_steps=100, stage3_steps=600, distill_lr=3e-3, distill_batch=16,
             eval_batches=4)


def teacher_model(heads=8, seed=0, shift=True):
    """The zoo's tiny Llama (2 layers, d 64) with `heads` query heads and
    half as many kv heads; with `shift`, a token-shift convolution on the
    embeddings (x + CausalConv1d(x), depthwise, 2 taps, starting at zero),
    so that one attention head can match a query key with the position
    after that key in one step (without it, the two-layer induction circuit
    takes many thousands of steps to form)."""
    import zoo
    from onnx import helper, numpy_helper

    zoo.SIZES.setdefault(f"mqar{heads}", {**zoo.SIZES["tiny"], "heads": heads,
                                          "kv_heads": max(1, heads // 2)})
    model = zoo.build("llama", size=f"mqar{heads}", seed=seed)
    if not shift:
        return model
    g = model.graph
    emb = next(n for n in g.node if n.op_type == "Gather" and n.input[0] == "embed")
    x = emb.output[0]
    d = zoo.SIZES["tiny"]["d"]
    g.initializer.extend([
        numpy_helper.from_array(np.zeros((d, 2), np.float32), "shift.weight"),
        numpy_helper.from_array(np.zeros(d, np.float32), "shift.bias")])
    for n in g.node:
        for i, name in enumerate(n.input):
            if name == x:
                n.input[i] = "shifted"
    at = list(g.node).index(emb) + 1
    g.node.insert(at, helper.make_node("CausalConv1d", [x, "shift.weight", "shift.bias"],
                                       ["shift"], name="shift", domain=zoo.SSMC_DOMAIN, silu=0))
    g.node.insert(at + 1, helper.make_node("Add", [x, "shift"], ["shifted"], name="shifted"))
    if not any(o.domain == zoo.SSMC_DOMAIN for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid(zoo.SSMC_DOMAIN, 1))
    return model


def train_teacher(work, steps, *, lr=1e-2, warmup=0, batch_size=32, pairs=4, vocab=32,
                  heads=8, seed=0, log=print):
    """Trains the teacher on MQAR; returns the trained ONNX path."""
    import onnx
    import ssmc
    from ssmc import distill

    work.mkdir(parents=True, exist_ok=True)
    path = work / "teacher-init.onnx"
    onnx.save(teacher_model(heads, seed), str(path))
    model = ssmc.compile(path, work / "teacher-train.so", train=True, generation="off")
    trainer = ssmc.Trainer.from_onnx(
        model, path, lr=ssmc.cosine_schedule(lr, steps, warmup_steps=warmup))
    rng = np.random.default_rng(seed)
    t0 = time.monotonic()
    for step in range(1, steps + 1):
        ids, labels = distill.mqar_batch(rng, batch_size, pairs, pairs, vocab)
        m = trainer.step(ids, labels)
        if step % max(1, steps // 10) == 0 or step == steps:
            log(f"teacher step {step:5d}  loss {m['loss']:.4f}  "
                f"({time.monotonic() - t0:.0f} s)")
    trained = work / "teacher.onnx"
    trainer.export_onnx(path, trained)
    return trained


def evaluate(onnx_path, work, *, pairs, vocab, batches=8, batch_size=64, seed=12345):
    """Query accuracy on fresh MQAR batches (the same batches for every
    model with the same seed)."""
    import ssmc
    from ssmc import distill

    lib = ssmc.compile(onnx_path, work / (Path(onnx_path).stem + "-eval.so"),
                       generation="off")
    rng = np.random.default_rng(seed)
    data = [distill.mqar_batch(rng, batch_size, pairs, pairs, vocab) for _ in range(batches)]
    logits = np.concatenate([lib.run({"input_ids": i})["logits"] for i, _ in data])
    return distill.retrieval_scores(logits, np.concatenate([lab for _, lab in data]))[0]


def distill_student(work, name, teacher, tokens, *, keep_heads, seq_len, p, log=print):
    """Converts and distills one student (stages 2 and 3); returns its ONNX."""
    from ssmc import distill

    cfg = distill.Config(teacher=teacher, workdir=work / name, output=work / f"{name}.onnx",
                         tokens=tokens, seq_len=seq_len, batch_size=p["distill_batch"],
                         aligned=True, convert={"keep_heads": keep_heads},
                         log_every=50, checkpoint_every=500, progress=False)
    lr, warm = p["distill_lr"], 20
    cfg.stages[2] = distill.StageConfig(steps=p["stage2_steps"], lr=lr, warmup=warm)
    cfg.stages[3] = distill.StageConfig(steps=p["stage3_steps"], lr=lr, warmup=warm)
    distill.run(cfg, log=lambda m: log(f"[{name}] {m}"))
    return cfg.output


def reproduce(work, p, seed=0, log=print):
    """The whole experiment; returns the accuracies and the kept heads."""
    from ssmc import distill

    work = Path(work)
    teacher = train_teacher(work, p["teacher_steps"], lr=p["lr"], warmup=p["teacher_warmup"],
                            batch_size=p["batch_size"],
                            pairs=p["pairs"], vocab=p["vocab"], heads=p["heads"], seed=seed,
                            log=log)
    base, scores, sites = distill.analyze_heads(teacher, pairs=p["pairs"], queries=p["pairs"],
                                                probe_vocab=p["vocab"], batches=4,
                                                batch_size=64, seed=seed + 1,
                                                workdir=work)
    total = len(scores)
    keep = max(1, total // 10)
    log(distill.heads_report(base, scores, top=5))
    kept = distill.write_heads(work / "heads.json", base, scores, keep,
                               {"task": "mqar", "pairs": p["pairs"], "vocab": p["vocab"]})
    log(f"kept {keep} of {total} heads: {kept}")
    # Distillation data: MQAR sequences end to end (aligned windows).
    seq_len = 4 * p["pairs"]
    rng = np.random.default_rng(seed + 2)
    ids, _ = distill.mqar_batch(rng, 4096, p["pairs"], p["pairs"], p["vocab"])
    distill.write_tokens(work / "mqar.bin", ids)
    students = {}
    for name, heads in (("ssm", []), ("hybrid", kept)):
        students[name] = distill_student(work, name, teacher, work / "mqar.bin",
                                         keep_heads=heads, seq_len=seq_len, p=p, log=log)
    ev = dict(pairs=p["pairs"], vocab=p["vocab"], batches=p["eval_batches"], seed=seed + 3)
    acc = {"teacher": evaluate(teacher, work, **ev)}
    for name, path in students.items():
        acc[name] = evaluate(path, work, **ev)
    acc["kept_heads"] = [list(k) for k in kept]
    acc["total_heads"] = total
    return acc


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--small", action="store_true", help="the test suite's size")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", help="keep the models, logs and plots here")
    ap.add_argument("--teacher-steps", type=int)
    args = ap.parse_args()
    p = dict(SMALL if args.small else FULL)
    if args.teacher_steps:
        p["teacher_steps"] = args.teacher_steps
    with tempfile.TemporaryDirectory(prefix="mqar-") as tmp:
        work = Path(args.workdir or tmp)
        acc = reproduce(work, p, args.seed)
        t, a, b = acc["teacher"], acc["ssm"], acc["hybrid"]
        print(f"teacher accuracy                    {t:.3f}")
        print(f"(a) pure SSM student                {a:.3f}  ({a / t:.0%} of the teacher)")
        print(f"(b) per-head hybrid, {len(acc['kept_heads'])} of "
              f"{acc['total_heads']} heads  {b:.3f}  ({b / t:.0%} of the teacher)")
        (work / "accuracy.json").write_text(json.dumps(acc, indent=1))


if __name__ == "__main__":
    main()
