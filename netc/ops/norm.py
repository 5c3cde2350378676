"""Batch and layer normalization, per-channel scale, and dropout (§5.4, §8).

    batchnorm: params = 2C trainable (scale, shift) + 2C buffers (running mean, variance);
               flops = 2 per element (inference: one multiply-add after folding)
    layernorm: over the C channels at each position (ConvNeXt's LayerNorm2d) of a
               (C, H, W) map, over the C features of a vector; with ``axis``, over that
               axis and every one after it (nn.LayerNorm of a transformer's tokens), C
               then the product of those dimensions;
               params = 2C with affine (weight, bias);
               flops = 5 per element (mean add, subtract, square, variance add,
               multiply by 1/std) + 2 with affine, and 5 per position (H*W of a map,
               1 of a vector: two divides by C, add eps, sqrt, reciprocal)
    scale:     y = a * x (+ b), a (and b) learned per channel (layer scale, affine);
               params = C (+ C with bias); flops = 1 (+ 1) per element
    dropout:   identity at inference; free
"""

from __future__ import annotations

from .axes import axis_param, dim
from .registry import CHANNELS_LAST, MAX_CHANNELS, Cost, Inferred, Op, Param, numel, register


def _ones(shape):
    """A nested list of ones of ``shape`` (a Constant's value)."""
    out = 1.0
    for d in reversed(shape):
        out = [out] * d
    return out


@register
class BatchNorm(Op):
    name = "batchnorm"
    per_channel = True
    doc = "batch normalization over channels"
    onnx_types = ("BatchNormalization",)
    params = {
        "eps": Param("number", "added to the variance", default=1e-5, min=0, max=1),
        "momentum": Param("number", "running-statistics momentum", default=0.9, min=0, max=1),
    }

    def cost(self, p, ins, out):
        c = ins[0][0]
        return Cost(params=2 * c, buffers=2 * c, flops=2 * numel(out.shape))

    def lower(self, p, ctx):
        """Inference-form BatchNormalization: scale 1, shift 0, running mean 0, variance 1
        (a freshly initialized layer); y = scale * (x - mean) / sqrt(var + eps) + shift.
        ``momentum`` (training only) is written when it is not ONNX's default 0.9."""
        c = ctx.in_shapes[0][0]
        ins = [ctx.input, ctx.weight("weight", (c,), "ones"), ctx.weight("bias", (c,), "zeros"),
               ctx.weight("running_mean", (c,), "zeros"), ctx.weight("running_var", (c,), "ones")]
        momentum = {} if p["momentum"] == 0.9 else {"momentum": float(p["momentum"])}
        return ctx.node("BatchNormalization", ins, epsilon=float(p["eps"]), **momentum)

    def torch(self, p, ctx):
        """nn.BatchNorm1d/2d/3d as the input's rank says (1d: a vector or a 1-D map), momentum 1 - netc's (PyTorch weighs
        the new batch by its momentum, ONNX the running value); running statistics and
        ``num_batches_tracked`` as buffers."""
        c = ctx.in_shapes[0][0]
        kwargs = {} if p["eps"] == 1e-5 else {"eps": float(p["eps"])}
        momentum = round(1 - p["momentum"], 12)
        if momentum != 0.1:
            kwargs["momentum"] = momentum
        cls = f"nn.BatchNorm{max(len(ctx.in_shapes[0]) - 1, 1)}d"
        m = ctx.module(cls, c, **kwargs)
        ctx.weight("weight", (c,), "ones", torch_default=True)
        ctx.weight("bias", (c,), "zeros", torch_default=True)
        ctx.buffer("running_mean", (c,), "zeros")
        ctx.buffer("running_var", (c,), "ones")
        ctx.buffer("num_batches_tracked", (), None, onnx=None, optional=True)
        return f"{m}({ctx.input})"

    def read(self, node, ctx):
        """BatchNormalization(X, scale, B, mean, var): epsilon and momentum (float32s,
        read as the shortest decimals); a following Relu stays a layer of its own."""
        c = ctx.input_shape(node)[0]
        scale = ctx.weight_shape(node, 1)
        if scale != (c,):
            raise ctx.shape_error(f"scale of shape {list(scale)} for {c} channels")
        return {"eps": ctx.float32(ctx.attr(node, "epsilon", 1e-5)),
                "momentum": ctx.float32(ctx.attr(node, "momentum", 0.9))}


