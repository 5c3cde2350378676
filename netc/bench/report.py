"""Renderers for ``netc bench`` reports: a text table and JSON. Computing lives in protocol.py and sessions.py."""

from __future__ import annotations

import json

from ..safe_text import safe_json, safe_text
from .protocol import Report, Stats


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f}"


def _si(value: float, unit: str) -> str:
    for prefix, size in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= size:
            return f"{value / size:.2f} {prefix}{unit}"
    return f"{value:.2f} {unit}"


def _table(headers: list[str], rows: list[list[str]], left: int = 0) -> list[str]:
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]

    def line(cells):
        return "  ".join(c.ljust(w) if i < left else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    rule = "-" * len(line(headers))
    return [rule, line(headers), rule, *(line(r) for r in rows), rule]


def _stats_cells(s: Stats) -> list[str]:
    return [_ms(s.min), _ms(s.median), _ms(s.mean), _ms(s.p90), _ms(s.p95), _ms(s.p99), _ms(s.max),
            _ms(s.stddev)]


def _gpu_line(gpu: dict, versions: dict) -> str:
    """'NVIDIA H100 80GB HBM3 (sm 9.0, 81559 MiB), driver 580.159.04 (CUDA 13.0); onnxruntime built for CUDA 13.0'."""
    extra = ", ".join(x for x in (gpu.get("compute_capability") and f"sm {gpu['compute_capability']}",
                                  gpu.get("memory_mib") and f"{gpu['memory_mib']} MiB") if x)
    line = gpu["name"] + (f" ({extra})" if extra else "")
    if gpu.get("driver"):
        line += f", driver {gpu['driver']}" + (f" (CUDA {gpu['driver_cuda']})" if gpu.get("driver_cuda") else "")
    if versions.get("onnxruntime_cuda"):
        line += f"; onnxruntime built for CUDA {versions['onnxruntime_cuda']}"
    return line


# the provider options worth a reader's eye: the ones that change which kernels run
_SHOWN_OPTIONS = ("cudnn_conv_algo_search", "use_tf32", "prefer_nhwc", "enable_cuda_graph",
                  "cudnn_conv_use_max_workspace", "trt_fp16_enable", "trt_cuda_graph_enable")


def _options(options: dict) -> str:
    return ", ".join(f"{k}={options[k]}" for k in _SHOWN_OPTIONS if k in options) or "defaults"


def text(r: Report) -> str:
    s, info = r.settings, r.session
    where = safe_text(f"{r.network} ({r.model})" if r.network else r.model)
    device = _gpu_line(r.device["gpu"], r.versions) if r.device.get("gpu") else \
        f"{r.device.get('cpu')}, {r.device.get('cpu_count')} CPUs"
    plan = (f"{s.timed_runs} timed runs" if s.timed_runs is not None else f"timed runs for {s.duration:g} s")
    out = [
        f"netc bench  {where}",
        f"provider    {info.provider} (asked: {info.asked})    onnxruntime {r.versions['onnxruntime']}"
        f"    netc {r.versions['netc']}",
        f"device      {device}",
        f"session     created in {info.create_s * 1e3:.1f} ms",
        *([f"options     {_options(info.options)}"] if info.on_gpu and info.options else []),
        f"protocol    first inference, {s.warmup} warm-up runs, {plan} per batch; "
        f"threads {s.threads or 'default'}; "
        + ("inputs and outputs bound on the device (copies not timed)" if info.on_gpu
           else "inputs in host memory"),
        "latency in ms; percentiles by linear interpolation; std = population standard deviation",
    ]
    headers = ["batch", "first", "warm-up", "runs", "min", "median", "mean", "p90", "p95", "p99", "max",
               "std", "samples/s"]
    has_work = any(row.work for row in r.results)
    has_peak = any(row.work and row.work["fraction_of_peak"] is not None for row in r.results)
    if has_work:
        headers += ["FLOP/s", "FLOP/B"] + (["% peak"] if has_peak else [])
    rows = []
    for row in r.results:
        cells = [str(row.batch), _ms(row.first_inference_s), _ms(row.warmup_s), str(row.runs),
                 *_stats_cells(row.latency), f"{row.throughput:,.1f}"]
        if has_work:
            w = row.work
            cells += [_si(w["achieved_flops_per_s"], "FLOP/s"), f"{w['intensity_flop_per_byte']:.1f}"]
            if has_peak:
                cells.append(f"{100 * w['fraction_of_peak']:.2f}")
        rows.append(cells)
    out += _table(headers, rows)
    transfer_rows = []
    for row in r.results:
        for part in ("h2d", "compute", "d2h", "total"):
            if row.transfers:
                transfer_rows.append([str(row.batch), part, *_stats_cells(row.transfers[part])])
    if transfer_rows:
        out.append("with transfers (--include-transfers): host-to-device, run, device-to-host, end to end")
        out += _table(["batch", "part", "min", "median", "mean", "p90", "p95", "p99", "max", "std"],
                      transfer_rows, left=2)
    if has_work:
        out.append("FLOP/s = netc's FLOPs per sample x samples/s; FLOP/B = FLOPs / (parameter bytes "
                   "+ batch x (input + layer output) bytes)")
    out += [f"note: {safe_text(n)}" for n in r.notes]
    out += [f"profile: {safe_text(p)}" for p in r.profile]
    return "\n".join(out) + "\n"


def json_text(r: Report) -> str:
    return safe_json(json.dumps(r.as_dict(), indent=2)) + "\n"


FORMATS = {"text": text, "json": json_text}
