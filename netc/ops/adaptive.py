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

from .pool import GlobalAvgPool
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

    def torch(self, p, ctx):
        """The maximum over dims 2 and 3."""
        return f"{ctx.input}.amax((2, 3){', keepdim=True' if p['keepdims'] else ''})"

    def lower(self, p, ctx):
        """GlobalMaxPool gives (N, C, 1, 1); a Flatten follows unless keepdims."""
        y = ctx.node("GlobalMaxPool", [ctx.input])
        return y if p["keepdims"] else ctx.node("Flatten", [y], axis=1)

    onnx_types = ("GlobalMaxPool", "ReduceMax")
    onnx_takes = ("Squeeze",)

    def read(self, node, ctx):
        """GlobalMaxPool (keeps (C, 1, 1)), or ReduceMax over axes 2 and 3."""
        if node.op_type == "ReduceMax":
            axes = ctx.axes(node)
            if axes is None or len(ctx.input_shape(node)) != 3 or sorted(a % 4 for a in axes) != [2, 3]:
                raise ctx.unsupported(f"ReduceMax over axes {axes} (netc reads the maximum over "
                                      "height and width)")
            return {"keepdims": bool(ctx.attr(node, "keepdims", 1))}
        return {"keepdims": True}

    def absorb(self, p, node, ctx):
        """A Flatten, a Reshape to (N, C) or a Squeeze after it: keepdims false."""
        return GlobalAvgPool.absorb(self, p, node, ctx)


class _Adaptive(Op):
    kind: str
    onnx_types = ("Gather", "Pad")
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

    def torch(self, p, ctx):
        """nn.AdaptiveAvgPool2d / nn.AdaptiveMaxPool2d: PyTorch's windows, netc's."""
        cls = "nn.AdaptiveAvgPool2d" if self.kind == "avg" else "nn.AdaptiveMaxPool2d"
        return f"{ctx.module(cls, p['size'])}({ctx.input})"

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
            index = gather_index(n, out, k, self.kind)
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


    onnx_pattern = True

    def read(self, node, ctx):
        """The Gather form ``lower`` writes for sizes that do not divide (avg: Pad of one
        zero row and column first; then Gather rows, Gather columns, one pool with kernel
        = stride, avg: Mul by the per-window factors), recognised by its indices. Out 1x1
        and dividing sizes read as the global and plain pools they are written as."""
        c, h, w = spatial(self.name, ctx.input_shape(node))
        fail = ctx.unsupported(f"not the Gather form of {self.name}")
        taken, first = [], node
        if self.kind == "avg":
            pads = ctx.value(node.input[1]) if node.op_type == "Pad" and ctx.has_input(node, 1) else None
            if pads != [0, 0, 0, 0, 0, 0, 1, 1] or ctx.attr(node, "mode", "constant") != "constant" \
                    or ctx.scalar(node, 2, 0.0) != 0:
                raise fail
            first = ctx.sole_consumer(node.output[0])
            taken.append(first)
        if first is None or first.op_type != "Gather":
            raise fail
        second = ctx.sole_consumer(first.output[0])
        pool = second and ctx.sole_consumer(second.output[0])
        if second is None or pool is None or second.op_type != "Gather" \
                or pool.op_type != ("AveragePool" if self.kind == "avg" else "MaxPool"):
            raise fail
        kernel = ctx.attr(pool, "kernel_shape")
        if kernel is None or len(kernel) != 2 or ctx.attr(pool, "strides") != kernel or any(
                ctx.attr(pool, "pads", [0, 0, 0, 0])) or min(kernel) < 1:
            raise fail
        size = []
        for gather, axis, n, k in ((first, 2, h, kernel[0]), (second, 3, w, kernel[1])):
            index = ctx.value(gather.input[1])
            if ctx.attr(gather, "axis", 0) != axis or index is None or len(index) % k:
                raise fail
            out = len(index) // k
            if index != gather_index(n, out, k, self.kind):
                raise fail
            size.append(out)
        taken += [second, pool]
        y = pool.output[0]
        factors = [[k / (e - s) for s, e in adaptive_windows(n, o)] for n, o, k in zip((h, w), size, kernel)]
        for f in factors:
            if self.kind == "avg" and any(v != 1 for v in f):
                mul = ctx.sole_consumer(y)
                if mul is None or mul.op_type != "Mul" or len(mul.input) != 2 or mul.input[0] != y:
                    raise fail
                taken.append(mul)
                y = mul.output[0]
        ctx.take(*(t for t in taken if t is not node))
        return {"size": size}


def gather_index(n: int, out: int, k: int, kind: str) -> list[int]:
    """The indices ``lower`` gathers along one axis: each window padded to ``k`` (max: by
    repeating its first index; avg: by ``n``, the appended zero row)."""
    return [i for s, e in adaptive_windows(n, out)
            for i in (list(range(s, e)) + ([n] * k if kind == "avg" else [s] * k))[:k]]


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
