"""Reading watchlist files: FollowTheMoney entities as JSON lines, or CSV.

Both are read a line at a time from bytes, so no single record can cost more than
`MAX_LINE` bytes of memory: a longer line, invalid UTF-8, JSON nested deeper than
`MAX_DEPTH` (a "JSON bomb"), a record without id or name are reported with their line
number and skipped. A file whose first record is neither format fails as a whole.
"""

import csv
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from django.conf import settings

from screening.matching import COMPANY, LEGAL_ENTITY, ORGANIZATION, PERSON

SCHEMAS = frozenset({PERSON, COMPANY, ORGANIZATION, LEGAL_ENTITY})
CSV_HEADER = ("id", "name", "aliases", "type", "birthdate", "countries", "topics")
CSV_TYPES = {"person": PERSON, "company": COMPANY}
MAX_LINE = 256 * 1024
MAX_DEPTH = 16
MAX_VALUES = 200  # values of one property kept
MAX_VALUE_LENGTH = 500
MAX_REPORTED_ERRORS = 1000
NEITHER = (
    "The file is neither FollowTheMoney JSON lines nor CSV with the header "
    "id,name,aliases,type,birthDate,countries,topics"
)
NAME_PROPERTIES = ("name", "alias", "weakAlias", "previousName")
COUNTRY_PROPERTIES = ("nationality", "country", "jurisdiction", "citizenship")


class WatchlistRejected(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadLine(Exception):
    pass


@dataclass(frozen=True)
class Record:
    source_id: str
    schema: str
    name: str
    aliases: tuple[str, ...]
    birth_dates: tuple[str, ...]
    countries: tuple[str, ...]
    topics: tuple[str, ...]

    @property
    def digest(self) -> str:
        content = [
            self.schema,
            self.name,
            self.aliases,
            self.birth_dates,
            self.countries,
            self.topics,
        ]
        return hashlib.md5(json.dumps(content).encode(), usedforsecurity=False).hexdigest()


@dataclass
class ParsedList:
    format: str = ""
    records: dict[str, Record] = field(default_factory=dict)
    skipped: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    error_count: int = 0

    def error(self, line: int, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append({"line": line, "message": message})


def max_bytes() -> int:
    return int(getattr(settings, "KYC_WATCHLIST_MAX_BYTES", 200 * 1024 * 1024))


def max_entries() -> int:
    return int(getattr(settings, "KYC_WATCHLIST_MAX_ENTRIES", 1_000_000))


def _lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes | None]]:
    """(line number, bytes) per line; None for a line longer than MAX_LINE (its rest is
    read in chunks and dropped)."""
    number = 0
    while True:
        line = stream.readline(MAX_LINE + 1)
        if not line:
            return
        number += 1
        if len(line) > MAX_LINE and not line.endswith(b"\n"):
            while True:
                rest = stream.readline(MAX_LINE)
                if not rest or rest.endswith(b"\n"):
                    break
            yield number, None
            continue
        yield number, line


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise BadLine("values must be strings")
    return " ".join(value.split())[:MAX_VALUE_LENGTH]


def _values(value: Any) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [text for text in (_text(item) for item in items[:MAX_VALUES]) if text]


def _depth(value: Any, limit: int) -> int:
    """Nesting depth of decoded JSON, stopping at `limit`."""
    if limit <= 0:
        return 1
    if isinstance(value, dict):
        return 1 + max((_depth(item, limit - 1) for item in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(item, limit - 1) for item in value), default=0)
    return 0


