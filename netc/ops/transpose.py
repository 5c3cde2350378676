"""Transposed convolution ("deconvolution", fractionally strided convolution):
each input pixel scatters a ``kernel`` window into the output, windows ``stride``
apart; the inverse of conv's window arithmetic::

    L_out = (N - 1)*S - P_begin - P_end + D*(F - 1) + output_padding + 1

    params = C_in * filters/groups * kh * kw  (+ filters with bias)
             (the product of the kernel over every spatial axis, 1-, 2- or 3-D)
             (+ filters with a fused prelu: one slope per channel)
             (PyTorch's weight shape (C_in, filters/groups, kh, kw))
    macs   = params_without_bias * H_in * W_in   (times every spatial input axis)
             (every input pixel times its whole kernel, the convention of fvcore
             and torchvision; products that land in the cropped padding count too)
    flops  = 2 * macs + bias adds + activation FLOPs

``output_padding`` adds rows at the end only, and must be smaller than the
stride or the dilation (PyTorch's rule): it picks one of the S input sizes a
stride-S conv maps to the same output size.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..initializers import resolve
from .activation import (PRELU_INIT, activation_flops, activation_params, fused_param, lower_activation,
                         torch_activation)
from .registry import (MAX_CHANNELS, MAX_WINDOW, Cost, Field, Inferred, Op, Param, ShapeError,
                       feature_map, numel, register)
from .window import axis_names, per_axis

MAX_SIDE = 1 << 20      # the largest output side a growing op may produce (input sides' bound)


@dataclass(frozen=True)
class TransposedWindow:
    """One spatial dimension of a transposed convolution: the fields of ``Window``
    (so summaries print it alike) and ``output_padding``; nothing is ever dropped."""

    size: int             # N: input length
    kernel: int           # F
    stride: int           # S
    pad_begin: int        # output rows cropped at the start
    pad_end: int          # output rows cropped at the end
    dilation: int = 1     # D
    output_padding: int = 0
    out: int = 0          # L_out
    remainder: int = 0
    dropped: int = 0
    skipped: int = 0
    ceil_mode: bool = False

    @property
    def extent(self) -> int:
        return self.dilation * (self.kernel - 1) + 1

    @property
    def exact(self) -> bool:
        return True

    @property
    def padding(self) -> int:
        return self.pad_begin + self.pad_end

    @property
    def taps(self) -> int:
        """The most input pixels one output sees: ceil(extent / S)."""
        return -(-self.extent // self.stride)


def unslide(size: int, kernel: int, stride: int, pad_begin: int, pad_end: int, dilation: int = 1,
            output_padding: int = 0) -> TransposedWindow:
    """The transposed window arithmetic of one dimension; ShapeError when it has no output."""
    if output_padding >= max(stride, dilation):
        raise ShapeError(f"output_padding {output_padding} must be smaller than the stride {stride} "
                         f"or the dilation {dilation} (PyTorch's rule)", "output_padding")
    out = (size - 1) * stride - pad_begin - pad_end + dilation * (kernel - 1) + output_padding + 1
    if out < 1:
        raise ShapeError(f"padding {pad_begin} + {pad_end} crops the whole output: "
                         f"({size} - 1)*{stride} - {pad_begin + pad_end} + {dilation * (kernel - 1) + 1}"
                         f"{f' + {output_padding}' if output_padding else ''} = {out}", "padding")
    if out > MAX_SIDE:
        raise ShapeError(f"output side {out:,} exceeds netc's limit of {MAX_SIDE:,}", "stride")
    return TransposedWindow(size, kernel, stride, pad_begin, pad_end, dilation, output_padding, out)


@register
class ConvTranspose(Op):
    name = "conv_transpose"
    doc = "transposed convolution over 1, 2 or 3 spatial axes (learned upsampling, PyTorch's ConvTranspose1d/2d/3d)"
    activation_param = True
    params = {
        "filters": Param("int", "number of output channels (K)", min=1, max=MAX_CHANNELS),
        "kernel": Param("pair", "filter size F, or one per axis ([height, width])", min=1, max=MAX_WINDOW),
        "stride": Param("pair", "stride S between the scattered windows, or one per axis",
                        default=1, min=1, max=MAX_WINDOW),
        "padding": Param("pair", "output rows P cropped on each side, or one per axis",
                         default=0, min=0, max=MAX_WINDOW),
        "output_padding": Param("pair", "rows added at the end of the output (< stride or dilation)",
                                default=0, min=0, max=MAX_WINDOW),
        "dilation": Param("pair", "spacing D between kernel taps", default=1, min=1, max=MAX_WINDOW),
        "groups": Param("int", "channel groups", default=1, min=1, max=MAX_CHANNELS),
        "bias": Param("bool", "add a learned bias per filter", default=True),
        "activation": fused_param(),
        "init": Param("init", "weight initializer (§5.3)", default="auto"),
    }

    def infer(self, p, ins):
        c, sizes = feature_map(self.name, ins[0])
        g = p["groups"]
        if c % g:
            raise ShapeError(f"groups {g} does not divide the {c} input channels", "groups")
        if p["filters"] % g:
            raise ShapeError(f"groups {g} does not divide the {p['filters']} filters", "groups")
        n = len(sizes)
        axes = zip(sizes, *(per_axis(p[k], n, k) for k in ("kernel", "stride", "padding", "dilation",
                                                            "output_padding")))
        windows = []
        for axis, (size, k, s, pad, d, op) in enumerate(axes):
            try:
                windows.append(unslide(size, k, s, pad, pad, d, op))
            except ShapeError as e:
                raise ShapeError(f"{axis_names(n)[axis]}: {e}", e.param) from None
        return Inferred((p["filters"], *(w.out for w in windows)), windows)

    def cost(self, p, ins, out):
        c = ins[0][0]
        weights = c * (p["filters"] // p["groups"]) * numel([w.kernel for w in out.windows])
        macs = weights * numel(ins[0][1:])
        bias = p["filters"] if p["bias"] else 0
        outputs = numel(out.shape)
        flops = 2 * macs + (outputs if bias else 0) + activation_flops(p["activation"], outputs)
        return Cost(params=weights + bias + activation_params(p["activation"], p["filters"]),
                    macs=macs, flops=flops)

    def field(self, p, ins, fields, out):
        """An output sees at most ceil(extent/S) neighbouring inputs: size' = size +
        (ceil(E/S) - 1)*jump, jump' = jump/S; None when jump/S is not a whole pixel."""
        f = fields[0]
        if f is None or any(j % w.stride for j, w in zip(f.jump, out.windows)):
            return None
        return Field(tuple(s + (w.taps - 1) * j for s, j, w in zip(f.size, f.jump, out.windows)),
                     tuple(j // w.stride for j, w in zip(f.jump, out.windows)))

    onnx_types = ("ConvTranspose",)

    def read(self, node, ctx):
        """ConvTranspose(X, W (C_in, K/group, kh, kw), B?) in 1, 2 or 3 dimensions: strides,
        dilations, group, output_padding, symmetric pads (or auto_pad VALID); output_shape
        is not read."""
        w = ctx.weight_shape(node, 1)
        if not 3 <= len(w) <= 5 or len(w) != len(ctx.input_shape(node)) + 1:
            raise ctx.unsupported(f"a transposed convolution weight {list(w)} on the input "
                                  f"{list(ctx.input_shape(node))} (netc reads 1-, 2- and 3-D ones)")
        c_in, per_group = w[:2]
        n = len(w) - 2
        kernel = ctx.kernel(node, tuple(w[2:]))
        groups = ctx.attr(node, "group", 1)
        if kernel != tuple(w[2:]) or ctx.input_shape(node)[0] != c_in:
            raise ctx.shape_error(f"the weight {list(w)} does not fit kernel_shape {list(kernel)} and "
                                  f"{ctx.input_shape(node)[0]} input channels")
        if ctx.attr(node, "output_shape") is not None:
            raise ctx.unsupported("ConvTranspose with output_shape")
        auto = ctx.attr(node, "auto_pad", "NOTSET") or "NOTSET"
        zeros = [0] * 2 * n
        pads = ctx.attr(node, "pads", zeros) if auto == "NOTSET" else zeros if auto == "VALID" else None
        if pads is None or len(pads) != 2 * n or pads[:n] != pads[n:]:
            raise ctx.unsupported(f"ConvTranspose pads {pads} or auto_pad {auto} (netc's crop "
                                  "the same rows at both ends)")
        more = {}
        for key, attr in (("stride", "strides"), ("output_padding", "output_padding"),
                          ("dilation", "dilations")):
            more[key] = tuple(ctx.attr(node, attr, [0 if key == "output_padding" else 1] * n))
            if len(more[key]) != n:
                raise ctx.unsupported(f"{attr} {list(more[key])} of the wrong length")
        return {"filters": per_group * groups, "kernel": kernel, "padding": tuple(pads[:n]), **more,
                "groups": groups, "bias": ctx.has_input(node, 2)}

    def torch(self, p, ctx):
        """nn.ConvTranspose1d/2d/3d as the map's rank says (ConvTranspose{n}dPReLU with a
        fused prelu), which takes every output_padding netc does; weight
        (C_in, K/groups, *kernel) drawn as ``lower`` draws it."""
        kernel = ctx.per_axis("kernel")
        k, g = p["filters"], p["groups"]
        c = ctx.in_shapes[0][0]
        kwargs = {"kernel_size": ctx.arg("kernel")}
        for key, field, default in (("stride", "stride", 1), ("padding", "pad_begin", 0),
                                    ("output_padding", "output_padding", 0)):
            if set(ctx.per_axis(field)) != {default}:
                kwargs[key] = ctx.arg(field)
        if g != 1:
            kwargs["groups"] = g
        if not p["bias"]:
            kwargs["bias"] = False
        if set(ctx.per_axis("dilation")) != {1}:
            kwargs["dilation"] = ctx.arg("dilation")
        prelu = p["activation"] == "prelu"
        cls = f"ConvTranspose{ctx.dims}dPReLU" if prelu else f"nn.ConvTranspose{ctx.dims}d"
        m = ctx.module(cls, c, k, **kwargs)
        taps = numel(kernel)
        ctx.weight("weight", (c, k // g, *kernel), resolve(p["init"], p["activation"]), k // g * taps, c * taps)
        if p["bias"]:
            ctx.weight("bias", (k,), "zeros")
        if prelu:
            ctx.weight("slope", (k,), {"constant": PRELU_INIT}, torch_default=True)
        return torch_activation(ctx, f"{m}({ctx.input})", p["activation"])

    def lower(self, p, ctx):
        """ConvTranspose with explicit pads and output_padding; weight (C_in, K/groups, kh, kw)
        drawn from ``init`` with PyTorch's fans for that shape (fan_in = K/groups*kh*kw,
        fan_out = C_in*kh*kw), zero bias; then the fused activation.

        onnxruntime refuses output_padding >= stride, which PyTorch allows below the
        dilation: those rows are the ones the end padding would crop, so the end pad
        shrinks instead; rows past the scattered windows are zeros, appended by a Pad
        with the bias added after it."""
        ws = ctx.windows
        n, kernel = len(ws), [w.kernel for w in ws]
        k, g = p["filters"], p["groups"]
        c = ctx.in_shapes[0][0]
        w = ctx.weight("weight", (c, k // g, *kernel), resolve(p["init"], p["activation"]),
                       fan_in=k // g * numel(kernel), fan_out=c * numel(kernel))
        pads, inner, extra = ctx.pads(), [], []
        for axis, win in enumerate(ws):
            op, s = win.output_padding, win.stride
            if op >= s:
                end = max(pads[n + axis] - op, 0)
                op -= pads[n + axis] - end
                pads[n + axis] = end
            inner.append(op if op < s else 0)
            extra.append(0 if op < s else op)
        fused_bias = p["bias"] and not any(extra)
        ins = [ctx.input, w] + ([ctx.weight("bias", (k,), "zeros")] if fused_bias else [])
        y = ctx.node("ConvTranspose", ins, kernel_shape=kernel, strides=[w.stride for w in ws],
                     pads=pads, dilations=[w.dilation for w in ws], group=g, output_padding=inner)
        if any(extra):
            y = ctx.node("Pad", [y, ctx.constant("pads", [0] * (n + 2) + [0, 0, *extra], "int64")])
            if p["bias"]:
                y = ctx.node("Add", [y, ctx.weight("bias", (k, *(1,) * n), "zeros")])
        return lower_activation(ctx, y, p["activation"])
