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

from .patches.django import release

ROLE_RELATIONS = ("rider", "staff__store", "dispatcher", "merchant")
_relations: ContextVar[tuple[str, ...]] = ContextVar("role_relations", default=ROLE_RELATIONS)
# Accounts loaded ahead in one query (the sockets' bulk access re-check): (relations, ids asked, found by id)
_prefetched: ContextVar[tuple[tuple[str, ...], frozenset, dict] | None] = ContextVar("prefetched_users", default=None)


@contextlib.contextmanager
def role_relations(relations: tuple[str, ...]) -> Iterator[None]:
    """Load only these role rows with the account (a socket's access re-check needs its own role's only)."""
    token = _relations.set(relations)
    try:
        yield
    finally:
        _relations.reset(token)


@contextlib.contextmanager
def users_prefetched(ids, relations: tuple[str, ...]) -> Iterator[None]:
    """Load these accounts (with these role rows) in one query; `RoleBackend.get_user` for one of them, with the
    same relations, answers from it instead of a query of its own. Everything else it does is unchanged
    (`auth.get_user` still verifies the session's hash; an inactive account is still refused)."""
    wanted = frozenset(ids)
    users = {u.pk: u for u in get_user_model()._default_manager.select_related(*relations).filter(pk__in=wanted)}
    token = _prefetched.set((relations, wanted, users))
    try:
        yield
    finally:
        _prefetched.reset(token)
        release(users.values())  # each account and its role rows cache each other (dispatch/patches/django.py)


def users_prefetching() -> bool:
    """Whether accounts come from a `users_prefetched` block (which releases them itself, once all are checked)."""
    return _prefetched.get() is not None


class RoleBackend(ModelBackend):
    """ModelBackend whose session user arrives with its rider, staff (with the store), dispatcher and
    merchant rows joined. A relation the account lacks is cached as absent, so asking costs nothing."""

    def get_user(self, user_id):
        relations, ahead = _relations.get(), _prefetched.get()
        if ahead is not None and ahead[0] == relations and user_id in ahead[1]:
            user = ahead[2].get(user_id)
        else:
            user = get_user_model()._default_manager.select_related(*relations).filter(pk=user_id).first()
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
