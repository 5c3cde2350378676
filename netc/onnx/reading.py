"""The reading context: what ``Op.read(node, ctx)`` and ``Op.absorb(p, node, ctx)``
see of the ONNX model being read (netc/onnx/reader.py walks it).

An op's ``read`` turns one ``onnx.NodeProto`` into the op's parameters::

    onnx_types = ("Conv",)

    def read(self, node, ctx):
        k, _, kh, kw = ctx.weight_shape(node, 1)
        stride, padding, dilation = ctx.window(node, (kh, kw))
        return {"filters": k, "kernel": (kh, kw), "stride": stride, ...}

Tensors are of two kinds: *features*, computed from the network input by layers
(their shapes exclude the batch, as netc's do), and *values*, computed from
initializers and constants only (weights, Reshape targets, Clip bounds). Values
are evaluated on demand, for rank 0 and 1 and up to ``MAX_VALUE`` elements (a longer
result is unknown, never built); the batch size, symbolic in most exports, is the string
``"N"``, and k times it a ``Scaled`` (a str too, ``"64*N"``) while arithmetic keeps it
linear in N (``_linear``). A feature tensor whose batch a Reshape folded into one of its axes
(MobileViT's (B·C·n_h, ...) patches) is in ``folded``: its netc shape is its ONNX shape
with k at that axis, and the axes its readers see are shifted (``fold_axes``). Evaluation is bounded like the YAML side's expressions: at most ``MAX_CHAIN``
nodes deep, and arithmetic that grows an integer past ±10^18 (``netc.expr.MAX_MAGNITUDE``)
raises ``ValueLimit`` naming the node, which the reader reports as E005.

Attributes are read through ``ctx.attr``, which checks each against the type ONNX's
schema of the node's op gives it (``strides`` a list of ints, ``axis`` an int...): a
node with an attribute of another type is unsupported, its reason naming the attribute.
"""

from __future__ import annotations

import functools
import itertools
import math
import struct

from ..expr import MAX_MAGNITUDE
from ..ops import OPS
from ..ops.registry import CHANNELS_FIRST, CHANNELS_LAST, Op, Shape, numel
from ..ops.window import ShapeError, same_padding

MAX_VALUE = 64            # elements of a value tensor worth evaluating (shapes, bounds)
MAX_CHAIN = 64            # nodes in a chain of values evaluated for one tensor
MAX_PATTERN = 24          # nodes of one elementwise pattern (GELU's tanh form has 10)
BATCH = "N"               # the symbolic batch size inside evaluated shapes
INT_TYPES = {2, 3, 4, 5, 6, 7, 12, 13}     # TensorProto's (u)int8..64
FLOAT_TYPES = {1, 10, 11, 16}             # float, float16, double, bfloat16


def _readers() -> dict[str, list[Op]]:
    """ONNX op type -> the ops that read it, patterns (``onnx_pattern``) first, generic
    fallbacks (``onnx_fallback``) last."""
    out: dict[str, list[Op]] = {}
    for op in OPS.values():
        for t in op.onnx_types:
            out.setdefault(t, []).append(op)
    for t, ops in out.items():
        ops.sort(key=lambda op: (not op.onnx_pattern, t in op.onnx_fallback))
    return out


READERS = _readers()


class Unsupported(Exception):
    """This node cannot be mapped to netc's op (the reason says why)."""


class ValueLimit(Exception):
    """A value node computes a number past netc's limits; ``node`` is the one that does."""

    def __init__(self, node, message: str):
        super().__init__(message)
        self.node = node


class Scaled(str):
    """``k·N``, the batch times a constant ``k`` other than 1, in an evaluated shape (MobileViT's
    B·C·n_h): a str like ``"N"``, so that code taking ``"N"`` as a symbol (never a number)
    takes it alike; ``coef`` is ``k``. Made by ``batch_times``."""

    coef: int

    def __new__(cls, coef: int):
        s = super().__new__(cls, f"{coef}*N")
        s.coef = coef
        return s


def batch_times(k: int):
    """The batch times ``k``: ``"N"`` for 1, 0 for 0, else ``Scaled(k)``."""
    return BATCH if k == 1 else 0 if k == 0 else Scaled(k)


def batch_coef(x) -> int | None:
    """``k`` when ``x`` is the batch times ``k`` (``"N"``: 1), else None."""
    if isinstance(x, Scaled):
        return x.coef
    return 1 if x == BATCH and isinstance(x, str) else None


