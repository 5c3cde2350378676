"""Windows in 1, 2 and 3 spatial dimensions (issue 18): conv, conv_transpose, pools,
global and adaptive pools, upsample, crop and batchnorm on (C, L) and (C, D, H, W) maps.

Counts are checked against PyTorch's formulas written out here per layer (Conv1d,
Conv3d, ConvTranspose3d: weight (K, C/groups, *kernel) or (C, K/groups, *kernel), one
bias per filter; MACs = weights x output (conv) or input (transposed) positions; sizes
from PyTorch's documented L_out); ONNX models are run by onnxruntime against the
float64 loops of spatial_reference.py and read back with the same counts."""

import math

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import netc
from netc.analysis import analyze
from netc.diagnostics import NetcError
from netc.onnx.build import build_model
from netc.onnx.reader import read_graph
from onnx_reference import ATOL, RTOL, network, random_weights, run
from spatial_reference import reference


def one(layer, shape):
    return network([layer], shape).layers[-1]


def error(layers, shape):
    with pytest.raises(NetcError) as e:
        network(layers, shape)
    return e.value.diagnostics[0]


def conv_out(n, k, s=1, p=0, d=1):
    """PyTorch's Conv*d / MaxPool*d size: floor((L + 2P - D(K - 1) - 1)/S) + 1."""
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


# -- shapes and counts -------------------------------------------------------------

def test_conv1d_counts_as_pytorch():
    r = one("conv: {filters: 6, kernel: 5, stride: 2, padding: 1, dilation: 2}", (4, 50))
    out = conv_out(50, 5, 2, 1, 2)
    assert out == 22 and r.output_shape == (6, out)
    assert r.params == 6 * 4 * 5 + 6                      # Conv1d weight (6, 4, 5) + bias
    assert r.macs == 6 * 4 * 5 * out
    assert r.flops == 2 * r.macs + 6 * out
    assert (r.field.size, r.field.jump) == ((9,), (2,))   # dilated extent 9, stride 2


def test_conv3d_counts_as_pytorch():
    r = one("conv: {filters: 8, kernel: [3, 5, 1], stride: [1, 2, 1], padding: [1, 2, 0], groups: 1, "
            "bias: false}", (3, 7, 20, 9))
    outs = (conv_out(7, 3, 1, 1), conv_out(20, 5, 2, 2), conv_out(9, 1))
    assert outs == (7, 10, 9) and r.output_shape == (8, *outs)
    assert r.params == 8 * 3 * 3 * 5 * 1                  # Conv3d weight (8, 3, 3, 5, 1)
    assert r.macs == r.params * math.prod(outs)
    assert (r.field.size, r.field.jump) == ((3, 5, 1), (1, 2, 1))


def test_depthwise_conv3d_and_a_number_on_every_axis():
    r = one("conv: {filters: 8, kernel: 3, padding: 1, groups: 4}", (4, 6, 6, 6))
    assert r.output_shape == (8, 6, 6, 6)
    assert r.params == 8 * 1 * 27 + 8 and r.macs == 8 * 27 * 216


def test_conv_transpose3d_counts_as_pytorch():
    """ConvTranspose3d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2): weight
    (4, 3, 3, 3, 3); L_out = (L - 1)*S - 2P + D(K - 1) + output_padding + 1."""
    r = one("conv_transpose: {filters: 6, kernel: 3, stride: 2, padding: 1, output_padding: 1, groups: 2}",
            (4, 3, 5, 7))
    outs = tuple((n - 1) * 2 - 2 + 2 + 1 + 1 for n in (3, 5, 7))
    assert outs == (6, 10, 14) and r.output_shape == (6, *outs)
    assert r.params == 4 * 3 * 27 + 6
    assert r.macs == 4 * 3 * 27 * (3 * 5 * 7)             # every input voxel times its kernel


def test_conv_transpose1d():
    r = one("conv_transpose: {filters: 2, kernel: 4, stride: 3, padding: [1]}", (5, 9))
    assert r.output_shape == (2, (9 - 1) * 3 - 2 + 3 + 1)
    assert r.params == 5 * 2 * 4 + 2 and r.macs == 5 * 2 * 4 * 9


