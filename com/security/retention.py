"""Retention of risk points: delete or anonymise records whose category's retention has ended.

PDPA: data linking a person to an offence can be sensitive personal data, and records go when
their retention period ends. Each category of the severity model (``com/config/severity.toml``
or the province's ``COM_SEVERITY_CONFIG``) carries ``retention_days`` (0 = keep for ever) and
``retention_action``: ``delete`` (the default) removes the point, ``anonymise`` keeps it for the
statistics but drops its name, address and attributes and moves it to its subdistrict's
representative point. Either way the copies of the data kept for the upload report (the row's
original values) are scrubbed, and once an upload has no identifiable point left its original
file bytes are purged too (the sha256 stays, so the same file is still recognised).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from com.config.severity import load_severity_tables
from com.errors import ConfigError
from com.security import audit
from com.security.access import CLI, Principal

BANGKOK = ZoneInfo("Asia/Bangkok")
ACTIONS = ("delete", "anonymise")

RetentionAction = Literal["delete", "anonymise"]


@dataclass(frozen=True)
class RetentionRule:
    """How long a category's points are kept and what happens to them afterwards."""

    category: str
    retention_days: int
    action: RetentionAction = "delete"

    @property
    def keeps_forever(self) -> bool:
        """Return True when the category is never expired (``retention_days = 0``)."""
        return self.retention_days == 0


@dataclass
class CategoryOutcome:
    """What a retention run did (or would do) to one category."""

    category: str
    retention_days: int
    action: str
    cutoff: date
    deleted_ids: list[int] = field(default_factory=list)
    anonymised_ids: list[int] = field(default_factory=list)


@dataclass
class RetentionReport:
    """The result of :func:`run_retention`."""

    today: date
    dry_run: bool
    categories: list[CategoryOutcome]
    uploads_purged: list[int] = field(default_factory=list)

    @property
    def deleted(self) -> int:
        """Return the number of points deleted."""
        return sum(len(c.deleted_ids) for c in self.categories)

    @property
    def anonymised(self) -> int:
        """Return the number of points anonymised."""
        return sum(len(c.anonymised_ids) for c in self.categories)

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-ready summary (used by the CLI)."""
        return {
            "today": self.today.isoformat(),
            "dry_run": self.dry_run,
            "deleted": self.deleted,
            "anonymised": self.anonymised,
            "uploads_purged": self.uploads_purged,
            "categories": [
                {**asdict(c), "cutoff": c.cutoff.isoformat()} for c in self.categories
            ],
        }


def load_retention_policy(path: Path | str | None = None) -> dict[str, RetentionRule]:
    """Read each category's retention from the severity model.

    Parameters
    ----------
    path : Path or str, optional
        A province's override file (``COM_SEVERITY_CONFIG``); its category tables are merged
        key by key over the packaged ``com/config/severity.toml``.

    Returns
    -------
    dict of str to RetentionRule
        Category key -> rule, including the ``[unknown_category]`` key.

    Raises
    ------
    com.errors.ConfigError
        When ``retention_days`` is negative or not a whole number, or ``retention_action`` is
        not ``delete`` or ``anonymise``.

    Examples
    --------
    >>> load_retention_policy()["drugs"].retention_days
    0
    """
    categories: dict[str, dict[str, Any]] = {}
    layers = [load_severity_tables(path)]  # the one override merge (com.config.severity)
    for data in layers:
        for key, table in (data.get("categories") or {}).items():
            if isinstance(table, Mapping):
                categories.setdefault(key, {}).update(table)
        unknown = data.get("unknown_category")
        if isinstance(unknown, Mapping):
            categories.setdefault(str(unknown.get("key", "unknown")), {}).update(
                {k: v for k, v in unknown.items() if k.startswith("retention")}
            )
    policy: dict[str, RetentionRule] = {}
    for key, table in categories.items():
        days = table.get("retention_days", 0)
        action = table.get("retention_action", "delete")
        if isinstance(days, bool) or not isinstance(days, int) or days < 0:
            raise ConfigError(
                f"category {key}: retention_days must be a whole number of days >= 0 "
                f"(0 = keep), not {days!r}"
            )
        if action not in ACTIONS:
            raise ConfigError(
                f"category {key}: retention_action must be 'delete' or 'anonymise', "
                f"not {action!r}"
            )
        policy[key] = RetentionRule(category=key, retention_days=days, action=action)
    return policy


_points = sa.table(
    "risk_points",
    sa.column("id"),
    sa.column("category"),
    sa.column("reported_on"),
    sa.column("created_at"),
    sa.column("anonymised_at"),
    sa.column("subdistrict_code"),
    sa.column("source_upload_id"),
    sa.column("source_row"),
)


def _expired(conn: Connection, category: str, cutoff: date) -> list[tuple[int, bool]]:
    """Return (id, has_subdistrict) of the category's live points dated before ``cutoff``."""
    # A point is dated by when it was reported; undated points by when they were stored
    # (as a Bangkok calendar day).
    day = sa.func.coalesce(
        _points.c.reported_on,
        sa.cast(sa.func.timezone("Asia/Bangkok", _points.c.created_at), sa.Date),
    )
    query = (
        sa.select(_points.c.id, _points.c.subdistrict_code.is_not(None))
        .where(_points.c.category == category)
        .where(_points.c.anonymised_at.is_(None))
        .where(day < cutoff)
        .order_by(_points.c.id)
        .with_for_update()
    )
    return [(int(i), bool(s)) for i, s in conn.execute(query)]


