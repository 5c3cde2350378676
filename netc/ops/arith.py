"""Elementwise arithmetic on tensors of any rank, with numpy's broadcasting
(netc/ops/axes.py: a vector (C,) beside a map is one value per channel, then
numpy's rule), each operand a layer or a constant:

    binary:  sub, div, pow, minimum, maximum (and add, mul: netc/ops/merge.py);
             out = the broadcast shape; flops = (operands - 1) per output element
    where:   where(cond, a, b): cond nonzero picks a, else b; flops = 1 per output element
    unary:   sqrt, exp, log, neg, abs, erf: 1 flop per element (an exp, log or erf
             counts as one); clip: 1 per bound given (a max, a min)

None has parameters. A constant operand is written ``by: 0.5`` (a scalar), or as a
tensor of a shape ``by_shape: [2, 8400]`` (YOLO's anchors, read from ONNX; its values
are not part of netc's description of the network, which counts shapes: a build
fills it with ``by``, else 1); ``by_index`` places it among the operands (0: first,
``anchors - x``; default: last). A constant is not a learned parameter: it adds no
params (a learned per-channel weight is read as ``scale``, netc/ops/norm.py).
"""

from __future__ import annotations

import math

from .axes import MAX_RANK, Dims, aligned, broadcast, is_map, map_field
from .registry import MAX_CHANNELS, Cost, Inferred, Op, Param, Shape, ShapeError, numel, register

TENSOR_OPS = {1: ("features",), 2: ("channels", "length"), 3: ("channels", "height", "width"),
              4: ("channels", "depth", "height", "width")}     # dimension names in messages
F32_MAX = 3.4028234663852886e38   # Clip's "no bound" before opset 11
MAX_CONSTANT = 1 << 24            # elements of a constant operand a build writes


def constant_params(position: bool) -> dict[str, Param]:
    """The parameters of a constant operand (``position``: ``by_index`` too, for the ops
    whose operands do not commute)."""
    out = {
        "by": Param("number", "a constant operand: its value (a scalar, unless by_shape)", default=None),
        "by_shape": ConstantDims("dims", "the constant operand is a tensor of this shape, the batch "
                                 "excluded (aligned as numpy aligns shapes; -1: the size of the other "
                                 "operands on that axis); its values are not part of netc's "
                                 "description: a build fills it with by, else 1", default=None),
    }
    if position:
        out["by_index"] = Param("int", "where the constant stands among the operands (0: first, as in "
                                "anchors - x); default: last", default=None, min=0, max=2)
    return out


class ConstantDims(Dims):
    """``by_shape``: sizes, or -1 for the size the other operands have on that axis (YOLO's
    anchors ``[2, -1]``: one per position, however many the input size makes)."""

    def schema(self) -> dict:
        out = super().schema()
        out["anyOf"][0]["items"]["anyOf"][0] = {"anyOf": [{"type": "integer", "minimum": 1, "maximum": MAX_CHANNELS},
                                                          {"const": -1}]}
        return out

    def check(self, value):
        if isinstance(value, (list, tuple)) and len(value) <= MAX_RANK:
            return tuple(-1 if v == -1 and isinstance(v, int) and not isinstance(v, bool) else
                         super(ConstantDims, self).check([v])[0] for v in value)
        return super().check(value)


def constant_shape(p: dict, ins: list[Shape]) -> Shape:
    """The constant operand's shape: ``by_shape`` with each -1 the size the inputs have on
    that axis (aligned as numpy aligns them, from the end); () for a scalar ``by``."""
    c = p.get("by_shape")
    if not c:
        return ()
    if -1 not in c:
        return tuple(c)
    out = []
    for i, d in enumerate(c):
        if d != -1:
            out.append(d)
            continue
        back = len(c) - i                 # the axis counted from the end
        sizes = {s[-back] for s in ins if len(s) >= back and s[-back] != 1}
        if len(sizes) != 1:
            raise ShapeError(f"by_shape {list(c)}: -1 takes the size of the other operands on its axis, "
                             f"and they have {'none' if not sizes else 'several: ' + str(sorted(sizes))}",
                             "by_shape")
        out.append(sizes.pop())
    return tuple(out)


def has_constant(p: dict) -> bool:
    return p.get("by") is not None or p.get("by_shape") is not None


