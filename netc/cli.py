"""The command line: typer commands parse options, call the library, render, and
choose the exit code (0 ok, 1 invalid input, 2 usage)."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path

import typer

from .diagnostics import NetcError

app = typer.Typer(
    name="netc",
    help="netc: check, count, compile and time convolutional networks written in YAML.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class SummaryFormat(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"
    csv = "csv"


class DType(str, Enum):
    float32 = "float32"
    float16 = "float16"
    bfloat16 = "bfloat16"
    float64 = "float64"
    int8 = "int8"


class Optimizer(str, Enum):
    sgd = "sgd"
    momentum = "momentum"
    nesterov = "nesterov"
    adagrad = "adagrad"
    rmsprop = "rmsprop"
    adam = "adam"


def fail_usage(message: str) -> None:
    typer.echo(f"netc: error: {message}", err=True)
    raise typer.Exit(2)


def report(err: NetcError) -> None:
    """Print load errors as FILE:LINE:COL lines and exit 1."""
    for d in err.diagnostics:
        typer.echo(d.format(), err=True)
    raise typer.Exit(1)


def load_or_exit(path: Path):
    from .api import load

    if not path.exists():
        fail_usage(f"no such file: {path}")
    if path.is_dir():
        fail_usage(f"{path} is a directory; give a .yaml file")
    try:
        return load(path)
    except NetcError as e:
        report(e)


def device_bytes_option(text: str | None) -> int | None:
    if text is None:
        return None
    from .memory import parse_bytes

    try:
        return parse_bytes(text)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None


def version_callback(value: bool):
    if value:
        from . import __version__

        typer.echo(f"netc {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: bool = typer.Option(False, "--version", callback=version_callback, is_eager=True,
                                      help="Print the version and exit.")):
    """netc: check, count, compile and time convolutional networks written in YAML."""


@app.command()
def summary(
    file: Path = typer.Argument(..., help="A netc .yaml file."),
    format: SummaryFormat = typer.Option(SummaryFormat.text, "--format", "-f", help="Output format."),
    batch: int = typer.Option(1, "--batch", "-b", min=1, max=1 << 30, help="Batch size for memory."),
    dtype: DType = typer.Option(DType.float32, "--dtype", help="Element type for memory."),
    optimizer: Optimizer = typer.Option(Optimizer.sgd, "--optimizer", help="Optimizer state to count (§5.1)."),
    device_memory: str = typer.Option(None, "--device-memory", help="Device size, e.g. 8GB or 16GiB: "
                                      "report the largest batch that fits.", callback=device_bytes_option),
):
    """Per-layer shapes, parameters, MACs, activation memory and receptive field, with totals."""
    from . import render

    net = load_or_exit(file)
    mem = net.memory(batch, dtype.value, optimizer.value)
    sys.stdout.write(render.FORMATS[format.value](net.analysis, mem, device_memory))


@app.command()
def schema():
    """Print the JSON Schema of the netc format (draft 2020-12)."""
    import json

    from .schema import build_schema

    sys.stdout.write(json.dumps(build_schema(), indent=2) + "\n")


def run() -> None:
    app()
