"""The language: defaults, blocks, repeat, names and from; errors point at the file."""

import pytest

import netc
from netc.diagnostics import NetcError

HEAD = "netc: 1\ninput: {shape: [3, 32, 32]}\n"


def load(body: str):
    return netc.loads(HEAD + body, "n.yaml")


def error(body: str) -> NetcError:
    with pytest.raises(NetcError) as e:
        load(body)
    return e.value


def test_defaults_are_overridden_per_layer():
    net = load("defaults:\n  conv: {kernel: 3, padding: 1, bias: false}\nlayers:\n"
               "  - conv: {filters: 8}\n  - conv: {filters: 8, kernel: 1, padding: 0}\n")
    a, b = net.graph.nodes
    assert a.params["kernel"] == 3 and a.params["bias"] is False
    assert b.params["kernel"] == 1 and b.params["padding"] == 0
    assert a.param_spans["kernel"].line == 4        # the value came from defaults:
    assert b.param_spans["kernel"].line == 7


def test_auto_names_skip_explicit_ones():
    net = load("layers:\n  - relu: {name: relu1}\n  - relu\n  - relu\n")
    assert [n.name for n in net.graph.nodes] == ["relu1", "relu2", "relu3"]


def test_auto_names_of_ops_ending_in_a_digit():
    net = load("layers:\n  - relu6\n  - relu6\n")
    assert [n.name for n in net.graph.nodes] == ["relu6_1", "relu6_2"]


def test_repeat_names_do_not_depend_on_the_count():
    net = load("layers:\n  - relu: {name: r, repeat: 1}\n")
    assert [n.name for n in net.graph.nodes] == ["r.0"]


def test_repeat_zero_passes_the_input_through():
    net = load("blocks:\n  stage:\n    params: {n: null}\n    layers:\n      - tanh\n"
               "      - relu: {name: rest, repeat: n - 1}\nlayers:\n  - stage: {n: 1}\n  - sigmoid\n")
    assert [n.name for n in net.graph.nodes] == ["stage1.tanh1", "sigmoid1"]
    assert net.graph.node("sigmoid1").inputs == ["stage1.tanh1"]


def test_repeat_chains_copies():
    net = load("layers:\n  - conv: {name: c, filters: 4, kernel: 3, repeat: 3}\n  - relu\n")
    nodes = net.graph.nodes
    assert [n.name for n in nodes] == ["c.0", "c.1", "c.2", "relu1"]
    assert [n.inputs for n in nodes] == [["input"], ["c.0"], ["c.1"], ["c.2"]]
    assert net.layers[2].output_shape == (4, 26, 26)


def test_from_wires_by_name_and_forward_references_work():
    net = load("layers:\n  - conv: {name: a, filters: 4, kernel: 1, from: b}\n"
               "  - conv: {name: b, filters: 4, kernel: 1, from: input}\n")
    assert [n.name for n in net.graph.nodes] == ["b", "a"]      # topological order
    assert net.graph.outputs == ["b"]                            # the last layer written


def test_outputs_key():
    net = load("layers:\n  - relu: {name: a}\n  - tanh: {name: b, from: input}\noutputs: [a, b]\n")
    assert net.graph.outputs == ["a", "b"]


BLOCK = """blocks:
  unit:
    params: {width: null, stride: 1, act: relu}
    layers:
      - conv: {filters: width * 2, kernel: 3, stride: stride, padding: 1, activation: act}
      - conv: {name: proj, filters: width * 2, kernel: 1, stride: stride, from: input}
      - add: {from: [conv1, proj]}
"""


def test_blocks_expand_with_parameters_and_dotted_names():
    net = load(BLOCK + "layers:\n  - unit: {width: 4, stride: 2, name: s, repeat: 2}\n"
               "  - unit: {width: 8, act: tanh}\n")
    names = [n.name for n in net.graph.nodes]
    assert names[:3] == ["s.0.conv1", "s.0.proj", "s.0.add1"]
    assert "s.1.add1" in names and names[-1] == "unit1.add1"
    assert net.analysis.layer("s.1.conv1").output_shape == (8, 8, 8)
    assert net.graph.node("s.1.proj").inputs == ["s.0.add1"]
    assert net.graph.node("unit1.conv1").params["activation"] == "tanh"
    assert net.layers[-1].output_shape == (16, 8, 8)
    assert net.graph.blocks_used == {"unit"}


