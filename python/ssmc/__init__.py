"""SSMC from Python: compile ONNX models to model libraries, run them, and
generate with them.

>>> import ssmc
>>> model = ssmc.compile("model.onnx")              # or ssmc.load("model.so")
>>> model.signature()["inputs"][0]["name"]
'input_ids'
>>> logits = model.run({"input_ids": ids})["logits"]
>>> session = model.session(batch=1)
>>> tokens = session.generate(prompt, max_new_tokens=32,
...                           sampling=ssmc.Sampling(temperature=0.8, top_p=0.9))

Arrays go in as numpy arrays or anything with DLPack (torch, ...), read in
place when they are C-contiguous CPU arrays of the entry point's dtype (else
copied once); outputs come back as numpy arrays that own the runtime's
memory. Errors raise `ssmc.Error` (and its subclasses) with the runtime's or
the compiler's message.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _runtime

__all__ = ["Error", "InvalidArgumentError", "NotFoundError", "LoadError",
           "OutOfMemoryError", "DeviceError", "CompileError", "Model", "Session", "Sampling",
           "compile", "load", "Trainer", "cosine_schedule", "warmup_stable_decay_schedule",
           "save_safetensors", "load_safetensors"]


class Error(RuntimeError):
    """An error of the SSMC runtime or compiler; the message says what."""


class InvalidArgumentError(Error, ValueError):
    """A wrong dtype, rank or size, a missing input, a bad option."""


class NotFoundError(Error, LookupError):
    """No such entry point, input or file."""


class LoadError(Error):
    """Not a model library, or one of another ABI version."""


class OutOfMemoryError(Error, MemoryError):
    """The runtime could not allocate."""


class DeviceError(Error):
    """The model's device (CUDA) is missing, or it failed while running."""


class CompileError(Error):
    """The compiler failed; the message holds its diagnostics."""


_runtime.set_error_classes(InvalidArgumentError, NotFoundError, LoadError,
                           OutOfMemoryError, DeviceError)

_DTYPES = {"float32": np.float32, "float64": np.float64, "float16": np.float16,
           "int64": np.int64, "int32": np.int32, "int16": np.int16, "int8": np.int8,
           "uint8": np.uint8, "bool": np.bool_}


def _as_input(value: Any, dtype: Optional[str], what: str) -> Any:
    """`value` as an array the runtime can read: DLPack-capable C-contiguous
    CPU arrays of the right dtype pass through; anything else goes through
    numpy (one copy)."""
    want = _DTYPES.get(dtype) if dtype else None
    if isinstance(value, np.ndarray):
        if want is not None and value.dtype != want:
            if not np.can_cast(value.dtype, want, casting="same_kind"):
                raise InvalidArgumentError(
                    f"{what} must be {dtype}, got {value.dtype}")
            value = value.astype(want)
        return _contiguous(value)
    if hasattr(value, "__dlpack__"):
        return value
    return _contiguous(np.asarray(value, dtype=want))


def _contiguous(array: np.ndarray) -> np.ndarray:
    """C-contiguous, keeping 0-d arrays 0-d (np.ascontiguousarray makes them
    1-d)."""
    return array if array.flags.c_contiguous else array.copy(order="C")


