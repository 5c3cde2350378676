"""``netc lint PATH...`` and ``netc rule CODE``: thin wrappers over ``netc.lint``.

``lint`` parses its options and calls ``netc.lint.command.run``, which holds what the
command does and its exit codes; ``netc.entry`` calls that directly, without typer,
for the plain command lines ``netc.lint.command.parse`` reads.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

from . import app, device_bytes_option, fail_usage, input_option, set_option


class OutputFormat(str, Enum):
    text = "text"
    json = "json"
    sarif = "sarif"
    github = "github"


class Level(str, Enum):
    error = "error"
    warning = "warning"
    info = "info"


@app.command()
def lint(
    paths: Optional[List[Path]] = typer.Argument(None, metavar="[PATH]...", help="netc files and .onnx "
                                                 "models, or folders to search for them (default: the "
                                                 "current folder; '-': a netc file on stdin)."),
    select: Optional[List[str]] = typer.Option(None, "--select", help="Rule codes or prefixes to "
                                               "enable (comma-separated), replacing the configured set."),
    extend_select: Optional[List[str]] = typer.Option(None, "--extend-select", help="Codes or "
                                                      "prefixes to enable on top of the selection."),
    ignore: Optional[List[str]] = typer.Option(None, "--ignore", help="Codes or prefixes to disable."),
    output_format: Optional[OutputFormat] = typer.Option(
        None, "--output-format", help="text (default), json, sarif or github "
        "(the default when GITHUB_ACTIONS is set)."),
    fail_on: Optional[Level] = typer.Option(None, "--fail-on", help="Lowest severity that makes "
                                            "the exit code 1 (default: error, or the config's)."),
    exit_zero: bool = typer.Option(False, "--exit-zero", help="Exit 0 even when findings are reported."),
    config: Optional[Path] = typer.Option(None, "--config", help="Use this pyproject.toml or "
                                          "netc.toml instead of searching for one."),
    isolated: bool = typer.Option(False, "--isolated", help="Ignore every configuration file."),
    device_memory: Optional[str] = typer.Option(None, "--device-memory", help="Device size for "
                                                "S003, e.g. 8GB or 16GiB.", callback=device_bytes_option),
    batch: Optional[int] = typer.Option(None, "--batch", min=1, max=1 << 30, help="Batch size for S003."),
    netc_files_only: bool = typer.Option(False, "--netc-files-only", help="Skip given YAML files "
                                         "without a top-level 'netc:' key (for pre-commit)."),
    sets: Optional[List[str]] = set_option(),
    input_shape: Optional[str] = input_option(),
    stdin_filename: Optional[str] = typer.Option(None, "--stdin-filename", help="The name of the file "
                                                 "'-' reads from stdin, for messages and configuration."),
    statistics: bool = typer.Option(False, "--statistics", help="Count the findings per code instead "
                                    "of listing them."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print the findings only: no closing line."),
    show_source: Optional[bool] = typer.Option(None, "--show-source/--no-show-source", help="Show each "
                                               "finding's source line with a caret under its column "
                                               "(default: on a terminal)."),
):
    """Check netc files and ONNX models for arithmetic and design mistakes (rules: netc rule --all)."""
    from ..lint.command import LintOptions, run

    raise typer.Exit(run(LintOptions(
        paths=tuple(paths or [Path(".")]), select=tuple(select or ()), extend_select=tuple(extend_select or ()),
        ignore=tuple(ignore or ()), output_format=output_format.value if output_format else None,
        fail_on=fail_on.value if fail_on else None, exit_zero=exit_zero, config=config, isolated=isolated,
        device_memory=device_memory, batch=batch, netc_files_only=netc_files_only, sets=tuple(sets or ()),
        input_shape=input_shape, stdin_filename=stdin_filename, statistics=statistics, quiet=quiet,
        show_source=show_source)))


@app.command()
def rule(
    code: Optional[str] = typer.Argument(None, metavar="[CODE]", help="A rule code, e.g. A001."),
    all_: bool = typer.Option(False, "--all", help="List every rule."),
):
    """Print the documentation of a lint rule (or list them all)."""
    from ..lint import BUILD_ERRORS, LOAD_ERRORS, RULES
    from ..lint.docs import page

    errors = {**{c: ("load-error", t) for c, t in LOAD_ERRORS.items()},
              **{c: ("build-error", t) for c, t in BUILD_ERRORS.items()}}
    if all_ or code is None:
        for c in sorted([*RULES, *errors]):     # one list in code order: A..., D..., E001..., G...
            if c in RULES:
                r = RULES[c]
                typer.echo(f"{r.code}  {r.name:<26} {str(r.severity):<8} {r.summary}")
            else:
                typer.echo(f"{c}  {errors[c][0]:<26} {'error':<8} {errors[c][1]}")
        return
    key = code.strip().upper()
    if key in RULES:
        sys.stdout.write(page(RULES[key]))
    elif key in LOAD_ERRORS:
        typer.echo(f"# {key} load error\n\n{LOAD_ERRORS[key]}.\n\nA file with a load error cannot "
                   "be checked further; the error is always reported and cannot be suppressed.")
    elif key in BUILD_ERRORS:
        typer.echo(f"# {key} build error\n\n{BUILD_ERRORS[key]}.\n\nnetc lint never reports it: "
                   "the file is valid, and `netc build` says what to change.")
    else:
        import difflib

        close = difflib.get_close_matches(key, [*RULES, *errors], n=1)
        fail_usage(f"unknown rule {code!r}" + (f"; did you mean {close[0]}?" if close else
                                              " (netc rule --all lists them)"))
