"""``netc import``: a read graph (an ONNX model, netc/onnx/reader.py) written back as a
readable netc file that describes the same network (docs/onnx.md, *netc import*).

- Names: each layer keeps its graph name (PyTorch's scoped ``/layer1/layer1.0/conv1/Conv``
  read as ``layer1.0.conv1``), cleaned into a netc name (``layer1_0_conv1``), made
  unique; ``name:`` is left out where netc's automatic name (``relu3``) is that name.
- Wiring: ``from:`` only where a layer's input is not the layer above; ``outputs:``
  unless the one output is the last layer.
- Parameters in normal form, without the values equal to the op's default; pairs as
  one integer when equal; padding as one integer when symmetric and equal. Padding
  that is not symmetric is written as ``same`` or (pools) ``ceil_mode: true`` where one
  of those gives the same windows; otherwise the layer is refused (E011).
- ``defaults:``: per op type with two layers or more, a value every layer of the op
  shares.
- ``blocks:`` and ``repeat``: runs of copies ``P.0.*``, ``P.1.*``, ... with the same
  structure become a block used with ``repeat``; runs ``x.0``, ``x.1``, ... of one layer
  a layer with ``repeat``. Groups of layers under one module path that are alike in
  several places (ResNet's ``layerN.first.*``) become a block used in each, where that
  is shorter. Blocks alike but for integer settings (ResNet's stages: the
  same bottleneck at widths 64, 128, 256, 512) become one block with parameters, a
  setting that is an integer multiple of a parameter in every use written as
  ``param * k``.
- A text netc would refuse to read (past 1 MiB, or its value limits) is refused (E005).
- Nothing is copied raw: the model's file name goes into the first comment through
  ``safe_text`` (one line: a name holding a newline and YAML stays in the comment), the
  graph's name is a double-quoted scalar where it is not a plain word, layer names are
  cleaned.

Linear in the number of layers (each layer's padding is tried at most three ways, each
copy prefix scanned once).
"""

from __future__ import annotations

import json
import math
import re

from ..analysis import analyze
from ..diagnostics import LIMIT, UNSUPPORTED, Diagnostic, NetcError
from ..graph import Graph, Node
from ..ops import OPS
from ..ops.registry import REQUIRED, Param, ShapeError
from ..ops.window import axis_names
from ..safe_text import safe_json, safe_text

_NOT_NAME = re.compile(r"[^A-Za-z0-9_]+")
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_YAML_WORDS = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"}
_INDEXED = re.compile(r"(.*)\.(\d+)\Z")


def import_graph(graph: Graph, source: str | None = None) -> str:
    """The netc text of ``graph``; ``source`` (the model's file name) goes in a comment.
    Raise NetcError: E011 for a layer netc's format cannot write, E005 for a text past
    netc's limits."""
    shapes = analyze(graph).shapes()
    paths = _scope_paths(graph)
    names = _clean_names(graph, paths)
    layers = [_Layer(n, _settings(n, [shapes[i] for i in n.inputs]), paths.get(n.name)) for n in graph.nodes]
    defaults = _factor_defaults(layers)
    blocks: dict[str, list[_Layer]] = {}
    layers = _fold_blocks(graph, layers, names, blocks)
    layers = _fold_groups(graph, layers, names, blocks)
    params = _merge_blocks(blocks, layers)
    layers = _fold_repeats(graph, layers, names)
    _wire(graph, layers, names)
    _omit_auto_names(layers)

    out = []
    if source:
        out.append(f"# imported by netc import from {safe_text(_basename(source))}")
    out.append("netc: 1")
    if graph.name:
        out.append(f"name: {_scalar(graph.name)}")
    shape = ", ".join(str(d) for d in graph.input_shape)
    inp = f"shape: [{shape}]"
    if names[graph.input_name] != "input":
        inp += f", name: {_scalar(names[graph.input_name])}"
    out.append(f"input: {{{inp}}}")
    if defaults:
        out.append("defaults:")
        out.extend(f"  {op}: {_flow(values)}" for op, values in defaults.items())
    if blocks:
        out.append("blocks:")
        for block, body in blocks.items():
            out.append(f"  {block}:")
            if block in params:
                out.append(f"    params: {_flow(dict.fromkeys(params[block]))}")
            out.append("    layers:")
            out.extend(f"      - {layer.render()}" for layer in body)
    out.append("layers:")
    out.extend(f"  - {layer.render()}" for layer in layers)
    last = layers[-1].name if layers else None
    outputs = [names[o] for o in graph.outputs]
    if outputs != [last]:
        out.append(f"outputs: [{', '.join(_scalar(o) for o in outputs)}]")
    text = "\n".join(out) + "\n"
    _check_limits(text, graph, source)
    return text


