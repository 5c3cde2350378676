"""Hostile and odd input (issue 9): every reproducer gives a clear FILE:LINE:COL
message and exit 1 or 2, never a traceback or a hang."""

import itertools
import json

import pytest
from typer.testing import CliRunner

from netc.cli import app
from netc.lint.rules.arithmetic import exact_paddings
from netc.ops.window import ShapeError, slide

runner = CliRunner()
HEAD = "netc: 1\ninput: {shape: [3, 8, 8]}\n"


def netc(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def refused(write, text, command="lint"):
    """(exit code, stdout + stderr) of running ``command`` on ``text``; never a traceback."""
    code, out, err = netc(command, write(text))
    assert "Traceback" not in out + err
    return code, out + err


# -- 1. layer keys that are not strings ---------------------------------------

@pytest.mark.parametrize("layers, message", [
    ("layers: [{5: null}]", "3:11: error[E001]: mapping keys must be names (strings), got the number 5"),
    ("layers:\n  - true: {name: n1}", "4:5: error[E001]: mapping keys must be names (strings), got true"),
    ("layers:\n  - 1.5: null", "4:5: error[E001]: mapping keys must be names (strings), got the number 1.5"),
    ("layers:\n  - null: null", "4:5: error[E001]: mapping keys must be names (strings), got null"),
    ("layers:\n  - '': null", "4:5: error[E003]: unknown op or block ''"),
])
def test_layer_keys_that_are_not_names(write, layers, message):
    code, err = refused(write, HEAD + layers + "\n")
    assert code == 1 and message in err, err


# -- 2. integers of thousands of digits ------------------------------------------

@pytest.mark.parametrize("where", [
    "input: {{shape: [3, {n}, 8]}}\nlayers: [relu]",
    "input: {{shape: [3, 8, 8]}}\nlayers:\n  - conv: {{filters: {n}, kernel: 3}}",
    "input: {{shape: [3, 8, 8]}}\nlayers:\n  - relu: {{repeat: {n}}}",
    "input: {{shape: [3, 8, 8]}}\nlayers:\n  - {n}: null",
    "input: {{shape: [3, 8, 8]}}\nlayers:\n  - dropout: {{rate: {n}}}",
])
def test_huge_integers_are_refused_with_a_short_message(write, where):
    n = "0x" + "F" * 3990          # 4,800 decimal digits: past Python's int-to-str limit
    code, err = refused(write, "netc: 1\n" + where.format(n=n) + "\n")
    assert code == 1 and "error[E005]: the integer 0x" + "F" * 17 + "…" + "F" * 19 + " (3990 digits) " \
                         "is beyond netc's limit of 10^18" in err, err
    assert max(map(len, err.splitlines())) < 200


def test_huge_format_version(write):
    code, err = refused(write, "netc: " + "9" * 4000 + "\ninput: {shape: [3]}\nlayers: [relu]\n")
    assert code == 1 and "1:7: error[E005]: the integer 9999" in err and "(4000 digits)" in err


def test_integers_up_to_the_limit_still_read(write):
    code, err = refused(write, HEAD + "layers:\n  - conv: {filters: 1000000000000000000, kernel: 3}\n")
    assert code == 1 and "conv filters: must be at most 1,048,576, got 1,000,000,000,000,000,000" in err


# -- 3. huge leaky_relu slope ------------------------------------------------------

def test_huge_slope(write):
    code, err = refused(write, HEAD + "layers:\n  - leaky_relu: {slope: 1" + "0" * 400 + "}\n")
    assert code == 1 and "4:25: error[E005]: the integer 1000000000000000000…0000000000000000000 " \
                         "(401 digits)" in err, err


def test_slope_beyond_float_range_is_not_a_number():
    from netc.ops import OPS

    with pytest.raises(ValueError, match="expected a number, got an integer of about 401 digits"):
        OPS["leaky_relu"].params["slope"].check(10**400)


# -- 4. float sizes ----------------------------------------------------------------

@pytest.mark.parametrize("text, message", [
    ("input: {shape: [3, 8.0, 8]}\nlayers: [relu]",
     "2:20: error[E002]: input.shape.1: expected integer, got the number 8.0: sizes, counts and channels "
     "are written as integers (8, not 8.0)"),
    ("input: {shape: [3, 8, 8]}\nlayers:\n  - conv: {filters: 4.0, kernel: 3, stride: 2}",
     "4:21: error[E002]: conv filters: expected an integer, got 4.0: sizes, counts and channels are "
     "written as integers (4, not 4.0)"),
    ("input: {shape: [3, 8, 8]}\nlayers:\n  - maxpool: {kernel: [2, 2.0]}",
     "4:23: error[E002]: maxpool kernel: expected an integer, got 2.0"),
    ("input: {shape: [3, 8, 8]}\nlayers:\n  - relu: {repeat: 2.0}",
     "4:20: error[E002]: repeat must be an integer from 0 to 10,000 or an expression, got 2.0"),
])
def test_float_sizes_are_refused(write, text, message):
    for command in ("lint", "summary"):
        code, err = refused(write, "netc: 1\n" + text + "\n", command)
        assert code == 1 and message in err, err


def test_float_from_a_block_parameter(write):
    code, err = refused(write, HEAD + "blocks:\n  b:\n    params: {c: 8.0}\n    layers:\n"
                               "      - conv: {filters: c, kernel: 3}\nlayers: [b]\n")
    assert code == 1 and "conv filters: expected an integer, got 8.0" in err, err


# -- 5. receptive fields past any printable size --------------------------------------

FIELD_OVERFLOW = ("netc: 1\ninput: {shape: [1, 7, 7]}\nlayers:\n"
                  "  - avgpool: {kernel: 3, stride: 3, padding: same, repeat: 10000}\n")


@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "csv"])
def test_receptive_field_overflow_prints(write, fmt):
    code, out, err = netc("summary", write(FIELD_OVERFLOW), "--format", fmt)
    assert code == 0, err
    # 7 -> 3 -> 1, then 1 stays 1: each pool adds 2 jumps to the field and triples the jump
    size, jump, fields = 1, 1, []
    for _ in range(10000):
        size, jump = size + 2 * jump, 3 * jump
        fields.append((size, jump))
    assert fields[-1][0] == 3**10000 and fields[-1][1] == 3**10000
    if fmt == "json":
        layers = json.loads(out)["layers"]
        assert layers[-1]["receptive_field"] == {"size": ["≈1.63e4771"] * 2, "jump": ["≈1.63e4771"] * 2}
        assert layers[100]["receptive_field"] == {"size": [fields[100][0]] * 2, "jump": [fields[100][1]] * 2}
    else:
        assert "≈1.63e4771" in out and "≈1.03e31" in out    # 3^10000 and 3^65, rounded
        assert f"{3**62}" in out and f"{3**63}" not in out    # 30 digits exact, 31 rounded
    if fmt in ("text", "markdown"):
        assert "Receptive fields past 10^30 pixels are shown rounded (≈)." in out


