"""Processes of the stack: started in their own session, logged to the state dir, stopped by pid."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path


class StackError(RuntimeError):
    """The local stack could not start or stop; the message names the component and its log."""


def free_port() -> int:
    """A port free on loopback right now (the stack records it; later starts reuse it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def spawn(command: Sequence[str], *, log: Path, env: Mapping[str, str], cwd: Path | None = None) -> int:
    """Start a long-running process in a session of its own (its pid is its group id)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        process = subprocess.Popen(
            list(command),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(env),
            cwd=str(cwd) if cwd else None,
            start_new_session=True,
        )
    return process.pid


def alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):  # a zombie child of ours counts as gone
        if Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z"):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            return False
    return True


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children first found through /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            parent = int((entry / "stat").read_text().split(") ", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def kill_tree(pid: int, *, sig: int = signal.SIGKILL) -> list[int]:
    """Signal a process, its group and every descendant (a crash, as the fault tests need it)."""
    tree = [pid, *descendants(pid)]
    _signal_group(pid, sig)
    for child in tree[1:]:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(child, sig)
    return tree


def stop(pid: int | None, *, grace_s: float = 10.0) -> None:
    """SIGTERM the process tree, then SIGKILL what is left after ``grace_s``."""
    if not pid or not alive(pid):
        return
    tree = [pid, *descendants(pid)]
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(alive(p) for p in tree):
        time.sleep(0.2)
    for left in tree:
        if alive(left):
            _signal_group(left, signal.SIGKILL)


class NotReady(StackError):
    """A component did not become ready; ``exited`` when its process ended first."""

    def __init__(self, message: str, *, exited: bool, log_tail: str) -> None:
        super().__init__(message)
        self.exited = exited
        self.log_tail = log_tail


def log_tail(log: Path | None, lines: int = 25) -> str:
    """The end of a component's log, for an error message (the state dir may be gone by the
    time someone reads it, as after a test session)."""
    if log is None or not log.is_file():
        return ""
    with contextlib.suppress(OSError):
        return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    return ""


def wait_until(
    check: Callable[[], bool],
    *,
    timeout_s: float,
    what: str,
    log: Path | None = None,
    pid: int | None = None,
) -> None:
    """Poll ``check`` until true. Fails when ``timeout_s`` passes or the process ``pid`` ends
    first, naming the component, its log and the log's last lines."""
    deadline = time.monotonic() + timeout_s
    exited = False
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if check():
                return
        if pid is not None and not alive(pid):
            exited = True
            break
        time.sleep(0.3)
    why = "exited before it became ready" if exited else f"did not become ready within {timeout_s:.0f} s"
    tail = log_tail(log)
    where = f"; see {log}" if log else ""
    shown = f"; its log ends:\n{tail}" if tail else ""
    raise NotReady(f"{what} {why}{where}{shown}", exited=exited, log_tail=tail)


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def socket_open(path: Path) -> bool:
    """Whether a Unix socket at ``path`` accepts connections."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True


def http_ok(url: str, *, timeout_s: float = 2.0) -> bool:
    with contextlib.suppress(Exception), urllib.request.urlopen(url, timeout=timeout_s) as response:
        return 200 <= int(response.status) < 300
    return False


def run(command: Sequence[str], *, env: Mapping[str, str] | None = None, what: str) -> str:
    """Run a short command; on failure say which step failed and its output."""
    done = subprocess.run(
        list(command), env=dict(env) if env else None, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise StackError(f"{what} failed ({done.returncode}): {(done.stderr or done.stdout).strip()[-800:]}")
    return done.stdout
