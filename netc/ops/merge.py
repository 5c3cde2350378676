"""Joining branches: elementwise add (residual connections, §7.2) and multiply
(squeeze-and-excitation gates), and channel concatenation (inception modules, §7.1).

    add, mul: inputs broadcast (below); out = the broadcast shape;
              flops = (inputs - 1) per output element
    concat:   same height and width; channels add up; free

Broadcasting is numpy's rule over netc's batch-less shapes, with one netc rule
first: a vector (C,) beside a feature map is read as (C, 1, 1), one value per
channel (a squeeze-and-excitation gate after global_avgpool). Then, dimension
by dimension, the sizes must be equal or 1, and the output takes the largest.
So (C,) and (C, 1, 1) both scale a (C, H, W) map channel by channel; (1, H, W)
is one map for every channel. (numpy itself would align (C,) with the width.)
The ONNX lowering Unsqueezes such a vector to (N, C, 1, 1), so the runtime's
own broadcasting computes the same.
"""

from __future__ import annotations

from .registry import Cost, Field, Inferred, Op, Shape, ShapeError, fmt_shape, numel, register

AXES = {1: ("features",), 3: ("channels", "height", "width")}


def as_map(shape: Shape, rank: int) -> Shape:
    """netc's rule: a vector (C,) beside a feature map is (C, 1, 1)."""
    return (*shape, *(1,) * (rank - len(shape)))


def broadcast(op: str, ins: list[Shape]) -> Shape:
    """The shape of an elementwise op on ``ins``: numpy's rule after ``as_map``."""
    rank = max(len(s) for s in ins)
    shapes = [as_map(s, rank) for s in ins]
    out = []
    for axis in range(rank):
        sizes = sorted({s[axis] for s in shapes} - {1})
        if len(sizes) > 1:
            vector = " (a vector (C,) beside a map counts as (C, 1, 1))" if rank == 3 and any(
                len(s) == 1 for s in ins) else ""
            axis_name = AXES[rank][axis] if rank in AXES else f"dimension {axis}"
            raise ShapeError(f"{op} cannot broadcast its inputs: {axis_name} "
                             f"{' and '.join(map(str, sizes))} differ; each dimension must be equal "
                             f"or 1{vector}")
        out.append(sizes[0] if sizes else 1)
    return tuple(out)


class _Broadcasting(Op):
    arity = (2, None)
    vector_as_map = True

    def infer(self, p, ins):
        return Inferred(broadcast(self.name, ins))

    def cost(self, p, ins, out):
        return Cost(flops=(len(ins) - 1) * numel(out.shape))

    def field(self, p, ins, fields, out):
        """The largest of the inputs' fields; the jump of those that span the output's
        height and width (a broadcast (C, 1, 1) gate sees the whole map but does not
        stretch the distance between output positions)."""
        known = [(f, s) for f, s in zip(fields, ins) if f is not None]
        if not known:
            return None
        spanning = [f for f, s in known if s[1:] == out.shape[1:]] or [f for f, _ in known]
        return Field(Field.merge([f for f, _ in known]).size, Field.merge(spanning).jump)

    def operands(self, ctx) -> list[str]:
        """The inputs, each vector beside a map Unsqueezed to (N, C, 1, 1)."""
        rank = len(ctx.out_shape)
        return [ctx.node("Unsqueeze", [x, ctx.int_constant("axes", range(2, rank + 1))])
                if len(s) < rank else x for x, s in zip(ctx.inputs, ctx.in_shapes)]


    def torch_operands(self, ctx) -> list[str]:
        """The inputs, each vector beside a map indexed to (N, C, 1, 1)."""
        rank = len(ctx.out_shape)
        return [f"{x}[:, :{', None' * (rank - len(s))}]" if len(s) < rank else x
                for x, s in zip(ctx.inputs, ctx.in_shapes)]


@register
class Add(_Broadcasting):
    name = "add"
    doc = "elementwise sum of two or more inputs that broadcast (residual connections)"
    onnx_types = ("Add", "Sum")

    def torch(self, p, ctx):
        """x + y (+ ...), broadcasting like numpy."""
        return " + ".join(self.torch_operands(ctx))

    def lower(self, p, ctx):
        """Add for two inputs, Sum for more (both broadcast like numpy)."""
        xs = self.operands(ctx)
        return ctx.node("Add" if len(xs) == 2 else "Sum", xs)


@register
class Mul(_Broadcasting):
    name = "mul"
    doc = "elementwise product of two or more inputs that broadcast (squeeze-and-excitation)"
    onnx_types = ("Mul",)

    def torch(self, p, ctx):
        """x * y (* ...), in the inputs' order."""
        return " * ".join(self.torch_operands(ctx))

    def lower(self, p, ctx):
        """A chain of Mul nodes (ONNX has no n-ary product), in the inputs' order."""
        xs = self.operands(ctx)
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

    def torch(self, p, ctx):
        """torch.cat along dim 1, the channels."""
        return f"torch.cat([{', '.join(ctx.inputs)}], dim=1)"

    def lower(self, p, ctx):
        """Concat(axis=1): the channels."""
        return ctx.node("Concat", ctx.inputs, axis=1)