@register
class Dropout(Op):
    name = "dropout"
    doc = "zero a fraction of activations while training (§5.4); identity at inference"
    onnx_types = ("Dropout",)
    params = {"rate": Param("number", "probability p of dropping a unit", default=0.5,
                            min=0, max=1, exclusive_max=True)}

    def torch(self, p, ctx):
        """nn.Dropout(rate): active in training, the identity in eval mode."""
        return f"{ctx.module('nn.Dropout', float(p['rate']))}({ctx.input})"

    def lower(self, p, ctx):
        """Nothing: the inference graph has no dropout (the input passes through)."""
        return ctx.input

    def read(self, node, ctx):
        """Dropout: ratio as an attribute before opset 12, an optional input since."""
        rate = ctx.attr(node, "ratio", 0.5) if ctx.opset < 12 else ctx.scalar(node, 1, 0.5)
        return {"rate": ctx.float32(rate)}

def per_channel(ctx, suffix: str, init) -> str:
    """A learned (C,) weight, stored (C, 1, 1) for maps (one 1 per spatial axis) so that it
    broadcasts against (N, C, H, W) as PyTorch's exporter stores PReLU slopes."""
    c = ctx.in_shapes[0][0]
    shape = (c, *(1,) * (len(ctx.in_shapes[0]) - 1))
    return ctx.weight(suffix, shape, init)


def per_channel_weight(ctx, tensor: str, c: int, rank: int) -> bool:
    """True when ``tensor`` is a weight of one value per channel that broadcasts against
    a rank-``rank`` netc shape: (C, 1, 1) or (1, C, 1, 1) for a map, (C,) or (1, C) for a
    vector; (C,), (1, C), (1, 1, C) or (1, 1, 1, C) for a map held channels-last."""
    if not tensor or ctx.is_feature(tensor):
        return False
    shape = ctx.static_shape(tensor)
    if shape is None:
        return False
    shape = tuple(shape)
    if rank == 3 and ctx.layout == CHANNELS_LAST:
        return shape[-1:] == (c,) and len(shape) <= 4 and all(d == 1 for d in shape[:-1])
    want = (c, *(1,) * (rank - 1))
    return shape in (want, (1, *want))


def _axis_one(ctx, node, rank: int) -> bool:
    """A Reduce node over the channels only, keepdims 1: axis 1 (-1 of a vector), or the
    last axis of a map held channels-last."""
    axes = ctx.axes(node)
    channels = rank if rank == 3 and ctx.layout == CHANNELS_LAST else 1
    return (axes is not None and len(axes) == 1 and axes[0] % (rank + 1) == channels
            and ctx.attr(node, "keepdims", 1) == 1)


