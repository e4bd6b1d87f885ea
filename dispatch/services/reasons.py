"""The reason codes of the exits from a delivery, and what the customer may be told of each.

Only codes are stored and audited, never free text: a note typed by a clerk or a rider may name a person."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

CANCEL_PARTIES = ("merchant", "dispatch", "store")

CANCEL_REASONS = {
    "customer_request": _("the customer asked to cancel"),
    "out_of_stock": _("an item is out of stock"),
    "store_closed": _("the store is closed"),
    "no_rider": _("no rider was available"),
    "duplicate": _("a duplicate order"),
    "address_problem": _("the address could not be served"),
    "payment": _("a payment problem"),
    "other": _("another reason"),
}

FAIL_REASONS = {
    "unreachable": _("the rider could not reach you"),
    "refused": _("the delivery was refused"),
    "wrong_address": _("the rider could not find the address"),
    "unsafe": _("the rider could not deliver safely"),
}

# What the tracking page says about who ended the order: the customer sees a party, never a person.
CANCELLED_BY_TEXT = {
    "merchant": _("cancelled by the store"),
    "store": _("cancelled by the store"),
    "dispatch": _("cancelled by the delivery service"),
}

EXIT_TEXT = {
    "failed": _("The delivery did not succeed"),
    "returning": _("Your order is on its way back to the store"),
    "returned": _("Your order was returned to the store"),
    "cancelled": _("Your order was cancelled"),
}