def test_approx_rounds_correctly():
    from netc.render import approx, big

    assert approx(10**40) == "≈1.00e40"
    assert approx(10**40 - 1) == "≈1.00e40"
    assert approx(123456 * 10**50) == "≈1.23e55"
    assert big(10**29) == str(10**29) and big(10**30).startswith("≈")


# -- 6. build size guard ---------------------------------------------------------

def test_build_refuses_weights_that_cannot_fit(write, tmp_path):
    path = write("netc: 1\ninput: {shape: [1048576]}\nlayers:\n  - dense: {units: 1048576}\n")
    code, out, err = netc("build", path, "--onnx", tmp_path / "m.onnx")
    assert code == 1, err
    # drawn one layer at a time: 4 bytes a weight of the one layer, and 64 MiB for the interpreter
    assert "4:5: error[E007]: not building: the 1,099,512,676,352 weights (4,096.0 GiB as float32) " \
           "need about 4,096.1 GiB of memory to build" in err
    assert "the largest layer sets this" in err and "largest layer, dense1" in err
    assert not (tmp_path / "m.onnx").exists()


def test_external_data_lowers_the_need():
    pytest.importorskip("onnx")
    from netc import loads
    from netc.onnx.build import BuildError, check_memory

    net = loads("netc: 1\ninput: {shape: [65536]}\nlayers:\n  - dense: {units: 16384, bias: false}\n")
    n = 65536 * 16384                                   # 4 GiB of float32 weights
    check_memory(net, "float32", True, available=4 * n)
    with pytest.raises(BuildError, match="with --external-data .* needs about 4.0 GiB: build with --external-data"):
        check_memory(net, "float32", False, available=4 * n)
    with pytest.raises(BuildError, match="even with --external-data"):
        check_memory(net, "float32", True, available=4 * n - 1)


