"""Settings, read from the environment (django-environ): everything but the live path's (live.py).

Two profiles:
- embedded (default): SQLite in WAL mode, the in-memory channel layer, Celery on kombu's
  filesystem transport under var/. No server needed.
- scale: DATABASE_URL (PostgreSQL) and REDIS_URL (channel layer, cache, Celery broker).
"""

from __future__ import annotations

import os
import secrets
from base64 import urlsafe_b64decode, urlsafe_b64encode
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(environ.Env().str("VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env(
    DEBUG=(bool, False),
    DEMO_MODE=(bool, False),
    PORT=(int, 8000),
    ACCESS_REVOKE_AFTER_S=(int, 600),
    CALL_WINDOW_S=(int, 1800),
    REVEAL_STREET_M=(int, 1000),
    REVEAL_DOOR_M=(int, 150),
    RETENTION_DAYS=(int, 90),
    TRACKING_LINK_TTL_S=(int, 86400),
    HANDOFF_CODE_TTL_S=(int, 120),
    BREAK_GLASS_QUOTA_PER_DAY=(int, 5),
)


def _local_secret(name: str, factory) -> str:
    """Embedded demo only: a secret generated once into var/ and reused after."""
    path = VAR_DIR / name
    if path.exists():
        return path.read_text().strip()
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    value = factory()
    path.write_text(value)
    path.chmod(0o600)
    return value


# --- Core -----------------------------------------------------------------------------
DEBUG = env("DEBUG")
DEMO_MODE = env("DEMO_MODE")  # its own switch only: DEBUG never turns on the demo (sandbox carrier, local secrets)
TESTING = env.bool("TESTING", default=False)
PORT = env("PORT")

if DEMO_MODE or TESTING:
    SECRET_KEY = env.str("SECRET_KEY", default="") or _local_secret(
        "secret_key", lambda: secrets.token_urlsafe(50)
    )
else:
    SECRET_KEY = env.str("SECRET_KEY")  # no production default

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list(
    "CSRF_TRUSTED_ORIGINS", default=[f"http://127.0.0.1:{PORT}", f"http://localhost:{PORT}"]
)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin.apps.SimpleAdminConfig",  # no autodiscover: leaflet.admin needs GDAL
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "axes",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "leaflet",
    "dispatch",
    "dispatch.simulation",  # the load tools and the demo's sim riders (manage.py simulate, bench_*)
    "pickup",
    "rider",
]

MIDDLEWARE = [
    "config.middleware.RequestIdMiddleware",  # first: every log line of the request carries its id
    "config.middleware.HealthProbeMiddleware",  # /healthz, /readyz: before the host check and the HTTPS redirect
    "config.middleware.ServerTimingMiddleware",
    "config.middleware.ServedByMiddleware",  # only with SERVED_BY_HEADER (tests)
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # /static/ answers here: hashed, compressed, cached a year
    "dispatch.middleware.PathCharactersMiddleware",
    "config.middleware.NoStoreMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",  # the switcher's cookie, else Accept-Language
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    "config.middleware.SyncChainMiddleware",  # last: the chain runs in one thread (config/middleware.py)
]

