"""``netc import`` (netc/onnx/importer.py): an ONNX model written back as a netc file.

Every example: netc build -> read -> import -> load the text gives the same layers
(op, wiring, output shape, parameters, MACs, FLOPs), the same totals, and a file the
schema accepts and the linter loads; small hand-written networks check the text
itself (names, from, defaults, repeat, padding); the command's exit codes."""

import json

import jsonschema
import onnx
import pytest
import yaml

import netc
from conftest import EXAMPLES, run_netc
from netc.diagnostics import NetcError
from netc.lint import lint_file
from netc.onnx.build import build_model
from netc.onnx.importer import clean_name, import_graph, module_path
from netc.onnx.reader import read_graph
from test_onnx_reader import DATA, EXAMPLE_FILES, M, _fixed, _sized, _zeros

SCHEMA = json.loads((EXAMPLES.parent / "schemas" / "netc.schema.json").read_text())


def imported(net_or_model, name="m.onnx"):
    """The imported text of a loaded network (built to ONNX first) or of a ModelProto."""
    model = net_or_model if isinstance(net_or_model, onnx.ModelProto) else \
        build_model(net_or_model, weights=_zeros, check=False)
    return import_graph(read_graph(model, name), name)


def _positions(a):
    """Each layer's inputs as positions in the layer list (-1: the network input), so
    that wiring compares whatever the names."""
    index = {r.name: i for i, r in enumerate(a.layers)}
    index[a.graph.input_name] = -1
    return [[index[i] for i in r.node.inputs] for r in a.layers]


# -- every example ------------------------------------------------------------------------

@pytest.mark.parametrize("path", [*EXAMPLE_FILES, DATA / "unet2015.yaml"], ids=lambda p: p.stem)
def test_import_of_every_example_describes_the_same_network(path, tmp_path):
    net = netc.load(path)
    text = imported(net)
    again = netc.loads(text, "imported.yaml")       # validates against the schema, expands
    # dropout (and identity) layers have no ONNX node: compare with the network without them
    kept = [r for r in net.layers if r.op not in ("dropout", "identity")]
    mine = again.layers
    assert [r.op for r in mine] == [r.op for r in kept]
    for a, b in zip(mine, kept):
        assert (a.output_shape, a.params, a.buffers, a.macs, a.flops) == \
            (b.output_shape, b.params, b.buffers - _fixed(b), b.macs, b.flops), b.name
        assert _sized(a)[0] == _sized(b)[0], b.name
    # the wiring: each layer reads the same layers (through dropouts in the original)
    skip = {r.name: r.node.inputs[0] for r in net.layers if r.op in ("dropout", "identity")}

    def through(name):
        while name in skip:
            name = skip[name]
        return name
    index = {r.name: i for i, r in enumerate(kept)}
    index[net.graph.input_name] = -1
    # (a crop or upsample to a second input's size is built, so read back, as that size)
    assert _positions(again) == [[index[through(i)] for i in _sized(r)[1]] for r in kept]
    outputs = [index[through(o)] for o in net.graph.outputs]
    assert [[r.name for r in mine].index(o) for o in again.graph.outputs] == outputs
    t, u = again.totals, net.totals
    vanished = sum(r.activations for r in net.layers if r.op in ("dropout", "identity"))
    assert (t.params, t.trainable_params, t.macs, t.flops, t.activations) == \
        (u.params, u.trainable_params + sum(_fixed(r) for r in kept), u.macs, u.flops, u.activations - vanished)
    # layer names: the graph's, but for dots and underscores (names in a repeated block keep
    # the copies' dots: layer1.0.branch_conv1 for layer1.0.branch.conv1)
    for a, b in zip(mine, kept):
        assert a.name.replace(".", "_") == b.name.replace(".", "_"), (a.name, b.name)
    # the file is valid against the committed JSON Schema, and lints without load errors (E0xx)
    jsonschema.validate(again.source.data, SCHEMA)
    out = tmp_path / "imported.yaml"
    out.write_text(text)
    assert [d.code for d in lint_file(out) if d.code.startswith("E")] == []


