"""netc sizes: the derived sizes equal a brute-force sweep of `netc lint --input` (in
process: netc.load at each size, then A001's test on every window, and each dense layer
reading the features of the file's size), for the networks of the issue and for small
networks that exercise each op's closed form."""

import json
import textwrap

import pytest

import netc
from conftest import ROOT
from netc.diagnostics import NetcError
from netc.fit import dense_features
from netc.lint import RULES, Options
from netc.lint.rule import Context
from netc.sizes import Rule, SizesError, axis_sizes, describe, sizes, _Class


def _graph(path):
    """The graph as netc sizes reads it, also when the file's own size does not load."""
    from netc.expand import expand
    from netc.schema import validate
    from netc.source import read_file

    try:
        return netc.load(path).graph
    except NetcError:
        src = read_file(path)
        validate(src)
        return expand(src)


def fits(path, shape, features) -> bool:
    """The reference: what `netc lint --input C,H,W` finds (no load error, no A001), and
    the dense layers' weights as sized at the file's own size."""
    try:
        net = netc.load(path, input_shape=shape)
    except NetcError:
        return False
    if any(True for _ in RULES["A001"].check(Context(net, Options()))):
        return False
    return all(features.get(k) == n for k, n in dense_features(net.analysis).items())


def sweep(path, lo, hi):
    """Per spatial axis (1, 2 or 3 of them), the sizes of [lo, hi] that fit, the other axes
    at the file's size."""
    g = _graph(path)
    try:
        features = dense_features(netc.load(path).analysis)
    except NetcError:
        features = {}
    shape = g.input_shape

    def at(axis, n):
        return (*shape[:1 + axis], n, *shape[2 + axis:])

    return [[n for n in range(lo, hi + 1) if fits(path, at(axis, n), features)]
            for axis in range(len(shape) - 1)]


def derived(path, lo, hi):
    return [a.exact for a in sizes(_graph(path), (lo, hi)).axes]


ZOO = {"unet2015": ROOT / "tests/data/unet2015.yaml", "yolov8": ROOT / "examples/yolov8.yaml",
       "yolo11n": ROOT / "examples/yolo11n.yaml",
       "resnet50": ROOT / "examples/resnet50.yaml", "efficientnet_b0": ROOT / "examples/efficientnet_b0.yaml",
       "vgg16": ROOT / "examples/vgg16.yaml", "alexnet": ROOT / "examples/alexnet.yaml",
       "lenet5": ROOT / "examples/lenet5.yaml"}

# (lo, hi) each: a few dozen sizes around what matters (the file's size, the smallest)
FAST = {"unet2015": (180, 210), "yolov8": (20, 70), "yolo11n": (20, 40), "resnet50": (1, 24), "efficientnet_b0": (1, 20),
        "vgg16": (215, 232), "alexnet": (218, 228), "lenet5": (26, 38)}


@pytest.mark.parametrize("name", sorted(FAST))
def test_sizes_equal_a_sweep_of_lint_over_a_small_range(name):
    lo, hi = FAST[name]
    assert derived(ZOO[name], lo, hi) == sweep(ZOO[name], lo, hi)


SLOW = {"unet2015": (1, 700), "yolov8": (1, 330), "yolo11n": (1, 200), "resnet50": (1, 260), "efficientnet_b0": (1, 260),
        "vgg16": (1, 300), "lenet5": (1, 100)}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SLOW))
def test_sizes_equal_a_sweep_of_lint_over_a_wide_range(name):
    lo, hi = SLOW[name]
    assert derived(ZOO[name], lo, hi) == sweep(ZOO[name], lo, hi)


def test_the_rules_of_the_issue_networks():
    rules = {name: [a.rule.text() for a in sizes(_graph(path)).axes] for name, path in ZOO.items()}
    assert rules["unet2015"] == ["16k + 12, k ≥ 11"] * 2
    assert rules["yolov8"] == ["32k − 7 … 32k, k ≥ 1"] * 2     # the Detect head's decode included
    assert rules["yolo11n"] == ["32k − 7 … 32k, k ≥ 1"] * 2    # its attention viewed back to a map
    assert rules["resnet50"] == ["every size"] * 2
    assert rules["vgg16"] == ["224 only"] * 2
    assert rules["lenet5"] == ["32 only"] * 2
    assert rules["alexnet"] == ["223, 224 and 225"] * 2      # one flatten size, three inputs
    unet = sizes(_graph(ZOO["unet2015"])).axes[0]
    assert (unet.min, unet.stride, unet.stride_layer) == (188, 16, "pool4")
    for name in ("yolov8", "yolo11n"):      # closed forms through the views: nothing scanned
        a = sizes(_graph(ZOO[name])).axes[0]
        assert (a.scanned, a.within, a.min, a.stride, a.stride_layer) == ({}, None, 25, 32, "down5.conv")


