import pytest

from headpix.settings import SettingsError, load_settings


def test_defaults_need_no_setup(tmp_path):
    settings = load_settings(home=tmp_path)
    assert settings.resolved_database_url.startswith("sqlite:///")
    assert settings.resolved_storage_url.startswith("file://")
    assert settings.mail_backend == "eml"
    assert settings.storage_options == {"reserve_bytes": 32 << 20}  # the free-space reserve only


def test_styles_accept_comma_list(tmp_path):
    assert load_settings(home=tmp_path, styles="corporate, studio").styles == ["corporate", "studio"]


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"images_per_style": 0}, "HEADPIX_IMAGES_PER_STYLE"),
        ({"mail_backend": "pigeon"}, "HEADPIX_MAIL_BACKEND"),
        ({"mail_backend": "sendgrid"}, "HEADPIX_SENDGRID_API_KEY"),
        ({"storage_url": "ftp://x"}, "HEADPIX_STORAGE_URL"),
        ({"gpus_per_actor": -1}, "HEADPIX_GPUS_PER_ACTOR"),
        ({"min_photos": 40, "max_photos": 30}, "HEADPIX_MIN_PHOTOS"),
    ],
)
def test_invalid_settings_name_the_setting(tmp_path, overrides, named):
    with pytest.raises(SettingsError) as error:
        load_settings(home=tmp_path, **overrides)
    assert named in str(error.value)


def test_environment_is_read_with_prefix(tmp_path, monkeypatch):
    monkeypatch.setenv("HEADPIX_IMAGES_PER_STYLE", "nope")
    with pytest.raises(SettingsError, match="HEADPIX_IMAGES_PER_STYLE"):
        load_settings(home=tmp_path)


def test_s3_options_carry_endpoint_and_versions(tmp_path):
    settings = load_settings(home=tmp_path, storage_url="s3://bucket/p", s3_endpoint_url="http://127.0.0.1:9")
    options = settings.storage_options
    assert options["version_aware"] is True
    assert options["client_kwargs"]["endpoint_url"] == "http://127.0.0.1:9"
