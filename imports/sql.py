"""PostgreSQL helpers: array literals for `= ANY(%s::type[])`, COPY of rows."""

from collections.abc import Iterable, Sequence

from django.db import connection

from kycregistry.sql import int_array

__all__ = ["copy_rows", "copy_text", "int_array", "text_array"]


def text_array(values: Iterable[str]) -> str:
    return (
        "{"
        + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
        + "}"
    )


_COPY_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text(value: str | int | None) -> str:
    """One value in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    return str(value).translate(_COPY_ESCAPE)


def copy_rows(
    table: str, columns: Sequence[str], rows: Iterable[Sequence[str | int | None]]
) -> None:
    """Write `rows` into `table` with COPY (PostgreSQL), 2,000 lines a write."""
    with (
        connection.cursor() as cursor,
        cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        buffer: list[str] = []
        for row in rows:
            buffer.append("\t".join(map(copy_text, row)) + "\n")
            if len(buffer) >= 2000:
                copy.write("".join(buffer))
                buffer.clear()
        if buffer:
            copy.write("".join(buffer))
