"""``netc build FILE --onnx OUT.onnx``: lint, build, check and write an ONNX model."""

from __future__ import annotations

import time
from enum import Enum
from pathlib import Path
from typing import List

import typer

from ..diagnostics import Diagnostic, NetcError, Severity
from ..onnx import DEFAULT_OPSET, OPSET_RANGE
from ..overrides import OverrideError
from . import app, fail_usage, import_extra, input_option, load_or_exit, overrides_or_exit, report, set_option


class WeightsMap(str, Enum):
    netc = "netc"
    torchvision = "torchvision"


class BuildDType(str, Enum):
    float32 = "float32"
    float16 = "float16"


def lint_findings(path: Path, overrides: dict | None = None) -> list[Diagnostic]:
    """The linter's findings on the file (``netc.lint.lint_file`` with the configuration
    that applies to it), printed before the build; their errors refuse the build
    unless ``--force``."""
    from ..lint import ConfigCache, ConfigError, RuleCrash, lint_file

    try:
        return lint_file(path, ConfigCache().for_path(path), **(overrides or {}))
    except OverrideError as e:
        fail_usage(e.cli_message)
    except (ConfigError, RuleCrash) as e:
        fail_usage(str(e))


def _seed(value: int) -> int:
    if not 0 <= value < 1 << 64:
        raise typer.BadParameter(f"{value} is not a seed: 0 to 2**64 - 1")
    return value


@app.command()
def build(
    file: Path = typer.Argument(..., help="A netc .yaml file."),
    onnx_out: Path = typer.Option(None, "--onnx", "-o", metavar="OUT.onnx", help="Write the ONNX model "
                                  "to this path (default: FILE with the suffix .onnx, as draw writes FILE.svg)."),
    seed: int = typer.Option(0, "--seed", callback=_seed, help="Seed of the weight initializers (0 to 2**64 - 1)."),
    opset: int = typer.Option(DEFAULT_OPSET, "--opset", help=f"ONNX opset, {OPSET_RANGE}."),
    dtype: BuildDType = typer.Option(BuildDType.float32, "--dtype", help="Element type of the graph."),
    fold_batchnorm: bool = typer.Option(False, "--fold-batchnorm",
                                        help="Fold inference batchnorm into the convolution before it."),
    external_data: bool = typer.Option(None, "--external-data/--no-external-data", show_default=False,
                                       help="Weights in OUT.data beside the model (default: past 1 GiB)."),
    force: bool = typer.Option(False, "--force", help="Build even when lint reports errors."),
    weights_file: Path = typer.Option(None, "--weights", metavar="W", help="Take the weights from a "
                                 ".safetensors file or a PyTorch state_dict .pt, keyed by netc.to_torch's "
                                 "module names (default: drawn from the init schemes with --seed)."),
    weights_map: WeightsMap = typer.Option(WeightsMap.netc, "--weights-map", help="The names --weights' "
                                           "keys follow: netc's (netc.to_torch's module names) or "
                                           "torchvision's state_dict of the model the file is named after "
                                           "(resnet50, mobilenet_v2, efficientnet_b0, convnext_tiny, ...)."),
    sets: List[str] = set_option(),
    input_shape: str = input_option(),
):
    """Compile a network to ONNX, with initialized weights, checked and written atomically."""
    onnx_build = import_extra("netc.onnx.build", "onnx", "build")    # onnx and numpy load only here
    if not onnx_build.MIN_OPSET <= opset <= onnx_build.max_opset():
        fail_usage(f"--opset {opset}: netc builds opsets {onnx_build.MIN_OPSET} to {onnx_build.max_opset()}")
    from ..api import is_binary

    if file.is_file() and is_binary(file):
        fail_usage(f"{file} is not a netc file: netc build compiles netc files "
                   "(netc summary and netc lint read ONNX models)")
    if weights_file is not None:
        _weights_extra(weights_file)
    elif weights_map is not WeightsMap.netc:
        fail_usage("--weights-map names the keys of a --weights file; give --weights too")
    if onnx_out is None:
        onnx_out = file.with_suffix(".onnx")
    if onnx_out.exists() and onnx_out.is_dir():
        fail_usage(f"{onnx_out} is a directory; give a file name such as {onnx_out / 'model.onnx'}")
    if not onnx_out.parent.is_dir():
        fail_usage(f"no such directory: {onnx_out.parent}")
    if file.exists() and onnx_out.resolve() == file.resolve():
        fail_usage("the output would overwrite the input file")

    overrides = overrides_or_exit(sets, input_shape)
    net = load_or_exit(file, overrides)
    findings = lint_findings(file, overrides)
    for d in findings:
        typer.echo(d.format(), err=True)
    errors = sum(d.severity >= Severity.ERROR for d in findings)
    if errors and not force:
        typer.echo(f"netc: not building: lint found {errors} error(s) (--force builds anyway)", err=True)
        raise typer.Exit(1)

    source = None
    if weights_file is not None:
        source = _weights(weights_file, net, weights_map)
    start = time.perf_counter()
    progress = _Progress(start)
    try:
        onnx_build.check_memory(net, dtype.value, external_data, streamed=not fold_batchnorm)
        model, weights = onnx_build.build_model(net, opset=opset, seed=seed, dtype=dtype.value,
                                                fold_batchnorm=fold_batchnorm, progress=progress,
                                                weights_apart=True, weights=source)
        if weights_file is not None:
            prop = model.metadata_props.add()
            prop.key, prop.value = "io.netc.weights", f"{weights_file.name} sha256:{_sha256(weights_file)}"
        progress.phase("checking and writing")
        onnx_build.write_model(model, onnx_out, external_data=external_data, weights=weights)
    except onnx_build.RuntimeUnsupported as e:
        progress.stop()
        fail_usage(e.diagnostics[0].message)
    except NetcError as e:
        progress.stop()
        report(e)
    except OSError as e:
        progress.stop()
        typer.echo(f"netc: error: cannot write {onnx_out}: {e.strerror or e}", err=True)
        raise typer.Exit(1)
    progress.stop()
    typer.echo(onnx_build.describe(model, onnx_out, time.perf_counter() - start))


