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
from typing import Any

from customers.models import CustomerFieldDefinition

# Bump when validation or import rules change what a row means: every digest expires.
RULES_VERSION = "1"


def context_digest(
    *,
    definitions: dict[str, CustomerFieldDefinition],
    reject_unknown: bool,
    header: list[str],
) -> bytes:
    fields = sorted(
        (d.key, d.field_type, d.required, tuple(d.choices or ())) for d in definitions.values()
    )
    text = repr((RULES_VERSION, reject_unknown, header, fields))
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def row_source(data: dict[str, Any]) -> str:
    """What of the row the digest covers: every non-empty cell, in header order."""
    return repr(tuple(data.items()))


def row_digest(context: bytes, source: str) -> str:
    return hashlib.blake2b(source.encode(), digest_size=16, key=context).hexdigest()
