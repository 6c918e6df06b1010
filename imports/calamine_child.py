"""Run as a separate process by imports.reader: read the first sheet with python-calamine
and stream its rows to stdout. Runs under a memory limit set by the parent, so a
hostile file that makes calamine abort or balloon kills only this process.

Output (stdout, a sequence of frames: 8 bytes of length, little-endian, then that many
bytes of `marshal.dumps` of plain lists, fast to load):

1. the header row (Excel row 1);
2. the index of the data rows, what the importer needs to know of every row before
   the first batch (references further down the file, duplicates): the list of their
   referenceId cells, the list of their accountTypeId cells, and bytes with 1 for each
   blank row, 0 for the others;
3. the data rows in batches of `batch_rows` rows (lists of rows);
4. `None`: the end.

The length lets the parent read a frame in one call and load it from bytes: loading
from the pipe itself reads each value with a call of its own (measured: 6x slower).
The parent reads the frames as it goes: a pipe, so at most one batch (and what the
pipe buffers) is on its way at a time. Cells are str, int, float, bool or null
(empty); dates are ISO strings; floats that are whole numbers become int (calamine
reads every number as a float: `accountTypeId` 1 arrives as 1.0).
"""

import datetime
import gc
import marshal
import resource
import sys
from typing import Any

KEY_COLUMNS = ("referenceId", "accountTypeId")


def cell(value: object) -> object:
    kind = value.__class__  # the exact class first: most cells are text or numbers
    if kind is str:
        return value or None
    if kind is float:
        number: float = value  # type: ignore[assignment]
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    if value is None or kind is bool or kind is int:
        return value
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, str):
        return value or None
    return str(value)


def rows_of(sheet: Any) -> Any:
    pad = [None] * sheet.start[1] if sheet.start else []
    for raw in sheet.iter_rows():
        # Most cells are non-empty text, kept as they are without a call (measured: half
        # of the conversion time on a 100k-row file).
        row = pad + [value if value.__class__ is str and value else cell(value) for value in raw]
        while row and row[-1] is None:
            row.pop()
        yield row


def key_positions(header: list[Any]) -> list[int | None]:
    names = [str(c).strip() if c is not None else "" for c in header]
    return [names.index(name) if name in names else None for name in KEY_COLUMNS]


def index_of(sheet: Any, positions: list[int | None]) -> tuple[list[Any], list[Any], bytes]:
    """The cells at `positions` of every data row, and which rows are blank: from the
    raw rows, converting only those cells (as rows_of would)."""
    references: list[Any] = []
    types: list[Any] = []
    blank = bytearray()
    pad = sheet.start[1] if sheet.start else 0
    ref_at, type_at = (None if at is None else at - pad for at in positions)
    rows = sheet.iter_rows()
    next(rows, None)
    for raw in rows:
        width = len(raw)
        references.append(cell(raw[ref_at]) if ref_at is not None and ref_at < width else None)
        types.append(cell(raw[type_at]) if type_at is not None and type_at < width else None)
        blank.append(1 if raw.count("") + raw.count(None) == width else 0)
    return references, types, bytes(blank)


def send(value: Any, out: Any) -> None:
    data = marshal.dumps(value)
    out.write(len(data).to_bytes(8, "little"))
    out.write(data)


def main() -> int:
    path, max_rows, memory, seconds, batch_rows = sys.argv[1], *map(int, sys.argv[2:6])
    # Limits first, before calamine allocates anything.
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds))
    # Plain lists of scalars make no cycles: the collector would only rescan the rows
    # of the batch being built (measured: a third of the time of converting them).
    gc.disable()

    from python_calamine import CalamineError, CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(path)
        sheet = workbook.get_sheet_by_index(0)
    except (CalamineError, ValueError, OSError) as exc:
        sys.stderr.write(f"The workbook cannot be read: {exc}"[:500])
        return 2
    height = sheet.end[0] + 1 if sheet.end else 0
    if height > max_rows + 1:
        sys.stderr.write(f"The sheet has {height - 1} data rows; at most {max_rows} are allowed")
        return 2
    out = sys.stdout.buffer
    rows = rows_of(sheet)
    header: list[Any] = next(rows, [])
    send(header, out)
    send(index_of(sheet, key_positions(header)), out)
    batch: list[list[Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= batch_rows:
            send(batch, out)
            batch = []
    if batch:
        send(batch, out)
    send(None, out)
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
