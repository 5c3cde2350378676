"""Batch normalization and dropout (§5.4, §8).

    batchnorm: params = 2C trainable (scale, shift) + 2C buffers (running mean, variance);
               flops = 2 per element (inference: one multiply-add after folding)
    dropout:   identity at inference; free
"""

from __future__ import annotations

from .registry import Cost, Op, Param, numel, register


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
