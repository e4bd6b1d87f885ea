"""Roles and the DRF permission classes built on them. Scope checks live in selectors."""

from __future__ import annotations

from rest_framework.permissions import BasePermission

from .models import Dispatcher, Merchant, Rider, Staff


def rider_of(user) -> Rider | None:
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.rider
    except Rider.DoesNotExist:
        return None


def staff_of(user) -> Staff | None:
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.staff
    except Staff.DoesNotExist:
        return None


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
    if rider_of(user):
        return "rider"
    if staff_of(user):
        return "staff"
    if is_dispatcher(user):
        return "dispatcher"
    if merchant_of(user):
        return "merchant"
    return None


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