class Model:
    """A model library (model.so) compiled by ssmc, loaded into this process.

    A model is immutable: `run` may be called from several threads at once.
    Output arrays and sessions keep the library loaded while they live."""

    def __init__(self, path: Union[str, os.PathLike], device: Optional[str] = None):
        self.path = Path(path)
        self._model = _runtime.Model(str(self.path), device or "")
        self._signatures: Dict[str, dict] = {}
        #: The compiler's notes when `ssmc.compile` built the library.
        self.compile_notes: List[str] = []

    def __repr__(self) -> str:
        return f"ssmc.Model({str(self.path)!r}, entry_points={self.entry_points})"

    @property
    def device(self) -> str:
        """The device the model runs on: "cpu", "cuda" or "vulkan"."""
        return self._model.device()

    @property
    def targets(self) -> List[str]:
        """The devices the library file holds builds for (several when it
        was compiled with target="a,b,..."); `load(path, device=...)` picks."""
        info = self.compile_info
        return list(info.get("targets", [info["target"]]))

    @property
    def entry_points(self) -> List[str]:
        """The entry point names: main, and prefill/decode when derived."""
        return self._model.entry_points()

    @property
    def compile_info(self) -> dict:
        """How the library was compiled (target, CPU, options, source)."""
        return json.loads(self._model.compile_info())

    @property
    def num_threads(self) -> int:
        """Threads of the library's parallel loops (shared by the models
        loaded from one file)."""
        return self._model.num_threads()

    @num_threads.setter
    def num_threads(self, n: int) -> None:
        self._model.set_num_threads(int(n))

    def signature(self, entry: Optional[str] = None) -> dict:
        """The JSON signature of `entry` (default: the first entry point):
        name, inputs and outputs with name, dtype and shape (an int, a
        symbolic size such as "seq", or None)."""
        entry = entry or self.entry_points[0]
        if entry not in self._signatures:
            self._signatures[entry] = json.loads(self._model.signature(entry))
        return self._signatures[entry]

    def run(self, inputs: Mapping[str, Any], entry: Optional[str] = None
            ) -> Dict[str, np.ndarray]:
        """Runs `entry` (default: the first entry point) on `inputs`, a dict
        from input name to array; returns a dict from output name to array.
        Missing or unknown inputs, wrong dtypes, ranks and sizes raise
        `InvalidArgumentError`."""
        sig = self.signature(entry)
        names = [i["name"] for i in sig["inputs"]]
        unknown = sorted(set(inputs) - set(names))
        if unknown:
            raise InvalidArgumentError(
                f"entry point '{sig['name']}' has no input {', '.join(map(repr, unknown))}"
                f" (inputs: {', '.join(names)})")
        missing = [n for n in names if n not in inputs]
        if missing:
            raise InvalidArgumentError(
                f"entry point '{sig['name']}': missing input {', '.join(map(repr, missing))}")
        arrays = [_as_input(inputs[i["name"]], i["dtype"], f"input '{i['name']}'")
                  for i in sig["inputs"]]
        outputs = self._model.run(sig["name"], arrays)
        return {o["name"]: a for o, a in zip(sig["outputs"], outputs)}

    def session(self, batch: int = 1) -> "Session":
        """A generation session for `batch` sequences (needs the prefill and
        decode entry points that ssmc derives)."""
        return Session(self, batch)

    def release_memory(self) -> None:
        """Returns the buffers the library keeps for reuse to the system."""
        self._model.release_memory()


