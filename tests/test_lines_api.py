"""The board's list of riders' lines to dispatch (GET /api/dispatch/lines/): after a reload the board lists the
earlier threads, most recently used first, with counts and times and no message text; scoped by fleet (another
fleet's line is absent), dispatchers only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.test import APIClient

from dispatch.models import Dispatcher, Interaction, RiderLine
from dispatch.services.lines import line_chat_send, line_of
from dispatch.services.rtc import Caller

pytestmark = pytest.mark.django_db
SECRET_WORDS = "meet me behind the depot"


def desk(scope: str) -> APIClient:
    user = get_user_model().objects.create(username=f"desk-{scope.replace(':', '-')}")
    Dispatcher.objects.create(user=user, fleet_scope=scope)
    client = APIClient()
    client.force_authenticate(user)
    return client


def write(rider, text: str = SECRET_WORDS, *, by=None) -> None:
    party = Caller(role="rider", user=rider.user) if by is None else Caller(role="dispatch", user=by)
    line_chat_send(party=party, rider=rider, to="dispatch" if by is None else "rider", text=text)


@pytest.fixture
def lines(demo):
    """rider1 (the platform's) wrote twice and was answered once, an hour ago; rider4 (merchant1's own fleet)
    wrote once, now; rider2's line was made but never used."""
    r1, r2, r4 = (demo[n].rider for n in ("rider1", "rider2", "rider4"))
    write(r1)
    write(r1, "and the gate is locked")
    write(r1, "on my way", by=demo["dispatcher1"])
    Interaction.objects.filter(line__rider=r1).update(started_at=timezone.now() - timedelta(hours=1))
    line_of(r2)
    RiderLine.objects.filter(rider=r2).update(created_at=timezone.now() - timedelta(hours=2))
    write(r4)
    return r1, r2, r4


def test_newest_first_with_counts_and_no_text(lines, dispatcher, demo):
    r1, r2, r4 = lines
    r = dispatcher.get("/api/dispatch/lines/")
    assert r.status_code == 200
    listed = r.json()
    assert [line["rider"] for line in listed] == [r4.pk, r1.pk, r2.pk]
    first = listed[1]
    assert (first["name"], first["fleet"], first["messages"], first["calls"]) == (r1.display_name, "platform", 3, 0)
    assert set(first) == {"rider", "name", "fleet", "on_duty", "messages", "calls", "created_at", "last_at"}
    assert listed[0]["fleet"] == f"merchant:{demo['merchant1'].merchant.pk}"
    assert listed[2]["messages"] == 0 and listed[2]["last_at"] == listed[2]["created_at"]
    assert SECRET_WORDS not in r.content.decode() and "gate" not in r.content.decode()


def test_a_scoped_dispatcher_lists_only_its_fleets_lines(lines, client_for):
    r1, r2, r4 = lines
    merchant_desk = client_for("dispatcher2")  # merchant1's own fleet
    assert [line["rider"] for line in merchant_desk.get("/api/dispatch/lines/").json()] == [r4.pk]
    assert [line["rider"] for line in desk("platform").get("/api/dispatch/lines/").json()] == [r1.pk, r2.pk]
    assert desk("merchant:x").get("/api/dispatch/lines/").json() == []  # a scope naming no fleet: nothing


def test_only_dispatchers_list_lines(lines, client_for):
    for name in ("rider1", "merchant1", "store1"):
        assert client_for(name).get("/api/dispatch/lines/").status_code == 403
    assert APIClient().get("/api/dispatch/lines/").status_code in (401, 403)
