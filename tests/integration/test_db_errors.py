"""A failing write on PostgreSQL leaks no value: not in the message, the repr, nor the chain."""

from __future__ import annotations

import traceback

import pytest

from headpix.db_errors import Conflict, DatabaseError, InvalidData
from schemas.models import Photoshoot, utcnow
from schemas.privacy import PolicyVersion, Suppression

pytestmark = pytest.mark.postgres

SECRET = "ada.lovelace@example.com"


def everything_said(error: BaseException) -> str:
    """What a log line or a traceback would show of the error and its chain (not the source lines,
    which are this test's own)."""
    parts = [str(error), repr(error)]
    link: BaseException | None = error
    while link is not None:
        parts += [str(link), repr(link), *traceback.format_exception_only(link)]
        link = link.__cause__ or (None if link.__suppress_context__ else link.__context__)
    return "\n".join(parts)


def test_unique_clash_names_the_constraint_not_the_value(make_services, fresh_postgres_url):
    services = make_services(database_url=fresh_postgres_url)
    with services.db.session() as session:
        session.add(Suppression(address_hash=SECRET))
    with pytest.raises(Conflict) as caught, services.db.session() as session:
        session.add(Suppression(address_hash=SECRET))
    said = everything_said(caught.value)
    assert SECRET not in said and "DETAIL" not in said
    assert "marketing_suppressions_address_hash_key" in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_failing_insert_shows_no_parameters(make_services, fresh_postgres_url):
    services = make_services(database_url=fresh_postgres_url)
    with pytest.raises(InvalidData) as caught, services.db.session() as session:
        session.add(  # too long for varchar(32): PostgreSQL refuses it
            PolicyVersion(
                version=SECRET * 2, published_at=utcnow(), effective_at=utcnow(), text=SECRET, text_sha256="0"
            )
        )
    said = everything_said(caught.value)
    assert SECRET not in said and "parameters" not in said.lower()

    with pytest.raises(DatabaseError) as missing, services.db.session() as session:
        session.add(Photoshoot(customer_id=SECRET))  # no such customer: a foreign key refuses it
    assert SECRET not in everything_said(missing.value)
