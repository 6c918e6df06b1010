"""Run as a separate process by imports.reader: read the first sheet with python-calamine
and stream its rows to stdout. Runs under a memory limit set by the parent, so a
hostile file that makes calamine abort or balloon kills only this process.

Output (stdout, a sequence of `marshal` frames: plain lists, fast to load):

1. the header row (Excel row 1);
2. the index of the data rows, what the importer needs to know of every row before
   the first batch (references further down the file, duplicates): the list of their
   referenceId cells, the list of their accountTypeId cells, and bytes with 1 for each
   blank row, 0 for the others;
3. the data rows in batches of `batch_rows` rows (lists of rows);
4. `None`: the end.

The parent reads the frames as it goes: a pipe, so at most one batch (and what the
pipe buffers) is on its way at a time. Cells are str, int, float, bool or null
(empty); dates are ISO strings; floats that are whole numbers become int (calamine
reads every number as a float: `accountTypeId` 1 arrives as 1.0).
"""

import datetime
import marshal
import resource
import sys
from typing import Any

KEY_COLUMNS = ("referenceId", "accountTypeId")


def cell(value: object) -> object:
    if value == "" or value is None:
        return None
    if isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
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
    """The cells at `positions` of every data row, and which rows are blank."""
    references: list[Any] = []
    types: list[Any] = []
    blank = bytearray()
    ref_at, type_at = positions
    rows = rows_of(sheet)
    next(rows, None)
    for row in rows:
        width = len(row)
        references.append(row[ref_at] if ref_at is not None and ref_at < width else None)
        types.append(row[type_at] if type_at is not None and type_at < width else None)
        blank.append(0 if row else 1)
    return references, types, bytes(blank)


def main() -> int:
    path, max_rows, memory, seconds, batch_rows = sys.argv[1], *map(int, sys.argv[2:6])
    # Limits first, before calamine allocates anything.
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds))

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
    marshal.dump(header, out)
    marshal.dump(index_of(sheet, key_positions(header)), out)
    batch: list[list[Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= batch_rows:
            marshal.dump(batch, out)
            batch = []
    if batch:
        marshal.dump(batch, out)
    marshal.dump(None, out)
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