class Operands(Op):
    """An op whose operands are its input layers and at most one constant (``by``)."""

    constant_operand = True           # the reader and the expander count a constant as an input
    commutes = True                   # operands in any order: no ``by_index``
    vector_as_map = True

    def operand_shapes(self, p: dict, ins: list[Shape]) -> list[Shape]:
        """The shapes of the operands, the constant's in its place."""
        if not has_constant(p):
            if p.get("by_index") is not None:
                raise ShapeError(f"by_index places a constant operand: give {self.name} one with by "
                                 "or by_shape", "by_index")
            return list(ins)
        c = constant_shape(p, ins)
        i = p.get("by_index")
        i = len(ins) if i is None else i
        if i > len(ins):
            raise ShapeError(f"by_index {i} is past the {len(ins) + 1} operands", "by_index")
        return [*ins[:i], c, *ins[i:]]

    def infer(self, p, ins):
        operands = self.operand_shapes(p, ins)
        lo, hi = self.arity
        if len(operands) < lo or (hi is not None and len(operands) > hi):
            want = f"at least {lo}" if hi is None else str(lo) if lo == hi else f"{lo} to {hi}"
            raise ShapeError(f"{self.name} takes {want} operands (layers, and a constant by), got "
                             f"{len(operands)}")
        return Inferred(broadcast(self.name, operands, TENSOR_OPS))

    def flops_per_element(self, p, operands: int) -> int:
        return operands - 1

    def cost(self, p, ins, out):
        return Cost(flops=self.flops_per_element(p, len(self.operand_shapes(p, ins))) * numel(out.shape))

    def field(self, p, ins, fields, out):
        return map_field(ins, fields, out.shape)

    # -- ONNX --------------------------------------------------------------------------
    def lower_operands(self, p: dict, ctx) -> list[str]:
        """The operands as ONNX tensors, each layer of lower rank Unsqueezed to the output's
        (a vector beside a map at its end, (N, C, 1, 1); others in front, after the batch),
        the constant a scalar or ``Expand`` of ``by`` to (1, *by_shape) aligned alike."""
        rank = len(ctx.out_shape)
        xs = [unsqueeze_to(ctx, x, s, rank) for x, s in zip(ctx.inputs, ctx.in_shapes)]
        if not has_constant(p):
            return xs
        value = float(p["by"]) if p.get("by") is not None else 1.0
        if p.get("by_shape") is None:
            c = ctx.constant("by", value)
        else:
            full = (1, *aligned(constant_shape(p, ctx.in_shapes), rank))
            if numel(full) > MAX_CONSTANT:
                from ..diagnostics import BuildError

                raise BuildError(f"{self.name}: the constant operand of shape {list(full[1:])} has "
                                 f"{numel(full):,} elements, more than netc builds ({MAX_CONSTANT:,})")
            c = ctx.constant("by", _filled(full, value))
        i = p.get("by_index")
        i = len(xs) if i is None else i
        return [*xs[:i], c, *xs[i:]]

    def read(self, node, ctx):
        return read_operands(self, node, ctx)

    def torch_operands(self, p: dict, ctx, tensors: bool = False) -> list[str]:
        """The operands as PyTorch expressions, aligned as ``lower_operands`` aligns them
        (``torch_aligned``); the constant a float literal (``tensors``: a 0-d tensor), or a
        tensor of (1, *by_shape) aligned alike, filled with ``by`` (else 1)."""
        rank = len(ctx.out_shape)
        xs = [torch_aligned(x, s, rank) for x, s in zip(ctx.inputs, ctx.in_shapes)]
        if not has_constant(p):
            return xs
        value = float(p["by"]) if p.get("by") is not None else 1.0
        if p.get("by_shape") is None and not tensors:
            c = repr(value) if value >= 0 else f"({value!r})"
        else:
            shape = (1, *aligned(constant_shape(p, ctx.in_shapes), rank)) if p.get("by_shape") is not None else ()
            c = f"{ctx.input}.new_full(({''.join(f'{d}, ' for d in shape)}), {value!r})"
        i = p.get("by_index")
        i = len(xs) if i is None else i
        return [*xs[:i], c, *xs[i:]]


def _filled(shape: Shape, value: float):
    """A nested list of ``shape`` holding ``value`` (rows shared: only read)."""
    out = value
    for d in reversed(shape):
        out = [out] * d
    return out


def unsqueeze_to(ctx, x: str, shape: Shape, rank: int) -> str:
    """``x`` (netc shape ``shape``) Unsqueezed to ``rank`` as ``broadcast`` aligns it."""
    if len(shape) >= rank:
        return x
    if len(shape) == 1 and is_map((0,) * rank):
        axes = range(2, rank + 1)
    else:
        axes = range(1, rank - len(shape) + 1)
    return ctx.node("Unsqueeze", [x, ctx.int_constant("axes", axes)])


def torch_aligned(x: str, shape: Shape, rank: int) -> str:
    """``x`` (netc shape ``shape``) indexed to ``rank`` as ``broadcast`` aligns it: a vector
    beside a map per channel (x[:, :, None, None]), others with new axes after the batch."""
    if len(shape) >= rank:
        return x
    if len(shape) == 1 and is_map((0,) * rank):
        return f"{x}[:, :{', None' * (rank - 1)}]"
    return f"{x}[:{', None' * (rank - len(shape))}]"