SERVER_TIMING = env.bool("SERVER_TIMING", default=DEMO_MODE)  # the Server-Timing header (config/middleware.py)
SERVED_BY_HEADER = env.bool("SERVED_BY_HEADER", default=False)  # X-Served-By: a per-process random id (tests)

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------
DATABASE_URL = env.str("DATABASE_URL", default="")
if DATABASE_URL:
    DATABASES = {"default": env.db_url_config(DATABASE_URL)}
    DATABASES["default"].setdefault("CONN_MAX_AGE", 0)
    # A web server keeps a small pool of PostgreSQL connections (config/asgi.py asks for it): opening
    # one per request costs about 3 ms here. Workers and commands connect when they need to.
    if env.bool("DATABASE_POOL", default=False) and "postgresql" in DATABASES["default"]["ENGINE"]:
        DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool replaces persistent connections
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": 2, "max_size": env.int("DATABASE_POOL_MAX", default=8), "timeout": 10}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env.str("SQLITE_PATH", default=str(VAR_DIR / "db.sqlite3")),
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
            "TEST": {"NAME": env.str("SQLITE_TEST_PATH", default="") or None},
            # Kept open: daphne's database_sync_to_async closes connections older than this after each call.
            "CONN_MAX_AGE": env.int("SQLITE_CONN_MAX_AGE", default=600),
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer, cache, broker -------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
REDIS_PREFIX = env.str("REDIS_PREFIX", default="pd")  # lets several deployments (or test runs) share a Redis
if REDIS_URL:
    # --- Faults: Redis going away never turns a request into a 500 (config/cache.py) ---
    # An unreachable Redis is a cache miss, logged at WARNING (rate-limited); short socket timeouts so a
    # Redis that drops packets costs a request at most about a second.
    CACHES = {
        "default": {
            "BACKEND": "config.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": REDIS_PREFIX,
            "OPTIONS": {"pool_class": "config.cache.SharedConnectionPool",  # not a new connection a request
                        "socket_connect_timeout": env.float("CACHE_SOCKET_TIMEOUT_S", default=0.5),
                        "socket_timeout": env.float("CACHE_SOCKET_TIMEOUT_S", default=0.5)},
        }
    }
else:
    # Bounded, but not at Django's default of 300 entries: past it a third of the cache is culled at once, and
    # with a few hundred riders that dropped their context versions (a reload, two queries, each time).
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                          "OPTIONS": {"MAX_ENTRIES": env.int("LOCMEM_CACHE_MAX_ENTRIES", default=50_000)}}}

# --- Faults: outbox events whose after-commit send failed are resent by the beat sweep after this age ---
EVENTS_RESEND_AFTER_S = env.float("EVENTS_RESEND_AFTER_S", default=5.0)

# --- Celery ----------------------------------------------------------------------------
CELERY_QUEUE_DIR = VAR_DIR / "celery"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {"visibility_timeout": 3600, "global_keyprefix": f"{REDIS_PREFIX}:"}
else:
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_QUEUE_DIR / "queue"),
        "data_folder_out": str(CELERY_QUEUE_DIR / "queue"),
        "processed_folder": str(CELERY_QUEUE_DIR / "processed"),
        "control_folder": str(CELERY_QUEUE_DIR / "control"),
        "store_processed": False,
    }
    for _d in ("queue", "processed", "control"):
        (CELERY_QUEUE_DIR / _d).mkdir(parents=True, exist_ok=True)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_TIME_LIMIT = 60
CELERY_TASK_SOFT_TIME_LIMIT = 50
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
SWEEP_INTERVAL_S = env.float("SWEEP_INTERVAL_S", default=10.0)
AUDIT_CHECKPOINT_S = env.float("AUDIT_CHECKPOINT_S", default=60.0)  # how often beat anchors the audit head
# Offers (dispatch/services/offers.py): how long a rider has to answer (a countdown: keep it far under the broker's
# visibility timeout), after how many riders auto-dispatch hands an order to the board, and the pay's currency.
OFFER_TIMEOUT_S = env.int("OFFER_TIMEOUT_S", default=45)
AUTO_DISPATCH_MAX_RIDERS = env.int("AUTO_DISPATCH_MAX_RIDERS", default=3)
OFFER_CURRENCY = env.str("OFFER_CURRENCY", default="GBP")
CELERY_BEAT_SCHEDULE = {
    "revocation-sweep": {"task": "dispatch.tasks.revocation_sweep", "schedule": SWEEP_INTERVAL_S},
    "retention-sweep": {"task": "dispatch.tasks.retention_sweep", "schedule": 3600.0},
    "audit-checkpoint": {"task": "dispatch.tasks.audit_checkpoint", "schedule": AUDIT_CHECKPOINT_S},
    "alerts-sweep": {"task": "dispatch.tasks.alerts_sweep", "schedule": env.float("ALERTS_SWEEP_S", default=30.0)},
    "intake-sweep": {"task": "dispatch.tasks.intake_sweep", "schedule": 600.0},
    "messages-sweep": {"task": "dispatch.tasks.messages_sweep", "schedule": 60.0},  # queued messages a lost task left
}

