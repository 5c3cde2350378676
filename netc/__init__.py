"""netc: a declarative network compiler and linter for convolutional networks."""

from .diagnostics import Diagnostic, NetcError, Severity, Span
from .overrides import OverrideError

__version__ = "0.1.0"

__all__ = ["Diagnostic", "NetcError", "Network", "OverrideError", "Severity", "Span", "__version__", "from_torchvision", "load", "loads",
           "to_torch"]


def __getattr__(name: str):
    """``load``, ``loads`` and ``Network`` import the loader (the op registry, the
    expander) on first use, so that ``netc --version`` or ``netc rule`` stay light."""
    if name in ("Network", "load", "loads", "to_torch", "from_torchvision"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'netc' has no attribute {name!r}")
