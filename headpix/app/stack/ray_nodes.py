"""A three-node Ray cluster on loopback: a head without GPUs and two nodes of one logical GPU each.

Every node runs `ray start --block` in a session of its own, so its pid stands for the node:
SIGTERM stops it cleanly, SIGKILL of its tree is a node crash. `ray stop` is never used (it
ends every Ray process on the machine, other people's included). The token lives in the
stack's secrets folder (RAY_AUTH_TOKEN_PATH), not in ~/.ray.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from headpix.app.stack import procs
from headpix.app.stack.layout import RAY_TEMP_ROOT, StackLayout, StackState
from ray_cluster.runtime import STUDIO_NODE_ENV

GPU_NODES = ("ray-gpu-1", "ray-gpu-2")


def _ray() -> list[str]:
    return [sys.executable, "-m", "headpix.app.stack.ray_loopback"]


def _ports() -> list[str]:
    return [
        "--node-manager-port",
        str(procs.free_port()),
        "--object-manager-port",
        str(procs.free_port()),
        "--dashboard-agent-listen-port",
        str(procs.free_port()),
        "--dashboard-agent-grpc-port",
        str(procs.free_port()),
        "--runtime-env-agent-port",
        str(procs.free_port()),
        "--metrics-export-port",
        str(procs.free_port()),
    ]


def ray_env(layout: StackLayout, env: dict[str, str]) -> dict[str, str]:
    layout.ray_token()
    ray = dict(env)
    ray.update(
        {
            "RAY_AUTH_MODE": "token",
            "RAY_AUTH_TOKEN_PATH": str(layout.ray_token_file),
            "RAY_USAGE_STATS_ENABLED": "0",
            # A loaded two-core machine can take well over Ray's default to register a raylet.
            "RAY_raylet_start_wait_time_s": "90",
        }
    )
    return ray


def head_up(layout: StackLayout, state: StackState, env: dict[str, str]) -> None:
    if not state.ray_temp_dir:
        state.ray_temp_dir = tempfile.mkdtemp(prefix="hpx-stack-", dir=RAY_TEMP_ROOT)
    port = state.ports["ray"]
    command = [
        *_ray(),
        "start",
        "--head",
        "--block",
        "--port",
        str(port),
        "--node-ip-address",
        "127.0.0.1",
        "--num-gpus",
        "0",
        "--num-cpus",
        "1",
        "--include-dashboard",
        "false",
        "--ray-client-server-port",
        str(procs.free_port()),
        "--temp-dir",
        state.ray_temp_dir,
        "--disable-usage-stats",
        "--object-store-memory",
        str(200 << 20),
        *_ports(),
    ]
    state.pids["ray-head"] = procs.spawn(command, log=layout.log("ray-head"), env=ray_env(layout, env))
    procs.wait_until(lambda: procs.port_open(port), timeout_s=60, what="Ray head", log=layout.log("ray-head"))


def gpu_node_up(layout: StackLayout, state: StackState, env: dict[str, str], name: str) -> None:
    """Join one worker node declaring one logical GPU (it runs on the CPU)."""
    command = [
        *_ray(),
        "start",
        "--block",
        "--address",
        f"127.0.0.1:{state.ports['ray']}",
        "--node-ip-address",
        "127.0.0.1",
        "--num-cpus",
        "1",
        "--num-gpus",
        "1",
        "--disable-usage-stats",
        "--object-store-memory",
        str(200 << 20),
        *_ports(),
    ]
    before = _sockets(state)
    node_env = {**ray_env(layout, env), **STUDIO_NODE_ENV}  # actors at full priority
    state.pids[name] = procs.spawn(command, log=layout.log(name), env=node_env)
    # Ray names a node's sockets by the next free index in the shared session folder: nodes
    # started at the same moment take the same name and one dies. Start them one at a time.
    procs.wait_until(
        lambda: _sockets(state) > before or not procs.alive(state.pids[name]),
        timeout_s=120,
        what=f"Ray node {name} sockets",
        log=layout.log(name),
    )


def _sockets(state: StackState) -> int:
    return len(list(Path(state.ray_temp_dir).glob("session_latest/sockets/raylet*")))


def _probe(state: StackState, gpus: int, wait_s: int) -> str:
    return "\n".join(
        [
            "import time, ray",
            "from ray_cluster.runtime import pin_loopback",
            "pin_loopback()",
            f"ray.init(address='127.0.0.1:{state.ports['ray']}', log_to_driver=False)",
            f"for _ in range({wait_s * 2}):",
            f"    if ray.cluster_resources().get('GPU', 0) >= {gpus}: break",
            "    time.sleep(0.5)",
            "else: raise SystemExit('GPU nodes did not join')",
            "print([n['NodeID'] for n in ray.nodes() if n['Alive'] and not n['Resources'].get('GPU')][0])",
        ]
    )


def wait_for_gpus(
    layout: StackLayout, state: StackState, env: dict[str, str], gpus: int = 2, attempts: int = 3
) -> None:
    """Block until the cluster reports ``gpus`` GPUs; a node that died starting (a port taken
    by another process between our pick and its bind) is started again with fresh ports."""
    last: procs.StackError | None = None
    for _ in range(attempts):
        for name in GPU_NODES:
            if not procs.alive(state.pids.get(name)):
                gpu_node_up(layout, state, env, name)
        try:
            out = procs.run(
                [sys.executable, "-c", _probe(state, gpus, 150)],
                env=ray_env(layout, env),
                what="Ray GPU nodes",
            )
        except procs.StackError as error:
            last = error
            continue
        state.head_node_id = out.strip().splitlines()[-1]
        return
    raise procs.StackError(f"{last}; see {layout.log('ray-gpu-1')} and {layout.log('ray-gpu-2')}")


def down(state: StackState) -> None:
    for name in (*GPU_NODES, "ray-head"):
        procs.stop(state.pids.get(name), grace_s=15)
    if state.ray_temp_dir:
        import shutil

        shutil.rmtree(state.ray_temp_dir, ignore_errors=True)
