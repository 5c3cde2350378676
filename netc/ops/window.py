"""Window arithmetic shared by every sliding-window op (conv, maxpool, avgpool).

The paper's equations 1 and 2, with dilation and asymmetric padding::

    L_out = floor((N + P_begin + P_end - D*(F - 1) - 1) / S) + 1

The division is *exact* when (N + P_begin + P_end - D*(F-1) - 1) % S == 0;
when it is not, the last input rows are never covered by any window and every
framework drops them silently. ``Window`` records how many.
"""

from __future__ import annotations

from dataclasses import dataclass


class ShapeError(ValueError):
    """A shape rule cannot be satisfied; ``param`` names the parameter to blame."""

    def __init__(self, message: str, param: str | None = None):
        super().__init__(message)
        self.param = param


@dataclass(frozen=True)
class Window:
    """One spatial dimension of a sliding window and what it covers."""

    size: int            # N: input length
    kernel: int          # F
    stride: int          # S
    pad_begin: int
    pad_end: int
    dilation: int = 1    # D
    ceil_mode: bool = False
    out: int = 0         # L_out
    remainder: int = 0   # (N + P - D(F-1) - 1) mod S: 0 when the division is exact
    dropped: int = 0     # input rows after the last window, never read
    skipped: int = 0     # input rows between windows never read (stride > extent)

    @property
    def extent(self) -> int:
        """The dilated kernel extent D*(F-1)+1."""
        return self.dilation * (self.kernel - 1) + 1

    @property
    def exact(self) -> bool:
        return self.remainder == 0

    @property
    def padding(self) -> int:
        return self.pad_begin + self.pad_end

    @property
    def overhang(self) -> int:
        """How far the last window reaches past the end of the padded input (ceil mode)."""
        return max(0, (self.out - 1) * self.stride + self.extent - (self.size + self.padding))

    @property
    def ceil_disagrees(self) -> bool:
        """Ceil mode, and the plain ceil((N + P - E)/S) + 1 of ONNX shape inference keeps a
        last window starting in the end padding, which PyTorch (and netc) drop."""
        span = self.size + self.padding - self.extent
        return self.ceil_mode and -(-span // self.stride) + 1 != self.out


def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow's SAME: out = ceil(N/S); total pad split with the extra row at the end."""
    extent = dilation * (kernel - 1) + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + extent - size, 0)
    return total // 2, total - total // 2


