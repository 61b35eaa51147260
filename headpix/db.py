"""Database engine, sessions and migrations (SQLite by default, PostgreSQL in production)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.orm import Session, sessionmaker

from headpix.db_errors import translate_errors

MIGRATIONS = Path(__file__).resolve().parent.parent / "schemas" / "migrations"


def _ensure_sqlite_folder(url: str) -> None:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        _ensure_sqlite_folder(url)
        engine = create_engine(url, connect_args={"timeout": 30}, hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            # Deleted rows must not linger in free pages: erasure means the bytes are gone.
            cursor.execute("PRAGMA secure_delete=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations up to ``revision``."""
    _ensure_sqlite_folder(url)
    command.upgrade(alembic_config(url), revision)


def is_current(engine: Engine) -> bool:
    return inspect(engine).has_table("alembic_version")


class Database:
    """An engine and its session factory."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed on success, rolled back on error; driver errors come out
        as ``headpix.db_errors`` errors, which carry no values."""
        with translate_errors(), self._sessions() as session, session.begin():
            yield session

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def claim(self, key: str) -> Iterator[bool]:
        """Hold an advisory lock on ``key`` for the block; False when another session holds it.

        For work that runs in sessions of its own (an erasure), where a row lock would block
        the work itself. PostgreSQL advisory locks belong to a session: take the claim once,
        where the work starts, never again inside it. SQLite serialises writers anyway: there
        every claim succeeds, which is why claims are tested on PostgreSQL.
        """
        if not self.is_postgres:
            yield True
            return
        with self.engine.connect() as conn, conn.begin():
            got = conn.execute(
                text("SELECT pg_try_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key}
            ).scalar_one()
            yield bool(got)

    def dispose(self) -> None:
        self.engine.dispose()
