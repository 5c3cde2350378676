"""Pictures that say nothing false (issue 20, item 3), checked on the SVG's structure:
which marks sit over which blocks, which arcs join which items and how, the shape
labels, the findings on every block instance, the HTML table's words."""

import re
import xml.etree.ElementTree as ET

import pytest
from typer.testing import CliRunner

import netc
from conftest import EXAMPLES, ROOT
from netc.cli import app
from netc.draw import draw, lint_findings

SVG = "{http://www.w3.org/2000/svg}"
UNET2015 = ROOT / "tests" / "data" / "unet2015.yaml"
runner = CliRunner()


def classes(e) -> list[str]:
    return e.get("class", "").split()


def item(root, name):
    return next(g for g in root.iter(f"{SVG}g") if g.get("id") == f"item-{name}")


def marks(root, name) -> set[str]:
    """The kinds of join marked over an item: 'residual', 'gate', 'concat', 'sum'."""
    return {c for e in item(root, name).iter() if "mark" in classes(e) for c in classes(e) if c != "mark"}


def arcs(root) -> dict[tuple[str, str], str]:
    """(from, to) -> the kind of join each skip arc leads to."""
    return {(p.get("data-from"), p.get("data-to")): classes(p)[1]
            for p in root.iter(f"{SVG}path") if "skip" in classes(p)}


def texts(root) -> list[str]:
    return [t.text for t in root.iter(f"{SVG}text")]


def test_the_residual_arc_marks_only_blocks_that_add_a_shortcut():
    """EfficientNet-B0's stage1 and stage7 are one MBConv each, without a shortcut: their
    only join is the squeeze-excitation multiply, a gate, not a residual."""
    root = ET.fromstring(draw(netc.load(EXAMPLES / "efficientnet_b0.yaml").analysis, "volume"))
    for stage in ("stage1", "stage7"):
        assert marks(root, stage) == {"gate"}
    for stage in ("stage2", "stage3", "stage4", "stage5", "stage6"):
        assert marks(root, stage) == {"residual", "gate"}
    assert marks(root, "stem") == set() and marks(root, "head") == set()
    root = ET.fromstring(draw(netc.load(EXAMPLES / "resnet50.yaml").analysis, "volume"))
    assert all(marks(root, f"layer{k}") == {"residual"} for k in (1, 2, 3, 4))
    legend = [g for g in root.iter(f"{SVG}g") if "legend" in classes(g)]
    assert [classes(g)[1] for g in legend] == ["join-residual"]


def test_a_unet_decoder_concatenates_its_skip():
    """examples/unet.yaml's decoder blocks crop the encoder's map and concatenate it: a
    concat mark, dashed arcs of the concat kind from each encoder, no residual arc."""
    root = ET.fromstring(draw(netc.load(EXAMPLES / "unet.yaml").analysis, "volume"))
    for k in (1, 2, 3, 4):
        assert marks(root, f"dec{k}") == {"concat"}
    assert arcs(root) == {(f"enc{k}", f"dec{k}"): "concat" for k in (1, 2, 3, 4)}
    dashed = [p for p in root.iter(f"{SVG}path") if "skip" in classes(p)]
    assert all(p.get("stroke-dasharray") for p in dashed)
    assert not [e for e in root.iter() if "residual" in classes(e)]
    # the paper's file writes crop and concat at the top level: the arc ends at the crop
    # and still says where it leads
    root = ET.fromstring(draw(netc.load(UNET2015).analysis, "volume"))
    found = arcs(root)
    assert {found[f"enc{k}", f"skip{k}"] for k in (1, 2, 3, 4)} == {"concat"}


def test_an_expanded_squeeze_excitation_is_a_gate():
    root = ET.fromstring(draw(netc.load(EXAMPLES / "efficientnet_b0.yaml").analysis, "volume", expand=True))
    found = arcs(root)
    assert found["stage1.first.depthwise.act", "stage1.first.se.scale"] == "gate"
    assert found["stage2.first.project_bn", "stage2.rest.0.shortcut"] == "residual"
    assert set(found.values()) == {"gate", "residual"}