def _check_limits(text: str, graph: Graph, source: str | None) -> None:
    """Refuse (E005) a text netc would refuse to read: past 1 MiB or 100,000 values."""
    from ..source import MAX_BYTES, parse

    where = graph.nodes[0].span if graph.nodes else graph.input_span
    size = len(text.encode("utf-8"))
    why = f"{size:,} bytes, more than the {MAX_BYTES // 1024} KiB limit" if size > MAX_BYTES else None
    if why is None:
        try:
            parse(text, source or "<imported>")
        except NetcError as e:
            why = e.diagnostics[0].message
    if why:
        raise NetcError(Diagnostic(f"the netc file of this model ({len(graph.nodes):,} layers) would "
                                   f"be too large for netc to read: {why}", where, LIMIT))


class _Layer:
    """One layer item being written: its op, name, settings, ``from`` and ``repeat``."""

    def __init__(self, node: Node, settings: dict, path: str | None = None):
        self.node, self.op, self.settings = node, node.op, settings
        self.last = node                         # the last copy's node, for a repeated layer
        self.inputs = node.inputs                # what it reads (a block use: its first layer's input)
        self.path = path or layer_path(node.name)    # the dotted name that names and folding read
        self.name: str = ""
        self.show_name = True
        self.sources: list[str] | None = None     # None: the layer above
        self.repeat = 0                          # 0: not a repeated layer

    def render(self) -> str:
        items = {}
        if self.show_name:
            items["name"] = self.name
        if self.sources is not None:
            items["from"] = self.sources[0] if len(self.sources) == 1 else list(self.sources)
        items.update(self.settings)
        if self.repeat:
            items["repeat"] = self.repeat
        return f"{self.op}: {_flow(items)}" if items else self.op


# -- names -------------------------------------------------------------------------------

def module_path(name: str) -> str:
    """The dotted module path in a node name that PyTorch's exporter scoped, else the name:
    ``/layer1/layer1.0/conv1/Conv`` -> ``layer1.0.conv1`` (each scope segment a longer
    path of the one before, the op type dropped after a leaf module); after a container
    (``/layer1/layer1.0/Add``) the op type stays: ``layer1.0.Add``."""
    if not name.startswith("/"):
        return name
    segments = [s for s in name.split("/") if s]
    if len(segments) > 1 and "." not in segments[-2]:
        segments.pop()
    out: list[str] = []
    for s in segments:
        if out and s.startswith(out[-1] + "."):
            out[-1] = s
        else:
            out.append(s)
    return ".".join(out)


