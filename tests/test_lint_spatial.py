"""A010 (unequal adaptive windows) and A011 (uneven transposed-conv overlap): exact
messages, checked against numbers worked out by hand."""

from netc.lint import Config, lint_file


def findings(write, layers, shape, code):
    text = f"netc: 1\ninput: {{shape: {list(shape)}}}\nlayers:\n" + "".join(f"  - {l}\n" for l in layers)
    return [d for d in lint_file(write(text), Config()) if d.code == code]


def test_a010_gives_window_sizes_overlaps_and_exact_choices(write):
    # 10 -> 7: windows [0,2) [1,3) [2,5) [4,6) [5,8) [7,9) [8,10): sizes 2 and 3, and every
    # neighbouring pair overlaps but (2,5)-(4,6)... all six do: 2>1, 3>2, 5>4, 6>5, 8>7, 9>8
    [d] = findings(write, ["adaptive_avgpool: {size: 7}"], (512, 10, 10), "A010")
    assert d.message == ("adaptive_avgpool1: 7 windows over 10 have sizes 2 or 3, 6 neighbouring pairs "
                         "overlap; equal with an input of 7 or 14 or an output size of 5 or 10")
    assert (d.span.line, d.span.col) == (4, 30)
    # rows: 12 -> 4 divides (no finding); columns: 9 -> 4: [0,3) [2,5) [4,7) [6,9): all of size 3,
    # three overlaps; inputs 8 or 12; divisors of 9 around 4: 3 and 9
    [d] = findings(write, ["adaptive_maxpool: {size: [4, 4]}"], (8, 12, 9), "A010")
    assert d.message == ("adaptive_maxpool1: width: 4 windows over 9 have sizes 3, 3 neighbouring pairs "
                         "overlap; equal with an input of 8 or 12 or an output size of 3 or 9")


def test_a010_quiet_when_the_output_divides_or_is_global(write):
    assert not findings(write, ["adaptive_avgpool: {size: [7, 3]}", "adaptive_maxpool: {size: 1}"],
                        (8, 14, 9), "A010")
    # 2 -> 4: [0,1) [0,1) [1,2) [1,2): equal sizes and no overlap, but repeated windows: reported
    [d] = findings(write, ["adaptive_avgpool: {size: 4}"], (8, 2, 2), "A010")
    assert "4 windows over 2 have sizes 1" in d.message


def test_a011_counts_taps_per_output_row(write):
    # kernel 3, stride 2: taps 0 and 2 land on even rows, tap 1 on odd rows: 2 and 1
    [d] = findings(write, ["conv_transpose: {filters: 4, kernel: 3, stride: 2, padding: 1}"], (8, 5, 5), "A011")
    assert d.message == ("conv_transpose1: kernel 3 with stride 2: output rows and columns receive "
                         "1 or 2 taps (checkerboard artifacts)")
    # [5, 4] / [3, 2], dilation [2, 1]: rows: taps at 0,2,4,6,8 mod 3 = 0,2,1,0,2 -> 2,1,2;
    # columns: 4 taps over stride 2 -> 2 and 2: even
    [d] = findings(write, ["conv_transpose: {filters: 4, kernel: [5, 4], stride: [3, 2], dilation: [2, 1]}"],
                   (8, 5, 5), "A011")
    assert d.message == ("conv_transpose1: kernel 5 (dilation 2) with stride 3: output rows receive "
                         "1 or 2 taps (checkerboard artifacts)")


def test_a011_quiet_for_dcgan_unet_and_dilation_that_evens_out(write):
    assert not findings(write, ["conv_transpose: {filters: 4, kernel: 4, stride: 2, padding: 1}",
                                "conv_transpose: {filters: 4, kernel: 2, stride: 2}",
                                "conv_transpose: {filters: 4, kernel: 3}",
                                # kernel 2, dilation 3, stride 2: taps at 0 and 3: residues 0, 1
                                "conv_transpose: {filters: 4, kernel: 2, dilation: 3, stride: 2}"],
                        (8, 5, 5), "A011")
