"""The language of issue 18: blocks with several outputs, list-valued parameters,
and a condition on a layer (``if:``)."""

import pytest

from netc.cli import app

from test_language import HEAD, at, conv_params, errors, load, runner  # noqa: F401  (shared helpers)


# -- list-valued parameters -------------------------------------------------------------

def test_a_network_list_is_indexed_and_passed_whole():
    net = load("params: {rates: [1, 2, 3], k: [3, 5]}\nlayers:\n"
               "  - conv: {filters: 4, kernel: 3, dilation: \"rates[2]\", padding: \"rates[-1]\"}\n"
               "  - conv: {filters: \"len(rates) * 2\", kernel: k, padding: [1, 2]}\n"
               "  - conv: {filters: \"max(rates)\", kernel: 1}\n")
    convs = net.graph.nodes
    assert convs[0].params["dilation"] == 3 and net.layers[0].output_shape == (4, 32, 32)          # one number: every axis
    assert convs[1].params["kernel"] == (3, 5) and net.layers[1].output_shape == (6, 32, 32)
    assert net.layers[2].output_shape == (3, 32, 32)


def test_a_block_list_parameter_with_a_default_and_an_argument():
    body = ("blocks:\n  aspp:\n    params: {rates: [6, 12, 18], c: 4}\n    layers:\n"
            "      - conv: {name: b0, filters: c, kernel: 1}\n"
            "      - conv: {name: b1, filters: c, kernel: 3, dilation: \"rates[0]\", padding: \"rates[0]\", from: input}\n"
            "      - conv: {name: b2, filters: c, kernel: 3, dilation: \"rates[1]\", padding: \"rates[1]\", from: input}\n"
            "      - concat: {from: [b0, b1, b2]}\n"
            "layers:\n  - aspp: {name: a}\n  - aspp: {name: b, rates: [1, 2]}\n")
    net = load(body)
    assert net.graph.node("a.b2").params["dilation"] == 12
    assert net.graph.node("b.b1").params["dilation"] == 1 and net.graph.node("b.b2").params["dilation"] == 2
    assert net.layers[-1].output_shape == (12, 32, 32)


def test_a_list_override_from_python_and_the_command_line(write):
    body = "params: {rates: [1, 2]}\nlayers:\n  - conv: {filters: 2, kernel: 3, dilation: \"rates[1]\"}\n"
    assert load(body, params={"rates": [4, 8]}).layers[0].output_shape == (2, 16, 16)
    path = write(HEAD + body)
    r = runner.invoke(app, ["summary", str(path), "--set", "rates=[3, 5]", "--format", "json"])
    assert r.exit_code == 0, r.output
    import json
    assert json.loads(r.stdout)["layers"][0]["output_shape"] == [2, 22, 22]
    r = runner.invoke(app, ["summary", str(path), "--set", "rates=[1, [2]]"])
    assert r.exit_code == 2 and "a list is written [a, b, c]" in r.output


@pytest.mark.parametrize("body, line, marker, words", [
    ("params: {rates: [1, 2]}\nlayers:\n  - conv: {filters: rates, kernel: 1}\n", 5, "rates,",
     "conv filters: expected an integer, got [1, 2]"),
    ("params: {rates: [1, 2]}\nlayers:\n  - conv: {filters: 2, kernel: 3, dilation: \"rates[2]\"}\n", 5, "\"rates",
     "index 2 is out of range: 'rates' has 2 values (0 to 1)"),
    ("params: {rates: [1, 2]}\nlayers:\n  - conv: {filters: \"rates + 1\", kernel: 1}\n", 5, "\"rates",
     "'rates' is the list [1, 2], not a number"),
    ("params: {rates: 3}\nlayers:\n  - conv: {filters: 2, kernel: 1, dilation: \"rates[0]\"}\n", 5, "\"rates",
     "'rates' is 3, not a list"),
    ("params: {rates: [1, 2]}\nlayers:\n  - conv: {filters: 2, kernel: 1, dilation: rates[0]}\n", 5, "[0]",
     "quote an expression that indexes one, e.g. dilation: \"rates[0]\""),
    ("params: {rates: [1, {a: 2}]}\nlayers: [relu]\n", 3, "{a", "params.rates.1: expected number or string or boolean or array, got a mapping"),
])
def test_list_errors_point_at_the_value(body, line, marker, words):
    d = errors(body)[0]
    assert words in d.message, d.message
    at(d, body, line, marker)


def test_a_parameter_read_only_through_an_index_is_read(write):
    from netc.lint import Config, lint_file

    path = write(HEAD + "params: {rates: [1, 2], unused: [3]}\nlayers:\n  - conv: {filters: 2, kernel: 1, "
                 "dilation: \"rates[0]\"}\n")
    found = [d.message for d in lint_file(path, Config(select=["D012"])) if d.code == "D012"]
    assert found == ["network parameter 'unused' is never read: --set unused=... would change nothing"]


