"""Reading YAML safely: positions, YAML 1.2 scalars, and hostile files."""

import time

import pytest

from netc.diagnostics import NetcError
from netc.source import MAX_BYTES, parse, read_file


def error_of(text: str) -> str:
    with pytest.raises(NetcError) as e:
        parse(text, "f.yaml")
    return str(e.value)


def test_values_and_positions():
    src = parse("netc: 1\nlayers:\n  - conv: {filters: 96, rate: 1e-3}\n", "f.yaml")
    assert src.data == {"netc": 1, "layers": [{"conv": {"filters": 96, "rate": 0.001}}]}
    span = src.span(("layers", 0, "conv", "filters"))
    assert (span.line, span.col) == (3, 21)
    key = src.span(("layers", 0, "conv", "filters"), key=True)
    assert (key.line, key.col) == (3, 12)


def test_yaml_1_2_core_scalars():
    data = parse("a: yes\nb: on\nc: true\nd: '3'\ne: 0x10\nf: ~\ng: 1_0\nh: .5\n").data
    assert data == {"a": "yes", "b": "on", "c": True, "d": "3", "e": 16, "f": None, "g": "1_0", "h": 0.5}


def test_missing_position_falls_back_to_parent():
    src = parse("a:\n  b: 1\n", "f.yaml")
    assert src.span(("a", "b", "nothing")).line == 2


@pytest.mark.parametrize("text, where, words", [
    ("a: 1\na: 2\n", "f.yaml:2:1", "duplicate key 'a'"),
    ("a: &x [1]\nb: *x\n", "f.yaml:1:4", "anchors"),
    ("a: [1]\nb: *x\n", "f.yaml:2:4", "aliases"),
    ("<<: {a: 1}\n", "f.yaml:1:1", "merge keys"),
    ("!!python/object/apply:os.system ['echo owned']\n", "f.yaml:1:1", "tags"),
    ("a: !!python/name:os.system\n", "f.yaml:1:4", "tags"),
    ("layers: [\n", "f.yaml:2:1", "invalid YAML"),
    ("", "f.yaml:1:1", "empty file"),
    ("a: 1\n---\nb: 2\n", "f.yaml:2:1", "one YAML document"),
    ("a: \x00\n", "f.yaml:1:4", "NUL"),
    ("? [a]\n: 1\n", "f.yaml:1:3", "plain scalars"),
])
def test_bad_yaml_is_reported_at_its_place(text, where, words):
    msg = error_of(text)
    assert msg.startswith(where), msg
    assert words in msg


def test_billion_laughs_is_refused_at_once():
    bomb = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n' + "".join(
        f"{c}: &{c} [{','.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi"))
    start = time.perf_counter()
    msg = error_of(bomb)
    assert "anchors" in msg and time.perf_counter() - start < 1


def test_deep_nesting_is_refused():
    assert "nesting deeper" in error_of("a: " + "[" * 1000 + "]" * 1000)


def test_too_many_values():
    assert "more than" in error_of("[" + ",".join(["1"] * 100_001) + "]")


def test_huge_scalar():
    assert "longer than" in error_of("a: " + "9" * 5000)


def test_file_size_limit(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * MAX_BYTES)
    with pytest.raises(NetcError, match="larger than"):
        read_file(big)


def test_binary_file(tmp_path):
    f = tmp_path / "bin.yaml"
    f.write_bytes(b"a: 1\n\xff\xfe binary")
    with pytest.raises(NetcError, match=r"bin.yaml:2:1: .*not UTF-8"):
        read_file(f)


def test_missing_file(tmp_path):
    with pytest.raises(NetcError, match="cannot read file"):
        read_file(tmp_path / "none.yaml")
