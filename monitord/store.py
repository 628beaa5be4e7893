"""SQLite state (WAL) in ``state_dir``, reached from asyncio through one worker thread.

Every statement runs on a single dedicated thread that owns the connection, so the event
loop never blocks on the disk and SQLite never sees two threads. Each component (qualify,
outbox, …) owns its tables and declares its migrations; :meth:`Store.migrate` applies the
missing ones in order and records the version per component.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import structlog

T = TypeVar("T")
log = structlog.get_logger("monitord.store")
AUTO_VACUUM_INCREMENTAL = 2  # PRAGMA auto_vacuum: 0 none, 1 full, 2 incremental

Migration = Callable[[sqlite3.Connection], None] | str


class StoreUnusable(RuntimeError):
    """The database file cannot be used as it is (empty, damaged, foreign, read-only, newer);
    it is never replaced: the message says what is wrong, the operator decides."""


class Store:
    """One SQLite database file, used from asyncio.

    Error handling: SQLite errors propagate to the awaiting caller; the connection stays usable.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="monitord-store")
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    @classmethod
    async def open(cls, path: Path | str) -> Store:
        """Open (or create) the database; raises :class:`StoreUnusable` for a file that is
        empty, damaged, not monitord's or not writable."""
        store = cls(path)
        try:
            await store.call(lambda _conn: None)
        except BaseException:
            store._executor.shutdown(wait=False)
            raise
        return store

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                self._conn = self._connect()
            except (OSError, sqlite3.Error) as exc:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
                raise StoreUnusable(f"{self.path}: cannot use the state database: {reason}"
                                    ) from None
        return self._conn

    def _connect(self) -> sqlite3.Connection:
        existed = self.path.exists()
        if existed and self.path.stat().st_size == 0:
            # Taking an empty file as new would page every still-failing check again under
            # a new incident id: refuse, the operator restores a backup or moves it away.
            raise StoreUnusable(f"{self.path}: the state database is empty (zero length); "
                                f"restore it, or move it away to start with a new one")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            if not existed:  # before anything is written, or it is too late
                conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
            self._check(conn, existed)
            self._incremental_vacuum(conn)
            conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode survives a process crash (kill -9) without losing a
            # committed transaction; only a power loss may drop the newest ones.
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=5000")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version ("
                " component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
            )
        except BaseException:
            conn.close()
            raise
        return conn

    def _check(self, conn: sqlite3.Connection, existed: bool) -> None:
        """Refuse a file that is not an intact, writable monitord database."""
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        if existed and tables and "schema_version" not in tables:
            raise StoreUnusable(f"{self.path}: not a monitord state database (it has tables "
                                f"of another program); refusing to use or replace it")
        damage = [row[0] for row in conn.execute("PRAGMA quick_check(5)")]
        if damage != ["ok"]:
            raise StoreUnusable(f"{self.path}: the state database is damaged "
                                f"({'; '.join(damage)[:300]}); restore it from a backup")
        # A write, rolled back: fails at once on a read-only file, directory or mount.
        version = int(conn.execute("PRAGMA user_version").fetchall()[0][0])
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(f"PRAGMA user_version = {version}")
        finally:
            conn.execute("ROLLBACK")
    def _incremental_vacuum(self, conn: sqlite3.Connection) -> None:
        """Make the file able to shrink: ``auto_vacuum = INCREMENTAL`` (set by ``_connect``
        on a new database). A database made by an earlier version (no auto-vacuum) is
        converted once by a full VACUUM, which needs free space about its own size: when
        that fails (a full disk) it keeps working as it was and the next start tries again."""
        if conn.execute("PRAGMA auto_vacuum").fetchall()[0][0] == AUTO_VACUUM_INCREMENTAL:
            return
        conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        try:
            conn.execute("VACUUM")
        except sqlite3.Error as exc:
            log.warning("vacuum_failed", path=str(self.path), error=str(exc),
                        detail="the database cannot shrink until a start converts it")

    async def reclaim(self) -> int:
        """Hand the free pages (left by deletes) back to the file system: incremental
        vacuum, then a WAL checkpoint that truncates the file. Returns the pages freed."""

        def run(conn: sqlite3.Connection) -> int:
            free = int(conn.execute("PRAGMA freelist_count").fetchall()[0][0])
            if free:
                # executescript runs the pragma to its end; execute() would step it once,
                # which frees a single page.
                conn.executescript("PRAGMA incremental_vacuum;")
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            return free

        return await self.call(run)

    async def call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(connection)`` on the store thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._run, fn)

    async def transaction(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` inside BEGIN IMMEDIATE … COMMIT (rolled back on error)."""

        def wrapped(conn: sqlite3.Connection) -> T:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn)
                # COMMIT can fail too (a full disk): roll back then as well, or the connection
                # stays inside the transaction and every later BEGIN fails.
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            return result

        return await self.call(wrapped)

    def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            return fn(self._connection())

    def run_sync(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """For code outside the event loop (CLI tools, tests)."""
        return self._executor.submit(self._run, fn).result()

    async def migrate(self, component: str, migrations: Sequence[Migration]) -> int:
        """Apply ``migrations[version:]`` for ``component``; returns the new version."""

        def apply(conn: sqlite3.Connection) -> int:
            row = conn.execute(
                "SELECT version FROM schema_version WHERE component = ?", (component,)
            ).fetchone()
            version = row[0] if row else 0
            if version > len(migrations):
                raise StoreUnusable(
                    f"{self.path}: {component} schema version {version} is newer than this "
                    f"monitord knows ({len(migrations)}); refusing to run on it"
                )
            for number in range(version, len(migrations)):
                step = migrations[number]
                conn.execute("BEGIN IMMEDIATE")
                try:
                    if isinstance(step, str):
                        for statement in step.split(";"):
                            if statement.strip():
                                conn.execute(statement)
                    else:
                        step(conn)
                    conn.execute(
                        "INSERT INTO schema_version(component, version) VALUES (?, ?) "
                        "ON CONFLICT(component) DO UPDATE SET version = excluded.version",
                        (component, number + 1),
                    )
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            return len(migrations)

        return await self.call(apply)

    async def close(self) -> None:
        def close(_: sqlite3.Connection) -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        if self._conn is not None:
            await self.call(close)
        self._executor.shutdown(wait=True)
