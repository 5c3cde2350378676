"""Portability: netc's graphs load in OpenVINO, a second, independent runtime,
and give onnxruntime's outputs within float32 tolerance."""

import numpy as np
import pytest

import netc
from conftest import EXAMPLES
from netc.onnx.build import build_model, write_model
from onnx_reference import network, random_weights, run

ov = pytest.importorskip("openvino", reason="openvino is a test extra: pip install '.[test]'")
pytestmark = pytest.mark.slow

NETS = {
    "every op": (["conv: {name: a, filters: 6, kernel: 3, padding: 1, activation: leaky_relu}",
                  "batchnorm", "relu6",
                  "conv: {name: b, filters: 6, kernel: 3, padding: 1, groups: 3, from: input, activation: tanh}",
                  "add: {from: [a, b]}",
                  "concat: {name: cat, from: [add1, input]}",
                  "maxpool: {kernel: 3, stride: 2, padding: 1, ceil_mode: true}",
                  "avgpool: {kernel: 2, count_include_pad: true, padding: 1}",
                  "conv: {filters: 8, kernel: 3, dilation: 2, padding: same, activation: sigmoid}",
                  "global_avgpool", "dropout", "dense: {units: 7, activation: relu}", "dense: {units: 5}",
                  "softmax"], (3, 17, 17)),
    # ceil mode whose last window PyTorch drops (ONNX shape inference keeps it), and
    # windows past the padded input with padding counted: built in floor mode
    "ceil-mode edges": (["maxpool: {name: m, kernel: 3, padding: 1, ceil_mode: true}",
                         "avgpool: {kernel: 2, stride: 3, padding: 1, ceil_mode: true, "
                         "count_include_pad: true, from: input}",
                         "avgpool: {kernel: 3, stride: 2, padding: 1, ceil_mode: true, "
                         "count_include_pad: true, from: input}",
                         "maxpool: {kernel: 2, stride: 3, padding: 1, ceil_mode: true, from: m}"],
                        (2, 8, 8), "[m, avgpool1, avgpool2, maxpool1]"),
    # ceil mode, a kernel larger than the padded input: one window (PyTorch, onnxruntime)
    "kernel past the input": (["maxpool: {name: m, kernel: 4, ceil_mode: true}",
                               "avgpool: {kernel: 4, stride: 3, padding: 1, ceil_mode: true, "
                               "count_include_pad: true, from: input}"], (2, 1, 2), "[m, avgpool1]"),
}


def openvino_run(path, x):
    core = ov.Core()
    compiled = core.compile_model(core.read_model(str(path)), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    return [compiled([x])[out] for out in compiled.outputs]


@pytest.mark.parametrize("name", NETS)
def test_openvino_matches_onnxruntime(name, tmp_path):
    layers, shape, *outputs = NETS[name]
    model = build_model(network(layers, shape, *outputs), weights=random_weights())
    write_model(model, tmp_path / "m.onnx")
    x = np.random.default_rng(4).standard_normal((3, *shape)).astype(np.float32)
    got, want = openvino_run(tmp_path / "m.onnx", x), run(model, x)
    assert [g.shape for g in got] == [w.shape for w in want]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_openvino_runs_every_example(path, tmp_path):
    net = netc.load(path)
    model = build_model(net, check=False)          # test_onnx_build checks every example
    write_model(model, tmp_path / "m.onnx", external_data=True)
    x = np.random.default_rng(5).standard_normal((1, *net.graph.input_shape)).astype(np.float32)
    for got, want in zip(openvino_run(tmp_path / "m.onnx", x), run(model, x)):
        scale = max(1.0, float(np.abs(want).max()))
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * scale)


def test_padded_pointwise_conv_disagreement_is_as_documented(tmp_path):
    """docs/onnx.md and rule A007: relu then conv {kernel: 1, stride: 2, padding: 1} on 8x8
    is 5x5 in onnxruntime (and netc, and PyTorch: (8 + 2 - 1)//2 + 1) but 6x6 in OpenVINO.
    If this fails after an OpenVINO upgrade, the disagreement is gone: update the docs."""
    net = network(["relu", "conv: {filters: 2, kernel: 1, stride: 2, padding: 1}"], (1, 8, 8))
    model = build_model(net, weights=random_weights())
    write_model(model, tmp_path / "m.onnx")
    x = np.random.default_rng(0).standard_normal((1, 1, 8, 8)).astype(np.float32)
    assert net.layers[-1].output_shape == (2, 5, 5)
    assert run(model, x)[0].shape == (1, 2, 5, 5)
    assert openvino_run(tmp_path / "m.onnx", x)[0].shape == (1, 2, 6, 6), ov.__version__
