"""Street readiness: Chinese and English, the landing page per role, human refusal messages,
static files through WhiteNoise, a standard QR on the rider's counter code, a demo-order command that
works from a second terminal."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.test import Client, RequestFactory

ROOT = Path(__file__).resolve().parent.parent


# --- Landing per role --------------------------------------------------------------------------
@pytest.mark.parametrize(("username", "home"), [
    ("rider1", "/rider/"), ("store1", "/pickup/"), ("dispatcher1", "/dispatch/"), ("merchant1", "/portal/"),
])
def test_login_lands_each_role_on_its_own_screen(demo, username, home):
    """Operator: a rider, a store clerk, a dispatcher and a merchant log in with no `next`; each lands in
    their own app, not on the generic home page."""
    demo[username].set_password("pw-for-test-1")
    demo[username].save()
    response = Client().post("/accounts/login/", {"username": username, "password": "pw-for-test-1"})
    assert response.status_code == 302
    assert response["Location"] == home


def test_login_safe_next_still_wins_and_unsafe_next_is_ignored(demo):
    """Operator and attacker: a safe `next` is honoured; an off-site `next` falls back to the role home."""
    demo["rider1"].set_password("pw-for-test-1")
    demo["rider1"].save()
    ok = Client().post("/accounts/login/?next=/rider/%3Fx%3D1", {"username": "rider1", "password": "pw-for-test-1",
                                                                "next": "/rider/?x=1"})
    assert ok["Location"] == "/rider/?x=1"
    evil = Client().post("/accounts/login/", {"username": "rider1", "password": "pw-for-test-1",
                                              "next": "https://evil.example/"})
    assert evil["Location"] == "/rider/"


# --- Language ------------------------------------------------------------------------------
def test_html_lang_follows_accept_language(db):
    """Customer with a zh-CN browser: the page says lang="zh-hans" and speaks Chinese; en stays English."""
    zh = Client(HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").get("/accounts/login/")
    assert re.search(r'<html lang="zh-hans"', zh.content.decode())
    assert "登录" in zh.content.decode()
    en = Client(HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9").get("/accounts/login/")
    assert '<html lang="en"' in en.content.decode()
    assert "Log in" in en.content.decode()


def test_setlang_remembers_the_choice(db):
    """Rider: the switcher posts to /i18n/setlang/; the choice holds over the browser's Accept-Language."""
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    page = client.get("/accounts/login/").content.decode()
    assert 'action="/i18n/setlang/"' in page
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/accounts/login/"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert '<html lang="zh-hans"' in client.get("/accounts/login/").content.decode()


def test_js_catalog_is_served_and_translated(db):
    """Counter clerk: the page's JS strings come from /jsi18n/ in the page's language, as a script file."""
    response = Client(HTTP_ACCEPT_LANGUAGE="zh-CN").get("/jsi18n/")
    assert response.status_code == 200
    assert "javascript" in response["Content-Type"]
    assert "\\u53d6\\u9910\\u53f7" in response.content.decode() or "取餐号" in response.content.decode()


