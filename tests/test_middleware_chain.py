"""Under ASGI the middleware chain runs as sync code in one thread (config.middleware.SyncChainMiddleware
is last), not as async hooks that each hop to the sync thread and back: a request through Django's
async handler makes six sync/async switches, not two for every middleware (20 with our nine)."""

from __future__ import annotations

import asgiref.sync
import pytest
from django.test import AsyncClient, override_settings


def switches_for_one_request(monkeypatch, path: str = "/accounts/login/") -> int:
    count = 0
    original = asgiref.sync.SyncToAsync.__call__

    async def counting(self, *args, **kwargs):
        nonlocal count
        count += 1
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(asgiref.sync.SyncToAsync, "__call__", counting)
    response = asgiref.sync.async_to_sync(AsyncClient().get)(path)
    monkeypatch.undo()
    assert response.status_code == 200
    return count


@pytest.mark.django_db(transaction=True)
def test_the_chain_switches_to_sync_a_fixed_few_times(monkeypatch, settings):
    assert settings.MIDDLEWARE[-1] == "config.middleware.SyncChainMiddleware"
    # request_started, the chain, CSRF's process_view, the view, rendering, closing: six, not one a hook
    assert switches_for_one_request(monkeypatch) <= 6


@pytest.mark.django_db(transaction=True)
def test_without_it_every_middleware_hook_switches(monkeypatch, settings):
    """The control: Django's own middleware, left to itself under ASGI, hops for each hook."""
    with override_settings(MIDDLEWARE=[m for m in settings.MIDDLEWARE if m != "config.middleware.SyncChainMiddleware"]):
        assert switches_for_one_request(monkeypatch) >= 6 + 2 * 6  # a process_request and a process_response each
