"""Group and instance normalization, over the spatial positions of each sample.

    groupnorm:    the C channels in ``groups`` groups of C/groups, each normalized over its
                  channels and every position (PyTorch's GroupNorm(groups, C), (C, ...) of any
                  rank); params 2C with ``affine`` (PyTorch's default: weight and bias per
                  channel), else 0
    instancenorm: each channel normalized over its positions (PyTorch's InstanceNorm1d/2d/3d,
                  a map (C, *spatial)); params 2C with ``affine``, else 0 (PyTorch's default
                  affine=False)
    flops: 5 per element (mean add, subtract, square, variance add, multiply by 1/std),
           + 2 with affine (multiply, add); + 5 per normalized group (groups of a groupnorm,
           C of an instancenorm: two divides, add eps, sqrt, reciprocal), as layernorm

Read from ONNX: InstanceNormalization (affine when its scale is learned, an initializer);
GroupNormalization (opset 21: scale and bias per channel); and PyTorch's export of
GroupNorm below opset 21 (segmentation_models_pytorch's FPN): Reshape to (N, G, -1) ->
InstanceNormalization (ones and zeros of G) -> Reshape back to the input's shape ->
Mul by the weight -> Add the bias, one groupnorm layer.
"""

from __future__ import annotations

from .axes import field_over
from .registry import MAX_CHANNELS, Cost, Inferred, Op, Param, ShapeError, fmt_shape, numel, register


def _norm_cost(ins, groups: int, affine: bool) -> Cost:
    c, n = ins[0][0], numel(ins[0])
    return Cost(params=2 * c if affine else 0, flops=(5 + (2 if affine else 0)) * n + 5 * groups)


def _learned(ctx, t: str) -> bool:
    """An initializer, directly or through Identity/Cast, or Unsqueezed (PyTorch's GroupNorm
    export Unsqueezes its (C,) weight to (C, 1, 1))."""
    for _ in range(4):
        if ctx.learned(t):
            return True
        node = ctx.producer.get(t)
        if node is None or node.op_type != "Unsqueeze":
            return False
        t = node.input[0]
    return False


def _per_channel(ctx, t: str, c: int, rank: int) -> bool:
    """``t`` a constant of C values that broadcasts per channel against a rank-``rank`` netc
    shape: (C, 1, ...), (1, C, 1, ...), or (C,) beside a vector."""
    if not t or ctx.is_feature(t):
        return False
    s = ctx.static_shape(t)
    if s is None:
        return False
    s = tuple(s)
    if len(s) == rank + 1 and s[0] == 1:
        s = s[1:]
    return (1,) * (rank - len(s)) + s == (c, *(1,) * (rank - 1))


class _Norm(Op):
    def field(self, p, ins, fields, out):
        """Statistics over every position: each output sees the whole map."""
        return field_over(fields[0], ins[0], tuple(range(1, len(ins[0]))), out.shape)


@register
class GroupNorm(_Norm):
    name = "groupnorm"
    per_channel = True
    doc = "group normalization (Wu and He 2018): channel groups normalized over their positions"
    params = {
        "groups": Param("int", "number of channel groups G (must divide the channels)", min=1,
                        max=MAX_CHANNELS),
        "eps": Param("number", "added to the variance", default=1e-5, min=0, max=1),
        "affine": Param("bool", "learned weight and bias per channel (PyTorch's default)", default=True),
    }
    onnx_types = ("Reshape", "GroupNormalization")
    onnx_pattern = True

    def infer(self, p, ins):
        if not ins[0]:
            raise ShapeError("groupnorm needs channels, got one number per sample")
        c = ins[0][0]
        if c % p["groups"]:
            raise ShapeError(f"groups {p['groups']} does not divide the {c} channels of {fmt_shape(ins[0])}",
                             "groups")
        return Inferred(ins[0])

    def cost(self, p, ins, out):
        return _norm_cost(ins, p["groups"], p["affine"])

    def lower(self, p, ctx):
        """PyTorch's export: Reshape to (N, G, -1), InstanceNormalization with Constant ones
        and zeros of G, Reshape to the input's shape, then Mul by the weight and Add the
        bias, initializers (C, 1, ...) (a vector's (C,)) drawn ones and zeros."""
        shape, g = ctx.in_shapes[0], p["groups"]
        x = ctx.node("Reshape", [ctx.input, ctx.int_constant("groups", [0, g, -1])])
        y = ctx.node("InstanceNormalization", [x, ctx.constant("ones", [1.0] * g),
                                               ctx.constant("zeros", [0.0] * g)], epsilon=float(p["eps"]))
        y = ctx.node("Reshape", [y, ctx.int_constant("shape", [0, *shape])])
        if p["affine"]:
            w = (shape[0], *(1,) * (len(shape) - 1))
            y = ctx.node("Mul", [y, ctx.weight("weight", w, "ones")])
            y = ctx.node("Add", [y, ctx.weight("bias", w, "zeros")])
        return y

    def torch(self, p, ctx):
        """nn.GroupNorm(groups, C, eps, affine): weight and bias (C,), stored (C, 1, ...) in ONNX."""
        return _torch_norm(p, ctx, "nn.GroupNorm", p["groups"])

    def read(self, node, ctx):
        """GroupNormalization with scale and bias of C (opset 21); or Reshape -> Instance
        Normalization -> Reshape -> (Mul -> Add), PyTorch's export."""
        shape = ctx.input_shape(node)
        if not shape:
            raise ctx.unsupported("not a groupnorm")
        c, rank = shape[0], len(shape)
        if node.op_type == "GroupNormalization":
            g = ctx.attr(node, "num_groups")
            if not isinstance(g, int) or g < 1 or c % g:
                raise ctx.unsupported(f"GroupNormalization num_groups {g} for {c} channels")
            if ctx.weight_shape(node, 1) != (c,) or ctx.weight_shape(node, 2) != (c,):
                raise ctx.unsupported("GroupNormalization with a scale per group (opset 18; netc reads "
                                      "opset 21's, per channel)")
            return {"groups": g, "eps": ctx.float32(ctx.attr(node, "epsilon", 1e-5)),
                    "affine": _learned(ctx, node.input[1])}
        fail = ctx.unsupported("not Reshape -> InstanceNormalization -> Reshape (a groupnorm)")
        target = ctx.reshape_target(node)
        if target is None or len(target) != 3 or target[2] != -1 or target[0] not in ("N", ctx.batch, 0):
            raise fail
        g = target[1]
        if not isinstance(g, int) or g < 1 or c % g:
            raise fail
        inorm = ctx.sole_consumer(node.output[0])
        if inorm is None or inorm.op_type != "InstanceNormalization" or inorm.input[0] != node.output[0]:
            raise fail
        for i, want in ((1, 1.0), (2, 0.0)):
            t = inorm.input[i] if len(inorm.input) > i else ""
            if not t or ctx.static_shape(t) not in ((g,),) or ctx.uniform(t) not in (None, want):
                raise fail
        back = ctx.sole_consumer(inorm.output[0])
        if back is None or back.op_type != "Reshape" or back.input[0] != inorm.output[0]:
            raise fail
        target = ctx.reshape_target(back)
        if target is None or len(target) != rank + 1 or target[0] not in ("N", ctx.batch, 0, -1) \
                or list(target).count(-1) > 1 or any(t not in (d, 0, -1) for t, d in zip(target[1:], shape)):
            raise fail
        taken, affine, out = [inorm, back], False, back.output[0]
        mul = ctx.sole_consumer(out)
        w = mul is not None and mul.op_type == "Mul" and ctx.other(mul, out)
        add = w and ctx.sole_consumer(mul.output[0])
        b = add and add.op_type == "Add" and ctx.other(add, mul.output[0])
        if b and _per_channel(ctx, w, c, rank) and _per_channel(ctx, b, c, rank) and _learned(ctx, w):
            taken, affine = taken + [mul, add], True
        elif b and ctx.number(w) == 1 and ctx.number(b) == 0:
            taken += [mul, add]                  # PyTorch's GroupNorm(affine=False): * 1 + 0
        ctx.take(*taken)
        return {"groups": g, "eps": ctx.float32(ctx.attr(inorm, "epsilon", 1e-5)), "affine": affine}