@pytest.mark.parametrize("layer, shape, out, flops", [
    ("maxpool: {kernel: 4}", (3, 30), (3, 7), 3 * 7 * 3),                   # MaxPool1d(4): 30 -> 7
    ("maxpool: {kernel: 3, stride: 2, padding: 1, ceil_mode: true}", (2, 10), (2, 6), 2 * 2 * 6),
    ("avgpool: {kernel: [2, 2, 3], stride: [2, 2, 1]}", (2, 5, 6, 7), (2, 2, 3, 5), 12 * 2 * 2 * 3 * 5),
    ("maxpool: {kernel: 2}", (2, 4, 6, 8), (2, 2, 3, 4), 7 * 2 * 2 * 3 * 4),
    ("global_avgpool", (5, 40), (5,), 5 * 40),
    ("global_avgpool: {keepdims: true}", (5, 3, 4, 6), (5, 1, 1, 1), 5 * 72),
    ("global_maxpool: {keepdims: true}", (5, 40), (5, 1), 5 * 39),
    ("global_maxpool", (5, 3, 4, 6), (5,), 5 * 71),
    ("adaptive_avgpool: {size: 3}", (2, 10), (2, 3), 2 * (4 + 4 + 4)),     # windows [0,4) [3,7) [6,10)
    ("adaptive_maxpool: {size: [1, 2, 3]}", (2, 4, 4, 6), (2, 1, 2, 3), 2 * 4 * 4 * 6 - 2 * 6),
    ("upsample: {scale: 2}", (3, 5), (3, 10), 0),
    ("upsample: {scale: 2, mode: linear}", (3, 5), (3, 10), 3 * 30),           # 2 mul + 1 add
    ("upsample: {size: [4, 6, 8], mode: trilinear}", (2, 2, 3, 4), (2, 4, 6, 8), 15 * 2 * 192),  # 8 + 7
    ("upsample: {scale: [1, 2, 2]}", (2, 3, 4, 5), (2, 3, 8, 10), 0),
    ("crop: {size: [4, 5, 6]}", (2, 6, 7, 8), (2, 4, 5, 6), 0),
    ("crop: {size: 7}", (2, 10), (2, 7), 0),
    ("batchnorm", (6, 100), (6, 100), 2 * 600),
    ("batchnorm", (6, 2, 3, 4), (6, 2, 3, 4), 2 * 144),
])
def test_windowless_and_pooling_shapes(layer, shape, out, flops):
    r = one(layer, shape)
    assert (r.output_shape, r.flops) == (out, flops)


def test_batchnorm_1d_and_3d_count_as_pytorch():
    """BatchNorm1d/3d(C): weight and bias trainable, running mean and variance buffers."""
    for shape in ((6, 100), (6, 2, 3, 4)):
        r = one("batchnorm", shape)
        assert (r.params, r.buffers) == (4 * 6, 2 * 6)


def test_adaptive_pool_receptive_field_per_axis():
    r = network(["conv: {filters: 2, kernel: 3}", "adaptive_avgpool: {size: [2, 1, 3]}"], (1, 6, 6, 8)).layers[-1]
    # after the conv (4, 4, 6): windows 2, 4 and 2 wide, steps 2, 4 and 2
    assert (r.field.size, r.field.jump) == ((4, 6, 4), (2, 4, 2))


# -- per-axis parameters against the input's rank ---------------------------------

@pytest.mark.parametrize("layer, shape, param, text", [
    ("conv: {filters: 2, kernel: [3, 3]}", (1, 20), "kernel",
     "kernel [3, 3] has 2 entries for a 1-D map (length): write one number for every axis, "
     "one per axis ([length])"),
    ("conv: {filters: 2, kernel: 3, stride: [1, 2]}", (1, 8, 8, 8), "stride",
     "stride [1, 2] has 2 entries for a 3-D map (depth, height, width)"),
    ("maxpool: {kernel: 2, padding: [1, 1, 1]}", (1, 8, 8), "padding",
     "padding [1, 1, 1] has 3 entries for a 2-D map (height, width)"),
    ("conv_transpose: {filters: 2, kernel: 2, output_padding: [1, 0]}", (1, 8), "output_padding",
     "output_padding [1, 0] has 2 entries for a 1-D map"),
    ("upsample: {scale: [2, 2]}", (1, 4, 4, 4), "scale", "scale [2, 2] has 2 entries for a 3-D map"),
    ("adaptive_avgpool: {size: [2, 2, 2]}", (1, 4, 4), "size", "size [2, 2, 2] has 3 entries for a 2-D map"),
    ("crop: {size: [2, 2]}", (1, 4), "size", "size [2, 2] has 2 entries for a 1-D map"),
])
def test_a_per_axis_list_of_the_wrong_length_names_its_parameter(layer, shape, param, text):
    d = error([layer], shape)
    assert d.code == "E004" and text in d.message, d.message
    assert d.span.line == 5 and ("  - " + layer)[:d.span.col - 1].endswith(f"{param}: "), d.message


