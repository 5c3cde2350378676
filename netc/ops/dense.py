"""Fully connected (affine) layers and flatten (§6.1).

    dense: (C,) -> (units,); params = C * units (+ units); macs = C * units
           flops = 2 * macs + bias adds + activation FLOPs
    flatten: (C, H, W) -> (C*H*W,), free
"""

from __future__ import annotations

from ..initializers import resolve
from .activation import activation_flops, fused_param, lower_activation
from .registry import (MAX_CHANNELS, Cost, Inferred, Op, Param, ShapeError, fmt_shape,
                       numel, register)


@register
class Dense(Op):
    name = "dense"
    doc = "fully connected layer"
    activation_param = True
    params = {
        "units": Param("int", "number of outputs", min=1, max=MAX_CHANNELS),
        "bias": Param("bool", "add a learned bias per unit", default=True),
        "activation": fused_param(),
        "init": Param("init", "weight initializer (§5.3)", default="auto"),
    }

    def infer(self, p, ins):
        if len(ins[0]) != 1:
            raise ShapeError(f"dense needs a vector input, got {fmt_shape(ins[0])}: "
                             "add a flatten or global_avgpool layer before it")
        return Inferred((p["units"],))

    def cost(self, p, ins, out):
        macs = ins[0][0] * p["units"]
        bias = p["units"] if p["bias"] else 0
        return Cost(params=macs + bias, macs=macs,
                    flops=2 * macs + bias + activation_flops(p["activation"], p["units"]))

    def field(self, p, ins, fields, out):
        return fields[0]

    def lower(self, p, ctx):
        """Gemm(x, W, b, transB=1) with W (units, C) drawn from ``init`` (fan_in = C,
        fan_out = units), zero bias; then the fused activation."""
        c, units = ctx.in_shapes[0][0], p["units"]
        w = ctx.weight("weight", (units, c), resolve(p["init"], ctx.activation),
                       fan_in=c, fan_out=units)
        ins = [ctx.input, w] + ([ctx.weight("bias", (units,), "zeros")] if p["bias"] else [])
        y = ctx.node("Gemm", ins, transB=1)
        return lower_activation(ctx, y, p["activation"])


@register
class Flatten(Op):
    name = "flatten"
    doc = "reshape (C, H, W) to the vector (C*H*W,)"

    def infer(self, p, ins):
        return Inferred((numel(ins[0]),))

    def field(self, p, ins, fields, out):
        if fields[0] is None or len(ins[0]) != 3:
            return fields[0]
        return fields[0].whole(ins[0][1:])

    def lower(self, p, ctx):
        """Flatten(axis=1): one node, no shape-computation chain."""
        return ctx.node("Flatten", [ctx.input], axis=1)
