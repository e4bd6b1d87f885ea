"""The masked chat at rest, played by someone holding a copy of the database, and after crypto-shredding."""

from __future__ import annotations

import pytest

import dispatch.models as models
from dispatch import selectors
from dispatch.services import rtc
from dispatch.services.privacy import chat_open, order_shred
from tests.adversary.test_secrets_at_rest import every_stored_value
from tests.rtc_helpers import token_of

pytestmark = pytest.mark.django_db

SECRET_TEXT = "Gate code 4471, flat 9B round the back"


def _exchange(order_id: int, token: str, rider_user) -> None:
    rider = rtc.Caller("rider", user=rider_user)
    customer = rtc.Caller("customer", token=token)
    for party, to, text in ((rider, "customer", "I'm downstairs"), (customer, "rider", SECRET_TEXT)):
        order = selectors.access_party_order(party=party, order_id=order_id)
        rtc.chat_send(party=party, order=order, to=to, text=text, client_id="x")


def test_no_table_holds_chat_text_and_the_log_has_no_content(assigned_order, demo, dispatcher):
    """Plays a database reader (finding: chat text must be sealed like other PII): after a rider-customer
    exchange, no value in any table (chat rows, the socket outbox, the audit chain, the interaction log)
    contains the text; the parties still read it through the privacy service."""
    order_id, token = assigned_order["id"], token_of(assigned_order)
    _exchange(order_id, token, demo["rider1"])
    leaks = [(m, f) for m, f, text in every_stored_value() if "Gate code" in text or "downstairs" in text]
    assert leaks == []
    history = selectors.chat_history(party=rtc.Caller("rider", user=demo["rider1"]), order_id=order_id)
    assert [m.text for m in history] == ["I'm downstairs", SECRET_TEXT]
    log = dispatcher.get(f"/api/dispatch/orders/{order_id}/interactions/").json()
    assert [(r["kind"], r["from"]["role"], r["to"]["role"]) for r in log] == [("chat", "rider", "customer"),
                                                                            ("chat", "customer", "rider")]
    assert "Gate" not in repr(log)


def test_shredding_the_order_deletes_the_chat_and_a_stolen_copy_stays_sealed(assigned_order, demo):
    """Plays someone who copied the chat rows before the order was shredded (finding: chat must die with the
    order): after `order_shred` the rows are gone, and the copied ciphertext cannot be opened any more."""
    order_id, token = assigned_order["id"], token_of(assigned_order)
    _exchange(order_id, token, demo["rider1"])
    stolen = list(models.ChatMessage.objects.filter(order_id=order_id))
    order = models.Order.objects.get(pk=order_id)
    assert len(chat_open(order=order, messages=stolen, reader="rider")) == 2  # readable before the shred
    order_shred(order=order)
    assert not models.ChatMessage.objects.filter(order_id=order_id).exists()
    assert chat_open(order=models.Order.objects.get(pk=order_id), messages=stolen, reader="rider") == {}


def test_a_party_reads_only_its_own_conversations(assigned_order, demo):
    """Plays the store's staff asking for the order's chat history: the rider-customer thread is not theirs."""
    order_id, token = assigned_order["id"], token_of(assigned_order)
    _exchange(order_id, token, demo["rider1"])
    store = rtc.Caller("store", user=demo["store1"])
    assert selectors.chat_history(party=store, order_id=order_id) == []
    order = models.Order.objects.get(pk=order_id)
    assert chat_open(order=order, messages=list(models.ChatMessage.objects.all()), reader="store") == {}