def test_a_build_that_draws_weights_as_it_writes_them_needs_its_largest_layer():
    """Three 8192x8192 dense layers: 805 MB of float32 weights; drawn one layer at a time
    (4 bytes a weight, plus 2 for the cast to float16) and 64 MiB for the interpreter."""
    pytest.importorskip("onnx")
    from netc import loads
    from netc.onnx.build import BuildError, check_memory, memory_needed

    net = loads("netc: 1\ninput: {shape: [8192]}\nlayers:\n  - dense: {units: 8192, repeat: 3}\n")
    layer = 8192 * 8192 + 8192
    assert memory_needed(net, "float32", streamed=True) == 4 * layer + (64 << 20)
    assert memory_needed(net, "float16", streamed=True) == 6 * layer + (64 << 20)
    assert memory_needed(net, "float32", True) == 4 * 3 * layer            # every weight in memory
    check_memory(net, "float32", available=4 * layer + (64 << 20), streamed=True)
    with pytest.raises(BuildError, match="without --fold-batchnorm\\) needs about 320.0 MiB"):
        check_memory(net, "float32", True, available=4 * layer + (64 << 20))
    with pytest.raises(BuildError, match="the largest layer sets this"):
        check_memory(net, "float16", available=6 * layer + (64 << 20) - 1, streamed=True)


# -- hangs: closed forms equal the loops they replace ---------------------------------

def _skipped_by_loop(w):
    """Rows in the gaps between windows, one gap at a time (what slide() once did)."""
    if w.stride <= w.extent:
        return 0
    lo, hi, total = w.pad_begin, w.pad_begin + w.size, 0
    for i in range(w.out - 1):
        total += max(0, min((i + 1) * w.stride, hi) - max(i * w.stride + w.extent, lo))
    return total


def _paddings_by_search(w):
    if w.pad_begin != w.pad_end:
        return []
    ok = [p for p in range(w.extent) if w.size + 2 * p >= w.extent
          and (w.size + 2 * p - w.extent) % w.stride == 0]
    below, above = [p for p in ok if p < w.pad_begin], [p for p in ok if p > w.pad_begin]
    return below[-1:] + above[:1]


def test_closed_forms_match_enumeration():
    checked = 0
    for n, k, s, pb, pe, d, ceil in itertools.product(range(1, 12), range(1, 5), range(1, 8), range(5),
                                                      range(3), (1, 2, 3), (False, True)):
        try:
            w = slide(n, k, s, pb, pe, d, ceil)
        except ShapeError:
            continue
        assert w.skipped == _skipped_by_loop(w), w
        assert exact_paddings(w) == _paddings_by_search(w), w
        checked += 1
    assert checked > 20_000


HANG_POOL = ("netc: 1\ninput: {shape: [1, 1048576, 1048576]}\nblocks:\n"
             "  b: {layers: [maxpool: {kernel: 1, stride: 2, from: input}, relu: {from: input}]}\n"
             "layers:\n  - b: {repeat: 10000}\n")
HANG_CONV = ("netc: 1\ninput: {shape: [1, 1048576, 1048576]}\nblocks:\n"
             "  b: {layers: [conv: {filters: 1, kernel: 4096, dilation: 256, stride: 7, from: input},"
             " relu: {from: input}]}\nlayers:\n  - b: {repeat: 5000}\n")


def test_skipped_rows_of_a_huge_map(write):
    code, err = refused(write, HANG_POOL)
    assert code == 0 and "A003" in err and "also in 9999 other instances" in err, err