def _scope_paths(graph: Graph) -> dict[str, str]:
    """Dotted paths for the nodes of a dynamo export (whose node names, ``node_Conv_754``,
    hold no module path), from each node's (module, FX node name) ``torch_scope``:

    - a module no other node's module extends (a leaf) and only this node has: the
      module (``layer1.0.bn1``);
    - a leaf several nodes have (``layer1.0.relu``, called three times): the module and
      the node's rank among them (``layer1.0.relu.0``, ``.1``, ``.2``);
    - a container (``layer1.0``, whose own ops are a residual ``add``): the module and
      the FX name without its numeric suffix (``layer1.0.add``), ranked as above when
      several share it.

    Ranks count within each module, so copies of one module (``layer1.1``, ``layer1.2``)
    get the same paths under their prefixes, as folding needs. TorchScript names
    (``/layer1/layer1.0/conv1/Conv``) are left to ``module_path``."""
    scoped = [n for n in graph.nodes if n.torch_scope and not n.name.startswith("/")
              and _fits(n.torch_scope[0])]
    if not scoped:
        return {}
    modules = [n.torch_scope[0] for n in scoped]
    containers = {""}
    for m in modules:               # every enclosing module, each added once
        parent = m.rpartition(".")[0]
        while parent and parent not in containers:
            containers.add(parent)
            parent = parent.rpartition(".")[0]
    keys = []
    for n, m in zip(scoped, modules):
        leaf = m not in containers
        keys.append((m, "" if leaf else re.sub(r"_\d+\Z", "", n.torch_scope[1])))
    shared: dict = {}
    for key in keys:
        shared[key] = shared.get(key, 0) + 1
    rank: dict = {}
    paths = {}
    for n, (m, leaf_name) in zip(scoped, keys):
        k = rank.get((m, leaf_name), 0)
        rank[(m, leaf_name)] = k + 1
        rank_text = str(k) if shared[(m, leaf_name)] > 1 else ""
        tail = "_".join(part for part in (leaf_name, rank_text) if part)   # relu.1, add, add_1
        paths[n.name] = ".".join(part for part in (m, tail) if part)
    return paths


MAX_NAME = 100       # characters of a cleaned name (netc reads scalars up to 4,096)
MAX_SCOPE = 256      # a longer module path is not used (the node's name is): paths stay linear


def _fits(path: str) -> bool:
    """Whether a module path is short enough to name and fold layers by (``MAX_SCOPE``):
    folding splits paths at every depth, so a longer one would cost its depth squared."""
    return len(path) <= MAX_SCOPE


def layer_path(name: str) -> str:
    """The dotted path of a layer named ``name`` (``module_path``), or, past ``MAX_SCOPE``
    characters, its cleaned name: a path without dots, named but never folded."""
    path = module_path(name)
    return path if _fits(path) else clean_name(name)


def clean_name(name: str) -> str:
    """A netc name for a graph name: runs of other characters become ``_``, a leading
    digit gets a ``_`` before it (``layer1.0.conv1`` -> ``layer1_0_conv1``); at most
    ``MAX_NAME`` characters."""
    out = _NOT_NAME.sub("_", name).strip("_")[:MAX_NAME]
    if not out:
        return "layer"
    return "_" + out if out[0].isdigit() else out


def _clean_names(graph: Graph, paths: dict[str, str] | None = None) -> dict[str, str]:
    """Graph name -> unique netc name (from ``paths`` where given); the input is
    ``input`` unless named otherwise."""
    paths = paths or {}
    names = {graph.input_name: clean_name(graph.input_name)}
    used = {"input", names[graph.input_name]}
    tried: dict[str, int] = {}             # base -> the last suffix tried: linear in names alike
    for n in graph.nodes:
        base = clean_name(paths.get(n.name) or layer_path(n.name))
        name, k = base, tried.get(base, 1)
        if k > 1:
            name = f"{base}_{k}"
        while name in used:
            k += 1
            name = f"{base}_{k}"
        tried[base] = k
        used.add(name)
        names[n.name] = name
    return names


def _omit_auto_names(layers: list[_Layer]) -> None:
    """Leave out ``name:`` where netc's automatic name (``{op}{n}``, counted per op,
    skipping names written in the file) is the layer's name already."""
    taken = {layer.name for layer in layers}
    counts: dict[str, int] = {}
    for layer in layers:
        if layer.repeat:
            continue
        base = layer.op
        k = counts.get(base, 0)
        taken.discard(layer.name)
        while True:
            k += 1
            auto = f"{base}{'_' if base[-1:].isdigit() else ''}{k}"
            if auto not in taken:
                break
        if auto == layer.name:
            counts[base] = k
            layer.show_name = False
        else:
            taken.add(layer.name)


# -- wiring ------------------------------------------------------------------------------

