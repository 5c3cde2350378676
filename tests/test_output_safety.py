"""Names are shown, never executed (issue 19): ``netc.safe_text`` and every output that
shows a name from a model or a file: lint (every format), summary (every format),
error messages, import and draw, run on an ONNX model whose every name is hostile and
checked byte by byte."""

import json
import re
import unicodedata
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import numpy as np
import pytest
from typer.testing import CliRunner

from netc.cli import app
from netc.lint.command import OUTPUT_FORMATS
from netc.draw.html import SUMMARY_FORMATS
from netc.safe_text import safe_text

# -- the function -------------------------------------------------------------------------

BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def unsafe(c: str) -> bool:
    """A character no output may hold raw: control, separator, surrogate, bidi control."""
    return unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") or c in BIDI


@pytest.mark.parametrize("name, shown", [
    ("layer1.0.conv1", "layer1.0.conv1"),
    ("/layer1/layer1.0/conv1/Conv", "/layer1/layer1.0/conv1/Conv"),
    ("café 卷积 ≈", "café 卷积 ≈"),
    ("C:\\models\\a b.onnx", "C:\\models\\a b.onnx"),
    ("a\nb", "a\\nb"),
    ("a\r\nb\tc", "a\\r\\nb\\tc"),
    ("\x1b[2J", "\\x1b[2J"),
    ("\x1b]0;title\x07", "\\x1b]0;title\\x07"),
    ("e\x00f\x7f\x85\x9b", "e\\x00f\\x7f\\x85\\x9b"),
    ("a\u2028b\u2029c", "a\\u2028b\\u2029c"),
    ("abc\u202edcba\u2066\u2069", "abc\\u202edcba\\u2066\\u2069"),
    ("\udcff.onnx", "\\udcff.onnx"),                   # a file name that is not UTF-8
    ("::error file=/etc/passwd::x", "\\x3a:error file=/etc/passwd::x"),
    ("  ::warning::x", "  \\x3a:warning::x"),
    ("\u3000::x", "\u3000\\x3a:x"),                   # .NET's TrimStart trims Unicode spaces too
    ("a::b", "a::b"),
    ("x ##[stop-commands]tok", "x ##\\x5bstop-commands]tok"),
    ("\n::error::x", "\\n::error::x"),
])
def test_safe_text(name, shown):
    assert safe_text(name) == shown
    assert safe_text(shown) == shown                    # idempotent: shown twice, escaped once
    assert not any(unsafe(c) for c in shown)
    shown.encode("utf-8")                               # never a lone surrogate


def test_safe_text_of_every_code_point_is_one_printable_line():
    everything = "".join(map(chr, range(0x3000))) + "".join(map(chr, range(0xD7F0, 0xE010)))
    shown = safe_text(everything)
    assert not any(unsafe(c) for c in shown) and len(shown.splitlines()) == 1
    assert safe_text(shown) == shown


def test_safe_text_is_linear():
    import time

    start = time.perf_counter()
    shown = safe_text("\n##[" * 250_000 + "a" * 1_000_000)
    assert time.perf_counter() - start < 2 and shown.count("\\n##\\x5b") == 250_000


# -- a model whose every name is hostile ----------------------------------------------------

FORGED = "x\nFORGED.onnx: node 'x' (Conv #0): error[A001]: forged"
HOSTILE = ["a\nb", "\x1b[2J", "\x1b]0;title\x07", "c\rd", "e\x00f", "\n::error file=/etc/passwd::x",
           "</svg><script>alert(1)</script>", "\nstride: 4", FORGED, "\u2028g\u202eh", " ##[stop-commands]t"]
EVERY = "".join(HOSTILE)
# a file name can hold all but NUL and '/'; relative, it starts a line of every message
FILE = "::error file=a::b\nstride: 4\ndilation: 2\x1b[2J\x1b]0;t\x07\r\u2028##[error]x\nFORGED.onnx: y.onnx"