# --- Auth, API ---------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
AUTHENTICATION_BACKENDS = [
    "dispatch.lockout.GuardedBackend",  # first: refuses a locked or waiting username (see "Guessing")
    "dispatch.auth.RoleBackend",  # the session user comes with its role rows
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "dispatch.auth.RoleTokenAuthentication",  # first: unauthenticated answers 401
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["dispatch.parsers.LimitedJSONParser"],  # depth and size limits
    "DEFAULT_SCHEMA_CLASS": "dispatch.schema.AutoSchema",  # documents every operation's 4xx answers
    "EXCEPTION_HANDLER": "dispatch.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Privacy-first delivery API",
    "DESCRIPTION": "Order intake, dispatch, pickup, rider and tracking endpoints. PII never leaves the vault unmasked.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "REDOC_DIST": "SIDECAR",  # served from static files: no CDN
}

# --- Static, i18n -----------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "var" / "staticfiles")))
# `make run` and `make test` run collectstatic first: names carry a content hash, gzip and Brotli copies sit
# beside them, and WhiteNoise serves them with a year's Cache-Control. Without a manifest (tests), plain names.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "config.storage.StaticStorage"},
}
WHITENOISE_USE_FINDERS = not (STATIC_ROOT / "staticfiles.json").exists()  # no collectstatic yet: plain names
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Security headers -------------------------------------------------------------------
TILE_URL = env.str("TILE_URL", default="https://tile.openstreetmap.org/{z}/{x}/{y}.png")
# A remote TILE_URL is fetched by this server (config/tiles.py): the pages load /tiles/z/x/y.png from this origin.
MAP_TILES = "/tiles/{z}/{x}/{y}.png" if TILE_URL.startswith("http") else TILE_URL
TILE_TIMEOUT_S = env.float("TILE_TIMEOUT_S", default=3.0)
TILE_CACHE_S = env.int("TILE_CACHE_S", default=86400)
TILE_RETRY_S = env.int("TILE_RETRY_S", default=60)  # after a failed fetch, placeholders only for this long
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],  # map tiles come through /tiles/ on this origin
        "connect-src": ["'self'"],  # CSP 3: 'self' covers ws:/wss: to this host and port
        "worker-src": ["'self'"],
        "manifest-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
    }
}
LEAFLET_CONFIG = {"TILES": TILE_URL, "ATTRIBUTION_PREFIX": "OpenStreetMap"}
# Sessions are written to the database and read through the cache (Redis on the scale profile, shared
# by every server): a request's session costs a cache read, not a database query. Faults: a cache error
# is a miss and the database answers (config/sessions.py).
SESSION_ENGINE = "config.sessions"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# --- Guessing and deployment: login lockout, HTTPS, Permissions-Policy ----------------------
# Passwords: every door (login form, POST /api/auth/token/, admin login) goes through django-axes,
# which counts failures in the database (a restart or a cache flush cannot clear them) per username AND
# client address together: one username with 10 failures from one address, none 15 minutes older than the
# next, is locked there until 15 minutes after its last failure (a refused try does not extend it). Nobody
# can lock an account from elsewhere, nor an address for everyone behind it. A username failing from many
# addresses waits instead (dispatch/lockout.py, docs/security.md): past LOGIN_BACKOFF_AFTER failures in the
# window, each further try from an address that failed for it waits 1, 2, 4... s up to LOGIN_BACKOFF_CAP_S;
# an address with no failure for it still reaches the password check; dispatch gets a `login_attack` alert.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # the window is fixed: Retry-After holds
AXES_LOCKOUT_CALLABLE = "dispatch.lockout.lockout_response"  # 429 with Retry-After (JSON under /api/)
AXES_DISABLE_ACCESS_LOG = True  # no table of successful logins with addresses
LOGIN_BACKOFF_AFTER = env.int("LOGIN_BACKOFF_AFTER", default=AXES_FAILURE_LIMIT)
LOGIN_BACKOFF_CAP_S = env.int("LOGIN_BACKOFF_CAP_S", default=300)
LOGIN_PASSWORD_MAX = 1024  # a longer password is a failed login, never hashed (dispatch/forms.py)
# The client address (login locks and the tracking limits): REMOTE_ADDR, unless TRUSTED_PROXY_COUNT reverse
# proxies stand in front, each appending the address it saw to X-Forwarded-For: then that many entries from
# the right. Never set it without such a proxy: the header is then the client's own and anyone can forge it.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "dispatch.lockout.client_address"
# Tracking links (/t/<token>/, /api/track/<token>/..., the tracking socket's connect): at most this many tries
# per client address and window, known, unknown and expired links alike; then 429 with Retry-After.
TRACKING_RATE_LIMIT = env.int("TRACKING_RATE_LIMIT", default=60)
TRACKING_RATE_WINDOW_S = env.int("TRACKING_RATE_WINDOW_S", default=60)

