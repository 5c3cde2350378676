"""Batch and layer normalization, per-channel scale, and dropout (§5.4, §8).

    batchnorm: params = 2C trainable (scale, shift) + 2C buffers (running mean, variance);
               flops = 2 per element (inference: one multiply-add after folding)
    layernorm: over the C channels at each position (ConvNeXt's LayerNorm2d) of a
               (C, H, W) map, over the C features of a vector;
               params = 2C with affine (weight, bias);
               flops = 5 per element (mean add, subtract, square, variance add,
               multiply by 1/std) + 2 with affine, and 5 per position (H*W of a map,
               1 of a vector: two divides by C, add eps, sqrt, reciprocal)
    scale:     y = a * x (+ b), a (and b) learned per channel (layer scale, affine);
               params = C (+ C with bias); flops = 1 (+ 1) per element
    dropout:   identity at inference; free
"""

from __future__ import annotations

from .registry import MAX_CHANNELS, Cost, Op, Param, numel, register


@register
class BatchNorm(Op):
    name = "batchnorm"
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
        (a freshly initialized layer); y = scale * (x - mean) / sqrt(var + eps) + shift."""
        c = ctx.in_shapes[0][0]
        ins = [ctx.input, ctx.weight("weight", (c,), "ones"), ctx.weight("bias", (c,), "zeros"),
               ctx.weight("running_mean", (c,), "zeros"), ctx.weight("running_var", (c,), "ones")]
        return ctx.node("BatchNormalization", ins, epsilon=float(p["eps"]))

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

    def lower(self, p, ctx):
        """Nothing: the inference graph has no dropout (the input passes through)."""
        return ctx.input

    def read(self, node, ctx):
        """Dropout: ratio as an attribute before opset 12, an optional input since."""
        rate = ctx.attr(node, "ratio", 0.5) if ctx.opset < 12 else ctx.scalar(node, 1, 0.5)
        return {"rate": ctx.float32(rate)}

def per_channel(ctx, suffix: str, init) -> str:
    """A learned (C,) weight, stored (C, 1, 1) for maps so that it broadcasts against
    (N, C, H, W) as PyTorch's exporter stores PReLU slopes."""
    c = ctx.in_shapes[0][0]
    shape = (c, 1, 1) if len(ctx.in_shapes[0]) == 3 else (c,)
    return ctx.weight(suffix, shape, init)


@register
class LayerNorm(Op):
    name = "layernorm"
    doc = "layer normalization over channels at each position (ConvNeXt's LayerNorm2d), or over a vector"
    params = {
        "eps": Param("number", "added to the variance (PyTorch's and ONNX's 1e-5; ConvNeXt "
                     "writes 1e-6, Keras 1e-3)", default=1e-5, min=0, max=1),
        "affine": Param("bool", "learned weight and bias per channel (PyTorch's "
                        "elementwise_affine)", default=True),
    }

    def cost(self, p, ins, out):
        c = ins[0][0]
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
        c, eps, is_map = ctx.in_shapes[0][0], float(p["eps"]), len(ctx.in_shapes[0]) == 3
        if ctx.opset >= 17:
            x = ctx.node("Transpose", [ctx.input], perm=[0, 2, 3, 1]) if is_map else ctx.input
            scale = ctx.weight("weight", (c,), "ones") if p["affine"] else ctx.constant("ones", [1.0] * c)
            ins = [x, scale] + ([ctx.weight("bias", (c,), "zeros")] if p["affine"] else [])
            y = ctx.node("LayerNormalization", ins, axis=-1, epsilon=eps)
            return ctx.node("Transpose", [y], perm=[0, 3, 1, 2]) if is_map else y
        d = ctx.node("Sub", [ctx.input, ctx.node("ReduceMean", [ctx.input], axes=[1], keepdims=1)])
        var = ctx.node("ReduceMean", [ctx.node("Mul", [d, d])], axes=[1], keepdims=1)
        y = ctx.node("Div", [d, ctx.node("Sqrt", [ctx.node("Add", [var, ctx.constant("eps", eps)])])])
        if p["affine"]:
            y = ctx.node("Add", [ctx.node("Mul", [y, per_channel(ctx, "weight", "ones")]),
                                 per_channel(ctx, "bias", "zeros")])
        return y


@register
class Scale(Op):
    name = "scale"
    doc = "a learned multiplier per channel, optionally with a shift (layer scale, affine)"
    params = {
        "value": Param("number", "initial value of every multiplier (ConvNeXt's layer scale: "
                       "1e-6)", default=1.0, min=-MAX_CHANNELS, max=MAX_CHANNELS),
        "bias": Param("bool", "add a learned shift per channel, from 0", default=False),
    }

    def cost(self, p, ins, out):
        c, bias = ins[0][0], p["bias"]
        return Cost(params=(2 if bias else 1) * c, flops=(2 if bias else 1) * numel(out.shape))

    def lower(self, p, ctx):
        """Mul by ``LAYER.weight`` (then Add ``LAYER.bias``), (C, 1, 1) for a map, (C,) for a vector."""
        y = ctx.node("Mul", [ctx.input, per_channel(ctx, "weight", {"constant": float(p["value"])})])
        return ctx.node("Add", [y, per_channel(ctx, "bias", "zeros")]) if p["bias"] else y
