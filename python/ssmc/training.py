"""Training with a model compiled by `ssmc --train` (`ssmc.compile(...,
train=True)`): the parameters and the AdamW state live here, in numpy arrays,
between calls of the library's `train_step`; learning-rate schedules;
checkpoints as safetensors; the trained parameters written back into the
ONNX model."""
from __future__ import annotations

import json
import math
import os
import struct
from typing import Callable, Dict, Mapping, Optional, Union

import numpy as np

__all__ = ["Trainer", "cosine_schedule", "warmup_stable_decay_schedule",
           "save_safetensors", "load_safetensors"]

Schedule = Callable[[int], float]


def cosine_schedule(peak: float, total_steps: int, warmup_steps: int = 0,
                    final: float = 0.0) -> Schedule:
    """Linear warmup to `peak` over `warmup_steps`, then a cosine decay to
    `final` at `total_steps` (steps count from 1)."""
    def lr(step: int) -> float:
        if warmup_steps and step <= warmup_steps:
            return peak * step / warmup_steps
        t = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
        return final + 0.5 * (peak - final) * (1 + math.cos(math.pi * t))
    return lr


def warmup_stable_decay_schedule(peak: float, total_steps: int,
                                 warmup_steps: int = 0,
                                 decay_steps: int = 0,
                                 final: float = 0.0) -> Schedule:
    """Warmup-stable-decay: linear warmup to `peak`, constant, then a linear
    decay to `final` over the last `decay_steps` steps."""
    def lr(step: int) -> float:
        if warmup_steps and step <= warmup_steps:
            return peak * step / warmup_steps
        start = total_steps - decay_steps
        if decay_steps and step > start:
            t = min(1.0, (step - start) / decay_steps)
            return peak + (final - peak) * t
        return peak
    return lr


_ST_DTYPES = {np.dtype(np.float32): "F32", np.dtype(np.float64): "F64",
              np.dtype(np.float16): "F16", np.dtype(np.int64): "I64",
              np.dtype(np.int32): "I32"}
_NP_DTYPES = {v: k for k, v in _ST_DTYPES.items()}


