"""Authentication that loads an account's role rows with the account, in one query: the role checks
would otherwise add two or three queries to every request (the rider check, the staff membership
and its store)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

ROLE_RELATIONS = ("rider", "staff__store", "dispatcher", "merchant")
_relations: ContextVar[tuple[str, ...]] = ContextVar("role_relations", default=ROLE_RELATIONS)


@contextlib.contextmanager
def role_relations(relations: tuple[str, ...]) -> Iterator[None]:
    """Load only these role rows with the account (a socket's access re-check needs its own role's only)."""
    token = _relations.set(relations)
    try:
        yield
    finally:
        _relations.reset(token)


class RoleBackend(ModelBackend):
    """ModelBackend whose session user arrives with its rider, staff (with the store), dispatcher and
    merchant rows joined. A relation the account lacks is cached as absent, so asking costs nothing."""

    def get_user(self, user_id):
        user = get_user_model()._default_manager.select_related(*_relations.get()).filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None


class RoleTokenAuthentication(TokenAuthentication):
    """DRF's token authentication, with the token's user loaded the same way."""

    def authenticate_credentials(self, key):
        related = ["user", *(f"user__{relation}" for relation in ROLE_RELATIONS)]
        token = self.get_model().objects.select_related(*related).filter(key=key).first()
        if token is None:
            raise AuthenticationFailed(_("Invalid token."))
        if not token.user.is_active:
            raise AuthenticationFailed(_("User inactive or deleted."))
        return token.user, token
