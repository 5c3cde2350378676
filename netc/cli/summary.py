"""``netc summary FILE``: the per-layer table with totals and memory."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import List

import typer

from ..memory import DTYPE_BYTES, OPTIMIZER_STATE
from ..render import FORMATS
from ..rollup import rollup
from . import app, device_bytes_option, input_option, load_or_exit, overrides_or_exit, set_option


def _choices(name: str, names) -> type[Enum]:
    """A str Enum of the names a library table defines, so the CLI never lists them twice."""
    return Enum(name, {n: n for n in names}, type=str)


SummaryFormat = _choices("SummaryFormat", [*FORMATS, "html"])     # html: netc.draw.html's report
DType = _choices("DType", DTYPE_BYTES)
Optimizer = _choices("Optimizer", OPTIMIZER_STATE)


@app.command()
def summary(
    file: Path = typer.Argument(..., metavar="FILE", help="A netc .yaml file or an .onnx model."),
    format: SummaryFormat = typer.Option(SummaryFormat.text, "--format", "-f", help="Output format."),
    batch: int = typer.Option(1, "--batch", "-b", min=1, max=1 << 30, help="Batch size for memory."),
    dtype: DType = typer.Option(DType.float32, "--dtype", help="Element type for memory."),
    optimizer: Optimizer = typer.Option(Optimizer.sgd, "--optimizer", help="Optimizer state to count (Murphy 2016, §5.1; docs/conventions.md)."),
    device_memory: str = typer.Option(None, "--device-memory", help="Device size, e.g. 8GB or 16GiB: "
                                      "report the largest batch that fits.", callback=device_bytes_option),
    sets: List[str] = set_option(),
    input_shape: str = input_option(),
    depth: int = typer.Option(None, "--depth", min=1, max=64, help="Roll layers up into blocks nested this "
                              "deep (1: the file's top-level blocks, such as ResNet stages)."),
):
    """Per-layer shapes, parameters, MACs, activation memory and receptive field, with totals."""
    net = load_or_exit(file, {**overrides_or_exit(sets, input_shape), "partial": True})
    mem = net.memory(batch, dtype.value, optimizer.value)
    analysis = net.analysis if depth is None else rollup(net.analysis, depth)
    unread = net.graph.unread       # an ONNX model read in part: the E011 error, then what was read
    if unread is not None:
        typer.echo(unread.format(), err=True)
    if format.value == "html":
        from ..draw.html import report as render
    else:
        render = FORMATS[format.value]
    sys.stdout.write(render(analysis, mem, device_memory))
    if unread is not None:
        raise typer.Exit(1)         # the input is not fully supported: the totals are lower bounds
