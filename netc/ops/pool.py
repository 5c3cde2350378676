"""Pooling (§3.5): max and average over sliding windows, and global average pooling,
on maps of 1, 2 or 3 spatial axes ((C, L), (C, H, W), (C, D, H, W)).

    out = (C, L_out(H), L_out(W))  (eq. 2 per axis; stride defaults to the kernel, as in PyTorch)
    maxpool flops = (kh*kw - 1) comparisons per output (kh*kw: the window's size, k or kd*kh*kw)
    avgpool flops = kh*kw (adds and one divide) per output
    global_avgpool: (C, H, W) -> (C,) (or (C, 1, 1) with keepdims), H*W flops per channel
"""

from __future__ import annotations

from .registry import (MAX_WINDOW, Cost, Field, Inferred, Op, Param, ShapeError, feature_map, numel,
                       register)
from .window import axis_names, pads_per_axis, per_axis, slide, slide_nd


class _Pool(Op):
    params = {
        "kernel": Param("pair", "window size, or one per axis ([height, width])", min=1, max=MAX_WINDOW),
        "stride": Param("pair", "stride; defaults to the kernel", default=None, min=1, max=MAX_WINDOW),
        "padding": Param("padding", "padding per side, one per axis, same or valid",
                         default=0, min=0, max=MAX_WINDOW),
        "ceil_mode": Param("bool", "round the output size up instead of down", default=False),
    }

    def infer(self, p, ins):
        c, sizes = feature_map(self.name, ins[0])
        n = len(sizes)
        kernel = per_axis(p["kernel"], n, "kernel")
        stride = per_axis(p["stride"], n, "stride") if p["stride"] is not None else kernel
        check_padding(kernel, pads_per_axis(p["padding"], n))
        windows = slide_nd(sizes, kernel, stride, p["padding"], 1, p["ceil_mode"])
        return Inferred((c, *(w.out for w in windows)), windows)

    def read(self, node, ctx):
        """MaxPool / AveragePool in 1, 2 or 3 dimensions: kernel_shape, strides (ONNX
        default 1), pads or auto_pad, ceil_mode; dilated pooling is not read."""
        kernel = ctx.kernel(node)
        stride, padding, dilation = ctx.window(node, kernel)
        if any(d != 1 for d in dilation):
            raise ctx.unsupported(f"dilations {list(dilation)} (netc pools are not dilated)")
        ceil_mode = bool(ctx.attr(node, "ceil_mode", 0))
        if not ceil_mode and padding != "same":
            padding, ceil_mode = as_ceil_mode(ctx.input_shape(node)[1:], kernel, stride, padding)
        return {"kernel": kernel, "stride": stride, "padding": padding, "ceil_mode": ceil_mode}

    def _lower(self, ctx, op_type, p, **extra):
        """Always floor mode: ceil mode becomes floor mode with the end padding that gives
        netc's (PyTorch's) size, which every runtime computes alike (docs/onnx.md)."""
        return ctx.node(op_type, [ctx.input], kernel_shape=[w.kernel for w in ctx.windows],
                        strides=[w.stride for w in ctx.windows], pads=floor_pads(ctx.windows), **extra)


    def _torch(self, p, ctx, cls: str, **extra) -> str:
        """``cls`` (nn.MaxPool2d, nn.AvgPool2d, of the map's rank) with the windows' padding and
        ceil_mode: PyTorch's own rule, which netc's shapes follow, when each window pads both
        sides alike."""
        kwargs = {"stride": ctx.arg("stride")}
        if any(ctx.per_axis("pad_begin")):
            kwargs["padding"] = ctx.arg("pad_begin")
        if p["ceil_mode"]:
            kwargs["ceil_mode"] = True
        m = ctx.module(f"{cls}{ctx.dims}d", ctx.arg("kernel"), **kwargs, **extra)
        return f"{m}({ctx.input})"


def check_padding(kernel, padding) -> None:
    """Pool padding P per side must satisfy P <= F // 2 (PyTorch; onnxruntime: P < F)."""
    if padding == "same":   # TensorFlow's SAME never pads more than F // 2 on a side
        return
    for axis, (k, (pb, pe)) in enumerate(zip(kernel, padding)):
        if max(pb, pe) > k // 2:
            where = "" if len(kernel) > 1 and len(set(kernel)) == 1 and len(set(padding)) == 1 else \
                f"{axis_names(len(kernel))[axis]}: "
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
    """ONNX ``pads`` [begin..., end...] ([top, left, bottom, right] in 2-D), each end padding
    grown by the ceil-mode window's overhang, so that floor((N + P_begin + P_end' - F)/S) + 1
    = L_out. P_end' < F since the last window starts inside the input or the left padding."""
    return [w.pad_begin for w in windows] + [w.pad_end + w.overhang for w in windows]


