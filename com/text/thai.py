"""Thai text: digits, whitespace, month names, Buddhist-era dates, severity words, fiscal years."""

from __future__ import annotations

import datetime as dt
import importlib
import math
import re
import tomllib
import unicodedata
from collections.abc import Mapping
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from pythainlp import (
    thai_above_vowels,
    thai_below_vowels,
    thai_follow_vowels,
    thai_lead_vowels,
    thai_tonemarks,
)
from pythainlp.util import normalize as _pythainlp_normalize
from pythainlp.util import thai_digit_to_arabic_digit
from pythainlp.util.date import thai_abbr_months, thai_full_months

from com.errors import ParseError

__all__ = [
    "BE_OFFSET",
    "DEFAULT_SEVERITY_WORDS",
    "THAI_MONTHS_ABBR",
    "THAI_MONTHS_FULL",
    "clean_text",
    "fiscal_year_be",
    "fiscal_year_bounds",
    "format_thai_date",
    "is_blank",
    "load_severity_words",
    "parse_date",
    "parse_severity",
    "to_arabic_digits",
    "to_thai_digits",
]

#: Years of the Buddhist era (พ.ศ.) run 543 ahead of the Common Era.
BE_OFFSET = 543
#: A four-digit year at or above this is a Buddhist-era year (2400 BE = 1857 CE).
_BE_MIN = 2400
#: Accepted range of dates after conversion to the Common Era.
_MIN_YEAR_CE = 1900
_MAX_YEAR_CE = 2200

THAI_MONTHS_FULL: tuple[str, ...] = tuple(thai_full_months)
THAI_MONTHS_ABBR: tuple[str, ...] = tuple(thai_abbr_months)
_EN_MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)

# Invisible characters that Excel, LINE and web forms leave in cells.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_CLEAN_TABLE = {**_INVISIBLE, **str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")}
_SPACES = re.compile(r"[\s\u00a0\u2000-\u200a\u202f\u205f\u3000]+")


_SIGNS = "\u0e3a\u0e4c\u0e4d\u0e4e"  # phinthu, thanthakhat, nikhahit, yamakkan
_VOWELS = thai_follow_vowels + thai_lead_vowels + thai_above_vowels + thai_below_vowels
# What pythainlp's normalize() repairs (misordered or doubled vowels and tone marks, marks
# after a space). It costs ~0.2 ms a call, so it only runs when one of these is present.
_NEEDS_THAI_NORMALIZE = re.compile(
    "|".join(
        [
            "\u0e40\u0e40",
            f"[{thai_tonemarks}\u0e4c][{thai_above_vowels}{thai_below_vowels}]",
            f"\u0e4d[{thai_tonemarks}]*\u0e32",
            f"[{thai_follow_vowels}][{thai_tonemarks}]",
            "\u0e45",
            f"([{_VOWELS}{_SIGNS}]) *\\1",
            f"[{thai_tonemarks}]{{2,}}",
            f"(?:^|\\s)[{thai_above_vowels}{thai_below_vowels}{thai_tonemarks}{_SIGNS}]",
        ]
    )
)


def _month_key(text: str) -> str:
    return re.sub(r"[\s.]", "", text).lower()


def _month_lookup() -> dict[str, int]:
    table: dict[str, int] = {}
    for i, name in enumerate(THAI_MONTHS_FULL, start=1):
        table[_month_key(name)] = i
    for i, name in enumerate(THAI_MONTHS_ABBR, start=1):
        table[_month_key(name)] = i
    for i, name in enumerate(_EN_MONTHS, start=1):
        table[name] = i
        table[name[:3]] = i
    table["sept"] = 9
    # Spellings seen in office files: ก.พ without the last dot is covered by _month_key;
    # older forms of the month names without the -คม/-ยน endings are written too.
    for i, name in enumerate(THAI_MONTHS_FULL, start=1):
        short = re.sub(r"(คม|ยน|พันธ์)$", "", name)
        if len(short) >= 3:
            table.setdefault(short, i)
    return table