@register
class LayerNorm(Op):
    name = "layernorm"
    per_channel = True
    doc = "layer normalization over channels at each position (ConvNeXt's LayerNorm2d), or over a vector"
    onnx_types = ("LayerNormalization", "Transpose", "ReduceMean")
    onnx_pattern = True
    channels_last = True
    params = {
        "eps": Param("number", "added to the variance (PyTorch's and ONNX's 1e-5; ConvNeXt "
                     "writes 1e-6, Keras 1e-3)", default=1e-5, min=0, max=1),
        "affine": Param("bool", "learned weight and bias per channel (PyTorch's "
                        "elementwise_affine)", default=True),
        "axis": axis_param("normalize over this axis and every one after it, a weight and a bias "
                           "of their shape (ONNX's LayerNormalization axis; nn.LayerNorm over the "
                           "trailing dimensions: a transformer's (tokens, C) over C is axis -1); "
                           "none: the channels at each position of a map, a vector's features",
                           default=None),
    }

    @staticmethod
    def normalized(p, shape) -> tuple[int, ...]:
        """The normalized dimensions of ``shape``: from ``axis`` to the end, else the channels."""
        if p.get("axis") is None:
            return shape[:1]
        return tuple(shape[dim(p["axis"], shape, op="layernorm"):])

    def infer(self, p, ins):
        self.normalized(p, ins[0])          # an axis past the rank, or the batch: a ShapeError
        return Inferred(ins[0])

    def cost(self, p, ins, out):
        c = numel(self.normalized(p, ins[0]))
        positions = numel(ins[0]) // c
        per_element = 5 + (2 if p["affine"] else 0)
        return Cost(params=2 * c if p["affine"] else 0,
                    flops=per_element * numel(ins[0]) + 5 * positions)

    def lower(self, p, ctx):
        """Opset >= 17: LayerNormalization(axis=-1) with weight 1 and bias 0 (C,) (without
        affine: a Constant scale of ones, no bias), between
        Transposes (N, C, H, W) -> (N, H, W, C) and back for a map. Below 17, the
        definition over axis 1: d = x - ReduceMean(x); y = d / Sqrt(ReduceMean(d*d) + eps),
        then * weight + bias, weights (C, 1, 1) for a map."""
        c, eps, r = ctx.in_shapes[0][0], float(p["eps"]), len(ctx.in_shapes[0])
        if p.get("axis") is not None:
            return self._lower_trailing(p, ctx)
        is_map = r >= 2      # channels at each position of a 1-, 2- or 3-D map
        if ctx.opset >= 17:
            x = ctx.node("Transpose", [ctx.input], perm=[0, *range(2, r + 1), 1]) if is_map else ctx.input
            scale = ctx.weight("weight", (c,), "ones") if p["affine"] else ctx.constant("ones", [1.0] * c)
            ins = [x, scale] + ([ctx.weight("bias", (c,), "zeros")] if p["affine"] else [])
            y = ctx.node("LayerNormalization", ins, axis=-1, epsilon=eps)
            return ctx.node("Transpose", [y], perm=[0, r, *range(1, r)]) if is_map else y
        d = ctx.node("Sub", [ctx.input, ctx.node("ReduceMean", [ctx.input], axes=[1], keepdims=1)])
        var = ctx.node("ReduceMean", [ctx.node("Mul", [d, d])], axes=[1], keepdims=1)
        y = ctx.node("Div", [d, ctx.node("Sqrt", [ctx.node("Add", [var, ctx.constant("eps", eps)])])])
        if p["affine"]:
            y = ctx.node("Add", [ctx.node("Mul", [y, per_channel(ctx, "weight", "ones")]),
                                 per_channel(ctx, "bias", "zeros")])
        return y

    def _lower_trailing(self, p, ctx):
        """``axis`` given: opset >= 17, LayerNormalization(axis) with weight and bias of the
        normalized dimensions' shape (no Transposes); below 17, its definition with
        ReduceMean over those axes and the weights stored alike."""
        shape = ctx.in_shapes[0]
        i = dim(p["axis"], shape, op="layernorm")
        w_shape, eps, axes = tuple(shape[i:]), float(p["eps"]), list(range(i + 1, len(shape) + 1))
        scale = ctx.weight("weight", w_shape, "ones") if p["affine"] else ctx.constant(
            "ones", _ones(w_shape))
        if ctx.opset >= 17:
            ins = [ctx.input, scale] + ([ctx.weight("bias", w_shape, "zeros")] if p["affine"] else [])
            return ctx.node("LayerNormalization", ins, axis=i + 1, epsilon=eps)
        d = ctx.node("Sub", [ctx.input, ctx.node("ReduceMean", [ctx.input], axes=axes, keepdims=1)])
        var = ctx.node("ReduceMean", [ctx.node("Mul", [d, d])], axes=axes, keepdims=1)
        y = ctx.node("Div", [d, ctx.node("Sqrt", [ctx.node("Add", [var, ctx.constant("eps", eps)])])])
        if p["affine"]:
            y = ctx.node("Add", [ctx.node("Mul", [y, scale]), ctx.weight("bias", w_shape, "zeros")])
        return y

    def torch(self, p, ctx):
        """nn.LayerNorm over a vector's features, or over the trailing dimensions from
        ``axis``; over a map's channels at each position, the ``LayerNorm2d`` helper (permute
        to channels-last and back, as torchvision's), a 1-D or 3-D map's too."""
        c, is_map = ctx.in_shapes[0][0], len(ctx.in_shapes[0]) >= 2
        kwargs = {} if p["eps"] == 1e-5 else {"eps": float(p["eps"])}
        if not p["affine"]:
            kwargs["elementwise_affine"] = False
        if p.get("axis") is not None:
            w_shape = self.normalized(p, ctx.in_shapes[0])
            m = ctx.module("nn.LayerNorm", list(w_shape), **kwargs)
            if p["affine"]:
                ctx.weight("weight", w_shape, "ones", torch_default=True)
                ctx.weight("bias", w_shape, "zeros", torch_default=True)
            return f"{m}({ctx.input})"
        m = ctx.module("LayerNorm2d" if is_map else "nn.LayerNorm", c, **kwargs)
        if p["affine"]:
            ctx.weight("weight", (c,), "ones", torch_default=True)
            ctx.weight("bias", (c,), "zeros", torch_default=True)
        return f"{m}({ctx.input})"

    def read(self, node, ctx):
        """LayerNormalization over the last axis of a vector; Transpose (0, 2, 3, 1) ->
        LayerNormalization(axis -1) -> Transpose (0, 3, 1, 2) on a map (torchvision's
        LayerNorm2d); or the definition over axis 1: ReduceMean -> Sub -> Mul(d, d) or
        Pow(d, 2) -> ReduceMean -> Add(eps) -> Sqrt -> Div (-> Mul(weight) -> Add(bias)).
        affine: a learned weight (an initializer, not a Constant of ones) with its bias.
        In a channels-last region, LayerNormalization over the last axis of the map, or
        the definition over it (the TorchScript exporter's LayerNorm below opset 17)."""
        shape = ctx.input_shape(node)
        if ctx.layout == CHANNELS_LAST:
            if node.op_type == "ReduceMean":
                return self._decomposed(node, ctx, shape)
            if node.op_type != "LayerNormalization":
                raise ctx.unsupported(f"{node.op_type} on a channels-last tensor")
            return self._single(node, ctx, 3)
        if node.op_type == "LayerNormalization":
            if len(shape) != 1:
                return self._trailing(node, ctx, shape)
            return self._single(node, ctx, 1)
        if node.op_type == "Transpose":
            nxt = ctx.sole_consumer(node.output[0])
            back = nxt and ctx.sole_consumer(nxt.output[0])
            if (len(shape) != 3 or ctx.attr(node, "perm") != [0, 2, 3, 1] or nxt is None
                    or nxt.op_type != "LayerNormalization" or back is None or back.op_type != "Transpose" or ctx.attr(back, "perm") != [0, 3, 1, 2]):
                raise ctx.unsupported("not Transpose -> LayerNormalization -> Transpose")
            p = self._single(nxt, ctx, 3)
            ctx.take(nxt, back)
            return p
        return self._decomposed(node, ctx, shape)

    def _single(self, node, ctx, rank: int) -> dict:
        if ctx.attr(node, "axis", -1) % (rank + 1) != rank:
            raise ctx.unsupported(f"LayerNormalization over axis {ctx.attr(node, 'axis')}")
        if not ctx.has_input(node, 1):          # a pattern's later node: not checked as the first is
            raise ctx.unsupported("LayerNormalization without its Scale input")
        affine = ctx.learned(node.input[1])
        if affine != ctx.has_input(node, 2):
            raise ctx.unsupported("LayerNormalization with a learned weight but no bias")
        return {"eps": ctx.float32(ctx.attr(node, "epsilon", 1e-5)), "affine": affine}

    def _trailing(self, node, ctx, shape) -> dict:
        """LayerNormalization of a tensor of rank other than 1, not between Transposes: over
        its axis and every one after it (a transformer's (tokens, C), CoaT's), ``axis`` that
        axis counted with the batch; affine when its scale is learned, of the normalized
        dimensions' shape, with a bias alike."""
        axis = ctx.attr(node, "axis", -1)
        rank = len(shape)
        if not isinstance(axis, int) or not -(rank + 1) <= axis <= rank or axis % (rank + 1) == 0:
            raise ctx.unsupported(f"LayerNormalization over axis {axis} of a tensor of rank {rank + 1} "
                                  "(the batch is kept apart)")
        axis %= rank + 1
        if not ctx.has_input(node, 1):
            raise ctx.unsupported("LayerNormalization without its Scale input")
        want = tuple(shape[axis - 1:])
        for i in (1, 2):
            got = ctx.static_shape(node.input[i]) if ctx.has_input(node, i) else want
            if got is None or numel(tuple(got)) != numel(want) or tuple(got)[-len(want):] != want[-len(got):]:
                raise ctx.unsupported(f"LayerNormalization over axis {axis} of {list(shape)} with a "
                                      f"{'scale' if i == 1 else 'bias'} of shape {list(got or ())}")
        affine = ctx.learned(node.input[1])
        if affine != ctx.has_input(node, 2):
            raise ctx.unsupported("LayerNormalization with a learned weight but no bias")
        return {"eps": ctx.float32(ctx.attr(node, "epsilon", 1e-5)), "affine": affine,
                "axis": axis - rank - 1}

    def _decomposed(self, node, ctx, shape) -> dict:
        x, rank, c = node.input[0], len(shape), shape[0]
        fail = ctx.unsupported("not layer normalization over the channels (ReduceMean, Sub, ...)")
        if not _axis_one(ctx, node, rank):
            raise fail
        sub = ctx.sole_consumer(node.output[0])
        if sub is None or sub.op_type != "Sub" or list(sub.input) != [x, node.output[0]]:
            raise fail
        d = sub.output[0]
        users = ctx.users(d)
        square = next((n for n in users if (n.op_type == "Mul" and list(n.input) == [d, d])
                       or (n.op_type == "Pow" and n.input[0] == d and ctx.has_input(n, 1)
                           and ctx.number(n.input[1]) == 2)), None)
        div = next((n for n in users if n.op_type == "Div" and n.input[0] == d), None)
        if square is None or div is None or len(users) != 2:
            raise fail
        chain, t = [], square.output[0]
        for op_type in ("ReduceMean", "Add", "Sqrt"):
            n = ctx.sole_consumer(t)
            if n is None or n.op_type != op_type or n.input[0] != t:
                raise fail
            chain.append(n)
            t = n.output[0]
        mean2, add, sqrt = chain
        eps = ctx.number(add.input[1]) if ctx.has_input(add, 1) else None
        if not _axis_one(ctx, mean2, rank) or eps is None or list(div.input) != [d, t]:
            raise fail
        taken = [sub, square, *chain, div]
        mul = ctx.sole_consumer(div.output[0])
        weight = mul and mul.op_type == "Mul" and ctx.other(mul, div.output[0])
        bias_add = weight and per_channel_weight(ctx, weight, c, rank) and ctx.sole_consumer(mul.output[0])
        bias = bias_add and bias_add.op_type == "Add" and ctx.other(bias_add, mul.output[0])
        affine = bool(bias and per_channel_weight(ctx, bias, c, rank))
        if affine:
            taken += [mul, bias_add]
        ctx.take(*taken)
        return {"eps": ctx.float32(eps), "affine": affine}