# small networks, each exercising closed forms: (file text, range)
NETS = {
    "ceil": ("""
        input: {shape: [3, 65, 49]}
        layers:
          - conv: {filters: 8, kernel: 3, stride: 2}
          - maxpool: {kernel: 3, stride: 2, ceil_mode: true}
          - maxpool: {kernel: 2, stride: 2, padding: 1, ceil_mode: true}
          - conv: {filters: 8, kernel: 3, stride: 3, padding: 1}
        """, (1, 160)),
    "ceil_padded": ("""
        input: {shape: [3, 64, 64]}
        layers:
          - maxpool: {kernel: 3, stride: 2, padding: 1, ceil_mode: true}
          - avgpool: {kernel: 5, stride: 3, padding: 2, ceil_mode: true}
          - maxpool: {kernel: 1, stride: 2, ceil_mode: true}
          - conv: {filters: 8, kernel: 3, stride: 2}
        """, (1, 160)),
    "same": ("""
        input: {shape: [3, 61, 61]}
        layers:
          - conv: {filters: 8, kernel: 5, stride: 3, padding: same}
          - maxpool: {kernel: 3, stride: 2, padding: same}
          - conv: {filters: 8, kernel: 2, stride: 2, dilation: 2}
          - avgpool: {kernel: 2, stride: 3}
        """, (1, 160)),
    "up_down_merge": ("""
        input: {shape: [3, 65, 65]}
        layers:
          - conv: {name: a, filters: 8, kernel: 3, stride: 2, padding: 1}
          - conv: {name: b, filters: 8, kernel: 3, stride: 2, padding: 1}
          - upsample: {name: u, scale: 2}
          - concat: {from: [a, u]}
          - conv: {name: c, filters: 8, kernel: 4, stride: 3, padding: 1}
          - conv_transpose: {name: t, filters: 8, kernel: 4, stride: 3, padding: 1, output_padding: 1}
          - crop: {from: [a, t]}
          - add: {from: [crop1, a]}
        """, (1, 200)),
    "scales": ("""
        input: {shape: [3, 65, 65]}
        layers:
          - conv: {name: a, filters: 8, kernel: 3, stride: 2}
          - upsample: {name: u, scale: [1.5, 0.5]}
          - conv: {filters: 8, kernel: 3}
          - upsample: {size: [20, 30]}
          - conv: {name: d, filters: 8, kernel: 2, stride: 2}
          - upsample: {name: r, from: [d, a], mode: bilinear}
        """, (1, 160)),
    "scanned_scale": ("""
        input: {shape: [3, 65, 65]}
        layers:
          - conv: {name: a, filters: 8, kernel: 3, stride: 2}
          - upsample: {name: u, scale: 0.3}
          - conv: {filters: 8, kernel: 3, stride: 2}
        """, (1, 120)),
    "adaptive_dense": ("""
        input: {shape: [3, 65, 65]}
        layers:
          - conv: {name: a, filters: 8, kernel: 3, stride: 2}
          - adaptive_avgpool: {size: [5, 7]}
          - conv: {filters: 8, kernel: 3}
          - flatten
          - dense: {units: 10}
        """, (1, 160)),
    "pads_crops": ("""
        input: {shape: [3, 28, 31]}
        layers:
          - pad: {padding: [3, 1, 2, 0], mode: reflect}
          - conv: {filters: 8, kernel: 4, stride: 4}
          - crop: {size: [5, 6]}
          - conv: {filters: 8, kernel: 3, stride: 2}
        """, (1, 120)),
    "squeeze_excite": ("""
        input: {shape: [3, 65, 65]}
        layers:
          - conv: {name: a, filters: 8, kernel: 3, stride: 2}
          - global_avgpool: {keepdims: true}
          - conv: {name: gate, filters: 8, kernel: 1}
          - mul: {from: [a, gate]}
          - maxpool: {name: m, kernel: 2}
          - global_avgpool: {name: g}
          - add: {from: [m, g]}
        """, (1, 160)),
    "broadcast_at_one": ("""
        input: {shape: [3, 1, 1]}
        layers:
          - conv: {name: a, filters: 8, kernel: 3, stride: 2, padding: 1}
          - conv: {name: b, filters: 8, kernel: 3, stride: 3, padding: 1}
          - add: {from: [a, b]}
        """, (1, 60)),
    "tensor_axes": ("""
        input: {shape: [3, 32, 32]}
        layers:
          - conv: {name: a, filters: 8, kernel: 3, stride: 2, padding: 1}
          - slice: {name: s, axis: 2, start: 1, step: 2}
          - concat: {name: j, from: [s, s], axis: 3}
          - slice: {axis: 3, start: 2, end: 30}
          - conv: {filters: 8, kernel: 2, stride: 2}
          - pad: {padding: 4, mode: circular}
          - maxpool: {kernel: 2}
        """, (1, 100)),
    "view_head": ("""
        input: {shape: [3, 64, 48]}
        layers:
          - conv: {name: p1, filters: 8, kernel: 3, stride: 2, padding: 1}
          - conv: {name: p2, filters: 8, kernel: 3, stride: 2, padding: 1}
          - conv: {name: p3, filters: 8, kernel: 3, stride: 2, padding: 1}
          - reshape: {name: v1, from: p1, shape: [8, -1]}
          - reshape: {name: v2, from: p2, shape: [8, -1]}
          - reshape: {name: v3, from: p3, shape: [8, -1]}
          - concat: {name: all, from: [v1, v2, v3], axis: 2}
          - reshape: {name: bins, shape: [2, 4, -1]}
          - permute: {name: t, dims: [0, 2, 1, 3]}
          - softmax: {name: sm, axis: 1}
          - conv: {name: dfl, filters: 1, kernel: 1}
          - reshape: {name: dist, shape: [2, -1]}
          - sub: {name: x1, by_shape: [2, -1], by_index: 0}
          - add: {name: x2, from: dist, by_shape: [2, -1]}
          - add: {name: s, from: [x1, x2]}
          - div: {name: c, by: 2}
          - mul: {name: px, by_shape: [1, -1]}
          - sigmoid: {name: pr, from: all}
          - concat: {from: [px, pr]}
        """, (1, 80)),
    "view_divides": ("""
        input: {shape: [3, 48, 32]}
        layers:
          - conv: {name: a, filters: 8, kernel: 3, stride: 2, padding: 1}
          - reshape: {shape: [3, -1]}
          - mul: {by_shape: [3, -1]}
          - reshape: {name: back, from: [mul1, a]}
          - conv: {filters: 4, kernel: 2, stride: 2}
        """, (1, 80)),
    "attention_view_back": ("""
        input: {shape: [3, 32, 20]}
        layers:
          - conv: {name: a, filters: 16, kernel: 3, stride: 2, padding: 1}
          - conv: {name: b, filters: 8, kernel: 1}
          - reshape: {name: view, from: a, shape: [2, 8, -1]}
          - slice: {name: q, end: 2, axis: 2}
          - slice: {name: k, start: 2, end: 4, axis: 2, from: view}
          - slice: {name: v, start: 4, axis: 2, from: view}
          - mul: {name: qs, from: q, by: 0.5}
          - permute: {name: qt, dims: [0, 1, 3, 2]}
          - matmul: {name: sc, from: [qt, k]}
          - softmax: {name: at, axis: 3}
          - permute: {name: att, dims: [0, 1, 3, 2]}
          - matmul: {name: mix, from: [v, att]}
          - reshape: {name: out, from: [mix, b]}
          - add: {from: [out, b]}
          - maxpool: {kernel: 2}
        """, (1, 60)),
    "view_constants": ("""
        input: {shape: [3, 5, 1]}
        layers:
          - conv: {name: a, filters: 8, kernel: 1}
          - reshape: {shape: [8, -1]}
          - add: {by_shape: [8, -1]}
          - mul: {name: pin, by_shape: [1, 5]}
          - exp: {from: pin}
          - reduce_mean: {axes: [2], keepdims: true}
        """, (1, 30)),
    "own_size_fails": ("""
        input: {shape: [3, 66, 66]}
        layers:
          - conv: {name: a, filters: 8, kernel: 2, stride: 2}
          - maxpool: {kernel: 2}
          - upsample: {scale: 2}
          - concat: {from: [a, upsample1]}
        """, (1, 100)),
}


