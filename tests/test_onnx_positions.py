"""Positions on ONNX models: a finding points at the PyTorch line that built the layer,
from the metadata ``torch.onnx.export(dynamo=True)`` writes on every node."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
from onnx import TensorProto, helper, numpy_helper

from conftest import run_netc
from netc.onnx.provenance import module_path, user_frame

SITE = "/opt/py/lib/python3.12/site-packages"
SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-2.1.0-subset.schema.json").read_text())

MODEL_PY = """import torch


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 8, 3, stride=3)

    def forward(self, x):
        return self.conv1(x)
"""


def stack_trace(user_file: str, line: int) -> str:
    """A stack trace as torch.export records it for a conv inside ``forward``: the
    user's frame, then torch's own module machinery."""
    return (f'File "{user_file}", line {line}, in forward\n'
            "    return self.conv1(x)\n"
            f'  File "{SITE}/torch/nn/modules/module.py", line 1751, in _call_impl\n'
            "    return forward_call(*args, **kwargs)\n"
            f'  File "{SITE}/torch/nn/modules/conv.py", line 554, in forward\n'
            "    return self._conv_forward(input, self.weight, self.bias)\n")


def conv_model(path: Path, meta: dict[str, str] | None, name: str = "node_conv2d"):
    """A conv 3x3 stride 3 over 32x32 ((32 - 3)/3 + 1 is not whole: A001), as the dynamo
    exporter writes it (node ``node_conv2d`` with metadata) or, without ``meta``, as
    TorchScript does (``/conv1/Conv``)."""
    w = numpy_helper.from_array(np.ones((8, 3, 3, 3), np.float32), "conv1.weight")
    node = helper.make_node("Conv", ["x", "conv1.weight"], ["y"], name=name, kernel_shape=[3, 3],
                            strides=[3, 3])
    for key, value in (meta or {}).items():
        node.metadata_props.add(key=key, value=value)
    g = helper.make_graph([node], "net", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)], ir_version=10)
    path.write_bytes(model.SerializeToString())
    return path


def dynamo_meta(user_file: str, line: int) -> dict[str, str]:
    return {"namespace": ": __main__.Net/conv1: torch.nn.modules.conv.Conv2d/conv2d: aten.conv2d.default",
            "pkg.torch.onnx.class_hierarchy": "['__main__.Net', 'torch.nn.modules.conv.Conv2d', 'aten.conv2d.default']",
            "pkg.torch.onnx.name_scopes": "['', 'conv1', 'conv2d']",
            "pkg.torch.onnx.stack_trace": stack_trace(user_file, line)}


def _exported(tmp_path):
    src = tmp_path / "model.py"
    src.write_text(MODEL_PY)
    return src, conv_model(tmp_path / "net.onnx", dynamo_meta(str(src), 10))


# -- reading the metadata ------------------------------------------------------------------

def test_user_frame_is_the_innermost_frame_outside_torch():
    trace = ('  File "/src/train.py", line 7, in main\n    y = net(x)\n'
             '  File "/src/net.py", line 30, in forward\n    x = self.block(x)\n'
             f'  File "{SITE}/torch/nn/modules/module.py", line 1751, in _call_impl\n    return f()\n'
             '  File "/src/blocks.py", line 12, in forward\n    return self.conv(x)\n'
             f'  File "{SITE}/torch/nn/modules/conv.py", line 554, in forward\n    return F.conv2d()\n'
             '  File "<eval_with_key>.3", line 5, in forward\n')
    assert user_frame(trace) == ("/src/blocks.py", 12)
    assert user_frame(f'File "{SITE}/torch/nn/functional.py", line 9, in relu\n') is None
    assert user_frame("") is None
    assert user_frame('File "C:\\\\work\\\\net.py", line 4, in forward') == ("C:\\\\work\\\\net.py", 4)


def test_module_path_from_name_scopes():
    assert module_path("['', 'layer1', 'layer1.0', 'layer1.0.conv1', 'conv2d']") == "layer1.0.conv1"
    assert module_path("['', 'layer1', '0', 'conv1', 'conv2d']") == "layer1.0.conv1"   # relative names
    assert module_path("['', 'add']") == ""                                             # the root module
    assert module_path("not a list") == ""
    assert module_path("['', '" + "a" * 100_000 + "', 'x']") == ""                      # bounded


# -- the finding names the Python file and line, in every output format --------------------

def test_text_finding_points_at_the_pytorch_line(tmp_path):
    src, model = _exported(tmp_path)
    r = run_netc("lint", str(model), "--select", "A001")
    assert r.returncode == 1
    lines = r.stdout.splitlines()
    assert lines[0].startswith(f"{model}: node 'node_conv2d' (Conv #0): error[A001]: node_conv2d: (32 - 3)/3")
    assert lines[1] == f"  {src}:10:1: note: the node was built from this line, in PyTorch module 'conv1'"
    assert src.read_text().splitlines()[9].strip() == "return self.conv1(x)"


def test_json_sarif_github_carry_the_pytorch_line(tmp_path):
    src, model = _exported(tmp_path)
    f = next(f for f in json.loads(run_netc("lint", str(model), "--output-format", "json").stdout)
             if f["code"] == "A001")
    assert (f["file"], f["line"], f["where"]) == (str(model), None, "node 'node_conv2d' (Conv #0)")
    assert f["notes"] == [{"message": "the node was built from this line, in PyTorch module 'conv1'",
                           "file": str(src), "line": 10, "column": 1}]
    log = json.loads(run_netc("lint", str(model), "--output-format", "sarif").stdout)
    jsonschema.validate(log, SCHEMA)
    res = next(r for r in log["runs"][0]["results"] if r["ruleId"] == "A001")
    rel = res["relatedLocations"][0]
    assert rel["physicalLocation"]["artifactLocation"]["uri"] == src.as_uri()
    assert rel["physicalLocation"]["region"]["startLine"] == 10
    gh = run_netc("lint", str(model), "--output-format", "github", "--select", "A001").stdout
    assert f"%0A{src}:10:1: note: the node was built from this line" in gh


def test_relative_trace_path_is_found_beside_the_model_and_sarif_uri_stays_relative(tmp_path):
    (tmp_path / "model.py").write_text(MODEL_PY)
    conv_model(tmp_path / "net.onnx", dynamo_meta("model.py", 10))
    log = json.loads(run_netc("lint", "net.onnx", "--output-format", "sarif", cwd=tmp_path).stdout)
    jsonschema.validate(log, SCHEMA)
    res = next(r for r in log["runs"][0]["results"] if r["ruleId"] == "A001")
    assert res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "net.onnx"
    assert res["relatedLocations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "model.py"


def test_trace_only_through_torch_names_the_module_without_a_line(tmp_path):
    meta = {"pkg.torch.onnx.name_scopes": "['', 'features', 'features.0', 'conv2d']",
            "pkg.torch.onnx.stack_trace": f'File "{SITE}/torch/nn/modules/conv.py", line 554, in forward\n'}
    model = conv_model(tmp_path / "net.onnx", meta)
    f = next(f for f in json.loads(run_netc("lint", str(model), "--output-format", "json").stdout)
             if f["code"] == "A001")
    assert f["notes"] == [{"message": "the node was built by PyTorch module 'features.0'",
                           "file": None, "line": None, "column": None}]


def test_torchscript_style_node_has_no_note(tmp_path):
    model = conv_model(tmp_path / "net.onnx", None, name="/conv1/Conv")
    f = next(f for f in json.loads(run_netc("lint", str(model), "--output-format", "json").stdout)
             if f["code"] == "A001")
    assert f["where"] == "node '/conv1/Conv' (Conv #0)" and f["notes"] == []


def test_load_error_on_a_node_points_at_the_pytorch_line_too(tmp_path):
    """A conv whose kernel is larger than its input (E004) stops loading; the error
    still names the Python line."""
    src = tmp_path / "model.py"
    src.write_text(MODEL_PY)
    w = numpy_helper.from_array(np.ones((8, 3, 5, 5), np.float32), "w")
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="node_conv2d", kernel_shape=[5, 5])
    for key, value in dynamo_meta(str(src), 10).items():
        node.metadata_props.add(key=key, value=value)
    g = helper.make_graph([node], "net", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w])
    model = tmp_path / "net.onnx"
    model.write_bytes(helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)], ir_version=10)
                      .SerializeToString())
    r = run_netc("lint", str(model))
    assert r.returncode == 1
    lines = r.stdout.splitlines()
    assert lines[0].startswith(f"{model}: node 'node_conv2d' (Conv #0): error[E004]: node_conv2d:")
    assert lines[1] == f"  {src}:10:1: note: the node was built from this line, in PyTorch module 'conv1'"


def test_unsupported_node_error_points_at_the_pytorch_line(tmp_path):
    src = tmp_path / "model.py"
    src.write_text(MODEL_PY)
    node = helper.make_node("Cos", ["x"], ["y"], name="node_cos")
    for key, value in dynamo_meta(str(src), 10).items():
        node.metadata_props.add(key=key, value=value)
    g = helper.make_graph([node], "net", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    model = tmp_path / "net.onnx"
    model.write_bytes(helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)], ir_version=10)
                      .SerializeToString())
    f = json.loads(run_netc("lint", str(model), "--output-format", "json").stdout)
    e011 = next(x for x in f if x["code"] == "E011")
    assert e011["where"] == "node 'node_cos' (Cos #0)"
    assert (e011["notes"][0]["file"], e011["notes"][0]["line"]) == (str(src), 10)
    assert e011["notes"][1]["message"] == "Cos: 1 node: 'node_cos'"
