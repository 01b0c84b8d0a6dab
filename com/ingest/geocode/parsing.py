"""Thai and romanised address parsing: ต./อ./จ. labels, postal codes and name words."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from com.ingest.geocode.gazetteer import Gazetteer, _known, get_gazetteer
from com.ingest.geocode.names import _key
from com.text.thai import clean_text

Role = Literal["sub", "dist", "prov", "free"]


@dataclass(frozen=True, slots=True)
class _Token:
    text: str
    key: str
    role: Role
    index: int
    village: bool = False


@dataclass(frozen=True, slots=True)
class ParsedAddress:
    """An address split into labelled parts and free words.

    Attributes
    ----------
    tokens : tuple
        Name parts in their order, each with a role: ``sub`` (after ต./ตำบล/แขวง/Tambon),
        ``dist`` (อ./อำเภอ/เขต/Amphoe/District), ``prov`` (จ./จังหวัด/Province), or ``free``.
    postal_code : str or None
        A five-digit postal code found in the text.
    english : bool
        True for a romanised address.
    """

    tokens: tuple[_Token, ...]
    postal_code: str | None
    english: bool

    def of(self, role: Role) -> list[_Token]:
        """Return the tokens with a given role."""
        return [t for t in self.tokens if t.role == role]


_TH_MARKERS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^(?:ตำบล|แขวง|ต\.|ต\s*\.|ขว\.)"), "sub"),
    (re.compile(r"^(?:กิ่งอำเภอ|กิ่ง\s*อ\.|อำเภอ|เขต|อ\.|อ\s*\.)"), "dist"),
    (re.compile(r"^(?:จังหวัด|จ\.|จ\s*\.)"), "prov"),
]
_TH_SKIP_WITH_NUMBER = re.compile(
    r"^(?:บ้านเลขที่|เลขที่|หมู่ที่|หมู่บ้านที่|หมู่|ม\.|ห้อง|ชั้น|อาคาร|no\.?)\s*(\d[\d/\-]*)?"
)
_TH_SKIP_WITH_NAME = re.compile(r"^(?:ซอย|ซ\.|ถนน|ถ\.|ตรอก|หมู่บ้าน|ม\.บ\.|โครงการ)")
_TH_SPLIT_BEFORE = re.compile(
    r"(?<=[\u0e00-\u0e7f\d)])(?=(?:ตำบล|อำเภอ|จังหวัด|แขวง|กิ่งอำเภอ|[ตอจม]\.))"
)
_POSTAL = re.compile(r"(?<![\d/.\-])([1-9]\d{4})(?![\d/.\-])")
_HOUSE = re.compile(r"^\d+(?:[/\-]\d+)*[ก-ฮ]?$")
_THAI_CHAR = re.compile(r"[\u0e00-\u0e7f]")
_LATIN_LETTER = re.compile(r"[A-Za-z]")  # str.isascii() and str.isalpha()
_COUNTRY = re.compile(r"ประเทศไทย|\bthailand\b|\bราชอาณาจักรไทย\b", re.IGNORECASE)

_EN_ROLE_WORDS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(
            r"^(?:tambon|t\.|khwaeng|kwaeng|sub-?district|subdistrict)\s+|\s+(?:sub-?district|tambon)$"
        ),
        "sub",
    ),
    (
        re.compile(r"^(?:amphoe|amphur|a\.|khet|district)\s+|\s+(?:district|amphoe)$"),
        "dist",
    ),
    (re.compile(r"^(?:changwat|province|ch\.|jangwat)\s+|\s+(?:province|changwat)$"), "prov"),
]
_EN_SKIP = re.compile(
    r"^(?:\d+(?:/\d+)?|moo\.?\s*\d+|m\.\s*\d+|village\s+no\.?\s*\d+|no\.?\s*\d+|soi\b.*|"
    r".*\broad$|.*\brd\.?$|thanon\b.*)$"
)


def parse_address(address: str, *, gazetteer: Gazetteer | None = None) -> ParsedAddress:
    """Split a Thai or romanised address into subdistrict/district/province parts.

    Thai digits, spacing and the short forms ต./ตำบล/แขวง, อ./อำเภอ/เขต/กิ่งอำเภอ,
    จ./จังหวัด, ม./หมู่/หมู่ที่ are read; house numbers, หมู่, ซอย and ถนน are dropped.

    Parameters
    ----------
    address : str
        The address text.
    gazetteer : Gazetteer, optional
        Used to recognise postal codes and dotted names; default: :func:`get_gazetteer`.

    Returns
    -------
    ParsedAddress
        The parts in order.
    """
    return _parse_clean(clean_text(address), gazetteer or get_gazetteer())


def _parse_clean(text: str, gaz: Gazetteer) -> ParsedAddress:
    """Split an address already through :func:`com.text.thai.clean_text` (see parse_address)."""
    text = _COUNTRY.sub(" ", text)
    postal: str | None = None
    for m in reversed(list(_POSTAL.finditer(text))):
        if m.group(1) in gaz.postal:
            postal = m.group(1)
            text = text[: m.start()] + " " + text[m.end() :]
            break
    # Counted in C: the characters a regex deletes (not a Python loop per character).
    thai_chars = len(text) - len(_THAI_CHAR.sub("", text))
    latin_chars = len(text) - len(_LATIN_LETTER.sub("", text))
    if latin_chars > thai_chars:
        return ParsedAddress(tuple(_english_tokens(text, gaz)), postal, True)
    return ParsedAddress(tuple(_thai_tokens(text, gaz)), postal, False)


def _thai_tokens(text: str, gaz: Gazetteer) -> list[_Token]:
    protected: dict[str, str] = {}
    for i, name in enumerate(gaz.protected_names):
        if name in text:
            placeholder = f"\x00{i}\x00"
            protected[placeholder] = name
            text = text.replace(name, placeholder)
    text = _TH_SPLIT_BEFORE.sub(" ", text)
    for placeholder, name in protected.items():
        text = text.replace(placeholder, name)
    words = [w for w in re.split(r"[\s,;]+", text) if w]
    tokens: list[_Token] = []
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        skip = _TH_SKIP_WITH_NUMBER.match(word)
        if skip and (skip.group(1) or skip.end() == len(word)):
            rest = word[skip.end() :]
            if not skip.group(1) and i < len(words) and re.fullmatch(r"\d[\d/\-]*", words[i]):
                i += 1  # "หมู่ที่ 4", "เลขที่ 12/3"
            if rest:
                words.insert(i, rest)
            continue
        if _TH_SKIP_WITH_NAME.match(word) and not _known(gaz, _key(word)):
            if _TH_SKIP_WITH_NAME.fullmatch(word) and i < len(words):
                i += 1  # "ซอย สุขใจ", "ถนน มิตรภาพ"
            continue
        if _HOUSE.match(word):
            continue
        role: Role = "free"
        for pattern, marker_role in () if word in gaz.protected_names else _TH_MARKERS:
            m = pattern.match(word)
            if m is not None:
                rest = word[m.end() :]
                if not rest and i < len(words):
                    rest = words[i]
                    i += 1
                if rest:
                    role = marker_role  # type: ignore[assignment]
                    word = rest
                else:
                    word = ""
                break
        if not word:
            continue
        key = _key(word)
        if not key or key.isdigit():
            continue
        village = role == "free" and word.startswith("บ้าน") and len(word) > 4
        tokens.append(_Token(word, key, role, len(tokens), village))
    return tokens


def _segment(gaz: Gazetteer, words: list[str]) -> list[str]:
    """Split "nong rakhang sanom surin" into known names (most words covered, fewest parts)."""
    n = len(words)
    # best[i] = (words covered, -parts, spans) for words[i:]
    best: list[tuple[int, int, list[str]]] = [(0, 0, [])] * (n + 1)
    for i in range(n - 1, -1, -1):
        options = [(best[i + 1][0], best[i + 1][1], best[i + 1][2])]  # skip words[i]
        for j in range(i + 1, min(n, i + 6) + 1):
            span = " ".join(words[i:j])
            if _known(gaz, _key(span)):
                covered, parts, spans = best[j]
                options.append((covered + (j - i), parts - 1, [span, *spans]))
        best[i] = max(options, key=lambda o: (o[0], o[1]))
    return best[0][2]


def _english_tokens(text: str, gaz: Gazetteer) -> list[_Token]:
    parts: list[tuple[str, Role]] = []
    # Thai word order is kept in romanised addresses: subdistrict, district, province.
    for part in re.split(r"[,;\n]+", text.lower()):
        part = re.sub(r"\s+", " ", part).strip(" .")
        part = re.sub(r"^(?:\d+(?:/\d+)?\s+)?(?:moo|m\.|village no\.?)\s*\d+\s*", "", part)
        part = re.sub(r"^\d+(?:/\d+)?\s+", "", part).strip()
        if not part:
            continue
        if _known(gaz, _key(part)):
            parts.append((part, "free"))  # "Soi Lakhon", "Sam Tambon" are subdistricts
            continue
        if _EN_SKIP.match(part):
            continue
        role: Role = "free"
        for pattern, marker_role in _EN_ROLE_WORDS:
            new = pattern.sub("", part)
            if new != part:
                role = marker_role  # type: ignore[assignment]
                part = new.strip()
                break
        if role == "free" and " " in part and not _known(gaz, _key(part)):
            spans = _segment(gaz, part.split(" "))
            if spans:
                parts.extend((span, "free") for span in spans)
                continue
        parts.append((part, role))
    tokens: list[_Token] = []
    for part, role in parts:
        key = _key(part)
        if key and not key.isdigit():
            tokens.append(_Token(part, key, role, len(tokens)))
    return tokens
