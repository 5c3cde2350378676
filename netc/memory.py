"""Memory for training and inference (the paper's §6.2, done properly).

All figures are bytes, exact integers, for ``batch`` samples of ``dtype``:

    parameters  = (trainable + buffers) * bytes
    gradients   = trainable * bytes
    optimizer   = state_per_param[optimizer] * trainable * bytes
                  (sgd 0; momentum, nesterov, adagrad, rmsprop 1; adam 2)
    saved       = batch * (input + every layer output) * bytes      kept for backward
    backward    = batch * max over layers (output grad + input grads) * bytes
    training    = parameters + gradients + optimizer + saved + backward
    inference   = parameters + batch * peak of live tensors in topological order
                  (a tensor lives from its producer to its last consumer)

The largest batch that fits a device solves the linear inequality
fixed + batch * per_sample <= device exactly, by integer division.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from .analysis import Analysis
from .ops.registry import numel

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8, "int8": 1}
OPTIMIZER_STATE = {"sgd": 0, "momentum": 1, "nesterov": 1, "adagrad": 1, "rmsprop": 1, "adam": 2}

_UNITS = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
          "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40, "K": 10**3, "M": 10**6,
          "G": 10**9, "T": 10**12}


def parse_bytes(text: str) -> int:
    """'8GB' -> 8 * 10**9, '16GiB' -> 16 * 2**30, '1.5GB' -> 1_500_000_000 (exact)."""
    import re
    from fractions import Fraction

    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*", text)
    if m and not m.group(2):      # '8' is 8 GB to one reader and 8 bytes to another: say which
        raise ValueError(f"a memory size needs its unit: {text!r} (8GB, 16GiB, 512MB; B for bytes)")
    if not m or m.group(2).upper() not in _UNITS:
        raise ValueError(f"not a memory size: {text!r} (examples: 8GB, 16GiB, 512MB)")
    value = Fraction(m.group(1)) * _UNITS[m.group(2).upper()]
    if value.denominator != 1 or value <= 0:
        raise ValueError(f"not a positive whole number of bytes: {text!r}")
    return int(value)


@dataclass(frozen=True)
class Memory:
    batch: int
    dtype: str
    optimizer: str
    parameters: int
    gradients: int
    optimizer_state: int
    saved_activations: int
    backward_working: int
    inference_activations: int     # peak of live tensors
    per_sample_training: int
    per_sample_inference: int

    @property
    def training(self) -> int:
        return (self.parameters + self.gradients + self.optimizer_state
                + self.saved_activations + self.backward_working)

    @property
    def inference(self) -> int:
        return self.parameters + self.inference_activations

    @property
    def training_fixed(self) -> int:
        return self.parameters + self.gradients + self.optimizer_state

    def max_batch(self, device_bytes: int) -> "MaxBatch":
        """The largest batches that fit in ``device_bytes``: ``MaxBatch(training, inference)``."""
        def fit(fixed: int, per_sample: int) -> int:
            if device_bytes < fixed:
                return 0
            return (device_bytes - fixed) // per_sample if per_sample else 0
        return MaxBatch(fit(self.training_fixed, self.per_sample_training),
                        fit(self.parameters, self.per_sample_inference))


class MaxBatch(NamedTuple):
    """The largest batch that fits a device, for training and for inference (0: none)."""

    training: int
    inference: int


def memory(a: Analysis, batch: int = 1, dtype: str = "float32", optimizer: str = "sgd") -> Memory:
    """Training and inference memory for ``batch`` samples."""
    size = DTYPE_BYTES[dtype]
    trainable = a.totals.trainable_params
    g = a.graph
    input_elems = numel(g.input_shape)
    saved = input_elems + a.totals.activations
    elems = a.shapes()
    backward = max((r.activations + sum(numel(elems[i]) for i in r.node.inputs) for r in a.layers),
                   default=0)
    peak = _inference_peak(a)
    return Memory(batch, dtype, optimizer,
                  parameters=a.totals.params * size,
                  gradients=trainable * size,
                  optimizer_state=OPTIMIZER_STATE[optimizer] * trainable * size,
                  saved_activations=batch * saved * size,
                  backward_working=batch * backward * size,
                  inference_activations=batch * peak * size,
                  per_sample_training=(saved + backward) * size,
                  per_sample_inference=peak * size)


def _inference_peak(a: Analysis) -> int:
    """Largest sum of live tensor elements while running nodes in topological order."""
    g = a.graph
    last_use: dict[str, int] = {}
    for step, r in enumerate(a.layers):
        for i in r.node.inputs:
            last_use[i] = step
    for out in g.outputs:
        last_use[out] = len(a.layers)
    live = {g.input_name: numel(g.input_shape)}
    current = peak = live[g.input_name]
    for step, r in enumerate(a.layers):
        live[r.name] = r.activations
        current += r.activations
        peak = max(peak, current)
        for name in set(r.node.inputs) | {r.name}:
            if last_use.get(name, -1) <= step and name in live:
                current -= live.pop(name)
    return peak
