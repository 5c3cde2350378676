"""Joining branches: elementwise add (residual connections, §7.2) and multiply
(squeeze-and-excitation gates), and channel concatenation (inception modules, §7.1).

    add, mul: operands broadcast (below); out = the broadcast shape;
              flops = (operands - 1) per output element
    concat:   same height and width; channels add up; free (``axis`` joins another axis,
              by netc/ops/tensor.py's rule: every other axis alike)

add and mul join two or more layers, and may take one constant operand too
(``by: 0.5``, or a tensor of shape ``by_shape``: netc/ops/arith.py), which adds no
parameters. Broadcasting is numpy's rule over netc's batch-less shapes, of any
rank, with one netc rule first: a vector (C,) beside a feature map is read as
(C, 1, 1), one value per channel (a squeeze-and-excitation gate after
global_avgpool). Then shapes are aligned at their last dimension (missing
leading dimensions are 1), the sizes must be equal or 1, and the output takes
the largest. So (C,) and (C, 1, 1) both scale a (C, H, W) map channel by
channel; (1, H, W) and (H, W) are one map for every channel. (numpy itself
would align (C,) with the width.) The ONNX lowering Unsqueezes such a vector
to (N, C, 1, 1), and a tensor of lower rank after the batch, so the runtime's
own broadcasting computes the same.
"""

from __future__ import annotations

from .arith import TENSOR_OPS, Operands, constant_params
from .axes import broadcast as _broadcast
from .registry import MAX_CHANNELS, Cost, Field, Inferred, Op, Param, Shape, ShapeError, fmt_shape, numel, register
from .axes import axis_param, dim

AXES = TENSOR_OPS


def as_map(shape: Shape, rank: int) -> Shape:
    """netc's rule: a vector (C,) beside a feature map is (C, 1, 1)."""
    return (*shape, *(1,) * (rank - len(shape)))


def broadcast(op: str, ins: list[Shape]) -> Shape:
    """The shape of an elementwise op on ``ins``: numpy's rule after netc's vector rule
    (netc/ops/axes.py)."""
    return _broadcast(op, ins, AXES)


class _Broadcasting(Operands):
    arity = (2, None)
    params = constant_params(False)

    def field(self, p, ins, fields, out):
        """The largest of the inputs' fields; the jump of those that span the output's
        height and width (a broadcast (C, 1, 1) gate sees the whole map but does not
        stretch the distance between output positions)."""
        if len(out.shape) != 3:
            return super().field(p, ins, fields, out)
        known = [(f, s) for f, s in zip(fields, ins) if f is not None]
        if not known:
            return None
        spanning = [f for f, s in known if s[1:] == out.shape[1:]] or [f for f, _ in known]
        merged, jumps = Field.merge([f for f, _ in known]), Field.merge(spanning)
        if merged is None or jumps is None:
            return None
        return Field(merged.size, jumps.jump)

    def operands(self, ctx, p=None) -> list[str]:
        """The operands: the inputs, each of lower rank Unsqueezed (a vector beside a map
        to (N, C, 1, 1)), and the constant ``by``."""
        return self.lower_operands(p or {}, ctx)


@register
class Add(_Broadcasting):
    name = "add"
    doc = "elementwise sum of two or more inputs that broadcast (residual connections)"
    onnx_types = ("Add", "Sum")

    def torch(self, p, ctx):
        """x + y (+ ...), broadcasting as netc does (``torch_operands``), a constant too."""
        return " + ".join(self.torch_operands(p, ctx))

    def lower(self, p, ctx):
        """Add for two operands, Sum for more (both broadcast like numpy)."""
        xs = self.operands(ctx, p)
        return ctx.node("Add" if len(xs) == 2 else "Sum", xs)


@register
class Mul(_Broadcasting):
    name = "mul"
    doc = "elementwise product of two or more inputs that broadcast (squeeze-and-excitation)"
    onnx_types = ("Mul",)

    def torch(self, p, ctx):
        """x * y (* ...), in the operands' order, a constant too."""
        return " * ".join(self.torch_operands(p, ctx))

    def lower(self, p, ctx):
        """A chain of Mul nodes (ONNX has no n-ary product), in the operands' order."""
        xs = self.operands(ctx, p)
        y = xs[0]
        for x in xs[1:]:
            y = ctx.node("Mul", [y, x])
        return y


