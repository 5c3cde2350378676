"""Sessions of ``netc bench``: models in, providers, inputs, the per-batch protocol on a session.

onnxruntime and numpy are imported inside the functions that need them, so
that importing this module stays cheap.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Sequence

from .protocol import (DTYPE_BYTES, GPU_PROVIDERS, PROVIDERS, BatchResult, BenchError, Progress,
                       ProviderUnavailable,
                       Report, SessionInfo, Settings, Stats, Work, achieved, summarize, throughput,
                       time_loop, work_from_analysis)


# --------------------------------------------------------------------------- loading

def read_onnx(path: Path) -> str:
    """FILE.onnx's path, for onnxruntime, once the file is checked to parse as an ONNX model
    (its external data unread); BenchError otherwise.

    onnxruntime is given the path, never the bytes: it then reads a model's external data
    (``netc build --external-data``: ``FILE.onnx.data``) from the model's own folder,
    whatever the current directory, and never a file of that name elsewhere."""
    import onnx
    from google.protobuf.message import DecodeError

    try:
        data = path.read_bytes()
    except OSError as e:
        raise BenchError(f"{path}: cannot read: {e.strerror or e}") from None
    try:
        model = onnx.load_model_from_string(data)
    except (DecodeError, ValueError, RuntimeError) as e:
        raise BenchError(f"{path}: not a valid ONNX model ({e or 'protobuf parse error'})") from None
    if not model.graph.node or not model.graph.input:
        raise BenchError(f"{path}: not a valid ONNX model (no graph)")
    return str(path)


def build_network(network, dtype: str | None = None) -> bytes:
    """Compile a netc Network to ONNX bytes with ``netc build``'s builder."""
    try:
        from ..onnx.build import build_model
    except ImportError:
        raise BenchError("benchmarking a .yaml file needs netc's ONNX builder (netc.onnx.build), "
                         "which this installation lacks; give an .onnx file instead") from None
    return build_model(network, dtype=dtype or "float32").SerializeToString()


def onnx_counts(path: Path):
    """(Network, None) when netc reads every op of FILE.onnx, so that its FLOPs and bytes
    give the achieved FLOP/s; else (None, a note saying why the columns are left out):
    counts of a model read in part would be lower bounds."""
    from ..api import load
    from ..diagnostics import NetcError
    from ..graph import UNREAD_TYPES_SHOWN

    try:
        network = load(path, partial=True)
    except NetcError as e:
        return None, f"achieved FLOP/s left out: netc cannot read this model ({e.diagnostics[0].message})"
    unread = network.graph.unread
    if unread is not None:
        types = list(network.graph.unread_ops)
        ops = ", ".join(types[:UNREAD_TYPES_SHOWN]) or "some nodes"
        if len(types) > UNREAD_TYPES_SHOWN:
            ops += f" and {len(types) - UNREAD_TYPES_SHOWN:,} more op types"
        return None, f"achieved FLOP/s left out: netc does not read every op of this model ({ops}; " \
                     "netc summary shows what it reads), so its counts would be lower bounds"
    return network, None


def load_model(path: Path, dtype: str | None = None):
    """Read FILE.onnx, or load FILE.yaml with netc and build it; return (the model's path or
    bytes, Network or None):
    the Network of an .onnx file is netc's reading of it, when it reads every op.

    Raises BenchError for a file that is not a model, NetcError for an invalid YAML."""
    suffix = path.suffix.lower()
    if suffix == ".onnx":
        return read_onnx(path), onnx_counts(path)[0]
    if suffix in (".yaml", ".yml"):
        from ..api import load

        network = load(path)
        return build_network(network, dtype), network
    raise BenchError(f"{path}: expected a .yaml or .onnx file")


# --------------------------------------------------------------------------- providers

def gpu_visible() -> bool:
    """False where no NVIDIA GPU can be there: Linux without /dev/nvidiactl."""
    return not sys.platform.startswith("linux") or os.path.exists("/dev/nvidiactl")


