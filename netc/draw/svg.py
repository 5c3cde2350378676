"""A minimal SVG writer: elements appended in order, numbers rounded to 0.1 so
that the same drawing is the same bytes on every run and platform. Every text and
attribute value goes through ``safe_text`` (no control character, which XML 1.0 forbids)
and XML escaping, so a name from a model never breaks the document."""

from __future__ import annotations

from xml.sax.saxutils import escape as _escape, quoteattr as _quoteattr

from ..safe_text import safe_text

FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
CHAR_WIDTH = 0.6          # average advance of a character, in font sizes (for layout only)


def num(x: float) -> str:
    """``x`` rounded to one decimal, without a trailing ``.0`` or a negative zero."""
    text = f"{x:.1f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def escape(text: str) -> str:
    """``text`` as XML character data: visible, one line, well-formed."""
    return _escape(safe_text(text))


def quoteattr(text: str) -> str:
    """``text`` as a quoted XML attribute value."""
    return _quoteattr(safe_text(text))


def text_width(text: str, size: float) -> float:
    return len(text) * size * CHAR_WIDTH


_KEYS: dict[str, str] = {}
_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 #.,-_()%:")


def _attr_value(v) -> str:
    if isinstance(v, float) or (isinstance(v, int) and not isinstance(v, bool)):
        return f'"{num(v)}"'
    v = str(v)
    return f'"{v}"' if _PLAIN.issuperset(v) else quoteattr(v)


def _attrs(attrs: dict) -> str:
    """``stroke_width=1`` -> ``stroke-width="1"`` (a trailing ``_`` frees a keyword: ``class_``)."""
    out = []
    for k, v in attrs.items():
        if v is None:
            continue
        key = _KEYS.get(k)
        if key is None:
            key = _KEYS[k] = k.rstrip("_").replace("_", "-")
        out.append(f" {key}={_attr_value(v)}")
    return "".join(out)


class Svg:
    """An SVG document built element by element."""

    def __init__(self):
        self.parts: list[str] = []

    def add(self, tag: str, content: str | None = None, **attrs) -> None:
        if content is None:
            self.parts.append(f"<{tag}{_attrs(attrs)}/>")
        else:
            self.parts.append(f"<{tag}{_attrs(attrs)}>{escape(content)}</{tag}>")

    def open(self, tag: str, **attrs) -> None:
        self.parts.append(f"<{tag}{_attrs(attrs)}>")

    def close(self, tag: str) -> None:
        self.parts.append(f"</{tag}>")

    def rect(self, x, y, w, h, **attrs) -> None:
        self.add("rect", x=x, y=y, width=w, height=h, **attrs)

    def polygon(self, points, **attrs) -> None:
        self.add("polygon", points=" ".join(f"{num(x)},{num(y)}" for x, y in points), **attrs)

    def line(self, x1, y1, x2, y2, **attrs) -> None:
        self.add("line", x1=x1, y1=y1, x2=x2, y2=y2, **attrs)

    def path(self, d: str, **attrs) -> None:
        self.add("path", d=d, **attrs)

    def text(self, x, y, content: str, size: float = 11, **attrs) -> None:
        self.add("text", content, x=x, y=y, font_size=size, **attrs)

    def title(self, lines: list[str]) -> None:
        """A tooltip of several lines: each line escaped, then joined by line breaks."""
        self.parts.append(f"<title>{chr(10).join(escape(line) for line in lines)}</title>")

    def document(self, width: float, height: float, title: str, kind: str) -> str:
        head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="netc-{kind}" width="{num(width)}" '
                f'height="{num(height)}" viewBox="0 0 {num(width)} {num(height)}" font-family={quoteattr(FONT)}>')
        body = [head, f"<title>{escape(title)}</title>",
                f'<rect x="0" y="0" width="{num(width)}" height="{num(height)}" fill="#ffffff"/>',
                *self.parts, "</svg>"]
        return "\n".join(body) + "\n"