# -- the text -------------------------------------------------------------------------------

SMALL = """\
netc: 1
name: small
input: {shape: [3, 32, 32]}
layers:
  - conv: {name: stem, filters: 16, kernel: 3, padding: 1, bias: false}
  - batchnorm
  - relu
  - conv: {name: c, filters: 16, kernel: 3, padding: 1, bias: false, repeat: 3}
  - add: {from: [c, relu1]}
  - maxpool: {kernel: 3, stride: 2, ceil_mode: true}
  - conv: {name: head, filters: 8, kernel: [1, 3], padding: [0, 1], bias: false, activation: relu}
  - global_avgpool
  - dense: {name: fc, units: 10}
outputs: [fc, head]
"""


def test_names_from_defaults_repeat_and_outputs():
    # conv {bias: false} is shared by all 5 convs: a default; 'filters: 16' is not (head has 8).
    # relu1 and batchnorm1 are netc's own names: no name: written. The three copies of c
    # (c.0, c.1, c.2) each feed only the next: one layer with repeat 3. The ceil-mode pool,
    # built as floor mode with a larger end padding, reads back as ceil mode.
    assert imported(netc.loads(SMALL)) == """\
# imported by netc import from m.onnx
netc: 1
name: small
input: {shape: [3, 32, 32]}
defaults:
  conv: {bias: false}
layers:
  - conv: {name: stem, filters: 16, kernel: 3, padding: 1}
  - batchnorm
  - relu
  - conv: {name: c, filters: 16, kernel: 3, padding: 1, repeat: 3}
  - add: {from: [c, relu1]}
  - maxpool: {kernel: 3, stride: 2, ceil_mode: true}
  - conv: {name: head, filters: 8, kernel: [1, 3], padding: [0, 1], activation: relu}
  - global_avgpool
  - dense: {name: fc, units: 10}
outputs: [fc, head]
"""


def _chain(read_again):
    """Relu nodes c.0, c.1, c.2 on the input, then an add of c.2 and ``read_again``."""
    m = M((1, 3, 8, 8))
    y = "x"
    for k in range(3):
        y = m.op("Relu", [y], name=f"c.{k}")
    return m.model([m.op("Add", [y, read_again], name="sum")])


def test_a_run_of_copies_is_folded_into_repeat():
    text = imported(_chain("x"))
    assert text.endswith("layers:\n  - relu: {name: c, repeat: 3}\n  - add: {name: sum, from: [c, input]}\n")
    assert [r.name for r in netc.loads(text).layers] == ["c.0", "c.1", "c.2", "sum"]


def test_a_run_ends_at_a_copy_read_elsewhere():
    # c.1 is read by sum too: the run is c.0, c.1 (c names its last copy, c.1); c.2 stays apart
    text = imported(_chain("c.1"))
    assert text.endswith("layers:\n  - relu: {name: c, repeat: 2}\n  - relu: {name: c_2}\n"
                         "  - add: {name: sum, from: [c_2, c]}\n")
    net = netc.loads(text)
    assert [(r.name, r.node.inputs) for r in net.layers] == \
        [("c.0", ["x"]), ("c.1", ["c.0"]), ("c_2", ["c.1"]), ("sum", ["c_2", "c.1"])]


BLOCKS = """\
netc: 1
name: small2
input: {shape: [8, 16, 16]}
blocks:
  unit:
    layers:
      - conv: {name: a, filters: 8, kernel: 3, padding: 1, activation: relu}
      - add: {from: [a, input]}
layers:
  - unit: {name: stage, repeat: 3}
  - conv: {name: head, filters: 4, kernel: 1}
"""