_MONTHS = _month_lookup()


def to_arabic_digits(text: str) -> str:
    """Replace Thai digits (๐-๙) with Arabic digits.

    Parameters
    ----------
    text : str
        Any text.

    Returns
    -------
    str
        The text with ``๐๑๒๓๔๕๖๗๘๙`` replaced by ``0123456789``.

    Examples
    --------
    >>> to_arabic_digits("๒๑/๘/๒๕๖๖")
    '21/8/2566'
    """
    return thai_digit_to_arabic_digit(text) if text else text


def to_thai_digits(text: str) -> str:
    """Replace Arabic digits with Thai digits (for Thai-styled output and tests).

    Parameters
    ----------
    text : str
        Any text.

    Returns
    -------
    str
        The text with ``0-9`` replaced by ``๐-๙``.
    """
    return text.translate(str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙"))


def _normalize_steps() -> tuple[Any, list[tuple[str, re.Pattern[str]]]] | None:
    """Return pythainlp's normalize module and its repeated-vowel passes, compiled.

    None when this pythainlp does not lay them out as 5.4 does; :func:`_thai_normalize` is
    then pythainlp's ``normalize`` itself.
    """
    # (``pythainlp.util.normalize`` the attribute is the function; the module by its name.)
    module = importlib.import_module("pythainlp.util.normalize")
    names = ("remove_zw", "remove_dup_spaces", "remove_spaces_before_marks", "reorder_vowels",
             "remove_dangling", "_RE_TONEMARKS", "_last_char", "_NOREPEAT_PAIRS")
    if not all(hasattr(module, name) for name in names):  # pragma: no cover - another layout
        return None
    passes = []
    for pattern, mark in module._NOREPEAT_PAIRS:
        if len(mark) != 1 or not pattern.endswith(mark):  # pragma: no cover - another layout
            return None
        passes.append((mark, re.compile(pattern)))
    return module, passes


_NORMALIZE_STEPS = _normalize_steps()


def _thai_normalize(text: str) -> str:
    """Normalise as pythainlp's ``normalize`` (5.4) does, without the passes that cannot apply.

    Its repeated-vowel step runs about 25 substitutions, one per vowel or sign, each
    ``({mark}[ ]*)+{mark}``: one can only match where its mark is written at least twice, so
    it is skipped when the text holds the mark once or not at all (a test compares this
    with pythainlp's own on generated text).
    """
    if _NORMALIZE_STEPS is None:  # pragma: no cover - another pythainlp layout
        return str(_pythainlp_normalize(text))
    norm, passes = _NORMALIZE_STEPS
    text = norm.remove_zw(text)
    text = norm.remove_dup_spaces(text)
    text = norm.remove_spaces_before_marks(text)
    # remove_repeat_vowels: reorder, the repeated marks, then the last of repeated tone marks.
    text = norm.reorder_vowels(text)
    for mark, pattern in passes:
        if text.count(mark) > 1:
            text = pattern.sub(mark, text)
    text = norm._RE_TONEMARKS.sub(norm._last_char, text)
    return str(norm.remove_dangling(text))


def clean_text(text: str) -> str:
    r"""Normalise a cell's text: NFC, Thai digits to Arabic, no invisible characters, single spaces.

    pythainlp's ``normalize`` also fixes the order of Thai vowels and tone marks and removes
    duplicated marks, so strings typed differently compare equal.

    Parameters
    ----------
    text : str
        Raw text from a file.

    Returns
    -------
    str
        The cleaned text, stripped at both ends.

    Examples
    --------
    >>> clean_text(" ต.ด่าน\u200b  อ.กาบเชิง ")
    'ต.ด่าน อ.กาบเชิง'
    """
    # One translate: the invisible characters out and Thai digits to Arabic (to_arabic_digits).
    text = unicodedata.normalize("NFC", str(text)).translate(_CLEAN_TABLE)
    if _NEEDS_THAI_NORMALIZE.search(text):
        text = _thai_normalize(text)
    return _SPACES.sub(" ", text).strip()


def is_blank(value: object) -> bool:
    """Tell whether a cell holds nothing: None, NaN/NaT, or only spaces and dashes.

    Parameters
    ----------
    value : object
        A cell value from any reader (str, float, pandas NA, ...).

    Returns
    -------
    bool
        True when the cell should be treated as empty.
    """
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, str):
        text = clean_text(value).lower()
        return text.strip("-–— ") == "" or text in {"nan", "none", "null", "n/a", "nat"}
    # pandas.NA / NaT compare unequal to themselves or refuse bool(): no pandas import needed.
    try:
        return bool(value != value)
    except (TypeError, ValueError):
        return True


