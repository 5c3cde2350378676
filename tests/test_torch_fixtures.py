"""Real PyTorch exports (tests/data/torch_fixtures/, made by its make.py with torch;
CI needs no torch): netc reads each and gives torch's own parameter count and
conv/dense MACs exactly, and flags the deliberate window bugs on the ONNX file with
the same codes and messages as on the equivalent netc file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import netc
from netc.lint import lint_file

DATA = Path(__file__).parent / "data" / "torch_fixtures"
MANIFEST = json.loads((DATA / "manifest.json").read_text())
FIXTURES = MANIFEST["fixtures"]

# torchvision's ConvNeXt applies its Linear layers to a channels-last tensor
# ("convnext_linear"): Transpose(0,2,3,1) -> LayerNormalization -> MatMul+Add -> Erf GELU
# -> MatMul+Add -> Mul(gamma) -> Transpose(0,3,1,2), read as a channels-last region; the
# ConvNeXt block written with 1x1 convs ("convnext") reads exactly too.
CASES = [pytest.param(name, kind, id=f"{name}-{kind}") for name, f in FIXTURES.items() for kind in f["files"]]


def test_the_manifest_covers_the_issue_blocks_with_both_exporters():
    assert {"resnet_basic", "mobilenetv3", "inverted_residual_silu", "convnext", "unet_up",
            "inexact"} <= set(FIXTURES)
    for name, f in FIXTURES.items():
        assert set(f["files"]) == {"torchscript", "dynamo"} | (
            {"torchscript13"} if name == "convnext_linear" else set())
        for file in f["files"].values():
            assert (DATA / file).stat().st_size < 200_000


@pytest.mark.parametrize("name, kind", CASES)
def test_params_and_macs_equal_torch(name, kind):
    f = FIXTURES[name]
    totals = netc.load(DATA / f["files"][kind]).totals
    assert totals.trainable_params == f["params"]
    assert totals.macs == f["macs"]


@pytest.mark.parametrize("kind", ["torchscript", "torchscript13", "dynamo"])
def test_channels_last_convnext_reads_its_linears_as_pointwise_convs(kind):
    """dwconv 7x7 -> LayerNorm -> Linear(16, 64) + GELU -> Linear(64, 16) -> gamma -> + x,
    the Linears applied at each of the 14x14 positions; at opset 13 the LayerNorm is its
    definition (ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add) over the last axis."""
    net = netc.load(DATA / FIXTURES["convnext_linear"]["files"][kind])
    layers = [(r.op, r.output_shape, r.params, r.macs) for r in net.analysis.layers]
    assert layers == [("conv", (16, 14, 14), 16 * 49 + 16, 16 * 49 * 196),
                      ("layernorm", (16, 14, 14), 32, 0),
                      ("conv", (64, 14, 14), 16 * 64 + 64, 16 * 64 * 196),
                      ("conv", (16, 14, 14), 64 * 16 + 16, 64 * 16 * 196),
                      ("scale", (16, 14, 14), 16, 0),
                      ("add", (16, 14, 14), 0, 0)]
    assert [r.node.params.get("activation") for r in net.analysis.layers[2:4]] == ["gelu", "none"]
    assert net.analysis.layers[4].node.params["value"] == 1e-6


INEXACT_YAML = """netc: 1
name: inexact
input: {shape: [3, 16, 16]}
layers:
  - conv: {name: conv, filters: 8, kernel: 3, stride: 2, activation: relu}
  - maxpool: {name: pool, kernel: 2, stride: 2, ceil_mode: true}
"""


def _codes_and_messages(findings, names):
    """(code, message) with the layer's name replaced by a placeholder."""
    out = []
    for d in findings:
        msg = d.message
        for name in names:
            msg = msg.replace(name, "LAYER")
        out.append((d.code, msg))
    return sorted(out)


@pytest.mark.parametrize("kind", ["torchscript", "dynamo"])
def test_window_bugs_are_flagged_on_the_onnx_file_as_on_the_netc_file(kind, tmp_path):
    onnx_findings = lint_file(DATA / FIXTURES["inexact"]["files"][kind])
    codes = sorted(d.code for d in onnx_findings)
    assert codes == ["A001", "A005"]
    a001 = next(d for d in onnx_findings if d.code == "A001")
    assert "(16 - 3)/2 + 1 = 7.5 is not whole" in a001.message
    yaml = tmp_path / "inexact.yaml"
    yaml.write_text(INEXACT_YAML)
    yaml_findings = lint_file(yaml)
    onnx_names = [d.layer for d in onnx_findings if d.layer]
    assert _codes_and_messages(onnx_findings, onnx_names) == _codes_and_messages(yaml_findings, ["conv", "pool"])


def test_a_dynamo_finding_names_the_make_py_line_that_built_the_layer():
    findings = lint_file(DATA / FIXTURES["inexact"]["files"]["dynamo"])
    source = (DATA / "make.py").read_text().splitlines()
    for d in findings:
        spans = [s for s, _ in d.notes if s is not None]
        assert spans, d.format()
        assert Path(spans[0].file).name == "make.py"
        line = source[spans[0].line - 1]
        assert re.search(r"self\.(conv|pool)\(", line), line   # Inexact.forward's line


def test_torchscript_findings_carry_no_source_line():
    """TorchScript exports carry no stack traces: the finding names the node only."""
    for d in lint_file(DATA / FIXTURES["inexact"]["files"]["torchscript"]):
        assert all(s is None for s, _ in d.notes)
        assert d.span.where.startswith("node '/")
