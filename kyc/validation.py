"""Validation of session payloads (API and admin): every fault reported at once, each
under its camelCase key."""

import ipaddress
from dataclasses import dataclass
from typing import Any

from customers.validation.values import FieldErrors, clean_text, describe
from kyc.models import CheckStatus, CheckType, SessionStatus

USER_AGENT_MAX = 1000
WORKFLOW_MAX = 200
REASON_MAX = 1000
CHECKS_MAX = 50
SESSION_KEYS = (
    "customerId",
    "clientId",
    "customer",
    "status",
    "ipAddress",
    "userAgent",
    "workflow",
    "checks",
)
PATCH_KEYS = ("status", "checks", "ipAddress", "userAgent")


@dataclass
class CleanedSession:
    fields: dict[str, Any]  # model field → value, only the keys given


def _ip(errors: FieldErrors, value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 64:
        errors.add("ipAddress", "Must be an IPv4 or IPv6 address.")
        return None
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        errors.add("ipAddress", "Must be an IPv4 or IPv6 address.")
        return None


def _checks(errors: FieldErrors, value: Any) -> list[dict[str, Any]] | None:
    if value is None:
        return []
    if not isinstance(value, list):
        errors.add("checks", f"Must be an array, not {describe(value)}.")
        return None
    if len(value) > CHECKS_MAX:
        errors.add("checks", f"At most {CHECKS_MAX} checks allowed.")
        return None
    cleaned = []
    for index, item in enumerate(value):
        path = f"checks[{index}]"
        if not isinstance(item, dict):
            errors.add(path, f"Must be an object, not {describe(item)}.")
            continue
        unknown = sorted(str(k)[:40] for k in item if k not in ("type", "status", "reason"))
        if unknown:
            errors.add(path, f"Unknown key(s): {', '.join(unknown)}.")
        kind, status = item.get("type"), item.get("status")
        if kind not in CheckType.values:
            errors.add(f"{path}.type", f"Must be one of: {', '.join(CheckType.values)}.")
        if status not in CheckStatus.values:
            errors.add(f"{path}.status", f"Must be one of: {', '.join(CheckStatus.values)}.")
        reason = clean_text(errors, f"{path}.reason", item.get("reason"), max_length=REASON_MAX)
        cleaned.append({"type": kind, "status": status, "reason": reason or None})
    return cleaned


def clean_session(data: dict[str, Any], *, partial: bool) -> CleanedSession:
    """The model fields a create (`partial=False`) or PATCH body sets. The customer
    keys (customerId, clientId, customer) are read by the service, not here."""
    errors = FieldErrors()
    allowed = PATCH_KEYS if partial else SESSION_KEYS
    unknown = sorted(str(k)[:40] for k in data if k not in allowed)
    if unknown:
        errors.add("body", f"Unknown key(s): {', '.join(unknown)}. Allowed: {', '.join(allowed)}.")
    fields: dict[str, Any] = {}
    if "status" in data or not partial:
        status = data.get("status", SessionStatus.CREATED)
        if status not in SessionStatus.values:
            errors.add("status", f"Must be one of: {', '.join(SessionStatus.values)}.")
        else:
            fields["status"] = status
    if "ipAddress" in data:
        ip = _ip(errors, data["ipAddress"])
        fields["ip_address"] = ip
    if "userAgent" in data:
        agent = clean_text(errors, "userAgent", data["userAgent"], max_length=USER_AGENT_MAX)
        if agent is not None:
            fields["user_agent"] = agent
    if "workflow" in data:
        workflow = clean_text(errors, "workflow", data["workflow"], max_length=WORKFLOW_MAX)
        if workflow is not None:
            fields["workflow"] = workflow
    if "checks" in data:
        checks = _checks(errors, data["checks"])
        if checks is not None:
            fields["checks"] = checks
    errors.raise_if_any()
    return CleanedSession(fields=fields)
