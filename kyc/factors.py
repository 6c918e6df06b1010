"""The risk factors: each turns one customer's facts and the rule set into points and
a sentence. Adding a factor is a function here (listed in FACTORS), its rule key in
`kyc.rules`, and, when it needs data no factor reads yet, a field of `Facts` filled
set-wise in `kyc.scoring.load_facts`."""

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pycountry

from customers.models import AccountType, risk_level_for
from relations.ownership import format_percentage

MAX_SCORE = 100
ACCOUNT_LABELS = {kind.value: kind.label for kind in AccountType}
SHOWN_PARTIES = 3


@dataclass
class Facts:
    """What the factors read about one customer (loaded for a batch at once)."""

    id: int
    account_type: int
    reference_id: str = ""
    country: str = ""
    registration_country: str = ""
    custom_fields: dict[str, Any] = field(default_factory=dict)
    sessions: int = 0
    declined: int = 0
    review: int = 0
    approved: int = 0
    high_risk_parties: list[str] = field(default_factory=list)  # "Name (referenceId)"
    shareholders: int = 0
    confirmed_hits: int = 0  # screening hits confirmed by an analyst
    open_hits: int = 0  # screening hits not reviewed yet
    shareholding: Decimal = Decimal(0)
    min_shareholding: Decimal = Decimal(51)


@dataclass(frozen=True)
class Factor:
    code: str
    description: str
    points: int

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "description": self.description, "points": self.points}


@functools.cache
def _country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code)
    return getattr(country, "name", code) if country else code


def country(facts: Facts, rules: dict[str, Any]) -> list[Factor]:
    points = rules["countries"]
    best, label, code = points.get(facts.country, 0), "Country", facts.country
    if facts.registration_country and facts.account_type == AccountType.COMPANY:
        registration = points.get(facts.registration_country, 0)
        if registration > best:  # the higher counts
            best, label, code = registration, "Registration country", facts.registration_country
    if not best:
        return []
    return [Factor("country", f"{label} {code} ({_country_name(code)})", best)]


def account_type(facts: Facts, rules: dict[str, Any]) -> list[Factor]:
    points = rules["accountTypes"].get(str(facts.account_type), 0)
    if not points:
        return []
    return [Factor("account_type", f"Account type {ACCOUNT_LABELS[facts.account_type]}", points)]


def _per_session(code: str, count: int, each: int, cap: int, what: str) -> list[Factor]:
    points = min(count * each, cap)
    if not points:
        return []
    noun = "session" if count == 1 else "sessions"
    text = f"{count} {what} {noun} ({each} points each"
    text += f", at most {cap})" if count * each > cap else ")"
    return [Factor(code, text, points)]


def declined_sessions(facts: Facts, rules: dict[str, Any]) -> list[Factor]:
    return _per_session(
        "declined_sessions",
        facts.declined,
        rules["declinedSession"],
        rules["declinedSessionMax"],
        "declined",
    )


def review_sessions(facts: Facts, rules: dict[str, Any]) -> list[Factor]:
    return _per_session(
        "review_sessions", facts.review, rules["reviewSession"], rules["reviewSessionMax"], "review"
    )


def no_approved_session(facts: Facts, rules: dict[str, Any]) -> list[Factor]:
    points = rules["noApprovedSession"]
    if not points or not facts.sessions or facts.approved:
        return []
    noun = "session" if facts.sessions == 1 else "sessions"
    return [Factor("no_approved_session", f"{facts.sessions} {noun}, none approved", points)]


def connected_high_risk(facts: Facts, rules: dict[str, Any]) -> list[Factor]:
    points = rules["connectedHighRisk"]
    parties = sorted(set(facts.high_risk_parties))
    if not points or not parties:
        return []
    text = "Connected to a High risk party: " + ", ".join(parties[:SHOWN_PARTIES])
    if len(parties) > SHOWN_PARTIES:
        text += f" and {len(parties) - SHOWN_PARTIES} more"
    return [Factor("connected_high_risk", text, points)]


def missing_ownership(facts: Facts, rules: dict[str, Any]) -> list[Factor]:
    points = rules["missingOwnership"]
    if not points or facts.account_type != AccountType.COMPANY:
        return []
    if not facts.shareholders:
        return [Factor("missing_ownership", "No shareholder recorded", points)]
    if facts.shareholding < facts.min_shareholding:
        return [
            Factor(
                "missing_ownership",
                f"Direct shareholdings total {format_percentage(facts.shareholding)}% "
                f"(at least {format_percentage(facts.min_shareholding)}% expected)",
                points,
            )
        ]
    return []


def screening_hit(facts: Facts, rules: dict[str, Any]) -> list[Factor]:
    found = []
    for count, each, what in (
        (facts.confirmed_hits, rules.get("screeningHit", 0), "confirmed"),
        (facts.open_hits, rules.get("screeningHitOpen", 0), "open, not reviewed yet"),
    ):
        if count and each:
            noun = "hit" if count == 1 else "hits"
            text = f"{count} screening {noun} {what} ({each} points each)"
            found.append(Factor("screening_hit", text, min(count * each, MAX_SCORE)))
    return found


def _value_key(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).casefold()


def custom_field(facts: Facts, rules: dict[str, Any]) -> list[Factor]:
    found = []
    for key, table in sorted(rules["customFields"].items()):  # jsonb reorders keys
        if key not in facts.custom_fields or facts.custom_fields[key] is None:
            continue
        value = facts.custom_fields[key]
        points = table.get(_value_key(value), 0)
        if points:
            found.append(Factor("custom_field", f"{key} = {str(value)[:100]}", points))
    return found


FACTORS: tuple[Callable[[Facts, dict[str, Any]], list[Factor]], ...] = (
    country,
    account_type,
    declined_sessions,
    review_sessions,
    no_approved_session,
    connected_high_risk,
    missing_ownership,
    screening_hit,
    custom_field,
)


@dataclass(frozen=True)
class Score:
    score: int
    level: str
    factors: list[dict[str, Any]]


def score(facts: Facts, rules: dict[str, Any]) -> Score:
    """The score of one customer: every factor with points, and, when they total more
    than 100, a `cap` entry taking the excess off so the points still add up."""
    found = [f for factor in FACTORS for f in factor(facts, rules) if f.points]
    total = sum(f.points for f in found)
    if total > MAX_SCORE:
        found.append(
            Factor("cap", f"Capped at {MAX_SCORE} (the factors total {total})", MAX_SCORE - total)
        )
    value = min(total, MAX_SCORE)
    bands = rules["bands"]
    level = risk_level_for(value, medium=bands["medium"], high=bands["high"])
    assert level is not None
    return Score(score=value, level=level, factors=[f.as_dict() for f in found])
