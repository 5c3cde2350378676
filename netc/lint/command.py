"""What ``netc lint`` does once its command line is read, without typer.

``run(options)`` lints, prints and returns the exit code; the typer command in
``netc/cli/lint.py`` parses the command line into ``LintOptions`` and calls it.
``parse(argv)`` reads the plain command lines a pre-commit hook or CI gives
(paths and known options, each well-formed) without importing typer, whose own
imports are a tenth of a lint's time; for anything else (``--help``, ``--``, an
unknown or malformed option) it returns None and typer parses, so that every
message about the command line comes from typer. ``tests/test_lint_fast_path.py``
keeps the two parsers' options and results the same.

Exit codes: 0 when nothing at or above ``--fail-on`` was found, 1 when something
was, 2 for usage, configuration or internal errors.

As ruff does: no path lints the current folder; ``-`` reads one netc file from
stdin (``--stdin-filename`` names it, for messages and configuration); a clean
text report says so in a closing line (``-q`` drops it); ``--statistics``
counts findings per code instead of listing them.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path

OUTPUT_FORMATS = ("text", "json", "sarif", "github")
LEVELS = ("error", "warning", "info")
MAX_BATCH = 1 << 30


@dataclass(frozen=True)
class LintOptions:
    """``netc lint``'s command line, parsed."""

    paths: tuple[Path, ...]
    select: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    output_format: str | None = None        # OUTPUT_FORMATS; None: text, or github under GitHub Actions
    fail_on: str | None = None              # LEVELS; None: the configuration's
    exit_zero: bool = False
    config: Path | None = None
    isolated: bool = False
    device_memory: int | None = None        # bytes
    batch: int | None = None
    netc_files_only: bool = False
    sets: tuple[str, ...] = ()
    input_shape: str | None = None
    stdin_filename: str | None = None       # the name of the file ``-`` reads from stdin
    statistics: bool = False
    quiet: bool = False
    show_source: bool | None = None         # None: on a terminal


class UsageError(Exception):
    """A command-line or configuration mistake: one line, exit 2."""


def _codes(values: tuple[str, ...], option: str) -> list[str] | None:
    """Comma-separated or repeated codes, checked against the known ones."""
    if not values:
        return None
    from .config import ConfigError, check_codes

    items = [v for value in values for v in value.split(",") if v.strip()]
    try:
        return check_codes(items, option)
    except ConfigError as e:
        raise UsageError(str(e)) from None


def run(o: LintOptions) -> int:
    """Lint ``o.paths``, write the report to stdout and return the exit code."""
    try:
        return _run(o)
    except UsageError as e:
        from ..safe_text import safe_text

        print(f"netc: error: {safe_text(e)}", file=sys.stderr)
        return 2


def _run(o: LintOptions) -> int:
    from ..diagnostics import Severity
    from ..overrides import OverrideError, parse_overrides
    from . import STDIN, ConfigCache, ConfigError, RuleCrash, lint_paths
    from .output import FORMATS, statistics, text

    sel, ext, ign = _codes(o.select, "--select"), _codes(o.extend_select, "--extend-select"), \
        _codes(o.ignore, "--ignore")
    try:
        overrides = parse_overrides(o.sets, o.input_shape)
    except OverrideError as e:
        raise UsageError(e.cli_message) from None
    if o.config is not None and not o.config.is_file():
        raise UsageError(f"no such configuration file: {o.config}")
    fmt = o.output_format or ("github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text")
    if o.statistics and fmt != "text":
        raise UsageError(f"--statistics prints a text table; it does not combine with --output-format {fmt}")
    stdin = None
    if STDIN in o.paths:
        stdin = (o.stdin_filename or "<stdin>", _read_stdin())
    elif o.stdin_filename is not None:
        raise UsageError("--stdin-filename names the file '-' reads from stdin; give '-' as the path")

    def override(cfg):
        opts = {}
        if o.device_memory is not None:
            opts["device_memory"] = o.device_memory
        if o.batch is not None:
            opts["batch"] = o.batch
        return replace(cfg,
                       select=sel if sel is not None else cfg.select,
                       extend_select=cfg.extend_select + (ext or []),
                       ignore=cfg.ignore + (ign or []),
                       fail_on=Severity.parse(o.fail_on) if o.fail_on else cfg.fail_on,
                       options=replace(cfg.options, **opts))

    try:
        configs = ConfigCache(o.config, o.isolated)
        results, missing, used = lint_paths(list(o.paths), configs, override, o.netc_files_only, overrides,
                                            stdin)
    except OverrideError as e:
        raise UsageError(e.cli_message) from None
    except (ConfigError, RuleCrash) as e:
        raise UsageError(str(e)) from None
    if missing:
        raise UsageError("no such file or folder: " + ", ".join(missing))
    for r in results:
        if r.skipped:
            print(f"netc: warning: skipped {r.skipped}", file=sys.stderr)
    if not results:
        print("netc: warning: no netc files found (YAML files with a top-level 'netc:' key, "
              "or .onnx models)", file=sys.stderr)
    if fmt != "text":
        sys.stdout.write(FORMATS[fmt](results))
    elif o.statistics:
        sys.stdout.write(statistics(results))
    else:
        from ..diagnostics import color_wanted, show_source_wanted

        sys.stdout.write(text(results, closing=not o.quiet and any(not r.skipped for r in results),
                              show_source=show_source_wanted(sys.stdout, o.show_source),
                              color=color_wanted(sys.stdout)))
    failing = any(d.severity >= cfg.fail_on for r, cfg in zip(results, used) for d in r.findings)
    return 1 if failing and not o.exit_zero else 0


