"""Test settings: the in-process suite always runs on the embedded profile (SQLite, in-memory
layer). The scale-profile tests start real processes with DATABASE_URL/REDIS_URL themselves."""

import os
from pathlib import Path

SCALE_DATABASE_URL = os.environ.pop("DATABASE_URL", "")
SCALE_REDIS_URL = os.environ.pop("REDIS_URL", "")
os.environ["TESTING"] = "1"
os.environ.setdefault("VAR_DIR", str(Path(__file__).resolve().parent.parent / "var" / "test"))
os.environ.setdefault("EVENTS_RELAY", "0")

from .settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast; tests only  # noqa: S105 - test-only
DEBUG = False
LOCATION_FIX_BATCH = False  # in-process tests run inside a transaction: write fixes synchronously
# Plain static names whatever var/ holds; tests/test_streetready.py collects with the real storage.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
WHITENOISE_USE_FINDERS = True
POSITION_BATCH = False  # in-process tests read one `rider.position` frame per ping; tests/security/test_hotpath.py turns it on
TILE_URL = "http://127.0.0.1:9/{z}/{x}/{y}.png"  # the discard port: the in-process suite never fetches a real map tile
