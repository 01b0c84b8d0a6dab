"""Thai line breaking for layout engines without it, on pythainlp's word boundaries.

Thai is written without spaces between words; ReportLab breaks lines only at spaces, so a Thai
sentence would run off the page or break inside a word. pythainlp's dictionary tokeniser
(``newmm``) gives the word boundaries; lines are filled word by word against the font's real
advance widths.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache


@lru_cache(maxsize=4096)
def thai_words(text: str) -> tuple[str, ...]:
    """Return ``text`` split at Thai word boundaries (spaces kept as their own tokens)."""
    from pythainlp.tokenize import word_tokenize  # deferred: loads its dictionary once

    words: list[str] = []
    for word in word_tokenize(text, engine="newmm", keep_whitespace=True):
        # An opening bracket belongs to the word after it, a closing one to the word before.
        if words and (words[-1] in _OPENING or word in _CLOSING or word in ",:;.%"):
            words[-1] += word
        else:
            words.append(word)
    return tuple(words)


_OPENING = frozenset({"(", "[", "\"", "“"})
_CLOSING = frozenset({")", "]", "”"})


def wrap_thai(text: str, width: float, measure: Callable[[str], float]) -> list[str]:
    """Return the lines of ``text`` that fit ``width``, broken only between words.

    Parameters
    ----------
    text : str
        Text (Thai, English or both); newlines start new lines.
    width : float
        Line width, in the unit of ``measure``.
    measure : callable
        Width of a string in the font and size used (e.g. ReportLab's ``stringWidth``).

    Returns
    -------
    list of str
        The lines; a word wider than the line stands alone on its line.

    Examples
    --------
    >>> wrap_thai("สวัสดีครับ", 1e9, len)
    ['สวัสดีครับ']
    """
    lines: list[str] = []
    for paragraph in text.split("\n"):
        current = ""
        for word in thai_words(paragraph):
            candidate = current + word
            if not current or measure(candidate.rstrip()) <= width:
                current = candidate
            else:
                lines.append(current.rstrip())
                current = word.lstrip()
        lines.append(current.rstrip())
    return lines
