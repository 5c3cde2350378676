"""Every op, built by netc and run in onnxruntime, against the float64 numpy
reference of onnx_reference.py, for random inputs and random weights."""

import numpy as np
import pytest

from netc.onnx.build import build_model
from onnx_reference import ATOL, RTOL, network, random_weights, reference, run


def check(layers, shape, outputs=None, batch=2, **build):
    net = network(layers, shape, outputs)
    model = build_model(net, weights=random_weights(), **build)
    x = np.random.default_rng(7).standard_normal((batch, *shape)).astype(np.float32)
    got, want = run(model, x), reference(net, model, x)
    assert len(got) == len(want)
    for g, w_ in zip(got, want):
        assert g.shape == w_.shape
        np.testing.assert_allclose(g, w_, rtol=RTOL, atol=ATOL)
    return net, model


CONV = {
    "3x3 pad 1": "conv: {filters: 5, kernel: 3, padding: 1}",
    "stride 2 no pad": "conv: {filters: 4, kernel: 3, stride: 2}",
    "rect kernel, stride, pad, dilation": "conv: {filters: 3, kernel: [3, 5], stride: [2, 1], padding: [1, 2], dilation: [2, 1]}",
    "dilation 2 no bias": "conv: {filters: 6, kernel: 3, dilation: 2, padding: 2, bias: false}",
    "groups 2": "conv: {filters: 6, kernel: 3, groups: 2, padding: 1}",
    "depthwise": "conv: {filters: 4, kernel: 3, groups: 4, stride: 2, padding: 1}",
    "same, stride 2 (asymmetric pads)": "conv: {filters: 3, kernel: 4, stride: 2, padding: same}",
    "1x1": "conv: {filters: 7, kernel: 1}",
}


@pytest.mark.parametrize("layer", CONV.values(), ids=CONV.keys())
def test_conv(layer):
    check([layer], (4, 11, 10))


@pytest.mark.parametrize("act", ["relu", "relu6", "leaky_relu", "sigmoid", "tanh"])
def test_fused_activation_on_conv_and_dense(act):
    # scaled input so relu6 clips and leaky_relu sees negatives
    check([f"conv: {{filters: 4, kernel: 3, activation: {act}, init: {{constant: 1.5}}}}",
           "flatten", f"dense: {{units: 5, activation: {act}}}"], (2, 5, 5))


@pytest.mark.parametrize("layer", ["relu", "relu6", "sigmoid", "tanh", "leaky_relu",
                                   "leaky_relu: {slope: 0.2}", "softmax"])
def test_standalone_activations(layer):
    check(["conv: {filters: 3, kernel: 1, init: {constant: 4}}", layer], (3, 4, 4))   # 4-D
    check(["flatten", "dense: {units: 6, init: {constant: 3}}", layer], (2, 3, 3))    # 2-D


POOLS = {
    "max 2x2": "maxpool: {kernel: 2}",
    "max 3 s2": "maxpool: {kernel: 3, stride: 2}",
    "max 3 s2 ceil": "maxpool: {kernel: 3, stride: 2, ceil_mode: true}",
    "max 3 s2 pad 1": "maxpool: {kernel: 3, stride: 2, padding: 1}",
    "max 3 s2 pad 1 ceil": "maxpool: {kernel: 3, stride: 2, padding: 1, ceil_mode: true}",
    "max same": "maxpool: {kernel: 3, stride: 2, padding: same}",
    "avg 2x2": "avgpool: {kernel: 2}",
    "avg 3 s2 ceil": "avgpool: {kernel: 3, stride: 2, ceil_mode: true}",
    "avg 3 s2 pad 1": "avgpool: {kernel: 3, stride: 2, padding: 1}",
    "avg 3 s2 pad 1 ceil": "avgpool: {kernel: 3, stride: 2, padding: 1, ceil_mode: true}",
    "avg pad 1 include pad": "avgpool: {kernel: 3, stride: 2, padding: 1, count_include_pad: true}",
    "avg rect": "avgpool: {kernel: [2, 3], stride: [1, 2], padding: [1, 0]}",
}


@pytest.mark.parametrize("layer", POOLS.values(), ids=POOLS.keys())
def test_pool(layer):
    check([layer], (3, 8, 9))


def test_avgpool_ceil_with_padding_counted():
    """A ceil-mode window overhanging the padded input: the divisor is the window
    clipped to the padded input (PyTorch's rule)."""
    check(["avgpool: {kernel: 3, stride: 2, padding: 1, ceil_mode: true, count_include_pad: true}"], (2, 8, 8))


# ceil mode at the edges (issue 9): netc builds floor-mode pools whose end padding gives
# PyTorch's size, so that ONNX shape inference and every runtime agree on it
CEIL_EDGES = {
    "last window would start in the end padding": ("kernel: 2, stride: 3, padding: 1", (2, 5, 5)),
    "the same, 8x8 (stride = kernel 3)": ("kernel: 3, padding: 1", (2, 8, 8)),
    "overhang past the padded input": ("kernel: 3, stride: 2, padding: 1", (2, 8, 8)),
    "overhang, no padding": ("kernel: 3, stride: 2", (2, 8, 8)),
    "overhang on one axis only": ("kernel: [3, 2], stride: 2, padding: [1, 0]", (2, 8, 8)),
    "kernel larger than the padded input": ("kernel: 4", (2, 1, 1)),
    "kernel larger than the input, padded": ("kernel: 4, stride: 3, padding: 1", (2, 1, 2)),
}