@pytest.mark.parametrize("layer, shape, text", [
    ("conv: {filters: 2, kernel: 9}", (1, 5), "length: kernel 9 is larger than the padded input 5"),
    ("maxpool: {kernel: [4, 2, 2]}", (1, 3, 8, 8), "depth: kernel 4 is larger than the padded input 3"),
    ("conv_transpose: {filters: 1, kernel: 1, padding: [0, 0, 1]}", (1, 4, 4, 1),
     "width: padding 1 + 1 crops the whole output"),
    ("upsample: {scale: [1, 0.1, 1]}", (1, 4, 4, 4), "height: scale 0.1 of 4 gives floor(4*0.1) = 0 rows"),
    ("maxpool: {kernel: [3, 2], padding: [0, 2]}", (1, 8, 8), "width: padding 2 is more than half the kernel 2"),
    ("avgpool: {kernel: 2, padding: 2}", (1, 8), "length: padding 2 is more than half the kernel 2"),
    ("upsample: {scale: 2, mode: bilinear}", (1, 8), "mode bilinear is for a 2-D map; this 1-D one takes "
                                                     "mode linear"),
    ("upsample: {scale: 2, mode: linear}", (1, 4, 4, 4), "this 3-D one takes mode trilinear"),
    ("conv: {filters: 2, kernel: 1}", (1, 2, 3, 4, 5), "needs a map"),
])
def test_messages_name_the_axis(layer, shape, text):
    if len(shape) > 4:
        with pytest.raises(netc.OverrideError, match="one to four sides"):
            netc.loads("netc: 1\ninput: {shape: [1]}\nlayers: [relu]\n", input_shape=shape)
        return
    assert text in error([layer], shape).message


def test_shape_reads_name_the_axes_of_each_rank():
    net = network(["conv: {filters: in.length, kernel: 1}"], (2, 7))
    assert net.layers[-1].output_shape == (7, 7)
    net = network(["conv: {filters: in.depth + in.height + in.width, kernel: 1}"], (2, 3, 4, 5))
    assert net.layers[-1].output_shape == (12, 3, 4, 5)
    assert "it has channels, length, no height" in error(["conv: {filters: in.height, kernel: 1}"], (2, 7)).message


def test_input_of_rank_two_is_a_one_d_map_and_yaml_spells_it():
    net = netc.loads("netc: 1\ninput: {shape: [1, 16000]}\nlayers:\n  - conv: {filters: 4, kernel: 400, "
                     "stride: 160}\n", "a.yaml")
    assert net.layers[0].output_shape == (4, conv_out(16000, 400, 160))
    assert net.layers[0].field.size == (400,)


def test_schema_accepts_per_axis_lists_of_one_to_three_and_refuses_four():
    from netc.conform import compile_schema
    from netc.schema import build_schema

    check = compile_schema(build_schema())

    def doc(layer, shape=(1, 8, 8, 8)):
        return {"netc": 1, "input": {"shape": list(shape)}, "layers": [layer]}

    assert check(doc({"conv": {"filters": 2, "kernel": [3]}}, (1, 8)))
    assert check(doc({"conv": {"filters": 2, "kernel": [3, 3, 1], "padding": [1, 1, 0]}}))
    assert check(doc({"upsample": {"scale": [1, 2, 2], "mode": "trilinear"}}))
    assert check(doc({"pad": {"padding": [1, 2, 3, 4, 5, 6]}}))
    assert not check(doc({"conv": {"filters": 2, "kernel": [3, 3, 3, 3]}}))
    assert not check(doc({"conv": {"filters": 2, "kernel": 3}}, (1, 2, 3, 4, 5)))


# -- lint rules per axis ----------------------------------------------------------

