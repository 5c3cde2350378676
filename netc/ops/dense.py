"""Fully connected (affine) layers and flatten (§6.1).

    dense: (C,) -> (units,); params = C * units (+ units) (+ units with a fused prelu)
           macs = C * units
           flops = 2 * macs + bias adds + activation FLOPs
           last_axis: (..., C) -> (..., units), each position alike (nn.Linear on tokens):
           the same params, macs and flops times the positions
    flatten: (C, H, W) -> (C*H*W,), free; ``start``/``end`` merge only those axes
             (torch.flatten's start_dim/end_dim, the batch being axis 0)
"""

from __future__ import annotations

from ..initializers import resolve
from .activation import (PRELU_INIT, activation_flops, activation_params, fused_param, lower_activation,
                         torch_activation)
from .registry import (CHANNELS_LAST, MAX_CHANNELS, Cost, Inferred, Op, Param, ShapeError, fmt_shape,
                       numel, register)
from .axes import axis_param, dim


@register
class Dense(Op):
    name = "dense"
    per_channel = True
    doc = "fully connected layer"
    activation_param = True
    onnx_types = ("Gemm", "MatMul")
    params = {
        "units": Param("int", "number of outputs", min=1, max=MAX_CHANNELS),
        "bias": Param("bool", "add a learned bias per unit", default=True),
        "activation": fused_param(),
        "init": Param("init", "weight initializer (§5.3)", default="auto"),
        "last_axis": Param("bool", "apply to the last axis of a tensor of any rank, each position "
                           "alike (nn.Linear on tokens (L, C)); false: the input must be a vector",
                           default=False),
    }

    def infer(self, p, ins):
        if p["last_axis"]:
            if not ins[0]:
                raise ShapeError("dense over the last axis needs a tensor with an axis besides the batch")
            return Inferred((*ins[0][:-1], p["units"]))
        if len(ins[0]) != 1:
            raise ShapeError(f"dense needs a vector input, got {fmt_shape(ins[0])}: "
                             "add a flatten or global_avgpool layer before it (or last_axis: true "
                             "for nn.Linear on the last axis)")
        return Inferred((p["units"],))

    def cost(self, p, ins, out):
        at = numel(ins[0][:-1]) if p["last_axis"] else 1        # positions the weights apply at
        w = ins[0][-1] * p["units"]
        bias = p["units"] if p["bias"] else 0
        return Cost(params=w + bias + activation_params(p["activation"], p["units"]), macs=at * w,
                    flops=at * (2 * w + bias + activation_flops(p["activation"], p["units"])))

    def field(self, p, ins, fields, out):
        return fields[0]

    def lower(self, p, ctx):
        """Gemm(x, W, b, transB=1) with W (units, C) drawn from ``init`` (fan_in = C,
        fan_out = units), zero bias; over the last axis, MatMul(x, W (C, units)) then Add of
        the bias; then the fused activation."""
        c, units = ctx.in_shapes[0][-1], p["units"]
        if p["last_axis"]:
            w = ctx.weight("weight", (c, units), resolve(p["init"], ctx.activation), fan_in=c, fan_out=units)
            y = ctx.node("MatMul", [ctx.input, w])
            if p["bias"]:
                y = ctx.node("Add", [y, ctx.weight("bias", (units,), "zeros")])
            return lower_activation(ctx, y, p["activation"])
        w = ctx.weight("weight", (units, c), resolve(p["init"], ctx.activation),
                       fan_in=c, fan_out=units)
        ins = [ctx.input, w] + ([ctx.weight("bias", (units,), "zeros")] if p["bias"] else [])
        y = ctx.node("Gemm", ins, transB=1)
        return lower_activation(ctx, y, p["activation"])

    def torch(self, p, ctx):
        """nn.Linear (LinearPReLU with a fused prelu), weight (units, C) drawn as ``lower``
        draws it; then the activation."""
        c, units = ctx.in_shapes[0][-1], p["units"]
        prelu = p["activation"] == "prelu"
        m = ctx.module("LinearPReLU" if prelu else "nn.Linear", c, units,
                       **({} if p["bias"] else {"bias": False}))
        ctx.weight("weight", (units, c), resolve(p["init"], ctx.activation), c, units)
        if p["bias"]:
            ctx.weight("bias", (units,), "zeros")
        if prelu:
            ctx.weight("slope", (units,), {"constant": PRELU_INIT}, torch_default=True)
        return torch_activation(ctx, f"{m}({ctx.input})", p["activation"])

    def read(self, node, ctx):
        """Gemm(x, W, b?) with W (C, units), or (units, C) with transB; MatMul(x, W (C, units))
        (its bias Add is absorbed); MatMul(x, W (C, units)) on a tensor of rank 2 or more
        besides the batch (tokens (L, C): nn.Linear) is dense over its last axis."""
        shape = ctx.input_shape(node)
        last = node.op_type == "MatMul" and len(shape) >= 2 and ctx.layout != CHANNELS_LAST \
            and ctx.has_input(node, 1) and not ctx.is_feature(node.input[1])
        if len(shape) != 1 and not last:
            raise ctx.unsupported(f"{node.op_type} on the map {fmt_shape(shape)} (netc's dense "
                                  "reads vectors)")
        w = ctx.weight_shape(node, 1)
        if len(w) != 2:
            raise ctx.unsupported(f"{node.op_type} with a weight of rank {len(w)}")
        bias = False
        if node.op_type == "Gemm":
            if ctx.attr(node, "transA", 0):
                raise ctx.unsupported("transA=1")
            if ctx.attr(node, "transB", 0):
                w = w[::-1]
            bias = ctx.has_input(node, 2) and ctx.attr(node, "beta", 1.0) != 0
            if bias and numel(ctx.weight_shape(node, 2)) != w[1]:
                raise ctx.unsupported(f"a bias of shape {list(ctx.weight_shape(node, 2))} for "
                                      f"{w[1]} units")
        if w[0] != shape[-1]:
            raise ctx.shape_error(f"the weight {list(w)} expects {w[0]} inputs, the input has {shape[-1]}")
        return {"units": w[1], "bias": bias, **({"last_axis": True} if last else {})}

    def absorb(self, p, node, ctx):
        """An Add of a constant (units,) bias after MatMul: bias true; then the activation."""
        if not p["bias"] and node.op_type == "Add" and len(node.input) == 2:
            other = [t for t in node.input if not ctx.is_feature(t)]
            b = ctx.static_shape(other[0]) if len(other) == 1 else None
            if b is not None and numel(b) == p["units"] and b[-1:] == (p["units"],):
                return {**p, "bias": True}
        return super().absorb(p, node, ctx)


