"""Name matching: how a party's name is compared with a watchlist entry's.

Method (docs/screening.md explains the choices and the measured quality):

1. **Normalise** every name with OpenSanctions' libraries: `rigour.text.ascii_text`
   transliterates any script to Latin (Cyrillic, Greek, Arabic, CJK, …) and folds
   accents; case and punctuation go; for companies, `rigour.names.remove_org_types`
   drops legal forms ("Ltd", "GmbH", "OOO", "PAO", …); name particles ("bin", "al",
   "van", …) are dropped on both sides.
2. **Align tokens** in any order: every token of the shorter name is paired with the
   most similar unused token of the other. Two tokens are similar when their
   optimal-string-alignment similarity (`rapidfuzz`, a typo or a swap of two letters
   costs one edit) is high, when they sound alike (`rigour` metaphone: "Sergey" and
   "Sergei", "Aleksandr" and "Alexander"), when an abjad transliteration without
   vowels has the same consonants ("mhmd" and "Mohammed"), or when one is the initial
   of the other ("S." and "Sergey", counted at less than a full token).
3. **Score** the name: the length-weighted mean of the pair similarities over the
   shorter name (a pair below `TOKEN_FLOOR` counts 0: "Ivanov" is no typo of
   "Petrov"), minus a little for each token of the longer name left unpaired (a
   missing middle name) and more when the shorter name is a single token.
4. **Evidence** moves the score: an equal birth date raises it, a different birth year
   lowers it below any threshold worth using; an equal country raises it, a different
   one lowers it a little. The explanation lists each feature.

Persons match persons, companies match companies; LegalEntity matches either.
"""

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

from rapidfuzz.distance import OSA
from rigour.names import remove_org_types
from rigour.text import ascii_text, metaphone

PERSON = "Person"
COMPANY = "Company"
ORGANIZATION = "Organization"
LEGAL_ENTITY = "LegalEntity"
PERSON_SCHEMAS = frozenset({PERSON, LEGAL_ENTITY})
COMPANY_SCHEMAS = frozenset({COMPANY, ORGANIZATION, LEGAL_ENTITY})

DEFAULT_THRESHOLD = 0.8
TOKEN_FLOOR = 0.7  # a token pair less similar than this is two different names
PHONETIC = 0.88  # tokens that sound alike but are spelt apart
SKELETON = 0.85  # abjad transliteration with the same consonants
INITIAL = 0.9  # "S" for "Sergey"
JOINED = 0.9  # the tokens written together match this well
UNPAIRED_PENALTY = 0.04  # each token of the longer name left over (a middle name)
SINGLE_TOKEN_FACTOR = 0.8  # "Petrov" alone against "Sergey Petrov"
BIRTH_MATCH = 0.05
BIRTH_MISMATCH = -0.3
COUNTRY_MATCH = 0.03
COUNTRY_MISMATCH = -0.05

PARTICLES = frozenset(
    {"al", "el", "bin", "bn", "ibn", "bint", "abu", "van", "von", "der", "den", "de", "da"}
    | {"di", "du", "la", "le", "del", "dos", "das", "mr", "mrs", "ms", "dr", "y"}
)
VOWELS = frozenset("aeiouy")
_ARABIC = re.compile("[\u0600-\u06ff\u0750-\u077f]")
_PUNCTUATION = str.maketrans({"'": "", "’": "", "`": "", "?": "", "ʻ": "", "ʼ": ""})


_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


def _clean(name: str) -> str:
    return _NOT_ALNUM.sub(" ", ascii_text(name).lower().translate(_PUNCTUATION))


@lru_cache(maxsize=200_000)
def name_tokens(name: str, company: bool) -> tuple[str, ...]:
    """The comparable tokens of `name`: Latin, lower case, no punctuation, no legal
    forms (companies) and no particles."""
    text = _clean(name)
    if company:
        text = remove_org_types(text)
    tokens = text.split()
    if _ARABIC.search(name):
        # The article is written joined to the name: القذافي is "alqdhafy".
        tokens = [t[2:] if t.startswith("al") and len(t) > 4 else t for t in tokens]
    return tuple(token for token in tokens if token not in PARTICLES)


