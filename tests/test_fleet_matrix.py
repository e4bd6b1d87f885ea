"""The authorisation matrix's fleet dimension (docs/fleets.md): every `/api/dispatch/` endpoint and the
`/ws/dispatch/` socket, for a dispatcher scoped to the platform's fleet and one scoped to merchant1's own fleet,
against every object (order, rider, store, alert) of the other fleet. 0 reads and 0 actions: another fleet's
order is a 404, its rider is no rider (the answer for a missing one), and no frame, live or replayed, names it.

One cell is one (endpoint or frame source, scoped dispatcher, object of the other fleet) checked; each test prints
its count. A new `/api/dispatch/` endpoint fails `test_every_dispatch_endpoint_is_in_the_matrix` until it has a
row here."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.urls import URLResolver, get_resolver
from rest_framework.test import APIClient

from dispatch.models import Alert, Dispatcher, Grant, Order, Rider
from dispatch.services import counter
from dispatch.services.alerts import alert_raise
from dispatch.services.delivery import location_spoof_alert
from dispatch.services.lines import line_chat_send
from dispatch.services.rtc import Caller, chat_send
from tests.factories import order_payload
from tests.security.socket_helpers import frames_until_quiet, login_cookie, open_socket, shut

DESKS = ("platform", "merchant")  # the two scoped dispatchers: desk-platform and dispatcher2 (merchant1's fleet)
OWN = object()  # in a body: the desk's own rider

# Endpoints that name an order in the path: (method, body). Another fleet's order answers 404 and nothing changes.
ORDER_ENDPOINTS: dict[str, tuple[str, Any]] = {
    "api/dispatch/orders/{}/assign/": ("post", {"rider": OWN}),
    "api/dispatch/orders/{}/break-glass/": ("post", {"reason": "customer collapsed at the door"}),
    "api/dispatch/orders/{}/cancel/": ("post", {"reason": "other"}),
    "api/dispatch/orders/{}/retry/": ("post", None),
    "api/dispatch/orders/{}/pin-unlock/": ("post", {"reason": "customer confirmed by phone"}),
    "api/dispatch/orders/{}/interactions/": ("get", None),
    "api/dispatch/orders/{}/suggestions/": ("get", None),
    "api/dispatch/orders/{}/offer/": ("post", {"rider": OWN}),
}
# Endpoints that name a rider in the body: on an order both fleets see, another fleet's rider is refused as unknown.
RIDER_ENDPOINTS = {"api/dispatch/orders/{}/assign/", "api/dispatch/orders/{}/offer/"}
# Lists: none of their entries is another fleet's.
LIST_ENDPOINTS = {"api/dispatch/orders/", "api/dispatch/riders/", "api/dispatch/alerts/", "api/dispatch/lines/",
                  "api/dispatch/orders/{}/suggestions/", "api/dispatch/overload/", "api/stores/"}
ALERT_ENDPOINTS = {"api/dispatch/alerts/{}/ack/": ("post", {"note": "seen"})}


def dispatch_routes() -> set[str]:
    def walk(patterns, prefix=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            else:
                yield prefix + str(p.pattern)

    return {re.sub(r"<[^>]+>", "{}", r) for r in walk(get_resolver().url_patterns) if r.startswith("api/dispatch/")}


@dataclass
class Scene:
    """Orders and riders of both fleets. merchant1 runs its own fleet (rider4); merchant2 has none."""

    orders: dict[str, int]
    riders: dict[str, int]
    stores: dict[str, int]
    users: dict[str, Any]
    other_orders: dict[str, set[int]] = field(default_factory=dict)
    other_riders: dict[str, set[int]] = field(default_factory=dict)
    other_stores: dict[str, set[int]] = field(default_factory=dict)
    own_rider: dict[str, int] = field(default_factory=dict)
    shared_order: int = 0

    def others(self, desk: str) -> dict[str, set[int]]:
        return {"order": self.other_orders[desk], "rider": self.other_riders[desk], "store": self.other_stores[desk]}


def build_scene(demo, client_for) -> Scene:
    desk_user = get_user_model().objects.create(username="desk-platform")
    Dispatcher.objects.create(user=desk_user, fleet_scope="platform")
    riders = {name: demo[name].rider.pk for name in ("rider1", "rider2", "rider3", "rider4")}
    stores = {name: demo[name].staff.store_id for name in ("store1", "store2")}
    everyone = client_for("dispatcher1")

    def post(merchant: str, rider: str | None) -> int:
        r = client_for(merchant).post("/api/orders/", order_payload(), format="json")
        assert r.status_code == 201, r.content
        if rider:
            a = everyone.post(f"/api/dispatch/orders/{r.json()['id']}/assign/", {"rider": riders[rider]}, format="json")
            assert a.status_code == 200, a.content
        return r.json()["id"]

    orders = {
        "m1_by_own": post("merchant1", "rider4"),  # merchant1's fleet only
        "m1_by_platform": post("merchant1", "rider2"),  # the platform's only: its rider holds it
        "m2_by_platform": post("merchant2", "rider1"),  # the platform's only
        "m2_free": post("merchant2", None),  # the platform's only: merchant2 has no fleet
        "m1_free": post("merchant1", None),  # both: either fleet may take it
    }
    scene = Scene(orders=orders, riders=riders, stores=stores,
                  users={"platform": desk_user, "merchant": demo["dispatcher2"], "all": demo["dispatcher1"]})
    scene.other_orders = {"platform": {orders["m1_by_own"]},
                          "merchant": {orders["m1_by_platform"], orders["m2_by_platform"], orders["m2_free"]}}
    scene.other_riders = {"platform": {riders["rider4"]},
                          "merchant": {riders["rider1"], riders["rider2"], riders["rider3"]}}
    scene.other_stores = {"platform": set(), "merchant": {stores["store2"]}}
    scene.own_rider = {"platform": riders["rider3"], "merchant": riders["rider4"]}
    scene.shared_order = orders["m1_free"]
    return scene


def snapshot() -> tuple:
    """What an action would change: every order's state and rider, the grants, the alerts."""
    return (list(Order.objects.order_by("pk").values_list("pk", "status", "rider_id", "cancelled_at")),
            Grant.objects.count(), list(Alert.objects.order_by("pk").values_list("pk", "acked_at", "count")))


