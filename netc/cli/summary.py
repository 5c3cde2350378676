"""``netc summary FILE``: the per-layer table with totals and memory."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path

import typer

from . import app, device_bytes_option, load_or_exit


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


@app.command()
def summary(
    file: Path = typer.Argument(..., metavar="FILE", help="A netc .yaml file."),
    format: SummaryFormat = typer.Option(SummaryFormat.text, "--format", "-f", help="Output format."),
    batch: int = typer.Option(1, "--batch", "-b", min=1, max=1 << 30, help="Batch size for memory."),
    dtype: DType = typer.Option(DType.float32, "--dtype", help="Element type for memory."),
    optimizer: Optimizer = typer.Option(Optimizer.sgd, "--optimizer", help="Optimizer state to count (§5.1)."),
    device_memory: str = typer.Option(None, "--device-memory", help="Device size, e.g. 8GB or 16GiB: "
                                      "report the largest batch that fits.", callback=device_bytes_option),
):
    """Per-layer shapes, parameters, MACs, activation memory and receptive field, with totals."""
    from .. import render

    net = load_or_exit(file)
    mem = net.memory(batch, dtype.value, optimizer.value)
    sys.stdout.write(render.FORMATS[format.value](net.analysis, mem, device_memory))
