"""What the catalog answers: pages of GeoJSON features, extents and their RFC 3339 texts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from com.ogc.values import THAI_TZ


@dataclass
class FeaturePage:
    """One page of features: GeoJSON feature texts (built by PostGIS) and paging facts."""

    features: list[str]
    keys: list[Any]
    number_matched: int | None
    next_cursor: str | None
    prev_cursor: str | None
    prev_offset: int | None
    sensitive_keys: list[Any] = field(default_factory=list)

    @property
    def number_returned(self) -> int:
        """Return the number of features on this page."""
        return len(self.features)


@dataclass(frozen=True)
class Extent:
    """Spatial (WGS84 bbox) and temporal extent of what a principal may see."""

    bbox: tuple[float, float, float, float] | None
    interval: tuple[date | None, date | None] | None


def timestamp() -> str:
    """Return the current time as RFC 3339 UTC (``timeStamp`` of feature collections)."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def interval_text(interval: tuple[date | None, date | None]) -> list[str | None]:
    """Return a temporal interval as RFC 3339 strings (dates at Thai midnight)."""
    def one(d: date | None, end: bool) -> str | None:
        if d is None:
            return None
        moment = datetime.combine(d + timedelta(days=1) if end else d, datetime.min.time(),
                                  THAI_TZ)
        if end:
            moment -= timedelta(seconds=1)
        return moment.isoformat()

    return [one(interval[0], False), one(interval[1], True)]
