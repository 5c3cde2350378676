"""Channel plumbing, all free (0 flops, no parameters):

    slice:           (C, ...) -> (end - start, ...): channels [start, end), ShuffleNet's and
                     YOLO's split written as one layer per part; ``axis`` cuts another
                     axis (netc/ops/tensor.py's rule), ``step`` keeps every step-th entry
    channel_shuffle: (C, ...) -> (C, ...): channel g*(C/groups) + i moves to i*groups + g
                     (ShuffleNet: view (groups, C/groups), transpose, flatten)
    identity:        unchanged
"""

from __future__ import annotations

from .registry import MAX_CHANNELS, Field, Inferred, Op, Param, ShapeError, register
from .axes import MAX_DIM, axis_name, axis_param, dim


@register
class Slice(Op):
    name = "slice"
    doc = "the entries [start, end) of one axis (default: the channels), every step-th"
    params = {
        "start": Param("int", "first entry kept", default=0, min=0, max=MAX_DIM),
        "end": Param("int", "one past the last entry kept (default: all)", default=None,
                     min=1, max=MAX_DIM),
        "axis": axis_param("the axis cut"),
        "step": Param("int", "keep every step-th entry from start", default=1, min=1, max=MAX_DIM),
    }

    def infer(self, p, ins):
        shape = ins[0]
        i = dim(p["axis"], shape, op="slice")
        c = shape[i]
        what = "input channels" if i == 0 else f"entries of {axis_name(shape, i)}"
        start, end = p["start"], c if p["end"] is None else p["end"]
        if end > c:
            raise ShapeError(f"end {end} is past the {c} {what}", "end")
        if start >= end:
            raise ShapeError(f"start {start} must be below end {end}", "start")
        n = -(-(end - start) // p["step"])
        return Inferred((*shape[:i], n, *shape[i + 1:]))

    def field(self, p, ins, fields, out):
        """Channels: the input's field. A spatial axis of a map: the same positions (a crop),
        ``step`` apart (the jump times the step)."""
        f, i = fields[0], dim(p["axis"], ins[0])
        if f is None or i == 0 or p["step"] == 1:
            return f
        a = i - 1
        if a >= len(f.jump):
            return None
        return Field(f.size, tuple(j * p["step"] if k == a else j for k, j in enumerate(f.jump)))

    onnx_types = ("Slice", "Split")
    onnx_fallback = ("Slice",)       # crop reads its centre crops first
    per_output = True

    def read(self, node, ctx):
        """Slice of one axis after the batch (steps of 1 on the channels as before; a
        positive step on any axis), other axes whole: [start, end); Split on an axis after
        the batch (PyTorch's chunk and split): one slice per output, the parts from
        ``split`` (an input since opset 13, an attribute before) or equal (``num_outputs``,
        or the outputs' count; the last part smaller when they do not divide, as ONNX's
        opset 18)."""
        if node.op_type == "Split":
            return self._split(node, ctx)
        shape = ctx.input_shape(node)
        cut = _cut(node, ctx, shape)
        if cut is None:
            return {"start": 0, "end": None}      # keeps everything: the channels whole
        axis, start, end, step = cut
        n = shape[axis - 1]
        if start >= end:
            raise ctx.unsupported(f"an empty Slice [{start}, {end})")
        out = {"start": start, "end": None if end == n else end}
        if axis != 1:
            out["axis"] = axis
        if step != 1:
            out["step"] = step
        return out

    def _split(self, node, ctx) -> dict:
        shape = ctx.input_shape(node)
        rank = len(shape) + 1
        axis = ctx.attr(node, "axis", 0)
        if not isinstance(axis, int) or not -rank <= axis < rank or axis % rank == 0:
            raise ctx.unsupported(f"Split along axis {axis} (netc splits an axis after the batch)")
        axis %= rank
        c = shape[axis - 1]
        n = len(node.output)
        parts = ctx.attr(node, "split") if ctx.opset < 13 else \
            (ctx.value(node.input[1]) if ctx.has_input(node, 1) else None)
        if parts is None:
            if ctx.has_input(node, 1):
                raise ctx.unsupported("Split sizes that are not constants")
            size = -(-c // ctx.attr(node, "num_outputs", n))
            parts = [min(size, c - i * size) for i in range(n)]
        if len(parts) != n or sum(parts) != c or not all(isinstance(v, int) and v > 0 for v in parts):
            raise ctx.unsupported(f"Split of {c} {'channels' if axis == 1 else 'entries'} into {parts}")
        i = ctx.output_index
        if not 0 <= i < n:
            raise ctx.unsupported(f"output {i} of a Split of {n} outputs")
        start = sum(parts[:i])
        end = start + parts[i]
        out = {"start": start, "end": None if end == c else end}
        if axis != 1:
            out["axis"] = axis
        return out

    def torch(self, p, ctx):
        """Indexing the axis (dim 1 by default): x[:, start:end(:step)]."""
        i = dim(p["axis"], ctx.in_shapes[0])
        end = "" if p["end"] is None else p["end"]
        step = f":{p['step']}" if p["step"] != 1 else ""
        return f"{ctx.input}[{':, ' * (i + 1)}{p['start'] or ''}:{end}{step}]"

    def lower(self, p, ctx):
        """Slice of the axis (positive), with steps only when not 1."""
        shape = ctx.in_shapes[0]
        i = dim(p["axis"], shape)
        end = shape[i] if p["end"] is None else p["end"]
        ins = [ctx.input, ctx.constant("starts", [p["start"]], "int64"),
               ctx.constant("ends", [end], "int64"), ctx.constant("axes", [i + 1], "int64")]
        if p["step"] != 1:
            ins.append(ctx.constant("steps", [p["step"]], "int64"))
        return ctx.node("Slice", ins)


def _cut(node, ctx, shape):
    """The one axis a Slice cuts, as (axis, start, end, step) with the batch as axis 0,
    bounds clamped as ONNX clamps them; None when it keeps everything; Unsupported for
    bounds that are not constants, steps below 1, the batch, or more than one axis cut."""
    rank = len(shape) + 1
    if ctx.opset < 10:
        starts, ends, axes = ctx.attr(node, "starts"), ctx.attr(node, "ends"), ctx.attr(node, "axes")
        steps = None
    else:
        starts, ends = ctx.value(node.input[1]), ctx.value(node.input[2])
        axes = ctx.value(node.input[3]) if ctx.has_input(node, 3) else None
        steps = ctx.value(node.input[4]) if ctx.has_input(node, 4) else None
        if (ctx.has_input(node, 3) and axes is None) or (ctx.has_input(node, 4) and steps is None):
            raise ctx.unsupported("Slice axes or steps that are not constants")
    if starts is None or ends is None or len(starts) != len(ends):
        raise ctx.unsupported("Slice bounds that are not constants")
    shift = ctx.opset >= 10 or axes is None          # (an attribute is shifted as it is read)
    axes = list(range(len(starts))) if axes is None else axes
    if shift and ctx.folded:                         # the batch folded into an axis: netc's axes
        axes = ctx.fold_axes(node, "axes", list(axes))
    steps = [1] * len(starts) if steps is None else steps
    if len(axes) != len(starts) or len(steps) != len(starts):
        raise ctx.unsupported(f"Slice with axes {axes}, steps {steps} for {len(starts)} bounds")
    cuts, seen = [], set()
    for a, b, e, s in zip(axes, starts, ends, steps):
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (a, b, e, s)) \
                or not -rank <= a < rank or a % rank in seen:
            raise ctx.unsupported(f"Slice on axes {axes}")
        a %= rank
        seen.add(a)
        if s < 1:
            raise ctx.unsupported(f"Slice with step {s} (netc reads positive steps)")
        if a == 0:
            raise ctx.unsupported("Slice on the batch axis")
        n = shape[a - 1]
        b, e = (min(max(v + n if v < 0 else v, 0), n) for v in (b, e))
        if (b, e, s) != (0, n, 1):
            cuts.append((a, b, e, s))
    if len(cuts) > 1:
        raise ctx.unsupported(f"Slice on axes {sorted(c[0] for c in cuts)} (netc's slice cuts one axis)")
    return cuts[0] if cuts else None


@register
class ChannelShuffle(Op):
    name = "channel_shuffle"
    per_channel = True
    doc = "interleave the channels of groups (ShuffleNet)"
    params = {"groups": Param("int", "number of channel groups", min=1, max=MAX_CHANNELS)}

    def infer(self, p, ins):
        if ins[0][0] % p["groups"]:
            raise ShapeError(f"groups {p['groups']} does not divide the {ins[0][0]} channels", "groups")
        return Inferred(ins[0])

    onnx_types = ("Reshape",)
    onnx_pattern = True

    def read(self, node, ctx):
        """Reshape to (N, groups, C/groups, ...) -> Transpose (0, 2, 1, ...) -> Reshape to
        (N, C, ...) (PyTorch's view / transpose / view; the batch as N, 0 or -1, one other
        size as -1)."""
        c, *rest = ctx.input_shape(node)
        target = ctx.value(node.input[1]) if ctx.has_input(node, 1) else None
        fail = ctx.unsupported("not Reshape -> Transpose -> Reshape of a channel shuffle")
        if target is None or len(target) != len(rest) + 3 or not isinstance(target[1], int) or target[1] < 1:
            raise fail
        g = target[1]
        if c % g or not ctx.reshapes_to(node, [0, g, c // g, *rest]):
            raise fail
        swap = ctx.sole_consumer(node.output[0])
        back = swap and ctx.sole_consumer(swap.output[0])
        if (swap is None or swap.op_type != "Transpose" or ctx.attr(swap, "perm") != [0, 2, 1, *range(3, 3 + len(rest))]
                or back is None or not ctx.reshapes_to(back, [0, c, *rest])):
            raise fail
        ctx.take(swap, back)
        return {"groups": g}

    def torch(self, p, ctx):
        """The ``channel_shuffle`` helper: reshape, transpose, reshape back."""
        return f"{ctx.helper('channel_shuffle')}({ctx.input}, {p['groups']})"

    def lower(self, p, ctx):
        """Reshape to (N, groups, C/groups, ...), Transpose the two, Reshape back; the
        batch dimension is copied (a 0 in Reshape's shape), so it stays symbolic."""
        c, *rest = ctx.in_shapes[0]
        g = p["groups"]
        x = ctx.node("Reshape", [ctx.input, ctx.constant("split", [0, g, c // g, *rest], "int64")])
        x = ctx.node("Transpose", [x], perm=[0, 2, 1, *range(3, 3 + len(rest))])
        return ctx.node("Reshape", [x, ctx.constant("merge", [0, c, *rest], "int64")])


@register
class Identity(Op):
    name = "identity"
    doc = "the input unchanged"

    def torch(self, p, ctx):
        """The input itself."""
        return ctx.input

    def lower(self, p, ctx):
        """Nothing: the input passes through (an Identity node only if it is an output)."""
        return ctx.input
