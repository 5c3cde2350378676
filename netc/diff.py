"""``netc diff OLD NEW``: what a change does to a network, layer by layer and in total.

    from netc.diff import diff, load_spec
    d = diff(load_spec("main:nets/r50.yaml"), load_spec("nets/r50.yaml"))
    d.totals["params"].delta, [l.name for l in d.layers if l.status == "added"]

Layers are matched by name first (a dict, linear). Layers whose names changed are
then matched by position: between two consecutive layers matched by name (in the
order of both networks), the k-th unmatched old layer of an op pairs with the
k-th unmatched new layer of the same op; such a pair has ``matched = "position"``
and ``"name"`` among its changes. What is left is added or removed.

A matched layer is ``changed`` when its name, op, inputs (mapped through the
matching, so a renamed producer is not a rewiring), any setting, or any number
(output shape, params, MACs, FLOPs, activations, receptive field) differs, and
``same`` otherwise. Every number is taken from the analysis the loader already
made (``LayerReport``, ``Totals``, ``netc.memory``): nothing is recounted, so each
delta is the difference of the two ``netc summary`` totals.

Memory uses ``netc summary``'s defaults (batch 1, float32, sgd) unless told.

``load_spec`` reads a file, or ``REV:PATH`` from git (``git cat-file blob REV:PATH``,
run in the current directory's repository): an existing file of that name wins,
so a file literally named ``a:b`` is read as a file; ``C:\\x`` or ``C:/x`` (a drive
letter) is never read from git. Messages about a blob name ``REV:PATH``.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from .analysis import LayerReport
from .memory import DTYPE_BYTES, Memory

STATUSES = ("added", "removed", "changed", "same")
NUMBERS = ("output_shape", "params", "macs", "flops", "activations", "receptive_field")
# totals whose growth a budget may limit, in the order they are shown
COUNTED = ("params", "macs", "flops", "activations", "activation_bytes", "inference_bytes", "training_bytes")
TOTALS = COUNTED + ("receptive_field", "output_shape")


class SpecError(ValueError):
    """OLD or NEW names nothing that can be read: a usage error (exit 2)."""


class BudgetError(ValueError):
    """A ``--fail-on-growth`` budget or a ``[tool.netc.diff]`` table that cannot be read (exit 2)."""


# -- the comparison ---------------------------------------------------------------------------

@dataclass
class LayerDiff:
    """One layer of either network: its status, its reports on each side, what differs."""

    name: str                          # the new name; the old one for a removed layer
    status: str                        # added | removed | changed | same
    old: LayerReport | None
    new: LayerReport | None
    changes: tuple[str, ...] = ()      # 'name', 'op', 'inputs', settings by name, then NUMBERS
    matched: str | None = None         # 'name' or 'position' for a matched layer

    @property
    def renamed(self) -> bool:
        return self.old is not None and self.new is not None and self.old.name != self.new.name


@dataclass(frozen=True)
class Total:
    old: object
    new: object
    delta: object       # new - old; per axis for shapes and fields (None when they do not line up)


@dataclass
class NetworkDiff:
    old: object                        # netc.api.Network
    new: object
    old_memory: Memory
    new_memory: Memory
    layers: list[LayerDiff]
    totals: dict[str, Total]

    def count(self, status: str) -> int:
        return sum(1 for layer in self.layers if layer.status == status)

    @property
    def renamed(self) -> int:
        return sum(1 for layer in self.layers if layer.renamed)

    @property
    def changed_layers(self) -> list[LayerDiff]:
        return [layer for layer in self.layers if layer.status != "same"]


def diff(old, new, batch: int = 1, dtype: str = "float32", optimizer: str = "sgd") -> NetworkDiff:
    """Compare two loaded networks (``netc.load``); memory for ``batch`` samples of ``dtype``."""
    old_mem, new_mem = old.memory(batch, dtype, optimizer), new.memory(batch, dtype, optimizer)
    return NetworkDiff(old, new, old_mem, new_mem, _layers(old.analysis, new.analysis),
                       _totals(old, new, old_mem, new_mem))


def _match(old: list[LayerReport], new: list[LayerReport]) -> tuple[dict[int, int], dict[int, str]]:
    """new index -> old index, and new index -> 'name' | 'position'."""
    old_at = {r.name: i for i, r in enumerate(old)}
    pairs: dict[int, int] = {}
    how: dict[int, str] = {}
    anchors_new: list[int] = []        # new indices of name matches in increasing old order
    anchors_old: list[int] = []
    for j, r in enumerate(new):
        i = old_at.get(r.name)
        if i is None:
            continue
        pairs[j], how[j] = i, "name"
        if not anchors_old or i > anchors_old[-1]:
            anchors_new.append(j)
            anchors_old.append(i)
    # the gap of an unmatched layer: how many anchors come before it in its own network
    taken = set(pairs.values())
    waiting: dict[tuple[int, str], list[int]] = {}
    gap = 0
    for i, r in enumerate(old):
        while gap < len(anchors_old) and anchors_old[gap] < i:
            gap += 1
        if i not in taken:
            waiting.setdefault((gap, r.op), []).append(i)
    for queue in waiting.values():
        queue.reverse()                # pop() takes the first
    gap = 0
    for j, r in enumerate(new):
        while gap < len(anchors_new) and anchors_new[gap] < j:
            gap += 1
        if j in pairs:
            continue
        queue = waiting.get((gap, r.op))
        if queue:
            pairs[j], how[j] = queue.pop(), "position"
    return pairs, how


def _layers(a_old, a_new) -> list[LayerDiff]:
    old, new = a_old.layers, a_new.layers
    pairs, how = _match(old, new)
    new_name = {old[i].name: new[j].name for j, i in pairs.items()}
    new_name[a_old.graph.input_name] = a_new.graph.input_name
    matched_old = set(pairs.values())
    out: list[LayerDiff] = []
    next_old = 0                       # removed layers go where they stood, before the next match

    def flush(upto: int) -> None:
        nonlocal next_old
        while next_old < upto:
            if next_old not in matched_old:
                r = old[next_old]
                out.append(LayerDiff(r.name, "removed", r, None))
            next_old += 1

    for j, r in enumerate(new):
        i = pairs.get(j)
        if i is None:
            out.append(LayerDiff(r.name, "added", None, r))
            continue
        if i >= next_old:
            flush(i)
        changes = _changes(old[i], r, new_name)
        out.append(LayerDiff(r.name, "changed" if changes else "same", old[i], r, changes, how[j]))
    flush(len(old))
    return out


def _changes(a: LayerReport, b: LayerReport, new_name: dict[str, str]) -> tuple[str, ...]:
    out = []
    if a.name != b.name:
        out.append("name")
    if a.op != b.op:
        out.append("op")
    if [new_name.get(x, x) for x in a.node.inputs] != list(b.node.inputs):
        out.append("inputs")
    pa, pb = a.node.params, b.node.params
    out += [k for k in {**pb, **pa} if pa.get(k, _MISSING) != pb.get(k, _MISSING)]
    out += [k for k in NUMBERS if number(a, k) != number(b, k)]
    return tuple(out)


_MISSING = object()


def number(r: LayerReport, key: str):
    """One of ``NUMBERS`` of a layer: shape and field as lists, the rest as integers."""
    if key == "output_shape":
        return list(r.output_shape)
    if key == "receptive_field":
        return None if r.field is None else {"size": list(r.field.size), "jump": list(r.field.jump)}
    return getattr(r, key)


def _totals(old, new, old_mem: Memory, new_mem: Memory) -> dict[str, Total]:
    def counts(net, mem: Memory) -> dict[str, int]:
        t = net.totals
        return {"params": t.params, "macs": t.macs, "flops": t.flops, "activations": t.activations,
                "activation_bytes": t.activations * DTYPE_BYTES[mem.dtype] * mem.batch,
                "inference_bytes": mem.inference, "training_bytes": mem.training}

    a, b = counts(old, old_mem), counts(new, new_mem)
    out = {k: Total(a[k], b[k], b[k] - a[k]) for k in COUNTED}
    fa, fb = _outputs(old, "receptive_field"), _outputs(new, "receptive_field")
    out["receptive_field"] = Total(fa, fb, _per_axis(fa, fb))
    sa, sb = _outputs(old, "output_shape"), _outputs(new, "output_shape")
    out["output_shape"] = Total(sa, sb, _per_axis(sa, sb))
    return out


def _outputs(net, key: str) -> list:
    """The receptive-field size or the shape of each of the network's outputs, in order."""
    by_name = {r.name: r for r in net.layers}
    out = []
    for name in net.graph.outputs:
        r = by_name.get(name)
        if r is None:                   # the input itself is an output
            out.append(list(net.graph.input_shape) if key == "output_shape" else None)
        elif key == "output_shape":
            out.append(list(r.output_shape))
        else:
            out.append(None if r.field is None else list(r.field.size))
    return out