def _write(tmp_path, name, body):
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"netc: 1\nname: {name}\n" + textwrap.dedent(body).lstrip())
    return path


@pytest.mark.parametrize("name", sorted(NETS))
def test_each_closed_form_equals_the_sweep(tmp_path, name):
    body, (lo, hi) = NETS[name]
    path = _write(tmp_path, name, body)
    assert derived(path, lo, hi) == sweep(path, lo, hi)


def test_slices_and_concats_on_a_spatial_axis_and_circular_pads(tmp_path):
    """A slice or concat of a side (not the channels) is that side's closed form, with its
    step; a circular pad needs the side at least as large as the padding (PyTorch's rule)."""
    path = _write(tmp_path, "axes", NETS["tensor_axes"][0])
    height, width = sizes(_graph(path)).axes
    assert (height.rule.text(), height.stride) == ("16k − 1 … 16k + 2, k ≥ 2", 16)
    assert (width.rule.text(), width.min) == ("every size from 29", 29)
    path = _write(tmp_path, "circular", """
        input: {shape: [3, 32, 32]}
        layers:
          - conv: {filters: 8, kernel: 4, stride: 4}
          - pad: {padding: 3, mode: circular}
        """)
    assert sizes(_graph(path)).axes[0].rule.text() == "4k, k ≥ 3"


