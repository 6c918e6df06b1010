from typing import Any

import pytest

from kyc.rules import DEFAULT_RULES
from kyc.services import risk_rules_replace

# Every factor off, bands at the defaults: tests switch on what they measure.
QUIET: dict[str, Any] = {"bands": {"medium": 25, "high": 50}}


@pytest.fixture
def set_rules(org):
    """Store a rule set for `org` (default: quiet + the given keys)."""

    def _set(organisation=None, **rules: Any):
        stored, _job = risk_rules_replace(organisation=organisation or org, data={**QUIET, **rules})
        return stored

    return _set


@pytest.fixture
def default_rules() -> dict[str, Any]:
    return DEFAULT_RULES
