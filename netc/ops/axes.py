"""Parameters and helpers of the ops on tensors of any rank (netc/ops/tensor.py's shape
plumbing; slice, concat, flatten; the arithmetic, reductions and softmax): axis numbers,
lists of integers and of axes, constant shapes, numpy's broadcasting, and the receptive
field of an op that acts along some axes. This module registers no op.

Axis numbers count as PyTorch, ONNX and Keras count them: axis 0 is the batch,
axis 1 the first netc dimension (the channels of a map); a negative axis counts
from the end. netc shapes exclude the batch, so axis ``a`` of a rank-``r`` netc
shape is dimension ``a - 1`` (``a >= 1``) or ``r + a`` (``a < 0``); the batch
(axis 0, or ``-(r + 1)``) is refused with a clear message by the ops that cannot
act on it: no op moves the batch.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..diagnostics import show_value as _show
from .registry import MAX_CHANNELS, Field, Param, Shape, ShapeError

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
    negative from the end of a tensor of ``len(shape) + 1 + extra`` axes (``axis_index``)."""
    return axis_index(axis, len(shape) + extra, op or param, param)


def axis_name(shape: Shape, i: int) -> str:
    """How a message names netc dimension ``i``: channels for the first of a map."""
    return "channels" if i == 0 and len(shape) >= 2 else f"axis {i + 1}"


# -- the arithmetic, reductions and softmax (netc/ops/arith.py, reduce.py) ------------------

