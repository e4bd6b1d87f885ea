"""The role arrives with the account: a session or token request resolves who it is (rider, staff with
its store, dispatcher, merchant) in the one query that loads the user, and the counter lookup costs a
pinned number of queries end to end."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from dispatch.auth import RoleBackend
from dispatch.permissions import is_dispatcher, merchant_of, rider_of, role_of, staff_of

ROLE_TABLE = re.compile(r'FROM "dispatch_(rider|staff|dispatcher|merchant)"\s')
ROLES = {"rider1": "rider", "store1": "staff", "dispatcher1": "dispatcher", "merchant1": "merchant"}


@pytest.mark.django_db
@pytest.mark.parametrize("username", list(ROLES))
def test_the_session_user_comes_with_its_role_in_one_query(demo, username):
    with CaptureQueriesContext(connection) as ctx:
        user = RoleBackend().get_user(demo[username].pk)
        role = role_of(user)
        staff = staff_of(user)
        store = staff.store.name if staff else None
        others = (rider_of(user), merchant_of(user), is_dispatcher(user))
    assert len(ctx.captured_queries) == 1, [q["sql"] for q in ctx.captured_queries]
    assert role == ROLES[username]
    assert (store is not None) == (role == "staff")
    assert (others[0] is not None, others[1] is not None, others[2]) == (role == "rider", role == "merchant",
                                                                         role == "dispatcher")


@pytest.mark.django_db
def test_an_inactive_or_missing_account_is_nobody(demo):
    user = demo["store1"]
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert RoleBackend().get_user(user.pk) is None
    assert RoleBackend().get_user(999_999) is None


@pytest.mark.django_db
def test_a_user_loaded_elsewhere_still_gets_its_role(demo):
    """Without the joined rows (a user fetched by other code) the role is still right, at query cost."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username="store1")
    assert role_of(user) == "staff" and staff_of(user).store.pk == demo["store1"].staff.store_id


@pytest.mark.django_db
def test_token_requests_load_the_role_with_the_token(demo):
    token, _ = Token.objects.get_or_create(user=demo["merchant1"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/api/stores/").status_code == 200
    role_queries = [q["sql"] for q in ctx.captured_queries if ROLE_TABLE.search(q["sql"])]
    assert role_queries == [], role_queries
    assert len(ctx.captured_queries) == 2  # the token with its user and role rows; the merchant's stores
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    r = bad.get("/api/stores/")
    assert r.status_code == 401 and r.json()["code"] == "authentication_failed"
    demo["merchant1"].is_active = False
    demo["merchant1"].save(update_fields=["is_active"])
    assert client.get("/api/stores/").status_code == 401


@pytest.mark.django_db
def test_a_counter_lookup_over_a_session_costs_a_pinned_number_of_queries(ready_order, demo, settings,
                                                                         django_assert_num_queries):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    client = Client()
    client.force_login(demo["store1"])
    url = f"/api/pickup/lookup/?code={ready_order['pickup_code']}"
    assert client.get(url).status_code == 200
    # the user with its role rows, the failure counts (one indexed query: they live in the database), the
    # order, the audit append (head, event, head) and the items (the session comes from the cache);
    # on PostgreSQL the audit append also runs BEGIN/COMMIT, which the count does not include.
    with django_assert_num_queries(7):
        assert client.get(url).status_code == 200
