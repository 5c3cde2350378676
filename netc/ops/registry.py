"""The op registry: each op is one class holding its parameters, shape rule,
cost rule, receptive-field rule, ONNX lowering and ONNX reading, registered by name.

An op class declares ``params`` (a dict of ``Param``); from them come the JSON
Schema editors see, the checks on values after block expansion, and the docs.
Shapes exclude the batch dimension: ``(C, H, W)`` for feature maps, ``(C,)``
for vectors. Every count is a Python int.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from ..diagnostics import show_value as _show
from ..initializers import INITIALIZERS, check_init
from .aliases import foreign, known_elsewhere
from .window import ShapeError, Window

Shape = tuple[int, ...]
REQUIRED = object()

# Bounds on sizes a file may ask for: far beyond any real network, small enough
# that a hostile file cannot ask for absurd work (10^12 filters is refused).
MAX_CHANNELS = 1 << 20
MAX_SPATIAL = 1 << 16
MAX_WINDOW = 1 << 12
MAX_AXES = 3                # spatial axes of a feature map: 1-D, 2-D, 3-D


@dataclass(frozen=True)
class Param:
    """One op parameter: its kind, default, bounds and one line of documentation.

    kinds: ``int``, ``bool``, ``number``, ``choice`` (one of ``choices``), ``init``, and the
    per-axis kinds of window ops on maps of 1, 2 or 3 spatial axes: ``pair`` (int, the same
    on every axis, or one per axis: [length], [height, width], [depth, height, width]),
    ``padding`` (as ``pair``, or same, valid), ``sides`` (as ``pair``, or a begin and an
    end per axis: [top, bottom, left, right]), ``scale`` (number or one per axis).
    Normal forms keep a single number as it is (resolved per axis against the input's
    rank by the shape rule: window.per_axis) and make a list a tuple; ``padding`` lists
    become ((begin, end), ...) per axis, valid 0; ``sides`` lists of 4 or 6 entries too
    (of 2 stay as written: [begin, end] on a 1-D map, [height, width] on a 2-D one).
    """

    kind: str
    doc: str
    default: object = REQUIRED
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()
    exclusive_max: bool = False

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    # -- JSON Schema -------------------------------------------------------
    def schema(self) -> dict:
        """The JSON Schema of a written value; an expression string is allowed
        wherever a number is, since block parameters are evaluated later."""
        expr = {"type": "string", "description": "an expression over block parameters"}
        num = {"type": "integer" if self.kind in ("int", "pair", "padding", "sides") else "number"}
        if self.min is not None:
            num["minimum"] = self.min
        if self.max is not None:
            num["exclusiveMaximum" if self.exclusive_max else "maximum"] = self.max
        if self.kind in ("int", "number"):
            out = {"anyOf": [num, expr]}
        elif self.kind in ("pair", "padding", "sides", "scale"):
            most = 6 if self.kind == "sides" else MAX_AXES
            items = {"type": "array", "items": {"anyOf": [num, expr]}, "minItems": 1, "maxItems": most}
            out = {"anyOf": [num, items, *([{"enum": ["same", "valid"]}] if self.kind == "padding" else []),
                             expr]}
        elif self.kind == "bool":
            out = {"anyOf": [{"type": "boolean"}, expr]}
        elif self.kind == "choice":
            out = {"anyOf": [{"enum": list(self.choices)}, expr]}
        elif self.kind == "init":
            out = {"anyOf": [{"enum": sorted(INITIALIZERS)},
                             {"type": "object", "properties": {"constant": {"type": "number"}},
                              "required": ["constant"], "additionalProperties": False},
                             expr]}
        else:  # pragma: no cover - a programming error in an op definition
            raise AssertionError(self.kind)
        out["description"] = self.doc
        if not self.required:
            out["default"] = list(self.default) if isinstance(self.default, tuple) else self.default
        return out

    # -- values after expansion --------------------------------------------
    def check(self, value):
        """Validate a concrete value and return its normal form; raise ValueError."""
        k = self.kind
        if k == "int":
            return self._int(value)
        if k == "number":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not _finite(value):
                raise ValueError(f"expected a number, got {_show(value)}")
            self._bounds(value)
            return value
        if k in ("pair", "scale"):
            one = self if k == "pair" else Param("number", self.doc, min=self.min, max=self.max,
                                                 exclusive_max=self.exclusive_max)
            if isinstance(value, list):
                if not 1 <= len(value) <= MAX_AXES:
                    raise ValueError(f"expected {'an integer' if k == 'pair' else 'a number'} or one per "
                                     f"axis ([length], [height, width] or [depth, height, width]), "
                                     f"got {_show(value)}")
                return tuple(one._int(v) if k == "pair" else one.check(v) for v in value)
            return self._int(value) if k == "pair" else one.check(value)
        if k == "padding":
            if value == "valid":
                return 0
            if value == "same":
                return "same"
            p = Param("pair", self.doc, min=self.min, max=self.max).check(value)
            return tuple((v, v) for v in p) if isinstance(p, tuple) else p
        if k == "sides":
            if isinstance(value, list) and len(value) in (4, 6):
                flat = [self._int(v) for v in value]
                return tuple(zip(flat[::2], flat[1::2]))
            if isinstance(value, list) and not 1 <= len(value) <= MAX_AXES:
                raise ValueError(f"expected an integer, one per axis ([height, width]) or a begin and "
                                 f"an end per axis ([top, bottom, left, right]), got {_show(value)}")
            return Param("pair", self.doc, min=self.min, max=self.max).check(value)
        if k == "bool":
            if not isinstance(value, bool):
                raise ValueError(f"expected true or false, got {_show(value)}")
            return value
        if k == "choice":
            if value not in self.choices:
                raise ValueError(_unknown_choice(value, self.choices))
            return value
        if k == "init":
            return check_init(value)
        raise AssertionError(k)  # pragma: no cover

    def _int(self, value) -> int:
        if isinstance(value, float) and value.is_integer():
            raise ValueError(f"expected an integer, got {_show(value)}: sizes, counts and channels "
                             f"are written as integers ({int(value)}, not {value})")
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"expected an integer, got {_show(value)}")
        self._bounds(value)
        return value

    def _bounds(self, value):
        if self.min is not None and value < self.min:
            raise ValueError(f"must be at least {_num(self.min)}, got {_num(value)}")
        if self.max is not None and (value >= self.max if self.exclusive_max else value > self.max):
            op = "below" if self.exclusive_max else "at most"
            raise ValueError(f"must be {op} {_num(self.max)}, got {_num(value)}")


def _finite(value) -> bool:
    """A number a float can hold: not inf or nan, and no integer beyond float range."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _num(v) -> str:
    if isinstance(v, int) and v.bit_length() > 128:
        return _show(v)
    return f"{v:,}" if isinstance(v, int) and abs(v) >= 10000 else str(v)


