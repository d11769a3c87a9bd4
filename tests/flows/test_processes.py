"""Processes that leave nothing behind: a `cchc` command or the dashboard that is killed takes the temporary
Prefect server it started with it, and a flush that was killed mid-run is named by the next run.

The commands run as the installed `cchc`, each in its own process group, with no PREFECT_API_URL (so that
their first flow starts Prefect's temporary server, under a PREFECT_HOME of this module). Whatever
happens, every process of a group is killed at the end of its test (an orphaned server stays in the group).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from factories import COORDINATOR, at, open_2021, scalar
from mailserver import MailServer
from sqlalchemy import func, select
from typer.testing import CliRunner

from cchc.flows.deadlines import register_plan
from cchc.flows.display import local_time
from cchc.flows.params import SweepParams
from cchc.flows.runtime import now
from cchc.flows.sweep import sweep_flow
from cchc.models.db import get_engine, read_session, write_session
from cchc.models.i18n import speaking
from cchc.models.tables import OutboxMessage
from cchc.notifications.outbox import claim

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]

CCHC = Path(sys.executable).with_name("cchc")
SERVER_APP = "prefect.server.api.server:create_app"  # what Prefect's temporary server runs
PASSWORD = "Mật khẩu đủ dài 2021"


# --- processes, read from /proc ----------------------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command's name (state, parent, group, …), or None."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def alive(pid: int) -> bool:
    fields = _stat(pid)
    return fields is not None and fields[0] not in ("Z", "X")  # a zombie has ended: it only waits to be reaped


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        fields = _stat(int(entry.name))
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def command_line(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def wait_until(what: str, ready: Callable[[], object], timeout: float, log: Path | None = None) -> object:
    deadline = time.monotonic() + timeout
    while not (value := ready()):
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise AssertionError(f"{what}: not after {timeout} s\n{tail}")
        time.sleep(0.1)
    return value


@dataclass
class Started:
    """A command started in its own process group, and the processes of that group seen so far."""

    process: subprocess.Popen[bytes]
    log: Path
    seen: set[int]

    @property
    def pid(self) -> int:
        return self.process.pid

    def temporary_server(self, timeout: float = 240) -> tuple[int, int]:
        """The command's temporary Prefect server once it answers: (its process id, its port)."""

        def found() -> tuple[int, int] | None:
            assert self.process.poll() is None, f"the command ended: {self.log.read_text()[-3000:]}"
            for pid in descendants(self.pid):
                self.seen.add(pid)
                args = command_line(pid)
                if SERVER_APP in args and "--port" in args:
                    port = int(args[args.index("--port") + 1])
                    try:
                        if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                            return pid, port
                    except httpx.HTTPError:
                        pass
            return None

        server = wait_until("the temporary Prefect server", found, timeout, self.log)
        assert isinstance(server, tuple)
        return server


@contextmanager
def started(args: list[str], env: dict[str, str], log: Path) -> Iterator[Started]:
    """`cchc ARGS` in a new session (its own process group); at the end, every process of the group and
    every process seen under it is killed, whatever the test found."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(CCHC), *args], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    run = Started(process, log, set())
    try:
        yield run
    finally:
        run.seen.update(descendants(process.pid))
        try:
            os.killpg(process.pid, signal.SIGKILL)  # the group outlives its leader: orphans are still in it
        except ProcessLookupError:
            pass
        for pid in run.seen:  # one that left the group (none should)
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def prefect_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One PREFECT_HOME for the commands of this module: the first temporary server makes its database
    (~17 s), the next ones find it (~7 s)."""
    return tmp_path_factory.mktemp("prefect-home")


def environment(url: str, prefect_home: Path, **extra: str) -> dict[str, str]:
    """The commands' environment: this one's CCHC_* settings, no PREFECT_* (no server named: each command
    starts its temporary one)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_") and k != "CCHC_PREFECT_API_URL"}
    env.update(CCHC_DATABASE_URL=url, PREFECT_HOME=str(prefect_home), **extra)
    return env


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated SQLite file of this test (the commands here are about processes, not backends)."""
    path = tmp_path / "cchc.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