# HTTPS: on by default outside demo/test mode (plain http on 127.0.0.1 there); each can be overridden.
_secure = not (DEMO_MODE or TESTING)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000 if _secure else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=_secure)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=_secure)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=_secure)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=_secure)
# Behind a TLS-terminating proxy: SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO,https
_proxy_ssl = env.list("SECURE_PROXY_SSL_HEADER", default=[])
SECURE_PROXY_SSL_HEADER = (_proxy_ssl[0], _proxy_ssl[1]) if len(_proxy_ssl) == 2 else None
# Joining the browsers' HSTS preload list is an operator's decision (SECURE_HSTS_PRELOAD=1), not a default.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]

# Powerful browser features: all off, except per page (views decorated with permissions_policy_override):
# geolocation, microphone and wake lock on the rider app, the camera and microphone on the store counter, the microphone
# on the dispatch board (emergency calls) and on the tracking page.
PERMISSIONS_POLICY: dict[str, list[str]] = {feature: [] for feature in (
    "accelerometer", "ambient-light-sensor", "autoplay", "bluetooth", "browsing-topics", "camera", "clipboard-read",
    "display-capture", "encrypted-media", "gamepad", "geolocation", "gyroscope", "hid", "identity-credentials-get",
    "idle-detection", "local-fonts", "magnetometer", "microphone", "midi", "otp-credentials", "payment",
    "publickey-credentials-get", "screen-wake-lock", "serial", "usb", "web-share", "window-management",
    "xr-spatial-tracking",
)}
# Answers that may be stored by browsers and proxies (config.middleware.NoStoreMiddleware): URL names.
CACHEABLE_URL_NAMES = ["rider-sw", "rider-manifest"]

# --- Product settings -------------------------------------------------------------------
VAULT_MASTER_KEY = env.str("VAULT_MASTER_KEY", default="")
if not VAULT_MASTER_KEY and (DEMO_MODE or TESTING):
    VAULT_MASTER_KEY = _local_secret("vault.key", lambda: urlsafe_b64encode(secrets.token_bytes(32)).decode())
# Old master keys still able to unwrap data keys during a rotation (comma-separated).
VAULT_OLD_MASTER_KEYS = env.list("VAULT_OLD_MASTER_KEYS", default=[])
# Keys the phone digests that route masked calls: a key of its own, so a master-key rotation never
# changes a digest stored on a live call session.
if DEMO_MODE or TESTING:
    VAULT_DIGEST_KEY = env.str("VAULT_DIGEST_KEY", default="") or _local_secret(
        "vault_digest.key", lambda: urlsafe_b64encode(secrets.token_bytes(32)).decode()
    )