def body_for(body: Any, scene: Scene, desk: str) -> Any:
    if body is None:
        return None
    return {k: (scene.own_rider[desk] if v is OWN else v) for k, v in body.items()}


def entries(response) -> list[dict]:
    data = response.json()
    return data if isinstance(data, list) else data.get("results", data.get("alerts", []))


def mentions(entry: dict) -> dict[str, set[int]]:
    """The ids of orders, riders and stores an entry or a frame names."""
    found: dict[str, set[int]] = {"order": set(), "rider": set(), "store": set()}

    def take(kind: str, value: Any) -> None:
        if type(value) is int:
            found[kind].add(value)
        elif isinstance(value, dict) and type(value.get("id")) is int:
            found[kind].add(value["id"])

    for kind in found:
        take(kind, entry.get(kind))
    for rider in entry.get("riders", []) if isinstance(entry.get("riders"), list) else []:
        take("rider", rider.get("rider") if isinstance(rider, dict) else None)
    if isinstance(entry.get("alert"), dict):
        for kind, ids in mentions(entry["alert"]).items():
            found[kind] |= ids
    return found


def leaks(entry: dict, others: dict[str, set[int]]) -> dict[str, set[int]]:
    return {kind: ids & others[kind] for kind, ids in mentions(entry).items() if ids & others[kind]}


def test_every_dispatch_endpoint_is_in_the_matrix():
    covered = set(ORDER_ENDPOINTS) | RIDER_ENDPOINTS | LIST_ENDPOINTS | set(ALERT_ENDPOINTS)
    missing = dispatch_routes() - covered
    assert not missing, f"/api/dispatch/ endpoints the fleet matrix does not cover (add a row): {sorted(missing)}"