def queue_reminders(url: str) -> int:
    """The 2021 cycle open, every unit's plan in, and the sweep of 24/08 queues the submission reminders."""
    org = open_2021(url)
    for unit in org.units:
        if unit.group:
            register_plan(url, 2021, unit.code, f"01/KH-{unit.code}", COORDINATOR, at("05/07/2021"))
    return sweep_flow(SweepParams(year=2021, database_url=url, at=at("24/08/2021", "08:00"))).messages


@contextmanager
def silent_smtp_server() -> Iterator[int]:
    """A port on loopback that takes connections and never says a word: a sender waits for its greeting."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield int(listener.getsockname()[1])


def leased_until(url: str) -> datetime:
    with read_session(get_engine(url)) as session:
        until = session.execute(
            select(func.max(OutboxMessage.lease_until)).where(OutboxMessage.status == "sending")  # type: ignore[arg-type]
        ).scalar_one()
    assert until is not None
    return until


def held(n: int, until: datetime) -> str:
    """What a flush and `notify status` say of `n` messages a stopped flush still holds (in English)."""
    return (
        f"{n} messages are still leased by a flush that stopped before recording them (or by one still running): "
        f"the first flush after {local_time(until)} retries them"
    )


def said(output: str) -> str:
    """A command's output as one line (the terminal's width wraps it)."""
    return " ".join(output.split())


def cli(url: str, *args: str) -> tuple[int, str]:
    from cchc.flows.cli import app

    result = CliRunner().invoke(app, ["--database-url", url, *args])
    return result.exit_code, result.output


# --- the temporary server ends with its command -----------------------------------------------------


def test_a_killed_flush_takes_its_temporary_server_along_and_the_rerun_names_the_messages_it_held(
    sqlite_url: str, prefect_home: Path, tmp_path: Path, mail_server: MailServer
) -> None:
    assert queue_reminders(sqlite_url) == 88
    with silent_smtp_server() as port:
        env = environment(sqlite_url, prefect_home, CCHC_SMTP_PORT=str(port), CCHC_SMTP_TIMEOUT_S="300")
        with started(["notify", "flush"], env, tmp_path / "flush.log") as flush:
            server, _ = flush.temporary_server()
            wait_until(
                "the flush leasing its batch",
                lambda: scalar(sqlite_url, "SELECT count(*) FROM outbox WHERE status = 'sending'") == 88,
                120,
                flush.log,
            )
            assert flush.process.poll() is None  # still waiting for the SMTP server's greeting
            os.kill(flush.pid, signal.SIGKILL)  # the command only, as `kill -9 PID` or the OOM killer does
            flush.process.wait(timeout=10)
            wait_until(f"the temporary server {server} gone after its command was killed", lambda: not alive(server), 5)

    # the rerun (the loopback mailbox works now) sends nothing the killed run holds, and says so
    until = leased_until(sqlite_url)
    code, out = cli(sqlite_url, "notify", "flush")
    assert code == 0, out
    assert "sent 0, to retry later 0, dead 0" in out
    assert held(88, until) in said(out), out
    code, out = cli(sqlite_url, "notify", "status")
    assert code == 0 and "sending 88" in out and held(88, until) in said(out), out
    assert len(mail_server.received) == 0


def test_a_dashboard_stopped_with_sigterm_stops_the_temporary_server_its_jobs_started(
    sqlite_url: str, prefect_home: Path, tmp_path: Path
) -> None:
    from cchc.flows.web.auth import set_password

    open_2021(sqlite_url)
    set_password(sqlite_url, COORDINATOR, PASSWORD, None, at("01/07/2021"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    base = f"http://127.0.0.1:{port}"
    with started(
        ["dashboard", "--port", str(port)], environment(sqlite_url, prefect_home), tmp_path / "web.log"
    ) as web:

        def answers() -> bool:
            assert web.process.poll() is None, web.log.read_text()[-3000:]
            try:
                return httpx.get(f"{base}/login", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until("the dashboard", answers, 120, web.log)
        assert not [p for p in descendants(web.pid) if SERVER_APP in command_line(p)]  # none before a flow runs
        with httpx.Client(base_url=base, follow_redirects=False, timeout=30) as browser:
            token = _csrf(browser.get("/login").text)
            login = browser.post("/login", data={"username": COORDINATOR, "password": PASSWORD, "csrf_token": token})
            assert login.status_code == 303, login.text
            token = _csrf(browser.get("/cycles/2021").text)
            sweep = browser.post("/cycles/2021/sweep", data={"csrf_token": token})
            assert sweep.status_code == 303, sweep.text
            job_id = sweep.headers["location"].rsplit("job=", 1)[1]
            server, _ = web.temporary_server()

            def finished() -> dict[str, object] | None:
                job: dict[str, object] = browser.get(f"/jobs/{job_id}").json()
                return job if job["finished"] else None

            job = wait_until("the sweep job", finished, 240, web.log)
            assert isinstance(job, dict) and job["status"] == "done", job
        os.kill(web.pid, signal.SIGTERM)  # as `systemctl stop` does
        web.process.wait(timeout=60)
        # stopped by the dashboard's shutdown itself (its child, reaped before it exited), not left to die later
        assert not alive(server), f"the temporary server {server} outlived the dashboard"


def _csrf(page: str) -> str:
    marker = 'name="csrf_token" value="'
    assert marker in page, page[:500]
    return page.split(marker, 1)[1].split('"', 1)[0]


def test_the_tied_command_is_prefects_own_with_a_watch_on_its_parent(tmp_path: Path) -> None:
    """The temporary server's command and environment are Prefect's (checked against the installed
    version, in a fresh interpreter), run through the watch of flows/runtime.py."""
    script = """
