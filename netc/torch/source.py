"""A network as PyTorch source: one ``nn.Module`` class per block, written through
each op's ``torch`` rule (netc/torch/context.py), with no netc import needed to run it.

    gen = generate(network)        # gen.text: the source; gen.top: the network's class
    gen.entries                    # every state_dict tensor: key, shape, init, ONNX name

Modules are named after the layers: a block instance is a module of its own class
(``layer1[0]``: the instances of a ``repeat`` in an ``nn.ModuleList``), and each layer
that holds weights or slides a window is a module inside it (``layer1[0].branch.conv1``),
so that a state_dict key is the layer name with its tensor's suffix, as the ONNX
initializer of ``netc build`` is named. ``forward`` follows the graph: each block
instance's forward takes the values it reads from outside, in the order it first reads
them, and returns those it gives to the layers after it (a tuple when several); the
network's returns its outputs (a tuple when several). Identical instances share one
class; instances that differ (another width) get one class each (``Basic``, ``Basic2``).

Nothing here imports torch (``netc torch`` and ``netc build --weights`` run without it).
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field

from ..diagnostics import BuildError
from ..graph import activation_after
from ..ops import OPS
from .context import Entry, TorchContext

# attributes of torch.nn.Module (2.x): a module of that name would replace them
MODULE_ATTRIBUTES = frozenset("""
T_destination add_module apply bfloat16 buffers call_super_init children compile cpu cuda double
dump_patches eval extra_repr float forward get_buffer get_extra_state get_parameter get_submodule
half ipu load_state_dict modules mtia named_buffers named_children named_modules named_parameters
parameters register_backward_hook register_buffer register_forward_hook register_forward_pre_hook
register_full_backward_hook register_full_backward_pre_hook register_load_state_dict_post_hook
register_load_state_dict_pre_hook register_module register_parameter register_state_dict_post_hook
register_state_dict_pre_hook requires_grad_ set_extra_state set_submodule share_memory state_dict
to to_empty train training type xpu zero_grad dump_patches
""".split())
# names the forward's code uses: a local variable never takes them
RESERVED = frozenset({"self", "torch", "nn", "F", "x", "math"})

HELPERS = {
    "LayerNorm2d": '''
class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an (N, C, H, W) map at each position (ConvNeXt's);
    of an (N, C, L) or (N, C, D, H, W) map alike."""

    def forward(self, x):
        return super().forward(x.movedim(1, -1)).movedim(-1, 1)
''',
    "Scale": '''
class Scale(nn.Module):
    """A learned multiplier per channel, from ``value``, and a shift from 0 with ``bias``."""

    def __init__(self, shape, value=1.0, bias=False):
        super().__init__()
        self.weight = nn.Parameter(torch.full(shape, float(value)))
        self.bias = nn.Parameter(torch.zeros(shape)) if bias else None

    def forward(self, x):
        x = x * self.weight
        return x if self.bias is None else x + self.bias
''',
    "LinearPReLU": '''
class LinearPReLU(nn.Linear):
    """nn.Linear, then PReLU with one learned slope per unit (``slope``)."""

    def __init__(self, *args, slope=0.25, **kwargs):
        super().__init__(*args, **kwargs)
        self.slope = nn.Parameter(torch.full((self.out_features,), float(slope)))

    def forward(self, x):
        return F.prelu(super().forward(x), self.slope)
''',
    **{f"{base}{n}dPReLU": f'''
class {base}{n}dPReLU(nn.{base}{n}d):
    """nn.{base}{n}d, then PReLU with one learned slope per filter (``slope``)."""

    def __init__(self, *args, slope=0.25, **kwargs):
        super().__init__(*args, **kwargs)
        self.slope = nn.Parameter(torch.full((self.out_channels,), float(slope)))

    def forward(self, x):
        return F.prelu(super().forward(x), self.slope)
''' for base in ("Conv", "ConvTranspose") for n in (1, 2, 3)},
    "avg_pool_padded": '''
