"""``netc lint``: rules with stable codes over a loaded network (see docs/rules/).

``lint_paths`` is the library entry point the CLI calls; renderers are in
``output.py``. Importing this package imports no onnx, onnxruntime or numpy.
"""

from __future__ import annotations

from pathlib import Path

from ..diagnostics import Diagnostic, Severity
from .config import Config, ConfigCache, ConfigError
from .engine import FileResult, RuleCrash, collect_files, lint_source
from .rule import RULES, Options, Rule
from . import rules as _rules  # noqa: F401  (registers every rule)

LOAD_ERRORS = {
    "E001": "syntax: not YAML, not UTF-8, tags, aliases, duplicate keys",
    "E002": "schema: unknown key, wrong type, out of range, missing key",
    "E003": "reference: unknown op, block, layer or parameter; cycles",
    "E004": "shape: shapes that do not fit (output <= 0, kernel larger than the padded input, "
            "add/concat mismatch)",
    "E005": "limit: file too large, too many layers, numbers beyond the limits",
    "E006": "io: the file cannot be read",
    "E010": "not onnx: a binary file that is not an ONNX model",
    "E011": "unsupported: ONNX ops or graph structures netc cannot read (counted as nothing, never as zero)",
    "E012": "text: names or doc strings of an ONNX model that are not valid UTF-8 (a warning: the model is "
            "read, those bytes shown as \\xNN escapes)",
}


def known_codes() -> set[str]:
    return set(RULES) | set(LOAD_ERRORS)


def lint_file(path, config: Config | None = None, params: dict | None = None,
              input_shape=None) -> list[Diagnostic]:
    """The findings for one file (config: the defaults unless given); ``params`` and
    ``input_shape`` override the file's as in ``netc.load``."""
    cfg = config or Config()
    return lint_source(str(path), cfg.for_file(Path(path)), {"params": params, "input_shape": input_shape}).findings


def lint_paths(paths: list[Path], configs: ConfigCache, override=None,
               netc_only: bool = False, load_options: dict | None = None
               ) -> tuple[list[FileResult], list[str], list[Config]]:
    """Lint files and folders; ``override(config) -> config`` applies command-line options,
    ``load_options`` (``params``, ``input_shape``) the overrides of ``netc.load``.
    Returns the results, the paths that do not exist, and the config used for each file."""
    files, missing = collect_files(paths, netc_only)
    results, used = [], []
    for f in files:
        cfg = configs.for_path(f)
        if override is not None:
            cfg = override(cfg)
        cfg = cfg.for_file(f)
        results.append(lint_source(str(f), cfg, load_options))
        used.append(cfg)
    return results, missing, used


__all__ = ["Config", "ConfigCache", "ConfigError", "FileResult", "LOAD_ERRORS", "Options", "RULES",
           "Rule", "RuleCrash", "Severity", "known_codes", "lint_file", "lint_paths"]