def _per_axis(a: list, b: list):
    """``b - a`` axis by axis when both have the same outputs of the same ranks; else None."""
    if len(a) != len(b) or any(x is None or y is None or len(x) != len(y) for x, y in zip(a, b)):
        return None
    return [[q - p for p, q in zip(x, y)] for x, y in zip(a, b)]


# -- budgets ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Budget:
    metric: str
    percent: Fraction | None = None    # growth allowed, as a percentage of the old value
    absolute: int | None = None        # or as a number

    def __str__(self) -> str:
        return f"{self.metric}={_fraction_text(self.percent)}%" if self.percent is not None \
            else f"{self.metric}={self.absolute}"

    def passed(self, total: Total) -> bool:
        """Whether the growth ``total.delta`` is past this budget."""
        if self.percent is not None:
            return total.delta * 100 > self.percent * total.old
        return total.delta > self.absolute


def _fraction_text(f: Fraction) -> str:
    return str(f.numerator) if f.denominator == 1 else f"{float(f):g}"


_BUDGET = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(%?)\s*")


def parse_budgets(text: str, where: str = "--fail-on-growth") -> list[Budget]:
    """'params=5%,macs=10%,flops=2G' -> budgets; ``METRIC=N%`` or ``METRIC=N`` (an
    absolute growth, with an optional SI or binary suffix: 1000, 2M, 1.5G, 64MiB)."""
    out: dict[str, Budget] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        metric, eq, value = item.partition("=")
        out[metric.strip()] = parse_budget(metric.strip(), value if eq else "", where)
    if not out:
        raise BudgetError(f"{where}: expected METRIC=LIMIT[,...], e.g. params=5%,macs=10%")
    return list(out.values())