def test_api_refusal_detail_speaks_the_request_language(rider1, assigned_order):
    """Rider on a zh-CN phone: a refusal's detail is Chinese; the code stays stable."""
    response = rider1.post(f"/api/rider/orders/{assigned_order['id']}/deliver/", {"pin": "0000"}, format="json",
                           HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert response.status_code in (403, 404, 409)
    body = response.json()
    assert re.search(r"[\u4e00-\u9fff]", body["detail"]), body


def _api_codes() -> set[str]:
    patterns = [r'code="([a-z_]+)"', r'code = "([a-z_]+)"', r'"code": "([a-z_]+)"', r'_refuse\(\s*"([a-z_]+)"']
    codes: set[str] = set()
    for path in [*ROOT.glob("dispatch/**/*.py"), *ROOT.glob("pickup/**/*.py"), *ROOT.glob("rider/**/*.py"),
                 *ROOT.glob("config/**/*.py")]:
        if "/tests/" in str(path) or "/management/" in str(path) or "/migrations/" in str(path):
            continue
        text = path.read_text()
        for pattern in patterns:
            codes.update(re.findall(pattern, text))
    from dispatch.errors import _DRF_CODES

    codes.update(_DRF_CODES.values())
    return codes


def _po_entries(path: Path) -> dict[str, str]:
    import polib

    return {e.msgid: e.msgstr or e.msgstr_plural.get(0, "") for e in polib.pofile(str(path))
            if not e.obsolete and "fuzzy" not in e.flags}


def test_every_refusal_code_has_a_human_message_in_both_languages():
    """Store clerk: no refusal the API can return shows as a raw code; each has an English message in
    the one JS table and a Chinese translation in the JS catalog."""
    codes = _api_codes()
    assert {"wrong_rider", "expired_code", "wrong_pin", "locked_out"} <= codes
    table = (ROOT / "static/common/ui.js").read_text()
    entries = dict(re.findall(r'^\s+([a-z_]+): gettext\("([^"]+)"\)', table, re.M))
    missing = codes - entries.keys()
    assert not missing, f"no message for {sorted(missing)}"
    catalog = _po_entries(ROOT / "locale/zh_Hans/LC_MESSAGES/djangojs.po")
    untranslated = [code for code in codes if not catalog.get(entries[code])]
    assert not untranslated, f"no Chinese for {sorted(untranslated)}"


def test_the_catalogs_are_complete_and_compiled():
    """Operator: every msgid has a Chinese msgstr, and the compiled .mo files match the .po files."""
    import polib

    for domain in ("django", "djangojs"):
        po = ROOT / f"locale/zh_Hans/LC_MESSAGES/{domain}.po"
        entries = _po_entries(po)
        assert len(entries) > 20
        assert not [k for k, v in entries.items() if not v], domain
        # Keyed by (context, msgid): "assigned" is both a status (msgctxt "order status") and a verb.
        by_context = {(e.msgctxt, e.msgid): e.msgstr or e.msgstr_plural.get(0, "")
                      for e in polib.pofile(str(po)) if not e.obsolete and "fuzzy" not in e.flags}
        mo = polib.mofile(str(po.with_suffix(".mo")))
        assert {(e.msgctxt, e.msgid): e.msgstr or e.msgstr_plural.get(0, "") for e in mo if e.msgid} == by_context


# --- The rider's counter code ---------------------------------------------------------------
def test_counter_code_qr_is_a_standard_qr(rider1, assigned_order):
    """Store clerk: the scanner (BarcodeDetector 'qr_code', or jsQR) reads only standard QR codes; the
    rider's code must not come as a Micro QR."""
    import base64
    import urllib.parse

    import segno
    import zxingcpp
    from PIL import Image

    body = rider1.get(f"/api/rider/orders/{assigned_order['id']}/handoff-code/").json()
    assert body["qr_svg"].startswith("data:image/svg+xml")
    # The SVG's modules, re-drawn as a PNG for the decoder.
    svg = urllib.parse.unquote(body["qr_svg"].split(",", 1)[1]) if ";base64" not in body["qr_svg"] else \
        base64.b64decode(body["qr_svg"].split(",", 1)[1]).decode()
    width = int(re.search(r"width='(\d+)'", svg).group(1))
    assert width // 6 >= 21 + 2 * 2, "a Micro QR is at most 17 modules wide"
    png = io.BytesIO()
    segno.make(body["code"], error="m", micro=False).save(png, kind="png", scale=6, border=2)
    assert segno.make(body["code"], error="m", micro=False).svg_data_uri(scale=6, border=2) == body["qr_svg"]
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.getvalue())))
    assert [(r.text, r.format.name) for r in results] == [(body["code"], "QRCode")]


# --- Static files -------------------------------------------------------------------------------
def settings_default_storages() -> dict:
    from django.conf import global_settings

    return global_settings.STORAGES