# -- if: a condition on a layer ----------------------------------------------------------

INVERTED = """defaults:
  conv: {bias: false}
blocks:
  inverted:
    doc: MobileNetV2's block, as torchvision writes it
    params: {c: null, t: 6, stride: 1}
    layers:
      - conv: {name: expand, filters: in.channels * t, kernel: 1, if: t != 1}
      - conv: {name: dw, filters: in.channels, kernel: 3, padding: 1, stride: stride, groups: in.channels}
      - conv: {name: project, filters: c, kernel: 1}
      - add: {from: [project, input], if: stride == 1 and input.channels == c}
layers:
  - inverted: {c: 8, t: 1, name: a}
  - inverted: {c: 8, name: b}
  - inverted: {c: 16, stride: 2, name: c}
  - relu: {from: c}
"""


def test_layers_whose_condition_is_false_are_left_out():
    net = load(INVERTED)
    names = [n.name for n in net.graph.nodes]
    assert names == ["a.dw", "a.project", "b.expand", "b.dw", "b.project", "b.add1",
                     "c.expand", "c.dw", "c.project", "relu1"]
    assert net.graph.node("a.dw").inputs == ["input"]           # the skipped expand stands for its input
    assert net.graph.node("b.expand").inputs == ["a.project"]   # a's skipped add stands for its first input
    assert net.graph.node("c.expand").inputs == ["b.add1"]
    assert net.graph.node("relu1").inputs == ["c.project"]      # c's skipped add: its first input
    assert net.totals.params == (3 * 9 + 3 * 8) + (8 * 48 + 48 * 9 + 48 * 8) + (8 * 48 + 48 * 9 + 48 * 16)


def test_a_from_naming_a_left_out_layer_reads_its_input():
    net = load("layers:\n  - relu: {name: r, if: false}\n  - add: {from: [r, input]}\n")
    assert net.graph.node("add1").inputs == ["input", "input"]
    net = load("params: {on: false}\nlayers:\n  - tanh\n  - relu: {name: last, if: on}\n")
    assert net.graph.outputs == ["tanh1"]


def test_names_do_not_change_with_the_condition():
    body = "params: {on: true}\nlayers:\n  - relu: {if: on}\n  - relu\n"
    assert [n.name for n in load(body).graph.nodes] == ["relu1", "relu2"]
    assert [n.name for n in load(body, params={"on": False}).graph.nodes] == ["relu2"]


def test_a_condition_with_repeat_and_a_chosen_op():
    body = "params: {n: 3, act: relu}\nlayers:\n  - $act: {repeat: n, if: n > 2}\n  - tanh: {if: not n > 2}\n"
    assert [n.name for n in load(body).graph.nodes] == ["act1.0", "act1.1", "act1.2"]
    assert [n.name for n in load(body, params={"n": 2}).graph.nodes] == ["tanh1"]


def test_a_left_out_block_use_still_checks_its_argument_names():
    d = errors("blocks:\n  b: {params: {c: 1}, layers: [relu]}\nlayers:\n  - b: {cc: 2, if: false}\n")[0]
    assert "block 'b' has no parameter 'cc'; did you mean 'c'?" in d.message
    net = load("blocks:\n  b: {params: {c: 1}, layers: [relu]}\nlayers:\n  - tanh\n  - b: {c: 2, if: false}\n")
    assert [n.name for n in net.graph.nodes] == ["tanh1"]


@pytest.mark.parametrize("body, line, marker, code, words", [
    ("params: {s: 1}\nlayers:\n  - relu: {if: s}\n", 5, "s}", "E002",
     "if: the condition is 1, not true or false (compare it, e.g. stride == 1)"),
    ("layers:\n  - relu: {if: strde == 1}\n", 4, "strde", "E003", "unknown name 'strde'"),
    ("layers:\n  - relu: {if: 3}\n", 4, "3}", "E002", "if: expected a condition (true, false or an expression"),
    ("layers:\n  - relu: {if: \"in.channels = 3\"}\n", 4, "\"in", "E002", "if: unexpected character '='"),
    ("layers:\n  - relu: {if: in.channels == 3 and}\n", 4, "in.", "E002", "if: incomplete expression"),
    ("layers:\n  - relu: {if: \"1 < 2 < 3\"}\n", 4, "\"1", "E002", "cannot be chained"),
])
def test_condition_errors(body, line, marker, code, words):
    d = errors(body)[0]
    assert words in d.message and d.code == code, d.format()
    at(d, body, line, marker)


# -- blocks with several outputs ------------------------------------------------------------

