"""Webhook subscriptions of other agencies: register (with a secret), list, disable."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from com.config.regions import province_codes_of
from com.config.severity import cached_severity_model
from com.db.tables_feeds import webhook_subscriptions
from com.errors import NotFoundError, ValidationError
from com.feeds.signing import derive_secret, new_salt
from com.security import audit
from com.security.access import Principal

_PROVINCE = re.compile(r"^\d{2}$")


@dataclass(frozen=True)
class CreatedSubscription:
    """A new subscription with the only copy of its secret the caller is shown."""

    id: int
    secret: str


def subscription_secret(secret_key: str, subscription_id: int, salt: str) -> str:
    """Return the signing secret of a subscription (derived, see com.feeds.signing)."""
    return derive_secret(secret_key, purpose="webhook", ident=str(subscription_id), salt=salt)


def _check(url: str, provinces: list[str] | None, categories: list[str] | None,
           min_severity: int, severity_config: Any) -> None:
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(f"url {url!r}: ต้องเป็น http(s)://... / must be an http(s) URL")
    for code in provinces or []:
        if not _PROVINCE.match(code):
            raise ValidationError(f"provinces: {code!r} ไม่ใช่รหัสจังหวัด 2 หลัก / "
                                  "not a 2-digit province code")
    known = set(cached_severity_model(severity_config).category_keys)
    for key in categories or []:
        if key not in known:
            raise ValidationError(f"categories: ไม่รู้จัก {key!r} / unknown category "
                                  f"(known: {', '.join(sorted(known))})")
    if not 1 <= min_severity <= 5:
        raise ValidationError("min_severity: ต้องอยู่ระหว่าง 1-5 / must lie in 1..5")


def add_subscription(
    conn: Connection, *, name: str, url: str, secret_key: str, principal: Principal,
    provinces: list[str] | None = None, categories: list[str] | None = None,
    min_severity: int = 1, alerts: bool = True, sensitive: bool = False,
    severity_config: Any = None, region: str | None = None,
) -> CreatedSubscription:
    """Register an agency's webhook and return its secret (admins only; audited).

    Parameters
    ----------
    provinces, categories
        Filters (None: all).
    region
        A region (key or name, ``com regions list``): its provinces join ``provinces``. The
        region is expanded when the subscription is registered, so the agency keeps the
        provinces it asked for even if the region file changes later.
    min_severity
        Points below this severity are not sent.
    alerts
        Whether detector alerts are sent too.
    sensitive
        Whether the agency holds the sensitive right (exact positions of sensitive points);
        without it they are coarsened like every other output.
    """
    principal.require_role("admin")
    if not (name or "").strip():
        raise ValidationError("name: ต้องระบุชื่อหน่วยงาน / a subscription needs a name")
    if region not in (None, ""):
        provinces = sorted({*(provinces or ()), *(province_codes_of(region=region) or ())})
    _check(url, provinces, categories, min_severity, severity_config)
    salt = new_salt()
    sub_id = conn.execute(sa.insert(webhook_subscriptions).values(
        name=name.strip(), url=url, provinces=provinces or None, categories=categories or None,
        min_severity=min_severity, alerts=alerts, sensitive=sensitive, secret_salt=salt,
        created_by=principal.name,
    ).returning(webhook_subscriptions.c.id)).scalar_one()
    audit.record(conn, principal=principal, action="webhook.create",
                 target=f"webhook:{sub_id}", details={"url": url, "sensitive": sensitive})
    return CreatedSubscription(id=int(sub_id),
                               secret=subscription_secret(secret_key, sub_id, salt))


def list_subscriptions(conn: Connection) -> list[dict[str, Any]]:
    """Return every subscription (never a secret or salt)."""
    columns = [c for c in webhook_subscriptions.c if c.name != "secret_salt"]
    return [dict(r) for r in conn.execute(
        sa.select(*columns).order_by(webhook_subscriptions.c.id)).mappings()]


def disable_subscription(conn: Connection, subscription_id: int, *,
                         principal: Principal) -> None:
    """Stop sending to a subscription (its log stays)."""
    principal.require_role("admin")
    done = conn.execute(sa.update(webhook_subscriptions)
                        .where(webhook_subscriptions.c.id == subscription_id)
                        .values(disabled_at=sa.func.now())).rowcount
    if not done:
        raise NotFoundError(f"ไม่พบการสมัคร {subscription_id} / no subscription {subscription_id}")
    audit.record(conn, principal=principal, action="webhook.disable",
                 target=f"webhook:{subscription_id}")