@pytest.mark.django_db
def test_no_endpoint_reads_or_acts_on_another_fleets_objects(demo, client_for):
    scene = build_scene(demo, client_for)
    alerts = {"platform": alert_raise(kind="sos", key="sos:rider1", rider=demo["rider1"].rider).pk,
              "merchant": alert_raise(kind="sos", key="sos:rider4", rider=demo["rider4"].rider).pk}
    other_alert = {"platform": alerts["merchant"], "merchant": alerts["platform"]}
    for name in ("rider1", "rider4"):  # a line of each fleet's rider, for the lines list
        line_chat_send(party=Caller(role="rider", user=demo[name]), rider=demo[name].rider, to="dispatch", text="hi")
    routes = dispatch_routes() | {"api/stores/"}
    clients = {desk: APIClient() for desk in DESKS}
    for desk, client in clients.items():
        client.force_authenticate(scene.users[desk])
    before = snapshot()
    cells = 0
    for desk, client in clients.items():
        others = scene.others(desk)
        for route, (method, body) in ORDER_ENDPOINTS.items():
            if route not in routes:
                continue
            for order in others["order"]:
                r = getattr(client, method)("/" + route.format(order), body_for(body, scene, desk), format="json")
                assert r.status_code == 404, (desk, route, order, r.status_code, r.content)
                cells += 1
        for route in RIDER_ENDPOINTS & routes:
            for rider in others["rider"]:
                r = client.post("/" + route.format(scene.shared_order), {"rider": rider}, format="json")
                assert r.status_code in (400, 404), (desk, route, rider, r.status_code, r.content)
                assert r.json()["code"] != "wrong_fleet"  # the same answer as for a rider who does not exist
                cells += 1
        for route in LIST_ENDPOINTS & routes:
            path = "/" + route.format(scene.shared_order)
            r = client.get(path, {"open": 1} if "alerts" in route else None)
            assert r.status_code == 200, (desk, route, r.content)
            items = entries(r) if "overload" not in route else [r.json()]
            for item in items:
                kind = ("rider" if route.endswith(("riders/", "suggestions/", "lines/"))
                        else "store" if route == "api/stores/" else "")
                named = mentions(item)
                if kind:  # an entry of a list of riders or stores is named by `id`
                    named[kind] |= {item.get("rider", item.get("id"))} - {None}
                if route == "api/dispatch/orders/":
                    named["order"].add(item["id"])
                if "alerts" in route:
                    assert item.get("id") != other_alert[desk], (desk, item)
                assert not {k: v & others[k] for k, v in named.items() if v & others[k]}, (desk, route, item)
            if route == "api/dispatch/riders/":
                assert {item["fleet"] for item in items} == {"platform" if desk == "platform" else
                                                             f"merchant:{demo['merchant1'].merchant.pk}"}
            cells += sum(len(ids) for ids in others.values()) + ("alerts" in route)
        for route, (method, body) in ALERT_ENDPOINTS.items():
            if route in routes:
                r = getattr(client, method)("/" + route.format(other_alert[desk]), body, format="json")
                assert r.status_code == 404, (desk, route, r.status_code)
                cells += 1
    assert snapshot() == before  # nothing of anyone changed
    # The matrix is not vacuous: each desk sees its own fleet's orders, and dispatch of every fleet sees all.
    seen = {desk: {o["id"] for o in client.get("/api/dispatch/orders/").json()} for desk, client in clients.items()}
    assert seen["platform"] == {scene.orders[k] for k in ("m1_by_platform", "m2_by_platform", "m2_free", "m1_free")}
    assert seen["merchant"] == {scene.orders["m1_by_own"], scene.orders["m1_free"]}
    assert len(client_for("dispatcher1").get("/api/dispatch/orders/").json()) == 5
    assert cells >= 60
    print(f"\nfleet matrix, HTTP: {cells} cells, 0 cross-fleet reads or actions")


