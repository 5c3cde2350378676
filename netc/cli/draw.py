"""``netc draw FILE -o net.svg``: the network as a self-contained SVG."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

from . import app, fail_usage, load_or_exit
from ..safe_text import safe_text


class View(str, Enum):
    auto = "auto"
    volume = "volume"
    graph = "graph"


@app.command()
def draw(
    file: Path = typer.Argument(..., metavar="FILE", help="A netc .yaml file."),
    output: Path = typer.Option(None, "--output", "-o", metavar="SVG",
                                help="Write here (default: FILE with the suffix .svg)."),
    view: View = typer.Option(View.auto, "--view", help="volume: feature maps as boxes (the paper's "
                              "Figure 7); graph: a layered graph; auto: graph when the network branches widely."),
    depth: int = typer.Option(None, "--depth", min=1, max=64, help="Collapse blocks nested this deep "
                              "(default: 1 in the volume view, 2 in the graph view)."),
    expand: bool = typer.Option(False, "--expand", help="Draw every layer; collapse no block."),
    findings: bool = typer.Option(True, "--findings/--no-findings", help="Mark lint findings on the layers "
                                  "they concern, with footnotes."),
):
    """Draw the network as an SVG: shapes, kernels, skip connections and lint findings."""
    from ..draw import draw as draw_svg, lint_findings, write_text

    if expand and depth is not None:
        fail_usage("--expand and --depth exclude each other")
    net = load_or_exit(file)
    from ..lint import ConfigError, RuleCrash

    try:
        found = lint_findings(file) if findings else []
    except (ConfigError, RuleCrash) as e:
        fail_usage(f"{e} (--no-findings draws without linting)")
    svg = draw_svg(net.analysis, view.value, depth, expand, found)
    target = output or file.with_suffix(".svg")
    if str(target) == "-":
        typer.echo(svg, nl=False)
        return
    try:
        write_text(target, svg)
    except OSError as e:
        fail_usage(f"cannot write {target}: {e.strerror or e}")
    typer.echo(f"wrote {safe_text(target)}", err=True)
