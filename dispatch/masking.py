"""Masked, derived views of PII. Pure functions: safe to show to every party of an order."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

SENSITIVE_LABEL = "pharmacy item"


def mask_name(name: str) -> str:
    """`Zhang San` -> `Z**`; `张三` -> `张**`; empty -> `Customer`."""
    name = unicodedata.normalize("NFC", (name or "").strip())
    for ch in name:
        if ch.isalnum():
            upper = ch.upper()
            return f"{upper if len(upper) == 1 else ch}**"  # "ß".upper() is "SS": keep one character
    return "Customer"


def mask_phone(phone: str) -> str:
    """Keep the last four digits only: `+44 20 7946 0958` -> `****0958`."""
    digits = re.sub(r"\D", "", phone or "")
    if len(digits) < 7:
        return "****"
    return f"****{digits[-4:]}"


def sensitive_summary(count: int, label: str = SENSITIVE_LABEL) -> str:
    if count <= 0:
        return ""
    return f"{count} {label}" + ("s" if count > 1 else "")


def approx_coordinate(value: float) -> float:
    """Round to 0.01 degrees (about 1 km): good enough for a dispatch map, not a door."""
    return round(round(value, 2), 2)


class ItemLine(NamedTuple):
    name: str
    qty: int


@dataclass(frozen=True)
class MaskedItems:
    count: int
    lines: list[ItemLine]  # non-sensitive lines only
    sensitive_count: int
    sensitive_summary: str


def masked_items(items: Iterable[Any], *, with_names: bool = True) -> MaskedItems:
    """An order's items as every party may see them: sensitive ones only as a category count (`with_names`
    False: no line names at all, for the bag's label)."""
    items = list(items)
    sensitive = sum(i.qty for i in items if i.sensitive)
    return MaskedItems(
        count=sum(i.qty for i in items),
        lines=[ItemLine(i.name, i.qty) for i in items if not i.sensitive] if with_names else [],
        sensitive_count=sensitive,
        sensitive_summary=sensitive_summary(sensitive),
    )


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_DIGIT_RUN = re.compile(r"(?:\+?\d[\d\s().-]{5,}\d)")


def mask_free_text(text: str) -> str:
    """Free text a customer wrote, for another party: e-mail addresses and runs of 7+ digits (phone numbers, a
    door code) masked, the last 2 digits kept so that "my order 12345678" still reads. Names are not guessed."""
    text = _EMAIL.sub("***@***", text)

    def _digits(m: re.Match[str]) -> str:
        digits = [c for c in m.group(0) if c.isdigit()]
        return m.group(0) if len(digits) < 7 else "*" * (len(digits) - 2) + "".join(digits[-2:])

    return _DIGIT_RUN.sub(_digits, text)
