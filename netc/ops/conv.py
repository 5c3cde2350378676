"""2-D convolution (§3): ``filters`` kernels of ``kernel`` over C_in/groups channels.

    out   = (filters, L_out(H), L_out(W))                (eq. 2, see window.py)
    params = filters * C_in/groups * kh * kw  (+ filters with bias)   (eq. 12)
             (+ filters with a fused prelu: one slope per channel)
    macs  = params_without_bias * H_out * W_out
    flops = 2 * macs + bias adds + activation FLOPs
"""

from __future__ import annotations

from ..initializers import resolve
from .activation import (PRELU_INIT, activation_flops, activation_params, fused_param, lower_activation,
                         torch_activation)
from .registry import (CHANNELS_LAST, MAX_CHANNELS, MAX_WINDOW, Cost, Inferred, Op, Param,
                       ShapeError, numel, register, spatial)
from .window import slide_2d


@register
class Conv(Op):
    name = "conv"
    doc = "2-D convolution"
    activation_param = True
    onnx_types = ("Conv", "MatMul")
    channels_last = True
    params = {
        "filters": Param("int", "number of output channels (K)", min=1, max=MAX_CHANNELS),
        "kernel": Param("pair", "filter size F, or [height, width]", min=1, max=MAX_WINDOW),
        "stride": Param("pair", "stride S, or [height, width]", default=1, min=1, max=MAX_WINDOW),
        "padding": Param("padding", "zero padding P per side, [height, width], same or valid",
                         default=0, min=0, max=MAX_WINDOW),
        "dilation": Param("pair", "spacing D between kernel taps", default=1, min=1, max=MAX_WINDOW),
        "groups": Param("int", "channel groups (groups = channels: depthwise)", default=1,
                        min=1, max=MAX_CHANNELS),
        "bias": Param("bool", "add a learned bias per filter", default=True),
        "activation": fused_param(),
        "init": Param("init", "weight initializer (§5.3)", default="auto"),
    }

    def infer(self, p, ins):
        c, h, w = spatial("conv", ins[0])
        g = p["groups"]
        if c % g:
            raise ShapeError(f"groups {g} does not divide the {c} input channels", "groups")
        if p["filters"] % g:
            raise ShapeError(f"groups {g} does not divide the {p['filters']} filters", "groups")
        windows = slide_2d((h, w), p["kernel"], p["stride"], p["padding"], p["dilation"])
        return Inferred((p["filters"], windows[0].out, windows[1].out), windows)

    def cost(self, p, ins, out):
        kh, kw = p["kernel"]
        weights = p["filters"] * (ins[0][0] // p["groups"]) * kh * kw
        outputs = numel(out.shape)
        macs = weights * out.shape[1] * out.shape[2]
        bias = p["filters"] if p["bias"] else 0
        flops = 2 * macs + (outputs if bias else 0) + activation_flops(p["activation"], outputs)
        return Cost(params=weights + bias + activation_params(p["activation"], p["filters"]),
                    macs=macs, flops=flops)

    def _pointwise(self, node, ctx) -> dict:
        if node.op_type == "Conv":
            raise ctx.unsupported("Conv on a channels-last tensor")
        if ctx.layout != CHANNELS_LAST:
            raise ctx.unsupported("MatMul on a tensor that is not a channels-last map")
        w, c = ctx.weight_shape(node, 1), ctx.input_shape(node)[0]
        if len(w) != 2:
            raise ctx.unsupported(f"MatMul with a weight of rank {len(w)}")
        if w[0] != c:
            raise ctx.shape_error(f"the weight {list(w)} expects {w[0]} channels, the input has {c}")
        return {"filters": w[1], "kernel": (1, 1), "bias": False}

    def absorb(self, p, node, ctx):
        """After a channels-last MatMul, an Add of a constant (K,) bias: bias true; then
        the activation."""
        if not p["bias"] and ctx.layout == CHANNELS_LAST and node.op_type == "Add" and len(node.input) == 2:
            other = [t for t in node.input if not ctx.is_feature(t)]
            b = ctx.static_shape(other[0]) if len(other) == 1 else None
            if b is not None and numel(b) == p["filters"] and b[-1:] == (p["filters"],):
                return {**p, "bias": True}
        return super().absorb(p, node, ctx)

    def lower(self, p, ctx):
        """Conv with explicit pads, weight (K, C/groups, kh, kw) drawn from ``init``
        (fan_in = C/groups*kh*kw, fan_out = K*kh*kw), zero bias; then the fused activation."""
        kh, kw = p["kernel"]
        k, g = p["filters"], p["groups"]
        c = ctx.in_shapes[0][0] // g
        w = ctx.weight("weight", (k, c, kh, kw), resolve(p["init"], ctx.activation),
                       fan_in=c * kh * kw, fan_out=k * kh * kw)
        ins = [ctx.input, w] + ([ctx.weight("bias", (k,), "zeros")] if p["bias"] else [])
        y = ctx.node("Conv", ins, kernel_shape=[kh, kw], strides=list(p["stride"]),
                     pads=ctx.pads(), dilations=list(p["dilation"]), group=g)
        return lower_activation(ctx, y, p["activation"])

    def torch(self, p, ctx):
        """nn.Conv2d (Conv2dPReLU with a fused prelu) with the windows' padding, the weight
        drawn as ``lower`` draws it; padding that differs between sides (``same`` at an even
        kernel or a stride) is an F.pad before a conv of padding 0; then the activation."""
        kh, kw = p["kernel"]
        k, g = p["filters"], p["groups"]
        c_in = ctx.in_shapes[0][0]
        h, w = ctx.windows
        x, kwargs = ctx.input, {"kernel_size": (kh, kw)}
        if p["stride"] != (1, 1):
            kwargs["stride"] = p["stride"]
        if not ctx.symmetric():
            x = f"F.pad({x}, {ctx.pads()})"
        elif h.pad_begin or w.pad_begin:
            kwargs["padding"] = (h.pad_begin, w.pad_begin)
        if p["dilation"] != (1, 1):
            kwargs["dilation"] = p["dilation"]
        if g != 1:
            kwargs["groups"] = g
        if not p["bias"]:
            kwargs["bias"] = False
        prelu = p["activation"] == "prelu"
        m = ctx.module("Conv2dPReLU" if prelu else "nn.Conv2d", c_in, k, **kwargs)
        c = c_in // g
        ctx.weight("weight", (k, c, kh, kw), resolve(p["init"], ctx.activation), c * kh * kw, k * kh * kw)
        if p["bias"]:
            ctx.weight("bias", (k,), "zeros")
        if prelu:
            ctx.weight("slope", (k,), {"constant": PRELU_INIT}, torch_default=True)
        return torch_activation(ctx, f"{m}({x})", p["activation"])

    def read(self, node, ctx):
        """Conv(X, W (K, C/group, kh, kw), B?) with pads or auto_pad, strides, dilations, group;
        in a channels-last region, MatMul(x, W (C, K)) (PyTorch's Linear on (N, H, W, C)) is a
        conv of kernel 1: params C*K (+ K), macs C*K*H*W (its bias Add is absorbed)."""
        if node.op_type == "MatMul" or ctx.layout == CHANNELS_LAST:
            return self._pointwise(node, ctx)
        w = ctx.weight_shape(node, 1)
        if len(w) != 4:
            raise ctx.unsupported(f"{len(w) - 2}-D convolution (netc reads 2-D ones)")
        k, per_group, kh, kw = w
        kernel = ctx.kernel(node, (kh, kw))
        if kernel != (kh, kw):
            raise ctx.shape_error(f"kernel_shape {list(kernel)} disagrees with the weight {list(w)}")
        groups = ctx.attr(node, "group", 1)
        c = ctx.input_shape(node)[0]
        if per_group * groups != c:
            raise ctx.shape_error(f"the weight {list(w)} with group {groups} expects {per_group * groups} "
                                  f"input channels, the input has {c}", "groups")
        stride, padding, dilation = ctx.window(node, kernel)
        return {"filters": k, "kernel": kernel, "stride": stride, "padding": padding,
                "dilation": dilation, "groups": groups, "bias": ctx.has_input(node, 2)}
