"""The console entry point (``netc``, ``python -m netc``).

``netc lint`` with a plain command line runs without typer (``netc.lint.command``):
lint is the command pre-commit hooks and CI call on every commit, and typer's own
imports are a tenth of its time. Everything else, and any command line the fast
parser does not read, goes to the typer app in ``netc.cli``."""

from __future__ import annotations

import sys


def run() -> None:
    argv = sys.argv[1:]
    if argv[:1] == ["lint"]:
        from .lint.command import parse

        options = parse(argv[1:])
        if options is not None:
            from .diagnostics import MissingExtra
            from .lint.command import run as lint

            try:
                code = lint(options)
            except MissingExtra as e:
                from .safe_text import safe_text

                print(f"netc: {safe_text(e)}", file=sys.stderr)
                code = 2
            sys.exit(code)
    from .cli import run as cli

    cli()