# A point stored cleanly has no report line of its own (the view upload_report makes it from
# the point, 0011_ingest_speed): write it out before the point changes or goes, so the
# upload's report still answers for that row, scrubbed like the others.
_KEEP_REPORT_LINES = sa.text(
    """
    INSERT INTO upload_rows (upload_id, row_number, status, lat, lon, subdistrict_code,
                             quality, record_id, original)
    SELECT rp.source_upload_id, rp.source_row, 'stored', ST_Y(rp.geom), ST_X(rp.geom),
           rp.subdistrict_code, rp.geocode_quality, rp.id, '{}'::jsonb
    FROM risk_points AS rp
    WHERE rp.id = ANY(:ids) AND rp.source_upload_id IS NOT NULL AND rp.source_row IS NOT NULL
    ON CONFLICT (upload_id, row_number) DO NOTHING
    """
)
_SCRUB_ROWS = sa.text(
    """
    UPDATE upload_rows AS ur SET original = '{}'::jsonb, lat = NULL, lon = NULL
    FROM risk_points AS rp
    WHERE rp.id = ANY(:ids)
      AND (ur.record_id = rp.id
           OR (ur.upload_id = rp.source_upload_id AND ur.row_number = rp.source_row))
    """
)
_ANONYMISE = sa.text(
    """
    UPDATE risk_points AS rp
    SET name = NULL, address = NULL, attributes = '{}'::jsonb,
        geom = s.rep_point, approximate = true, geocode_quality = 'subdistrict',
        geocode_score = NULL, anonymised_at = now()
    FROM subdistricts AS s
    WHERE rp.id = ANY(:ids) AND s.code = rp.subdistrict_code
    """
)
_DELETE = sa.text("DELETE FROM risk_points WHERE id = ANY(:ids)")
_UPLOADS_OF = sa.text(
    "SELECT DISTINCT source_upload_id FROM risk_points "
    "WHERE id = ANY(:ids) AND source_upload_id IS NOT NULL"
)
# An upload whose points are all gone or anonymised holds nothing identifiable any more
# except its original bytes and row copies: purge those as well.
_PURGE_UPLOADS = sa.text(
    """
    UPDATE uploads AS u SET content = ''::bytea, content_purged_at = now()
    WHERE u.id = ANY(:upload_ids) AND u.content_purged_at IS NULL
      AND NOT EXISTS (
          SELECT 1 FROM risk_points rp
          WHERE rp.source_upload_id = u.id AND rp.anonymised_at IS NULL)
    RETURNING u.id
    """
)
_SCRUB_UPLOAD_ROWS = sa.text(
    "UPDATE upload_rows SET original = '{}'::jsonb, lat = NULL, lon = NULL "
    "WHERE upload_id = ANY(:upload_ids)"
)