def read_operands(op: Operands, node, ctx) -> dict:
    """The constant operand of ``node`` (at most one): a scalar read as ``by`` (its value),
    any other as ``by_shape`` (its ONNX shape aligned to the features' rank, the batch
    dimension, which must be 1, dropped) with ``by`` its value when every element holds
    the same. A weight per channel in an Add or a Mul is no constant (``scale`` reads the
    Mul). Features of different ranks are refused (ONNX aligns them with the
    batch among their dimensions) but for a vector beside a map, which netc reads per
    channel."""
    from .norm import per_channel_weight

    ins = list(node.input)
    feats = [t for t in ins if t and ctx.is_feature(t)]
    consts = [(i, t) for i, t in enumerate(ins) if t and not ctx.is_feature(t)]
    ranks = {len(ctx.shapes[t]) for t in feats}
    vector = op.vector_as_map and len(ranks) == 2 and 1 in ranks and 2 <= max(ranks) <= 4
    if len(ranks) > 1 and op.name not in ("add", "mul") and not vector:
        raise ctx.unsupported(f"inputs of ranks {sorted(r + 1 for r in ranks)} (ONNX aligns them with "
                              "the batch among their dimensions)")
    if not consts:
        return {}
    if len(consts) > 1 or not feats:
        raise ctx.unsupported("more than one constant operand")
    i, t = consts[0]
    rank = max(ranks)
    c = ctx.shapes[feats[0]][0] if rank else 0
    # a weight per channel is scale's (a Mul by one, the Add of a bias after it), learned or
    # computed in the graph (the Caffe2 zoo's ConstantOfShape weights): never a constant here
    if rank and op.name in ("add", "mul") and per_channel_weight(ctx, t, c, rank) and (
            op.name == "mul" or c > 1 or ctx.learned(t)):
        raise ctx.unsupported(f"a per-channel weight as a constant operand ({t!r}: netc's scale "
                              "reads a Mul by one, with the Add of a per-channel bias after it)")
    shape = ctx.static_shape(t)
    if shape is None:
        raise ctx.unsupported(f"the shape of the constant operand {t!r} is not known")
    shape = tuple(shape)
    if len(shape) > rank + 1:
        raise ctx.unsupported(f"a constant operand of rank {len(shape)} beside a tensor of rank {rank + 1}")
    if len(shape) == rank + 1:
        if shape[0] != 1:
            raise ctx.unsupported(f"a constant operand of shape {list(shape)} that varies over the batch")
        shape = shape[1:]
    shape = (1,) * (rank - len(shape)) + shape
    if not all(isinstance(d, int) and d >= 1 for d in shape):
        raise ctx.unsupported(f"a constant operand of shape {list(shape)}")
    value = ctx.number(t) if numel(shape) == 1 else ctx.uniform(t)
    if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value)):
        if numel(shape) == 1:
            raise ctx.unsupported(f"the constant operand {value} (netc's constants are finite numbers)")
        value = None
    p: dict = {}
    if isinstance(value, float):
        value = ctx.float32(value)
    if numel(shape) == 1 and value is not None:
        p["by"] = value
    else:
        p["by_shape"] = shape
        if value is not None:
            p["by"] = value
    if not op.commutes and i != len(ins) - 1:
        p["by_index"] = i
    return p


class _Binary(Operands):
    arity = (2, 2)
    onnx_op = ""
    torch_op = ""

    def torch(self, p, ctx):
        """a - b, a / b, a ** b: Python's operator on the aligned operands."""
        a, b = self.torch_operands(p, ctx)
        return f"{a} {self.torch_op} {b}"

    def lower(self, p, ctx):
        a, b = self.lower_operands(p, ctx)
        return ctx.node(self.onnx_op, [a, b])


@register
class Sub(_Binary):
    name = "sub"
    doc = "a - b elementwise, broadcasting (box decode: anchors - distances)"
    commutes = False
    onnx_types = ("Sub",)
    onnx_op = "Sub"
    torch_op = "-"
    params = constant_params(True)


@register
class Div(_Binary):
    name = "div"
    doc = "a / b elementwise, broadcasting (a norm's division, a box's centre / 2)"
    commutes = False
    onnx_types = ("Div",)
    onnx_op = "Div"
    torch_op = "/"
    params = constant_params(True)


@register
class Pow(_Binary):
    name = "pow"
    doc = "a ** b elementwise, broadcasting"
    commutes = False
    onnx_types = ("Pow",)
    onnx_op = "Pow"
    torch_op = "**"
    params = constant_params(True)


