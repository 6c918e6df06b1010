"""Checks that run before any spreadsheet library sees an uploaded file.

An .xlsx is a zip of XML parts. Everything here reads the zip directory and streams
parts through Python's zipfile, which never returns more bytes than the directory
declares, so a lying or hostile file costs at most the caps below. Two stages:

- `inspect_upload` (at upload, cheap: directory + the first kilobytes of the sheet):
  not a zip, not a workbook, too many entries, too large uncompressed, a compression
  ratio only a zip bomb has, a `<dimension>` beyond the caps. Refused with 400/413.
- `scan_sheet` (in the worker, one streaming pass over the sheet XML): a cell or row
  reference beyond the caps (python-calamine aborts the process on `XFD1048576`),
  formula cells. Fails the job with a message.
"""

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, NamedTuple
from xml.etree import ElementTree

from django.conf import settings

NOT_XLSX = "The file is not an .xlsx workbook"
MAX_ENTRIES = 1000
MAX_COLUMNS = 200  # the template has 4 columns + one per custom field
MAX_RATIO = 200  # XML parts of real workbooks compress 5-30x; zip bombs 1000x+
RATIO_MIN_SIZE = 1024 * 1024  # tiny parts can have any ratio
MAX_SMALL_PART = 2 * 1024 * 1024  # workbook.xml and its rels are parsed whole
CHUNK = 1024 * 1024


