"""summary --depth: layers rolled up into blocks, torchinfo style, in every format."""

import csv
import io
import json

import pytest
from typer.testing import CliRunner

import netc
from conftest import EXAMPLES, ROOT
from netc.cli import app
from netc.rollup import BlockReport, rollup

runner = CliRunner()


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
@pytest.mark.parametrize("depth", [1, 2, 3])
def test_rows_partition_the_layers_and_keep_the_sums(example, depth):
    net = netc.load(EXAMPLES / example)
    rolled = rollup(net.analysis, depth)
    members = [m.name for r in rolled.layers for m in (r.layers if isinstance(r, BlockReport) else [r])]
    assert members == [n.name for n in net.graph.nodes]          # every layer once, in order
    by_name = {r.name: r for r in net.analysis.layers}
    for r in rolled.layers:
        if isinstance(r, BlockReport):
            inner = [by_name[m.name] for m in r.layers]
            assert all(len(m.node.trace) >= depth and m.node.trace[depth - 1][0] == r.name for m in inner)
            assert r.params == sum(m.params for m in inner)
            assert r.macs == sum(m.macs for m in inner) and r.flops == sum(m.flops for m in inner)
            assert r.activations == sum(m.activations for m in inner)
            assert r.output_shape == inner[-1].output_shape
        else:
            assert len(r.node.trace) < depth
    names = {r.name for r in rolled.layers} | {net.graph.input_name}
    assert all(i in names for r in rolled.layers for i in r.node.inputs)
    assert rolled.totals == net.totals


def test_resnet152_depth_1_reads_in_a_screen(monkeypatch):
    monkeypatch.chdir(ROOT)
    r = runner.invoke(app, ["summary", "examples/resnet152.yaml", "--depth", "1"])
    assert r.exit_code == 0, r.output
    rows = [line.split()[0] for line in r.stdout.splitlines()[4:16]]
    assert rows == ["input", "conv1", "bn1", "relu1", "maxpool1", "layer1", "layer2", "layer3", "layer4",
                    "global_avgpool1", "fc", rows[-1]] and set(rows[-1]) == {"-"}
    assert "layer3           stage" in r.stdout and "Params:          60,344,232" in r.stdout


def test_depth_in_json_csv_markdown(monkeypatch):
    monkeypatch.chdir(ROOT)
    args = ["summary", "examples/resnet50.yaml", "--depth", "2"]
    data = json.loads(runner.invoke(app, [*args, "--format", "json"]).stdout)
    assert data["schema_version"] == 1 and data["depth"] == 2
    first = next(e for e in data["layers"] if e["name"] == "layer1.first")
    assert first["kind"] == "block" and first["op"] == "bottleneck_projected"
    assert first["layer_count"] == 12 and first["inputs"] == ["maxpool1"] and first["windows"] is None
    assert sum(e["params"] for e in data["layers"]) == data["totals"]["params"]
    assert sum(e["trainable_params"] for e in data["layers"]) == 25_557_032       # torchvision's count
    assert "kind" not in next(e for e in data["layers"] if e["name"] == "conv1")
    full = json.loads(runner.invoke(app, ["summary", "examples/resnet50.yaml", "--format", "json"]).stdout)
    assert "depth" not in full and all("kind" not in e for e in full["layers"])
    rows = list(csv.reader(io.StringIO(runner.invoke(app, [*args, "--format", "csv"]).stdout)))
    assert [r[0] for r in rows[1:]] == [e["name"] for e in data["layers"]]
    md = runner.invoke(app, [*args, "--format", "markdown"]).stdout
    assert "| layer4.rest.1 | bottleneck | (2048, 7, 7) |" in md


def test_depth_must_be_positive(monkeypatch):
    monkeypatch.chdir(ROOT)
    r = runner.invoke(app, ["summary", "examples/resnet50.yaml", "--depth", "0"])
    assert r.exit_code == 2
