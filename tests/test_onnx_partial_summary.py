"""``netc summary`` of an ONNX model read in part: the E011 error on stderr, then the
layers that were read, with totals marked incomplete (lower bounds) in every format,
and exit code 1. The unread nodes are named, never counted as zero."""

import csv
import io
import json

import onnx
import pytest
from onnx import helper

import netc
from conftest import run_netc
from netc.render.summary import as_dict
from test_onnx_reader import M

# Hand-computed counts of the layers read (8x8 input, 3 channels; 'same' 3x3 convs):
#   conv1  3->4, 3x3 + bias: params 4*3*9 + 4 = 112, MACs (4*8*8) * (3*9) = 6,912
#   pool   2x2 / 2: no params, no MACs
#   conv3  4->2, 3x3 + bias: params 2*4*9 + 2 = 74,  MACs (2*4*4) * (4*9) = 1,152
# conv2 (4->4 1x1 after the Selu: 16 params, 1,024 MACs) is not read, so not counted.
PARAMS, MACS = 112 + 74, 6_912 + 1_152
READ = ["conv1", "pool", "conv3"]
SENTENCE = ("Totals are incomplete: 2 nodes of 2 op types (Selu x1: 'selu1', com.example.Mystery x1: "
            "'mystery1') were not read, and 1 node after them was not reached; the counts below cover "
            "the 3 layers "
            "read and are lower bounds (≥).")


def _model(unsupported=True):
    m = M((1, 3, 8, 8))
    y1 = m.op("Conv", ["x", m.w(4, 3, 3, 3), m.w(4)], pads=[1, 1, 1, 1], name="conv1")
    outs = []
    if unsupported:
        s = m.op("Selu", [y1], name="selu1")                         # one branch: unread
        outs.append(m.op("Conv", [s, m.w(4, 4, 1, 1)], name="conv2"))  # after it: no input shape
        m.nodes.append(helper.make_node("Mystery", [y1], ["mystery1"], name="mystery1",
                                        domain="com.example"))
        outs.append("mystery1")
    p = m.op("MaxPool", [y1], kernel_shape=[2, 2], strides=[2, 2], name="pool")  # read: shapes known
    outs.append(m.op("Conv", [p, m.w(2, 4, 3, 3), m.w(2)], pads=[1, 1, 1, 1], name="conv3"))
    model = m.model(outs)
    if unsupported:
        model.opset_import.append(helper.make_opsetid("com.example", 1))
    return model


@pytest.fixture(scope="module")
def partial_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("partial") / "model.onnx"
    onnx.save(_model(), path)
    return path


def _run(path, fmt):
    r = run_netc("summary", str(path), "--format", fmt)
    assert r.returncode == 1, r.stderr                 # the input is not fully supported
    assert r.stderr.startswith(f"{path}: node 'selu1' (Selu #1): error[E011]: 2 nodes of 2 op types")
    assert "com.example.Mystery: 1 node: 'mystery1'" in r.stderr
    return r.stdout


def test_partial_network_counts_only_what_was_read(partial_model):
    net = netc.load(partial_model, partial=True)
    assert [r.name for r in net.analysis.layers] == READ
    assert [(r.params, r.macs) for r in net.analysis.layers] == [(112, 6_912), (0, 0), (74, 1_152)]
    assert (net.totals.params, net.totals.macs) == (PARAMS, MACS)
    assert net.graph.unread_ops == {"Selu": ["selu1"], "com.example.Mystery": ["mystery1"]}
    assert net.graph.unread_after == 1


def test_text(partial_model):
    out = _run(partial_model, "text").splitlines()
    assert out[1] == SENTENCE
    rows = {line.split()[0]: line.split() for line in out if line.split() and line.split()[0] in READ}
    assert list(rows) == READ and rows["conv1"][5:7] == ["112", "6,912"]
    assert "selu1" not in [line.split()[0] for line in out if line.split()]   # named above, not a row
    assert f"Params:          ≥ {PARAMS:,} (trainable ≥ {PARAMS:,}, non-trainable ≥ 0)" in out
    assert f"MACs:            ≥ {MACS:,} (8.06k) per sample" in out
    assert any(line.startswith("Memory (batch 1, float32, sgd), lower bounds (incomplete):") for line in out)


def test_markdown(partial_model):
    out = _run(partial_model, "markdown")
    assert f"> **{SENTENCE}**" in out
    assert f"| **total (incomplete)** | | | **≥ {PARAMS:,}** | **≥ {MACS:,}** |" in out
    assert "| conv3 | conv | (2, 4, 4) | 74 | 1,152 |" in out


def test_csv_note_is_a_comment_line_before_the_header(partial_model):
    out = _run(partial_model, "csv")
    first, rest = out.split("\n", 1)
    assert first == "# " + SENTENCE.replace("the counts below", "the rows below")
    rows = list(csv.DictReader(io.StringIO(rest)))
    assert [r["name"] for r in rows] == READ
    assert sum(int(r["params"]) for r in rows) == PARAMS and sum(int(r["macs"]) for r in rows) == MACS


def test_json(partial_model):
    data = json.loads(_run(partial_model, "json"))
    assert data["schema_version"] == 1
    assert [x["name"] for x in data["layers"]] == READ
    assert data["totals"]["params"] == PARAMS and data["totals"]["macs"] == MACS
    assert data["totals"]["lower_bound"] is True and data["memory"]["lower_bound"] is True
    assert data["incomplete"] == {
        "code": "E011",
        "reason": "2 nodes of 2 op types netc cannot read (Selu x1, com.example.Mystery x1); they are "
                  "left out of every count, never counted as zero",
        "unread_nodes": 2, "unread_op_types": 2,
        "op_types": [{"op_type": "Selu", "count": 1, "first_nodes": ["selu1"]},
                     {"op_type": "com.example.Mystery", "count": 1, "first_nodes": ["mystery1"]}],
        "nodes_after": 1, "layers_read": 3}


def test_html(partial_model):
    out = _run(partial_model, "html")
    assert f"≥ {PARAMS:,} params (≥ {PARAMS:,} trainable) · ≥ {MACS:,} MACs" in out
    assert ('<p class="error" id="incomplete">Totals are incomplete: 2 nodes of 2 op types '
            "(Selu x1: &#x27;selu1&#x27;, com.example.Mystery x1: &#x27;mystery1&#x27;)") in out


def test_many_nodes_of_one_type_list_the_first_three(tmp_path):
    m = M((1, 3, 8, 8))
    y = m.op("Conv", ["x", m.w(4, 3, 3, 3)], pads=[1, 1, 1, 1], name="conv0")
    outs = [m.op("Selu", [y], name=f"s{i}") for i in range(5)]
    net = netc.load(_save(tmp_path, m.model(outs + [y])), partial=True)
    inc = as_dict(net.analysis, net.memory(1))["incomplete"]
    assert inc["op_types"] == [{"op_type": "Selu", "count": 5, "first_nodes": ["s0", "s1", "s2"]}]
    assert net.totals.params == 4 * 3 * 9


def test_complete_model_is_not_marked(tmp_path):
    net = netc.load(_save(tmp_path, _model(unsupported=False)), partial=True)
    data = as_dict(net.analysis, net.memory(1))
    assert "incomplete" not in data and "lower_bound" not in data["totals"]
    assert (data["totals"]["params"], data["totals"]["macs"]) == (PARAMS, MACS)


def _save(tmp_path, model):
    path = tmp_path / "m.onnx"
    onnx.save(model, path)
    return path
