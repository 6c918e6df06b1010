"""OpenAPI pieces every API module shares: the success envelope and the error body."""

from typing import Any

from drf_spectacular.openapi import AutoSchema
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
    """The success envelope around `data` (a serializer or field)."""
    return inline_serializer(
        name=name,
        fields={
            "status": serializers.IntegerField(),
            "message": serializers.CharField(),
            "data": data,
            "code": serializers.CharField(default="info"),
        },
    )


PAGE_ERRORS = {
    "400": "`page`, `pageSize` or `cursor` invalid (`pageSize=0`, `page=abc`, a cursor "
    "not made by this list), or a filter's value: `errors` names the parameter.",
    "404": '"Invalid page: past the last page."',
}
AUTH_ERROR_TEXTS = {str(code): str(response.description) for code, response in AUTH_ERRORS.items()}


class ApiAutoSchema(AutoSchema):
    """drf-spectacular's schema, plus what every operation shares: the 401/403 of key
    authentication, and on a paginated list its parameters (`page`, `pageSize`,
    `cursor`) and its 400/404. A view paginating by hand names its pagination class in
    `list_pagination`."""

    def _list_pagination(self) -> Any:
        if self.method != "GET":
            return None
        explicit = getattr(self.view, "list_pagination", None)
        if explicit is not None:
            return explicit
        if self._is_list_view() and getattr(self.view, "pagination_class", None):
            return self.view.pagination_class  # type: ignore[attr-defined]
        return None

    def _get_pagination_parameters(self) -> Any:
        explicit = getattr(self.view, "list_pagination", None)
        if self.method == "GET" and explicit is not None:
            return explicit().get_schema_operation_parameters(self.view)
        return super()._get_pagination_parameters()

    def get_operation(self, *args: Any, **kwargs: Any) -> Any:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        extra: dict[str, str] = {}
        if getattr(self.view, "authentication_classes", None):
            extra.update(AUTH_ERROR_TEXTS)
        if self._list_pagination() is not None:
            extra.update(PAGE_ERRORS)
        responses = operation.setdefault("responses", {})
        for code, description in extra.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(error_response(description), code)
            elif description not in responses[code]["description"]:
                # e.g. a customer's list: "Customer not found", or a page past the end
                responses[code]["description"] += f" Or: {description}"
        return operation
