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
"""

from __future__ import annotations

import mmap
import os

KEEP_BYTES = 1024
MAX_DEPTH = 64

_TENSOR_DATA = {4, 5, 6, 7, 9, 10, 11}       # float, int32, string, int64, raw, double, uint64
_TENSOR: dict = {}
_GRAPH: dict = {}
_ATTRIBUTE = {5: _TENSOR, 6: _GRAPH, 10: _TENSOR, 11: _GRAPH}
_NODE = {5: _ATTRIBUTE}
_GRAPH.update({1: _NODE, 5: _TENSOR})
_MODEL = {7: _GRAPH}


class WireError(ValueError):
    """The bytes are not a well-formed protobuf message."""


def skeleton(path: str) -> bytes:
    """The serialized ModelProto at ``path`` without the data of its large tensors."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            return b""
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            return bytes(_walk(mm, 0, size, _MODEL, 0))


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


def _walk(buf, start: int, end: int, schema: dict, depth: int) -> bytearray:
    """Copy the message in buf[start:end], descending into ``schema``'s fields."""
    out = bytearray()
    i = start
    tensor = schema is _TENSOR
    while i < end:
        key_start = i
        key, i = _varint(buf, i, end)
        field, wire = key >> 3, key & 7
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
                inner = _walk(buf, body, i, child, depth + 1)
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
