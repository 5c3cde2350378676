"""D: design hints from the paper (§3.4, §5.3, §5.6, §6.3, §7.2, §8)."""

from __future__ import annotations

from ...diagnostics import Severity
from ...initializers import INITIALIZERS, RELU_FAMILY
from ...ops.activation import ACTIVATIONS
from ...ops.registry import numel
from ..rule import rule

ACTIVATION_OPS = set(ACTIVATIONS)      # the elementwise activations (softmax is a classifier head)
SATURATING = {"sigmoid", "tanh", "hardsigmoid"}
WEIGHTED = ("conv", "dense")
AFFINE = {"batchnorm", "dropout", "scale"}   # linear at inference: a nonlinearity passes through them


def follow(ctx, name: str, through: set[str]):
    """The first node after ``name`` along single-consumer edges, skipping ops in ``through``."""
    seen = 0
    while True:
        nxt = ctx.consumers.get(name, [])
        if len(nxt) != 1:
            return None
        node = ctx.graph.node(nxt[0])
        if node.op not in through or seen > 64:
            return node
        name, seen = node.name, seen + 1


def activation_of(ctx, node) -> tuple[str, bool]:
    """(activation name or 'none', whether a batchnorm sits between the layer and it)."""
    act = node.params.get("activation", "none")
    if act != "none":
        return act, False
    nxt, norm, name = None, False, node.name
    for _ in range(64):
        nxt = follow(ctx, name, set())
        if nxt is None or nxt.op not in AFFINE:
            break
        norm, name = norm or nxt.op == "batchnorm", nxt.name
    if nxt is not None and nxt.op in ACTIVATION_OPS:
        return nxt.op, norm
    return "none", norm


def has_weighted_descendant(ctx) -> set[str]:
    out: set[str] = set()
    for r in reversed(ctx.layers):
        if any(c in out or ctx.graph.node(c).op in WEIGHTED for c in ctx.consumers.get(r.name, [])):
            out.add(r.name)
    return out


@rule("D001", "filter-count", Severity.INFO,
      summary="A filter or unit count that is neither a multiple of 8 nor a power of two.",
      what="""
      Reports convolutions whose `filters`, and hidden dense layers whose
      `units`, are neither a multiple of 8 nor a power of two. The last
      weighted layer (the classifier, sized by the number of classes) is exempt.
      """,
      why="""
      §3.4: "For computational reasons, it is best to set the number of filters
      to be a power of 2. This helps to vectorize computations." GPU tensor
      cores and CPU vector units work in multiples of 8 (or more) channels;
      other counts leave lanes idle or force padded copies.
      """,
      example="""
      netc: 1
      input: {shape: [3, 32, 32]}
      layers:
        - conv: {filters: 100, kernel: 3, padding: 1, activation: relu}
        - global_avgpool
        - dense: {units: 10}
      """,
      example_at=(4, 21),
      fixed="""
      netc: 1
      input: {shape: [3, 32, 32]}
      layers:
        - conv: {filters: 96, kernel: 3, padding: 1, activation: relu}
        - global_avgpool
        - dense: {units: 10}
      """,
      fix="""
      Round the count to a multiple of 8 (the message names the nearest two).
      """)
def filter_count(ctx):
    hidden = has_weighted_descendant(ctx)
    for r in ctx.layers:
        if r.op not in WEIGHTED:
            continue
        param = "filters" if r.op == "conv" else "units"
        n = r.node.params[param]
        if n % 8 == 0 or n & (n - 1) == 0 or (r.op == "dense" and r.name not in hidden):
            continue
        lower, upper = n - n % 8, n - n % 8 + 8
        near = f"{lower} or {upper}" if lower else str(upper)
        yield ctx.finding(r.node, f"{r.name}: {n} {param} is neither a multiple of 8 nor a power "
                          f"of two; {near} would vectorize better", param)


