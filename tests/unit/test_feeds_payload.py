"""Alert payloads (issue 17): the canonical form devices sign, and the parser's clear errors."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from com.errors import ValidationError
from com.feeds.payload import parse_alert
from com.feeds.signing import canonical_json, payload_signature_ok, signed

GOOD = {"device_id": "surin-bd-001", "event_id": "e-1", "time": "2026-12-03T21:14:05+07:00",
        "kind": "person", "confidence": 0.87, "position": {"lat": 14.43, "lon": 103.45}}


def test_canonical_form_is_sorted_compact_utf8_without_hmac() -> None:
    body = canonical_json({**GOOD, "note": "ด่านช่องจอม", "hmac": "zz"})
    expected = json.dumps({**GOOD, "note": "ด่านช่องจอม"}, sort_keys=True,
                          separators=(",", ":"), ensure_ascii=False).encode()
    assert body == expected and b" " not in body.replace("ด่านช่องจอม".encode(), b"")
    # The README's snippet, computed independently, gives the same signature.
    secret = "s3cret"
    canonical = json.dumps(GOOD, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    readme = hmac.new(secret.encode(), canonical.encode("utf-8"), hashlib.sha256).hexdigest()
    assert signed(secret, GOOD)["hmac"] == readme


def test_signature_detects_any_change() -> None:
    payload = signed("k", GOOD)
    assert payload_signature_ok("k", payload)
    assert not payload_signature_ok("other", payload)
    assert not payload_signature_ok("k", {**payload, "kind": "vehicle"})
    assert not payload_signature_ok("k", {k: v for k, v in payload.items() if k != "hmac"})


@pytest.mark.parametrize(("change", "field", "thai"), [
    ({"time": "yesterday"}, "time", "เวลา"),
    ({"time": "2026-12-03T21:14:05"}, "time", "เขตเวลา"),
    ({"kind": "ghost"}, "kind", "ชนิด"),
    ({"confidence": 1.5}, "confidence", "ระหว่าง"),
    ({"position": {"lat": 14.4}}, "position", "lon"),
    ({"device_id": ""}, "device_id", "ข้อความ"),
])
def test_bad_fields_are_named_in_thai_and_english(change, field, thai) -> None:
    with pytest.raises(ValidationError) as err:
        parse_alert({**GOOD, **change, "hmac": "x"})
    assert f"'{field}'" in str(err.value) and thai in str(err.value)


@given(st.one_of(st.binary(max_size=300), st.text(max_size=300),
                 st.dictionaries(st.sampled_from(list(GOOD) + ["hmac"]),
                                 st.one_of(st.none(), st.text(max_size=20), st.floats(),
                                           st.integers(), st.booleans()))))
def test_no_exception_but_validation_error_escapes(data) -> None:
    with contextlib.suppress(ValidationError):
        parse_alert(data)


def test_valid_payload_round_trips() -> None:
    parsed = parse_alert(json.dumps(signed("k", GOOD)).encode())
    assert (parsed.device_id, parsed.kind, parsed.lat, parsed.lon) == (
        "surin-bd-001", "person", 14.43, 103.45)
    assert parsed.time.isoformat() == "2026-12-03T14:14:05+00:00"
