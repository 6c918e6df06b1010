"""Reading identifiers and counts that arrive as text (URL parts, filters, cells)."""


def ascii_int(raw: str, *, max_digits: int = 18) -> int | None:
    """`raw` as a non-negative integer when it is written in ASCII digits only, else None.

    `str.isdigit()` is true for "¹" (which `int()` refuses) and `int()` reads "١٢" as 12:
    an identifier is neither, so both are "not a number" here, as are numbers too long
    for a database key.
    """
    if raw.isascii() and raw.isdigit() and len(raw) <= max_digits:
        return int(raw)
    return None
