"""The OpenAPI schema documents every operation's 4xx answers, in the `{code, detail}` shape of
`dispatch/errors.py` (REST_FRAMEWORK's DEFAULT_SCHEMA_CLASS).

The statuses follow from the view: a body or query parameters -> 400; authentication classes (a bad token
is refused even where anyone may call) -> 401; a role permission, or a write a session may make (CSRF) -> 403;
a path parameter -> 404; a write behind a permission (wrong state) -> 409. A view adds what its services
raise beyond that in `error_statuses`, e.g. `(429,)` where a limit applies."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny

from .serializers import ErrorOut

DESCRIPTIONS = {
    400: "Bad input: `invalid` (with `errors` per field), `malformed` (not JSON, nested too deep or too large), "
         "or a domain code.",
    401: "Not logged in, or a bad token.",
    403: "Your role may not do this (or a session write without its CSRF token).",
    404: "Missing, or not yours: the same answer.",
    409: "The order's state does not allow this.",
    429: "Rate-limited: wait and try again.",
}
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


class AutoSchema(SpectacularAutoSchema):
    def error_statuses(self) -> set[int]:
        view = self.view
        permissions = list(getattr(view, "permission_classes", []))
        authentication = list(getattr(view, "authentication_classes", []))
        statuses = set(getattr(view, "error_statuses", ()))
        parameters = [p for p in self._get_parameters() if p.get("in") != "path"]
        if parameters or (self.method in UNSAFE and self.get_request_serializer() is not None):
            statuses.add(400)
        if authentication:
            statuses.add(401)
        open_to_all = not permissions or any(isinstance(p, type) and issubclass(p, AllowAny) for p in permissions)
        if any(getattr(p, "role", "") for p in permissions) or (
                self.method in UNSAFE and any(issubclass(a, SessionAuthentication) for a in authentication)):
            statuses.add(403)
        if "{" in self.path:
            statuses.add(404)
        if self.method in UNSAFE and not open_to_all:
            statuses.add(409)
        if getattr(view, "throttle_classes", None):  # e.g. the tracking link's limit per address
            statuses.add(429)
        return statuses

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for status in sorted(self.error_statuses()):
            responses.setdefault(str(status), self._get_response_for_code(
                OpenApiResponse(ErrorOut, description=DESCRIPTIONS[status]), str(status), direction=direction))
        return responses
