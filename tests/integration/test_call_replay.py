"""Scale profile, real processes: a correctly signed Twilio webhook replayed many times at once, across two
daphne servers on one PostgreSQL database, dials once (finding 7). The unique CallSid row is the guard:
concurrent inserts of the same CallSid wait on each other, and all but the first answer an empty <Response/>.
"""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from twilio.request_validator import RequestValidator

from dispatch.management.commands.demo_data import RIDERS
from tests.harness import LiveStack
from tests.integration.conftest import assert_no_process_errors, order_state, stack_profile

pytestmark = pytest.mark.scale

TOKEN = "replay-test-token"  # noqa: S105 - a test-only Twilio auth token
WEBHOOK = "https://example.test/telephony/twilio/voice/"
REPLAYS = 12


@pytest.fixture(scope="module")
def stack(scale_env, tmp_path_factory):
    database_url, redis_url = scale_env
    env = {"TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_WEBHOOK_URL": WEBHOOK, "TELEPHONY_PROVIDER": "twilio",
           "REDIS_PREFIX": f"pdcall{uuid.uuid4().hex[:10]}", "SWEEP_INTERVAL_S": "3600"}
    with LiveStack(tmp_path_factory.mktemp("calls"), servers=2, database_url=database_url, redis_url=redis_url,
                   env=env) as live:
        assert stack_profile(live)["vendor"] == "postgresql"
        yield live
        assert_no_process_errors(live)


def test_a_signed_webhook_replayed_concurrently_on_two_servers_dials_once(stack, parties):
    """Plays an attacker holding one captured, correctly signed webhook request, firing it at both servers at once."""
    order = parties.post_order()
    parties.assign(order, "rider1")
    call = parties("rider1").post(f"/api/rider/orders/{order['id']}/call/")
    assert call.status_code == 200, call.text
    rider_phone = {u: phone for u, _, phone in RIDERS}["rider1"]
    params = {"From": rider_phone, "To": call.json()["proxy_number"], "CallSid": "CA" + uuid.uuid4().hex}
    signature = RequestValidator(TOKEN).compute_signature(WEBHOOK, params)
    start = threading.Barrier(REPLAYS)

    def send(i: int) -> httpx.Response:
        with httpx.Client(base_url=stack.url_of(i % 2), timeout=30) as client:
            start.wait()
            return client.post("/telephony/twilio/voice/", data=params, headers={"X-Twilio-Signature": signature})

    with ThreadPoolExecutor(REPLAYS) as pool:
        responses = list(pool.map(send, range(REPLAYS)))

    assert [r.status_code for r in responses] == [200] * REPLAYS, [r.text for r in responses]
    dials = [r.text for r in responses if "<Dial" in r.text]
    empty = [r.text for r in responses if "<Dial" not in r.text]
    print(f"\n{REPLAYS} concurrent replays on 2 servers: {len(dials)} <Dial>, {len(empty)} empty responses")
    assert len(dials) == 1
    assert all("<Say" not in body and "<Number" not in body for body in empty)
    actions = order_state(stack, order["id"])["actions"]
    assert actions.count("call.connected") == 1 and actions.count("call.customer_number_used") == 1
