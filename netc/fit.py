"""Whether a network fits one input size: it loads (no E004) and every window is exact
(no A001), and each dense layer reads as many features as at the file's own size
(its weights were sized there). ``netc sizes`` and the declared-sizes rule (A012)
ask this of a concrete size; ``netc/sizes.py`` answers it for every size at once.

The graph is analyzed again at the new input shape: its layers do not change with
the input size, except in a netc file whose expressions read a side
(``in.height``), which is expanded again with the overrides it was expanded with.
"""

from __future__ import annotations

import dataclasses

from .analysis import Analysis, analyze
from .diagnostics import NetcError
from .graph import Graph
from .ops.window import Window, axis_names


def drops_rows(w) -> bool:
    """A001's test: a sliding window (not a transposed one) whose last windows leave
    real input rows unread, with a stride no larger than its kernel extent."""
    return isinstance(w, Window) and w.dropped > 0 and w.stride <= w.extent


def _all_of(names) -> str:
    """'height and width', 'depth, height and width'."""
    return ", ".join(names[:-1]) + " and " + names[-1]


def dense_features(analysis: Analysis) -> dict[str, int]:
    """The features each dense layer reads: what its weights were sized for."""
    shapes = analysis.shapes()
    return {r.name: shapes[r.node.inputs[0]][-1] for r in analysis.layers if r.op == "dense"}


def at_size(graph: Graph, shape: tuple) -> Graph:
    """The graph at another input shape (expanded again if an expression read a side)."""
    if graph.sides_read and graph.source is not None and getattr(graph.source, "text", ""):
        from .expand import expand

        return expand(graph.source, graph.params_given or None, tuple(shape))
    g = dataclasses.replace(graph, input_shape=tuple(shape))
    g.__dict__.pop("_by_name", None)
    return g


def problems(graph: Graph, shape: tuple, features: dict[str, int] | None = None,
             graph_at=None) -> list[tuple[str | None, str]]:
    """What keeps ``graph`` from fitting the input ``shape``, as (layer, message) pairs,
    in layer order; [] when it fits. ``features``: each dense layer's input features
    at the file's size (``dense_features``); None: not checked. ``graph_at(shape)``: the
    graph at another size where it is not ``at_size``'s (an ONNX model with a dynamic
    input, read anew at each size); a NetcError it raises is a size that does not load."""
    try:
        analysis = analyze((graph_at or (lambda s: at_size(graph, s)))(shape))
    except NetcError as e:
        return [(d.layer, d.message) for d in e.diagnostics]
    out = []
    for r in analysis.layers:
        names = axis_names(len(r.windows)) if 1 <= len(r.windows or ()) <= 3 else ()
        lost = [(names[axis] if names else f"axis {axis + 1}", w)
                for axis, w in enumerate(r.windows or ()) if drops_rows(w)]
        if len(lost) == len(names) > 1 and all(w == lost[0][1] for _, w in lost):
            lost = [(_all_of(names), lost[0][1])]
        for where, w in lost:
            rows = "rows" if w.dropped > 1 else "row"
            out.append((r.name, f"{r.name}: {where}: ({w.size} + {w.padding} - {w.extent})/{w.stride} + 1 "
                                f"is not whole: the last {w.dropped} {rows} of {w.size} "
                                f"{'are' if w.dropped > 1 else 'is'} never read (A001)"))
    for name, n in dense_features(analysis).items():
        want = (features or {}).get(name)
        if want is not None and n != want:
            out.append((name, f"{name}: reads {n:,} features; its weights take {want:,} (the file's size)"))
    return out