else:
    VAULT_DIGEST_KEY = env.str("VAULT_DIGEST_KEY")  # no production default

# The audit chain's head is checkpointed to a file outside the database, signed with a key of its own
# (dispatch/services/audit.py says what the checkpoint interval guarantees).
if DEMO_MODE or TESTING:
    AUDIT_ANCHOR_KEY = env.str("AUDIT_ANCHOR_KEY", default="") or _local_secret(
        "audit_anchor.key", lambda: secrets.token_urlsafe(32)
    )
else:
    AUDIT_ANCHOR_KEY = env.str("AUDIT_ANCHOR_KEY")  # no production default
AUDIT_ANCHOR_PATH = Path(env.str("AUDIT_ANCHOR_PATH", default=str(VAR_DIR / "audit-anchor.json")))
# Keys the digests of bearer secrets (tracking tokens, delivery PINs: dispatch/tokens.py). Changing it
# invalidates every open tracking link and PIN.
if DEMO_MODE or TESTING:
    TOKEN_DIGEST_KEY = env.str("TOKEN_DIGEST_KEY", default="") or _local_secret(
        "token_digest.key", lambda: secrets.token_urlsafe(32)
    )
else:
    TOKEN_DIGEST_KEY = env.str("TOKEN_DIGEST_KEY")  # no production default

ACCESS_REVOKE_AFTER_S = env("ACCESS_REVOKE_AFTER_S")
CALL_WINDOW_S = env("CALL_WINDOW_S")
# In-app calls: STUN/TURN servers as JSON (a list of RTCIceServer dicts); TURN credentials are minted per call
# under TURN_SECRET (the TURN REST convention, coturn's use-auth-secret) and live TURN_TTL_S.
ICE_SERVERS: list[dict] = env.json("ICE_SERVERS", default=[])
TURN_SECRET = env.str("TURN_SECRET", default="")
TURN_TTL_S = env.int("TURN_TTL_S", default=600)
RING_TIMEOUT_S = env.int("RING_TIMEOUT_S", default=45)
REVEAL_STREET_M = env("REVEAL_STREET_M")
REVEAL_DOOR_M = env("REVEAL_DOOR_M")
RETENTION_DAYS = env("RETENTION_DAYS")
# Whom a customer asks about their data, shown on the privacy notice (/privacy/). Set it to a real address.
PRIVACY_CONTACT = env.str("PRIVACY_CONTACT", default="privacy@example.com (demo)")
TRACKING_LINK_TTL_S = env("TRACKING_LINK_TTL_S")
HANDOFF_CODE_TTL_S = env("HANDOFF_CODE_TTL_S")
BREAK_GLASS_QUOTA_PER_DAY = env("BREAK_GLASS_QUOTA_PER_DAY")
PICKUP_ROLLOVER_HOUR = env.int("PICKUP_ROLLOVER_HOUR", default=4)
PICKUP_FAILURE_LIMIT = env.int("PICKUP_FAILURE_LIMIT", default=30)  # failed lookups/handoffs a minute
PICKUP_ALERT_AFTER = env.int("PICKUP_ALERT_AFTER", default=5)  # failures a minute that alert dispatch
PICKUP_UNDO_WINDOW_S = env.int("PICKUP_UNDO_WINDOW_S", default=60)
MAX_SPEED_MPS = env.float("MAX_SPEED_MPS", default=40.0)
# The dispatch board's lateness: an order with no rider this long after it was placed is flagged late; one held by a
# rider, once past the time promised to the customer (Order.promised_at, as the `late` alert). The board's script
# falls back to ORDER_DELIVER_DUE_MIN only for an order that carries no promise. Minutes.
ORDER_ASSIGN_DUE_MIN = env.int("ORDER_ASSIGN_DUE_MIN", default=5)
ORDER_DELIVER_DUE_MIN = env.int("ORDER_DELIVER_DUE_MIN", default=45)
# How often each server process adds the channel layer's drop counts to the shared totals (the board shows them).
OVERFLOW_FLUSH_S = env.float("OVERFLOW_FLUSH_S", default=2.0)

