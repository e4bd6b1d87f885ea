"""Roles and the DRF permission classes built on them. Scope checks live in selectors."""

from __future__ import annotations

from rest_framework.permissions import BasePermission

from .models import Dispatcher, Merchant, Rider, Staff

STAFF_OF_USER = Staff._meta.get_field("user").remote_field  # the user's reverse one-to-one to Staff


def rider_of(user) -> Rider | None:
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.rider
    except Rider.DoesNotExist:
        return None


def staff_of(user) -> Staff | None:
    """The staff membership with its store, fetched in one query and kept on the request's user."""
    if not getattr(user, "is_authenticated", False):
        return None
    if not hasattr(user, "_pd_staff"):
        if STAFF_OF_USER.is_cached(user):  # loaded with the user (dispatch.auth): store included
            user._pd_staff = STAFF_OF_USER.get_cached_value(user)
        else:
            user._pd_staff = Staff.objects.select_related("store").filter(user=user).first()
    return user._pd_staff


def merchant_of(user) -> Merchant | None:
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.merchant
    except Merchant.DoesNotExist:
        return None


def is_dispatcher(user) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    try:
        return user.dispatcher is not None
    except Dispatcher.DoesNotExist:
        return False


def role_of(user) -> str | None:
    """The account's role, computed once per user object (a request's user): each miss would be a query."""
    cached = getattr(user, "_pd_role", False)
    if cached is not False:
        return cached
    role = None
    if rider_of(user):
        role = "rider"
    elif staff_of(user):
        role = "staff"
    elif is_dispatcher(user):
        role = "dispatcher"
    elif merchant_of(user):
        role = "merchant"
    if getattr(user, "is_authenticated", False):
        user._pd_role = role
    return role


class _Role(BasePermission):
    role = ""
    message = "Your role may not use this endpoint."

    def has_permission(self, request, view) -> bool:
        return role_of(request.user) == self.role


class IsRider(_Role):
    role = "rider"


class IsStaff(_Role):
    role = "staff"


class IsDispatcher(_Role):
    role = "dispatcher"


class IsMerchant(_Role):
    role = "merchant"
