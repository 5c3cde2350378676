"""Every rule: its documented example triggers it at the documented line and column,
and its documented fix (a near miss) does not. Then the rules' exact messages,
checked against numbers worked out by hand."""

from dataclasses import replace

import pytest

from conftest import EXAMPLES
from netc.lint import RULES, Config, Options, lint_file


def lint_text(write, text, **options):
    return lint_file(write(text), Config(options=replace(Options(), **options)))


@pytest.mark.parametrize("code", sorted(RULES))
def test_rule_example_triggers_at_documented_place(code, write):
    rule = RULES[code]
    found = [(d.code, d.span.line, d.span.col) for d in lint_text(write, rule.example, **dict(rule.options))]
    assert (code, *rule.example_at) in found


@pytest.mark.parametrize("code", sorted(RULES))
def test_rule_fixed_example_is_a_near_miss(code, write):
    rule = RULES[code]
    found = lint_text(write, rule.fixed, **dict(rule.options))
    assert code not in [d.code for d in found]
    assert not any(d.code.startswith("E0") for d in found), found


def messages(write, text, code, **options):
    return [d for d in lint_text(write, text, **options) if d.code == code]


def test_a001_names_sizes_dropped_rows_and_exact_choices(write):
    # AlexNet at 224: (224 - 11)/4 + 1 = 54.25; windows end at 53*4 + 11 = 223, so row 224 is lost.
    # No symmetric padding works (213 + 2P is odd); inputs 223 and 227 do: (223-11) = 212 = 4*53.
    [d] = messages(write, RULES["A001"].example, "A001")
    assert d.severity.name == "ERROR" and d.layer == "conv1"
    assert "(224 - 11)/4 + 1 = 54.25" in d.message
    assert "the last row and column of the 224x224 input are never read" in d.message
    assert "kernel 11, stride 4, padding 0" in d.message
    assert "exact with input size 223 or 227" in d.message
    assert "padding" not in d.message.split("exact with")[1]


def test_a001_suggests_nearest_paddings_per_axis(write):
    # height: (30 + 0 - 3) = 27, stride 2: remainder 1, windows end at 12*2+3 = 27 < 30? no:
    # out = 27//2 + 1 = 14, last window ends at 13*2 + 3 = 29: row 30 lost.
    # padding 1: 30 + 2 - 3 = 29, odd; padding 2: 31, odd... 30 + 2P - 3 is always odd -> no padding;
    # width 31: (31 - 3) = 28 = 2*14, exact.
    [d] = messages(write, "netc: 1\ninput: {shape: [3, 30, 31]}\nlayers:\n"
                   "  - conv: {filters: 8, kernel: 3, stride: 2}\n", "A001")
    assert d.message.startswith("conv1: (30 - 3)/2 + 1 = 14.5 is not whole: the last row of 30 is never read")
    assert "exact with input height 29 or 31" in d.message
    # kernel 4, stride 2 on 31: (31 - 4) = 27 odd; padding 1 -> 29 odd... use stride 3, kernel 3 on 32:
    # (32 - 3) = 29, 29 % 3 = 2, windows end at 9*3 + 3 = 30: rows 31-32 lost (2 rows).
    # padding P: 29 + 2P = 0 mod 3 -> P = 2 (33); below: none (P=0 fails, P=1 -> 31 no).
    [d] = messages(write, "netc: 1\ninput: {shape: [3, 32, 32]}\nlayers:\n"
                   "  - conv: {filters: 8, kernel: 3, stride: 3}\n", "A001")
    assert "the last 2 rows and columns of the 32x32 input are never read" in d.message
    assert "exact with padding 2 or input size 30 or 33" in d.message


def test_a001_ignores_a_remainder_that_falls_on_padding(write):
    # ResNet's stem: (224 + 6 - 7)/2 + 1 = 112.5: the last window ends at 111*2 + 7 = 229
    # in padded coordinates, past the last real pixel (3 + 224 = 227): only padding is unused.
    assert not messages(write, "netc: 1\ninput: {shape: [3, 224, 224]}\nlayers:\n"
                        "  - conv: {filters: 64, kernel: 7, stride: 2, padding: 3}\n", "A001")


