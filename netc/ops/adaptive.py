"""Global max pooling and adaptive pooling to a fixed output size.

    global_maxpool: (C, H, W) -> (C,) (or (C, 1, 1) with keepdims); C*(H*W - 1) flops
    adaptive_avgpool, adaptive_maxpool: (C, H, W) -> (C, oh, ow), PyTorch's windows
        row window i = [floor(i*H/oh), ceil((i+1)*H/oh)), and the same for columns;
        unequal (and overlapping) when oh does not divide H (lint rule A010)
        avg flops = sum of window sizes = C * (sum of row lengths) * (sum of column lengths)
        max flops = that minus C*oh*ow (comparisons)
    receptive field: size through the largest window, jump by the largest step
    between window starts
"""

from __future__ import annotations

from .registry import Cost, Field, Inferred, Op, Param, numel, register, spatial

MAX_ADAPTIVE = 1 << 16     # output side of adaptive pooling


def adaptive_windows(n: int, out: int) -> list[tuple[int, int]]:
    """PyTorch's adaptive windows of one axis: [floor(i*n/out), ceil((i+1)*n/out))."""
    return [(i * n // out, -(-(i + 1) * n // out)) for i in range(out)]


def _largest(windows) -> tuple[int, int]:
    """(largest window, largest step between window starts; the whole axis for one window)."""
    size = max(e - s for s, e in windows)
    step = max((b[0] - a[0] for a, b in zip(windows, windows[1:])), default=windows[0][1])
    return size, step


@register
class GlobalMaxPool(Op):
    name = "global_maxpool"
    doc = "maximum over the whole height and width of each channel"
    params = {"keepdims": Param("bool", "keep (C, 1, 1) instead of (C,)", default=False)}

    def infer(self, p, ins):
        c, _, _ = spatial(self.name, ins[0])
        return Inferred((c, 1, 1) if p["keepdims"] else (c,))

    def cost(self, p, ins, out):
        c, h, w = ins[0]
        return Cost(flops=c * (h * w - 1))

    def field(self, p, ins, fields, out):
        return fields[0].whole(ins[0][1:]) if fields[0] else None

    def lower(self, p, ctx):
        """GlobalMaxPool gives (N, C, 1, 1); a Flatten follows unless keepdims."""
        y = ctx.node("GlobalMaxPool", [ctx.input])
        return y if p["keepdims"] else ctx.node("Flatten", [y], axis=1)


class _Adaptive(Op):
    kind: str
    params = {"size": Param("pair", "output size, or [height, width]", min=1, max=MAX_ADAPTIVE)}

    def infer(self, p, ins):
        c, _, _ = spatial(self.name, ins[0])
        return Inferred((c, *p["size"]))

    def windows(self, p, ins):
        return [adaptive_windows(n, o) for n, o in zip(ins[0][1:], p["size"])]

    def cost(self, p, ins, out):
        rows, cols = (sum(e - s for s, e in ws) for ws in self.windows(p, ins))
        flops = ins[0][0] * rows * cols
        return Cost(flops=flops if self.kind == "avg" else flops - numel(out.shape))

    def field(self, p, ins, fields, out):
        f = fields[0]
        if f is None:
            return None
        largest = [_largest(ws) for ws in self.windows(p, ins)]
        return Field(tuple(s + (k - 1) * j for s, j, (k, _) in zip(f.size, f.jump, largest)),
                     tuple(j * step for j, (_, step) in zip(f.jump, largest)))

    def lower(self, p, ctx):
        """Exact at every size. Out 1x1: GlobalAveragePool / GlobalMaxPool. Out dividing the
        input: AveragePool / MaxPool with kernel = stride = N/out. Otherwise a fixed handful of
        nodes whatever the size: Gather the rows, then the columns, of every window side by
        side, each window padded to the largest (max: by repeating its first index; avg: by
        the index of a zero row that a Pad appends), then one pool with kernel = stride = the
        largest window; avg then rescales each window by (largest / its own length), per axis."""
        (_, h, w), (oh, ow) = ctx.in_shapes[0], p["size"]
        pool = "AveragePool" if self.kind == "avg" else "MaxPool"
        if (oh, ow) == (1, 1):
            return ctx.node("Global" + pool, [ctx.input])
        if h % oh == 0 and w % ow == 0:
            k = [h // oh, w // ow]
            return ctx.node(pool, [ctx.input], kernel_shape=k, strides=k)
        x = ctx.input
        if self.kind == "avg":
            x = ctx.node("Pad", [x, ctx.constant("pads", [0, 0, 0, 0, 0, 0, 1, 1], "int64")])
        kernel, factors = [], []
        for axis, (n, out) in enumerate(((h, oh), (w, ow))):
            windows = adaptive_windows(n, out)
            k = max(e - s for s, e in windows)
            fill = [n] * k if self.kind == "avg" else None
            index = [i for s, e in windows for i in (list(range(s, e)) + (fill or [s] * k))[:k]]
            x = ctx.node("Gather", [x, ctx.constant(f"index_{'hw'[axis]}", index, "int64")], axis=2 + axis)
            kernel.append(k)
            factors.append([k / (e - s) for s, e in windows])
        y = ctx.node(pool, [x], kernel_shape=kernel, strides=kernel)
        if self.kind == "avg":
            (fh, fw) = factors
            if any(f != 1 for f in fh):
                y = ctx.node("Mul", [y, ctx.constant("scale_h", [[f] for f in fh])])
            if any(f != 1 for f in fw):
                y = ctx.node("Mul", [y, ctx.constant("scale_w", fw)])
        return y


@register
class AdaptiveAvgPool(_Adaptive):
    name = "adaptive_avgpool"
    doc = "mean over PyTorch's adaptive windows, to a fixed output size"
    kind = "avg"


@register
class AdaptiveMaxPool(_Adaptive):
    name = "adaptive_maxpool"
    doc = "maximum over PyTorch's adaptive windows, to a fixed output size"
    kind = "max"
