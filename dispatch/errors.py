"""Domain errors and their one mapping to HTTP: `{code, detail}` (+ `errors` on 400)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from rest_framework import exceptions as drf_exc
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class DomainError(Exception):
    status_code = status.HTTP_409_CONFLICT
    code = "conflict"
    default_detail = _lazy("The request conflicts with the order's state.")

    def __init__(self, detail: str | None = None, *, code: str | None = None):
        self.detail = str(detail or self.default_detail)
        if code:
            self.code = code
        super().__init__(self.detail)


class NotFound(DomainError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"
    default_detail = _lazy("Not found.")


class Invalid(DomainError):
    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid"
    default_detail = _lazy("Invalid input.")


class Forbidden(DomainError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "forbidden"
    default_detail = _lazy("Your role may not do this.")


class RateLimited(DomainError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    code = "rate_limited"
    default_detail = _lazy("Too many attempts. Wait a minute and try again.")


class NotSaved(DomainError):
    """A write that could not be made durable in time: nothing was acknowledged, the client may resend."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "not_saved"
    default_detail = _lazy("Your position could not be saved yet.")


_DRF_CODES = {
    drf_exc.ParseError: "malformed",
    drf_exc.NotAuthenticated: "not_authenticated",
    drf_exc.AuthenticationFailed: "authentication_failed",
    drf_exc.PermissionDenied: "forbidden",
    drf_exc.NotFound: "not_found",
    drf_exc.MethodNotAllowed: "method_not_allowed",
    drf_exc.UnsupportedMediaType: "unsupported_media_type",
    drf_exc.Throttled: "rate_limited",
    drf_exc.ValidationError: "invalid",
}


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response({"code": exc.code, "detail": exc.detail}, status=exc.status_code)
    if isinstance(exc, Http404):
        exc = drf_exc.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = drf_exc.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), "error")
    if isinstance(exc, drf_exc.ValidationError):
        response.data = {"code": code, "detail": _("Some fields are invalid."), "errors": response.data}
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else str(response.data)
        response.data = {"code": code, "detail": str(detail)}
    return response
