"""User accounts, argon2 hashes, server-side sessions and the login rate limit on real PostGIS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from com.errors import ConflictError, ValidationError
from com.security import users
from com.security.audit import entries

pytestmark = pytest.mark.db


def test_password_is_stored_as_argon2id_hash(conn):
    account = users.create_user(
        conn,
        username="Somchai",
        password="correct horse battery",
        role="staff",
        province_code="32",
    )
    assert account.username == "somchai"
    stored = conn.execute(
        sa.text("SELECT password_hash FROM users WHERE id = :i"), {"i": account.id}
    ).scalar_one()
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored
    assert users.verify_password(stored, "correct horse battery")
    assert not users.verify_password(stored, "wrong horse battery")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"username": "ab", "password": "long enough pw"}, "bad username"),
        ({"username": "user1", "password": "short"}, "too short"),
        ({"username": "user1", "password": "long enough pw", "role": "boss"}, "unknown role"),
        ({"username": "user1", "password": "long enough pw", "role": "staff"}, "needs a province"),
        (
            {"username": "user1", "password": "long enough pw", "province_code": "99"},
            "unknown province",
        ),
    ],
)
def test_bad_accounts_are_refused_with_a_clear_message(conn, kwargs, message):
    with pytest.raises(ValidationError, match=message):
        users.create_user(conn, **kwargs)


def test_duplicate_username_conflicts(conn):
    users.create_user(conn, username="dup_user", password="long enough pw")
    with pytest.raises(ConflictError, match="already exists"):
        users.create_user(conn, username="DUP_user", password="another long pw")


def test_authenticate_records_success_and_failure_in_the_audit_trail(conn):
    users.create_user(conn, username="auditme", password="long enough pw", role="viewer")
    bad = users.authenticate(conn, username="auditme", password="nope nope", client="10.0.0.9")
    good = users.authenticate(
        conn, username="AuditMe", password="long enough pw", client="10.0.0.9"
    )
    unknown = users.authenticate(conn, username="ghost", password="whatever12", client="10.0.0.9")
    assert not bad.ok and bad.reason == "bad_credentials"
    assert good.ok and good.account.username == "auditme"
    assert good.account.principal().kind == "user"
    assert not unknown.ok and unknown.reason == "bad_credentials"
    actions = [(e["action"], e["actor"], e["client"]) for e in entries(conn, action="login")]
    assert ("login.failure", "auditme", "10.0.0.9") in actions
    assert ("login.success", "auditme", "10.0.0.9") in actions
    assert ("login.failure", "ghost", "10.0.0.9") in actions


def test_rate_limit_backs_off_after_five_failures_per_username_and_client(conn):
    users.create_user(conn, username="target", password="the right password")
    now = datetime.now(UTC)
    for i in range(users.FREE_FAILURES_PER_CLIENT):
        result = users.authenticate(
            conn,
            username="target",
            password=f"guess {i}",
            client="1.2.3.4",
            now=now + timedelta(seconds=i),
        )
        assert result.reason == "bad_credentials"
    last = now + timedelta(seconds=users.FREE_FAILURES_PER_CLIENT - 1)
    # Even the right password is refused while throttled, without being checked.
    blocked = users.authenticate(
        conn,
        username="target",
        password="the right password",
        client="1.2.3.4",
        now=last + timedelta(seconds=10),
    )
    assert blocked.reason == "throttled"
    assert blocked.retry_after_s == users.BACKOFF_FIRST_S - 10
    # Another address is not blocked by this one's failures.
    other = users.authenticate(
        conn,
        username="target",
        password="the right password",
        client="5.6.7.8",
        now=last + timedelta(seconds=11),
    )
    assert other.ok
    # After the back-off the first address may try again.
    later = users.authenticate(
        conn,
        username="target",
        password="the right password",
        client="1.2.3.4",
        now=last + timedelta(seconds=users.BACKOFF_FIRST_S),
    )
    assert later.ok
    assert entries(conn, action="login.throttled")


def test_back_off_of_one_address_doubles_with_each_failure(conn):
    users.create_user(conn, username="doubler", password="the right password")
    at = datetime.now(UTC)
    for i in range(users.FREE_FAILURES_PER_CLIENT):
        users.authenticate(conn, username="doubler", password=f"guess {i}", client="1.2.3.4",
                           now=at)
    waits = []
    for i in range(6):
        refused = users.authenticate(
            conn, username="doubler", password="the right password", client="1.2.3.4", now=at
        )
        assert refused.reason == "throttled"
        waits.append(refused.retry_after_s)
        at += timedelta(seconds=refused.retry_after_s)  # wait exactly as told, then fail again
        failed = users.authenticate(
            conn, username="doubler", password=f"again {i}", client="1.2.3.4", now=at
        )
        assert failed.reason == "bad_credentials"
    assert waits == [30, 60, 120, 240, 480, 900]  # doubling, capped at 15 minutes


def test_failures_from_many_addresses_never_lock_out_a_fresh_address(conn):
    users.create_user(conn, username="boss", password="the right password", role="admin")
    now = datetime.now(UTC)
    attackers = [f"203.0.113.{i}" for i in range(1, 26)]
    for i, address in enumerate(attackers):  # 25 failures, over the per-name ceiling of 20
        result = users.authenticate(conn, username="boss", password=f"guess {i}",
                                    client=address, now=now + timedelta(seconds=i))
        assert result.reason == "bad_credentials"
    later = now + timedelta(seconds=30)
    # The owner, from an address that has not failed, signs in at once.
    owner = users.authenticate(conn, username="boss", password="the right password",
                               client="10.1.1.1", now=later)
    assert owner.ok, owner
    # Under attack an address that failed once must wait before its next guess.
    again = users.authenticate(conn, username="boss", password="guess again",
                               client=attackers[-1], now=later)
    assert again.reason == "throttled" and again.retry_after_s > 0


def test_sessions_expire_and_are_revoked(conn):
    account = users.create_user(conn, username="sessy", password="long enough pw", role="planner")
    now = datetime.now(UTC)
    token, info = users.start_session(conn, account, max_age_s=3600, now=now)
    stored_ids = conn.execute(sa.text("SELECT id FROM web_sessions")).scalars().all()
    assert token not in stored_ids  # only the hash is stored
    found = users.resolve_session(conn, token, now=now + timedelta(minutes=5))
    assert found is not None and found.account.username == "sessy"
    assert found.csrf_token == info.csrf_token
    assert users.resolve_session(conn, token, now=now + timedelta(seconds=3601)) is None
    assert users.resolve_session(conn, "not-a-token") is None
    assert users.end_session(conn, token)
    assert users.resolve_session(conn, token, now=now + timedelta(minutes=6)) is None
    assert entries(conn, action="logout")[0]["actor"] == "sessy"


def test_deactivating_a_user_ends_their_sessions(conn):
    account = users.create_user(conn, username="leaver", password="long enough pw")
    token, _ = users.start_session(conn, account, max_age_s=3600)
    users.update_user(conn, "leaver", active=False)
    assert users.resolve_session(conn, token) is None
    assert (
        users.authenticate(conn, username="leaver", password="long enough pw").reason == "inactive"
    )


def test_demo_accounts_are_created_then_reset(conn):
    first = users.demo_accounts(conn)
    assert set(first) == {"demo_viewer", "demo_staff"}
    staff = users.get_user(conn, "demo_staff")
    assert (staff.role, staff.province_code) == ("staff", "32")
    assert users.get_user(conn, "demo_viewer").role == "viewer"
    second = users.demo_accounts(conn)
    assert second["demo_staff"] != first["demo_staff"]
    assert users.authenticate(conn, username="demo_staff", password=second["demo_staff"]).ok
    assert not users.authenticate(conn, username="demo_viewer", password=first["demo_viewer"]).ok