@pytest.fixture(scope="module")
def collected(tmp_path_factory, django_db_blocker):
    """collectstatic once into a temporary root with the production storage, served by WhiteNoise."""
    from django.core.management import call_command
    from django.test import override_settings

    from config import settings as production

    storages = getattr(production, "STORAGES", settings_default_storages())
    built = Path(production.STATIC_ROOT)
    if _fresh(built):  # `make test` has just run `make static` (the same command and storage): test its output
        with override_settings(STATIC_ROOT=built, STORAGES=storages, WHITENOISE_USE_FINDERS=False):
            yield built
        return
    root = tmp_path_factory.mktemp("static")
    with override_settings(STATIC_ROOT=root, STORAGES=storages, WHITENOISE_USE_FINDERS=False):
        call_command("collectstatic", interactive=False, verbosity=0)
        yield root


def _fresh(root: Path) -> bool:
    """A production collect newer than every source file under static/ (else collect afresh)."""
    manifest = root / "staticfiles.json"
    if not manifest.exists():
        return False
    sources = Path(__file__).resolve().parents[1] / "static"
    newest = max(p.stat().st_mtime for p in sources.rglob("*") if p.is_file())
    return manifest.stat().st_mtime >= newest


def test_hashed_static_files_are_long_cached_and_compressed(collected, settings):
    """Rider on a slow phone network: a hashed asset is cached for a year and comes gzip'd or Brotli'd."""
    from django.templatetags.static import static
    from whitenoise.middleware import WhiteNoiseMiddleware

    assert "whitenoise.middleware.WhiteNoiseMiddleware" in settings.MIDDLEWARE
    url = static("rider/js/app.js")
    assert re.search(r"/app\.[0-9a-f]{12}\.js$", url), url
    assert (collected / url.removeprefix(settings.STATIC_URL)).with_suffix(".js.br").exists()
    middleware = WhiteNoiseMiddleware(get_response=lambda request: None)  # reads STATIC_ROOT now
    for encoding in ("br", "gzip"):
        response = middleware(RequestFactory().get(url, HTTP_ACCEPT_ENCODING=encoding))
        assert response.status_code == 200
        assert response["Content-Encoding"] == encoding
        assert "max-age=31536000" in response["Cache-Control"] and "immutable" in response["Cache-Control"]


def test_service_worker_shell_lists_hashed_urls(collected, settings, client, db):
    """Rider: after a deploy the service worker's shell names the new files (hashes), not stale ones."""
    from django.templatetags.static import static

    body = client.get("/rider/sw.js").content.decode()
    assert static("rider/js/app.js") in body
    assert re.search(r"app\.[0-9a-f]{12}\.js", body)
    # The cache name follows the files: a deploy that changes one installs a new shell and drops the old cache.
    names = re.findall(r'"(rider-shell-[^"]*)"', body)
    assert len(names) == 1 and re.fullmatch(r"rider-shell-[0-9a-f]{12}", names[0]), names


# --- The demo-order command from a second terminal --------------------------------------------------
def test_demo_order_works_from_a_second_terminal_with_the_right_port(tmp_path):
    """Operator: `make run` in one terminal (DEMO_MODE=1 exported by make), then the README's command in a
    second terminal where nothing is exported: it must work, and its link must use the server's port."""
    import os
    import subprocess
    import sys

    base = {k: v for k, v in os.environ.items() if k not in {"DEMO_MODE", "SECRET_KEY", "TESTING", "DATABASE_URL",
                                                                 "REDIS_URL", "DJANGO_SETTINGS_MODULE", "PORT"}}
    base.update(VAR_DIR=str(tmp_path / "var"), PYTHONPATH=str(ROOT))
    make_env = {**base, "DEMO_MODE": "1", "PORT": "8123"}
    for command in (["migrate", "--noinput", "-v", "0"], ["demo_data"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=make_env, check=True, capture_output=True)
    second = subprocess.run([sys.executable, "manage.py", "demo_order", "--port", "8123"], cwd=ROOT, env=base,
                            capture_output=True, text=True)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "http://127.0.0.1:8123/t/" in second.stdout
    banner = subprocess.run([sys.executable, "manage.py", "run_banner", "--port", "8123"], cwd=ROOT, env=base,
                            capture_output=True, text=True)
    assert "demo-order PORT=8123" in banner.stdout and ":8000" not in banner.stdout