def test_exact_paddings_of_a_huge_dilated_kernel(write):
    code, err = refused(write, HANG_CONV)
    assert code == 1 and "A001" in err and "exact with padding" in err, err


def test_unused_layers_fed_by_one_chain(write):
    n = 1000
    layers = [f"  - relu: {{name: a{i}}}" for i in range(n)] + [f"  - relu: {{from: a{n - 1}}}"] * n
    code, err = refused(write, HEAD + "layers:\n" + "\n".join(layers) + "\n  - relu: {from: input}\n")
    assert code == 0 and err.count("warning[G001]") == n, err[-500:]
    # the chain is named once, under the first dead end it feeds
    assert err.count("'a0' only feeds it") == 0 and err.count("'a999' only feeds it") == 1


def test_nested_repeats_are_one_budget(write):
    code, err = refused(write, HEAD + "blocks:\n  a: {layers: [b: {repeat: 10000}]}\n"
                                      "  b: {layers: [relu: {repeat: 0}]}\nlayers:\n  - a: {repeat: 10000}\n")
    assert code == 1 and "error[E005]: the network expands to more than 100,000 layers and block uses" in err


def test_pass_through_chains_resolve_once(write):
    n = 3000
    layers = ["  - relu: {name: p0, repeat: 0}"]
    layers += [f"  - relu: {{name: p{i}, from: p{i - 1}, repeat: 0}}" for i in range(1, n)]
    layers += [f"  - relu: {{name: r{i}, from: p{n - 1}}}" for i in range(n)]
    from netc import loads

    net = loads(HEAD + "layers:\n" + "\n".join(layers) + "\n  - concat: {from: [r0, r1]}\n")
    assert all(r.node.inputs == ["input"] for r in net.layers[:n])


# -- positions and small things ------------------------------------------------------

@pytest.mark.parametrize("text, where", [
    # U+2028, U+2029 and NEL inside a quoted name, a lone CR inside a comment: not line breaks
    ('netc: 1\nname: "a\u2028b\u2029c\x85d\re"\ninput: {shape: [3, 8, 8]}\nlayers: [{relu: {bad: 1}}]\n', "4:18:"),
    ("netc: 1\r\ninput: {shape: [3, 8, 8]}\r\nlayers: [{relu: {bad: 1}}]\r\n", "3:18:"),
    ('netc: 1\nname: "\u2028\u2028"\ninput: {shape: [3, 8, 8]}\nlayers: [{relu: {bad: 1}}]', "4:18:"),
    # an error at the end of a file without a final newline is on the last line
    ("netc: 1\ninput: {shape: [3, 8, 8]}\nlayers: [relu", "3:14:"),
])
def test_lines_are_counted_as_editors_count_them(write, text, where):
    path = write("")
    path.write_bytes(text.encode())
    code, out, err = netc("lint", path)
    assert code == 1 and f"{path}:{where}" in out + err, out + err


def test_outputs_name_their_key(write):
    code, err = refused(write, HEAD + "layers: [conv: {filters: 4, kernel: 3}]\noutputs: [conv9]\n")
    assert code == 1 and "4:11: error[E003]: unknown layer 'conv9' in 'outputs'; did you mean 'conv1'?" in err


@pytest.mark.parametrize("setting, message", [
    ("stride: two", "4:43: error[E002]: conv stride: expected an integer or [height, width], got 'two': "
                    "unknown name 'two' (no parameters are in scope: declare them under 'params:')"),
    ("kernel: 3x3", "4:32: error[E002]: conv kernel: expected an integer or [height, width], got '3x3': "
                    "unexpected 'x3' in '3x3'"),
    ("repeat: lots", "4:43: error[E002]: repeat: expected an integer, got 'lots': unknown name 'lots'"),
])
def test_words_where_numbers_go(write, setting, message):
    layer = "conv: {filters: 4, kernel: 3, " + setting + "}"
    layer = layer.replace("kernel: 3, kernel: 3x3", "kernel: 3x3")
    code, err = refused(write, HEAD + "layers:\n  - " + layer + "\n")
    assert code == 1 and message in err, err