# --- Alerts (dispatch/services/detectors.py) -------------------------------------------------
ORDER_PROMISE_S = env.int("ORDER_PROMISE_S", default=2700)  # promised delivery time when neither merchant nor store sets one
ALERT_STALE_AFTER_S = env.int("ALERT_STALE_AFTER_S", default=120)  # an active order's device silent this long
ALERT_RATE_WINDOW_S = env.int("ALERT_RATE_WINDOW_S", default=900)
ALERT_RATE_REVEALS_PER_RIDER = env.int("ALERT_RATE_REVEALS_PER_RIDER", default=60)
ALERT_RATE_REVEALS_PER_STORE = env.int("ALERT_RATE_REVEALS_PER_STORE", default=300)
ALERT_RATE_BREAK_GLASS_PER_STORE = env.int("ALERT_RATE_BREAK_GLASS_PER_STORE", default=3)
ALERT_RATE_LOOKUPS_PER_STORE = env.int("ALERT_RATE_LOOKUPS_PER_STORE", default=120)

# --- Merchant intake (dispatch/services/quotes.py, intake.py; docs/merchant-api.md) ----------------------------
# A quote's fee: QUOTE_BASE_FEE + QUOTE_PER_KM_FEE per started 100 m of straight-line distance store -> door, in
# QUOTE_CURRENCY, rounded to cents. Its eta_s: the wait until the bag is ready (if later than now), plus
# QUOTE_PICKUP_S (a rider reaches the store and takes the bag), plus the ride at QUOTE_SPEED_MPS along a road
# QUOTE_ROAD_FACTOR times the straight line.
QUOTE_BASE_FEE = env.str("QUOTE_BASE_FEE", default="2.50")
QUOTE_PER_KM_FEE = env.str("QUOTE_PER_KM_FEE", default="0.80")
QUOTE_CURRENCY = env.str("QUOTE_CURRENCY", default="GBP")
QUOTE_PICKUP_S = env.int("QUOTE_PICKUP_S", default=600)
QUOTE_SPEED_MPS = env.float("QUOTE_SPEED_MPS", default=4.5)
QUOTE_ROAD_FACTOR = env.float("QUOTE_ROAD_FACTOR", default=1.3)
QUOTE_TTL_S = env.int("QUOTE_TTL_S", default=900)
IDEMPOTENCY_TTL_S = env.int("IDEMPOTENCY_TTL_S", default=86400)
# A scheduled order not picked up this long after its pickup_ready_at raises a "late" alert; auto-dispatch offers
# it no earlier than SCHEDULE_OFFER_LEAD_S before that time (the intake sweep kicks it then).
SCHEDULE_PICKUP_GRACE_S = env.int("SCHEDULE_PICKUP_GRACE_S", default=600)
SCHEDULE_OFFER_LEAD_S = env.int("SCHEDULE_OFFER_LEAD_S", default=900)

# The sandbox carrier places calls locally for the demo: it must never answer in production.
TELEPHONY_PROVIDER = env.str("TELEPHONY_PROVIDER", default="sandbox" if DEMO_MODE or TESTING else "twilio")
if TELEPHONY_PROVIDER not in ("sandbox", "twilio"):
    raise ImproperlyConfigured(f"TELEPHONY_PROVIDER must be 'sandbox' or 'twilio', not {TELEPHONY_PROVIDER!r}.")
if TELEPHONY_PROVIDER == "sandbox" and not (DEMO_MODE or TESTING):
    raise ImproperlyConfigured("TELEPHONY_PROVIDER=sandbox is for the demo only: set DEMO_MODE=1 or use twilio.")
