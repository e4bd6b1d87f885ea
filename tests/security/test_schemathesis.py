"""schemathesis over the whole OpenAPI schema (`/api/schema/`), in process (Django's WSGI handler on the test
database), each operation called as the party it is for (`Authorization: Token ...` from the demo accounts).
Every answer must be no 5xx, a documented status, and match its documented schema and content type.
Bounded: a few examples per operation (about a minute in all). Totals are printed at the end of the module.
Any client of the API, findings "bad input gives a 500" and "the schema is not true"."""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, Phase, settings
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import order_payload

ROLE_BY_PREFIX = [("/api/dispatch/", "dispatcher1"), ("/api/orders/", "merchant1"), ("/api/pickup/", "store1"),
                  ("/api/rider/", "rider1"), ("/api/stores/", "merchant1"), ("/api/quotes/", "merchant1")]
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
TOTALS: Counter = Counter()


@pytest.fixture(scope="module", autouse=True)
def _report_totals(request):
    yield
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    operations = sum(1 for key in TOTALS if isinstance(key, str) and key.startswith("op "))
    line = (f"schemathesis: {operations} operations, {TOTALS['requests']} requests, "
            f"{TOTALS['5xx']} 5xx")
    statuses = sorted((k, v) for k, v in TOTALS.items() if isinstance(k, int))
    with capture.global_and_fixture_disabled():
        print(f"\n{line}; statuses {statuses}")


schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
# Valid and invalid inputs both: invalid ones must be refused with a documented 4xx, never a 5xx.
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])


@pytest.fixture
def parties(demo, client_for):
    """Tokens for the demo accounts, and a real order (assigned to rider1) with its tracking token."""
    tokens = {name: Token.objects.get_or_create(user=user)[0].key for name, user in demo.items()}
    created = client_for("merchant1").post("/api/orders/", order_payload(), format="json").json()
    rider = demo["rider1"].rider
    client_for("dispatcher1").post(f"/api/dispatch/orders/{created['id']}/assign/", {"rider": rider.pk}, format="json")
    return {"tokens": tokens, "order": created["id"], "token": created["tracking_url"].rstrip("/").rsplit("/", 1)[1]}


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=50, deadline=None, database=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=list(HealthCheck))
def test_api_answers_are_documented_and_never_5xx(case, parties):
    role = next((user for prefix, user in ROLE_BY_PREFIX if case.path.startswith(prefix)), None)
    headers = {"Authorization": f"Token {parties['tokens'][role]}"} if role else {}
    params = case.path_parameters or {}
    # Half the generated ids are swapped for the real order (and token), so the 200 paths are exercised too.
    if isinstance(params.get("order_id"), int) and params["order_id"] % 2 == 0:
        params["order_id"] = parties["order"]
    if isinstance(params.get("token"), str) and len(params["token"]) % 2 == 0:
        params["token"] = parties["token"]
    response = case.call(headers=headers)
    TOTALS[f"op {case.operation.label}"] += 0
    TOTALS["requests"] += 1
    TOTALS[response.status_code] += 1
    TOTALS["5xx"] += response.status_code >= 500
    case.validate_response(response, checks=CHECKS, headers=headers)
