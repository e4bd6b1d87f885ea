"""Finding 1/2, sockets: the channel layer's Redis goes away and comes back (a restart loses every group
membership). The operator's view: no socket may stay open but deaf. Every socket of the process is told
to reconnect (close 4012, "service restart"); the page reconnects, resumes from its seq and rejoins its
groups on the layer that came back."""

from __future__ import annotations

import subprocess

import pytest
from asgiref.sync import async_to_sync
from django.test import override_settings

from tests.harness import free_port
from tests.integration.conftest import wait_for
from tests.test_websockets import connect, cookie_for

pytestmark = pytest.mark.django_db(transaction=True)


def redis_ok(port: int) -> bool:
    import redis

    client = redis.Redis(port=port)
    try:
        return bool(client.ping())
    except redis.exceptions.ConnectionError:
        return False
    finally:
        client.close()


@pytest.fixture
def own_redis():
    port = free_port()
    cmd = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.DEVNULL, start_new_session=True)]
    wait_for(lambda: redis_ok(port), timeout=10, what="redis-server")

    def restart() -> None:
        procs[-1].kill()
        procs[-1].wait(timeout=10)
        procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, start_new_session=True))
        wait_for(lambda: redis_ok(port), timeout=10, what="redis-server again")

    layer = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                         "CONFIG": {"hosts": [f"redis://127.0.0.1:{port}/0"], "prefix": "pdtest:asgi"}}}
    with override_settings(CHANNEL_LAYERS=layer):
        from channels.layers import channel_layers

        channel_layers.backends.clear()
        yield restart
        channel_layers.backends.clear()
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def test_every_socket_of_the_process_is_told_to_reconnect_when_the_layer_restarts(demo, own_redis):
    """Operator, Redis restart (findings 1 and 2): both open sockets close with 4012; neither stays deaf."""
    cookies = [cookie_for(demo["dispatcher1"]), cookie_for(demo["rider1"])]
    closes = []

    async def scenario():
        desk, ok1, _ = await connect("/ws/dispatch/", cookies[0])
        rider, ok2, _ = await connect("/ws/rider/", cookies[1])
        assert ok1 and ok2
        await async_to_sync_free(own_redis)
        for comm in (desk, rider):
            closes.append(await comm.receive_output(timeout=10))
        for comm in (desk, rider):
            await comm.wait(timeout=5)

    async_to_sync(scenario)()
    assert closes == [{"type": "websocket.close", "code": 4012}] * 2


async def async_to_sync_free(call) -> None:
    from asgiref.sync import sync_to_async

    await sync_to_async(call, thread_sensitive=False)()
