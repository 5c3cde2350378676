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
