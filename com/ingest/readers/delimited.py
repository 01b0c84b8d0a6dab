"""Delimited text (CSV, TSV, ``;`` or ``|``): its encoding, its delimiter, and reading it.

The text is decoded as it is read, never held whole, and reading stops at the row cap. The
module is not called ``csv`` so that ``import csv`` here and elsewhere is plainly the stdlib.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator, Mapping

from com.errors import UploadError
from com.ingest.readers.header_rows import HEADER_SEARCH_ROWS, TableReading, too_many_rows
from com.ingest.readers.problems import FileTooLarge, describe_problem
from com.ingest.readers.table import ReadLimits, SourceTable

__all__ = ["decode_text", "detect_encoding", "open_csv", "read_csv"]


# --------------------------------------------------------------------------- encoding


_DECODE_CHUNK = 1 << 20


def _decodes(data: bytes, encoding: str) -> int | None:
    """Return None when all of ``data`` decodes, else the offset of the first bad byte.

    Decoded chunk by chunk and thrown away: checking a 50 MB file never holds its text.
    """
    decoder = codecs.getincrementaldecoder(encoding)()
    view = memoryview(data)
    for start in range(0, len(data), _DECODE_CHUNK):
        try:
            decoder.decode(view[start:start + _DECODE_CHUNK], final=False)
        except UnicodeDecodeError as exc:
            return start + exc.start
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return len(data)
    return None


def _mostly_thai_cp874(data: bytes) -> bool:
    """Whether the bytes read as cp874 and at least 90% of the non-ASCII letters are Thai.

    Counted on the bytes in chunks (numpy), without decoding the whole file: cp874 maps
    0xA1-0xDA and 0xDF-0xFB to Thai letters, digits and signs (U+0E01-U+0E5B).
    """
    import numpy as np  # deferred: only a file that is not UTF-8 needs it

    if _decodes(data, "cp874") is not None:
        return False
    high = thai = 0
    for start in range(0, len(data), _DECODE_CHUNK):
        chunk = np.frombuffer(data, dtype=np.uint8, count=min(_DECODE_CHUNK, len(data) - start),
                              offset=start)
        high += int(np.count_nonzero(chunk >= 0x80))
        thai += int(np.count_nonzero((chunk >= 0xA1) & (chunk <= 0xFB)))
    return high > 0 and thai >= 0.9 * high


def detect_encoding(data: bytes) -> tuple[str, str]:
    """Tell the text encoding of CSV bytes without decoding them into one string.

    UTF-8 wins whenever the bytes are valid UTF-8. Otherwise cp874 (Windows Thai, a superset
    of TIS-620, what old Thai Excel writes) is used when it decodes to Thai letters, and
    charset-normalizer's guess after that.

    Returns
    -------
    tuple of str
        The Python codec to decode with (``utf-8-sig`` drops a BOM) and the encoding name
        to report.

    Raises
    ------
    UploadError
        When no encoding reads the bytes.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        bad = _decodes(data, "utf-8")
        if bad is not None:
            raise UploadError(f"the file says UTF-8 but byte {bad} is not UTF-8")
        return "utf-8-sig", "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        if _decodes(data, "utf-16") is not None:
            raise UploadError("the file says UTF-16 but cannot be decoded")
        return "utf-16", "utf-16"
    if _decodes(data, "utf-8") is None:
        return "utf-8", "utf-8"
    if _mostly_thai_cp874(data):
        return "cp874", "cp874"
    # deferred: only a file that is neither UTF-8 nor Thai cp874 needs it
    from charset_normalizer import from_bytes

    best = from_bytes(data[: 1 << 20]).best()
    if best is not None and best.encoding:
        try:
            if _decodes(data, best.encoding) is None:
                return best.encoding, best.encoding
        except LookupError:
            pass
    raise UploadError(
        "cannot tell the text encoding of the file; save it as CSV UTF-8 from Excel"
    )


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode CSV bytes (see :func:`detect_encoding`); return the text and the encoding."""
    codec, name = detect_encoding(data)
    return data.decode(codec), name


# --------------------------------------------------------------------------- delimited text


def _line_bound(data: bytes) -> int:
    """Return an upper bound on the lines of a text file, from byte counts (no decoding).

    Every line break is a LF, a CR or a CRLF; in UTF-16 they hold the same bytes.
    """
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n") + 1


_DELIMITERS = ",;\t|"


def _delimiter(sample: str) -> str:
    """Pick the delimiter: csv.Sniffer first, checked by column-count consistency."""
    lines = [ln for ln in sample.splitlines() if ln.strip()][:50]
    if not lines:
        return ","

    def consistency(delim: str) -> tuple[float, int]:
        counts = [len(r) for r in csv.reader(lines, delimiter=delim)]
        if not counts:
            return 0.0, 0
        width = max(set(counts), key=counts.count)
        return (counts.count(width) / len(counts) if width > 1 else 0.0), width

    try:
        sniffed = csv.Sniffer().sniff("\n".join(lines), delimiters=_DELIMITERS).delimiter
    except csv.Error:
        sniffed = None
    if sniffed and consistency(sniffed)[0] >= 0.8:
        return sniffed
    scored = sorted(_DELIMITERS, key=lambda d: consistency(d), reverse=True)
    return scored[0] if consistency(scored[0])[0] > 0 else ","


def read_csv(data: bytes, limits: ReadLimits, extra: Mapping | None = None) -> SourceTable:
    """Read a delimited text file (any of , ; tab |) in UTF-8, UTF-16 or TIS-620/cp874.

    The text is decoded as it is read, never held whole, and reading stops at the row cap:
    a file with far more lines than the cap is counted first without keeping any row.
    """
    return open_csv(data, limits, extra).finish()


def open_csv(data: bytes, limits: ReadLimits, extra: Mapping | None = None) -> TableReading:
    """Read a delimited text file's header (:func:`read_csv`); its rows are read as asked."""
    codec, encoding = detect_encoding(data)
    head = codecs.getincrementaldecoder(codec)().decode(data[:65536 + 4], final=False)
    first_line, _, rest = head.partition("\n")
    delimiter = None
    skip_first = False
    if re.fullmatch(r"\s*sep=(.)\s*", first_line):
        delimiter = first_line.strip()[4]
        head, skip_first = rest, True
    delimiter = delimiter or _delimiter(head[:65536])

    def records() -> Iterator[list[str]]:
        stream = io.TextIOWrapper(io.BytesIO(data), encoding=codec, newline="")
        if skip_first:
            stream.readline()
        reader = csv.reader(stream, delimiter=delimiter)
        try:
            yield from reader
        except csv.Error as exc:
            raise UploadError(
                f"line {reader.line_num} of the CSV cannot be read ({describe_problem(exc)})"
            ) from exc

    # Far more lines than the cap: count the records (nothing kept) and refuse before any
    # row is built. The cap counts data rows; the header lies within the first rows searched.
    allowance = HEADER_SEARCH_ROWS + 2
    if _line_bound(data) > limits.max_rows + allowance:
        filled = 0
        for record in records():
            if any(v.strip() for v in record):
                filled += 1
                if filled > limits.max_rows + allowance:
                    raise FileTooLarge(too_many_rows(limits))

    def rows() -> Iterator[list[str | None]]:
        for record in records():
            yield [v.strip() or None for v in record]

    return TableReading(
        rows(), fmt="csv", limits=limits, extra=extra,
        details={"encoding": encoding, "delimiter": delimiter},
    )
