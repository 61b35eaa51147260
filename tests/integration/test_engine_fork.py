"""Flow-run processes forked from a warm engine server (headpix.app.engine_fork): the run takes
the client's environment, working directory, arguments and streams; the worker's signals reach
it; it dies with its client or its server; and without a server the engine starts cold."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from headpix.app.engine_fork import wire
from headpix.app.stack import procs

ROOT = Path(__file__).resolve().parents[2]
TARGET = "tests.integration.engine_fork_target"


def _start_server(
    folder: Path, *, engine_module: str, prefect_file: Path, code_dir: Path = ROOT
) -> tuple[subprocess.Popen[bytes], Path]:
    sock = folder / "engines" / "worker.sock"
    log = open(folder / "server.log", "ab")  # noqa: SIM115 - closed with the process
    command = [sys.executable, "-m", "headpix.app.engine_fork.server", "--socket", str(sock)]
    command += ["--engine-module", engine_module, "--prefect-file", str(prefect_file)]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    server = subprocess.Popen(command, cwd=code_dir, env=env, stdout=log, stderr=log, start_new_session=True)
    log.close()
    procs.wait_until(
        lambda: procs.socket_open(sock), timeout_s=120, what="engine server", log=folder / "server.log"
    )
    return server, sock


def _stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGKILL)
    server.wait(timeout=30)


@pytest.fixture(scope="module")
def target_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("engine-fork")
    empty = folder / "prefect.yaml"
    empty.write_text("deployments: []\n", encoding="utf-8")
    server, sock = _start_server(folder, engine_module=TARGET, prefect_file=empty)
    yield sock
    _stop(server)


def _client(sock: Path, cwd: Path, **env: str) -> subprocess.Popen[str]:
    environ = dict(os.environ, PYTHONPATH=str(ROOT), **env)
    environ[wire.SOCKET_ENV] = str(sock)
    return subprocess.Popen(
        [sys.executable, "-m", "headpix.app.engine_fork.client", "first", "second"],
        cwd=cwd,
        env=environ,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_pid(pid_file: Path) -> int:
    procs.wait_until(
        lambda: pid_file.is_file() and pid_file.read_text() != "", timeout_s=30, what="the run process"
    )
    return int(pid_file.read_text())


def _gone(pid: int, timeout_s: float = 15) -> bool:
    """Whether ``pid`` ended (or is a zombie its parent has yet to reap) within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
        except (OSError, IndexError):
            return True
        if state == "Z":
            return True
        time.sleep(0.1)
    return False


def test_a_forked_run_takes_the_clients_environment_directory_arguments_streams_and_exit_code(
    target_server: Path, tmp_path: Path
) -> None:
    client = _client(target_server, tmp_path, TARGET_MODE="echo", TARGET_MARK="only-in-the-client")
    out, err = client.communicate("a line on standard input\n", timeout=60)
    assert client.returncode == 3, err
    seen = json.loads(out.strip().splitlines()[-1])
    assert seen == {
        "mark": "only-in-the-client",
        "cwd": str(tmp_path),
        "argv": ["first", "second"],
        "stdin": "a line on standard input",
    }
    assert "to standard error" in err
    assert "starting the engine cold" not in err  # it was forked, not started


def test_the_workers_sigterm_reaches_the_run_and_the_client_ends_as_the_run_did(
    target_server: Path, tmp_path: Path
) -> None:
    pid_file = tmp_path / "run.pid"
    client = _client(target_server, tmp_path, TARGET_MODE="terminated", TARGET_PID_FILE=str(pid_file))
    run_pid = _wait_for_pid(pid_file)
    assert run_pid != client.pid
    client.send_signal(signal.SIGTERM)  # a worker cancelling the flow run
    out, _ = client.communicate(timeout=60)
    assert "terminated gracefully" in out
    assert client.returncode == 7


def test_a_run_killed_by_a_signal_ends_its_client_by_the_same_signal(
    target_server: Path, tmp_path: Path
) -> None:
    client = _client(target_server, tmp_path, TARGET_MODE="abort")
    client.communicate(timeout=60)
    assert client.returncode == -signal.SIGABRT


def test_a_killed_client_takes_its_run_along(target_server: Path, tmp_path: Path) -> None:
    """A worker that dies (SIGKILL, with its children) must not leave its flow run running."""
    pid_file = tmp_path / "run.pid"
    client = _client(target_server, tmp_path, TARGET_MODE="sleep", TARGET_PID_FILE=str(pid_file))
    run_pid = _wait_for_pid(pid_file)
    client.kill()
    client.communicate(timeout=30)
    assert _gone(run_pid), f"run process {run_pid} outlived its killed client"


def test_a_run_dies_with_its_server_and_the_client_says_so(tmp_path: Path) -> None:
    empty = tmp_path / "prefect.yaml"
    empty.write_text("deployments: []\n", encoding="utf-8")
    server, sock = _start_server(tmp_path, engine_module=TARGET, prefect_file=empty)
    try:
        pid_file = tmp_path / "run.pid"
        client = _client(sock, tmp_path, TARGET_MODE="sleep", TARGET_PID_FILE=str(pid_file))
        run_pid = _wait_for_pid(pid_file)
        os.kill(server.pid, signal.SIGKILL)  # the server alone, not its group
        _, err = client.communicate(timeout=60)
        assert client.returncode == 1
        assert "lost the engine server" in err
        assert _gone(run_pid), f"run process {run_pid} outlived its server"
    finally:
        _stop(server)


