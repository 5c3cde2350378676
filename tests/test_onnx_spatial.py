"""The spatial and channel ops, built by netc and run in onnxruntime, against the
float64 loops of spatial_reference.py (PyTorch's semantics), at the lowest opset,
the default and the newest the installed onnxruntime runs."""

import numpy as np
import pytest

from netc.onnx.build import DEFAULT_OPSET, MIN_OPSET, RuntimeUnsupported, build_model, max_opset
from onnx_reference import ATOL, RTOL, network, random_weights, run
from spatial_reference import reference


def _newest_runnable() -> int:
    net = network(["identity"], (1, 2, 2))
    for opset in range(max_opset(), DEFAULT_OPSET, -1):
        try:
            build_model(net, opset=opset)
            return opset
        except RuntimeUnsupported:
            continue
    return DEFAULT_OPSET


OPSETS = sorted({MIN_OPSET, DEFAULT_OPSET, _newest_runnable()})


def check(layers, shape, outputs=None, opset=DEFAULT_OPSET, batch=2):
    net = network(layers, shape, outputs)
    model = build_model(net, weights=random_weights(), opset=opset)
    x = np.random.default_rng(5).standard_normal((batch, *shape)).astype(np.float32)
    got, want = run(model, x), reference(net, model, x)
    assert len(got) == len(want)
    for g, w_ in zip(got, want):
        assert g.shape == w_.shape
        np.testing.assert_allclose(g, w_, rtol=RTOL, atol=ATOL)
    return net, model


def ops(model):
    return [n.op_type for n in model.graph.node if n.op_type != "Constant"]


CONV_T = {
    "2x2 s2 (U-Net)": "conv_transpose: {filters: 4, kernel: 2, stride: 2}",
    "3x3 s2 p1 op1": "conv_transpose: {filters: 3, kernel: 3, stride: 2, padding: 1, output_padding: 1}",
    "4x4 s2 p1 (DCGAN)": "conv_transpose: {filters: 5, kernel: 4, stride: 2, padding: 1, bias: false}",
    "rect, dilation, stride <= op < dilation": "conv_transpose: {filters: 2, kernel: [3, 2], stride: [1, 3], "
                                      "padding: [2, 0], dilation: [3, 1], output_padding: [2, 1]}",
    "op >= stride past the end pad": "conv_transpose: {filters: 2, kernel: 2, dilation: 4, output_padding: 3, "
                                     "padding: 1}",
    "op >= stride, end pad absorbs part": "conv_transpose: {filters: 2, kernel: 2, stride: 2, dilation: 3, "
                                          "padding: 1, output_padding: 2}",
    "groups 2, relu": "conv_transpose: {filters: 6, kernel: 3, groups: 2, stride: 3, activation: relu}",
    "depthwise": "conv_transpose: {filters: 4, kernel: 3, groups: 4, padding: 1}",
}


@pytest.mark.parametrize("layer", CONV_T.values(), ids=CONV_T.keys())
def test_conv_transpose(layer):
    net, model = check([layer], (4, 5, 6))
    assert ops(model)[0] == "ConvTranspose"


UPSAMPLE = {
    "nearest x2": "upsample: {scale: 2}",
    "nearest [3, 2]": "upsample: {scale: [3, 2]}",
    "nearest 1.5": "upsample: {scale: 1.5}",
    "nearest 0.5 (down)": "upsample: {scale: 0.5}",
    "nearest to size": "upsample: {size: [11, 4]}",
    "bilinear x2": "upsample: {scale: 2, mode: bilinear}",
    "bilinear 2.5 x 0.75": "upsample: {scale: [2.5, 0.75], mode: bilinear}",
    "bilinear align_corners": "upsample: {scale: 2, mode: bilinear, align_corners: true}",
    "bilinear to size": "upsample: {size: [13, 9], mode: bilinear}",
    "bilinear to one row (half_pixel, not pytorch_half_pixel)": "upsample: {size: [1, 4], mode: bilinear}",
    "bilinear align_corners to size": "upsample: {size: [3, 17], mode: bilinear, align_corners: true}",
}


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("layer", UPSAMPLE.values(), ids=UPSAMPLE.keys())
def test_upsample(layer, opset):
    net, model = check([layer], (3, 7, 6), opset=opset)
    assert "Resize" in ops(model)


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_upsample_to_the_size_of_another_layer(mode, opset):
    """FPN's top-down path: F.interpolate(x, size=lateral.shape[-2:])."""
    net, model = check(["conv: {name: lateral, filters: 4, kernel: 3, padding: 1}",
                        "conv: {name: top, filters: 4, kernel: 3, stride: 2}",
                        f"upsample: {{name: up, from: [top, lateral], mode: {mode}}}",
                        "add: {from: [up, lateral]}"], (3, 11, 10), opset=opset)
    assert net.analysis.layer("up").output_shape == (4, 11, 10)
    # ONNX shape inference forgets the batch symbol through Resize; the model keeps it
    floats = {v.name: v.type.tensor_type.shape.dim for v in model.graph.value_info
              if v.type.tensor_type.elem_type == 1}
    assert {"up", "lateral", "top"} <= set(floats)
    assert all(dims[0].dim_param == "batch" for dims in floats.values())


