"""Read the uploaded sheet in a child process (see calamine_child.py), batch by batch.

The child runs under a memory and CPU limit; a file that makes calamine abort, balloon
or spin kills only the child. `start_reading` returns at once, so the caller can scan
the sheet XML (imports.guards.scan_sheet) on the other core meanwhile. The rows come
through a pipe in batches (`Reading.batches`): this process holds one batch at a time,
whatever the size of the sheet, and the child reads ahead while the batch is imported.
"""

import marshal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from django.conf import settings

from imports.guards import UploadRejected, max_rows

CHILD = Path(__file__).with_name("calamine_child.py")
SCAN_CHILD = Path(__file__).with_name("scan_child.py")
DEFAULT_BATCH_ROWS = 5000


def reader_memory_bytes() -> int:
    return int(getattr(settings, "KYC_UPLOAD_READER_MEMORY_BYTES", 2 * 1024 * 1024 * 1024))


def reader_seconds() -> int:
    return int(getattr(settings, "KYC_UPLOAD_READER_SECONDS", 300))


def batch_rows() -> int:
    """Rows per batch of the import (`KYC_UPLOAD_BATCH_ROWS`): each batch is read,
    validated, written and committed on its own (imports.services)."""
    return max(1, int(getattr(settings, "KYC_UPLOAD_BATCH_ROWS", DEFAULT_BATCH_ROWS)))


class Reading:
    """A running child: `header()`, then `index()`, then `batches()`, in this order."""

    def __init__(self, path: Path | str, rows_per_batch: int | None = None) -> None:
        self.err: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed in _close)
        command = [
            sys.executable,
            "-I",
            str(CHILD),
            str(path),
            str(max_rows()),
            str(reader_memory_bytes()),
            str(reader_seconds()),
            str(rows_per_batch or batch_rows()),
        ]
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=self.err, bufsize=1024 * 1024
        )
        assert self.process.stdout is not None
        self.out: IO[bytes] = self.process.stdout
        self.timed_out = False
        # The child has this long to read the sheet and send its index; once it streams
        # batches it waits on this process, which its CPU limit does not count.
        self.watchdog = threading.Timer(reader_seconds() + 10, self._time_out)
        self.watchdog.daemon = True
        self.watchdog.start()
        self.closed = False

    def _time_out(self) -> None:
        self.timed_out = True
        if self.process.poll() is None:
            self.process.kill()

    def cancel(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self._close()

    def _close(self) -> None:
        if not self.closed:
            self.closed = True
            self.watchdog.cancel()
            self.out.close()
            self.err.close()

    def _failure(self) -> UploadRejected:
        """Why the child stopped sending (it has exited, or is killed now)."""
        if self.process.poll() is None:
            self.process.kill()
        code = self.process.wait()
        if self.timed_out:
            return UploadRejected("Reading the sheet took too long")
        self.err.seek(0)
        stderr = self.err.read(100_000)
        if code == 2:
            return UploadRejected(stderr.decode("utf-8", "replace").strip())
        reason = "it ran out of memory" if b"MemoryError" in stderr else "the reader crashed"
        return UploadRejected(f"The sheet cannot be read: {reason} (exit status {code})")

    def _frame(self) -> Any:
        """The next frame: its length (8 bytes), then its marshal data (calamine_child)."""
        try:
            head = self.out.read(8)
            if len(head) == 8:
                size = int.from_bytes(head, "little")
                data = self.out.read(size)
                if len(data) == size:
                    # Written by our own child: marshal.dumps of plain lists and scalars.
                    return marshal.loads(data)  # noqa: S302
        except (EOFError, ValueError, TypeError, OSError):
            pass
        failure = self._failure()
        self._close()
        raise failure

    def header(self) -> list[Any]:
        header: list[Any] = self._frame()
        return header

    def index(self) -> tuple[list[Any], list[Any], bytes]:
        """The referenceId cells, the accountTypeId cells and the blank flags of the
        data rows."""
        index: tuple[list[Any], list[Any], bytes] = self._frame()
        self.watchdog.cancel()
        return index

    def batches(self) -> Iterator[list[list[Any]]]:
        """The data rows, a batch at a time (row 0 of the first batch = Excel row 2)."""
        try:
            while (batch := self._frame()) is not None:
                yield batch
            code = self.process.wait()
            if code != 0:
                raise self._failure()
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self._close()


class Scanning:
    """`imports.guards.scan_sheet` in a child process; `verdict()` waits for it and
    raises its UploadRejected."""

    def __init__(self, path: Path | str) -> None:
        self.err: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed in verdict)
        command = [sys.executable, "-I", str(SCAN_CHILD), str(path), str(max_rows())]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=self.err)
        self.passed = False

    def verdict(self) -> None:
        if self.passed:
            return
        try:
            code = self.process.wait(timeout=reader_seconds() + 10)
        except subprocess.TimeoutExpired:
            self.cancel()
            raise UploadRejected("Reading the sheet took too long") from None
        self.err.seek(0)
        stderr = self.err.read(100_000).decode("utf-8", "replace").strip()
        self.err.close()
        if code == 2:
            raise UploadRejected(stderr)
        if code != 0:
            raise UploadRejected(f"The sheet cannot be read: the scan failed (exit status {code})")
        self.passed = True

    def cancel(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        if not self.err.closed:
            self.err.close()


def start_scanning(path: Path | str) -> Scanning:
    return Scanning(path)


def start_reading(path: Path | str, rows_per_batch: int | None = None) -> Reading:
    return Reading(path, rows_per_batch)


def read_rows(path: Path | str) -> list[list[Any]]:
    """All rows of the first sheet, row 0 = Excel row 1; raises UploadRejected when the
    child fails (bad file, memory or time limit, crash)."""
    reading = start_reading(path)
    rows = [reading.header()]
    reading.index()
    for batch in reading.batches():
        rows.extend(batch)
    return rows
