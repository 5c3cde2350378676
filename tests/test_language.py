"""The language of issue 10: network params and overrides, multi-input blocks,
shape reads, functions and floats, ops chosen by a parameter, unknown ops."""

import pytest
from typer.testing import CliRunner

import netc
from netc.cli import app
from netc.diagnostics import NetcError
from netc.ops import OPS
from netc.ops.aliases import FOREIGN, foreign, normalize, suggest, unknown_op_message

HEAD = "netc: 1\ninput: {shape: [3, 32, 32]}\n"
runner = CliRunner()


def load(body: str, **kw):
    return netc.loads(HEAD + body, "n.yaml", **kw)


def errors(body: str, **kw) -> list:
    with pytest.raises(NetcError) as e:
        load(body, **kw)
    return e.value.diagnostics


def at(d, body: str, line: int, marker: str):
    """The diagnostic points at ``marker`` on ``line`` of HEAD + body."""
    text = (HEAD + body).splitlines()[line - 1]
    assert (d.span.line, d.span.col) == (line, text.index(marker) + 1), d.format()


def conv_params(c_in, k, f, bias=True):
    return k * c_in * f * f + (k if bias else 0)


# -- network params ----------------------------------------------------------------

SCALED = """params: {width: 1.0, depth: 1.0, act: relu}
blocks:
  stage:
    params: {c: null}
    layers:
      - conv: {filters: "make_divisible(c * width, 8)", kernel: 3, padding: 1, activation: act}
layers:
  - stage: {c: 32, name: s, repeat: ceil(2 * depth)}
  - conv: {filters: round(16 * width), kernel: 1}
"""


def test_params_reach_blocks_and_layers():
    net = load(SCALED)
    assert [n.name for n in net.graph.nodes] == ["s.0.conv1", "s.1.conv1", "conv1"]
    assert [r.output_shape[0] for r in net.layers] == [32, 32, 16]
    assert net.graph.node("s.0.conv1").params["activation"] == "relu"


def test_overrides_scale_width_depth_and_resolution():
    net = load(SCALED, params={"width": 0.75, "depth": 1.2, "act": "tanh"}, input_shape=(3, 20, 24))
    # make_divisible(24.0, 8) = 24; ceil(2.4) = 3 copies; round(12.0) = 12
    assert [r.output_shape for r in net.layers] == [(24, 20, 24)] * 3 + [(12, 20, 24)]
    assert net.graph.input_shape == (3, 20, 24)
    assert net.totals.params == conv_params(3, 24, 3) + 2 * conv_params(24, 24, 3) + conv_params(24, 12, 1)
    assert {net.graph.node(f"s.{i}.conv1").params["activation"] for i in range(3)} == {"tanh"}


def test_params_may_use_earlier_params_and_the_input_shape():
    net = load("params: {width: 0.5, stem: 'make_divisible(64 * width, 8)', half: input.channels * 2}\n"
               "layers:\n  - conv: {filters: stem + half, kernel: 1}\n")
    assert net.layers[0].output_shape == (32 + 6, 32, 32)
    net = load("params:\n  width: 0.5\n  stem: make_divisible(64 * width, 8)\n"
               "layers:\n  - conv: {filters: stem, kernel: 1}\n", params={"width": 0.25})
    assert net.layers[0].output_shape == (16, 32, 32)      # a dependent value follows the override


def test_a_string_override_is_read_as_written():
    net = load("params: {w: 8}\nlayers:\n  - conv: {filters: w, kernel: 1}\n", params={"w": "2 * 3"})
    assert net.layers[0].output_shape == (6, 32, 32)


def test_block_params_shadow_network_params():
    net = load("params: {w: 8}\nblocks:\n  b:\n    params: {w: 4}\n    layers:\n"
               "      - conv: {filters: w, kernel: 1}\nlayers:\n  - b\n  - conv: {filters: w, kernel: 1}\n")
    assert [r.output_shape[0] for r in net.layers] == [4, 8]


def test_unknown_override_is_an_override_error():
    with pytest.raises(netc.OverrideError, match="declares no parameter 'widht'; did you mean 'width'"):
        load(SCALED, params={"widht": 2})
    with pytest.raises(netc.OverrideError, match="it has no 'params:'"):
        load("layers: [relu]\n", params={"width": 2})
    with pytest.raises(netc.OverrideError, match="expected one to four sides"):
        load("layers: [relu]\n", input_shape=(3, 0, 8))


