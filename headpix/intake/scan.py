"""Virus scanning port: no scanner (default) or ClamAV's clamscan, chosen by settings."""

from __future__ import annotations

import os
import subprocess
from typing import TYPE_CHECKING, Protocol

from headpix.errors import HeadpixError

if TYPE_CHECKING:
    from headpix.settings import Settings


class ScannerError(HeadpixError):
    """The virus scanner could not give a verdict (missing, broken database, timeout)."""

    code = "scanner_unavailable"


class VirusScanner(Protocol):
    """Says whether a file's bytes carry malware."""

    def is_infected(self, data: bytes) -> bool:
        """True when the scanner flags the bytes."""
        ...


class NoScanner:
    """Scanning switched off (HEADPIX_VIRUS_SCANNER=none): every file is clean."""

    def is_infected(self, data: bytes) -> bool:
        """Always False."""
        return False


class ClamAVScanner:
    """Runs clamscan on the bytes through stdin; never runs or needs freshclam."""

    def __init__(
        self,
        *,
        clamscan_path: str,
        database: str = "",
        library_path: str = "",
        max_file_bytes: int = 30 * 1024 * 1024,
        timeout_s: float = 60.0,
    ) -> None:
        self.clamscan_path = clamscan_path
        self.database = database
        self.library_path = library_path
        self.max_file_bytes = max_file_bytes
        self.timeout_s = timeout_s

    def command(self) -> list[str]:
        """The clamscan command line; limits raised so no accepted file goes unscanned."""
        limit = str(self.max_file_bytes + 1024 * 1024)
        command = [self.clamscan_path, "--no-summary", "--stdout", "--infected"]
        command += [f"--max-filesize={limit}", f"--max-scansize={limit}", "--alert-exceeds-max=yes"]
        if self.database:
            command.append(f"--database={self.database}")
        return [*command, "-"]

    def is_infected(self, data: bytes) -> bool:
        """Scan the bytes; raise ScannerError when clamscan gives no verdict."""
        env = dict(os.environ)
        if self.library_path:
            env["LD_LIBRARY_PATH"] = self.library_path
        try:
            result = subprocess.run(
                self.command(),
                input=data,
                capture_output=True,
                env=env,
                timeout=self.timeout_s,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise ScannerError(
                f"clamscan could not run ({type(error).__name__}); check HEADPIX_CLAMSCAN_PATH "
                "or run scripts/install_clamav.sh"
            ) from None
        if result.returncode == 0:
            return False
        if result.returncode == 1:
            return True
        detail = result.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        raise ScannerError(
            f"clamscan failed with status {result.returncode}: {detail[0][:200]}; "
            "check HEADPIX_CLAMAV_DATABASE and HEADPIX_CLAMAV_LIBRARY_PATH"
        )


def scanner_from_settings(settings: Settings) -> VirusScanner:
    """The scanner the settings choose (HEADPIX_VIRUS_SCANNER)."""
    if settings.virus_scanner == "clamav":
        return ClamAVScanner(
            clamscan_path=settings.clamscan_path,
            database=settings.clamav_database,
            library_path=settings.clamav_library_path,
            max_file_bytes=int(settings.max_file_mb * 1024 * 1024),
            timeout_s=settings.clamscan_timeout_s,
        )
    return NoScanner()