# --------------------------------------------------------------------------- dates


def _year_to_ce(year: int, digits: int, *, era: str | None) -> int:
    if digits <= 2:
        # Thai offices write "8 มิ.ย. 67": a two-digit year is the last digits of 25xx BE.
        if era == "ce":
            return 2000 + year
        return 2500 + year - BE_OFFSET
    if era == "be" or (era is None and year >= _BE_MIN):
        return year - BE_OFFSET
    return year


def _make_date(day: int, month: int, year_ce: int, original: str) -> dt.date:
    if not 1 <= month <= 12:
        raise ParseError(
            f"date {original!r}: month {month} is not 1-12 (Thai dates are day/month/year)"
        )
    if not _MIN_YEAR_CE <= year_ce <= _MAX_YEAR_CE:
        raise ParseError(
            f"date {original!r}: year {year_ce} CE is outside "
            f"{_MIN_YEAR_CE}-{_MAX_YEAR_CE} (พ.ศ. {_MIN_YEAR_CE + BE_OFFSET}-"
            f"{_MAX_YEAR_CE + BE_OFFSET})"
        )
    try:
        return dt.date(year_ce, month, day)
    except ValueError:
        raise ParseError(f"date {original!r}: day {day} does not exist in that month") from None


_ERA_BE = re.compile(r"(?:พ\s*\.\s*ศ\s*\.?|\bB\.?E\.?(?=\s|$))", re.IGNORECASE)
_ERA_CE = re.compile(r"(?:ค\s*\.\s*ศ\s*\.?|\bA\.?D\.?(?=\s|$)|\bC\.?E\.?(?=\s|$))", re.IGNORECASE)
_WEEKDAY = re.compile(
    r"^(?:(?:วัน)?(?:จันทร์|อังคาร|พุธ|พฤหัสบดี|พฤหัส|ศุกร์|เสาร์|อาทิตย์)(?:ที่)?"
    r"|(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?\.?,?)\s*",
    re.IGNORECASE,
)
_TIME = re.compile(
    r"(?:\s*,\s*|\s+|T)(?:เวลา\s*)?\d{1,2}[:.]\d{2}(?:[:.]\d{2}(?:\.\d+)?)?\s*"
    r"(?:น\.?|นาฬิกา)?(?:Z|[+-]\d{2}:?\d{2})?$"
)
#: A time of day in brackets after the date: "12 มี.ค. 67 (14.30 น.)".
_BRACKETED_TIME = re.compile(r"\s*[(\[]\s*(?:เวลา\s*)?\d{1,2}[:.]\d{2}[^)\]]*[)\]]\s*$")
#: "เดือนมีนาคม": the word "month" written before a month name.
_MONTH_WORD = re.compile(r"(?<![ก-๙])เดือน\s*(?=[ก-ฮ])")
#: An Excel serial day written as text ("45363", "45363.604"): a CSV saved from a date
#: column whose cells were formatted as General.
_SERIAL_TEXT = re.compile(r"^\d{5}(?:\.\d+)?$")
_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
_DMY = re.compile(r"^(\d{1,2})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{2}|\d{4})$")
_TEXT_MONTH = re.compile(
    r"^(\d{1,2})\s*(?:-|\s)?\s*([^\d\s,/-][^\d,/-]*?)\s*[-,]?\s*(\d{2}|\d{4})$"
)
_EN_MDY = re.compile(r"^([a-z]{3,9})\.?\s+(\d{1,2}),?\s+(\d{4})$", re.IGNORECASE)