def test_an_override_error_speaks_to_its_caller():
    """From Python it names the argument written (params['widht']), on the command line
    the option (--set widht): never an option the caller did not use."""
    with pytest.raises(netc.OverrideError) as e:
        load(SCALED, params={"widht": 2})
    assert str(e.value).startswith("params['widht']: ") and "--set" not in str(e.value)
    assert e.value.cli_message.startswith("--set widht: ")


def test_float_sizes_need_explicit_rounding():
    d, = errors("params: {width: 0.75}\nlayers:\n  - conv: {filters: 64 * width, kernel: 1}\n")
    assert "expected an integer, got 48.0" in d.message and "round it with round(), floor()" in d.message
    at(d, "params: {width: 0.75}\nlayers:\n  - conv: {filters: 64 * width, kernel: 1}\n", 5, "64")
    d, = errors("layers:\n  - conv: {filters: 8.0, kernel: 1}\n")     # a written float: no expression hint
    assert "expected an integer, got 8.0" in d.message and "round it" not in d.message
    d, = errors("params: {depth: 1.5}\nlayers:\n  - relu: {repeat: 2 * depth}\n")
    assert "repeat must be an integer" in d.message and "got 3.0" in d.message and "round it" in d.message
    net = load("params: {p: 0.25}\nlayers:\n  - dropout: {rate: p * 2}\n")
    assert net.graph.nodes[0].params["rate"] == 0.5                   # a number param takes the float


def test_comma_inside_a_flow_mapping_gets_a_hint():
    body = "params: {w: 1.0}\nlayers:\n  - conv: {filters: make_divisible(32 * w, 8), kernel: 1}\n"
    d = errors(body)[0]
    assert "unknown key '8)'" in d.message and "quote an expression" in d.message
    d = errors("params: {n: 1}\nblocks:\n  b: {layers: [relu]}\nlayers:\n  - b: {repeat: min(n, 1)}\n")[0]
    assert "missing ')' in 'min(n' (in a YAML { } mapping a comma ends the value" in d.message
    d = errors("params: {w: 1.0, stem: make_divisible(32 * w, 8)}\nlayers: [relu]\n")[0]
    assert "'8)' is not a valid name" in d.message and "quote an expression" in d.message


# -- command line --------------------------------------------------------------------

def test_cli_set_and_input_on_every_command(write, tmp_path):
    path = write(HEAD + SCALED)
    r = runner.invoke(app, ["summary", str(path), "--set", "width=0.5", "--set", "depth=1.6",
                            "--input", "3,16,16", "--format", "json"])
    assert r.exit_code == 0, r.output
    import json
    data = json.loads(r.stdout)
    assert [l["output_shape"] for l in data["layers"]] == [[16, 16, 16]] * 4 + [[8, 16, 16]]
    r = runner.invoke(app, ["lint", str(path), "--set", "width=0.5", "--isolated"])
    assert r.exit_code == 0, r.output
    out = tmp_path / "m.onnx"
    r = runner.invoke(app, ["build", str(path), "--onnx", str(out), "--set", "depth=0.5", "--input", "3,8,8"])
    assert r.exit_code == 0, r.output
    import onnx
    model = onnx.load(str(out))
    assert [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim][1:] == [3, 8, 8]
    assert sum(n.op_type == "Conv" for n in model.graph.node) == 2    # ceil(2 * 0.5) = 1 copy + conv1


@pytest.mark.parametrize("args, words", [
    (["--set", "widht=1"], "declares no parameter 'widht'; did you mean 'width'?"),
    (["--set", "width"], "expected NAME=VALUE"),
    (["--input", "3,x"], "expected C,H,W"),
    (["--input", "3,0,8"], "each from 1 to"),
])
@pytest.mark.parametrize("command", ["summary", "lint", "build"])
def test_cli_bad_overrides_are_usage_errors(write, tmp_path, command, args, words):
    path = write(HEAD + SCALED)
    extra = ["--onnx", str(tmp_path / "m.onnx")] if command == "build" else []
    r = runner.invoke(app, [command, str(path), *args, *extra])
    assert r.exit_code == 2, r.output
    assert words in r.output and "Traceback" not in r.output


