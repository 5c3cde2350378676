"""The activations, broadcasting add/mul, layernorm and scale of issue 10, built by
netc and run in onnxruntime, against the float64 numpy reference of
onnx_reference.py, at every opset from 13 to the newest onnxruntime runs (the
lowering changes at 14 HardSwish, 17 LayerNormalization, 18 Mish, 20 Gelu)."""

import numpy as np
import pytest
from onnx import helper

from netc.onnx.build import RuntimeUnsupported, build_model, check_runtime_support, max_opset
from onnx_reference import ATOL, RTOL, network, random_weights, reference, run


def newest_runnable_opset() -> int:
    for opset in range(max_opset(), 12, -1):
        try:
            check_runtime_support(opset, helper.find_min_ir_version_for([helper.make_opsetid("", opset)]))
            return opset
        except RuntimeUnsupported:
            continue
    raise AssertionError("onnxruntime runs no opset netc emits")


NEWEST = newest_runnable_opset()
OPSETS = list(range(13, NEWEST + 1))
NEW_ACTIVATIONS = ["prelu", "hardsigmoid", "hardswish", "silu", "gelu", "gelu_tanh", "mish"]


def check(layers, shape, opset, outputs=None, scale=1.0):
    """Build at ``opset``, run on a (2, *shape) input times ``scale``; compare with the
    reference. Every initializer element is one of netc's parameters."""
    net = network(layers, shape, outputs)
    model = build_model(net, weights=random_weights(), opset=opset)
    assert model.opset_import[0].version == opset
    x = (scale * np.random.default_rng(7).standard_normal((2, *shape))).astype(np.float32)
    got, want = run(model, x), reference(net, model, x)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=RTOL, atol=ATOL)
    assert sum(int(np.prod(t.dims)) for t in model.graph.initializer) == net.totals.params
    return net, model


def op_types(model):
    return [n.op_type for n in model.graph.node if n.op_type != "Constant"]


def standalone(act):
    return "gelu: {approximate: tanh}" if act == "gelu_tanh" else act


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("act", NEW_ACTIVATIONS)
def test_standalone_activation(act, opset):
    # scale 4: inputs well past hardswish's and hardsigmoid's knees at -3 and 3
    check([standalone(act)], (3, 4, 5), opset, scale=4.0)                       # 4-D
    check(["flatten", "dense: {units: 6}", standalone(act)], (2, 3, 3), opset)   # 2-D


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("act", NEW_ACTIVATIONS)
def test_fused_activation_on_conv_and_dense(act, opset):
    check([f"conv: {{filters: 4, kernel: 3, activation: {act}}}", "flatten",
           f"dense: {{units: 5, activation: {act}}}"], (2, 5, 5), opset, scale=4.0)


def test_prelu_shared_and_initial_slope():
    net, model = check(["prelu: {shared: true}", "prelu: {slope: 0.1}"], (3, 4, 4), 17, scale=2.0)
    slopes = {t.name: list(t.dims) for t in model.graph.initializer}
    assert slopes == {"prelu1.slope": [1, 1, 1], "prelu2.slope": [3, 1, 1]}
    # with the seeded init, the slopes are the initial value, as PyTorch's
    model = build_model(net, opset=17)
    from onnx import numpy_helper
    values = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    assert np.all(values["prelu1.slope"] == 0.25) and np.all(values["prelu2.slope"] == np.float32(0.1))


@pytest.mark.parametrize("act, below, single, since", [
    ("hardswish", ["HardSigmoid", "Mul"], ["HardSwish"], 14),
    ("mish", ["Softplus", "Tanh", "Mul"], ["Mish"], 18),
    ("gelu", ["Div", "Erf", "Mul", "Add", "Mul"], ["Gelu"], 20),
    ("gelu_tanh", ["Mul", "Mul", "Mul", "Add", "Mul", "Tanh", "Mul", "Add", "Mul"], ["Gelu"], 20),
])
def test_single_node_from_its_opset_decomposition_below(act, below, single, since):
    assert op_types(build_model(network([standalone(act)], (2, 3, 3)), opset=since - 1)) == below
    assert op_types(build_model(network([standalone(act)], (2, 3, 3)), opset=since)) == single


def test_fixed_lowerings():
    assert op_types(build_model(network(["silu"], (2, 3, 3)), opset=NEWEST)) == ["Sigmoid", "Mul"]
    model = build_model(network(["hardsigmoid"], (2, 3, 3)), opset=13)
    (node,) = model.graph.node
    assert {a.name: round(a.f, 7) for a in node.attribute} == {"alpha": round(1 / 6, 7), "beta": 0.5}


# -- broadcasting add and mul ----------------------------------------------------