def test_crop_to_size_and_to_another_layer():
    # offsets: (9 - 4)/2 = 2.5 -> 2 (half to even), (10 - 7)/2 = 1.5 -> 2
    check(["crop: {size: [4, 7]}"], (3, 9, 10))
    check(["crop: {size: [9, 9]}"], (3, 9, 10))     # (10 - 9)/2 = 0.5 -> 0
    net, model = check(["conv: {name: small, filters: 2, kernel: 5}",
                        "crop: {name: cropped, from: [input, small]}",
                        "concat: {from: [small, cropped]}"], (3, 12, 11))
    assert net.analysis.layer("cropped").output_shape == (3, 8, 7)
    assert ops(model) == ["Conv", "Slice", "Concat"]


PADS = {
    "constant 1": "pad: {padding: 1}",
    "constant value [h, w]": "pad: {padding: [2, 1], value: -1.5}",
    "constant 4 sides": "pad: {padding: [0, 1, 2, 3]}",
    "reflect": "pad: {padding: [1, 2, 3, 4], mode: reflect}",
    "reflect at the limit": "pad: {padding: [4, 4, 5, 5], mode: reflect}",
    "replicate": "pad: {padding: [3, 0, 7, 1], mode: replicate}",
}


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("layer", PADS.values(), ids=PADS.keys())
def test_pad(layer, opset):
    check([layer], (2, 5, 6), opset=opset)


@pytest.mark.parametrize("keepdims", [False, True])
def test_global_maxpool(keepdims):
    net, model = check([f"global_maxpool: {{keepdims: {str(keepdims).lower()}}}"], (5, 6, 7))
    assert ops(model) == (["GlobalMaxPool"] if keepdims else ["GlobalMaxPool", "Flatten"])


ADAPTIVE = {
    "to 1": (1, (5, 7), ["Global{}Pool"]),
    "divides": ((3, 7), (6, 14), ["{}Pool"]),
    "7 of 10 (VGG at 320)": (7, (10, 10), None),
    "rows divide, columns do not": ((2, 3), (6, 7), None),
    "larger than the input": ((5, 9), (3, 4), None),
    "one row, many columns": ((1, 4), (5, 6), None),
}


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("kind", ["avg", "max"])
@pytest.mark.parametrize("size, hw, nodes", ADAPTIVE.values(), ids=ADAPTIVE.keys())
def test_adaptive_pool(size, hw, nodes, kind, opset):
    net, model = check([f"adaptive_{kind}pool: {{size: {list(size) if isinstance(size, tuple) else size}}}"],
                       (3, *hw), opset=opset)
    name = "Average" if kind == "avg" else "Max"
    if nodes:
        assert ops(model) == [n.format(name) for n in nodes]
    else:   # the decomposition: a fixed handful of nodes whatever the size
        assert len(ops(model)) <= 6 and "Gather" in ops(model)


def test_adaptive_decomposition_stays_small_for_large_outputs():
    net, model = check(["adaptive_avgpool: {size: [37, 61]}"], (2, 50, 100), batch=1)
    assert len(model.graph.node) <= 12


def test_slice_split_and_channel_shuffle():
    """ShuffleNetV2's unit: split the channels in two, transform one half, concat, shuffle."""
    net, model = check(["slice: {name: left, end: 3}",
                        "slice: {name: right, start: 3, from: input}",
                        "conv: {name: branch, filters: 3, kernel: 1, from: right}",
                        "concat: {from: [left, branch]}",
                        "channel_shuffle: {groups: 2}"], (6, 4, 5))
    assert ops(model) == ["Slice", "Slice", "Conv", "Concat", "Reshape", "Transpose", "Reshape"]


@pytest.mark.parametrize("groups", [1, 3, 4, 12])
def test_channel_shuffle_on_maps_and_vectors(groups):
    check([f"channel_shuffle: {{groups: {groups}}}"], (12, 3, 2))
    check(["flatten", "dense: {units: 12}", f"channel_shuffle: {{groups: {groups}}}"], (2, 2, 2))


