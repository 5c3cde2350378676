"""``netc import MODEL.onnx -o NET.yaml``: an ONNX model as a readable netc file."""

from __future__ import annotations

from pathlib import Path

import typer

from ..diagnostics import NetcError
from . import app, fail_usage, import_extra, load_or_exit, report
from ..safe_text import safe_text


@app.command("import")
def import_(
    file: Path = typer.Argument(..., metavar="MODEL", help="An .onnx model."),
    output: Path = typer.Option(None, "--output", "-o", metavar="YAML",
                                help="Write the netc file here (default: print it)."),
):
    """Write a netc file describing an ONNX model's network: names, wiring and parameters."""
    import_extra("onnx", "onnx", "import")
    from ..api import is_binary

    if file.is_file() and not is_binary(file):
        fail_usage(f"{file} is not an ONNX model: netc import reads ONNX models (netc files are netc already)")
    if output is not None:
        if output.is_dir():
            fail_usage(f"{output} is a directory; give a file name such as {output / 'model.yaml'}")
        if not output.parent.is_dir():
            fail_usage(f"no such directory: {output.parent}")
        if file.exists() and output.resolve() == file.resolve():
            fail_usage("the output would overwrite the input model")
    net = load_or_exit(file)
    from ..onnx.importer import import_graph

    try:
        text = import_graph(net.graph, str(file))
    except NetcError as e:
        report(e)
    if output is None:
        typer.echo(text, nl=False)
        return
    from ..draw import write_text

    try:
        write_text(output, text)
    except OSError as e:
        typer.echo(f"netc: error: cannot write {safe_text(output)}: {e.strerror or e}", err=True)
        raise typer.Exit(1)
    typer.echo(f"wrote {safe_text(output)}: {len(net.graph.nodes)} layers", err=True)