def test_views_and_tensor_ops_have_closed_forms(tmp_path):
    """A reshape ends the spatial axes: its element count is affine in the size (one axis
    varies), so a view of each level, their concat, a DFL-like transpose, softmax and 1x1
    conv, and constants whose by_shape -1 follows the size take every size; a -1 keeps the
    sizes where the other target sizes divide the count; a view back to a map (attention)
    restores its axes; a constant of fixed size pins the side. Nothing is scanned."""
    rules = {}
    for name in ("view_head", "view_divides", "attention_view_back", "view_constants"):
        r = sizes(_graph(_write(tmp_path, name, NETS[name][0])))
        assert all(not a.scanned and a.within is None for a in r.axes), name
        rules[name] = [a.rule.text() for a in r.axes]
    assert rules["view_head"] == ["every size", "every size"]
    assert rules["view_divides"] == ["12k − 1 … 12k, k ≥ 1", "4k − 1 … 4k, k ≥ 1"]   # 8·h·16 by 3: h by 3
    assert rules["attention_view_back"] == ["4k − 1 … 4k, k ≥ 1"] * 2
    assert rules["view_constants"] == ["5 only", "1 only"]     # by_shape [1, 5]; at 1 the -1 has no size


def test_a_scale_with_no_small_fraction_is_scanned_and_said_so(tmp_path):
    path = _write(tmp_path, "s", NETS["scanned_scale"][0])
    a = sizes(_graph(path), (1, 120)).axes[0]
    assert list(a.scanned) == ["u"] and a.within == (1, 120)


def test_a_file_whose_own_size_does_not_fit_is_answered(tmp_path):
    path = _write(tmp_path, "u", NETS["own_size_fails"][0])
    r = sizes(_graph(path))
    assert r.own_size and "concat" in r.own_size[0][1]
    assert [a.rule.text() for a in r.axes] == ["none", "none"]      # 66 wide never fits
    path = _write(tmp_path, "u", NETS["own_size_fails"][0].replace("[3, 66, 66]", "[3, 66, 100]"))
    assert [a.rule.text() for a in sizes(_graph(path)).axes] == ["4k, k ≥ 1", "none"]


def test_an_error_no_size_escapes_leaves_no_size(tmp_path):
    path = _write(tmp_path, "g", """
        input: {shape: [3, 64, 64]}
        layers:
          - conv: {filters: 8, kernel: 3, groups: 2}
        """)
    r = sizes(_graph(path))
    assert [a.rule.text() for a in r.axes] == ["none", "none"]
    assert "groups" in next(iter(r.axes[0].why.values()))


def test_the_derivation_is_fast_whatever_the_range():
    """Each network of the issue in well under a second, for the range 1 to 2^20 as for none
    (a figure, not a timing test: the work counted is classes x layers)."""
    counts = {name: len(axis_sizes(_graph(path), 0, (1, 1 << 20)).exact) for name, path in ZOO.items()}
    assert counts == {"unet2015": ((1 << 20) - 188) // 16 + 1, "yolov8": 8 * (1 << 15), "yolo11n": 8 * (1 << 15),
                      "resnet50": 1 << 20,
                      "efficientnet_b0": 1 << 20, "vgg16": 1, "alexnet": 3, "lenet5": 1}


def test_strides_that_multiply_past_the_limits_need_a_range(tmp_path):
    path = _write(tmp_path, "deep", """
        input: {shape: [3, 64, 64]}
        layers:
          - conv: {filters: 8, kernel: 3, stride: 2, padding: 1, repeat: 20}
        """)
    with pytest.raises(SizesError, match="--range"):
        sizes(_graph(path))
    a = axis_sizes(_graph(path), 0, (1000, 1100))
    assert a.exact == list(range(1000, 1101)) and a.within == (1000, 1100)


