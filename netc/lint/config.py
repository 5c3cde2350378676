"""Lint configuration: ``[tool.netc.lint]`` in ``pyproject.toml`` or ``[lint]`` in
``netc.toml``, found by walking up from each linted file (the closest wins, as
in ruff); command-line options override it.

    [tool.netc.lint]
    select = ["A", "S"]             # codes or prefixes; default: every rule
    extend-select = ["D"]
    ignore = ["D001"]
    fail-on = "warning"            # error (default), warning or info
    per-file-ignores = {"legacy/*.yaml" = ["A001"]}   # globs relative to the config file
    per-node-ignores = {"layer1.0.*" = ["A003"]}       # ONNX models: globs on node names
    per-node-ignores = {"models/r*.onnx" = {"*.downsample.*" = ["A001"]}}   # for some models
    max-param-share = 0.5           # rule options, see docs/rules/
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from ..diagnostics import Severity
from .rule import Options

LIST_KEYS = {"select", "extend-select", "ignore"}
OPTION_KEYS = {f.name.replace("_", "-"): f for f in fields(Options)}


class ConfigError(ValueError):
    """A configuration that cannot be used: the CLI prints it and exits 2."""


@dataclass
class Config:
    select: list[str] | None = None
    extend_select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    per_file_ignores: list[tuple[str, list[str]]] = field(default_factory=list)
    fail_on: Severity = Severity.ERROR
    options: Options = field(default_factory=Options)
    root: Path | None = None        # folder of the config file; per-file globs are relative to it
    path: Path | None = None
    ignored_for_file_codes: list[str] = field(default_factory=list)   # per-file ignores that matched
    # (model glob or None for every model, node-name glob, codes); and those for this file
    per_node_ignores: list[tuple[str | None, str, list[str]]] = field(default_factory=list)
    node_ignores: list[tuple[str, list[str]]] = field(default_factory=list)

    def enabled(self, code: str) -> bool:
        """Longest matching prefix wins; on a tie, ignore wins (ruff's rule)."""
        chosen = _best(code, (self.select if self.select is not None else ["ALL"]) + self.extend_select)
        if chosen is None:
            return False
        dropped = _best(code, self.ignore + self.ignored_for_file_codes)
        return dropped is None or chosen > dropped

    def for_file(self, path: Path) -> "Config":
        """This config with the per-file ignores that match ``path`` applied, and the
        per-node ignores that apply to it."""
        extra: list[str] = []
        for pattern, codes in self.per_file_ignores:
            if _matches(path, pattern, self.root):
                extra += codes
        nodes = [(node, codes) for model, node, codes in self.per_node_ignores
                 if model is None or _matches(path, model, self.root)]
        if not extra and not nodes:
            return self
        return replace(self, ignored_for_file_codes=extra, node_ignores=nodes)

    def node_ignored(self, code: str, names) -> bool:
        """True when a per-node ignore whose glob matches one of ``names`` (a layer's
        name, its ONNX node name, its PyTorch module) covers ``code`` (a code or prefix)."""
        return any(any(code.startswith(c) or c == "ALL" for c in codes)
                   and any(fnmatch.fnmatchcase(n, pattern) for n in names)
                   for pattern, codes in self.node_ignores)


def _best(code: str, prefixes: list[str]) -> int | None:
    best = None
    for p in prefixes:
        n = 0 if p == "ALL" else len(p) if code.startswith(p) else None
        if n is not None and (best is None or n > best):
            best = n
    return best


def _matches(path: Path, pattern: str, root: Path | None) -> bool:
    path = path.resolve()
    candidates = [path.name, path.as_posix()]
    if root is not None:
        try:
            candidates.append(path.relative_to(root).as_posix())
        except ValueError:
            pass
    return any(fnmatch.fnmatchcase(c, pattern) for c in candidates)


def _toml(path: Path) -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{path}: cannot read configuration: {e}") from None


def find_config_file(start: Path, section: str = "lint") -> tuple[Path, dict] | None:
    """The closest ``netc.toml`` or ``pyproject.toml`` with ``[tool.netc]``, walking up,
    and its ``section`` table (``lint``; ``diff`` for ``netc diff``)."""
    folder = start if start.is_dir() else start.parent
    for d in [folder.resolve(), *folder.resolve().parents]:
        candidate = d / "netc.toml"
        if candidate.is_file():
            return candidate, _toml(candidate).get(section, {})
        candidate = d / "pyproject.toml"
        if candidate.is_file():
            tool = _toml(candidate).get("tool", {}).get("netc")
            if tool is not None:
                return candidate, tool.get(section, {})
    return None


def load_config(path: Path, table: dict) -> Config:
    """Check and convert one ``lint`` table."""
    def where(key):
        return f"{path}: [{'tool.netc.' if path.name == 'pyproject.toml' else ''}lint] {key}"

    if not isinstance(table, dict):
        raise ConfigError(f"{path}: 'lint' must be a table")
    cfg = Config(root=path.parent.resolve(), path=path)
    opts = {}
    for key, value in table.items():
        if key in LIST_KEYS:
            codes = check_codes(value, where(key))
            if key == "select":
                cfg.select = codes
            elif key == "extend-select":
                cfg.extend_select = codes
            else:
                cfg.ignore = codes
        elif key == "per-file-ignores":
            if not isinstance(value, dict):
                raise ConfigError(f"{where(key)}: expected a table of glob = [codes]")
            cfg.per_file_ignores = [(g, check_codes(c, f"{where(key)}.{g!r}")) for g, c in value.items()]
        elif key == "per-node-ignores":
            cfg.per_node_ignores = _node_ignores(value, where(key))
        elif key == "fail-on":
            try:
                cfg.fail_on = Severity.parse(str(value))
            except ValueError as e:
                raise ConfigError(f"{where(key)}: {e}") from None
        elif key in OPTION_KEYS:
            opts[OPTION_KEYS[key].name] = check_option(key, value, where(key))
        else:
            import difflib

            close = difflib.get_close_matches(key, [*LIST_KEYS, "per-file-ignores", "per-node-ignores", "fail-on", *OPTION_KEYS], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"{where(key)}: unknown setting{hint}")
    cfg.options = replace(cfg.options, **opts)
    return cfg


def _node_ignores(value, where: str) -> list[tuple[str | None, str, list[str]]]:
    """``{node glob = [codes]}`` for every model, or ``{model glob = {node glob = [codes]}}``
    for the models a glob matches (relative to the config file, like per-file-ignores);
    both may be mixed in one table."""
    expected = "expected a table of node-name glob = [codes], or model glob = {node-name glob = [codes]}"
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: {expected}")
    out = []
    for key, item in value.items():
        if not key.strip():
            raise ConfigError(f"{where}: an empty pattern matches nothing")
        if isinstance(item, dict):
            for node, codes in item.items():
                if not node.strip():
                    raise ConfigError(f"{where}.{key!r}: an empty pattern matches nothing")
                if isinstance(codes, dict):
                    raise ConfigError(f"{where}.{key!r}.{node!r}: {expected}")
                out.append((key, node, check_codes(codes, f"{where}.{key!r}.{node!r}")))
        else:
            out.append((None, key, check_codes(item, f"{where}.{key!r}")))
    return out


def check_codes(value, where: str) -> list[str]:
    """A list of rule codes or prefixes, each matching at least one known code."""
    from . import known_codes

    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: expected a list of rule codes or prefixes")
    codes = known_codes()
    out = []
    for v in value:
        v = v.strip().upper()
        if v != "ALL" and not any(c.startswith(v) for c in codes):
            raise ConfigError(f"{where}: {v!r} matches no rule code (see 'netc rule --all')")
        out.append(v)
    return out


def check_option(key: str, value, where: str):
    f = OPTION_KEYS[key]
    if key == "device-memory":
        from ..memory import parse_bytes

        try:
            return parse_bytes(str(value)) if not isinstance(value, int) or isinstance(value, bool) else value
        except ValueError as e:
            raise ConfigError(f"{where}: {e}") from None
    if key in ("dtype", "optimizer"):
        from ..memory import DTYPE_BYTES, OPTIMIZER_STATE

        allowed = DTYPE_BYTES if key == "dtype" else OPTIMIZER_STATE
        if value not in allowed:
            raise ConfigError(f"{where}: expected one of {', '.join(allowed)}")
        return value
    if key.endswith("-share"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
            raise ConfigError(f"{where}: expected a fraction in (0, 1]")
        return float(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{where}: expected a positive integer")
    return value


class ConfigCache:
    """Per-folder lookup of the applicable config, so many files cost one search."""

    def __init__(self, explicit: Path | None = None, isolated: bool = False):
        self.explicit = explicit
        self.isolated = isolated
        self._by_file: dict[Path, Config] = {}
        self._by_dir: dict[Path, Config] = {}
        if explicit is not None:
            table = _toml(explicit)
            table = table.get("tool", {}).get("netc", {}).get("lint", {}) \
                if explicit.name == "pyproject.toml" else table.get("lint", {})
            self._explicit = load_config(explicit, table)

    def for_path(self, path: Path) -> Config:
        if self.isolated:
            return Config()
        if self.explicit is not None:
            return self._explicit
        folder = path.parent.resolve()
        if folder not in self._by_dir:
            found = find_config_file(folder)
            if found is None:
                self._by_dir[folder] = Config()
            else:
                cfg_path, table = found
                if cfg_path not in self._by_file:
                    self._by_file[cfg_path] = load_config(cfg_path, table)
                self._by_dir[folder] = self._by_file[cfg_path]
        return self._by_dir[folder]