def provider_chain(asked: str, available: Sequence[str], gpu: bool = True) -> list[str]:
    """The providers handed to onnxruntime, best first.

    auto takes TensorRT, then CUDA, then CPU among those the installed onnxruntime
    offers (the CPU alone where ``gpu`` is False: no GPU to try, nothing to say about
    it); a named provider is tried first with the CPU (and CUDA under TensorRT)
    behind it for the nodes it does not take."""
    if asked == "auto":
        return [p for p in (*GPU_PROVIDERS, "CPUExecutionProvider") if p in available
                and (gpu or p not in GPU_PROVIDERS)] or ["CPUExecutionProvider"]
    if asked == "tensorrt":
        return [p for p in GPU_PROVIDERS if p in available or p == PROVIDERS["tensorrt"]] + \
            ["CPUExecutionProvider"]
    if asked == "cuda":
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def explain_failure(provider: str, log: str, available: Sequence[str], version: str) -> str:
    """One line saying why ``provider`` did not load, from onnxruntime's captured log."""
    log = _ANSI.sub("", log)
    reasons = []
    if provider not in available:
        reasons.append(f"this onnxruntime {version} build has no {provider} "
                       f"(it offers {', '.join(available)})")
    if sys.platform.startswith("linux") and not os.path.exists("/dev/nvidiactl"):
        reasons.append("no NVIDIA GPU visible (/dev/nvidiactl absent)")
    lib = {"CUDAExecutionProvider": "cuda", "TensorrtExecutionProvider": "tensorrt"}.get(provider)
    missing = re.findall(rf"libonnxruntime_providers_{lib}\.\w+ with error: ([^\n]+)", log) if lib else []
    reasons += dict.fromkeys(m.strip() for m in missing)
    if provider == "CUDAExecutionProvider" or (provider == "TensorrtExecutionProvider" and missing):
        need = re.search(r"Require (.+?)\. Please", log)
        if need:
            reasons.append(f"onnxruntime {version} requires {need.group(1)}")
    for pattern in (r"CUDA failure \d+: [^;\n]+", r"no CUDA-capable device is detected",
                    r"CUDA driver version is insufficient[^\n;]*", r"Please install TensorRT libraries"):
        m = re.search(pattern, log)
        if m and m.group(0) not in reasons and (lib == "tensorrt" or "TensorRT" not in m.group(0)):
            reasons.append(m.group(0).strip())
    return "; ".join(reasons) or "onnxruntime gave no reason"


@contextlib.contextmanager
def _captured_output():
    """Send file descriptors 1 and 2 (onnxruntime's native logger) and Python's
    stdout/stderr to a buffer for the duration; yield a list that receives the text."""
    captured: list[str] = []
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved = [os.dup(1), os.dup(2)]
    text = io.StringIO()
    with tempfile.TemporaryFile() as tmp:
        try:
            os.dup2(tmp.fileno(), 1)
            os.dup2(tmp.fileno(), 2)
            with contextlib.redirect_stdout(text), contextlib.redirect_stderr(text):
                yield captured
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            tmp.seek(0)
            captured.append(tmp.read().decode("utf-8", "replace") + text.getvalue())


def _provider_options(name: str, s: Settings) -> dict:
    """The options handed to provider ``name``: netc's flags, then ``--provider-option``
    KEY=VALUE pairs, which go to the provider ``--provider`` names."""
    opts = {}
    if name == "CUDAExecutionProvider" and s.cuda_graph:
        opts["enable_cuda_graph"] = "1"
    if name == "TensorrtExecutionProvider":
        if s.trt_fp16:
            opts["trt_fp16_enable"] = "1"
        if s.cuda_graph:
            opts["trt_cuda_graph_enable"] = "1"
    if PROVIDERS.get(s.provider) == name:
        opts.update(s.provider_options)
    return opts


