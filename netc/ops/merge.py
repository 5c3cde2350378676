"""Joining branches: elementwise add (residual connections, §7.2) and multiply
(squeeze-and-excitation gates), and channel concatenation (inception modules, §7.1).

    add, mul: operands broadcast (below); out = the broadcast shape;
              flops = (operands - 1) per output element
    concat:   same height and width; channels add up; free

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

from .arith import TENSOR_OPS, Operands, constant_params, has_constant
from .axes import broadcast as _broadcast
from .registry import Cost, Field, Inferred, Op, Shape, ShapeError, fmt_shape, numel, register

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
        return Field(Field.merge([f for f, _ in known]).size, Field.merge(spanning).jump)

    def operands(self, ctx, p=None) -> list[str]:
        """The operands: the inputs, each of lower rank Unsqueezed (a vector beside a map
        to (N, C, 1, 1)), and the constant ``by``."""
        return self.lower_operands(p or {}, ctx)


@register
class Add(_Broadcasting):
    name = "add"
    doc = "elementwise sum of two or more inputs that broadcast (residual connections)"
    onnx_types = ("Add", "Sum")

    def lower(self, p, ctx):
        """Add for two operands, Sum for more (both broadcast like numpy)."""
        xs = self.operands(ctx, p)
        return ctx.node("Add" if len(xs) == 2 else "Sum", xs)


@register
class Mul(_Broadcasting):
    name = "mul"
    doc = "elementwise product of two or more inputs that broadcast (squeeze-and-excitation)"
    onnx_types = ("Mul",)

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
    doc = "concatenate two or more inputs along channels"
    arity = (2, None)
    onnx_types = ("Concat",)

    def read(self, node, ctx):
        """Concat along axis 1 (the channels) only."""
        rank = len(ctx.input_shape(node)) + 1
        axis = ctx.attr(node, "axis", None)
        if axis is None or axis % rank != 1:
            raise ctx.unsupported(f"Concat along axis {axis} (netc's concat joins channels)")
        return {}

    def infer(self, p, ins):
        if any(len(s) != len(ins[0]) or s[1:] != ins[0][1:] for s in ins[1:]):
            raise ShapeError("concat needs inputs with the same height and width, got "
                             + ", ".join(fmt_shape(s) for s in ins))
        return Inferred((sum(s[0] for s in ins), *ins[0][1:]))

    def lower(self, p, ctx):
        """Concat(axis=1): the channels."""
        return ctx.node("Concat", ctx.inputs, axis=1)
