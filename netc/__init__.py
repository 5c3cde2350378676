"""netc: a declarative network compiler and linter for convolutional networks."""

from .api import Network, load, loads
from .diagnostics import Diagnostic, NetcError, Severity, Span
from .overrides import OverrideError

__version__ = "0.1.0"

__all__ = ["Diagnostic", "NetcError", "Network", "OverrideError", "Severity", "Span", "__version__", "load", "loads"]