@dataclass(frozen=True)
class Sampling:
    """How `Session.generate` picks tokens from the logits. temperature 0 is
    greedy (argmax); else softmax(logits / temperature), restricted to the
    top_k most likely tokens (0: all) and then to the smallest set whose
    probability reaches top_p (1.0: all)."""
    temperature: float = 0.0
    top_k: int = 0
    top_p: float = 1.0

    def __post_init__(self):
        if not self.temperature >= 0:
            raise InvalidArgumentError(f"temperature must be >= 0, got {self.temperature}")
        if self.top_k < 0:
            raise InvalidArgumentError(f"top_k must be >= 0, got {self.top_k}")
        if not 0 < self.top_p <= 1:
            raise InvalidArgumentError(f"top_p must be in (0, 1], got {self.top_p}")

    def pick(self, logits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The next token of every row of `logits` (batch, vocab)."""
        if self.temperature == 0:
            return logits.argmax(-1)
        z = logits.astype(np.float64) / self.temperature
        out = np.empty(z.shape[0], np.int64)
        for b, row in enumerate(z):
            order = np.argsort(-row, kind="stable")
            if self.top_k:
                order = order[:self.top_k]
            p = np.exp(row[order] - row[order[0]])
            p /= p.sum()
            if self.top_p < 1:
                keep = int(np.searchsorted(np.cumsum(p), self.top_p) + 1)
                order, p = order[:keep], p[:keep] / p[:keep].sum()
            out[b] = order[rng.choice(len(order), p=p)]
        return out


class Session:
    """The state of generation (position, KV caches, conv, SSM and Mamba-3
    states) for `batch` sequences, between prefill and decode calls. All
    sequences advance together; `reset(slot)` restarts one sequence in models
    without KV caches. Not thread-safe; sessions are independent."""

    def __init__(self, model: Model, batch: int = 1):
        self.model = model
        self.batch = int(batch)
        self._generator = _runtime.Generator(model._model, self.batch)

    def __repr__(self) -> str:
        return (f"ssmc.Session(batch={self.batch}, position={self.position}, "
                f"state_bytes={self.state_bytes})")

    def _tokens(self, tokens: Any) -> np.ndarray:
        t = np.asarray(tokens)
        if t.ndim == 1:
            t = t[None, :] if self.batch == 1 else t[:, None]
        if not np.issubdtype(t.dtype, np.integer):
            raise InvalidArgumentError(f"tokens must be integers, got {t.dtype}")
        return np.ascontiguousarray(t, dtype=np.int64)

    def prefill(self, tokens: Any) -> np.ndarray:
        """Feeds tokens (batch, n) (or (n,) for batch 1); returns the logits
        the prefill entry point returns: the last token's, (batch, 1, vocab),
        unless the model was compiled with prefill_logits="all"."""
        return self._generator.prefill(self._tokens(tokens))

    def decode(self, tokens: Any) -> np.ndarray:
        """Feeds one token per sequence, (batch, 1) or (batch,); returns its
        logits (batch, 1, vocab)."""
        return self._generator.decode(self._tokens(tokens))

    def reset(self, slot: Optional[int] = None) -> None:
        """Empties the state of every sequence, or of one slot."""
        self._generator.reset(-1 if slot is None else int(slot))

    @property
    def position(self) -> int:
        """Tokens each sequence holds."""
        return self._generator.position()

    @property
    def state_bytes(self) -> int:
        """Bytes the state holds (the KV caches grow with the position)."""
        return self._generator.state_bytes()

    def generate(self, prompt_tokens: Any, max_new_tokens: int,
                 sampling: Union[Sampling, Mapping[str, Any], None] = None,
                 seed: Optional[int] = None,
                 stop_token: Optional[int] = None) -> np.ndarray:
        """Prefills `prompt_tokens` (batch, n) and generates up to
        `max_new_tokens` tokens per sequence with `sampling` (default:
        greedy), continuing from the session's state. Returns the new tokens,
        (batch, max_new_tokens); with `stop_token`, generation ends early
        once every sequence has produced it (later tokens of a stopped
        sequence are `stop_token`)."""
        if max_new_tokens < 0:
            raise InvalidArgumentError(f"max_new_tokens must be >= 0, got {max_new_tokens}")
        if sampling is None:
            sampling = Sampling()
        elif isinstance(sampling, Mapping):
            sampling = Sampling(**sampling)
        rng = np.random.default_rng(seed)
        logits = self.prefill(prompt_tokens)
        out = np.empty((self.batch, max_new_tokens), np.int64)
        done = np.zeros(self.batch, bool)
        for i in range(max_new_tokens):
            nxt = sampling.pick(logits[:, -1], rng)
            if stop_token is not None:
                nxt = np.where(done, stop_token, nxt)
                done |= nxt == stop_token
            out[:, i] = nxt
            if stop_token is not None and done.all():
                return out[:, :i + 1]
            if i + 1 < max_new_tokens:
                logits = self.decode(nxt[:, None])
        return out


def load(path: Union[str, os.PathLike], device: Optional[str] = None) -> Model:
    """Loads a model library compiled by ssmc, for `device` ("cpu", "cuda" or
    "vulkan"; default: the target it was compiled for). A library compiled
    for several targets (`compile(..., target="cpu,vulkan")`, `ssmc
    --target=cpu,vulkan`) holds a build for each; `NotFoundError` when it has
    none for `device`."""
    return Model(path, device)


def _betas(betas) -> Tuple[float, float]:
    try:
        b1, b2 = betas
        return float(b1), float(b2)
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"adam_betas must be a pair of floats, got {betas!r}") from None


def compile(model: Union[str, os.PathLike, bytes], output: Union[str, os.PathLike, None] = None,
            target: str = "cpu", *, opt_level: int = 2, mixer_form: str = "chunked",
            chunk_size: int = 0, generation: str = "auto", prefill_logits: str = "last",
            constant_data_threshold: int = 64 * 1024, cuda_arch: str = "sm_80",
            cuda_format: str = "auto", cuda_toolkit: str = "",
            gradients: bool = False, train: bool = False,
            train_loss: str = "cross-entropy", temperature: float = 1.0,
            label_weight: float = 0.0, adam_betas: Tuple[float, float] = (0.9, 0.95),
            adam_eps: float = 1e-8, weight_decay: float = 0.1, max_grad_norm: float = 1.0,
            frozen: Sequence[str] = (), hidden_states: bool = False,
            spirv_val: str = "auto", fused_attention: bool = True,
            fused_ssd: bool = True, matmul_precision: str = "ieee") -> Model:
    """Compiles an ONNX model (a path, or the bytes of a model without
    external data) or an .mlir file to a model library, in process, and
    loads it. The library goes to `output` (default: a temporary file,
    deleted when this process exits). `target` is "cpu", "cuda", "vulkan",
    or several of them comma-separated ("cpu,vulkan": one library holding a
    build for each, loaded for the first; `load(output, device=...)` picks
    another). The keyword options are ssmc's:
    opt_level 0..3, mixer_form chunked|quadratic|recurrent, chunk_size
    (0: the cost model), generation auto|on|off, prefill_logits last|all,
    constant_data_threshold (bytes); for target "cuda", cuda_arch (sm_80,
    sm_90a, ...), cuda_format auto|ptx|fatbin and cuda_toolkit (a CUDA
    toolkit directory; default: found) and matmul_precision ieee|tf32x3|tf32
    (the fused attention and SSD kernels' matrix products in f32 on the
    SIMT units, on tensor cores with each f32 operand split into two TF32
    parts, or on tensor cores in TF32; the tensor-core kernels have not yet
    run on a GPU); for target "vulkan", spirv_val
    auto|on|off (validate the SPIR-V with spirv-val: when it is on PATH,
    always, never); for the GPU targets, fused_attention=False lowers
    softmax attention like the other mixers instead of as one fused kernel
    and fused_ssd=False the SSMs (Mamba-2 SSD, Discrete Mamba-2) instead of
    as fused kernels;
    gradients=True makes the
    parameters inputs of "main" and adds "main_grad" (see `ssmc --help`:
    the gradient of each float input for cotangents d_<output>); train=True
    adds "loss", "loss_grad" and "train_step" (see `Trainer`), with
    train_loss "cross-entropy", "distillation" (teacher_logits input,
    student temperature `temperature`, plus `label_weight` times the
    cross-entropy), "hidden-alignment" (MOHAWK stage 2:
    inputs hidden.0...) or "matrix-orientation" (stage 1: inputs hidden.l
    and mixing.l), train_step's AdamW `adam_betas`, `adam_eps` and
    `weight_decay` (decoupled, as torch.optim.AdamW), the global gradient
    norm it clips to `max_grad_norm` (0: no clipping), and `frozen` glob
    patterns of parameters train_step leaves unchanged (the compile info's
    "train" entry records them); hidden_states=True (a teacher) adds "hidden_states"
    and "mixing_matrices", the inputs of those two stages. Compiler
    errors raise `CompileError`
    with its diagnostics; notes (such as why prefill and decode were not
    derived) are kept in `model.compile_notes`."""
    from . import _compiler  # loads MLIR and LLVM: only when compiling

    tmp = None
    if isinstance(model, (bytes, bytearray, memoryview)):
        tmp = tempfile.TemporaryDirectory(prefix="ssmc-")
        source = Path(tmp.name) / "model.onnx"
        source.write_bytes(bytes(model))
    else:
        source = Path(model)
        if not source.exists():
            raise NotFoundError(f"no such model file: {source}")
    if output is None:
        out_dir = _temporary_dir()
        output = Path(tempfile.mkstemp(suffix=".so", dir=out_dir)[1])
    output = Path(output)
    try:
        ok, diagnostics = _compiler.compile(
            str(source), str(output), target, "so", "serialize", mixer_form, generation,
            prefill_logits, int(chunk_size), int(opt_level), int(constant_data_threshold),
            str(cuda_arch), str(cuda_format), str(cuda_toolkit), bool(gradients),
            bool(train), str(train_loss), float(temperature), float(label_weight),
            *_betas(adam_betas), float(adam_eps), float(weight_decay), float(max_grad_norm),
            [str(f) for f in frozen], bool(hidden_states), str(spirv_val),
            bool(fused_attention), bool(fused_ssd), str(matmul_precision))
    finally:
        if tmp is not None:
            tmp.cleanup()
    if not ok:
        raise CompileError(diagnostics.strip() or "ssmc failed")
    loaded = Model(output)
    loaded.compile_notes = [line for line in diagnostics.splitlines() if line.strip()]
    return loaded


_TEMP = None


def _temporary_dir() -> str:
    global _TEMP
    if _TEMP is None:
        _TEMP = tempfile.TemporaryDirectory(prefix="ssmc-models-")
    return _TEMP.name


from .training import (Trainer, cosine_schedule, load_safetensors,  # noqa: E402
                       save_safetensors, warmup_stable_decay_schedule)