def open_session(model: bytes | str, s: Settings, profile_prefix: str | None = None):
    """Create an onnxruntime session on the providers ``s.provider`` asks for, for ``model``:
    ONNX bytes (a built .yaml) or a path (an .onnx file, whose external data onnxruntime
    then finds beside it).

    Returns (session, SessionInfo). Raises ProviderUnavailable when a named provider
    did not load and fallback is not allowed, BenchError when onnxruntime refuses the model."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    chain = provider_chain(s.provider, available, gpu_visible())
    options = ort.SessionOptions()
    options.log_severity_level = 3          # errors only once the session exists
    if s.threads:
        options.intra_op_num_threads = s.threads
    if profile_prefix:
        options.enable_profiling = True
        options.profile_file_prefix = profile_prefix
    with _captured_output() as log:
        if any(p in GPU_PROVIDERS for p in chain) and hasattr(ort, "preload_dlls"):
            try:
                ort.preload_dlls()
            except Exception as e:  # noqa: BLE001 - preloading is best effort; the session tells
                print(f"preload_dlls: {e}")
        start = time.perf_counter()
        try:
            session = ort.InferenceSession(model, options, providers=[
                (p, _provider_options(p, s)) for p in chain])
            error = None
        except Exception as e:  # noqa: BLE001 - onnxruntime raises its own pybind exception types
            error = e
        create_s = time.perf_counter() - start
    if error is not None:
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        message = re.sub(r"^\[ONNXRuntimeError\] : \d+ : \w+ : ", "", message)
        message = re.sub(r"^/\S+\.(cc|h|cpp):\d+ .*?\)\s+(?=[A-Z])", "", message)   # C++ location
        if s.provider_options and "provider option" in message.lower():
            raise BenchError(f"--provider-option: {message}")
        raise BenchError(f"onnxruntime cannot load the model: {message}")
    used = session.get_providers()
    info = SessionInfo(s.provider, chain, used, create_s)
    try:
        info.options = dict(session.get_provider_options().get(used[0], {}))
    except Exception:  # noqa: BLE001 - an older onnxruntime without get_provider_options
        info.options = {}
    wanted = chain[0] if s.provider != "auto" else None
    if wanted and used[0] != wanted:
        reason = explain_failure(wanted, log[0], available, ort.__version__)
        if not s.allow_fallback:
            raise ProviderUnavailable(wanted, used[0], reason)
        info.fallback = f"{wanted} did not load ({reason}); running on {used[0]}"
    elif s.provider == "auto" and used[0] != chain[0]:
        skipped = chain[:chain.index(used[0])] if used[0] in chain else chain
        info.fallback = "auto: " + "; ".join(
            f"{p} did not load ({explain_failure(p, log[0], available, ort.__version__)})"
            for p in skipped) + f"; running on {used[0]}"
    return session, info


# --------------------------------------------------------------------------- inputs

_NUMPY_TYPES = {"tensor(float)": "float32", "tensor(float16)": "float16", "tensor(double)": "float64",
                "tensor(int64)": "int64", "tensor(int32)": "int32", "tensor(int8)": "int8",
                "tensor(uint8)": "uint8", "tensor(bool)": "bool"}


def concrete_shape(name: str, shape: Sequence, batch: int, what: str = "input") -> tuple[int, ...]:
    """The shape of ``name`` at ``batch``: the first dimension is the batch; all others must be fixed."""
    if not shape:
        raise BenchError(f"{what} '{name}' is a scalar; netc bench needs a batch dimension")
    first, *rest = shape
    if isinstance(first, int) and first != batch:
        raise BenchError(f"{what} '{name}' has a fixed batch of {first}; it cannot run batch {batch} "
                         "(build the model with a dynamic batch dimension)")
    for d in rest:
        if not isinstance(d, int):
            raise BenchError(f"{what} '{name}' has a symbolic dimension {d!r} besides the batch")
    return (batch, *rest)


def make_inputs(session, batch: int, seed: int = 0) -> dict:
    """Random inputs for every model input at ``batch`` (normal for floats, small integers otherwise)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    feeds = {}
    for inp in session.get_inputs():
        if inp.type not in _NUMPY_TYPES:
            raise BenchError(f"input '{inp.name}' has type {inp.type}, which netc bench cannot generate")
        dtype = np.dtype(_NUMPY_TYPES[inp.type])
        shape = concrete_shape(inp.name, inp.shape, batch)
        if dtype.kind == "f":
            feeds[inp.name] = rng.standard_normal(shape).astype(dtype)
        else:
            feeds[inp.name] = rng.integers(0, 2, shape).astype(dtype)
    return feeds


def model_input_dtypes(session) -> list[str]:
    return [_NUMPY_TYPES.get(i.type, i.type) for i in session.get_inputs()]