def _weights_extra(path: Path) -> None:
    """``--weights``' file exists, and its reader is installed (else one line, exit 2)."""
    if not path.is_file():
        fail_usage(f"no such file: {path}" if not path.exists() else f"{path} is not a file")
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        import_extra("safetensors", "weights", "build --weights")
    elif suffix in (".pt", ".pth", ".bin"):
        import_extra("torch", "torch", "build --weights FILE.pt")
    else:
        fail_usage(f"--weights {path}: expected a .safetensors file or a PyTorch state_dict (.pt, .pth, .bin)")


def _weights(path: Path, net, weights_map: WeightsMap = WeightsMap.netc):
    """The ONNX weight source of ``--weights``: the file read (its keys renamed from
    torchvision's with ``--weights-map torchvision``) and checked against the state_dict
    ``netc.to_torch`` gives the network (exit 1 naming each bad key)."""
    from ..torch.source import generate
    from ..torch.weights import check_weights, read_weights, weight_source

    try:
        entries = generate(net).entries
        state = read_weights(path)
        if weights_map is WeightsMap.torchvision:
            from ..torch.torchvision_keys import from_torchvision

            state = from_torchvision(net, state, source=str(path))
        check_weights(state, entries, path)
    except NetcError as e:
        report(e)
    return weight_source(state, entries)


def _sha256(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class _Progress:
    """A transient progress bar on stderr, shown only on a terminal and only once
    a build has taken more than half a second."""

    DELAY = 0.5

    def __init__(self, start: float):
        self.start, self.bar, self.task = start, None, None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None and not self._begin():
            return
        self.bar.update(self.task, completed=done, total=total)

    def phase(self, description: str) -> None:
        if self.bar is not None or self._begin():
            self.bar.update(self.task, description=description, total=None)

    def _begin(self) -> bool:
        if time.perf_counter() - self.start < self.DELAY:
            return False
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

        console = Console(stderr=True)
        if not console.is_terminal:
            return False
        self.bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                            MofNCompleteColumn(), console=console, transient=True)
        self.task = self.bar.add_task("lowering layers", total=None)
        self.bar.start()
        return True

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
