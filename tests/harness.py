"""Real processes for integration, browser and scale tests: daphne servers, a Celery worker and
beat, against a fresh database (a SQLite file in a temp VAR_DIR, or a new PostgreSQL database).

    with LiveStack(tmp_path, workers=True) as stack:
        stack.url            # http://127.0.0.1:<port>
        stack.manage("demo_order", "--rider", "rider1")
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CHROMIUM = os.environ.get("PLAYWRIGHT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
DEMO_PASSWORD = "deliver-privately"
SERVER = [str(BIN / "python"), "-m", "dispatch.live.server"]  # daphne's command line, lighter per socket


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scale_urls() -> tuple[str, str]:
    """The scale-profile URLs from the environment (test settings move them aside)."""
    from django.conf import settings

    return (getattr(settings, "SCALE_DATABASE_URL", "") or os.environ.get("DATABASE_URL", ""),
            getattr(settings, "SCALE_REDIS_URL", "") or os.environ.get("REDIS_URL", ""))


def create_pg_database(base_url: str, template: str = "") -> tuple[str, str]:
    """A fresh database on the server of `base_url` (a copy of database `template` if given). Returns (url, name)."""
    import psycopg

    name = f"pd_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    parts = urlsplit(base_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment)), name


def drop_pg_database(base_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# Settings that only the running processes read: `migrate` and `demo_data` do the same whatever their values,
# so stacks that differ only in these start from the same template. Any other extra setting gets its own.
RUNTIME_ONLY = frozenset({
    "ACCESS_REVOKE_AFTER_S", "ALERT_STALE_AFTER_S", "ALERTS_SWEEP_S",
    "BENCH_ECHO", "BREAK_GLASS_QUOTA_PER_DAY", "CALL_WINDOW_S", "EVENTS_RESEND_AFTER_S",
    "HANDOFF_CODE_TTL_S", "LOG_LEVEL", "MAX_SPEED_MPS", "REDIS_PREFIX", "RING_TIMEOUT_S", "SWEEP_INTERVAL_S",
    "TELEPHONY_PROVIDER", "TRACKING_LINK_TTL_S", "TWILIO_AUTH_TOKEN", "TWILIO_WEBHOOK_URL",
})


class Template:
    """A VAR_DIR (and, on PostgreSQL, a database) after `migrate` and `demo_data`: made once per test process
    and kind of stack, then copied for each stack (about 9 s of a stack's start-up, two Django processes)."""

    made: dict[tuple, Template] = {}

    def __init__(self, var: Path, db_name: str = ""):
        self.var, self.db_name = var, db_name

    @classmethod
    def key(cls, stack: LiveStack) -> tuple:
        return (stack.base_db_url, tuple(sorted((k, v) for k, v in stack.extra_env.items() if k not in RUNTIME_ONLY)))

    @classmethod
    def for_stack(cls, stack: LiveStack) -> Template:
        key = cls.key(stack)
        if key not in cls.made:
            home = Path(tempfile.mkdtemp(prefix="livestack-template-"))
            atexit.register(shutil.rmtree, home, ignore_errors=True)
            db_url = db_name = ""
            if stack.base_db_url:
                db_url, db_name = create_pg_database(stack.base_db_url)
                atexit.register(drop_pg_database, stack.base_db_url, db_name)
            env = stack.build_env(var_dir=home / "var", db_url=db_url)
            for command in (["migrate", "--noinput"], ["demo_data"]):
                subprocess.run([str(BIN / "python"), "manage.py", *command], cwd=ROOT, env=env, check=True,
                               capture_output=True, text=True, timeout=300)
            cls.made[key] = Template(home / "var", db_name)
        return cls.made[key]


class LiveStack:
    def __init__(self, tmp: Path, *, servers: int = 1, workers: bool = False, beat: bool = False,
                 database_url: str = "", redis_url: str = "", env: dict[str, str] | None = None,
                 server_args: list[str] | None = None):
        self.tmp = Path(tmp)
        self.n_servers = servers
        self.with_worker = workers
        self.with_beat = beat
        self.base_db_url = database_url
        self.redis_url = redis_url
        self.extra_env = env or {}
        self.server_args = list(server_args or [])  # extra daphne options, e.g. a deployment's proxy headers
        self.procs: list[subprocess.Popen] = []
        self.commands: dict[str, tuple[list[str], dict[str, str] | None]] = {}
        self.ports: list[int] = []
        self.db_name = ""

    # --- environment -------------------------------------------------------------------
    def build_env(self, var_dir: Path | None = None, db_url: str | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
        env.update(DJANGO_SETTINGS_MODULE="config.settings", DEMO_MODE="1", VAR_DIR=str(var_dir or self.tmp / "var"),
                   PYTHONUNBUFFERED="1", SWEEP_INTERVAL_S="1", EVENTS_RELAY_INTERVAL_S="0.1",
                   # No silent-phone alert (and its bar over the page) in a module that does not ask for one.
                   ALERT_STALE_AFTER_S="3600",
                   # Every simulated customer comes from 127.0.0.1: the per-address tracking limit is for the
                   # in-process tests (tests/guard/test_tracking_limits.py) to show.
                   TRACKING_RATE_LIMIT="100000")
        env.pop("TESTING", None)
        env.pop("EVENTS_RELAY", None)
        db_url = self.db_url if db_url is None else db_url
        if db_url:
            env["DATABASE_URL"] = db_url
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
        env.update(self.extra_env)
        return env

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([str(BIN / "python"), "manage.py", *args], cwd=ROOT, env=self.env, check=check,
                              capture_output=True, text=True, timeout=120)

    # --- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> LiveStack:
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.db_url = ""
        try:
            return self._start()
        except BaseException:
            self.__exit__()  # a stack that fails to start leaves no process or database behind
            raise

    def _start(self) -> LiveStack:
        # A copy of this kind of stack's template: the state `migrate` and `demo_data` leave, its own from here on.
        template = Template.for_stack(self)
        if self.base_db_url:
            self.db_url, self.db_name = create_pg_database(self.base_db_url, template=template.db_name)
        self.env = self.build_env()
        shutil.copytree(template.var, self.tmp / "var", dirs_exist_ok=True)
        logs = self.tmp / "logs"
        logs.mkdir(exist_ok=True)
        for i in range(self.n_servers):
            port = free_port()
            self.ports.append(port)
            self._spawn(f"daphne{i}", [*SERVER, *self.server_args, "-b", "127.0.0.1", "-p", str(port),
                                       "config.asgi:application"], {"PORT": str(port)})
        if self.with_worker:
            self._spawn("worker", [str(BIN / "celery"), "-A", "config", "worker", "--pool=solo",
                                   "--loglevel=INFO", "--without-heartbeat", "--without-gossip", "--without-mingle"])
        if self.with_beat:
            self._spawn("beat", [str(BIN / "celery"), "-A", "config", "beat", "--loglevel=INFO",
                                 f"--schedule={self.tmp / 'var' / 'beat-schedule'}"])
        for port in self.ports:
            self._wait_http(port)
        if self.with_worker:
            self.wait_for_log("worker", "ready", timeout=60)
        return self

    def _spawn(self, name: str, cmd: list[str], extra: dict[str, str] | None = None, mode: str = "w") -> None:
        self.commands[name] = (cmd, extra)
        out = open(self.tmp / "logs" / f"{name}.log", mode)  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(cmd, cwd=ROOT, env={**self.env, **(extra or {})}, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        proc.name = name  # type: ignore[attr-defined]
        self.procs.append(proc)

    def _wait_http(self, port: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/accounts/login/", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            self._check_alive()
            time.sleep(0.2)
        raise RuntimeError(f"server on {port} did not start:\n{self.logs()}")

    def _check_alive(self) -> None:
        for proc in self.procs:
            if proc.poll() is not None:
                raise RuntimeError(f"{proc.name} exited with {proc.returncode}:\n{self.logs()}")

    def log(self, name: str) -> str:
        path = self.tmp / "logs" / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} ---\n{self.log(p.name)[-3000:]}" for p in self.procs)

    def wait_for_log(self, name: str, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log(name):
                return
            self._check_alive()
            time.sleep(0.2)
        raise RuntimeError(f"{name!r} never logged {text!r}:\n{self.logs()}")

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        for proc in self.procs:
            if proc.name == name and proc.poll() is None:
                os.killpg(proc.pid, sig)
                proc.wait(timeout=20)

    def kill(self, name: str) -> None:
        """A crash: SIGKILL to the process (and its group), nothing flushed."""
        self.stop(name, signal.SIGKILL)

    def respawn(self, name: str) -> None:
        """Start a stopped or killed process again, as a supervisor would (its log goes on in the same file)."""
        self.procs = [p for p in self.procs if p.name != name]
        cmd, extra = self.commands[name]
        self._spawn(name, cmd, extra, mode="a")
        if name.startswith("daphne"):
            self._wait_http(self.ports[int(name.removeprefix("daphne"))])

    def __exit__(self, *exc) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                # A worker on the filesystem broker keeps its queue in this stack's VAR_DIR, which goes with it:
                # nothing to hand back, so no warm shutdown (4-5 s of waiting per stack). On Redis, warm.
                sig = signal.SIGKILL if proc.name == "worker" and not self.redis_url else signal.SIGTERM  # type: ignore[attr-defined]
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, sig)
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        if self.db_name:
            drop_pg_database(self.base_db_url, self.db_name)

    # --- clients -----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports[0]}"

    def url_of(self, i: int) -> str:
        return f"http://127.0.0.1:{self.ports[i]}"

    def login(self, username: str, server: int = 0) -> httpx.Client:
        """An HTTP client with a logged-in session (cookie) and its CSRF header set."""
        base = self.url_of(server)
        client = httpx.Client(base_url=base, timeout=20, follow_redirects=False)
        client.get("/accounts/login/")
        token = client.cookies.get("csrftoken")
        r = client.post("/accounts/login/", data={"username": username, "password": DEMO_PASSWORD,
                                                    "csrfmiddlewaretoken": token}, headers={"Referer": base + "/"})
        assert r.status_code == 302, f"login failed for {username}: {r.status_code}"
        client.headers["X-CSRFToken"] = client.cookies.get("csrftoken")
        client.headers["Referer"] = base + "/"
        return client

    def token_client(self, username: str, server: int = 0) -> httpx.Client:
        r = httpx.post(f"{self.url_of(server)}/api/auth/token/", json={"username": username, "password": DEMO_PASSWORD})
        r.raise_for_status()
        return httpx.Client(base_url=self.url_of(server), timeout=20,
                            headers={"Authorization": f"Token {r.json()['token']}"})


def chromium_available() -> bool:
    return Path(CHROMIUM).exists()


def attach_stack_logs(report, item, unwrap=lambda value: value) -> None:
    """On a failed test, the tail of each process's log of the live stack it used (daphne, worker, beat): what a
    CI run that failed here, and nowhere else, leaves to read. `unwrap` finds the stack in a fixture's value."""
    if not report.failed:
        return
    for value in getattr(item, "funcargs", {}).values():
        stack = unwrap(value)
        if isinstance(stack, LiveStack) and stack.procs:
            report.sections.append((f"process logs ({stack.tmp.name})", stack.logs()))
            return