def hostile_model(unread: bool = False):
    """conv 3x3/2 (an A001 on 8x8) -> relu -> conv 1x1 -> add; every node, tensor, input,
    output and graph name hostile; with ``unread``, a last node of an op type netc does
    not read, its type hostile too."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w1, w2 = (numpy_helper.from_array(rng.standard_normal(s).astype(np.float32), n)
              for s, n in (((4, 3, 3, 3), "w" + HOSTILE[1]), ((4, 4, 1, 1), "w" + HOSTILE[2])))
    x, t = "in" + HOSTILE[0] + HOSTILE[6], [f"t{i}{h}" for i, h in enumerate(HOSTILE)]
    nodes = [helper.make_node("Conv", [x, w1.name], [t[0]], name="conv" + FORGED, kernel_shape=[3, 3],
                              strides=[2, 2]),
             helper.make_node("Relu", [t[0]], [t[1]], name="relu" + EVERY),
             helper.make_node("Conv", [t[1], w2.name], [t[2]], name=HOSTILE[5] + HOSTILE[7], kernel_shape=[1, 1]),
             helper.make_node("Add", [t[1], t[2]], [t[3]], name=HOSTILE[6] + HOSTILE[3])]
    out = t[3]
    if unread:
        nodes.append(helper.make_node("Evil" + HOSTILE[5] + HOSTILE[1], [t[3]], [t[4]], name="u" + EVERY,
                                      domain="x" + HOSTILE[0]))
        out = t[4]
    graph = helper.make_graph(nodes, "graph" + EVERY,
                              [helper.make_tensor_value_info(x, TensorProto.FLOAT, ["N", 3, 8, 8])],
                              [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)], [w1, w2])
    opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid("x" + HOSTILE[0], 1)] if unread else [])
    model = helper.make_model(graph, opset_imports=opsets, ir_version=8)
    model.doc_string = EVERY
    return model


@pytest.fixture
def models(tmp_path, monkeypatch):
    """(the hostile model, the one with an unread op), written under hostile file names
    in the current directory (relative paths: the file name starts every line)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p").mkdir()
    full, partial = tmp_path / FILE, tmp_path / "p" / FILE
    full.write_bytes(hostile_model().SerializeToString())
    partial.write_bytes(hostile_model(unread=True).SerializeToString())
    return FILE, "p/" + FILE


def netc(*args):
    """(exit code, stdout, stderr) of the CLI, decoded strictly as UTF-8: no traceback."""
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.stdout_bytes.decode("utf-8"), result.stderr_bytes.decode("utf-8")


ANNOTATION = re.compile(r"::(error|warning|notice) file=[^:,]*(,line=\d+,col=\d+)?,title=netc [A-Z]\d{3}::")


def check_text(text: str, annotations: int = 0) -> None:
    """Byte by byte: only newlines among control characters; no line a workflow command
    but the ``annotations`` real ones; no ``##[``; no line forged by a name."""
    bad = sorted({repr(c) for c in text if unsafe(c) and c != "\n"})
    assert not bad, bad
    assert "##[" not in text
    commands = [line for line in text.split("\n") if line.lstrip().startswith("::")]
    assert len(commands) == annotations, commands
    assert all(ANNOTATION.match(line) for line in commands), commands
    for line in text.split("\n"):
        assert not line.lstrip().startswith(("FORGED", "stride", "dilation", "b\\n")), line


def has(text: str, name: str) -> bool:
    return safe_text(name) in text


# -- lint ------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", OUTPUT_FORMATS)
def test_lint_in_every_format(models, fmt):
    full, partial = models
    for path, found in ((full, "A001"), (partial, "E011")):
        code, out, err = netc("lint", path, "--output-format", fmt)
        assert code == 1 and found in out, (out, err)
        check_text(out + err, annotations=out.count("\n") if fmt == "github" else 0)
        if fmt in ("json", "sarif"):        # JSON escapes: the names themselves, escaped once
            data = json.loads(out)
            records = data if fmt == "json" else data["runs"][0]["results"]
            text = json.dumps(records, ensure_ascii=False)
            assert "\\\\n" not in text and "\\\\x1b" not in text, "escaped twice"
            if found == "A001" and fmt == "json":
                assert records[0]["file"] == full and records[0]["layer"] == "conv" + FORGED
            if found == "A001" and fmt == "sarif":
                assert records[0]["locations"][0]["message"]["text"] == f"node 'conv{FORGED}' (Conv #0)"
        elif found == "A001":
            assert has(out, "conv" + FORGED) and has(out, f"node 'conv{FORGED}' (Conv #0)"), out
        else:                               # the unread op type and node, in the message
            assert has(out, "Evil" + HOSTILE[5] + HOSTILE[1]) and has(out, "u" + EVERY), out


def test_lint_github_by_default_under_github_actions(models):
    """The fast entry (no typer) that CI runs, with GITHUB_ACTIONS set: one annotation a line."""
    import os
    import subprocess
    import sys

    from conftest import ROOT

    env = dict(os.environ, PYTHONPATH=str(ROOT), GITHUB_ACTIONS="true")
    r = subprocess.run([sys.executable, "-m", "netc", "lint", *models], env=env, capture_output=True, timeout=120)
    out = r.stdout.decode("utf-8")
    lines = out.splitlines()
    assert r.returncode == 1 and len(lines) == 3 and "netc E011::E011 " in lines[2], out
    check_text(out + r.stderr.decode("utf-8"), annotations=3)


