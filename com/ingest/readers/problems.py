"""What can go wrong reading an upload, said in the uploader's words, with the file's name."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from com.errors import UploadError

__all__ = [
    "FileTooLarge",
    "UnsupportedFileType",
    "describe_problem",
    "upload_name",
    "with_file_name",
]


class UnsupportedFileType(UploadError):
    """The file is not of a supported type, or not the type its name says (HTTP 415)."""


class FileTooLarge(UploadError):
    """The file, or what it expands to, is over a configured limit (HTTP 413)."""


# --------------------------------------------------------------------------- error text

#: Library messages that mean "damaged", said in the uploader's words (the originals quote
#: SQL run on the file, server paths or driver hints that tell the uploader nothing).
_KNOWN_PROBLEMS = (
    ("malformed", "the file is damaged: cut short or overwritten"),
    ("file is not a database", "the file is damaged or is not a database file"),
    ("not recognized as being in a supported file format",
     "the file is damaged or is not in the format its name says"),
    ("no valid workbook part", "the workbook part is missing"),
    ("little-endian", "the file is damaged: its header is not an Excel 97-2003 header"),
    ("unsupported format, or corrupt file", "the file is damaged or not an Excel workbook"),
)
#: Text that must never reach an uploader: SQL, server paths, byte and exception reprs.
_INTERNAL_TEXT = re.compile(
    r"\b(?:SELECT|INSERT|UPDATE|DELETE|CREATE|PRAGMA|sqlite\w*)\b"
    r"|(?:^|[\s'\"(=])(?:/vsi\w+)?/(?:tmp|var|home|usr|proc|work|root|opt|etc|srv|run|dev)\b"
    r"|[A-Za-z]:\\|b'|b\"|\\x[0-9a-f]{2}|<DRIVER>|\w+(?:Error|Exception)\(|Traceback",
    re.IGNORECASE,
)
#: A class's repr, ``EntitiesForbidden(name='x')`` (case matters, so kept apart).
_REPR = re.compile(r"\b[A-Z][a-z]+[A-Z]\w*\(")


def describe_problem(exc: BaseException, fallback: str = "the file is damaged") -> str:
    """Say what a reading library found wrong, without its internals (issue 11).

    Known messages become plain words; otherwise the parts of the message (split at ``;``)
    that quote SQL, a server path, bytes or an exception's repr are dropped, and when
    nothing is left ``fallback`` is said.

    Examples
    --------
    >>> describe_problem(ValueError("sqlite3_prepare_v2(SELECT 1) failed: database disk "
    ...                             "image is malformed"))
    'the file is damaged: cut short or overwritten'
    >>> describe_problem(ValueError("At line 1, character 36: Missing value"))
    'At line 1, character 36: Missing value'
    """
    text = str(exc)
    lower = text.lower()
    for needle, problem in _KNOWN_PROBLEMS:
        if needle in lower:
            return problem
    kept: list[str] = []
    for part in re.split(r";\s*|\n", text):
        part = part.strip()
        if (part and not _INTERNAL_TEXT.search(part) and not _REPR.search(part)
                and part not in kept):
            kept.append(part)
    out = "; ".join(kept)
    return (out[:300] + "...") if len(out) > 300 else (out or fallback)


def with_file_name(exc: UploadError, name: str) -> UploadError:
    """Put the uploader's file name in front of the error's message (once), in place; return it."""
    message = str(exc)
    if message.startswith(f"{name}:"):
        return exc
    # The same object with a new message: subclasses may carry more than the message (the
    # column descriptions of ColumnsNotRecognised) and take other constructor arguments.
    exc.args = (f"{name}: {message}", *exc.args[1:])
    return exc


def upload_name(filename: str) -> str:
    """Return the file name an uploader gave, without any folders (Windows ones too)."""
    return PurePosixPath(filename.replace("\\", "/")).name or "upload"
