"""Renderers of ``netc summary``: text, json, markdown and csv (``summary.py``); the html
report, which also draws and lints, is netc/draw/html.py's. Computing lives elsewhere;
these only format an Analysis and a Memory."""

from .summary import (FORMATS, approx, as_dict, big, csv_text, field_text, human_bytes,
                      human_count, json_text, markdown, text)

__all__ = ["FORMATS", "approx", "as_dict", "big", "csv_text", "field_text", "human_bytes",
           "human_count", "json_text", "markdown", "text"]
