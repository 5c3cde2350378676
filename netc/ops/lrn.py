"""Local response normalization across channels (Krizhevsky et al. 2012, §3.3), as
AlexNet, ZFNet and GoogLeNet v1 use it:

    b_c = a_c / (k + alpha / size * sum_{c' = c - size//2}^{c + size//2} a_c'^2) ** beta

the sum over the ``size`` neighbouring channels centred on c, clipped to the channels
that exist. ONNX's ``LRN`` (attribute ``bias`` for k), PyTorch's ``LocalResponseNorm``
and Caffe's ``LRN`` (ACROSS_CHANNELS) define it alike, alpha divided by ``size``, with
the same defaults (alpha 1e-4, beta 0.75, k 1). For an even size they centre the window
differently (PyTorch takes size/2 channels before c, ONNX size/2 after), and Caffe and
onnxruntime refuse it: netc's ``size`` is odd.

    shape  unchanged, a (C, H, W) map
    params 0
    flops  size + 4 per element: the square, size - 1 adds over the window (zero
           padded at the first and last channels, as PyTorch computes it), multiply
           by alpha/size, add k, the power, the divide
"""

from __future__ import annotations

from .registry import MAX_WINDOW, Cost, Inferred, Op, Param, ShapeError, numel, register, spatial


@register
class LRN(Op):
    name = "lrn"
    per_channel = True
    doc = "local response normalization across channels (AlexNet, GoogLeNet v1)"
    onnx_types = ("LRN",)
    params = {
        "size": Param("int", "channels in the window, centred on each channel (odd; AlexNet: 5)",
                      min=1, max=MAX_WINDOW),
        "alpha": Param("number", "scale of the sum of squares, divided by size as in ONNX, "
                       "PyTorch and Caffe", default=1e-4, min=0),
        "beta": Param("number", "exponent", default=0.75, min=0),
        "k": Param("number", "additive constant (ONNX's bias; the 2012 paper: 2)", default=1.0, min=0),
    }

    def infer(self, p, ins):
        spatial("lrn", ins[0])
        if p["size"] % 2 == 0:
            raise ShapeError(f"lrn size {p['size']} is even: ONNX and PyTorch centre an even window "
                             "differently (Caffe and onnxruntime refuse it); use an odd size", "size")
        return Inferred(ins[0])

    def cost(self, p, ins, out):
        return Cost(flops=(p["size"] + 4) * numel(out.shape))

    def lower(self, p, ctx):
        """LRN(size, alpha, beta, bias = k)."""
        return ctx.node("LRN", [ctx.input], size=p["size"], alpha=float(p["alpha"]),
                        beta=float(p["beta"]), bias=float(p["k"]))

    def torch(self, p, ctx):
        """nn.LocalResponseNorm(size, alpha, beta, k): the same definition."""
        m = ctx.module("nn.LocalResponseNorm", p["size"], alpha=float(p["alpha"]), beta=float(p["beta"]),
                       k=float(p["k"]))
        return f"{m}({ctx.input})"

    def read(self, node, ctx):
        """LRN over the channels of a map: size (required), alpha, beta and bias (k), float32s
        read as the shortest decimals; an even size is not read (see above)."""
        shape = ctx.input_shape(node)
        size = ctx.attr(node, "size")
        if len(shape) != 3:
            raise ctx.unsupported(f"LRN of a rank-{len(shape) + 1} tensor (netc's lrn reads (N, C, H, W))")
        if not isinstance(size, int):
            raise ctx.unsupported("LRN without an integer size")
        if size % 2 == 0:
            raise ctx.unsupported(f"LRN of even size {size} (ONNX and PyTorch centre an even window "
                                  "differently; netc's lrn is odd)")
        return {"size": size, "alpha": ctx.float32(ctx.attr(node, "alpha", 1e-4)),
                "beta": ctx.float32(ctx.attr(node, "beta", 0.75)),
                "k": ctx.float32(ctx.attr(node, "bias", 1.0))}
