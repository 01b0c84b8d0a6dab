"""HMAC signatures of alerts and webhook bodies, and the secrets behind them.

The canonical form of an alert (what a device signs) is its JSON object without the ``hmac``
field, serialised with sorted keys, no spaces (separators ``,`` and ``:``) and UTF-8 text
(non-ASCII characters as themselves, not backslash-u escapes): in Python
``json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``.
The signature is the lowercase hex HMAC-SHA256 of those bytes with the device's secret.

Secrets are derived, not stored: a device's (or a webhook subscription's) secret is
``HMAC-SHA256(COM_SECRET_KEY, "<purpose>:<id>:<salt>")`` in hex, with a random salt kept in its
row. COM can therefore recompute any secret to verify a signature, while a copy of the
database alone reveals none of them. Changing ``COM_SECRET_KEY`` changes every secret (devices
and agencies must then be given their new ones: ``com sensors secret ID``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from typing import Any

SIGNATURE_FIELD = "hmac"


def new_salt() -> str:
    """Return a fresh random salt for a derived secret."""
    return secrets.token_hex(16)


def derive_secret(secret_key: str, *, purpose: str, ident: str, salt: str) -> str:
    """Return the secret of one device or subscription (hex, 64 characters).

    Parameters
    ----------
    secret_key
        The application's ``COM_SECRET_KEY``.
    purpose
        ``device`` or ``webhook``: the same id never gives both the same secret.
    ident
        The device id or subscription id.
    salt
        The random salt stored in its row.
    """
    message = f"{purpose}:{ident}:{salt}".encode()
    return hmac.new(secret_key.encode("utf-8"), message, hashlib.sha256).hexdigest()


def canonical_json(payload: Mapping[str, Any]) -> bytes:
    """Return the canonical bytes of ``payload`` without its ``hmac`` field.

    Examples
    --------
    >>> canonical_json({"b": 1, "a": "x y", "hmac": "x"})
    b'{"a":"x y","b":1}'
    """
    body = {k: v for k, v in payload.items() if k != SIGNATURE_FIELD}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def sign_payload(secret: str, payload: Mapping[str, Any]) -> str:
    """Return the hex HMAC-SHA256 of the canonical form of ``payload`` with ``secret``."""
    return hmac.new(secret.encode("utf-8"), canonical_json(payload), hashlib.sha256).hexdigest()


def signed(secret: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``payload`` with its ``hmac`` field set (what a device sends)."""
    return {**payload, SIGNATURE_FIELD: sign_payload(secret, payload)}


def payload_signature_ok(secret: str, payload: Mapping[str, Any]) -> bool:
    """Return True when the payload's ``hmac`` is the signature of the rest of it."""
    given = payload.get(SIGNATURE_FIELD)
    if not isinstance(given, str):
        return False
    return hmac.compare_digest(given.lower(), sign_payload(secret, payload))


def body_signature(secret: str, timestamp: int, body: bytes) -> str:
    """Return the ``Webhook-Signature`` of a webhook body: ``v1=`` + hex HMAC-SHA256.

    The signed message is ``"<timestamp>." + body``, so a captured request cannot be replayed
    later with a fresh timestamp.
    """
    message = str(int(timestamp)).encode("ascii") + b"." + body
    return "v1=" + hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()
