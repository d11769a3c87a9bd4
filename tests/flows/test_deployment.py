"""Beyond one machine: a real Prefect server (on PostgreSQL when the suite has one), the process work pool
and the deployments of prefect.yaml, and two workers. The sweep and the appraisal by group start one child
run per group, the two workers share them, and the result is what one run over the whole cycle gives.

Everything listens on loopback; the server, the workers and their flow runs are killed at the end. The
suite's own Prefect harness is left alone: only the subprocesses and an explicit client see this server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from databases import new_database
from factories import APPRAISER, COORDINATOR, at, open_2021, scalar, submitted_2021
from sqlalchemy.engine import make_url
from twins import assert_same_story, clone_database

from cchc.config.settings import Settings
from cchc.flows.appraisal import appraise_flow
from cchc.flows.commitments import commitments_flow
from cchc.flows.params import NO_GROUP, AppraiseParams, CommitmentParams, SweepParams
from cchc.flows.sweep import sweep_flow

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]

ROOT = Path(__file__).resolve().parents[2]  # the checkout: prefect.yaml, and CCHC_HOME of the workers
PREFECT = str(Path(sys.executable).parent / "prefect")
PG_URL = Settings().test_database_url
BACKEND = "postgresql" if PG_URL else "sqlite"  # the database the workers share: PostgreSQL when there is one
WORKERS = ("worker-a", "worker-b")
DEPLOYMENTS = ("sweep-by-group", "sweep-group", "appraise-by-group", "appraise-group")


@dataclass
class Server:
    port: int
    env: dict[str, str]
    logs: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    starting: threading.Thread | None = None
    failed: BaseException | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def bring_up(self) -> None:
        """In the background (the tests build their data meanwhile): the server, the work pool, two workers
        and the deployments."""

        def steps() -> None:
            try:
                self.start("server", "server", "start", "--host", "127.0.0.1", "--port", str(self.port))
                _wait("healthy server", lambda: _healthy(self.api_url), self)
                self.run("work-pool", "work-pool", "create", "cchc", "--type", "process")
                # at most 2 runs at once each: the worker that runs a parent takes one of its children at a
                # time, the other worker two, so that 3 children or more are shared by both
                for name in WORKERS:
                    self.start(name, "worker", "start", "--pool", "cchc", "--name", name, "--limit", "2")
                self.run("deploy", "--no-prompt", "deploy", *(f"--name={d}" for d in DEPLOYMENTS))
            except BaseException as exc:  # noqa: BLE001 - handed to the test that waits for the server
                self.failed = exc

        self.starting = threading.Thread(target=steps, name="prefect-server", daemon=True)
        self.starting.start()

    def wait_ready(self) -> None:
        """Until the deployments are there and both workers are online."""
        assert self.starting is not None
        self.starting.join()
        if self.failed is not None:
            raise self.failed
        with self.client() as client:
            _wait(
                "two workers online",
                lambda: (
                    {w.name for w in client.read_workers_for_work_pool("cchc") if w.status == "ONLINE"} >= set(WORKERS)
                ),
                self,
            )

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        """A long-running command in its own process group, its output in logs/NAME.log."""
        with (self.logs / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(
                [PREFECT, *args], cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.processes.append(process)
        return process

    def run(self, name: str, *args: str) -> None:
        """A command that must succeed within a minute."""
        done = subprocess.run([PREFECT, *args], cwd=ROOT, env=self.env, capture_output=True, timeout=60)
        (self.logs / f"{name}.log").write_bytes(done.stdout + done.stderr)
        assert done.returncode == 0, f"prefect {' '.join(args)} failed:\n{self.tail(name)}"

    def tail(self, *names: str, lines: int = 40) -> str:
        """The end of these logs (all of them by default), for a failure's message."""
        paths = [self.logs / f"{n}.log" for n in names] if names else sorted(self.logs.glob("*.log"))
        return "\n".join(
            f"--- {p.name}\n" + "\n".join(p.read_text(errors="replace").splitlines()[-lines:])
            for p in paths
            if p.exists()
        )

    def client(self) -> Any:
        """A client of this server for the test process, leaving the suite's own Prefect settings alone."""
        from prefect import get_client
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings({PREFECT_API_URL: self.api_url}):
            return get_client(sync_client=True)

    def stop(self) -> None:
        """Workers first (and the flow runs they started, each in its own session), then the server."""
        if self.starting is not None:
            self.starting.join()
        for process in reversed(self.processes):
            for pid in [*_descendants(process.pid), process.pid]:
                _signal_group(pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            for pid in [*_descendants(process.pid), process.pid]:
                _signal_group(pid, signal.SIGKILL)
            process.wait(timeout=10)


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(what: str, ready: Any, server: Server, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        for process in server.processes:
            assert process.poll() is None, (
                f"a process of the test's Prefect ended while waiting for {what}:\n{server.tail()}"
            )
        time.sleep(0.3)
    raise AssertionError(f"no {what} after {timeout:g} s:\n{server.tail()}")


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`prefect server start` on a free loopback port, on a new PostgreSQL database (Prefect's own SQLite
    without one), the work pool `cchc`, the group deployments of prefect.yaml, and two workers."""
    home = tmp_path_factory.mktemp("prefect-server")
    (home / "logs").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "CCHC_"))}
    server = Server(_free_port(), env, home / "logs")
    env |= {
        "PREFECT_HOME": str(home / "home"),
        "PREFECT_API_URL": server.api_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_API_SERVICES_SCHEDULER_ENABLED": "false",  # nothing here runs on a schedule
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        # where the group runs keep their summaries for the parent: a directory every worker sees
        "PREFECT_RESULTS_LOCAL_STORAGE_PATH": str(home / "results"),
        "CCHC_HOME": str(ROOT),
        "CCHC_STORE_DIR": str(home / "store"),
    }
    with ExitStack() as stack:
        if PG_URL:  # Prefect's own database on the suite's PostgreSQL server
            database = stack.enter_context(new_database(PG_URL, "prefect_test"))
            url = make_url(database).set(drivername="postgresql+asyncpg")
            env["PREFECT_API_DATABASE_CONNECTION_URL"] = url.render_as_string(hide_password=False)
        try:
            server.bring_up()
            yield server
        finally:
            server.stop()


@pytest.fixture
def clone_of(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """Copies of a database as it is at the moment of the call (dropped after the test)."""
    with ExitStack() as stack:
        yield lambda url: stack.enter_context(clone_database(url, tmp_path))


def run_parent(server: Server, deployment: str, params: dict[str, Any], timeout: float = 120) -> tuple[Any, list[Any]]:
    """Run a parent deployment to its end; its flow run and its children's (each with its group)."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: server.api_url}):
        parent = run_deployment(deployment, parameters={"params": params}, timeout=timeout, poll_interval=0.5)
    with server.client() as client:
        children = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[parent.id]))
        )
    assert parent.state is not None and parent.state.is_completed(), f"{parent.state}\n{server.tail()}"
    return parent, children