def _read_stdin() -> bytes:
    """The netc file on stdin, at most one byte past the size limit that the loader enforces."""
    from ..source import MAX_BYTES

    return sys.stdin.buffer.read(MAX_BYTES + 1)


# --------------------------------------------------------------------------- the fast parser

FLAGS = {"--exit-zero": "exit_zero", "--isolated": "isolated", "--netc-files-only": "netc_files_only",
         "--statistics": "statistics", "--quiet": "quiet", "-q": "quiet", "--show-source": "show_source",
         "--no-show-source": "no_show_source"}
REPEATABLE = {"--select": "select", "--extend-select": "extend_select", "--ignore": "ignore",
              "--set": "sets"}
SINGLE = {"--output-format": "output_format", "--fail-on": "fail_on", "--config": "config",
          "--device-memory": "device_memory", "--batch": "batch", "--input": "input_shape",
          "--stdin-filename": "stdin_filename"}


def parse(argv: list[str]) -> LintOptions | None:
    """``LintOptions`` for the arguments after ``lint`` when they are plainly valid, else None.

    Plainly valid: paths (none: the current folder; ``-``: stdin); options from FLAGS, REPEATABLE and SINGLE, each
    ``--name value`` or ``--name=value``; no value that starts with '-'; a single-valued
    option given once (typer takes the last of several); choices, the batch and the
    device size well-formed."""
    flags: dict[str, bool] = {}
    lists: dict[str, list[str]] = {key: [] for key in REPEATABLE.values()}
    single: dict[str, str] = {}
    paths: list[str] = []
    args = iter(argv)
    for arg in args:
        if not arg.startswith("-") or arg == "-":
            paths.append(arg)
            continue
        name, eq, value = arg.partition("=")
        if name in FLAGS and not eq:
            if FLAGS[name] in ("show_source", "no_show_source"):    # the last one given wins, as in typer
                flags.pop("show_source", None), flags.pop("no_show_source", None)
            flags[FLAGS[name]] = True
            continue
        key = REPEATABLE.get(name) or SINGLE.get(name)
        if key is None:
            return None                     # --help, --, short options, unknown names
        if not eq:
            value = next(args, None)
            if value is None or value.startswith("-"):
                return None
        if name in REPEATABLE:
            lists[key].append(value)
        elif key in single:
            return None
        else:
            single[key] = value
    if single.get("output_format", "text") not in OUTPUT_FORMATS or single.get("fail_on", "error") not in LEVELS:
        return None
    batch = single.get("batch")
    if batch is not None and not (batch.isdigit() and batch.isascii() and 1 <= int(batch) <= MAX_BATCH):
        return None
    device_memory = None
    if "device_memory" in single:
        from ..memory import parse_bytes

        try:
            device_memory = parse_bytes(single["device_memory"])
        except ValueError:
            return None
    return LintOptions(
        paths=tuple(Path(p) for p in paths or ["."]), select=tuple(lists["select"]),
        extend_select=tuple(lists["extend_select"]), ignore=tuple(lists["ignore"]),
        output_format=single.get("output_format"), fail_on=single.get("fail_on"),
        exit_zero=flags.get("exit_zero", False),
        config=Path(single["config"]) if "config" in single else None,
        isolated=flags.get("isolated", False), device_memory=device_memory,
        batch=int(batch) if batch is not None else None,
        netc_files_only=flags.get("netc_files_only", False), sets=tuple(lists["sets"]),
        input_shape=single.get("input_shape"), stdin_filename=single.get("stdin_filename"),
        statistics=flags.get("statistics", False), quiet=flags.get("quiet", False),
        show_source=True if "show_source" in flags else False if "no_show_source" in flags else None)