class _Runner:
    """How one batch is executed: plain ``session.run`` on the CPU, IOBinding on a GPU."""

    def __init__(self, session, info: SessionInfo, feeds: dict, batch: int, s: Settings):
        self.session, self.feeds = session, feeds
        self.gpu = info.on_gpu
        if not self.gpu:
            run = session.run
            self.call = lambda: run(None, feeds)
            return
        import numpy as np
        import onnxruntime as ort

        binding = session.io_binding()
        self.device_inputs = {}
        for name, x in feeds.items():
            value = ort.OrtValue.ortvalue_from_numpy(x, "cuda", 0)
            binding.bind_ortvalue_input(name, value)
            self.device_inputs[name] = value
        for out in session.get_outputs():
            if s.cuda_graph:   # CUDA graphs replay fixed addresses: outputs must be pre-allocated
                dtype = np.dtype(_NUMPY_TYPES.get(out.type, "float32"))
                shape = concrete_shape(out.name, out.shape, batch, "output")
                binding.bind_ortvalue_output(out.name,
                                             ort.OrtValue.ortvalue_from_shape_and_type(shape, dtype.type, "cuda", 0))
            else:
                binding.bind_output(out.name, "cuda", 0)
        self.binding = binding
        run = session.run_with_iobinding
        self.call = lambda: run(binding)

    def transfers(self, runs: int | None, duration: float | None) -> tuple[dict[str, Stats], float]:
        """Time H2D input copies, the run and D2H output copies, each and together."""
        clock = time.perf_counter_ns
        parts: dict[str, list[int]] = {"h2d": [], "compute": [], "d2h": [], "total": []}
        host = [(self.device_inputs[n], x) for n, x in self.feeds.items()]
        run, binding = self.session.run_with_iobinding, self.binding
        start = clock()
        deadline = start + int(duration * 1e9) if duration else None
        i = 0
        while (runs is not None and i < runs) or (deadline is not None and clock() < deadline):
            t0 = clock()
            for value, x in host:
                value.update_inplace(x)
            t1 = clock()
            run(binding)
            t2 = clock()
            binding.copy_outputs_to_cpu()
            t3 = clock()
            for key, dt in (("h2d", t1 - t0), ("compute", t2 - t1), ("d2h", t3 - t2), ("total", t3 - t0)):
                parts[key].append(dt)
            i += 1
        wall = (clock() - start) / 1e9
        return {k: summarize([t / 1e9 for t in v]) for k, v in parts.items()}, wall


def bench_batch(session, info: SessionInfo, batch: int, s: Settings, work: Work | None = None,
                progress: Progress | None = None) -> BatchResult:
    """Run the protocol for one batch size on an open session."""
    feeds = make_inputs(session, batch, s.seed)
    runner = _Runner(session, info, feeds, batch, s)
    call = runner.call
    t0 = time.perf_counter()
    try:
        call()
    except BenchError:
        raise
    except Exception as e:  # noqa: BLE001 - onnxruntime's runtime errors become one line
        raise BenchError(f"inference failed at batch {batch}: {str(e).strip().splitlines()[0]}") from None
    first = time.perf_counter() - t0
    if progress:
        progress(batch, "warm-up", 0, s.warmup)
    t0 = time.perf_counter()
    for _ in range(s.warmup):
        call()
    warmup_s = time.perf_counter() - t0
    total = s.timed_runs if s.timed_runs is not None else s.duration
    tick = (lambda done: progress(batch, "timed", done, total)) if progress else None
    times, wall = time_loop(call, s.timed_runs, s.duration, tick)
    rate = throughput(batch, len(times), wall)
    result = BatchResult(batch, first, s.warmup, warmup_s, len(times), wall, summarize(times), rate)
    if s.include_transfers and runner.gpu:
        result.transfers, result.transfers_wall_s = runner.transfers(s.timed_runs, s.duration)
    if work is not None:
        result.work = achieved(work, batch, rate, s.peak_tflops)
    return result


def bench(model: bytes | str, s: Settings, *, name: str = "model", network=None,
          progress: Progress | None = None, finished=None, notes: Sequence[str] = ()) -> Report:
    """Benchmark ``model`` (ONNX bytes, or an .onnx file's path) at every batch size of ``s``; ``network`` (a netc
    Network) supplies the FLOP and byte counts; ``finished(row)`` is called with each
    batch size's ``BatchResult`` as it completes; ``notes`` go into the report."""
    prefix = _profile_prefix(s.profile) if s.profile else None
    try:
        return _bench(model, s, name, network, progress, prefix, finished, list(notes))
    except BenchError as e:
        raise BenchError(f"{name}: {e}") from None


