"""Matching keys of place names, and the other names people write for provinces and "เมือง"."""

from __future__ import annotations

import re

#: Bangkok writes แขวง/เขต for ต./อ. and has no "เมือง" district.
_BANGKOK = "10"

# Other names people write for provinces (Thai and romanised); keys are in _key() form.
_PROVINCE_ALIASES = {
    "กทม": "10",
    "กรุงเทพ": "10",
    "กรุงเทพฯ": "10",
    "bangkok": "10",
    "krungthep": "10",
    "bkk": "10",
    "อยุธยา": "14",
    "ayutthaya": "14",
    "ayuthaya": "14",
    "โคราช": "30",
    "korat": "30",
    "khorat": "30",
    "อุบล": "34",
    "ubon": "34",
    "นครศรีฯ": "80",
    "นครศรี": "80",
    "buriram": "31",
    "sisaket": "33",
    "srisaket": "33",
    "lopburi": "16",
    "chonburi": "20",
    "prachinburi": "25",
    "suphanburi": "72",
    "singburi": "17",
    "phangnga": "82",
}
_MUEANG = {"เมือง", "mueang", "muang", "meuang", "muaeng"}
#: A word this close to "เมือง" (one slip: a swap, a dropped mark or letter) still means it.
_MUEANG_SLIP = 1.0

_KEY_DROP = re.compile(r"[\s.\-'’`ฯ()\[\]{}\"]")


def _key(text: str) -> str:
    """Put cleaned text in matching form: no spaces, dots, hyphens, brackets; romanised unified."""
    key = _KEY_DROP.sub("", text.lower())
    if key.isascii():
        key = re.sub(r"^(muang|meuang|muaeng)", "mueang", key)
    return key