@register
class Flatten(Op):
    name = "flatten"
    doc = "merge the axes start..end into one (default: everything after the batch, a vector)"
    onnx_types = ("Flatten", "Reshape")
    params = {
        "start": axis_param("the first axis merged"),
        "end": axis_param("the last axis merged", default=-1),
    }

    def span(self, p, shape) -> tuple[int, int]:
        s, e = dim(p["start"], shape, "start", "flatten"), dim(p["end"], shape, "end", "flatten")
        if e < s:
            raise ShapeError(f"flatten end {p['end']} comes before start {p['start']}", "end")
        return s, e

    def whole(self, p) -> bool:
        return p["start"] == 1 and p["end"] == -1

    def infer(self, p, ins):
        if self.whole(p):
            return Inferred((numel(ins[0]),))
        s, e = self.span(p, ins[0])
        shape = ins[0]
        return Inferred((*shape[:s], numel(shape[s:e + 1]), *shape[e + 1:]))

    def field(self, p, ins, fields, out):
        if not self.whole(p):
            return fields[0] if out.shape == ins[0] else None
        if fields[0] is None or not 2 <= len(ins[0]) <= 4:
            return fields[0]
        return fields[0].whole(ins[0][1:])

    def lower(self, p, ctx):
        """Flatten(axis=1): one node, no shape-computation chain; some axes only: Reshape to
        [0, *shape]."""
        if self.whole(p):
            return ctx.node("Flatten", [ctx.input], axis=1)
        return ctx.node("Reshape", [ctx.input, ctx.int_constant("shape", [0, *ctx.out_shape])])

    def torch(self, p, ctx):
        """torch.flatten from dim 1; some axes only: torch.flatten(x, start, end)."""
        if self.whole(p):
            return f"torch.flatten({ctx.input}, 1)"
        s, e = self.span(p, ctx.in_shapes[0])
        return f"torch.flatten({ctx.input}, {s + 1}, {e + 1})"

    def read(self, node, ctx):
        """Flatten(axis=1), or a Reshape to (N, C*H*W) however the exporter spelled it."""
        why = ctx.flattens(node)
        if why:
            raise ctx.unsupported(why)
        return {}
