"""Global max pooling and adaptive pooling to a fixed output size, on maps of 1, 2 or
3 spatial axes ((C, L), (C, H, W), (C, D, H, W); below for (C, H, W)).

    global_maxpool: (C, H, W) -> (C,) (or (C, 1, 1) with keepdims); C*(H*W - 1) flops
    adaptive_avgpool, adaptive_maxpool: (C, H, W) -> (C, oh, ow), PyTorch's windows
        row window i = [floor(i*H/oh), ceil((i+1)*H/oh)), and the same for columns;
        unequal (and overlapping) when oh does not divide H (lint rule A010)
        avg flops = sum of window sizes = C * (sum of row lengths) * (sum of column lengths)
                    (the product over every spatial axis of its windows' lengths)
        max flops = that minus C*oh*ow (comparisons)
    receptive field: size through the largest window, jump by the largest step
    between window starts
"""

from __future__ import annotations

from .pool import GlobalAvgPool
from .registry import Cost, Field, Inferred, Op, Param, feature_map, numel, register
from .window import per_axis

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
    doc = "maximum over the whole map of each channel: its length, height and width or volume"
    params = {"keepdims": Param("bool", "keep (C, 1, 1) (one 1 per spatial axis) instead of (C,)",
                                default=False)}

    def infer(self, p, ins):
        c, sizes = feature_map(self.name, ins[0])
        return Inferred((c, *(1,) * len(sizes)) if p["keepdims"] else (c,))

    def cost(self, p, ins, out):
        return Cost(flops=ins[0][0] * (numel(ins[0][1:]) - 1))

    def field(self, p, ins, fields, out):
        return fields[0].whole(ins[0][1:]) if fields[0] else None

    def torch(self, p, ctx):
        """The maximum over every spatial dim (2, 3 of a 2-D map)."""
        dims = tuple(range(2, len(ctx.in_shapes[0]) + 1))
        return f"{ctx.input}.amax({dims}{', keepdim=True' if p['keepdims'] else ''})"

    def lower(self, p, ctx):
        """GlobalMaxPool gives (N, C, 1, 1); a Flatten follows unless keepdims."""
        y = ctx.node("GlobalMaxPool", [ctx.input])
        return y if p["keepdims"] else ctx.node("Flatten", [y], axis=1)

    onnx_types = ("GlobalMaxPool", "ReduceMax")
    onnx_takes = ("Squeeze",)

    def read(self, node, ctx):
        """GlobalMaxPool (keeps (C, 1, 1)), or ReduceMax over every spatial axis (2 and 3 of
        a 2-D map)."""
        if node.op_type == "ReduceMax":
            axes = ctx.axes(node)
            rank = len(ctx.input_shape(node)) + 1
            if axes is None or not 3 <= rank <= 5 or sorted(a % rank for a in axes) != list(range(2, rank)):
                raise ctx.unsupported(f"ReduceMax over axes {axes} (netc reads the maximum over "
                                      "every spatial axis)")
            return {"keepdims": bool(ctx.attr(node, "keepdims", 1))}
        return {"keepdims": True}

    def absorb(self, p, node, ctx):
        """A Flatten, a Reshape to (N, C) or a Squeeze after it: keepdims false."""
        return GlobalAvgPool.absorb(self, p, node, ctx)


