"""Schema changes under a lock, so that processes starting together never race the schema.

PostgreSQL: a session advisory lock held on a dedicated connection for the whole migration.
SQLite: an exclusive ``flock`` on a lock file beside the database file. Whoever waits then
finds the schema at head and has nothing left to do.
"""

from __future__ import annotations

import fcntl
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from headpix.db import alembic_config, make_engine, upgrade
from headpix.errors import HeadpixError


class SchemaNotCurrent(HeadpixError):
    code = "schema_not_current"
    exit_code = 2


def lock_id(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for ``name``."""
    return int.from_bytes(hashlib.sha256(f"headpix {name}".encode()).digest()[:8], "big", signed=True)


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (created if needed) for the duration of the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextmanager
def schema_lock(url: str, *, name: str = "schema") -> Iterator[None]:
    """Serialise schema changes of the database at ``url`` across processes."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database or ""
        if not database or database == ":memory:":
            yield
            return
        path = Path(database)
        with file_lock(path.with_name(f"{path.name}.{name}.lock")):
            yield
    elif backend == "postgresql":
        engine = create_engine(url, poolclass=NullPool, hide_parameters=True)
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": lock_id(name)})
                conn.commit()
                try:
                    yield
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": lock_id(name)})
                    conn.commit()
        finally:
            engine.dispose()
    else:
        yield


def upgrade_locked(url: str) -> None:
    """Bring the schema to head, one process at a time."""
    with schema_lock(url):
        upgrade(url)


def schema_at_head(url: str) -> bool:
    """Whether the database's Alembic revision is the newest migration."""
    heads = set(ScriptDirectory.from_config(alembic_config(url)).get_heads())
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()
    return current == heads


def require_schema_at_head(url: str) -> None:
    """Production start-up: refuse unless `headpix db upgrade` has brought the schema to head."""
    if not schema_at_head(url):
        raise SchemaNotCurrent(
            "the database schema is not at the current revision; in production migrations run "
            "only at deploy time: run `headpix db upgrade` once, then start again"
        )


def create_all_locked(metadata: MetaData, *, engine: Engine) -> None:
    """``metadata.create_all`` for a store without migrations (the key store), one process at a time."""
    with schema_lock(engine.url.render_as_string(hide_password=False), name="keys-schema"):
        metadata.create_all(engine)