def _unknown_choice(value, choices) -> str:
    import difflib

    msg = f"unknown value {_show(value)}"
    if isinstance(value, str) and known_elsewhere(value):   # gelu is GELU, never a misspelt relu
        target = foreign(value, choices)
        close = [target] if target else []
        if close:
            return msg + f": not a netc name; netc's is {target!r}"
    else:
        close = difflib.get_close_matches(str(value), choices, n=1)
    if close:
        return msg + f"; did you mean {close[0]!r}?"
    return msg + f" (expected one of: {', '.join(choices)})"


@dataclass(frozen=True)
class Cost:
    """What one layer costs for one sample: parameters and arithmetic."""

    params: int = 0          # trainable
    buffers: int = 0         # non-trainable state, e.g. batchnorm running statistics
    macs: int = 0            # multiply-accumulates of conv and dense, bias excluded
    flops: int = 0           # every op, through docs/conventions.md's cost table


@dataclass(frozen=True)
class Field:
    """Receptive field of one output position, per spatial axis, in input pixels.

    size: how many input pixels one output sees; jump: input pixels between
    neighbouring outputs. For a window (extent E, stride S):
    size' = size + (E - 1) * jump, jump' = jump * S. One entry per spatial axis
    of the map (length; height, width; depth, height, width).
    """

    size: tuple[int, ...] = (1, 1)
    jump: tuple[int, ...] = (1, 1)

    @staticmethod
    def start(shape: Shape) -> "Field | None":
        """The field of a network input: one pixel per axis of a map, None for a non-map."""
        if not 2 <= len(shape) <= MAX_AXES + 1:
            return None
        ones = (1,) * (len(shape) - 1)
        return Field(ones, ones)

    def through(self, windows: list[Window]) -> "Field":
        return Field(tuple(s + (w.extent - 1) * j for s, j, w in zip(self.size, self.jump, windows)),
                     tuple(j * w.stride for j, w in zip(self.jump, windows)))

    def whole(self, hw: tuple[int, ...]) -> "Field":
        """A layer that sees the whole map (flatten, dense, global pooling)."""
        return Field(tuple(s + (n - 1) * j for s, j, n in zip(self.size, self.jump, hw)),
                     tuple(j * n for j, n in zip(self.jump, hw)))

    @staticmethod
    def merge(fields: list["Field"]) -> "Field | None":
        if len(fields) == 1:        # most layers have one input: its field as it is
            return fields[0]
        n = len(fields[0].size)
        if any(len(f.size) != n for f in fields):
            return None             # maps of different ranks: no one field
        return Field(tuple(max(f.size[i] for f in fields) for i in range(n)),
                     tuple(max(f.jump[i] for f in fields) for i in range(n)))