def test_copies_of_a_block_are_folded_into_one_block_with_repeat():
    # stage.0.*, stage.1.*, stage.2.*: the same two layers, each copy read through its
    # add by the next only; the add is netc's add1 in the block's scope: no name
    text = imported(netc.loads(BLOCKS))
    assert text.split("netc: 1\n", 1)[1] == """\
name: small2
input: {shape: [8, 16, 16]}
blocks:
  stage_block:
    layers:
      - conv: {name: a, filters: 8, kernel: 3, padding: 1, activation: relu}
      - add: {from: [a, input]}
layers:
  - stage_block: {name: stage, repeat: 3}
  - conv: {name: head, filters: 4, kernel: 1}
"""
    assert [r.name for r in netc.loads(text).layers] == [r.name for r in netc.loads(BLOCKS).layers]


STAGES = """\
netc: 1
name: stages
input: {shape: [8, 16, 16]}
blocks:
  unit:
    params: {w: null, g: null}
    layers:
      - conv: {name: a, filters: w, kernel: 3, padding: 1, activation: relu}
      - conv: {name: b, filters: w * 2, kernel: 1, groups: g}
      - conv: {name: c, filters: 8, kernel: 1}
      - add: {from: [c, input]}
layers:
  - unit: {name: s1, w: 4, g: 2, repeat: 2}
  - unit: {name: s2, w: 12, g: 4, repeat: 2}
  - unit: {name: s3, w: 6, g: 3, repeat: 2}
"""


def test_blocks_alike_but_for_integers_become_one_block_with_parameters():
    """Three runs of copies whose blocks differ in a's filters (4, 12, 6), b's filters
    (twice a's in every block: written as a multiple) and b's groups (2, 4, 3: a multiple
    of nothing): one block with two parameters, each use giving its values."""
    text = imported(netc.loads(STAGES))
    assert text.split("netc: 1\n", 1)[1] == """\
name: stages
input: {shape: [8, 16, 16]}
blocks:
  s_block:
    params: {filters: null, groups: null}
    layers:
      - conv: {name: a, filters: filters, kernel: 3, padding: 1, activation: relu}
      - conv: {name: b, filters: filters * 2, kernel: 1, groups: groups}
      - conv: {name: c, filters: 8, kernel: 1}
      - add: {from: [c, input]}
layers:
  - s_block: {name: s1, filters: 4, groups: 2, repeat: 2}
  - s_block: {name: s2, filters: 12, groups: 4, repeat: 2}
  - s_block: {name: s3, filters: 6, groups: 3, repeat: 2}
"""
    again, first = netc.loads(text), netc.loads(STAGES)
    assert [(r.output_shape, r.params, r.macs) for r in again.layers] == \
        [(r.output_shape, r.params, r.macs) for r in first.layers]


GROUPS = """\
netc: 1
name: groups
input: {shape: [3, 16, 16]}
blocks:
  unit:
    params: {w: null}
    layers:
      - conv: {name: a, filters: w, kernel: 3, padding: 1}
      - batchnorm: {name: an}
      - relu: {name: ar}
      - conv: {name: b, filters: w, kernel: 1}
      - batchnorm: {name: bn}
      - relu: {name: br}
layers:
  - unit: {name: s1, w: 4}
  - maxpool: {kernel: 2}
  - unit: {name: s2, w: 8}
"""


def test_groups_used_once_but_alike_become_one_block_with_parameters():
    """s1.* and s2.* are no run of copies (a pool between, different widths), but the
    same six layers: one block used twice is shorter than twelve layers."""
    text = imported(netc.loads(GROUPS))
    assert text.split("netc: 1\n", 1)[1] == """\
name: groups
input: {shape: [3, 16, 16]}
blocks:
  s_block:
    params: {filters: null}
    layers:
      - conv: {name: a, filters: filters, kernel: 3, padding: 1}
      - batchnorm: {name: an}
      - relu: {name: ar}
      - conv: {name: b, filters: filters, kernel: 1}
      - batchnorm: {name: bn}
      - relu: {name: br}
layers:
  - s_block: {name: s1, filters: 4}
  - maxpool: {kernel: 2}
  - s_block: {name: s2, filters: 8}
"""
    assert [r.name for r in netc.loads(text).layers] == [r.name for r in netc.loads(GROUPS).layers]


