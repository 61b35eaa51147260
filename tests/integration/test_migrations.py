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


def test_0005_seals_existing_plaintext_rows(tmp_path, monkeypatch):
    """Rows written before 0005 come out sealed under their customer's key, found by blind index."""
    _seal_old_rows(f"sqlite:///{tmp_path / 'old.db'}", tmp_path, monkeypatch)
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("old.db*"))
    for plain in (b"ada@old.example", b"Ada Old", b"old-selfie.jpg", b"tweed"):
        assert plain not in raw, f"{plain!r} left in the SQLite file's free pages"


def test_0005_seals_existing_plaintext_rows_on_postgres(fresh_postgres_url, tmp_path, monkeypatch):
    _seal_old_rows(fresh_postgres_url, tmp_path, monkeypatch)


def _seal_old_rows(url, tmp_path, monkeypatch) -> None:
    from headpix import personal
    from headpix.privacy.crypto import KeyRing
    from headpix.sealed_columns import blind_index
    from headpix.settings import get_settings

    upgrade(url, "0004")
    now = "2026-11-01 00:00:00"
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO customers (id, name, email, gender, preferences, policy_version, consented_at, "
                "consent_channel, created_at, last_active_at) VALUES ('c1', 'Ada Old', 'ada@old.example', "
                "'woman', '{\"attire\": \"tweed\"}', '2026-11', :t, 'web', :t, :t)"
            ),
            {"t": now},
        )
        conn.execute(
            sa.text(
                "INSERT INTO photoshoots (id, customer_id, status, status_detail, styles, images_per_style, "
                "seed, stage_seconds, compute_seconds, created_at, updated_at, attempt) VALUES "
                "('s1', 'c1', 'delivered', '', '[]', 1, 0, '{}', '{}', :t, :t, 0)"
            ),
            {"t": now},
        )
        conn.execute(
            sa.text(
                "INSERT INTO original_photos (id, shoot_id, ordinal, filename, sha256, size_bytes, verdict, "
                "reasons, uploaded_at) VALUES ('p1', 's1', 0, 'old-selfie.jpg', 'x', 1, 'accepted', '[]', :t)"
            ),
            {"t": now},
        )
        conn.execute(
            sa.text(
                "INSERT INTO outbox (id, dedup_key, kind, category, customer_id, to_address, subject, body, "
                "status, attempts, created_at) VALUES ('m1', 'delivery:s1', 'delivery', 'transactional', "
                "'c1', 'ada@old.example', 'Hi', 'Hello Ada Old', 'pending', 0, :t)"
            ),
            {"t": now},
        )
    engine.dispose()
    monkeypatch.setenv("HEADPIX_HOME", str(tmp_path / "state"))
    get_settings.cache_clear()
    try:
        upgrade(url)
        keys = KeyRing(get_settings())
    finally:
        get_settings.cache_clear()
    from sqlalchemy.orm import Session

    from schemas.models import OriginalPhoto, OutboxMessage

    engine = make_engine(url)
    with Session(engine) as session:
        customer = personal.find_by_email(session, keys, "ADA@old.example")
        assert customer is not None and customer.email_index == blind_index(keys, "ada@old.example")
        assert personal.name_of(keys, customer) == "Ada Old"
        assert personal.preferences_of(keys, customer) == {"attire": "tweed"}
        photo = session.get(OriginalPhoto, "p1")
        assert photo is not None and personal.filename_of(keys, "c1", photo) == "old-selfie.jpg"
        mail = session.get(OutboxMessage, "m1")
        assert mail is not None and b"Ada Old" not in (mail.content_sealed or b"")
    engine.dispose()


def test_0010_seals_waiting_draft_filenames(tmp_path, monkeypatch):
    """A photo waiting in the draft area before 0010 keeps its name, sealed under its customer's key."""
    from headpix import personal
    from headpix.privacy.crypto import KeyRing
    from headpix.settings import get_settings
    from schemas.web import DraftPhoto

    url = f"sqlite:///{tmp_path / 'old.db'}"
    monkeypatch.setenv("HEADPIX_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("HEADPIX_KEY_DIR", str(tmp_path / "keys"))
    get_settings.cache_clear()
    try:
        upgrade(url, "0009")
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO customers (id, name_sealed, email_sealed, email_index, preferences_sealed, "
                    "gender, policy_version, consented_at, consent_channel, created_at, last_active_at) "
                    "VALUES ('c1', x'00', x'00', 'i1', x'00', 'woman', '2026-11', :t, 'web', :t, :t)"
                ),
                {"t": "2026-11-01 00:00:00"},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO draft_photos (id, customer_id, filename, sha256, size_bytes, phash, key, "
                    "created_at) VALUES ('d1', 'c1', 'zq-waiting-upload.jpg', 'x', 1, '0', 'k', :t)"
                ),
                {"t": "2026-11-01 00:00:00"},
            )
        engine.dispose()
        upgrade(url)
        keys = KeyRing(get_settings())
    finally:
        get_settings.cache_clear()
    from sqlalchemy.orm import Session

    engine = make_engine(url)
    with Session(engine) as session:
        draft = session.get(DraftPhoto, "d1")
        assert draft is not None
        assert personal.draft_filename_of(keys, "c1", draft.filename_sealed) == "zq-waiting-upload.jpg"
    engine.dispose()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("old.db*"))
    assert b"zq-waiting-upload" not in raw, "the plaintext name is left in the SQLite file's pages"
