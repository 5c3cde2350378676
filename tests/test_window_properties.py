"""Property tests of the window arithmetic (issue 9): random single conv, maxpool and
avgpool layers, against PyTorch's rules written out here as a brute-force enumeration
of window start positions (not netc's formula), and against onnxruntime running the
model netc builds.

PyTorch's rules, as enumerations along one axis (padded coordinates: the input is rows
P_begin .. P_begin + N - 1 of a padded line of L = N + P_begin + P_end rows; a window of
extent E = D*(F - 1) + 1 starting at s spans rows s .. s + E - 1; starts are 0, S, 2S...):
- floor mode keeps window i while it fits: i*S + E <= L;
- ceil mode keeps window i while the one before it, i - 1, does not reach the end
  ((i - 1)*S + E < L) and window i starts inside the input or the left padding
  (i*S < P_begin + N): pooling_output_shape in ATen's Pool.h, as a loop;
- a layer with no window is refused; pools refuse padding > kernel // 2 (ATen's
  pool2d_shape_check).
TensorFlow's `same`: ceil(N/S) outputs, total padding max((out-1)*S + E - N, 0), the odd
row at the end.
"""

import numpy as np
import pytest

from hypothesis import HealthCheck, example, given, settings, strategies as st

import netc
from netc.diagnostics import NetcError

# derandomize: the same examples on every run (CI); database=None: no .hypothesis folder
SETTINGS = dict(deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])


def windows_pytorch(n, f, s, pb, pe, d=1, ceil=False):
    """Start positions (padded coordinates) of every window PyTorch computes."""
    extent, padded = d * (f - 1) + 1, n + pb + pe
    starts, i = [], 0
    while True:
        start = i * s
        if ceil:
            keep = (i - 1) * s + extent < padded and start < pb + n
        else:
            keep = start + extent <= padded
        if not keep:
            return starts
        starts.append(start)
        i += 1


def unread_rows(n, f, s, pb, pe, d=1, ceil=False):
    """(dropped, skipped): real rows after the last window's span, and real rows before
    it that no window's span covers, found by marking every covered row."""
    extent = d * (f - 1) + 1
    starts = windows_pytorch(n, f, s, pb, pe, d, ceil)
    covered = [False] * n
    for start in starts:
        for row in range(start, start + extent):
            if 0 <= row - pb < n:
                covered[row - pb] = True
    last_end = starts[-1] + extent - pb          # first real row past the last window
    dropped = sum(1 for r in range(n) if r >= last_end)
    skipped = sum(1 for r in range(n) if r < last_end and not covered[r])
    return dropped, skipped


