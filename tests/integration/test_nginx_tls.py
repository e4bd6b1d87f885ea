"""The shipped nginx site (deploy/nginx/delivery.conf) for real, over TLS, in front of two daphne processes started
with the shipped unit's command line (deploy/systemd/daphne@.service) and the env the deployment sets
(TRUSTED_PROXY_COUNT=1, SECURE_PROXY_SSL_HEADER, HSTS, secure cookies).

nginx runs unprivileged from a temp prefix; its config is the shipped file with only the ports, the certificate
paths and the log paths substituted (each substitution must match the shipped text, so a drift fails here). TLS
comes from a throwaway CA made here with `cryptography`; every client trusts that CA (nothing skips verification).
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import os
import re
import shlex
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.harness import DEMO_PASSWORD, ROOT, LiveStack, free_port, scale_urls
from tests.integration.conftest import shell_json, wait_for

NGINX = Path("/usr/sbin/nginx")
SITE = ROOT / "deploy" / "nginx" / "delivery.conf"
UNIT = ROOT / "deploy" / "systemd" / "daphne@.service"
HOST = "localhost"
FAILURE_LIMIT = 3

pytestmark = pytest.mark.skipif(not NGINX.exists(), reason="nginx is not installed (/usr/sbin/nginx): apt-get install nginx")


# --- a throwaway CA -------------------------------------------------------------------------------------
def make_tls(folder: Path) -> tuple[Path, Path, Path]:
    """(ca.pem, server.pem, server.key): a CA and a server certificate for localhost and 127.0.0.1 signed by it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA for the nginx site")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    ca_pem, cert_pem, key_pem = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return ca_pem, cert_pem, key_pem


# --- the shipped files, made local -----------------------------------------------------------------------
def daphne_options() -> list[str]:
    """The options the shipped unit gives daphne, between the server module and `-b` (bind and port are ours)."""
    line = next(line for line in UNIT.read_text().splitlines() if line.startswith("ExecStart="))
    words = shlex.split(line.removeprefix("ExecStart="))
    start = words.index("dispatch.live.server") + 1
    return words[start:words.index("-b")]


def substitute(text: str, old: str, new: str, count: int = 1) -> str:
    assert text.count(old) == count, f"the shipped site no longer has {count} x {old!r}: update this test with it"
    return text.replace(old, new)


def site_config(tmp: Path, *, http_port: int, https_port: int, upstreams: list[int], cert: Path, key: Path) -> str:
    text = SITE.read_text()
    text = substitute(text, "listen 80;", f"listen 127.0.0.1:{http_port};")
    text = substitute(text, "listen [::]:80;", "")
    text = substitute(text, "listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;")
    text = substitute(text, "listen [::]:443 ssl http2;", "")
    text = substitute(text, "server_name delivery.example.org;", f"server_name {HOST};", count=2)
    text = substitute(text, "ssl_certificate     /etc/ssl/delivery/fullchain.pem;", f"ssl_certificate {cert};")
    text = substitute(text, "ssl_certificate_key /etc/ssl/delivery/privkey.pem;", f"ssl_certificate_key {key};")
    text = substitute(text, "/var/log/nginx/", f"{tmp}/", count=2)
    text = substitute(text, "server 127.0.0.1:8001 ", f"server 127.0.0.1:{upstreams[0]} ")
    text = substitute(text, "server 127.0.0.1:8002 ", f"server 127.0.0.1:{upstreams[1]} ")
    return text


