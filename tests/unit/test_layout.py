"""The layout rules that keep the code readable and layered, checked rather than hoped for."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIMITED = ("headpix", "flows", "tasks", "ray_cluster", "schemas", "web")


def test_no_module_over_300_lines():
    long = {
        str(path.relative_to(ROOT)): n
        for folder in LIMITED
        for path in (ROOT / folder).rglob("*.py")
        if "migrations" not in path.parts and (n := len(path.read_text().splitlines())) > 300
    }
    assert long == {}, f"split these modules (300 lines at most): {long}"


def test_the_core_contract_names_every_core_module():
    """A new module under headpix/ must join the import contract that keeps the core below flows."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    core = next(c for c in config if c["name"].startswith("The core never imports"))
    listed = set(core["source_modules"])
    modules = {
        f"headpix.{path.stem if path.is_file() else path.name}"
        for path in (ROOT / "headpix").iterdir()
        if (path.suffix == ".py" and path.stem != "__init__")
        or (path.is_dir() and (path / "__init__.py").exists())
    } - {"headpix.app"}
    assert modules <= listed, f"add to the contract in pyproject.toml: {sorted(modules - listed)}"