def ceil_out(size: int, stride: int, pad_begin: int, span: int) -> int:
    """PyTorch's ceil mode: ceil(span / S) + 1, less one when the last window would start
    in the end padding (it must start inside the input or the left padding). ONNX shape
    inference and some runtimes keep that window: see ``Window.ceil_disagrees``.
    A kernel larger than the padded input still gives one window when span > -S."""
    out = -(-span // stride) + 1
    if (out - 1) * stride >= size + pad_begin:
        out -= 1
    return out


def slide(size: int, kernel: int, stride: int, pad_begin: int, pad_end: int,
          dilation: int = 1, ceil_mode: bool = False) -> Window:
    """Apply equation 2 to one dimension; raise ShapeError when no window fits."""
    extent = dilation * (kernel - 1) + 1
    padded = size + pad_begin + pad_end
    span = padded - extent
    out = ceil_out(size, stride, pad_begin, span) if ceil_mode else span // stride + 1
    if out < 1:
        what = f"kernel {kernel}" + (f" (dilated to {extent})" if dilation > 1 else "")
        raise ShapeError(f"{what} is larger than the padded input {size}"
                         + (f" + {pad_begin + pad_end}" if pad_begin + pad_end else "")
                         + f": output would be {out}", "kernel")
    remainder = span % stride
    covered_end = (out - 1) * stride + extent          # in padded coordinates
    dropped = min(size, max(0, pad_begin + size - covered_end))   # real rows past the last window
    skipped = 0
    if stride > extent:   # the gaps [i*S + E, (i+1)*S) between windows, i < out - 1, on real rows
        lo, hi = pad_begin, min(pad_begin + size, (out - 1) * stride)
        if hi > lo:
            skipped = _in_gaps(hi, stride, extent) - _in_gaps(lo, stride, extent)
    return Window(size, kernel, stride, pad_begin, pad_end, dilation, ceil_mode,
                  out, remainder, dropped, skipped)


def _in_gaps(n: int, stride: int, extent: int) -> int:
    """Positions x in [0, n) with x mod S >= E: n//S whole gaps of S - E, then a partial one."""
    return (n // stride) * (stride - extent) + max(0, n % stride - extent)


AXIS_NAMES = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}


def axis_names(n: int) -> tuple[str, ...]:
    """The names of the spatial axes of an n-D map: length; height, width; depth, height, width."""
    return AXIS_NAMES[n]


SIDE_NAMES = {1: "[begin, end]", 2: "[top, bottom, left, right]",
              3: "[front, back, top, bottom, left, right]"}


def _too_many(name: str, value, n: int, sides: bool = False) -> ShapeError:
    names = ", ".join(axis_names(n))
    return ShapeError(f"{name} {list(value)} has {len(value)} entries for a {n}-D map ({names}): "
                      f"write one number for every axis, one per axis ([{names}])"
                      + (f" or a begin and an end per axis ({SIDE_NAMES[n]})" if sides else ""), name)


def per_axis(value, n: int, name: str) -> tuple:
    """A per-axis parameter (``pair``, ``scale``) resolved for an n-D map: a number is the
    same on every axis; a tuple must have one entry per axis (ShapeError naming ``name``)."""
    if isinstance(value, tuple):
        if len(value) != n:
            raise _too_many(name, value, n)
        return value
    return (value,) * n


def pads_per_axis(value, n: int, name: str = "padding"):
    """A ``padding`` value resolved for an n-D map: 'same', or ((begin, end), ...) per axis."""
    if value == "same":
        return value
    if isinstance(value, tuple):
        if len(value) != n:
            symmetric = all(b == e for b, e in value)
            raise _too_many(name, [b for b, _ in value] if symmetric else [v for p in value for v in p], n)
        return value
    return ((value, value),) * n


def sides_per_axis(value, n: int, name: str = "padding") -> tuple:
    """A ``sides`` value resolved for an n-D map: a number, one per axis, or a
    (begin, end) pair per axis written flat ([top, bottom, left, right] in 2-D)."""
    if not isinstance(value, tuple):
        return ((value, value),) * n
    if value and isinstance(value[0], tuple):             # ((begin, end), ...)
        if len(value) != n:
            raise _too_many(name, [v for pair in value for v in pair], n, sides=True)
        return value
    if len(value) == 2 * n:
        return tuple(zip(value[::2], value[1::2]))
    if len(value) == n:
        return tuple((v, v) for v in value)
    raise _too_many(name, value, n, sides=True)


def slide_nd(sizes: tuple[int, ...], kernel, stride, padding, dilation=1,
             ceil_mode: bool = False) -> list[Window]:
    """``slide`` over each spatial axis of a 1-, 2- or 3-D map (eq. 2 per axis). ``kernel``,
    ``stride``, ``dilation``: a number or one per axis; ``padding``: a number, 'same', or
    ((begin, end), ...) per axis. Errors name the axis (length; height, width; depth...)."""
    n = len(sizes)
    kernel, stride = per_axis(kernel, n, "kernel"), per_axis(stride, n, "stride")
    dilation, padding = per_axis(dilation, n, "dilation"), pads_per_axis(padding, n)
    if padding == "same":
        padding = [same_padding(*a) for a in zip(sizes, kernel, stride, dilation)]
    names = axis_names(n)
    windows = []
    for axis, (size, k, s, (pb, pe), d) in enumerate(zip(sizes, kernel, stride, padding, dilation)):
        try:
            windows.append(slide(size, k, s, pb, pe, d, ceil_mode))
        except ShapeError as e:
            raise ShapeError(f"{names[axis]}: {e}", e.param) from None
    return windows
