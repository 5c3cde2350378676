"""Shape, parameter and FLOP rules of issue 10's activations, broadcasting add/mul,
layernorm and scale, against hand arithmetic (docs/conventions.md's table)."""

import itertools

import numpy as np
import pytest

import netc
from netc.diagnostics import NetcError
from netc.initializers import resolve


def one(layer: str, shape=(4, 3, 5)):
    net = netc.loads(f"netc: 1\ninput: {{shape: {list(shape)}}}\nlayers:\n  - {layer}\n", "t.yaml")
    return net.layers[-1]


@pytest.mark.parametrize("op, flops_per_element", [
    ("silu", 5), ("hardswish", 5), ("hardsigmoid", 4), ("gelu", 5), ("gelu: {approximate: tanh}", 13),
    ("mish", 9), ("prelu", 2),
])
def test_activation_flops(op, flops_per_element):
    r = one(op)
    assert r.output_shape == (4, 3, 5) and r.macs == 0
    assert r.flops == flops_per_element * 60


def test_prelu_params_per_channel_or_shared():
    assert one("prelu").params == 4                         # one slope per channel
    assert one("prelu: {shared: true}").params == 1
    assert one("prelu", shape=(10,)).params == 10


def test_fused_prelu_adds_one_slope_per_output_channel():
    r = one("conv: {filters: 6, kernel: 3, activation: prelu}", shape=(4, 7, 7))
    assert r.params == 6 * 4 * 9 + 6 + 6
    assert r.macs == 6 * 4 * 9 * 5 * 5
    assert r.flops == 2 * r.macs + 6 * 25 + 2 * 6 * 25
    r = one("dense: {units: 3, activation: prelu, bias: false}", shape=(10,))
    assert (r.params, r.flops) == (30 + 3, 2 * 30 + 2 * 3)


@pytest.mark.parametrize("act, per_element", [("silu", 5), ("hardswish", 5), ("gelu_tanh", 13),
                                              ("mish", 9), ("hardsigmoid", 4)])
def test_fused_activation_flops(act, per_element):
    r = one(f"conv: {{filters: 2, kernel: 1, activation: {act}}}", shape=(3, 4, 4))
    assert r.params == 2 * 3 + 2
    assert r.flops == 2 * (2 * 3 * 16) + 2 * 16 + per_element * 2 * 16


def test_unknown_fused_activation_suggests_a_name():
    with pytest.raises(NetcError, match="did you mean 'hardswish'"):
        one("conv: {filters: 2, kernel: 1, activation: hardswsh}")


@pytest.mark.parametrize("act, scheme", [
    ("relu", "he_normal"), ("leaky_relu", "he_normal"), ("prelu", "he_normal"), ("silu", "he_normal"),
    ("hardswish", "he_normal"), ("gelu", "he_normal"), ("gelu_tanh", "he_normal"), ("mish", "he_normal"),
    ("hardsigmoid", "xavier_uniform"), ("sigmoid", "xavier_uniform"), ("none", "xavier_uniform"),
])
def test_auto_init(act, scheme):
    assert resolve("auto", act) == scheme


# -- broadcasting -----------------------------------------------------------------

def two(a, b, op="mul"):
    """``op`` of two layers with the given output shapes (vectors by global_avgpool)."""
    def make(name, shape):
        if len(shape) == 1:
            return [f"conv: {{name: {name}_map, filters: {shape[0]}, kernel: 1, from: input}}",
                    f"global_avgpool: {{name: {name}, from: {name}_map}}"]
        c, h, w = shape
        return [f"conv: {{name: {name}, filters: {c}, kernel: [{7 - h}, {7 - w}], from: input}}"]
    layers = make("a", a) + make("b", b) + [f"{op}: {{from: [a, b]}}"]
    text = "netc: 1\ninput: {shape: [2, 6, 6]}\nlayers:\n" + "".join(f"  - {x}\n" for x in layers)
    return netc.loads(text, "t.yaml").layers[-1]


SHAPES = [(1,), (3,), (4,), (1, 1, 1), (3, 1, 1), (4, 1, 1), (1, 5, 6), (3, 5, 6), (4, 5, 6),
          (3, 5, 1), (3, 1, 6), (1, 5, 1), (3, 4, 6)]


@pytest.mark.parametrize("a, b", list(itertools.combinations_with_replacement(SHAPES, 2)))
def test_broadcast_agrees_with_numpy_after_the_vector_rule(a, b):
    """Every pair: netc's shape is numpy's broadcast of the batch-less shapes, once a
    vector beside a map is written (C, 1, 1); numpy's refusal is netc's shape error."""
    rank = max(len(a), len(b))
    pa, pb = (s + (1,) * (rank - len(s)) for s in (a, b))
    try:
        want = np.broadcast_shapes(pa, pb)
    except ValueError:
        with pytest.raises(NetcError, match="cannot broadcast its inputs"):
            two(a, b)
        return
    r = two(a, b)
    assert r.output_shape == want
    assert r.flops == int(np.prod(want))


def test_se_gate_shapes_and_costs():
    net = netc.loads("""netc: 1
input: {shape: [8, 5, 5]}
layers:
  - global_avgpool: {name: squeeze}
  - dense: {name: fc, units: 8, activation: sigmoid}
  - mul: {name: gate, from: [input, fc]}
  - add: {name: res, from: [gate, input, fc]}
""", "t.yaml")
    gate, res = net.layers[2], net.layers[3]
    assert gate.output_shape == (8, 5, 5) and gate.flops == 200 and gate.params == 0
    assert res.output_shape == (8, 5, 5) and res.flops == 2 * 200
    # the gate sees the whole map, but neighbouring outputs are still one pixel apart
    assert gate.field.size == (5, 5) and gate.field.jump == (1, 1)