def save_safetensors(path: Union[str, os.PathLike], tensors: Mapping[str, np.ndarray],
                     metadata: Optional[Mapping[str, str]] = None) -> None:
    """Writes `tensors` in the safetensors format (an 8-byte little-endian
    header size, a JSON header of dtype/shape/data_offsets per tensor, the
    raw little-endian data)."""
    header: Dict[str, object] = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    offset = 0
    arrays = []
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        if a.dtype not in _ST_DTYPES:
            raise ValueError(f"{name}: dtype {a.dtype} has no safetensors name here")
        header[name] = {"dtype": _ST_DTYPES[a.dtype], "shape": list(a.shape),
                        "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
        arrays.append(a)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    tmp = f"{os.fspath(path)}.tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for a in arrays:
            f.write(a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes())
    os.replace(tmp, path)


def load_safetensors(path: Union[str, os.PathLike]):
    """Reads a safetensors file: (tensors, metadata)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: not a safetensors file (too short)")
    (size,) = struct.unpack("<Q", data[:8])
    if 8 + size > len(data):
        raise ValueError(f"{path}: not a safetensors file (header size {size})")
    header = json.loads(data[8:8 + size])
    metadata = header.pop("__metadata__", {})
    body = memoryview(data)[8 + size:]
    tensors = {}
    for name, info in header.items():
        dtype = _NP_DTYPES.get(info["dtype"])
        if dtype is None:
            raise ValueError(f"{path}: {name} has unsupported dtype {info['dtype']}")
        begin, end = info["data_offsets"]
        a = np.frombuffer(body[begin:end], dtype=dtype.newbyteorder("<"))
        tensors[name] = a.astype(dtype).reshape(info["shape"])
    return tensors, metadata


def _is_data(name: str) -> bool:
    """Whether a loss input is the batch or the teacher's output (not a
    parameter)."""
    return (name in ("input_ids", "labels", "teacher_logits")
            or name.startswith(("hidden.", "mixing.")))


class Trainer:
    """Runs `train_step` of a model compiled with train=True, keeping the
    parameters and the AdamW moments between steps.

        model = ssmc.compile("model.onnx", train=True)
        trainer = ssmc.Trainer.from_onnx(model, "model.onnx",
                                         lr=ssmc.cosine_schedule(1e-3, 1000, 50))
        metrics = trainer.step(input_ids, labels)   # {"loss": ..., "grad_norm": ...}
        trainer.save("ckpt.safetensors"); trainer.export_onnx("model.onnx", "trained.onnx")

    MOHAWK stages 1 and 2 (train_loss "matrix-orientation" or
    "hidden-alignment") read the teacher's outputs instead of labels:

        teacher = ssmc.compile("teacher.onnx", hidden_states=True)
        h = teacher.run({"input_ids": ids}, entry="hidden_states")
        h.update(teacher.run({"input_ids": ids}, entry="mixing_matrices"))  # stage 1
        trainer.step(ids, teacher=h)
    """

    def __init__(self, model, parameters: Mapping[str, np.ndarray],
                 lr: Union[float, Schedule] = 1e-4):
        if "train_step" not in model.entry_points:
            raise ValueError("the model has no train_step: compile it with train=True "
                             "(ssmc --train)")
        self.model = model
        sig = model.signature("train_step")
        self._inputs = sig["inputs"]
        names = [i["name"] for i in model.signature("loss")["inputs"]
                 if not _is_data(i["name"])]
        missing = [n for n in names if n not in parameters]
        if missing:
            raise ValueError(f"missing parameters: {', '.join(missing)}")
        self.parameters = {n: np.array(parameters[n], dtype=np.float32) for n in names}
        self.adam_m = {n: np.zeros_like(p) for n, p in self.parameters.items()}
        self.adam_v = {n: np.zeros_like(p) for n, p in self.parameters.items()}
        self.steps = 0
        self.lr = lr

    @classmethod
    def from_onnx(cls, model, onnx_path: Union[str, os.PathLike], **kwargs) -> "Trainer":
        """The initial parameters from the ONNX model's initializers."""
        import onnx
        from onnx import numpy_helper

        graph = onnx.load(os.fspath(onnx_path)).graph
        inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
        return cls(model, inits, **kwargs)

    def learning_rate(self, step: int) -> float:
        return float(self.lr(step)) if callable(self.lr) else float(self.lr)

    def _feed(self, input_ids, labels, teacher_logits=None, teacher=None):
        feed = {"input_ids": np.asarray(input_ids, dtype=np.int64)}
        wanted = {i["name"] for i in self._inputs}
        wants_teacher = "teacher_logits" in wanted
        if wants_teacher != (teacher_logits is not None):
            raise ValueError("teacher_logits must be given exactly when the model was "
                             "compiled with train_loss='distillation'")
        if ("labels" in wanted) != (labels is not None):
            raise ValueError("labels must be given exactly when the loss reads them "
                             "(cross-entropy and distillation; not the MOHAWK stage 1 "
                             "and 2 losses)")
        if labels is not None:
            feed["labels"] = np.asarray(labels, dtype=np.int64)
        if teacher_logits is not None:
            feed["teacher_logits"] = np.asarray(teacher_logits, dtype=np.float32)
        aligned = sorted(n for n in wanted if n.startswith(("hidden.", "mixing.")))
        if aligned and teacher is None:
            raise ValueError(f"this loss reads the teacher's {', '.join(aligned)}: pass "
                             "teacher= (the outputs of the teacher's hidden_states and "
                             "mixing_matrices entry points, compiled with "
                             "hidden_states=True)")
        for n in aligned:
            if n not in teacher:
                raise ValueError(f"teacher has no '{n}'")
            feed[n] = np.asarray(teacher[n], dtype=np.float32)
        feed.update(self.parameters)
        feed.update({f"adam_m.{n}": a for n, a in self.adam_m.items()})
        feed.update({f"adam_v.{n}": a for n, a in self.adam_v.items()})
        return feed

    def step(self, input_ids, labels=None, teacher_logits=None, *,
             teacher: Optional[Mapping[str, np.ndarray]] = None) -> Dict[str, float]:
        """One AdamW step on the batch (and the teacher's logits, for a
        distillation loss); returns the loss before the step and the
        gradient norm before clipping."""
        step = self.steps + 1
        feed = self._feed(input_ids, labels, teacher_logits, teacher)
        lr = self.learning_rate(step)
        feed["lr"] = np.array(lr, dtype=np.float32)
        feed["step"] = np.array(step, dtype=np.float32)
        out = self.model.run(feed, entry="train_step")
        for n in self.parameters:
            self.parameters[n] = out[n]
            self.adam_m[n] = out[f"adam_m.{n}"]
            self.adam_v[n] = out[f"adam_v.{n}"]
        self.steps = step
        return {"loss": float(out["loss"]), "grad_norm": float(out["grad_norm"]),
                "lr": lr}

    def loss(self, input_ids, labels=None, teacher_logits=None, *,
             teacher: Optional[Mapping[str, np.ndarray]] = None) -> float:
        """The loss at the current parameters (no step)."""
        feed = self._feed(input_ids, labels, teacher_logits, teacher)
        feed = {k: v for k, v in feed.items() if not k.startswith("adam_")}
        return float(self.model.run(feed, entry="loss")["loss"])

    def save(self, path: Union[str, os.PathLike]) -> None:
        """A checkpoint: parameters, AdamW moments and the step count."""
        tensors = dict(self.parameters)
        tensors.update({f"adam_m.{n}": a for n, a in self.adam_m.items()})
        tensors.update({f"adam_v.{n}": a for n, a in self.adam_v.items()})
        save_safetensors(path, tensors, {"step": str(self.steps), "format": "ssmc-trainer"})

    def load(self, path: Union[str, os.PathLike]) -> None:
        tensors, metadata = load_safetensors(path)
        for n, p in self.parameters.items():
            for key, store in ((n, self.parameters), (f"adam_m.{n}", self.adam_m),
                               (f"adam_v.{n}", self.adam_v)):
                if key not in tensors:
                    raise ValueError(f"{path}: no tensor '{key}'")
                if tensors[key].shape != p.shape:
                    raise ValueError(f"{path}: '{key}' has shape {tensors[key].shape}, "
                                     f"expected {p.shape}")
                store[n] = tensors[key].astype(np.float32)
        self.steps = int(metadata.get("step", 0))

    def export_onnx(self, onnx_path: Union[str, os.PathLike],
                    output: Union[str, os.PathLike]) -> None:
        """Writes the ONNX model at `onnx_path` with its initializers replaced
        by the trained parameters (for inference with ssmc or any runtime)."""
        import onnx
        from onnx import numpy_helper

        model = onnx.load(os.fspath(onnx_path))
        for init in model.graph.initializer:
            if init.name in self.parameters:
                init.CopyFrom(numpy_helper.from_array(
                    self.parameters[init.name].astype(
                        numpy_helper.to_array(init).dtype), init.name))
        onnx.save(model, os.fspath(output))