def test_window_rules_name_the_axis_of_1d_and_3d_maps(tmp_path):
    from netc.lint import lint_file

    def lint(layers, shape):
        path = tmp_path / "t.yaml"
        path.write_text(f"netc: 1\ninput: {{shape: {list(shape)}}}\nlayers:\n"
                        + "".join(f"  - {x}\n" for x in layers))
        return {d.code: d.message for d in lint_file(path)}

    found = lint(["maxpool: {kernel: 4}"], (2, 122))
    assert "the last 2 positions of 122 are never read" in found["A001"]
    assert "input length 120 or 124" in found["A001"]
    found = lint(["conv: {filters: 2, kernel: [5, 3, 3], padding: [2, 1, 1]}"], (2, 4, 9, 9))
    assert "depth kernel 5 > input 4" in found["A002"]
    found = lint(["conv: {filters: 2, kernel: 1, stride: 3}"], (2, 10, 10, 10))
    assert "6 of 10 slices and 6 of 10 rows and 6 of 10 columns" in found["A003"]
    found = lint(["maxpool: {kernel: 2, padding: 1, ceil_mode: true}"], (2, 5, 5, 5))
    assert "(3x3x3), ONNX shape inference keeps it (4x4x4)" in found["A006"]
    found = lint(["adaptive_avgpool: {size: [1, 3, 2]}"], (2, 4, 10, 4))
    assert found["A010"].startswith("adaptive_avgpool1: height: 3 windows over 10")
    found = lint(["conv_transpose: {filters: 2, kernel: 3, stride: 2}"], (2, 5, 5, 5))
    assert "output slices, rows and columns receive 1 or 2 taps" in found["A011"]
    found = lint(["conv_transpose: {filters: 2, kernel: 3, stride: 2}"], (2, 5))
    assert "output positions receive 1 or 2 taps" in found["A011"]


# -- ONNX: onnxruntime runs the shapes netc says; the model reads back the same -----

NETS = {
    "1-D audio stem": (["conv: {filters: 4, kernel: 9, stride: 4, padding: 3, activation: relu}", "batchnorm",
                        "maxpool: {kernel: 3, stride: 2, padding: 1, ceil_mode: true}",
                        "conv: {filters: 6, kernel: 3, padding: same, dilation: 2, groups: 2}",
                        "avgpool: {kernel: 3, stride: 2, padding: 1, count_include_pad: true}",
                        "conv_transpose: {filters: 3, kernel: 4, stride: 2, padding: 1, activation: prelu}",
                        "upsample: {scale: 1.5, mode: linear}", "upsample: {size: 9}",
                        "adaptive_avgpool: {size: 4}", "adaptive_maxpool: {size: 3}",
                        "global_avgpool", "dense: {units: 5}"], (2, 61)),
    "1-D gate": (["conv: {name: c, filters: 3, kernel: 3, padding: 1}", "global_maxpool: {keepdims: true}",
                  "sigmoid", "mul: {from: [c, sigmoid1]}", "crop: {size: 5}",
                  "upsample: {mode: linear, align_corners: true, from: [crop1, c]}"], (4, 11)),
    "3-D U-Net level": (["conv: {name: a, filters: 4, kernel: 3, activation: relu}", "batchnorm",
                         "maxpool: {kernel: 2, stride: 2}",
                         "conv_transpose: {name: up, filters: 4, kernel: 2, stride: 2, bias: false}",
                         "crop: {from: [a, up]}", "concat: {from: [crop1, up]}",
                         "conv: {filters: 2, kernel: [1, 3, 3], padding: [0, 1, 1]}"], (2, 7, 8, 9)),
    "3-D video": (["conv: {filters: 4, kernel: [3, 5, 5], stride: [1, 2, 2], padding: [1, 2, 2], bias: false}",
                   "maxpool: {kernel: [1, 3, 3], stride: [1, 2, 2], padding: [0, 1, 1]}",
                   "avgpool: {kernel: 2, padding: 1, count_include_pad: false}",
                   "upsample: {scale: [1, 2, 2]}", "upsample: {scale: 2, mode: trilinear}",
                   "adaptive_avgpool: {size: [2, 3, 5]}", "adaptive_maxpool: {size: [1, 2, 1]}",
                   "global_avgpool"], (3, 4, 13, 11)),
}


