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
    params = {
        "eps": Param("number", "added to the variance", default=1e-5, min=0, max=1),
        "momentum": Param("number", "running-statistics momentum", default=0.9, min=0, max=1),
    }

    def cost(self, p, ins, out):
        c = ins[0][0]
        return Cost(params=2 * c, buffers=2 * c, flops=2 * numel(out.shape))


@register
class Dropout(Op):
    name = "dropout"
    doc = "zero a fraction of activations while training (§5.4); identity at inference"
    params = {"rate": Param("number", "probability p of dropping a unit", default=0.5,
                            min=0, max=1, exclusive_max=True)}
