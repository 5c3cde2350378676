"""``netc bench FILE.yaml|FILE.onnx``: time inference on onnxruntime, one row per batch size."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path

import typer

from typing import List

from . import app, fail_usage, import_extra, input_option, load_or_exit, overrides_or_exit, set_option
from ..safe_text import safe_text


class Provider(str, Enum):
    auto = "auto"
    tensorrt = "tensorrt"
    cuda = "cuda"
    cpu = "cpu"


class BenchFormat(str, Enum):
    text = "text"
    json = "json"


class BenchDType(str, Enum):
    float32 = "float32"
    float16 = "float16"


def parse_batches(text: str) -> tuple[int, ...]:
    """'1,8,32' -> (1, 8, 32); every size a positive integer."""
    sizes = []
    for part in text.split(","):
        part = part.strip()
        if not part.isdigit() or int(part) < 1:
            raise ValueError(f"--batch: {part!r} is not a positive integer (example: --batch 1,8,32)")
        sizes.append(int(part))
    return tuple(sizes)


def parse_provider_options(items: list[str]) -> tuple[tuple[str, str], ...]:
    """['prefer_nhwc=1'] -> (('prefer_nhwc', '1'),); each item KEY=VALUE with a non-empty KEY."""
    pairs = []
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise ValueError(f"--provider-option: {item!r} is not KEY=VALUE (example: --provider-option prefer_nhwc=1)")
        pairs.append((key.strip(), value.strip()))
    return tuple(pairs)


@app.command()
def bench(
    file: Path = typer.Argument(..., metavar="FILE", help="A netc .yaml file (built to ONNX first) or an .onnx file."),
    provider: Provider = typer.Option(Provider.auto, "--provider", "-p",
                                      help="Execution provider; auto takes TensorRT, then CUDA, then CPU."),
    batch: str = typer.Option("1", "--batch", "-b", help="Batch sizes to sweep, e.g. 1,8,32."),
    warmup: int = typer.Option(10, "--warmup", min=0, help="Warm-up runs per batch, after the first inference."),
    runs: int = typer.Option(None, "--runs", "-n", min=1, help="Timed runs per batch (default 100)."),
    duration: float = typer.Option(None, "--duration", help="Time runs for this many seconds instead."),
    threads: int = typer.Option(0, "--threads", min=0, help="Intra-op threads (0: onnxruntime's default)."),
    dtype: BenchDType = typer.Option(None, "--dtype", help="Element type to build a .yaml with "
                                     "(default float32); an .onnx keeps its own."),
    format: BenchFormat = typer.Option(BenchFormat.text, "--format", "-f", help="Output format."),
    profile: Path = typer.Option(None, "--profile", help="Save onnxruntime's per-node profile (JSON) here."),
    allow_fallback: bool = typer.Option(False, "--allow-fallback",
                                        help="Run on the provider that loaded when the one asked for did not."),
    peak_tflops: float = typer.Option(None, "--peak-tflops", help="Device peak in TFLOP/s, for the "
                                      "fraction of peak."),
    include_transfers: bool = typer.Option(False, "--include-transfers",
                                           help="GPU: also time host-device copies, reported apart."),
    cuda_graph: bool = typer.Option(False, "--cuda-graph", help="GPU: capture and replay a CUDA graph."),
    trt_fp16: bool = typer.Option(False, "--trt-fp16", help="TensorRT: allow fp16 kernels."),
    provider_option: List[str] = typer.Option(
        None, "--provider-option", metavar="KEY=VALUE",
        help="An option of the provider --provider names, as onnxruntime spells it (repeatable), "
             "e.g. prefer_nhwc=1, cudnn_conv_algo_search=HEURISTIC."),
    sets: List[str] = set_option(),
    input_shape: str = input_option(),
):
    """Time inference on onnxruntime: session creation, first inference, warm-up, then timed runs."""
    for module in ("numpy", "onnx", "onnxruntime"):
        import_extra(module, "bench", "bench")
    from .. import bench as lib
    from ..bench import report as render_bench

    try:
        settings = lib.Settings(
            provider=provider.value, batches=parse_batches(batch), warmup=warmup, runs=runs,
            duration=duration, threads=threads, dtype=dtype.value if dtype else None,
            include_transfers=include_transfers, cuda_graph=cuda_graph, trt_fp16=trt_fp16,
            profile=str(profile) if profile else None, allow_fallback=allow_fallback,
            peak_tflops=peak_tflops, provider_options=parse_provider_options(provider_option or []))
    except ValueError as e:
        fail_usage(str(e))
    if not file.exists():
        fail_usage(f"no such file: {file}")
    if profile is not None and not profile.parent.is_dir():
        fail_usage(f"--profile: no such folder: {profile.parent}")
    suffix = file.suffix.lower()
    overrides = overrides_or_exit(sets, input_shape)
    if suffix == ".onnx" and (sets or input_shape is not None):
        fail_usage("--set and --input apply to a .yaml file; an .onnx file is benchmarked as it is")
    notes = []
    try:
        if suffix in (".yaml", ".yml"):
            network = load_or_exit(file, overrides)
            model = lib.build_network(network, settings.dtype)
        elif suffix == ".onnx":
            model = lib.read_onnx(file)
            network, note = lib.onnx_counts(file)     # netc's reading, for achieved FLOP/s
            notes += [note] if note else []
        else:
            fail_usage(f"{file}: expected a .yaml or .onnx file")
        with _progress_bar(settings) as progress:
            report = lib.bench(model, settings, name=str(file), network=network, progress=progress,
                               finished=None if progress else _finished_line, notes=notes)
    except lib.ProviderUnavailable as e:
        typer.echo(f"netc: error: {e.asked} did not load: {e.reason}. Use --allow-fallback to run on "
                   f"{e.used}, or --provider cpu.", err=True)
        raise typer.Exit(1) from None
    except lib.BenchError as e:
        typer.echo(f"netc: error: {safe_text(e)}", err=True)
        raise typer.Exit(1) from None
    if report.session.fallback and settings.provider != "auto":
        typer.echo(f"netc: warning: {safe_text(report.session.fallback)}", err=True)
    sys.stdout.write(render_bench.FORMATS[format.value](report))


def _finished_line(row) -> None:
    """Without a terminal (no progress bar), one line on stderr per finished batch size."""
    typer.echo(f"netc bench: batch {row.batch} done: median {row.latency.median * 1e3:.3f} ms, "
               f"{row.throughput:,.1f} samples/s ({row.runs} runs)", err=True)


class _progress_bar:
    """A rich progress bar on stderr while the timed runs go, when stderr is a terminal."""

    def __init__(self, settings):
        self.settings = settings
        self.bar = None
        self.tasks = {}

    def __enter__(self):
        from rich.console import Console

        console = Console(stderr=True)
        if not console.is_terminal:
            return None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(TextColumn("batch {task.fields[batch]:>5} {task.fields[phase]}"), BarColumn(),
                            MofNCompleteColumn(), TimeElapsedColumn(), console=console, transient=True)
        self.bar.start()
        return self.update

    def update(self, batch: int, phase: str, done: int, total) -> None:
        key = (batch, phase)
        if key not in self.tasks:
            for other in [k for k in self.tasks if k[0] == batch]:
                self.bar.remove_task(self.tasks.pop(other))
            timed_by_duration = isinstance(total, float)
            label = f"{phase} ({total:g} s)" if timed_by_duration else phase
            self.tasks[key] = self.bar.add_task("", batch=batch, phase=label,
                                                total=None if timed_by_duration else total)
        self.bar.update(self.tasks[key], completed=done)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()
        return False