@register
class Concat(Op):
    name = "concat"
    doc = "concatenate two or more inputs along one axis (default: the channels)"
    arity = (1, None)
    params = {"axis": axis_param("the axis joined"),
              "token": Param("int", "entries of a learned tensor put before the inputs along the axis, "
                             "the same for every sample (a ViT's class token: torch.cat((cls_token"
                             ".expand(B, -1, -1), x), 1)); its params are token times the other sizes",
                             default=0, min=0, max=MAX_CHANNELS)}
    onnx_types = ("Concat",)
    constant_operand = True           # the learned token, first

    def read(self, node, ctx):
        """Concat along an axis after the batch (axis 1, the channels, the common case); a
        first operand that is a learned tensor (1, k, ...) expanded over the batch (Expand to
        [N, ...] or the fixed batch) is the ``token``."""
        feat = ctx.input_shape(node, next((i for i, x in enumerate(node.input) if ctx.is_feature(x)), 0))
        rank = len(feat) + 1
        axis = ctx.attr(node, "axis", None)
        if not isinstance(axis, int) or not -rank <= axis < rank or axis % rank == 0:
            raise ctx.unsupported(f"Concat along axis {axis} (netc's concat joins an axis after the batch)")
        consts = [i for i, t in enumerate(node.input) if t and not ctx.is_feature(t)]
        if not consts:
            return {"axis": axis % rank}
        if consts != [0]:
            raise ctx.unsupported("a constant operand other than a learned token first (netc's concat "
                                  "joins layers)")
        t = node.input[0]
        e = ctx.producer.get(t)
        if e is not None and e.op_type == "Expand" and e.domain in ("", "ai.onnx") and len(e.input) == 2:
            to = ctx.value(e.input[1])
            if to is None or not to or to[0] not in ("N", ctx.batch, 1) or ctx.batch not in ("N", 1) and to[0] == 1:
                raise ctx.unsupported("a constant operand expanded to a shape that is not the batch's")
            t = e.input[0]
        elif ctx.batch != 1:
            raise ctx.unsupported("a constant operand not expanded over the batch (netc's concat joins layers)")
        w = ctx.static_shape(t) if ctx.learned(t) else None
        a = axis % rank - 1
        if w is None or len(w) != rank or w[0] != 1 or tuple(w[1:a + 1]) + tuple(w[a + 2:]) != \
                tuple(feat[:a]) + tuple(feat[a + 1:]):
            raise ctx.unsupported(f"a constant operand that is no learned token of shape (1, k, "
                                  f"{', '.join(map(str, feat[a + 1:]))}) before the inputs")
        return {"axis": axis % rank, "token": w[a + 1]}

    def cost(self, p, ins, out):
        if not p["token"]:
            return Cost()
        i = dim(p["axis"], ins[0], op="concat")
        return Cost(params=p["token"] * numel(ins[0][:i] + ins[0][i + 1:]))

    def infer(self, p, ins):
        first = ins[0]
        i = dim(p["axis"], first, op="concat")
        if len(ins) + (1 if p["token"] else 0) < 2:
            raise ShapeError("concat needs two or more inputs, or a learned token before one")
        if any(len(s) != len(first) or s[:i] + s[i + 1:] != first[:i] + first[i + 1:] for s in ins[1:]):
            if i == 0 and len(first) == 3:
                raise ShapeError("concat needs inputs with the same height and width, got "
                                 + ", ".join(fmt_shape(s) for s in ins))
            raise ShapeError(f"concat along axis {i + 1} needs inputs alike in every other axis, got "
                             + ", ".join(fmt_shape(s) for s in ins))
        return Inferred((*first[:i], p["token"] + sum(s[i] for s in ins), *first[i + 1:]))

    def field(self, p, ins, fields, out):
        """Channels: the largest of the inputs' fields; another axis: no map (None)."""
        if dim(p["axis"], ins[0]) != 0:
            return None
        return super().field(p, ins, fields, out)

    @staticmethod
    def _token_shape(p, shape) -> tuple[int, ...]:
        """The learned token's shape, the batch's 1 first."""
        i = dim(p["axis"], shape, op="concat")
        return (1, *shape[:i], p["token"], *shape[i + 1:])

    def torch(self, p, ctx):
        """torch.cat along the axis (dim 1, the channels, by default); a token is the weight
        of a ``Scale`` module (1, ..., token, ...), zeros, expanded over the batch first."""
        i = dim(p["axis"], ctx.in_shapes[0]) + 1
        parts = list(ctx.inputs)
        if p["token"]:
            shape = self._token_shape(p, ctx.in_shapes[0])
            m = ctx.module("Scale", list(shape), value=0.0)
            ctx.weight("weight", shape, {"constant": 0.0}, torch_default=True)
            parts.insert(0, f"{m}.weight.expand({ctx.inputs[0]}.shape[0]{', -1' * (len(shape) - 1)})")
        return f"torch.cat([{', '.join(parts)}], dim={i})"

    def lower(self, p, ctx):
        """Concat along the axis (positive; 1: the channels); a token is an initializer (1, ...,
        token, ...), zeros, Expanded to the batch of the first input first."""
        i = dim(p["axis"], ctx.in_shapes[0]) + 1
        parts = list(ctx.inputs)
        if p["token"]:
            shape = self._token_shape(p, ctx.in_shapes[0])
            w = ctx.weight("token", shape, "zeros")
            batch = ctx.node("Slice", [ctx.node("Shape", [ctx.inputs[0]]), ctx.int_constant("start", [0]),
                                       ctx.int_constant("end", [1])])
            full = ctx.node("Concat", [batch, ctx.int_constant("sample", shape[1:])], axis=0)
            parts.insert(0, ctx.node("Expand", [w, full]))
        return ctx.node("Concat", parts, axis=i)
