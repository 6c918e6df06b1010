"""PostgreSQL array literals for `= ANY(%s::type[])`."""

from collections.abc import Iterable


def int_array(values: Iterable[int]) -> str:
    """A PostgreSQL array literal: one text parameter instead of 100k bound values
    (psycopg dumps long lists element by element in Python)."""
    return "{" + ",".join(map(str, values)) + "}"


def text_array(values: Iterable[str]) -> str:
    return (
        "{"
        + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
        + "}"
    )