def _bench(model, s, name, network, progress, prefix, finished=None, notes=None) -> Report:
    import onnxruntime as ort

    from .. import __version__

    per_batch_sessions = s.cuda_graph    # a captured CUDA graph is tied to one input shape
    session, info = open_session(model, s, prefix)
    notes = notes or []
    if info.fallback:
        notes.append(info.fallback)
    if not info.on_gpu and (s.include_transfers or s.cuda_graph or s.trt_fp16):
        notes.append("--include-transfers, --cuda-graph and --trt-fp16 apply to GPU providers; "
                     f"ignored on {info.provider}")
        s = replace(s, include_transfers=False, cuda_graph=False, trt_fp16=False)
        per_batch_sessions = False
    if s.profile:
        notes.append("profiling was on: timings include the profiler's overhead")
    kinds = set(model_input_dtypes(session))
    if s.dtype and kinds != {s.dtype}:       # a .yaml is built with s.dtype: only an .onnx can differ
        raise BenchError(f"--dtype {s.dtype}: the model's inputs are {', '.join(sorted(kinds))}; "
                         "an .onnx file keeps the types it was built with")
    # the element size of netc's byte counts: the asked dtype, else the model's one input type
    (kind,) = kinds if len(kinds) == 1 else ("float32",)
    dtype = s.dtype or (kind if kind in DTYPE_BYTES else "float32")
    if network is None and not any(n.startswith("achieved FLOP/s") for n in notes):
        notes.append("achieved FLOP/s needs netc's counts, which were not given")
    work = work_from_analysis(network.analysis, dtype) if network is not None else None
    results, profiles = [], []
    for i, batch in enumerate(s.batches):
        if per_batch_sessions and i > 0:
            profiles += _end_profile(session, s.profile, len(profiles))
            session, other = open_session(model, s, prefix)
        row = bench_batch(session, info, batch, s, work, progress)
        if per_batch_sessions:
            row.session_create_s = info.create_s if i == 0 else other.create_s
        results.append(row)
        if finished is not None:
            finished(row)
    profiles += _end_profile(session, s.profile, len(profiles))
    return Report(name, network.name if network is not None else None, info, s, results,
                  device_info(info), {"netc": __version__, "onnxruntime": ort.__version__,
                                      **onnxruntime_build(), "python": sys.version.split()[0]},
                  notes, profiles)


def _profile_prefix(out: str) -> str:
    out_path = Path(out)
    return str(out_path.parent / f".{out_path.name}.netc-profile")


def _end_profile(session, out: str | None, index: int) -> list[str]:
    """Stop profiling and move onnxruntime's file to ``out`` (``out``-N for later sessions)."""
    if not out:
        return []
    written = session.end_profiling()
    target = Path(out)
    if index:
        target = target.with_name(f"{target.stem}-{index}{target.suffix}")
    os.replace(written, target)   # same folder as the prefix: an atomic rename
    return [str(target)]


# --------------------------------------------------------------------------- device

def device_info(info: SessionInfo) -> dict:
    """CPU model, core count and, on a GPU provider, the GPU from nvidia-smi (``parse_nvidia_smi``)."""
    import platform

    d = {"cpu": _cpu_model(), "cpu_count": os.cpu_count(), "platform": platform.platform(), "gpu": None}
    if info.on_gpu:
        d["gpu"] = _nvidia_smi()
    return d


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


_SMI_QUERY = "name,driver_version,memory.total,compute_cap"


def parse_nvidia_smi(query_csv: str, banner: str = "") -> dict | None:
    """The first GPU of ``nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap
    --format=csv,noheader,nounits``, with the CUDA version the driver supports read from
    the banner of plain ``nvidia-smi`` ("CUDA Version: 13.0"); None when there is no row."""
    rows = [line for line in query_csv.strip().splitlines() if line.strip()]
    if not rows:
        return None
    cells = [c.strip() for c in rows[0].split(",")]
    cells += [""] * (4 - len(cells))
    name, driver, memory, capability = cells[:4]
    cuda = re.search(r"CUDA Version:\s*([\d.]+)", banner)
    known = lambda v: v if v and not v.startswith("[") else None   # "[N/A]", "[Not Supported]"
    return {"name": name, "driver": known(driver),
            "memory_mib": int(memory) if memory.isdigit() else None,
            "compute_capability": known(capability),
            "driver_cuda": cuda.group(1) if cuda else None, "count": len(rows)}


def _nvidia_smi() -> dict | None:
    import subprocess

    def smi(*args: str) -> str:
        try:
            out = subprocess.run(["nvidia-smi", *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return ""
        return out.stdout if out.returncode == 0 else ""

    query = smi(f"--query-gpu={_SMI_QUERY}", "--format=csv,noheader,nounits")
    if not query:   # drivers older than 510 lack compute_cap
        query = smi("--query-gpu=name,driver_version,memory.total", "--format=csv,noheader,nounits")
    return parse_nvidia_smi(query, smi())


def onnxruntime_build() -> dict:
    """The CUDA version onnxruntime was built with ({} for a CPU build)."""
    try:
        from onnxruntime.capi import build_and_package_info as build
    except ImportError:
        return {}
    cuda = getattr(build, "cuda_version", None)
    return {"onnxruntime_package": getattr(build, "package_name", None),
            "onnxruntime_cuda": cuda} if cuda else {}
