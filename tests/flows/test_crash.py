"""Crashes: each flow is killed (SIGKILL) at ≥ 20 points chosen at random among every point where a
process can die between two effects (before each SQL statement, before and after each commit, around
each stored file and each e-mail handed to the SMTP server), then run again. The database, the file
store and the mailbox must end exactly as after an uninterrupted run: no event, step, message or file
lost or written twice.

The flows run in children forked from a runner that imported cchc once (tests/crashrunner.py), so a kill
point costs a fork, not a Python start-up. The runs are deterministic: the kill points are drawn with a
seed named after the flow, and every flow acts at a fixed moment.

One thing SMTP cannot promise is covered exactly: a message the server accepted after the outbox's last
commit of "sent" is *in doubt* after a crash (the server has it, the database does not know). It is sent
again, with the same Message-ID (mail programs show one message), and the test checks that only such
messages were repeated, never more than twice the number of SMTP connections at one kill.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from databases import create_database, drop_database
from factories import APPRAISER, COORDINATOR, DIRECTOR, OUTSIDE_APPRAISER, at, import_rows, load_sample_org, rows_for
from sqlalchemy import Integer, select, text
from sqlmodel import SQLModel

from cchc.config.settings import Settings
from cchc.flows.appraisal import appraise_flow
from cchc.flows.commitments import commitments_flow
from cchc.flows.cycle import advance_cycle_flow
from cchc.flows.params import AdvanceParams, AppraiseParams, CommitmentParams, SubmitParams
from cchc.flows.submission import change_units, submit_flow
from cchc.models.audit import verify
from cchc.models.db import get_engine, read_session
from cchc.models.migrate import upgrade

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]

HERE = Path(__file__).resolve().parent.parent
KINDS = ("sql", "commit", "committed", "file", "smtp", "smtp-accepted")  # the runner's kill points
KILL_POINTS = 20  # at least this many per flow and database
FLOWS = ["open-cycle", "commitment-signing", "sweep", "notify-flush", "appraise", "publish"]
MAIL_FROM = "Hệ thống CCHC <cchc@dlk.cand.example>"
# What differs between two correct runs, by design: the moment a message was sent (a rerun after a crash
# comes at least one lease later) and the random secret of a signing link.
VOLATILE: dict[str, set[str]] = {"outbox": {"sent_at", "lease_until"}, "commitment": {"token_hash"}}
TOKEN = re.compile(r"(token=|/sign/)[A-Za-z0-9_\-]{16,}")
SEALED = re.compile(r"gAAAAA[A-Za-z0-9_\-=]{32,}")  # a link sealed in the outbox (Fernet: random each time)


# --- the runner ------------------------------------------------------------------------------------


class Runner:
    def __init__(self, log: Path) -> None:
        from prefect.settings import PREFECT_API_URL

        env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}
        self.log = log
        self._log = log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "crashrunner.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            env=env,
        )

    def run(self, job: str, url: str, args: dict[str, Any], env: dict[str, str], crash_at: int = 0) -> dict[str, Any]:
        assert self.proc.stdin and self.proc.stdout
        request = {"job": job, "url": url, "args": args, "env": env, "crash_at": crash_at}
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, f"the crash runner died; its log: {self.log.read_text()[-3000:]}"
        answer: dict[str, Any] = json.loads(line)
        return answer

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)
        self._log.close()


@pytest.fixture(scope="session")
def runner(tmp_path_factory: pytest.TempPathFactory, prefect_harness: None) -> Iterator[Runner]:
    r = Runner(tmp_path_factory.mktemp("crash") / "runner.log")
    yield r
    r.close()


# --- databases and stores: a template per flow, copied for each run ----------------------------------


@dataclass
class Place:
    """A database and its file store."""

    url: str
    store: Path


class Backend:
    def __init__(self, name: str, root: Path) -> None:
        self.name = name
        self.root = root
        self.made: list[str] = []

    def copy(self, place: Place) -> Place:
        get_engine(place.url).dispose()
        key = uuid.uuid4().hex[:10]
        store = self.root / f"store-{key}"
        if place.store.exists():
            shutil.copytree(place.store, store)
        if self.name == "sqlite":  # with its write-ahead log: a killed process leaves commits there
            source = Path(place.url.removeprefix("sqlite:///"))
            path = self.root / f"{key}.db"
            shutil.copy(source, path)
            if (wal := Path(f"{source}-wal")).exists():
                shutil.copy(wal, f"{path}-wal")
            return Place(f"sqlite:///{path}", store)
        return Place(self._made(create_database(place.url, "cchc_crash", template=place.url)), store)

    def empty(self) -> Place:
        key = uuid.uuid4().hex[:10]
        store = self.root / f"store-{key}"
        if self.name == "sqlite":
            url = f"sqlite:///{self.root / f'{key}.db'}"
        else:
            assert PG_URL
            url = self._made(create_database(PG_URL, "cchc_crash"))
        upgrade(get_engine(url))
        return Place(url, store)

    def drop(self, place: Place) -> None:
        get_engine(place.url).dispose()
        shutil.rmtree(place.store, ignore_errors=True)
        if self.name == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(place.url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
        else:
            drop_database(place.url)
            self.made.remove(place.url)

    def _made(self, url: str) -> str:
        self.made.append(url)
        return url

    def close(self) -> None:
        """Drop every database this backend made and still holds (the scenarios' starts and ends)."""
        while self.made:
            drop_database(self.made.pop())


PG_URL = Settings().test_database_url


# --- what a run leaves behind ----------------------------------------------------------------------


def state_of(place: Place) -> dict[str, Any]:
    """Every table (surrogate ids renumbered in order, so that ids a rolled-back transaction consumed do
    not count) and every stored file, minus what differs between two correct runs by design."""
    tables = list(SQLModel.metadata.sorted_tables)
    with get_engine(place.url).connect() as conn:
        raw = {t.name: [dict(r._mapping) for r in conn.execute(select(t))] for t in tables}
    ranks: dict[str, dict[int, int]] = {}
    for t in tables:
        pk = list(t.primary_key.columns)
        if len(pk) == 1 and pk[0].name == "id" and isinstance(pk[0].type, Integer):
            ranks[t.name] = {v: i for i, v in enumerate(sorted(r["id"] for r in raw[t.name]), start=1)}
    state: dict[str, Any] = {}
    for t in tables:
        refs = {fk.parent.name: fk.column.table.name for fk in t.foreign_keys}
        rows = []
        for r in raw[t.name]:
            row = []
            for c in t.columns:
                if c.name in VOLATILE.get(t.name, ()):
                    continue
                value = r[c.name]
                if c.name == "id" and t.name in ranks:
                    value = ranks[t.name][value]
                elif value is not None and refs.get(c.name) in ranks:
                    value = ranks[refs[c.name]].get(value, f"dangling {value}")
                elif isinstance(value, str):
                    value = SEALED.sub("<sealed>", TOKEN.sub(r"\1<token>", value))
                row.append(f"{c.name}={value!s}")
            rows.append(" ".join(row))
        state[t.name] = sorted(rows)
    state["files"] = sorted(
        str(p.relative_to(place.store)) for p in place.store.rglob("*") if p.is_file() and ".incoming-" not in p.name
    )
    return state


def differences(expected: dict[str, Any], got: dict[str, Any]) -> list[str]:
    out = []
    for name in expected:
        want, have = Counter(expected[name]), Counter(got[name])
        missing, extra = want - have, have - want
        if missing or extra:
            out.append(f"{name}: missing {list(missing.elements())[:3]}, extra {list(extra.elements())[:3]}")
    return out


def chain_ok(place: Place) -> None:
    with read_session(get_engine(place.url)) as session:
        check = verify(session)
    assert check.ok, check.problems


# --- the flows, and the state each starts from -------------------------------------------------------


@dataclass
class Scenario:
    job: str
    args: dict[str, Any]
    start: Place | None = None
    baseline: dict[str, Any] = field(default_factory=dict)
    points: list[str] = field(default_factory=list)
    end: Place | None = None  # the uninterrupted run's result (the start of the next scenario, sometimes)


def _iso(day: str, time: str = "09:00") -> str:
    return at(day, time).isoformat()


SCENARIOS: dict[str, dict[str, Any]] = {
    "open-cycle": {"actor": COORDINATOR, "at": _iso("25/06/2021")},
    "commitment-signing": {
        "at": _iso("26/06/2021"),
        "signers": [["CAT", DIRECTOR], ["CAH-CMG", "cmg.head"], ["CAH-CMG-TH", "cmg-th.head"]],
    },
    "sweep": {"at": _iso("01/09/2021", "08:00")},
    "notify-flush": {"at": _iso("26/06/2021", "12:00"), "batch": 10},
    "appraise": {"actor": APPRAISER, "at": _iso("04/09/2021")},
    "publish": {"actor": COORDINATOR, "at": _iso("10/12/2021")},
}


class Suite:
    """The scenarios of one database backend, built once (each starts where an earlier one ends)."""

    def __init__(self, backend: Backend, runner: Runner, mail_port: int) -> None:
        self.backend = backend
        self.runner = runner
        self.mail_port = mail_port
        self.scenarios: dict[str, Scenario] = {}

    def env(self, place: Place) -> dict[str, str]:
        return {
            "CCHC_STORE_DIR": str(place.store),
            "CCHC_SMTP_HOST": "127.0.0.1",
            "CCHC_SMTP_PORT": str(self.mail_port),
            "CCHC_MAIL_FROM": MAIL_FROM,
            "CCHC_MAIL_CONCURRENCY": "4",
        }

    def run(self, job: str, place: Place, crash_at: int = 0, args: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.runner.run(job, place.url, args or SCENARIOS[job], self.env(place), crash_at)

    def scenario(self, job: str, start: Place) -> Scenario:
        """Run the flow uninterrupted from a copy of `start`: its final state and its kill points."""
        end = self.backend.copy(start)
        answer = self.run(job, end)
        assert answer["exit"] == 0 and not answer["killed"], answer["error"]
        chain_ok(end)
        found = Scenario(job, SCENARIOS[job], start, state_of(end), answer["points"], end)
        self.scenarios[job] = found
        return found

    def build(self, mail: Any) -> None:
        with _settings(self.env(Place("", self.backend.root / "build-store"))):
            org = self.backend.empty()
            with _settings({"CCHC_STORE_DIR": str(org.store)}):
                load_sample_org(org.url)
            opened = self.scenario("open-cycle", org).end
            assert opened
            prepared = self.backend.copy(opened)
            with _settings({"CCHC_STORE_DIR": str(prepared.store)}):
                commitments_flow(
                    CommitmentParams(year=2021, database_url=prepared.url, actor=COORDINATOR, at=at("25/06/2021"))
                )
            signed = self.scenario("commitment-signing", prepared).end
            assert signed
            mail.received.clear()  # the signing requests of the heads
            self.scenario("notify-flush", signed)
            self.baseline_mail = Counter(mail.message_ids())
            mail.received.clear()
            started = self.backend.copy(opened)
            with _settings({"CCHC_STORE_DIR": str(started.store)}):
                advance_cycle_flow(
                    AdvanceParams(year=2021, database_url=started.url, actor=COORDINATOR, at=at("15/07/2021"))
                )
            self.scenario("sweep", started)
            submitted = self.backend.copy(started)
            with _settings({"CCHC_STORE_DIR": str(submitted.store)}):
                url = submitted.url
                import_rows(url, self.backend.root / "self.csv", rows_for(_org()))
                units = [u.code for u in _org().units if u.group]
                submit_flow(
                    SubmitParams(year=2021, units=units, database_url=url, actor=COORDINATOR, at=at("25/08/2021"))
                )
                advance_cycle_flow(AdvanceParams(year=2021, database_url=url, actor=COORDINATOR, at=at("31/08/2021")))
            appraised = self.scenario("appraise", submitted).end
            assert appraised
            ready = self.backend.copy(appraised)
            with _settings({"CCHC_STORE_DIR": str(ready.store)}):
                appraise_flow(
                    AppraiseParams(
                        year=2021, units=["PV01"], database_url=ready.url, actor=OUTSIDE_APPRAISER, at=at("04/09/2021")
                    )
                )
                change_units(ready.url, 2021, "skip_supplement", [], APPRAISER, at("08/09/2021"), states=["appraised"])
            self.scenario("publish", ready)


def _org():  # type: ignore[no-untyped-def]
    from factories import sample_org

    return sample_org()


class _settings:
    """Environment variables for the flows run in this process (the set-up), restored afterwards."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.saved: dict[str, str | None] = {}

    def __enter__(self) -> None:
        from cchc.config.settings import get_settings

        for key, value in self.values.items():
            self.saved[key] = os.environ.get(key)
            os.environ[key] = value
        get_settings.cache_clear()

    def __exit__(self, *_: object) -> None:
        from cchc.config.settings import get_settings

        for key, value in self.saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()


@pytest.fixture(scope="session")
def crash_mail() -> Iterator[Any]:
    from mailserver import MailServer

    server = MailServer().start()
    yield server
    server.stop()


_SUITES: dict[str, Suite] = {}


@pytest.fixture(scope="session")
def crash_backends() -> Iterator[list[Backend]]:
    """The backends of the suites built in this session: what they made is dropped at the end."""
    backends: list[Backend] = []
    yield backends
    for backend in backends:
        backend.close()


# Each database's scenarios are built once, by one worker when the suite runs in parallel (--dist loadgroup).
@pytest.fixture(params=[pytest.param(b, marks=pytest.mark.xdist_group(f"crash-{b}")) for b in ("sqlite", "postgresql")])
def suite(
    request: pytest.FixtureRequest,
    runner: Runner,
    crash_mail: Any,
    crash_backends: list[Backend],
    tmp_path_factory: pytest.TempPathFactory,
) -> Suite:
    name = request.param
    if name == "postgresql" and not PG_URL:
        pytest.skip("CCHC_TEST_DATABASE_URL is not set: the crash suite runs on SQLite only")
    if name not in _SUITES:
        backend = Backend(name, tmp_path_factory.mktemp(f"crash-{name}"))
        crash_backends.append(backend)
        built = Suite(backend, runner, crash_mail.port)
        built.build(crash_mail)
        _SUITES[name] = built
    return _SUITES[name]


def kill_points(points: list[str], seed: str) -> list[int]:
    """≥ KILL_POINTS points (1-based), drawn at random: one of every kind, then one in each of KILL_POINTS
    equal stretches of the run."""
    rng = random.Random(seed)
    chosen = {rng.choice([i for i, p in enumerate(points, start=1) if p == kind]) for kind in sorted(set(points))}
    total = len(points)
    for k in range(KILL_POINTS):
        chosen.add(
            rng.randint(k * total // KILL_POINTS + 1, max(k * total // KILL_POINTS + 1, (k + 1) * total // KILL_POINTS))
        )
    return sorted(chosen)


# --- the tests ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("job", [f for f in FLOWS if f != "notify-flush"])
def test_a_flow_killed_anywhere_then_run_again_ends_as_if_never_killed(suite: Suite, job: str) -> None:
    """Killed at each drawn point in turn on the same database (a crash while recovering from a crash is a
    crash too) until a run gets through; then the state must be the uninterrupted run's, and the next
    points start again from a fresh copy."""
    scenario = suite.scenarios[job]
    assert scenario.start is not None
    points = kill_points(scenario.points, f"{job}/{suite.backend.name}")
    assert len(points) >= KILL_POINTS and len(scenario.points) >= KILL_POINTS, scenario.points
    tried: Counter[str] = Counter()  # kill points by kind
    todo = list(points)
    while todo:
        place = suite.backend.copy(scenario.start)
        story: list[str] = []  # the kills this database went through, for the failure message
        try:
            while todo:
                crashed = suite.run(job, place, crash_at=todo[0])
                if not crashed["killed"]:  # finished before that point: earlier kills left work done
                    assert crashed["exit"] == 0, f"the run after {story} failed: {crashed['error']}"
                    break
                story.append(f"{todo.pop(0)}:{crashed['points'][-1]}")
                tried[crashed["points"][-1]] += 1
            else:
                again = suite.run(job, place)
                assert again["exit"] == 0, f"the run after {story} failed: {again['error']}"
            assert not (diff := differences(scenario.baseline, state_of(place))), (story, diff)
            chain_ok(place)
        finally:
            suite.backend.drop(place)
    assert sum(tried.values()) >= KILL_POINTS
    print(f"crash: {job} ({suite.backend.name}): {sum(tried.values())} kill points {dict(tried)}")  # `pytest -s`


def test_the_outbox_killed_anywhere_loses_no_e_mail_and_repeats_only_those_in_doubt(
    suite: Suite, crash_mail: Any
) -> None:
    """The same, for the flush of the outbox; each run comes one lease after the one before (a dead
    sender's messages are taken again only then). The SMTP server tells which messages it had accepted
    when the sender died; those not yet recorded as sent are in doubt, and only they may arrive twice."""
    scenario = suite.scenarios["notify-flush"]
    assert scenario.start is not None
    expected = suite.baseline_mail
    assert expected and set(expected.values()) == {1}
    points = kill_points(scenario.points, f"notify-flush/{suite.backend.name}")
    assert len(points) >= KILL_POINTS
    tried: Counter[str] = Counter()
    first = datetime.fromisoformat(scenario.args["at"])
    todo = list(points)
    while todo:
        place = suite.backend.copy(scenario.start)
        crash_mail.received.clear()
        doubts: Counter[str] = Counter()  # message → crashes that left it in doubt
        story: list[str] = []
        try:
            for run in range(len(todo) + 1):
                args = dict(scenario.args, at=(first + run * timedelta(minutes=11)).isoformat())
                before = len(crash_mail.received)
                crashed = suite.run("notify-flush", place, crash_at=todo[0] if todo else 0, args=args)
                if not crashed["killed"]:
                    assert crashed["exit"] == 0, f"the run after {story} failed: {crashed['error']}"
                    break
                story.append(f"{todo.pop(0)}:{crashed['points'][-1]}")
                tried[crashed["points"][-1]] += 1
                with read_session(get_engine(place.url)) as session:
                    recorded = set(session.execute(text("SELECT id FROM outbox WHERE status = 'sent'")).scalars())
                this_run = crash_mail.message_ids()[before:]
                in_doubt = {m for m in this_run if int(m.split(".")[1]) not in recorded}
                # at most CCHC_MAIL_CONCURRENCY accepted and unrecorded, plus one reply per connection
                assert len(in_doubt) <= 2 * 4, (story, in_doubt)
                doubts.update(in_doubt)
                tried["most in doubt at one kill"] = max(tried["most in doubt at one kill"], len(in_doubt))
            received = Counter(crash_mail.message_ids())
            assert set(received) == set(expected), f"lost after kills at {story}: {set(expected) - set(received)}"
            assert all(k <= 1 + doubts[m] for m, k in received.items()), (story, received, doubts)
            tried["e-mails sent again, in doubt"] += sum(received.values()) - len(received)
            assert not (diff := differences(scenario.baseline, state_of(place))), (story, diff)
        finally:
            suite.backend.drop(place)
    kills = sum(v for k, v in tried.items() if k in KINDS)
    assert kills >= KILL_POINTS
    print(
        f"crash: notify-flush ({suite.backend.name}): {kills} kill points {dict(tried)}"
    )  # `pytest -s`  # `pytest -s` shows the figures
