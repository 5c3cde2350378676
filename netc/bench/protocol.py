"""The protocol and statistics of ``netc bench``: settings, results, pure statistics, the timed loop.

The protocol follows trtexec and onnxruntime_perf_test, per batch size:

1. session creation (graph optimisation, provider set-up, TensorRT engine
   build) is timed once and reported apart;
2. the first inference at a batch size is timed alone (it allocates, and on
   TensorRT may build an engine for the new shape);
3. ``warmup`` further inferences are run and their total time reported;
4. the timed runs: ``runs`` inferences, or as many as fit in ``duration``
   seconds. Each inference is timed on its own with ``time.perf_counter_ns``;
   ``wall`` is the time of the whole timed loop, and
   throughput = batch * runs / wall (samples per second).

On a GPU provider, inputs and outputs are bound on the device (IOBinding), so
the timed runs exclude host<->device copies; ``include_transfers`` adds a
second timed loop that copies the inputs in (H2D), runs, and copies the outputs
out (D2H), and reports each part and the end-to-end total, as trtexec does.

Statistics (``summarize``) are pure functions of the per-run times:
min, max, mean, median, p90, p95, p99 and the population standard deviation
(ddof = 0, numpy's default). Percentiles use linear interpolation between
closest ranks, numpy's default method: for sorted times x[0..n-1] and
q in [0, 100], rank r = (n - 1) * q / 100 and
p_q = x[floor(r)] + (r - floor(r)) * (x[floor(r) + 1] - x[floor(r)]).

Achieved work comes from netc's own counts (``Work``), never from the runtime:

    flops(batch)     = batch * analysis.totals.flops
    bytes(batch)     = params * size + batch * (input + every layer output) * size
    intensity        = flops(batch) / bytes(batch)            (FLOP per byte)
    achieved FLOP/s  = flops per sample * throughput
    fraction of peak = achieved FLOP/s / (peak_tflops * 10**12)

``bytes`` is the compulsory traffic of one batch: every parameter (buffers
included) read once and every tensor (the input and each layer's output)
moved once; real DRAM traffic is higher when tensors do not stay in cache.

This module imports neither onnxruntime nor numpy; sessions.py runs the protocol
on an onnxruntime session, report.py renders a Report.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Sequence

PROVIDERS = {
    "tensorrt": "TensorrtExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "cpu": "CPUExecutionProvider",
}
GPU_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider")
GPU_NAMES = ("tensorrt", "cuda")
DTYPE_BYTES = {"float32": 4, "float16": 2}
DEFAULT_RUNS = 100
PROGRESS_INTERVAL_NS = 100_000_000   # report progress at most every 0.1 s from the timed loop


class BenchError(Exception):
    """Invalid input: a file that is not a usable model, a shape that cannot run."""


class ProviderUnavailable(Exception):
    """The execution provider asked for did not load."""

    def __init__(self, asked: str, used: str, reason: str):
        self.asked, self.used, self.reason = asked, used, reason
        super().__init__(f"{asked} did not load: {reason}; onnxruntime would run on {used}")


# --------------------------------------------------------------------------- statistics

def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The q-th percentile (0 <= q <= 100) of sorted values, by linear interpolation
    between closest ranks: r = (n - 1) q / 100, x[floor r] + frac(r) (x[floor r + 1] - x[floor r])."""
    n = len(sorted_values)
    if n == 0:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} outside [0, 100]")
    rank = (n - 1) * q / 100
    lo = math.floor(rank)
    hi = min(lo + 1, n - 1)
    return sorted_values[lo] + (rank - lo) * (sorted_values[hi] - sorted_values[lo])


@dataclass(frozen=True)
class Stats:
    """Summary of per-run times in seconds."""

    count: int
    min: float
    mean: float
    median: float
    p90: float
    p95: float
    p99: float
    max: float
    stddev: float            # population standard deviation (ddof = 0)