# -- summary ------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", SUMMARY_FORMATS)
def test_summary_in_every_format(models, fmt):
    full, partial = models
    for path, code_wanted in ((full, 0), (partial, 1)):
        code, out, err = netc("summary", path, "--format", fmt)
        assert code == code_wanted, err
        check_text(out + err)
        if code_wanted:                     # the E011 on stderr names the hostile op type, escaped
            assert has(err, "Evil" + HOSTILE[5] + HOSTILE[1]), err
        if fmt == "json":
            data = json.loads(out)
            assert data["name"] == "graph" + EVERY and data["file"] == path
            assert "\\\\n" not in json.dumps(data, ensure_ascii=False)
        elif fmt == "csv":
            import csv
            import io

            rows = [r for r in csv.reader(io.StringIO(out)) if r and not r[0].startswith("#")]
            assert rows[1][0] == safe_text("conv" + FORGED) and all(len(r) == len(rows[0]) for r in rows)
        elif fmt == "markdown":
            table = [line for line in out.splitlines() if line.startswith("| ")]
            assert all(len(re.findall(r"(?<!\\)\|", line)) == 8 for line in table), table
            assert "<" not in out.replace("\\<", "") and "\\[" in out
        elif fmt == "html":
            check_html(out)
        else:
            assert out.startswith(safe_text("graph" + EVERY) + "  (" + safe_text(path) + ")\n"), out


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)


def check_html(page: str) -> None:
    """The report's own elements only: one script, one svg; the names are text."""
    parser = _Tags()
    parser.feed(page)
    parser.close()
    assert parser.tags.count("script") == 1 and parser.tags.count("svg") == 1, parser.tags
    assert "alert(1)</script>" not in page and "<script>alert" not in page
    svg = page[page.index("<svg"):page.index("</svg>") + len("</svg>")]
    ET.fromstring(svg)


# -- errors ---------------------------------------------------------------------------------

def test_error_messages(models):
    """A model netc refuses: the E011 error names its file, node and op type, one line each."""
    _, partial = models
    code, out, err = netc("import", partial)
    assert code == 1 and "error[E011]" in err, err
    check_text(out + err)
    assert err.startswith(safe_text(partial) + ": ") and has(err, "u" + EVERY), err


def test_diagnostic_format_and_json_record():
    from netc.diagnostics import Diagnostic, Span
    from netc.lint.output import as_record

    d = Diagnostic(f"bad {FORGED}", Span(FILE, 0, 1, where=f"node '{FORGED}' (Conv #0)"), "A001",
                   notes=[(Span(FILE, 3, 4), "note\x1b[2J"), (None, "\n::error::x")])
    text = d.format()
    check_text(text)
    assert text.count("\n") == 2 and str(d.span).startswith("\\x3a:error")
    record = as_record(FILE, d)                 # JSON keeps the names themselves
    assert record["file"] == FILE and record["message"] == f"bad {FORGED}"


# -- import ---------------------------------------------------------------------------------

def test_import_copies_nothing_raw(models, tmp_path):
    """The file name goes into the comment escaped, the graph name quoted: the imported
    file loads back as the same network (stride 2, no dilation), every line its own."""
    import netc as api

    full, _ = models
    code, out, err = netc("import", full)
    assert code == 0, err
    check_text(out + err)
    lines = out.splitlines()
    assert lines[0] == "# imported by netc import from " + safe_text(FILE) and lines[1] == "netc: 1"
    assert [line for line in lines if line.lstrip().startswith("#")] == lines[:1]
    (tmp_path / "imported.yaml").write_text(out)
    net, model = api.load(tmp_path / "imported.yaml"), api.load(full)
    assert net.name == "graph" + EVERY
    convs = [layer for layer in net.layers if layer.op == "conv"]     # per axis, from the windows
    assert [[(w.stride, w.dilation) for w in r.windows] for r in convs] == \
        [[(2, 1), (2, 1)], [(1, 1), (1, 1)]], [r.node.params for r in convs]
    assert (net.totals.params, net.totals.macs) == (model.totals.params, model.totals.macs)
    assert [r.output_shape for r in net.layers] == [r.output_shape for r in model.layers]


# -- draw ------------------------------------------------------------------------------------

@pytest.mark.parametrize("view", ["volume", "graph"])
def test_draw_is_well_formed_xml(models, tmp_path, view):
    full, _ = models
    target = tmp_path / f"{view}.svg"
    code, out, err = netc("draw", full, "-o", str(target), "--view", view)
    assert code == 0, err
    check_text(out + err)
    svg = target.read_bytes().decode("utf-8")
    check_text(svg)
    root = ET.fromstring(svg)
    assert not [e for e in root.iter() if not e.tag.startswith("{http://www.w3.org/2000/svg}")]
    texts = " ".join(e.text or "" for e in root.iter())
    assert safe_text("graph" + EVERY) in texts and "</svg><script>" in texts   # shown, as text
