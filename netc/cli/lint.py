"""``netc lint PATH...`` and ``netc rule CODE``: thin wrappers over ``netc.lint``.

Exit codes: 0 when nothing at or above ``--fail-on`` was found, 1 when
something was, 2 for usage, configuration or internal errors.
"""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

from ..overrides import OverrideError
from . import app, device_bytes_option, fail_usage, input_option, overrides_or_exit, set_option


class OutputFormat(str, Enum):
    text = "text"
    json = "json"
    sarif = "sarif"
    github = "github"


class Level(str, Enum):
    error = "error"
    warning = "warning"
    info = "info"


def _codes(values: list[str] | None, option: str) -> list[str] | None:
    """Comma-separated or repeated codes, checked against the known ones."""
    if not values:
        return None
    from ..lint.config import ConfigError, check_codes

    items = [v for value in values for v in value.split(",") if v.strip()]
    try:
        return check_codes(items, option)
    except ConfigError as e:
        fail_usage(str(e))


@app.command()
def lint(
    paths: List[Path] = typer.Argument(..., metavar="PATH...", help="netc files and .onnx models, or "
                                       "folders to search for them."),
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
):
    """Check netc files and ONNX models for arithmetic and design mistakes (rules: netc rule --all)."""
    from dataclasses import replace

    from ..lint import ConfigCache, ConfigError, RuleCrash, lint_paths
    from ..lint.output import FORMATS
    from ..diagnostics import Severity

    sel, ext, ign = _codes(select, "--select"), _codes(extend_select, "--extend-select"), \
        _codes(ignore, "--ignore")
    overrides = overrides_or_exit(sets, input_shape)
    if config is not None and not config.is_file():
        fail_usage(f"no such configuration file: {config}")

    def override(cfg):
        opts = {}
        if device_memory is not None:
            opts["device_memory"] = device_memory
        if batch is not None:
            opts["batch"] = batch
        return replace(cfg,
                       select=sel if sel is not None else cfg.select,
                       extend_select=cfg.extend_select + (ext or []),
                       ignore=cfg.ignore + (ign or []),
                       fail_on=Severity.parse(fail_on.value) if fail_on else cfg.fail_on,
                       options=replace(cfg.options, **opts))

    try:
        configs = ConfigCache(config, isolated)
        results, missing, used = lint_paths(paths, configs, override, netc_files_only, overrides)
    except OverrideError as e:
        fail_usage(str(e))
    except (ConfigError, RuleCrash) as e:
        typer.echo(f"netc: error: {e}", err=True)
        raise typer.Exit(2)
    if missing:
        fail_usage("no such file or folder: " + ", ".join(missing))
    if not results:
        typer.echo("netc: warning: no netc files found (YAML files with a top-level 'netc:' key, "
                   "or .onnx models)",
                   err=True)
    fmt = output_format.value if output_format else \
        "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"
    sys.stdout.write(FORMATS[fmt](results))
    failing = any(d.severity >= cfg.fail_on for r, cfg in zip(results, used) for d in r.findings)
    raise typer.Exit(1 if failing and not exit_zero else 0)


@app.command()
def rule(
    code: Optional[str] = typer.Argument(None, metavar="[CODE]", help="A rule code, e.g. A001."),
    all_: bool = typer.Option(False, "--all", help="List every rule."),
):
    """Print the documentation of a lint rule (or list them all)."""
    from ..lint import LOAD_ERRORS, RULES
    from ..lint.docs import page

    if all_ or code is None:
        for r in RULES.values():
            typer.echo(f"{r.code}  {r.name:<26} {str(r.severity):<8} {r.summary}")
        for c, text in LOAD_ERRORS.items():
            typer.echo(f"{c}  {'load-error':<26} {'error':<8} {text}")
        return
    key = code.strip().upper()
    if key in RULES:
        sys.stdout.write(page(RULES[key]))
    elif key in LOAD_ERRORS:
        typer.echo(f"# {key} load error\n\n{LOAD_ERRORS[key]}.\n\nA file with a load error cannot "
                   "be checked further; the error is always reported and cannot be suppressed.")
    else:
        import difflib

        close = difflib.get_close_matches(key, list(RULES) + list(LOAD_ERRORS), n=1)
        fail_usage(f"unknown rule {code!r}" + (f"; did you mean {close[0]}?" if close else
                                              " (netc rule --all lists them)"))