def main_config(tmp: Path) -> str:
    """What Debian's /etc/nginx/nginx.conf gives a site, with every writable path in `tmp` (no root needed)."""
    temps = "\n".join(f"    {kind}_temp_path {tmp}/{kind}_temp;" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return f"""worker_processes 1;
error_log {tmp}/error.log warn;
events {{ worker_connections 512; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
{temps}
    include {tmp}/delivery.conf;
}}
"""


def wait_port(port: int, proc: subprocess.Popen, log: Path, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        if proc.poll() is not None:
            raise RuntimeError(f"nginx exited with {proc.returncode}:\n{log.read_text(errors='replace') if log.exists() else ''}")
        time.sleep(0.1)
    raise RuntimeError(f"nginx did not listen on {port}")


class Front:
    def __init__(self, stack: LiveStack, tmp: Path, https_port: int, http_port: int, ca: Path):
        self.stack, self.tmp, self.https_port, self.http_port, self.ca = stack, tmp, https_port, http_port, ca
        self.base = f"https://{HOST}:{https_port}"
        self.ssl = ssl.create_default_context(cafile=str(ca))

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.base, verify=self.ssl, timeout=20, follow_redirects=False, **kwargs)

    def login(self, username: str) -> httpx.Client:
        client = self.client()
        client.get("/accounts/login/")
        r = client.post("/accounts/login/", data={"username": username, "password": DEMO_PASSWORD,
                                                   "csrfmiddlewaretoken": client.cookies.get("csrftoken")},
                        headers={"Referer": self.base + "/accounts/login/", "Origin": self.base})
        assert r.status_code == 302, (r.status_code, r.text[:500])
        client.headers.update({"X-CSRFToken": client.cookies.get("csrftoken"), "Referer": self.base + "/", "Origin": self.base})
        client.last_login = r  # type: ignore[attr-defined]
        return client

    def ws(self, path: str, client: httpx.Client, origin: str | None = None):
        cookie = "; ".join(f"{c.name}={c.value}" for c in client.cookies.jar)
        return connect(f"wss://{HOST}:{self.https_port}{path}", ssl=self.ssl, open_timeout=10, close_timeout=2,
                       additional_headers={"Origin": origin or self.base, "Cookie": cookie})

    def served_by_direct(self) -> list[str]:
        """Each daphne's X-Served-By, asked directly (not through nginx), in the stack's order."""
        return [httpx.get(f"{self.stack.url_of(i)}/accounts/login/", timeout=10).headers["x-served-by"]
                for i in range(len(self.stack.ports))]


@pytest.fixture(scope="module")
def front(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nginx-tls")
    ngx = tmp / "nginx"
    ngx.mkdir()
    ca, cert, key = make_tls(ngx)
    https_port, http_port = free_port(), free_port()
    db, redis = scale_urls()
    env = {"SERVED_BY_HEADER": "1", "TRUSTED_PROXY_COUNT": "1", "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
           "SECURE_HSTS_SECONDS": "31536000", "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
           "SESSION_COOKIE_SECURE": "1", "CSRF_COOKIE_SECURE": "1",
           # nginx redirects plain http; the harness's readiness probe talks plain http to each daphne directly.
           "SECURE_SSL_REDIRECT": "0",
           "ALLOWED_HOSTS": "localhost,127.0.0.1",
           # Not the site's own origin: the socket's Origin check must see https by itself (SECURE_PROXY_SSL_HEADER).
           "CSRF_TRUSTED_ORIGINS": "https://elsewhere.example.org",
           "AXES_FAILURE_LIMIT": str(FAILURE_LIMIT), "LOGIN_BACKOFF_AFTER": "100"}
    with LiveStack(tmp / "stack", servers=2, database_url=db if (db and redis) else "",
                   redis_url=redis if (db and redis) else "", env=env, server_args=daphne_options()) as stack:
        (ngx / "delivery.conf").write_text(site_config(ngx, http_port=http_port, https_port=https_port,
                                                       upstreams=stack.ports, cert=cert, key=key))
        (ngx / "nginx.conf").write_text(main_config(ngx))
        command = [str(NGINX), "-p", str(ngx), "-c", str(ngx / "nginx.conf"), "-e", str(ngx / "error.log"),
                   "-g", f"daemon off; pid {ngx / 'nginx.pid'};"]
        check = subprocess.run([*command[:-2], "-t"], capture_output=True, text=True, timeout=30)
        assert check.returncode == 0, check.stderr
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=open(ngx / "stderr.log", "w"),  # noqa: SIM115
                                start_new_session=True)
        try:
            wait_port(https_port, proc, ngx / "error.log")
            wait_port(http_port, proc, ngx / "error.log")
            yield Front(stack, ngx, https_port, http_port, ca)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGQUIT)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)


def test_plain_http_redirects_to_https(front):
    r = httpx.get(f"http://127.0.0.1:{front.http_port}/accounts/login/?next=/rider/", headers={"Host": HOST})
    assert r.status_code == 301
    assert r.headers["location"] == f"https://{HOST}/accounts/login/?next=/rider/"


def test_tls_with_http2_offered(front):
    """The handshake verifies against the test CA, and ALPN settles on h2 (HTTP/2 on the listener)."""
    ctx = ssl.create_default_context(cafile=str(front.ca))
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    with socket.create_connection(("127.0.0.1", front.https_port), timeout=5) as raw, \
            ctx.wrap_socket(raw, server_hostname=HOST) as tls:
        assert tls.selected_alpn_protocol() == "h2"
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
    with pytest.raises(httpx.ConnectError):  # a client that does not trust the CA is refused
        httpx.get(front.base + "/accounts/login/", timeout=5)


