"""Pooling (§3.5): max and average over sliding windows, and global average pooling.

    out = (C, L_out(H), L_out(W))  (eq. 2; stride defaults to the kernel, as in PyTorch)
    maxpool flops = (kh*kw - 1) comparisons per output
    avgpool flops = kh*kw (adds and one divide) per output
    global_avgpool: (C, H, W) -> (C,) (or (C, 1, 1) with keepdims), H*W flops per channel
"""

from __future__ import annotations

from .registry import (MAX_WINDOW, Cost, Field, Inferred, Op, Param, ShapeError, numel, register,
                       spatial)
from .window import slide, slide_2d


class _Pool(Op):
    params = {
        "kernel": Param("pair", "window size, or [height, width]", min=1, max=MAX_WINDOW),
        "stride": Param("pair", "stride; defaults to the kernel", default=None, min=1, max=MAX_WINDOW),
        "padding": Param("padding", "padding per side, [height, width], same or valid",
                         default=0, min=0, max=MAX_WINDOW),
        "ceil_mode": Param("bool", "round the output size up instead of down", default=False),
    }

    def infer(self, p, ins):
        c, h, w = spatial(self.name, ins[0])
        stride = p["stride"] or p["kernel"]
        check_padding(p["kernel"], p["padding"])
        windows = slide_2d((h, w), p["kernel"], stride, p["padding"], (1, 1), p["ceil_mode"])
        return Inferred((c, windows[0].out, windows[1].out), windows)

    def read(self, node, ctx):
        """MaxPool / AveragePool: kernel_shape, strides (ONNX default 1), pads or auto_pad,
        ceil_mode; dilated pooling is not read."""
        kernel = ctx.kernel(node)
        stride, padding, dilation = ctx.window(node, kernel)
        if dilation != (1, 1):
            raise ctx.unsupported(f"dilations {list(dilation)} (netc pools are not dilated)")
        ceil_mode = bool(ctx.attr(node, "ceil_mode", 0))
        if not ceil_mode and padding != "same":
            padding, ceil_mode = as_ceil_mode(ctx.input_shape(node)[1:], kernel, stride, padding)
        return {"kernel": kernel, "stride": stride, "padding": padding, "ceil_mode": ceil_mode}

    def _lower(self, ctx, op_type, p, **extra):
        """Always floor mode: ceil mode becomes floor mode with the end padding that gives
        netc's (PyTorch's) size, which every runtime computes alike (docs/onnx.md)."""
        stride = p["stride"] or p["kernel"]
        return ctx.node(op_type, [ctx.input], kernel_shape=list(p["kernel"]), strides=list(stride),
                        pads=floor_pads(ctx.windows), **extra)


    def _torch(self, p, ctx, cls: str, **extra) -> str:
        """``cls`` (nn.MaxPool2d, nn.AvgPool2d) with the windows' padding and ceil_mode: PyTorch's
        own rule, which netc's shapes follow, when each window pads both sides alike."""
        h, w = ctx.windows
        kwargs = {"stride": p["stride"] or p["kernel"]}
        if h.pad_begin or w.pad_begin:
            kwargs["padding"] = (h.pad_begin, w.pad_begin)
        if p["ceil_mode"]:
            kwargs["ceil_mode"] = True
        m = ctx.module(cls, p["kernel"], **kwargs, **extra)
        return f"{m}({ctx.input})"


def check_padding(kernel, padding) -> None:
    """Pool padding P per side must satisfy P <= F // 2 (PyTorch; onnxruntime: P < F)."""
    if padding == "same":   # TensorFlow's SAME never pads more than F // 2 on a side
        return
    for axis, (k, (pb, pe)) in enumerate(zip(kernel, padding)):
        if max(pb, pe) > k // 2:
            where = "" if kernel[0] == kernel[1] and padding[0] == padding[1] else \
                ("height: ", "width: ")[axis]
            raise ShapeError(
                f"{where}padding {max(pb, pe)} is more than half the kernel {k}: PyTorch refuses "
                f"padding > kernel/2 and onnxruntime padding >= kernel (\"Pad should be smaller "
                f"than kernel\"); " + (f"use padding {k // 2} or less" if k > 1 else "use no padding"),
                "padding")