def test_cli_bench_takes_overrides_for_yaml_only(write, tmp_path):
    r = runner.invoke(app, ["bench", str(write(HEAD + SCALED)), "--set", "nope=1"])
    assert r.exit_code == 2 and "declares no parameter 'nope'" in r.output
    onnx_file = tmp_path / "x.onnx"
    onnx_file.write_bytes(b"")
    r = runner.invoke(app, ["bench", str(onnx_file), "--set", "width=1"])
    assert r.exit_code == 2 and "apply to a .yaml file" in r.output


# -- multi-input blocks ---------------------------------------------------------------

UP = """blocks:
  up:
    inputs: [x, skip]
    params: {c: null}
    layers:
      - conv: {filters: c, kernel: 1, from: x}
      - concat: {from: [conv1, skip]}
      - conv: {filters: c, kernel: 3, padding: 1}
"""


def test_a_block_with_two_inputs():
    net = load(UP + "layers:\n  - conv: {name: a, filters: 4, kernel: 1}\n  - conv: {name: b, filters: 6, kernel: 1}\n"
               "  - up: {c: 5, from: [b, a], name: u}\n")
    assert net.graph.node("u.conv1").inputs == ["b"]
    assert net.graph.node("u.concat1").inputs == ["u.conv1", "a"]
    assert net.analysis.layer("u.concat1").output_shape == (9, 32, 32)
    assert net.totals.params == (conv_params(3, 4, 1) + conv_params(4, 6, 1) + conv_params(6, 5, 1)
                                 + conv_params(9, 5, 3))


def test_first_layer_of_a_multi_input_block_takes_the_first_input():
    net = load("blocks:\n  j:\n    inputs: [x, y]\n    layers:\n      - relu\n      - add: {from: [relu1, y]}\n"
               "layers:\n  - tanh: {name: t}\n  - j: {from: [t, input]}\n")
    assert net.graph.node("j1.relu1").inputs == ["t"]
    assert net.graph.node("j1.add1").inputs == ["j1.relu1", "input"]


@pytest.mark.parametrize("uses, line, marker, words", [
    ("  - up: {c: 5}\n", 12, "up", "block 'up' takes 2 inputs (x, skip), got 1; pass them in order: from: [x, skip]"),
    ("  - up: {c: 5, from: [input, input, input]}\n", 12, "[input", "takes 2 inputs (x, skip), got 3"),
    ("  - up: {c: 5, from: [input, input], repeat: 2}\n", 12, "2}", "cannot be repeated"),
])
def test_multi_input_use_errors(uses, line, marker, words):
    body = UP + "layers:\n" + uses
    d = errors(body)[0]
    assert words in d.message, d.message
    at(d, body, line, marker)


def test_a_layer_outside_the_block_is_not_visible_and_says_why():
    body = ("blocks:\n  b:\n    layers:\n      - add: {from: [input, stem]}\n"
            "layers:\n  - relu: {name: stem}\n  - b\n")
    d = errors(body)[0]
    assert "layer 'stem' is not visible inside block 'b'" in d.message
    assert "pass it as an input" in d.message and "inputs: [...]" in d.message
    at(d, body, 6, "stem]")
    assert "in block instance 'b1'" in d.notes[0][1]
    body = ("blocks:\n  b:\n    inputs: [x, y]\n    layers:\n      - add: {from: [x, input]}\n"
            "layers:\n  - b: {from: [input, input]}\n")
    d = errors(body)[0]
    assert "'input' is not visible inside block 'b'" in d.message and "(x, y)" in d.message


def test_nested_scopes_report_the_block_that_hides_the_name():
    body = ("blocks:\n  inner:\n    layers:\n      - relu: {from: outer_layer}\n"
            "  outer:\n    layers:\n      - tanh: {name: outer_layer}\n      - inner\n"
            "layers:\n  - outer\n")
    d = errors(body)[0]
    assert "'outer_layer' is not visible inside block 'inner'" in d.message


# -- shape reads ------------------------------------------------------------------------

def test_in_channels_halves_like_a_densenet_transition():
    body = ("blocks:\n  transition:\n    layers:\n      - batchnorm\n"
            "      - conv: {filters: in.channels // 2, kernel: 1, bias: false}\n"
            "      - avgpool: {kernel: 2}\n"
            "layers:\n  - conv: {filters: 24, kernel: 3, padding: 1}\n  - transition\n  - transition\n")
    net = load(body)
    assert [r.output_shape for r in net.layers if r.op == "avgpool"] == [(12, 16, 16), (6, 8, 8)]
    assert net.totals.trainable_params == conv_params(3, 24, 3) + 2 * 24 + 24 * 12 + 2 * 12 + 12 * 6


