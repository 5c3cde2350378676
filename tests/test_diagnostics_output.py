"""How a diagnostic is shown: the source line with a caret under the column (ruff's
``--show-source``, on by default on a terminal), colour on a terminal only (``NO_COLOR``,
``FORCE_COLOR``), a YAML error that names its cause, a file that is not UTF-8 pointed at
its byte, and a shape error that names the ``defaults:`` entry it comes from."""

import os
import re
import pty
import select
import subprocess
import sys

import pytest

import netc
from netc.diagnostics import Diagnostic, NetcError, SourceLines, Span, excerpt
from conftest import ROOT, run_netc

NET = ("netc: 1\ninput: {shape: [3, 32, 32]}\nlayers:\n"
       "  - conv: {filters: 8, kernel: 3, activation: rleu}\n")
ESC = "\x1b"


def plain(text: str) -> str:
    return re.sub("\x1b\\[[0-9;]*m", "", text)


def run_env(*args, env=None, input=None):
    full = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    full.update(env or {}, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "netc", *args], cwd=ROOT, env=full, input=input,
                          capture_output=True, text=True, timeout=120)


def run_on_terminal(*args, env=None) -> str:
    """netc's stdout and stderr as a terminal shows them: both on a pseudo-terminal."""
    full = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    full.update(env or {}, PYTHONPATH=str(ROOT), TERM="xterm")
    master, slave = pty.openpty()
    p = subprocess.Popen([sys.executable, "-m", "netc", *args], cwd=ROOT, env=full, stdin=subprocess.DEVNULL,
                         stdout=slave, stderr=slave)
    os.close(slave)
    out = b""
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:          # the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    p.wait(timeout=60)
    os.close(master)
    return out.decode().replace("\r\n", "\n")


# --------------------------------------------------------------------------- source excerpts

def test_show_source_puts_a_caret_under_the_column(write):
    path = write(NET)
    r = run_env("lint", "--show-source", str(path))
    assert r.stdout == (
        f"{path}:4:47: error[E002]: conv activation: unknown value 'rleu'; did you mean 'relu'?\n"
        "  |\n"
        "4 |   - conv: {filters: 8, kernel: 3, activation: rleu}\n"
        "  |                                               ^^^^\n"
        "  |\n"
        "Found 1 error in 1 file.\n")


def test_source_is_not_shown_when_piped_or_asked_not_to(write):
    path = write(NET)
    for args in (("lint", str(path)), ("lint", "--no-show-source", str(path)),
                 ("lint", "--show-source", "--no-show-source", str(path))):
        r = run_env(*args)
        assert r.stdout.splitlines()[1] == "Found 1 error in 1 file.", args
    r = run_env("summary", str(path))
    assert r.stderr.count("\n") == 1 and "|" not in r.stderr


def test_the_typer_path_shows_the_same_excerpt(write):
    path = write(NET)
    fast = run_env("lint", "--show-source", str(path))
    typer = run_env("lint", "--show-source", "--select", "A", str(path))   # a load error is never deselected
    assert fast.stdout == typer.stdout


def test_on_a_terminal_excerpts_and_colour_are_the_default(write):
    path = write(NET)
    out = run_on_terminal("lint", str(path))
    assert "4 |   - conv: {filters: 8, kernel: 3, activation: rleu}" in plain(out)
    assert f"{ESC}[1;31merror{ESC}[0m" in out and f"{ESC}[1;31m^^^^{ESC}[0m" in out
    out = run_on_terminal("lint", "--no-show-source", str(path))
    assert "4 |" not in plain(out) and ESC in out
    # the load errors of every command: on the terminal, with the excerpt
    out = run_on_terminal("summary", str(path))
    assert "4 |   - conv:" in plain(out) and "^^^^" in out and ESC in out


def test_no_color_turns_colour_off_on_a_terminal(write):
    path = write(NET)
    out = run_on_terminal("lint", str(path), env={"NO_COLOR": "1"})
    assert ESC not in out
    assert "  |                                               ^^^^" in out


