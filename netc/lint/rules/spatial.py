"""A: window arithmetic of the ops that resize: adaptive pooling and transposed
convolution. ``adaptive_windows`` is PyTorch's rule
[floor(i*N/out), ceil((i+1)*N/out)); a transposed convolution adds each input's
kernel window into the output, windows S apart.
"""

from __future__ import annotations

from ...diagnostics import Severity
from ...ops.adaptive import adaptive_windows
from ...ops.window import axis_names
from ..rule import rule
from .arithmetic import _all_of, _or, units

ADAPTIVE = ("adaptive_avgpool", "adaptive_maxpool")


def _divisors_near(n: int, out: int) -> list[int]:
    """The divisors of n nearest ``out``: the largest below it and the smallest above."""
    below = [d for d in range(out - 1, 0, -1) if n % d == 0][:1]
    above = [d for d in range(out + 1, n + 1) if n % d == 0][:1]
    return below + above


@rule("A010", "unequal-adaptive-windows", Severity.WARNING,
      summary="Adaptive pooling whose output size does not divide the input: unequal, overlapping windows.",
      what="""
      Reports an `adaptive_avgpool` or `adaptive_maxpool` layer whose output
      size does not divide its input size along some axis (height or width;
      the length of a 1-D map; the depth of a 3-D one). PyTorch's
      window i spans rows `floor(i*N/out)` to `ceil((i+1)*N/out)`, so the
      windows then differ in size and overlap. The message gives the window
      sizes, how many windows share a row, and the input sizes and output sizes
      that make every window equal.
      """,
      why="""
      §3.5: pooling summarises equal, regularly spaced patches. Unequal
      windows weigh some input rows twice and make the layer depend on where a
      feature lies, so the same network behaves differently at another input
      size (VGG's `AdaptiveAvgPool2d(7)` is exact at 224 x 224, where the map is
      7 x 7, and not at 320 x 320, where it is 10 x 10). Exporters and
      accelerators support only the equal case as one pooling op: PyTorch's
      ONNX export refuses the other, and netc lowers it to a decomposition.
      """,
      example="""
      netc: 1
      input: {shape: [512, 10, 10]}
      layers:
        - adaptive_avgpool: {size: 7}
      """,
      example_at=(4, 30),
      fixed="""
      netc: 1
      input: {shape: [512, 14, 14]}
      layers:
        - adaptive_avgpool: {size: 7}
      """,
      fix="""
      Choose an input size that is a multiple of the output size (here 14 x 14,
      or 7 x 7), or an output size that divides the input (5 or 10 for a 10 x 10
      map), or a global pool.
      """)
def unequal_adaptive_windows(ctx):
    shapes = ctx.analysis.shapes()
    for r in ctx.layers:
        if r.op not in ADAPTIVE:
            continue
        sizes = shapes[r.node.inputs[0]][1:]
        size = r.output_shape[1:]
        texts = []
        for axis, (n, out) in enumerate(zip(sizes, size)):
            if n % out:
                texts.append((axis, _unequal(n, out)))
        if len(texts) == len(sizes) > 1 and len(set(sizes)) == 1 and len(set(size)) == 1:
            message = texts[0][1]
        else:
            message = "; ".join(f"{axis_names(len(sizes))[a]}: {t}" for a, t in texts)
        if texts:
            yield ctx.finding(r.node, f"{r.name}: {message}", "size")


def _unequal(n: int, out: int) -> str:
    windows = adaptive_windows(n, out)
    sizes = sorted({e - s for s, e in windows})
    overlaps = sum(1 for (_, end), (start, _) in zip(windows, windows[1:]) if start < end)
    inputs = sorted({out * (n // out), out * -(-n // out)} - {0})
    return (f"{out} windows over {n} have sizes {_or(sizes)}"
            + (f", {overlaps} neighbouring pairs overlap" if overlaps else "")
            + f"; equal with an input of {_or(inputs)} or an output size of {_or(_divisors_near(n, out))}")


@rule("A011", "uneven-transposed-overlap", Severity.WARNING,
      summary="A transposed convolution whose kernel is not a multiple of its stride: checkerboard artifacts.",
      what="""
      Reports a `conv_transpose` layer whose scattered windows overlap unevenly:
      with kernel F, dilation D and stride S, output rows receive different
      numbers of kernel taps (for D = 1, whenever S does not divide F). The
      message gives the numbers of taps the output rows alternate between.
      """,
      why="""
      A transposed convolution adds each input pixel's kernel window into the
      output, windows S apart (§3.3's stride, run backwards). When F is not a
      multiple of S, some output rows sum more windows than their neighbours,
      and the output shows a periodic checkerboard pattern from the start of
      training (Odena, Dumoulin and Olah, "Deconvolution and Checkerboard
      Artifacts", Distill 2016). DCGAN's 4x4 stride-2 and U-Net's 2x2 stride-2
      layers divide evenly.
      """,
      example="""
      netc: 1
      input: {shape: [64, 16, 16]}
      layers:
        - conv_transpose: {filters: 32, kernel: 3, stride: 2, padding: 1, output_padding: 1}
      """,
      example_at=(4, 43),
      fixed="""
      netc: 1
      input: {shape: [64, 16, 16]}
      layers:
        - conv_transpose: {filters: 32, kernel: 4, stride: 2, padding: 1}
      """,
      fix="""
      Use a kernel that is a multiple of the stride (4x4 for stride 2), or
      upsample (nearest or bilinear) and then apply a stride-1 convolution.
      """)
def uneven_transposed_overlap(ctx):
    for r in ctx.layers:
        if r.op != "conv_transpose":
            continue
        uneven = [(a, w, _taps(w)) for a, w in enumerate(r.windows) if len(_taps(w)) > 1]
        texts = [(f"kernel {w.kernel}" + (f" (dilation {w.dilation})" if w.dilation > 1 else "")
                  + f" with stride {w.stride}", _or(taps)) for _, w, taps in uneven]
        if not texts:
            continue
        words = units(r.windows)
        if len(texts) == len(words) > 1 and len(set(texts)) == 1:
            plural = _all_of(tuple(w + "s" for w in words))
            message = f"{texts[0][0]}: output {plural} receive {texts[0][1]} taps"
        else:
            message = "; ".join(f"{what}: output {words[a]}s receive {n} taps"
                                for (a, _, _), (what, n) in zip(uneven, texts))
        yield ctx.finding(r.node, f"{r.name}: {message} (checkerboard artifacts)", "kernel")


def _taps(w) -> list[int]:
    """The distinct numbers of kernel taps that land on an output row: tap k of input i
    lands on i*S + k*D, so rows of residue r mod S receive #{k : k*D = r mod S}."""
    taps = [0] * w.stride
    for k in range(w.kernel):
        taps[k * w.dilation % w.stride] += 1
    return sorted(set(taps))