@pytest.mark.parametrize("layers, line, message", [
    (["global_avgpool", "dense: {units: 4}", "mul: {from: [input, dense1]}"], 6,
     "mul1: mul cannot broadcast its inputs: channels 4 and 8 differ; each dimension must be equal "
     "or 1 (a vector (C,) beside a map counts as (C, 1, 1)) (inputs: input (8, 5, 5), dense1 (4,))"),
    (["conv: {filters: 8, kernel: 2}", "add: {from: [input, conv1]}"], 5,
     "add1: add cannot broadcast its inputs: height 4 and 5 differ; each dimension must be equal "
     "or 1 (inputs: input (8, 5, 5), conv1 (8, 4, 4))"),
    (["global_avgpool", "dense: {units: 3}", "mul: {from: [global_avgpool1, dense1]}"], 6,
     "mul1: mul cannot broadcast its inputs: features 3 and 8 differ; each dimension must be equal "
     "or 1 (inputs: global_avgpool1 (8,), dense1 (3,))"),
])
def test_broadcast_errors_name_the_layer_its_inputs_and_position(layers, line, message):
    text = "netc: 1\ninput: {shape: [8, 5, 5]}\nlayers:\n" + "".join(f"  - {x}\n" for x in layers)
    with pytest.raises(NetcError) as e:
        netc.loads(text, "t.yaml")
    assert str(e.value) == f"t.yaml:{line}:5: error[E004]: {message}"


# -- layernorm and scale -------------------------------------------------------------

def test_layernorm_counts():
    r = one("layernorm")                                  # (4, 3, 5): 15 positions of 4 channels
    assert r.output_shape == (4, 3, 5)
    assert (r.params, r.buffers, r.macs) == (8, 0, 0)
    assert r.flops == 7 * 60 + 5 * 15
    assert one("layernorm: {affine: false}").flops == 5 * 60 + 5 * 15
    assert one("layernorm: {affine: false}").params == 0
    r = one("layernorm: {eps: 1e-6}", shape=(10,))
    assert (r.params, r.flops) == (20, 7 * 10 + 5)


def test_scale_counts():
    r = one("scale: {value: 1e-6}")
    assert (r.output_shape, r.params, r.flops) == ((4, 3, 5), 4, 60)
    r = one("scale: {bias: true}", shape=(10,))
    assert (r.params, r.flops) == (20, 20)


# -- the linter sees the new activations ----------------------------------------------

def lint_codes(write, layers, code):
    from netc.lint import Config, lint_file
    text = "netc: 1\ninput: {shape: [3, 32, 32]}\nlayers:\n" + "".join(f"  - {x}\n" for x in layers)
    return [d.message for d in lint_file(write(text), Config()) if d.code == code]


def test_d003_he_for_the_smooth_relus(write):
    # init auto looks through to the silu layer after the conv and picks He: nothing to say
    assert not lint_codes(write, ["conv: {filters: 32, kernel: 3}", "batchnorm", "silu"], "D003")
    [m] = lint_codes(write, ["conv: {filters: 32, kernel: 3, activation: gelu, init: xavier_uniform}"], "D003")
    assert m == "conv1: xavier_uniform with gelu: the ReLU family wants He initialization (he_normal)"
    assert not lint_codes(write, ["conv: {filters: 32, kernel: 3, activation: hardswish}"], "D003")
    assert not lint_codes(write, ["conv: {filters: 32, kernel: 3}", "batchnorm", "mish"], "D003")


def test_d008_sees_through_scale(write):
    [m] = lint_codes(write, ["global_avgpool", "dense: {units: 64}", "scale: {bias: true}",
                             "dense: {units: 10}"], "D008")
    assert m.startswith("dense1 has no activation and feeds dense dense2")
    assert not lint_codes(write, ["global_avgpool", "dense: {units: 64}", "prelu",
                                  "dense: {units: 10}"], "D008")


def test_d004_a_gate_does_not_add_its_sigmoid_to_the_main_path(write):
    """Squeeze-and-excitation: the sigmoid is on the gate; the mul's gated input keeps its count."""
    blocks = []
    for i in range(5):
        blocks += [f"conv: {{name: c{i}, filters: 32, kernel: 3, padding: 1, activation: relu}}",
                   f"global_avgpool: {{name: p{i}, keepdims: true}}",
                   f"conv: {{name: g{i}, filters: 32, kernel: 1, activation: sigmoid}}",
                   f"mul: {{name: m{i}, from: [c{i}, g{i}]}}"]
    assert not lint_codes(write, blocks + ["global_avgpool", "dense: {units: 10}"], "D004")
    # the same five sigmoids in a row do vanish
    chain = ["conv: {filters: 32, kernel: 3, padding: 1, activation: sigmoid}"] * 5
    assert lint_codes(write, chain + ["global_avgpool", "dense: {units: 10}"], "D004")


def test_hardsigmoid_saturates_like_sigmoid(write):
    [m] = lint_codes(write, ["conv: {filters: 32, kernel: 3, activation: hardsigmoid, init: he_normal}"], "D003")
    assert m == "conv1: he_normal with hardsigmoid: He's variance saturates hardsigmoid; use xavier_uniform"
    chain = ["conv: {filters: 32, kernel: 3, padding: 1}", "hardsigmoid"] * 4
    [m] = lint_codes(write, chain + ["global_avgpool", "dense: {units: 10}"], "D004")
    assert m.startswith("hardsigmoid4: 4 sigmoid/tanh layers on one path")