@dataclass(frozen=True)
class Inferred:
    """The result of an op's shape rule."""

    shape: Shape
    windows: list[Window] | None = None    # one per spatial axis for sliding-window ops


# the layouts ``ctx.layout`` tells ``Op.read`` (netc/onnx/reading.py)
CHANNELS_FIRST = "channels_first"   # (N, C, H, W): netc's own
CHANNELS_LAST = "channels_last"     # (N, H, W, C): between Transpose (0, 2, 3, 1) and (0, 3, 1, 2)


class Op:
    """Base class of every op. Subclasses set ``name``, ``doc``, ``params`` and
    override ``infer`` and ``cost``; ``lower`` emits ONNX nodes; ``read`` maps the
    ONNX nodes of the types in ``onnx_types`` back to the op (netc/onnx/reader.py)."""

    name: ClassVar[str]
    doc: ClassVar[str] = ""
    params: ClassVar[dict[str, Param]] = {}
    arity: ClassVar[tuple[int, int | None]] = (1, 1)   # min and max inputs
    activation_param: ClassVar[bool] = False           # has a fused ``activation``
    onnx_types: ClassVar[tuple[str, ...]] = ()         # ONNX op types ``read`` maps
    onnx_pattern: ClassVar[bool] = False               # read first: a pattern starting at a
                                                       # node type another op reads too
    onnx_takes: ClassVar[tuple[str, ...]] = ()         # ONNX op types ``absorb`` or a pattern takes
                                                       # as later nodes (beyond ``onnx_types`` and
                                                       # the elementwise ones): E011 says "not
                                                       # reached", not "cannot read", after a blocker
    vector_as_map: ClassVar[bool] = False              # reads a vector beside a map as (C, 1, 1)
    constant_operand: ClassVar[bool] = False           # takes a constant operand (``by``) that counts
                                                       # as an input (netc/ops/arith.py)
    per_output: ClassVar[bool] = False                 # a node of several outputs (Split) is one
                                                       # layer per output (``ctx.output_index``)
    channels_last: ClassVar[bool] = False              # reads per-position nodes on a channels-last
                                                       # tensor too (``ctx.layout``)
    per_channel: ClassVar[bool] = False                # its first input needs a channel axis: a
                                                       # tensor of rank 0 (one number) is a ShapeError
    onnx_fallback: ClassVar[tuple[str, ...]] = ()      # ONNX op types this op reads last, after
                                                       # every other reader of the type (generic
                                                       # readers: Slice on any axis after crop's)

    def infer(self, p: dict, ins: list[Shape]) -> Inferred:
        return Inferred(ins[0])

    def cost(self, p: dict, ins: list[Shape], out: Inferred) -> Cost:
        return Cost()

    def field(self, p: dict, ins: list[Shape], fields: list[Field | None], out: Inferred) -> Field | None:
        """Receptive field of the output; default: the merge of the inputs'."""
        known = [f for f in fields if f is not None]
        if not known:
            return None
        merged = Field.merge(known)
        if out.windows and merged is not None:
            return merged.through(out.windows)
        return merged

    def lower(self, p: dict, ctx) -> None:  # pragma: no cover - each op overrides
        raise NotImplementedError(f"op {self.name!r} has no ONNX lowering")

    def torch(self, p: dict, ctx) -> str:  # pragma: no cover - each op overrides
        """PyTorch source for one layer: make its module through ``ctx`` (the ``TorchContext``
        of netc/torch/context.py) and return the Python expression of its result."""
        raise NotImplementedError(f"op {self.name!r} has no PyTorch rule")

    def read(self, node, ctx) -> dict:
        """The op's parameters for the ONNX ``node`` (an ``onnx.NodeProto`` of one of
        ``onnx_types``), in normal form; missing ones take their defaults. Raise
        ``ctx.unsupported(reason)`` for a node the op cannot represent. ``ctx`` is the
        ``ReadingContext`` of netc/onnx/reading.py."""
        return {}

    def absorb(self, p: dict, node, ctx) -> dict | None:
        """Fold ``node``, the only consumer of this layer's result, into the layer:
        return the new parameters, or None to leave it a layer of its own (its other
        inputs must be values or the layer's own inputs). Default: an activation
        node becomes the fused ``activation`` of ops that have one."""
        if self.activation_param and p.get("activation", "none") == "none":
            act = ctx.fusable_activation(node)
            if act:
                return {**p, "activation": act}
        return None

    def fused(self, p: dict) -> str | None:
        """The fused ``activation`` of conv and dense that this layer (with parameters
        ``p``) computes, or None: only activations define it."""
        return None