def test_a_setting_left_at_its_default_in_one_group_becomes_the_parameter_there():
    """ResNet-50's first unit of stage 1 has stride 1 (not written), the others stride 2:
    one block with a stride parameter, 1 where the setting was left out."""
    text = imported(netc.loads((EXAMPLES / "resnet50.yaml").read_text()))
    assert "  - first_block: {name: layer1_first, filters: 64, stride: 1}\n" in text
    assert "  - first_block: {name: layer2_first, filters: 128, stride: 2}\n" in text
    assert len(text.splitlines()) == 50


def _copies(read_again):
    """Copies s.0, s.1, s.2 of (Relu a, Sigmoid b), then an add of s.2.b and ``read_again``."""
    m = M((1, 3, 8, 8))
    y = "x"
    for k in range(3):
        y = m.op("Sigmoid", [m.op("Relu", [y], name=f"s.{k}.a")], name=f"s.{k}.b")
    return m.model([m.op("Add", [y, read_again], name="sum")])


def test_copies_read_from_outside_are_not_folded():
    assert "  - s_block: {name: s, repeat: 3}\n  - add: {name: sum, from: [s, input]}\n" in imported(_copies("x"))
    text = imported(_copies("s.0.b"))               # s.0 is read by sum, not only by s.1
    assert text.split("layers:\n", 2)[2] == """\
  - relu: {name: s_0_a}
  - sigmoid: {name: s_0_b}
  - s_rest_block: {name: s_rest, repeat: 2}
  - add: {name: sum, from: [s_rest, s_0_b]}
"""                                                 # s.1 and s.2 still fold, from copy 1


def test_an_inner_run_folds_when_the_outer_one_cannot():
    # a has one copy (a.0); within it, a.0.b.0 and a.0.b.1 are two copies of (Relu, Sigmoid)
    m = M((1, 3, 8, 8))
    y = "x"
    for k in range(2):
        y = m.op("Sigmoid", [m.op("Relu", [y], name=f"a.0.b.{k}.r")], name=f"a.0.b.{k}.s")
    y = m.op("Tanh", [y], name="a.0.t")
    text = imported(m.model([y]))
    assert text.split("blocks:\n", 1)[1] == """\
  b_block:
    layers:
      - relu: {name: r}
      - sigmoid: {name: s}
layers:
  - b_block: {name: a_0_b, repeat: 2}
  - tanh: {name: a_0_t}
"""
    assert [r.name for r in netc.loads(text).layers] == ["a_0_b.0.r", "a_0_b.0.s", "a_0_b.1.r", "a_0_b.1.s", "a_0_t"]


def test_pool_stride_equal_to_its_kernel_is_left_out():
    text = "netc: 1\ninput: {shape: [3, 8, 8]}\nlayers:\n  - avgpool: {kernel: 2}\n  - maxpool: {kernel: 2, stride: 1}\n"
    assert imported(netc.loads(text)).endswith(
        "layers:\n  - avgpool: {kernel: 2}\n  - maxpool: {kernel: 2, stride: 1}\n")


@pytest.mark.parametrize("raw, clean", [("layer1.0.conv1", "layer1_0_conv1"),
                                        ("/features/features.0/Conv", "features_features_0_Conv"),
                                        ("0.weight", "_0_weight"), ("...", "layer"),
                                        ("conv-1 (a)", "conv_1_a")])
def test_clean_name(raw, clean):
    assert clean_name(raw) == clean


def test_names_are_cleaned_and_made_unique():
    m = M((1, 3, 8, 8))
    y = m.op("Conv", ["x", m.w(4, 3, 3, 3)], name="/conv/Conv", pads=[1, 1, 1, 1])   # torch's scope
    z = m.op("Relu", ["x"], name="conv")               # the same name
    w = m.op("Sigmoid", ["x"], name="a.b-c")
    s = m.op("Concat", [y, z, w], name="true", axis=1)    # a YAML word: quoted
    text = imported(m.model([s]))
    assert "  - conv: {name: conv, filters: 4, kernel: 3, padding: 1, bias: false}\n" in text
    assert "  - relu: {name: conv_2, from: input}\n" in text
    assert "  - sigmoid: {name: a_b_c, from: input}\n" in text
    assert '  - concat: {name: "true", from: [conv, conv_2, a_b_c]}\n' in text
    net = netc.loads(text)
    assert [r.name for r in net.layers] == ["conv", "conv_2", "a_b_c", "true"]
    assert [r.output_shape for r in net.layers] == [(4, 8, 8), (3, 8, 8), (3, 8, 8), (10, 8, 8)]


