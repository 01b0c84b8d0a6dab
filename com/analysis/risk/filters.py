"""Area levels and point filters of the risk analysis: which areas, which points, as of when."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from com.analysis.risk.h3cells import h3_api
from com.config.regions import province_codes_of, region_key
from com.config.severity import SeverityModel, category_key, severity_model_of
from com.errors import PermissionDenied, ValidationError
from com.text.thai import parse_date


@dataclass(frozen=True)
class AreaLevel:
    """An area level: admin areas, H3 cells, villages or a custom layer's areas.

    ``subdistrict``, ``district``, ``province``, ``h3`` with a resolution, ``village`` or
    ``layer`` with a layer name (issue 16: areas of ``area_features``).
    """

    kind: Literal["subdistrict", "district", "province", "h3", "village", "layer"] = "subdistrict"
    resolution: int | None = None
    layer: str | None = None

    @classmethod
    def parse(cls, text: str | AreaLevel | None) -> AreaLevel:
        """Read ``subdistrict``, ``district``, ``province`` or ``h3:N`` (N = 0-15).

        Raises
        ------
        com.errors.ValidationError
            For anything else.
        """
        if isinstance(text, AreaLevel):
            return text
        value = (text or "subdistrict").strip().lower()
        if value in ("subdistrict", "district", "province"):
            return cls(value)  # type: ignore[arg-type]
        if value in ("village", "villages"):
            return cls("village", layer="villages")
        layer = re.fullmatch(r"layer:([0-9a-z\u0e00-\u0e7f_-]{1,60})", value)
        if layer and layer.group(1) != "villages":
            return cls("layer", layer=layer.group(1))
        match = re.fullmatch(r"h3[:_ ]?(\d{1,2})", value)
        if match and 0 <= int(match.group(1)) <= 15:
            return cls("h3", int(match.group(1)))
        raise ValidationError(
            f"level {text!r} is not subdistrict, district, province, h3:N (N = 0-15), village "
            "or layer:NAME"
        )

    @property
    def code_column(self) -> str:
        """The output column holding the area code."""
        if self.kind == "h3":
            return "h3_cell"
        return "area_code" if self.kind == "layer" else f"{self.kind}_code"

    @property
    def is_layer(self) -> bool:
        """Whether the areas are those of an imported layer (villages or a custom layer)."""
        return self.kind in ("village", "layer")

    @property
    def factor_kind(self) -> str:
        """The level whose context factors apply: a layer's areas take the subdistrict's."""
        return "subdistrict" if self.is_layer else self.kind

    def __str__(self) -> str:
        if self.kind == "h3":
            return f"h3:{self.resolution}"
        return f"layer:{self.layer}" if self.kind == "layer" else self.kind


#: Finest H3 resolution served to callers without the "sensitive" permission. A resolution-7
#: cell covers about 5 km² (edge about 1.4 km), the same order as the subdistrict (about 50 km²
#: in Surin) whose representative point stands in for a sensitive point elsewhere; finer cells
#: would pin one down by its cell's score (a drug hand-off spot alone in a 1 m² resolution-15
#: cell), in rankings, hot spots and explanations alike.
MAX_H3_RESOLUTION_WITHOUT_SENSITIVE = 7


def check_level_for(level: str | AreaLevel, *, sees_sensitive: bool) -> AreaLevel:
    """Return the parsed level, refusing H3 cells too fine for a caller without "sensitive".

    Parameters
    ----------
    level
        ``subdistrict``, ``district``, ``province`` or ``h3:N``; or an area code (its level).
    sees_sensitive
        ``Principal.sees_sensitive`` of the caller.

    Raises
    ------
    com.errors.ValidationError
        For a level that is not one.
    com.errors.PermissionDenied
        For ``h3:N`` finer than :data:`MAX_H3_RESOLUTION_WITHOUT_SENSITIVE` without the right.
    """
    if isinstance(level, AreaLevel):
        parsed = level
    else:
        text = str(level).strip().lower()
        by_name = text.startswith(("h3", "layer:")) or text.isalpha()
        parsed = AreaLevel.parse(text) if by_name else level_of_code(text)
    if (parsed.kind == "h3" and not sees_sensitive
            and int(parsed.resolution or 0) > MAX_H3_RESOLUTION_WITHOUT_SENSITIVE):
        raise PermissionDenied(
            f"H3 resolution {parsed.resolution} would locate sensitive points too closely: "
            f"use h3:{MAX_H3_RESOLUTION_WITHOUT_SENSITIVE} or coarser (finer cells need the "
            "'sensitive' permission)"
        )
    return parsed


def level_of_code(code: str) -> AreaLevel:
    """Return the level of an area code: 6 digits subdistrict, 4 district, 2 province, or H3.

    Raises
    ------
    com.errors.ValidationError
        For a code of none of these shapes.
    """
    code = str(code).strip()
    if re.fullmatch(r"\d{8}", code):
        return AreaLevel("village", layer="villages")
    if re.fullmatch(r"\d{6}", code):
        return AreaLevel("subdistrict")
    if re.fullmatch(r"\d{4}", code):
        return AreaLevel("district")
    if re.fullmatch(r"\d{2}", code):
        return AreaLevel("province")
    h3int = h3_api()
    try:
        cell = h3int.str_to_int(code.lower())
        if h3int.is_valid_cell(cell):
            return AreaLevel("h3", h3int.get_resolution(cell))
    except (ValueError, TypeError, Exception):  # noqa: BLE001 - h3 raises its own classes
        pass
    raise ValidationError(
        f"area code {code!r} is not a subdistrict (6 digits), district (4), province (2) "
        "or H3 cell code"
    )


@dataclass(frozen=True)
class RiskFilter:
    """Which points count: area, date range, categories, severity; and the analysis date.

    ``provinces`` is the extent as a set of provinces (one province, a region's, or None for
    all); ``province`` is that province when there is exactly one, ``region`` the region's key.
    """

    province: str | None = None
    provinces: tuple[str, ...] | None = None
    region: str | None = None
    district: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    categories: tuple[str, ...] | None = None
    min_severity: int | None = None
    as_of: dt.date | None = None
    use_recency: bool = True

    @property
    def province_codes(self) -> tuple[str, ...] | None:
        """The provinces of the extent (None: every province)."""
        if self.provinces is not None:
            return self.provinces
        return (self.province,) if self.province else None

    @property
    def analysis_date(self) -> dt.date:
        """The date ages are counted back from: ``as_of``, else ``date_to``, else today."""
        return self.as_of or self.date_to or dt.date.today()

    @property
    def extent_key(self) -> str:
        """The extent (provinces, district) as text: ``32,31:*``, ``*:3201``, ``*:*``.

        Names what the database keeps per extent (the H3 rankings' values and snapshots);
        :meth:`of_extent` reads it back.
        """
        return f"{','.join(self.province_codes or ()) or '*'}:{self.district or '*'}"

    @classmethod
    def of_extent(cls, key: str) -> RiskFilter:
        """Return the filter of an :attr:`extent_key` (every point of that extent)."""
        provinces, district = (None if part == "*" else part for part in key.split(":"))
        return cls(provinces=tuple(provinces.split(",")) if provinces else None,
                   district=district)


def _as_date(value: object, what: str) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        parsed = parse_date(value)
    except Exception as exc:  # noqa: BLE001 - any parse failure is the user's date
        raise ValidationError(f"{what}: {value!r} is not a date ({exc})") from exc
    if parsed is None:
        raise ValidationError(f"{what}: {value!r} is not a date")
    return parsed


def make_filter(
    *,
    province: str | None = None,
    district: str | None = None,
    region: str | None = None,
    date_from: dt.date | str | None = None,
    date_to: dt.date | str | None = None,
    categories: Iterable[str] | str | None = None,
    min_severity: int | None = None,
    as_of: dt.date | str | None = None,
    use_recency: bool = True,
    model: SeverityModel | None = None,
) -> RiskFilter:
    """Validate filter values into a :class:`RiskFilter`.

    Raises
    ------
    com.errors.ValidationError
        Naming the bad value (a code of the wrong shape, an unknown category, a reversed
        date range, a severity outside 1-5).
    """
    model = severity_model_of(model)
    province = str(province).strip() if province not in (None, "") else None
    district = str(district).strip() if district not in (None, "") else None
    if province is not None and not re.fullmatch(r"\d{2}", province):
        raise ValidationError(f"province {province!r} must be a 2-digit code such as 32")
    codes = province_codes_of(province=province, region=region)
    key = region_key(region) if region not in (None, "") else None
    if district is not None:
        if not re.fullmatch(r"\d{4}", district):
            raise ValidationError(f"district {district!r} must be a 4-digit code such as 3206")
        if codes is not None and district[:2] not in codes:
            where = f"province {province}" if province else f"region {key}"
            raise ValidationError(f"district {district} is not in {where}")
    start = _as_date(date_from, "from")
    end = _as_date(date_to, "to")
    if start and end and start > end:
        raise ValidationError(f"date range reversed: from {start} is after to {end}")
    cats: tuple[str, ...] | None = None
    if categories:
        items = categories.split(",") if isinstance(categories, str) else list(categories)
        keys: list[str] = []
        for item in items:
            for part in str(item).split(","):
                if part.strip():
                    keys.append(category_key(part.strip(), model, strict=True))
        cats = tuple(dict.fromkeys(keys)) or None
    if min_severity is not None and not 1 <= int(min_severity) <= 5:
        raise ValidationError(f"minimum severity {min_severity} is not 1-5")
    return RiskFilter(
        province=codes[0] if codes is not None and len(codes) == 1 else None,
        provinces=codes,
        region=key,
        district=district,
        date_from=start,
        date_to=end,
        categories=cats,
        min_severity=int(min_severity) if min_severity is not None else None,
        as_of=_as_date(as_of, "as_of"),
        use_recency=use_recency,
    )
