"""A whole selection for exports: typed rows plus WKB geometries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ExportData:
    """A whole selection for exports: typed rows plus WKB geometries.

    ``types`` maps each column to ``string``, ``integer``, ``number``, ``date`` or
    ``boolean``; the first column is the feature id.
    """

    collection_id: str
    columns: list[str]
    types: dict[str, str]
    rows: list[tuple[Any, ...]]
    wkb: list[bytes | None]
    sensitive_keys: list[Any] = field(default_factory=list)

    @property
    def keys(self) -> list[Any]:
        """Return the feature ids in export order."""
        return [r[0] for r in self.rows]
