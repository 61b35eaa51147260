import pytest

from headpix.errors import UsageError
from headpix.shoots import TRANSITIONS, ShootStopped, TransitionRefused, advance, enter_stage
from schemas.api import Gender, Preferences, ShootStatus
from schemas.models import Photoshoot

S = ShootStatus


def shoot(status: S) -> Photoshoot:
    return Photoshoot(id="s1", customer_id="c1", status=status.value)


def test_happy_path_is_allowed():
    s = shoot(S.received)
    for step in (S.validating, S.training, S.generating, S.delivering, S.delivered):
        advance(s, step)
    assert s.status == "delivered"


@pytest.mark.parametrize("final", [S.delivered, S.failed, S.cancelled])
def test_final_states_are_final(final):
    assert TRANSITIONS[final] == set()
    with pytest.raises(TransitionRefused):
        advance(shoot(final), S.training)


def test_skipping_a_stage_is_refused():
    with pytest.raises(TransitionRefused, match="received to generating"):
        advance(shoot(S.received), S.generating)


def test_a_stage_can_be_reentered_after_a_crash():
    s = shoot(S.training)
    enter_stage(s, S.training)
    assert s.status == "training"


@pytest.mark.parametrize("stopped", [S.paused, S.cancelled, S.failed])
def test_stopped_shoots_are_not_processed(stopped):
    with pytest.raises(ShootStopped):
        enter_stage(shoot(stopped), S.training)


def test_gender_synonyms_and_class_words():
    assert Gender.parse("Female") is Gender.woman
    assert Gender.parse("male").class_word == "man"
    assert Gender.parse("nonbinary").class_word == "person"
    with pytest.raises(UsageError, match="woman, man, nonbinary"):
        Gender.parse("robot")


def test_unknown_preferences_are_refused_listing_known_keys():
    with pytest.raises(UsageError) as error:
        Preferences.parse_json('{"attire": "suit", "hat": "fedora"}')
    assert "hat" in error.value.message
    assert "attire" in error.value.message and "background" in error.value.message


def test_preferences_must_be_an_object():
    with pytest.raises(UsageError, match="JSON object"):
        Preferences.parse_json("[1]")
    assert Preferences.parse_json('{"glasses": true}').glasses is True