def summarize(times: Sequence[float]) -> Stats:
    """Min, mean, median, p90, p95, p99, max and population stddev of ``times``."""
    if not times:
        raise ValueError("no timings to summarize")
    xs = sorted(times)
    n = len(xs)
    mean = math.fsum(xs) / n
    var = math.fsum((x - mean) ** 2 for x in xs) / n
    return Stats(n, xs[0], mean, percentile(xs, 50), percentile(xs, 90), percentile(xs, 95),
                 percentile(xs, 99), xs[-1], math.sqrt(var))


def throughput(batch: int, runs: int, wall_s: float) -> float:
    """Samples per second: batch * runs / wall."""
    if wall_s <= 0:
        raise ValueError("wall time must be positive")
    return batch * runs / wall_s


# --------------------------------------------------------------------------- work

@dataclass(frozen=True)
class Work:
    """netc's counts for one network, per sample, and the derived work of a batch."""

    flops_per_sample: int
    param_bytes: int                 # (trainable + buffers) * element size
    activation_bytes_per_sample: int  # (input + every layer output) * element size

    def flops(self, batch: int) -> int:
        return batch * self.flops_per_sample

    def bytes(self, batch: int) -> int:
        return self.param_bytes + batch * self.activation_bytes_per_sample

    def intensity(self, batch: int) -> float:
        """Arithmetic intensity, FLOP per byte of compulsory traffic."""
        return self.flops(batch) / self.bytes(batch)


def work_from_analysis(analysis, dtype: str = "float32") -> Work:
    """``Work`` from a netc Analysis for elements of ``dtype``."""
    size = DTYPE_BYTES[dtype]
    inputs = math.prod(analysis.input_shape)
    t = analysis.totals
    return Work(t.flops, t.params * size, (inputs + t.activations) * size)


def achieved(work: Work, batch: int, samples_per_s: float, peak_tflops: float | None) -> dict:
    """Achieved FLOP/s, byte/s, intensity and fraction of peak for one row."""
    flops_per_s = work.flops_per_sample * samples_per_s
    return {
        "flops_per_batch": work.flops(batch),
        "bytes_per_batch": work.bytes(batch),
        "intensity_flop_per_byte": work.intensity(batch),
        "achieved_flops_per_s": flops_per_s,
        "achieved_bytes_per_s": work.bytes(batch) / batch * samples_per_s,
        "fraction_of_peak": flops_per_s / (peak_tflops * 1e12) if peak_tflops else None,
    }


# --------------------------------------------------------------------------- settings and results

@dataclass(frozen=True)
class Settings:
    provider: str = "auto"                  # auto | tensorrt | cuda | cpu
    batches: tuple[int, ...] = (1,)
    warmup: int = 10
    runs: int | None = None                 # default DEFAULT_RUNS when duration is None
    duration: float | None = None           # seconds
    threads: int = 0                        # intra-op threads; 0 = onnxruntime's default
    dtype: str | None = None                # element type of a YAML build; .onnx keeps its own
    include_transfers: bool = False
    cuda_graph: bool = False
    trt_fp16: bool = False
    profile: str | None = None              # where to save onnxruntime's per-node profile
    allow_fallback: bool = False
    peak_tflops: float | None = None
    seed: int = 0
    provider_options: tuple[tuple[str, str], ...] = ()   # KEY=VALUE pairs for the named provider

    def __post_init__(self):
        if self.provider not in ("auto", *PROVIDERS):
            raise ValueError(f"unknown provider {self.provider!r} (auto, tensorrt, cuda, cpu)")
        if not self.batches or any(b < 1 for b in self.batches):
            raise ValueError("batch sizes must be positive integers")
        if self.runs is not None and self.duration is not None:
            raise ValueError("give --runs or --duration, not both")
        if self.runs is not None and self.runs < 1:
            raise ValueError("--runs must be at least 1")
        if self.duration is not None and not self.duration > 0:
            raise ValueError("--duration must be positive")
        if self.warmup < 0 or self.threads < 0:
            raise ValueError("--warmup and --threads must not be negative")
        if self.peak_tflops is not None and not self.peak_tflops > 0:
            raise ValueError("--peak-tflops must be positive")
        if self.dtype is not None and self.dtype not in DTYPE_BYTES:
            raise ValueError(f"unknown dtype {self.dtype!r} ({', '.join(DTYPE_BYTES)})")
        if self.provider_options and self.provider not in GPU_NAMES:
            raise ValueError("--provider-option needs --provider cuda or tensorrt: it sets an option "
                             "of the provider named there")

    @property
    def timed_runs(self) -> int | None:
        return DEFAULT_RUNS if self.runs is None and self.duration is None else self.runs