@pytest.mark.parametrize("name", sorted(NETS))
def test_onnxruntime_runs_the_shapes_netc_says_and_the_model_reads_back(name):
    layers, shape = NETS[name]
    net = network(layers, shape)
    model = build_model(net, weights=random_weights())        # ONNX shape inference agrees (else E007)
    x = np.random.default_rng(0).standard_normal((2, *shape)).astype(np.float32)
    got = run(model, x)
    want = reference(net, model, x)
    assert [g.shape[1:] for g in got] == [net.layers[-1].output_shape]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=RTOL, atol=ATOL)
    a = analyze(read_graph(onnx.load_from_string(model.SerializeToString()), "m.onnx"))
    kept = [r for r in net.layers if r.op != "dropout"]
    assert [(r.op, r.output_shape, r.params, r.macs, r.flops) for r in a.layers] == \
        [(r.op, r.output_shape, r.params, r.macs, r.flops) for r in kept]
    assert a.totals.params == net.totals.params and a.totals.macs == net.totals.macs


@pytest.mark.parametrize("shape", [(2, 10), (2, 6, 4, 10)])
def test_counted_padding_of_a_ceil_mode_average_pool_runs_as_pytorch(shape):
    """count_include_pad with a ceil-mode window past the padded input: PyTorch divides by the
    window clipped to the padded input; netc builds Pad then AveragePool (docs/onnx.md)."""
    net = network(["avgpool: {kernel: 3, stride: 2, padding: 1, count_include_pad: true, ceil_mode: true}"], shape)
    assert any(w.overhang for w in net.layers[-1].windows)
    model = build_model(net, weights=random_weights())
    x = np.random.default_rng(1).standard_normal((2, *shape)).astype(np.float32)
    np.testing.assert_allclose(run(model, x)[0], reference(net, model, x)[0], rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("shape", [(2, 30), (2, 5, 6, 7)])
def test_batchnorm_folds_into_a_1d_and_a_3d_conv(shape):
    """W' = W * s per filter, whatever the kernel's rank: the folded model computes the same."""
    net = network(["conv: {filters: 3, kernel: 3, padding: 1, bias: false}", "batchnorm", "relu"], shape)
    plain, folded = (build_model(net, weights=random_weights(), fold_batchnorm=f) for f in (False, True))
    assert [n.op_type for n in folded.graph.node] == ["Conv", "Relu"]
    conv_params = sum(math.prod(t.dims) for t in folded.graph.initializer)
    assert conv_params == 3 * 2 * 3 ** (len(shape) - 1) + 3       # the weight and the new bias
    x = np.random.default_rng(2).standard_normal((2, *shape)).astype(np.float32)
    np.testing.assert_allclose(run(folded, x)[0], run(plain, x)[0], rtol=RTOL, atol=ATOL)


def _model(nodes, inits, x_shape, y_shape, opset=17):
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)


def _weight(name, shape):
    return helper.make_tensor(name, TensorProto.FLOAT, shape, np.ones(shape, np.float32).ravel())


def test_reader_reads_a_hand_built_1d_model_with_same_upper_and_pools():
    """Conv1d(2, 4, 5) with auto_pad SAME_UPPER and stride 2, MaxPool1d(3, 2, pads [1, 0]),
    GlobalAveragePool: the input (N, 2, 20) is a 1-D map."""
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[5], strides=[2], auto_pad="SAME_UPPER"),
             helper.make_node("MaxPool", ["c"], ["p"], kernel_shape=[3], strides=[2], pads=[1, 0]),
             helper.make_node("GlobalAveragePool", ["p"], ["y"])]
    model = _model(nodes, [_weight("w", [4, 2, 5]), _weight("b", [4])], [1, 2, 20], [1, 4, 1])
    a = analyze(read_graph(model, "m.onnx"))
    assert [(r.op, r.output_shape) for r in a.layers] == [("conv", (4, 10)), ("maxpool", (4, 5)),
                                                          ("global_avgpool", (4, 1))]
    conv = a.layers[0]
    assert conv.params == 4 * 2 * 5 + 4 and conv.macs == 40 * 10
    assert (conv.windows[0].pad_begin, conv.windows[0].pad_end) == (1, 2)    # SAME_UPPER: odd at the end
    [y] = run(model, np.ones((1, 2, 20), np.float32))
    assert y.shape == (1, *a.layers[-1].output_shape)


