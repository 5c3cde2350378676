"""Inference timing on onnxruntime: the library behind ``netc bench``.

``protocol.py``: settings, results, statistics and the timed loop (pure Python);
``sessions.py``: models, providers, inputs and the protocol run on a session;
``report.py``: the text and JSON renderers. Importing this package imports
neither onnxruntime nor numpy.
"""

from .protocol import (DEFAULT_RUNS, DTYPE_BYTES, GPU_PROVIDERS, PROVIDERS, BatchResult, BenchError,
                       Progress, ProviderUnavailable, Report, SessionInfo, Settings, Stats, Work, achieved,
                       percentile, summarize, throughput, time_loop, work_from_analysis)
from .sessions import (bench, bench_batch, build_network, concrete_shape, device_info, explain_failure,
                       gpu_visible, load_model, make_inputs, model_input_dtypes, onnx_counts, open_session, provider_chain,
                       read_onnx)

__all__ = ["DEFAULT_RUNS", "DTYPE_BYTES", "GPU_PROVIDERS", "PROVIDERS", "BatchResult", "BenchError", "Progress",
           "ProviderUnavailable", "Report", "SessionInfo", "Settings", "Stats", "Work", "achieved", "bench",
           "bench_batch", "build_network", "concrete_shape", "device_info", "explain_failure", "gpu_visible", "load_model",
           "make_inputs", "model_input_dtypes", "onnx_counts", "open_session", "percentile", "provider_chain",
           "read_onnx", "summarize", "throughput", "time_loop", "work_from_analysis"]
