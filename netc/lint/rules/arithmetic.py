"""A: window arithmetic (§3.2-3.5, equations 1 and 2).

    L_out = (N + P_begin + P_end - E) / S + 1,   E = D*(F-1) + 1

These rules read the ``Window`` records the shape rules computed
(``analysis.layers[i].windows``, one per spatial axis: length; height, width;
depth, height, width), each axis alike; messages name the axis.
"""

from __future__ import annotations

from fractions import Fraction

from ...diagnostics import Severity
from ...ops.window import Window, axis_names
from ..rule import rule

UNITS = {1: ("position",), 2: ("row", "column"), 3: ("slice", "row", "column")}   # what one axis holds
POOLS = ("maxpool", "avgpool")


def units(windows) -> tuple[str, ...]:
    """The word for one input line along each axis: row, column (2-D); position (1-D); slice (3-D)."""
    return UNITS[len(windows)]


def _all_of(words: tuple[str, ...]) -> str:
    """'row and column', 'slice, row and column'."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def windowed(ctx):
    """Layers with sliding windows (a transposed convolution's windows scatter: not these rules)."""
    for r in ctx.layers:
        if r.windows and isinstance(r.windows[0], Window):
            yield r


def equation(w: Window) -> str:
    """'(224 + 2 + 2 - 11)/4 + 1 = 55.25' for one axis."""
    pad = f" + {w.pad_begin} + {w.pad_end}" if w.pad_begin != w.pad_end else \
        f" + 2*{w.pad_begin}" if w.pad_begin else ""
    value = Fraction(w.size + w.padding - w.extent, w.stride) + 1
    ext = f"{w.extent}" if w.dilation == 1 else f"{w.extent} (kernel {w.kernel} dilated {w.dilation})"
    return f"({w.size}{pad} - {ext})/{w.stride} + 1 = {number(value)}"


def percent(share: Fraction) -> str:
    """A share as a percentage: exact when it terminates within two decimals (75%,
    12.5%), else rounded to one decimal and said so (about 65.4%)."""
    value = share * 100
    if (value * 100).denominator == 1:
        return f"{float(value):g}%"
    return f"about {float(value):.1f}%"


def number(value: Fraction) -> str:
    """A fraction as a decimal when it terminates (55.25), else as p/q."""
    d = value.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    return f"{float(value):g}" if d == 1 else f"{value.numerator}/{value.denominator}"


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def exact_paddings(w: Window) -> list[int]:
    """Symmetric paddings below the kernel extent, nearest the current one first
    (one below, one above), that make the division exact.

    (N + 2p - E) % S == 0 holds for p on one progression p0 + k*m (m = S, or S/2
    when S is even), found in closed form; p >= ceil((E - N) / 2) and p < E."""
    if w.pad_begin != w.pad_end:
        return []
    need = w.extent - w.size                      # 2p = need (mod S)
    if w.stride % 2 == 0:
        if need % 2:
            return []
        m, p0 = w.stride // 2, (need // 2) % (w.stride // 2)
    else:
        m, p0 = w.stride, (need * pow(2, -1, w.stride)) % w.stride if w.stride > 1 else 0
    lo, hi = max(0, -(-need // 2)), w.extent      # lo <= p < hi

    def first_from(x: int) -> int:
        return p0 + -(-(x - p0) // m) * m

    below = first_from(min(w.pad_begin, hi)) - m
    above = first_from(max(w.pad_begin + 1, lo))
    return ([below] if lo <= below < hi else []) + ([above] if above < hi else [])


def exact_sizes(w: Window) -> list[int]:
    r = (w.size + w.padding - w.extent) % w.stride
    lower, upper = w.size - r, w.size + (w.stride - r)
    return ([lower] if lower + w.padding >= w.extent and lower > 0 else []) + [upper]


def _or(items) -> str:
    items = [str(i) for i in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


@rule("A001", "inexact-window", Severity.ERROR,
      summary="The window division is not exact: input rows or columns are silently dropped.",
      what="""
      Checks equation 2 of §3.4, `(N + 2P - F)/S + 1`, for every convolution and
      pooling layer, along height and width (along the length of a 1-D map and
      the depth too of a 3-D one, each axis alike). When the division is not exact,
      the last windows stop before the end of the input and the remaining rows
      or columns are never read by this layer. The finding names the input size,
      kernel, stride and padding, how many rows or columns are dropped, and the
      nearest paddings and input sizes that make the division exact.
      A remainder that falls only on padding (nothing real is dropped) is not
      reported, nor is a layer whose stride exceeds its kernel (A003 counts
      every row it skips).
      """,
      why="""
      PyTorch, TensorFlow and ONNX all floor the division without a word, so
      border pixels are lost and the layer is not centred on its input (§3.4:
      "it is necessary to know how the parameters will affect output
      dimension"). The paper's own Figure 7 network is chosen so that every
      division is exact: (125 - 5)/2 + 1 = 61.
      """,
      example="""
      netc: 1
      input: {shape: [3, 224, 224]}
      layers:
        - conv: {filters: 64, kernel: 11, stride: 4}
      """,
      example_at=(4, 33),
      fixed="""
      netc: 1
      input: {shape: [3, 227, 227]}
      layers:
        - conv: {filters: 64, kernel: 11, stride: 4}
      """,
      fix="""
      Change the padding, kernel or stride so that `N + 2P - F` is a multiple of
      `S`, or change the input size; the message lists the nearest choices. In
      the example no symmetric padding works (224 + 2P - 11 is always odd), and
      the message suggests inputs of 223 or 227: AlexNet's 227 x 227 crop gives
      (227 - 11)/4 + 1 = 55 exactly.
      """)
def inexact_window(ctx):
    for r in windowed(ctx):
        lost = [(axis, w) for axis, w in enumerate(r.windows) if w.dropped > 0 and w.stride <= w.extent]
        if not lost:
            continue
        words, names = units(r.windows), axis_names(len(r.windows))
        both = len(lost) == len(r.windows) > 1 and all(w == lost[0][1] for _, w in lost)
        parts = []
        for axis, w in lost[:1] if both else lost:
            n = w.dropped
            if both:
                what = _all_of(words) if n == 1 else f"{n} " + _all_of(tuple(x + "s" for x in words))
                where = f"the {'x'.join([str(w.size)] * len(r.windows))} input"
                size_name = "input size"
            else:
                what = words[axis] if n == 1 else f"{n} {words[axis]}s"
                where = f"{w.size}"
                size_name = f"input {names[axis]}"
            pad = w.pad_begin if w.pad_begin == w.pad_end else f"{w.pad_begin}+{w.pad_end}"
            fixes = [f"padding {_or(p)}" for p in [exact_paddings(w)] if p]
            fixes.append(f"{size_name} {_or(exact_sizes(w))}")
            text = (f"{equation(w)} is not whole: the last {what} of {where} "
                    f"{'is' if n == 1 and not both else 'are'} never read "
                    f"(kernel {w.kernel}, stride {w.stride}, padding {pad}); exact with "
                    + " or ".join(fixes))
            parts.append(text if both or len(lost) == 1 else f"{names[axis]}: " + text)
        param = "kernel" if "kernel" in r.node.param_spans else "stride"
        yield ctx.finding(r.node, f"{r.name}: " + "; ".join(parts), param)



def _axes(text_by_axis: list[tuple[int, str]], n: int) -> str:
    """'height ...; width ...' join of the texts of some of the n axes, collapsed to one
    text when every axis of a 2- or 3-D map has the same."""
    if len(text_by_axis) == n > 1 and len({t for _, t in text_by_axis}) == 1:
        return text_by_axis[0][1]
    return "; ".join(f"{axis_names(n)[a]} {t}" for a, t in text_by_axis)


@rule("A002", "kernel-exceeds-input", Severity.WARNING,
      summary="The kernel is larger than the (unpadded) input: most of every window is padding.",
      what="""
      Reports a convolution or pooling layer whose kernel extent is larger than
      its input along some axis (height or width; length; depth), so that it only produces an output
      thanks to padding. (A kernel larger than the *padded* input gives an
      output size of zero or less, load error E004, except in ceil mode, where
      PyTorch and netc keep one window when `(N + P - F)/S > -1`.)
      """,
      why="""
      §3.1: the filter size relative to the input decides what a filter can
      detect. A 3x3 filter on a 1x1 map multiplies 8 of its 9 weights by
      padding zeros; those weights cost memory and compute (§6.1, §6.4) and
      learn nothing.
      """,
      example="""
      netc: 1
      input: {shape: [64, 2, 2]}
      layers:
        - conv: {filters: 64, kernel: 5, padding: 2}
      """,
      example_at=(4, 33),
      fixed="""
      netc: 1
      input: {shape: [64, 2, 2]}
      layers:
        - conv: {filters: 64, kernel: 1}
      """,
      fix="""
      Use a kernel no larger than the input (often 1x1 at the end of a
      network), or apply the layer earlier, where the map is larger.
      """)
def kernel_exceeds_input(ctx):
    for r in windowed(ctx):
        over = [(a, f"kernel {w.extent} > input {w.size}") for a, w in enumerate(r.windows)
                if w.extent > w.size]
        if over:
            yield ctx.finding(r.node, f"{r.name}: {_axes(over, len(r.windows))}: each window is mostly padding",
                              "kernel")


@rule("A003", "stride-exceeds-kernel", Severity.WARNING,
      summary="The stride is larger than the kernel: input pixels between windows are never seen.",
      what="""
      Reports a convolution or pooling layer whose stride is larger than its
      (dilated) kernel extent, so that the windows leave gaps: the rows and
      columns in the gaps never reach the output. The message counts them.
      """,
      why="""
      §3.3: the stride translates the filter; with S > F consecutive windows do
      not touch, and a fraction 1 - (F/S)^2 of the input is discarded, the same
      information loss as dropping pixels. ResNet's 1x1 stride-2 projection
      shortcut reads one pixel in four; later variants (ResNet-D) average-pool
      first for this reason.
      """,
      example="""
      netc: 1
      input: {shape: [64, 56, 56]}
      layers:
        - conv: {filters: 128, kernel: 1, stride: 2}
      """,
      example_at=(4, 45),
      fixed="""
      netc: 1
      input: {shape: [64, 56, 56]}
      layers:
        - avgpool: {kernel: 2}
        - conv: {filters: 128, kernel: 1}
      """,
      fix="""
      Make the kernel at least as large as the stride, or pool first (an
      average pool of size S, then a stride-1 layer), so that every input pixel
      contributes.
      """)
def stride_exceeds_kernel(ctx):
    for r in windowed(ctx):
        gaps = [(a, w) for a, w in enumerate(r.windows) if w.skipped > 0]
        if not gaps:
            continue
        read = total = 1
        for w in r.windows:
            read *= w.size - w.skipped - w.dropped
            total *= w.size
        text = " and ".join(f"{w.size - (w.size - w.skipped - w.dropped)} of {w.size} {units(r.windows)[a]}s"
                            for a, w in gaps)
        w = gaps[0][1]
        yield ctx.finding(r.node, f"{r.name}: stride {w.stride} is larger than the kernel "
                          f"{w.extent}: {text} are never read ({percent(Fraction(total - read, total))} "
                          f"of the input)", "stride")


@rule("A004", "padding-exceeds-kernel", Severity.WARNING,
      summary="The padding is at least the kernel size: border windows hold only zeros.",
      what="""
      Reports a convolution whose padding on some side is at least its kernel
      extent, so that the first or last window lies entirely in the padding (a
      1-wide kernel: A007; pooling refuses padding above half the kernel, E004).
      """,
      why="""
      §3.2: padding exists to keep the output from shrinking; P = (F - 1)/2
      keeps the size exactly. Padding of F or more adds output rows computed
      from zeros only: constant outputs that cost memory (§6.2) and compute
      (§6.4) and carry no information.
      """,
      example="""
      netc: 1
      input: {shape: [3, 32, 32]}
      layers:
        - conv: {filters: 32, kernel: 3, padding: 3}
      """,
      example_at=(4, 45),
      fixed="""
      netc: 1
      input: {shape: [3, 32, 32]}
      layers:
        - conv: {filters: 32, kernel: 3, padding: 1}
      """,
      fix="""
      Use padding (F - 1)/2 to keep the size (`padding: same`), or less to
      shrink it.
      """)
def padding_exceeds_kernel(ctx):
    for r in windowed(ctx):
        over = [(a, f"padding {max(w.pad_begin, w.pad_end)} >= kernel {w.extent}")
                for a, w in enumerate(r.windows)
                if max(w.pad_begin, w.pad_end) >= w.extent > 1]   # extent 1: A007
        if over:
            yield ctx.finding(r.node, f"{r.name}: {_axes(over, len(r.windows))}: the border windows see only padding "
                              "zeros", "padding")


@rule("A005", "ceil-mode-border", Severity.WARNING,
      summary="A ceil-mode pooling window hangs over the border of the padded input.",
      what="""
      Reports a pooling layer with `ceil_mode: true` whose last window, added by
      rounding the output size up, extends past the end of the padded input.
      That window pools over fewer values than the others.
      """,
      why="""
      §3.5: pooling summarises equal patches. A partial window at the border
      makes the last row and column differ (a max over fewer values, a mean
      whose divisor depends on `count_include_pad`), and frameworks disagree on
      the details, so exported models can differ from the trained ones.
      """,
      example="""
      netc: 1
      input: {shape: [64, 112, 112]}
      layers:
        - maxpool: {kernel: 3, stride: 2, ceil_mode: true}
      """,
      example_at=(4, 48),
      fixed="""
      netc: 1
      input: {shape: [64, 112, 112]}
      layers:
        - maxpool: {kernel: 3, stride: 2, padding: 1}
      """,
      fix="""
      Choose padding so that the division is exact, and leave `ceil_mode` off.
      """)
def ceil_mode_border(ctx):
    for r in windowed(ctx):
        if r.op not in POOLS:
            continue
        over = []
        for a, w in enumerate(r.windows):
            hang = (w.out - 1) * w.stride + w.extent - (w.size + w.padding)
            if w.ceil_mode and hang > 0:
                over.append((a, hang, f"{equation(w)}, rounded up to {w.out}"))
        if over:
            hangs = " and ".join(plural(h, units(r.windows)[a]) for a, h, _ in over)
            eqs = "; ".join(dict.fromkeys(e for _, _, e in over))
            yield ctx.finding(r.node, f"{r.name}: the last window hangs {hangs} past the padded "
                              f"input ({eqs})", "ceil_mode")


@rule("A006", "ceil-mode-disagreement", Severity.WARNING,
      summary="A ceil-mode pool whose extra window would start in the end padding: frameworks "
              "disagree on its size.",
      what="""
      Reports a pooling layer with `ceil_mode: true` where rounding
      `(N + P - F)/S + 1` up adds a last window that would start in the end
      padding. PyTorch drops that window (the last window must start inside the
      input or the left padding), and so do netc and onnxruntime 1.31; ONNX
      shape inference and other runtimes keep it, one row and column larger.
      netc follows PyTorch and builds the layer as a floor-mode pool with the end
      padding that gives PyTorch's size, which every runtime computes alike.
      """,
      why="""
      The same layer means different things in different frameworks
      (pytorch/pytorch#113074, onnx/onnx#5711, microsoft/onnxruntime#15446): an
      exported model changes shape, or fails to load, depending on who reads it.
      §3.5: the pooling windows should tile the input; here `ceil_mode` adds
      nothing in PyTorch, since its size equals floor mode's.
      """,
      example="""
      netc: 1
      input: {shape: [64, 8, 8]}
      layers:
        - maxpool: {kernel: 3, padding: 1, ceil_mode: true}
      """,
      example_at=(4, 49),
      fixed="""
      netc: 1
      input: {shape: [64, 8, 8]}
      layers:
        - maxpool: {kernel: 3, padding: 1}
      """,
      fix="""
      Leave `ceil_mode` off: floor mode gives the same size, PyTorch's, in every
      framework.
      """)
def ceil_mode_disagreement(ctx):
    for r in windowed(ctx):
        if r.op not in POOLS:
            continue
        texts = [(a, f"{equation(w)} rounds up to {w.out + 1}, but window {w.out + 1} would start "
                     f"in the end padding")
                 for a, w in enumerate(r.windows) if w.ceil_disagrees]
        if texts:
            ws = r.windows
            yield ctx.finding(r.node, f"{r.name}: ceil mode: {_axes(texts, len(ws))}: PyTorch and netc "
                              f"drop it ({'x'.join(str(w.out) for w in ws)}), ONNX shape inference keeps it "
                              f"({'x'.join(str(w.out + w.ceil_disagrees) for w in ws)}); floor mode "
                              "gives PyTorch's size everywhere", "ceil_mode")


@rule("A007", "padded-pointwise-conv", Severity.WARNING,
      summary="A 1x1 convolution with padding: its border outputs read only padding zeros.",
      what="""
      Reports a convolution whose kernel is 1 along some axis (height or width; length; depth) and which is
      padded along that axis. A 1-wide window never reaches past the padding, so
      the outer rows or columns of the output see only zeros: they hold the bias
      (or zero) whatever the input.
      """,
      why="""
      §3.2: padding lets a window centred on a border pixel see its
      neighbours; a 1x1 window has none, so the padding only adds constant
      outputs that cost memory and compute. Runtimes also disagree on such
      layers: after a `relu`, `conv {kernel: 1, stride: 2, padding: 1}` on 8x8
      gives 5x5 in PyTorch, onnxruntime and netc but 6x6 in OpenVINO 2026.4
      (docs/onnx.md).
      """,
      example="""
      netc: 1
      input: {shape: [64, 8, 8]}
      layers:
        - conv: {filters: 32, kernel: 1, padding: 1}
      """,
      example_at=(4, 45),
      fixed="""
      netc: 1
      input: {shape: [64, 8, 8]}
      layers:
        - conv: {filters: 32, kernel: 1}
      """,
      fix="""
      Drop the padding of a 1x1 convolution; pad the next layer, or use a
      larger kernel, if the size must grow.
      """)
def padded_pointwise_conv(ctx):
    for r in windowed(ctx):
        if r.op != "conv":
            continue
        over = [(a, f"kernel {w.kernel} with padding {max(w.pad_begin, w.pad_end)}")
                for a, w in enumerate(r.windows) if w.extent == 1 and w.padding]
        if over:
            yield ctx.finding(r.node, f"{r.name}: {_axes(over, len(r.windows))}: the border outputs read only padding "
                              "zeros, and runtimes disagree on the size of such a layer", "padding")


@rule("A008", "implicit-count-include-pad", Severity.WARNING,
      summary="A padded average pool that does not say `count_include_pad`: frameworks' defaults differ.",
      what="""
      Reports an `avgpool` with padding whose `count_include_pad` is not written
      (on the layer or in `defaults:`). netc and ONNX default to false (the
      mean is over the real pixels of each window), PyTorch's `AvgPool2d` to
      true (padding zeros count in the divisor). A model read from ONNX states
      it on every `AveragePool`: its `count_include_pad` attribute, or ONNX's
      default 0 (PyTorch's TorchScript exporter writes `count_include_pad=True`
      as a `Pad` before an unpadded pool), so its layers are not reported.
      """,
      why="""
      A model ported between frameworks keeps every count (shape, FLOPs,
      parameters) while its border outputs change by percents: a 3x3 corner
      window holds 4 real pixels, so its mean is 4/9 of the other convention's.
      Nothing but the outputs shows the difference. docs/conventions.md lists
      which ecosystem each netc default follows.
      """,
      example="""
      netc: 1
      input: {shape: [64, 8, 8]}
      layers:
        - avgpool: {kernel: 3, stride: 1, padding: 1}
      """,
      example_at=(4, 46),
      fixed="""
      netc: 1
      input: {shape: [64, 8, 8]}
      layers:
        - avgpool: {kernel: 3, stride: 1, padding: 1, count_include_pad: false}
      """,
      fix="""
      Write `count_include_pad: false` (ONNX, TensorFlow/Keras) or `true`
      (PyTorch's default) on the layer, or once in `defaults: {avgpool: ...}`.
      """)
def implicit_count_include_pad(ctx):
    if ctx.from_onnx:       # the node's attribute (or ONNX's default) is in its read params
        return
    for r in windowed(ctx):
        if r.op == "avgpool" and any(w.padding for w in r.windows) \
                and "count_include_pad" not in r.node.param_spans:
            yield ctx.finding(r.node, f"{r.name}: padded average pool without count_include_pad: netc "
                              "and ONNX exclude the padding from each mean, PyTorch includes it "
                              "(border outputs differ); write count_include_pad: false or true",
                              "padding")
