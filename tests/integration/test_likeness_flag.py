"""Operators are alerted, by shoot id and scores only, when a shoot's likeness median stays low."""

from __future__ import annotations

from typing import Any

import pytest
from prefect import flow
from sqlalchemy import select

from headpix.services import Services
from schemas.models import Headshot, Photoshoot
from tasks.photoshoot import report_likeness
from tests.integration.test_retention import T0, add_customer, add_shoot

REAL_MODEL = "/models/sd15"  # any non-tiny base model: likeness is enforced (never loaded here)


@flow(name="likeness-report-test")
def report(shoot_id: str) -> None:
    report_likeness(shoot_id)


def scored_shoot(services: Services, email: str, scores: list[float], median: float) -> tuple[str, str]:
    """A delivered shoot whose headshots were scored as the generate stage records them."""
    customer_id = add_customer(services, email, now=T0, name="Zq Likeness Canary")
    shoot_id = add_shoot(services, customer_id, now=T0, headshots=len(scores))
    with services.db.session() as session:
        headshots = session.scalars(
            select(Headshot).where(Headshot.shoot_id == shoot_id).order_by(Headshot.ordinal)
        ).all()
        for headshot, score in zip(headshots, scores, strict=True):
            headshot.likeness = score
        shoot = session.get(Photoshoot, shoot_id)
        assert shoot is not None
        shoot.likeness_median = median
    return customer_id, shoot_id


def artifacts(key: str) -> list[Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        return list(client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key]))))


@pytest.fixture
def services(make_services):
    return make_services(base_model=REAL_MODEL)


def test_a_shoot_whose_median_stays_low_is_flagged_by_id_with_scores_only(services):
    customer_id, shoot_id = scored_shoot(services, "zq.low@example.com", [0.31, 0.44, 0.72], 0.44)
    report(shoot_id)

    flags = artifacts(f"likeness-flag-{shoot_id}")
    assert len(flags) == 1, "no operator flag for a shoot whose median stayed low"
    text = str(flags[0].data)
    assert shoot_id in text and "0.44" in text and "2 of 3" in text
    assert customer_id not in text and "Zq Likeness Canary" not in text and "zq.low" not in text
    table = str(artifacts(f"likeness-{shoot_id}")[-1].data)
    assert "0.31" in table and "0.72" in table and customer_id not in table


def test_a_shoot_with_a_good_median_is_not_flagged(services):
    _, shoot_id = scored_shoot(services, "zq.fine@example.com", [0.45, 0.8, 0.9], 0.8)
    report(shoot_id)
    assert artifacts(f"likeness-{shoot_id}"), "the scores table is always there"
    assert artifacts(f"likeness-flag-{shoot_id}") == []


def test_the_tiny_model_is_never_flagged(make_services):
    services = make_services()  # the tiny random-weight model: scores 0 by nature
    _, shoot_id = scored_shoot(services, "zq.tiny@example.com", [0.0, 0.0], 0.0)
    report(shoot_id)
    assert artifacts(f"likeness-{shoot_id}")
    assert artifacts(f"likeness-flag-{shoot_id}") == []
