"""Tells drf-spectacular how API keys authenticate, so the schema and the docs'
"Authorize" button show `Authorization: Bearer <key>`."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "organisations.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An organisation's API key: `Authorization: Bearer kyc_…`. "
            "Scopes: kyc:read (GET), kyc:create (POST/PUT/PATCH), kyc:delete (DELETE), "
            "webhooks:manage.",
        }