def test_a001_in_block_points_at_block_and_notes_use_site(write):
    text = ("netc: 1\ninput: {shape: [3, 32, 32]}\nblocks:\n  down:\n    layers:\n"
            "      - conv: {filters: 8, kernel: 3, stride: 3}\nlayers:\n  - down\n")
    [d] = messages(write, text, "A001")
    assert (d.span.line, d.span.col) == (6, 36)
    assert d.layer == "down1.conv1"
    assert [(s.line, s.col) for s, _ in d.notes] == [(8, 5)]


def test_a001_kernel_from_defaults_notes_the_layer(write):
    text = ("netc: 1\ninput: {shape: [3, 32, 32]}\ndefaults:\n  conv: {kernel: 3, stride: 3}\n"
            "layers:\n  - conv: {filters: 8}\n")
    [d] = messages(write, text, "A001")
    assert (d.span.line, d.span.col) == (4, 18)
    assert (d.notes[0][0].line, d.notes[0][0].col) == (6, 5)


def test_a003_counts_unread_pixels(write):
    # 1x1 stride 2 on 56: windows at 0, 2, ..., 54 read 28 rows; 28 of 56 unread per axis,
    # so 28*28 of 56*56 read: 75% unread.
    [d] = messages(write, RULES["A003"].example, "A003")
    assert d.message == ("conv1: stride 2 is larger than the kernel 1: 28 of 56 rows and 28 of 56 "
                         "columns are never read (75% of the input)")
    assert not messages(write, RULES["A003"].example, "A001")


def test_a003_share_that_does_not_terminate_is_rounded(write):
    # 3-D, kernel 1 stride 3 on 10 per axis: windows at 0, 3, 6, 9 read 4 of 10 on each
    # axis, so 64 of 1000 read and 936/1000 = 93.6% unread; on (10, 10, 7): 4 * 4 * 3 = 48
    # of 700 read, 652/700 = 93.142857...% unread (a fraction that does not terminate)
    text = """
    netc: 1
    input: {shape: [2, 10, 10, 7]}
    layers:
      - conv: {name: c, filters: 4, kernel: 1, stride: 3}
    """
    [d] = messages(write, text, "A003")
    assert d.message.endswith("are never read (about 93.1% of the input)"), d.message


def test_s001_figure7_fc1(write):
    found = lint_file(EXAMPLES / "murphy-fig7.yaml")
    [d] = [d for d in found if d.code == "S001" and d.layer == "fc1"]
    assert "fc1 holds 39,325,696 of 66,970,728 parameters (58.7%" in d.message
    assert (d.span.line, d.span.col) == (17, 31)


def test_s001_absolute_budget(write):
    text = "netc: 1\ninput: {shape: [512]}\nlayers:\n  - dense: {units: 1000}\n"
    [d] = messages(write, text, "S001", max_layer_params=500_000)
    assert "holds 513,000 parameters, over the budget of 500,000" in d.message
    assert not messages(write, text, "S001", max_layer_params=513_000)


def test_s003_memory_names_largest_batch(write):
    # conv 3->64 3x3 on 56x56: params 1,792. saved = (9,408 + 200,704) * 4 = 840,448 B/sample,
    # backward = 840,448 B/sample; fixed = params 7,168 + grads 7,168 = 14,336 B.
    # 2,000,000 B: (2,000,000 - 14,336) // 1,680,896 = 1.
    [d] = messages(write, RULES["S003"].fixed, "S003", device_memory=2_000_000, batch=2)
    assert d.message == ("training needs 3,376,128 bytes at batch 2 (float32, sgd), over the "
                         "device's 2,000,000; the largest batch that fits is 1")


def test_d003_auto_is_never_reported(write):
    base = "netc: 1\ninput: {shape: [3, 32, 32]}\nlayers:\n  - conv: {filters: 32, kernel: 3}\n"
    assert not messages(write, base + "  - relu\n", "D003")
    assert not messages(write, base + "  - batchnorm\n  - relu\n", "D003")
    [d] = messages(write, base.replace("kernel: 3", "kernel: 3, init: xavier_uniform") + "  - batchnorm\n  - relu\n",
                   "D003")
    assert "xavier_uniform with relu" in d.message


def test_d005_counts_the_run_between_merges(write):
    # 11 residual units of 2 convs: runs of 2 between adds; 21 plain convs: a run of 21.
    assert not messages(write, RULES["D005"].fixed, "D005", max_plain_depth=2)
    [d] = messages(write, RULES["D005"].fixed, "D005", max_plain_depth=1)
    assert d.message.startswith("residual1.0.conv2: 2 conv/dense layers in a row")
    [d] = messages(write, RULES["D005"].example, "D005")
    assert d.message == ("conv1.20: 21 conv/dense layers in a row with no shortcut around them "
                         "(max-plain-depth 20)")