@pytest.mark.django_db(transaction=True)
def test_no_frame_of_another_fleet_reaches_a_scoped_dispatchers_socket(demo, client_for, settings):
    settings.PICKUP_ALERT_AFTER = 1
    settings.POSITION_FLUSH_S = 60.0  # the batch is flushed by hand below, not by a timer
    scene = build_scene(demo, client_for)
    o, r = scene.orders, scene.riders
    cookies = {desk: login_cookie(user) for desk, user in scene.users.items()}
    seq = {name: 0 for name in r}

    def ping(name: str) -> None:
        seq[name] += 1
        resp = client_for(name).post("/api/rider/location/", {"lat": 51.51, "lng": -0.12, "accuracy": 10.0,
                                                              "timestamp": time.time(), "seq": seq[name]}, format="json")
        assert resp.status_code == 200, resp.content

    def break_glass_and_chat(order: str, rider: str) -> None:
        bg = client_for("dispatcher1").post(f"/api/dispatch/orders/{o[order]}/break-glass/",
                                            {"reason": "rider reports an emergency"}, format="json")
        assert bg.status_code == 200, bg.content
        chat_send(party=Caller("rider", user=demo[rider]), order=Order.objects.get(pk=o[order]), to="dispatch",
                  text="a dog at the gate")

    def spoof(order: str, rider: str) -> None:
        location_spoof_alert(order_id=o[order], rider=demo[rider].rider, flags=["speed"])

    def sos(rider: str) -> None:
        alert_raise(kind="sos", key=f"sos:{rider}", rider=demo[rider].rider, lat=51.5, lng=-0.1)

    def ready(store: str, order: str) -> None:
        assert client_for(store).post(f"/api/pickup/orders/{o[order]}/ready/").status_code == 200

    def dispatch(path: str, body: dict) -> None:
        assert client_for("dispatcher1").post(path, body, format="json").status_code == 200

    def batched_pings() -> None:
        settings.POSITION_BATCH = True
        # A free rider shares a position at most every FREE_POSITION_EVERY_S: as if that much time had passed.
        from dispatch.live import state as live_state

        live_state._free_stored_at.clear()
        live_state._stored_fix_at.clear()
        Rider.objects.update(last_seen_at=None)
        for name in r:
            ping(name)

    # (what happens, by someone else; the objects it touches)
    actions: list[tuple[str, Callable[[], Any], dict[str, set[int]]]] = [
        ("positions", lambda: [ping(n) for n in r], {"rider": set(r.values())}),
        ("order ready", lambda: (ready("store1", "m1_by_own"), ready("store2", "m2_by_platform")),
         {"order": {o["m1_by_own"], o["m2_by_platform"]}}),
        ("spoof alert", lambda: (spoof("m1_by_own", "rider4"), spoof("m2_by_platform", "rider1")),
         {"order": {o["m1_by_own"], o["m2_by_platform"]}, "rider": {r["rider4"], r["rider1"]}}),
        ("sos alert", lambda: (sos("rider4"), sos("rider1")), {"rider": {r["rider4"], r["rider1"]}}),
        ("pickup alert", lambda: counter.failure_note(user=demo["store2"], store=demo["store2"].staff.store),
         {"store": {scene.stores["store2"]}}),
        ("chat to dispatch", lambda: (break_glass_and_chat("m1_by_own", "rider4"),
                                      break_glass_and_chat("m2_by_platform", "rider1")),
         {"order": {o["m1_by_own"], o["m2_by_platform"]}}),
        ("reassign", lambda: dispatch(f"/api/dispatch/orders/{o['m2_by_platform']}/assign/", {"rider": r["rider3"]}),
         {"order": {o["m2_by_platform"]}}),
        ("cancel", lambda: [dispatch(f"/api/dispatch/orders/{o[k]}/cancel/", {"reason": "other"})
                            for k in ("m1_by_own", "m1_by_platform", "m2_free")],
         {"order": {o["m1_by_own"], o["m1_by_platform"], o["m2_free"]}}),
        ("positions, batched", batched_pings, {"rider": set(r.values())}),
    ]

    async def scenario():
        socks = {}
        for desk, cookie in cookies.items():
            socks[desk], ok = await open_socket("/ws/dispatch/", cookie)
            assert ok, desk
        heard: dict[str, dict[str, list[dict]]] = {desk: {} for desk in socks}
        for label, act, _ in actions:
            await sync_to_async(act)()
            if label == "positions, batched":
                from dispatch.live.positions import aggregator

                await aggregator.aflush()
            for desk, sock in socks.items():
                heard[desk][label] = await frames_until_quiet(sock, quiet_s=0.3)
        for desk in DESKS:  # a reconnecting board replays what it missed: from the start
            await socks[desk].send_json_to({"type": "resume", "seq": 0})
            heard[desk]["resume"] = await frames_until_quiet(socks[desk], quiet_s=0.3)
        await shut(*socks.values())
        return heard

    heard = asyncio.run(scenario())
    cells = 0
    for desk in DESKS:
        others = scene.others(desk)
        for label, _, touched in actions:
            for frame in heard[desk][label]:
                assert not leaks(frame, others), (desk, label, frame)
            cells += sum(len(touched.get(kind, set()) & others[kind]) for kind in others)
            # Not vacuous: the desk heard about what of its own fleet the action touched, and so did the
            # dispatch of every fleet about everything.
            own = {kind: touched.get(kind, set()) - others[kind] for kind in others}
            named_here = [mentions(f) for f in heard[desk][label]]
            named_all = [mentions(f) for f in heard["all"][label]]
            for kind, ids in own.items():
                assert ids <= set().union(*[m[kind] for m in named_here]), (desk, label, kind, heard[desk][label])
            for kind, ids in touched.items():
                assert ids <= set().union(*[m[kind] for m in named_all]), ("all", label, kind)
        for frame in heard[desk]["resume"]:
            assert not leaks(frame, others), (desk, "resume", frame)
        assert heard[desk]["resume"], desk
        cells += sum(len(ids) for ids in others.values())
    assert cells >= 20
    print(f"\nfleet matrix, socket: {cells} cells, 0 cross-fleet frames")