class UploadRejected(Exception):
    """The upload is refused; `status` is the HTTP status (400 or 413)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def max_bytes() -> int:
    return int(settings.KYC_UPLOAD_MAX_BYTES)


def max_rows() -> int:
    return int(settings.KYC_UPLOAD_MAX_ROWS)


def max_uncompressed() -> int:
    return int(getattr(settings, "KYC_UPLOAD_MAX_UNCOMPRESSED_BYTES", 1024 * 1024 * 1024))


def max_shared_strings() -> int:
    return int(getattr(settings, "KYC_UPLOAD_MAX_SHARED_STRINGS_BYTES", 256 * 1024 * 1024))


def check_size(size: int) -> None:
    if size > max_bytes():
        raise UploadRejected(
            f"The file is too large: {size} bytes (at most {max_bytes()})", status=413
        )


def column_index(letters: str) -> int:
    """'A' → 1, 'Z' → 26, 'AA' → 27, 'XFD' → 16384."""
    index = 0
    for char in letters:
        index = index * 26 + (ord(char) - 64)
    return index


_CELL_REF = re.compile(r"^([A-Z]{1,3})([0-9]{1,7})$")


def _check_ref(ref: str, what: str) -> None:
    match = _CELL_REF.match(ref)
    if match is None:
        raise UploadRejected(f"The sheet has an invalid cell reference {ref[:20]!r} in {what}")
    column, row = column_index(match.group(1)), int(match.group(2))
    if row > max_rows() + 1:
        raise UploadRejected(
            f"The sheet reaches row {row} ({ref}); at most {max_rows()} data rows are allowed"
        )
    if column > MAX_COLUMNS:
        raise UploadRejected(
            f"The sheet reaches column {match.group(1)} ({ref}); at most {MAX_COLUMNS} columns "
            "are allowed"
        )


@dataclass(frozen=True)
class WorkbookParts:
    sheet: str  # e.g. "xl/worksheets/sheet1.xml": the first sheet, the one imported
    shared_strings: str | None


def _read_small(archive: zipfile.ZipFile, name: str) -> bytes:
    info = archive.getinfo(name)
    if info.file_size > MAX_SMALL_PART:
        raise UploadRejected(f"The workbook part {name} is too large")
    data = archive.read(name)
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise UploadRejected(f"The workbook part {name} declares a DTD, which is not allowed")
    return data


_NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_NS_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def _first_sheet_part(archive: zipfile.ZipFile) -> str:
    try:
        # _read_small refuses DTDs (no entity expansion) and caps the size.
        workbook = ElementTree.fromstring(_read_small(archive, "xl/workbook.xml"))  # noqa: S314
        rels = ElementTree.fromstring(  # noqa: S314
            _read_small(archive, "xl/_rels/workbook.xml.rels")
        )
    except (KeyError, ElementTree.ParseError):
        raise UploadRejected(NOT_XLSX) from None
    sheet = workbook.find(f"{_NS_MAIN}sheets/{_NS_MAIN}sheet")
    if sheet is None:
        raise UploadRejected("The workbook has no sheet")
    rel_id = sheet.get(f"{_NS_REL}id")
    for rel in rels.iter(f"{_NS_PKG_REL}Relationship"):
        if rel.get("Id") == rel_id:
            target = rel.get("Target") or ""
            part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            if part in archive.namelist():
                return part
    raise UploadRejected(NOT_XLSX)


def inspect_zip(archive: zipfile.ZipFile) -> WorkbookParts:
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:
        raise UploadRejected(
            f"The file has {len(infos)} zip entries (at most {MAX_ENTRIES}); it looks like "
            "a zip bomb"
        )
    names = {info.filename for info in infos}
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise UploadRejected(NOT_XLSX)
    total = 0
    for info in infos:
        total += info.file_size
        if info.file_size >= RATIO_MIN_SIZE:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > MAX_RATIO:
                raise UploadRejected(
                    f"The zip entry {info.filename} expands {ratio:.0f} times (at most "
                    f"{MAX_RATIO}); it looks like a zip bomb"
                )
    shared = "xl/sharedStrings.xml" if "xl/sharedStrings.xml" in names else None
    if shared is not None and archive.getinfo(shared).file_size > max_shared_strings():
        raise UploadRejected(
            f"The shared strings part is too large: {archive.getinfo(shared).file_size} bytes "
            f"uncompressed (at most {max_shared_strings()})"
        )
    if total > max_uncompressed():
        raise UploadRejected(
            f"The file expands to {total} bytes (at most {max_uncompressed()}); it looks like "
            "a zip bomb"
        )
    return WorkbookParts(sheet=_first_sheet_part(archive), shared_strings=shared)


_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="([^"]*)"')


def _check_dimension(archive: zipfile.ZipFile, part: str) -> None:
    with archive.open(part) as stream:
        head = stream.read(64 * 1024)
    match = _DIMENSION.search(head)
    if match is None:
        return
    for ref in match.group(1).decode("ascii", "replace").split(":"):
        _check_ref(ref.replace("$", ""), "its <dimension>")


def open_zip(file: IO[bytes] | Path | str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(file)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise UploadRejected(NOT_XLSX) from None


def inspect_upload(file: IO[bytes] | Path | str, size: int) -> WorkbookParts:
    """The checks made at upload; raises UploadRejected (400/413)."""
    check_size(size)
    try:
        with open_zip(file) as archive:
            parts = inspect_zip(archive)
            _check_dimension(archive, parts.sheet)
            return parts
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError):
        raise UploadRejected(NOT_XLSX) from None


# Only references that could break a cap are looked at closely: columns of three
# letters or from GA on (MAX_COLUMNS is 200 = GR), rows with as many digits as the cap.
_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")


class _Suspicious(NamedTuple):
    """`refs` finds the suspicious references of cells and rows; `values` finds the
    suspicious `r` values alone, whatever holds them (a quick test: over a sheet
    without any, 4x as fast as `refs`)."""

    refs: re.Pattern[bytes]
    values: re.Pattern[bytes]


def _suspicious_refs(limit_row: int) -> _Suspicious:
    value = rb'r="((?:[A-Z]{3,}|[G-Z][A-Z])[0-9]*|[A-Z]*[0-9]{%d,})"' % len(str(limit_row))
    return _Suspicious(re.compile(rb"<(?:\w+:)?(?:c|row)\b[^>]*?\s" + value), re.compile(value))


def scan_sheet(path: Path | str) -> None:
    """Stream the first sheet's XML once; raise UploadRejected on what would hurt the reader
    (far references) or what the import refuses (formulas)."""
    suspicious = _suspicious_refs(max_rows() + 1)
    try:
        with open_zip(path) as archive:
            parts = inspect_zip(archive)
            with archive.open(parts.sheet) as stream:
                tail = b""
                while True:
                    chunk = stream.read(CHUNK)
                    if not chunk:
                        break
                    # Keep the last, possibly cut, tag for the next round.
                    cut = chunk.rfind(b"<")
                    data = tail + chunk[:cut] if cut >= 0 else tail + chunk
                    tail = chunk[cut:] if cut >= 0 else b""
                    _scan_chunk(data, suspicious)
                if tail:
                    _scan_chunk(tail, suspicious)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError):
        raise UploadRejected(NOT_XLSX) from None


_CELL_BEFORE = re.compile(rb'<(?:\w+:)?c\b[^>]*?\sr="([A-Z]+[0-9]+)"[^>]*>$')


def _scan_chunk(data: bytes, suspicious: _Suspicious) -> None:
    formula = _FORMULA.search(data)
    if formula is not None:
        start = data.rfind(b"<c", 0, formula.start())
        cell = _CELL_BEFORE.match(data[start : formula.start()]) if start >= 0 else None
        where = f" (cell {cell.group(1).decode()})" if cell else ""
        raise UploadRejected(
            f"The sheet contains formulas{where}; upload values only (paste as values)"
        )
    if suspicious.values.search(data) is None:
        return
    for match in suspicious.refs.finditer(data):
        ref = match.group(1).decode()
        if ref.isdigit():
            if int(ref) > max_rows() + 1:
                raise UploadRejected(
                    f"The sheet reaches row {ref}; at most {max_rows()} data rows are allowed"
                )
        else:
            _check_ref(ref, "a cell")
