"""The paper's Figure 7 network (Murphy 2016, §6), against values computed by hand."""

import netc
from conftest import EXAMPLES


def test_fig7_shapes_follow_equation_2():
    net = netc.load(EXAMPLES / "murphy-fig7.yaml")
    shapes = {r.name: r.output_shape for r in net.layers}
    # Table 1: (125 - 5)/2 + 1 = 61, (61 - 5)/2 + 1 = 29, (29 - 5)/2 + 1 = 13, (13 - 5)/2 + 1 = 5
    assert shapes["conv1"] == (96, 61, 61)
    assert shapes["conv2"] == (256, 29, 29)
    assert shapes["conv3"] == (384, 13, 13)
    assert shapes["conv4"] == (384, 5, 5)
    assert shapes["fc1"] == (4096,)
    assert shapes["output"] == (1000,)


def test_fig7_parameters_by_equation_12():
    net = netc.load(EXAMPLES / "murphy-fig7.yaml")
    params = {r.name: r.params for r in net.layers}
    assert params["conv1"] == (5 * 5 * 3 + 1) * 96            # 7,296; the paper prints 12,096
    assert params["conv3"] == (5 * 5 * 256 + 1) * 384         # the paper multiplies by 256
    assert params["conv4"] == (5 * 5 * 384 + 1) * 384         # missing from the paper's Table 3
    assert params["fc1"] == (5 * 5 * 384 + 1) * 4096          # the paper's "Conv Layer4" row
    assert params["output"] == (4096 + 1) * 1000              # the paper: 4096 * (1000 + 1)
    assert net.totals.params == 66_970_728


def test_paper_tables_doc_embeds_current_summary_output(monkeypatch):
    """docs/paper-tables.md quotes `netc summary --format markdown`; it must not drift."""
    from netc import render
    from conftest import ROOT

    monkeypatch.chdir(ROOT)

    doc = (ROOT / "docs" / "paper-tables.md").read_text()
    for example in ("murphy-fig7.yaml", "murphy-deep-stride1.yaml"):
        net = netc.load(f"examples/{example}")
        table = render.markdown(net.analysis, net.memory()).replace("### ", "#### ", 1)
        assert table in doc, example


def test_deep_stride1_matches_section_6_3():
    net = netc.load(EXAMPLES / "murphy-deep-stride1.yaml")
    convs = [r for r in net.layers if r.op == "conv"]
    assert len(convs) == 20
    assert convs[3].output_shape == (384, 109, 109)      # the footnote: after the 4th convolution
    assert convs[-1].output_shape == (384, 45, 45)       # 125 - 20 * 4
    assert all(w.exact for r in convs for w in r.windows)
