"""An ONNX file without its weights' bytes, for reading shapes in bounded memory.

``onnx.load`` reads the whole file and parses it: two copies of every weight in
memory (a 100 MB model peaks at about 2.4x its size). ``skeleton(path)`` maps the
file and walks its protobuf wire format instead, copying every field except the
data of tensors longer than ``KEEP_BYTES`` (``raw_data`` and the packed
``float_data``, ``int64_data``... fields), which it skips without touching, so
only the model's structure is read; ``onnx.ModelProto.FromString`` then parses
the small result. Small tensors (shape constants, Clip bounds) keep their data.

Fields descended into: ModelProto.graph (7); GraphProto.node (1), .initializer
(5); NodeProto.attribute (5); AttributeProto.t (5), .g (6), .tensors (10),
.graphs (11). Everything else is copied as it is.

The walk is Python, a loop per field: a file of ``DIRECT_BYTES`` or less is parsed
whole by protobuf instead (in C: a model padded with millions of unknown fields
parses in a fraction of a second), and ``trim`` then clears the same tensor data
the walk skips, so both ways read the same model. A larger file is walked with a
budget of ``MAX_FIELDS`` fields outside the skipped data (a real model has far
fewer: its size is in its weights); field number 0, which protobuf never writes
(64 MiB of zero bytes), ends the walk at its first byte.
"""

from __future__ import annotations

import mmap
import os

KEEP_BYTES = 1024
MAX_DEPTH = 64
DIRECT_BYTES = 32 << 20      # a file this size or smaller is parsed whole, then trimmed
MAX_FIELDS = 4_000_000       # fields walked in a larger file, outside the data skipped

_TENSOR_DATA = {4, 5, 6, 7, 9, 10, 11}       # float, int32, string, int64, raw, double, uint64
_TENSOR: dict = {}
_GRAPH: dict = {}
_ATTRIBUTE = {5: _TENSOR, 6: _GRAPH, 10: _TENSOR, 11: _GRAPH}
_NODE = {5: _ATTRIBUTE}
_GRAPH.update({1: _NODE, 5: _TENSOR})
_MODEL = {7: _GRAPH}


class WireError(ValueError):
    """The bytes are not a well-formed protobuf message."""


class TooManyFields(Exception):
    """A file of more than ``MAX_FIELDS`` fields outside its weights' data."""


def trim(model) -> None:
    """Clear from a parsed ``onnx.ModelProto`` the tensor data ``skeleton`` skips: each
    data field of a tensor longer than ``KEEP_BYTES`` in the graph's initializers and
    the attributes of its nodes (nodes of ``KEEP_BYTES`` or less are copied whole by the
    walk, so their tensors are kept), subgraphs included."""
    todo = [(model.graph, 0)] if model.HasField("graph") else []
    while todo:
        graph, depth = todo.pop()
        tensors = list(graph.initializer)
        for node in graph.node:
            if node.ByteSize() <= KEEP_BYTES:
                continue
            for a in node.attribute:
                if a.HasField("t"):
                    tensors.append(a.t)
                tensors.extend(a.tensors)
                if depth + 1 < MAX_DEPTH:
                    todo.extend((g, depth + 1) for g in (*([a.g] if a.HasField("g") else []), *a.graphs))
        for t in tensors:
            _trim_tensor(t)


_DATA_FIELDS = ("float_data", "int32_data", "int64_data", "double_data", "uint64_data")


def _trim_tensor(t) -> None:
    if len(t.raw_data) > KEEP_BYTES:
        t.ClearField("raw_data")
    for name in _DATA_FIELDS:
        if _packed_size(getattr(t, name), name) > KEEP_BYTES:
            t.ClearField(name)
    if any(len(s) > KEEP_BYTES for s in t.string_data):
        kept = [s for s in t.string_data if len(s) <= KEEP_BYTES]
        t.ClearField("string_data")
        t.string_data.extend(kept)


def _packed_size(values, name: str) -> int:
    """The bytes of a packed repeated field as protobuf writes it (fixed words or varints)."""
    if name in ("float_data", "double_data"):
        return (4 if name == "float_data" else 8) * len(values)
    if len(values) > KEEP_BYTES:
        return len(values)                 # a varint takes a byte at least: past the limit
    return sum(len(_encode_varint(v & (1 << 64) - 1)) for v in values)


def skeleton(path: str) -> bytes:
    """The serialized ModelProto at ``path`` without the data of its large tensors."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            return b""
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            return bytes(_walk(mm, 0, size, _MODEL, 0, [MAX_FIELDS]))


def _varint(buf, i: int, end: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if i >= end or shift > 63:
            raise WireError("truncated or overlong varint")
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, i
        shift += 7


def _encode_varint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _walk(buf, start: int, end: int, schema: dict, depth: int, budget: list) -> bytearray:
    """Copy the message in buf[start:end], descending into ``schema``'s fields;
    ``budget[0]`` counts down the fields left to walk."""
    out = bytearray()
    i = start
    tensor = schema is _TENSOR
    while i < end:
        key_start = i
        key, i = _varint(buf, i, end)
        field, wire = key >> 3, key & 7
        if field == 0:
            raise WireError("field number 0")
        budget[0] -= 1
        if budget[0] < 0:
            raise TooManyFields(f"more than {MAX_FIELDS:,} protobuf fields outside the weights' data")
        if wire == 0:
            _, i = _varint(buf, i, end)
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        elif wire == 2:
            key_end = i
            n, i = _varint(buf, i, end)
            body, i = i, i + n
            if i > end:
                raise WireError("a field runs past the end of its message")
            if tensor and field in _TENSOR_DATA and n > KEEP_BYTES:
                continue                                  # the weights' bytes: never read
            child = schema.get(field)
            if child is not None and depth < MAX_DEPTH and (child is not _NODE or n > KEEP_BYTES):
                inner = _walk(buf, body, i, child, depth + 1, budget)
                out += buf[key_start:key_end]
                out += _encode_varint(len(inner))
                out += inner
                continue
        else:
            raise WireError(f"wire type {wire} does not occur in ONNX")
        if i > end:
            raise WireError("a field runs past the end of its message")
        out += buf[key_start:i]
    return out