import json, os, subprocess, sys
from prefect.server.api.server import SubprocessASGIServer
from cchc.flows.runtime import _TIED_TO_PARENT, tie_temporary_server
calls = []
subprocess.Popen = lambda args, env: calls.append({"args": args, "env": env})
server = SubprocessASGIServer(port=8765)
server._run_uvicorn_command()
tie_temporary_server()
server._run_uvicorn_command()
json.dump({"calls": calls, "pid": os.getpid(), "code": _TIED_TO_PARENT}, sys.stdout)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    prefects, tied = answer["calls"]
    assert prefects["args"][:3] == [sys.executable, "-m", "uvicorn"] and SERVER_APP in prefects["args"]
    assert tied["args"] == [sys.executable, "-c", answer["code"], str(answer["pid"]), *prefects["args"][3:]]
    assert tied["env"] == prefects["env"]


# --- a killed flush is named by the next run ---------------------------------------------------------


def test_the_messages_a_stopped_flush_still_holds_are_counted_with_the_time_they_are_retried(
    db_url: str, mail_server: MailServer
) -> None:
    assert queue_reminders(db_url) == 88
    with write_session(get_engine(db_url)) as session:  # a flush claims its first batch, then is killed
        claimed = claim(session, now(), 40)
    assert len(claimed) == 40
    until = leased_until(db_url)
    code, out = cli(db_url, "notify", "flush")
    assert code == 0, out
    assert "sent 48, to retry later 0, dead 0" in out and held(40, until) in said(out), out
    assert len(mail_server.received) == 48
    code, out = cli(db_url, "notify", "status", "--json")
    assert json.loads(out)["leased"] == {"count": 40, "until": until.isoformat()}

    with speaking("vi"):
        code, out = cli(db_url, "notify", "status")
    assert code == 0
    assert (
        "40 thư vẫn đang bị giữ bởi một lần gửi đã dừng giữa chừng, chưa ghi nhận kết quả (hoặc một lần gửi đang "
        f"chạy): lần gửi đầu tiên sau {local_time(until)} sẽ thử gửi lại"
    ) in said(out), out


def test_nothing_is_said_of_leases_when_no_flush_holds_any(db_url: str, mail_server: MailServer) -> None:
    queue_reminders(db_url)
    code, out = cli(db_url, "notify", "flush")
    assert code == 0 and "sent 88" in out and "leased" not in out
    code, out = cli(db_url, "notify", "status")
    assert code == 0 and "leased" not in out
