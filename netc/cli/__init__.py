"""The command line: typer commands parse options, call the library, render, and
choose the exit code (0 ok, 1 invalid input, 2 usage).

This module holds the app and the helpers every command shares; each command is
a module of this package (``summary.py``, ...) imported at the bottom."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from ..diagnostics import NetcError
from ..overrides import OverrideError

app = typer.Typer(
    name="netc",
    help="netc: check, count, compile and time convolutional networks written in YAML.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def fail_usage(message: str) -> None:
    typer.echo(f"netc: error: {message}", err=True)
    raise typer.Exit(2)


def report(err: NetcError) -> None:
    """Print load errors as FILE:LINE:COL lines and exit 1."""
    for d in err.diagnostics:
        typer.echo(d.format(), err=True)
    raise typer.Exit(1)


def set_option():
    return typer.Option(None, "--set", metavar="NAME=VALUE", help="Override a network parameter "
                        "of the file's params:, e.g. --set width=0.75 (repeatable).")


def input_option():
    return typer.Option(None, "--input", metavar="C,H,W", help="Override the input shape, "
                        "e.g. --input 3,512,512.")


def overrides_or_exit(sets: list[str] | None, input_shape: str | None) -> dict:
    """``--set`` and ``--input`` as keyword arguments of ``netc.load``."""
    from ..overrides import parse_input, parse_sets

    try:
        return {"params": parse_sets(sets),
                "input_shape": parse_input(input_shape) if input_shape is not None else None}
    except OverrideError as e:
        fail_usage(str(e))


def load_or_exit(path: Path, overrides: dict | None = None):
    from ..api import load

    if not path.exists():
        fail_usage(f"no such file: {path}")
    if path.is_dir():
        fail_usage(f"{path} is a directory; give a .yaml file or an .onnx model")
    try:
        return load(path, **(overrides or {}))
    except NetcError as e:
        report(e)
    except OverrideError as e:
        fail_usage(str(e))


def device_bytes_option(text: str | None) -> int | None:
    if text is None:
        return None
    from ..memory import parse_bytes

    try:
        return parse_bytes(text)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None


def version_callback(value: bool):
    if value:
        from .. import __version__

        typer.echo(f"netc {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: bool = typer.Option(False, "--version", callback=version_callback, is_eager=True,
                                      help="Print the version and exit.")):
    """netc: check, count, compile and time convolutional networks written in YAML."""


@app.command()
def schema():
    """Print the JSON Schema of the netc format (draft 2020-12)."""
    import json

    from ..schema import build_schema

    sys.stdout.write(json.dumps(build_schema(), indent=2) + "\n")


# Each command lives in its own module and registers itself on ``app``.
from . import summary  # noqa: E402,F401
from . import bench  # noqa: E402,F401
from . import lint  # noqa: E402,F401
from . import build  # noqa: E402,F401
from . import draw  # noqa: E402,F401


def run() -> None:
    app()
