"""Helpers shared by the command modules."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from headpix.app.wiring import build_services
from headpix.errors import UsageError
from headpix.intake import IntakeRules, PhotoInput, collect_files
from headpix.services import Services, current_services


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def emit(args: argparse.Namespace, data: dict[str, Any], text: str) -> None:
    print(json.dumps(data, default=str) if args.json else text)


def services() -> Services:
    """The process's services, built once with the launcher the settings choose."""
    return current_services() or build_services(check=True)


def photos_from_folder(folder: str, svc: Services) -> list[PhotoInput]:
    path = Path(folder)
    if not path.is_dir():
        raise UsageError(f"photos folder {folder} does not exist or is not a folder", code="photos_not_found")
    inputs = collect_files([str(path)], IntakeRules.from_settings(svc.settings))
    if not inputs:
        raise UsageError(f"photos folder {folder} holds no files", code="photos_not_found")
    return inputs