def test_slice_of_a_vector():
    check(["flatten", "slice: {start: 2, end: 7}"], (2, 2, 2))


def test_identity_is_no_node_unless_an_output():
    net, model = check(["conv: {filters: 3, kernel: 1}", "identity", "relu"], (2, 4, 4))
    assert ops(model) == ["Conv", "Relu"]
    net, model = check(["conv: {filters: 3, kernel: 1}", "identity: {name: out}"], (2, 4, 4))
    assert ops(model) == ["Conv", "Identity"] and model.graph.output[0].name == "out"


def test_float16_graph():
    """Resize's scales stay float32 and Pad's value follows the graph's element type."""
    net = network(["upsample: {scale: 2, mode: bilinear}", "pad: {padding: 1, value: 2}",
                   "adaptive_avgpool: {size: 5}"], (2, 4, 4))
    model = build_model(net, dtype="float16", weights=random_weights())
    x = np.random.default_rng(5).standard_normal((1, 2, 4, 4)).astype(np.float16)
    np.testing.assert_allclose(run(model, x)[0], reference(net, model, x)[0], rtol=1e-2, atol=1e-2)


def test_openvino_runs_the_spatial_ops(tmp_path):
    """Portability: the same graphs in OpenVINO, a second runtime, give onnxruntime's outputs."""
    pytest.importorskip("openvino", reason="openvino is a test extra: pip install '.[test]'")
    from netc.onnx.build import write_model
    from test_onnx_openvino import openvino_run

    layers = ["conv_transpose: {name: up, filters: 6, kernel: 3, stride: 2, padding: 1, output_padding: 1}",
              "crop: {name: skip, from: [up, input]}",
              "conv: {name: proj, filters: 6, kernel: 1, from: input}",
              "concat: {from: [skip, proj]}",
              "pad: {padding: [1, 2, 0, 1], mode: reflect}",
              "upsample: {scale: 1.5, mode: bilinear}",
              "upsample: {name: back, from: [upsample1, up]}",
              "pad: {padding: 1, mode: replicate}",
              "adaptive_avgpool: {size: [5, 7]}",
              "slice: {name: half, start: 2, end: 8}",
              "channel_shuffle: {groups: 3}",
              "adaptive_maxpool: {size: 3}",
              "global_maxpool"]
    net = network(layers, (5, 7, 6))
    model = build_model(net, weights=random_weights())
    write_model(model, tmp_path / "m.onnx")
    x = np.random.default_rng(4).standard_normal((3, 5, 7, 6)).astype(np.float32)
    [ours] = reference(net, model, x)
    [got], [want] = openvino_run(tmp_path / "m.onnx", x), run(model, x)
    np.testing.assert_allclose(want, ours, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("mode", ["nearest", "bilinear", "bilinear, align_corners: true"])
def test_upsample_to_every_size_matches_pytorchs_index_rule(mode):
    """Every output size from 1 to 3N for N = 1..12, in one graph per N: onnxruntime's
    float mapping must land on PyTorch's source rows even where i*N/out is a whole number."""
    for n in range(1, 13):
        layers = [f"upsample: {{name: to{o}, size: [{o}, {(o % 5) + 1}], mode: {mode}, from: input}}"
                  for o in range(1, 3 * n + 1)]
        check(layers, (2, n, 3), outputs="[" + ", ".join(f"to{o}" for o in range(1, 3 * n + 1)) + "]", batch=1)


@pytest.mark.parametrize("mode", ["nearest", "bilinear", "bilinear, align_corners: true"])
def test_upsample_by_dyadic_scales_matches_pytorchs_index_rule(mode):
    """Scales exact in binary, N = 1..12: rows floor(i/s) (nearest) and (i + 0.5)/s - 0.5
    (bilinear), with PyTorch's special cases: 1.25 on 2 rows keeps 2 rows and copies them
    (onnxruntime would too); 2.25 on 2 rows gives 4, and nearest then reads i >> 1, not
    floor(i/2.25) (onnxruntime would read rows 0, 0, 0, 1 from the scale as written)."""
    scales = [0.25, 0.5, 0.75, 1.125, 1.25, 1.5, 1.75, 2, 2.125, 2.25, 2.5, 3, 3.75]
    for n in range(1, 13):
        names = [f"s{i}" for i, s in enumerate(scales) if n * s >= 1]
        layers = [f"upsample: {{name: s{i}, scale: [{s}, 1], mode: {mode}, from: input}}"
                  for i, s in enumerate(scales) if n * s >= 1]
        check(layers, (2, n, 3), outputs="[" + ", ".join(names) + "]", batch=1)
