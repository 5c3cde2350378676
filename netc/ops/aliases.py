"""Names other frameworks give to netc's ops, and the did-you-mean rule for
unknown op names. The one place that knows ``Conv2d`` is netc's ``conv``.

``FOREIGN`` maps a name, normalized (lower case, ``_`` and ``-`` removed), to
netc's op, or to None where netc has no such op. An entry whose op is not
registered is skipped (``foreign`` returns None): the table may name ops that
are being added, and can never point at a missing one. The registered ops are
handed in by the caller (``ops``), so this table sits below the registry.

Did-you-mean (``suggest``): a name known elsewhere is never taken for a typo
(``gelu`` is GELU, not a misspelt ``relu``); otherwise only a near-typo is
proposed: one edit (insert, delete, substitute or swap two neighbours), two for
names of eight letters or more.
"""

from __future__ import annotations

from collections.abc import Collection

FOREIGN: dict[str, str | None] = {
    # convolution
    "conv2d": "conv", "convolution": "conv", "convolution2d": "conv", "separableconv2d": None,
    "depthwiseconv2d": "conv", "conv1d": None, "conv3d": None,
    "convtranspose": "conv_transpose", "convtranspose2d": "conv_transpose",
    "conv2dtranspose": "conv_transpose", "convolution2dtranspose": "conv_transpose",
    "deconv": "conv_transpose", "deconv2d": "conv_transpose", "deconvolution": "conv_transpose",
    "deconvolution2d": "conv_transpose", "transposedconv": "conv_transpose", "upconv": "conv_transpose",
    # dense
    "linear": "dense", "fc": "dense", "fullyconnected": "dense", "innerproduct": "dense", "gemm": "dense",
    # normalization and scale
    "batchnorm2d": "batchnorm", "batchnormalization": "batchnorm", "bn": "batchnorm",
    "batchnorm1d": "batchnorm", "syncbatchnorm": "batchnorm",
    "layernorm": "layernorm", "layernorm2d": "layernorm", "scale": "scale", "mul": "mul",
    "crop": "crop", "pad": "pad", "slice": "slice", "layernormalization": "layernorm",
    "layerscale": "scale", "affine": "scale",
    "groupnorm": "groupnorm", "instancenorm": "instancenorm", "instancenormalization": "instancenorm",
    "instancenorm2d": "instancenorm", "instancenorm1d": "instancenorm", "instancenorm3d": "instancenorm",
    "groupnormalization": "groupnorm",
    "localresponsenorm": "lrn", "localresponsenormalization": "lrn", "lrn": "lrn",
    # math on tensors of any rank
    "clamp": "clip", "min": "minimum", "max": "maximum", "bmm": "matmul", "einsum": None,
    "subtract": "sub", "divide": "div", "truediv": "div", "power": "pow", "negative": "neg",
    "reducemean": "reduce_mean", "reducesum": "reduce_sum", "reducemax": "reduce_max",
    "reducemin": "reduce_min", "reducel2": "reduce_l2", "amax": "reduce_max", "amin": "reduce_min",
    # activations
    "swish": "silu", "silu": "silu", "hswish": "hardswish", "hardswish": "hardswish",
    "hsigmoid": "hardsigmoid", "hardsigmoid": "hardsigmoid", "gelu": "gelu", "mish": "mish",
    "prelu": "prelu", "relu6": "relu6", "leakyrelu": "leaky_relu", "lrelu": "leaky_relu",
    "logistic": "sigmoid", "elu": None, "selu": None, "celu": None, "softplus": None,
    "softsign": None, "hardtanh": None, "logsoftmax": "log_softmax", "softmax2d": "softmax",
    "glu": None, "quickgelu": None, "rrelu": None, "crelu": None, "threshold": None,
    "softmin": None, "logsigmoid": None, "tanhshrink": None, "softshrink": None, "hardshrink": None,
    # pooling
    "maxpool2d": "maxpool", "maxpooling2d": "maxpool", "maxpool": "maxpool", "maxpooling": "maxpool",
    "avgpooling": "avgpool", "averagepooling": "avgpool",
    "avgpool2d": "avgpool", "averagepool": "avgpool", "averagepooling2d": "avgpool", "avgpool": "avgpool",
    "globalaveragepool": "global_avgpool", "globalaveragepooling2d": "global_avgpool",
    "globalavgpool2d": "global_avgpool",
    "globalmaxpool": "global_maxpool", "globalmaxpooling2d": "global_maxpool",
    "globalmaxpool2d": "global_maxpool",
    "adaptiveavgpool2d": "adaptive_avgpool", "adaptiveavgpool": "adaptive_avgpool",
    "adaptivemaxpool2d": "adaptive_maxpool", "adaptivemaxpool": "adaptive_maxpool",
    "maxpool1d": None, "maxpool3d": None, "avgpool1d": None, "avgpool3d": None, "lppool2d": None,
    "fractionalmaxpool2d": None, "maxunpool2d": None, "batchnorm3d": None,
    "adaptiveavgpool1d": None, "adaptiveavgpool3d": None, "adaptivemaxpool1d": None,
    # resizing, cropping, padding
    "upsample": "upsample", "upsampling2d": "upsample", "upsamplingnearest2d": "upsample",
    "upsamplingbilinear2d": "upsample", "interpolate": "upsample", "resize": "upsample",
    "centercrop": "crop", "cropping2d": "crop", "centrecrop": "crop",
    "zeropad2d": "pad", "zeropadding2d": "pad", "constantpad2d": "pad", "reflectionpad2d": "pad",
    "replicationpad2d": "pad", "padding": "pad", "pixelshuffle": None, "pixelunshuffle": None,
    # merging and channels
    "concatenate": "concat", "cat": "concat", "sum": "add", "elementwisesum": "add",
    "multiply": "mul", "mult": "mul", "elementwiseproduct": "mul",
    "split": "slice", "chunk": "slice", "channelshuffle": "channel_shuffle", "shuffle": "channel_shuffle",
    "identity": "identity", "noop": "identity", "passthrough": "identity",
    "dropout2d": "dropout", "spatialdropout2d": "dropout", "alphadropout": "dropout",
    "flatten": "flatten", "reshape": "reshape",
    # shape plumbing (tensors of any rank)
    "view": "reshape", "permute": "permute", "transpose": "permute", "squeeze": "squeeze",
    "unsqueeze": "unsqueeze", "expanddims": "unsqueeze", "expand": "expand", "broadcastto": "expand",
    "expandas": "expand", "gather": "gather", "indexselect": "gather", "narrow": "slice",
}


