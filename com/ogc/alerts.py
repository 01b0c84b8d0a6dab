"""The ``alerts`` collection (issue 17): detector alerts, filtered by day with ``datetime``."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from com.db.tables import Subdistrict
from com.db.tables_feeds import alerts
from com.feeds.alerts import ALERT_CATEGORY
from com.feeds.views import KIND_TH, STATUS_TH
from com.ogc.sources import Source, SourceContext, _label_case
from com.security.coarsening import coarsened_geometry

ALERT_TYPES: dict[str, Any] = {
    "device_id": "string", "event_id": "string", "observed_at": "string",
    "observed_on": "date", "kind": "string", "kind_th": "string", "confidence": "number",
    "status": "string", "status_th": "string", "province_code": "string",
    "district_code": "string", "subdistrict_code": "string", "via": "string",
    "risk_point_id": "integer", "location_coarsened": "boolean",
}


def alerts_source(ctx: SourceContext) -> Source:
    """Return the SQL of alerts; coarsened like risk points when their category is sensitive."""
    hidden = {ALERT_CATEGORY} if ctx.coarsen and ALERT_CATEGORY in ctx.sensitive else set()
    rep = (
        sa.select(Subdistrict.rep_point)
        .where(Subdistrict.code == alerts.c.subdistrict_code)
        .scalar_subquery()
    )
    geom = coarsened_geometry(alerts.c.geom, sa.literal(ALERT_CATEGORY), rep, hidden)
    # The day of an alert is its calendar day in Thailand, like a risk point's report date.
    observed_on: ColumnElement[Any] = sa.cast(
        sa.func.timezone("Asia/Bangkok", alerts.c.observed_at), sa.Date
    )
    properties: dict[str, ColumnElement[Any]] = {
        "device_id": alerts.c.device_id, "event_id": alerts.c.event_id,
        "observed_at": sa.func.to_char(
            sa.func.timezone("UTC", alerts.c.observed_at), 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        "observed_on": observed_on, "kind": alerts.c.kind,
        "kind_th": _label_case(alerts.c.kind, KIND_TH), "confidence": alerts.c.confidence,
        "status": alerts.c.status, "status_th": _label_case(alerts.c.status, STATUS_TH),
        "province_code": alerts.c.province_code, "district_code": alerts.c.district_code,
        "subdistrict_code": alerts.c.subdistrict_code, "via": alerts.c.via,
        "risk_point_id": alerts.c.risk_point_id,
        "location_coarsened": sa.literal(bool(hidden)),
    }
    return Source(
        from_=alerts, key=alerts.c.id, geom=geom, properties=properties,
        province=alerts.c.province_code,
        bbox=lambda envelope: geom.op("&&")(envelope),
        temporal=observed_on,
        sensitive_flag=sa.literal(ALERT_CATEGORY in ctx.sensitive),
        area_code=alerts.c.subdistrict_code,
    )
