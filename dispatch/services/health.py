"""Readiness: may this process take traffic? Small explicit checks, each with a short timeout, for GET /readyz
(dispatch/views.py) and `manage.py preflight` (docs/operations.md says what each one means).

Each check returns "" when it passes, else a short reason that names no secret value (a key's name, never its
value; a host's port, never a URL's password). `readiness()` runs them in order and names the failing parts:
"database", "redis", "broker", "migrations", "keys", "audit_anchor". When the database fails, the checks that
need it (migrations, audit_anchor) are not run: the database is the part to fix; with migrations pending, the
anchor is not checked (its table may not be there yet).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone

log = logging.getLogger(__name__)

CHECK_TIMEOUT_S = 1.0  # each network check (Redis PING, broker) gives up after this
MIGRATIONS_OK_CACHE_S = 10.0  # a passing migrations check is trusted this long (loading the graph costs ~0.1 s)
MIN_SECRET_CHARS = 32  # TOKEN_DIGEST_KEY, AUDIT_ANCHOR_KEY: free-form secrets, at least this long
PARTS = ("database", "redis", "broker", "migrations", "keys", "audit_anchor")

LOG_EVERY_S = 10.0  # a probe every few seconds from every balancer: the same failing parts are logged this often
_migrations_ok_until = 0.0  # time.monotonic() until which the last positive migrations check stands
_last_logged: dict[tuple[str, ...], float] = {}  # failing parts -> when they were last logged


def forget() -> None:
    """Drop the cached migrations result (tests; after `migrate` in the same process)."""
    global _migrations_ok_until
    _migrations_ok_until = 0.0
    _last_logged.clear()


# --- Keys -------------------------------------------------------------------------------------------------


def _b64_32(value: str) -> bool:
    try:
        raw = base64.urlsafe_b64decode(value.encode() + b"=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return False
    return len(raw) == 32


def key_problems() -> list[str]:
    """What is wrong with the vault and token keys, by setting name (never a value)."""
    problems: list[str] = []
    master = getattr(settings, "VAULT_MASTER_KEY", "")
    if not master:
        problems.append("VAULT_MASTER_KEY is not set")
    elif not _b64_32(master):
        problems.append("VAULT_MASTER_KEY is not urlsafe base64 of 32 bytes")
    for index, old in enumerate(getattr(settings, "VAULT_OLD_MASTER_KEYS", [])):
        if not _b64_32(old):
            problems.append(f"VAULT_OLD_MASTER_KEYS[{index}] is not urlsafe base64 of 32 bytes")
    digest = getattr(settings, "VAULT_DIGEST_KEY", "")
    if not digest:
        problems.append("VAULT_DIGEST_KEY is not set")
    elif not _b64_32(digest):
        problems.append("VAULT_DIGEST_KEY is not urlsafe base64 of 32 bytes")
    for name in ("TOKEN_DIGEST_KEY", "AUDIT_ANCHOR_KEY"):
        value = getattr(settings, name, "")
        if not value:
            problems.append(f"{name} is not set")
        elif len(value) < MIN_SECRET_CHARS:
            problems.append(f"{name} is shorter than {MIN_SECRET_CHARS} characters")
    named = {n: getattr(settings, n, "") for n in ("VAULT_MASTER_KEY", "VAULT_DIGEST_KEY", "TOKEN_DIGEST_KEY",
                                                    "AUDIT_ANCHOR_KEY", "SECRET_KEY")}
    seen: dict[str, str] = {}
    for name, value in named.items():
        if value and value in seen:
            problems.append(f"{name} is the same as {seen[value]}: each key must be its own")
        elif value:
            seen[value] = name
    return problems


def check_keys() -> str:
    return "; ".join(key_problems())


# --- Database, migrations, audit anchor -------------------------------------------------------------------


def check_database() -> str:
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure to answer is "not ready"
        return f"the database does not answer ({exc.__class__.__name__})"
    return ""


def pending_migrations() -> list[str]:
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]


def check_migrations(*, now: float | None = None) -> str:
    global _migrations_ok_until
    now = time.monotonic() if now is None else now
    if now < _migrations_ok_until:
        return ""
    try:
        pending = pending_migrations()
    except Exception as exc:  # noqa: BLE001
        return f"the migration state cannot be read ({exc.__class__.__name__})"
    if pending:
        return f"{len(pending)} migration(s) not applied, first {pending[0]}"
    _migrations_ok_until = now + MIGRATIONS_OK_CACHE_S
    return ""


def check_audit_anchor() -> str:
    """The signed anchor is readable under AUDIT_ANCHOR_KEY and the event it names is still there with its hash.
    No anchor at all is fine while no audit event is older than two checkpoint intervals plus a minute (a new
    install, before beat's first checkpoint); after that the anchor is missing."""
    from ..models import AuditEvent
    from .audit import _anchor_read, _Broken

    if not getattr(settings, "AUDIT_ANCHOR_KEY", ""):
        return "AUDIT_ANCHOR_KEY is not set"
    try:
        anchor = _anchor_read()
    except _Broken:
        return "the audit anchor cannot be read or its signature does not match AUDIT_ANCHOR_KEY"
    if anchor is None:
        grace = timedelta(seconds=2 * float(settings.AUDIT_CHECKPOINT_S) + 60)
        if AuditEvent.objects.filter(at__lt=timezone.now() - grace).exists():
            return "the audit anchor is missing (audit events exist that should have been anchored)"
        return ""
    stored = AuditEvent.objects.filter(pk=anchor.last_id).values_list("hash", flat=True).first()
    if stored is None or not hmac.compare_digest(stored, anchor.hash):
        return f"the audit anchor does not match the chain (event #{anchor.last_id} missing or rewritten)"
    return ""


# --- Redis, broker ------------------------------------------------------------------------------------------


def _ping(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=CHECK_TIMEOUT_S, socket_timeout=CHECK_TIMEOUT_S)
    try:
        client.ping()
    finally:
        client.close()


def check_redis() -> str:
    """PING through the cache's shared pool (the connections the cache and sessions use). Embedded profile: none."""
    if not settings.REDIS_URL:
        return ""
    try:
        from django.core.cache import cache

        client = cache._cache.get_client(write=True)  # type: ignore[attr-defined]  # the shared pool (config/cache.py)
        client.ping()
    except Exception as exc:  # noqa: BLE001
        return f"Redis does not answer PING ({exc.__class__.__name__})"
    return ""


def check_broker() -> str:
    url = settings.CELERY_BROKER_URL
    if url.startswith(("redis://", "rediss://", "unix://")):
        try:
            _ping(url)
        except Exception as exc:  # noqa: BLE001
            return f"the Celery broker (Redis) does not answer PING ({exc.__class__.__name__})"
        return ""
    if url.startswith("filesystem://"):
        options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
        for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
            folder = str(options.get(key) or "")
            if folder and not (Path(folder).is_dir() and os.access(folder, os.W_OK | os.X_OK)):
                return f"the Celery queue folder {key} is missing or not writable"
        return ""
    return f"unknown broker transport {url.split(':', 1)[0]!r}"


# --- All of them ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    part: str
    run: Callable[[], str]
    needs_database: bool = False
    needs_migrations: bool = False


CHECKS = (
    Check("database", check_database),
    Check("redis", check_redis),
    Check("broker", check_broker),
    Check("migrations", check_migrations, needs_database=True),
    Check("keys", check_keys),
    Check("audit_anchor", check_audit_anchor, needs_database=True, needs_migrations=True),
)


def readiness() -> dict[str, str]:
    """{part: reason} for every failing part, in PARTS order; empty when ready. Reasons are for logs and the
    preflight command: the endpoint answers the part names only."""
    failing: dict[str, str] = {}
    for check in CHECKS:
        if (check.needs_database and "database" in failing) or (check.needs_migrations and "migrations" in failing):
            continue
        try:
            reason = check.run()
        except Exception as exc:  # noqa: BLE001 - a check that breaks is a failing part, never a 500
            reason = f"the check failed ({exc.__class__.__name__})"
        if reason:
            failing[check.part] = reason
    if failing:
        parts, now = tuple(failing), time.monotonic()
        if now - _last_logged.get(parts, -LOG_EVERY_S) >= LOG_EVERY_S:
            _last_logged.clear()
            _last_logged[parts] = now
            log.warning("not ready: %s", "; ".join(f"{part}: {why}" for part, why in failing.items()))
    return failing