def tf_same(n, f, s, d=1):
    extent = d * (f - 1) + 1
    out = -(-n // s)
    total = max((out - 1) * s + extent - n, 0)
    return total // 2, total - total // 2


# -- random layers ---------------------------------------------------------------

sizes = st.integers(1, 24)
kernels = st.integers(1, 7)
strides = st.integers(1, 6)


@st.composite
def layers(draw, ops=("conv", "maxpool", "avgpool"), dims=(2,)):
    """(op, params written in YAML, input (C, *spatial), per-axis args for the enumeration),
    on a map of one of ``dims`` spatial axes (1: length; 2: height, width; 3: depth too)."""
    op = draw(st.sampled_from(ops))
    n = dims[0] if len(dims) == 1 else draw(st.sampled_from(dims))
    axes_sizes = sizes if n < 3 else st.integers(1, 9)            # 3-D: small volumes
    size = [draw(axes_sizes) for _ in range(n)]
    kernel = [draw(kernels) for _ in range(n)]
    stride = [draw(strides) for _ in range(n)]
    same = draw(st.booleans()) and draw(st.booleans())      # a quarter of the layers
    pad = [draw(st.integers(0, 4)) for _ in range(n)]
    if op == "conv":
        dilation = [draw(st.integers(1, 3)) for _ in range(n)]
        ceil = False
        yaml = f"conv: {{filters: 2, kernel: {kernel}, stride: {stride}, dilation: {dilation}"
    else:
        dilation = [1] * n
        ceil = draw(st.booleans())
        yaml = f"{op}: {{kernel: {kernel}, stride: {stride}, ceil_mode: {str(ceil).lower()}"
        if op == "avgpool":
            yaml += f", count_include_pad: {str(draw(st.booleans())).lower()}"
    if same:
        pads = [tf_same(m, k, s, d) for m, k, s, d in zip(size, kernel, stride, dilation)]
        yaml += ", padding: same}"
    else:
        pads = [(p, p) for p in pad]
        yaml += f", padding: {pad}}}"
    axes = [(m, k, s, pb, pe, d, ceil) for m, k, s, (pb, pe), d in zip(size, kernel, stride, pads, dilation)]
    return op, yaml, (2, *size), axes


def load(yaml, shape):
    text = f"netc: 1\nname: t\ninput: {{shape: {list(shape)}}}\nlayers:\n  - {yaml}\n"
    try:
        return netc.loads(text, "t.yaml")
    except NetcError as e:
        codes = {d.code for d in e.diagnostics}
        assert codes == {"E004"}, str(e)     # refused for its shape, nothing else
        return None


def pytorch_size(op, axes):
    """PyTorch's output (H, W) (one size per axis), or None where PyTorch refuses the layer."""
    out = []
    for n, f, s, pb, pe, d, ceil in axes:
        if op != "conv" and max(pb, pe) > f // 2:
            return None
        count = len(windows_pytorch(n, f, s, pb, pe, d, ceil))
        if count < 1:
            return None
        out.append(count)
    return tuple(out)


@settings(max_examples=400, **SETTINGS)
@given(layers())
def test_output_size_is_pytorchs(layer):
    op, yaml, shape, axes = layer
    net = load(yaml, shape)
    want = pytorch_size(op, axes)
    got = None if net is None else net.layers[-1].output_shape[1:]
    assert got == want, yaml


@settings(max_examples=300, **SETTINGS)
@given(layers())
def test_same_padding_is_tensorflows(layer):
    op, yaml, shape, axes = layer
    if "same" not in yaml:
        return
    net = load(yaml, shape)
    assert net is not None, yaml                 # same always fits, pools included
    for (n, _, s, pb, pe, *_), win in zip(axes, net.layers[-1].windows):
        assert (win.pad_begin, win.pad_end, win.out) == (pb, pe, -(-n // s)), yaml


@settings(max_examples=300, **SETTINGS)
@given(layers())
@example(("conv", "conv: {filters: 2, kernel: 1, stride: 5, padding: [2, 0]}", (2, 1, 1),
          [(1, 1, 5, 2, 2, 1, False), (1, 1, 1, 0, 0, 1, False)]))   # the one window is padding
def test_dropped_and_skipped_rows(layer):
    op, yaml, shape, axes = layer
    net = load(yaml, shape)
    if net is None:
        return
    for args, win in zip(axes, net.layers[-1].windows):
        assert (win.dropped, win.skipped) == unread_rows(*args), (yaml, args)


@settings(max_examples=300, **SETTINGS)
@given(layers(ops=("maxpool", "avgpool")))
def test_ceil_mode_disagreement_flag(layer):
    """Window.ceil_disagrees: the plain ceil formula of ONNX shape inference keeps one
    window more than PyTorch's enumeration."""
    op, yaml, shape, axes = layer
    net = load(yaml, shape)
    if net is None:
        return
    for (n, f, s, pb, pe, d, ceil), win in zip(axes, net.layers[-1].windows):
        span = n + pb + pe - d * (f - 1) - 1
        onnx_inference = -(-span // s) + 1 if ceil else span // s + 1
        assert win.ceil_disagrees == (onnx_inference != win.out), yaml


@settings(max_examples=30, **SETTINGS)
@given(layers())
def test_onnxruntime_agrees_on_every_accepted_layer(layer):
    from netc.onnx.build import build_model
    from onnx_reference import run

    op, yaml, shape, axes = layer
    net = load(yaml, shape)
    if net is None:
        return
    model = build_model(net)        # ONNX shape inference must agree too (else E007)
    [y] = run(model, np.ones((1, *shape), np.float32))
    assert y.shape[1:] == net.layers[-1].output_shape, yaml
    assert np.isfinite(y).all(), yaml


# -- 1-D and 3-D maps: eq. 2 per axis, the same enumeration ----------------------

@settings(max_examples=300, **SETTINGS)
@given(layers(dims=(1, 3)))
def test_output_size_is_pytorchs_in_1d_and_3d(layer):
    """Conv1d/Conv3d, MaxPool1d/3d, AvgPool1d/3d: PyTorch's size on every axis."""
    op, yaml, shape, axes = layer
    net = load(yaml, shape)
    want = pytorch_size(op, axes)
    got = None if net is None else net.layers[-1].output_shape[1:]
    assert got == want, yaml


@settings(max_examples=200, **SETTINGS)
@given(layers(dims=(1, 3)))
def test_same_padding_dropped_and_skipped_rows_in_1d_and_3d(layer):
    op, yaml, shape, axes = layer
    net = load(yaml, shape)
    if net is None:
        return
    for (n, f, s, pb, pe, d, ceil), win in zip(axes, net.layers[-1].windows):
        assert (win.pad_begin, win.pad_end) == (pb, pe), yaml
        assert (win.dropped, win.skipped) == unread_rows(n, f, s, pb, pe, d, ceil), yaml
        if "same" in yaml:
            assert win.out == -(-n // s), yaml


@settings(max_examples=25, **SETTINGS)
@given(layers(dims=(1, 3)))
def test_onnxruntime_agrees_in_1d_and_3d(layer):
    from netc.onnx.build import build_model
    from onnx_reference import run

    op, yaml, shape, axes = layer
    net = load(yaml, shape)
    if net is None:
        return
    model = build_model(net)
    [y] = run(model, np.ones((1, *shape), np.float32))
    assert y.shape[1:] == net.layers[-1].output_shape, yaml
    assert np.isfinite(y).all(), yaml


# -- the enumeration itself, on cases worked out by hand ---------------------------

@pytest.mark.parametrize("args, starts", [
    ((5, 3, 1, 0, 0), [0, 1, 2]),                         # the paper's Figure 3
    ((5, 2, 3, 1, 1, 1, True), [0, 3]),                   # a 3rd would start at 6 = P_begin + N
    ((8, 3, 3, 1, 1, 1, True), [0, 3, 6]),                # a 4th would start at 9
    ((6, 3, 2, 1, 1, 1, True), [0, 2, 4, 6]),             # the 4th starts at 6 < 7 and overhangs
    ((1, 4, 4, 0, 0, 1, True), [0]),                      # kernel past the padded input: one window
    ((1, 4, 4, 0, 0), []),                                # ... none in floor mode
    ((1, 4, 1, 0, 0, 1, True), []),                       # (1 - 4)/1 + 1 = -2 in ceil mode too
    ((7, 3, 1, 0, 0, 2), [0, 1, 2]),                      # extent 5
])
def test_enumeration_by_hand(args, starts):
    assert windows_pytorch(*args) == starts


def test_unread_rows_by_hand():
    assert unread_rows(10, 3, 4, 0, 0) == (3, 1)          # windows [0,3) [4,7): row 3 skipped, 7-9 dropped
    assert unread_rows(224, 11, 4, 0, 0) == (1, 0)        # AlexNet at 224
    assert unread_rows(224, 7, 2, 3, 3) == (0, 0)         # ResNet's stem: only padding is left
    assert unread_rows(1, 1, 5, 2, 2) == (1, 0)           # the only window reads padding: 1 row, not 2
