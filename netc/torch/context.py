"""The torch context: what ``Op.torch(p, ctx)`` sees for one layer.

An op's ``torch`` rule writes PyTorch source for one layer and returns the
Python expression of the layer's result, as ``lower`` emits ONNX nodes::

    def torch(self, p, ctx):
        conv = ctx.module("nn.Conv2d", c, k, kernel_size=(kh, kw), bias=p["bias"])
        ctx.weight("weight", (k, c, kh, kw), resolve(p["init"], ctx.activation), fan_in, fan_out)
        return torch_activation(ctx, f"{conv}({ctx.input})", p["activation"])

``ctx.module`` makes the layer's module (named after the layer, so a state_dict key is
``LAYER.weight`` as an ONNX initializer name is); ``ctx.weight`` and ``ctx.buffer``
declare what that module holds, its shape and the init scheme ``netc.to_torch`` draws
it from (the same draw as ``netc build``'s, so the two agree at the same seed);
``ctx.helper`` asks for one of the small classes or functions of netc/torch/source.py's
``HELPERS`` (``LayerNorm2d``, ``Scale``, ...) to be written into the source.

Nothing here imports torch: ``netc torch`` writes source, and ``netc build --weights``
checks a weights file against the declared keys and shapes, without it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from ..analysis import LayerReport
    from ..ops.registry import Shape, Window


@dataclass(frozen=True)
class Entry:
    """One tensor of the module's state_dict: ``LAYER.SUFFIX``.

    shape      its shape in PyTorch (a per-channel vector is (C,) here where ONNX may
               store (C, 1, 1): the same values, reshaped)
    init       the resolved init scheme (netc/initializers.py), None for a buffer that
               is not drawn (``num_batches_tracked``)
    onnx       the ONNX initializer suffix it is built into ('' : none)
    buffer     a buffer (running statistics) or a fixed weight: not a trainable parameter
    optional   may be absent from a weights file (``num_batches_tracked``)
    """

    layer: str
    suffix: str
    shape: tuple[int, ...]
    init: object = None
    fan_in: int = 1
    fan_out: int = 1
    onnx: str = ""
    buffer: bool = False
    optional: bool = False

    @property
    def key(self) -> str:
        return f"{self.layer}.{self.suffix}"

    @property
    def onnx_name(self) -> str:
        return f"{self.layer}.{self.onnx}"


def code(value) -> str:
    """A Python literal for a parameter value: ints, floats (shortest repr), bools,
    strings, and tuples of them (a pair of equal values written once)."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return f'float("{value}")'
        return repr(value)
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (tuple, list)):
        items = [code(v) for v in value]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    raise TypeError(f"no literal for {value!r}")  # pragma: no cover - a rule's bug


def axes(values) -> object:
    """One value per spatial axis as a PyTorch argument: the value when every axis has it
    (``kernel_size=3``), else the tuple (``(1, 3)``)."""
    values = tuple(values)
    return values[0] if len(set(values)) == 1 else values


def pair(value) -> object:
    """(a, a) as a; (a, b) as it is: ``kernel_size=3`` rather than ``(3, 3)``. A list is
    written as the tuple it holds, never collapsed (a shape: ``Scale((1, 1))``)."""
    if isinstance(value, tuple) and len(value) == 2 and value[0] == value[1]:
        return value[0]
    return tuple(value) if isinstance(value, list) else value


