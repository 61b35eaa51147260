"""Starting the stack's components: a component that dies before it is ready fails at once with
the end of its log in the error, and a Prefect server whose port was taken meanwhile starts
again on a fresh port."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from headpix.app.stack import prefect_stack, procs
from headpix.app.stack.layout import StackLayout, StackState


def test_a_component_that_exits_fails_at_once_with_its_log_tail(tmp_path: Path) -> None:
    log = tmp_path / "component.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", "print('Port 4242 is already in use.'); raise SystemExit(1)"], stdout=out
        )
    began = time.monotonic()
    with pytest.raises(procs.NotReady) as raised:
        procs.wait_until(lambda: False, timeout_s=60, what="the component", log=log, pid=process.pid)
    process.wait()
    assert time.monotonic() - began < 30, "waited for the timeout although the process had ended"
    assert raised.value.exited
    assert "exited before it became ready" in str(raised.value)
    assert "Port 4242 is already in use." in str(raised.value)


def test_a_timeout_names_the_component_its_log_and_the_logs_end(tmp_path: Path) -> None:
    log = tmp_path / "component.log"
    log.write_text("starting\nstill migrating\n", encoding="utf-8")
    with pytest.raises(procs.NotReady, match="did not become ready within 1 s") as raised:
        procs.wait_until(lambda: False, timeout_s=1, what="the component", log=log)
    assert not raised.value.exited and str(log) in str(raised.value)
    assert raised.value.log_tail.endswith("still migrating")


def test_a_prefect_server_whose_port_was_taken_starts_on_a_fresh_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = StackState(ports={"prefect": 4242})
    tried: list[int] = []

    def start(_layout: StackLayout, state: StackState) -> None:
        tried.append(state.ports["prefect"])
        if len(tried) == 1:
            raise procs.NotReady("x", exited=True, log_tail="Port 4242 is already in use.")

    monkeypatch.setattr(prefect_stack, "_start_server", start)
    prefect_stack.server_up(StackLayout(tmp_path), state)
    assert tried[0] == 4242 and tried[1] != 4242 and state.ports["prefect"] == tried[1]


def test_a_prefect_server_that_fails_otherwise_is_not_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []

    def start(_layout: StackLayout, _state: StackState) -> None:
        calls.append(1)
        raise procs.NotReady("x", exited=True, log_tail="sqlalchemy.exc.OperationalError: ...")

    monkeypatch.setattr(prefect_stack, "_start_server", start)
    with pytest.raises(procs.NotReady):
        prefect_stack.server_up(StackLayout(tmp_path), StackState(ports={"prefect": 4242}))
    assert calls == [1]