@register
class InstanceNorm(_Norm):
    name = "instancenorm"
    per_channel = True
    doc = "instance normalization: each channel of a map normalized over its positions"
    params = {
        "eps": Param("number", "added to the variance", default=1e-5, min=0, max=1),
        "affine": Param("bool", "learned weight and bias per channel (PyTorch's default: false)",
                        default=False),
    }
    onnx_types = ("InstanceNormalization",)

    def infer(self, p, ins):
        if len(ins[0]) < 2:
            raise ShapeError(f"instancenorm needs a map (channels and positions), got {fmt_shape(ins[0])}")
        return Inferred(ins[0])

    def cost(self, p, ins, out):
        return _norm_cost(ins, ins[0][0], p["affine"])

    def lower(self, p, ctx):
        """InstanceNormalization(x, scale, B): with affine, initializers (C,) drawn ones and
        zeros; without, Constant ones and zeros."""
        c = ctx.in_shapes[0][0]
        if p["affine"]:
            scale, bias = ctx.weight("weight", (c,), "ones"), ctx.weight("bias", (c,), "zeros")
        else:
            scale, bias = ctx.constant("ones", [1.0] * c), ctx.constant("zeros", [0.0] * c)
        return ctx.node("InstanceNormalization", [ctx.input, scale, bias], epsilon=float(p["eps"]))

    def torch(self, p, ctx):
        """nn.InstanceNorm1d/2d/3d as the map's rank says (no running statistics, as netc's),
        affine as netc's; a map of more axes: nn.GroupNorm with a group per channel, the same."""
        n = len(ctx.in_shapes[0]) - 1
        if n <= 3:
            return _torch_norm(p, ctx, f"nn.InstanceNorm{n}d")
        return _torch_norm(p, ctx, "nn.GroupNorm", ctx.in_shapes[0][0])

    def read(self, node, ctx):
        """InstanceNormalization(x, scale (C,), B (C,)) of a map; affine when the scale is
        learned (an initializer; PyTorch's affine=False exports Constant ones)."""
        shape = ctx.input_shape(node)
        if len(shape) < 2:
            raise ctx.unsupported("InstanceNormalization of a vector")
        c = shape[0]
        if tuple(ctx.weight_shape(node, 1)) != (c,) or tuple(ctx.weight_shape(node, 2)) != (c,):
            raise ctx.unsupported(f"InstanceNormalization with a scale or bias that is not one per channel "
                                  f"({c})")
        return {"eps": ctx.float32(ctx.attr(node, "epsilon", 1e-5)), "affine": ctx.learned(node.input[1])}


def _torch_norm(p, ctx, cls: str, *groups) -> str:
    """``cls(*groups, C, eps=, affine=)`` with its (C,) weight and bias (affine)."""
    c = ctx.in_shapes[0][0]
    kwargs = {} if p["eps"] == 1e-5 else {"eps": float(p["eps"])}
    if p["affine"] != (cls == "nn.GroupNorm"):
        kwargs["affine"] = p["affine"]
    m = ctx.module(cls, *groups, c, **kwargs)
    if p["affine"]:
        ctx.weight("weight", (c,), "ones", torch_default=True)
        ctx.weight("bias", (c,), "zeros", torch_default=True)
    return f"{m}({ctx.input})"
