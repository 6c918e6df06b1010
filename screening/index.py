"""Candidate retrieval: which watchlist entries a name is compared with.

The keys of every entry token are rows of `WatchlistKey` (written at import). A name's
candidates are the entries that share keys with at least two of its tokens (or with
its only token, or with all of a one-token entry's): "Sergey Petrov" is compared with
the Petrovs called Sergey/Sergei/Serhiy, never with every Petrov nor every Sergey. The
rule is applied in Python over loaded postings (`CandidateIndex`, a whole book) or by
one portable SQL query (`KeyQueryIndex`, a few customers): the same answer on SQLite
and PostgreSQL.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import QuerySet

from screening.matching import Subject, token_keys
from screening.models import Watchlist, WatchlistEntry, WatchlistKey

KEY_CHUNK = 900  # bound parameters per query (SQLite allows 999)


def entry_subject(entry: WatchlistEntry) -> Subject:
    return Subject.build(
        schema=entry.schema,
        names=(entry.name, *entry.aliases),
        birth_dates=entry.birth_dates,
        countries=entry.countries,
    )


def entry_keys(subject: Subject) -> tuple[set[str], int]:
    """(keys, fewest tokens of two letters or more in one name) of an entry."""
    keys: set[str] = set()
    fewest = 0
    for tokens in subject.token_lists:
        full = [token for token in tokens if len(token) >= 2]
        fewest = len(full) if not fewest else min(fewest, len(full))
        for token in full:
            keys.update(token_keys(token))
    return keys, fewest


@dataclass
class CandidateIndex:
    """Postings (key → entry ids) and each entry's fewest name tokens."""

    postings: dict[str, set[int]] = field(default_factory=dict)
    name_tokens: dict[int, int] = field(default_factory=dict)
    single: set[int] = field(default_factory=set)  # entries with a one-token name
    _token_cache: dict[str, frozenset[int]] = field(default_factory=dict)

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, int, int]]) -> "CandidateIndex":
        index = cls()
        for key, entry_id, name_tokens in rows:
            index.postings.setdefault(key, set()).add(entry_id)
            index.name_tokens[entry_id] = name_tokens
            if name_tokens <= 1:
                index.single.add(entry_id)
        return index

    @classmethod
    def load(
        cls, *, keys: QuerySet[WatchlistKey], only: Iterable[str] | None = None
    ) -> "CandidateIndex":
        """The index of the key rows of `keys`; with `only`, of those keys only (the
        keys of the names about to be screened)."""
        columns = ("key", "entry_id", "name_tokens")
        if only is None:
            return cls.from_rows(keys.values_list(*columns).iterator(chunk_size=20_000))
        wanted = sorted(set(only))
        rows: list[tuple[str, int, int]] = []
        for start in range(0, len(wanted), KEY_CHUNK):
            chunk = wanted[start : start + KEY_CHUNK]
            rows.extend(keys.filter(key__in=chunk).values_list(*columns))
        return cls.from_rows(rows)

    def _token_entries(self, token: str) -> frozenset[int]:
        cached = self._token_cache.get(token)
        if cached is None:
            found: set[int] = set()
            for key in token_keys(token):
                found |= self.postings.get(key, set())
            cached = self._token_cache[token] = frozenset(found)
        return cached

    def candidates_of(self, subjects: dict[int, Subject]) -> dict[int, set[int]]:
        return {pk: self.candidates(subject) for pk, subject in subjects.items()}

    def candidates(self, subject: Subject) -> set[int]:
        return self.candidates_of_tokens(subject.token_lists)

    def candidates_of_tokens(self, token_lists: Iterable[tuple[str, ...]]) -> set[int]:
        result: set[int] = set()
        if not self.name_tokens:
            return result
        for tokens in token_lists:
            full = list(dict.fromkeys(token for token in tokens if len(token) >= 2))
            found = [self._token_entries(token) for token in full]
            found = [entries for entries in found if entries]
            if len(full) == 1:
                if found:
                    result |= found[0]
                continue
            for i, first in enumerate(found):
                for second in found[i + 1 :]:
                    result |= first & second
                # An entry of a single token needs only that one.
                result |= first & self.single
        return result


# The candidate rule of `CandidateIndex` as one grouped query over the names' keys.
_CANDIDATES_SQL = """
WITH q (name_no, token_no, need, key) AS (VALUES {values})
SELECT name_no, entry_id FROM (
    SELECT DISTINCT q.name_no, q.token_no, q.need, k.entry_id, k.name_tokens
    FROM q
    JOIN {keys} k ON k.key = q.key
    JOIN {watchlists} w ON w.id = k.watchlist_id
    WHERE w.organisation_id = %s AND w.version > 0
) AS tokens
GROUP BY name_no, entry_id
HAVING COUNT(*) >= MAX(need) OR MIN(name_tokens) <= 1
"""
_PARAMS_PER_KEY = 4


@dataclass
class KeyQueryIndex:
    """The candidate rule of `CandidateIndex`, asked of the database: for screening a
    few customers, reading every posting of their keys would cost more. All names of a
    batch go in one query (a few hundred keys each), answered from the index on
    (key, watchlist, entry, name_tokens) without reading the table."""

    organisation_id: Any

    def candidates(self, subject: Subject) -> set[int]:
        return self.candidates_of({0: subject})[0]

    def candidates_of(self, subjects: dict[int, Subject]) -> dict[int, set[int]]:
        """party id → candidate entry ids, for every party of `subjects`."""
        result: dict[int, set[int]] = {pk: set() for pk in subjects}
        rows: list[tuple[int, int, int, str]] = []
        owners: list[int] = []  # name number → party id
        for pk, subject in subjects.items():
            for tokens in subject.token_lists:
                full = list(dict.fromkeys(token for token in tokens if len(token) >= 2))
                seen: set[str] = set()
                name_rows: list[tuple[int, str]] = []
                for number, token in enumerate(full):
                    own = [key for key in token_keys(token) if key not in seen]
                    seen.update(own)
                    name_rows.extend((number, key) for key in own)
                if name_rows:
                    need = min(2, len(full))
                    rows.extend((len(owners), number, need, key) for number, key in name_rows)
                    owners.append(pk)
        for name_no, entry_id in self._query(rows):
            result[owners[name_no]].add(entry_id)
        return result

    def _query(self, rows: list[tuple[int, int, int, str]]) -> Iterator[tuple[int, int]]:
        """Chunks of whole names, within SQLite's bound-parameter limit."""
        organisation = Watchlist._meta.get_field("organisation").get_db_prep_value(
            self.organisation_id, connection
        )
        chunk: list[tuple[int, int, int, str]] = []
        for position, row in enumerate(rows):
            chunk.append(row)
            end = position + 1 == len(rows)
            name_ends = end or rows[position + 1][0] != row[0]
            if end or (name_ends and len(chunk) * _PARAMS_PER_KEY >= KEY_CHUNK):
                yield from self._run(chunk, organisation)
                chunk = []

    @staticmethod
    def _run(
        chunk: list[tuple[int, int, int, str]], organisation: Any
    ) -> Iterator[tuple[int, int]]:
        sql = _CANDIDATES_SQL.format(
            values=", ".join(["(%s, %s, %s, %s)"] * len(chunk)),
            keys=WatchlistKey._meta.db_table,
            watchlists=Watchlist._meta.db_table,
        )
        params = [value for row in chunk for value in row]
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, organisation])
            yield from cursor.fetchall()
