import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from headpix.db import make_engine, upgrade
from schemas.models import Base


def _assert_matches_models(url: str) -> None:
    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        tables = set(sa.inspect(conn).get_table_names())
    engine.dispose()
    assert diff == [], f"migrations and models differ: {diff}"
    assert {"customers", "photoshoots", "original_photos", "outbox"} <= tables


def test_migrations_on_sqlite(tmp_path):
    _assert_matches_models(f"sqlite:///{tmp_path / 'h.db'}")


def test_migrations_on_postgres(postgres_url):
    _assert_matches_models(postgres_url)
    upgrade(postgres_url)  # idempotent