def test_security_headers_once_and_cookies_secure(front):
    with front.client() as anon:
        page = anon.get("/accounts/login/")
    assert page.status_code == 200
    hsts = page.headers.get_list("strict-transport-security")
    assert hsts == ["max-age=31536000; includeSubDomains"], hsts  # exactly once: the app's, nginx adds none
    for name in ("content-security-policy", "x-frame-options", "x-content-type-options", "referrer-policy"):
        assert len(page.headers.get_list(name)) == 1, (name, page.headers.get_list(name))
    assert "server" not in page.headers or "nginx/" not in page.headers["server"]  # server_tokens off

    rider = front.login("rider1")
    try:
        cookies = {c.split("=", 1)[0]: c for c in rider.last_login.headers.get_list("set-cookie")}
        assert "sessionid" in cookies, cookies
        for name in ("sessionid", "csrftoken"):
            attrs = [a.strip().lower() for a in cookies[name].split(";")]
            assert "secure" in attrs, cookies[name]
        assert "httponly" in [a.strip().lower() for a in cookies["sessionid"].split(";")]
    finally:
        rider.close()


def test_wss_rider_socket_through_nginx_and_http_origin_refused(front):
    rider = front.login("rider2")
    try:
        with front.ws("/ws/rider/", rider) as ws:
            assert json.loads(ws.recv(timeout=10)) == {"type": "hello", "seq": 0}
            ws.send(json.dumps({"type": "location", "lat": 51.52, "lng": -0.10, "accuracy": 8,
                                "timestamp": time.time(), "seq": 7}))
            ack = json.loads(ws.recv(timeout=10))
            while ack.get("type") != "location.ack":  # other frames (an order list) may come first
                ack = json.loads(ws.recv(timeout=10))
            assert ack["seq"] == 7, ack
        # The same page served over http (an Origin of http://): refused at the handshake.
        with pytest.raises(InvalidStatus) as refused:
            with front.ws("/ws/rider/", rider, origin=f"http://{HOST}:{front.https_port}"):
                pass
        assert refused.value.response.status_code == 403
    finally:
        rider.close()


_ATTEMPTS = """
import json
from axes.models import AccessAttempt
print("RESULT " + json.dumps(sorted({{a.ip_address for a in AccessAttempt.objects.filter(username={user!r})}})))
"""


def test_login_lock_keys_on_the_address_nginx_saw(front):
    """A client writes its own X-Forwarded-For (a new forged address each try); nginx appends 127.0.0.1. With
    TRUSTED_PROXY_COUNT=1 every failure counts against 127.0.0.1, so the lock comes after FAILURE_LIMIT tries
    (counted per forged value, it never would), and the records hold 127.0.0.1, none of the forged values."""
    user = "dispatcher1"
    statuses = []
    with front.client() as client:
        for i in range(FAILURE_LIMIT + 1):
            r = client.post("/api/auth/token/", json={"username": user, "password": "wrong-password"},
                            headers={"X-Forwarded-For": f"203.0.113.{i + 1}"})
            statuses.append(r.status_code)
    assert 429 not in statuses[:FAILURE_LIMIT - 1], statuses  # below the limit: plain refusals
    assert statuses[-1] == 429, statuses  # locked: the tries were counted together
    assert shell_json(front.stack, _ATTEMPTS.format(user=user)) == ["127.0.0.1"]


def test_rider_socket_and_http_calls_stay_on_one_daphne(front):
    ids = front.served_by_direct()
    assert len(set(ids)) == 2, ids  # two processes, told apart
    rider = front.login("rider3")
    try:
        answered = {rider.get(path).headers["x-served-by"]
                    for path in ("/rider/", "/api/rider/orders/", "/api/rider/orders/", "/rider/", "/api/rider/orders/")}
        assert len(answered) == 1, answered
        home = ids.index(answered.pop())
        before = [front.stack.log(f"daphne{i}").count("WSCONNECT /ws/rider/") for i in range(2)]
        with front.ws("/ws/rider/", rider) as ws:
            assert json.loads(ws.recv(timeout=10))["type"] == "hello"
            after = [front.stack.log(f"daphne{i}").count("WSCONNECT /ws/rider/") for i in range(2)]
            assert after[home] == before[home] + 1 and after[1 - home] == before[1 - home], (home, before, after)
            # And the calls made while the socket is open still land there.
            assert {rider.get("/api/rider/orders/").headers["x-served-by"] for _ in range(3)} == {ids[home]}
    finally:
        rider.close()


def test_nginx_log_redacts_tracking_tokens(front):
    with front.client() as anon:
        anon.get("/t/SECRET-TOKEN-FOR-THE-LOG/")
        anon.get("/api/track/SECRET-TOKEN-FOR-THE-LOG/?q=SECRET-QUERY")
    log = front.tmp / "delivery.access.log"
    text = wait_for(lambda: log.exists() and "/api/track/<redacted>/" in log.read_text() and log.read_text(),
                    timeout=10, what="the access log lines")
    assert "/t/<redacted>/" in text
    assert "SECRET-TOKEN" not in text and "SECRET-QUERY" not in text
    assert re.search(r"^127\.0\.0\.1 ", text, re.M)
