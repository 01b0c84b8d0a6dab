"""Idempotent retries: an Idempotency-Key (or the same bytes) returns the same upload, stores
nothing new; the same key with other data is refused."""

from __future__ import annotations

import threading
import uuid

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.main import create_app
from com.errors import ConflictError
from com.security.access import CLI

pytestmark = pytest.mark.db

CSV = "ชื่อจุดเสี่ยง,ประเภทปัญหา,ละติจูด,ลองจิจูด\nจุด {n} ก,ยาเสพติด,14.882,103.493\n" \
      "จุด {n} ข,อุทกภัย,14.701,103.705\n"


def _counts(engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        return tuple(conn.execute(sa.text(
            "SELECT (SELECT count(*) FROM uploads), (SELECT count(*) FROM upload_report), "
            "(SELECT count(*) FROM risk_points)")).one())


@pytest.fixture
def client_and_key(clean_engine, test_settings):
    from com.security.apikeys import create_key

    with clean_engine.begin() as conn:
        key = create_key(conn, name="retry test", scope="write", province_code="32",
                         created_by=CLI).key
    with TestClient(create_app(test_settings)) as client:
        client.headers["X-API-Key"] = key
        yield client


def _post(client, content: bytes, key: str | None, name: str = "points.csv"):
    headers = {"Idempotency-Key": key} if key else {}
    return client.post("/api/uploads", files={"file": (name, content, "text/csv")},
                       data={"province": "32"}, headers=headers)


def test_retry_with_the_same_key_returns_the_same_upload(client_and_key, clean_engine):
    client = client_and_key
    content = CSV.format(n=1).encode()
    key = str(uuid.uuid4())
    first = _post(client, content, key)
    assert first.status_code == 201, first.text
    stored = _counts(clean_engine)
    assert stored == (1, 2, 2)

    retry = _post(client, content, key)
    assert retry.status_code == 200
    assert retry.json()["upload_id"] == first.json()["upload_id"]
    assert retry.json()["already_uploaded"] is True
    assert (retry.json()["stored"], retry.json()["rows"]) == (2, 2)
    # The same bytes without a key are recognised too.
    again = _post(client, content, None, name="renamed.csv")
    assert again.status_code == 200 and again.json()["upload_id"] == first.json()["upload_id"]
    assert _counts(clean_engine) == stored  # nothing new stored

    other = _post(client, CSV.format(n=2).encode(), key)
    assert other.status_code == 409
    assert other.headers["content-type"].startswith("application/problem+json")
    assert other.json()["detail"] == (
        f"idempotency key {key!r} was used for upload {first.json()['upload_id']} with "
        "different data or options"
    )
    assert _counts(clean_engine) == stored


def test_concurrent_retries_store_once(clean_engine, test_settings):
    from com.db.engine import transaction
    from com.ingest import ImportOptions, import_upload

    content = CSV.format(n=3).encode()
    key = str(uuid.uuid4())
    results: list[object] = []

    def attempt(data: bytes) -> None:
        try:
            with transaction(clean_engine) as conn:
                summary = import_upload(
                    conn, data, "points.csv", settings=test_settings,
                    options=ImportOptions(province_code="32", idempotency_key=key),
                )
            results.append(summary.upload_id)
        except ConflictError as exc:
            results.append(exc)

    threads = [threading.Thread(target=attempt, args=(content,)) for _ in range(4)]
    threads.append(threading.Thread(target=attempt, args=(CSV.format(n=4).encode(),)))
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    ids = [r for r in results if isinstance(r, int)]
    conflicts = [r for r in results if isinstance(r, ConflictError)]
    # The four retries agree on one upload, unless the other file won the key first: then
    # they are all refused and it is the one stored.
    assert len(results) == 5
    assert len(set(ids)) == 1
    assert len(ids) + len(conflicts) == 5 and len(conflicts) in (1, 4)
    assert _counts(clean_engine) == (1, 2, 2)


def test_an_idempotency_key_belongs_to_whoever_sent_it(clean_engine, test_settings):
    # Before: keys were global, so another user's identical key answered 409 naming the
    # first user's upload (and a retry with the first user's bytes returned it).
    from com.security.apikeys import create_key

    with clean_engine.begin() as conn:
        keys = [create_key(conn, name=f"tenant {n}", scope="write", province_code="32",
                           created_by=CLI).key for n in (1, 2)]
    key = str(uuid.uuid4())
    with TestClient(create_app(test_settings)) as client:
        client.headers["X-API-Key"] = keys[0]
        first = _post(client, CSV.format(n=5).encode(), key)
        assert first.status_code == 201, first.text
        client.headers["X-API-Key"] = keys[1]
        theirs = _post(client, CSV.format(n=6).encode(), key)
        assert theirs.status_code == 201, theirs.text  # its own upload, not a 409
        assert theirs.json()["upload_id"] != first.json()["upload_id"]
        assert f"/api/uploads/{first.json()['upload_id']}" not in theirs.text
        # The same principal keeps the usual behaviour with its key.
        retry = _post(client, CSV.format(n=6).encode(), key)
        assert (retry.status_code, retry.json()["upload_id"]) == (200, theirs.json()["upload_id"])
        other = _post(client, CSV.format(n=7).encode(), key)
        assert other.status_code == 409
        assert other.json()["detail"] == (
            f"idempotency key {key!r} was used for upload {theirs.json()['upload_id']} with "
            "different data or options")
        client.headers["X-API-Key"] = keys[0]
        mine = _post(client, CSV.format(n=5).encode(), key)
        assert (mine.status_code, mine.json()["upload_id"]) == (200, first.json()["upload_id"])
    # Two uploads of two rows; the second file's points repeat the first's places.
    assert _counts(clean_engine) == (2, 4, 2)
    with clean_engine.connect() as conn:
        owners = conn.execute(sa.text(
            "SELECT principal_kind, principal_name, upload_id FROM upload_keys "
            "WHERE key = :k ORDER BY upload_id"), {"k": key}).all()
    assert [(k, u) for k, _, u in owners] == [
        ("api_key", first.json()["upload_id"]), ("api_key", theirs.json()["upload_id"])]