def as_ceil_mode(hw, kernel, stride, padding):
    """A floor-mode pool whose end padding is past kernel // 2 (what netc's build writes
    for a ceil-mode pool: floor_pads) read back as the ceil-mode pool with the begin
    padding on both sides, when that gives the same windows on every axis; else as it is
    (check_padding then refuses it)."""
    if all(pe <= k // 2 for k, (_, pe) in zip(kernel, padding)) or \
            min(*kernel, *stride) < 1 or min(p for side in padding for p in side) < 0:
        return padding, False           # nothing to reinterpret, or infer refuses it anyway
    symmetric = tuple((pb, pb) for pb, _ in padding)
    try:
        same = all(slide(n, k, s, pb, pe).out == slide(n, k, s, pb, pb, ceil_mode=True).out
                   and pe >= pb for n, k, s, (pb, pe) in zip(hw, kernel, stride, padding))
    except ShapeError:
        return padding, False
    return (symmetric, True) if same else (padding, False)


def floor_pads(windows) -> list[int]:
    """ONNX ``pads`` [top, left, bottom, right], each end padding grown by the ceil-mode
    window's overhang, so that floor((N + P_begin + P_end' - F)/S) + 1 = L_out.
    P_end' < F since the last window starts inside the input or the left padding."""
    h, w = windows
    return [h.pad_begin, w.pad_begin, h.pad_end + h.overhang, w.pad_end + w.overhang]


@register
class MaxPool(_Pool):
    name = "maxpool"
    doc = "maximum over each window"
    onnx_types = ("MaxPool",)

    def cost(self, p, ins, out):
        kh, kw = p["kernel"]
        return Cost(flops=(kh * kw - 1) * numel(out.shape))

    def torch(self, p, ctx):
        """nn.MaxPool2d; padding that differs between sides ('same') is an F.pad of -inf
        (never the max) with each end grown by the ceil-mode overhang, as ``lower``'s pads,
        then a floor-mode pool of padding 0."""
        if ctx.symmetric():
            return self._torch(p, ctx, "nn.MaxPool2d")
        h, w = ctx.windows
        pads = (w.pad_begin, w.pad_end + w.overhang, h.pad_begin, h.pad_end + h.overhang)
        m = ctx.module("nn.MaxPool2d", p["kernel"], stride=p["stride"] or p["kernel"])
        return f'{m}(F.pad({ctx.input}, {pads}, value=float("-inf")))'

    def lower(self, p, ctx):
        """MaxPool with explicit pads (padding never wins the max)."""
        return self._lower(ctx, "MaxPool", p)


@register
class AvgPool(_Pool):
    name = "avgpool"
    doc = "mean over each window"
    onnx_types = ("AveragePool",)
    params = {**_Pool.params,
              "count_include_pad": Param("bool", "count padding zeros in the mean", default=False)}

    def cost(self, p, ins, out):
        kh, kw = p["kernel"]
        return Cost(flops=kh * kw * numel(out.shape))

    def lower(self, p, ctx):
        """AveragePool with explicit pads and count_include_pad. When padding is counted
        and a ceil-mode window overhangs the padded input, PyTorch divides by the window
        clipped to the padded input: zero-pad explicitly (``Pad``), then pool with only the
        overhang as (uncounted) padding. Without padding the flag changes nothing: 0."""
        h, w = ctx.windows
        counted = bool(p["count_include_pad"] and (h.padding or w.padding))
        if not (counted and (h.overhang or w.overhang)):
            return self._lower(ctx, "AveragePool", p, count_include_pad=int(counted))
        pads = ctx.node("Constant", [], value_ints=[0, 0, h.pad_begin, w.pad_begin,
                                                    0, 0, h.pad_end, w.pad_end])
        padded = ctx.node("Pad", [ctx.input, pads])
        stride = p["stride"] or p["kernel"]
        return ctx.node("AveragePool", [padded], kernel_shape=list(p["kernel"]), strides=list(stride),
                        pads=[0, 0, h.overhang, w.overhang], count_include_pad=0)

    def torch(self, p, ctx):
        """nn.AvgPool2d with netc's count_include_pad (default false; PyTorch's default is
        true: lint rule A008). Padding that differs between sides ('same'): the
        ``avg_pool_padded`` helper, zero padding with each end grown by the ceil-mode
        overhang, every mean divided by its window's real pixels (and the padding with
        count_include_pad, never the overhang)."""
        if ctx.symmetric():
            return self._torch(p, ctx, "nn.AvgPool2d", count_include_pad=p["count_include_pad"])
        h, w = ctx.windows
        pads = (w.pad_begin, w.pad_end + w.overhang, h.pad_begin, h.pad_end + h.overhang)
        counted = ctx.pads() if p["count_include_pad"] else (0, 0, 0, 0)
        f = ctx.helper("avg_pool_padded")
        return f"{f}({ctx.input}, {tuple(p['kernel'])}, {tuple(p['stride'] or p['kernel'])}, {pads}, {counted})"

    def read(self, node, ctx):
        """AveragePool: as MaxPool, with count_include_pad (ONNX default 0)."""
        return {**super().read(node, ctx),
                "count_include_pad": bool(ctx.attr(node, "count_include_pad", 0))}


@register
class GlobalAvgPool(Op):
    name = "global_avgpool"
    doc = "mean over the whole height and width of each channel (§6.3, §7.1)"
    onnx_types = ("GlobalAveragePool", "ReduceMean")
    onnx_takes = ("Squeeze",)
    params = {"keepdims": Param("bool", "keep (C, 1, 1) instead of (C,)", default=False)}

    def infer(self, p, ins):
        c, _, _ = spatial(self.name, ins[0])
        return Inferred((c, 1, 1) if p["keepdims"] else (c,))

    def cost(self, p, ins, out):
        return Cost(flops=numel(ins[0]))

    def field(self, p, ins, fields, out):
        return fields[0].whole(ins[0][1:]) if fields[0] else None

    def torch(self, p, ctx):
        """The mean over dims 2 and 3."""
        return f"{ctx.input}.mean((2, 3){', keepdim=True' if p['keepdims'] else ''})"

    def lower(self, p, ctx):
        """GlobalAveragePool gives (N, C, 1, 1); a Flatten follows unless keepdims."""
        y = ctx.node("GlobalAveragePool", [ctx.input])
        return y if p["keepdims"] else ctx.node("Flatten", [y], axis=1)

    def read(self, node, ctx):
        """GlobalAveragePool (keeps (C, 1, 1)), or ReduceMean over axes 2 and 3."""
        if node.op_type == "ReduceMean":
            rank = len(ctx.input_shape(node)) + 1
            axes = ctx.attr(node, "axes") if ctx.opset < 18 else \
                (ctx.value(node.input[1]) if ctx.has_input(node, 1) else None)
            if axes is None or rank != 4 or sorted(a % rank for a in axes) != [2, 3]:
                raise ctx.unsupported(f"ReduceMean over axes {axes} (netc reads the mean over "
                                      "height and width)")
            return {"keepdims": bool(ctx.attr(node, "keepdims", 1))}
        return {"keepdims": True}

    def absorb(self, p, node, ctx):
        """A Flatten, a Reshape to (N, C) or a Squeeze after it: keepdims false."""
        if not p["keepdims"]:
            return None
        if node.op_type in ("Flatten", "Reshape") and ctx.flattens(node) is None:
            return {**p, "keepdims": False}
        if node.op_type == "Squeeze":
            axes = ctx.attr(node, "axes") if ctx.opset < 13 else \
                (ctx.value(node.input[1]) if ctx.has_input(node, 1) else None)
            if axes is not None and sorted(a % 4 for a in axes) == [2, 3]:
                return {**p, "keepdims": False}
        return None
