"""Bearer secrets of an order: the tracking token (the customer's link) and the delivery PIN.

Neither is ever stored. The database holds keyed digests (HMAC-SHA256 under `TOKEN_DIGEST_KEY`),
so a copy of it opens no tracking page and delivers no order. One key serves three purposes, kept
apart by domain separation (a sub-key per label):
- `token_digest(token)`: the look-up key of the link;
- `delivery_pin(token)`: the PIN is derived from the token, so only a request that holds the link
  can show it; the server cannot produce it otherwise;
- `pin_digest(token_digest=..., pin=...)`: what the rider's entry is checked against, bound to the
  order's token digest so equal PINs of two orders do not show as equal digests.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import lru_cache

from django.conf import settings

TOKEN_BYTES = 24
PIN_DIGITS = 4


@lru_cache(maxsize=8)
def _subkey(master: str, label: str) -> bytes:
    return hmac.new(master.encode(), f"pd-bearer:{label}".encode(), hashlib.sha256).digest()


def _mac(label: str, message: str) -> bytes:
    return hmac.new(_subkey(settings.TOKEN_DIGEST_KEY, label), message.encode(), hashlib.sha256).digest()


def new_tracking_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(token: str) -> str:
    return _mac("tracking-token", token).hex()


def delivery_pin(token: str) -> str:
    value = int.from_bytes(_mac("delivery-pin", token)[:8], "big")  # bias over 10**4 of 2**64: negligible
    return f"{value % 10**PIN_DIGITS:0{PIN_DIGITS}d}"


def pin_digest(*, token_digest: str, pin: str) -> str:
    return _mac("delivery-pin-check", f"{token_digest}:{pin}").hex()


def pin_matches(*, token_digest: str, stored_digest: str, pin: object) -> bool:
    """The rider's entry against the stored digest, compared in constant time."""
    entry = str(pin).strip()
    if len(entry) != PIN_DIGITS or not entry.isdigit():
        entry = ""  # still compared, so a malformed entry costs the same as a wrong one
    return hmac.compare_digest(pin_digest(token_digest=token_digest, pin=entry), stored_digest)


def point_digest(lat: float, lng: float, *, nonce: str | None = None) -> str:
    """A keyed digest of a point (a quote's door, to 1e-6 degree), salted per row so two quotes to one door do not
    show as equal: "<nonce>$<hex>". Give the stored value's nonce to check a point against it."""
    nonce = nonce or secrets.token_hex(8)
    return f"{nonce}${_mac('quote-point', f'{nonce}:{lat:.6f}:{lng:.6f}').hex()}"


def point_matches(stored: str, lat: float, lng: float) -> bool:
    nonce = stored.split("$", 1)[0]
    return hmac.compare_digest(point_digest(lat, lng, nonce=nonce), stored)


def request_digest(operation: str, body: object) -> str:
    """A keyed digest of an idempotent request (its operation and canonical JSON body): recognises a replay
    without keeping the body, which may hold a customer's name and address."""
    import json

    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return _mac("idempotency-request", f"{operation}\n{canonical}").hex()


def label_ref(order_id: int) -> str:
    """An opaque bag reference for a privacy label's QR: the store's system can match it, a finder learns nothing.
    Keyed with SECRET_KEY (not a bearer secret: it opens nothing), shared by the counter's and the portal's label."""
    return hmac.new(settings.SECRET_KEY.encode(), f"label:{order_id}".encode(), hashlib.sha256).hexdigest()[:12]
