"""`manage.py preflight`: check a configuration before its first start. One line per check, OK / WARN / FAIL and a
reason that names settings, never their values; exit code 1 on any FAIL (docs/operations.md)."""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, SystemCheckError
from django.db import connection

from dispatch.services import health

OK, WARN, FAIL = "OK", "WARN", "FAIL"
MIN_POSTGRES = 130000  # PostgreSQL 13
MIN_REDIS = (6, 0)
ICE_SCHEMES = ("stun:", "stuns:", "turn:", "turns:")
_CHECK_ID = re.compile(r"\(([a-z_]+\.[A-Z]\d+)\)")


def _where(url: str) -> str:
    """A URL's scheme, host and port: never its user, password, path or query."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{parts.scheme}://{parts.hostname or ''}{f':{port}' if port else ''}"


def _lenient() -> bool:
    return bool(settings.DEMO_MODE or getattr(settings, "TESTING", False))


def check_keys() -> tuple[str, str]:
    problems = health.key_problems()
    if problems:
        return FAIL, "; ".join(problems)
    return OK, "vault master, digest, token and anchor keys present and well-formed"


def check_deploy() -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("check", "--deploy", "--fail-level", "WARNING", stdout=out, stderr=err)
    except SystemCheckError as exc:
        ids = sorted(set(_CHECK_ID.findall(str(exc) + out.getvalue() + err.getvalue())))
        level = WARN if _lenient() else FAIL
        why = " (demo/test mode: expected)" if level == WARN else ""
        return level, f"check --deploy reports {', '.join(ids) or 'issues'}{why}: run it for the details"
    return OK, "check --deploy is clean"


def check_tls() -> tuple[str, str]:
    header = settings.SECURE_PROXY_SSL_HEADER
    if header is not None and not (isinstance(header, tuple) and len(header) == 2 and header[0].startswith("HTTP_")):
        return FAIL, "SECURE_PROXY_SSL_HEADER must be a header name starting HTTP_ and a value, e.g. " \
                     "HTTP_X_FORWARDED_PROTO,https"
    secure_cookies = settings.SESSION_COOKIE_SECURE and settings.CSRF_COOKIE_SECURE
    if settings.SECURE_SSL_REDIRECT and header is None:
        return FAIL, ("SECURE_SSL_REDIRECT is on but SECURE_PROXY_SSL_HEADER is not set: behind a TLS-terminating "
                      "proxy every request looks like plain HTTP and is redirected forever")
    if header is not None and not settings.TRUSTED_PROXY_COUNT:
        return WARN, ("SECURE_PROXY_SSL_HEADER is set but TRUSTED_PROXY_COUNT is 0: make sure the proxy overwrites "
                      "that header, else a client can claim HTTPS")
    if not secure_cookies:
        if _lenient():
            return WARN, "session and CSRF cookies are not Secure (demo/test mode: plain HTTP on 127.0.0.1)"
        return FAIL, "SESSION_COOKIE_SECURE and CSRF_COOKIE_SECURE must be on outside the demo"
    if settings.PUBLIC_BASE_URL.startswith("http://") and not _lenient():
        return FAIL, "PUBLIC_BASE_URL is http:// while the site is HTTPS-only: links in messages would break"
    return OK, "HTTPS redirect, Secure cookies and the proxy header agree"


def check_ice_servers() -> tuple[str, str]:
    servers = settings.ICE_SERVERS
    if not isinstance(servers, list):
        return FAIL, "ICE_SERVERS must be a JSON list of RTCIceServer objects"
    turn = False
    for index, server in enumerate(servers):
        urls = server.get("urls") if isinstance(server, dict) else None
        urls = [urls] if isinstance(urls, str) else urls
        if not urls or not all(isinstance(u, str) and u.startswith(ICE_SCHEMES) for u in urls):
            return FAIL, f"ICE_SERVERS[{index}] needs `urls`: stun:, stuns:, turn: or turns: URLs"
        if any(u.startswith(("turn:", "turns:")) for u in urls):
            turn = True
            if not settings.TURN_SECRET and not (server.get("username") and server.get("credential")):
                return FAIL, f"ICE_SERVERS[{index}] is a TURN server with no TURN_SECRET and no static credential"
    if not servers:
        return WARN, "ICE_SERVERS is empty: in-app calls connect only when both ends can reach each other directly"
    return OK, f"{len(servers)} ICE server(s){', TURN included' if turn else ', no TURN (calls across NAT may fail)'}"


def check_tiles() -> tuple[str, str]:
    url = settings.TILE_URL
    if not url.startswith("http"):
        return OK, "TILE_URL is served by this site"
    import httpx

    try:
        response = httpx.get(url.format(z=0, x=0, y=0), timeout=min(settings.TILE_TIMEOUT_S, 5.0),
                             headers={"User-Agent": "privacy-delivery-preflight/1"}, follow_redirects=True)
    except httpx.HTTPError as exc:
        return WARN, f"TILE_URL ({_where(url)}) is not reachable ({exc.__class__.__name__}): maps show placeholders"
    if response.status_code != 200:
        return WARN, f"TILE_URL ({_where(url)}) answers {response.status_code}: maps show placeholders"
    return OK, f"TILE_URL ({_where(url)}) answers"


def check_database() -> tuple[str, str]:
    try:
        connection.ensure_connection()
    except Exception as exc:  # noqa: BLE001
        return FAIL, f"the database does not answer ({exc.__class__.__name__})"
    if connection.vendor == "postgresql":
        version = connection.pg_version
        text = f"PostgreSQL {version // 10000}.{version % 10000}"
        if version < MIN_POSTGRES:
            return FAIL, f"{text}: 13 or later is required"
        return OK, text
    if connection.vendor == "sqlite":
        import sqlite3

        return OK, f"SQLite {sqlite3.sqlite_version} (the embedded profile)"
    return WARN, f"{connection.vendor}: not a supported database"


def check_redis() -> tuple[str, str]:
    if not settings.REDIS_URL:
        return OK, "no REDIS_URL: the embedded profile (in-memory layer, local cache, filesystem broker)"
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=health.CHECK_TIMEOUT_S,
                                  socket_timeout=health.CHECK_TIMEOUT_S)
    try:
        version = str(client.info("server").get("redis_version", "0"))
    except Exception as exc:  # noqa: BLE001
        return FAIL, f"Redis at {_where(settings.REDIS_URL)} does not answer ({exc.__class__.__name__})"
    finally:
        client.close()
    parts = tuple(int(p) for p in re.findall(r"\d+", version)[:2]) or (0,)
    if parts < MIN_REDIS:
        return FAIL, f"Redis {version}: 6 or later is required"
    return OK, f"Redis {version}"


def _from_health(run: Callable[[], str], ok: str, level: str = FAIL) -> Callable[[], tuple[str, str]]:
    def check() -> tuple[str, str]:
        reason = run()
        return (level, reason) if reason else (OK, ok)
    return check


CHECKS: tuple[tuple[str, Callable[[], tuple[str, str]]], ...] = (
    ("keys", check_keys),
    ("deploy", check_deploy),
    ("tls", check_tls),
    ("ice_servers", check_ice_servers),
    ("tiles", check_tiles),
    ("database", check_database),
    ("redis", check_redis),
    ("broker", _from_health(health.check_broker, "the Celery broker answers")),
    ("migrations", _from_health(health.check_migrations, "every migration applied", WARN)),
    ("audit_anchor", _from_health(health.check_audit_anchor, "the audit anchor is readable and matches")),
)


class Command(BaseCommand):
    help = ("Check this configuration before its first start: keys, check --deploy, HTTPS and the proxy header, "
            "ICE servers, the tile server, PostgreSQL and Redis versions, the broker, migrations, the audit anchor. "
            "One line per check; exit code 1 on any FAIL. Never prints a secret.")
    requires_system_checks: list = []  # `deploy` runs them itself, and a failing one must not stop the others
    requires_migrations_checks = False

    def handle(self, *args, **options):
        failed = False
        database_ok = migrated = True
        for name, check in CHECKS:
            if not database_ok and name in ("migrations", "audit_anchor"):
                level, reason = FAIL, "not checked: the database does not answer"
            elif not migrated and name == "audit_anchor":
                level, reason = WARN, "not checked until `manage.py migrate` has run"
            else:
                try:
                    level, reason = check()
                except Exception as exc:  # noqa: BLE001 - one broken check must not hide the others
                    level, reason = FAIL, f"the check itself failed ({exc.__class__.__name__})"
            if name == "database" and level == FAIL:
                database_ok = False
            if name == "migrations" and level != OK:
                migrated = False
            failed = failed or level == FAIL
            style = {OK: self.style.SUCCESS, WARN: self.style.WARNING, FAIL: self.style.ERROR}[level]
            self.stdout.write(f"{style(f'{level:<4}')} {name:<12} {reason}")
        if failed:
            self.stdout.write(self.style.ERROR("preflight: FAIL"))
            sys.exit(1)
        self.stdout.write(self.style.SUCCESS("preflight: OK"))
