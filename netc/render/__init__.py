"""Renderers of ``netc summary``: text, json, markdown and csv (``summary.py``).
Computing lives elsewhere; these only format an Analysis and a Memory."""

from .summary import FORMATS, as_dict, csv_text, json_text, markdown, text

__all__ = ["FORMATS", "as_dict", "csv_text", "json_text", "markdown", "text"]
