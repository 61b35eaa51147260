"""The engine server: ``python -m headpix.app.engine_fork.server --socket PATH``.

Imports Prefect's engine, every flow of ``prefect.yaml`` and the face models once, then forks
one process per flow run that a client asks for. The run process takes the client's
environment, working directory and standard streams, refreshes Prefect's settings from that
environment, and runs ``prefect.engine`` as ``python -m prefect.engine`` would.

What must hold for a fork to be safe, and how it is kept:

- One thread only when forking (nothing here starts one; a request is refused otherwise).
- Nothing opened before the fork that a run would share: no database, S3, Ray or Prefect
  client is created by importing the flows (their services are built inside the run).
- A run dies with its client: when the client's connection closes (the worker was killed)
  the server SIGKILLs the run process, and a run process whose server died gets SIGKILL
  from the kernel (``PR_SET_PDEATHSIG``).
- Never stale code: a request is refused (the client then starts the engine cold, on the new
  code) once any of our imported sources changed on disk since the server imported it.
- Only our own user may ask: the socket's folder is 0700 and the peer's uid is checked.
- No shared randomness: Python reseeds ``random`` in each child, and tokens and ids come from
  ``os.urandom``; nothing in a flow-run process draws from NumPy's global generator.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import runpy
import selectors
import signal
import socket
import struct
import sys
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from headpix.app.engine_fork import wire
from headpix.app.engine_fork.preload import changed_since, code_snapshot, preload

PR_SET_PDEATHSIG = 1


def _say(text: str) -> None:
    """A line in the server's log; a full disk loses the line, never a run."""
    with contextlib.suppress(OSError):
        print(f"{time.strftime('%H:%M:%S')} headpix engine server: {text}", file=sys.stderr, flush=True)


@dataclass
class RunRequest:
    env: dict[str, str]
    cwd: str
    argv: list[str]
    fds: list[int]

    @classmethod
    def parse(cls, message: dict[str, Any], fds: list[int]) -> RunRequest:
        env, cwd, argv = message.get("env"), message.get("cwd"), message.get("argv", [])
        if len(fds) != 3:
            raise ValueError(f"expected standard input, output and error, got {len(fds)} descriptors")
        if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
            raise ValueError("env is not a mapping of strings")
        if not isinstance(cwd, str) or not isinstance(argv, list):
            raise ValueError("cwd or argv has the wrong type")
        return cls(env=env, cwd=cwd, argv=[str(a) for a in argv], fds=fds)


