"""The op registry. Importing this package registers every op; to add one,
write a module with an ``@register``-ed ``Op`` subclass and import it here."""

from . import (activation, adaptive, channels, conv, dense, lrn, merge, norm, pool, resize,  # noqa: F401
               transpose)  # registration
from . import tensor  # noqa: F401  (after the others: its readers are the generic fallbacks)
from . import arith, reduce, matmul, groupnorm  # noqa: F401,E402  (tensors of any rank: read after the ops above)
from .registry import OPS, Cost, Field, Inferred, Op, Param, Shape, ShapeError, register

__all__ = ["OPS", "Cost", "Field", "Inferred", "Op", "Param", "Shape", "ShapeError", "register"]
