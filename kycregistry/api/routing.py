"""How API routes are declared, so that their order in the URLconf never matters.

- `api_path` declares a route twice: as written (documented in the OpenAPI schema) and
  with a trailing slash (accepted, kept out of the schema so each operation is
  documented once).
- `<ref:…>` is a customer's referenceId in a path, normalised like a stored one
  (NFKC, trimmed), so a look-alike spelling finds the same customer. It never matches
  a fixed segment under `customers/` (`bulk-upload`, `download-template`: the
  referenceIds no customer may have), so `customers/bulk-upload/` reaches the bulk
  upload list whichever app's routes come first. A new fixed segment under
  `customers/` is added to `customers.validation.RESERVED_REFERENCE_IDS` (a test walks
  the URLconf and fails until it is).
"""

from django.urls import URLPattern, path, register_converter
from django.urls.converters import StringConverter
from rest_framework.views import APIView

from customers.validation import RESERVED_REFERENCE_IDS as FIXED_CUSTOMER_SEGMENTS
from customers.validation.values import normalise_identifier


class ReferenceIdConverter(StringConverter):
    """A path segment other than the fixed ones under `customers/`."""

    def to_python(self, value: str) -> str:
        if value in FIXED_CUSTOMER_SEGMENTS:
            raise ValueError(value)  # the URL resolver reads this as "no match"
        return normalise_identifier(value)


register_converter(ReferenceIdConverter, "ref")


def api_path(route: str, view: type[APIView], name: str) -> list[URLPattern]:
    """`route` (named `name`, in the schema) and `route/` (accepted, not in the schema)."""
    return [
        path(route, view.as_view(), name=name),
        path(f"{route}/", view.as_view(schema=None)),
    ]