class _Extremum(Operands):
    arity = (2, None)
    params = constant_params(False)
    onnx_op = ""

    def lower(self, p, ctx):
        """Min or Max, as many operands as the layer has (both broadcast like numpy)."""
        return ctx.node(self.onnx_op, self.lower_operands(p, ctx))

    def torch(self, p, ctx):
        """torch.minimum / torch.maximum, nested for more than two operands."""
        xs = self.torch_operands(p, ctx, tensors=True)
        y = xs[0]
        for x in xs[1:]:
            y = f"torch.{self.name}({y}, {x})"
        return y


@register
class Minimum(_Extremum):
    name = "minimum"
    doc = "the elementwise minimum of two or more operands, broadcasting (torch.minimum)"
    onnx_types = ("Min",)
    onnx_op = "Min"


@register
class Maximum(_Extremum):
    name = "maximum"
    doc = "the elementwise maximum of two or more operands, broadcasting (torch.maximum)"
    onnx_types = ("Max",)
    onnx_op = "Max"


@register
class Where(Operands):
    name = "where"
    doc = "where(cond, a, b): a where cond is nonzero, else b, broadcasting (torch.where)"
    arity = (3, 3)
    commutes = False
    vector_as_map = False
    onnx_types = ("Where",)
    params = constant_params(True)

    def flops_per_element(self, p, operands):
        return 1

    def lower(self, p, ctx):
        """Where(Cast(cond, bool), a, b): the condition is nonzero."""
        cond, a, b = self.lower_operands(p, ctx)
        return ctx.node("Where", [ctx.node("Cast", [cond], to=9), a, b])

    def torch(self, p, ctx):
        """torch.where(cond != 0, a, b)."""
        cond, a, b = self.torch_operands(p, ctx, tensors=True)
        return f"torch.where({cond} != 0, {a}, {b})"


class _Unary(Op):
    """One value at a time, in any layout; 1 flop per element."""

    channels_last = True
    onnx_op = ""

    def cost(self, p, ins, out):
        return Cost(flops=numel(out.shape))

    def lower(self, p, ctx):
        return ctx.node(self.onnx_op, [ctx.input])

    def torch(self, p, ctx):
        """torch.sqrt, torch.exp, ... of the input."""
        return f"torch.{self.name}({ctx.input})"


def _unary(name: str, onnx_op: str, doc: str) -> type:
    cls = type(name.capitalize(), (_Unary,), {"name": name, "doc": doc, "onnx_op": onnx_op,
                                                  "onnx_types": (onnx_op,), "__module__": __name__})
    return register(cls)


Sqrt = _unary("sqrt", "Sqrt", "the square root of each element")
Exp = _unary("exp", "Exp", "e to the power of each element")
Log = _unary("log", "Log", "the natural logarithm of each element")
Neg = _unary("neg", "Neg", "minus each element")
Abs = _unary("abs", "Abs", "the absolute value of each element")
Erf = _unary("erf", "Erf", "the error function of each element")


@register
class Clip(_Unary):
    name = "clip"
    doc = "each element bounded to [min, max] (torch.clamp)"
    onnx_types = ("Clip",)
    params = {
        "min": Param("number", "the lower bound (none: unbounded below)", default=None),
        "max": Param("number", "the upper bound (none: unbounded above)", default=None),
    }

    def infer(self, p, ins):
        if p["min"] is not None and p["max"] is not None and p["min"] > p["max"]:
            raise ShapeError(f"min {p['min']} is above max {p['max']}", "min")
        return Inferred(ins[0])

    def cost(self, p, ins, out):
        return Cost(flops=((p["min"] is not None) + (p["max"] is not None)) * numel(out.shape))

    def read(self, node, ctx):
        """Clip with constant bounds: attributes before opset 11 (float32's largest value
        meaning none), scalar inputs since (missing: none)."""
        if ctx.opset < 11:
            lo, hi = ctx.attr(node, "min", None), ctx.attr(node, "max", None)
        else:
            lo, hi = ctx.scalar(node, 1), ctx.scalar(node, 2)
        out = {}
        for key, v in (("min", lo), ("max", hi)):
            if v is None or (isinstance(v, float) and abs(v) >= F32_MAX):
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ctx.unsupported(f"Clip {key} {v}")
            out[key] = ctx.float32(v) if isinstance(v, float) else v
        return out

    def torch(self, p, ctx):
        """torch.clamp with the bounds given (neither: the input itself)."""
        bounds = [f"{k}={float(p[k])!r}" for k in ("min", "max") if p[k] is not None]
        return f"torch.clamp({ctx.input}, {', '.join(bounds)})" if bounds else ctx.input

    def lower(self, p, ctx):
        """Clip(x, min, max), a missing bound as an empty input."""
        ins = [ctx.input, "" if p["min"] is None else ctx.constant("min", float(p["min"]))]
        if p["max"] is not None:
            ins.append(ctx.constant("max", float(p["max"])))
        return ctx.node("Clip", ins)
