"""Tracking links cannot be guessed at speed: per client address, TRACKING_RATE_LIMIT misses a minute across the
page, the API and the socket; over it every try from the address is 429 with Retry-After. Unknown and expired
links answer as before under the limit; another address is unaffected; customers sharing one address are never
refused for their own traffic. The clock is the limiter's own, moved by hand: no sleeping."""

from __future__ import annotations

import pytest
from django.test import Client

from dispatch.tracking import limits

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(monkeypatch):
    now = {"t": 1_800_000_000.0}
    monkeypatch.setattr(limits, "_clock", lambda: now["t"])
    return now


_client = Client()


def _guess(i: int, ip: str):
    """Every tenth guess at the page, the others at the API: one count across both."""
    token = f"guess{i:06d}aaaaaaaaaaaaaaaa"
    if i % 10:
        return _client.get(f"/api/track/{token}/", REMOTE_ADDR=ip)
    return _client.get(f"/t/{token}/", REMOTE_ADDR=ip)


def test_a_thousand_guesses_a_minute_from_one_address_are_throttled(clock, assigned_order):
    answers = []
    for i in range(1000):
        answers.append(_guess(i, "203.0.113.40"))
        clock["t"] += 0.05  # 1,000 in 50 s
    statuses = [r.status_code for r in answers]
    assert statuses[:60] == [404] * 60  # unknown links: the same answer as ever, under the limit
    assert statuses[60:] == [429] * 940
    assert all(1 <= int(r["Retry-After"]) <= 60 for r in answers[60:])
    assert answers[61].json()["code"] == "rate_limited"
    assert b"Too many requests" in answers[70].content  # the page's refusal
    # A known link from that address waits too (the limit does not tell real links apart)...
    token = assigned_order["tracking_url"].rstrip("/").rsplit("/", 1)[1]
    assert Client().get(f"/api/track/{token}/", REMOTE_ADDR="203.0.113.40").status_code == 429
    # ...while another address is unaffected.
    assert Client().get(f"/api/track/{token}/", REMOTE_ADDR="198.51.100.5").status_code == 200
    assert Client().get(f"/t/{token}/", REMOTE_ADDR="198.51.100.5").status_code == 200
    # The next minute, the first address is let through again.
    clock["t"] += 60
    assert Client().get(f"/api/track/{token}/", REMOTE_ADDR="203.0.113.40").status_code == 200


def test_the_limit_is_a_setting(clock, settings):
    settings.TRACKING_RATE_LIMIT = 5
    assert [_guess(i, "203.0.113.41").status_code for i in range(7)] == [404] * 5 + [429] * 2


@pytest.mark.django_db(transaction=True)
def test_the_tracking_socket_connect_counts_misses_and_is_refused_over_the_limit(clock, settings, assigned_order):
    from asgiref.sync import async_to_sync

    from tests.security.socket_helpers import communicator

    settings.TRACKING_RATE_LIMIT = 3
    token = assigned_order["tracking_url"].rstrip("/").rsplit("/", 1)[1]

    async def connects(ip: str, link: str, n: int) -> list[bool]:
        results = []
        for _ in range(n):
            comm = communicator(f"/ws/track/{link}/")
            comm.scope["client"] = (ip, 5000)
            connected, _ = await comm.connect(timeout=3)
            results.append(connected)
            await comm.disconnect()
        return results

    # The customer's own page reconnecting, again and again: never a miss, never refused.
    assert async_to_sync(connects)("203.0.113.42", token, 5) == [True] * 5
    # Three guessed links from that address: then even the real link is refused (no oracle for a guesser).
    assert async_to_sync(connects)("203.0.113.42", "guessed" + "a" * 30, 3) == [False] * 3
    assert async_to_sync(connects)("203.0.113.42", token, 1) == [False]
    assert async_to_sync(connects)("198.51.100.42", token, 1) == [True]


def test_customers_sharing_one_address_are_never_refused_for_their_own_traffic(clock, assigned_order):
    """A carrier's NAT: hundreds of customers' pages behind one address, polling their live links. Only misses
    count, so 1,000 answers a minute of real links from one address all come back; the address's misses still
    lock it after the limit."""
    token = assigned_order["tracking_url"].rstrip("/").rsplit("/", 1)[1]
    ip = "203.0.113.50"
    statuses = []
    for i in range(1000):
        url = f"/api/track/{token}/" if i % 10 else f"/t/{token}/"
        statuses.append(_client.get(url, REMOTE_ADDR=ip).status_code)
        clock["t"] += 0.05
    assert statuses == [200] * 1000
    assert [_guess(i, ip).status_code for i in range(61)] == [404] * 60 + [429]
    assert _client.get(f"/api/track/{token}/", REMOTE_ADDR=ip).status_code == 429