SE = ["global_avgpool: {name: squeeze}",
      "dense: {name: reduce, units: 2, activation: relu}",
      "dense: {name: expand, units: 6, activation: hardsigmoid}",
      "mul: {name: excite, from: [input, expand]}"]


@pytest.mark.parametrize("opset", [13, NEWEST])
def test_squeeze_and_excitation_vector_gate(opset):
    net, model = check(SE, (6, 5, 4), opset, scale=3.0)
    assert net.layers[-1].output_shape == (6, 5, 4)
    assert op_types(model)[-2:] == ["Unsqueeze", "Mul"]


@pytest.mark.parametrize("opset", [13, NEWEST])
def test_broadcast_keepdims_gate_spatial_map_and_vectors(opset):
    check(["global_avgpool: {name: g, keepdims: true}",
           "conv: {name: gate, filters: 6, kernel: 1, activation: sigmoid}",
           "mul: {name: m1, from: [input, gate]}",                 # (6, 5, 4) * (6, 1, 1)
           "conv: {name: spatial, filters: 1, kernel: 3, padding: 1, from: input}",
           "mul: {name: m2, from: [spatial, m1]}",                 # (1, 5, 4) * (6, 5, 4)
           "global_avgpool: {name: v, from: input}",
           "add: {name: a3, from: [m2, v, gate]}",                 # three inputs: Sum
           "dense: {name: one, units: 1, from: v}",
           "mul: {name: vv, from: [v, one, v]}",                   # vectors: (6,) * (1,) * (6,)
           "add: {name: outer, from: [gate, spatial]}"],           # (6, 1, 1) + (1, 5, 4)
          (6, 5, 4), opset, outputs="[a3, vv, outer]")


@pytest.mark.parametrize("opset", OPSETS)
def test_layernorm_on_maps_and_vectors(opset):
    net, model = check(["conv: {filters: 5, kernel: 3}", "layernorm: {eps: 1e-6}",
                        "layernorm: {affine: false, name: plain}",
                        "flatten", "dense: {units: 7}", "layernorm", "layernorm: {affine: false}"],
                       (3, 6, 5), opset, scale=3.0)
    ops = op_types(model)
    if opset >= 17:
        assert ops.count("LayerNormalization") == 4 and "ReduceMean" not in ops
        assert ops[1:4] == ["Transpose", "LayerNormalization", "Transpose"]
    else:
        assert "LayerNormalization" not in ops and ops.count("ReduceMean") == 8


@pytest.mark.parametrize("opset", [13, NEWEST])
def test_scale_with_and_without_shift(opset):
    net, model = check(["conv: {filters: 4, kernel: 3}", "scale: {value: 1e-6}",
                        "scale: {bias: true}", "global_avgpool", "scale", "scale: {bias: true}"],
                       (3, 6, 6), opset)
    dims = {t.name: list(t.dims) for t in model.graph.initializer if t.name.startswith("scale")}
    assert dims == {"scale1.weight": [4, 1, 1], "scale2.weight": [4, 1, 1], "scale2.bias": [4, 1, 1],
                    "scale3.weight": [4], "scale4.weight": [4], "scale4.bias": [4]}


EVERY_NEW_OP = (["conv: {name: a, filters: 6, kernel: 3, padding: 1, activation: hardswish}",
                 "layernorm: {eps: 1e-6}", "prelu", "silu", "mish",
                 "conv: {name: b, filters: 6, kernel: 3, padding: 1, activation: gelu_tanh}",
                 "gelu", "scale: {value: 0.5, bias: true}", "global_avgpool: {name: squeeze}",
                 "dense: {units: 3, activation: prelu}", "dense: {units: 6, activation: hardsigmoid}",
                 "mul: {name: gated, from: [b, dense2]}", "add: {from: [gated, a, squeeze]}",
                 "layernorm: {affine: false}", "global_avgpool", "layernorm",
                 "dense: {units: 4, activation: mish}"], (3, 9, 9))


@pytest.mark.parametrize("opset", [13, 17, 20, NEWEST])
def test_openvino_agrees(opset, tmp_path):
    """A second, independent runtime loads the same files and computes the same."""
    ov = pytest.importorskip("openvino", reason="openvino is a test extra: pip install '.[test]'")
    from netc.onnx.build import write_model

    net, model = check(*EVERY_NEW_OP, opset, scale=3.0)
    write_model(model, tmp_path / "m.onnx")
    core = ov.Core()
    compiled = core.compile_model(core.read_model(str(tmp_path / "m.onnx")), "CPU",
                                  {"INFERENCE_PRECISION_HINT": "f32"})
    x = (3.0 * np.random.default_rng(7).standard_normal((2, 3, 9, 9))).astype(np.float32)
    np.testing.assert_allclose(compiled([x])[compiled.outputs[0]], run(model, x)[0], rtol=RTOL, atol=ATOL)