def test_shapes_are_channels_first_in_every_label():
    """Figure 7's conv4 is (384, 5, 5) in the tables: 384×5×5 in the drawing, never 5×5×384."""
    net = netc.load(EXAMPLES / "murphy-fig7.yaml")
    for view in ("volume", "graph"):
        root = ET.fromstring(draw(net.analysis, view))
        words = " ".join(t for t in texts(root) if t) + " " + " ".join(t.text for t in root.iter(f"{SVG}title"))
        assert "384×5×5" in words and "3×125×125" in words
        assert "5×5×384" not in words and "125×125×3" not in words


def test_html_shapes_and_block_sizes_say_what_they_are(monkeypatch):
    monkeypatch.chdir(ROOT)
    r = runner.invoke(app, ["summary", "examples/resnet50.yaml", "--format", "html"])
    assert r.exit_code == 0, r.output
    rows = re.findall(r'<tr class="([^"]*)"[^>]*><td[^>]*>(?:<button[^>]*>.</button>|<span[^>]*></span>)'
                      r'([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td>', r.stdout)
    by_name = {name: (cls, op, shape) for cls, name, op, shape in rows}
    net = netc.load(EXAMPLES / "resnet50.yaml")
    for layer in net.analysis.layers:                 # every layer's shape as the text table's, in order
        assert by_name[layer.name][2] == "×".join(map(str, layer.output_shape))
    assert by_name["layer1"][1] == "stage · 3 blocks, 32 layers"
    assert by_name["layer3"][1] == "stage · 6 blocks, 62 layers"
    assert by_name["layer1.rest.0.branch"][1] == "residual · 8 layers"
    assert not [op for _, op, _ in by_name.values() if re.search(r"×\d", op)]    # no repeat-like count
    assert "224×224×3" not in r.stdout and "input 3×224×224" in r.stdout
    # A003 holds in layer2, layer3 and layer4: each instance's rows are flagged
    flagged = {name for name, (cls, _, _) in by_name.items() if "finding" in cls.split()}
    assert flagged == {f"layer{k}{suffix}" for k in (2, 3, 4)
                       for suffix in ("", ".first", ".first.downsample")}


@pytest.mark.parametrize("view", ["volume", "graph"])
def test_a_finding_in_a_repeated_block_marks_every_instance(view):
    """Lint reports A003 once, at the block's line, for layer2, layer3 and layer4 (not
    layer1, whose downsample has stride 1): each of the three carries the footnote."""
    path = EXAMPLES / "resnet50.yaml"
    found = lint_findings(path)
    assert [d.code for d in found] == ["A003"]
    assert found[0].instances == ["layer3.first.downsample", "layer4.first.downsample"]
    net = netc.load(path)
    for expand in (False, True):
        root = ET.fromstring(draw(net.analysis, view, findings=found, expand=expand))
        holder = ".first.downsample" if expand else "" if view == "volume" else ".first"   # graph: depth 2
        names = [f"layer{k}{holder}" for k in (1, 2, 3, 4)]
        marked = [n for n in names if "[1]" in texts(item(root, n))]
        assert marked == names[1:], (view, expand, marked)
        note = next(t for t in texts(root) if t and t.startswith("[1] A003"))
        assert note.endswith("(also layer3.first.downsample, layer4.first.downsample)")


# ---- the graph view: wrapped into columns, nothing drawn over anything else ----

def rect_of(e) -> tuple[float, float, float, float]:
    x, y = float(e.get("x")), float(e.get("y"))
    return x, y, x + float(e.get("width")), y + float(e.get("height"))


def text_box(t) -> tuple[float, float, float, float]:
    """A text's extent as the layout estimates it (0.6 em a character, ascent 0.8 em)."""
    size = float(t.get("font-size"))
    x, y, width = float(t.get("x")), float(t.get("y")), len(t.text) * size * 0.6
    x -= {"middle": width / 2, "end": width}.get(t.get("text-anchor"), 0)
    return x, y - 0.8 * size, x + width, y + 0.2 * size


def overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def inside(a, b) -> bool:
    return b[0] <= a[0] and a[2] <= b[2] and b[1] <= a[1] and a[3] <= b[3]


