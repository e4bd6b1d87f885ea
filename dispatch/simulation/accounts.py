# ruff: noqa: S311 - simulated placement, nothing secret
"""The bulk set-up step. It runs in the server's environment and writes rows directly: dedicated sim
accounts, never the demo logins, with unusable passwords, tokens and sessions minted through the session
engine, so that 10,000 riders cost no password hash at all."""

from __future__ import annotations

import math
import random
from typing import Any

from .geo import offset

SIM_PREFIX = "sim"
ORDERS_PER_COMMIT = 250


def accounts_setup(*, riders: int, orders: bool, prefix: str = SIM_PREFIX, seed: int = 1) -> dict[str, Any]:
    """Sim riders (on duty), a sim merchant, store staff and dispatcher for the first store, each with an
    API token and a session; with `orders`, one picked-up order per rider (created through the services, so
    the reveal engine runs on every ping). Idempotent for the accounts."""
    from datetime import timedelta

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.sessions.models import Session
    from django.db import transaction
    from django.utils import timezone
    from django.utils.crypto import get_random_string
    from rest_framework.authtoken.models import Token

    from dispatch.models import Dispatcher, Merchant, Order, OrderStatus, Rider, Staff, Store
    from dispatch.services.orders import order_assign, order_create

    rng = random.Random(seed)
    User = get_user_model()
    store = Store.objects.order_by("pk").first()
    if store is None:
        raise RuntimeError("No store: run demo_data first.")
    unusable = make_password(None)  # one value for every sim account: nobody logs in with a password
    backend = "dispatch.auth.RoleBackend"  # the backend that loads a session's user (axes only counts failures)
    names = [f"{prefix}-rider-{i:05d}" for i in range(1, riders + 1)]
    roles = [f"{prefix}-merchant", f"{prefix}-staff", f"{prefix}-dispatcher"]
    with transaction.atomic():
        existing = set(User.objects.filter(username__in=names + roles).values_list("username", flat=True))
        User.objects.bulk_create([User(username=n, password=unusable) for n in names + roles if n not in existing],
                                 batch_size=1000)
        users = {u.username: u for u in User.objects.filter(username__in=names + roles)}
        have_rider = set(Rider.objects.filter(user__username__in=names).values_list("user__username", flat=True))
        Rider.objects.bulk_create([Rider(user=users[n], display_name=f"Sim {n.rsplit('-', 1)[1]}", phone="+447700900000",
                                         on_duty=True) for n in names if n not in have_rider], batch_size=1000)
        Rider.objects.filter(user__username__in=names).update(on_duty=True)
        merchant, _ = Merchant.objects.get_or_create(user=users[roles[0]])
        merchant.stores.set([store])
        Staff.objects.update_or_create(user=users[roles[1]], defaults={"store": store})
        Dispatcher.objects.get_or_create(user=users[roles[2]])
        have_token = set(Token.objects.filter(user__in=users.values()).values_list("user_id", flat=True))
        Token.objects.bulk_create([Token(user=u, key=Token.generate_key()) for u in users.values() if u.pk not in have_token],
                                  batch_size=1000)
        tokens = dict(Token.objects.filter(user__in=users.values()).values_list("user_id", "key"))
        # Sessions written with the session engine's encoding: what a login would store, minus the hash.
        engine = __import__(settings.SESSION_ENGINE, fromlist=["SessionStore"]).SessionStore()
        expires = timezone.now() + timedelta(days=1)
        sessions, rows = {}, []
        for u in users.values():
            key = get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789")
            sessions[u.pk] = key
            rows.append(Session(session_key=key, expire_date=expires, session_data=engine.encode(
                {SESSION_KEY: str(u.pk), BACKEND_SESSION_KEY: backend, HASH_SESSION_KEY: u.get_session_auth_hash()})))
        Session.objects.bulk_create(rows, batch_size=1000)
    rider_rows = {r.user.username: r for r in Rider.objects.filter(user__username__in=names).select_related("user")}
    out_riders = []
    for n in names:
        r = rider_rows[n]
        # A destination 2-3 km from the store; the rider circles it 1.5-2.5 km out (outside every reveal radius).
        bearing = rng.uniform(0, 2 * math.pi)
        far = rng.uniform(2000, 3000)
        dest = offset(store.lat, store.lng, far * math.cos(bearing), far * math.sin(bearing))
        out_riders.append({"id": r.pk, "username": n, "token": tokens[r.user_id], "session": sessions[r.user_id],
                           "dest": dest, "ring_m": rng.uniform(1500, 2500), "phase": rng.uniform(0, 2 * math.pi)})
    if orders:
        for start in range(0, len(out_riders), ORDERS_PER_COMMIT):  # one commit per many orders, not per order
            with transaction.atomic():
                for spec in out_riders[start:start + ORDERS_PER_COMMIT]:
                    order = order_create(
                        merchant=merchant, store=store, external_ref=f"SIM-{spec['id']}",
                        customer={"name": "Sim Customer", "phone": "+447700900000", "lat": spec["dest"][0],
                                  "lng": spec["dest"][1], "address": {"area": "Simtown", "street": "1 Sim Street"}},
                        items=[{"name": "Parcel", "qty": 1}], consent={"number_protection": True})
                    order_assign(order_id=order.pk, rider_id=spec["id"], by=None)
                    spec["order"] = order.pk
        Order.objects.filter(pk__in=[s["order"] for s in out_riders]).update(status=OrderStatus.PICKED_UP)

    def account(name: str) -> dict[str, Any]:
        u = users[name]
        return {"id": u.pk, "username": name, "token": tokens[u.pk], "session": sessions[u.pk]}

    return {"store": {"id": store.pk, "lat": store.lat, "lng": store.lng}, "riders": out_riders,
            "merchant": account(roles[0]), "staff": account(roles[1]), "dispatcher": account(roles[2])}