def test_force_color_colours_a_pipe_and_no_color_wins(write):
    path = write(NET)
    r = run_env("lint", str(path), env={"FORCE_COLOR": "1"})
    assert r.stdout.startswith(f"{ESC}[1m{path}:4:47{ESC}[0m: {ESC}[1;31merror{ESC}[0m{ESC}[1m[E002]{ESC}[0m: ")
    assert f"{ESC}[1mFound 1 error in 1 file.{ESC}[0m" in r.stdout
    r = run_env("summary", str(path), env={"FORCE_COLOR": "1"})
    assert r.stderr.startswith(f"{ESC}[1m{path}:4:47{ESC}[0m: ")
    for env in ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, {"FORCE_COLOR": "0"}):
        assert ESC not in run_env("lint", str(path), env=env).stdout
    clean = write("netc: 1\ninput: {shape: [3, 8, 8]}\nlayers: [relu]\n", "clean.yaml")
    assert run_env("lint", str(clean), env={"FORCE_COLOR": "1"}).stdout == f"{ESC}[1;32mAll checks passed!{ESC}[0m\n"


def test_colour_codes_are_only_netcs_own(write):
    """A name holding an escape sequence is escaped first; the colours are added after."""
    value = write("netc: 1\ninput: {shape: [3, 32, 32]}\nlayers:\n"
                  "  - conv: {filters: 8, kernel: 3, activation: \"\\e[31mred\"}\n", "a\x1b[2Jb.yaml")
    raw = write("netc: 1\ninput: {shape: [3, 8, 8]}\nlayers:\n  - relu # \x1b[5m\n", "raw.yaml")
    r = run_env("lint", "--show-source", str(value), str(raw), env={"FORCE_COLOR": "1"})
    assert "\x1b[2J" not in r.stdout and "\x1b[31mred" not in r.stdout and "\x1b[5m" not in r.stdout
    assert "a\\x1b[2Jb.yaml:4:47" in r.stdout                  # the file name
    assert "unknown value '\\x1b[31mred'" in r.stdout              # the message
    assert "4 |\x1b[0m   - relu # \\x1b[5m\n" in r.stdout         # the source line, the caret under it
    assert f"{raw}:4:12\x1b[0m: \x1b[1;31merror\x1b[0m\x1b[1m[E001]\x1b[0m: invalid YAML: the control " \
           "character U+001B is not allowed" in r.stdout
    assert plain(r.stdout).count("  |            ^^^^\n") == 1
    assert set(re.findall("\x1b\\[[0-9;]*m", r.stdout)) == {f"{ESC}[{c}m" for c in ("0", "1", "1;31", "1;34")}
    assert ESC not in plain(r.stdout)


def test_stdin_is_quoted_from_what_was_read(tmp_path):
    r = run_env("lint", "--show-source", "-", "--stdin-filename", "nets/a.yaml", input=NET)
    assert "4 |   - conv: {filters: 8, kernel: 3, activation: rleu}" in r.stdout


def test_carets_count_what_is_shown():
    line = "\t- conv: {name: \"\x07bell\", filters: 8, kernel: 3, activation: rleu}"
    col = line.index("rleu") + 1
    out = excerpt(Span("n.yaml", 12, col, 12, col + 4), line)
    shown, carets = out[1], out[2]
    assert shown == "12 |     - conv: {name: \"\\x07bell\", filters: 8, kernel: 3, activation: rleu}"
    assert carets.index("^") == shown.index("rleu") and carets.endswith("^^^^")
    wide = "  - conv: {name: 畳み込み, filters: x}"
    out = excerpt(Span("n.yaml", 3, wide.index("x") + 1), wide)
    assert out[2].index("^") == len("3 | ") + wide.index("x") + 4      # four wide characters, two columns each


def test_a_long_line_is_cut_around_the_column():
    line = "  - conv: {name: " + "a" * 500 + ", filters: x}"
    col = line.index("x}") + 1
    out = excerpt(Span("n.yaml", 1, col), line)
    assert len(out[1]) < 140 and out[1].endswith("filters: x}") and "…" in out[1]
    assert out[1][out[2].index("^")] == "x"


def test_source_lines_of_a_binary_or_missing_file_are_not_quoted(tmp_path):
    binary = tmp_path / "m.onnx"
    binary.write_bytes(b"\x08\x07\x00\x01")
    lines = SourceLines()
    assert lines.line(str(binary), 1) is None and lines.line(str(tmp_path / "nope"), 1) is None
    d = Diagnostic("x", Span(str(tmp_path / "nope"), 3, 1), "E002")
    assert d.format(lines) == d.format()


# --------------------------------------------------------------------------- causes in words