def _ftm_record(text: str) -> Record | None:
    """A Record, None for a schema screening ignores, BadLine for a broken line."""
    if text.count("[") + text.count("{") > MAX_VALUES * 20:
        raise BadLine("too many nested values")
    try:
        data = json.loads(text)
    except RecursionError:
        raise BadLine(f"JSON nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:
        raise BadLine(f"not JSON ({exc.__class__.__name__})") from None
    if not isinstance(data, dict):
        raise BadLine("not a JSON object")
    if _depth(data, MAX_DEPTH + 1) > MAX_DEPTH:
        raise BadLine(f"JSON nested deeper than {MAX_DEPTH} levels")
    schema = data.get("schema")
    if not isinstance(schema, str):
        raise BadLine("no schema")
    if schema not in SCHEMAS:
        return None
    source_id = data.get("id")
    if not isinstance(source_id, str) or not source_id.strip():
        raise BadLine("no id")
    properties = data.get("properties") or {}
    if not isinstance(properties, dict):
        raise BadLine("properties must be an object")
    names: list[str] = []
    for prop in NAME_PROPERTIES:
        names.extend(_values(properties.get(prop)))
    names = list(dict.fromkeys(names))
    if not names:
        raise BadLine("no name")
    countries: list[str] = []
    for prop in COUNTRY_PROPERTIES:
        countries.extend(value.lower() for value in _values(properties.get(prop)))
    topics = _values(properties.get("topics")) + _values(data.get("topics"))
    return Record(
        source_id=source_id.strip()[:255],
        schema=schema,
        name=names[0],
        aliases=tuple(names[1:]),
        birth_dates=tuple(dict.fromkeys(_values(properties.get("birthDate")))),
        countries=tuple(dict.fromkeys(countries)),
        topics=tuple(dict.fromkeys(topics)),
    )


def _split(value: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(part for part in (_text(p) for p in value.split(";")) if part))


def _csv_record(text: str) -> Record:
    try:
        cells = next(csv.reader([text]))
    except (csv.Error, StopIteration):
        raise BadLine("not a CSV line") from None
    if len(cells) != len(CSV_HEADER):
        raise BadLine(f"{len(cells)} columns, expected {len(CSV_HEADER)}")
    source_id, name, aliases, kind, birth, countries, topics = (cell.strip() for cell in cells)
    if not source_id:
        raise BadLine("no id")
    if not name:
        raise BadLine("no name")
    schema = CSV_TYPES.get(kind.lower())
    if schema is None:
        raise BadLine(f"type must be person or company, not {kind[:40]!r}")
    return Record(
        source_id=source_id[:255],
        schema=schema,
        name=_text(name),
        aliases=_split(aliases),
        birth_dates=_split(birth),
        countries=tuple(country.lower() for country in _split(countries)),
        topics=_split(topics),
    )


def _is_csv_header(text: str) -> bool:
    cells = [cell.strip().lower() for cell in text.lstrip("\ufeff").split(",")]
    return tuple(cells) == CSV_HEADER


def parse_watchlist(stream: IO[bytes]) -> ParsedList:
    """Every record of the file; WatchlistRejected when it is neither format."""
    parsed = ParsedList()
    for number, raw in _lines(stream):
        if raw is None:
            if not parsed.format:
                raise WatchlistRejected(f"{NEITHER} (line 1 is longer than {MAX_LINE} bytes)")
            parsed.error(number, f"line longer than {MAX_LINE} bytes")
            continue
        try:
            text = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            if not parsed.format:
                raise WatchlistRejected(f"{NEITHER} (line 1 is not UTF-8)") from None
            parsed.error(number, "not UTF-8")
            continue
        if not text:
            continue
        if not parsed.format:
            if _is_csv_header(text):
                parsed.format = "csv"
                continue
            if text.startswith("{"):
                parsed.format = "ftm"
            else:
                raise WatchlistRejected(NEITHER)
        try:
            record = _ftm_record(text) if parsed.format == "ftm" else _csv_record(text)
        except BadLine as exc:
            parsed.error(number, str(exc))
            continue
        if record is None:
            parsed.skipped += 1
            continue
        if record.source_id not in parsed.records and len(parsed.records) >= max_entries():
            raise WatchlistRejected(f"The list has more than {max_entries()} entries")
        parsed.records[record.source_id] = record
    if not parsed.format:
        raise WatchlistRejected(f"{NEITHER} (the file is empty)")
    return parsed