def avg_pool_padded(x, kernel, stride, pads, counted):
    """Average pooling of ``x`` zero-padded by ``pads`` (F.pad's: (left, right, top, bottom)
    of a 2-D map), each mean divided by the pixels of its window that are real or in the
    ``counted`` padding (the rest of ``pads`` is not counted): padding that differs between
    sides, which nn.AvgPool1d/2d/3d cannot take."""
    pool = (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)[x.dim() - 3]
    ones = F.pad(x.new_ones(1, 1, *x.shape[2:]), counted, value=1.0)
    rest = [p - c for p, c in zip(pads, counted)]
    total = pool(F.pad(x, pads), kernel, stride)
    return total / pool(F.pad(ones, rest), kernel, stride)
''',
    "channel_shuffle": '''
def channel_shuffle(x, groups):
    """ShuffleNet's channel shuffle: channel g * (C / groups) + i moves to i * groups + g."""
    n, c = x.shape[:2]
    return x.reshape(n, groups, c // groups, *x.shape[2:]).transpose(1, 2).reshape(x.shape)
''',
}


@dataclass
class Generated:
    """The source of a network's module: ``text`` defines class ``top`` (no arguments);
    ``entries`` are its state_dict tensors in order."""

    text: str
    top: str
    entries: list[Entry] = field(default_factory=list)

    def spec(self) -> dict[str, Entry]:
        return {e.key: e for e in self.entries}


@dataclass
class _Scope:
    """A block instance (or the network, ``name`` ''): what it holds, in graph order."""

    name: str
    block: str
    items: list = field(default_factory=list)      # Node or _Scope
    nodes: list = field(default_factory=list)      # every node inside, nested ones too


def class_name(text: str) -> str:
    """``basic_projected`` -> ``BasicProjected``; ``murphy-fig7`` -> ``MurphyFig7``."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+|_", text) if w]
    name = "".join(w[:1].upper() + w[1:] for w in words) or "Net"
    return name if name[0].isalpha() else "Net" + name


def generate(network) -> Generated:
    """Write ``network`` (a ``netc.Network`` of a netc file) as PyTorch source; raise
    ``BuildError`` naming the layer for an op with no torch rule or a name PyTorch
    cannot take."""
    return _Writer(network).write()


class _Writer:
    def __init__(self, network):
        self.net = network
        self.graph = network.graph
        self.reports = {r.name: r for r in network.analysis.layers}
        self.shapes = network.analysis.shapes()
        self.consumers = self.graph.consumers()
        self.helpers: set[str] = set()
        self.entries: list[Entry] = []
        self.classes: dict[str, str] = {}           # class text (name placeholder) -> name
        self.class_order: list[tuple[str, str]] = []
        self.taken_classes: set[str] = set()

    # -- the scope tree ------------------------------------------------------
    def tree(self) -> _Scope:
        root = _Scope("", "")
        scopes = {"": root}
        lines = self.net.source.text.splitlines() if self.net.source is not None else []
        for node in self.graph.nodes:
            parent = root
            for inst, span in node.trace:
                scope = scopes.get(inst)
                if scope is None:
                    scope = scopes[inst] = _Scope(inst, _use_name(lines, span))
                    parent.items.append(scope)
                parent = scope
            parent.items.append(node)
            for inst, _ in node.trace:
                scopes[inst].nodes.append(node)
            root.nodes.append(node)
        return root

    def write(self) -> Generated:
        for node in self.graph.nodes:
            for part in node.name.split("."):
                self._check_name(node, part)
        top = self.scope_class(self.tree(), class_name(self.graph.name))
        classes = "\n\n".join(text.replace("CLASSNAME", name) for text, name in self.class_order)
        helpers = "\n".join(HELPERS[h].strip("\n") + "\n\n" for h in HELPERS if h in self.helpers)
        source = self.net.source.path if self.net.source is not None else "<string>"
        head = (f'"""{self.graph.name}, written by netc from {_doc(str(source))}: a PyTorch module with '
                f'no netc import.\n\n    model = {top}()\n    y = model(torch.randn(1, '
                f'{", ".join(map(str, self.graph.input_shape))}))\n"""\n\n')
        body = helpers + ("\n" if helpers else "") + classes + "\n"
        # the imports the body uses, in isort's order (the file passes ruff's default rules)
        imports = ["import torch"] * bool(re.search(r"\btorch\.", body)) + \
            ["import torch.nn.functional as F"] * bool(re.search(r"\bF\.", body)) + ["from torch import nn"]
        return Generated(head + "\n".join(imports) + "\n\n\n" + body, top, self.entries)

    def _check_name(self, node, part: str) -> None:
        if part.isdigit():
            return
        why = ("a Python keyword" if keyword.iskeyword(part) else
               "an attribute of torch.nn.Module" if part in MODULE_ATTRIBUTES else
               "a private name in PyTorch" if part.startswith("_") else None)
        if why:
            raise BuildError(f"{node.name}: the name {part!r} is {why}, which a PyTorch module cannot "
                             "be called; rename the layer or block use", node.span, node.name)

    # -- one class per scope ---------------------------------------------------
    def scope_class(self, scope: _Scope, name: str | None = None) -> str:
        """Write the class of ``scope`` (its inner scopes first); return its name."""
        inside = {n.name for n in scope.nodes}
        if scope.name:
            inputs = []
            for n in scope.nodes:
                for i in n.inputs:
                    if i not in inside and i not in inputs:
                        inputs.append(i)
            outputs = [n.name for n in scope.nodes
                       if n.name in self.graph.outputs or any(c not in inside for c in self.consumers[n.name])]
        else:
            inputs, outputs = [self.graph.input_name], list(self.graph.outputs)
        params = ["x"] if len(inputs) == 1 else [f"x{i}" for i in range(len(inputs))]
        var = dict(zip(inputs, params))
        used = set(RESERVED) | set(params)
        init: list[tuple[list[str], str]] = []   # (path relative to the scope, constructor)
        init_after: list[str] = []
        body: list[str] = []
        prefix = scope.name + "." if scope.name else ""
        for item in scope.items:
            rel = item.name[len(prefix):].split(".")
            target = "self" + "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in rel)
            local = _fresh("_".join(rel), used)
            if isinstance(item, _Scope):
                cls = self.scope_class(item)
                init.append((rel, f"{cls}()"))
                sub_inputs = []
                sub_inside = {n.name for n in item.nodes}
                for n in item.nodes:
                    for i in n.inputs:
                        if i not in sub_inside and i not in sub_inputs:
                            sub_inputs.append(i)
                sub_outputs = [n.name for n in item.nodes if n.name in self.graph.outputs
                               or any(c not in sub_inside for c in self.consumers[n.name])]
                args = ", ".join(self._var(var, i, item) for i in sub_inputs)
                if len(sub_outputs) == 1:
                    var[sub_outputs[0]] = local
                    body.append(f"{local} = {target}({args})")
                else:
                    names = []
                    for o in sub_outputs:
                        v = _fresh(local + "_" + o[len(item.name) + 1:].replace(".", "_"), used)
                        var[o] = v
                        names.append(v)
                    body.append(f"{', '.join(names)} = {target}({args})")
                continue
            node, report = item, self.reports[item.name]
            op = OPS[node.op]
            ctx = TorchContext(report, [self._var(var, i, node) for i in node.inputs],
                               [self.shapes[i] for i in node.inputs], target,
                               activation_after(node, self.consumers, self.graph.node), self.helpers)
            rule = getattr(op, "torch", None)
            try:
                if rule is None:
                    raise NotImplementedError
                expr = rule(node.params, ctx)
            except NotImplementedError:
                raise BuildError(f"{node.name}: op '{node.op}' has no PyTorch rule yet (netc.to_torch and "
                                 "netc torch cannot write it)", node.span, node.name) from None
            if ctx.constructor is not None:
                init.append((rel, ctx.constructor))
                init_after.extend(ctx.init_lines)
            self.entries.extend(ctx.entries)
            if expr in var.values() and expr not in params:   # a pass-through layer
                var[node.name] = expr
            elif expr in params:
                var[node.name] = expr
            else:
                var[node.name] = local
                body.append(f"{local} = {expr}")
        returns = [self._var(var, o, None) for o in outputs]
        text = self._class_text(scope, params, init, init_after, body, returns)
        if text in self.classes:
            return self.classes[text]
        base = name or class_name(scope.block or "block")
        cls, i = base, 1
        while cls in self.taken_classes:
            i += 1
            cls = f"{base}{i}"
        self.taken_classes.add(cls)
        self.classes[text] = cls
        self.class_order.append((text, cls))
        return cls

    def _var(self, var: dict, name: str, where) -> str:
        if name not in var:  # pragma: no cover - a layer reads a value written after it
            raise BuildError(f"internal error: {name} is not computed before "
                             f"{getattr(where, 'name', 'the output')} in its block's forward")
        return var[name]

    def _class_text(self, scope, params, init, init_after, body, returns) -> str:
        doc = (f"block '{scope.block}'" if scope.name else f"the network {self.graph.name!r}")
        lines = [f"class CLASSNAME(nn.Module):", f'    """{_doc(doc)}."""', "",
                 "    def __init__(self):", "        super().__init__()"]
        lines += ["        " + line for line in _constructors(init)]
        lines += ["        " + line for line in init_after]
        lines += ["", f"    def forward(self, {', '.join(params)}):"]
        lines += ["        " + line for line in body]
        ret = returns[0] if len(returns) == 1 else ", ".join(returns)
        lines.append(f"        return {ret}")
        return "\n".join(lines) + "\n"


def _constructors(init: list[tuple[list[str], str]]) -> list[str]:
    """Assignments that build the modules at their paths: ``self.conv1 = nn.Conv2d(...)``;
    a name with numbered parts (``layer1.0``, ``layer1.1``) an ``nn.ModuleList``, other
    containers a plain ``nn.Module``."""
    tree: dict = {}
    for rel, ctor in init:
        node = tree
        for part in rel[:-1]:
            node = node.setdefault(part, {})
        node[rel[-1]] = ctor
    lines: list[str] = []

    def emit(target: str, node) -> None:
        for key, sub in node.items():
            if isinstance(sub, str):
                lines.append(f"{target}.{key} = {sub}")
            elif _numbered(sub) and all(isinstance(v, str) for v in sub.values()):
                ctors = list(sub.values())
                if len(set(ctors)) == 1 and len(ctors) > 1:
                    lines.append(f"{target}.{key} = nn.ModuleList({ctors[0]} for _ in range({len(ctors)}))")
                else:
                    lines.append(f"{target}.{key} = nn.ModuleList([{', '.join(ctors)}])")
            elif _numbered(sub):
                lines.append(f"{target}.{key} = nn.ModuleList(nn.Module() for _ in range({len(sub)}))")
                for i, child in sub.items():
                    if isinstance(child, str):  # pragma: no cover - mixed lists do not occur
                        lines.append(f"{target}.{key}[{i}] = {child}")
                    else:
                        emit(f"{target}.{key}[{i}]", child)
            else:
                lines.append(f"{target}.{key} = nn.Module()")
                emit(f"{target}.{key}", sub)

    emit("self", tree)
    return lines


def _numbered(node: dict) -> bool:
    return all(k.isdigit() for k in node) and sorted(map(int, node)) == list(range(len(node)))


def _fresh(name: str, used: set[str]) -> str:
    if keyword.iskeyword(name) or not name.isidentifier():
        name = "v_" + name
    out, i = name, 1
    while out in used:
        i += 1
        out = f"{name}_{i}"
    used.add(out)
    return out


def _use_name(lines: list[str], span) -> str:
    """The block name written at a block use (``- stage: {...}``), from the file's text."""
    if span is None or not span.line or span.line > len(lines):
        return "block"
    line = lines[span.line - 1]
    text = line[span.col - 1:(span.end_col - 1) if span.end_line == span.line and span.end_col else None]
    m = re.match(r"\$?([A-Za-z_][A-Za-z0-9_]*)", text)
    return m.group(1) if m else "block"


def _doc(text: str) -> str:
    """Text safe inside a triple-quoted docstring: printable ASCII, no quotes or backslashes."""
    return "".join(c if c.isprintable() and c.isascii() and c not in '"\\' else "?" for c in text)