def test_block_param_defaults_may_use_earlier_params():
    net = load("blocks:\n  b:\n    params: {w: null, hidden: w * 4}\n    layers:\n"
               "      - conv: {filters: hidden, kernel: 1}\nlayers:\n  - b: {w: 3}\n")
    assert net.layers[0].output_shape == (12, 32, 32)


def test_error_inside_block_names_both_places():
    e = error(BLOCK + "layers:\n  - unit: {width: 4}\n  - unit: {width: 0}\n")
    d = e.diagnostics[0]
    assert (d.span.line, d.span.col) == (7, 25)               # "width * 2", in the block
    assert "conv filters: must be at least 1, got 0" in d.message
    assert [(s.line, s.col) for s, _ in d.notes] == [(12, 5)]  # the second use
    assert "unit2" in d.notes[0][1]


@pytest.mark.parametrize("body, where, words", [
    # where: (line, text at which the reported column must point)
    ("layers:\n  - conv: {filter: 8, kernel: 3}\n", (4, "filter"), "did you mean 'filters'"),
    ("layers:\n  - cnov: {filters: 8}\n", (4, "cnov"), "unknown op or block 'cnov'; did you mean 'conv'"),
    ("layers:\n  - conv: {filters: 8, kernel: 3, from: cnv}\n", (4, "cnv"), "unknown layer 'cnv'"),
    ("layers:\n  - conv: {filters: 8, kernel: 3, activation: reul}\n", (4, "reul"), "did you mean 'relu'"),
    ("layers:\n  - conv: {filters: 8}\n", (4, "conv"), "conv needs 'kernel'"),
    ("layers:\n  - conv: {filters: width, kernel: 3}\n", (4, "width"),
     "unknown name 'width' (no parameters are in scope: declare them under 'params:')"),
    ("layers:\n  - conv: {filters: 1000000000000, kernel: 3}\n", (4, "1000"), "at most 1,048,576"),
    ("layers:\n  - relu: {name: a}\n  - relu: {name: a}\n", (5, "a}"), "already used"),
    ("layers:\n  - relu: {name: a, from: b}\n  - relu: {name: b, from: a}\n", (4, "relu"), "cycle"),
    ("layers:\n  - add: {from: input}\n", (4, "input"), "add takes at least 2 inputs, got 1"),
    ("layers:\n  - relu: {repeat: -1}\n", (4, "-1"), "repeat must be an integer from 0 to 10,000"),
    ("layers:\n  - add: {from: [input, input], repeat: 0}\n", (4, "0}"), "passes one input through"),
    ("layers:\n  - conv: {filters: 8, kernel: 33}\n", (4, "33"), "larger than the padded input 32"),
    ("layers:\n  - maxpool: {kernel: 2, stride: 64}\n  - conv: {filters: 1, kernel: 2}\n", (5, "2}"),
     "output would be 0"),
    ("blocks:\n  b: {params: {w: 1}, layers: [relu]}\nlayers:\n  - b: {x: 1}\n", (6, "x"),
     "block 'b' has no parameter 'x'"),
    ("blocks:\n  b: {params: {w: null}, layers: [relu]}\nlayers:\n  - b\n", (6, "b"), "needs parameter 'w'"),
    ("blocks:\n  a: {layers: [b]}\n  b: {layers: [a]}\nlayers:\n  - a\n", (5, "a]"), "uses itself (a -> b -> a)"),
    ("layers: []\n", (3, "[]"), "should be non-empty"),
    ("layers:\n  - {conv: {}, relu: {}}\n", (4, "{"), "a layer is one op or block name"),
    ("input: {shape: [3, 0, 32]}\nlayers: [relu]\n", (3, "input"), "duplicate key 'input'"),
])
def test_errors_point_at_the_file(body, where, words):
    d = error(body).diagnostics[0]
    assert words in d.message, d.message
    line, marker = where
    text = (HEAD + body).splitlines()[line - 1]
    assert (d.span.line, d.span.col) == (line, text.index(marker) + 1), d.format()
    assert d.span.file == "n.yaml"


def test_schema_errors_are_all_reported_in_file_order():
    e = error("layers:\n  - conv: {filtrs: 8, kernel: 3}\n  - maxpool: {kernal: 2}\n")
    assert [(d.span.line, d.code) for d in e.diagnostics] == [(4, "E002"), (5, "E002")]