def test_shape_reads_by_name_height_width_and_in_block_arguments():
    body = ("blocks:\n  head:\n    inputs: [x, skip]\n    params: {c: skip.channels}\n    layers:\n"
            "      - conv: {filters: c + x.height - skip.width, kernel: 1, from: skip}\n"
            "layers:\n  - maxpool: {kernel: 2, name: p}\n"
            "  - conv: {filters: input.channels * p.height, kernel: 1}\n"
            "  - head: {from: [p, conv1]}\n"
            "  - conv: {filters: in.channels, kernel: 1}\n")
    net = load(body)
    assert net.analysis.layer("conv1").output_shape == (48, 16, 16)      # 3 * 16
    assert net.analysis.layer("head1.conv1").output_shape == (48, 16, 16)  # 48 + 16 - 16
    assert net.analysis.layer("conv2").output_shape == (48, 16, 16)


def test_shape_reads_of_repeated_copies_see_the_previous_copy():
    net = load("layers:\n  - conv: {filters: in.channels * 2, kernel: 1, repeat: 3}\n")
    assert [r.output_shape[0] for r in net.layers] == [6, 12, 24]


def test_a_long_chain_is_read_without_recursion():
    net = load("layers:\n  - relu: {repeat: 5000}\n  - conv: {filters: in.channels + in.height, kernel: 1}\n")
    assert net.layers[-1].output_shape == (35, 32, 32)


@pytest.mark.parametrize("body, line, marker, words", [
    ("layers:\n  - conv: {filters: in.chanels, kernel: 1}\n", 4, "in.", "unknown shape attribute 'chanels'"
     " in 'in.chanels'; did you mean 'channels'?"),
    ("layers:\n  - flatten\n  - dense: {units: in.height}\n", 5, "in.", "is the vector (3072,): it has channels, no height"),
    ("layers:\n  - conv: {filters: later.channels, kernel: 1}\n  - relu: {name: later}\n", 4, "later",
     "'later' is written below this layer"),
    ("layers:\n  - add: {from: [input, r]}\n  - relu: {name: r, from: input}\n", 0, "", ""),
    ("layers:\n  - concat: {from: [input, input], name: c}\n  - conv: {filters: c.chanels, kernel: 1}\n",
     5, "c.", "did you mean 'channels'"),
    ("layers:\n  - conv: {filters: nope.channels, kernel: 1}\n", 4, "nope", "unknown layer 'nope' in 'nope.channels'"),
    ("layers:\n  - conv: {filters: x.channels, kernel: 1, from: x}\n  - relu: {name: x, from: input}\n",
     4, "x.", "'x' is written below this layer"),
    ("layers:\n  - maxpool: {kernel: 64}\n  - conv: {filters: in.channels, kernel: 1}\n", 4, "64",
     "larger than the padded input"),
])
def test_shape_read_errors(body, line, marker, words):
    if not words:        # a valid file: forward `from` without shape reads still works
        assert load(body).layers
        return
    d = errors(body)[0]
    assert words in d.message, d.message
    at(d, body, line, marker)


def test_in_is_refused_for_a_layer_with_several_inputs():
    body = UP + "layers:\n  - relu: {name: a}\n  - up: {from: [a, input], c: in.channels}\n"
    d = errors(body)[0]
    assert "'in' is the layer's input, and this layer has 2; read one by name" in d.message
    at(d, body, 13, "in.")
    net = load(UP + "layers:\n  - relu: {name: a}\n  - up: {from: [a, input], c: a.channels * 2}\n")
    assert net.layers[-1].output_shape == (6, 32, 32)


# -- ops chosen by a parameter ----------------------------------------------------------

MBV3 = """blocks:
  unit:
    params: {act: relu, c: 8}
    layers:
      - conv: {filters: c, kernel: 1, bias: false}
      - batchnorm
      - $act
      - conv: {filters: c, kernel: 3, padding: 1, groups: c, activation: act}
      - $act: {name: last}
layers:
  - unit: {act: tanh}
  - unit: {act: relu6}
  - unit: {act: none}
"""