def test_the_real_engine_runs_forked_and_starts_cold_without_a_server(tmp_path: Path) -> None:
    """Both paths reach prefect.engine's own start (here: no flow run id, which it refuses)."""
    folder = tmp_path / "real"
    folder.mkdir()
    server, sock = _start_server(folder, engine_module="prefect.engine", prefect_file=ROOT / "prefect.yaml")
    try:
        forked = _client(sock, ROOT)
        _, err = forked.communicate("", timeout=120)
    finally:
        _stop(server)
    assert forked.returncode == 1
    assert "Invalid flow run id" in err
    assert "starting the engine cold" not in err
    assert "forked run process" in (folder / "server.log").read_text()

    cold = _client(tmp_path / "no-such-server.sock", ROOT)
    _, err = cold.communicate("", timeout=120)
    assert cold.returncode == 1
    assert "no engine server at" in err and "starting the engine cold" in err
    assert "Invalid flow run id" in err


def test_a_server_that_drops_the_request_means_a_cold_start_not_a_lost_run(tmp_path: Path) -> None:
    """No answer (a hung or broken server, here one that closes every connection): the client
    starts the engine itself; a run forked meanwhile would see its client gone and be killed."""
    path = tmp_path / "broken.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(path))
        listener.listen(1)
        client = _client(path, ROOT)
        conn, _ = listener.accept()
        conn.close()
        _, err = client.communicate("", timeout=120)
    assert "no answer from the engine server" in err and "starting the engine cold" in err
    assert client.returncode == 1 and "Invalid flow run id" in err


def test_once_the_code_changes_on_disk_runs_start_cold_on_the_new_code(tmp_path: Path) -> None:
    """A release replaces the code under a running server: forking would run the old code."""
    code = tmp_path / "code"
    (code / "releaseflows").mkdir(parents=True)
    flow = code / "releaseflows" / "shoot.py"
    flow.write_text("RELEASE = 1\n", encoding="utf-8")
    spec = code / "prefect.yaml"
    spec.write_text("deployments:\n- entrypoint: releaseflows/shoot.py:shoot\n", encoding="utf-8")
    server, sock = _start_server(tmp_path, engine_module=TARGET, prefect_file=spec, code_dir=code)
    try:
        before = _client(sock, tmp_path, TARGET_MODE="echo")
        _, err = before.communicate("\n", timeout=60)
        assert before.returncode == 3 and "starting the engine cold" not in err, err
        flow.write_text("RELEASE = 2\n", encoding="utf-8")
        os.utime(flow, ns=(time.time_ns(), time.time_ns() + 10**9))
        # A client that leaves before its refusal arrives must not take the server down.
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as gone:
            gone.connect(str(sock))
            wire.send(gone, {"env": {}, "cwd": str(ROOT), "argv": []}, fds=[0, 1, 2])
        after = _client(sock, ROOT, TARGET_MODE="echo")
        _, err = after.communicate("", timeout=120)
    finally:
        _stop(server)
    assert server.returncode == -signal.SIGKILL, "the server had stopped before the test ended"
    assert "the code changed since this server imported it (1 files)" in err
    assert "starting the engine cold" in err
    assert after.returncode == 1 and "Invalid flow run id" in err  # the real engine, started cold


def test_the_server_preloads_every_flow_but_neither_torch_nor_diffusers() -> None:
    """Every run forked from the server has what it imported: only the Ray workers need the
    heavy libraries, and no thread may run in the server when it forks."""
    probe = (
        "import sys, threading; from pathlib import Path; "
        "from headpix.app.engine_fork.preload import preload; "
        "flows = preload(Path('prefect.yaml')); "
        "heavy = sorted(m for m in ('torch', 'diffusers') if m in sys.modules); "
        "print(flows, heavy, threading.active_count())"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    ).stdout.strip()
    flows = ["flows.photoshoot", "flows.retention", "flows.policy", "flows.privacy", "flows.watchdog"]
    assert out == f"{flows} [] 1"


def test_a_fork_that_fails_is_refused_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Out of memory or processes: the client hears so at once and starts cold; the server
    keeps no descriptor of the refused run."""
    from headpix.app.engine_fork import server as engine_server

    listener = engine_server.bind(tmp_path / "engines" / "worker.sock")
    served = engine_server.Server(listener)
    read_end, write_end = os.pipe()

    def no_fork() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(engine_server.os, "fork", no_fork)
    # This test's process has other tests' threads; the server's own one-thread check is not
    # what is tested here (the preload test checks that the server has one thread).
    monkeypatch.setattr(engine_server.threading, "active_count", lambda: 1)
    with listener, socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.connect(str(tmp_path / "engines" / "worker.sock"))
        wire.send(client, {"env": {}, "cwd": str(tmp_path), "argv": []}, fds=[read_end, write_end, write_end])
        os.close(write_end)  # from here on only the server's copies keep the pipe open
        assert served._accept() is None
        answer, _ = wire.receive(client)
    assert "could not fork" in answer["refused"]
    os.set_blocking(read_end, False)
    try:
        assert os.read(read_end, 1) == b"", "the refused run's descriptors stayed open"
    except BlockingIOError:
        pytest.fail("the refused run's descriptors stayed open")
    finally:
        os.close(read_end)


def test_a_message_is_read_exactly_so_the_next_one_stays_in_the_socket() -> None:
    left, right = socket.socketpair()
    with left, right:
        wire.send(left, {"pid": 1})
        wire.send(left, {"status": 0})
        assert wire.receive(right) == ({"pid": 1}, [])
        assert wire.receive(right) == ({"status": 0}, [])
        left.sendall(wire._HEADER.pack(wire.MAX_MESSAGE + 1))
        with pytest.raises(wire.WireError, match="over the"):
            wire.receive(right)
        left.sendall(wire._HEADER.pack(2) + b"[]")
        with pytest.raises(wire.WireError, match="JSON object"):
            wire.receive(right)
        left.close()
        with pytest.raises(wire.Closed):
            wire.receive(right)
