"""Renderers of ``netc summary``: text, json, markdown, csv and html (``summary.py``).
Computing lives elsewhere; these only format an Analysis and a Memory."""

from .summary import (FORMATS, approx, as_dict, big, csv_text, field_text, html, human_bytes,
                      human_count, json_text, markdown, text)

__all__ = ["FORMATS", "approx", "as_dict", "big", "csv_text", "field_text", "html", "human_bytes",
           "human_count", "json_text", "markdown", "text"]