def test_rules_read_as_progressions():
    def rule(*classes, hi=1 << 20):
        return describe([_Class(m, rho, lo, (hi - rho) // m if top is None else top, {})
                         for m, rho, lo, top in classes], hi).text()

    assert rule((32, 0, 1, None)) == "32k, k ≥ 1"
    assert rule((16, 12, 11, None)) == "16k + 12, k ≥ 11"
    assert rule((4, 1, 2, None), (4, 2, 2, None), (4, 3, 2, None), (4, 0, 3, None)) == "every size from 9"
    assert rule((1, 224, 0, 0)) == "224 only"
    assert rule((24, 1, 0, None), (24, 7, 0, None)) == "24k + 1 or 24k + 7, from 1"
    assert rule((8, 3, 1, None), (1, 2, 0, 0)) == "8k + 3, k ≥ 1; also 2"
    assert rule((8, 0, 1, 7)) == "8k, k ≥ 1, up to 56"
    assert Rule().text() == "none"


def test_cli_text_json_and_range(tmp_path):
    from typer.testing import CliRunner

    from netc.cli import app

    r = CliRunner().invoke(app, ["sizes", str(ZOO["unet2015"]), "--range", "500:600"])
    assert r.exit_code == 0, r.output
    assert "16k + 12, k ≥ 11" in r.output and "508, 524, 540, 556, 572, 588" in r.output
    r = CliRunner().invoke(app, ["sizes", str(ZOO["yolov8"]), "--range", "600:700", "--format", "json"])
    doc = json.loads(r.output)
    assert doc["height"]["exact"] == [601, 602, 603, 604, 605, 606, 607, 608, 633, 634, 635, 636, 637, 638,
                                      639, 640, 665, 666, 667, 668, 669, 670, 671, 672, 697, 698, 699, 700]
    assert (doc["width"]["min"], doc["width"]["stride"], doc["width"]["period"]) == (25, 32, 32)
    for bad in ("5", "9:3", "0:4", "a:b"):
        r = CliRunner().invoke(app, ["sizes", str(ZOO["yolov8"]), "--range", bad])
        assert r.exit_code == 2 and "--range" in r.output


def test_a_file_that_reads_a_side_is_expanded_at_each_size(tmp_path):
    """A kernel written as in.height changes with the size: each size is expanded anew."""
    path = _write(tmp_path, "reads", """
        input: {shape: [3, 33, 33]}
        layers:
          - conv: {filters: 8, kernel: 3, stride: 2}
          - avgpool: {kernel: [in.height, in.width]}
        """)
    assert derived(path, 1, 60) == sweep(path, 1, 60)
    a = sizes(_graph(path), (1, 60)).axes[0]
    assert a.exact == list(range(3, 61, 2)) and "(expressions)" in a.scanned


def test_onnx_models_read_whole(tmp_path):
    from typer.testing import CliRunner

    from netc.cli import app

    net = tmp_path / "net.yaml"
    net.write_text(DECLARED.replace(", sizes: [[64, 64], [96, 96], [90, 90], [96, 102], [5]]", ""))
    model = tmp_path / "net.onnx"
    r = CliRunner().invoke(app, ["build", str(net), "--onnx", str(model)])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(app, ["sizes", str(model), "--range", "1:20", "--format", "json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["height"]["rule"] == "4k − 1 … 4k, k ≥ 1" and doc["width"]["exact"] == [3, 4, 7, 8, 11, 12, 15, 16, 19, 20]
    assert derived(model, 1, 40) == derived(net, 1, 40)


DECLARED = """
netc: 1
input: {shape: [3, 64, 64], sizes: [[64, 64], [96, 96], [90, 90], [96, 102], [5]]}
layers:
  - conv: {name: a, filters: 8, kernel: 3, stride: 2, padding: 1}
  - conv: {name: b, filters: 8, kernel: 3, stride: 2, padding: 1}
  - upsample: {name: u, scale: 2}
  - concat: {from: [a, u]}
"""


def test_lint_checks_each_declared_size(write):
    from netc.lint import lint_file

    found = [(d.span.line, d.span.col, d.layer, d.message) for d in lint_file(write(DECLARED)) if d.code == "A012"]
    assert [f[:2] for f in found] == [(3, 57), (3, 67), (3, 78)]
    assert found[0][3].startswith("declared size 90x90 does not fit: concat1: concat needs inputs with the same "
                                  "height and width, got (8, 45, 45), (8, 46, 46)")
    assert found[0][2] == "concat1"
    assert found[1][3].startswith("declared size 96x102 does not fit: concat1: concat needs inputs with the same "
                                  "height and width, got (8, 48, 51), (8, 48, 52)")
    assert found[2][3] == "declared size [5]: a size of this input is [height, width]"


def test_lint_checks_declared_sizes_against_the_dense_weights(write):
    from netc.lint import lint_file

    text = (ROOT / "examples/vgg16.yaml").read_text().replace(
        "input: {shape: [3, 224, 224]}", "input: {shape: [3, 224, 224], sizes: [[224, 224], [256, 256]]}")
    [d] = [d for d in lint_file(write(text)) if d.code == "A012"]
    assert d.message == ("declared size 256x256 does not fit: fc6.fc: reads 32,768 features; its weights take "
                         "25,088 (the file's size)")


def test_sizes_reports_the_declared_sizes(write):
    from typer.testing import CliRunner

    from netc.cli import app

    path = write(DECLARED.replace(", [5]", ""))
    r = CliRunner().invoke(app, ["sizes", str(path)])
    assert r.exit_code == 0, r.output
    assert "  64x64  fits\n  96x96  fits\n  90x90  does not fit: concat1: concat needs" in r.output
    doc = json.loads(CliRunner().invoke(app, ["sizes", str(path), "-f", "json"]).output)
    assert [(d["size"], d["fits"]) for d in doc["declared"]] == [([64, 64], True), ([96, 96], True),
                                                                  ([90, 90], False), ([96, 102], False)]
    assert doc["height"]["rule"] == "4k − 1 … 4k, k ≥ 1"


def test_rules_with_many_residues_are_listed_modulo_the_period(tmp_path):
    path = _write(tmp_path, "ceil", NETS["ceil"][0])
    assert sizes(_graph(path)).axes[0].rule.text() == "N ≡ 1, 3, 5, 7, 9, 11, 13, 15 (mod 24), from 5"


def test_cli_errors(tmp_path):
    from typer.testing import CliRunner

    from netc.cli import app

    def run(*args):
        r = CliRunner().invoke(app, ["sizes", *map(str, args)])
        return r.exit_code, r.output

    assert run(tmp_path / "nope.yaml") == (2, f"netc: error: no such file: {tmp_path / 'nope.yaml'}\n")
    vector = tmp_path / "v.yaml"
    vector.write_text("netc: 1\ninput: {shape: [16]}\nlayers:\n  - dense: {units: 4}\n")
    code, out = run(vector)
    assert code == 2 and "the input is the vector (16,): it has no length, height or width" in out
    broken = tmp_path / "b.yaml"
    broken.write_text("netc: 1\ninput: {shape: [3, 8, 8]}\nlayers:\n  - conv: {filters: 4, kernal: 3}\n")
    code, out = run(broken)
    assert code == 1 and "E002" in out and "Traceback" not in out
    deep = _write(tmp_path, "deep", "input: {shape: [3, 64, 64]}\nlayers:\n"
                  "  - conv: {filters: 8, kernel: 3, stride: 2, padding: 1, repeat: 20}\n")
    code, out = run(deep)
    assert code == 2 and "give a --range" in out
    own = _write(tmp_path, "own", NETS["own_size_fails"][0].replace("[3, 66, 66]", "[3, 66, 100]"))
    code, out = run(own, "--range", "90:110")
    assert code == 0, out
    assert "height  4k, k ≥ 1; smallest 4; total stride 4 (at maxpool1)\n        in 90:110: 92, 96, 100, 104, 108" in out
    assert "the file's own size 66x100 does not fit: concat1: concat needs" in out
    code, out = run(own, "--input", "3,66,66")     # width held at 66 too: nothing fits
    assert code == 0 and "height  none" in out and "width   none" in out


# 1-D and 3-D: the zoo's audio net and volumetric U-Net, then small nets per op, each
# axis against the sweep (the other axes at the file's size)
ND = {"m5": ROOT / "examples/m5.yaml", "unet3d": ROOT / "examples/unet3d.yaml"}
ND_FAST = {"m5": (6830, 6870), "unet3d": (84, 110)}
ND_SLOW = {"m5": (1, 11000), "unet3d": (1, 300)}


@pytest.mark.parametrize("name", sorted(ND_FAST))
def test_1d_and_3d_zoo_nets_equal_a_sweep_over_a_small_range(name):
    lo, hi = ND_FAST[name]
    found = derived(ND[name], lo, hi)
    assert found == sweep(ND[name], lo, hi) and any(found)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ND_SLOW))
def test_1d_and_3d_zoo_nets_equal_a_sweep_over_a_wide_range(name):
    lo, hi = ND_SLOW[name]
    assert derived(ND[name], lo, hi) == sweep(ND[name], lo, hi)


def test_the_rules_of_m5_and_the_3d_unet():
    m5 = sizes(_graph(ND["m5"]))
    [length] = m5.axes
    assert (length.axis, length.rule.text(), length.min, length.stride, length.stride_layer) == \
        ("length", "4096k + 2752, k ≥ 1", 6848, 4096, "unit4.pool")
    assert m5.own_size and "unit2.pool: length:" in m5.own_size[0][1]       # 8000: MaxPool1d drops 2 of 122
    unet = sizes(_graph(ND["unet3d"]))
    assert [(a.axis, a.rule.text(), a.min, a.stride) for a in unet.axes] == \
        [(axis, "8k + 4, k ≥ 11", 92, 8) for axis in ("depth", "height", "width")]
    assert not unet.own_size


NETS_ND = {
    "windows_1d": ("""
        input: {shape: [2, 61]}
        layers:
          - conv: {filters: 8, kernel: 5, stride: 3, padding: same}
          - maxpool: {kernel: 3, stride: 2, ceil_mode: true}
          - conv: {filters: 8, kernel: 2, stride: 2, dilation: 2}
          - avgpool: {kernel: 2, stride: 3, padding: 1, ceil_mode: true}
          - conv: {filters: 8, kernel: 3, stride: 2, padding: 1}
        """, (1, 300)),
    "up_down_merge_1d": ("""
        input: {shape: [2, 65]}
        layers:
          - conv: {name: a, filters: 8, kernel: 3, stride: 2, padding: 1}
          - conv: {name: b, filters: 8, kernel: 3, stride: 2, padding: 1}
          - upsample: {name: u, scale: 2, mode: linear}
          - concat: {from: [a, u]}
          - conv: {name: c, filters: 8, kernel: 4, stride: 3, padding: 1}
          - conv_transpose: {name: t, filters: 8, kernel: 4, stride: 3, padding: 1, output_padding: 1}
          - crop: {from: [a, t]}
          - add: {from: [crop1, a]}
        """, (1, 200)),
    "scales_crops_1d": ("""
        input: {shape: [2, 65]}
        layers:
          - conv: {name: a, filters: 8, kernel: 3, stride: 2}
          - upsample: {name: u, scale: 1.5}
          - crop: {size: 21}
          - conv: {filters: 8, kernel: 3, stride: 2}
          - upsample: {size: 30}
          - conv: {name: d, filters: 8, kernel: 2, stride: 2}
          - upsample: {name: r, from: [d, a]}
        """, (1, 160)),
    "gate_dense_1d": ("""
        input: {shape: [2, 40]}
        layers:
          - conv: {name: a, filters: 8, kernel: 3, stride: 2}
          - global_avgpool: {keepdims: true}
          - conv: {name: gate, filters: 8, kernel: 1}
          - mul: {from: [a, gate]}
          - maxpool: {name: m, kernel: 3}
          - adaptive_avgpool: {size: 4}
          - flatten
          - dense: {units: 10}
        """, (1, 160)),
    "windows_3d": ("""
        input: {shape: [2, 20, 24, 26]}
        layers:
          - conv: {filters: 4, kernel: [3, 3, 1], stride: [2, 1, 3], padding: [1, 0, 0]}
          - maxpool: {kernel: [2, 3, 2], stride: [2, 2, 1], ceil_mode: true}
          - conv: {filters: 4, kernel: [1, 2, 3], stride: [1, 2, 2], padding: same}
          - avgpool: {kernel: 2, stride: [1, 2, 3]}
        """, (1, 90)),
    "unet_3d": ("""
        input: {shape: [2, 20, 24, 28]}
        layers:
          - conv: {name: a, filters: 4, kernel: 3}
          - maxpool: {name: p, kernel: 2}
          - conv: {name: b, filters: 4, kernel: [3, 1, 3], padding: [1, 0, 1]}
          - conv_transpose: {name: t, filters: 4, kernel: 2, stride: [2, 2, 1]}
          - crop: {name: k, from: [a, t]}
          - concat: {from: [k, t]}
          - upsample: {name: u, scale: [1, 0.5, 2]}
          - crop: {size: [6, 5, 7]}
        """, (1, 80)),
    "squeeze_excite_3d": ("""
        input: {shape: [2, 17, 17, 19]}
        layers:
          - conv: {name: a, filters: 4, kernel: 3, stride: 2}
          - global_avgpool: {keepdims: true}
          - conv: {name: gate, filters: 4, kernel: 1}
          - mul: {from: [a, gate]}
          - adaptive_maxpool: {name: m, size: [2, 3, 2]}
          - global_avgpool: {name: g, keepdims: true}
          - add: {from: [m, g]}
        """, (1, 70)),
}


@pytest.mark.parametrize("name", sorted(NETS_ND))
def test_each_closed_form_in_1d_and_3d_equals_the_sweep(tmp_path, name):
    body, (lo, hi) = NETS_ND[name]
    path = _write(tmp_path, name, body)
    found = derived(path, lo, hi)
    assert found == sweep(path, lo, hi)
    assert all(found) and not all(axis == list(range(lo, hi + 1)) for axis in found)   # not trivial


def test_1d_and_3d_axes_are_named_in_text_and_json():
    from conftest import run_netc

    r = run_netc("sizes", "examples/m5.yaml", "--range", "6000:12000")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[:3] == [
        "m5 (examples/m5.yaml): input 1x8000",
        "length  4096k + 2752, k ≥ 1; smallest 6848; total stride 4096 (at unit4.pool)",
        "        in 6000:12000: 6848, 10944"]
    r = run_netc("sizes", "examples/unet3d.yaml", "--range", "100:120", "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["axes"] == ["depth", "height", "width"] and doc["input"] == [3, 116, 132, 132]
    assert [doc[a]["exact"] for a in doc["axes"]] == [[100, 108, 116]] * 3
    assert doc["depth"]["size"] == 116 and doc["width"]["size"] == 132


DECLARED_ND = {
    "1d": ("input: {shape: [1, 8000], sizes: [[6848], [8000], [64, 64]]}", "m5"),
    "3d": ("input: {shape: [3, 116, 132, 132], sizes: [[116, 132, 132], [92, 100, 108], [101, 132, 132], [116]]}",
           "unet3d"),
}


def test_lint_checks_declared_1d_and_3d_sizes(write):
    from netc.lint import lint_file

    found = {}
    for key, (line, name) in DECLARED_ND.items():
        text = (ROOT / f"examples/{name}.yaml").read_text()
        head = next(t for t in text.splitlines() if t.startswith("input:"))
        found[key] = [d.message for d in lint_file(write(text.replace(head, line), f"{key}.yaml")) if d.code == "A012"]
    assert found["1d"] == ["declared size 8000 does not fit: unit2.pool: length: (122 + 0 - 4)/4 + 1 is not whole: "
                           "the last 2 rows of 122 are never read (A001) (and 1 more)",
                           "declared size [64, 64]: a size of this input is [length]"]
    assert found["3d"][0].startswith("declared size 101x132x132 does not fit: ")
    assert found["3d"][1] == "declared size [116]: a size of this input is [depth, height, width]"
    assert len(found["3d"]) == 2        # 116x132x132 and 92x100x108 fit


def test_sizes_reports_declared_1d_and_3d_sizes(write):
    from typer.testing import CliRunner

    from netc.cli import app

    text = (ROOT / "examples/unet3d.yaml").read_text()
    head = next(t for t in text.splitlines() if t.startswith("input:"))
    path = write(text.replace(head, "input: {shape: [3, 116, 132, 132], sizes: [[92, 100, 108], [93, 100, 108]]}"))
    r = CliRunner().invoke(app, ["sizes", str(path)])
    assert r.exit_code == 0, r.output
    assert "declared sizes:\n  92x100x108  fits\n  93x100x108  does not fit: " in r.output


def _dynamic_model(path, to_shape: bool):
    """A model exported with dynamic height and width: two stride-2 convs, the coarser map
    resized back and concatenated with the finer, the resize either to the finer map's
    size computed in the graph (Shape, Slice, Concat: F.interpolate(size=skip.shape[-2:]))
    or by a constant scale of 2."""
    import numpy as np
    import onnx
    from onnx import TensorProto as T, helper as h, numpy_helper as nh

    rng = np.random.default_rng(0)
    inits = [nh.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "wa"),
             nh.from_array(rng.standard_normal((4, 4, 3, 3)).astype(np.float32), "wb"),
             nh.from_array(np.array([0], np.int64), "i0"), nh.from_array(np.array([2], np.int64), "i2"),
             nh.from_array(np.array([4], np.int64), "i4"),
             nh.from_array(np.array([1, 1, 2, 2], np.float32), "scales")]
    conv = {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}
    nodes = [h.make_node("Conv", ["x", "wa"], ["a"], name="a", **conv),
             h.make_node("Conv", ["a", "wb"], ["b"], name="b", **conv)]
    if to_shape:
        nodes += [h.make_node("Shape", ["a"], ["sa"]), h.make_node("Shape", ["b"], ["sb"]),
                  h.make_node("Slice", ["sa", "i2", "i4"], ["hw"]), h.make_node("Slice", ["sb", "i0", "i2"], ["nc"]),
                  h.make_node("Concat", ["nc", "hw"], ["size"], axis=0)]
    nodes += [h.make_node("Resize", ["b", "", "scales"] + (["size"] if to_shape else []), ["up"], name="up",
                          mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
              h.make_node("Concat", ["a", "up"], ["y"], name="cat", axis=1)]
    if to_shape:
        nodes[-2].input[2] = ""
    g = h.make_graph(nodes, "dyn", [h.make_tensor_value_info("x", T.FLOAT, ["N", 3, "H", "W"])],
                     [h.make_tensor_value_info("y", T.FLOAT, None)], inits)
    onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 17)], ir_version=8), path)
    return path