def graph_parts(svg: str):
    root = ET.fromstring(svg)
    boxes, own_texts = {}, []
    for g in root.iter(f"{SVG}g"):
        if "item" in classes(g):
            name = g.get("id")[len("item-"):]
            boxes[name] = rect_of(next(r for r in g.iter(f"{SVG}rect") if "box" in classes(r)))
            own_texts += [(name, t) for t in g.iter(f"{SVG}text")]
    frames = {r.get("data-unit"): rect_of(r) for r in root.iter(f"{SVG}rect") if "frame" in classes(r)}
    owned = {id(t) for _, t in own_texts}
    loose = [t for t in root.iter(f"{SVG}text") if id(t) not in owned]
    return root, boxes, own_texts, frames, loose


GRAPHS = [("googlenet.yaml", 3688), ("yolov8.yaml", 5314), ("unet.yaml", None), ("efficientnet_b0.yaml", None)]


@pytest.mark.parametrize("example, before", GRAPHS)
def test_graph_view_boxes_frames_and_labels_do_not_overlap(example, before):
    net = netc.load(EXAMPLES / example)
    root, boxes, own_texts, frames, loose = graph_parts(draw(net.analysis, "graph"))
    width, height = float(root.get("width")), float(root.get("height"))
    if before:                                          # a single column that tall, before
        assert height < 2000 < before and width < 2400
    rects = sorted(boxes.items(), key=lambda kv: kv[1][0])
    for k, (a, ra) in enumerate(rects):                 # no box over another
        for b, rb in rects[k + 1:]:
            if rb[0] >= ra[2]:
                break
            assert not overlap(ra, rb), (a, b)
    units = list(frames.items())
    for k, (a, fa) in enumerate(units):                 # no frame over another, none over a stranger
        assert not [b for b, fb in units[k + 1:] if overlap(fa, fb)], a
        for name, r in boxes.items():
            if overlap(r, fa):
                assert name.startswith(a + ".") and inside(r, fa), (name, a)
    for name, t in own_texts:                           # every label, the shape included, in its box
        assert inside(text_box(t), boxes[name]), (name, t.text)
    assert sum(t.get("class") == "shape" for _, t in own_texts) == len(boxes)
    for t in loose:                                     # tags, frame names, legend: over no box
        tb = text_box(t)
        assert not [n for n, r in boxes.items() if overlap(tb, r)], t.text
        if t.get("class") == "frame-label":
            assert inside(tb, frames[t.text]) and not [u for u, f in frames.items() if u != t.text and overlap(tb, f)]
    tags = [text_box(g.find(f"{SVG}text")) for g in root.iter(f"{SVG}g") if "continuation" in classes(g)]
    for k, a in enumerate(tags):
        assert not [b for b in tags[k + 1:] if overlap(a, b)]


@pytest.mark.parametrize("example", ["googlenet.yaml", "yolov8.yaml"])
def test_every_edge_is_drawn_within_a_column_or_named_at_both_ends(example):
    net = netc.load(EXAMPLES / example)
    root = ET.fromstring(draw(net.analysis, "graph"))
    from netc.draw.model import items
    its = items(net.analysis, 2)
    edges = {(s, it.name) for it in its for s in it.inputs}
    drawn = {(p.get("data-from"), p.get("data-to")) for p in root.iter(f"{SVG}path") if "edge" in classes(p)}
    outs = {(g.get("data-item"), o) for g in root.iter(f"{SVG}g") if classes(g) == ["continuation", "out"]
            for o in g.get("data-others").split()}
    ins = {(o, g.get("data-item")) for g in root.iter(f"{SVG}g") if classes(g) == ["continuation", "in"]
           for o in g.get("data-others").split()}
    assert outs == ins and not outs & drawn
    assert drawn | outs == edges
    # most edges are drawn whole (YOLOv8's decode adds six that must jump: each level's
    # boxes and scores to the concat over the levels, 15 of 116 edges)
    assert len(outs) < len(edges) / (7 if example == "yolov8.yaml" else 8)