def _excel_serial(value: float) -> dt.date:
    # Excel's day 0 is 1899-12-30 once its 1900 leap-year bug is accounted for.
    return dt.date(1899, 12, 30) + dt.timedelta(days=int(value))


def parse_date(value: object) -> dt.date | None:
    """Read a date as Thai offices write it, in the Buddhist or the Common era.

    Accepted: ``21/08/2566``, ``21-8-66``, ``๒๑/๘/๒๕๖๖``, ``8 มิ.ย. 67``, ``1 ม.ค. 2566``,
    ``1 มกราคม พ.ศ. 2566``, ``2024-10-11`` (also with a time), ``21/08/2023``, ``Aug 21, 2023``,
    ``date``/``datetime``/pandas ``Timestamp`` objects and Excel serial day numbers.
    A four-digit year of 2400 or more is Buddhist era (พ.ศ.), below that Common era; a
    two-digit year is the end of a 25xx Buddhist-era year (``67`` = 2567 = 2024), unless
    ``ค.ศ.`` says otherwise. Day comes before month. A ``date`` object with a year of 2400 or
    more (a Buddhist year typed into an Excel date cell) is moved back 543 years.

    Parameters
    ----------
    value : object
        The cell value.

    Returns
    -------
    datetime.date or None
        The date in the Common era, or None for an empty cell.

    Raises
    ------
    com.errors.ParseError
        When the value is not a date, or names a day that does not exist.

    Examples
    --------
    >>> parse_date("8 มิ.ย. 67")
    datetime.date(2024, 6, 8)
    >>> parse_date("๒๑/๘/๒๕๖๖")
    datetime.date(2023, 8, 21)
    """
    if is_blank(value):
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        if value.year >= _BE_MIN:
            return _make_date(value.day, value.month, value.year - BE_OFFSET, value.isoformat())
        return _make_date(value.day, value.month, value.year, value.isoformat())
    if isinstance(value, bool):
        raise ParseError(f"date {value!r} is not a date")
    if isinstance(value, int | float) or type(value).__name__.startswith(("int", "float")):
        number = float(value)  # type: ignore[arg-type]
        if not math.isfinite(number):
            raise ParseError(f"date {value!r} is not a date")
        if 20000 <= number < 80000:
            return _excel_serial(number)
        raise ParseError(f"date {value!r} is a number, not a day/month/year date")
    if type(value).__name__ == "datetime64":
        return parse_date(str(value)[:10])
    if not isinstance(value, str):
        raise ParseError(f"date {value!r} is not a date")
    return _parse_date_text(value)


