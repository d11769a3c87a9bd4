"""The command line on a configured Prefect server (CCHC_PREFECT_API_URL): every flow command runs on that
server, recorded there, and starts no temporary server of its own; a configured server that does not answer
is one line and exit 1, never a traceback nor a silent temporary server instead.

The server is a real `prefect server start` on a free loopback port (test_deployment.py's `Server`, without
its work pool and workers), stopped at the end with every process it started. The commands run as the
installed `cchc`, each with a PREFECT_HOME of its own: a temporary server would leave its database there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from factories import COORDINATOR, load_sample_org
from test_deployment import Server, _descendants, _free_port, _healthy, _wait

pytestmark = [pytest.mark.slow]

CCHC = Path(sys.executable).with_name("cchc")


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`prefect server start` on a free loopback port, Prefect's own SQLite database in a temporary home;
    every process of it is killed at the end, and the test checks that none is left."""
    home = tmp_path_factory.mktemp("prefect-server")
    (home / "logs").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "CCHC_"))}
    server = Server(_free_port(), env, home / "logs")
    env |= {
        "PREFECT_HOME": str(home / "home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_API_SERVICES_SCHEDULER_ENABLED": "false",
    }
    try:
        process = server.start("server", "server", "start", "--host", "127.0.0.1", "--port", str(server.port))
        _wait("healthy server", lambda: _healthy(server.api_url), server, timeout=240)
        yield server
    finally:
        started = [process.pid, *_descendants(process.pid)] if server.processes else []
        server.stop()
        left = [pid for pid in started if Path(f"/proc/{pid}").exists() and not _zombie(pid)]
        assert not left, f"the test's Prefect server left processes behind: {left}"
        assert not _healthy(server.api_url)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    path = tmp_path / "cchc.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


def cchc(url: str, home: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    """`cchc ARGS` with this suite's CCHC_* settings, no PREFECT_* but those given, PREFECT_HOME `home`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env |= {"CCHC_DATABASE_URL": url, "PREFECT_HOME": str(home), **settings}
    return subprocess.run([str(CCHC), *args], env=env, capture_output=True, text=True, timeout=300, check=False)


def test_flow_commands_run_on_the_configured_server_and_start_no_temporary_one(
    prefect_server: Server, sqlite_url: str, tmp_path: Path
) -> None:
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    load_sample_org(sqlite_url)
    home = tmp_path / "prefect-home"
    configured = {"CCHC_PREFECT_API_URL": prefect_server.api_url}
    opened = cchc(sqlite_url, home, "cycle", "open", "--year", "2021", "--as", COORDINATOR, **configured)
    assert opened.returncode == 0, opened.stderr
    assert f"Running through Prefect, on the server at {prefect_server.api_url}" in opened.stderr
    swept = cchc(sqlite_url, home, "sweep", "--year", "2021", "--as-of", "24/08/2021 08:00", **configured)
    assert swept.returncode == 0, swept.stderr
    assert "sweep of the 2021 cycle as of 24/08/2021 08:00" in swept.stdout, swept.stdout

    with prefect_server.client() as client:
        runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["open-cycle", "deadline-sweep"])))
        flows = {flow.id: flow.name for flow in client.read_flows()}
    by_flow = {flows[run.flow_id]: run for run in runs}
    assert sorted(by_flow) == ["deadline-sweep", "open-cycle"] and len(runs) == 2, runs
    assert all(run.state is not None and run.state.is_completed() for run in runs)
    assert by_flow["deadline-sweep"].parameters["params"]["at"].startswith("2021-08-24")
    # a temporary server would have made its database in the commands' PREFECT_HOME
    assert not (home / "prefect.db").exists()


def test_a_configured_server_that_does_not_answer_is_one_line_and_exit_1(sqlite_url: str, tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{_free_port()}/api"  # nothing listens there
    home = tmp_path / "prefect-home"
    load_sample_org(sqlite_url)
    done = cchc(sqlite_url, home, "cycle", "open", "--year", "2021", "--as", COORDINATOR, CCHC_PREFECT_API_URL=dead)
    assert done.returncode == 1, done.stderr
    said = " ".join(done.stderr.split())  # the console wraps a long line at its width
    assert said.endswith(
        f"error: the Prefect server at {dead} does not answer ([Errno 111] Connection refused): start it "
        "(`prefect server start`), or correct or unset CCHC_PREFECT_API_URL and PREFECT_API_URL"
    ), done.stderr
    assert said.count("error:") == 1
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert not (home / "prefect.db").exists()  # no temporary server instead


def test_an_explicit_prefect_api_url_wins_over_the_setting(sqlite_url: str, tmp_path: Path) -> None:
    explicit, configured = (f"http://127.0.0.1:{_free_port()}/api" for _ in range(2))
    load_sample_org(sqlite_url)
    opening = ("cycle", "open", "--year", "2021", "--as", COORDINATOR)
    done = cchc(sqlite_url, tmp_path / "home", *opening, PREFECT_API_URL=explicit, CCHC_PREFECT_API_URL=configured)
    assert done.returncode == 1
    assert f"the Prefect server at {explicit} does not answer" in " ".join(done.stderr.split()), done.stderr
