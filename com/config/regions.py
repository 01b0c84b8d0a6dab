"""Regions: named sets of provinces (ISOC and narcotics-control regions, and users' own).

The one source of truth is the packaged ``com/config/regions.toml`` merged with the file named
by ``COM_REGIONS_CONFIG``. A region's key (``isoc-2``, ``oncb-3``) or its Thai or English name
selects it wherever a province is accepted.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from com.config.settings import get_settings
from com.errors import ConfigError, ValidationError

__all__ = [
    "Region",
    "RegionSet",
    "cached_regions",
    "load_regions",
    "province_codes_of",
    "region_key",
    "region_provinces",
    "regions_in_force",
]

_CODE = re.compile(r"\d{2}")
_KEY = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


@dataclass(frozen=True)
class Region:
    """A named set of provinces.

    Attributes
    ----------
    key
        Identifier used on the command line and in URLs (``isoc-2``).
    th, en
        Thai and English names.
    group
        The family it belongs to (``isoc``, ``oncb`` or a user's own).
    provinces
        2-digit province codes, sorted.
    """

    key: str
    th: str
    en: str
    group: str
    provinces: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """Return the region as plain JSON-ready data."""
        return {"key": self.key, "name_th": self.th, "name_en": self.en, "group": self.group,
                "provinces": list(self.provinces)}


@dataclass(frozen=True)
class RegionSet:
    """The regions in force, looked up by key or by name."""

    regions: tuple[Region, ...]
    known_provinces: frozenset[str]

    def get(self, name: str) -> Region:
        """Return the region called ``name`` (its key, Thai or English name; case ignored).

        Raises
        ------
        com.errors.ValidationError
            For a name no region has, listing the keys there are.
        """
        wanted = " ".join(str(name).split()).casefold()
        for region in self.regions:
            if wanted in (region.key, region.th.casefold(), region.en.casefold()):
                return region
        keys = ", ".join(r.key for r in self.regions)
        raise ValidationError(
            f"ไม่รู้จักภาค {name!r} / unknown region {name!r} (regions: {keys}; "
            "see `com regions list`)"
        )

    def as_list(self) -> list[dict[str, Any]]:
        """Return every region as JSON-ready data."""
        return [r.as_dict() for r in self.regions]


def _read(path: Path | None) -> dict[str, Any]:
    where = str(path) if path is not None else "com/config/regions.toml"
    try:
        if path is None:
            text = resources.files("com.config").joinpath("regions.toml").read_text("utf-8")
        else:
            text = Path(path).read_text(encoding="utf-8")
        return tomllib.loads(text)
    except FileNotFoundError as exc:
        raise ConfigError(f"ไม่พบไฟล์ภาค / regions file {where}: no such file") from exc
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"อ่านไฟล์ภาคไม่ได้ / regions file {where}: {exc}") from exc


def _region(key: str, spec: Any, known: frozenset[str] | None, where: str) -> Region:
    if not _KEY.fullmatch(key):
        raise ConfigError(
            f"{where}: ชื่อภาค {key!r} ใช้ได้เฉพาะอักษรละตินตัวเล็ก ตัวเลข - _ / region key "
            f"{key!r} must be lower-case letters, digits, '-' or '_'"
        )
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: regions.{key} ต้องเป็นตาราง / must be a table")
    provinces = spec.get("provinces")
    if not isinstance(provinces, list) or not provinces:
        raise ConfigError(
            f"{where}: regions.{key}.provinces ต้องเป็นรายการรหัสจังหวัด / must be a non-empty "
            "list of 2-digit province codes"
        )
    codes: list[str] = []
    for item in provinces:
        code = str(item).strip().upper().removeprefix("TH")
        if not _CODE.fullmatch(code) or (known is not None and code not in known):
            raise ConfigError(
                f"{where}: regions.{key}.provinces: ไม่รู้จักรหัสจังหวัด {item!r} / unknown "
                f"province code {item!r} (2-digit DOPA codes such as 32)"
            )
        codes.append(code)
    for field in ("th", "en"):
        if not str(spec.get(field) or "").strip():
            raise ConfigError(f"{where}: regions.{key}.{field}: ต้องมีชื่อ / a name is required")
    return Region(key=key, th=str(spec["th"]).strip(), en=str(spec["en"]).strip(),
                  group=str(spec.get("group") or "custom"), provinces=tuple(sorted(set(codes))))


def _regions_of(data: dict[str, Any], known: frozenset[str] | None, where: str) -> list[Region]:
    table = data.get("regions")
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: ต้องมีตาราง [regions.*] / needs [regions.<key>] tables")
    return [_region(str(k), v, known, where) for k, v in table.items()]


def load_regions(path: Path | str | None = None) -> RegionSet:
    """Read the packaged regions, merged with an override file.

    Parameters
    ----------
    path : Path or str, optional
        A TOML file (``COM_REGIONS_CONFIG``) with ``[regions.<key>]`` tables (``th``, ``en``,
        ``group``, ``provinces``). A key already packaged replaces that region; a new key adds
        one.

    Returns
    -------
    RegionSet
        The validated regions, packaged ones first.

    Raises
    ------
    com.errors.ConfigError
        When a file cannot be read, or a region has no names, no provinces or a province code
        that is not one of Thailand's (the union of the packaged ISOC regions).

    Examples
    --------
    >>> load_regions().get("isoc-2").provinces[:3]
    ('30', '31', '32')
    """
    packaged = _regions_of(_read(None), None, "com/config/regions.toml")
    # The four ISOC regions hold every province once: their union is the list of known codes.
    known = frozenset(c for r in packaged if r.group == "isoc" for c in r.provinces)
    merged = {r.key: r for r in packaged}
    if path is not None:
        for region in _regions_of(_read(Path(path)), known, str(path)):
            merged[region.key] = region
    return RegionSet(regions=tuple(merged.values()), known_provinces=known)


@lru_cache(maxsize=8)
def _cached(path: str | None) -> RegionSet:
    return load_regions(path)


def cached_regions(path: Path | str | None = None) -> RegionSet:
    """Return :func:`load_regions` of ``path``, read once per process (request paths)."""
    return _cached(str(path) if path is not None else None)


def province_codes_of(
    *, province: str | None = None, region: str | None = None,
    regions: RegionSet | None = None,
) -> tuple[str, ...] | None:
    """Return the provinces a ``province`` or ``region`` argument stands for (None: all).

    The one rule by which a region becomes provinces: both given must agree (the province
    must be one of the region's).

    Raises
    ------
    com.errors.ValidationError
        For an unknown region, or a province outside the region given with it.
    """
    if region in (None, ""):
        return (str(province).strip(),) if province not in (None, "") else None
    found = (regions or regions_in_force()).get(str(region))
    if province not in (None, ""):
        code = str(province).strip()
        if code not in found.provinces:
            raise ValidationError(
                f"จังหวัด {code} ไม่อยู่ใน {found.th} / province {code} is not in region "
                f"{found.key} ({', '.join(found.provinces)})"
            )
        return (code,)
    return found.provinces


def region_key(name: str) -> str:
    """Return the key of the region called ``name`` (its key, Thai or English name).

    Raises
    ------
    com.errors.ValidationError
        For an unknown region.
    """
    return regions_in_force().get(name).key


def region_provinces(name: str | None) -> frozenset[str]:
    """Return the provinces of the region an account or key is limited to.

    Empty for None, and for a region no longer configured: a principal limited to it then
    sees nothing (the restriction fails closed, never open).
    """
    if not name:
        return frozenset()
    try:
        return frozenset(regions_in_force().get(name).provinces)
    except ValidationError:
        return frozenset()


def regions_in_force() -> RegionSet:
    """Return the regions of the settings (``COM_REGIONS_CONFIG`` merged in), read once."""
    return cached_regions(get_settings().regions_config)