@rule("D002", "even-kernel", Severity.INFO,
      summary="An even convolution kernel: no centre pixel, no symmetric 'same' padding.",
      what="""
      Reports convolutions with an even kernel size (2, 4, ...) along height or
      width, except non-overlapping patch embeddings whose stride equals the
      kernel.
      """,
      why="""
      §3.4: "Filter sizes are usually odd numbers. This is to have a filter
      center pixel." An even kernel has no centre: the output grid is shifted
      by half a pixel, and keeping the size needs asymmetric padding (F - 1 is
      odd), which frameworks place differently.
      """,
      example="""
      netc: 1
      input: {shape: [3, 32, 32]}
      layers:
        - conv: {filters: 32, kernel: 4, activation: relu}
      """,
      example_at=(4, 33),
      fixed="""
      netc: 1
      input: {shape: [3, 32, 32]}
      layers:
        - conv: {filters: 32, kernel: 3, activation: relu}
      """,
      fix="""
      Use an odd kernel (3, 5, 7) with padding (F - 1)/2, or a stride equal to
      the kernel for patch embedding.
      """)
def even_kernel(ctx):
    for r in ctx.layers:
        if r.op != "conv":
            continue
        k, s = [w.kernel for w in r.windows], [w.stride for w in r.windows]
        if any(x % 2 == 0 for x in k) and k != s:
            yield ctx.finding(r.node, f"{r.name}: kernel {'x'.join(map(str, k))} is even: no centre pixel",
                              "kernel")


@rule("D003", "init-mismatch", Severity.WARNING,
      summary="The weight initializer does not suit the activation (Xavier with ReLU, He with tanh/sigmoid).",
      what="""
      Reports a convolution or dense layer whose activation (fused, or the
      activation layer that follows it) is in the ReLU family (relu, relu6,
      leaky_relu, prelu, and the smooth silu, hardswish, gelu, mish) while its
      `init` is Xavier/Glorot, Caffe's Xavier or LeCun; or tanh, sigmoid or
      hardsigmoid with He.
      `init: auto` is never reported: it picks He for the ReLU family, fused or
      after batchnorm, dropout and add, and Xavier otherwise.
      """,
      why="""
      §5.3: the variance must suit the nonlinearity. Xavier keeps variance for
      symmetric activations; ReLU zeroes half its inputs, so "multiplying the
      inverse of the number of inputs by 2 yields a variance which gives the
      best results" (He et al.). With Xavier, deep ReLU stacks shrink the signal
      layer by layer; He's larger weights push tanh and sigmoid into saturation.
      """,
      example="""
      netc: 1
      input: {shape: [3, 32, 32]}
      layers:
        - conv: {filters: 32, kernel: 3, activation: relu, init: xavier_uniform}
      """,
      example_at=(4, 60),
      fixed="""
      netc: 1
      input: {shape: [3, 32, 32]}
      layers:
        - conv: {filters: 32, kernel: 3, activation: relu, init: he_normal}
      """,
      fix="""
      Use `he_normal` (or `auto`) for the ReLU family,
      `xavier_uniform` for tanh and sigmoid.
      """)
def init_mismatch(ctx):
    for r in ctx.layers:
        if r.op not in WEIGHTED:
            continue
        init = r.node.params["init"]
        act, _ = activation_of(ctx, r.node)
        if act == "none" or isinstance(init, dict):
            continue
        family = INITIALIZERS[init][0]
        if init == "auto":      # resolved with the same activation (netc.graph.activation_after)
            continue
        if act in RELU_FAMILY and family in ("xavier", "caffe", "lecun"):
            yield ctx.finding(r.node, f"{r.name}: {init} with {act}: the ReLU family wants He "
                              f"initialization (he_normal)", "init")
        elif act in SATURATING and family == "he":
            yield ctx.finding(r.node, f"{r.name}: {init} with {act}: He's variance saturates "
                              f"{act}; use xavier_uniform", "init")


def _saturating(ctx, node) -> bool:
    return node.op in SATURATING or node.params.get("activation") in SATURATING