def _wire(graph: Graph, layers: list[_Layer], names: dict) -> None:
    prev = graph.input_name
    for layer in layers:
        layer.name = names[layer.last.name]
        inputs = layer.inputs
        if inputs != [prev]:
            layer.sources = ["input" if i == graph.input_name else names[i] for i in inputs]
        prev = layer.last.name


# -- parameters --------------------------------------------------------------------------

def _settings(node: Node, ins: list) -> dict:
    """The parameters to write: normal form, defaults left out, written short."""
    op = OPS[node.op]
    p = dict(node.params)
    if "padding" in p and op.params["padding"].kind == "padding" and ins:
        p.update(_writable_padding(node, p, ins))
    if op.params.get("stride") and op.params["stride"].default is None and p.get("stride") == p.get("kernel"):
        p["stride"] = None                  # a pool's stride defaults to its kernel
    out = {}
    for key, param in op.params.items():
        if key not in p or _is_default(param, p[key]):
            continue
        out[key] = _short(param, p[key])
    return out


def _is_default(param: Param, value) -> bool:
    if param.default is REQUIRED:
        return False
    if param.default is None or value is None:
        return value is param.default
    try:
        default = param.check(list(param.default) if isinstance(param.default, tuple) else param.default)
    except ValueError:     # pragma: no cover - every default checks
        return False
    return _short(param, default) == _short(param, value)    # 1 is (1, 1) on a 2-D map


def _short(param: Param, value):
    """A normal-form value as written: (a, a) -> a, ((p, p), (q, q)) -> [p, q] or p
    (an equal value on every axis is written once, which holds on a map of any rank)."""
    if param.kind in ("pair", "scale") and isinstance(value, tuple):
        return value[0] if len(set(value)) == 1 else list(value)
    if param.kind == "sides" and isinstance(value, tuple) and not isinstance(value[0], tuple):
        return value[0] if len(set(value)) == 1 else list(value)
    if param.kind in ("padding", "sides") and isinstance(value, tuple):
        if all(b == e for b, e in value):
            return value[0][0] if len({b for b, _ in value}) == 1 else [b for b, _ in value]
        return [v for pair in value for v in pair]
    return value


def _writable_padding(node: Node, p: dict, ins: list) -> dict:
    """Padding netc can write with the windows of ``p``: as it is when symmetric, else
    ``same`` or (a pool) ceil mode with the start padding on both sides, whichever
    gives the same output and windows; else E011."""
    pads = p["padding"]
    if pads == "same" or not isinstance(pads, tuple) or all(b == e for b, e in pads):
        return {}
    op = OPS[node.op]
    target = _windows(op, p, ins)
    tries = [{"padding": "same"}]
    if "ceil_mode" in op.params and not p.get("ceil_mode"):     # netc's own build of ceil mode
        tries.insert(0, {"padding": tuple((b, b) for b, _ in pads), "ceil_mode": True})
    for change in tries:
        try:
            if _windows(op, {**p, **change}, ins) == target:
                return change
        except ShapeError:
            continue
    sides = ", ".join(f"{name} begin {b}, end {e}" for name, (b, e) in zip(axis_names(len(pads)), pads))
    if len(pads) == 2:
        (t, b), (l, r) = pads
        sides = f"top {t}, bottom {b}, left {l}, right {r}"
    raise NetcError(Diagnostic(
        f"{node.name}: padding [{sides}] is not symmetric, and "
        f"neither 'same' nor ceil mode gives these windows: netc's {node.op} cannot write it",
        node.span, UNSUPPORTED, layer=node.name))


def _windows(op, p: dict, ins: list):
    """What a windowed layer computes: its output shape and each window's padding as run."""
    out = op.infer(p, ins)
    return out.shape, tuple((w.pad_begin, w.pad_end + w.overhang) for w in out.windows or ())


# -- defaults ------------------------------------------------------------------------------

def _factor_defaults(layers: list[_Layer]) -> dict[str, dict]:
    """Per op with two layers or more, the settings every layer of it writes alike move
    to ``defaults:``."""
    by_op: dict[str, list[_Layer]] = {}
    for layer in layers:
        by_op.setdefault(layer.op, []).append(layer)
    defaults = {}
    for op, group in by_op.items():
        if len(group) < 2:
            continue
        first = group[0].settings
        shared = {k: v for k, v in first.items()
                  if all(k in g.settings and _same(g.settings[k], v) for g in group[1:])}
        if shared:
            defaults[op] = shared
            for g in group:
                g.settings = {k: v for k, v in g.settings.items() if k not in shared}
    return defaults


