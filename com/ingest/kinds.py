"""The registry of upload kinds: where a kind's rows go and how a row becomes a record.

``KINDS`` maps an upload kind to a :class:`Kind`: the target table, the record columns a
row builder fills, extra column names to recognise, whether address-only rows are allowed and
which column makes two nearby records duplicates. Built in (:mod:`com.ingest.records`):
``risk_points``, ``cameras`` and ``layer`` (lines and polygons into ``context_layers``; lines
and polygons in a risk-point file go there too). Another kind needs only its table, with an
identity ``id`` and the columns ``geom``, ``subdistrict_code``, ``province_code``,
``source_upload_id`` and ``source_row`` (and ``district_code`` if ``has_district``), and a
registration in the package that owns it::

    register_kind(Kind(name="sites", table="candidate_sites", columns=("name", "attributes"),
                       build=build_site, extra_fields={"capacity": ("ความจุ", "capacity")}))

where ``build_site(row: RowValues) -> BuiltRecord`` returns the record values keyed by
column (dicts and lists are stored as JSON) and the duplicate key, or raises
:class:`com.ingest.options.RowRejected`.

This module is a leaf of the ingest package: it imports none of the packages that register
kinds (``projects`` in :mod:`com.analysis.kpi`, ``sites`` in :mod:`com.siting`), so they can
import it without a cycle. :data:`KIND_PROVIDERS` names the module that registers each kind;
it is imported on the first lookup of that name, the way entry points load plug-ins.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from com.errors import ConfigError, ValidationError
from com.ingest.cells import is_blank_cell, tidy_text
from com.ingest.readers import json_safe

__all__ = [
    "KINDS",
    "KIND_PROVIDERS",
    "BuiltRecord",
    "Kind",
    "KindRegistry",
    "RowValues",
    "lookup_kind",
    "register_kind",
]


@dataclass
class RowValues:
    """One row as a kind's builder sees it.

    Attributes
    ----------
    fields : dict
        Raw cell value of each recognised field (``category``, ``severity``, ...).
    columns : dict
        Field -> column name, for messages.
    extra : dict
        Unrecognised columns (name -> JSON value), kept as attributes.
    address : str or None
        The address used (combined from the address columns), cleaned.
    quality : str
        ``coordinates`` or ``subdistrict`` (address-only, approximate).
    geocode_score : float or None
        Score of the address match for approximate rows.
    warnings : list of str
        Builders append what the uploader should know.
    context : dict
        Upload-wide helpers shared by all rows (``categories``, ``severity_words``,
        ``layer``, ``today``, ``cache``).
    original : dict
        Every cell of the row by column name (JSON values).
    geometry_hex : str or None
        WKB of a line/polygon row (layers).
    """

    fields: dict[str, Any]
    columns: dict[str, str]
    extra: dict[str, Any]
    address: str | None
    quality: str
    geocode_score: float | None
    warnings: list[str]
    context: dict[str, Any]
    original: dict[str, Any] = field(default_factory=dict)
    geometry_hex: str | None = None

    def get(self, name: str) -> Any:
        """Return the raw value of a field, None when absent or blank."""
        value = self.fields.get(name)
        if value is None:
            return None
        return None if is_blank_cell(value) else value

    def text(self, name: str) -> str | None:
        """Return a field as tidy text (as written, Thai digits kept), None when blank."""
        value = self.get(name)
        if value is None:
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return tidy_text(value if type(value) is str else str(json_safe(value))) or None


@dataclass
class BuiltRecord:
    """What a builder returns: the record's column values and the duplicate key."""

    values: dict[str, Any]
    dedupe_key: str | None = ""


@dataclass(frozen=True)
class Kind:
    """An upload kind: where its rows go and how a row becomes a record.

    Attributes
    ----------
    name : str
        The kind's key (``risk_points``).
    table : str
        Target table with an identity ``id`` and ``geom``, ``subdistrict_code``,
        ``province_code``, ``source_upload_id`` and ``source_row`` columns.
    columns : tuple of str
        Record columns the builder fills (COPYed in this order).
    build : callable
        ``build(RowValues) -> BuiltRecord``; raises :class:`com.ingest.options.RowRejected`.
    extra_fields : mapping
        More ``field -> column names`` to recognise (``radius_m`` for cameras).
    allow_address : bool
        Accept address-only rows (placed approximately).
    dedupe_column : str or None
        Column compared with the duplicate key (``category``); None: any record nearby.
    has_district : bool
        The table has ``district_code``.
    has_approximate : bool
        The table has ``approximate``, ``name`` and ``address`` (address-row duplicates).
    has_h3 : bool
        The table has the H3 cell columns ``h3_6`` ... ``h3_9`` (com.geo.h3), filled on COPY.
    geometry : str
        ``point`` (rows are points; lines and polygons go to context layers) or ``layer``.
    """

    name: str
    table: str
    columns: tuple[str, ...]
    build: Callable[[RowValues], BuiltRecord]
    extra_fields: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    allow_address: bool = True
    dedupe_column: str | None = None
    has_district: bool = False
    has_approximate: bool = False
    has_h3: bool = False
    geometry: str = "point"




#: The module that registers each kind, imported on the first lookup of the kind's name
#: (like an entry point: a name here is a string, not an import, so the packages above ingest
#: that own a kind import ingest and never the other way round).
KIND_PROVIDERS: Mapping[str, str] = {
    "risk_points": "com.ingest.records",
    "cameras": "com.ingest.records",
    "layer": "com.ingest.records",
    "projects": "com.analysis.kpi.project_kind",
    "sites": "com.siting.candidates",
}


class KindRegistry(Mapping[str, Kind]):
    """The upload kinds by name, each provider module imported on the first lookup of its kind.

    Parameters
    ----------
    providers : mapping of str to str
        Kind name -> the module that registers it when imported.
    """

    def __init__(self, providers: Mapping[str, str]) -> None:
        self._kinds: dict[str, Kind] = {}
        self._providers = dict(providers)

    def __getitem__(self, name: str) -> Kind:
        """Return a kind, importing its provider module the first time it is asked for."""
        if name not in self._kinds and name in self._providers:
            importlib.import_module(self._providers[name])
        return self._kinds[name]

    def __iter__(self) -> Iterator[str]:
        """Iterate over the names of the registered kinds, then of those not yet loaded."""
        return iter(dict.fromkeys([*self._kinds, *self._providers]))

    def __len__(self) -> int:
        """Return the number of kinds, loaded or not."""
        return len(self._kinds.keys() | self._providers.keys())

    def add(self, kind: Kind) -> None:
        """Add (or replace) a kind."""
        self._kinds[kind.name] = kind


KINDS = KindRegistry(KIND_PROVIDERS)
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


def register_kind(kind: Kind) -> None:
    """Add (or replace) an upload kind in ``KINDS``.

    Raises
    ------
    com.errors.ConfigError
        When a table or column name is not a plain SQL identifier.
    """
    for ident in (kind.table, *kind.columns, *(filter(None, [kind.dedupe_column]))):
        if not _IDENT.match(ident):
            raise ConfigError(f"kind {kind.name}: {ident!r} is not a plain SQL identifier")
    KINDS.add(kind)


def lookup_kind(name: str) -> Kind:
    """Return the upload kind of that name.

    Raises
    ------
    com.errors.ValidationError
        When no kind has that name.
    """
    if name not in KINDS:
        raise ValidationError(
            f"unknown upload kind {name!r}; kinds: {', '.join(sorted(KINDS))}"
        )
    return KINDS[name]
