"""The command line, through typer's CliRunner and as a real subprocess; golden outputs."""

import json
import os

import pytest
from typer.testing import CliRunner

from conftest import ROOT, run_netc
from netc.cli import app

GOLDEN = ROOT / "tests" / "golden"
ARGS = ["examples/murphy-fig7.yaml", "--batch", "2", "--optimizer", "adam", "--device-memory", "8GB"]
runner = CliRunner()


@pytest.mark.parametrize("fmt, ext", [("text", "txt"), ("json", "json"), ("markdown", "md"), ("csv", "csv")])
def test_summary_golden(fmt, ext, monkeypatch):
    """Golden files are reviewed by hand; regenerate with NETC_UPDATE_GOLDEN=1 after a deliberate change."""
    monkeypatch.chdir(ROOT)
    result = runner.invoke(app, ["summary", *ARGS, "--format", fmt])
    assert result.exit_code == 0, result.output
    golden = GOLDEN / f"murphy-fig7.{ext}"
    if os.environ.get("NETC_UPDATE_GOLDEN"):
        golden.write_text(result.stdout)
    assert result.stdout == golden.read_text()


def test_summary_json_schema_fields(monkeypatch):
    monkeypatch.chdir(ROOT)
    data = json.loads(runner.invoke(app, ["summary", *ARGS, "--format", "json"]).stdout)
    assert set(data) >= {"name", "input", "layers", "totals", "memory"}
    assert set(data["layers"][0]) >= {"name", "op", "output_shape", "params", "macs", "flops",
                                      "activations", "receptive_field"}
    assert set(data["totals"]) >= {"params", "trainable_params", "macs", "flops", "activations",
                                   "param_bytes", "activation_bytes"}
    assert data["totals"]["params"] == 66_970_728
    assert data["memory"]["max_batch"]["training"] == 1346


def test_subprocess_summary_and_exit_codes(tmp_path):
    ok = run_netc("summary", "examples/murphy-fig7.yaml")
    assert ok.returncode == 0 and "66,970,728" in ok.stdout and ok.stderr == ""
    bad = tmp_path / "bad.yaml"
    bad.write_text("netc: 1\ninput: {shape: [3, 8, 8]}\nlayers:\n  - conv: {filters: 4, kernal: 3}\n")
    r = run_netc("summary", str(bad))
    assert r.returncode == 1
    assert r.stderr.startswith(f"{bad}:4:24: error[E002]: unknown key 'kernal' for conv; did you mean 'kernel'?")
    assert "Traceback" not in r.stderr and r.stdout == ""


@pytest.mark.parametrize("args, words", [
    (["summary", "missing.yaml"], "no such file"),
    (["summary", "examples"], "is a directory"),
    (["summary", "examples/murphy-fig7.yaml", "--batch", "0"], "--batch"),
    (["summary", "examples/murphy-fig7.yaml", "--dtype", "float8"], "--dtype"),
    (["summary", "examples/murphy-fig7.yaml", "--device-memory", "lots"], "not a memory size"),
    (["summary", "examples/murphy-fig7.yaml", "--format", "xml"], "--format"),
    (["frobnicate"], "no such command"),
])
def test_usage_errors_exit_2(args, words):
    r = run_netc(*args)
    assert r.returncode == 2, r.stderr
    assert words in r.stderr and "Traceback" not in r.stderr


HOSTILE = {
    "bomb.yaml": 'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n',
    "tag.yaml": '!!python/object/apply:os.system ["echo owned"]\n',
    "binary.yaml": "\x00\xff\xfe binary",
    "empty.yaml": "",
    "broken.yaml": "layers: [\n",
    "list.yaml": "- 1\n- 2\n",
    "filters.yaml": "netc: 1\ninput: {shape: [3, 8, 8]}\nlayers:\n  - conv: {filters: 1000000000000, kernel: 1}\n",
    "deep.yaml": "a: " + "[" * 5000 + "]" * 5000 + "\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_files_exit_1_quickly(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(HOSTILE[name].encode("utf-8", "surrogatepass") if name != "binary.yaml"
                     else b"\x00\xff\xfe binary")
    r = run_netc("summary", str(path))
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert r.stderr.startswith(f"{path}:") and "Traceback" not in r.stderr
    assert "owned" not in r.stdout + r.stderr


def test_python_m_and_version():
    r = run_netc("--version")
    assert r.returncode == 0 and r.stdout.startswith("netc ")


def test_schema_command_prints_the_committed_schema():
    r = run_netc("schema")
    assert r.returncode == 0
    assert json.loads(r.stdout) == json.loads((ROOT / "schemas" / "netc.schema.json").read_text())


@pytest.mark.parametrize("args, says", [
    (["summary"], "missing argument 'FILE'"),
    (["summary", "examples/lenet5.yaml", "--batch", "0"], "invalid value for '--batch'"),
    (["summary", "examples/lenet5.yaml", "--format", "xml"], "'xml' is not one of"),
    (["summary", "examples/lenet5.yaml", "--bogus"], "no such option: --bogus"),
    (["sumary", "x"], "no such command 'sumary'; did you mean 'summary'?"),
    (["build", "examples/lenet5.yaml", "--seed", "-1"], "-1 is not a seed"),
    (["lint", "examples/", "--fail-on", "fatal"], "invalid value for '--fail-on'"),
])
def test_every_command_line_mistake_is_one_netc_error_line(args, says):
    """One error style for every command: 'netc: error: ...' on one line and exit 2, as the
    library's own usage errors print, never click's usage block."""
    r = run_netc(*args)
    assert r.returncode == 2 and r.stdout == ""
    [line] = r.stderr.splitlines()
    assert line.startswith("netc: error: ") and says in line and "--help" in line, line