def normalize(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "")


def foreign(name: str, ops: Collection[str]) -> str | None:
    """The op of ``ops`` (netc's registered ops, or the choices of a parameter) for a
    name used elsewhere (``Conv2d`` -> ``conv``), or None."""
    key = normalize(name)
    target = FOREIGN.get(key)
    if target is None:
        target = next((op for op in ops if normalize(op) == key), None)
    return target if target in ops and target != name else None


def known_elsewhere(name: str) -> bool:
    """True for a name the table knows, whether or not netc has its op."""
    return normalize(name) in FOREIGN


def suggest(name: str, choices) -> str | None:
    """The closest of ``choices`` when ``name`` is a near-typo of it, else None.
    A name known elsewhere gets its table entry (or nothing), never a look-alike."""
    if known_elsewhere(name):
        return foreign(name, choices)
    limit = 2 if len(name) >= 8 else 1
    best, best_d = None, limit + 1
    for c in choices:
        d = _distance(name.lower(), c.lower(), limit)
        if d < best_d:
            best, best_d = c, d
    return best


def unknown_op_message(name: str, ops: Collection[str], blocks=()) -> str:
    """The message for an unknown op or block name; ``ops``: netc's registered ops."""
    target = foreign(name, ops)
    if target is not None:
        return f"unknown op {name!r}: not a netc op; netc's is {target!r}"
    if known_elsewhere(name):
        return f"unknown op {name!r}: netc has no such op (netc ops: {', '.join(ops)})"
    close = suggest(name, list(ops) + list(blocks))
    if close:
        return f"unknown op or block {name!r}; did you mean {close!r}?"
    return (f"unknown op or block {name!r} (define it under 'blocks:' or use one of: "
            + ", ".join(ops) + ")")


def _distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (Damerau-Levenshtein with adjacent swaps),
    or ``limit + 1`` once it exceeds ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2, prev = None, list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + cost)
            if prev2 is not None and i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], prev2[j - 2] + 1)
        if min(row) > limit:
            return limit + 1
        prev2, prev = prev, row
    return prev[-1] if prev[-1] <= limit else limit + 1