def bind(path: Path) -> socket.socket:
    """Listen at ``path``, in a folder that only this user may enter."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder = path.parent.stat()
    if folder.st_uid != os.getuid() or folder.st_mode & 0o077:
        raise SystemExit(f"{path.parent} must belong to uid {os.getuid()} with mode 0700; refusing to serve")
    path.unlink(missing_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(64)
    return listener


def _peer_uid(conn: socket.socket) -> int:
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return int(struct.unpack("3i", creds)[2])


class Server:
    """Accepts run requests, forks, reports each run process's end to its client."""

    def __init__(self, listener: socket.socket, code: dict[str, int] | None = None) -> None:
        self.listener = listener
        self.code = code or {}  # our imported sources and their mtimes (preload.code_snapshot)
        self.selector = selectors.DefaultSelector()
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_w, False)
        self.runs: dict[int, socket.socket] = {}  # run pid -> its client's connection
        self.watched: set[int] = set()  # runs whose connection the selector still watches

    def serve(self) -> RunRequest:
        """Serve until a fork: returns only in the run process, with its request."""
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.set_wakeup_fd(self.wake_w)
        self.selector.register(self.listener, selectors.EVENT_READ, "accept")
        self.selector.register(self.wake_r, selectors.EVENT_READ, "reap")
        _say(f"ready, pid {os.getpid()}")
        while True:
            for key, _ in self.selector.select():
                if key.data == "accept":
                    try:
                        forked = self._accept()
                    except OSError as error:  # out of descriptors or processes: this run starts cold
                        _say(f"could not serve a request: {error}")
                        continue
                    if forked is not None:
                        return forked
                elif key.data == "reap":
                    os.read(self.wake_r, 4096)
                    self._reap()
                else:
                    self._client_event(key.fileobj, int(key.data))  # type: ignore[arg-type]

    def _accept(self) -> RunRequest | None:
        conn, _ = self.listener.accept()
        try:
            conn.settimeout(5)
            if _peer_uid(conn) != os.getuid():
                raise PermissionError("a client of another user")
            message, fds = wire.receive(conn, max_fds=3)
            request = RunRequest.parse(message, fds)
        except wire.Closed:
            conn.close()  # a readiness probe (stack up, stack status)
            return None
        except (OSError, ValueError) as error:
            _say(f"dropped a request: {error}")
            conn.close()
            return None
        if threading.active_count() != 1:
            self._refuse(conn, request, f"{threading.active_count()} threads in the server")
            return None
        changed = changed_since(self.code)
        if changed:
            why = f"the code changed since this server imported it ({len(changed)} files); restart it"
            self._refuse(conn, request, why)
            return None
        sys.stdout.flush()
        sys.stderr.flush()
        server_pid = os.getpid()
        try:
            pid = os.fork()
        except OSError as error:  # out of memory or processes
            self._refuse(conn, request, f"could not fork ({error})")
            return None
        if pid == 0:
            return self._enter_run(request, conn, server_pid)
        for fd in request.fds:
            os.close(fd)
        self.runs[pid] = conn
        self.selector.register(conn, selectors.EVENT_READ, pid)
        self.watched.add(pid)
        # If the client is gone, its connection reads as closed next, and the run is killed.
        with contextlib.suppress(OSError):
            wire.send(conn, {"pid": pid})
        _say(f"forked run process {pid}; its environment differs from ours in {_differing(request.env)}")
        return None

    def _refuse(self, conn: socket.socket, request: RunRequest, why: str) -> None:
        _say(f"refused a run: {why}")
        for fd in request.fds:
            os.close(fd)
        with contextlib.suppress(OSError):  # a client that left needs no answer
            wire.send(conn, {"refused": why})
        conn.close()

    def _client_event(self, conn: socket.socket, pid: int) -> None:
        """A client never writes after its request: readable means it is gone."""
        try:
            data = conn.recv(64)
        except OSError:
            data = b""
        if data:
            return
        self.selector.unregister(conn)
        self.watched.discard(pid)
        if pid in self.runs:
            _say(f"the client of run process {pid} is gone; killing it")
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def _reap(self) -> None:
        while self.runs:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            conn = self.runs.pop(pid, None)
            if conn is None:
                continue
            _say(f"run process {pid} ended ({os.waitstatus_to_exitcode(status)})")
            with contextlib.suppress(OSError):  # its client may be gone
                wire.send(conn, {"status": status})
            if pid in self.watched:
                self.watched.discard(pid)
                self.selector.unregister(conn)
            conn.close()

    def _enter_run(self, request: RunRequest, conn: socket.socket, server_pid: int) -> RunRequest:
        """In the forked process: drop the server's state, take the client's streams."""
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != server_pid:
            os._exit(1)  # the server died before the death signal was armed: no orphan run
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        self.selector.close()
        self.listener.close()
        os.close(self.wake_r)
        os.close(self.wake_w)
        for other in self.runs.values():
            other.close()
        conn.close()  # the run's end is reported by the server, which waits for it
        for target, fd in enumerate(request.fds):
            os.dup2(fd, target)
            os.close(fd)
        return request


def _differing(env: dict[str, str]) -> list[str]:
    """Names (never values) of the variables, other than the run's own ``PREFECT__*``, in which
    its environment differs from ours: the run takes its own, and Prefect's settings are
    rebuilt from it. Expected: the worker's own settings as Prefect writes them back (``1``
    becomes ``1.0``), and what imports here changed (OpenCV extends ``LD_LIBRARY_PATH``, Ray
    sets ``RAY_CLIENT_MODE``), which a cold engine would change the same way."""
    names = set(env) | set(os.environ)
    return sorted(n for n in names if env.get(n) != os.environ.get(n) and not n.startswith("PREFECT__"))


def become_run(request: RunRequest, engine_module: str = "prefect.engine") -> None:
    """Run the flow as ``python -m prefect.engine`` would, in the client's environment."""
    from prefect.context import refresh_global_settings_context

    os.chdir(request.cwd)
    os.environ.clear()
    os.environ.update(request.env)
    refresh_global_settings_context()
    sys.argv = [engine_module, *request.argv]
    # Executing prefect/engine.py as __main__ while the module is imported too is what a cold
    # `python -m prefect.engine` ends up with as well (the flow engine imports it); no warning.
    warnings.filterwarnings(
        "ignore", message="'prefect.engine' found in sys.modules", category=RuntimeWarning
    )
    runpy.run_module(engine_module, run_name="__main__", alter_sys=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--socket", required=True, type=Path, help="where to listen (its folder becomes 0700)"
    )
    parser.add_argument(
        "--prefect-file",
        type=Path,
        default=Path("prefect.yaml"),
        help="the deployments whose flows to import",
    )
    parser.add_argument(
        "--engine-module", default="prefect.engine", help="the module each run executes as __main__"
    )
    args = parser.parse_args(argv)
    began = time.monotonic()
    preload(args.prefect_file)
    _say(f"imported the engine and flows in {time.monotonic() - began:.1f} s")
    listener = bind(args.socket)
    request = Server(listener, code_snapshot(Path.cwd())).serve()
    become_run(request, args.engine_module)


if __name__ == "__main__":
    main()
