"""``netc torch FILE -o model.py``: the network as readable PyTorch source."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import List

import typer

from ..diagnostics import NetcError
from . import app, fail_usage, input_option, load_or_exit, overrides_or_exit, report, set_option


@app.command("torch")
def torch_(
    file: Path = typer.Argument(..., metavar="FILE", help="A netc .yaml file."),
    output: Path = typer.Option(None, "--output", "-o", metavar="PY",
                                help="Write the module here (default: print it; '-' prints it too)."),
    sets: List[str] = set_option(),
    input_shape: str = input_option(),
):
    """Write the network as PyTorch source: one nn.Module class per block, no netc import
    needed to run it (netc.to_torch gives the same module live)."""
    from ..api import is_binary

    if file.is_file() and is_binary(file):
        fail_usage(f"{file} is not a netc file: netc torch writes netc files as PyTorch source")
    if output is not None and str(output) != "-":
        if output.exists() and output.is_dir():
            fail_usage(f"{output} is a directory; give a file name such as {output / 'model.py'}")
        if not output.parent.is_dir():
            fail_usage(f"no such directory: {output.parent}")
        if file.exists() and output.resolve() == file.resolve():
            fail_usage("the output would overwrite the input file")
    net = load_or_exit(file, overrides_or_exit(sets, input_shape))
    from ..torch.source import generate

    try:
        gen = generate(net)
    except NetcError as e:
        report(e)
    if output is None or str(output) == "-":
        typer.echo(gen.text, nl=False)
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(gen.text)
        os.replace(tmp, output)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        typer.echo(f"netc: error: cannot write {output}: {e.strerror or e}", err=True)
        raise typer.Exit(1)
    typer.echo(f"wrote {output}: class {gen.top}, {len(gen.entries)} tensors in its state_dict", err=True)