def _same(a, b) -> bool:
    return type(a) is type(b) and a == b


# -- repeat ------------------------------------------------------------------------------

_FIRST_COPY = re.compile(r"\.([01])\.")  # P.0.rest: layer 'rest' of the first copy of P; P.1:
                                          # the first of copies after a P.0 unlike them


def _fold_blocks(graph: Graph, layers: list[_Layer], names: dict, blocks: dict) -> list[_Layer]:
    """Fold runs of copies ``P.0.*``, ``P.1.*``, ... (at least 2) with the same layers,
    settings and inner wiring, each copy read only through its last layer and only by
    the next copy, into one block (defined in ``blocks``) used with ``repeat``; the use
    is named after ``P`` and stands for the last copy's last layer. The outermost ``P``
    that folds wins (``a.0.b.0.c``: ``a``, else ``a.0.b``); each ``P`` is tried once
    from copy 0 and, where copy 0 is unlike the next ones (torchvision's ResNet stages:
    ``layer2.0`` projects, ``layer2.1`` ... do not), from copy 1, the use then named
    ``P_rest``."""
    consumers = graph.consumers()
    outputs = set(graph.outputs)
    used = set(names.values())
    tried: set[str] = set()
    out: list[_Layer] = []
    i = 0
    while i < len(layers):
        path = layers[i].path
        for m in _FIRST_COPY.finditer(path):
            prefix, start = path[:m.start()], int(m.group(1))
            if (prefix, start) in tried:
                continue
            tried.add((prefix, start))
            copies = _copies(layers, i, prefix, start)
            n = _foldable(copies, prefix, consumers, outputs, start)
            if n >= 2:
                break
        else:
            out.append(layers[i])
            i += 1
            continue
        body = copies[0]
        cut = len(f"{prefix}.{start}.")
        locals_ = {layer.node.name: clean_name(layer.path[cut:]) for layer in body}
        block = _block(prefix + ("_rest" if start else ""), body, locals_, blocks)
        use = _Layer(body[0].node, {})
        use.op, use.repeat, use.last, use.inputs = block, n, copies[n - 1][-1].node, body[0].node.inputs
        name = _unique(clean_name(prefix) + ("_rest" if start else ""), used)
        names[use.last.name] = name
        out.append(use)
        i += sum(len(c) for c in copies[:n])
    return out