@register
class Scale(Op):
    name = "scale"
    per_channel = True
    channels_last = True
    doc = "a learned multiplier per channel, optionally with a shift (layer scale, affine)"
    onnx_types = ("Mul",)
    params = {
        "value": Param("number", "initial value of every multiplier (ConvNeXt's layer scale: "
                       "1e-6)", default=1.0, min=-MAX_CHANNELS, max=MAX_CHANNELS),
        "bias": Param("bool", "add a learned shift per channel, from 0", default=False),
    }

    def cost(self, p, ins, out):
        c, bias = ins[0][0], p["bias"]
        return Cost(params=(2 if bias else 1) * c, flops=(2 if bias else 1) * numel(out.shape))

    def read(self, node, ctx):
        """Mul by a weight of one value per channel ((C, 1, 1) for a map, (C,) for a
        vector), on either side (``gamma * x`` as well as ``x * gamma``); ``value`` when
        every multiplier holds the same. Its bias Add is absorbed."""
        x = [t for t in node.input if ctx.is_feature(t)]
        if len(x) != 1 or len(node.input) != 2:
            raise ctx.unsupported("Mul by a constant that is not one weight per channel")
        shape = ctx.shapes[x[0]]
        w = ctx.other(node, x[0])
        if w is None or not per_channel_weight(ctx, w, shape[0], len(shape)):
            raise ctx.unsupported("Mul by a constant that is not one weight per channel")
        value = ctx.uniform(w)
        return {} if value is None else {"value": value}

    def absorb(self, p, node, ctx):
        """An Add of a per-channel weight after it, on either side: bias true. A Mul by the
        constant 1 between them changes nothing and is taken too (ConvNeXt-V2's GRN:
        ``torch.addcmul(bias, weight, x)`` exports Mul(weight, x), Mul by its ``value`` 1,
        then Add(bias, ...))."""
        if p["bias"] or node.op_type not in ("Add", "Mul"):
            return None
        x = [t for t in node.input if ctx.is_feature(t)]
        if len(x) != 1 or len(node.input) != 2:
            return None
        if node.op_type == "Mul":
            one = ctx.other(node, x[0])
            rank = len(ctx.static_shape(one) or (0,) * 9)     # a 1 of higher rank adds axes
            return {**p} if ctx.number(one) == 1 and rank <= len(ctx.shapes[x[0]]) + 1 else None
        shape = ctx.shapes[x[0]]
        if not per_channel_weight(ctx, ctx.other(node, x[0]), shape[0], len(shape)):
            return None
        return {**p, "bias": True}

    def torch(self, p, ctx):
        """The ``Scale`` helper: ``weight`` (and ``bias``) of shape (C, 1, 1) for a map,
        (C,) for a vector (one 1 per spatial axis), as ``lower`` stores them (torchvision's
        layer_scale)."""
        c = ctx.in_shapes[0][0]
        shape = (c, *(1,) * (len(ctx.in_shapes[0]) - 1))
        kwargs = {"value": float(p["value"])} if p["value"] != 1 else {}
        if p["bias"]:
            kwargs["bias"] = True
        m = ctx.module("Scale", list(shape), **kwargs)
        ctx.weight("weight", shape, {"constant": float(p["value"])}, torch_default=True)
        if p["bias"]:
            ctx.weight("bias", shape, "zeros", torch_default=True)
        return f"{m}({ctx.input})"

    def lower(self, p, ctx):
        """Mul by ``LAYER.weight`` (then Add ``LAYER.bias``), (C, 1, 1) for a map, (C,) for a vector."""
        y = ctx.node("Mul", [ctx.input, per_channel(ctx, "weight", {"constant": float(p["value"])})])
        return ctx.node("Add", [y, per_channel(ctx, "bias", "zeros")]) if p["bias"] else y
