"""examples/deeplabv3_resnet50.yaml (a backbone with two outputs, ASPP's rates as a
list parameter, shortcuts projected under if:) against torchvision's published
figures and an independent count of torchvision's construction."""

import pytest

import netc
from conftest import EXAMPLES

PATH = EXAMPLES / "deeplabv3_resnet50.yaml"


def _torchvision_deeplabv3_resnet50(h, w, classes=21, rates=(12, 24, 36)):
    """torchvision.models.segmentation.deeplabv3_resnet50(aux_loss=True) counted as its
    constructors build it: (trainable params, MACs, batchnorm buffers). Convs without
    bias but the two classifiers; each batchnorm 2 params and 2 buffers per channel;
    layer3 and layer4 dilated (replace_stride_with_dilation=[False, True, True]), the
    first block of each keeping the previous dilation; ASPP(2048, rates) of 256
    channels and DeepLabHead; FCNHead(1024) on layer3; upsampling has no MACs."""
    params = macs = buffers = 0

    def conv(cin, cout, k, size, bn=True, bias=False):
        nonlocal params, macs, buffers
        weights = cin * cout * k * k
        params += weights + (cout if bias else 0) + (2 * cout if bn else 0)
        buffers += 2 * cout if bn else 0
        macs += weights * size[0] * size[1]

    def down(size, k, s, p):
        return tuple((n + 2 * p - k) // s + 1 for n in size)

    size = down((h, w), 7, 2, 3)
    conv(3, 64, 7, size)
    size = down(size, 3, 2, 1)                              # maxpool
    inplanes, dilation, aux = 64, 1, None
    for planes, blocks, stride, dilate in [(64, 3, 1, False), (128, 4, 2, False), (256, 6, 2, True),
                                           (512, 3, 2, True)]:
        previous = dilation
        if dilate:
            dilation, stride = dilation * stride, 1
        for i in range(blocks):
            s, d = (stride, previous) if i == 0 else (1, dilation)
            out = down(size, 3, s, d) if s > 1 else size
            conv(inplanes, planes, 1, size)
            conv(planes, planes, 3, out)
            conv(planes, planes * 4, 1, out)
            if i == 0 and (s != 1 or inplanes != planes * 4):
                conv(inplanes, planes * 4, 1, out)
            inplanes, size = planes * 4, out
        if planes == 256:
            aux = size
    conv(2048, 256, 1, size)                                # ASPP: 1x1 branch
    for _ in rates:
        conv(2048, 256, 3, size)                            # atrous branches (padding = rate)
    conv(2048, 256, 1, (1, 1))                              # image pooling branch
    conv(5 * 256, 256, 1, size)                             # project
    conv(256, 256, 3, size)                                 # DeepLabHead
    conv(256, classes, 1, size, bn=False, bias=True)
    conv(1024, 256, 3, aux)                                 # FCNHead on layer3
    conv(256, classes, 1, aux, bn=False, bias=True)
    return params, macs, buffers


def test_published_figures():
    totals = netc.load(PATH).totals
    assert totals.trainable_params == 42_004_074                    # torchvision's num_params
    assert round(totals.macs / 1e9, 3) == 178.722                   # torchvision's _ops at 520x520
    assert (totals.trainable_params, totals.macs, totals.non_trainable_params) == \
        _torchvision_deeplabv3_resnet50(520, 520)


@pytest.mark.parametrize("shape, classes, rates", [((3, 256, 320), 21, [12, 24, 36]),
                                                   ((3, 513, 385), 5, [6, 12, 18])])
def test_other_sizes_classes_and_rates(shape, classes, rates):
    net = netc.load(PATH, input_shape=shape, params={"classes": classes, "rates": rates})
    t = net.totals
    assert (t.trainable_params, t.macs, t.non_trainable_params) == \
        _torchvision_deeplabv3_resnet50(shape[1], shape[2], classes, rates)
    rows = {r.name: r for r in net.layers}
    assert rows["out"].output_shape == rows["aux"].output_shape == (classes, shape[1], shape[2])
    assert net.graph.node("head.aspp.b3.conv").params["dilation"] == rates[2]


def test_two_outputs_and_the_projected_shortcuts():
    net = netc.load(PATH)
    assert net.graph.outputs == ["out", "aux"]
    assert net.graph.node("aux_head.conv.conv").inputs == ["backbone.layer3.rest.4.relu3"]
    assert net.graph.node("head.aspp.b0.conv").inputs == ["backbone.layer4.rest.1.relu3"]
    rows = {r.name: r for r in net.layers}
    downsamples = sorted(n for n in rows if n.endswith(".downsample"))
    assert downsamples == [f"backbone.layer{i}.first.downsample" for i in (1, 2, 3, 4)]
    assert net.graph.node("backbone.layer1.rest.0.add1").inputs == ["backbone.layer1.rest.0.bn3",
                                                                     "backbone.layer1.first.relu3"]
    assert rows["backbone.layer4.rest.1.conv2"].output_shape == (512, 65, 65)     # output stride 8
    assert net.graph.node("backbone.layer4.first.conv2").params["dilation"] == 2
    assert net.graph.node("backbone.layer4.rest.0.conv2").params["dilation"] == 4