CALL_SESSION_MAX_S = env.int("CALL_SESSION_MAX_S", default=4 * 3600)  # every masked call session ends by then
PROXY_COOLOFF_S = env.int("PROXY_COOLOFF_S", default=86400)  # a number is not given to the same customer again
TELEPHONY_POOL = env.list(
    "TELEPHONY_POOL", default=["+15550100001", "+15550100002", "+15550100003", "+15550100004"]
)
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_WEBHOOK_URL = env.str("TWILIO_WEBHOOK_URL", default="")

# --- Messages to the customer (dispatch/services/notify.py, docs/notifications.md) -----------------------
# "sandbox": an outbox table, shown at /dev/outbox/ in demo mode; "twilio": the Messaging API; "off": none sent.
NOTIFY_PROVIDER = env.str("NOTIFY_PROVIDER", default="sandbox" if DEMO_MODE or TESTING else "twilio")
if NOTIFY_PROVIDER not in ("sandbox", "twilio", "off"):
    raise ImproperlyConfigured(f"NOTIFY_PROVIDER must be 'sandbox', 'twilio' or 'off', not {NOTIFY_PROVIDER!r}.")
if NOTIFY_PROVIDER == "sandbox" and not (DEMO_MODE or TESTING):
    raise ImproperlyConfigured("NOTIFY_PROVIDER=sandbox is for the demo only: set DEMO_MODE=1 or use twilio.")
# The site's public origin: the tracking link and the privacy notice in a message, and Twilio's status callback.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000" if DEMO_MODE or TESTING else "").rstrip("/")
TWILIO_SMS_FROM = env.str("TWILIO_SMS_FROM", default="")  # a sender number, or:
TWILIO_MESSAGING_SERVICE_SID = env.str("TWILIO_MESSAGING_SERVICE_SID", default="")
TWILIO_SMS_STATUS_URL = env.str("TWILIO_SMS_STATUS_URL", default="")  # as Twilio signs it; default: PUBLIC_BASE_URL + path
TWILIO_SMS_INBOUND_URL = env.str("TWILIO_SMS_INBOUND_URL", default="")
TWILIO_API_BASE_URL = env.str("TWILIO_API_BASE_URL", default="")  # tests only: a local stand-in for api.twilio.com
NOTIFY_MAX_ATTEMPTS = env.int("NOTIFY_MAX_ATTEMPTS", default=5)
# Web Push (the tracking page's opt-in): VAPID keys (urlsafe base64, as `vapid --gen` prints them).
WEBPUSH_VAPID_PUBLIC_KEY = env.str("WEBPUSH_VAPID_PUBLIC_KEY", default="")
WEBPUSH_VAPID_PRIVATE_KEY = env.str("WEBPUSH_VAPID_PRIVATE_KEY", default="")
if not WEBPUSH_VAPID_PRIVATE_KEY and DEMO_MODE:  # the demo's own pair, so the page's button works out of the box

    def _vapid_private() -> str:
        from cryptography.hazmat.primitives.asymmetric import ec

        raw = ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value.to_bytes(32, "big")
        return urlsafe_b64encode(raw).decode().rstrip("=")

    def _vapid_public(private: str) -> str:
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        value = int.from_bytes(urlsafe_b64decode(private + "=" * (-len(private) % 4)), "big")
        point = ec.derive_private_key(value, ec.SECP256R1()).public_key().public_bytes(
            Encoding.X962, PublicFormat.UncompressedPoint)
        return urlsafe_b64encode(point).decode().rstrip("=")

    WEBPUSH_VAPID_PRIVATE_KEY = _local_secret("vapid_private.key", _vapid_private)
    WEBPUSH_VAPID_PUBLIC_KEY = _vapid_public(WEBPUSH_VAPID_PRIVATE_KEY)