def test_repeat_bombs_are_bounded():
    d = error("blocks:\n  a: {layers: [{relu: {repeat: 10000}}]}\nlayers:\n  - a: {repeat: 10000}\n").diagnostics[0]
    assert "more than 20,000 layers" in d.message and d.code == "E005"


def test_the_first_version_key_is_required():
    d = netc.NetcError
    with pytest.raises(d, match="format version"):
        netc.loads("input: {shape: [3, 8, 8]}\nlayers: [relu]\n", "v.yaml")
    with pytest.raises(d, match="'netc' is 2"):
        netc.loads("netc: 2\ninput: {shape: [3, 8, 8]}\nlayers: [relu]\n", "v.yaml")


# --------------------------------------------------------------------------- every error in one run

def test_six_independent_mistakes_are_reported_in_one_run():
    from conftest import ROOT

    path = ROOT / "tests" / "data" / "six_mistakes.yaml"
    with pytest.raises(NetcError) as e:
        netc.load(path)
    found = [(d.span.line, d.code, d.message) for d in e.value.diagnostics]
    assert [(line, code) for line, code, _ in found] == [
        (12, "E002"), (13, "E003"), (14, "E003"), (15, "E002"), (16, "E002"), (17, "E003")]
    words = ["activation: unknown value 'rleu'; did you mean 'relu'?",
             "block 'unit' has no parameter 'strides'; did you mean 'stride'?",
             "block 'unit' needs parameter 'width'",
             "mode: unknown value 'bilinar'; did you mean 'bilinear'?",
             "unknown key 'kernal' for conv; did you mean 'kernel'?",
             "unknown layer 'stme' in 'from'; did you mean 'stem'?"]
    for (_, _, message), w in zip(found, words):
        assert w in message


def test_an_unknown_op_does_not_hide_bad_values_elsewhere():
    e = error("blocks:\n  b:\n    layers:\n      - conv: {filters: 4, kernel: 3, init: he_nromal}\n"
              "layers:\n  - frobnicate\n  - conv: {filters: 8, kernel: 3, stride: two}\n  - b\n"
              "  - maxpool: {kernel: 2, ceil_mode: maybe}\n")
    assert [(d.span.line, d.code) for d in e.diagnostics] == [(6, "E002"), (8, "E003"), (9, "E002"),
                                                              (11, "E002")]
    assert "unknown op or block 'frobnicate'" in e.diagnostics[1].message
    assert "in block instance 'b1'" in e.diagnostics[0].notes[0][1]


def test_a_dependent_error_waits_for_its_cause():
    # the misspelt kernel is the error; 'conv needs kernel' follows from it and is not reported,
    # nor is the add's shape mismatch that the layer standing in for the broken conv causes
    e = error("layers:\n  - conv: {name: a, filters: 8, kernel: 3, padding: 1}\n"
              "  - conv: {filters: 16, kernal: 3}\n  - add: {from: [a, conv1]}\n")
    assert [(d.span.line, d.code) for d in e.diagnostics] == [(5, "E002")]
    e = error("layers:\n  - conv: {name: a, filters: 8, kernel: 3, activation: rleu}\n"
              "  - conv: {filters: \"a.channels * 2\", kernel: 1}\n  - add: {from: [a, conv1]}\n")
    assert [(d.span.line, d.code) for d in e.diagnostics] == [(4, "E002")]


def test_a_block_error_is_reported_once_for_all_its_instances():
    e = error("blocks:\n  b:\n    layers:\n      - conv: {filters: 4, kernel: 3, activation: rleu}\n"
              "layers:\n  - b: {repeat: 3}\n  - b\n")
    assert [(d.span.line, d.code) for d in e.diagnostics] == [(6, "E002")]
    assert e.diagnostics[0].notes[0][1] == "in block instance 'b1.0'"


def test_the_structure_of_the_file_stops_before_expansion():
    e = error("layers:\n  - conv: {filters: 8, kernel: 3, activation: rleu}\noutputz: [conv1]\n")
    assert [(d.span.line, d.code) for d in e.diagnostics] == [(5, "E002")]
    assert "unknown key 'outputz'" in e.diagnostics[0].message
