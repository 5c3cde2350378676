"""Axes and integer lists shared by the ops that take an axis (netc/ops/tensor.py's
shape plumbing; slice, concat, flatten): axes count with the batch as 0, as PyTorch and
ONNX count them, a negative axis from the end; no op moves the batch. This module
registers no op."""

from __future__ import annotations

from dataclasses import dataclass

from ..diagnostics import show_value as _show
from .registry import Param, Shape, ShapeError, fmt_shape

MAX_RANK = 16             # axes of a tensor (batch excluded) netc takes: far beyond any real one
MAX_DIM = 1 << 40         # one written size (a reshape's target, an expand's)
MAX_ELEMENTS = 1 << 48    # elements of one sample's tensor that an expand may produce


@dataclass(frozen=True)
class Ints(Param):
    """A list of integers (a shape, axes, a permutation, indices), or one integer: a list
    of one, or with ``scalar`` kept an int (gather's one index drops the axis). Normal
    form: a tuple of ints, or the int."""

    scalar: bool = False
    most: int = MAX_RANK            # entries at most

    def schema(self) -> dict:
        expr = {"type": "string", "description": "an expression over block parameters"}
        num = {"type": "integer"}
        if self.min is not None:
            num["minimum"] = self.min
        if self.max is not None:
            num["maximum"] = self.max
        out = {"anyOf": [{"type": "array", "items": {"anyOf": [num, expr]}, "maxItems": self.most},
                         num, expr]}
        if self.default is None:
            out["anyOf"].append({"type": "null"})
        out["description"] = self.doc
        if not self.required:
            out["default"] = list(self.default) if isinstance(self.default, tuple) else self.default
        return out

    def check(self, value):
        if value is None and self.default is None:
            return None
        one = Param("int", self.doc, min=self.min, max=self.max)
        if isinstance(value, (list, tuple)):
            if len(value) > self.most:
                raise ValueError(f"expected at most {self.most} integers, got {len(value)}")
            return tuple(one.check(v) for v in value)
        if self.scalar:
            return one.check(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return (one.check(value),)
        raise ValueError(f"expected a list of integers, got {_show(value)}")


AXIS_DOC = "axis 1 is the first dimension after the batch (the channels of a map); negative counts from the end"


def axis_param(doc: str, default=1) -> Param:
    return Param("int", f"{doc} ({AXIS_DOC})", default=default, min=-MAX_RANK - 1, max=MAX_RANK)


def dim(axis: int, shape: Shape, param: str = "axis", op: str = "", extra: int = 0) -> int:
    """The index in the netc ``shape`` (no batch) of ``axis`` counted with the batch (0),
    negative from the end of a tensor of ``len(shape) + 1 + extra`` axes; ShapeError for
    the batch or an axis out of range."""
    rank = len(shape) + 1 + extra
    if not -rank <= axis < rank:
        raise ShapeError(f"{op + ' ' if op else ''}{param} {axis} is out of range for "
                         f"{'a tensor' if extra else fmt_shape(shape)} of {rank} axes with the batch "
                         f"(-{rank} to {rank - 1})", param)
    a = axis % rank
    if a == 0:
        raise ShapeError(f"{op + ' ' if op else ''}{param} {axis} is the batch: netc keeps the batch "
                         "apart (axis 1 is the first dimension after it)", param)
    return a - 1


def axis_name(shape: Shape, i: int) -> str:
    """How a message names netc dimension ``i``: channels for the first of a map."""
    return "channels" if i == 0 and len(shape) >= 2 else f"axis {i + 1}"