class _Adaptive(Op):
    kind: str
    onnx_types = ("Gather", "Pad")
    params = {"size": Param("pair", "output size, or one per axis ([height, width])", min=1,
                            max=MAX_ADAPTIVE)}

    def infer(self, p, ins):
        c, sizes = feature_map(self.name, ins[0])
        return Inferred((c, *per_axis(p["size"], len(sizes), "size")))

    def windows(self, p, ins):
        return [adaptive_windows(n, o) for n, o in zip(ins[0][1:], per_axis(p["size"], len(ins[0]) - 1, "size"))]

    def cost(self, p, ins, out):
        flops = ins[0][0] * numel([sum(e - s for s, e in ws) for ws in self.windows(p, ins)])
        return Cost(flops=flops if self.kind == "avg" else flops - numel(out.shape))

    def field(self, p, ins, fields, out):
        f = fields[0]
        if f is None:
            return None
        largest = [_largest(ws) for ws in self.windows(p, ins)]
        return Field(tuple(s + (k - 1) * j for s, j, (k, _) in zip(f.size, f.jump, largest)),
                     tuple(j * step for j, (_, step) in zip(f.jump, largest)))

    def torch(self, p, ctx):
        """nn.AdaptiveAvgPool1d/2d/3d, nn.AdaptiveMaxPool1d/2d/3d: PyTorch's windows, netc's."""
        n = len(ctx.in_shapes[0]) - 1
        cls = f"nn.Adaptive{'Avg' if self.kind == 'avg' else 'Max'}Pool{n}d"
        size = ctx.out_shape[1:]
        return f"{ctx.module(cls, size[0] if len(set(size)) == 1 else size)}({ctx.input})"

    def lower(self, p, ctx):
        """Exact at every size. Out 1x1: GlobalAveragePool / GlobalMaxPool. Out dividing the
        input: AveragePool / MaxPool with kernel = stride = N/out. Otherwise a fixed handful of
        nodes whatever the size: Gather the rows, then the columns, of every window side by
        side, each window padded to the largest (max: by repeating its first index; avg: by
        the index of a zero row that a Pad appends), then one pool with kernel = stride = the
        largest window; avg then rescales each window by (largest / its own length), per axis.
        A 1-D or 3-D map: the same, one Gather per spatial axis."""
        sizes = ctx.in_shapes[0][1:]
        n, outs = len(sizes), ctx.out_shape[1:]
        letters = _LETTERS[n]
        pool = "AveragePool" if self.kind == "avg" else "MaxPool"
        if all(o == 1 for o in outs):
            return ctx.node("Global" + pool, [ctx.input])
        if all(size % o == 0 for size, o in zip(sizes, outs)):
            k = [size // o for size, o in zip(sizes, outs)]
            return ctx.node(pool, [ctx.input], kernel_shape=k, strides=k)
        x = ctx.input
        if self.kind == "avg":
            x = ctx.node("Pad", [x, ctx.constant("pads", [0] * (n + 2) + [0, 0] + [1] * n, "int64")])
        kernel, factors = [], []
        for axis, (size, out) in enumerate(zip(sizes, outs)):
            windows = adaptive_windows(size, out)
            k = max(e - s for s, e in windows)
            index = gather_index(size, out, k, self.kind)
            x = ctx.node("Gather", [x, ctx.constant(f"index_{letters[axis]}", index, "int64")], axis=2 + axis)
            kernel.append(k)
            factors.append([k / (e - s) for s, e in windows])
        y = ctx.node(pool, [x], kernel_shape=kernel, strides=kernel)
        if self.kind == "avg":
            for axis, f in enumerate(factors):
                if any(v != 1 for v in f):
                    value = f
                    for _ in range(n - 1 - axis):      # (out, 1, ...): broadcast along its axis
                        value = [[v] for v in value]
                    y = ctx.node("Mul", [y, ctx.constant(f"scale_{letters[axis]}", value)])
        return y


    onnx_pattern = True

    def read(self, node, ctx):
        """The Gather form ``lower`` writes for sizes that do not divide (avg: Pad of one
        zero row and column first; then Gather rows, Gather columns, one pool with kernel
        = stride, avg: Mul by the per-window factors), recognised by its indices; one Gather
        per spatial axis of a 1-, 2- or 3-D map. Out 1x1 and dividing sizes read as the
        global and plain pools they are written as."""
        c, sizes = feature_map(self.name, ctx.input_shape(node))
        n = len(sizes)
        fail = ctx.unsupported(f"not the Gather form of {self.name}")
        taken, first = [], node
        if self.kind == "avg":
            pads = ctx.value(node.input[1]) if node.op_type == "Pad" and ctx.has_input(node, 1) else None
            if pads != [0] * (n + 2) + [0, 0] + [1] * n or ctx.attr(node, "mode", "constant") != "constant" \
                    or ctx.scalar(node, 2, 0.0) != 0:
                raise fail
            first = ctx.sole_consumer(node.output[0])
            taken.append(first)
        gathers = [first]
        while len(gathers) < n and gathers[-1] is not None:
            gathers.append(ctx.sole_consumer(gathers[-1].output[0]))
        pool = gathers[-1] and ctx.sole_consumer(gathers[-1].output[0])
        if pool is None or any(g is None or g.op_type != "Gather" for g in gathers) \
                or pool.op_type != ("AveragePool" if self.kind == "avg" else "MaxPool"):
            raise fail
        kernel = ctx.attr(pool, "kernel_shape")
        if kernel is None or len(kernel) != n or ctx.attr(pool, "strides") != kernel or any(
                ctx.attr(pool, "pads", [0] * 2 * n)) or min(kernel) < 1:
            raise fail
        size = []
        for axis, (gather, length, k) in enumerate(zip(gathers, sizes, kernel)):
            index = ctx.value(gather.input[1]) if ctx.has_input(gather, 1) else None
            if ctx.attr(gather, "axis", 0) != 2 + axis or index is None or len(index) % k:
                raise fail
            out = len(index) // k
            if index != gather_index(length, out, k, self.kind):
                raise fail
            size.append(out)
        taken += [*gathers[1:], pool]
        y = pool.output[0]
        factors = [[k / (e - s) for s, e in adaptive_windows(m, o)] for m, o, k in zip(sizes, size, kernel)]
        for f in factors:
            if self.kind == "avg" and any(v != 1 for v in f):
                mul = ctx.sole_consumer(y)
                if mul is None or mul.op_type != "Mul" or len(mul.input) != 2 or mul.input[0] != y:
                    raise fail
                taken.append(mul)
                y = mul.output[0]
        ctx.take(*(t for t in taken if t is not node))
        return {"size": tuple(size)}


_LETTERS = {1: "l", 2: "hw", 3: "dhw"}


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
