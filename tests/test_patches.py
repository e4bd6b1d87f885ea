"""Each module of dispatch/patches copies or reaches into a library's private internals, written against one
release. These fail loudly when the installed release is another: re-read the module against the new release
before changing the pin (pyproject.toml) and the module's WRITTEN_FOR."""

from __future__ import annotations

from importlib.metadata import version

import pytest

from dispatch.patches import autobahn, channels_redis, daphne, django


@pytest.mark.parametrize(("module", "what"), [
    (daphne, "Server.application_checker and Server.create_application in daphne/server.py"),
    (autobahn, "the protocol's CONFIG_ATTRS, send_queue and handshake attributes (autobahn/websocket/protocol.py, "
               "daphne/ws_protocol.py)"),
    (channels_redis, "_group_key, consistent_hash, _map_channel_keys_to_connection, receive_buffer, _layers and "
                     "group_send's Lua script in channels_redis/core.py"),
    (django, "Model._state.fields_cache and _prefetched_objects_cache (django/db/models/base.py)"),
], ids=["daphne", "autobahn", "channels-redis", "django"])
def test_the_patched_library_is_the_release_the_patch_was_written_for(module, what):
    for library, written_for in module.WRITTEN_FOR.items():
        installed = version(library)
        assert installed == written_for, (
            f"{library} {installed} is installed, but {module.__name__} was written against {written_for}: "
            f"re-check {what}, then update WRITTEN_FOR and the pin in pyproject.toml")


def test_the_pins_match_the_patches():
    """pyproject.toml pins each patched library to the release its patch was written for."""
    import tomllib
    from pathlib import Path

    pins = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]["dependencies"]
    for module in (daphne, autobahn, channels_redis, django):
        for library, written_for in module.WRITTEN_FOR.items():
            assert any(p.lower().replace("_", "-").startswith(f"{library.lower()}=={written_for}") for p in pins), \
                f"pyproject.toml does not pin {library}=={written_for} ({module.__name__})"