TWO = """blocks:
  two:
    outputs: [high, low]
    layers:
      - conv: {name: high, filters: 4, kernel: 3, padding: 1}
      - maxpool: {name: low, kernel: 2, from: high}
  fuse:
    inputs: [a, b]
    outputs: [a2, b2]
    layers:
      - conv: {name: a2, filters: a.channels, kernel: 1, from: a}
      - conv: {name: b2, filters: b.channels + 1, kernel: 1, from: b}
"""


def test_a_later_layer_names_one_output():
    net = load(TWO + "layers:\n  - two: {name: s}\n  - relu: {from: s.low}\n"
               "  - conv: {filters: s.high.channels * 2, kernel: 1, from: s.high}\n")
    assert net.graph.node("relu1").inputs == ["s.low"] and net.graph.node("conv1").inputs == ["s.high"]
    assert net.layers[-1].output_shape == (8, 32, 32)
    assert net.graph.outputs == ["conv1"]


def test_the_next_layer_takes_every_output_and_a_matching_block_repeats():
    net = load(TWO + "layers:\n  - two\n  - fuse: {repeat: 3, name: f}\n")
    assert net.graph.node("f.0.a2").inputs == ["two1.high"] and net.graph.node("f.0.b2").inputs == ["two1.low"]
    assert net.graph.node("f.2.b2").inputs == ["f.1.b2"]
    assert net.analysis.layer("f.2.b2").output_shape == (7, 16, 16)     # 4 + 1 + 1 + 1
    assert net.graph.outputs == ["f.2.a2", "f.2.b2"]                    # the last layer's outputs, all


def test_outputs_of_the_network_name_a_block_use_or_one_output():
    body = TWO + "layers:\n  - two: {name: s}\n  - relu: {from: s.high}\n"
    assert load(body + "outputs: [s]\n").graph.outputs == ["s.high", "s.low"]
    assert load(body + "outputs: [relu1, s.low]\n").graph.outputs == ["relu1", "s.low"]
    net = load(TWO + "layers:\n  - two: {name: s}\n  - concat: {from: [s.high, s.high]}\n  - upsample: {scale: 1}\n"
               "outputs: [s.low, upsample1]\n")
    assert net.graph.outputs == ["s.low", "upsample1"]


def test_an_inner_output_is_passed_on_and_a_plain_block_gives_what_its_last_layer_gives():
    body = TWO + ("  wrap:\n    outputs: [inner.low, conv1]\n    layers:\n      - two: {name: inner}\n"
                  "      - conv: {filters: 2, kernel: 1, from: inner.high}\n"
                  "  plain:\n    layers:\n      - relu\n      - two\n"
                  "layers:\n  - wrap: {name: w}\n  - relu: {from: w.low}\n  - plain: {name: p, from: w.conv1}\n"
                  "  - concat: {from: [p.high, p.high]}\n")
    net = load(body)
    assert net.graph.node("relu1").inputs == ["w.inner.low"]
    assert net.graph.node("concat1").inputs == ["p.two1.high"] * 2


def test_a_left_out_block_use_passes_its_inputs_through_as_outputs():
    body = TWO + "params: {on: true}\nlayers:\n  - two\n  - fuse: {name: f, if: on}\n  - relu: {from: f.b2}\n"
    assert load(body).graph.node("relu1").inputs == ["f.b2"]
    assert load(body, params={"on": False}).graph.node("relu1").inputs == ["two1.low"]
    d = errors(TWO + "layers:\n  - two: {name: t, if: false}\n")[0]
    assert "block 'two' gives 2 outputs (high, low) and takes 1 input(s)" in d.message


def test_onnx_build_of_several_outputs(tmp_path):
    pytest.importorskip("onnx")
    import onnx

    from netc.onnx.build import build_model

    net = load(TWO + "layers:\n  - two: {name: s}\n")
    model = build_model(net)
    assert len(model.graph.output) == 2
    onnx.checker.check_model(model)