@rule("D004", "saturating-depth", Severity.WARNING,
      summary="Many sigmoid/tanh layers in a row: gradients vanish.",
      what="""
      Counts hidden sigmoid, hardsigmoid and tanh activations (fused or as
      layers) along each path from the input, and reports the layer where the
      count first exceeds `max-saturating-depth` (default 3). One on a network
      output is not counted. A `mul` (a gate: squeeze-and-excitation) takes
      the smallest count of its inputs, since the gradient reaches the gated
      input without passing through the gate's derivative.
      """,
      why="""
      §5.6 and §5.3: saturating functions have near-zero derivatives on their
      plateaus (the sigmoid's is at most 1/4), and "as more near-zero
      derivatives are chained on, the gradient becomes essentially zero";
      ReLU does not saturate for positive inputs.
      """,
      example="""
      netc: 1
      input: {shape: [3, 32, 32]}
      layers:
        - conv: {filters: 32, kernel: 3, padding: 1, activation: tanh}
        - conv: {filters: 32, kernel: 3, padding: 1, activation: tanh}
        - conv: {filters: 32, kernel: 3, padding: 1, activation: tanh}
        - conv: {filters: 32, kernel: 3, padding: 1, activation: tanh}
        - global_avgpool
      """,
      example_at=(7, 5),
      fixed="""
      netc: 1
      input: {shape: [3, 32, 32]}
      layers:
        - conv: {filters: 32, kernel: 3, padding: 1, activation: relu}
        - conv: {filters: 32, kernel: 3, padding: 1, activation: relu}
        - conv: {filters: 32, kernel: 3, padding: 1, activation: relu}
        - conv: {filters: 32, kernel: 3, padding: 1, activation: tanh}
        - global_avgpool
      """,
      fix="""
      Use ReLU-family activations in hidden layers (§8), keep sigmoid or tanh
      for outputs that need their range.
      """)
def saturating_depth(ctx):
    limit = ctx.options.max_saturating_depth
    depth = {ctx.graph.input_name: 0}
    outputs = set(ctx.graph.outputs)
    for r in ctx.layers:
        ins = [depth[i] for i in r.node.inputs]
        d = min(ins) if r.op == "mul" else max(ins)
        if _saturating(ctx, r.node) and r.name not in outputs:
            d += 1
            if d == limit + 1:
                yield ctx.finding(r.node, f"{r.name}: {d} sigmoid/tanh layers on one path from the "
                                  f"input (max-saturating-depth {limit}): gradients vanish")
                return
        depth[r.name] = d


@rule("D005", "plain-deep-stack", Severity.WARNING,
      summary="A deep stack of weighted layers with no shortcut (residual) connection.",
      what="""
      Counts conv and dense layers in a row with no `add` or `concat` between
      them (a merge is where a shortcut joins), and reports the first layer
      where the run exceeds `max-plain-depth` (default 20). Networks with
      residual connections restart the count at every merge.
      """,
      why="""
      §7.2: "increasing network depth past a certain point was shown to
      actually decrease network performance"; residual connections let the
      gradient flow "without attenuation", which made 152 layers trainable.
      """,
      example="""
      netc: 1
      input: {shape: [16, 32, 32]}
      layers:
        - conv: {filters: 16, kernel: 3, padding: 1, activation: relu, repeat: 21}
      """,
      example_at=(4, 5),
      fixed="""
      netc: 1
      input: {shape: [16, 32, 32]}
      blocks:
        residual:
          layers:
            - conv: {filters: 16, kernel: 3, padding: 1, activation: relu}
            - conv: {filters: 16, kernel: 3, padding: 1}
            - add: {from: [input, conv2]}
            - relu
      layers:
        - residual: {repeat: 11}
      """,
      fix="""
      Add residual connections (`add: {from: [input, ...]}` inside a block), or
      make the network shallower.
      """)
def plain_deep_stack(ctx):
    limit = ctx.options.max_plain_depth
    run = {ctx.graph.input_name: 0}
    for r in ctx.layers:
        d = 0 if len(r.node.inputs) > 1 else run[r.node.inputs[0]] + (r.op in WEIGHTED)
        run[r.name] = d
        if d > limit:
            yield ctx.finding(r.node, f"{r.name}: {d} conv/dense layers in a row with no shortcut "
                              f"around them (max-plain-depth {limit})")
            return


@rule("D006", "channels-shrink-with-map", Severity.WARNING,
      summary="A convolution reduces the channels while the map also shrinks: an information bottleneck.",
      what="""
      Reports a convolution whose output has fewer channels than its input
      while its height x width is also smaller.
      """,
      why="""
      §6.3: as the map shrinks toward the output, depth grows to hold the
      features (125 x 125 x 3 becomes 5 x 5 x 384 in Figure 7); shrinking both
      at once discards information that later layers cannot recover. Networks
      that downsample double the filters at the same time (VGG, ResNet).
      """,
      example="""
      netc: 1
      input: {shape: [128, 32, 32]}
      layers:
        - conv: {filters: 64, kernel: 3, stride: 2, padding: 1, activation: relu}
      """,
      example_at=(4, 21),
      fixed="""
      netc: 1
      input: {shape: [128, 32, 32]}
      layers:
        - conv: {filters: 256, kernel: 3, stride: 2, padding: 1, activation: relu}
      """,
      fix="""
      Keep or increase the channel count when downsampling; reduce channels
      with stride-1 1x1 convolutions (bottlenecks) instead.
      """)
