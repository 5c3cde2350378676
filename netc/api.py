"""The Python API: ``netc.load(path)`` gives a ``Network`` whose analysis the CLI prints.

``load`` reads netc files and ONNX models alike, told apart by content: a file
that starts with a control character (a serialized ModelProto starts with the
key of ``ir_version``, byte 0x08), holds a NUL, or is not UTF-8 and holds a
control character (protobuf's lengths and keys) is read as ONNX
(netc/onnx/reader.py, which alone imports onnx); text with a stray control
character further on stays a netc file, whose error then points at it, and so
does text that is not UTF-8 (a Latin-1 'é' in a comment): its error names the
byte's line and column.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from .analysis import Analysis, analyze
from .expand import expand, note_defaults
from .diagnostics import NetcError
from .graph import Graph
from .memory import Memory, memory
from .overrides import OverrideError
from .source import Source, parse, read_bytes, read_file


@dataclass
class Network:
    """A loaded, expanded and analyzed network."""

    source: Source
    graph: Graph
    analysis: Analysis
    _memory: dict = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return self.graph.name

    @property
    def layers(self):
        return self.analysis.layers

    @property
    def totals(self):
        return self.analysis.totals

    def memory(self, batch: int = 1, dtype: str = "float32", optimizer: str = "sgd") -> Memory:
        return memory(self.analysis, batch, dtype, optimizer)


SNIFF_BYTES = 4096
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def load(path: str | os.PathLike, params: dict | None = None, input_shape=None,
         partial: bool = False) -> Network:
    """Read, validate, expand and analyze a netc file, or read an ONNX model;
    raise NetcError on invalid input.

    ``params`` overrides values of the file's ``params:`` (as ``--set`` does; a
    string is read as if written in the file), ``input_shape`` its input shape
    (as ``--input``); either naming what the file lacks raises OverrideError.
    ``partial``: an ONNX model with ops netc cannot read gives the network of what
    it can read, ``graph.unread`` holding the error."""
    if is_binary(path):
        if params or input_shape is not None:
            raise OverrideError(f"{os.fspath(path)} is an ONNX model: parameter and input-shape overrides "
                                "(--set, --input) apply to netc files")
        from .onnx.reader import read_onnx

        graph = read_onnx(path, partial)
        return Network(graph.source, graph, analyze(graph))
    return _network(read_file(path), params, input_shape)


def is_binary(path: str | os.PathLike) -> bool:
    """Whether the file is binary rather than text: its first byte a control character
    other than tab and line breaks, a NUL in its first 4 KiB, or invalid UTF-8 there
    with a control character. Invalid UTF-8 without one is text in another encoding
    (Latin-1, Windows-1252), for ``read_file`` to report where. An unreadable file is
    not binary (``read_file`` reports why it cannot be read)."""
    try:
        with open(path, "rb") as f:
            head = f.read(SNIFF_BYTES)
    except OSError:
        return False
    if _CONTROL.match(head) or b"\0" in head:
        return True
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as e:
        # not a character cut by the sniff's end, and a control byte as protobuf writes them
        return e.start < len(head) - 3 and _CONTROL.search(head) is not None
    return False


def loads(text: str | bytes, name: str = "<string>", params: dict | None = None, input_shape=None) -> Network:
    """Like ``load``, from the text of a netc file (or its bytes, checked as a file's are)."""
    return _network(parse(text, name) if isinstance(text, str) else read_bytes(text, name), params, input_shape)


def _network(src: Source, params: dict | None = None, input_shape=None) -> Network:
    try:
        graph = expand(src, params, input_shape)     # the schema's errors too, with every other one
        try:
            return Network(src, graph, analyze(graph))
        except NetcError as e:
            note_defaults(e, graph)                   # a shape that 'defaults:' set: say where
            raise
    except NetcError as e:
        overrides = [f"{k}={v}" for k, v in (params or {}).items()]
        if input_shape is not None:
            overrides.append("input shape " + ",".join(str(d) for d in input_shape))
        if overrides:   # the file alone may be fine: say what it was loaded with
            for d in e.diagnostics:
                d.notes.append((None, "with the overrides " + ", ".join(overrides)))
        raise


def to_torch(network: "Network | str | os.PathLike", params: dict | None = None, input_shape=None,
             seed: int = 0):
    """The network as a ``torch.nn.Module`` (netc/torch/): module names follow the layer
    names (block instances as nested modules), weights drawn from the file's init schemes
    with ``seed`` (the values ``netc build --seed`` writes), the forward following the
    graph (several outputs as a tuple), batchnorm running statistics as buffers.
    ``network`` is a loaded ``Network`` or the path of a netc file (then ``params`` and
    ``input_shape`` as for ``load``). Raises ``MissingExtra`` without torch, ``BuildError``
    for an op with no PyTorch rule."""
    from .diagnostics import MissingExtra

    if not isinstance(network, Network):
        network = load(network, params, input_shape)
    elif params or input_shape is not None:
        raise OverrideError("params and input_shape apply to a path; load the network with them instead")
    if is_onnx_network(network):
        raise OverrideError("netc.to_torch writes netc files as PyTorch modules, not ONNX models "
                            "(netc import writes an ONNX model as a netc file first)")
    try:
        from .torch.module import to_torch as _to_torch
    except ImportError as e:
        if (e.name or "").split(".")[0] not in ("torch", "numpy"):
            raise
        raise MissingExtra(f"netc.to_torch needs the 'torch' extra ({e.name} is not installed): "
                           "pip install 'netc[torch]'") from None
    if not 0 <= seed < 1 << 64:
        raise OverrideError(f"seed {seed} is out of range: expected 0 to 2**64 - 1")
    return _to_torch(network, seed)


def from_torchvision(network: "Network | str | os.PathLike", state_dict: dict, arch: str | None = None) -> dict:
    """torchvision's state_dict of ``arch`` (by default the network's name: resnet18,
    resnet50, resnet152, mobilenet_v2, efficientnet_b0, convnext_tiny) renamed to the
    module names ``to_torch`` gives the zoo file of the same network (netc/torch/
    torchvision_keys.py): ``netc.to_torch(net).load_state_dict(netc.from_torchvision(net,
    tv_model.state_dict()))``. Raises ``NetcError`` naming every missing, unexpected or
    mis-shaped key, ``BuildError`` for an architecture netc has no mapping for."""
    if not isinstance(network, Network):
        network = load(network)
    from .torch.torchvision_keys import from_torchvision as _from_torchvision

    return _from_torchvision(network, state_dict, arch)


def is_onnx_network(network: Network) -> bool:
    """A network read from an ONNX model: its places are nodes, not lines (``Span.line`` 0)."""
    return network.graph.input_span is not None and network.graph.input_span.line == 0