def _parse_date_text(original: str) -> dt.date:
    text = clean_text(original)
    era: str | None = None
    if _ERA_BE.search(text):
        era = "be"
        text = _ERA_BE.sub(" ", text)
    elif _ERA_CE.search(text):
        era = "ce"
        text = _ERA_CE.sub(" ", text)
    text = re.sub(r"^วันที่\s*", "", text.strip())
    text = _WEEKDAY.sub("", text)
    text = re.sub(r"^วันที่\s*", "", text)
    text = _BRACKETED_TIME.sub("", text)
    text = _TIME.sub("", text).strip()
    text = _MONTH_WORD.sub("", text)
    text = re.sub(r"\s+", " ", text)
    if _SERIAL_TEXT.match(text) and era is None and 20000 <= float(text) < 80000:
        return _excel_serial(float(text))

    if m := _ISO.match(text):
        year, month, day = (int(g) for g in m.groups())
        return _make_date(day, month, _year_to_ce(year, 4, era=era), original)
    if m := _DMY.match(text):
        day, month = int(m.group(1)), int(m.group(2))
        year_s = m.group(3)
        return _make_date(day, month, _year_to_ce(int(year_s), len(year_s), era=era), original)
    if m := _TEXT_MONTH.match(text):
        named = _MONTHS.get(_month_key(m.group(2)))
        if named is None:
            raise ParseError(f"date {original!r}: {m.group(2)!r} is not a month name")
        year_s = m.group(3)
        day = int(m.group(1))
        if era is None and len(year_s) <= 2 and m.group(2).isascii():
            era = "ce"  # "12-Mar-24" (Excel's d-mmm-yy): English software counts in CE
        return _make_date(day, named, _year_to_ce(int(year_s), len(year_s), era=era), original)
    if m := _EN_MDY.match(text):
        named = _MONTHS.get(m.group(1).lower())
        if named is None:
            raise ParseError(f"date {original!r}: {m.group(1)!r} is not a month name")
        return _make_date(
            int(m.group(2)), named, _year_to_ce(int(m.group(3)), 4, era=era), original
        )
    raise ParseError(
        f"date {original!r} is not in a known form (e.g. 21/08/2566, 8 มิ.ย. 67, 2024-10-11)"
    )


def format_thai_date(
    day: dt.date, *, month_style: str = "abbr", year_digits: int = 4, thai_digits: bool = False
) -> str:
    """Write a date the way Thai offices do, in the Buddhist era.

    Parameters
    ----------
    day : datetime.date
        The date.
    month_style : {"abbr", "full", "number"}
        ``8 มิ.ย. 2567``, ``8 มิถุนายน 2567`` or ``08/06/2567``.
    year_digits : {4, 2}
        ``2567`` or ``67``.
    thai_digits : bool
        Use Thai digits.

    Returns
    -------
    str
        The formatted date.

    Examples
    --------
    >>> format_thai_date(dt.date(2024, 6, 8), year_digits=2)
    '8 มิ.ย. 67'
    """
    year = day.year + BE_OFFSET
    year_s = f"{year % 100:02d}" if year_digits == 2 else str(year)
    if month_style == "number":
        text = f"{day.day:02d}/{day.month:02d}/{year_s}"
    elif month_style == "full":
        text = f"{day.day} {THAI_MONTHS_FULL[day.month - 1]} {year_s}"
    else:
        text = f"{day.day} {THAI_MONTHS_ABBR[day.month - 1]} {year_s}"
    return to_thai_digits(text) if thai_digits else text


# --------------------------------------------------------------------------- fiscal years


def fiscal_year_be(day: dt.date) -> int:
    """Return the Thai government fiscal year (Buddhist era) a date falls in.

    The fiscal year runs from 1 October to 30 September and is named after the year it ends in:
    FY 2568 is 1 October 2024 to 30 September 2025.

    Parameters
    ----------
    day : datetime.date
        A date (a ``datetime`` is accepted too).

    Returns
    -------
    int
        The fiscal year, e.g. 2568.

    Examples
    --------
    >>> fiscal_year_be(dt.date(2024, 10, 1))
    2568
    >>> fiscal_year_be(dt.date(2025, 9, 30))
    2568
    """
    return day.year + (1 if day.month >= 10 else 0) + BE_OFFSET


def fiscal_year_bounds(fy_be: int) -> tuple[dt.date, dt.date]:
    """Return the first and last day of a Thai fiscal year given in the Buddhist era.

    Parameters
    ----------
    fy_be : int
        Fiscal year, e.g. 2568.

    Returns
    -------
    tuple of datetime.date
        ``(1 October of the previous CE year, 30 September)``, both inclusive.

    Raises
    ------
    com.errors.ParseError
        When the year is not a plausible Buddhist-era year.

    Examples
    --------
    >>> fiscal_year_bounds(2568)
    (datetime.date(2024, 10, 1), datetime.date(2025, 9, 30))
    """
    if isinstance(fy_be, bool) or not isinstance(fy_be, int) or fy_be < _BE_MIN:
        raise ParseError(f"fiscal year {fy_be!r} must be a Buddhist-era year such as 2568")
    end_ce = fy_be - BE_OFFSET
    return dt.date(end_ce - 1, 10, 1), dt.date(end_ce, 9, 30)


