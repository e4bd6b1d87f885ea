"""The vault: envelope encryption of an order's PII.

Each order gets a random 256-bit data key (DEK). The payload is sealed with AES-GCM under the
DEK; the DEK is wrapped with AES-GCM under the master key from VAULT_MASTER_KEY. Destroying the
wrapped DEK makes the payload unreadable everywhere it was stored (crypto-shredding).

This module only seals and opens. Who may open what is decided in services.privacy, the only module
that imports this one (an import-linter contract), whose `vault_open` is the only caller of
`open_payload` and writes an audit event for every open.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings


class VaultError(Exception):
    pass


class ShreddedError(VaultError):
    pass


def _decode_key(text: str, name: str = "VAULT_MASTER_KEY") -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text.encode() + b"=" * (-len(text) % 4))
    except ValueError as exc:  # binascii.Error is a ValueError
        raise VaultError(f"{name} is not urlsafe base64") from exc
    if len(raw) != 32:
        raise VaultError(f"{name} must decode to 32 bytes")
    return raw


def key_id(raw: bytes) -> str:
    return hashlib.sha256(b"kid" + raw).hexdigest()[:16]


def _master_keys() -> dict[str, bytes]:
    if not settings.VAULT_MASTER_KEY:
        raise VaultError("VAULT_MASTER_KEY is not set")
    keys = [_decode_key(settings.VAULT_MASTER_KEY)] + [_decode_key(k) for k in settings.VAULT_OLD_MASTER_KEYS]
    return {key_id(k): k for k in keys}


def current_key_id() -> str:
    return key_id(_decode_key(settings.VAULT_MASTER_KEY))


@dataclass(frozen=True)
class Sealed:
    key_id: str
    wrapped_key: bytes
    ciphertext: bytes


def seal(payload: dict[str, Any], *, aad: bytes) -> Sealed:
    dek = AESGCM.generate_key(bit_length=256)
    kid = current_key_id()
    master = _master_keys()[kid]
    wrap_nonce = os.urandom(12)
    wrapped = wrap_nonce + AESGCM(master).encrypt(wrap_nonce, dek, b"dek:" + aad)
    nonce = os.urandom(12)
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return Sealed(kid, wrapped, nonce + AESGCM(dek).encrypt(nonce, body, aad))


def _unwrap(kid: str, wrapped: bytes | memoryview, aad: bytes) -> bytes:
    master = _master_keys().get(kid)
    if master is None:
        raise VaultError(f"no master key with id {kid}")
    raw = bytes(wrapped)
    try:
        return AESGCM(master).decrypt(raw[:12], raw[12:], b"dek:" + aad)
    except InvalidTag as exc:
        raise VaultError("the wrapped data key fails authentication (tampered, or another record's)") from exc


def open_payload(
    kid: str, wrapped: bytes | memoryview | None, ciphertext: bytes | memoryview | None, *, aad: bytes
) -> dict[str, Any]:
    if wrapped is None or ciphertext is None:
        raise ShreddedError("the data of this order was erased")
    dek = _unwrap(kid, bytes(wrapped), aad)
    raw = bytes(ciphertext)
    try:
        body = AESGCM(dek).decrypt(raw[:12], raw[12:], aad)
    except InvalidTag as exc:
        raise VaultError("the sealed payload fails authentication (corrupt or tampered)") from exc
    return json.loads(body)


def seal_under(kid: str, wrapped: bytes | memoryview | None, plaintext: bytes, *, aad: bytes, label: bytes) -> bytes:
    """Seal extra bytes (a chat message) under a record's data key; `label` keeps them apart from the payload."""
    if wrapped is None:
        raise ShreddedError("the data of this order was erased")
    dek = _unwrap(kid, bytes(wrapped), aad)
    nonce = os.urandom(12)
    return nonce + AESGCM(dek).encrypt(nonce, plaintext, aad + b"|" + label)


def open_under(kid: str, wrapped: bytes | memoryview | None, sealed: bytes | memoryview, *, aad: bytes, label: bytes) -> bytes:
    if wrapped is None:
        raise ShreddedError("the data of this order was erased")
    dek = _unwrap(kid, bytes(wrapped), aad)
    raw = bytes(sealed)
    try:
        return AESGCM(dek).decrypt(raw[:12], raw[12:], aad + b"|" + label)
    except InvalidTag as exc:
        raise VaultError("the sealed bytes fail authentication (corrupt or tampered)") from exc


def rewrap(kid: str, wrapped: bytes, *, aad: bytes) -> tuple[str, bytes]:
    """Re-wrap a data key under the current master key (key rotation); payload untouched."""
    dek = _unwrap(kid, bytes(wrapped), aad)
    new_kid = current_key_id()
    nonce = os.urandom(12)
    return new_kid, nonce + AESGCM(_master_keys()[new_kid]).encrypt(nonce, dek, b"dek:" + aad)


def digest(value: str) -> str:
    """A keyed digest to recognise a value (a caller's number) without storing it.

    Keyed with VAULT_DIGEST_KEY, never the master key: digests are stored on live call sessions, and a
    master-key rotation must not change them."""
    if not settings.VAULT_DIGEST_KEY:
        raise VaultError("VAULT_DIGEST_KEY is not set")
    key = _decode_key(settings.VAULT_DIGEST_KEY, "VAULT_DIGEST_KEY")
    return hmac.new(key, b"digest:" + value.encode(), hashlib.sha256).hexdigest()


def normalise_phone(phone: str) -> str:
    digits = "".join(ch for ch in phone if ch.isdigit())
    return ("+" + digits) if phone.strip().startswith("+") else digits