def _fold_groups(graph: Graph, layers: list[_Layer], names: dict, blocks: dict) -> list[_Layer]:
    """Fold groups of consecutive layers under one module path ``P.*`` (ResNet's
    ``layer2.first.*``) into a block used once, where two or more such groups are alike
    but for integer settings (``_skeleton``) and each is closed like a copy of
    ``_fold_blocks``: one tensor read from outside, read only through its last layer.
    Each group takes the longest path its layers share; larger groups are tried first,
    a group never overlaps one already folded, and groups are folded only where the
    block and its uses take fewer lines than the layers they replace."""
    consumers = graph.consumers()
    outputs = set(graph.outputs)
    candidates: dict = {}                       # skeleton -> [(start, end, prefix)]
    depth = max((layer.path.count(".") for layer in layers), default=0)
    for d in range(1, depth + 1):
        i = 0
        while i < len(layers):
            parts = layers[i].path.split(".")
            if layers[i].op in blocks or len(parts) <= d:
                i += 1
                continue
            head, j = ".".join(parts[:d]) + ".", i
            while j < len(layers) and layers[j].op not in blocks and layers[j].path.startswith(head):
                j += 1
            group = layers[i:j]
            prefix = _common_prefix([g.path for g in group])
            if j - i >= 2 and prefix and _shape(group, len(prefix) + 1) is not None \
                    and _closed(group[:-1], group, consumers, outputs):
                locals_ = {g.node.name: clean_name(g.path[len(prefix) + 1:]) for g in group}
                body = _body(group, locals_)
                candidates.setdefault(_skeleton(body), {})[(i, j)] = prefix
            i = j
    taken = [False] * len(layers)
    chosen: list[tuple[int, int, str]] = []
    for spans in sorted(candidates.values(), key=lambda c: -max(j - i for i, j in c)):
        free = [(i, j, p) for (i, j), p in spans.items() if not any(taken[i:j])]
        n, size = len(free), max((j - i for i, j, _ in free), default=0)
        if n < 2 or n * size <= n + size + 3:      # the block and its uses must be shorter
            continue
        for i, j, p in free:
            taken[i:j] = [True] * (j - i)
            chosen.append((i, j, p))
    if not chosen:
        return layers
    starts = {i: (j, p) for i, j, p in chosen}
    used = set(names.values())
    out: list[_Layer] = []
    i = 0
    while i < len(layers):
        if i not in starts:
            out.append(layers[i])
            i += 1
            continue
        j, prefix = starts[i]
        group = layers[i:j]
        locals_ = {g.node.name: clean_name(g.path[len(prefix) + 1:]) for g in group}
        use = _Layer(group[0].node, {})
        use.op, use.last, use.inputs = _block(prefix, group, locals_, blocks), group[-1].node, [_entry(group)]
        names[use.last.name] = _unique(clean_name(prefix), used)
        out.append(use)
        i = j
    return out


def _common_prefix(paths: list[str]) -> str:
    """The longest dotted path every path extends (``a.b.c``, ``a.b.d`` -> ``a.b``)."""
    split = [p.split(".") for p in paths]
    common = []
    for parts in zip(*split):
        if len(set(parts)) != 1:
            break
        common.append(parts[0])
    if any(len(s) == len(common) for s in split):     # a path equal to the prefix: no group
        common = common[:-1]
    return ".".join(common)


def _copies(layers: list[_Layer], i: int, prefix: str, start: int = 0) -> list[list[_Layer]]:
    """The consecutive groups of layers named ``prefix.{start}.*``, ``prefix.{start + 1}.*``,
    ... from i."""
    groups: list[list[_Layer]] = []
    while i < len(layers):
        head = f"{prefix}.{start + len(groups)}."
        if not layers[i].path.startswith(head):
            break
        group = []
        while i < len(layers) and layers[i].path.startswith(head):
            group.append(layers[i])
            i += 1
        groups.append(group)
    return groups


def _foldable(copies: list[list[_Layer]], prefix: str, consumers: dict, outputs: set,
              start: int = 0) -> int:
    """How many leading copies one block with ``repeat`` can write (0 or 1: none)."""
    if not copies:
        return 0
    shape = _shape(copies[0], len(f"{prefix}.{start}."))
    if shape is None or not _closed(copies[0][:-1], copies[0], consumers, outputs):
        return 0
    n = 1
    while n < len(copies):
        prev, group = copies[n - 1], copies[n]
        if (_shape(group, len(f"{prefix}.{start + n}.")) != shape or _entry(group) != prev[-1].node.name
                or not _closed(group[:-1], group, consumers, outputs)
                or prev[-1].node.name in outputs
                or any(c not in {g.node.name for g in group} for c in consumers[prev[-1].node.name])):
            break
        n += 1
    return n


def _shape(group: list[_Layer], cut: int):
    """A copy's structure: per layer its name within the copy (its name past ``cut``
    characters, the copy's ``P.k.``), op, settings, and inputs (a layer of the copy by
    that name, or None: the copy's one input); None when the copy reads more than one
    tensor from outside."""
    paths = {layer.node.name: layer.path[cut:] for layer in group}
    outside = {i for layer in group for i in layer.node.inputs if i not in paths}
    if len(outside) != 1:
        return None
    return tuple((layer.path[cut:], layer.op, _frozen(layer.settings),
                  tuple(paths.get(i) for i in layer.node.inputs)) for layer in group)