def run_retention(
    conn: Connection,
    *,
    policy: Mapping[str, RetentionRule] | None = None,
    today: date | None = None,
    dry_run: bool = False,
    principal: Principal = CLI,
) -> RetentionReport:
    """Delete or anonymise the risk points whose retention has ended, and audit it.

    Runs in the caller's transaction; with ``dry_run`` nothing is changed and nothing is
    written to the audit trail.

    Parameters
    ----------
    conn
        Connection of the transaction the caller owns.
    policy
        Category -> rule; default :func:`load_retention_policy` of the packaged model.
    today
        The day to measure from (default: today in Bangkok).
    dry_run
        Report what would happen without changing anything.
    principal
        Who runs it (written to the audit row).

    Returns
    -------
    RetentionReport
        Per category the cutoff day and the ids deleted and anonymised, and the uploads whose
        original bytes were purged.
    """
    policy = load_retention_policy() if policy is None else policy
    today = today or datetime.now(BANGKOK).date()
    outcomes: list[CategoryOutcome] = []
    touched_uploads: set[int] = set()
    for rule in sorted(policy.values(), key=lambda r: r.category):
        if rule.keeps_forever:
            continue
        outcome = _expired_outcome(conn, rule, today)
        outcomes.append(outcome)
        if not dry_run:
            touched_uploads.update(_apply_outcome(conn, outcome))
    report = RetentionReport(today=today, dry_run=dry_run, categories=outcomes)
    if dry_run:
        return report
    report.uploads_purged = _purge_uploads(conn, touched_uploads)
    _audit_run(conn, report, principal)
    return report


def _expired_outcome(conn: Connection, rule: RetentionRule, today: date) -> CategoryOutcome:
    """Return which points of ``rule``'s category are past their cutoff, and what to do to each."""
    cutoff = today - timedelta(days=rule.retention_days)
    outcome = CategoryOutcome(rule.category, rule.retention_days, rule.action, cutoff)
    for point_id, has_subdistrict in _expired(conn, rule.category, cutoff):
        # A point with no subdistrict has no representative point to move to: delete it.
        if rule.action == "anonymise" and has_subdistrict:
            outcome.anonymised_ids.append(point_id)
        else:
            outcome.deleted_ids.append(point_id)
    return outcome


def _apply_outcome(conn: Connection, outcome: CategoryOutcome) -> set[int]:
    """Anonymise and delete the outcome's points; return the uploads they came from."""
    ids = outcome.deleted_ids + outcome.anonymised_ids
    if not ids:
        return set()
    uploads = {int(u) for u in conn.execute(_UPLOADS_OF, {"ids": ids}).scalars()}
    conn.execute(_KEEP_REPORT_LINES, {"ids": ids})
    conn.execute(_SCRUB_ROWS, {"ids": ids})
    if outcome.anonymised_ids:
        conn.execute(_ANONYMISE, {"ids": outcome.anonymised_ids})
    if outcome.deleted_ids:
        conn.execute(_DELETE, {"ids": outcome.deleted_ids})
    return uploads


def _purge_uploads(conn: Connection, touched_uploads: set[int]) -> list[int]:
    """Purge the original bytes of the touched uploads that qualify; return their ids."""
    if not touched_uploads:
        return []
    upload_ids = sorted(touched_uploads)
    purged = sorted(
        int(u) for u in conn.execute(_PURGE_UPLOADS, {"upload_ids": upload_ids}).scalars()
    )
    if purged:
        conn.execute(_SCRUB_UPLOAD_ROWS, {"upload_ids": purged})
    return purged


def _audit_run(conn: Connection, report: RetentionReport, principal: Principal) -> None:
    """Write the ``retention.run`` audit row of a run that changed the data."""
    outcomes = report.categories
    audit.record(
        conn,
        principal=principal,
        action="retention.run",
        target="risk_points",
        record_ids=[i for c in outcomes for i in c.deleted_ids + c.anonymised_ids],
        details={
            "deleted": report.deleted,
            "anonymised": report.anonymised,
            "uploads_purged": report.uploads_purged,
            "categories": {
                c.category: {
                    "retention_days": c.retention_days,
                    "action": c.action,
                    "cutoff": c.cutoff.isoformat(),
                    "deleted_ids": c.deleted_ids,
                    "anonymised_ids": c.anonymised_ids,
                }
                for c in outcomes
            },
        },
    )

