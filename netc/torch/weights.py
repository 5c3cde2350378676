"""Trained weights for ``netc build --weights W``: a ``.safetensors`` file (read with
safetensors' numpy side: no torch) or a PyTorch state_dict ``.pt`` (torch), keyed by the
module names ``netc.to_torch`` gives, checked against the state_dict the network's
module declares (netc/torch/source.py), then handed to the ONNX builder as its weight
source: each ONNX initializer ``LAYER.SUFFIX`` takes the tensor of that key, reshaped
where ONNX stores a per-channel vector as (C, 1, 1).

Every key is checked before anything is built: a missing key, one the module does not
have, a shape other than the module's or an element type that is not floating point is
an error naming the key and the shape expected. ``num_batches_tracked`` (batchnorm's
counter, in every PyTorch state_dict) may be present or not; it is not built."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..diagnostics import BUILD, BuildError, Diagnostic, NetcError
from .context import Entry

MAX_REPORTED = 20          # key problems listed, then a count


def read_weights(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The tensors of ``path`` by key, as numpy arrays: ``.safetensors`` through
    safetensors (ImportError without it), ``.pt`` / ``.pth`` / ``.bin`` through
    ``torch.load(weights_only=True)`` (ImportError without torch). BuildError for a
    file that cannot be read as such."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        from safetensors.numpy import load_file

        try:
            return dict(load_file(str(path)))
        except Exception as e:   # safetensors raises its own error types (and TypeError for bf16)
            raise BuildError(f"cannot read {path} as safetensors: {_reason(e)}") from None
    if suffix in (".pt", ".pth", ".bin"):
        import torch

        try:
            state = torch.load(str(path), map_location="cpu", weights_only=True)
        except Exception as e:   # torch.load raises many types for a bad file
            raise BuildError(f"cannot read {path} as a PyTorch state_dict: {_reason(e)}") from None
        if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                                  for k, v in state.items()):
            raise BuildError(f"{path} is not a state_dict (a mapping of names to tensors): save "
                             "model.state_dict()")
        out = {}
        for k, v in state.items():
            v = v.detach().cpu()
            if v.dtype == torch.bfloat16:
                v = v.float()
            out[k] = v.numpy()
        return out
    raise BuildError(f"{path}: weights are read from a .safetensors file or a PyTorch state_dict "
                     "(.pt, .pth, .bin); got the suffix " + (repr(suffix) if suffix else "none"))


def _reason(e: Exception) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    return text[:300]


def check_weights(state: dict[str, np.ndarray], entries: list[Entry], path) -> None:
    """Raise BuildError listing every missing, extra, mis-shaped or non-float key of
    ``state`` against the module's ``entries``, each with the shape expected."""
    spec = {e.key: e for e in entries}
    problems = []
    for e in entries:
        if e.key not in state:
            if not e.optional:
                problems.append(f"missing key {e.key!r} (expected shape {_shape(e.shape)})")
            continue
        arr = state[e.key]
        if tuple(arr.shape) != e.shape:
            problems.append(f"key {e.key!r} has shape {_shape(arr.shape)}, expected {_shape(e.shape)}")
        elif e.onnx and arr.dtype.kind != "f":
            problems.append(f"key {e.key!r} holds {arr.dtype} values, expected floating point")
    for key in state:
        if key not in spec:
            problems.append(f"unexpected key {key!r}: the module has no such tensor")
    if problems:
        shown = problems[:MAX_REPORTED]
        more = len(problems) - len(shown)
        if more:
            shown.append(f"and {more} more problem{'s' if more != 1 else ''}")
        raise NetcError([Diagnostic(f"{path}: {p}", None, BUILD) for p in shown])


def weight_source(state: dict[str, np.ndarray], entries: list[Entry]):
    """The ONNX builder's weight source: (layer, suffix, shape, ...) -> the float32 array of
    the tensor built into initializer LAYER.SUFFIX, reshaped to the ONNX shape."""
    by_onnx = {e.onnx_name: e for e in entries if e.onnx}

    def draw(layer, suffix, shape, init, fan_in, fan_out, out=None):
        e = by_onnx.get(f"{layer}.{suffix}")
        if e is None:  # pragma: no cover - a lowering weight its torch rule does not declare
            raise BuildError(f"internal error: the ONNX weight {layer}.{suffix} has no PyTorch tensor")
        return np.ascontiguousarray(state[e.key], dtype=np.float32).reshape(shape)
    return draw


def _shape(shape) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"
