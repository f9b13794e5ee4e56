"""Mutated and truncated .mlir inputs never crash ssm-opt.

Seeds are the lit test inputs (split at `// -----`). Each mutant is parsed,
verified and, when valid, lowered by the reference pipeline; ssm-opt must
exit with 0, or with 1 and an error diagnostic, never by a signal.
"""
import os
import random
import re
import subprocess
from pathlib import Path

import pytest

from harness import ROOT, SSM_OPT

NUM_MUTANTS = int(os.environ.get("SSM_FUZZ_MUTANTS", 600))
SEED = int(os.environ.get("SSM_FUZZ_SEED", 20261124))


def seeds():
    """(valid, invalid) seed chunks; invalid ones expect a diagnostic."""
    valid, invalid = [], []
    for path in sorted((ROOT / "test").rglob("*.mlir")):
        for chunk in path.read_text().split("// -----"):
            body = "\n".join(l for l in chunk.splitlines()
                             if not l.lstrip().startswith("// RUN"))
            if "ssm." in body:
                (invalid if "expected-error" in chunk else valid).append(body)
    return valid, invalid


_INT = re.compile(r"(?<![\w.])\d+(?![\w.])")
_DIM = re.compile(r"(?<=[<x])(\d+|\?)(?=x)")
_REPL_INTS = ["0", "1", "2", "3", "7", "-1", "1000000", "?"]


def mutate(text, rnd):
    kind = rnd.randrange(7)
    if kind == 0:  # truncate
        return text[: rnd.randrange(len(text) + 1)]
    if kind == 1:  # delete a span
        a = rnd.randrange(len(text))
        return text[:a] + text[a + rnd.randrange(1, 40):]
    if kind == 2:  # change an integer literal (sizes, attributes)
        ms = list(_INT.finditer(text))
        if ms:
            m = rnd.choice(ms)
            return text[: m.start()] + rnd.choice(_REPL_INTS) + text[m.end():]
    if kind == 3:  # change a tensor dimension
        ms = list(_DIM.finditer(text))
        if ms:
            m = rnd.choice(ms)
            return text[: m.start()] + rnd.choice(["0", "1", "2", "5", "?"]) + text[m.end():]
    if kind == 4:  # drop a line
        lines = text.splitlines()
        if lines:
            del lines[rnd.randrange(len(lines))]
            return "\n".join(lines)
    if kind == 5:  # swap two operands' SSA names
        names = re.findall(r"%[\w]+", text)
        if len(names) >= 2:
            a, b = rnd.sample(names, 2)
            return text.replace(a, "%TMP__").replace(b, a).replace("%TMP__", b)
    # change an element type
    return re.sub(r"xf32>", rnd.choice(["xf16>", "xi32>", "xbf16>", "xf64>"]), text, count=1)


def run_opt(text, args):
    return subprocess.run([str(SSM_OPT), *args, "-"], input=text,
                          capture_output=True, text=True, timeout=120)


def test_seed_corpus_is_not_empty():
    valid, invalid = seeds()
    assert len(valid) >= 10 and len(invalid) >= 100


@pytest.mark.parametrize("chunk", range(6))
def test_mutants_never_crash(chunk):
    valid, invalid = seeds()
    rnd = random.Random(SEED + chunk)
    per_chunk = NUM_MUTANTS // 6
    crashes = []
    lowered = 0
    for i in range(per_chunk):
        # Mostly valid seeds, so that mutants reach the lowerings too.
        pool = invalid if rnd.random() < 0.25 else valid
        text = pool[rnd.randrange(len(pool))]
        for _ in range(rnd.randrange(1, 3)):
            text = mutate(text, rnd) or text
        form = rnd.choice(["quadratic", "recurrent"])
        r = run_opt(text, [f"--ssm-lower-to-llvm=mixer-form={form}"])
        lowered += r.returncode == 0
        if r.returncode not in (0, 1) or (r.returncode == 1 and "error" not in r.stderr):
            crashes.append((i, form, r.returncode, text, r.stderr[-2000:]))
    assert not crashes, "ssm-opt crashed on mutants:\n" + "\n\n".join(
        f"#{i} form={f} rc={rc}\n--- input ---\n{t}\n--- stderr ---\n{e}"
        for i, f, rc, t, e in crashes[:3])
    # The mutants must also reach the lowerings, not only the parser.
    assert lowered >= per_chunk // 10, f"only {lowered} of {per_chunk} mutants lowered"
