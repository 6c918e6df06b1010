"""Read the uploaded sheet in a child process (see calamine_child.py).

The child runs under a memory and CPU limit; a file that makes calamine abort, balloon
or spin kills only the child. `start_reading` returns at once, so the caller can scan
the sheet XML (imports.guards.scan_sheet) on the other core meanwhile.
"""

import marshal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import IO, Any

from django.conf import settings

from imports.guards import UploadRejected, max_rows

CHILD = Path(__file__).with_name("calamine_child.py")


def reader_memory_bytes() -> int:
    return int(getattr(settings, "KYC_UPLOAD_READER_MEMORY_BYTES", 2 * 1024 * 1024 * 1024))


def reader_seconds() -> int:
    return int(getattr(settings, "KYC_UPLOAD_READER_SECONDS", 300))


class Reading:
    """A running child; `rows()` waits for it and returns the rows."""

    def __init__(self, path: Path | str) -> None:
        # Files, not pipes: the child must not block while this process scans the sheet.
        self.out: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed in rows/cancel)
        self.err: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        command = [
            sys.executable,
            "-I",
            str(CHILD),
            str(path),
            str(max_rows()),
            str(reader_memory_bytes()),
            str(reader_seconds()),
        ]
        self.process = subprocess.Popen(command, stdout=self.out, stderr=self.err)

    def cancel(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self._close()

    def _close(self) -> None:
        self.out.close()
        self.err.close()

    def rows(self) -> list[list[Any]]:
        try:
            try:
                code = self.process.wait(timeout=reader_seconds() + 10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise UploadRejected("Reading the sheet took too long") from None
            self.err.seek(0)
            stderr = self.err.read(100_000)
            if code == 2:
                raise UploadRejected(stderr.decode("utf-8", "replace").strip())
            if code != 0:
                reason = (
                    "it ran out of memory" if b"MemoryError" in stderr else "the reader crashed"
                )
                raise UploadRejected(f"The sheet cannot be read: {reason} (exit status {code})")
            self.out.seek(0)
            # Written by our own child with marshal.dump of plain lists and scalars.
            rows: list[list[Any]] = marshal.load(self.out)  # noqa: S302
            return rows
        finally:
            self._close()


def start_reading(path: Path | str) -> Reading:
    return Reading(path)


def read_rows(path: Path | str) -> list[list[Any]]:
    """All rows of the first sheet, row 0 = Excel row 1; raises UploadRejected when the
    child fails (bad file, memory or time limit, crash)."""
    return start_reading(path).rows()