@register
class MaxPool(_Pool):
    name = "maxpool"
    doc = "maximum over each window"
    onnx_types = ("MaxPool",)

    def cost(self, p, ins, out):
        return Cost(flops=(numel([w.kernel for w in out.windows]) - 1) * numel(out.shape))

    def torch(self, p, ctx):
        """nn.MaxPool1d/2d/3d; padding that differs between sides ('same') is an F.pad of
        -inf (never the max) with each end grown by the ceil-mode overhang, as ``lower``'s
        pads, then a floor-mode pool of padding 0."""
        if ctx.symmetric():
            return self._torch(p, ctx, "nn.MaxPool")
        m = ctx.module(f"nn.MaxPool{ctx.dims}d", ctx.arg("kernel"), stride=ctx.arg("stride"))
        return f'{m}(F.pad({ctx.input}, {ctx.pads(overhang=True)}, value=float("-inf")))'

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
        return Cost(flops=numel([w.kernel for w in out.windows]) * numel(out.shape))

    def lower(self, p, ctx):
        """AveragePool with explicit pads and count_include_pad. When padding is counted
        and a ceil-mode window overhangs the padded input, PyTorch divides by the window
        clipped to the padded input: zero-pad explicitly (``Pad``), then pool with only the
        overhang as (uncounted) padding. Without padding the flag changes nothing: 0."""
        ws = ctx.windows
        counted = bool(p["count_include_pad"] and any(w.padding for w in ws))
        if not (counted and any(w.overhang for w in ws)):
            return self._lower(ctx, "AveragePool", p, count_include_pad=int(counted))
        pads = ctx.node("Constant", [], value_ints=[0, 0, *(w.pad_begin for w in ws),
                                                    0, 0, *(w.pad_end for w in ws)])
        padded = ctx.node("Pad", [ctx.input, pads])
        return ctx.node("AveragePool", [padded], kernel_shape=[w.kernel for w in ws],
                        strides=[w.stride for w in ws],
                        pads=[0] * len(ws) + [w.overhang for w in ws], count_include_pad=0)

    def torch(self, p, ctx):
        """nn.AvgPool1d/2d/3d with netc's count_include_pad (default false; PyTorch's default is
        true: lint rule A008). Padding that differs between sides ('same'): the
        ``avg_pool_padded`` helper, zero padding with each end grown by the ceil-mode
        overhang, every mean divided by its window's real pixels (and the padding with
        count_include_pad, never the overhang)."""
        if ctx.symmetric():
            return self._torch(p, ctx, "nn.AvgPool", count_include_pad=p["count_include_pad"])
        counted = ctx.pads() if p["count_include_pad"] else (0,) * (2 * ctx.dims)
        f = ctx.helper("avg_pool_padded")
        return (f"{f}({ctx.input}, {ctx.per_axis('kernel')}, {ctx.per_axis('stride')}, "
                f"{ctx.pads(overhang=True)}, {counted})")

    def read(self, node, ctx):
        """AveragePool: as MaxPool, with count_include_pad (ONNX default 0)."""
        return {**super().read(node, ctx),
                "count_include_pad": bool(ctx.attr(node, "count_include_pad", 0))}


@register
class GlobalAvgPool(Op):
    name = "global_avgpool"
    doc = "mean over the whole map of each channel (§6.3, §7.1): its length, height and width or volume"
    onnx_types = ("GlobalAveragePool", "ReduceMean")
    onnx_takes = ("Squeeze",)
    params = {"keepdims": Param("bool", "keep (C, 1, 1) (one 1 per spatial axis) instead of (C,)",
                                default=False)}

    def infer(self, p, ins):
        c, sizes = feature_map(self.name, ins[0])
        return Inferred((c, *(1,) * len(sizes)) if p["keepdims"] else (c,))

    def cost(self, p, ins, out):
        return Cost(flops=numel(ins[0]))

    def field(self, p, ins, fields, out):
        return fields[0].whole(ins[0][1:]) if fields[0] else None

    def torch(self, p, ctx):
        """The mean over every spatial dim (2, 3 of a 2-D map)."""
        dims = tuple(range(2, len(ctx.in_shapes[0]) + 1))
        return f"{ctx.input}.mean({dims}{', keepdim=True' if p['keepdims'] else ''})"

    def lower(self, p, ctx):
        """GlobalAveragePool gives (N, C, 1, 1); a Flatten follows unless keepdims."""
        y = ctx.node("GlobalAveragePool", [ctx.input])
        return y if p["keepdims"] else ctx.node("Flatten", [y], axis=1)

    def read(self, node, ctx):
        """GlobalAveragePool (keeps (C, 1, 1)), or ReduceMean over every spatial axis (2 and 3
        of a 2-D map)."""
        if node.op_type == "ReduceMean":
            rank = len(ctx.input_shape(node)) + 1
            axes = ctx.attr(node, "axes") if ctx.opset < 18 else \
                (ctx.value(node.input[1]) if ctx.has_input(node, 1) else None)
            if axes is None or not 3 <= rank <= 5 or sorted(a % rank for a in axes) != list(range(2, rank)):
                raise ctx.unsupported(f"ReduceMean over axes {axes} (netc reads the mean over "
                                      "every spatial axis)")
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
            rank = len(ctx.input_shape(node)) + 1
            if axes is not None and sorted(a % rank for a in axes) == list(range(2, rank)):
                return {**p, "keepdims": False}
        return None