@pytest.mark.parametrize("raw, path", [("/layer1/layer1.0/conv1/Conv", "layer1.0.conv1"),
                                       ("/conv1/Conv", "conv1"), ("/layer1/layer1.0/Add", "layer1.0.Add"),
                                       ("/Flatten", "Flatten"), ("conv1.weight", "conv1.weight")])
def test_module_path_of_torch_scoped_names(raw, path):
    assert module_path(raw) == path


def test_a_torchscript_style_export_reads_as_torch_names_with_its_blocks_folded():
    # the node names torch.onnx.export gives a ResNet basic block: /layer1/layer1.K/...
    m = M((1, 4, 8, 8))
    y = m.op("Relu", [m.op("Conv", ["x", m.w(4, 4, 3, 3)], name="/conv1/Conv", pads=[1, 1, 1, 1])],
             name="/relu/Relu")
    for k in range(2):
        s = f"/layer1/layer1.{k}"
        h = m.op("Relu", [m.op("Conv", [y, m.w(4, 4, 3, 3)], name=f"{s}/conv1/Conv", pads=[1, 1, 1, 1])],
                 name=f"{s}/relu/Relu")
        h = m.op("Conv", [h, m.w(4, 4, 3, 3)], name=f"{s}/conv2/Conv", pads=[1, 1, 1, 1])
        y = m.op("Relu", [m.op("Add", [h, y], name=f"{s}/Add")], name=f"{s}/relu_1/Relu")
    y = m.op("Flatten", [m.op("GlobalAveragePool", [y], name="/avgpool/GlobalAveragePool")], name="/Flatten",
             axis=1)
    y = m.op("Gemm", [y, m.w(10, 4), m.w(10)], name="/fc/Gemm", transB=1)
    text = imported(m.model([y]))
    # conv1 and conv2 are netc's own names for the convs (in the block's scope too): no name:
    assert text.split("input:", 1)[1] == """ {shape: [4, 8, 8], name: x}
defaults:
  conv: {filters: 4, kernel: 3, padding: 1, bias: false}
blocks:
  layer1_block:
    layers:
      - conv: {activation: relu}
      - conv
      - add: {name: Add, from: [conv2, input]}
      - relu: {name: relu_1}
layers:
  - conv: {activation: relu}
  - layer1_block: {name: layer1, repeat: 2}
  - global_avgpool: {name: avgpool}
  - dense: {name: fc, units: 10}
"""
    net = netc.loads(text)
    assert [r.name for r in net.layers][1:5] == ["layer1.0.conv1", "layer1.0.conv2", "layer1.0.Add",
                                                 "layer1.0.relu_1"]
    assert net.totals.params == 5 * 4 * 4 * 9 + 10 * 4 + 10


def test_a_model_whose_netc_file_netc_would_refuse_is_refused():
    # 10,000 layers with names of 100 characters: 1.2 MB of text, past netc's 1 MiB
    m = M((1, 3, 4, 4))
    y = "x"
    for k in range(10_000):
        y = m.op("Relu", [y], name=f"{k:05d}" + "r" * 200)        # cut to 100 characters
    with pytest.raises(NetcError) as e:
        imported(m.model([y]))
    (d,) = e.value.diagnostics
    assert d.code == "E005"
    assert d.message.startswith("the netc file of this model (10,000 layers) would be too large for "
                                "netc to read: 1,2")
    assert d.message.endswith("bytes, more than the 1024 KiB limit")
    assert len(clean_name("a" * 5000)) == 100


