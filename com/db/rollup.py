"""Uploads whose rollup sums come just after their commit (migration 0017_rollup_pending).

An upload through the API defers the ranking rollup's sums of its points (:func:`defer_rollup`,
in the upload's transaction, before its points are stored): the statement triggers of
``risk_points`` leave them out, and the upload's commit does not wait for them. After the
commit, :class:`RollupFolder` folds the upload in the background (``risk_rollup_fold``, one
transaction). Every reader of the rollup calls :func:`ensure_folded` first, which folds
whatever is still pending before the read, so answers never miss a committed point; an
upload that never got folded (the process stopped) is folded by the next reader or at the
next start of the service.

The fold runs on a connection of its own (not pooled): a reader's transaction is usually
rolled back at the end of a request, and the fold must stay. Folds of one process run one
at a time; another process's fold of the same upload is waited for (the pending row's lock).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from com.db.engine import side_engine

__all__ = ["RollupFolder", "defer_rollup", "ensure_folded", "fold_pending", "pending_uploads"]

log = logging.getLogger(__name__)

#: Longest wait for a pending row's lock (another fold, or a writer of the upload's points).
LOCK_TIMEOUT = "10s"

_fold_lock = threading.Lock()


def defer_rollup(conn: Connection, upload_id: int) -> None:
    """Leave the rollup sums of ``upload_id``'s points for after the commit.

    Call in the upload's transaction before its points are stored; fold after the commit
    (:func:`fold_pending` or :class:`RollupFolder`).
    """
    conn.execute(sa.text("INSERT INTO risk_rollup_pending (upload_id) VALUES (:u)"),
                 {"u": upload_id})


def pending_uploads(conn: Connection) -> list[int]:
    """Return the ids of the uploads whose points are not in the rollup yet, oldest first."""
    return list(conn.execute(sa.text(
        "SELECT upload_id FROM risk_rollup_pending ORDER BY upload_id")).scalars())


def fold_pending(engine: Engine, upload_ids: Iterable[int] | None = None) -> int:
    """Fold pending uploads (all of them by default), each in its own transaction.

    Returns how many were folded here (another process may have folded some first).
    """
    folded = 0
    with _fold_lock, engine.connect() as conn:
        ids = list(upload_ids) if upload_ids is not None else pending_uploads(conn)
        conn.rollback()
        for upload_id in ids:
            with conn.begin():
                conn.execute(sa.text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
                folded += int(conn.execute(sa.text("SELECT risk_rollup_fold(:u)"),
                                           {"u": upload_id}).scalar_one())
    return folded


def ensure_folded(conn: Connection) -> None:
    """Fold the pending uploads before ``conn`` reads the rollup.

    One indexed look at a table that is empty but for the seconds after an upload. The fold
    commits on a connection of its own, and ``conn`` (READ COMMITTED) sees it from its next
    statement; a transaction that has written already folds in itself instead (it may hold
    the locks a fold elsewhere would wait for: it changed a pending upload's points).
    """
    wrote, pending = conn.execute(sa.text(
        "SELECT pg_current_xact_id_if_assigned() IS NOT NULL, "
        "EXISTS (SELECT 1 FROM risk_rollup_pending)")).one()
    if not pending:
        return
    if wrote:
        conn.execute(sa.text(
            "SELECT risk_rollup_fold(upload_id) FROM risk_rollup_pending ORDER BY upload_id"))
        return
    try:
        fold_pending(side_engine(conn.engine))
    except sa.exc.OperationalError as exc:
        # A long lock elsewhere: read without waiting longer; the background fold finishes.
        log.warning("rollup fold did not finish before a read: %s", exc.orig)


class RollupFolder:
    """Folds uploads in the background after their commit (one worker thread)."""

    def __init__(self, engine: Engine,
                 after_upload: Callable[[Engine], object] | None = None) -> None:
        """``after_upload`` runs on the worker once an upload's fold is done (its errors logged).

        The API keeps the H3 rankings ready there (``prepare_h3``), off any request.
        """
        self._engine = engine
        self._after_upload = after_upload
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rollup-fold")

    def submit(self, upload_ids: Iterable[int] | None = None) -> Future[int]:
        """Fold the given uploads (all pending ones by default) soon."""
        ids = list(upload_ids) if upload_ids is not None else None
        return self._pool.submit(self._fold, ids)

    def _fold(self, ids: list[int] | None) -> int:
        try:
            folded = fold_pending(self._engine, ids)
        except Exception:  # a reader or the next start folds what is left
            log.exception("rollup fold failed")
            return 0
        # An upload asked (a reader may have folded it already), or a start found some left.
        if self._after_upload is not None and (ids or folded):
            try:
                self._after_upload(self._engine)
            except Exception:  # the next reader does the work itself
                log.exception("work after an upload's fold failed")
        return folded

    def close(self) -> None:
        """Finish the folds already asked for."""
        self._pool.shutdown(wait=True)
