"""S: size, the arithmetic of §6 (parameters, activations, memory)."""

from __future__ import annotations

from ...diagnostics import Severity
from ...ops.registry import numel
from ..rule import rule

WEIGHTED = ("conv", "dense")


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%"


def _size_param(node) -> str | None:
    return {"conv": "filters", "dense": "units"}.get(node.op)


@rule("S001", "oversized-layer", Severity.WARNING,
      summary="One layer holds a large share of all parameters or activations, or exceeds a budget.",
      what="""
      Reports a layer holding more than `max-param-share` (default 0.5) of the
      network's parameters, or whose output is more than `max-activation-share`
      (default 0.6) of all activations, in networks of at least
      `min-layers-for-share` (default 3) layers with parameters; and any layer
      over `max-layer-params` (default: no budget).
      """,
      why="""
      §6.1-6.2: in the paper's Figure 7 network, the first fully connected
      layer after the last convolution holds 39,325,696 of 66,970,728
      parameters (58.7%): most of the memory, gradient and optimizer state of
      training goes to one layer, which is also the one most prone to
      overfitting (§5.4). §6.3 and §7.1 show the alternatives: more
      convolutions, or global average pooling as in GoogLeNet.
      """,
      example="""
      netc: 1
      input: {shape: [3, 32, 32]}
      layers:
        - conv: {filters: 32, kernel: 3, padding: 1, activation: relu}
        - conv: {filters: 32, kernel: 3, padding: 1, activation: relu}
        - flatten
        - dense: {units: 256, activation: relu}
        - dense: {units: 10}
      """,
      example_at=(7, 20),
      fixed="""
      netc: 1
      input: {shape: [3, 32, 32]}
      layers:
        - conv: {filters: 32, kernel: 3, padding: 1, activation: relu}
        - conv: {filters: 32, kernel: 3, padding: 1, activation: relu}
        - global_avgpool
        - dense: {units: 256, activation: relu}
        - dense: {units: 10}
      """,
      fix="""
      Shrink the map before the large layer (more stride or pooling), replace
      flatten + dense by global average pooling (§7.1), or raise the threshold
      in `[tool.netc.lint]` if the design is deliberate.
      """)
def oversized_layer(ctx):
    opts = ctx.options
    total = ctx.analysis.totals.params
    weighted = [r for r in ctx.layers if r.params > 0]
    shares = len(weighted) >= opts.min_layers_for_share
    acts = ctx.analysis.totals.activations
    for r in ctx.layers:
        param = _size_param(r.node)
        if opts.max_layer_params is not None and r.params > opts.max_layer_params:
            yield ctx.finding(r.node, f"{r.name} holds {r.params:,} parameters, over the budget of "
                              f"{opts.max_layer_params:,} (max-layer-params)", param)
        elif shares and total and r.params > opts.max_param_share * total:
            yield ctx.finding(r.node, f"{r.name} holds {r.params:,} of {total:,} parameters "
                              f"({_pct(r.params, total)}, over max-param-share "
                              f"{opts.max_param_share:g})", param)
        elif shares and acts and len(ctx.layers) >= 2 and r.activations > opts.max_activation_share * acts:
            yield ctx.finding(r.node, f"{r.name} outputs {r.activations:,} of the network's {acts:,} "
                              f"activations per sample ({_pct(r.activations, acts)}, over "
                              f"max-activation-share {opts.max_activation_share:g})", param)


@rule("S002", "dense-head-could-pool", Severity.INFO,
      summary="flatten + dense over a spatial map: a global average pool would need far fewer parameters.",
      what="""
      Reports a `flatten` of a (C, H, W) map with H x W > 1 that feeds a dense
      layer. The dense layer then needs C x H x W x units weights.
      """,
      why="""
      §7.1 and §8: GoogLeNet replaced the fully connected layers by average
      pooling over the final 7 x 7 map, avoiding most of their parameters, and
      "fully connected layers are being replaced with average pooling". §6.3
      notes the trade-off: the dense head recombines spatial features.
      """,
      example="""
      netc: 1
      input: {shape: [3, 32, 32]}
      layers:
        - conv: {filters: 64, kernel: 3, stride: 2, padding: 1, activation: relu}
        - flatten
        - dense: {units: 10}
      """,
      example_at=(5, 5),
      fixed="""
      netc: 1
      input: {shape: [3, 32, 32]}
      layers:
        - conv: {filters: 64, kernel: 3, stride: 2, padding: 1, activation: relu}
        - global_avgpool
        - dense: {units: 10}
      """,
      fix="""
      Replace `flatten` by `global_avgpool`; widen the last convolution if the
      head needs more capacity.
      """)
def dense_head_could_pool(ctx):
    shapes = ctx.analysis.shapes()
    for r in ctx.layers:
        if r.op != "flatten":
            continue
        shape = shapes[r.node.inputs[0]]
        if not 2 <= len(shape) <= 4 or numel(shape[1:]) <= 1:
            continue
        dense = [c for c in ctx.consumers.get(r.name, []) if ctx.graph.node(c).op == "dense"]
        if dense:
            units = ctx.graph.node(dense[0]).params["units"]
            c = shape[0]
            yield ctx.finding(r.node, f"{r.name} flattens a {'x'.join(map(str, shape))} map into "
                              f"{dense[0]}: {numel(shape) * units:,} weights; a global average pool "
                              f"would need {c * units:,}")


@rule("S003", "training-memory", Severity.ERROR,
      summary="Training at the configured batch does not fit the configured device memory.",
      what="""
      With `--device-memory` (or `device-memory` in the config) set, computes
      the training memory at `batch` (default 1), `dtype` and `optimizer` as
      `netc summary` does, and reports it when it exceeds the device. Off when
      no device memory is given.
      """,
      why="""
      §6.2: memory is parameters, gradients, optimizer state and every saved
      activation, times the batch. A network that does not fit fails only when
      training starts, on the machine that runs it.
      """,
      example="""
      # lint with: netc lint --device-memory 8MB
      netc: 1
      input: {shape: [3, 224, 224]}
      layers:
        - conv: {filters: 64, kernel: 3, padding: 1, activation: relu}
      """,
      example_at=(3, 8),
      fixed="""
      # lint with: netc lint --device-memory 8MB
      netc: 1
      input: {shape: [3, 56, 56]}
      layers:
        - conv: {filters: 64, kernel: 3, padding: 1, activation: relu}
      """,
      options={"device_memory": 8_000_000},
      fix="""
      Lower the batch, use a smaller dtype, reduce the input size or the
      early-layer widths (activations dominate, §6.2), or use a larger device.
      """)
def training_memory(ctx):
    opts = ctx.options
    if opts.device_memory is None:
        return
    mem = ctx.network.memory(opts.batch, opts.dtype, opts.optimizer)
    if mem.training > opts.device_memory:
        fit, _ = mem.max_batch(opts.device_memory)
        from ...diagnostics import Diagnostic

        yield Diagnostic(f"training needs {mem.training:,} bytes at batch {opts.batch} "
                         f"({opts.dtype}, {opts.optimizer}), over the device's "
                         f"{opts.device_memory:,}; the largest batch that fits is {fit}",
                         ctx.graph.input_span)
