"""The store console and the privacy label as rendered HTML: no customer PII on the label, no inline
script or style anywhere (strict CSP), page data through json_script only."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from tests.factories import BUILDING, CUSTOMER_NAME, CUSTOMER_PHONE, NOTES, PII_STRINGS, SENSITIVE_ITEM, STREET, UNIT

pytestmark = pytest.mark.django_db

CSS = Path(settings.BASE_DIR) / "static" / "pickup" / "pickup.css"


def browser_for(demo, username: str) -> Client:
    client = Client()
    client.force_login(demo[username])
    return client


def assert_csp_clean(html: str) -> None:
    assert not re.search(r"\sstyle\s*=", html, re.I), "inline style attribute"
    assert "<style" not in html.lower()
    assert not re.search(r"\son[a-z]+\s*=", html, re.I), "inline event handler"
    for tag in re.findall(r"<script\b[^>]*>", html, re.I):
        assert "src=" in tag or 'type="application/json"' in tag, tag


def test_label_shows_the_bag_and_nothing_of_the_customer(demo, posted_order):
    r = browser_for(demo, "store1").get(f"/pickup/orders/{posted_order['id']}/label/")
    assert r.status_code == 200
    html = r.content.decode()
    for secret in [*PII_STRINGS, CUSTOMER_NAME, CUSTOMER_PHONE, "905678", STREET, BUILDING, UNIT, NOTES, SENSITIVE_ITEM,
                   "Westminster", "Sertraline", "Plasters", posted_order["tracking_url"].rstrip("/").rsplit("/", 1)[1]]:
        assert secret not in html, secret
    assert f'data-role="pickup-code">{posted_order["pickup_code"]}<' in html
    assert '>Z**<' in html and ">****5678<" in html
    assert "3 items, incl. 1 pharmacy item" in html
    assert 'src="data:image/svg+xml' in html
    ref = re.search(r"PD-[0-9a-f]{12}", html).group(0)
    # Opaque: a keyed digest, not the order id or the tracking token in another dress.
    from pickup.views import label_ref

    assert ref == f"PD-{label_ref(posted_order['id'])}"
    assert ref != f"PD-{label_ref(posted_order['id'] + 1)}"
    assert not re.fullmatch(rf"PD-0*{posted_order['id']:x}", ref)
    assert 'id="print-btn"' in html and "pickup/js/label.js" in html
    assert_csp_clean(html)
    assert "Content-Security-Policy" in r.headers and "script-src 'self'" in r.headers["Content-Security-Policy"]


def test_label_css_is_sized_for_an_80mm_roll_and_a6():
    css = CSS.read_text()
    assert re.search(r"@page\s*\{[^}]*size:\s*80mm", css)
    assert re.search(r"@page\s+a6\s*\{[^}]*size:\s*105mm 148mm", css)  # A6
    assert re.search(r"@media print\s*\{", css)


def test_label_is_for_this_stores_staff_only(demo, posted_order):
    assert browser_for(demo, "store2").get(f"/pickup/orders/{posted_order['id']}/label/").status_code == 404
    assert browser_for(demo, "rider1").get(f"/pickup/orders/{posted_order['id']}/label/").status_code == 403
    r = Client().get(f"/pickup/orders/{posted_order['id']}/label/")
    assert r.status_code == 302 and "/accounts/login/" in r["Location"]


def test_console_page(demo):
    r = browser_for(demo, "store1").get("/pickup/")
    assert r.status_code == 200
    html = r.content.decode()
    assert_csp_clean(html)
    assert 'type="module" src="/static/pickup/js/console.js"' in html
    config = json.loads(re.search(r'<script id="console-config" type="application/json">(.*?)</script>', html, re.S)
                        .group(1))
    assert config["store"]["name"] == "Green Cross Pharmacy"
    assert config["undo_window_s"] == 60
    for landmark in ('<main id="main"', 'aria-labelledby="counter-heading"', 'aria-labelledby="queue-heading"',
                     'aria-labelledby="history-heading"', '<label for="pickup-input">',
                     '<label for="rider-code-input">', 'inputmode="numeric"'):
        assert landmark in html, landmark
    assert r["Cache-Control"].startswith("max-age=0")


def test_console_is_for_store_staff(demo):
    assert browser_for(demo, "rider1").get("/pickup/").status_code == 403
    assert browser_for(demo, "dispatcher1").get("/pickup/").status_code == 403
    assert Client().get("/pickup/").status_code == 302


def test_static_modules_have_no_inline_handlers():
    root = Path(settings.BASE_DIR) / "static" / "pickup" / "js"
    for path in root.glob("*.js"):
        text = path.read_text()
        assert "innerHTML" not in text, path  # text only: nothing from the API is parsed as HTML
        assert "eval(" not in text and "new Function" not in text, path
