from typing import Any

from rest_framework import exceptions, permissions
from rest_framework.request import Request

from organisations.models import ApiKey, Scope

METHOD_SCOPES = {
    "GET": Scope.KYC_READ,
    "HEAD": Scope.KYC_READ,
    "OPTIONS": Scope.KYC_READ,
    "POST": Scope.KYC_CREATE,
    "PUT": Scope.KYC_CREATE,
    "PATCH": Scope.KYC_CREATE,
    "DELETE": Scope.KYC_DELETE,
}


class HasScope(permissions.BasePermission):
    """An API key is required; its scopes must cover the method (or the view's
    `required_scope`)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        api_key = request.auth
        if not isinstance(api_key, ApiKey):
            raise exceptions.NotAuthenticated(
                "Authentication required. Send 'Authorization: Bearer <key>'."
            )
        method = (request.method or "").lower()
        if method not in view.http_method_names or not hasattr(view, method):
            # Before the scope: TRACE or PUT on a view without it is 405, not 403.
            raise exceptions.MethodNotAllowed(request.method or "")
        scope = getattr(view, "required_scope", None) or METHOD_SCOPES.get(request.method or "")
        if scope is None or not api_key.has_scope(scope):
            raise exceptions.PermissionDenied(f"This API key lacks the {scope} scope.")
        return True
