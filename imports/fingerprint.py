"""Row digests: proof that an uploaded row would change nothing, without validating it.

A customer that an import creates, updates or finds unchanged keeps `import_digest`,
a digest of what decided the import's answer — the validation context (the
organisation's field definitions and settings, the sheet's header) and the row's
cells — and `import_digest_at`, its `updated_at` after the import. Every later write
to the customer or to its connections moves `updated_at` (`Customer.save`,
`relations.services`), so while the two are equal, an equal digest on the next upload
means the same row, judged by the same rules, against the state it produced: full
validation would find it unchanged. Such rows are answered at once, which makes
uploading the same file again cheap.
"""

import hashlib
import marshal
from importlib.util import find_spec
from typing import Any

from django.conf import settings

from customers.models import CustomerFieldDefinition

# What decides what a row means: the validation modules and the import's reading of
# cells (their source), and the settings they read; and how a row is serialised for its
# digest (this module). Any change to one of them expires every digest, so no one has to
# remember to.
RULE_MODULES = (
    "customers.models",
    "customers.validation",
    "customers.validation.customer",
    "customers.validation.values",
    "relations.models",
    "relations.validation",
    "imports.importer",
    "imports.fingerprint",
)
RULE_SETTINGS = ("KYC_MAX_CONNECTS",)


def _source_digest(modules: tuple[str, ...]) -> str:
    """A digest of the modules' files, read without importing them."""
    digest = hashlib.blake2b(digest_size=16)
    for name in modules:
        spec = find_spec(name)
        origin = spec.origin if spec is not None else None
        if origin is None:
            raise RuntimeError(f"The source of {name} is needed to derive the import rules.")
        with open(origin, "rb") as source:
            digest.update(name.encode() + b"\0" + source.read() + b"\0")
    return digest.hexdigest()


# Read once, when the process starts: the files do not change under a running process.
RULES_SOURCE = _source_digest(RULE_MODULES)


def rules_version() -> str:
    """The rules' source and the current values of the settings they read."""
    values = tuple((name, getattr(settings, name, None)) for name in RULE_SETTINGS)
    return f"{RULES_SOURCE}:{values!r}"


def context_digest(
    *,
    definitions: dict[str, CustomerFieldDefinition],
    reject_unknown: bool,
    header: list[str],
) -> bytes:
    fields = sorted(
        (d.key, d.field_type, d.required, tuple(d.choices or ())) for d in definitions.values()
    )
    text = repr((rules_version(), reject_unknown, header, fields))
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def row_source(data: dict[str, Any]) -> bytes:
    """What of the row the digest covers: every non-empty cell, in header order.

    The cells are what the reader child sent through marshal (text, numbers, booleans)
    and the identity and profile objects made of them, so marshal serialises them: 3-4x
    as fast as their repr. Version 0 has no references between objects, so equal rows
    give equal bytes; its format has not changed since Python 3.0 (the same bytes on
    3.12 and 3.13: tests/imports/test_fingerprint.py). Digests made from another format
    (repr, before) simply do not match: those rows are judged again."""
    return marshal.dumps(tuple(data.items()), 0)


def row_digest(context: bytes, source: bytes) -> str:
    return hashlib.blake2b(source, digest_size=16, key=context).hexdigest()
