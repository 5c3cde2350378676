"""Convolution (§3) in 1, 2 or 3 dimensions: ``filters`` kernels of ``kernel`` over
C_in/groups channels, on a (C, L), (C, H, W) or (C, D, H, W) map.

    out   = (filters, L_out(H), L_out(W))       (eq. 2 per spatial axis, see window.py)
    params = filters * C_in/groups * kh * kw  (+ filters with bias)   (eq. 12)
             (the product of the kernel over every spatial axis: k, kh*kw, kd*kh*kw)
             (+ filters with a fused prelu: one slope per channel)
    macs  = params_without_bias * H_out * W_out   (times every spatial output axis)
    flops = 2 * macs + bias adds + activation FLOPs

``trainable: false`` fixes the layer's weights (YOLOv8's DFL: a 1x1 conv of 16 weights
0..15, ``init: arange``, that PyTorch holds with requires_grad False): they are counted,
as non-trainable parameters (``Cost.buffers``), as Ultralytics' 3,157,200 counts them.
"""

from __future__ import annotations

from ..initializers import resolve
from .activation import (PRELU_INIT, activation_flops, activation_params, fused_param, lower_activation,
                         torch_activation)
from .registry import (CHANNELS_LAST, MAX_CHANNELS, MAX_WINDOW, Cost, Inferred, Op, Param,
                       ShapeError, feature_map, numel, register)
from .window import slide_nd