WEBPUSH_VAPID_SUBJECT = env.str("WEBPUSH_VAPID_SUBJECT", default="mailto:privacy@example.invalid")

# --- Logging: never plaintext PII; messages name ids only --------------------------------
# LOG_FORMAT: "text" (the default) or "json" (one object a line, for a log shipper: config/logs.py JsonLines).
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured("LOG_FORMAT is text or json.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
                   "json": {"()": "config.logs.JsonLines"}},
    # No tracking token in any line (config/logs.py): on every handler, and on every logger that names a path.
    # Every handler also stamps the request's id (config/middleware.py RequestIdMiddleware).
    "filters": {"redact_tokens": {"()": "config.logs.RedactTokens"}, "request_id": {"()": "config.logs.RequestId"},
                "quiet_probes": {"()": "config.logs.QuietProbes"}},  # passing /healthz, /readyz probes: not logged
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json" if LOG_FORMAT == "json" else "plain",
                             "filters": ["redact_tokens", "request_id"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "daphne.access": {"level": "INFO", "filters": ["quiet_probes", "redact_tokens"]},  # daphne's access log (config/asgi.py)
        "django.request": {"filters": ["redact_tokens"]},
        "django.server": {"filters": ["quiet_probes", "redact_tokens"]},
        "django.channels.server": {"filters": ["quiet_probes", "redact_tokens"]},
    },
}
LOCATION_HISTORY_DAYS = env.int("LOCATION_HISTORY_DAYS", default=7)

# --- Metrics: GET /metrics (dispatch/metrics.py, docs/operations.md) ---------------------------------------------
# The scraper is let in by its bearer token, or by its address when it connects directly (no proxy in between);
# anyone else gets a 404.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOW = env.list("METRICS_ALLOW", default=["127.0.0.1/32", "::1/128"])
# Several server processes: set PROMETHEUS_MULTIPROC_DIR in the environment (e.g. var/prometheus, emptied before the
# servers start) and prometheus_client sums every process's instruments at the scrape.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

# --- Webhooks to merchants (dispatch/services/webhooks.py, docs/webhooks.md) ---------------------------------
# Private, loopback, link-local and reserved receivers are refused unless this is set: the embedded demo (and the
# tests that run a local receiver) only. Never in production: it opens the server's own network to merchants.
WEBHOOKS_ALLOW_PRIVATE = env.bool("WEBHOOKS_ALLOW_PRIVATE", default=DEMO_MODE and not TESTING)
WEBHOOK_TIMEOUT_S = env.float("WEBHOOK_TIMEOUT_S", default=10.0)
WEBHOOK_BACKOFF_BASE_S = env.int("WEBHOOK_BACKOFF_BASE_S", default=30)  # 30 s, 1 m, 2 m, 4 m, ...
WEBHOOK_BACKOFF_MAX_S = env.int("WEBHOOK_BACKOFF_MAX_S", default=3600)  # ... at most an hour apart
WEBHOOK_RETRY_WINDOW_S = env.int("WEBHOOK_RETRY_WINDOW_S", default=86400)  # then the delivery is failed
WEBHOOK_FAILING_AFTER = env.int("WEBHOOK_FAILING_AFTER", default=5)  # failed deliveries in a row: endpoint failing
WEBHOOK_ROTATION_OVERLAP_S = env.int("WEBHOOK_ROTATION_OVERLAP_S", default=86400)  # the old secret still signs
WEBHOOK_MAX_ENDPOINTS = env.int("WEBHOOK_MAX_ENDPOINTS", default=10)
WEBHOOK_QUEUE_LEASE_S = env.int("WEBHOOK_QUEUE_LEASE_S", default=300)  # a swept delivery's task may wait this long
CELERY_BEAT_SCHEDULE["webhook-sweep"] = {"task": "dispatch.tasks.webhook_sweep",
                                         "schedule": env.float("WEBHOOK_SWEEP_S", default=15.0)}