# --------------------------------------------------------------------------- severity

#: Words for the five severity levels, used when com/config/severity.toml has no [levels] words.
DEFAULT_SEVERITY_WORDS: Mapping[int, tuple[str, ...]] = {
    1: ("ต่ำ", "น้อย", "ต่ำมาก", "น้อยมาก", "น้อยที่สุด", "ต่ำที่สุด", "low", "very low", "minor"),
    2: (
        "ค่อนข้างต่ำ",
        "ค่อนข้างน้อย",
        "ต่ำถึงปานกลาง",
        "rather low",
        "fairly low",
        "low-medium",
        "medium-low",
        "moderately low",
    ),
    3: ("ปานกลาง", "กลาง", "medium", "moderate", "mid"),
    4: ("สูง", "ค่อนข้างสูง", "มาก", "high", "fairly high", "rather high", "major", "severe"),
    5: (
        "สูงมาก",
        "วิกฤต",
        "วิกฤติ",
        "สูงที่สุด",
        "มากที่สุด",
        "รุนแรงมาก",
        "very high",
        "critical",
        "extreme",
    ),
}

_SEVERITY_PREFIX = re.compile(
    r"^(?:ระดับ(?:ความ(?:รุนแรง|เสี่ยง))?|ความ(?:รุนแรง|เสี่ยง)|severity|level|risk)\s*[:=]?\s*",
    re.IGNORECASE,
)


def _word_key(text: str) -> str:
    return re.sub(r"[\s_\-./]+", "", clean_text(text).lower())


def _collect_words(entry: Any) -> list[str]:
    if isinstance(entry, str):
        return [entry]
    if isinstance(entry, list | tuple):
        return [w for item in entry for w in _collect_words(item)]
    if isinstance(entry, Mapping):
        return [w for item in entry.values() for w in _collect_words(item)]
    return []


def load_severity_words(path: str | Path | None = None) -> dict[int, tuple[str, ...]]:
    """Read the words of each severity level from the risk model's TOML file.

    The file has a ``[levels]`` table keyed by level (``1`` to ``5``); each entry may be a word,
    a list of words, or a table whose string and list values (``name_th``, ``name_en``,
    ``aliases``, ...) are all words for the level. The built-in words are kept as well unless
    the file claims one of them for another level.

    Parameters
    ----------
    path : str or Path, optional
        An override file (``COM_SEVERITY_CONFIG``) whose levels replace the packaged
        ``com/config/severity.toml`` levels key by key; default: the packaged file alone.

    Returns
    -------
    dict of int to tuple of str
        Level -> words.

    Raises
    ------
    com.errors.ConfigError
        When the given file cannot be read or names a level outside 1-5.
    """
    return dict(_load_severity_words(str(path) if path is not None else None))


@lru_cache(maxsize=8)
def _load_severity_words(path: str | None) -> dict[int, tuple[str, ...]]:
    from com.errors import ConfigError

    def read(resource: Any, name: str) -> dict[str, Any]:
        try:
            return tomllib.loads(resource.read_text(encoding="utf-8")).get("levels") or {}
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"severity file {name}: {exc}") from exc

    packaged = files("com.config").joinpath("severity.toml")
    name = "com/config/severity.toml"
    levels: dict[str, Any] = read(packaged, name) if packaged.is_file() else {}
    if path is not None:
        # The override replaces the packaged levels key by key (COM_SEVERITY_CONFIG).
        levels = {**levels, **read(Path(path), path)}
    data: dict[str, Any] = {"levels": levels}
    configured: dict[int, list[str]] = {}
    for key, entry in (data.get("levels") or {}).items():
        try:
            level = int(str(key).strip())
        except ValueError:
            if isinstance(entry, Mapping) and "level" in entry:
                level = int(entry["level"])
                configured.setdefault(level, []).append(str(key))
            else:
                raise ConfigError(f"severity level {key!r} is not a number 1-5") from None
        if not 1 <= level <= 5:
            raise ConfigError(f"severity level {level} is not 1-5")
        configured.setdefault(level, []).extend(_collect_words(entry))
    claimed = {_word_key(w): lvl for lvl, ws in configured.items() for w in ws if w.strip()}
    merged: dict[int, tuple[str, ...]] = {}
    for level in range(1, 6):
        words = [w for w in configured.get(level, []) if w.strip()]
        words += [
            w for w in DEFAULT_SEVERITY_WORDS[level] if claimed.get(_word_key(w), level) == level
        ]
        merged[level] = tuple(dict.fromkeys(words))
    return merged


