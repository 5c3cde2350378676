"""netc draw: every example renders to well-formed, deterministic SVG with one box
per layer or collapsed block, skip connections as arcs, findings marked."""

import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from typer.testing import CliRunner

import netc
from conftest import EXAMPLES, ROOT, run_netc
from netc.cli import app
from netc.draw import draw, lint_findings

SVG = "{http://www.w3.org/2000/svg}"
EXAMPLE_FILES = sorted(p.name for p in EXAMPLES.glob("*.yaml"))
runner = CliRunner()


def boxes(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return [g.get("id")[len("item-"):] for g in root.iter(f"{SVG}g") if "item" in g.get("class", "").split()]


def expected_rows(net, depth: int | None) -> list[str]:
    """Brute force: the input, then each layer's name or its depth-th enclosing block use, once."""
    rows = [net.graph.input_name]
    for node in net.graph.nodes:
        names = [node.name] if depth is None or len(node.trace) < depth else [node.trace[depth - 1][0]]
        if names[0] not in rows:
            rows.append(names[0])
    return rows


@pytest.mark.parametrize("example", EXAMPLE_FILES)
@pytest.mark.parametrize("view", ["volume", "graph"])
def test_every_example_draws_one_box_per_layer_or_block(example, view):
    net = netc.load(EXAMPLES / example)
    collapsed = draw(net.analysis, view)
    depth = 1 if view == "volume" else 2
    assert boxes(collapsed) == expected_rows(net, depth)
    expanded = draw(net.analysis, view, expand=True)
    assert boxes(expanded) == [net.graph.input_name] + [n.name for n in net.graph.nodes]
    assert ET.fromstring(expanded).get("class") == f"netc-{view}"


@pytest.mark.parametrize("example", ["resnet18.yaml", "googlenet.yaml", "murphy-fig7.yaml"])
def test_cli_output_is_byte_identical_across_runs(example, tmp_path):
    outs = []
    for seed in ("1", "2"):
        target = tmp_path / f"{seed}.svg"
        env = {"PYTHONPATH": str(ROOT), "PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"}
        subprocess.run([sys.executable, "-m", "netc", "draw", f"examples/{example}", "-o", str(target)],
                       cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)
        outs.append(target.read_bytes())
    assert outs[0] == outs[1]
    assert b"<script" not in outs[0] and b"href" not in outs[0]   # self-contained: nothing to fetch or run


def test_skip_connections_are_arcs():
    """An arc for every edge whose producer is not the box just before its consumer."""
    net = netc.load(EXAMPLES / "resnet18.yaml")
    order = [net.graph.input_name] + [n.name for n in net.graph.nodes]
    skips = sum(1 for k, n in enumerate(net.graph.nodes) for i in n.inputs if i != order[k])
    assert skips > 8                       # eight basic blocks, three projections
    root = ET.fromstring(draw(net.analysis, "volume", expand=True))
    assert len([p for p in root.iter(f"{SVG}path") if "skip" in p.get("class", "").split()]) == skips


def test_auto_view_picks_graph_for_inception_and_volume_for_chains():
    assert ET.fromstring(draw(netc.load(EXAMPLES / "googlenet.yaml").analysis)).get("class") == "netc-graph"
    for chain in ("resnet152.yaml", "vgg16.yaml", "murphy-fig7.yaml"):
        assert ET.fromstring(draw(netc.load(EXAMPLES / chain).analysis)).get("class") == "netc-volume"


def test_labels_read_like_the_paper():
    svg = draw(netc.load(EXAMPLES / "murphy-fig7.yaml").analysis)
    texts = [t.text for t in ET.fromstring(svg).iter(f"{SVG}text")]
    assert "conv 5×5/2" in texts and "96×61×61" in texts and "4096" in texts


def test_findings_are_marked_with_footnotes(tmp_path):
    path = EXAMPLES / "murphy-fig7.yaml"
    found = lint_findings(path)
    assert {d.code for d in found} >= {"S001"}
    root = ET.fromstring(draw(netc.load(path).analysis, findings=found))
    notes = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "finding"]
    assert len(notes) == len(found) and any(n.startswith("[") and " S001 " in n for n in notes)
    fc1 = next(g for g in root.iter(f"{SVG}g") if g.get("id") == "item-fc1")
    s001 = next(d for d in found if d.code == "S001")
    assert s001.layer == "fc1"
    assert any(e.get("stroke") == "#e67e00" for e in fc1)                 # warning colour
    target = tmp_path / "plain.svg"
    r = runner.invoke(app, ["draw", str(path), "-o", str(target), "--no-findings"])
    assert r.exit_code == 0, r.output
    plain = ET.fromstring(target.read_text())
    assert not [t for t in plain.iter(f"{SVG}text") if t.get("class") == "finding"]