class TorchContext:
    """One layer's view of the module being written.

    name       the layer name (its module's key in the state_dict)
    inputs     Python expressions of the layer's inputs, in the YAML order
    in_shapes  netc shapes of the inputs, without the batch dimension
    out_shape  netc shape of the result, without the batch dimension
    windows    a ``Window`` per spatial axis of sliding-window ops (length; height, width;
               depth, height, width), else None
    activation the activation the layer's result meets (``netc.graph.activation_after``),
               what ``init: auto`` pairs with, as for the ONNX build
    """

    def __init__(self, report: "LayerReport", inputs: list[str], in_shapes: list["Shape"],
                 target: str, activation: str, helpers: set[str]):
        self.name: str = report.name
        self.inputs: list[str] = inputs
        self.in_shapes: list["Shape"] = in_shapes
        self.out_shape: "Shape" = report.output_shape
        self.windows: list["Window"] | None = report.windows
        self.activation: str = activation
        self._target = target             # e.g. "self.conv1", "self.layer1[0]"
        self._helpers = helpers
        self.constructor: str | None = None
        self.entries: list[Entry] = []
        self.init_lines: list[str] = []   # nn.init calls written after the constructor

    @property
    def input(self) -> str:
        """The first (for most ops, the only) input expression."""
        return self.inputs[0]

    def module(self, cls: str, *args, **kwargs) -> str:
        """The layer's module, ``cls(*args, **kwargs)`` (``nn.Conv2d``, or a helper's name);
        return the expression that calls it (``self.conv1``). One module per layer."""
        if self.constructor is not None:  # pragma: no cover - a rule's bug
            raise AssertionError(f"{self.name}: two modules for one layer")
        if cls in HELPER_NAMES:
            self.helper(cls)
        parts = [code(pair(a)) for a in args] + [f"{k}={code(pair(v))}" for k, v in kwargs.items()]
        self.constructor = f"{cls}({', '.join(parts)})"
        return self._target

    def weight(self, suffix: str, shape: tuple[int, ...], init, fan_in: int = 1, fan_out: int = 1,
               onnx: str | None = None, torch_default: bool = False, trainable: bool = True) -> None:
        """Declare the trainable tensor ``LAYER.SUFFIX`` of the layer's module, drawn from
        ``init`` (a resolved scheme) by ``netc.to_torch``; ``onnx`` names its ONNX suffix
        when it differs. The written source initializes it with ``torch.nn.init`` unless
        ``torch_default`` (the module's constructor already does). ``trainable`` False: a
        fixed weight (a parameter the rule freezes), not counted as trainable."""
        e = Entry(self.name, suffix, tuple(shape), init, fan_in, fan_out, onnx or suffix,
                  buffer=not trainable)
        self.entries.append(e)
        if not torch_default:
            self.init_lines.append(init_line(f"{self._target}.{suffix}", init, fan_in, fan_out))

    def buffer(self, suffix: str, shape: tuple[int, ...], init=None, onnx: str | None = "",
               optional: bool = False) -> None:
        """Declare the buffer ``LAYER.SUFFIX`` (running statistics): non-trainable, a weight
        all the same (``netc build --weights``); ``optional`` ones may be missing there."""
        self.entries.append(Entry(self.name, suffix, tuple(shape), init, onnx=suffix if onnx == "" else
                                  (onnx or ""), buffer=True, optional=optional))

    def helper(self, name: str) -> str:
        """Write helper ``name`` (a class or function of ``HELPERS``) into the source; return it."""
        self._helpers.add(name)
        return name

    @property
    def dims(self) -> int:
        """The spatial axes of the layer's input map (1, 2 or 3): ``nn.Conv{dims}d``."""
        return len(self.in_shapes[0]) - 1

    def per_axis(self, field: str) -> tuple:
        """One value of the windows' ``field`` per axis (``kernel``, ``stride``, ``pad_begin``...)."""
        return tuple(getattr(w, field) for w in self.windows)

    def arg(self, field: str) -> object:
        """The windows' ``field`` as a PyTorch argument: one number when every axis has it
        (``kernel_size=3``), else one per axis (``(1, 3)``)."""
        return axes(self.per_axis(field))

    def pads(self, overhang: bool = False) -> tuple[int, ...]:
        """F.pad's pairs from the layer's windows, last axis first ((left, right, top, bottom)
        of a 2-D map); with ``overhang``, each end grown by the ceil-mode window's overhang."""
        return tuple(v for w in reversed(self.windows)
                     for v in (w.pad_begin, w.pad_end + (w.overhang if overhang else 0)))

    def symmetric(self) -> bool:
        """Each window pads the same on both sides (a PyTorch ``padding=``)."""
        return all(w.pad_begin == w.pad_end for w in self.windows)


def init_line(target: str, init, fan_in: int, fan_out: int) -> str:
    """The ``torch.nn.init`` call that draws ``target`` from scheme ``init`` (the same
    distribution as netc's draw, from torch's generator)."""
    from ..initializers import INITIALIZERS

    if isinstance(init, dict):
        return f"nn.init.constant_({target}, {code(float(init['constant']))})"
    _, dist, numerator, over = INITIALIZERS[init]
    if dist == "constant":
        return f"nn.init.{'zeros_' if numerator == 0 else 'ones_'}({target})"
    if dist == "arange":
        return f"{target}.data.copy_(torch.arange({target}.numel()).view_as({target}))  # arange"
    fan = f"({fan_in} + {fan_out}) / 2" if over == "fan_avg" else str(max(fan_in, 1))
    if over == "fan_avg":
        fan = f"({fan})"
    num = code(float(numerator)).removesuffix(".0")
    if dist == "normal":
        return f"nn.init.normal_({target}, std=({num} / {fan}) ** 0.5)  # {init}"
    three = code(3 * float(numerator)).removesuffix(".0")
    bound = f"({three} / {fan}) ** 0.5"
    return f"nn.init.uniform_({target}, -{bound}, {bound})  # {init}"


# helpers a rule may ask for by name (their source is in netc/torch/source.py)
HELPER_NAMES = ("LayerNorm2d", "Scale", *(f"{c}{n}dPReLU" for c in ("Conv", "ConvTranspose") for n in (1, 2, 3)),
                "LinearPReLU",
                "avg_pool_padded", "channel_shuffle", "as_map")
