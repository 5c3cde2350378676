"""``netc sizes FILE``: the input sizes at which a network loads and every window is exact.

Exit codes: 0 (whatever sizes fit, none included), 1 invalid input (a file that does
not load for a reason no size changes), 2 usage (a bad --range, a network whose
classes pass netc's limits without a range)."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import List

import typer

from ..diagnostics import SHAPE, NetcError
from ..render.sizes import FORMATS
from . import app, fail_usage, input_option, overrides_or_exit, report, set_option

SizesFormat = Enum("SizesFormat", {n: n for n in FORMATS}, type=str)
MAX_RANGE = 1 << 20


def parse_range(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    a, sep, b = text.partition(":")
    if not sep or not a.strip().isdigit() or not b.strip().isdigit():
        fail_usage(f"--range {text!r}: expected A:B, two sizes, e.g. --range 320:1280")
    lo, hi = int(a), int(b)
    if not 1 <= lo <= hi <= MAX_RANGE:
        fail_usage(f"--range {text!r}: expected 1 <= A <= B <= {MAX_RANGE:,}")
    return lo, hi


def graph_or_exit(path: Path, params: dict, input_shape=None):
    """The network's graph, also when the file's own input size does not load (a shape
    error, E004): its layers are what ``netc sizes`` needs."""
    from ..api import is_binary, load

    if not path.exists():
        fail_usage(f"no such file: {path}")
    if path.is_dir():
        fail_usage(f"{path} is a directory; give a .yaml file or an .onnx model")
    try:
        return load(path, params=params or None, input_shape=input_shape).graph
    except NetcError as e:
        if is_binary(path) or any(d.code != SHAPE for d in e.diagnostics):
            report(e)
    from ..expand import expand
    from ..schema import validate
    from ..source import read_file

    try:
        src = read_file(path)
        validate(src)
        return expand(src, params or None, input_shape)
    except NetcError as e:
        report(e)


def dynamic_model(path: Path, input_shape):
    """An ONNX model whose input has sides of no fixed size (``dim_param``: exported with
    dynamic axes): (its graph read at ``--input``'s size, a function that reads it at
    another size); None for any other file. Without --input: a usage error."""
    from ..api import is_binary
    from ..onnx.reader import load_model, read_graph
    from ..source import Source

    if not path.is_file() or not is_binary(path):
        return None
    try:
        model = load_model(str(path))
    except NetcError as e:
        report(e)
    weights = {t.name for t in model.graph.initializer}
    inputs = [v for v in model.graph.input if v.name not in weights]
    if len(inputs) != 1 or not inputs[0].type.tensor_type.HasField("shape"):
        return None             # the reader says why
    dims = inputs[0].type.tensor_type.shape.dim
    given = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in dims]
    if len(dims) < 3 or all(given[1:]):
        return None
    shown = ", ".join(str(g) if g else d.dim_param or "?" for g, d in zip(given, dims))
    if input_shape is None:
        fail_usage(f"{path}: input '{inputs[0].name}' has shape [{shown}]: give the size each axis is held at, "
                   f"--input {','.join(str(g) if g else 'N' for g in given[1:])}")
    if len(input_shape) != len(dims) - 1 or any(g and g != n for g, n in zip(given[1:], input_shape)):
        fail_usage(f"--input {','.join(map(str, input_shape))}: input '{inputs[0].name}' of {path} has shape "
                   f"[{shown}] (the batch first)")
    index = list(model.graph.input).index(inputs[0])

    def read_at(shape):
        m = type(model)()
        m.CopyFrom(model)
        for d, n in zip(m.graph.input[index].type.tensor_type.shape.dim[1:], shape):
            d.dim_value = n
        graph = read_graph(m, str(path))
        graph.source = Source(str(path), "", None)
        return graph

    try:
        return read_at(tuple(input_shape)), read_at
    except NetcError as e:
        report(e)


@app.command()
def sizes(
    file: Path = typer.Argument(..., metavar="FILE", help="A netc .yaml file or an .onnx model."),
    range_: str = typer.Option(None, "--range", metavar="A:B", help="List the sizes from A to B that fit."),
    format: SizesFormat = typer.Option(SizesFormat.text, "--format", "-f", help="Output format."),
    sets: List[str] = set_option(),
    input_shape: str = input_option(),
):
    """Input sizes at which the network loads and every window is exact, per axis."""
    from ..overrides import OverrideError
    from ..sizes import SizesError, declared_sizes, sizes as compute

    span = parse_range(range_)
    overrides = overrides_or_exit(sets, input_shape)
    dynamic = dynamic_model(file, overrides["input_shape"])
    try:
        graph = dynamic[0] if dynamic else graph_or_exit(file, overrides["params"], overrides["input_shape"])
    except OverrideError as e:
        fail_usage(e.cli_message)
    try:
        result = compute(graph, span, declared_sizes(graph), dynamic[1] if dynamic else None)
    except SizesError as e:
        fail_usage(f"{file}: {e}")
    sys.stdout.write(FORMATS[format.value](result, str(file)))
