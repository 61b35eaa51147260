"""Late binding: an actor grants one turn at a time, to the job that has waited longest."""

from __future__ import annotations

import pytest

from ray_cluster import turns as turns_module
from ray_cluster.turns import Turns


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(turns_module.time, "monotonic", fake)
    return fake


def test_a_free_actor_grants_the_job_that_waited_longest(clock: Clock) -> None:
    turns = Turns()
    turns.arrived("running")
    assert not turns.ask("late", waiting_since=20.0)
    assert not turns.ask("early", waiting_since=10.0)
    turns.finished()
    assert not turns.ask("late", waiting_since=20.0)  # "early" still asks: it goes first
    assert turns.ask("early", waiting_since=10.0)
    assert not turns.ask("late", waiting_since=20.0)  # the turn is held until "early" arrives
    turns.arrived("early")
    turns.finished()
    assert turns.ask("late", waiting_since=20.0)


def test_a_busy_actor_grants_nothing(clock: Clock) -> None:
    turns = Turns()
    turns.arrived("job-a")
    assert not turns.ask("job-b", waiting_since=1.0)
    assert turns.waiting() == 1


def test_a_job_that_stopped_asking_does_not_block_the_line(clock: Clock) -> None:
    turns = Turns()
    turns.arrived("running")
    assert not turns.ask("gone", waiting_since=1.0)  # its driver died while waiting
    turns.finished()
    assert not turns.ask("next", waiting_since=2.0)
    clock.now += turns_module.FORGET_S + 0.1
    assert turns.ask("next", waiting_since=2.0)


def test_a_withdrawn_job_leaves_the_line_at_once(clock: Clock) -> None:
    turns = Turns()
    turns.arrived("running")
    assert not turns.ask("elsewhere", waiting_since=1.0)
    turns.finished()
    turns.withdraw("elsewhere")  # it got a turn at another actor
    assert turns.ask("next", waiting_since=2.0)


def test_a_granted_turn_whose_job_never_comes_is_taken_back(clock: Clock) -> None:
    turns = Turns()
    assert turns.ask("died-after-grant", waiting_since=1.0)
    assert not turns.ask("next", waiting_since=2.0)
    clock.now += turns_module.TURN_S + 0.1
    assert turns.ask("next", waiting_since=2.0)


def test_asking_again_after_the_grant_keeps_the_turn(clock: Clock) -> None:
    turns = Turns()
    assert turns.ask("job", waiting_since=1.0)
    assert turns.ask("job", waiting_since=1.0)
    turns.withdraw("job")
    assert turns.ask("other", waiting_since=2.0)