@lru_cache(maxsize=200_000)
def skeleton(token: str) -> str:
    """The consonants without h/w/y, repeats collapsed: what an abjad script (Arabic,
    Hebrew) writes of a name ("mhmd" and "mohammed" are both "md")."""
    out: list[str] = []
    for char in token:
        if char in VOWELS or char in "hw" or (out and char == out[-1]):
            continue
        out.append(char)
    return "".join(out)


def _abjad_like(token: str) -> bool:
    return sum(1 for char in token if char in "aeiou") <= 1


# Romanisation variants that metaphone keeps apart: Alyaksandr/Aleksandr,
# Usmanow/Usmanov, Mikhail/Michail.
_ROMAN_FOLDS = (("kh", "h"), ("ch", "h"), ("x", "ks"), ("w", "v"), ("y", "i"), ("j", "i"))


@lru_cache(maxsize=200_000)
def sound(token: str) -> str:
    """The metaphone of `token` after folding romanisation variants."""
    folded = token
    for variant, common in _ROMAN_FOLDS:
        folded = folded.replace(variant, common)
    return metaphone(folded)


@lru_cache(maxsize=500_000)
def token_similarity(a: str, b: str) -> float:
    if a == b:
        return 1.0
    if len(a) == 1 or len(b) == 1:
        return INITIAL if a[0] == b[0] else 0.0
    best = OSA.normalized_similarity(a, b)
    if best < PHONETIC and min(len(a), len(b)) >= 3 and sound(a) == sound(b):
        best = PHONETIC
    if (
        best < SKELETON
        and (_abjad_like(a) or _abjad_like(b))
        and len(skeleton(a)) >= 2
        and skeleton(a) == skeleton(b)
    ):
        best = SKELETON
    return best


def _weight(a: str, b: str) -> int:
    return max(len(a), len(b))


def tokens_score(query: Sequence[str], candidate: Sequence[str]) -> float:
    """0–1: how well two token lists name the same party, in any order."""
    if not query or not candidate:
        return 0.0
    short, long = (query, candidate) if len(query) <= len(candidate) else (candidate, query)
    pairs = sorted(
        ((token_similarity(a, b), i, j) for i, a in enumerate(short) for j, b in enumerate(long)),
        reverse=True,
    )
    used_short: set[int] = set()
    used_long: set[int] = set()
    total = 0.0
    weights = 0.0
    for similarity, i, j in pairs:
        if i in used_short or j in used_long:
            continue
        used_short.add(i)
        used_long.add(j)
        weight = _weight(short[i], long[j])
        weights += weight
        if similarity >= TOKEN_FLOOR:
            total += similarity * weight
    for i, token in enumerate(short):
        if i not in used_short:
            weights += len(token)
    score = total / weights if weights else 0.0
    # A name of initials only ("S P") says too little to be a hit.
    if all(len(token) == 1 for token in short) and len(long) > 1:
        score *= SINGLE_TOKEN_FACTOR
    unpaired = len(long) - len(used_long)
    score -= UNPAIRED_PENALTY * unpaired
    if len(short) == 1 and len(long) > 1:
        score *= SINGLE_TOKEN_FACTOR
    # "Rosoboron Export" and "Rosoboronexport": the same name, split differently.
    if len(query) != len(candidate) and score < JOINED:
        joined = OSA.normalized_similarity("".join(query), "".join(candidate))
        if joined >= JOINED:
            score = joined
    return max(0.0, min(1.0, score))


def schemas_compatible(party_schema: str, entry_schema: str) -> bool:
    if party_schema == LEGAL_ENTITY or entry_schema == LEGAL_ENTITY:
        return True
    if party_schema == PERSON:
        return entry_schema == PERSON
    return entry_schema in COMPANY_SCHEMAS


def is_company_schema(schema: str) -> bool:
    return schema in (COMPANY, ORGANIZATION)


def unique_names(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(name for name in names if name and name.strip()))


def token_lists(names: tuple[str, ...], *, company: bool) -> tuple[tuple[str, ...], ...]:
    """The distinct token lists of `names` (see `name_tokens`)."""
    return tuple(dict.fromkeys(t for t in (name_tokens(name, company) for name in names) if t))


