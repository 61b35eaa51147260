"""Pytest plugin: the production shape (`headpix stack up`) once per test session, stopped at the end.

Later fault tests reuse ``stack``: it can kill a Ray node or a Prefect worker as a crash would,
restart the Prefect server or PostgreSQL, steer the mail recorder, and run the CLI as a client.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from headpix.app.stack import prefect_stack, procs, ray_nodes, services_local, supervisor
from headpix.app.stack.env import base_env, client_env
from headpix.app.stack.layout import StackLayout, StackState
from tests.small_disk import fill, mount_tmpfs, unmount

# Tiny shoots; training long enough (30 steps) that a fault can land in the middle of it.
STACK_TUNING = {
    "HEADPIX_TRAIN_STEPS": "30",
    "HEADPIX_INFERENCE_STEPS": "2",
    "HEADPIX_IMAGES_PER_STYLE": "1",
    "HEADPIX_STYLES": '["corporate", "studio"]',
    "HEADPIX_MIN_SIDE_PX": "64",
    "HEADPIX_HEARTBEAT_S": "2",
    "HEADPIX_WATCHDOG_SILENCE_S": "45",
    "HEADPIX_WATCHDOG_GRACE_S": "15",
    "HEADPIX_WATCHDOG_MAX_ATTEMPTS": "3",
}


@dataclass
class Stack:
    layout: StackLayout
    state: StackState
    _s3_rules: list[dict[str, Any]] = field(default_factory=list)
    _rules_lock: threading.Lock = field(default_factory=threading.Lock)
    _s3_seed: int = 0
    small_disk: bool = False  # the state folder is a tmpfs of its own (the disk fault fills it)
    # `cli_json_early` commands that failed after printing their report (checked at teardown)
    late_cli_failures: list[str] = field(default_factory=list)

    @property
    def ballast(self) -> Path:
        return self.layout.root / "ballast"

    def fill_state_disk(self) -> int:
        """Fill the state folder's disk to the last byte; the bytes that stayed free (0)."""
        fill(self.layout.root)
        return shutil.disk_usage(self.layout.root).free

    def free_state_disk(self) -> None:
        self.ballast.unlink(missing_ok=True)

    @property
    def env(self) -> dict[str, str]:
        env = base_env()
        env.update(STACK_TUNING)
        env.update(client_env(self.layout, self.state))
        env["PREFECT_HOME"] = str(self.layout.root / "prefect-client")
        return env

    def cli(self, *args: str, timeout_s: float = 300) -> subprocess.CompletedProcess[str]:
        """Run `headpix ...` as a client of the stack, as an operator would after `stack env`."""
        return subprocess.run(
            [sys.executable, "-m", "headpix.app.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )

    def cli_json_early(self, *args: str, timeout_s: float = 300) -> dict[str, Any]:
        """`headpix ... --json`, returning its report as soon as it is printed, not when the
        process has exited: `shoot start` prints once the run exists, and a fault test arms its
        faults by the shoot's id before a forked run can reach them (the CLI's exit, Prefect
        flushing its events to a busy server, can take seconds). The process is reaped in the
        background, and a failure after the report fails the caller's shoot, not this call."""
        process = subprocess.Popen(
            [sys.executable, "-m", "headpix.app.cli", *args, "--json"],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        timer = threading.Timer(timeout_s, process.kill)
        timer.start()
        lines = []
        try:
            for line in process.stdout:
                lines.append(line)
                if line.startswith("{"):
                    report = dict(json.loads(line))
                    break
            else:
                _, err = process.communicate()
                raise AssertionError(f"headpix {' '.join(args)}: {''.join(lines)}\n{err[-3000:]}")
        finally:
            timer.cancel()

        def reap() -> None:
            _, err = process.communicate()
            if process.returncode != 0:
                failed = f"headpix {' '.join(args)}: exit {process.returncode}"
                self.late_cli_failures.append(f"{failed}\n{err[-2000:]}")

        threading.Thread(target=reap, daemon=True).start()
        return report

    def cli_json(self, *args: str, timeout_s: float = 300) -> dict[str, Any]:
        done = self.cli(*args, "--json", timeout_s=timeout_s)
        assert done.returncode == 0, f"headpix {' '.join(args)}: {done.stdout}\n{done.stderr[-3000:]}"
        return dict(json.loads(done.stdout.strip().splitlines()[-1]))

    def kill_ray_node(self, name: str) -> None:
        """SIGKILL a worker node's processes (raylet, its workers, its actors), as a crash would."""
        procs.kill_tree(self.state.pids[name], sig=signal.SIGKILL)

    def restart_ray_node(self, name: str) -> None:
        """Start the node again and wait until the cluster counts both GPUs: on a loaded machine a
        raylet can time out registering, and its start is retried as at `stack up`."""
        env = base_env()
        ray_nodes.gpu_node_up(self.layout, self.state, env, name)
        ray_nodes.wait_for_gpus(self.layout, self.state, env)
        self.layout.save(self.state)

    def node_pid_running(self, node_id: str) -> str | None:
        """The stack name of the GPU node with this Ray node id (from its raylet's arguments)."""
        for name in ray_nodes.GPU_NODES:
            for pid in procs.descendants(self.state.pids[name]):
                try:
                    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                except OSError:
                    continue
                if node_id.encode() in cmdline:
                    return name
        return None

    def studio_niceness(self) -> dict[str, list[tuple[int, int]]]:
        """Per GPU node: (the node's own niceness, a studio actor's niceness) for each actor."""
        found: dict[str, list[tuple[int, int]]] = {}
        for name in ray_nodes.GPU_NODES:
            node = os.getpriority(os.PRIO_PROCESS, self.state.pids[name])
            for pid in procs.descendants(self.state.pids[name]):
                try:
                    if Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"ray::StudioWorker"):
                        found.setdefault(name, []).append((node, os.getpriority(os.PRIO_PROCESS, pid)))
                except OSError:
                    continue
        return found

    def worker_running(self, flow_run_id: str) -> str | None:
        """The Prefect worker whose child process runs this flow run."""
        for name in prefect_stack.WORKERS:
            for pid in procs.descendants(self.state.pids.get(name, 0)):
                try:
                    environ = Path(f"/proc/{pid}/environ").read_bytes()
                except OSError:
                    continue
                if flow_run_id.encode() in environ:
                    return name
        return None

    def kill_worker(self, name: str) -> list[int]:
        """SIGKILL a Prefect worker and its flow-run processes (a dying machine takes both)."""
        return procs.kill_tree(self.state.pids[name], sig=signal.SIGKILL)

    def restart_worker(self, name: str) -> None:
        prefect_stack.worker_up(self.layout, self.state, name)
        self.layout.save(self.state)

    def restart_prefect_server(self) -> None:
        prefect_stack.server_restart(self.layout, self.state)
        self.layout.save(self.state)

    def restart_postgres(self) -> None:
        services_local.postgres_restart(self.state)

    def mail(self) -> list[dict[str, Any]]:
        if not self.layout.mail_file.exists():
            return []
        lines = self.layout.mail_file.read_text(encoding="utf-8").splitlines()
        return [json.loads(line)["message"] for line in lines if line.strip()]

    def fail_mail(self, *, count: int, mode: str = "500", **options: Any) -> None:
        """The next ``count`` sends fail with ``mode`` (500, 429, hang); options: ``to`` (one
        recipient only), ``retry_after`` (seconds), ``hang_s``, ``accept`` (hang after recording)."""
        _post(
            f"http://127.0.0.1:{self.state.ports['mail']}/control/fail",
            {"count": count, "mode": mode, **options},
        )

    def mail_fault_rate(
        self, rate: float, *, seed: int, modes: tuple[str, ...] = ("500", "429"), prefix: str = ""
    ) -> None:
        """Refuse a seeded share of the sends to addresses starting with ``prefix`` (load tests);
        rate 0 turns it off."""
        url = f"http://127.0.0.1:{self.state.ports['mail']}/control/rate"
        _post(url, {"rate": rate, "seed": seed, "modes": list(modes), "prefix": prefix})

    def mail_stats(self) -> dict[str, Any]:
        url = f"http://127.0.0.1:{self.state.ports['mail']}/control/stats"
        with urllib.request.urlopen(url, timeout=5) as response:
            return dict(json.loads(response.read()))

    def s3_faults(self, rules: list[dict[str, Any]], *, seed: int = 0) -> dict[str, Any]:
        """Replace the S3 proxy's fault rules (``headpix.app.stack.s3faults``) and its seed;
        [] passes all."""
        with self._rules_lock:
            self._s3_rules[:] = rules
            self._s3_seed = seed
            return self._send_rules()

    def add_s3_fault(self, rule: dict[str, Any]) -> dict[str, Any]:
        """Add one rule to those in force (concurrent scenarios each add their own)."""
        with self._rules_lock:
            self._s3_rules.append(rule)
            return self._send_rules()

    def _send_rules(self) -> dict[str, Any]:
        url = f"http://127.0.0.1:{self.state.ports['s3faults']}/control/faults"
        return _post(url, {"seed": self._s3_seed, "rules": list(self._s3_rules)})

    def s3_stats(self) -> dict[str, Any]:
        url = f"http://127.0.0.1:{self.state.ports['s3faults']}/control/stats"
        with urllib.request.urlopen(url, timeout=5) as response:
            return dict(json.loads(response.read()))

    def outbox(self, shoot_id: str) -> list[dict[str, Any]]:
        """The shoot's outbox rows (kind, status, attempts, last error): no content, it is sealed."""
        import sqlalchemy as sa

        engine = sa.create_engine(self.env["HEADPIX_DATABASE_URL"], hide_parameters=True)
        try:
            with engine.connect() as conn:
                rows = conn.execute(
                    sa.text(
                        "select id, kind, status, attempts, last_error from outbox "
                        "where ref_id = :id order by created_at"
                    ),
                    {"id": shoot_id},
                )
                return [dict(r._mapping) for r in rows]
        finally:
            engine.dispose()

    def run_watchdog(self) -> None:
        """Create a watchdog run now instead of waiting for its schedule."""
        done = subprocess.run(
            [sys.executable, "-m", "prefect", "deployment", "run", "watchdog/watchdog"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-2000:]


def _stack_available() -> str | None:
    if os.geteuid() != 0:
        return "the stack's private PostgreSQL cluster is created with pg_createcluster, as root"
    for tool in ("pg_createcluster", "pg_ctlcluster", "pg_dropcluster"):
        if shutil.which(tool) is None:
            return f"{tool} not found (Debian's postgresql-common)"
    return None


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """`headpix stack up` once per session with tiny settings; `down` at the end, by pid."""
    from tests.conftest import require

    missing = _stack_available()
    require(missing is None, missing or "")
    home = Path(tempfile.mkdtemp(prefix="hpx-stack-home-"))
    layout = StackLayout(home)
    # The stack's state folder (logs, pids, secrets, Prefect homes) on a small disk of its own,
    # so that the disk fault can fill it as a full disk on a worker machine would, without
    # touching this machine's disks. The mail recorder stands for SendGrid and stays off it.
    layout.root.mkdir(parents=True)
    mounted = mount_tmpfs(layout.root, STATE_DISK_MB) is None
    saved = {k: os.environ.get(k) for k in STACK_TUNING}
    os.environ.update(STACK_TUNING)  # the workers inherit the tuning from the supervisor
    started = time.monotonic()
    try:
        try:
            state = supervisor.up(layout, s3_faults=True)  # faults off until a test sets rules
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        print(f"\nstack up in {time.monotonic() - started:.0f} s (logs: {layout.logs})", file=sys.stderr)
        running = Stack(layout, state, small_disk=mounted)
        yield running
        assert not running.late_cli_failures, "\n".join(running.late_cli_failures)
    finally:
        supervisor.down(layout)
        keep = os.environ.get("HEADPIX_KEEP_STACK_LOGS")
        if keep:
            shutil.copytree(layout.root, Path(keep), dirs_exist_ok=True)
        if mounted:
            unmount(layout.root)
        shutil.rmtree(home, ignore_errors=True)


STATE_DISK_MB = 512


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return dict(json.loads(response.read() or b"{}"))