def channels_shrink(ctx):
    shapes = ctx.analysis.shapes()
    for r in ctx.layers:
        if r.op != "conv":
            continue
        (c, *sizes), (co, *outs) = shapes[r.node.inputs[0]], r.output_shape
        if co < c and numel(outs) < numel(sizes):
            yield ctx.finding(r.node, f"{r.name}: channels {c} -> {co} while the map shrinks "
                              f"{'x'.join(map(str, sizes))} -> {'x'.join(map(str, outs))}", "filters")


@rule("D007", "dropout-with-batchnorm", Severity.WARNING,
      summary="Dropout next to batch normalization.",
      what="""
      Reports a dropout layer whose output reaches a batchnorm (directly or
      through an activation), or that directly follows a batchnorm.
      """,
      why="""
      §8: "With batch normalization, networks can do without dropout." Dropout
      changes the variance of its output between training and inference, so
      the batchnorm statistics learned in training do not match inference
      (the "variance shift" of Li et al., 2019).
      """,
      example="""
      netc: 1
      input: {shape: [3, 32, 32]}
      layers:
        - conv: {filters: 32, kernel: 3, padding: 1}
        - dropout: {rate: 0.3}
        - batchnorm
        - relu
      """,
      example_at=(5, 5),
      fixed="""
      netc: 1
      input: {shape: [3, 32, 32]}
      layers:
        - conv: {filters: 32, kernel: 3, padding: 1}
        - batchnorm
        - relu
      """,
      fix="""
      Drop the dropout, or move it after the last batchnorm (before the
      classifier).
      """)
def dropout_with_batchnorm(ctx):
    for r in ctx.layers:
        if r.op != "dropout":
            continue
        after = follow(ctx, r.name, ACTIVATION_OPS)
        before = [ctx.graph.node(i) for i in r.node.inputs if i != ctx.graph.input_name]
        if after is not None and after.op == "batchnorm":
            yield ctx.finding(r.node, f"{r.name} feeds batchnorm {after.name}: the variance shift "
                              "between training and inference skews its statistics")
        elif before and before[0].op == "batchnorm":
            yield ctx.finding(r.node, f"{r.name} follows batchnorm {before[0].name}: with batch "
                              "normalization dropout is rarely needed")


@rule("D008", "linear-dense-stack", Severity.WARNING,
      summary="A dense layer with no nonlinearity feeds another dense layer: the two collapse into one.",
      what="""
      Reports a dense layer with no activation (fused or following) whose
      output reaches another dense layer through only dropout, batchnorm or scale.
      """,
      why="""
      §5.6: without a nonlinearity, two affine maps compose into one affine
      map, so the first layer adds parameters (§6.1) and compute but no
      expressive power; the "multiple recombination of high level features"
      of §6.3 needs the nonlinearity in between.
      """,
      example="""
      netc: 1
      input: {shape: [512]}
      layers:
        - dense: {units: 256}
        - dense: {units: 10}
      """,
      example_at=(4, 5),
      fixed="""
      netc: 1
      input: {shape: [512]}
      layers:
        - dense: {units: 256, activation: relu}
        - dense: {units: 10}
      """,
      fix="""
      Add `activation: relu` (or another nonlinearity) to the first layer, or
      merge the two layers.
      """)
def linear_dense_stack(ctx):
    for r in ctx.layers:
        if r.op != "dense" or activation_of(ctx, r.node)[0] != "none":
            continue
        nxt = follow(ctx, r.name, AFFINE)
        if nxt is not None and nxt.op == "dense":
            yield ctx.finding(r.node, f"{r.name} has no activation and feeds dense {nxt.name}: the "
                              "two affine maps compose into one",
                              "activation" if "activation" in r.node.param_spans else None)