def test_same_upper_padding_is_written_as_same():
    # 8 wide, kernel 3, stride 2: 4 outputs, (4 - 1)*2 + 3 - 8 = 1 row of padding, at the end
    m = M((1, 3, 8, 8))
    y = m.op("Conv", ["x", m.w(8, 3, 3, 3)], name="c", strides=[2, 2], auto_pad="SAME_UPPER")
    text = imported(m.model([y]))
    assert "  - conv: {name: c, filters: 8, kernel: 3, stride: 2, padding: same, bias: false}\n" in text
    layer = netc.loads(text).layers[0]
    assert layer.output_shape == (8, 4, 4)
    assert [(w.pad_begin, w.pad_end) for w in layer.windows] == [(0, 1), (0, 1)]


def test_asymmetric_padding_netc_cannot_write_is_refused():
    m = M((1, 3, 9, 9))
    y = m.op("Conv", ["x", m.w(8, 3, 3, 3)], name="c", pads=[0, 1, 1, 0])
    with pytest.raises(NetcError) as e:
        imported(m.model([y]))
    (d,) = e.value.diagnostics
    assert d.code == "E011"
    assert d.message.startswith("c: padding [top 0, bottom 1, left 1, right 0] is not symmetric")


def test_float_parameters_read_back_exactly():
    text = ("netc: 1\ninput: {shape: [4, 8, 8]}\nlayers:\n  - batchnorm: {eps: 1.0e-6, momentum: 0.97}\n"
            "  - leaky_relu: {slope: 0.2}\n  - layernorm: {eps: 0.001}\n")
    out = imported(netc.loads(text))
    assert "  - batchnorm: {eps: 1.0e-06, momentum: 0.97}\n" in out
    assert yaml.safe_load(out)["layers"][0]["batchnorm"]["eps"] == 1e-6     # YAML 1.1 reads it too
    p = [r.node.params for r in netc.loads(out).layers]
    assert (p[0]["eps"], p[0]["momentum"], p[1]["slope"], p[2]["eps"]) == (1e-6, 0.97, 0.2, 0.001)


# -- the command ------------------------------------------------------------------------------