def parse_budget(metric: str, value, where: str = "--fail-on-growth") -> Budget:
    if metric not in COUNTED:
        import difflib

        close = difflib.get_close_matches(metric, COUNTED, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f" (one of: {', '.join(COUNTED)})"
        raise BudgetError(f"{where}: unknown metric {metric!r}{hint}")
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return Budget(metric, absolute=value)
    text = value if isinstance(value, str) else ""
    m = _BUDGET.fullmatch(text)
    if m and m.group(2):
        return Budget(metric, percent=Fraction(m.group(1)))
    if m and Fraction(m.group(1)) == 0:
        return Budget(metric, absolute=0)
    if text.strip().isascii() and text.strip().isdigit():       # a count: 1328
        return Budget(metric, absolute=int(text))
    from .memory import parse_bytes                             # 2M, 64MiB

    try:
        return Budget(metric, absolute=parse_bytes(text))
    except ValueError:
        raise BudgetError(f"{where}: {metric}={text if text else value!r}: expected a percentage "
                          "(5%) or a number (1000, 2M, 64MiB)") from None


def over_budget(d: NetworkDiff, budgets: list[Budget]) -> list[Budget]:
    """The budgets ``d`` passes (its growth strictly greater than allowed)."""
    return [b for b in budgets if b.passed(d.totals[b.metric])]


def config_budgets(start: Path) -> tuple[Path, list[Budget]] | None:
    """``fail-on-growth`` of the closest ``[tool.netc.diff]`` (pyproject.toml) or ``[diff]``
    (netc.toml), walking up from ``start`` as ``netc lint`` finds its configuration;
    None when there is none. The value is a table ``{params = "5%", macs = 1000}`` or the
    command line's string ``"params=5%,macs=10%"``."""
    from .lint.config import ConfigError, find_config_file

    try:
        found = find_config_file(start, "diff")
    except ConfigError as e:
        raise BudgetError(str(e)) from None
    if found is None:
        return None
    path, table = found
    section = "[tool.netc.diff]" if path.name == "pyproject.toml" else "[diff]"
    if not isinstance(table, dict):
        raise BudgetError(f"{path}: {section} must be a table")
    for key in table:
        if key != "fail-on-growth":
            raise BudgetError(f"{path}: {section} {key}: unknown setting (known: fail-on-growth)")
    value = table.get("fail-on-growth")
    if value is None:
        return None
    where = f"{path}: {section} fail-on-growth"
    if isinstance(value, str):
        return path, parse_budgets(value, where)
    if isinstance(value, dict):
        return path, [parse_budget(k, v, where) for k, v in value.items()]
    raise BudgetError(f"{where}: expected a table {{params = \"5%\"}} or a string \"params=5%\"")


# -- reading OLD and NEW ------------------------------------------------------------------------

_DRIVE = re.compile(r"[A-Za-z]:[\\/]")


def is_revision(spec: str, cwd: str | os.PathLike | None = None) -> bool:
    """Whether ``spec`` names a blob in git (``REV:PATH``) rather than a file: it holds a
    ':', no file of that name exists (in ``cwd``), and it does not start with a drive letter."""
    return ":" in spec and not os.path.lexists(Path(cwd or ".") / spec) and not _DRIVE.match(spec)


def load_spec(spec: str, cwd: str | os.PathLike | None = None):
    """A network from a file (``netc.load``) or from ``REV:PATH`` in git, read whole
    (an ONNX model with ops netc cannot read raises E011: its totals would be bounds).
    Raise SpecError when a file or blob does not exist, NetcError on invalid content."""
    from .api import load

    if not is_revision(spec, cwd):
        path = Path(cwd or ".") / spec
        if not path.exists():
            raise SpecError(f"no such file: {spec}")
        if path.is_dir():
            raise SpecError(f"{spec} is a directory; give a .yaml file or an .onnx model")
        return load(path)
    return _load_blob(spec, cwd)


def _load_blob(spec: str, cwd) -> object:
    from .api import is_binary, loads
    from .source import MAX_BYTES, read_file

    rev, _, path = spec.partition(":")
    if spec.startswith("-") or not path:
        raise SpecError(f"{spec}: expected REV:PATH, e.g. main:nets/r50.yaml")
    suffix = os.path.splitext(path)[1][:16]
    with tempfile.TemporaryDirectory(prefix="netc-diff-") as folder:
        blob = os.path.join(folder, "blob" + suffix)
        _git_blob(spec, blob, cwd)
        if is_binary(blob):
            return _renamed(_read_onnx, blob, spec)
        with open(blob, "rb") as f:
            raw = f.read(MAX_BYTES + 1)
        try:
            text = raw.decode("utf-8") if len(raw) <= MAX_BYTES else None
        except UnicodeDecodeError:
            text = None
        if text is None:                 # too large or not UTF-8: read_file says so, naming REV:PATH
            _renamed(read_file, blob, spec)
        return loads(text, spec)


def _git_blob(spec: str, dest: str, cwd) -> None:
    """Write the blob ``spec`` to ``dest``, streamed (a model is never held in memory)."""
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", GIT_NO_LAZY_FETCH="1", LC_ALL="C")
    try:
        with open(dest, "wb") as out:
            # cat-file, not show: the blob's bytes as committed (no textconv, no pager),
            # and an error for a folder; an argument list, never a shell
            done = subprocess.run(["git", "cat-file", "blob", spec], cwd=cwd, stdout=out,
                                  stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env)
    except FileNotFoundError:
        raise SpecError(f"{spec}: reading REV:PATH needs git, which is not installed") from None
    except OSError as e:
        raise SpecError(f"{spec}: cannot run git: {e.strerror or e}") from None
    if done.returncode != 0:
        why = done.stderr.decode("utf-8", "replace").strip().splitlines()
        why = why[-1].removeprefix("fatal: ") if why else f"git exited with {done.returncode}"
        raise SpecError(f"{spec}: not a file, and git cannot read it as REV:PATH: {why[:300]}")


def _read_onnx(path: str, name: str | None = None):
    from .analysis import analyze
    from .api import Network
    from .onnx.reader import load_model, read_graph
    from .source import Source

    model = load_model(path)
    graph = read_graph(model, name or path)
    graph.source = Source(name or path, "", None)
    return Network(graph.source, graph, analyze(graph))


def _renamed(fn, path: str, name: str):
    """``fn(path)``, its errors naming ``name`` where they name the temporary ``path``;
    ``_read_onnx`` is told ``name`` for what it reads."""
    from dataclasses import replace

    from .diagnostics import NetcError

    def fix(span):
        return replace(span, file=name) if span is not None and span.file == path else span

    try:
        return fn(path, name) if fn is _read_onnx else fn(path)
    except NetcError as e:
        for d in e.diagnostics:
            d.span = fix(d.span)
            d.notes = [(fix(s), note) for s, note in d.notes]
        raise NetcError(e.diagnostics) from None
