"""Geocoding in bulk: many addresses at once, and one column of a CSV file."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from pathlib import Path

from com.collector import collector_paused
from com.errors import ValidationError
from com.ingest.geocode.gazetteer import Gazetteer, get_gazetteer
from com.ingest.geocode.matcher import _check_province, _match, _prepare
from com.ingest.geocode.name_index import forget_prefetched, prefetch_province_names
from com.ingest.geocode.parsing import ParsedAddress
from com.ingest.geocode.result import GeocodeResult
from com.io.escape import escape_formula


def geocode_many(
    addresses: Iterable[object],
    *,
    province_code: str | None = None,
    gazetteer: Gazetteer | None = None,
) -> list[GeocodeResult]:
    """Geocode many addresses; repeated addresses are looked up once.

    The cyclic garbage collector is paused meanwhile (:func:`com.collector.collector_paused`).

    Parameters
    ----------
    addresses : iterable
        Address texts (a list, a pandas Series, ...), in order.
    province_code : str, optional
        Context province for addresses that name none.
    gazetteer : Gazetteer, optional
        Default: :func:`get_gazetteer`.

    Returns
    -------
    list of GeocodeResult
        One result per input, in the same order.
    """
    gaz = gazetteer or get_gazetteer()
    values = addresses if isinstance(addresses, list) else list(addresses)
    if not values:
        return []
    context = _check_province(gaz, province_code)
    keys = ["" if value is None else str(value) for value in values]
    # Repeated addresses are answered once: the first of each in input order is geocoded.
    first: dict[str, object] = {}
    for key, value in zip(keys, values, strict=True):
        first.setdefault(key, value)
    distinct = list(first.items())
    answers: dict[str, GeocodeResult] = {}
    with collector_paused():
        try:
            for start in range(0, len(distinct), _CHUNK):
                _geocode_chunk(gaz, distinct[start : start + _CHUNK], context, answers)
        finally:
            forget_prefetched()
    return [answers[key] for key in keys]


#: Distinct addresses parsed together before matching (their province searches done at once).
_CHUNK = 10_000


def _geocode_chunk(
    gaz: Gazetteer,
    chunk: list[tuple[str, object]],
    context: str | None,
    answers: dict[str, GeocodeResult],
) -> None:
    """Geocode distinct addresses: parse all, search their words as provinces at once, match."""
    prepared = [(key, _prepare(value, gaz)) for key, value in chunk]
    prefetch_province_names(
        gaz,
        (
            t.key
            for _, p in prepared
            if isinstance(p, ParsedAddress)
            for t in p.tokens
            if t.role in ("prov", "free")
        ),
    )
    for key, p in prepared:
        answers[key] = p if isinstance(p, GeocodeResult) else _match(p, gaz, context)


RESULT_COLUMNS = (
    "tambon_code",
    "amphoe_code",
    "province_code",
    "quality",
    "score",
    "ambiguous",
    "candidates",
)


def _read_text(path: Path) -> str:
    """Decode a text file written as UTF-8 (with or without BOM) or TIS-620/cp874."""
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "cp874"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationError(f"{path}: not UTF-8 or TIS-620/cp874 text")


def geocode_csv(
    in_path: str | Path,
    out_path: str | Path,
    column: str,
    province_code: str | None = None,
    *,
    gazetteer: Gazetteer | None = None,
) -> dict[str, int]:
    """Geocode one column of a CSV file, writing every row in order with the results added.

    Added columns: tambon_code, amphoe_code, province_code, quality, score, ambiguous
    (``true``/``false``) and candidates. An input column with one of these names is kept as
    ``input_<name>``. The input may be UTF-8 (with or without BOM) or TIS-620/cp874, with any
    common delimiter; the output is UTF-8 with a BOM (so Excel shows Thai) and commas.

    Parameters
    ----------
    in_path, out_path : str or Path
        Input and output CSV files.
    column : str
        Name of the address column.
    province_code : str, optional
        Context province for addresses that name none.
    gazetteer : Gazetteer, optional
        Default: :func:`get_gazetteer`.

    Returns
    -------
    dict
        Counts: rows, and rows per quality, confident and ambiguous.

    Raises
    ------
    com.errors.ValidationError
        When the file cannot be read or has no such column.
    """
    in_path, out_path = Path(in_path), Path(out_path)
    header, reader = _open_csv(in_path)
    index = _column_index(in_path, header, column)
    rows = list(reader)
    addresses = [row[index] if index < len(row) else "" for row in rows]
    results = geocode_many(addresses, province_code=province_code, gazetteer=gazetteer)
    return _write_results(out_path, header, rows, results)


def _open_csv(path: Path) -> tuple[list[str], Iterator[list[str]]]:
    """Read a CSV file of any common delimiter: its stripped header, and a reader of the rows."""
    text = _read_text(path)
    sample = text[:20000]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = next(reader)
    except StopIteration:
        raise ValidationError(f"{path}: the file is empty") from None
    return [h.strip() for h in header], reader


def _column_index(path: Path, header: list[str], column: str) -> int:
    """Find the address column: by its exact name, else case-insensitively."""
    if column not in header:
        wanted = column.strip().lower()
        matches = [i for i, h in enumerate(header) if h.lower() == wanted]
        if not matches:
            raise ValidationError(
                f"{path}: no column {column!r}; columns are: {', '.join(header)}"
            )
        return matches[0]
    return header.index(column)


def _write_results(
    out_path: Path, header: list[str], rows: list[list[str]], results: list[GeocodeResult]
) -> dict[str, int]:
    """Write the rows with the result columns added (UTF-8 with a BOM); count the qualities."""
    out_header = [f"input_{h}" if h in RESULT_COLUMNS else h for h in header]
    counts: dict[str, int] = {"rows": len(rows), "confident": 0, "ambiguous": 0}
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with out_path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([*out_header, *RESULT_COLUMNS])
        for row, r in zip(rows, results, strict=True):
            padded = row + [""] * (len(header) - len(row))
            writer.writerow(
                [
                    *(escape_formula(v) for v in padded),
                    r.tambon_code or "",
                    r.amphoe_code or "",
                    r.province_code or "",
                    r.quality,
                    r.score,
                    "true" if r.ambiguous else "false",
                    escape_formula(r.candidates_text()),
                ]
            )
            counts[r.quality] = counts.get(r.quality, 0) + 1
            counts["confident"] += int(r.confident)
            counts["ambiguous"] += int(r.ambiguous)
    return counts
