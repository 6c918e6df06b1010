"""Candidate retrieval: which watchlist entries a name is compared with.

The keys of every entry token are rows of `WatchlistKey` (written at import). A name's
candidates are the entries that share keys with at least two of its tokens (or with
its only token, or with all of a one-token entry's): "Sergey Petrov" is compared with
the Petrovs called Sergey/Sergei/Serhiy, never with every Petrov nor every Sergey. The
same code runs on SQLite and PostgreSQL: the database only returns key rows.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Case, Count, Min, Q, QuerySet, Value, When

from screening.matching import Subject, token_keys
from screening.models import WatchlistEntry, WatchlistKey

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

    def candidates(self, subject: Subject) -> set[int]:
        result: set[int] = set()
        if not self.name_tokens:
            return result
        for tokens in subject.token_lists:
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


def query_keys(subjects: Iterable[Subject]) -> set[str]:
    keys: set[str] = set()
    for subject in subjects:
        for tokens in subject.token_lists:
            for token in tokens:
                keys.update(token_keys(token))
    return keys


@dataclass
class KeyQueryIndex:
    """The candidate rule of `CandidateIndex`, asked of the database for one name at a
    time: for screening a few customers, reading every posting of their keys would
    cost more than one grouped query per name."""

    keys: QuerySet[WatchlistKey]

    def candidates(self, subject: Subject) -> set[int]:
        result: set[int] = set()
        for tokens in subject.token_lists:
            full = list(dict.fromkeys(token for token in tokens if len(token) >= 2))
            if not full:
                continue
            seen: set[str] = set()
            whens = []
            for number, token in enumerate(full):
                own = [key for key in token_keys(token) if key not in seen]
                seen.update(own)
                if own:
                    whens.append(When(key__in=own, then=Value(number)))
            if not whens:
                continue
            need = min(2, len(full))
            rows = (
                self.keys.filter(key__in=sorted(seen))
                .values("entry_id")
                .annotate(tokens=Count(Case(*whens), distinct=True), fewest=Min("name_tokens"))
                .filter(Q(tokens__gte=need) | Q(fewest__lte=1))
                .values_list("entry_id", flat=True)
            )
            result.update(rows)
        return result
