"""A012: the input sizes a file declares (``input: {sizes: [[h, w], ...]}``; ``[l]`` and ``[d, h, w]`` for
1-D and 3-D maps) each fit."""

from __future__ import annotations

from ...diagnostics import Diagnostic, Severity
from ...fit import dense_features, problems
from ...ops.window import axis_names
from ..rule import rule


@rule("A012", "declared-size-does-not-fit", Severity.ERROR,
      summary="A declared input size does not load, or one of its windows drops rows.",
      what="""
      A netc file may list the input sizes it is trained and served at, besides
      the one it is written at: `input: {shape: [3, 640, 640], sizes: [[320, 320],
      [640, 640], [1280, 1280]]}` (a 1-D map's sizes are `[length]`, a 3-D
      map's `[depth, height, width]`). Each is checked as if the file were linted
      with `--input C,H,W`: the network must load at that size (no E004, such as
      a concat of an upsampled map with a skip of another size), every window
      must be exact (no A001), and each dense layer must read as many features
      as at the written size, since its weights are sized there. The finding
      names the size and the first thing that does not fit, with the count of
      the others. `netc sizes FILE` lists every size that fits, per axis.
      """,
      why="""
      §3.4: the window arithmetic decides which sizes a network takes. A size
      that is not a multiple of the total stride loads in PyTorch until a merge
      fails at run time ("Sizes of tensors must match ... Got 24 and 23"), or
      floors away the border rows without a word; declaring the sizes moves the
      failure from the training run to the commit.
      """,
      example="""
      netc: 1
      input: {shape: [3, 64, 64], sizes: [[64, 64], [90, 90]]}
      layers:
        - conv: {filters: 8, kernel: 3, stride: 2, padding: 1}
        - maxpool: {kernel: 2}
      """,
      example_at=(2, 47),
      fixed="""
      netc: 1
      input: {shape: [3, 64, 64], sizes: [[64, 64], [96, 96]]}
      layers:
        - conv: {filters: 8, kernel: 3, stride: 2, padding: 1}
        - maxpool: {kernel: 2}
      """,
      fix="""
      Serve at a size that fits (`netc sizes FILE` gives the rule, such as
      `32k, k ≥ 1`, and `--range A:B` the list), or change the layers so that
      the size fits: padding that makes the windows exact, a crop or a resize
      to the skip's size before a merge.
      """)
def declared_size(ctx):
    src = ctx.graph.source
    data = getattr(src, "data", None)
    declared = (data.get("input") or {}).get("sizes") if isinstance(data, dict) else None
    if not declared:
        return
    shape = ctx.graph.input_shape
    features = dense_features(ctx.analysis)
    for i, size in enumerate(declared):
        span = src.span(("input", "sizes", i))
        text = "x".join(map(str, size))
        if len(size) != len(shape) - 1:
            want = (f"[{', '.join(axis_names(len(shape) - 1))}]" if 2 <= len(shape) <= 4
                    else "nothing: the input is a vector, with no sides")
            yield Diagnostic(f"declared size {list(size)}: a size of this input is {want}", span)
            continue
        found = problems(ctx.graph, (shape[0], *size), features)
        if found:
            more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
            yield Diagnostic(f"declared size {text} does not fit: {found[0][1]}{more}", span,
                             layer=found[0][0])
