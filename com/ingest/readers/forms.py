"""Exports of field survey apps (KoboToolbox, ODK Collect/Central): which columns are data.

A form export names its columns after the form's questions, prefixed by their groups
(``group_x/field``, ``group_x.field`` or, in ODK Central, ``group_x-field``), splits a
geopoint into ``_<field>_latitude``/``_longitude``/``_altitude``/``_precision`` (Kobo) or
``<field>-Latitude``/``-Longitude``/``-Altitude``/``-Accuracy`` (ODK Central), adds the
point as ``_geolocation`` ("[lat, lon]") and carries meta columns about the submission
(``_id``, ``_uuid``, ``_submission_time``, ``meta/instanceID``, ``KEY``, ``start``, ...).

:func:`recognise_form_export` rewrites the header cells used for recognition (never the
column names, which the report shows as written): a question is recognised by its own
name, latitude/longitude parts as such, altitude and accuracy and the meta columns as
nothing (they stay attributes and are never taken for a place, a name or a note).
"""

from __future__ import annotations

import re

from com.ingest.readers.table import SourceTable

__all__ = ["recognise_form_export"]

#: Meta columns of KoboToolbox and ODK exports (compared in lower case, group prefixes off).
_META = frozenset({
    "_id", "_uuid", "_submission_time", "_index", "_parent_index", "_parent_table_name",
    "_status", "_submitted_by", "_version_", "__version__", "_validation_status", "_notes",
    "_tags", "_attachments", "_xform_id_string", "_media_count", "_media_all_received",
    "_total_media", "_bamboo_dataset_id", "_duration", "_edited",
    "instanceid", "instancename", "deprecatedid", "key", "parent_key", "submissiondate",
    "submitterid", "submittername", "attachmentspresent", "attachmentsexpected", "status",
    "reviewstate", "deviceid", "edits", "formversion", "start", "end", "today", "username",
    "simserial", "subscriberid", "phonenumber", "audit", "uuid",
})
#: Columns that say a table is a form export (any one of them).
_SIGNATURE = frozenset({"_uuid", "_submission_time", "_id", "_index", "_xform_id_string",
                        "submissiondate", "key", "__version__", "_version_"})
_SUBMISSION_TIME = ("_submission_time", "submissiondate")
_GEOPOINT_PART = re.compile(
    r"^_?(?P<field>.*?)[_\-](?P<part>latitude|longitude|altitude|precision|accuracy)$",
    re.IGNORECASE,
)


def _last_segment(name: str, *, dashes: bool) -> str:
    """Return a question's own name without its group prefix."""
    parts = re.split(r"[/.]" if not dashes else r"[/.\-]", name.strip())
    parts = [p for p in parts if p]
    return parts[-1] if parts else name


def _is_meta(name: str) -> bool:
    lower = name.strip().lower()
    if lower in _META:
        return True
    if lower.startswith(("meta/", "meta-", "meta.", "formhub/", "formhub.", "__")):
        return True
    return _last_segment(lower, dashes=False) in _META and lower.startswith("_")


def recognise_form_export(table: SourceTable) -> str | None:
    """Rewrite the recognition headers of a KoboToolbox/ODK export in place.

    Parameters
    ----------
    table : SourceTable
        A CSV or Excel table as read.

    Returns
    -------
    str or None
        ``kobo`` or ``odk`` when the table is a form export (also in
        ``table.details["form_export"]``; the submission-time column, if any, in
        ``table.details["submission_time_column"]``), else None and nothing changed.
    """
    lowered = [c.strip().lower() for c in table.columns]
    segments = {_last_segment(c, dashes=False) for c in lowered}
    if not (_SIGNATURE & (set(lowered) | segments)) and not any(
        c.startswith(("meta/", "meta-", "formhub/")) for c in lowered
    ):
        return None
    odk = "key" in lowered or "submissiondate" in lowered or any(
        c.startswith("meta-") for c in lowered)
    kind = "odk" if odk else "kobo"
    parts: list[tuple[str, ...]] = []
    has_point_parts = False
    # A select_multiple question is one column of chosen codes ("hazard": "flood fire") and
    # one 0/1 column per choice ("hazard/flood"); a choice column is an attribute.
    names = {c.strip() for c in table.columns}
    for name, lower in zip(table.columns, lowered, strict=True):
        if lower in _SUBMISSION_TIME:
            table.details["submission_time_column"] = name
            parts.append(("",))
            continue
        if _is_meta(lower):
            parts.append(("",))
            continue
        stem = re.split(r"[/.]", name.strip())
        if len(stem) > 1 and "/".join(stem[:-1]) in names | {n.replace(".", "/") for n in names}:
            parts.append(("",))
            continue
        own = _last_segment(name, dashes=odk)
        m = _GEOPOINT_PART.match(own) or _GEOPOINT_PART.match(name.strip())
        if m is not None:
            part = m.group("part").lower()
            if part in ("latitude", "longitude"):
                has_point_parts = True
                parts.append((part,))
            else:
                parts.append(("",))  # altitude, accuracy: metres, kept as attributes
            continue
        if lower in ("_geolocation", "geolocation"):
            parts.append(("location",))
            continue
        parts.append((own, name) if own != name else (name,))
    if has_point_parts:
        # The split parts are the same point as _geolocation: read them, not both.
        parts = [("",) if p == ("location",) and lower in ("_geolocation", "geolocation")
                 else p for p, lower in zip(parts, lowered, strict=True)]
    table.header_parts = parts
    table.details["form_export"] = kind
    return kind
