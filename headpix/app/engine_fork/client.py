"""The worker's command for a flow run: ``python -m headpix.app.engine_fork.client``.

Asks the engine server named by ``HEADPIX_ENGINE_SOCKET`` to fork the run's process, then
stands in for it towards the worker: the worker's signals (its cancel is a SIGTERM) go to the
run process, and this process ends as the run process ended, with its exit code or by its
signal. If this process is killed, the server kills the run process (a dying worker takes its
runs along). With no server, or one that refuses, it becomes ``python -m prefect.engine``.

Standard library only, so that it starts in milliseconds.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
from typing import Any, NoReturn

from headpix.app.engine_fork import wire

ANSWER_TIMEOUT_S = 20.0  # a fork takes milliseconds; longer means a server that hangs
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)


def _say(text: str) -> None:
    print(f"headpix engine client: {text}", file=sys.stderr, flush=True)


def cold_start(argv: list[str], pending: list[int]) -> NoReturn:
    """Become the engine in this process, as the worker would have started it (a signal that
    came meanwhile ends this process by its default action instead)."""
    for sig in FORWARDED:
        signal.signal(sig, signal.SIG_DFL)
    for waiting in pending:
        os.kill(os.getpid(), waiting)
    os.execv(sys.executable, [sys.executable, "-m", "prefect.engine", *argv])


def _connect(path: str) -> socket.socket | None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError as error:
        sock.close()
        _say(f"no engine server at {path} ({error.strerror}); starting the engine cold")
        return None
    return sock


def _end_like(status: int) -> NoReturn:
    """Exit as the run process did: same code, or killed by the same signal."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
        sys.exit(128 + sig)  # only if the signal did not end us
    sys.exit(os.waitstatus_to_exitcode(status))


def _ask(sock: socket.socket, argv: list[str]) -> dict[str, Any]:
    """The server's answer to our request, or why there is none (closed standard streams, a
    server that hangs or drops the request): the client then starts the engine itself."""
    sock.settimeout(ANSWER_TIMEOUT_S)
    try:
        wire.send(sock, {"env": dict(os.environ), "cwd": os.getcwd(), "argv": argv}, fds=[0, 1, 2])
        answer, _ = wire.receive(sock)
    except (OSError, ValueError) as error:
        return {"refused": f"no answer from the engine server ({error})"}
    if "pid" not in answer:
        return {"refused": f"the engine server refused ({answer.get('refused', answer)})"}
    return answer


def main(argv: list[str]) -> NoReturn:
    run: dict[str, int] = {}
    pending: list[int] = []

    def forward(sig: int, _frame: object) -> None:
        if "pid" not in run:
            pending.append(sig)  # delivered once the run process exists
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(run["pid"], sig)

    for sig in FORWARDED:
        signal.signal(sig, forward)
    path = os.environ.get(wire.SOCKET_ENV, "")
    sock = _connect(path) if path else None
    if sock is None:
        cold_start(argv, pending)
    with sock:
        answer = _ask(sock, argv)
        if "pid" not in answer:
            _say(f"{answer['refused']}; starting the engine cold")
            sock.close()  # a run forked after all sees its client gone, and is killed at once
            cold_start(argv, pending)
        sock.settimeout(None)
        run["pid"] = int(answer["pid"])
        for waiting in pending:
            forward(waiting, None)
        try:
            ended, _ = wire.receive(sock)
        except wire.WireError:
            _say(f"lost the engine server before run process {run['pid']} ended")
            sys.exit(1)
    _end_like(int(ended["status"]))


if __name__ == "__main__":
    main(sys.argv[1:])
