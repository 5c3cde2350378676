"""``per-node-ignores``: the ONNX counterpart of ``# netc: noqa``, by node-name glob."""

from __future__ import annotations

import json

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from conftest import run_netc

BAD_YAML = "netc: 1\ninput: {shape: [3, 32, 32]}\nlayers:\n  - conv: {name: layer1, filters: 8, kernel: 3, stride: 3}\n"


def two_convs(path, names=("layer1.0.conv1", "layer2.0.conv1"), scopes=None):
    """Two convs 3x3 stride 3: 32 -> 10 -> 3, neither division whole (A001 twice).
    ``scopes``: the PyTorch module of each node, written as a dynamo export does."""
    inits, nodes, x = [], [], "x"
    for i, name in enumerate(names):
        w = f"w{i}"
        inits.append(numpy_helper.from_array(np.ones((8, 3 if i == 0 else 8, 3, 3), np.float32), w))
        node = helper.make_node("Conv", [x, w], [f"y{i}"], name=name, kernel_shape=[3, 3], strides=[3, 3])
        if scopes:
            node.metadata_props.add(key="pkg.torch.onnx.name_scopes",
                                    value=repr(["", *_parents(scopes[i]), "conv2d"]))
        nodes.append(node)
        x = f"y{i}"
    g = helper.make_graph(nodes, "net", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])],
                          [helper.make_tensor_value_info(x, TensorProto.FLOAT, None)], inits)
    path.write_bytes(helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)], ir_version=10)
                     .SerializeToString())
    return path


def _parents(module):
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def lint(tmp_path, config: str, *files: str):
    (tmp_path / "netc.toml").write_text("[lint]\n" + config)
    r = run_netc("lint", *files, "--output-format", "json", cwd=tmp_path)
    return r, (json.loads(r.stdout) if r.stdout else None)


def layers(found):
    return [(f["code"], f["layer"]) for f in found]


def test_without_ignores_both_convs_are_flagged(tmp_path):
    two_convs(tmp_path / "net.onnx")
    r, found = lint(tmp_path, "", "net.onnx")
    assert layers(found) == [("A001", "layer1.0.conv1"), ("A001", "layer2.0.conv1")]


@pytest.mark.parametrize("config", ['per-node-ignores = {"layer1.*" = ["A001"]}\n',
                                    'per-node-ignores = {"layer1.0.conv?" = ["A"]}\n',
                                    'per-node-ignores = {"*1.0.*" = ["ALL"]}\n',
                                    'per-node-ignores = {"net.onnx" = {"layer1.*" = ["A001"]}}\n',
                                    '[lint.per-node-ignores."*.onnx"]\n"layer1.*" = ["a001"]\n'])
def test_matching_pattern_drops_that_finding_only(tmp_path, config):
    two_convs(tmp_path / "net.onnx")
    r, found = lint(tmp_path, config, "net.onnx")
    assert layers(found) == [("A001", "layer2.0.conv1")]
    assert r.returncode == 1


@pytest.mark.parametrize("config", ['per-node-ignores = {"layer1.*" = ["D001"]}\n',       # another code
                                    'per-node-ignores = {"layer1" = ["A001"]}\n',          # whole name
                                    'per-node-ignores = {"Layer1.*" = ["A001"]}\n',        # case matters
                                    'per-node-ignores = {"other.onnx" = {"layer1.*" = ["A001"]}}\n'])
def test_other_patterns_leave_findings(tmp_path, config):
    two_convs(tmp_path / "net.onnx")
    _, found = lint(tmp_path, config, "net.onnx")
    assert layers(found) == [("A001", "layer1.0.conv1"), ("A001", "layer2.0.conv1")]


def test_pattern_matches_the_pytorch_module_of_a_dynamo_node(tmp_path):
    two_convs(tmp_path / "net.onnx", names=("node_conv2d", "node_conv2d_1"),
              scopes=("layer1.0.conv1", "layer2.0.conv1"))
    _, found = lint(tmp_path, 'per-node-ignores = {"layer2.*" = ["A001"]}\n', "net.onnx")
    assert layers(found) == [("A001", "node_conv2d")]
    assert found[0]["notes"][0]["message"] == "the node was built by PyTorch module 'layer1.0.conv1'"


def test_both_forms_mixed_and_every_model_in_a_folder(tmp_path):
    (tmp_path / "m").mkdir()
    two_convs(tmp_path / "m" / "a.onnx")
    two_convs(tmp_path / "m" / "b.onnx")
    _, found = lint(tmp_path, 'per-node-ignores = {"layer1.*" = ["A001"], "m/b.onnx" = {"layer2.*" = ["A001"]}}\n',
                    "m")
    assert [(f["file"].rsplit("/", 1)[1], f["layer"]) for f in found] == [("a.onnx", "layer2.0.conv1")]


def test_netc_files_keep_their_findings(tmp_path):
    """Node patterns are for models; a netc file has ``# netc: noqa`` on its lines."""
    (tmp_path / "net.yaml").write_text(BAD_YAML)
    _, found = lint(tmp_path, 'per-node-ignores = {"*" = ["ALL"]}\n', "net.yaml")
    assert layers(found) == [("A001", "layer1")]


@pytest.mark.parametrize("config, message", [
    ('per-node-ignores = ["layer1.*"]\n', "per-node-ignores: expected a table of node-name glob = [codes]"),
    ('per-node-ignores = {"layer1.*" = ["Z999"]}\n', "per-node-ignores.'layer1.*': 'Z999' matches no rule code"),
    ('per-node-ignores = {"layer1.*" = 3}\n', "per-node-ignores.'layer1.*': expected a list of rule codes"),
    ('per-node-ignores = {"" = ["A001"]}\n', "per-node-ignores: an empty pattern matches nothing"),
    ('per-node-ignores = {"a.onnx" = {"x" = {"y" = ["A001"]}}}\n', "per-node-ignores.'a.onnx'.'x': expected a table"),
    ('per-node-ignore = {"layer1.*" = ["A001"]}\n', "unknown setting; did you mean 'per-node-ignores'?"),
])
def test_bad_config_is_a_usage_error(tmp_path, config, message):
    two_convs(tmp_path / "net.onnx")
    r, _ = lint(tmp_path, config, "net.onnx")
    assert r.returncode == 2
    assert message in r.stderr and "Traceback" not in r.stderr
    assert r.stderr.startswith(f"netc: error: {tmp_path / 'netc.toml'}: [lint] per-node-ignore")