@pytest.mark.parametrize("layers, line, marker, words", [
    ("  - two: {name: s}\n  - relu\n", 17, "relu", "relu takes one input, and without 'from' a layer takes "
     "everything the layer before it gives: 's' (block 'two') gives 2 outputs (high, low); name one, e.g. from: s.high"),
    ("  - two: {name: s}\n  - fuse: {from: [s.high, s.low], repeat: 2}\n  - fuse: {from: s.high}\n", 18, "s.high}",
     "block 'fuse' takes 2 inputs (a, b), got 1"),
    ("  - two: {name: s, repeat: 2}\n", 16, "2}", "block 'two' takes 1 input and gives 2 outputs, so it cannot be repeated"),
    ("  - two: {name: s}\n  - relu: {from: s}\n", 17, "s}", "'s' (block 'two') gives 2 outputs (high, low): "
     "name one, e.g. s.high"),
    ("  - two: {name: s}\n  - relu: {from: s.hihg}\n", 17, "s.", "it has no output 'hihg'; did you mean s.high?"),
    ("  - relu: {name: r}\n  - tanh: {from: r.out}\n", 17, "r.", "'r' has one output, so write 'r'"),
    ("  - two: {name: s}\n  - conv: {filters: s.channels, kernel: 1, from: s.low}\n", 17, "s.ch",
     "in 's.channels': 's' (block 'two') gives 2 outputs (high, low): name one"),
    ("  - two: {name: s}\n  - conv: {filters: s.low, kernel: 1, from: s.low}\n", 17, "s.low,",
     "'s.low' is an output of 's': read one of its sides, e.g. s.low.channels"),
    ("  - two: {name: s}\n  - relu: {from: s.low}\noutputs: [s.mid]\n", 18, "s.mid", "it has no output 'mid'"),
    ("  - relu: {from: [x.y.z]}\n", 16, "[x.y.z]", "from: expected a layer name (or USE.OUTPUT) or a list"),
    ("  - relu\noutputs: [relu1.a.b]\n", 17, "relu1.a.b", "'relu1.a.b' is not a layer reference (a name, or "
     "USE.OUTPUT"),
])
def test_output_reference_errors(layers, line, marker, words):
    body = TWO + "layers:\n" + layers
    d = errors(body)[0]
    assert words in d.message, d.message
    at(d, body, line, marker)


def test_every_static_misuse_is_reported_in_one_run():
    body = ("blocks:\n  two:\n    outputs: [hi, lo, nope, conv1.x]\n    layers:\n"
            "      - conv: {name: hi, filters: 4, kernel: 3, padding: 1}\n"
            "      - maxpool: {name: lo, kernel: 2, from: hi}\n"
            "      - conv: {filters: 4, kernel: 1, if: \"1 +\"}\n"
            "layers:\n  - two: {name: s}\n  - relu: {from: s}\n  - relu: {from: s.hgh}\n"
            "  - relu: {from: relu1.x}\n  - Conv2d\n")
    ds = errors(body)
    assert [(d.span.line, d.code) for d in ds] == [(5, "E003"), (5, "E003"), (9, "E002"), (12, "E003"),
                                                   (13, "E003"), (14, "E003"), (15, "E003")]
    assert "it has no layer or input 'nope'" in ds[0].message
    at(ds[1], body, 5, "conv1.x")
    assert "'conv1' has one output" in ds[1].message
    assert "if: incomplete expression '1 +'" in ds[2].message
    assert "netc's is 'conv'" in ds[-1].message


def test_block_outputs_schema_errors():
    d = errors("blocks:\n  b:\n    outputs: [a, a]\n    layers: [relu]\nlayers: [b]\n")[0]
    assert d.code == "E002" and "blocks.b.outputs: ['a', 'a'] has non-unique elements" in d.message
    d = errors("blocks:\n  b:\n    outputs: []\n    layers: [relu]\nlayers: [b]\n")[0]
    assert d.code == "E002" and "blocks.b.outputs: [] should be non-empty" in d.message


# -- the reference's examples ------------------------------------------------------------

HEADINGS = ["### Blocks with several outputs", "### List parameters", "### A condition on a layer"]


@pytest.mark.parametrize("heading", HEADINGS)
def test_format_examples_validate_and_load(heading):
    import jsonschema
    import yaml

    from netc.schema import build_schema
    from test_language import _doc_examples

    examples = _doc_examples(heading)
    assert examples
    validator = jsonschema.Draft202012Validator(build_schema())
    for text in examples:
        doc = {"netc": 1, "input": {"shape": [3, 32, 32]}, "layers": ["relu"], **yaml.safe_load(text)}
        assert list(validator.iter_errors(doc)) == [], text
        load(text if "\nlayers:" in text else text + "layers: [relu]\n")


def test_a_word_parameter_takes_an_item_of_a_list_and_conditions_take_true_and_false():
    net = load("params: {acts: [relu, hardswish], on: true}\nlayers:\n"
               "  - conv: {filters: 2, kernel: 1, activation: \"acts[1]\", if: on and true}\n"
               "  - conv: {filters: 2, kernel: 1, activation: \"acts[0]\", if: \"not false\"}\n")
    assert [n.params["activation"] for n in net.graph.nodes] == ["hardswish", "relu"]
    d = errors("params: {acts: [relu]}\nlayers:\n  - conv: {filters: 2, kernel: 1, activation: \"acts[1]\"}\n")[0]
    assert "index 1 is out of range: 'acts' has 1 value (0 to 0)" in d.message


def test_a_last_layer_that_passes_the_input_through_is_pointed_at():
    body = "layers:\n  - relu: {if: false}\n"
    d = errors(body)[0]
    assert "the network input cannot also be an output (the last layer passes it through)" in d.message
    at(d, body, 4, "relu")
