"""OpenAPI pieces every API module shares: the §3 envelope and the error body."""

from typing import Any

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

ERROR = inline_serializer(
    name="Error",
    fields={
        "message": serializers.CharField(),
        "error": serializers.CharField(help_text="The HTTP reason phrase."),
        "statusCode": serializers.IntegerField(),
        "errors": serializers.DictField(
            required=False, help_text="Field name → messages (400 on invalid fields)."
        ),
    },
)


def error_response(description: str) -> OpenApiResponse:
    return OpenApiResponse(ERROR, description)


AUTH_ERRORS = {
    401: error_response("No, unknown or revoked API key."),
    403: error_response('The key lacks the scope: "This API key lacks the kyc:… scope."'),
}


def envelope_schema(name: str, data: Any) -> Any:
    """The §3 success envelope around `data` (a serializer or field)."""
    return inline_serializer(
        name=name,
        fields={
            "status": serializers.IntegerField(),
            "message": serializers.CharField(),
            "data": data,
            "code": serializers.CharField(default="info"),
        },
    )