def test_under_indented_setting_is_one_error(write):
    code, err = refused(write, HEAD + "layers:\n  - conv:\n      filters: 4\n      kernel: 3\n"
                                      "    padding: 1\n  - relu\n")
    assert code == 1 and err.count("error[") == 1, err
    assert "7:5: error[E002]: 'padding' is a setting of conv: indent it under 'conv:' with its other settings" in err


BLOCK_FINDING = ("netc: 1\ninput: {shape: [3, 32, 32]}\nblocks:\n  b:\n    layers:\n"
                 "      - conv: {filters: 32, kernel: 3, stride: 3}\nlayers:\n  - b\n  - b\n")


def test_json_and_github_keep_block_instance_notes(write):
    path = write(BLOCK_FINDING)
    code, out, _ = netc("lint", path, "--output-format", "json")
    [a001] = [r for r in json.loads(out) if r["code"] == "A001"]
    assert a001["notes"][0] == {"message": "in block instance 'b1'", "file": str(path), "line": 8, "column": 5}
    code, out, _ = netc("lint", path, "--output-format", "github")
    [line] = [x for x in out.splitlines() if "A001" in x]
    assert line.endswith(f"%0A{path}:8:5: note: in block instance 'b1'%0Anote: also in 1 other instance: b2.conv1")


def test_sarif_uris_are_relative_references_or_file_uris(write, monkeypatch):
    path = write(BLOCK_FINDING, "a b.yaml")
    code, out, _ = netc("lint", path, "--output-format", "sarif")
    uris = {loc["physicalLocation"]["artifactLocation"]["uri"] for r in json.loads(out)["runs"][0]["results"]
            for loc in r["locations"] + r.get("relatedLocations", []) if "physicalLocation" in loc}
    assert uris == {path.as_uri()} and path.as_uri().startswith("file:///")
    monkeypatch.chdir(path.parent)
    code, out, _ = netc("lint", "a b.yaml", "--output-format", "sarif")
    assert '"uri": "a%20b.yaml"' in out


def test_init_auto_looks_through_batchnorm_and_add():
    pytest.importorskip("onnx")
    from netc import load
    from netc.graph import activation_after
    from netc.initializers import resolve
    from conftest import EXAMPLES

    net = load(EXAMPLES / "resnet18.yaml")
    g, consumers = net.graph, net.graph.consumers()
    inits = {n.name: resolve(n.params["init"], activation_after(n, consumers, g.node))
             for n in g.nodes if n.op in ("conv", "dense")}
    assert [n for n, i in inits.items() if i != "he_normal"] == ["fc"]     # the classifier has no ReLU
    by_op = {n.name: n.op for n in g.nodes}
    second = next(n for n in g.nodes if n.op == "conv" and n.name.endswith("conv2"))
    chain = [by_op[c] for c in (consumers[second.name][0],)]
    assert chain == ["batchnorm"]                                             # conv2 -> batchnorm -> add -> relu


def test_deep_nesting_is_refused_by_either_pyyaml_parser(monkeypatch):
    import yaml

    from netc.diagnostics import NetcError
    from netc.source import parse

    for loader in ("CSafeLoader", "SafeLoader"):
        if hasattr(yaml, loader):
            monkeypatch.setattr(yaml, "CSafeLoader", getattr(yaml, loader), raising=False)
            for text in ("a: " + "[" * 1000 + "]" * 1000, "a: " + "{b: " * 1000 + "}" * 1000,
                         "".join(" " * i + "- \n" for i in range(0, 200, 2))):
                with pytest.raises(NetcError) as e:
                    parse(text, "f.yaml")
                assert "error[E005]: nesting deeper than 24 levels" in str(e.value), (loader, str(e.value))


def test_long_names_are_cut_in_messages(write):
    name = "x" * 3000
    code, err = refused(write, HEAD + f"layers:\n  - relu: {{name: {name}}}\n  - relu: {{from: {name}y}}\n")
    assert code == 1 and f"unknown layer '{'x' * 48}…{'x' * 47}y' in 'from'" in err, err  # quotes count
    assert max(map(len, err.splitlines())) < 400
