"""Finding 9 (logs): the tracking token is the customer's capability. Whoever reads the server's output
(an operator, a log shipper, a support ticket with a pasted log) must not find it: not in daphne's access
log, not in Django's 404/500 lines."""

from __future__ import annotations

import logging
import re
import secrets

import pytest
from django.test import Client

from tests.harness import LiveStack
from tests.integration.conftest import Parties, Socket, is_event, refusal, wait_for

REDACTED = ("/t/<redacted>/", "/api/track/<redacted>/", "/ws/track/<redacted>/")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with LiveStack(tmp_path_factory.mktemp("accesslog")) as s:
        yield s


def test_a_whole_delivery_leaves_no_token_in_the_server_output(stack):
    """Plays an operator reading a real daphne's output (embedded profile) after a delivery that used the tracking
    page, its API and its socket, plus strangers' made-up links: no token, and the redacted forms are there."""
    parties = Parties(stack)
    try:
        order = parties.post_order()
        token = order["token"]
        customer = parties.anonymous
        assert customer.get(f"/t/{token}/").status_code == 200
        socket = Socket(stack.url, f"/ws/track/{token}/", customer, name="track")
        try:
            parties.assign(order)
            parties.ready(order)
            parties.hand_off(order)
            parties.deliver(order)  # reads the PIN from /api/track/<token>/
            socket.wait_for(is_event("order.updated", order["id"], status="delivered"), what="delivered")
        finally:
            socket.close()
        assert customer.get(f"/api/track/{token}/").status_code == 200

        bogus = secrets.token_urlsafe(24)
        assert customer.get(f"/t/{bogus}/").status_code == 404
        assert customer.get(f"/api/track/{bogus}/").status_code == 404
        assert customer.post(f"/api/track/{bogus}/call/").status_code == 404
        assert refusal(stack.url, f"/ws/track/{bogus}/", customer) == 403

        wait_for(lambda: stack.log("daphne0").count("WSDISCONNECT") >= 2, what="both sockets' disconnect lines")
    finally:
        parties.close()
    output = stack.log("daphne0")
    hits = {t: output.count(t) for t in (token, bogus)}
    redacted = {form: output.count(form) for form in REDACTED}
    print(f"token hits {hits}; redacted lines {redacted}")
    assert hits == {token: 0, bogus: 0}, "\n".join(line for line in output.splitlines() if token in line or bogus in line)
    assert all(redacted.values()), redacted
    assert re.search(r"WSCONNECT /ws/track/<redacted>/", output)
    assert "Not Found: /api/track/<redacted>/" in output


@pytest.mark.django_db
def test_django_404_and_500_lines_carry_no_token(caplog, demo):
    """Plays an operator reading Django's own request log: the 404 of an unknown link and a 500 on a tracking path
    name the path redacted."""
    token = secrets.token_urlsafe(24)
    with caplog.at_level(logging.INFO):
        assert Client().get(f"/api/track/{token}/").status_code == 404
        assert Client().get(f"/t/{token}/").status_code == 404
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            logging.getLogger("django.request").error("Internal Server Error: %s", f"/api/track/{token}/call/",
                                                      exc_info=True)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert token not in text
    assert "Not Found: /api/track/<redacted>/" in text
    assert "Internal Server Error: /api/track/<redacted>/call/" in text
