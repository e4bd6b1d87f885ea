"""Finding "under `make run`, one process dying stops the whole stack": the operator kill -9s the server,
then the worker, of the stack `make run` starts (supervisord with config/supervisord.conf, on a temp
VAR_DIR and a free PORT), and sees each come back within seconds; then Ctrl-C (SIGINT) stops all of it."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.harness import BIN, ROOT, free_port
from tests.integration.conftest import wait_for

pytestmark = pytest.mark.worker
CONF = "config/supervisord.conf"


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


class Supervised:
    def __init__(self, tmp: Path):
        self.port = free_port()
        self.var = tmp / "var"
        self.var.mkdir(parents=True)
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("DATABASE_URL", "REDIS_URL", "TESTING", "DJANGO_SETTINGS_MODULE", "EVENTS_RELAY")}
        self.env.update(DJANGO_SETTINGS_MODULE="config.settings", DEMO_MODE="1", VAR_DIR=str(self.var),
                        PORT=str(self.port), PYTHONUNBUFFERED="1", SWEEP_INTERVAL_S="1", SIM_RIDERS="2")
        self.out = tmp / "supervisord.out"
        self.proc: subprocess.Popen | None = None

    def manage(self, *args: str) -> None:
        subprocess.run([str(BIN / "python"), "manage.py", *args], cwd=ROOT, env=self.env, check=True,
                       capture_output=True, timeout=120)

    def start(self) -> None:
        # The command `make run` ends with (see the Makefile): supervisord in the foreground.
        self.proc = subprocess.Popen([str(BIN / "supervisord"), "-c", CONF], cwd=ROOT, env=self.env,
                                     stdout=self.out.open("w"), stderr=subprocess.STDOUT, start_new_session=True)

    def output(self) -> str:
        return self.out.read_text(errors="replace")

    def pid(self, name: str) -> int:
        r = subprocess.run([str(BIN / "supervisorctl"), "-c", CONF, "pid", name], cwd=ROOT, env=self.env,
                           capture_output=True, text=True, timeout=20)
        return int(r.stdout.strip()) if r.stdout.strip().isdigit() else 0

    def http_up(self) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/accounts/login/", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False


def test_make_run_restarts_a_killed_server_and_worker_and_ctrl_c_stops_everything(tmp_path):
    """Operator (finding 4): kill -9 of the server and of the worker under `make run`; then Ctrl-C."""
    make = subprocess.run(["make", "-n", "run", f"PORT={free_port()}"], cwd=ROOT, capture_output=True, text=True,
                          timeout=30)
    assert f"supervisord -c {CONF}" in make.stdout, make.stdout  # the test runs what `make run` runs
    stack = Supervised(tmp_path)
    stack.manage("migrate", "--noinput")
    stack.manage("demo_data")
    stack.start()
    seen: set[int] = set()
    try:
        wait_for(stack.http_up, timeout=60, what="HTTP")
        wait_for(lambda: "ready." in stack.output(), timeout=60, what="the worker")
        pids = {name: wait_for(lambda n=name: stack.pid(n), timeout=20, what=f"{name} pid")
                for name in ("web", "worker", "beat", "sim")}
        seen |= set(pids.values())
        started = time.monotonic()
        desk = httpx.Client(base_url=f"http://127.0.0.1:{stack.port}", timeout=5)
        desk.get("/accounts/login/")
        desk.post("/accounts/login/", data={"username": "dispatcher1", "password": "deliver-privately",
                                            "csrfmiddlewaretoken": desk.cookies["csrftoken"]})

        def sim_riders_moving() -> bool:
            riders = desk.get("/api/dispatch/riders/").json()
            return sum(1 for r in riders if r["lat"] is not None and r["name"].startswith("Sim")) >= 1

        wait_for(sim_riders_moving, timeout=30, what="simulated riders on the dispatch map")
        print(f"\nsupervisor: simulated riders on the dispatch map {time.monotonic() - started:.1f} s after HTTP was up")

        os.kill(pids["web"], signal.SIGKILL)
        killed = time.monotonic()
        wait_for(lambda: not stack.http_up(), timeout=5, every=0.05, what="the server gone")
        wait_for(stack.http_up, timeout=30, every=0.1, what="HTTP back")
        web_back = time.monotonic() - killed
        new_web = stack.pid("web")
        assert new_web and new_web != pids["web"]
        seen.add(new_web)

        readies = stack.output().count("ready.")
        os.kill(pids["worker"], signal.SIGKILL)
        killed = time.monotonic()
        wait_for(lambda: stack.output().count("ready.") > readies, timeout=30, every=0.1, what="the worker back")
        worker_back = time.monotonic() - killed
        new_worker = stack.pid("worker")
        assert new_worker and new_worker != pids["worker"]
        seen.add(new_worker)
        print(f"\nsupervisor: HTTP back {web_back:.1f} s after kill -9 of the server; "
              f"worker ready {worker_back:.1f} s after kill -9 of the worker")
    finally:
        assert stack.proc is not None
        stack.proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        try:
            code = stack.proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(stack.proc.pid, signal.SIGKILL)
            raise
    assert code == 0, stack.output()[-3000:]
    left = [pid for pid in seen if alive(pid)]
    assert not left, f"processes left after Ctrl-C: {left}"
    assert not stack.http_up()