@pytest.mark.parametrize("to_shape", [True, False])
def test_a_dynamic_onnx_input_gets_the_true_rule(tmp_path, to_shape):
    """An ONNX input of symbolic height and width is read at --input's size; where the
    graph's shape computations read the size (a resize to the skip's size), each size is
    read anew, else the closed form holds. The truth: where onnxruntime runs the model."""
    import numpy as np
    import onnxruntime as ort
    from typer.testing import CliRunner

    from netc.cli import app

    model = _dynamic_model(tmp_path / "dyn.onnx", to_shape)
    r = CliRunner().invoke(app, ["sizes", str(model), "--input", "3,64,64", "--range", "1:40", "-f", "json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    session = ort.InferenceSession(str(model))

    def runs(n):
        try:
            session.run(None, {"x": np.zeros((1, 3, n, 64), np.float32)})
            return True
        except Exception:       # onnxruntime's shape error at a concat of unequal sides
            return False

    assert doc["height"]["exact"] == [n for n in range(1, 41) if runs(n)]
    if to_shape:
        assert doc["height"]["rule"] == "every size" and "(dynamic input)" in doc["height"]["scanned"]
        # read once at 64, the resize's target is the constant 32: a rule of that graph, not the model's
        from netc.onnx.reader import load_model, read_graph

        m = load_model(str(model))
        for d in m.graph.input[0].type.tensor_type.shape.dim[2:]:
            d.dim_value = 64
        assert [a.rule.text() for a in sizes(read_graph(m, str(model))).axes] == ["63 and 64"] * 2
    else:
        assert doc["height"]["rule"] == "4k − 1 … 4k, k ≥ 1" and doc["height"]["scanned"] == {}


def test_a_dynamic_onnx_input_needs_the_size_to_hold(tmp_path):
    from typer.testing import CliRunner

    from netc.cli import app

    model = _dynamic_model(tmp_path / "dyn.onnx", True)
    r = CliRunner().invoke(app, ["sizes", str(model)])
    assert r.exit_code == 2 and "has shape [N, 3, H, W]: give the size each axis is held at, --input 3,N,N" in r.output
    r = CliRunner().invoke(app, ["sizes", str(model), "--input", "4,64,64"])
    assert r.exit_code == 2 and "--input 4,64,64: input 'x'" in r.output
    r = CliRunner().invoke(app, ["sizes", str(model), "--input", "3,64,64"])
    assert r.exit_code == 0 and "within 1:128 only: (dynamic input) scanned" in r.output   # 1 to 2 x 64