def test_op_chosen_by_a_parameter():
    net = load(MBV3)
    ops = {n.name: n.op for n in net.graph.nodes}
    assert ops["unit1.act1"] == "tanh" and ops["unit1.last"] == "tanh" and ops["unit2.act1"] == "relu6"
    assert net.graph.node("unit1.conv2").params["activation"] == "tanh"   # a fused activation too
    assert "unit3.act1" not in ops and net.graph.node("unit3.conv2").inputs == ["unit3.batchnorm1"]
    assert net.graph.outputs == ["unit3.conv2"]                            # none: no layer


def test_op_chosen_by_a_network_parameter_and_overridden():
    body = "params: {act: relu}\nlayers:\n  - $act\n  - $act: {repeat: 2}\n"
    assert [n.op for n in load(body).graph.nodes] == ["relu"] * 3
    net = load(body, params={"act": "sigmoid"})
    assert [n.name for n in net.graph.nodes] == ["act1", "act2.0", "act2.1"]
    assert {n.op for n in net.graph.nodes} == {"sigmoid"}


def test_op_chosen_by_a_parameter_may_be_a_block():
    net = load("params: {stage: b}\nblocks:\n  b: {layers: [relu, tanh]}\nlayers:\n  - $stage\n")
    assert [n.name for n in net.graph.nodes] == ["stage1.relu1", "stage1.tanh1"]


@pytest.mark.parametrize("body, line, marker, words", [
    ("params: {act: Hardswish}\nlayers:\n  - $act\n", 5, "$act", "parameter 'act' is 'Hardswish'; unknown op"),
    ("params: {act: 3}\nlayers:\n  - $act\n", 5, "$act", "3 is not the name of an op or block"),
    ("layers:\n  - $act\n", 4, "$act", "names parameter 'act', which is not in scope"),
    ("params: {act: relu}\nlayers:\n  - $act: {slope: 2}\n", 5, "slope", "unknown key 'slope' for relu"),
])
def test_op_by_parameter_errors(body, line, marker, words):
    d = errors(body)[0]
    assert words in d.message, d.message
    at(d, body, line, marker)


# -- unknown ops --------------------------------------------------------------------------

# The ops issue 10 adds on other branches: the table may point at them before they exist.
PLANNED = {"silu", "hardswish", "hardsigmoid", "gelu", "mish", "prelu", "mul", "layernorm", "scale",
           "conv_transpose", "upsample", "crop", "pad", "global_maxpool", "adaptive_avgpool",
           "adaptive_maxpool", "slice", "channel_shuffle", "identity"}


def test_the_table_points_only_at_registered_ops():
    """The rule that lets the table name ops not merged yet: an entry whose op is not
    registered is skipped, never suggested; every target is an op, planned or present."""
    for key, target in FOREIGN.items():
        assert key == normalize(key)
        assert target is None or target in OPS or target in PLANNED, (key, target)
        got = foreign(key, OPS)
        if target in OPS:
            assert got == target or key == target, key
        elif key not in {normalize(op) for op in OPS}:
            assert got is None, key
            assert "netc's is" not in unknown_op_message(key, OPS), key


@pytest.mark.parametrize("name, target", [
    ("Conv2d", "conv"), ("BatchNorm2d", "batchnorm"), ("Linear", "dense"), ("MaxPool2d", "maxpool"),
    ("ReLU", "relu"), ("Dropout", "dropout"), ("AvgPool2d", "avgpool"), ("ReLU6", "relu6"),
    ("LeakyReLU", "leaky_relu"), ("Concatenate", "concat"), ("GlobalAveragePooling2D", "global_avgpool"),
    ("Softmax", "softmax"), ("Flatten", "flatten"), ("BatchNormalization", "batchnorm"),
    ("deconv", "conv_transpose"), ("ConvTranspose2d", "conv_transpose"), ("upsampling2d", "upsample"),
    ("Upsample", "upsample"), ("swish", "silu"), ("SiLU", "silu"), ("GELU", "gelu"), ("Hardswish", "hardswish"),
    ("LayerNorm", "layernorm"), ("AdaptiveAvgPool2d", "adaptive_avgpool"), ("Identity", "identity"),
])
def test_names_from_elsewhere_get_netc_s_name(name, target):
    message = unknown_op_message(name, OPS)
    if target in OPS:
        assert message == f"unknown op {name!r}: not a netc op; netc's is {target!r}"
    else:       # not merged yet: no pointer at a missing op, and no look-alike either
        assert "netc has no such op" in message and "did you mean" not in message


