"""Joining branches: elementwise add (residual connections, §7.2) and channel
concatenation (inception modules, §7.1).

    add:    all inputs the same shape; flops = (inputs - 1) per element
    concat: same height and width; channels add up; free
"""

from __future__ import annotations

from .registry import Cost, Inferred, Op, ShapeError, fmt_shape, numel, register


@register
class Add(Op):
    name = "add"
    doc = "elementwise sum of two or more inputs of the same shape"
    arity = (2, None)
    onnx_types = ("Add", "Sum")

    def infer(self, p, ins):
        if any(s != ins[0] for s in ins[1:]):
            raise ShapeError("add needs inputs of one shape, got "
                             + ", ".join(fmt_shape(s) for s in ins))
        return Inferred(ins[0])

    def cost(self, p, ins, out):
        return Cost(flops=(len(ins) - 1) * numel(out.shape))

    def lower(self, p, ctx):
        """Add for two inputs, Sum for more."""
        return ctx.node("Add" if len(ctx.inputs) == 2 else "Sum", ctx.inputs)


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
