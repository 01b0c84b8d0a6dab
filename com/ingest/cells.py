"""Cells of an uploaded table (blank, tidy text, JSON value) and cells of a written CSV."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from operator import itemgetter
from typing import cast

from com.ingest.readers import json_safe
from com.io.escape import escape_formula
from com.text.thai import is_blank

__all__ = [
    "all_tidy_text", "cell_json", "csv_cell", "is_blank_cell", "json_column", "json_text",
    "tidy_text",
]

_WHITESPACE = re.compile(r"\s+")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)


def tidy_text(text: str) -> str:
    """Return text as the uploader wrote it, tidied.

    NFC, no invisible characters, single spaces. Unlike :func:`com.text.thai.clean_text` it keeps
    Thai digits: names and notes are shown back as written.
    """
    # Most cells are already tidy: printable (no tabs, newlines, invisible or odd spaces),
    # single-spaced, trimmed and NFC. Checking that is far cheaper than rebuilding them.
    if (text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " "
            and unicodedata.is_normalized("NFC", text)):
        return text
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFC", text).translate(_INVISIBLE)).strip()


def all_tidy_text(values: Sequence[object]) -> bool:
    """Say whether every cell is text that is not blank and already tidy (:func:`tidy_text`).

    Then each cell is its own tidy text. Checked on the column joined by ``|`` (printable, a
    starter that composes with nothing, so NFC and the space rules read each cell as alone):
    a handful of passes in C instead of a call per cell.
    """
    if not values or set(map(type, values)) != {str} or "" in values:
        return False
    texts = cast("Sequence[str]", values)
    heads = set(map(itemgetter(0), texts))
    # A text starting with a letter or digit other than n/N is never blank (is_blank_cell).
    if not all(h.isalnum() and h not in "nN" for h in heads):
        return False
    joined = "|".join(texts)
    return (joined.isprintable() and "  " not in joined and " |" not in joined
            and "| " not in joined and joined[0] != " " and joined[-1] != " "
            and unicodedata.is_normalized("NFC", joined))


def is_blank_cell(value: object) -> bool:
    """Return :func:`com.text.thai.is_blank` of a cell, faster.

    Text starting with a letter or digit other than n/N is never blank (the blank words all
    start with n), so it is not cleaned first.
    """
    if value is None:
        return True
    if type(value) is str:
        head = value[:1]  # a leading space is not alphanumeric: such text is cleaned below
        if head.isalnum() and head not in "nN":
            return False
    return is_blank(value)


def cell_json(value: object) -> object:
    """Return a cell as JSON (text as it is: the common case, checked first)."""
    return value if type(value) is str else json_safe(value)


def csv_cell(value: object) -> object:
    """Return a value for a CSV cell: empty for None, JSON for dicts and lists, escaped text."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False)
    return escape_formula(value)


#: One encoder for JSON stored per row (json.dumps with options builds a new one per call).
json_text = json.JSONEncoder(ensure_ascii=False, default=str).encode


def json_column(value: object) -> object:
    """Return a dict or list as JSON text (as a JSONB column takes it), any other value as is."""
    if isinstance(value, dict | list):
        if not value:  # most attributes: no extra column, nothing unreadable
            return "{}" if isinstance(value, dict) else "[]"
        return json_text(value)
    return value