def _entry(group: list[_Layer]) -> str:
    names = {layer.node.name for layer in group}
    return next(i for layer in group for i in layer.node.inputs if i not in names)


def _closed(inner: list[_Layer], group: list[_Layer], consumers: dict, outputs: set) -> bool:
    """Whether the ``inner`` layers of a copy are read only within it, and are no output."""
    names = {layer.node.name for layer in group}
    return all(layer.node.name not in outputs and all(c in names for c in consumers[layer.node.name])
               for layer in inner)


def _frozen(settings: dict):
    return tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in settings.items())


def _body(body: list[_Layer], locals_: dict) -> list[_Layer]:
    """The layers of a block made of ``body``, named by ``locals_`` (made unique), wired
    within it (``input``: the one tensor it reads from outside)."""
    if len(set(locals_.values())) != len(locals_) or "input" in locals_.values():
        locals_ = {k: f"{v}_{n}" for n, (k, v) in enumerate(locals_.items(), 1)}
    layers = []
    prev = None
    for layer in body:
        item = _Layer(layer.node, dict(layer.settings))
        item.name = locals_[layer.node.name]
        ins = [locals_.get(i, "input") for i in layer.node.inputs]
        if ins != [prev or "input"]:
            item.sources = ins
        prev = item.name
        layers.append(item)
    _omit_auto_names(layers)
    return layers


def _block(prefix: str, body: list[_Layer], locals_: dict, blocks: dict) -> str:
    """The block of ``body`` (a new one, or an identical one defined already): its name,
    after the last part of ``prefix`` that is not an index (``s.0`` -> ``s_block``)."""
    layers = _body(body, locals_)
    text = [layer.render() for layer in layers]
    for name, existing in blocks.items():
        if [layer.render() for layer in existing] == text:
            return name
    base = next((part for part in reversed(prefix.split(".")) if not part.isdigit()), prefix)
    name = _unique(clean_name(base) + "_block", set(blocks) | set(OPS))
    blocks[name] = layers
    return name


class _Expr(str):
    """An integer expression over a block's parameters (``width * 4``), written unquoted."""


def _int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _skeleton(body: list[_Layer]):
    """A block's layers with their integer settings left out: blocks with the same
    skeleton differ at most in those integers (one may leave out a setting at its
    default that another writes)."""
    return tuple((layer.op, layer.name, layer.show_name, tuple(layer.sources or ()),
                  tuple(sorted((k, _frozen({k: v})) for k, v in layer.settings.items() if not _int(v))))
                 for layer in body)


def _fill_defaults(bodies: list[list[_Layer]]) -> bool:
    """Give every body, at each position, the integer settings another body writes there,
    at the op's default; False (bodies unchanged) when a default is not an integer."""
    fills = []
    for i, layer in enumerate(bodies[0]):
        keys = {k for b in bodies for k, v in b[i].settings.items() if _int(v)}
        for key in keys:
            missing = [b[i] for b in bodies if key not in b[i].settings]
            if missing:
                param = OPS[layer.op].params.get(key)
                default = param.default if param is not None else None
                if not _int(default):
                    return False
                fills += [(m, key, default) for m in missing]
    for layer, key, default in fills:
        layer.settings[key] = default
    return True