def test_cli_writes_the_file_and_leaves_the_model_alone(tmp_path):
    model = tmp_path / "lenet.onnx"
    model.write_bytes(build_model(netc.load(EXAMPLES / "lenet5.yaml"), check=False).SerializeToString())
    before = model.read_bytes()
    out = tmp_path / "lenet.yaml"
    r = run_netc("import", str(model), "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "" and r.stderr == f"wrote {out}: 8 layers\n"
    assert model.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lenet.onnx", "lenet.yaml"]   # no temp file left
    printed = run_netc("import", str(model))
    assert printed.returncode == 0 and printed.stdout == out.read_text()
    # netc summary gives the same numbers for the model and the imported file
    totals = []
    for f in (model, out):
        summary = run_netc("summary", str(f), "--format", "json")
        assert summary.returncode == 0, summary.stderr
        totals.append(json.loads(summary.stdout)["totals"])
    assert totals[0] == totals[1] and totals[0]["params"] == netc.load(EXAMPLES / "lenet5.yaml").totals.params


def test_cli_exit_codes(tmp_path):
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x08\x07\x00\xff" * 64)
    r = run_netc("import", str(junk), "-o", str(tmp_path / "out.yaml"))
    assert r.returncode == 1 and "error[E010]" in r.stderr
    assert not (tmp_path / "out.yaml").exists()

    m = M((1, 3, 8, 8))
    y = m.op("Selu", ["x"], name="s")
    unsupported = tmp_path / "selu.onnx"
    onnx.save(m.model([y]), unsupported)
    r = run_netc("import", str(unsupported))
    assert r.returncode == 1 and "error[E011]" in r.stderr and r.stdout == ""

    assert run_netc("import").returncode == 2
    r = run_netc("import", str(EXAMPLES / "lenet5.yaml"))
    assert r.returncode == 2 and "is not an ONNX model" in r.stderr
    assert run_netc("import", str(tmp_path / "missing.onnx")).returncode == 2
    model = tmp_path / "m.onnx"
    model.write_bytes(build_model(netc.load(EXAMPLES / "lenet5.yaml"), check=False).SerializeToString())
    r = run_netc("import", str(model), "-o", str(tmp_path))
    assert r.returncode == 2 and "is a directory" in r.stderr
    r = run_netc("import", str(model), "-o", str(model))
    assert r.returncode == 2 and "overwrite the input" in r.stderr


# -- dynamo exports: paths from the modules in each node's metadata ---------------------------

def test_a_dynamo_export_is_named_by_its_modules():
    """torch.onnx.export(dynamo=True) names nodes node_Conv_12; the layers take the names
    of the PyTorch modules in their metadata instead (make.py's BasicBlock: conv1, bn1,
    a functional relu at the top level, conv2, bn2, down = Sequential(conv, bn))."""
    model = EXAMPLES.parent / "tests" / "data" / "torch_fixtures" / "resnet_basic.dynamo.onnx"
    net = netc.load(model)
    again = netc.loads(import_graph(net.graph, model.name))
    assert [r.name for r in again.layers] == ["conv1", "bn1", "relu_0", "conv2", "bn2", "down_0", "down_1",
                                              "add", "relu_1"]
    assert [(r.op, r.output_shape, r.params, r.macs) for r in again.layers] == \
        [(r.op, r.output_shape, r.params, r.macs) for r in net.layers]


def _scoped(m, op_type, inputs, module, fx):
    """A node with a dynamo exporter's name_scopes: the enclosing modules, the FX name last."""
    y = m.op(op_type, inputs, name=f"node_{fx}")
    parts = module.split(".") if module else []
    scopes = [""] + [".".join(parts[:i + 1]) for i in range(len(parts))] + [fx]
    m.nodes[-1].metadata_props.add(key="pkg.torch.onnx.name_scopes", value=repr(scopes))
    return y


def test_dynamo_copies_of_a_module_fold_by_their_module_paths():
    """Two copies layer.0, layer.1 of a module that calls one ReLU module twice (FX names
    relu, relu_1, then relu_2, relu_3: global, so not alike) and adds at its own level:
    ranks within each module make the copies alike, and they fold into one block."""
    m = M((1, 4, 6, 6))
    y = "x"
    for k in range(2):
        r1 = _scoped(m, "Relu", [y], f"layer.{k}.act", f"relu_{2 * k}" if k else "relu")
        s = _scoped(m, "Sigmoid", [r1], f"layer.{k}.gate", f"sigmoid_{k}" if k else "sigmoid")
        r2 = _scoped(m, "Relu", [s], f"layer.{k}.act", f"relu_{2 * k + 1}")
        y = _scoped(m, "Add", [r2, y], f"layer.{k}", f"add_{k}" if k else "add")
    text = imported(m.model([y]))
    assert text.split("blocks:\n", 1)[1] == """\
  layer_block:
    layers:
      - relu: {name: act_0}
      - sigmoid: {name: gate}
      - relu: {name: act_1}
      - add: {name: add, from: [act_1, input]}
layers:
  - layer_block: {name: layer, repeat: 2}
"""


def test_a_module_path_past_the_limit_is_not_used():
    """A dynamo scope whose module path is longer than MAX_SCOPE characters (a hostile
    file: its enclosing modules would cost quadratic memory) leaves the node its name."""
    from netc.diagnostics import Span
    from netc.graph import Graph, Node
    from netc.onnx.importer import MAX_SCOPE, _scope_paths

    deep = ".".join(["m"] * (MAX_SCOPE // 2 + 1))           # MAX_SCOPE + 1 characters
    span = Span("m.onnx", 1, 1)
    nodes = [Node("node_relu", "relu", {}, ["x"], span, torch_scope=(deep, "relu")),
             Node("node_relu_1", "relu", {}, ["node_relu"], span, torch_scope=("a.b", "relu_1"))]
    graph = Graph("g", "x", (3, 4, 4), span, nodes, ["node_relu_1"])
    assert _scope_paths(graph) == {"node_relu_1": "a.b"}
