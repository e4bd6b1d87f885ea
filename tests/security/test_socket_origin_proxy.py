"""The websocket Origin check behind a TLS-terminating proxy: daphne puts no scheme in a socket's scope, so the
site's own origin is https only through SECURE_PROXY_SSL_HEADER (as Django decides it for HTTP)."""

from __future__ import annotations

import pytest

from config.origins import origin_allowed


def scope(origin: str, proto: str | None = None) -> dict:
    headers = [(b"host", b"localhost:8443"), (b"origin", origin.encode())]
    if proto is not None:
        headers.append((b"x-forwarded-proto", proto.encode()))
    return {"type": "websocket", "headers": headers}


@pytest.fixture
def behind_proxy(settings):
    settings.ALLOWED_HOSTS = ["localhost"]
    settings.CSRF_TRUSTED_ORIGINS = []
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    return settings


def test_https_page_accepted_http_page_refused_behind_the_proxy(behind_proxy):
    assert origin_allowed(scope("https://localhost:8443", proto="https"))
    assert not origin_allowed(scope("http://localhost:8443", proto="https"))


def test_without_the_proxy_header_the_connection_is_plain(behind_proxy):
    assert not origin_allowed(scope("https://localhost:8443"))
    assert origin_allowed(scope("http://localhost:8443"))
    assert not origin_allowed(scope("https://localhost:8443", proto="http"))


def test_the_header_means_nothing_without_the_setting(settings):
    settings.ALLOWED_HOSTS = ["localhost"]
    settings.CSRF_TRUSTED_ORIGINS = []
    settings.SECURE_PROXY_SSL_HEADER = None
    assert not origin_allowed(scope("https://localhost:8443", proto="https"))  # a client's own header is not trusted
    assert origin_allowed(scope("http://localhost:8443", proto="https"))