@dataclass
class SessionInfo:
    asked: str                      # auto | tensorrt | cuda | cpu
    requested: list[str]            # the provider list handed to onnxruntime
    providers: list[str]            # session.get_providers() after creation
    create_s: float
    fallback: str | None = None     # why the asked provider is not the one in use
    options: dict = field(default_factory=dict)   # the provider's options as onnxruntime applied them

    @property
    def provider(self) -> str:
        return self.providers[0]

    @property
    def on_gpu(self) -> bool:
        return self.provider in GPU_PROVIDERS


@dataclass
class BatchResult:
    batch: int
    first_inference_s: float
    warmup_runs: int
    warmup_s: float
    runs: int
    wall_s: float
    latency: Stats
    throughput: float                          # samples per second
    transfers: dict[str, Stats] | None = None  # h2d, compute, d2h, total; GPU with include_transfers
    transfers_wall_s: float | None = None
    work: dict | None = None
    session_create_s: float | None = None      # set when this batch had its own session


@dataclass
class Report:
    model: str
    network: str | None
    session: SessionInfo
    settings: Settings
    results: list[BatchResult]
    device: dict
    versions: dict
    notes: list[str] = field(default_factory=list)
    profile: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        d = {
            "schema_version": 2,
            "model": self.model,
            "network": self.network,
            "versions": self.versions,
            "device": self.device,
            "provider": {
                "asked": self.session.asked,
                "used": self.session.provider,
                "session_providers": self.session.providers,
                "fallback": self.session.fallback,
                "options": self.session.options,
            },
            "settings": asdict(self.settings) | {"batches": list(self.settings.batches),
                                                 "provider_options": dict(self.settings.provider_options),
                                                 "timed_runs": self.settings.timed_runs},
            "session_create_s": self.session.create_s,
            "statistics": "seconds; percentiles by linear interpolation (numpy default); "
                          "stddev is the population standard deviation; throughput = batch * runs / wall",
            "results": [asdict(r) for r in self.results],
            "notes": self.notes,
            "profile": self.profile,
        }
        return d


# --------------------------------------------------------------------------- timing

Progress = Callable[[int, str, int, "int | float"], None]   # (batch, phase, done, total)


def time_loop(call: Callable[[], object], runs: int | None, duration: float | None,
              progress: Callable[[int], None] | None = None) -> tuple[list[float], float]:
    """Call ``call`` ``runs`` times, or until ``duration`` seconds have passed; return
    (per-call seconds, wall seconds of the whole loop). Progress is reported at most every 0.1 s."""
    clock = time.perf_counter_ns
    times: list[int] = []
    record = times.append
    next_report = clock() + PROGRESS_INTERVAL_NS
    if runs is not None:
        start = clock()
        for i in range(runs):
            t0 = clock()
            call()
            t1 = clock()
            record(t1 - t0)
            if progress is not None and t1 >= next_report:
                progress(i + 1)
                next_report = t1 + PROGRESS_INTERVAL_NS
        wall = clock() - start
    else:
        start = clock()
        deadline = start + int(duration * 1e9)
        t1 = start
        while t1 < deadline:
            t0 = clock()
            call()
            t1 = clock()
            record(t1 - t0)
            if progress is not None and t1 >= next_report:
                progress(len(times))
                next_report = t1 + PROGRESS_INTERVAL_NS
        wall = clock() - start
    if progress is not None:
        progress(len(times))
    return [t / 1e9 for t in times], wall / 1e9