@lru_cache(maxsize=8)
def _severity_index(words_key: tuple[tuple[int, tuple[str, ...]], ...]) -> dict[str, int]:
    index: dict[str, int] = {}
    for level, words in words_key:
        for word in words:
            key = _word_key(word)
            if key and not key.isdigit():
                index.setdefault(key, level)
    return index


def parse_severity(value: object, *, words: Mapping[int, tuple[str, ...]] | None = None) -> int:
    """Read a severity level 1-5 from a number (Thai digits too) or a Thai or English word.

    Parameters
    ----------
    value : object
        The cell: ``3``, ``"๓"``, ``"3.0"``, ``"ระดับ 3"``, ``"สูงมาก"``, ``"High"``,
        ``"4 (สูง)"``.
    words : mapping of int to tuple of str, optional
        Level -> words; default: :func:`load_severity_words` (com/config/severity.toml).

    Returns
    -------
    int
        The level, 1 (lowest) to 5 (highest).

    Raises
    ------
    com.errors.ParseError
        When the cell is empty, out of 1-5, or not a known word.

    Examples
    --------
    >>> parse_severity("สูงมาก")
    5
    >>> parse_severity("๒")
    2
    """
    if is_blank(value):
        raise ParseError("severity is empty")
    if isinstance(value, bool):
        raise ParseError(f"severity {value!r} is not a level 1-5")
    if not isinstance(value, str):
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ParseError(f"severity {value!r} is not a level 1-5") from None
        return _severity_number(number, value)
    table = words if words is not None else load_severity_words()
    index = _severity_index(tuple(sorted((k, tuple(v)) for k, v in table.items())))
    text = _SEVERITY_PREFIX.sub("", clean_text(value)).strip()
    if re.fullmatch(r"[+-]?\d+(?:\.\d+)?", text):
        return _severity_number(float(text), value)
    # "4 (สูง)", "4 - สูง", "สูง (4)": a number with its word; both must agree.
    m = re.fullmatch(r"(\d)\s*(?:[-:(/]\s*)?(\D.*?)\)?", text) or re.fullmatch(
        r"(\D.*?)\s*[(\-:/]\s*(\d)\s*\)?", text
    )
    if m:
        number_s, word = (m.group(1), m.group(2)) if m.group(1).isdigit() else m.groups()[::-1]
        level = _severity_number(float(number_s), value)
        word_level = index.get(_word_key(word))
        if word_level is not None and word_level != level:
            raise ParseError(f"severity {value!r}: number {level} and word {word!r} disagree")
        if word_level is None:
            raise ParseError(f"severity {value!r}: {word!r} is not a severity word")
        return level
    word_only = index.get(_word_key(text))
    if word_only is None:
        known = ", ".join(table[k][0] for k in sorted(table) if table[k])
        raise ParseError(f"severity {value!r} is not 1-5 or a known word ({known})")
    return word_only


def _severity_number(number: float, original: object) -> int:
    if not math.isfinite(number) or number != int(number) or not 1 <= number <= 5:
        raise ParseError(f"severity {original!r} is not a level 1-5")
    return int(number)
