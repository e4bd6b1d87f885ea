"""Factories for test data. Customer PII here is fictional and distinctive, so a leak is easy to grep."""

from __future__ import annotations

import factory

from dispatch.models import Rider, Store

CUSTOMER_NAME = "Zhang Sanfeng"
CUSTOMER_PHONE = "+44 7700 905678"
STREET = "221B Baker Street"
BUILDING = "Marylebone Court"
UNIT = "Flat 7"
DOOR_CODE = "4921"
NOTES = "Blue door behind the bakery"
SENSITIVE_ITEM = "Sertraline 50mg"
DOOR = (51.5033, -0.1196)


def order_payload(**overrides) -> dict:
    payload = {
        "external_ref": "POS-1001",
        "customer": {
            "name": CUSTOMER_NAME,
            "phone": CUSTOMER_PHONE,
            "address": {"area": "Westminster", "street": STREET, "building": BUILDING, "unit": UNIT,
                        "door_code": DOOR_CODE, "notes": NOTES},
            "lat": DOOR[0],
            "lng": DOOR[1],
        },
        "items": [{"name": "Plasters", "qty": 2, "sensitive": False},
                  {"name": SENSITIVE_ITEM, "qty": 1, "sensitive": True}],
        "consent": {"number_protection": True, "marketing": False},
    }
    payload.update(overrides)
    return payload


PII_STRINGS = [CUSTOMER_NAME, "7700 905678", "7700905678", STREET, BUILDING, UNIT, NOTES, SENSITIVE_ITEM, "Baker"]


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store

    name = factory.Sequence(lambda n: f"Store {n}")
    address = "1 Test Road"
    lat = 51.5
    lng = -0.12
    timezone = "Europe/London"


class RiderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Rider

    user = factory.SubFactory("tests.factories.UserFactory")
    display_name = factory.Sequence(lambda n: f"Rider {n}")
    phone = factory.Sequence(lambda n: f"+44770090{n:04d}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "auth.User"
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")


def tracking_token_of(created: dict) -> str:
    """The tracking token from the URL the merchant received at creation (the database holds only a digest)."""
    return created["tracking_url"].rstrip("/").rsplit("/", 1)[1]


def delivery_pin_of(created: dict) -> str:
    """The delivery PIN the customer's tracking page shows for the order the merchant created."""
    from dispatch import tokens

    return tokens.delivery_pin(tracking_token_of(created))
