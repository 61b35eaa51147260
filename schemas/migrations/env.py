"""Alembic environment: the URL comes from the caller (headpix.db.upgrade), never the environment."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from schemas.models import Base

config = context.config
url = config.get_main_option("sqlalchemy.url")
if not url:
    raise RuntimeError("no database URL given; run migrations through `headpix db upgrade`")

engine = create_engine(url, hide_parameters=True)  # values never reach a log
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
