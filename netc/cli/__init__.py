"""The command line: typer commands parse options, call the library, render, and
choose the exit code (0 ok, 1 invalid input, 2 usage).

This module holds the app and the helpers every command shares; each command is
a module of this package (``summary.py``, ...) named in ``COMMANDS``: a new
command adds its line there. ``netc CMD`` imports only CMD's module; reading the
whole command table (``netc --help``, ``from netc.cli import app`` in tests)
imports them all."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from ..diagnostics import MissingExtra, NetcError
from ..overrides import OverrideError
from ..safe_text import safe_text

# command -> the module of this package that defines it
COMMANDS = {"summary": "summary", "schema": "", "bench": "bench", "lint": "lint", "rule": "lint",
            "build": "build", "draw": "draw", "import": "import_", "diff": "diff",
            "sizes": "sizes", "torch": "torch_"}     # "": defined in this module


class _App(typer.Typer):
    """The typer app, whose command modules load when its command table is first read:
    every module, or only the one ``run`` names (``netc lint`` never imports the
    summary's, the build's or the bench's command code)."""

    only: str | None = None     # set by run(): the one command module to load
    ready = False               # set once this module has run: from then on, reading loads

    @property
    def registered_commands(self):
        if self.ready and not self.__dict__.get("_loaded", False):
            self._loaded = True
            import importlib

            names = dict.fromkeys(m for m in COMMANDS.values() if m) if self.only is None else \
                [self.only] if self.only else []
            for module in names:
                importlib.import_module(f"{__name__}.{module}")
        return self._commands

    @registered_commands.setter
    def registered_commands(self, value):
        self._commands = value


app = _App(
    name="netc",
    help="netc: check, count, compile and time convolutional networks written in YAML.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def fail_usage(message: str) -> None:
    typer.echo(f"netc: error: {safe_text(message)}", err=True)
    raise typer.Exit(2)


# extra -> the top-level modules it installs
EXTRAS = {"onnx": ("onnx", "numpy", "google"), "bench": ("onnxruntime", "onnx", "numpy", "google"),
          "torch": ("torch", "safetensors", "numpy"), "weights": ("safetensors", "numpy")}


def import_extra(module: str, extra: str, command: str):
    """Import ``module``, which needs the ``extra``; without it, one line saying what to
    install and exit 2 (a plain install has lint, summary, schema and rule only)."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as e:
        missing = (e.name or module).split(".")[0]
        if missing not in EXTRAS[extra]:
            raise
        fail_usage(f"netc {command} needs the '{extra}' extra ({missing} is not installed): "
                   f"pip install 'netc[{extra}]'")


def report(err: NetcError) -> None:
    """Print load errors as FILE:LINE:COL lines and exit 1; on a terminal each with its
    source line and a caret, in colour (NO_COLOR, FORCE_COLOR: netc/diagnostics.py)."""
    from ..diagnostics import SourceLines, color_wanted, show_source_wanted

    sources = SourceLines() if show_source_wanted(sys.stderr) else None
    color = color_wanted(sys.stderr)
    sys.stderr.write("".join(d.format(sources, color) + "\n" for d in err.diagnostics))
    raise typer.Exit(1)


def set_option():
    return typer.Option(None, "--set", metavar="NAME=VALUE", help="Override a network parameter "
                        "of the file's params:, e.g. --set width=0.75 (repeatable).")


def input_option():
    return typer.Option(None, "--input", metavar="C,H,W", help="Override the input shape, "
                        "e.g. --input 3,512,512.")


def overrides_or_exit(sets: list[str] | None, input_shape: str | None) -> dict:
    """``--set`` and ``--input`` as keyword arguments of ``netc.load``."""
    from ..overrides import parse_overrides

    try:
        return parse_overrides(sets, input_shape)
    except OverrideError as e:
        fail_usage(e.cli_message)


def load_or_exit(path: Path, overrides: dict | None = None):
    from ..api import load

    if not path.exists():
        fail_usage(f"no such file: {path}")
    if path.is_dir():
        fail_usage(f"{path} is a directory; give a .yaml file or an .onnx model")
    try:
        net = load(path, **(overrides or {}))
    except NetcError as e:
        report(e)
    except OverrideError as e:
        fail_usage(e.cli_message)
    for d in net.graph.warnings:      # an ONNX model's names that are not valid UTF-8
        typer.echo(d.format(), err=True)
    return net


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


# Each command lives in its own module (COMMANDS) and registers itself on ``app``
# when the app first reads its command table.
app.ready = True


def _click_error(name: str) -> type:
    """click's exception class ``name``, from the click typer uses (typer 0.28 vendors its own)."""
    return next(c for c in typer.BadParameter.__mro__ if c.__name__ == name)


def run() -> None:
    """The console entry point: load only the named command's module when argv names one.

    Every command-line mistake is one ``netc: error:`` line and exit 2, as the library's
    own usage errors are (not click's usage block)."""
    usage_error, click_exception = _click_error("UsageError"), _click_error("ClickException")
    name = sys.argv[1] if len(sys.argv) > 1 else None
    if name in COMMANDS:
        app.only = COMMANDS[name]
    try:
        code = app(standalone_mode=False)
    except usage_error as e:
        if type(e).__name__ == "NoArgsIsHelpError":      # plain 'netc': the help, as before
            e.show()
            sys.exit(2)
        command = e.ctx.command_path if e.ctx is not None else "netc"
        message = e.format_message().rstrip(".").replace(". Did you mean", "; did you mean")
        typer.echo(f"netc: error: {message[:1].lower()}{message[1:]} (see '{command} --help')", err=True)
        sys.exit(2)
    except click_exception as e:
        typer.echo(f"netc: error: {e.format_message()}", err=True)
        sys.exit(e.exit_code)
    except typer.Abort:
        typer.echo("netc: aborted", err=True)
        sys.exit(130)
    except MissingExtra as e:
        typer.echo(f"netc: {e}", err=True)
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)