def _linear(op: str, x, y):
    """``x op y`` where one of them is a multiple of the batch, when the result stays one (or
    a number): k·N times or exactly divided by an int, k·N ± j·N, k·N ± 0, k·N / j·N;
    None otherwise (N·N, k·N + 1: not linear in N, unknown)."""
    cx, cy = batch_coef(x), batch_coef(y)
    ints = all(c is not None or (type(v) is int) for c, v in ((cx, x), (cy, y)))
    if not ints:
        return None
    if op == "Mul":
        if cx is not None and cy is not None:
            return None
        return batch_times(cx * y) if cx is not None else batch_times(x * cy)
    if op == "Div":
        if cy is not None:
            return cx // cy if cx is not None and cx % cy == 0 else None
        return batch_times(cx // y) if y and cx % y == 0 else None
    if cx is not None and cy is not None:
        return batch_times(cx + cy if op == "Add" else cx - cy)
    if (x if cy is not None else y) != 0:
        return None
    if cy is not None:                                    # 0 + k·N, 0 - k·N
        return batch_times(cy if op == "Add" else -cy)
    return x


# AttributeProto.type -> what ONNX calls it and what ``attr`` returns for it
_ATTR_KINDS = {1: "FLOAT", 2: "INT", 3: "STRING", 4: "TENSOR", 5: "GRAPH", 6: "FLOATS", 7: "INTS"}
_SCHEMAS: dict = {}     # (op type, opset) -> ({attribute: AttributeProto.type}, inputs required)


def _kind_of(default) -> int | None:
    """The AttributeProto type a reader's default stands for (a list of floats: FLOATS)."""
    if isinstance(default, (list, tuple)):
        return 6 if any(isinstance(v, float) for v in default) else 7
    return {float: 1, int: 2, str: 3}.get(type(default))


@functools.lru_cache(maxsize=1)
def _onnx_ops() -> frozenset:
    """The op types of ONNX's default domain (unknown ones are never looked up one by one)."""
    import onnx.defs

    return frozenset(s.name for s in onnx.defs.get_all_schemas() if s.domain in ("", "ai.onnx"))


def schema(op_type: str, domain: str, opset: int) -> tuple[dict, int] | None:
    """What ONNX's schema of ``op_type`` says (default domain only): the type of each
    attribute and how many inputs the op requires; None when ONNX does not define it."""
    if domain not in ("", "ai.onnx") or op_type not in _onnx_ops():
        return None
    key = (op_type, opset)
    if key not in _SCHEMAS:
        import onnx.defs

        try:
            s = onnx.defs.get_schema(op_type, opset, "")
            _SCHEMAS[key] = ({name: int(a.type) for name, a in s.attributes.items()}, s.min_input)
        except (onnx.defs.SchemaError,         # an op of a later opset than the model's
                TypeError):                    # an opset past a C int (a hostile model)
            _SCHEMAS[key] = None
    return _SCHEMAS[key]


class ReadingContext:
    """The model as the reader sees it while walking the nodes in order.

    shapes   feature tensor -> netc shape (no batch)
    opset    the default-domain opset version
    batch    the input's batch size: an int, or ``"N"`` when symbolic
    layout   the layout of the node being read: ``CHANNELS_FIRST``, or ``CHANNELS_LAST`` for a
             node inside a channels-last region (read only by ops with ``channels_last``)
    channels_last  the feature tensors held channels-last; their netc shape stays (C, H, W)
    """

    def __init__(self, graph, nodes: list, opset: int, batch):
        self.graph = graph
        self.opset = opset
        self.batch = batch
        self.shapes: dict[str, Shape] = {}
        self.initializers = {t.name: t for t in graph.initializer}
        self.producer = {o: n for n in nodes for o in n.output if o}
        self.value_info = {v.name: v for v in (*graph.value_info, *graph.input)}
        self.graph_outputs = {o.name for o in graph.output}
        self.consumers: dict[str, list] = {}
        for n in nodes:
            if not n.output:                           # computes nothing: no pattern's member
                continue                               # (read, and refused, on its own)
            for t in dict.fromkeys(n.input):           # Mul(d, d) reads d once
                if t:
                    self.consumers.setdefault(t, []).append(n)
        self.index = {id(n): i for i, n in enumerate(nodes)}
        self.current = 0          # index of the node being read
        self.taken: list = []     # later nodes of its pattern that the read or absorb takes
        self.output_index = 0     # which output of a several-output node is read (Op.per_output)
        self.layout = CHANNELS_FIRST
        self.channels_last: set[str] = set()
        self._values: dict[str, object] = {}
        self._depth = 0
        self._value_shapes: dict[str, tuple[int, ...] | None] = {}
        self._shape_depth = 0
        self._dims: dict[str, tuple[int, ...]] = {}   # value tensors of rank other than 1 (matrices
                                                        # in F.pad's chain): their dims
        # feature tensors whose batch is folded into one axis (B·k: MobileViT's patches): their
        # netc shape is the ONNX shape, k at that axis p (folded[t] = p); ONNX axis a >= 1 of
        # such a tensor is netc's axis a + 1 (netc's axes count the batch): ``attr`` and ``axes``
        # shift the axes of the nodes that read one (``fold_axes``)
        self.folded: dict[str, int] = {}
        self.fold_result: int | None = None    # where the batch lands in the layer being read

    # -- errors ---------------------------------------------------------------
    @staticmethod
    def unsupported(reason: str) -> Unsupported:
        """``raise ctx.unsupported("3-D convolution")``."""
        return Unsupported(reason)

    @staticmethod
    def shape_error(message: str, param: str | None = None) -> ShapeError:
        return ShapeError(message, param)

    # -- attributes -------------------------------------------------------------
    def attr(self, node, name: str, default=None):
        """An attribute's value: int, float, str, or list of ints/floats; else ``default``.
        Unsupported when the attribute is not of the type ONNX's schema gives it (an INT
        ``strides``, FLOATS ``axis``)."""
        for a in node.attribute:
            if a.name == name:
                kind = a.type            # AttributeProto: FLOAT 1, INT 2, STRING 3, FLOATS 6, INTS 7
                known = schema(node.op_type, node.domain, self.opset)
                want = known[0].get(name) if known else None
                if want is None and default is not None:    # no schema (a made-up opset): the
                    want = _kind_of(default)                # reader's default says the type
                if want is not None and kind != want:
                    raise Unsupported(f"attribute {name!r} is {_ATTR_KINDS.get(kind, f'of type {kind}')}, "
                                      f"not {_ATTR_KINDS.get(want, want)} as ONNX's {node.op_type} gives it")
                if kind == 1:
                    return a.f
                if kind == 2:
                    return a.i if not self.folded else self.fold_axes(node, name, a.i)
                if kind == 3:
                    return a.s.decode("utf-8", "replace")
                if kind == 6:
                    return list(a.floats)
                if kind == 7:
                    return list(a.ints) if not self.folded else self.fold_axes(node, name, list(a.ints))
                raise Unsupported(f"attribute {name!r} of an unexpected type")
        return default

    def check_inputs(self, node) -> None:
        """Unsupported when ``node`` lacks an input ONNX's schema of its op requires (a
        Slice with only data and starts)."""
        known = schema(node.op_type, node.domain, self.opset)
        if known and not all(self.has_input(node, i) for i in range(known[1])):
            raise Unsupported(f"{len([t for t in node.input if t])} inputs where ONNX's {node.op_type} "
                              f"requires {known[1]}")

    @staticmethod
    def near(x: float, want: float, tol: float = 1e-7) -> bool:
        """Whether ``x`` is ``want`` within ``tol`` (never for NaN)."""
        return math.isclose(x, want, rel_tol=0.0, abs_tol=tol)

    @staticmethod
    def float32(x: float) -> float:
        """The shortest decimal that rounds to the same float32 as ``x`` (ONNX float
        attributes are float32: 0.01 is stored as 0.009999999776)."""
        try:
            want = struct.pack("<f", x)
        except (OverflowError, struct.error):
            return x                             # not a float32 (a double constant): as it is
        for digits in range(1, 10):
            v = float(f"{x:.{digits}g}")
            if struct.pack("<f", v) == want:
                return v
        return x  # pragma: no cover - 9 digits always round-trip a float32

    # -- tensors -----------------------------------------------------------------
    def is_feature(self, tensor: str) -> bool:
        return tensor in self.shapes

    def input_shape(self, node, i: int = 0) -> Shape:
        """The netc shape of input ``i``, which must be computed from the network input."""
        if len(node.input) <= i or node.input[i] not in self.shapes:
            raise Unsupported(f"input {i} is not computed from the network input")
        return self.shapes[node.input[i]]

    def has_input(self, node, i: int) -> bool:
        return len(node.input) > i and node.input[i] != ""

    def weight_shape(self, node, i: int) -> tuple[int, ...]:
        """The full shape of input ``i``, a weight (initializer, constant or typed value)."""
        if not self.has_input(node, i):
            raise Unsupported(f"input {i} is missing")
        t = node.input[i]
        if self.is_feature(t):
            raise Unsupported(f"input {i} ({t!r}) is computed from the network input, not a weight")
        shape = self.static_shape(t)
        if shape is None:
            raise Unsupported(f"the shape of input {i} ({t!r}) is not known")
        return shape

    def learned(self, t: str) -> bool:
        """Whether ``t`` is an initializer, directly or through the Identity, Cast or
        DequantizeLinear nodes exporters put in front of one (the TorchScript exporter
        shares identical initializers, e.g. the ones and zeros of untrained norms, through
        Identity nodes)."""
        for _ in range(16):
            if t in self.initializers:
                return True
            node = self.producer.get(t)
            if node is None or node.op_type not in ("Identity", "Cast", "DequantizeLinear"):
                return False
            t = node.input[0]
        return False

    def static_shape(self, t: str, depth: int = 0) -> tuple[int, ...] | None:
        """The full shape of a value tensor, when the model states it."""
        if t in self.initializers:
            return tuple(self.initializers[t].dims)
        node = self.producer.get(t)
        if node is not None and node.op_type == "Constant":
            for a in node.attribute:
                if a.name == "value":
                    return tuple(a.t.dims)
        if node is not None and node.op_type in ("Identity", "Cast", "DequantizeLinear") and depth < 16 \
                and node.input:
            return self.static_shape(node.input[0], depth + 1)
        v = self.value_info.get(t)
        if v is not None and v.type.tensor_type.HasField("shape"):
            dims = v.type.tensor_type.shape.dim
            if all(d.HasField("dim_value") for d in dims):
                return tuple(d.dim_value for d in dims)
        return self.computed_shape(t) if node is not None else None

    def computed_shape(self, t: str) -> tuple[int, ...] | None:
        """The shape of a value computed in the graph from constants: a weight written as
        ConstantOfShape of a stored shape (the onnx package's Caffe2 model zoo), or an
        initializer passed through shape-preserving, broadcasting, reducing or reshaping
        nodes (NF-nets' weight standardization: ReduceMean, Sub, Div, Reshape). Shapes only:
        no tensor is materialized; memoized, and at most ``MAX_CHAIN`` nodes deep."""
        if t in self._value_shapes:
            return self._value_shapes[t]
        if self._shape_depth >= MAX_CHAIN:
            return None                              # not cached: a shorter path may know it
        self._value_shapes[t] = None                 # a cycle has no shape
        self._shape_depth += 1
        try:
            shape = self._node_shape(self.producer.get(t), t)
            if shape is None:            # a value evaluated from shapes (attention's scale 1/sqrt(d))
                v = self.value(t)
                shape = (len(v),) if v is not None and t not in self._dims else None
        except (Unsupported, ValueError, TypeError, IndexError):
            shape = None
        finally:
            self._shape_depth -= 1
        self._value_shapes[t] = shape
        return shape

    def _node_shape(self, node, t: str = "") -> tuple[int, ...] | None:
        if node is None or node.domain not in ("", "ai.onnx"):
            return None
        op, ins = node.op_type, list(node.input)
        if not ins or any(self.is_feature(i) for i in ins if i):
            return None
        if op in NORMALIZE and t == node.output[0]:
            # timm's ScaledStdConv2d (NF-nets) standardizes its weight with F.batch_norm
            # in training mode: a BatchNormalization of three outputs, the first the
            # weight's shape
            return self.static_shape(ins[0])
        if len(node.output) != 1:
            return None
        if op == "ConstantOfShape":
            dims = self.value(ins[0])
            if dims is None or not all(type(d) is int and d >= 0 for d in dims):
                return None
            return tuple(dims)
        if op == "Range" and len(ins) == 3:    # Range(0, N, 1): the batch index, of shape (N,)
            if [self.value(ins[0]), self.value(ins[2])] == [[0], [1]]:
                limit = self.value(ins[1])
                if limit is not None and len(limit) == 1 and batch_coef(limit[0]) is not None:
                    return (limit[0],)
            return None
        if op == "Concat":                # ScatterND's indices: (N, K, 1) parts on the last axis
            shapes = [self.static_shape(i) for i in ins]
            axis = self.attr(node, "axis", 0)
            if any(sh is None or len(sh) != len(shapes[0]) for sh in shapes) or not shapes[0] \
                    or type(axis) is not int or not -len(shapes[0]) <= axis < len(shapes[0]):
                return None
            a = axis % len(shapes[0])
            if any(sh[:a] + sh[a + 1:] != shapes[0][:a] + shapes[0][a + 1:] or type(sh[a]) is not int
                   for sh in shapes):
                return None
            return (*shapes[0][:a], sum(sh[a] for sh in shapes), *shapes[0][a + 1:])
        if op == "Expand" and len(ins) == 2:
            to = self.value(ins[1])
            if to is None or not all(type(d) is int and d >= 0 or batch_coef(d) is not None for d in to):
                return None
            return _broadcast(self.static_shape(ins[0]), tuple(to))
        shape = self.static_shape(ins[0])
        if shape is None:
            return None
        if op in SAME_SHAPE:
            return shape
        if op in BROADCAST:
            for i in ins[1:]:
                shape = _broadcast(shape, self.static_shape(i) if i else None)
            return shape
        if op in REDUCE:
            axes = self.axes(node)
            keep, rank = self.attr(node, "keepdims", 1), len(shape)
            if not axes:                             # none given, or an empty input
                if self.attr(node, "noop_with_empty_axes", 0):
                    return shape
                axes = range(rank)
            if not all(type(a) is int and -rank <= a < rank for a in axes):
                return None
            axes = {a % rank for a in axes}
            return tuple(1 if i in axes else d for i, d in enumerate(shape) if keep or i not in axes)
        if op == "Reshape":
            return _reshaped(shape, self.value(ins[1]) if len(ins) > 1 else None,
                             self.attr(node, "allowzero", 0))
        if op in ("Unsqueeze", "Squeeze"):
            axes = self.axes(node)
            rank = len(shape) + (len(axes) if op == "Unsqueeze" and axes is not None else 0)
            if axes is None:
                return tuple(d for d in shape if d != 1) if op == "Squeeze" else None
            if not all(type(a) is int and -rank <= a < rank for a in axes):
                return None
            axes = {a % rank for a in axes}
            if op == "Unsqueeze" and len(axes) != rank - len(shape):
                return None
            if op == "Squeeze":
                return tuple(d for i, d in enumerate(shape) if i not in axes) if all(
                    shape[a] == 1 for a in axes) else None
            rest = iter(shape)
            return tuple(1 if i in axes else next(rest) for i in range(rank))
        if op == "Transpose":
            perm = self.attr(node, "perm", list(range(len(shape)))[::-1])
            if sorted(perm) != list(range(len(shape))):
                return None
            return tuple(shape[i] for i in perm)
        return None

    def value(self, tensor: str):
        """The elements of a value tensor of rank 0 or 1, as a list (a scalar is a list
        of one), or None when it cannot be evaluated; ``"N"`` stands for the batch."""
        if not tensor or self.is_feature(tensor):
            return None
        if tensor not in self._values:
            if self._depth >= MAX_CHAIN:
                return None                          # not cached: a shorter path may know it
            self._values[tensor] = None              # a cycle evaluates to unknown
            self._depth += 1
            try:
                v = self._evaluate(tensor)
                self._values[tensor] = v if v is None or len(v) <= MAX_VALUE else None
            except (Unsupported, ValueError, TypeError, IndexError, ZeroDivisionError):
                self._values[tensor] = None
            finally:
                self._depth -= 1
        return None if len(self._dims.get(tensor, ())) > 1 else self._values[tensor]

    def _items(self, t: str):
        """The elements of a value tensor of any rank, flat in row-major order, its dims in
        ``_dims`` when its rank is not 1; or None. Only the shape chains that pass through
        a matrix read these (F.pad's: Reshape to [-1, 2], Slice with step -1, Transpose);
        ``value`` gives ranks 0 and 1 only."""
        self.value(t)
        return self._values.get(t) if t and not self.is_feature(t) else None

    def _evaluate(self, t: str):
        if t in self.initializers:
            return _tensor_values(self.initializers[t])
        node = self.producer.get(t)
        if node is None:
            return None
        op, ins = node.op_type, list(node.input)
        if node.domain not in ("", "ai.onnx"):
            return None
        if op == "Constant":
            for a in node.attribute:
                if a.name == "value":
                    return _tensor_values(a.t)
                if a.name in ("value_int", "value_float"):
                    return [a.i if a.name == "value_int" else a.f]
                if a.name in ("value_ints", "value_floats"):
                    items = a.ints if a.name == "value_ints" else a.floats
                    return list(items) if len(items) <= MAX_VALUE else None
            return None
        if op == "Shape":
            if self.is_feature(ins[0]):
                dims = [self.batch, *self.shapes[ins[0]]]
                if self.folded and ins[0] in self.folded:    # the batch folded into axis p
                    p = self.folded[ins[0]]
                    dims = list(self.shapes[ins[0]])
                    dims[p] = batch_times(dims[p]) if self.batch == BATCH else self.batch * dims[p]
                elif ins[0] in self.channels_last:
                    dims = [dims[0], *dims[2:], dims[1]]
            else:
                shape = self.static_shape(ins[0])
                if shape is None:
                    # the pads F.pad computes: Shape of a Concat of values (rank 1 always)
                    v = self.value(ins[0])
                    src = self.producer.get(ins[0])
                    if v is None or src is None or src.op_type != "Concat" or ins[0] in self._dims:
                        return None
                    shape = (len(v),)
                dims = list(shape)
            start, end = self.attr(node, "start", 0), self.attr(node, "end", None)
            return dims[start:end]
        if op == "Identity":
            return self.value(ins[0])
        if op == "Cast":
            # timm's 'same' padding as TorchScript exports it computes the pads in float
            # (Cast to float, Div, Ceil, Clip, Cast back to int64): ints stay exact,
            # a float becomes an int by truncation, as onnxruntime casts
            v, to = self.value(ins[0]), self.attr(node, "to", 0)
            if v is None or BATCH in v:
                return v
            if to in INT_TYPES:
                return [int(x) if math.isfinite(x) else None for x in v] if all(
                    isinstance(x, (int, float)) and math.isfinite(x) for x in v) else None
            if to in FLOAT_TYPES:
                return [float(x) for x in v]
            return v
        if op in ("Ceil", "Floor"):
            v = self.value(ins[0])
            if v is None or not all(isinstance(x, (int, float)) and math.isfinite(x) for x in v):
                return None
            f = math.ceil if op == "Ceil" else math.floor
            return [float(f(x)) if isinstance(x, float) else x for x in v]
        if op == "Range":                 # numbers only, at most MAX_VALUE of them (never built past it)
            bounds = [self.value(i) for i in ins[:3]]
            if len(bounds) != 3 or any(b is None or len(b) != 1 or type(b[0]) is not int for b in bounds) \
                    or bounds[2][0] == 0:
                return None
            start, limit, delta = (b[0] for b in bounds)
            if max(0, -((start - limit) // delta)) > MAX_VALUE:
                return None
            return list(range(start, limit, delta))
        if op in ("Equal", "Where"):      # TorchScript's expand: Where(Equal(shape, -1), 1, shape)
            vs = [self.value(i) for i in ins]
            if len(vs) != (2 if op == "Equal" else 3) or any(v is None for v in vs):
                return None
            n = max(len(v) for v in vs)
            if any(len(v) not in (1, n) for v in vs):
                return None
            vs = [v * n if len(v) == 1 else v for v in vs]
            if op == "Where":
                return [a if c else b for c, a, b in zip(*vs)]
            out = []
            for a, b in zip(*vs):
                if isinstance(a, str) or isinstance(b, str):     # k·N is positive: never a number < 1
                    other = b if isinstance(a, str) else a
                    if isinstance(a, str) and isinstance(b, str):
                        out.append(a == b)
                    elif type(other) is int and other < 1:
                        out.append(False)
                    else:
                        return None
                else:
                    out.append(a == b)
            return out
        if op == "Sqrt":                  # attention's scale: 1 / sqrt(the head size from a Shape)
            v = self.value(ins[0])
            if v is None or not all(type(x) in (int, float) and x >= 0 for x in v):
                return None
            return [math.sqrt(x) for x in v]
        if op == "Clip":
            v = self.value(ins[0])
            if v is None or BATCH in v:
                return None
            if self.opset < 11:
                lo, hi = self.attr(node, "min", None), self.attr(node, "max", None)
            else:
                lo = self.value(ins[1]) if self.has_input(node, 1) else None
                hi = self.value(ins[2]) if self.has_input(node, 2) else None
                if (self.has_input(node, 1) and lo is None) or (self.has_input(node, 2) and hi is None):
                    return None
                lo, hi = (lo[0] if lo else None), (hi[0] if hi else None)
            return [min(max(x, lo) if lo is not None else x, hi) if hi is not None else
                    (max(x, lo) if lo is not None else x) for x in v]
        if op == "Gather":
            data, idx = self.value(ins[0]), self.value(ins[1])
            if data is None or idx is None or self.attr(node, "axis", 0) != 0:
                return None
            return [data[i] for i in idx]
        if op == "Unsqueeze" or op == "Squeeze":
            return self.value(ins[0])
        if op == "Concat":
            parts = [self.value(i) for i in ins]
            if any(p is None for p in parts):
                return None
            return [x for p in parts for x in p]
        if op == "Slice":
            data = self._items(ins[0])
            if data is None:
                return None
            if ins[0] in self._dims:
                return self._slice_matrix(node, data, self._dims[ins[0]])
            if self.opset < 10:
                starts, ends = self.attr(node, "starts"), self.attr(node, "ends")
                steps = [1]
            else:
                starts, ends = self.value(ins[1]), self.value(ins[2])
                steps = self.value(ins[4]) if self.has_input(node, 4) else [1]
            if starts is None or ends is None or steps is None or len(starts) != 1:
                return None
            return data[starts[0]:ends[0]:steps[0]]
        if op in ("Mul", "Div", "Add", "Sub"):
            a, b = self.value(ins[0]), self.value(ins[1])
            if a is None or b is None:
                return None
            if len(a) == 1:
                a = a * len(b)
            if len(b) == 1:
                b = b * len(a)
            if any(isinstance(x, str) for x in (*a, *b)):     # the batch, a multiple of it
                out = [_linear(op, x, y) for x, y in zip(a, b, strict=True)]
                if any(x is None for x in out):
                    return None
                for x in out:
                    if abs(batch_coef(x) or 0) > MAX_MAGNITUDE:
                        raise ValueLimit(node, f"{op} computes a multiple of the batch beyond ±10^18 "
                                               f"({_digits(batch_coef(x))}·N) for a shape: past netc's limits")
                return out
            f = {"Mul": lambda x, y: x * y, "Add": lambda x, y: x + y, "Sub": lambda x, y: x - y,
                 "Div": lambda x, y: x // y if isinstance(x, int) and isinstance(y, int) else x / y}[op]
            out = [f(x, y) for x, y in zip(a, b, strict=True)]
            for x, y, z in zip(a, b, out):
                if isinstance(z, float) and not math.isfinite(z):
                    return None
                if isinstance(z, int) and abs(z) > max(MAX_MAGNITUDE, abs(x), abs(y)):
                    raise ValueLimit(node, f"{op} computes a value beyond ±10^18 ({_digits(z)}) for a "
                                           "shape or bound: past netc's limits")
            return out
        if op in ("ConstantOfShape", "Reshape", "Transpose"):
            return self._evaluate_shaped(node)
        return None

    # F.pad's pads as TorchScript computes them (``_prepare_onnx_paddings``): ConstantOfShape
    # zeros, Reshape to [-1, 2], Slice with step -1 on axis 0, Transpose, Reshape to [-1]
    def _evaluate_shaped(self, node):
        t, ins, op = node.output[0], list(node.input), node.op_type
        if op == "ConstantOfShape":
            dims = self.value(ins[0])
            fill = next((_tensor_values(a.t) for a in node.attribute if a.name == "value"), [0.0])
            if dims is None or fill is None or len(fill) != 1 or not all(
                    isinstance(d, int) and d >= 0 for d in dims) or numel(tuple(dims)) > MAX_VALUE:
                return None
            if len(dims) != 1:
                self._dims[t] = tuple(dims)
            return fill * numel(tuple(dims))
        data = self._items(ins[0])
        if data is None or len(data) > MAX_VALUE:
            return None
        dims = self._dims.get(ins[0], (len(data),))
        if op == "Reshape":
            target = self.value(ins[1]) if self.has_input(node, 1) else None
            if target is None or not all(isinstance(d, int) for d in target) or target.count(-1) > 1:
                return None
            copy = not self.attr(node, "allowzero", 0)
            out = [dims[i] if d == 0 and copy and i < len(dims) else d for i, d in enumerate(target)]
            if -1 in out:
                known = numel(tuple(d for d in out if d != -1))
                if known < 1 or len(data) % known:
                    return None
                out[out.index(-1)] = len(data) // known
            if min(out, default=0) < 0 or numel(tuple(out)) != len(data):
                return None
        else:                                           # Transpose
            perm = self.attr(node, "perm", list(range(len(dims)))[::-1])
            if sorted(perm) != list(range(len(dims))):
                return None
            out = [dims[p] for p in perm]
            strides = [numel(tuple(dims[i + 1:])) for i in range(len(dims))]
            data = [data[sum(i * strides[p] for i, p in zip(index, perm))]
                    for index in itertools.product(*(range(d) for d in out))]
        if len(out) != 1:
            self._dims[t] = tuple(out)
        return data

    def _slice_matrix(self, node, data: list, dims: tuple[int, ...]):
        """A Slice of one axis of a value of rank other than 1 (F.pad's flip: step -1)."""
        if self.opset < 10 or not dims or not all(self.has_input(node, i) for i in (1, 2, 3)):
            return None
        starts, ends, axes = (self.value(node.input[i]) for i in (1, 2, 3))
        steps = self.value(node.input[4]) if self.has_input(node, 4) else [1]
        if any(v is None or len(v) != 1 or not isinstance(v[0], int) for v in (starts, ends, axes, steps)) \
                or not -len(dims) <= axes[0] < len(dims):
            return None
        a = axes[0] % len(dims)
        keep = range(*slice(starts[0], ends[0], steps[0]).indices(dims[a]))
        inner, n = numel(tuple(dims[a + 1:])), dims[a]
        self._dims[node.output[0]] = (*dims[:a], len(keep), *dims[a + 1:])
        return [data[(o * n + k) * inner + i] for o in range(numel(tuple(dims[:a]))) for k in keep
                for i in range(inner)]

    def axes(self, node, i: int = 1):
        """A node's ``axes``: the attribute (older opsets) or constant input ``i``; None
        when neither is given or known."""
        axes = self.attr(node, "axes")
        if axes is None and self.has_input(node, i):
            axes = self.value(node.input[i])
            if self.folded and axes is not None:
                axes = self.fold_axes(node, "axes", axes)
        return axes

    def fold_position(self, node) -> int | None:
        """The axis into which the batch is folded in ``node``'s feature inputs (``folded``), or
        None when none is folded; Unsupported when they differ."""
        ps = {self.folded[t] for t in node.input if t in self.folded}
        if len(ps) > 1:
            raise Unsupported("inputs with the batch folded into different axes")
        return next(iter(ps), None)

    def fold_axes(self, node, name: str, v):
        """Attribute ``name`` of ``node`` as netc's ops read it when an input of ``node`` has the
        batch folded into axis p (``folded``): axes (``axis``, ``axes``) >= 0 plus one, ``perm``
        with the batch put first; Unsupported for an axis that is p (or, for Softmax and
        LayerNormalization, normalizes over it)."""
        if name not in ("axis", "axes", "perm") or not isinstance(v, (int, list)):
            return v
        p = self.fold_position(node)
        if p is None:
            return v
        if name == "perm":
            return [0, *(q + 1 if type(q) is int else q for q in v)]
        items = v if isinstance(v, list) else [v]
        if not all(type(a) is int for a in items):
            return v
        if node.op_type != "Unsqueeze":
            rank = len(self.shapes[next(t for t in node.input if t in self.folded)])
            trailing = node.op_type in ("Softmax", "LogSoftmax", "LayerNormalization", "Flatten")
            for a in items:
                if -rank <= a < rank and (a % rank <= p if trailing else a % rank == p):
                    raise Unsupported(f"{node.op_type} over axis {a}, into which the batch is folded "
                                      f"(axis {p}: {self.shapes[next(t for t in node.input if t in self.folded)][p]}·N); "
                                      "netc reads ops on the other axes of such a tensor")
        out = [a + 1 if a >= 0 else a for a in items]
        return out if isinstance(v, list) else out[0]

    def batch_rows(self, t: str) -> list[tuple[int, ...]]:
        """The per-sample rows of ScatterND indices ``t`` of shape (N, K, d): the
        Concat on the last axis of Unsqueezed (N, K) components, the first the batch index
        (Range(0, N, 1) reshaped to (N, 1), expanded), the others a constant vector of K
        expanded over the batch (YOLO pose's ``y[:, 0::3] = ...`` as TorchScript writes it):
        K tuples of d - 1 indices, the same for every sample. Unsupported otherwise."""
        fail = Unsupported("ScatterND indices that are not the batch index beside constant indices "
                           "(netc reads the writes y[:, idx] = u, the same idx for every sample)")
        node = self.producer.get(t)
        if node is None or node.op_type != "Concat" or len(node.input) < 2 or self.static_shape(t) is None:
            raise fail
        shape = self.static_shape(t)
        if len(shape) != 3 or shape[0] != BATCH or shape[2] != len(node.input) or self.attr(node, "axis") not in (-1, 2):
            raise fail
        k, comps = shape[1], []
        for part in node.input:
            u = self.producer.get(part)
            if u is None or u.op_type != "Unsqueeze" or self.axes(u) not in ([-1], [2]) \
                    or self.static_shape(u.input[0]) != (BATCH, k):
                raise fail
            comps.append(u.input[0])
        vectors = []
        for i, c in enumerate(comps):
            e = self.producer.get(c)
            if e is None or e.op_type != "Expand":
                raise fail
            src = e.input[0]
            if i == 0:
                r = self.producer.get(src)
                if r is None or r.op_type != "Reshape" or self.static_shape(src) != (BATCH, 1):
                    raise fail
                g = self.producer.get(r.input[0])
                if g is None or g.op_type != "Range" or self.static_shape(r.input[0]) != (BATCH,):
                    raise fail
            else:
                v = self.value(src)
                if v is None or len(v) != k or self.static_shape(src) not in ((k,), (1, k)) or \
                        not all(type(x) is int for x in v):
                    raise fail
                vectors.append(v)
        return list(zip(*vectors))

    def uniform(self, tensor: str):
        """The one value every element of a constant tensor holds, or None (unknown, or
        values that differ)."""
        t = self.initializers.get(tensor)
        if t is not None and (t.data_location == 1 or numel(tuple(t.dims)) > 1 << 16):
            return None
        if t is not None:
            from onnx import numpy_helper

            try:
                arr = numpy_helper.to_array(t).reshape(-1) if (t.raw_data or t.float_data or t.int64_data
                                                               or t.double_data or t.int32_data) else None
            except (KeyError, ValueError, TypeError):  # an unknown element type; data that do not fill dims
                return None
        else:
            v = self.value(tensor)
            arr = v
        if arr is None or len(arr) == 0 or any(a != arr[0] for a in arr):
            return None
        return self.float32(float(arr[0]))

    def slices(self, node) -> dict[int, tuple[int, int]]:
        """A Slice node's [start, end) per axis of its input (axes counted with the batch,
        ends clamped to the size, ONNX's rule); Unsupported for steps other than 1 or
        bounds that are not constants."""
        shape = (None, *self.input_shape(node))
        rank = len(shape)
        if self.opset < 10:
            starts, ends, axes = self.attr(node, "starts"), self.attr(node, "ends"), self.attr(node, "axes")
            steps = None
        else:
            if not (self.has_input(node, 1) and self.has_input(node, 2)):
                raise self.unsupported("a Slice without its starts and ends")
            starts, ends = self.value(node.input[1]), self.value(node.input[2])
            axes = self.value(node.input[3]) if self.has_input(node, 3) else None
            steps = self.value(node.input[4]) if self.has_input(node, 4) else None
        if starts is None or ends is None or len(starts) != len(ends):
            raise Unsupported("Slice bounds that are not constants")
        shift = self.opset >= 10 or axes is None       # (an attribute is shifted as it is read)
        axes = list(range(len(starts))) if axes is None else axes
        if shift and self.folded and isinstance(axes, list):
            axes = self.fold_axes(node, "axes", list(axes))
        if len(axes) != len(starts) or (steps is not None and list(steps) != [1] * len(starts)):
            raise Unsupported(f"Slice with steps {steps} (netc reads steps of 1)")
        out = {}
        for a, b, e in zip(axes, starts, ends):
            if not all(isinstance(v, int) for v in (a, b, e)) or not -rank <= a < rank or a % rank in out:
                raise Unsupported(f"Slice on axes {axes}")
            a %= rank
            n = shape[a]
            if n is None:
                raise Unsupported("Slice on the batch axis")
            b, e = (min(max(v + n if v < 0 else v, 0), n) for v in (b, e))
            out[a] = (b, e)
        return out

    def reshape_target(self, node):
        """Reshape ``node``'s constant target shape, or None when it is not a constant (or
        ``node`` no Reshape). ``allowzero=1`` (every dynamo Reshape) matters only when the
        target holds a 0, then an empty dimension rather than a copy of the input's:
        Unsupported, saying so."""
        target = self.value(node.input[1]) if node.op_type == "Reshape" and self.has_input(node, 1) else None
        if target is not None and 0 in target and self.attr(node, "allowzero", 0):
            raise Unsupported(f"Reshape to [{', '.join(map(str, target))}] with allowzero=1: its 0 is a "
                              "dimension of size zero, not a copy of the input's (netc reads a 0 as a copy, "
                              "as allowzero=0 says)")
        return target

    def reshapes_to(self, node, want: list[int]) -> bool:
        """True when Reshape ``node``'s constant target is ``want`` (the batch first,
        as N, the fixed batch, 0 or -1; elsewhere -1 may stand for one size); Unsupported
        for a 0 under allowzero=1 (``reshape_target``)."""
        target = self.reshape_target(node)
        if target is None or len(target) != len(want):
            return False
        inferred = [i for i, t in enumerate(target) if t == -1]
        if len(inferred) > 1 or target[0] not in (BATCH, self.batch, 0, -1):
            return False
        return all(t == w or (t == -1 and i == inferred[0]) for i, (t, w) in enumerate(zip(target, want))
                   if i > 0)

    def scalar(self, node, i: int, default=None):
        """The value of optional scalar input ``i`` (``default`` when absent)."""
        if not self.has_input(node, i):
            return default
        v = self.value(node.input[i])
        if v is None or len(v) != 1:
            raise Unsupported(f"input {i} ({node.input[i]!r}) is not a constant scalar")
        return v[0]

    # -- sliding windows ---------------------------------------------------------
    def window(self, node, kernel: tuple[int, ...]):
        """(stride, padding, dilation) of a sliding-window node over the n = len(kernel)
        spatial axes: ``strides``, ``dilations``, and ``pads`` [begin..., end...] (2-D:
        [top, left, bottom, right]) or ``auto_pad`` (SAME_UPPER: the extra row at the
        end, SAME_LOWER: at the beginning)."""
        n = len(kernel)
        stride = tuple(self.attr(node, "strides", [1] * n))
        dilation = tuple(self.attr(node, "dilations", [1] * n))
        if len(stride) != n or len(dilation) != n:
            raise Unsupported("strides or dilations of the wrong length")
        auto = self.attr(node, "auto_pad", "NOTSET") or "NOTSET"
        if auto == "NOTSET":
            pads = self.attr(node, "pads", [0] * 2 * n)
            if len(pads) != 2 * n:
                raise Unsupported(f"pads {pads} of the wrong length")
            if min(pads) < 0:
                raise Unsupported(f"negative pads {pads} (cropping)")
            padding = tuple(zip(pads[:n], pads[n:]))
        elif auto == "VALID":
            padding = ((0, 0),) * n
        elif auto in ("SAME_UPPER", "SAME_LOWER"):
            sizes = self.input_shape(node)[1:]
            if len(sizes) != n:
                raise Unsupported(f"a {n}-D window on the input {list(self.input_shape(node))}")
            padding = []
            for size, k, s, d in zip(sizes, kernel, stride, dilation):
                if min(k, s, d) < 1:
                    raise Unsupported("kernel, stride and dilation must be positive")
                lo, hi = same_padding(size, k, s, d)
                padding.append((lo, hi) if auto == "SAME_UPPER" else (hi, lo))
            padding = tuple(padding)
        else:
            raise Unsupported(f"unknown auto_pad {auto!r}")
        return stride, padding, dilation

    def kernel(self, node, default: tuple[int, ...] | None = None) -> tuple[int, ...]:
        """``kernel_shape`` of a window over every spatial axis of the node's input (1, 2 or 3)."""
        k = tuple(self.attr(node, "kernel_shape", default or ()))
        rank = len(self.input_shape(node)) - 1
        if not 1 <= len(k) <= 3 or len(k) != rank:
            raise Unsupported(f"a {len(k)}-D window on the input {list(self.input_shape(node))} "
                              "(netc reads 1-, 2- and 3-D windows over every spatial axis)"
                              if k else "no kernel_shape")
        return k

    # -- patterns ------------------------------------------------------------------
    def opens_region(self, node) -> bool:
        """True when every reader of Transpose ``node``'s result is of a type some op reads
        on a channels-last tensor (``Op.channels_last``): the Transpose (0, 2, 3, 1) opens a
        channels-last region (netc/onnx/reader.py) rather than being a permute of its own
        (elementwise nodes count: the patterns of activations and of LayerNorm's
        definition start with them)."""
        users = self.users(node.output[0])
        return bool(users) and all(u.op_type in ELEMENTWISE or any(
            op.channels_last for op in READERS.get(u.op_type, ())) for u in users)

    def sole_consumer(self, tensor: str):
        """The one node reading ``tensor`` (Shape nodes, which read only its shape, aside),
        or None when there are several, none, or the tensor is a graph output."""
        users = self.users(tensor)
        return users[0] if len(users) == 1 else None

    def users(self, tensor: str) -> list:
        """The nodes reading ``tensor`` (Shape nodes aside) in graph order; none for a
        graph output."""
        if tensor in self.graph_outputs:
            return []
        return [n for n in self.consumers.get(tensor, ()) if n.op_type != "Shape"]

    def first_consumer(self, tensor: str):
        """The first node reading ``tensor``: where a pattern on it starts (x * Sigmoid(x)
        has two readers of x); the reader checks that the layer takes every reader."""
        users = self.users(tensor)
        return users[0] if users else None

    def take(self, *nodes) -> None:
        """Add later ``nodes`` of the pattern being read to the layer (GELU's x * 0.5);
        the layer's result becomes the output of its last node."""
        self.taken.extend(nodes)

    @staticmethod
    def other(node, tensor: str) -> str | None:
        """The input of a two-input ``node`` other than ``tensor``; None if it has not two."""
        ins = list(node.input)
        if len(ins) != 2 or tensor not in ins:
            return None
        return ins[1] if ins[0] == tensor else ins[0]

    def number(self, tensor: str) -> float | None:
        """The value of a constant tensor of one element, or None."""
        v = self.value(tensor) if tensor and not self.is_feature(tensor) else None
        if v is None or len(v) != 1 or isinstance(v[0], str) or isinstance(v[0], bool):
            return None
        return v[0]

    def elementwise(self, node) -> list[tuple[list, object]]:
        """The elementwise functions y = f(x) of one feature x that start at ``node``:
        (nodes, f) pairs, the largest first, each a set of nodes of ``ELEMENTWISE`` types
        (with scalar constants as other operands) of which ``node`` is the first, whose
        results other than the last are used by themselves only; ``f(v)`` evaluates
        them on a number. An activation op recognises its decompositions by ``computes``
        whatever order and spelling the exporter chose (x * 0.5 * (1 + erf(x / sqrt 2)),
        or 0.5 * x * ...)."""
        feats = [t for t in node.input if self.is_feature(t)]
        if not feats or len(set(feats)) != 1 or node.op_type not in ELEMENTWISE:
            return []
        x, start = feats[0], self.index[id(node)]
        members: dict[str, object] = {}

        def admissible(n) -> bool:
            if (n.op_type not in ELEMENTWISE or n.domain not in ("", "ai.onnx") or len(n.output) != 1
                    or self.index[id(n)] < start or n.output[0] in members
                    or len(n.input) < (2 if n.op_type in BINARY else 1)):     # an operand missing
                return False
            return all(t == x or t in members or not t or self.number(t) is not None for t in n.input)

        tensors = [x]
        i = 0
        while i < len(tensors) and len(members) < MAX_PATTERN:
            for c in self.consumers.get(tensors[i], ()):
                if len(members) < MAX_PATTERN and admissible(c):
                    members[c.output[0]] = c
                    tensors.append(c.output[0])
            i += 1
        ordered = sorted(members.values(), key=lambda n: -self.index[id(n)])
        out = []
        for end in ordered:
            group, todo = {id(end): end}, [end]
            while todo:
                for t in todo.pop().input:
                    n = members.get(t)
                    if n is not None and id(n) not in group:
                        group[id(n)] = n
                        todo.append(n)
            nodes = sorted(group.values(), key=lambda n: self.index[id(n)])
            if nodes[0] is not node:
                continue
            ids = set(group)
            if any(n.output[0] in self.graph_outputs or any(id(c) not in ids for c in self.users(n.output[0]))
                   for n in nodes if n is not end):
                continue
            out.append((nodes, _Function(self, x, nodes)))
        return sorted(out, key=lambda p: -len(p[0]))

    @staticmethod
    def computes(f, reference) -> bool:
        """True when ``f`` agrees with ``reference`` on a spread of points (to float32
        precision: exporters store constants such as sqrt 2 as float32)."""
        try:
            return all(abs(f(v) - reference(v)) <= 1e-5 * (1 + abs(reference(v))) for v in PROBES)
        except (ArithmeticError, ValueError, TypeError):
            return False

    def flattens(self, node) -> str | None:
        """None when ``node`` reshapes its (C, H, W) or (C,) input to the vector (C*H*W,):
        Flatten(axis=1), or Reshape to [N, -1], [0, -1], [-1, C*H*W], [N, C*H*W]
        (N the batch, also as Shape -> Gather -> Unsqueeze -> Concat); else the reason."""
        shape = self.shapes.get(node.input[0])
        if shape is None:
            return "its input is not a feature map"
        rank = len(shape) + 1
        if node.op_type == "Flatten":
            axis = self.attr(node, "axis", 1)
            return None if axis % rank == 1 else f"Flatten(axis={axis}) keeps more than the batch"
        if node.op_type != "Reshape":
            return f"{node.op_type} is not a flatten"
        try:
            target = self.reshape_target(node)
        except Unsupported as e:
            return str(e)
        if target is None:
            return "the target shape is not a constant"
        total = numel(shape)
        if len(target) == 2 and target[1] in (-1, total) and (
                target[0] in (BATCH, self.batch, 0) or (target[0] == -1 and target[1] == total)):
            return None
        shown = ", ".join(str(d) for d in target)
        return f"Reshape to [{shown}] is not a flatten of ({', '.join(map(str, shape))})"

    def fusable_activation(self, node) -> str | None:
        """The fused-activation name (``Op.fused``: relu, relu6, leaky_relu with slope 0.01,
        sigmoid, tanh, silu, gelu...) that the pattern starting at ``node`` computes, or
        None; the pattern's later nodes are in ``taken``."""
        ops = READERS.get(node.op_type, []) if node.domain in ("", "ai.onnx") else []
        for op in ops:
            self.taken = []
            if (self.layout == CHANNELS_LAST and not op.channels_last) or op.per_output:
                continue                       # a node of several outputs (Split) is no activation
            try:
                p = op.read(node, self)
            except Unsupported:
                continue
            full = {k: p.get(k, v.default) for k, v in op.params.items()}
            name = op.fused(full)
            if name:
                return name
        self.taken = []
        return None


# elementwise ONNX ops: name -> f(inputs, attr), attr(name, default) reading the node
def _softplus(a: float) -> float:
    return a if a > 30 else math.log1p(math.exp(a))


def _hardsigmoid(a: float, alpha: float, beta: float) -> float:
    return max(0.0, min(1.0, alpha * a + beta))


UNARY = {
    "Erf": lambda a, attr: math.erf(a),
    "Tanh": lambda a, attr: math.tanh(a),
    "Sigmoid": lambda a, attr: 1 / (1 + math.exp(-a)),
    "Softplus": lambda a, attr: _softplus(a),
    "Sqrt": lambda a, attr: math.sqrt(a),
    "Exp": lambda a, attr: math.exp(a),
    "Neg": lambda a, attr: -a,
    "Relu": lambda a, attr: max(a, 0.0),
    "HardSigmoid": lambda a, attr: _hardsigmoid(a, attr("alpha", 0.2), attr("beta", 0.5)),
    "HardSwish": lambda a, attr: a * _hardsigmoid(a, 1 / 6, 0.5),
}
BINARY = {
    "Mul": lambda a, b: a * b,
    "Add": lambda a, b: a + b,
    "Sub": lambda a, b: a - b,
    "Div": lambda a, b: a / b,
    "Pow": lambda a, b: a ** b,
}
ELEMENTWISE = {*UNARY, *BINARY, "Clip"}
PROBES = (-5.5, -3.1, -2.4, -1.7, -0.9, -0.3, 0.0, 0.4, 1.2, 1.9, 2.6, 3.4, 6.2)


# value nodes whose output shape computed_shape knows from their inputs' shapes
SAME_SHAPE = {"Sqrt", "Neg", "Abs", "Exp", "Log", "Reciprocal", "Relu", "Sigmoid", "Tanh", "Clip",
              "Identity", "Cast", "DequantizeLinear", "QuantizeLinear"}
BROADCAST = {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean"}
NORMALIZE = {"BatchNormalization", "InstanceNormalization", "LayerNormalization",
             "GroupNormalization", "MeanVarianceNormalization", "LpNormalization"}
REDUCE = {"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceL2", "ReduceSumSquare"}


def _broadcast(a, b):
    """Numpy's broadcast of two shapes, or None when unknown or incompatible."""
    if a is None or b is None:
        return None
    n = max(len(a), len(b))
    a, b = (1,) * (n - len(a)) + tuple(a), (1,) * (n - len(b)) + tuple(b)
    if any(x != y and 1 not in (x, y) for x, y in zip(a, b)):
        return None
    return tuple(x if y == 1 else y for x, y in zip(a, b))


def _reshaped(shape, target, allowzero) -> tuple[int, ...] | None:
    """The shape Reshape gives ``shape`` for a constant ``target`` (0 copies the input's
    size unless ``allowzero``, one -1 takes what is left), or None. A shape with one
    multiple of the batch (the batch index, (N,)) goes to the -1 (``[-1, 1]``: (N, 1))."""
    if any(isinstance(d, str) for d in shape):
        syms = [d for d in shape if isinstance(d, str)]
        if target is None or len(syms) != 1 or batch_coef(syms[0]) is None or allowzero \
                or not all(type(d) is int and d >= -1 and d != 0 for d in target) or target.count(-1) != 1:
            return None
        rest, known = numel([d for d in shape if not isinstance(d, str)]), numel([d for d in target if d != -1])
        if known < 1 or rest % known:
            return None
        return tuple(batch_times(batch_coef(syms[0]) * rest // known) if d == -1 else d for d in target)
    if target is None or not all(type(d) is int and d >= -1 for d in target):
        return None
    out = [shape[i] if d == 0 and not allowzero and i < len(shape) else d for i, d in enumerate(target)]
    if 0 in target and not allowzero and len(target) > len(shape) and 0 in target[len(shape):]:
        return None
    total, known = numel(shape), numel([d for d in out if d != -1])
    if out.count(-1) > 1:
        return None
    if -1 in out:
        if known == 0 or total % known:
            return None
        out[out.index(-1)] = total // known
    return tuple(out) if numel(out) == total else None


class _Function:
    """y = f(x) through ``nodes`` (of ``ELEMENTWISE`` types), evaluated in floats."""

    def __init__(self, ctx: ReadingContext, x: str, nodes: list):
        self.ctx, self.x, self.nodes = ctx, x, nodes

    def __call__(self, v: float) -> float:
        ctx, env = self.ctx, {self.x: float(v)}

        def get(t, default=None):
            if not t:
                return default
            return env[t] if t in env else float(ctx.number(t))

        for n in self.nodes:
            ins = list(n.input)
            if n.op_type in BINARY:
                y = BINARY[n.op_type](get(ins[0]), get(ins[1]))
            elif n.op_type == "Clip":          # bounds: inputs, or attributes before opset 11
                lo = get(ins[1] if len(ins) > 1 else "", ctx.attr(n, "min", -math.inf))
                hi = get(ins[2] if len(ins) > 2 else "", ctx.attr(n, "max", math.inf))
                y = min(max(get(ins[0]), lo), hi)
            else:
                y = UNARY[n.op_type](get(ins[0]), lambda name, d, n=n: ctx.attr(n, name, d))
            env[n.output[0]] = y
        return env[self.nodes[-1].output[0]]


def _digits(n: int) -> str:
    """``n`` short enough for a message: its number of digits past 30 (at most 39: the
    product of two int64)."""
    return str(n) if abs(n) < 10**30 else f"a {len(str(abs(n)))}-digit number"


def _tensor_values(t):
    """The elements of a small TensorProto as a list; None when large, external or of rank > 1."""
    if len(t.dims) > 1 or numel(tuple(t.dims)) > MAX_VALUE or t.data_location == 1:
        return None
    from onnx import numpy_helper

    try:
        return numpy_helper.to_array(t).reshape(-1).tolist()
    except (KeyError, ValueError, TypeError):  # an element type ONNX does not define; bad data
        return None