def shared_out(children: list[Any], groups: list[str]) -> dict[str, str]:
    """Each group's worker, checking that there was one child per group, completed by a worker of the pool."""
    by_group = {child.parameters["params"]["group"]: child for child in children}
    assert sorted(by_group) == sorted(groups) and len(children) == len(groups)
    assert all(child.state.is_completed() and child.work_pool_name == "cchc" for child in children)
    return {group: child.labels.get("prefect.worker.name") for group, child in by_group.items()}


@pytest.mark.parametrize("db_url", [BACKEND], indirect=True)
def test_the_sweep_by_group_is_shared_by_two_workers_and_sends_each_step_once(
    prefect_server: Server, db_url: str, clone_of: Callable[[str], str]
) -> None:
    open_2021(db_url)  # nobody reports, and the Director has not signed his commitment yet
    commitments_flow(CommitmentParams(year=2021, database_url=db_url, actor=COORDINATOR, at=at("25/06/2021")))
    twin_url = clone_of(db_url)
    moment = at("01/09/2021", "08:00")
    prefect_server.wait_ready()
    _, children = run_parent(
        prefect_server,
        "deadline-sweep-by-group/sweep-by-group",
        {"database_url": db_url, "at": moment.isoformat(), "poll_s": 0.5},
    )
    workers = shared_out(children, ["tthc", "ktthc", "cah", NO_GROUP])
    assert set(workers.values()) == set(WORKERS), f"one worker took every group: {workers}"
    # the same as one sweep of the whole cycle, and nothing left to send, nothing sent twice
    sweep_flow(SweepParams(year=2021, database_url=twin_url, at=moment))
    assert_same_story(db_url, twin_url)
    assert scalar(db_url, "SELECT count(DISTINCT unit_code) FROM chase_step") == 45  # the 44 units and CAT
    assert sweep_flow(SweepParams(year=2021, database_url=db_url, at=moment)).lines == []


@pytest.mark.parametrize("db_url", [BACKEND], indirect=True)
def test_the_appraisal_by_group_is_shared_by_two_workers_and_appraises_each_unit_once(
    prefect_server: Server, db_url: str, clone_of: Callable[[str], str], tmp_path: Path
) -> None:
    submitted_2021(db_url, tmp_path)
    twin_url = clone_of(db_url)
    moment = at("04/09/2021")
    prefect_server.wait_ready()
    _, children = run_parent(
        prefect_server,
        "appraise-by-group/appraise-by-group",
        {"database_url": db_url, "actor": APPRAISER, "at": moment.isoformat(), "poll_s": 0.5},
    )
    workers = shared_out(children, ["tthc", "ktthc", "cah"])
    assert set(workers.values()) == set(WORKERS), f"one worker took every group: {workers}"
    appraise_flow(AppraiseParams(year=2021, database_url=twin_url, actor=APPRAISER, at=moment))
    assert_same_story(db_url, twin_url)
    assert scalar(db_url, "SELECT count(*) FROM assessment WHERE state = 'appraised'") == 43  # PV01: not its own