def test_no_look_alike_with_other_maths():
    ops = list(OPS)
    for name in ("gelu", "selu", "elu", "prelu", "silu", "mish", "softplus", "GELU", "PReLU", "RReLU",
                 "CELU", "AvgPool1d", "MaxPool3d", "BatchNorm3d"):
        s = suggest(name, ops)
        assert s is None or s == foreign(name, OPS), (name, s)
        assert "relu'?" not in unknown_op_message(name, OPS)
    assert suggest("cnov", ops) == "conv" and suggest("maxpol", ops) == "maxpool"
    assert suggest("relu66", ops) == "relu6" and suggest("batchnrom", ops) == "batchnorm"
    assert suggest("pool", ops) is None and suggest("convv2", ops) is None


def test_every_unknown_op_is_reported_in_one_run():
    body = ("blocks:\n  b:\n    layers:\n      - Hardswish\n      - relu\nlayers:\n  - Conv2d: {filters: 8}\n"
            "  - BatchNorm2d\n  - b\n  - cnov\n  - selu\n")
    ds = errors(body)
    assert [(d.span.line, d.code) for d in ds] == [(6, "E003"), (9, "E003"), (10, "E003"), (12, "E003"),
                                                   (13, "E003")]
    assert "'Conv2d': not a netc op; netc's is 'conv'" in ds[1].message
    assert "'BatchNorm2d': not a netc op; netc's is 'batchnorm'" in ds[2].message
    assert "did you mean 'conv'" in ds[3].message
    assert "relu" not in ds[4].message.split("(netc ops")[0]
    at(ds[1], body, 9, "Conv2d")


def test_activation_values_from_elsewhere():
    d = errors("layers:\n  - conv: {filters: 2, kernel: 1, activation: ReLU6}\n")[0]
    assert "not a netc name; netc's is 'relu6'" in d.message
    d = errors("layers:\n  - conv: {filters: 2, kernel: 1, activation: selu}\n")[0]
    assert "did you mean" not in d.message or "selu" in d.message.split("did you mean")[1]
    d = errors("defaults:\n  Conv2d: {kernel: 3}\nlayers: [relu]\n")[0]
    assert "did you mean 'conv'" in d.message
    d = errors("defaults:\n  selu: {}\nlayers: [relu]\n")[0]
    assert "relu" not in d.message.split("(expected")[0]


# -- the reference's examples --------------------------------------------------------------

def _doc_examples(heading: str) -> list[str]:
    from conftest import ROOT

    text = (ROOT / "docs" / "format.md").read_text()
    section = text.split(heading + "\n", 1)[1].split("\n### ", 1)[0].split("\n## ", 1)[0]
    blocks = section.split("```yaml\n")[1:]
    return ["\n".join(l for l in b.split("```")[0].splitlines() if l.strip() != "...") + "\n" for b in blocks]


@pytest.mark.parametrize("heading", ["### Shape reads", "### Blocks with several inputs",
                                     "### Network parameters, `--set` and `--input`",
                                     "### An op chosen by a parameter"])
def test_format_examples_validate_in_an_editor_schema_check(heading):
    import jsonschema
    import yaml

    from netc.schema import build_schema

    examples = _doc_examples(heading)
    assert examples
    validator = jsonschema.Draft202012Validator(build_schema())
    for text in examples:
        doc = {"netc": 1, "input": {"shape": [3, 32, 32]}, "layers": ["relu"], **yaml.safe_load(text)}
        assert list(validator.iter_errors(doc)) == [], text