def test_reader_reads_a_hand_built_3d_model():
    """Conv3d, ConvTranspose3d, AveragePool, Resize and ReduceMean over axes 2, 3, 4 on (N, 3, 4, 6, 6)."""
    scales = helper.make_tensor("s", TensorProto.FLOAT, [5], [1, 1, 1, 2, 2])
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[3, 3, 3], pads=[1, 1, 1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c", "g", "be", "m", "v"], ["n"]),
             helper.make_node("ConvTranspose", ["n", "wt"], ["t"], kernel_shape=[2, 2, 2], strides=[2, 2, 2]),
             helper.make_node("AveragePool", ["t"], ["a"], kernel_shape=[2, 2, 2], strides=[2, 2, 2]),
             helper.make_node("Resize", ["a", "", "s"], ["r"], mode="nearest",
                              coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
             helper.make_node("ReduceMean", ["r"], ["y"], axes=[2, 3, 4], keepdims=0)]
    inits = [_weight("w", [5, 3, 3, 3, 3]), _weight("wt", [5, 2, 2, 2, 2]), scales,
             *(_weight(n, [5]) for n in ("g", "be", "m", "v"))]
    model = _model(nodes, inits, [1, 3, 4, 6, 6], [1, 2], opset=17)
    a = analyze(read_graph(model, "m.onnx"))
    assert [(r.op, r.output_shape) for r in a.layers] == [
        ("conv", (5, 4, 6, 6)), ("batchnorm", (5, 4, 6, 6)), ("conv_transpose", (2, 8, 12, 12)),
        ("avgpool", (2, 4, 6, 6)), ("upsample", (2, 4, 12, 12)), ("global_avgpool", (2,))]
    assert a.layers[0].params == 5 * 3 * 27 and a.layers[0].macs == 5 * 3 * 27 * 144
    assert a.layers[2].params == 5 * 2 * 8 and a.layers[2].macs == 5 * 2 * 8 * 144
    [y] = run(model, np.ones((1, 3, 4, 6, 6), np.float32))
    assert y.shape == (1, 2)


@pytest.mark.parametrize("attrs, weight, text", [
    ({"kernel_shape": [3, 3]}, [4, 2, 3, 3], "a convolution weight [4, 2, 3, 3] on the input [2, 20]"),
    ({"kernel_shape": [3], "strides": [1, 1]}, [4, 2, 3], "strides or dilations of the wrong length"),
    ({"kernel_shape": [3], "pads": [1, 1, 1, 1]}, [4, 2, 3], "pads [1, 1, 1, 1] of the wrong length"),
])
def test_reader_refuses_windows_that_do_not_fit_the_input_rank(attrs, weight, text):
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="the_conv", **attrs)]
    model = _model(nodes, [_weight("w", weight)], [1, 2, 20], [1, 4, 18])
    with pytest.raises(NetcError) as e:
        read_graph(model, "m.onnx")
    d = e.value.diagnostics[0]
    assert d.code == "E011" and "Conv: 1 node: 'the_conv' (" + text in d.notes[0][1], d.notes


def test_reader_refuses_an_input_of_rank_six():
    model = _model([helper.make_node("Relu", ["x"], ["y"])], [], [1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6])
    with pytest.raises(NetcError, match=r"\(N, C, L\), \(N, C, H, W\) or \(N, C, D, H, W\) maps"):
        read_graph(model, "m.onnx")


def test_zoo_1d_and_3d_files_read_back_with_the_same_counts():
    from conftest import EXAMPLES

    for name in ("m5", "unet3d"):
        net = netc.load(EXAMPLES / f"{name}.yaml")
        model = build_model(net, weights=lambda layer, suffix, shape, *_: np.zeros(shape, np.float32),
                            check=False)
        a = analyze(read_graph(model, "m.onnx"))
        assert (a.totals.params, a.totals.trainable_params, a.totals.macs, a.totals.flops) == \
            (net.totals.params, net.totals.trainable_params, net.totals.macs, net.totals.flops), name