@register
class Conv(Op):
    name = "conv"
    doc = "convolution over 1, 2 or 3 spatial axes (PyTorch's Conv1d, Conv2d, Conv3d)"
    activation_param = True
    onnx_types = ("Conv", "MatMul")
    channels_last = True
    params = {
        "filters": Param("int", "number of output channels (K)", min=1, max=MAX_CHANNELS),
        "kernel": Param("pair", "filter size F, or one per axis ([height, width])", min=1, max=MAX_WINDOW),
        "stride": Param("pair", "stride S, or one per axis", default=1, min=1, max=MAX_WINDOW),
        "padding": Param("padding", "zero padding P per side, one per axis, same or valid",
                         default=0, min=0, max=MAX_WINDOW),
        "dilation": Param("pair", "spacing D between kernel taps", default=1, min=1, max=MAX_WINDOW),
        "groups": Param("int", "channel groups (groups = channels: depthwise)", default=1,
                        min=1, max=MAX_CHANNELS),
        "bias": Param("bool", "add a learned bias per filter", default=True),
        "activation": fused_param(),
        "init": Param("init", "weight initializer (§5.3)", default="auto"),
        "trainable": Param("bool", "false: fixed weights (init), counted as non-trainable "
                           "parameters (YOLOv8's DFL)", default=True),
    }

    def infer(self, p, ins):
        c, sizes = feature_map("conv", ins[0])
        g = p["groups"]
        if c % g:
            raise ShapeError(f"groups {g} does not divide the {c} input channels", "groups")
        if p["filters"] % g:
            raise ShapeError(f"groups {g} does not divide the {p['filters']} filters", "groups")
        windows = slide_nd(sizes, p["kernel"], p["stride"], p["padding"], p["dilation"])
        return Inferred((p["filters"], *(w.out for w in windows)), windows)

    def cost(self, p, ins, out):
        weights = p["filters"] * (ins[0][0] // p["groups"]) * numel([w.kernel for w in out.windows])
        outputs = numel(out.shape)
        macs = weights * numel(out.shape[1:])
        bias = p["filters"] if p["bias"] else 0
        flops = 2 * macs + (outputs if bias else 0) + activation_flops(p["activation"], outputs)
        params = weights + bias + activation_params(p["activation"], p["filters"])
        if not p["trainable"]:
            return Cost(buffers=params, macs=macs, flops=flops)
        return Cost(params=params, macs=macs, flops=flops)

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
        """Conv with explicit pads, weight (K, C/groups, *kernel) drawn from ``init``
        (fan_in = C/groups*kh*kw, fan_out = K*kh*kw), zero bias; then the fused activation."""
        kernel = [w.kernel for w in ctx.windows]
        k, g = p["filters"], p["groups"]
        c = ctx.in_shapes[0][0] // g
        w = ctx.weight("weight", (k, c, *kernel), resolve(p["init"], ctx.activation),
                       fan_in=c * numel(kernel), fan_out=k * numel(kernel))
        ins = [ctx.input, w] + ([ctx.weight("bias", (k,), "zeros")] if p["bias"] else [])
        y = ctx.node("Conv", ins, kernel_shape=kernel, strides=[w.stride for w in ctx.windows],
                     pads=ctx.pads(), dilations=[w.dilation for w in ctx.windows], group=g)
        return lower_activation(ctx, y, p["activation"])

    def torch(self, p, ctx):
        """nn.Conv1d/2d/3d as the map's rank says (Conv{n}dPReLU with a fused prelu) with the
        windows' padding, the weight drawn as ``lower`` draws it; padding that differs
        between sides (``same`` at an even kernel or a stride) is an F.pad before a conv of
        padding 0; then the activation. ``trainable: false``: the module's parameters
        are frozen (requires_grad False), as Ultralytics' DFL conv."""
        kernel = ctx.per_axis("kernel")
        k, g = p["filters"], p["groups"]
        c_in = ctx.in_shapes[0][0]
        x, kwargs = ctx.input, {"kernel_size": ctx.arg("kernel")}
        if set(ctx.per_axis("stride")) != {1}:
            kwargs["stride"] = ctx.arg("stride")
        if not ctx.symmetric():
            x = f"F.pad({x}, {ctx.pads()})"
        elif any(ctx.per_axis("pad_begin")):
            kwargs["padding"] = ctx.arg("pad_begin")
        if set(ctx.per_axis("dilation")) != {1}:
            kwargs["dilation"] = ctx.arg("dilation")
        if g != 1:
            kwargs["groups"] = g
        if not p["bias"]:
            kwargs["bias"] = False
        prelu = p["activation"] == "prelu"
        m = ctx.module(f"Conv{ctx.dims}dPReLU" if prelu else f"nn.Conv{ctx.dims}d", c_in, k, **kwargs)
        c, taps = c_in // g, numel(kernel)
        fixed = {"trainable": False} if not p["trainable"] else {}
        ctx.weight("weight", (k, c, *kernel), resolve(p["init"], ctx.activation), c * taps, k * taps, **fixed)
        if p["bias"]:
            ctx.weight("bias", (k,), "zeros", **fixed)
        if prelu:
            ctx.weight("slope", (k,), {"constant": PRELU_INIT}, torch_default=True)
        if not p["trainable"]:
            ctx.init_lines.append(f"{m}.requires_grad_(False)  # fixed weights")
        return torch_activation(ctx, f"{m}({x})", p["activation"])

    def read(self, node, ctx):
        """Conv(X, W (K, C/group, kh, kw), B?) with pads or auto_pad, strides, dilations, group,
        in 1, 2 or 3 dimensions (a weight of rank 3, 4 or 5 on an input of the same rank);
        in a channels-last region, MatMul(x, W (C, K)) (PyTorch's Linear on (N, H, W, C)) is a
        conv of kernel 1: params C*K (+ K), macs C*K*H*W (its bias Add is absorbed)."""
        if node.op_type == "MatMul" or ctx.layout == CHANNELS_LAST:
            return self._pointwise(node, ctx)
        w = ctx.weight_shape(node, 1)
        if not 3 <= len(w) <= 5 or len(w) != len(ctx.input_shape(node)) + 1:
            raise ctx.unsupported(f"a convolution weight {list(w)} on the input "
                                  f"{list(ctx.input_shape(node))} (netc reads 1-, 2- and 3-D ones)")
        k, per_group = w[:2]
        kernel = ctx.kernel(node, tuple(w[2:]))
        if kernel != tuple(w[2:]):
            raise ctx.shape_error(f"kernel_shape {list(kernel)} disagrees with the weight {list(w)}")
        groups = ctx.attr(node, "group", 1)
        c = ctx.input_shape(node)[0]
        if per_group * groups != c:
            raise ctx.shape_error(f"the weight {list(w)} with group {groups} expects {per_group * groups} "
                                  f"input channels, the input has {c}", "groups")
        stride, padding, dilation = ctx.window(node, kernel)
        return {"filters": k, "kernel": kernel, "stride": stride, "padding": padding,
                "dilation": dilation, "groups": groups, "bias": ctx.has_input(node, 2)}