@pytest.mark.parametrize("op", ["maxpool", "avgpool", "avgpool counted"])
@pytest.mark.parametrize("case", CEIL_EDGES, ids=CEIL_EDGES.keys())
def test_ceil_mode_edges_build_in_floor_mode(case, op):
    params, shape = CEIL_EDGES[case]
    extra = ", count_include_pad: true" if op.endswith("counted") else ""
    net, model = check([f"{op.split()[0]}: {{{params}, ceil_mode: true{extra}}}"], shape)
    pools = [n for n in model.graph.node if n.op_type in ("MaxPool", "AveragePool")]
    assert all(a.i == 0 for n in pools for a in n.attribute if a.name == "ceil_mode")
    # every pad below the kernel, as onnxruntime requires
    for n in pools:
        attrs = {a.name: list(a.ints) for a in n.attribute}
        k = attrs["kernel_shape"]
        assert all(pad < k[i % 2] for i, pad in enumerate(attrs["pads"]))


@pytest.mark.parametrize("opset", [13, 18, 19, 21])
def test_counted_avgpool_overhang_is_pad_then_pool(opset):
    """Pad (the layer's zeros, counted) then AveragePool with the overhang as uncounted
    padding; Pad gained an `axes` input at 18, AveragePool `dilations` at 19."""
    net, model = check(["avgpool: {kernel: 3, stride: 2, padding: [1, 0], ceil_mode: true, "
                        "count_include_pad: true}"], (2, 8, 8), opset=opset)
    assert [n.op_type for n in model.graph.node] == ["Constant", "Pad", "AveragePool"]


@pytest.mark.parametrize("keepdims", [False, True])
def test_global_avgpool(keepdims):
    net, model = check([f"global_avgpool: {{keepdims: {str(keepdims).lower()}}}"], (5, 6, 7))
    ops = [n.op_type for n in model.graph.node]
    assert ops == (["GlobalAveragePool"] if keepdims else ["GlobalAveragePool", "Flatten"])


def test_dense_with_and_without_bias():
    check(["flatten", "dense: {units: 7}", "dense: {units: 3, bias: false}"], (2, 3, 4))


def test_batchnorm_on_maps_and_vectors():
    check(["batchnorm", "flatten", "dense: {units: 5}", "batchnorm: {eps: 0.001}"], (4, 5, 5))


@pytest.mark.parametrize("layer", [
    "lrn: {size: 5}",                                           # AlexNet's, the defaults
    "lrn: {size: 3, alpha: 0.5, beta: 0.9, k: 2.0}",            # large enough to tell apart
    "lrn: {size: 1, alpha: 2.0}",
    "lrn: {size: 9, alpha: 1.0, beta: 0.5}",                    # wider than the 7 channels
])
def test_lrn_agrees_with_pytorch_s_definition(layer):
    """onnxruntime's LRN against PyTorch's LocalResponseNorm written in numpy (alpha
    divided by size, the window centred and zero padded): odd sizes agree."""
    check(["conv: {filters: 7, kernel: 3, padding: 1, init: {constant: 0.7}}", layer], (3, 6, 5))


def test_add_and_concat():
    check(["conv: {name: a, filters: 4, kernel: 3, padding: 1}",
           "conv: {name: b, filters: 4, kernel: 1, from: input}",
           "conv: {name: c, filters: 4, kernel: 3, padding: 1, from: input}",
           "add: {name: sum2, from: [a, b]}",
           "add: {name: sum3, from: [a, b, c]}",
           "concat: {name: cat, from: [sum2, sum3, input]}"], (3, 6, 6), outputs="[cat, sum3]")


def test_dropout_is_absent_from_the_inference_graph():
    net, model = check(["conv: {filters: 4, kernel: 3}", "dropout: {rate: 0.5}", "relu"], (3, 6, 6))
    assert [n.op_type for n in model.graph.node] == ["Conv", "Relu"]
    # a dropout that is an output is an Identity carrying its name
    net, model = check(["conv: {filters: 4, kernel: 3}", "dropout: {name: drop}"], (3, 6, 6))
    assert [n.op_type for n in model.graph.node] == ["Conv", "Identity"]
    assert model.graph.output[0].name == "drop"


def test_fold_batchnorm_computes_the_same_function():
    layers = ["conv: {filters: 6, kernel: 3, padding: 1}", "batchnorm: {eps: 0.001}", "relu",
              "conv: {filters: 5, kernel: 3, bias: false}", "batchnorm",
              "conv: {filters: 4, kernel: 1, activation: relu}", "batchnorm"]   # fused relu: not foldable
    net = network(layers, (3, 8, 8))
    x = np.random.default_rng(3).standard_normal((2, 3, 8, 8)).astype(np.float32)
    plain = build_model(net, weights=random_weights())
    folded = build_model(net, weights=random_weights(), fold_batchnorm=True)
    assert [n.op_type for n in folded.graph.node] == ["Conv", "Relu", "Conv", "Conv", "Relu", "BatchNormalization"]
    np.testing.assert_allclose(run(folded, x)[0], reference(net, plain, x)[0], rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(run(folded, x)[0], run(plain, x)[0], rtol=RTOL, atol=ATOL)