@pytest.mark.parametrize("name, row, field", [("m5", "(32, 496)", "80 /16"), ("unet3d", "(3, 28, 44, 44)", "96 /1")])
def test_summary_shows_1d_and_3d_maps_in_every_format(name, row, field):
    import json

    from conftest import run_netc

    text = run_netc("summary", f"examples/{name}.yaml")
    assert text.returncode == 0, text.stderr
    line = next(x for x in text.stdout.splitlines() if row in x)
    assert line.rstrip().endswith(field)
    out = json.loads(run_netc("summary", f"examples/{name}.yaml", "--format", "json").stdout)
    axes = 1 if name == "m5" else 3
    fields = [layer["receptive_field"] for layer in out["layers"] if layer["receptive_field"]]
    assert fields and all(len(f["size"]) == len(f["jump"]) == axes for f in fields)
    windows = [layer["windows"] for layer in out["layers"] if layer["windows"]]
    assert windows and all(len(w) == axes for w in windows)
    c, *sizes = row.strip("()").split(", ")
    for fmt, shown in (("csv", "x".join([c, *sizes])), ("markdown", row), ("html", "×".join([c, *sizes]))):
        r = run_netc("summary", f"examples/{name}.yaml", "--format", fmt)
        assert r.returncode == 0 and shown in r.stdout, fmt


@pytest.mark.parametrize("name", ["m5", "unet3d"])
def test_netc_import_of_a_1d_and_a_3d_model_writes_a_file_with_the_same_counts(name):
    """netc build, then netc import: the file has the same input rank, layers and counts."""
    from conftest import EXAMPLES
    from netc.onnx.importer import import_graph

    net = netc.load(EXAMPLES / f"{name}.yaml")
    model = build_model(net, weights=lambda layer, suffix, shape, *_: np.zeros(shape, np.float32), check=False)
    text = import_graph(read_graph(model, f"{name}.onnx"), f"{name}.onnx")
    again = netc.loads(text, f"{name}_imported.yaml")
    assert again.graph.input_shape == net.graph.input_shape
    assert [(r.op, r.output_shape, r.params, r.macs) for r in again.layers] == \
        [(r.op, r.output_shape, r.params, r.macs) for r in net.layers]


def test_input_override_takes_a_3d_map():
    from conftest import EXAMPLES

    net = netc.load(EXAMPLES / "unet3d.yaml", input_shape=(3, 124, 140, 140))
    assert net.layers[-1].output_shape == (3, 36, 52, 52)


@pytest.mark.slow
def test_real_pytorch_1d_and_3d_exports_read_with_torchs_counts(tmp_path):
    """torch.onnx.export (TorchScript, opset 17, batchnorm kept) of a 1-D and a 3-D net:
    netc reads every node, with torch's trainable parameters and hook-counted MACs."""
    torch = pytest.importorskip("torch")
    from test_zoo import _torch_counts

    nn = torch.nn
    nets = {
        "audio": (nn.Sequential(nn.Conv1d(1, 8, 80, stride=16), nn.BatchNorm1d(8), nn.ReLU(), nn.MaxPool1d(4),
                                nn.Conv1d(8, 8, 3, padding=1, groups=2), nn.ReLU(),
                                nn.AvgPool1d(3, stride=2, padding=1, ceil_mode=True),
                                nn.Upsample(scale_factor=2, mode="linear"), nn.AdaptiveMaxPool1d(1), nn.Flatten(),
                                nn.Linear(8, 5)), (1, 1, 800)),
        "volume": (nn.Sequential(nn.Conv3d(2, 4, 3, padding=1), nn.BatchNorm3d(4), nn.ReLU(),
                                 nn.MaxPool3d(2, ceil_mode=True), nn.ConvTranspose3d(4, 3, 2, stride=2),
                                 nn.Upsample(scale_factor=2, mode="trilinear"),
                                 nn.AvgPool3d(3, stride=2, padding=1), nn.AdaptiveAvgPool3d(1), nn.Flatten(),
                                 nn.Linear(3, 2)), (1, 2, 6, 9, 9)),
    }
    for name, (model, shape) in nets.items():
        model.eval()
        path = tmp_path / f"{name}.onnx"
        x = torch.randn(shape)
        torch.onnx.export(model, x, str(path), dynamo=False, opset_version=17, do_constant_folding=False)
        net = netc.load(path)
        assert net.graph.unread is None
        params, macs = _torch_counts(torch, model, x)
        assert (net.totals.trainable_params, net.totals.macs) == (params, macs), name
        assert net.layers[-1].output_shape == tuple(model(x).shape[1:])
