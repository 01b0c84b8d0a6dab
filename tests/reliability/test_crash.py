"""Crash test: PostgreSQL dies (``pg_ctl stop -m immediate``) under 20 concurrent uploads.

The test owns a throwaway PostgreSQL 15 cluster (initdb in /tmp, its own port), loads the schema
and the boundaries, serves the real app with uvicorn against it, and kills the database in the
middle of the uploads. Afterwards every upload is checked against the database:

* acknowledged (2xx): its uploads row exists and every row of the file is accounted for
  (stored + rejected + duplicates = rows in the file = lines of upload_report), and each
  stored row is a risk point - 0 lost, 0 partial;
* failed (5xx, connection error): nothing of it is stored, or (commit in doubt: the database
  committed, then died before the acknowledgement reached the client) all of it - never part.

While the database is down the API answers 503 with Retry-After, and it serves again within
10 s of the database coming back, with no restart (the pool's pre-ping drops dead connections).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import pwd
import random
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from live_server import LiveServer, free_port

from com.config.settings import Settings
from com.db.engine import make_engine
from com.db.migrate import upgrade
from com.geodata import load_geodata
from com.security.access import CLI

PG_BIN = Path(os.environ.get("COM_PG_BIN", "/usr/lib/postgresql/15/bin"))
GEODATA_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "geodata"
N_UPLOADS = 20
ROWS_PER_FILE = 300
RECOVERY_LIMIT_S = 10.0
CRASH_AFTER_ACKS = 4  # crash once this many uploads are acknowledged
AFTER_RECOVERY = 3  # uploads sent once the database is back
IN_FLIGHT_BURST = 6  # uploads sent together just before the crash

pytestmark = [pytest.mark.db, pytest.mark.slow, pytest.mark.timeout(180)]


class Cluster:
    """A private PostgreSQL cluster in a temporary directory, on its own port.

    initdb refuses to run as root, and CI runs as root: then every server command runs as the
    ``postgres`` OS user (runuser), which owns the directory.
    """

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="com-crash-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            pg = pwd.getpwnam("postgres")
            os.chown(self.root, pg.pw_uid, pg.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]

    def _pg(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*self.as_user, str(PG_BIN / tool), *args],
            capture_output=True, text=True, check=check, timeout=60, cwd=self.root,
        )

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/com"

    def init(self) -> None:
        self._pg("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
                 "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")

    def start(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
                   "-c max_connections=60 -c fsync=on -c synchronous_commit=on")
        done = self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.root / "postgres.log"),
                        "-o", options, "-w", "-t", "60", "start", check=False)
        if done.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed: {done.stderr}\n{self.log_tail()}")

    def crash(self) -> None:
        """Kill the server the hard way: no checkpoint, in-flight transactions lost."""
        self._pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def log_tail(self) -> str:
        try:
            return (self.root / "postgres.log").read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def destroy(self) -> None:
        self._pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    if not (PG_BIN / "initdb").exists():
        pytest.fail(f"PostgreSQL server binaries not found in {PG_BIN} (COM_PG_BIN)")
    c = Cluster()
    try:
        c.init()
        c.start()
        admin = sa.create_engine(
            f"postgresql+psycopg://postgres@127.0.0.1:{c.port}/postgres",
            isolation_level="AUTOCOMMIT",
        )
        with admin.connect() as conn:
            conn.execute(sa.text("CREATE DATABASE com"))
        admin.dispose()
        yield c
    finally:
        c.destroy()


@dataclass
class Attempt:
    """One upload: the file sent and what the client saw."""

    index: int
    content: bytes
    rows: int
    sha256: str
    started: float = 0.0
    finished: float = 0.0
    status: int | None = None  # None = no HTTP answer (connection error)
    body: dict = field(default_factory=dict)
    error: str | None = None

    @property
    def acknowledged(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def _make_csv(index: int, rep_points: list[tuple[float, float]]) -> bytes:
    """A distinct CSV of ROWS_PER_FILE Surin points, headers as staff write them."""
    rnd = random.Random(index)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["ชื่อจุดเสี่ยง", "ประเภทปัญหา", "ระดับความรุนแรง", "ละติจูด", "ลองจิจูด",
                     "วันที่รายงาน"])
    categories = ["ยาเสพติด", "ลักลอบเข้าเมือง", "อาชญากรรมอื่นๆ", "ลักทรัพย์", "อุทกภัย"]
    for row in range(ROWS_PER_FILE):
        lat, lon = rep_points[rnd.randrange(len(rep_points))]
        # Within ~300 m of a representative point (inside its subdistrict), never within the
        # duplicate distance of another row by construction of the random offsets.
        lat += rnd.uniform(-0.003, 0.003)
        lon += rnd.uniform(-0.003, 0.003)
        writer.writerow([f"จุดทดสอบ {index}-{row}", rnd.choice(categories), rnd.randint(1, 5),
                         f"{lat:.6f}", f"{lon:.6f}", f"2024-{rnd.randint(1, 12):02d}-15"])
    return out.getvalue().encode("utf-8")


def _upload(client: httpx.Client, key: str, attempt: Attempt) -> None:
    attempt.started = time.monotonic()
    try:
        response = client.post(
            "/api/uploads",
            files={"file": (f"crash_{attempt.index:02d}.csv", attempt.content, "text/csv")},
            data={"province": "32"},
            headers={"X-API-Key": key},
        )
        attempt.status = response.status_code
        try:
            attempt.body = response.json()
        except ValueError:
            attempt.body = {"text": response.text[:300]}
    except httpx.HTTPError as exc:
        attempt.error = repr(exc)
    attempt.finished = time.monotonic()


def _upload_id(body: dict) -> int:
    for key in ("upload_id", "id"):
        if isinstance(body.get(key), int):
            return body[key]
    raise AssertionError(f"no upload id in the acknowledgement {body}")


def _wait_for_open_upload_transaction(url: str, *, timeout_s: float) -> None:
    """Return once another session of the test database is inside a writing transaction."""
    watcher = sa.create_engine(url, poolclass=sa.pool.NullPool)
    deadline = time.monotonic() + timeout_s
    try:
        with watcher.connect() as conn:
            while time.monotonic() < deadline:
                writing = conn.execute(sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL")).scalar_one()
                if writing:
                    return
                conn.commit()
                time.sleep(0.005)
    finally:
        watcher.dispose()
    raise AssertionError(f"no upload transaction was seen writing within {timeout_s} s")


def test_no_acknowledged_upload_is_lost_when_postgres_crashes(cluster: Cluster, tmp_path):
    t_begin = time.monotonic()
    settings = Settings(environment="test", database_url=cluster.url, geodata_dir=GEODATA_DIR,
                        secret_key="crash-test-secret", _env_file=None)
    engine = make_engine(settings)
    upgrade(engine)
    load_geodata(engine, GEODATA_DIR)
    from com.security.apikeys import create_key

    with engine.begin() as conn:
        key = create_key(conn, name="crash test", scope="write", province_code="32",
                         created_by=CLI).key
        rep_points = [
            (float(lat), float(lon)) for lat, lon in conn.execute(sa.text(
                "SELECT ST_Y(rep_point), ST_X(rep_point) FROM subdistricts "
                "WHERE province_code = '32' ORDER BY code"))
        ]
    engine.dispose()
    t_setup = time.monotonic() - t_begin

    attempts = []
    for i in range(N_UPLOADS):
        content = _make_csv(i, rep_points)
        attempts.append(Attempt(i, content, ROWS_PER_FILE, hashlib.sha256(content).hexdigest()))
    assert len({a.sha256 for a in attempts}) == N_UPLOADS

    env = {
        "COM_DATABASE_URL": cluster.url,
        "COM_ENVIRONMENT": "test",
        "COM_SECRET_KEY": "crash-test-secret",
        "COM_GEODATA_DIR": str(GEODATA_DIR),
        "COM_DEFAULT_PROVINCE": "32",
    }
    server = LiveServer(env, tmp_path / "uvicorn.log")
    server.start()
    try:
        with httpx.Client(base_url=server.base_url, timeout=60) as client:
            assert client.get("/api/health").status_code == 200
            # Staggered starts: some uploads finish before the crash, some are in flight when
            # it comes, some arrive while the database is down, the last few after it is back.
            before, after = attempts[:-AFTER_RECOVERY], attempts[-AFTER_RECOVERY:]
            threads: list[threading.Thread] = []

            def send(batch: list[Attempt], pause_s: float, stop_at_acks: int | None) -> None:
                for attempt in batch:
                    if stop_at_acks and sum(a.acknowledged for a in attempts) >= stop_at_acks:
                        return
                    thread = threading.Thread(target=_upload, args=(client, key, attempt))
                    thread.start()
                    threads.append(thread)
                    time.sleep(pause_s)

            send(before, 0.15, stop_at_acks=CRASH_AFTER_ACKS)
            deadline = time.monotonic() + 30
            while sum(a.acknowledged for a in attempts) < CRASH_AFTER_ACKS:
                assert time.monotonic() < deadline, "no upload was acknowledged in 30 s"
                time.sleep(0.05)
            # A burst sent at once, and the crash only once the database shows one of them
            # inside its transaction: some uploads are then surely cut off mid-write, however
            # fast or slow this machine is.
            burst = before[len(threads):len(threads) + IN_FLIGHT_BURST]
            send(burst, 0.0, stop_at_acks=None)
            _wait_for_open_upload_transaction(cluster.url, timeout_s=30)
            t_crash = time.monotonic()
            cluster.crash()
            time.sleep(0.3)
            down = client.get("/api/health")
            send(before[len(threads):], 0.0, stop_at_acks=None)  # sent while it is down
            time.sleep(1.5)
            cluster.start()
            t_back = time.monotonic()
            recovered_after = None
            while time.monotonic() - t_back < 30:
                if client.get("/api/health").status_code == 200:
                    recovered_after = time.monotonic() - t_back
                    break
                time.sleep(0.1)
            send(after, 0.0, stop_at_acks=None)  # the service takes uploads again
            for thread in threads:
                thread.join(timeout=90)
    finally:
        server.stop()

    # The database was down: 503 problem+json with a retry hint, not a hang or a 500.
    assert down.status_code == 503, down.text
    assert down.headers.get("retry-after", "").isdigit()
    assert down.headers["content-type"].startswith("application/problem+json")
    assert "database" in down.json()["detail"]
    assert recovered_after is not None, f"API never recovered: {server.log_tail()}"
    assert recovered_after < RECOVERY_LIMIT_S

    acked = [a for a in attempts if a.acknowledged]
    failed = [a for a in attempts if not a.acknowledged]
    lost, partial, in_doubt, failed_partial = [], [], [], []
    check = sa.create_engine(cluster.url)
    with check.connect() as conn:
        for a in acked:
            upload_id = _upload_id(a.body)
            row = conn.execute(sa.text(
                "SELECT sha256, rows_stored, rows_rejected, rows_duplicate, "
                "(SELECT count(*) FROM upload_report WHERE upload_id = u.id), "
                "(SELECT count(*) FROM risk_points WHERE source_upload_id = u.id) "
                "FROM uploads u WHERE id = :id"), {"id": upload_id}).first()
            if row is None:
                lost.append(a.index)
                continue
            sha, stored, rejected, dups, report_rows, points = row
            assert sha == a.sha256
            if stored + rejected + dups != a.rows or report_rows != a.rows or points != stored:
                partial.append((a.index, stored, rejected, dups, report_rows, points))
        for a in failed:
            found = conn.execute(sa.text(
                "SELECT u.rows_stored + u.rows_rejected + u.rows_duplicate, "
                "(SELECT count(*) FROM upload_report WHERE upload_id = u.id), "
                "(SELECT count(*) FROM risk_points WHERE source_upload_id = u.id), u.rows_stored "
                "FROM uploads u WHERE sha256 = :sha"), {"sha": a.sha256}).all()
            for total, report_rows, points, stored in found:
                if total == report_rows == a.rows and points == stored:
                    in_doubt.append(a.index)  # all of it: committed, then the reply was lost
                else:
                    failed_partial.append(a.index)
        orphans = conn.execute(sa.text(
            "SELECT count(*) FROM risk_points rp WHERE NOT EXISTS "
            "(SELECT 1 FROM uploads u WHERE u.id = rp.source_upload_id)")).scalar_one()
    check.dispose()

    # Started before the crash and not acknowledged: these were cut off mid-transaction.
    in_flight = [a for a in failed if a.started < t_crash]
    statuses: dict[str, int] = {}
    for a in attempts:
        label = str(a.status) if a.status is not None else "connection error"
        statuses[label] = statuses.get(label, 0) + 1
    print(
        f"\ncrash test: setup {t_setup:.1f} s; {len(acked)} acknowledged, {len(failed)} failed "
        f"({statuses}; {len(in_flight)} of them in flight at the crash); "
        f"lost {len(lost)}, partial {len(partial)}, failed-but-partial "
        f"{len(failed_partial)}, committed-but-unacknowledged {len(in_doubt)}; "
        f"503 while down: {down.status_code} Retry-After {down.headers.get('retry-after')}; "
        f"served again {recovered_after:.2f} s after PostgreSQL restarted; "
        f"crash at +{t_crash - t_begin:.1f} s; total {time.monotonic() - t_begin:.1f} s"
    )
    assert acked and in_flight, f"the crash must cut some uploads and spare others: {statuses}"
    assert all(a.acknowledged for a in attempts[-AFTER_RECOVERY:]), [
        (a.status, a.body, a.error) for a in attempts[-AFTER_RECOVERY:]]
    assert lost == [] and partial == []
    assert failed_partial == [] and orphans == 0
    for a in failed:
        assert a.status is None or a.status >= 500, (a.status, a.body)