def _merge_blocks(blocks: dict[str, list[_Layer]], layers: list[_Layer]) -> dict[str, list[str]]:
    """Blocks with the same skeleton become the first of them, with a parameter for each
    integer setting that differs between them; a setting whose values are k times a
    parameter's in every block, for one integer k, is written ``param * k``. The uses
    (top-level layers) name the kept block with their values. Returns each kept block's
    parameter names."""
    groups: dict = {}
    for name, body in blocks.items():
        groups.setdefault(_skeleton(body), []).append(name)
    params_of: dict[str, list[str]] = {}
    uses: dict[str, tuple[str, dict]] = {}
    for names in groups.values():
        bodies = [blocks[n] for n in names]
        if len(names) < 2 or not _fill_defaults(bodies):
            continue
        values: dict[str, list[int]] = {}            # parameter -> its value in each block
        for i, layer in enumerate(bodies[0]):
            for key, v in layer.settings.items():
                column = [b[i].settings[key] for b in bodies]
                if not _int(v) or len(set(column)) == 1:
                    continue
                expr = next((_Expr(f"{p} * {column[0] // base[0]}" if column[0] != base[0] else p)
                             for p, base in values.items()
                             if all(b > 0 and c % b == 0 for b, c in zip(base, column))
                             and len({c // b for b, c in zip(base, column)}) == 1), None)
                if expr is None:
                    expr = _Expr(_unique(key, set(values) | {"name", "from", "repeat", "input"}))
                    values[str(expr)] = column
                layer.settings[key] = expr
        keep = _shared_name(names, set(blocks) | set(OPS))
        blocks[keep] = bodies[0]
        params_of[keep] = list(values)
        for k, name in enumerate(names):
            uses[name] = (keep, {p: column[k] for p, column in values.items()})
            if name != keep:
                del blocks[name]
    for layer in layers:
        if layer.op in uses:
            layer.op, settings = uses[layer.op]
            layer.settings = {**layer.settings, **settings}
    return params_of


def _shared_name(names: list[str], used: set) -> str:
    """The name of a block that stands for ``names``: what they share without their
    numbers (``layer1_rest_block``, ``layer2_rest_block`` -> ``layer_rest_block``), when
    that is one free name; else the first."""
    bare = {re.sub(r"_+", "_", re.sub(r"\d+", "", n)).strip("_") for n in names}
    if len(bare) == 1:
        (name,) = bare
        if _PLAIN.match(name) and (name in names or name not in used):
            return name
    return names[0]


def _unique(base: str, used: set) -> str:
    name, k = base, 1
    while name in used:
        k += 1
        name = f"{base}_{k}"
    used.add(name)
    return name


def _fold_repeats(graph: Graph, layers: list[_Layer], names: dict) -> list[_Layer]:
    """Fold runs ``x.0``, ``x.1``, ... ``x.k`` (k >= 1) of one op with the same settings,
    each copy read only by the next one, into one layer ``x`` with ``repeat: k + 1``,
    which expands to the graph's names again; ``x`` then names the last copy."""
    consumers = graph.consumers()
    outputs = set(graph.outputs)
    used = set(names.values())
    out: list[_Layer] = []
    i = 0
    while i < len(layers):
        first = layers[i]
        m = _INDEXED.match(first.path)
        j = i + 1
        if m and m.group(2) == "0" and _PLAIN.match(m.group(1)) and m.group(1) not in used:
            base = m.group(1)
            while (j < len(layers) and layers[j].path == f"{base}.{j - i}"
                   and layers[j].op == first.op and layers[j].settings == first.settings
                   and not first.repeat
                   and layers[j].node.inputs == [layers[j - 1].node.name]
                   and consumers[layers[j - 1].node.name] == [layers[j].node.name]
                   and layers[j - 1].node.name not in outputs):
                j += 1
            if j - i >= 2:
                first.repeat, first.last = j - i, layers[j - 1].node
                names[first.last.name] = base
                used.add(base)
        out.append(first)
        i = j
    return out


# -- YAML text --------------------------------------------------------------------------------

def _flow(items: dict) -> str:
    return "{" + ", ".join(f"{k}: {_value(v)}" for k, v in items.items()) + "}"


def _value(v) -> str:
    if isinstance(v, _Expr):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return _flow(v)
    return _scalar(v)


def _scalar(v) -> str:
    """One YAML 1.2 scalar that netc reads back as ``v``."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        assert math.isfinite(v)
        text = repr(v)          # 0.001, 1e-06: numbers in YAML 1.2's core schema;
        if "e" in text and "." not in text:     # 1.0e-06 in YAML 1.1's (PyYAML's) too
            text = text.replace("e", ".0e", 1)
        return text
    text = str(v)
    if _PLAIN.match(text) and text.lower() not in _YAML_WORDS:
        return text
    return safe_json(json.dumps(text))   # a JSON string is a YAML double-quoted scalar (no DEL, no ##[)


def _basename(path: str) -> str:
    import os

    return os.path.basename(path)
