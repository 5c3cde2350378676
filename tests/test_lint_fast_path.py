"""netc lint without typer (netc.entry -> netc.lint.command): the fast parser knows
exactly typer's lint options, reads the plain command lines and hands every other one
to typer, and both paths give the same output and exit code."""

import subprocess
import sys
from pathlib import Path

import pytest

from netc.lint import command
from conftest import ROOT

TYPER_PATH = "import sys\nsys.argv = ['netc', *sys.argv[1:]]\nfrom netc.cli import run\nrun()"


def test_the_fast_parser_knows_every_typer_option_of_lint_and_how_it_takes_values():
    from typer.main import get_command

    from netc.cli import app

    params = get_command(app).commands["lint"].params
    options = [p for p in params if p.param_type_name == "option"]
    flags = {name for p in options if p.is_flag for name in p.opts + p.secondary_opts}
    repeatable = {name for p in options if p.multiple for name in p.opts}
    single = {name for p in options if not p.is_flag and not p.multiple for name in p.opts}
    assert flags == set(command.FLAGS)
    assert repeatable == set(command.REPEATABLE)
    assert single == set(command.SINGLE)
    choices = {p.opts[0]: tuple(p.type.choices) for p in options if hasattr(p.type, "choices")}
    assert choices == {"--output-format": command.OUTPUT_FORMATS, "--fail-on": command.LEVELS}
    batch = next(p for p in options if p.opts == ["--batch"])
    assert (batch.type.min, batch.type.max) == (1, command.MAX_BATCH)


def test_plain_command_lines_are_read():
    o = command.parse(["a.yaml", "--select", "A0,D", "--select=A1", "--ignore", "A003", "--exit-zero",
                       "--output-format=json", "--fail-on", "warning", "--batch", "8", "--device-memory",
                       "8GB", "--set", "w=2", "--input=3,8,8", "b.yaml", "--netc-files-only", "--isolated",
                       "--config", "pyproject.toml", "--extend-select", "S"])
    assert o == command.LintOptions(
        paths=(Path("a.yaml"), Path("b.yaml")), select=("A0,D", "A1"), extend_select=("S",), ignore=("A003",),
        output_format="json", fail_on="warning", exit_zero=True, config=Path("pyproject.toml"), isolated=True,
        device_memory=8 * 10 ** 9, batch=8, netc_files_only=True, sets=("w=2",), input_shape="3,8,8")


@pytest.mark.parametrize("argv", [
    ["a.yaml", "--help"], ["-h"], ["--", "a.yaml"], ["a.yaml", "--selec", "A"],
    ["a.yaml", "--select"], ["a.yaml", "--select", "--ignore"], ["a.yaml", "--exit-zero=1"],
    ["a.yaml", "--output-format", "xml"], ["a.yaml", "--fail-on", "fatal"], ["a.yaml", "--batch", "0"],
    ["a.yaml", "--batch", "+8"], ["a.yaml", "--batch", "x"], ["a.yaml", f"--batch={command.MAX_BATCH + 1}"],
    ["a.yaml", "--device-memory", "lots"], ["a.yaml", "--config", "a", "--config", "b"],
    ["a.yaml", "--stdin-filename"], ["-", "--quiet=1"],
])
def test_anything_else_goes_to_typer(argv):
    assert command.parse(argv) is None


@pytest.fixture
def params_file(tmp_path):
    path = tmp_path / "net.yaml"
    path.write_text("netc: 1\nparams: {width: 8}\ninput: {shape: [3, 9, 9]}\nlayers:\n"
                    "  - conv: {filters: $width, kernel: 2, stride: 2}\n  - flatten\n  - dense: {units: 4}\n")
    return path


@pytest.mark.slow
@pytest.mark.parametrize("args", [
    ["examples/lenet5.yaml", "examples/resnet50.yaml"],
    ["examples/resnet50.yaml", "--output-format", "json"],
    ["examples/", "--select=A003,D", "--ignore", "D002", "--output-format=sarif"],
    ["examples/resnet50.yaml", "--fail-on", "warning"],
    ["examples/resnet50.yaml", "--fail-on", "warning", "--exit-zero", "--output-format", "github"],
    ["examples/vgg16.yaml", "--batch", "4096", "--device-memory", "8GB", "--select", "S003"],
    ["{net}", "--set", "width=16", "--input", "3,17,17"],
    ["{net}", "--set", "depth=2"],
    ["{net}", "--isolated", "--netc-files-only", "pyproject.toml"],
    ["examples/resnet50.yaml", "--select", "Q999"],
    ["examples/resnet50.yaml", "--config", "no-such.toml"],
    ["no-such-file.yaml"],
    ["examples/resnet50.yaml", "--output-format", "xml"],      # typer's message in both
    ["examples/", "--statistics"],
    ["examples/resnet50.yaml", "-q"],
    ["examples/lenet5.yaml", "--statistics", "--output-format", "json"],
])
def test_both_paths_give_the_same_output_and_exit_code(args, params_file):
    args = [a.replace("{net}", str(params_file)) for a in args]
    fast = subprocess.run([sys.executable, "-m", "netc", "lint", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    typer = subprocess.run([sys.executable, "-c", TYPER_PATH, "lint", *args], cwd=ROOT, capture_output=True,
                           text=True, timeout=60)
    assert "Traceback" not in fast.stderr + typer.stderr
    assert (fast.returncode, fast.stdout, fast.stderr.replace("python -m netc", "netc")) == \
        (typer.returncode, typer.stdout, typer.stderr.replace("-c", "netc"))


def test_no_path_is_the_current_folder_and_dash_is_stdin():
    assert command.parse([]).paths == (Path("."),)
    assert command.parse(["--exit-zero"]) == command.LintOptions(paths=(Path("."),), exit_zero=True)
    o = command.parse(["-", "--stdin-filename", "nets/a.yaml", "-q", "--statistics"])
    assert o == command.LintOptions(paths=(Path("-"),), stdin_filename="nets/a.yaml", quiet=True, statistics=True)