def test_format_examples_load():
    bneck, = _doc_examples("### An op chosen by a parameter")
    net = load(bneck.replace("hardswish", "relu6"))
    assert [n.op for n in net.graph.nodes] == ["conv", "batchnorm", "relu6", "conv", "batchnorm", "relu6"]
    transition, = _doc_examples("### Shape reads")
    net = load(transition + "layers:\n  - conv: {filters: 10, kernel: 1}\n  - transition\n")
    assert net.layers[-1].output_shape == (5, 16, 16)
    up, = _doc_examples("### Blocks with several inputs")
    net = load(up.replace("\nlayers:\n", "\nlayers:\n  - conv: {name: enc4, filters: 4, kernel: 1}\n"
                          "  - conv: {name: bottom, filters: 8, kernel: 1}\n"))
    assert net.layers[-1].output_shape == (4, 32, 32)
    params, = _doc_examples("### Network parameters, `--set` and `--input`")
    net = load(params + "layers:\n  - conv: {filters: stem, kernel: 1}\n", params={"width": 1.4})
    assert net.layers[0].output_shape == (48, 32, 32)      # make_divisible(44.8, 8) = 48, as torchvision


def test_errors_under_overrides_say_so():
    d = errors(SCALED, params={"act": "selu"}, input_shape=(3, 8, 8))[0]
    assert "conv activation: unknown value 'selu'" in d.message
    assert d.notes[-1] == (None, "with the overrides act=selu, input shape 3,8,8")
    d = errors("layers:\n  - conv: {filters: 1, kernel: 5}\n", input_shape=(3, 4, 4))[0]
    assert "larger than the padded input" in d.message and "input shape 3,4,4" in d.notes[-1][1]


# -- D012: parameters nothing reads ----------------------------------------------------------

def test_unused_parameters_are_found(write):
    from netc.lint import Config, lint_file

    path = write(HEAD + "params: {width: 1.0, act: relu, k: 3, unused: 2, via: width}\n"
                 "blocks:\n  b:\n    params: {c: 8, s: 1, a: tanh, n: 1, d: c, skip: 0}\n    layers:\n"
                 "      - conv: {filters: d, kernel: k, activation: a, repeat: n}\n      - $act\n"
                 "  never:\n    params: {z: 1}\n    layers: [relu]\n"
                 "layers:\n  - b: {c: round(8 * via)}\n")
    found = [d for d in lint_file(path, Config(select=["D012"])) if d.code == "D012"]
    assert [(d.span.line, d.message) for d in found] == [
        (3, "network parameter 'unused' is never read: --set unused=... would change nothing"),
        (6, "parameter 's' of block 'b' is never read"),
        (6, "parameter 'skip' of block 'b' is never read"),
    ]


# -- width scaling end to end: MobileNetV2 written once ----------------------------------------

def _torchvision_mobilenet_v2(width: float):
    """torchvision.models.MobileNetV2(width_mult=width), enumerated as its constructor
    builds it: (trainable parameters, which blocks have the residual connection).
    Conv weights have no bias; each batchnorm has gamma and beta; Linear(last, 1000)."""
    def make_divisible(v, divisor=8):
        new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
        return new_v + divisor if new_v < 0.9 * v else new_v

    def conv_bn(cin, cout, k, groups=1):
        return k * k * (cin // groups) * cout + 2 * cout

    setting = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
               (6, 160, 3, 2), (6, 320, 1, 1)]
    inp = make_divisible(32 * width)
    last = make_divisible(1280 * max(1.0, width))
    total, residual = conv_bn(3, inp, 3), []
    for t, c, n, s in setting:
        out = make_divisible(c * width)
        for i in range(n):
            stride = s if i == 0 else 1
            hidden = int(round(inp * t))
            residual.append(stride == 1 and inp == out)
            if t != 1:
                total += conv_bn(inp, hidden, 1)
            total += conv_bn(hidden, hidden, 3, groups=hidden) + conv_bn(hidden, out, 1)
            inp = out
    return total + conv_bn(inp, last, 1) + last * 1000 + 1000, residual


@pytest.mark.parametrize("width", [0.35, 0.5, 0.75, 1.0, 1.3, 1.4])
def test_one_file_scales_like_torchvision(width):
    from conftest import ROOT

    path = ROOT / "tests" / "data" / "mobilenet_v2_width.yaml"
    want, residual = _torchvision_mobilenet_v2(width)
    assert residual == [i > 0 for n in (1, 2, 3, 4, 3, 3, 1) for i in range(n)]   # as the file writes them
    net = netc.load(path, params={"width": width}, input_shape=(3, 160, 160))
    assert net.totals.trainable_params == want
    assert net.layers[-1].output_shape == (1000,)
    if width == 1.0:
        assert want == 3_504_872 and netc.load(path).totals.macs == 300_774_272   # the zoo's figures