OPS: dict[str, Op] = {}


def register(cls: type[Op]) -> type[Op]:
    """Class decorator: add one instance of the op to the registry under its name."""
    if cls.name in OPS:
        raise AssertionError(f"op {cls.name!r} registered twice")
    OPS[cls.name] = cls()
    return cls


def numel(shape: Shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


class NotAMap(ShapeError):
    """An op that needs a feature map was given another tensor: a shape error in a netc
    file; in an ONNX model, a node that op does not read (E011), left to other readers."""


def spatial(name: str, shape: Shape) -> tuple[int, int, int]:
    """Unpack a (C, H, W) input or raise a ShapeError (``NotAMap``) that says what to do."""
    if len(shape) != 3:
        what = "the vector" if len(shape) == 1 else f"the {len(shape) - 1}-D map"
        raise NotAMap(f"{name} needs a (channels, height, width) input, got {what} "
                      f"{fmt_shape(shape)}")
    return shape  # type: ignore[return-value]


def feature_map(name: str, shape: Shape) -> tuple[int, tuple[int, ...]]:
    """(channels, spatial sizes) of a map of 1, 2 or 3 spatial axes, or a ShapeError."""
    if not 2 <= len(shape) <= MAX_AXES + 1:
        raise NotAMap(f"{name} needs a map: (channels, length), (channels, height, width) or "
                         f"(channels, depth, height, width); got "
                         f"{'the vector ' if len(shape) == 1 else ''}{fmt_shape(shape)}")
    return shape[0], tuple(shape[1:])


def fmt_shape(shape: Shape) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ")" if len(shape) != 1 else f"({shape[0]},)"


__all__ = ["Cost", "Field", "Inferred", "MAX_AXES", "MAX_CHANNELS", "MAX_SPATIAL", "MAX_WINDOW",
           "NotAMap", "OPS", "Op", "Param", "REQUIRED", "Shape", "ShapeError", "Window", "feature_map",
           "fmt_shape", "numel", "register", "spatial"]
