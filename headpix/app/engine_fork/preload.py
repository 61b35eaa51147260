"""What the engine server imports once, so that no run process has to: Prefect's engine, the
module of every deployment's flow in ``prefect.yaml``, and the face models (about 4 s a run
on these cores when paid per process). Nothing here opens a connection or starts a thread."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import yaml

# What a run imports later, when it joins the cluster and opens the stores (about 0.4 s).
LIBRARIES = ("ray", "s3fs", "psycopg")


def flow_modules(prefect_file: Path) -> list[str]:
    """``flows/photoshoot.py:photoshoot`` -> ``flows.photoshoot``, once per module."""
    spec = yaml.safe_load(prefect_file.read_text(encoding="utf-8")) or {}
    modules: list[str] = []
    for deployment in spec.get("deployments") or []:
        path = str(deployment.get("entrypoint", "")).split(":", 1)[0]
        if path.endswith(".py"):
            module = path[: -len(".py")].replace("/", ".")
            if module not in modules:
                modules.append(module)
    return modules


def _mtime(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return -1


def code_snapshot(root: Path) -> dict[str, int]:
    """Modification times of every imported module's source under ``root`` (our code, not the
    libraries): a run forked after any of them changed would run yesterday's code."""
    under = str(root.resolve()) + os.sep
    files = {getattr(m, "__file__", None) for m in list(sys.modules.values())}
    return {f: _mtime(f) for f in files if isinstance(f, str) and f.startswith(under)}


def changed_since(snapshot: dict[str, int]) -> list[str]:
    return sorted(f for f, mtime in snapshot.items() if _mtime(f) != mtime)


def preload(prefect_file: Path) -> list[str]:
    """Import the engine, the flows and the face models; returns the flow modules imported."""
    importlib.import_module("prefect.engine")
    importlib.import_module("prefect.flow_engine")
    modules = flow_modules(prefect_file)
    for module in (*modules, *LIBRARIES):
        importlib.import_module(module)
    from headpix.intake import facemodel

    facemodel.warm_up()
    return modules