@pytest.mark.parametrize("text, line, col, words", [
    ("netc: 1\ninput: {shape: [3, 8, 8]}\nlayers:\n\t- relu\n", 4, 1, "tabs are not allowed for indentation"),
    ("netc: 1\ninput:\n\tshape: [3, 8, 8]\nlayers: [relu]\n", 3, 1, "tabs are not allowed for indentation"),
    ("netc: 1\ninput: {shape: [3, 8, 8]}\nlayers:\n  - conv:\n  \t  filters: 8\n", 5, 3,
     "tabs are not allowed for indentation"),
    ("netc: 1\ninput: {shape: [3, 8, 8]}\nlayers:\n  - relu: {name: @x}\n", 4, 18, "'@' is reserved in YAML"),
])
def test_a_yaml_syntax_error_names_its_cause(text, line, col, words):
    with pytest.raises(NetcError) as e:
        netc.loads(text, "t.yaml")
    d, = e.value.diagnostics
    assert (d.code, d.span.line, d.span.col) == ("E001", line, col)
    assert words in d.message and "cannot start any token" not in d.message


def test_a_latin1_byte_is_a_text_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "net.yaml"
    path.write_bytes(b"netc: 1\ninput: {shape: [3, 8, 8]}  # \xc3\xa0 la\nlayers:\n"
                     b"  - relu   # caf\xe9 cr\xe8me\n")
    assert not netc.api.is_binary(path)
    with pytest.raises(NetcError) as e:
        netc.load(path)
    d, = e.value.diagnostics
    assert (d.code, d.span.line, d.span.col) == ("E001", 4, 17)       # '  - relu   # caf' is 16 characters
    assert d.message == ("a text file that is not UTF-8: byte 0xe9 ('é' in Latin-1 or Windows-1252) is "
                         "not valid UTF-8; save the file as UTF-8")
    for cmd in ("lint", "summary"):
        r = run_netc(cmd, str(path))
        assert r.returncode == 1 and f"{path}:4:17: error[E001]: a text file that is not UTF-8" in r.stdout + r.stderr
        assert "E010" not in r.stdout + r.stderr and "ONNX" not in r.stdout + r.stderr
    r = run_env("lint", "--show-source", str(path))
    assert "4 |   - relu   # caf\ufffd cr\ufffdme\n  | " + " " * 16 + "^\n" in r.stdout


def test_binary_content_is_still_binary(tmp_path):
    path = tmp_path / "w.yaml"
    path.write_bytes(b"x" * 10 + bytes(range(256)))        # starts as text; control bytes and invalid UTF-8
    assert netc.api.is_binary(path)
    path.write_bytes(b"x" * 10 + bytes(range(0x80, 0x100)))   # invalid UTF-8, no control byte: text
    assert not netc.api.is_binary(path)


# --------------------------------------------------------------------------- inherited defaults

def test_a_shape_error_names_the_default_it_comes_from():
    text = ("netc: 1\ninput: {shape: [16, 8, 8]}\ndefaults:\n  conv: {kernel: 3, padding: 1, activation: relu}\n"
            "layers:\n  - conv: {name: a, filters: 16}\n  - conv: {name: reduce, filters: 16, kernel: 1}\n"
            "  - add: {from: [a, reduce]}\n")
    with pytest.raises(NetcError) as e:
        netc.loads(text, "n.yaml")
    d, = e.value.diagnostics
    assert (d.code, d.span.line) == ("E004", 8)
    (span, note), = d.notes
    assert span.line == 4 and text.splitlines()[3][span.col - 1:].startswith("1, activation")   # the value
    assert note == "layer 'reduce' takes padding: 1 from 'defaults:' (conv)"


def test_a_default_that_fails_itself_points_back_at_the_layer():
    text = "netc: 1\ninput: {shape: [3, 4, 4]}\ndefaults:\n  conv: {kernel: 7}\nlayers:\n  - conv: {filters: 8}\n"
    with pytest.raises(NetcError) as e:
        netc.loads(text, "n.yaml")
    d, = e.value.diagnostics
    assert (d.code, d.span.line) == ("E004", 4)
    assert [(s.line, n) for s, n in d.notes] == [(6, "kernel: 7 comes from 'defaults:'; layer 'conv1' is here")]


def test_a_branch_that_keeps_its_shape_is_not_blamed():
    # both convs take kernel 3 and padding 1 from defaults; only the pool on one branch halves the size
    text = ("netc: 1\ninput: {shape: [16, 8, 8]}\ndefaults:\n  conv: {kernel: 3, padding: 1}\n"
            "layers:\n  - conv: {name: a, filters: 16}\n  - conv: {name: b, filters: 16}\n"
            "  - maxpool: {kernel: 2}\n  - add: {from: [a, maxpool1]}\n")
    with pytest.raises(NetcError) as e:
        netc.loads(text, "n.yaml")
    d, = e.value.diagnostics
    assert d.code == "E004" and d.notes == []