def _int(value, lo: int, hi: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected an integer {what}, got {_show(value)}")
    if not lo <= value <= hi:
        raise ValueError(f"{what} {_show(value)} is out of range ({lo} to {hi})")
    return value


@dataclass(frozen=True)
class Axes(Param):
    """An axis or a list of distinct axes (kind ``axes``): normal form a tuple of ints as
    written (negative ones kept: the rank is known only to the shape rule)."""

    def schema(self) -> dict:
        expr = {"type": "string", "description": "an expression over block parameters"}
        one = {"type": "integer", "minimum": -MAX_RANK - 1, "maximum": MAX_RANK}
        out = {"anyOf": [one, {"type": "array", "items": {"anyOf": [one, expr]}, "minItems": 1,
                               "maxItems": MAX_RANK}, expr], "description": self.doc}
        if not self.required:
            out["default"] = list(self.default) if isinstance(self.default, tuple) else self.default
        return out

    def check(self, value):
        items = list(value) if isinstance(value, (list, tuple)) else [value]
        if not items or len(items) > MAX_RANK:
            raise ValueError(f"expected an axis or a list of 1 to {MAX_RANK} axes, got {_show(value)}")
        out = tuple(_int(v, -MAX_RANK - 1, MAX_RANK, "axis") for v in items)
        if len(set(out)) != len(out):
            raise ValueError(f"axes {list(out)} repeat an axis")
        return out


@dataclass(frozen=True)
class Dims(Param):
    """A shape (kind ``dims``): a list of sizes, the batch excluded; normal form a tuple."""

    def schema(self) -> dict:
        expr = {"type": "string", "description": "an expression over block parameters"}
        one = {"type": "integer", "minimum": 1, "maximum": MAX_CHANNELS}
        out = {"anyOf": [{"type": "array", "items": {"anyOf": [one, expr]}, "maxItems": MAX_RANK}, expr],
               "description": self.doc}
        if not self.required:
            out["default"] = list(self.default) if isinstance(self.default, tuple) else self.default
        return out

    def check(self, value):
        if not isinstance(value, (list, tuple)) or len(value) > MAX_RANK:
            raise ValueError(f"expected a list of at most {MAX_RANK} sizes, got {_show(value)}")
        return tuple(_int(v, 1, MAX_CHANNELS, "size") for v in value)


def axis_index(axis: int, rank: int, op: str, param: str | None = "axis") -> int:
    """The netc dimension that ``axis`` (counted with the batch) names in a rank-``rank``
    netc shape; ShapeError for the batch, an axis past the rank, or one that is no integer
    (a float from a hostile model's constant). The one axis rule of every op."""
    full, what = rank + 1, param or "axis"
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise ShapeError(f"{op}: {what} {axis!r} is not an integer", param)
    if not -full <= axis < full:
        raise ShapeError(f"{op}: {what} {axis} is out of range for a tensor of rank {full} (the batch "
                         f"and {rank} more: axes {-full} to {rank})", param)
    if axis % full == 0:
        raise ShapeError(f"{op} cannot act on the batch: {what} {axis} is the batch, which netc keeps "
                         "apart (axis 1 is the first dimension after it)", param)
    return axis % full - 1


def axis_set(axes, rank: int, op: str, param: str | None = "axes") -> tuple[int, ...]:
    """Sorted netc dimensions of ``axes`` (None: every dimension); ShapeError on repeats."""
    if axes is None:
        return tuple(range(rank))
    dims = [axis_index(a, rank, op, param) for a in axes]
    if len(set(dims)) != len(dims):
        raise ShapeError(f"{op}: axes {list(axes)} name the same dimension twice", param)
    return tuple(sorted(dims))


def is_map(shape: Shape) -> bool:
    """A feature map (C, *spatial) with 1 to 3 spatial dimensions."""
    return 2 <= len(shape) <= 4


def broadcast(op: str, ins: list[Shape], names: dict | None = None) -> Shape:
    """numpy's broadcasting of ``ins`` (netc shapes, the batch excluded), with one netc
    rule first: a vector (C,) beside a feature map (rank 2 to 4) is (C, 1, ...), one value
    per channel (a squeeze-and-excitation gate after global_avgpool). Then shapes are
    aligned at their last dimension, missing leading ones are 1, and each dimension's
    sizes must be equal or 1; the output takes the largest."""
    rank = max((len(s) for s in ins), default=0)
    vector = is_map((0,) * rank) and any(len(s) == 1 for s in ins)
    shapes = [(*s, *(1,) * (rank - 1)) if len(s) == 1 and vector else (1,) * (rank - len(s)) + tuple(s)
              for s in ins]
    out = []
    for axis in range(rank):
        sizes = sorted({s[axis] for s in shapes} - {1})
        if len(sizes) > 1:
            note = (" (a vector (C,) beside a map counts as (C, 1, 1))" if rank == 3 else
                    " (a vector (C,) beside a map counts as one value per channel)") if vector else ""
            name = (names or {}).get(rank, ())[axis:axis + 1] or (f"axis {axis + 1}'s sizes",)
            raise ShapeError(f"{op} cannot broadcast its inputs: {name[0]} "
                             f"{' and '.join(map(str, sizes))} differ; each dimension must be equal "
                             f"or 1{note}")
        out.append(sizes[0] if sizes else 1)
    return tuple(out)


def aligned(shape: Shape, rank: int) -> Shape:
    """``shape`` at ``rank`` as ``broadcast`` reads it: a vector beside a map per channel,
    else 1s in front."""
    if len(shape) == 1 and is_map((0,) * rank):
        return (*shape, *(1,) * (rank - 1))
    return (1,) * (rank - len(shape)) + tuple(shape)


def map_field(ins: list[Shape], fields: list, out: Shape) -> Field | None:
    """The receptive field of an elementwise result: the merge of the fields of the
    inputs that are maps of the output's rank (their spatial sizes 1 or the output's);
    None when the output is not a map or no such input has a field."""
    known = [f for f, s in zip(fields, ins) if f is not None and len(s) == len(out)
             and len(f.size) == len(out) - 1]
    if not known or not is_map(out):
        return None
    return Field.merge(known)


def field_over(field: Field | None, shape: Shape, dims: tuple[int, ...], out: Shape) -> Field | None:
    """The receptive field after an op that mixes the netc dimensions ``dims`` of a map
    ``shape`` (a softmax, a reduction): the whole extent along every spatial one of them;
    unchanged along the others. None when the input has no field, or the output is not
    the same map (a rank change other than the map's spatial axes reduced to a vector)."""
    spatial = [d - 1 for d in dims if d >= 1]
    if field is not None and not spatial and len(out) == len(shape):
        return field                # along the channels (or a vector's features): unchanged
    if field is None or not is_map(shape) or len(field.size) != len(shape) - 1:
        return None
    if not (len(out) == len(shape) or (len(out) == 1 and sorted(spatial) == list(range(len(shape) - 1)))):
        return None
    size = tuple(s + (shape[i + 1] - 1) * j if i in spatial else s
                 for i, (s, j) in enumerate(zip(field.size, field.jump)))
    kept = len(out) == len(shape) and tuple(out[1:]) == tuple(shape[1:])
    # a reduced axis is one position, the whole extent apart (global pooling); an axis
    # that keeps its size (a softmax, a norm's statistics) keeps its jump
    jump = tuple(j * shape[i + 1] if i in spatial and not kept else j for i, j in enumerate(field.jump))
    return Field(size, jump)


def softmax_axis(op: str, node, ctx) -> int:
    """The axis of a Softmax or LogSoftmax node, counted with the batch (positive): any axis
    but the batch from opset 13; before, the node flattened the axes from ``axis`` on
    (default 1), which is one axis when it is the last, or the others after it are 1."""
    shape = ctx.input_shape(node)
    rank = len(shape) + 1
    axis = ctx.attr(node, "axis", 1 if ctx.opset < 13 else -1)
    if not isinstance(axis, int) or not -rank <= axis < rank:
        raise ctx.unsupported(f"{node.op_type} over axis {axis} of a rank-{rank} tensor")
    a = axis % rank
    if a == 0:
        raise ctx.unsupported(f"{node.op_type} over axis {axis}, the batch")
    if ctx.opset < 13 and any(d != 1 for d in shape[a:]):
        raise ctx.unsupported(f"{node.op_type} over axis {axis} of a rank-{rank} tensor in opset "
                              f"{ctx.opset} (before opset 13 it is over the axes from {axis} on "
                              "at once)")
    return a
