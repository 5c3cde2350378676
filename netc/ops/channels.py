"""Channel plumbing, all free (0 flops, no parameters):

    slice:           (C, ...) -> (end - start, ...): channels [start, end), ShuffleNet's and
                     YOLO's split written as one layer per part
    channel_shuffle: (C, ...) -> (C, ...): channel g*(C/groups) + i moves to i*groups + g
                     (ShuffleNet: view (groups, C/groups), transpose, flatten)
    identity:        unchanged
"""

from __future__ import annotations

from .registry import MAX_CHANNELS, Inferred, Op, Param, ShapeError, register


@register
class Slice(Op):
    name = "slice"
    doc = "the channels [start, end) of the input"
    params = {
        "start": Param("int", "first channel kept", default=0, min=0, max=MAX_CHANNELS),
        "end": Param("int", "one past the last channel kept (default: all)", default=None,
                     min=1, max=MAX_CHANNELS),
    }

    def infer(self, p, ins):
        c = ins[0][0]
        start, end = p["start"], c if p["end"] is None else p["end"]
        if end > c:
            raise ShapeError(f"end {end} is past the {c} input channels", "end")
        if start >= end:
            raise ShapeError(f"start {start} must be below end {end}", "start")
        return Inferred((end - start, *ins[0][1:]))

    onnx_types = ("Slice", "Split")
    per_output = True

    def read(self, node, ctx):
        """Slice on axis 1 only, step 1: channels [start, end). Split on axis 1 (PyTorch's
        chunk and split): one slice per output, the parts from ``split`` (an input since
        opset 13, an attribute before) or equal (``num_outputs``, or the outputs' count;
        the last part smaller when they do not divide, as ONNX's opset 18)."""
        if node.op_type == "Split":
            return self._split(node, ctx)
        cuts = ctx.slices(node)
        if list(cuts) != [1]:
            raise ctx.unsupported(f"Slice on axes {sorted(cuts)} (netc's slice cuts channels)")
        start, end = cuts[1]
        if start >= end:
            raise ctx.unsupported(f"an empty Slice [{start}, {end})")
        return {"start": start, "end": None if end == ctx.input_shape(node)[0] else end}

    def _split(self, node, ctx) -> dict:
        c = ctx.input_shape(node)[0]
        rank = len(ctx.input_shape(node)) + 1
        if ctx.attr(node, "axis", 0) % rank != 1:
            raise ctx.unsupported(f"Split along axis {ctx.attr(node, 'axis', 0)} (netc's slice cuts channels)")
        n = len(node.output)
        parts = ctx.attr(node, "split") if ctx.opset < 13 else \
            (ctx.value(node.input[1]) if ctx.has_input(node, 1) else None)
        if parts is None:
            if ctx.has_input(node, 1):
                raise ctx.unsupported("Split sizes that are not constants")
            size = -(-c // ctx.attr(node, "num_outputs", n))
            parts = [min(size, c - i * size) for i in range(n)]
        if len(parts) != n or sum(parts) != c or not all(isinstance(v, int) and v > 0 for v in parts):
            raise ctx.unsupported(f"Split of {c} channels into {parts}")
        i = ctx.output_index
        if not 0 <= i < n:
            raise ctx.unsupported(f"output {i} of a Split of {n} outputs")
        start = sum(parts[:i])
        end = start + parts[i]
        return {"start": start, "end": None if end == c else end}

    def torch(self, p, ctx):
        """Indexing dim 1: x[:, start:end]."""
        end = "" if p["end"] is None else p["end"]
        return f"{ctx.input}[:, {p['start'] or ''}:{end}]"

    def lower(self, p, ctx):
        """Slice on axis 1."""
        c = ctx.in_shapes[0][0]
        end = c if p["end"] is None else p["end"]
        return ctx.node("Slice", [ctx.input, ctx.constant("starts", [p["start"]], "int64"),
                                  ctx.constant("ends", [end], "int64"),
                                  ctx.constant("axes", [1], "int64")])


@register
class ChannelShuffle(Op):
    name = "channel_shuffle"
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
