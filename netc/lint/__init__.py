"""``netc lint``: rules with stable codes over a loaded network (see docs/rules/).

``lint_paths`` is the library entry point the CLI calls; renderers are in
``output.py``. Importing this package imports no onnx, onnxruntime or numpy.
"""

from __future__ import annotations

from pathlib import Path

from ..diagnostics import Diagnostic, MissingExtra, Severity
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

# codes no lint reports, listed by ``netc rule`` beside the rules and load errors
BUILD_ERRORS = {
    "E007": "build: the ONNX model cannot be built (netc build only: ONNX shape inference disagrees "
            "with netc, or the runtime refuses the model)",
}


def known_codes() -> set[str]:
    return set(RULES) | set(LOAD_ERRORS)


def lint_file(path, config: Config | None = None, params: dict | None = None,
              input_shape=None) -> list[Diagnostic]:
    """The findings for one file (config: the defaults unless given); ``params`` and
    ``input_shape`` override the file's as in ``netc.load``."""
    cfg = config or Config()
    return lint_source(str(path), cfg.for_file(Path(path)), {"params": params, "input_shape": input_shape}).findings


STDIN = Path("-")


def lint_paths(paths: list[Path], configs: ConfigCache, override=None,
               netc_only: bool = False, load_options: dict | None = None,
               stdin: tuple[str, bytes] | None = None
               ) -> tuple[list[FileResult], list[str], list[Config]]:
    """Lint files and folders; ``override(config) -> config`` applies command-line options,
    ``load_options`` (``params``, ``input_shape``) the overrides of ``netc.load``;
    ``stdin``: (name, bytes) of the netc file the path ``-`` stands for.
    Returns the results, the paths that do not exist, and the config used for each file.

    An ONNX model found in a folder without the onnx extra installed is skipped
    (``FileResult.skipped`` says why) and the others are linted; one named on the
    command line raises MissingExtra."""
    files, missing = collect_files([p for p in paths if p != STDIN], netc_only)
    if stdin is not None and STDIN in paths:
        files.insert(paths.index(STDIN), STDIN)
    named = {p.resolve() for p in paths if p.is_file()}
    results, used = [], []
    for f in files:
        name, data = stdin if f == STDIN else (str(f), None)
        cfg = configs.for_path(Path(name))
        if override is not None:
            cfg = override(cfg)
        cfg = cfg.for_file(Path(name))
        try:
            results.append(lint_source(name, cfg, load_options, data))
        except MissingExtra as e:
            if f.resolve() in named:
                raise
            results.append(FileResult(name, [], False, skipped=str(e)))
        used.append(cfg)
    return results, missing, used


__all__ = ["BUILD_ERRORS", "Config", "ConfigCache", "ConfigError", "FileResult", "LOAD_ERRORS", "Options", "RULES",
           "Rule", "RuleCrash", "Severity", "known_codes", "lint_file", "lint_paths"]