@dataclass(frozen=True)
class Subject:
    """What is compared of a party (a customer) or of a watchlist entry."""

    schema: str
    names: tuple[str, ...]
    birth_dates: tuple[str, ...] = ()  # ISO prefixes: "1970", "1970-05", "1970-05-12"
    countries: tuple[str, ...] = ()  # ISO alpha-2, lower case
    token_lists: tuple[tuple[str, ...], ...] = field(default=(), compare=False)

    @classmethod
    def build(
        cls,
        *,
        schema: str,
        names: Iterable[str],
        birth_dates: Iterable[str] = (),
        countries: Iterable[str] = (),
    ) -> "Subject":
        unique = unique_names(names)
        tokens = token_lists(unique, company=is_company_schema(schema))
        return cls(
            schema=schema,
            names=unique,
            birth_dates=tuple(dict.fromkeys(d for d in birth_dates if d)),
            countries=tuple(dict.fromkeys(c.lower() for c in countries if c)),
            token_lists=tokens,
        )


@dataclass(frozen=True)
class Match:
    score: float
    explanation: dict[str, Any]


def _birth_evidence(party: Subject, entry: Subject) -> str | None:
    if not party.birth_dates or not entry.birth_dates:
        return None
    for mine in party.birth_dates:
        for theirs in entry.birth_dates:
            shorter = min(len(mine), len(theirs))
            if mine[:shorter] == theirs[:shorter]:
                return "match" if shorter >= 10 else "partial"
    return "mismatch"


def _country_evidence(party: Subject, entry: Subject) -> str | None:
    if not party.countries or not entry.countries:
        return None
    return "match" if set(party.countries) & set(entry.countries) else "mismatch"


EVIDENCE_POINTS = {
    ("birthDate", "match"): BIRTH_MATCH,
    ("birthDate", "mismatch"): BIRTH_MISMATCH,
    ("country", "match"): COUNTRY_MATCH,
    ("country", "mismatch"): COUNTRY_MISMATCH,
}


def compare(party: Subject, entry: Subject) -> Match | None:
    """The score and explanation of `party` against `entry`; None when the schemas
    cannot match (a person is never a company)."""
    if not schemas_compatible(party.schema, entry.schema):
        return None
    best = 0.0
    best_pair = ("", "")
    for mine in party.token_lists:
        for theirs in entry.token_lists:
            score = tokens_score(mine, theirs)
            if score > best:
                best, best_pair = score, (" ".join(mine), " ".join(theirs))
    explanation: dict[str, Any] = {
        "nameScore": round(best, 4),
        "partyName": best_pair[0],
        "entryName": best_pair[1],
    }
    score = best
    for feature, value in (
        ("birthDate", _birth_evidence(party, entry)),
        ("country", _country_evidence(party, entry)),
    ):
        if value is None:
            continue
        explanation[feature] = value
        score += EVIDENCE_POINTS.get((feature, value), 0.0)
    score = round(max(0.0, min(1.0, score)), 4)
    return Match(score=score, explanation=explanation)


def birth_date_text(value: date | None) -> tuple[str, ...]:
    return (value.isoformat(),) if value else ()


# -- candidate keys -------------------------------------------------------------------


def _prefixes(token: str) -> Iterator[str]:
    yield token[:4]
    if len(token) >= 4:  # shorter: too many namesakes a letter apart
        for at in range(4):
            yield (token[:at] + token[at + 1 :])[:4]


@lru_cache(maxsize=200_000)
def token_keys(token: str) -> tuple[str, ...]:
    """The index keys of one token: its sound (metaphone), its consonant skeleton and
    its first four letters, also with each of those letters left out. Two tokens that
    `token_similarity` finds close share a key: a letter missing, added, changed or
    swapped in the first four leaves one of the prefixes equal ("Ravikza" and "Raikza"
    share "raik"), a typo further on leaves the first four alone."""
    if len(token) < 2:
        return ()
    keys = list(dict.fromkeys(f"p:{prefix}" for prefix in _prefixes(token)))
    consonants = skeleton(token)
    if len(consonants) >= 2:
        keys.append(f"k:{consonants}")
    phonetic = sound(token)
    if phonetic:
        keys.append(f"m:{phonetic}")
    return tuple(keys)


def subject_keys(subject: Subject) -> set[str]:
    return {key for tokens in subject.token_lists for token in tokens for key in token_keys(token)}