def test_findings_inside_a_collapsed_block_mark_the_block():
    path = EXAMPLES / "resnet18.yaml"
    found = [d for d in lint_findings(path) if d.layer and d.layer.startswith("layer2.")]
    assert found
    root = ET.fromstring(draw(netc.load(path).analysis, "volume", findings=found))
    layer2 = next(g for g in root.iter(f"{SVG}g") if g.get("id") == "item-layer2")
    assert any(e.get("stroke") == "#e67e00" for e in layer2)


def test_cli_errors_are_usage_errors(tmp_path):
    r = run_netc("draw", "examples/none.yaml")
    assert r.returncode == 2 and "no such file" in r.stderr
    r = run_netc("draw", "examples/resnet18.yaml", "--expand", "--depth", "2", "-o", str(tmp_path / "x.svg"))
    assert r.returncode == 2 and "exclude" in r.stderr
    r = run_netc("draw", "examples/resnet18.yaml", "-o", str(tmp_path / "missing" / "x.svg"))
    assert r.returncode == 2 and "cannot write" in r.stderr and "Traceback" not in r.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("netc: 1\nname: bad\ninput: {shape: [3, 8, 8]}\nlayers:\n  - conv: {filters: 4, kernel: 9}\n")
    r = run_netc("draw", str(bad))
    assert r.returncode == 1 and f"{bad}:5:" in r.stderr
    assert list(tmp_path.iterdir()) == [bad]                               # nothing half-written


PROBE = """
import json, sys
from typer.testing import CliRunner
from netc.cli import app
r = CliRunner().invoke(app, ["draw", "examples/resnet18.yaml", "-o", "-"])
assert r.exit_code == 0, r.output
r = CliRunner().invoke(app, ["summary", "examples/resnet18.yaml", "--format", "html", "--depth", "1"])
assert r.exit_code == 0, r.output
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {"onnx", "onnxruntime", "numpy"})))
"""


def test_draw_and_html_import_no_heavy_modules():
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_a_broken_lint_config_is_a_usage_error_not_a_traceback(tmp_path):
    (tmp_path / "net.yaml").write_text((EXAMPLES / "resnet18.yaml").read_text())
    (tmp_path / "pyproject.toml").write_text('[tool.netc.lint]\nselect = ["ZZZ9"]\n')
    r = run_netc("draw", str(tmp_path / "net.yaml"), "-o", str(tmp_path / "net.svg"))
    assert r.returncode == 2 and "ZZZ9" in r.stderr and "Traceback" not in r.stderr
    r = run_netc("draw", str(tmp_path / "net.yaml"), "-o", str(tmp_path / "net.svg"), "--no-findings")
    assert r.returncode == 0 and (tmp_path / "net.svg").exists()
    r = run_netc("summary", str(tmp_path / "net.yaml"), "--format", "html")
    assert r.returncode == 0 and "Not linted" in r.stdout and "ZZZ9" in r.stdout


def test_a_long_network_wraps_into_rows_and_keeps_every_box_and_arc():
    """ResNet-152 expanded (515 boxes) was one row 72,000 px wide; it wraps at ROW_WIDTH,
    every box inside the drawing, every skip still one arc."""
    from netc.draw.volume import ROW_WIDTH

    net = netc.load(EXAMPLES / "resnet152.yaml")
    root = ET.fromstring(draw(net.analysis, "volume", expand=True))
    width, height = float(root.get("width")), float(root.get("height"))
    assert width <= ROW_WIDTH and height > 10 * width / 2          # many rows, none too wide
    order = [net.graph.input_name] + [n.name for n in net.graph.nodes]
    skips = sum(1 for k, n in enumerate(net.graph.nodes) for i in n.inputs if i != order[k])
    assert len([p for p in root.iter(f"{SVG}path") if "skip" in p.get("class", "").split()]) == skips
    fronts = [next(e for e in g if e.tag == f"{SVG}rect") for g in root.iter(f"{SVG}g")
              if "item" in g.get("class", "").split()]
    assert len(fronts) == len(order)
    xs = [float(r.get("x")) for r in fronts]
    ys = sorted({round(float(r.get("y")) + float(r.get("height")) / 2) for r in fronts})   # row axes
    assert min(xs) > 0 and max(x + float(r.get("width")) for x, r in zip(xs, fronts)) < width
    assert len(ys) > 10                                               # one axis per row
