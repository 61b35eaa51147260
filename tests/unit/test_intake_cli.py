"""`headpix photos check`: one JSON contract, exit codes 0 / 1 / 2."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from headpix.app.commands import photos
from headpix.errors import UsageError
from headpix.samples import sample_photos


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="headpix")
    photos.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


def test_folder_of_samples_is_accepted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name, data in sample_photos(4):
        (tmp_path / name).write_bytes(data)
    assert run(["photos", "check", str(tmp_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["reasons"] == [] and len(out["photos"]) == 4
    assert out["photos"][0]["file"] == str(tmp_path / "sample-01.jpg")


def test_rejection_exits_one_with_a_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.jpg").write_text("not a photo")
    assert run(["photos", "check", str(tmp_path / "notes.jpg")]) == 1
    out = capsys.readouterr().out
    assert "unsupported_format" in out and "too_few_photos" in out


def test_missing_path_is_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        run(["photos", "check", str(tmp_path / "missing")])
    with pytest.raises(SystemExit) as exit_info:
        run(["photos", "check"])
    assert exit_info.value.code == 2
