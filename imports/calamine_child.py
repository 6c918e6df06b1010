"""Run as a separate process by imports.reader: read the first sheet with python-calamine
and write its rows to stdout. Runs under a memory limit set by the parent, so a
hostile file that makes calamine abort or balloon kills only this process.

Output (stdout, `marshal` format: plain lists, fast to load): the list of rows, row 0
being Excel row 1. Cells are str, int, float,
bool or null (empty); dates are ISO strings; floats that are whole numbers become int
(calamine reads every number as a float: `accountTypeId` 1 arrives as 1.0).
"""

import datetime
import marshal
import resource
import sys


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


def main() -> int:
    path, max_rows, memory, seconds = sys.argv[1], *map(int, sys.argv[2:5])
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
    pad = [None] * sheet.start[1] if sheet.start else []
    rows = []
    for raw in sheet.iter_rows():
        # Most cells are non-empty text, kept as they are without a call (measured: half
        # of the conversion time on a 100k-row file).
        row = pad + [value if value.__class__ is str and value else cell(value) for value in raw]
        while row and row[-1] is None:
            row.pop()
        rows.append(row)
    marshal.dump(rows, sys.stdout.buffer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