def test_examples_with_blocks_merge_identical_findings(write):
    text = ("netc: 1\ninput: {shape: [3, 32, 32]}\nblocks:\n  unit:\n    layers:\n"
            "      - conv: {filters: 30, kernel: 3, padding: 1, activation: relu}\n"
            "layers:\n  - unit: {repeat: 3}\n  - global_avgpool\n  - dense: {units: 10}\n")
    found = messages(write, text, "D001")
    assert len(found) == 1
    assert found[0].notes[-1][1] == "also in 2 other instances: unit1.1.conv1, unit1.2.conv1"


def test_a006_ceil_mode_window_in_end_padding(write):
    # height 5: (5 + 2 - 2)/3 = 1.67 -> ceil 2 + 1 = 3; window 3 starts at 6 >= 5 + 1: dropped.
    # width 7: (7 + 2 - 2)/3 = 2.33 -> 3 + 1 = 4; window 4 starts at 9 >= 8: dropped too.
    [d] = messages(write, "netc: 1\ninput: {shape: [1, 5, 7]}\nlayers:\n"
                   "  - maxpool: {kernel: 2, stride: 3, padding: 1, ceil_mode: true}\n", "A006")
    assert d.message.startswith("maxpool1: ceil mode: height (5 + 2*1 - 2)/3 + 1 = 8/3 rounds up to 3")
    assert "width (7 + 2*1 - 2)/3 + 1 = 10/3 rounds up to 4, but window 4 would start" in d.message
    assert "PyTorch and netc drop it (2x3), ONNX shape inference keeps it (3x4)" in d.message
    # a ceil-mode pool whose extra window starts inside the input: no disagreement
    assert not messages(write, "netc: 1\ninput: {shape: [1, 112, 112]}\nlayers:\n"
                        "  - maxpool: {kernel: 3, stride: 2, ceil_mode: true}\n", "A006")
    # (6 + 2 - 3)/2 = 2.5 -> 4 windows, the 4th starts at 6 < 6 + 1: kept by everyone
    assert not messages(write, "netc: 1\ninput: {shape: [1, 6, 6]}\nlayers:\n"
                        "  - avgpool: {kernel: 3, stride: 2, padding: 1, ceil_mode: true, "
                        "count_include_pad: true}\n", "A006")


def test_a007_padded_pointwise_conv_and_a004_stays_quiet(write):
    text = ("netc: 1\ninput: {shape: [8, 8, 8]}\nlayers:\n  - relu\n"
            "  - conv: {filters: 4, kernel: [1, 3], stride: 2, padding: 1}\n")
    found = lint_text(write, text)
    [d] = [f for f in found if f.code == "A007"]
    assert d.message.startswith("conv1: height kernel 1 with padding 1: the border outputs read only")
    assert (d.span.line, d.span.col) == (5, 60)
    assert "A004" not in [f.code for f in found]
    assert not messages(write, "netc: 1\ninput: {shape: [8, 8, 8]}\nlayers:\n"
                        "  - conv: {filters: 4, kernel: 3, padding: 1}\n", "A007")


def test_a008_only_padded_avgpools_without_an_explicit_count_include_pad(write):
    head = "netc: 1\ninput: {shape: [8, 8, 8]}\n"
    assert messages(write, head + "layers:\n  - avgpool: {kernel: 2, padding: same}\n", "A008") == []  # pads 0
    [d] = messages(write, head + "layers:\n  - avgpool: {kernel: 3, stride: 2, padding: same}\n", "A008")
    assert "netc and ONNX exclude the padding from each mean, PyTorch includes it" in d.message
    assert not messages(write, head + "layers:\n  - avgpool: {kernel: 3, stride: 2}\n", "A008")
    assert not messages(write, head + "layers:\n  - maxpool: {kernel: 3, padding: 1}\n", "A008")
    # said once in defaults: is explicit
    assert not messages(write, head + "defaults:\n  avgpool: {count_include_pad: true}\n"
                        "layers:\n  - avgpool: {kernel: 3, padding: 1}\n", "A008")
