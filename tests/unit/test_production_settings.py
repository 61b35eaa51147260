"""HEADPIX_ENVIRONMENT=production refuses placeholder secrets and a key store beside the data."""

from __future__ import annotations

import base64
import re
import secrets
import string
from pathlib import Path

import pytest

from headpix import secrets_policy
from headpix.settings import SettingsError, load_settings

ALPHABET = string.ascii_letters + string.digits + "-_"


def random_text(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def sendgrid_key() -> str:
    return f"SG.{random_text(22)}.{random_text(43)}"


def _receipt_key() -> str:
    import tempfile
    from pathlib import Path

    from headpix.privacy.receipts import init_key

    return str(init_key(Path(tempfile.mkdtemp(prefix="headpix-receipt-")) / "receipt.pem"))


RECEIPT_KEY = _receipt_key()


def good(**overrides: object) -> dict[str, object]:
    return {
        "receipt_signing_key_file": RECEIPT_KEY,
        "environment": "production",
        "master_key": base64.b64encode(secrets.token_bytes(32)).decode(),
        "session_secret": secrets.token_urlsafe(32),
        "database_url": "postgresql+psycopg://app@db.internal:5432/headpix",
        "keys_database_url": "postgresql+psycopg://keys@db.internal:5432/headpix_keys",
        "mail_backend": "sendgrid",
        "sendgrid_api_key": sendgrid_key(),
        **overrides,
    }


def test_good_production_settings_start(tmp_path):
    settings = load_settings(home=tmp_path, **good())
    assert settings.environment == "production"
    assert len(secrets_policy.SENDGRID_KEY.pattern) > 0 and len(sendgrid_key()) == 69


def test_development_and_test_accept_test_values(tmp_path):
    for environment in ("development", "test"):
        load_settings(home=tmp_path, environment=environment, master_key="", session_secret="test")
    assert load_settings(home=tmp_path).environment == "development"


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"master_key": ""}, "HEADPIX_MASTER_KEY"),  # would generate an embedded key on disk
        ({"master_key": "changeme"}, "HEADPIX_MASTER_KEY"),
        ({"master_key": base64.b64encode(b"\0" * 32).decode()}, "HEADPIX_MASTER_KEY"),
        ({"master_key": base64.b64encode(secrets.token_bytes(16)).decode()}, "HEADPIX_MASTER_KEY"),
        ({"master_key": "not base64 at all, but long enough!!"}, "HEADPIX_MASTER_KEY"),
        ({"session_secret": ""}, "HEADPIX_SESSION_SECRET"),
        ({"session_secret": "secret"}, "HEADPIX_SESSION_SECRET"),
        ({"session_secret": "password-for-the-web-layer-of-headpix"}, "HEADPIX_SESSION_SECRET"),
        ({"session_secret": "a" * 64}, "HEADPIX_SESSION_SECRET"),
        ({"session_secret": random_text(20)}, "HEADPIX_SESSION_SECRET"),
        ({"sendgrid_api_key": "SG.test"}, "HEADPIX_SENDGRID_API_KEY"),
        ({"sendgrid_api_key": f"SG.test{random_text(15)}.{random_text(43)}"}, "HEADPIX_SENDGRID_API_KEY"),
        ({"sendgrid_api_key": "SG." + random_text(40)}, "HEADPIX_SENDGRID_API_KEY"),
        ({"sendgrid_api_key": random_text(69)}, "HEADPIX_SENDGRID_API_KEY"),
        ({"keys_database_url": ""}, "HEADPIX_KEYS_DATABASE_URL"),
        ({"receipt_signing_key_file": ""}, "HEADPIX_RECEIPT_SIGNING_KEY_FILE"),  # never made up in production
        ({"receipt_signing_key_file": "/nonexistent/receipt.pem"}, "HEADPIX_RECEIPT_SIGNING_KEY_FILE"),
        (
            {"keys_database_url": "postgresql+psycopg://app@db.internal:5432/headpix"},
            "HEADPIX_KEYS_DATABASE_URL",
        ),
        (  # same host and database under another user and driver is still the same database
            {"keys_database_url": "postgresql://keys:pw@DB.internal:5432/headpix"},
            "HEADPIX_KEYS_DATABASE_URL",
        ),
    ],
)
def test_production_refuses_and_names_the_setting(tmp_path, overrides, named):
    with pytest.raises(SettingsError) as error:
        load_settings(home=tmp_path, **good(**overrides))
    assert named in str(error.value)
    for value in overrides.values():
        if isinstance(value, str) and len(value) > 8:
            assert value not in str(error.value), "a refused secret must not be echoed"


def test_sendgrid_key_is_only_checked_when_sendgrid_sends(tmp_path):
    load_settings(home=tmp_path, **good(mail_backend="eml", sendgrid_api_key=""))


def test_every_problem_is_reported_at_once(tmp_path):
    with pytest.raises(SettingsError) as error:
        load_settings(home=tmp_path, environment="production")
    text = str(error.value)
    for name in ("HEADPIX_MASTER_KEY", "HEADPIX_SESSION_SECRET", "HEADPIX_KEYS_DATABASE_URL"):
        assert name in text


def test_environment_variable_selects_production(tmp_path, monkeypatch):
    monkeypatch.setenv("HEADPIX_ENVIRONMENT", "production")
    with pytest.raises(SettingsError, match="HEADPIX_MASTER_KEY"):
        load_settings(home=tmp_path)
    monkeypatch.setenv("HEADPIX_ENVIRONMENT", "staging")
    with pytest.raises(SettingsError, match="HEADPIX_ENVIRONMENT"):
        load_settings(home=tmp_path)


@pytest.mark.parametrize("word", secrets_policy.PLACEHOLDERS)
def test_every_listed_placeholder_is_refused(word):
    assert secrets_policy.placeholder_reason(word.upper()) is not None
    if len(word) >= secrets_policy.PREFIX_MIN_LETTERS:
        assert secrets_policy.placeholder_reason(word + random_text(40)) is not None
    assert secrets_policy.session_secret_problem(word) is not None


def test_generated_secrets_are_not_placeholders():
    for _ in range(200):
        assert secrets_policy.master_key_problem(base64.b64encode(secrets.token_bytes(32)).decode()) is None
        assert secrets_policy.session_secret_problem(secrets.token_urlsafe(32)) is None
        assert secrets_policy.sendgrid_key_problem(sendgrid_key()) is None


def test_the_documented_placeholder_list_is_the_one_in_code():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "production-settings.md").read_text()
    section = doc.split("## Placeholders", 1)[1].split("##", 1)[0]
    assert set(re.findall(r"`([^`]+)`", section)) >= set(secrets_policy.PLACEHOLDERS)
