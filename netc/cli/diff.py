"""``netc diff OLD NEW``: compare two networks (files or git ``REV:PATH``), with growth budgets.

Exit codes: 0 no budget passed (differences are not errors), 1 a budget passed or
invalid input, 2 usage (a missing file, a REV:PATH git cannot read, a bad budget)."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path

import typer

from ..diagnostics import NetcError
from ..memory import DTYPE_BYTES, OPTIMIZER_STATE
from ..render.diff import FORMATS
from . import app, fail_usage, report

DiffFormat = Enum("DiffFormat", {n: n for n in FORMATS}, type=str)
DType = Enum("DType", {n: n for n in DTYPE_BYTES}, type=str)
Optimizer = Enum("Optimizer", {n: n for n in OPTIMIZER_STATE}, type=str)


@app.command()
def diff(
    old: str = typer.Argument(..., metavar="OLD", help="A netc .yaml file, an .onnx model, or REV:PATH "
                              "read from git (main:nets/r50.yaml)."),
    new: str = typer.Argument(..., metavar="NEW", help="The same, for the new version."),
    format: DiffFormat = typer.Option(DiffFormat.text, "--format", "-f", help="Output format."),
    fail_on_growth: str = typer.Option(None, "--fail-on-growth", metavar="METRIC=LIMIT,...",
                                       help="Exit 1 when a total grows past a budget: params=5%,macs=10% "
                                       "or absolute, params=1000 (replaces [tool.netc.diff])."),
    isolated: bool = typer.Option(False, "--isolated", help="Ignore [tool.netc.diff] in pyproject.toml "
                                  "and [diff] in netc.toml."),
    batch: int = typer.Option(1, "--batch", "-b", min=1, max=1 << 30, help="Batch size for memory."),
    dtype: DType = typer.Option(DType.float32, "--dtype", help="Element type for memory."),
    optimizer: Optimizer = typer.Option(Optimizer.sgd, "--optimizer", help="Optimizer state to count."),
):
    """Layers added, removed and changed between two networks, and what that does to the totals."""
    from ..diff import BudgetError, SpecError, config_budgets, diff as compare, load_spec, over_budget, \
        parse_budgets

    try:
        if fail_on_growth is not None:
            budgets = parse_budgets(fail_on_growth)
        else:
            found = None if isolated else config_budgets(Path.cwd())
            budgets = found[1] if found else []
        nets = [load_spec(spec) for spec in (old, new)]
    except (SpecError, BudgetError) as e:
        fail_usage(str(e))
    except NetcError as e:
        report(e)
    d = compare(*nets, batch=batch, dtype=dtype.value, optimizer=optimizer.value)
    over = over_budget(d, budgets)
    sys.stdout.write(FORMATS[format.value](d, budgets, over))
    if over:
        from ..render.diff import total_cells

        for b in over:
            typer.echo(f"netc diff: {b.metric} grew {total_cells(b.metric, d.totals[b.metric])[2]}, "
                       f"past its budget {b}", err=True)
        raise typer.Exit(1)
