"""Work split by unit group: the sweeps of every part of a cycle together do exactly what one sweep of the
whole cycle does, and the appraisals of every group what one appraisal does; parts swept at once never
queue anything twice."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from factories import APPRAISER, COORDINATOR, DIRECTOR, at, open_2021, scalar, submitted_2021
from twins import assert_same_story, rows, twin_database

from cchc.flows.appraisal import AppraiseSummary, appraise_flow, appraise_group_flow, merge_appraisals, split_appraisal
from cchc.flows.commitments import commitments_flow
from cchc.flows.contributors import assign
from cchc.flows.cycle import advance_cycle_flow
from cchc.flows.fanout import GroupRun, GroupRunsFailed, wait_for_group_runs
from cchc.flows.lookup import cycle_groups, cycle_of
from cchc.flows.params import (
    NO_GROUP,
    AdvanceParams,
    AppraiseByGroupParams,
    AppraiseParams,
    CommitmentParams,
    SweepByGroupParams,
    SweepParams,
)
from cchc.flows.signing import sign
from cchc.flows.sweep import SweepSummary, merge_sweeps, split_sweep, sweep_flow, sweep_group_flow
from cchc.models.db import get_engine, read_session
from cchc.models.errors import UserError

pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.fixture
def twin_url(db_url: str, sqlite_template: Path, tmp_path: Path) -> Iterator[str]:
    """A second empty database on the same backend as `db_url`, to tell the same story in."""
    with twin_database(db_url, sqlite_template, tmp_path) as url:
        yield url


@pytest.fixture(autouse=True)
def results_in_tmp(tmp_path: Path) -> Iterator[None]:
    """The group flows keep their summaries as results (for a parent on another machine): in the test's
    own directory."""
    from prefect.settings import PREFECT_RESULTS_LOCAL_STORAGE_PATH, temporary_settings

    with temporary_settings({PREFECT_RESULTS_LOCAL_STORAGE_PATH: tmp_path / "results"}):
        yield


def parts_of(url: str) -> list[str]:
    with read_session(get_engine(url)) as session:
        return [*cycle_groups(session, cycle_of(session, 2021)), NO_GROUP]


def sweep_in_parts(url: str, when: str) -> SweepSummary:
    return merge_sweeps(
        [
            sweep_group_flow(SweepParams(year=2021, database_url=url, at=at(when, "08:00"), group=part))
            for part in parts_of(url)
        ]
    )


def sweep_whole(url: str, when: str) -> SweepSummary:
    return sweep_flow(SweepParams(year=2021, database_url=url, at=at(when, "08:00")))


def lines_of(summary: SweepSummary) -> Counter[tuple[object, ...]]:
    return Counter((x.unit, x.phase, x.step, x.due_at, tuple(x.to), x.fallback) for x in summary.lines)


def test_the_sweeps_of_every_part_equal_one_sweep_of_the_whole_cycle(db_url: str, twin_url: str) -> None:
    """Day after day, one database is swept part by part and its twin in one go: the same steps, e-mails
    and events, whatever the kind of item (plans, commitments down to the teams, contributions, reports)."""
    both = (db_url, twin_url)

    def each(action: Callable[[str], object]) -> None:
        for url in both:
            action(url)

    each(lambda url: open_2021(url, self_assessment=False))
    each(
        lambda url: commitments_flow(
            CommitmentParams(year=2021, database_url=url, actor=COORDINATOR, at=at("25/06/2021"))
        )
    )
    assert parts_of(db_url) == ["tthc", "ktthc", "cah", NO_GROUP]
    days = {
        "05/07/2021": lambda url: sign(url, 2021, DIRECTOR, unit="CAT", at=at("06/07/2021")),
        "07/07/2021": lambda url: sign(url, 2021, "cmg.head", unit="CAH-CMG", at=at("07/07/2021", "10:00")),
        "09/07/2021": lambda url: advance_cycle_flow(
            AdvanceParams(year=2021, database_url=url, actor=COORDINATOR, at=at("15/07/2021"))
        ),
        "16/07/2021": lambda url: assign(
            url, 2021, "CAH-CMG", "CAH-CMG-TH", ["1.1.1"], at("20/08/2021", "00:00"), "cmg.focal", at("01/08/2021")
        ),
        "17/08/2021": None,
        "02/09/2021": None,
    }
    kinds: set[str] = set()
    for day, then in days.items():
        parts, whole = sweep_in_parts(db_url, day), sweep_whole(twin_url, day)
        assert lines_of(parts) == lines_of(whole), day
        assert (parts.items, parts.messages) == (whole.items, whole.messages), day
        assert_same_story(db_url, twin_url)
        kinds |= {str(kind) for (kind,) in rows(db_url, "SELECT DISTINCT item_kind FROM chase_step")}
        if then is not None:
            each(then)
    assert kinds == {"assessment", "commitment", "contribution"}
    # the Director's own commitment is in no group; the teams' follow their district's group
    assert scalar(db_url, "SELECT count(*) FROM chase_step WHERE unit_code = 'CAT'") == 1
    assert scalar(
        db_url, "SELECT count(*) FROM chase_step WHERE unit_code LIKE 'CAH-CMG-%' AND item_kind = 'commitment'"
    )
    # and a second pass, whole or in parts, finds nothing left to send
    assert sweep_whole(db_url, "02/09/2021").lines == [] and sweep_in_parts(twin_url, "02/09/2021").lines == []


def test_a_part_is_a_group_of_the_cycle_or_the_items_of_no_group(db_url: str) -> None:
    open_2021(db_url)
    with pytest.raises(UserError, match="no group 'nope' in the 2021 cycle"):
        sweep_group_flow(SweepParams(year=2021, database_url=db_url, at=at("01/09/2021"), group="nope"))
    with pytest.raises(UserError, match="needs its `group`"):
        sweep_group_flow(SweepParams(year=2021, database_url=db_url, at=at("01/09/2021")))
    with pytest.raises(UserError, match="no group 'nope' in the 2021 cycle"):
        appraise_flow(AppraiseParams(year=2021, database_url=db_url, actor=APPRAISER, group="nope"))


def test_parts_swept_at_once_with_whole_sweeps_queue_each_step_once(db_url: str) -> None:
    open_2021(db_url)  # nobody reports: on 01/09 every unit is due its first escalation
    moment = at("01/09/2021", "08:00")
    calls = [
        *(SweepParams(year=2021, database_url=db_url, at=moment, group=part) for part in parts_of(db_url)),
        SweepParams(year=2021, database_url=db_url, at=moment, group="cah"),
        SweepParams(year=2021, database_url=db_url, at=moment),
    ]
    barrier = threading.Barrier(len(calls))
    summaries: list[SweepSummary] = []

    def run(params: SweepParams) -> None:
        barrier.wait()
        summaries.append((sweep_flow if params.group is None else sweep_group_flow)(params))

    threads = [threading.Thread(target=run, args=(params,)) for params in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(summaries) == len(calls)
    lines = [(x.unit, x.phase, x.step) for s in summaries for x in s.lines]
    assert lines and len(set(lines)) == len(lines)
    assert scalar(db_url, "SELECT count(*) FROM chase_step") == len(lines)
    assert scalar(db_url, "SELECT count(*) FROM outbox") == scalar(
        db_url, "SELECT count(DISTINCT dedupe_key) FROM outbox"
    )


def test_the_appraisals_of_every_group_equal_one_appraisal(db_url: str, twin_url: str, tmp_path: Path) -> None:
    for url in (db_url, twin_url):
        submitted_2021(url, tmp_path, late=("CAH-EHL",))
    groups = parts_of(db_url)[:-1]

    def in_groups(url: str, **kw: object) -> AppraiseSummary:
        return merge_appraisals(
            [
                appraise_group_flow(
                    AppraiseParams(year=2021, database_url=url, actor=APPRAISER, at=at("04/09/2021"), group=g, **kw)
                )
                for g in groups
            ]
        )

    def whole(url: str) -> AppraiseSummary:
        return merge_appraisals(
            [appraise_flow(AppraiseParams(year=2021, database_url=url, actor=APPRAISER, at=at("04/09/2021")))]
        )

    parts = in_groups(db_url)
    assert parts == whole(twin_url)
    assert "PV01" not in parts.appraised and any(r.startswith("PV01") for r in parts.refused)
    assert len(parts.appraised) == 43
    assert_same_story(db_url, twin_url)
    assert in_groups(db_url).unchanged == whole(twin_url).unchanged  # idempotent both ways
    assert_same_story(db_url, twin_url)
    # a unit named in a group's appraisal must be of that group
    with pytest.raises(UserError, match="not a unit of group tthc of the 2021 cycle: CAH-CMG"):
        appraise_group_flow(
            AppraiseParams(year=2021, database_url=db_url, actor=APPRAISER, group="tthc", units=["CAH-CMG"])
        )


def test_a_parent_splits_the_cycle_into_its_groups_all_as_of_one_moment(db_url: str) -> None:
    open_2021(db_url)
    sweeps = split_sweep.fn(SweepByGroupParams(database_url=db_url))
    assert list(sweeps) == ["tthc", "ktthc", "cah", NO_GROUP]
    assert {(c["group"], c["year"], c["at"]) for c in sweeps.values()} == {
        (g, 2021, sweeps["tthc"]["at"]) for g in sweeps
    }
    appraisals = split_appraisal.fn(AppraiseByGroupParams(database_url=db_url, actor=APPRAISER))
    assert [(g, c["units"], c["actor"]) for g, c in appraisals.items()] == [
        ("tthc", [], APPRAISER),
        ("ktthc", [], APPRAISER),
        ("cah", [], APPRAISER),
    ]
    named = split_appraisal.fn(AppraiseByGroupParams(database_url=db_url, actor=APPRAISER, units=["CAH-CMG", "PV01"]))
    assert {g: c["units"] for g, c in named.items()} == {"ktthc": ["PV01"], "cah": ["CAH-CMG"]}
    with pytest.raises(UserError, match="not a unit of the 2021 cycle: NOPE"):
        split_appraisal.fn(AppraiseByGroupParams(database_url=db_url, actor=APPRAISER, units=["NOPE"]))
    with pytest.raises(UserError, match="takes no scores file"):
        split_appraisal.fn(AppraiseByGroupParams(database_url=db_url, actor=APPRAISER, scores_path="scores.csv"))
    with pytest.raises(UserError, match="sweeps every group"):
        split_sweep.fn(SweepByGroupParams(database_url=db_url, group="cah"))


def test_a_parent_fails_naming_each_group_run_that_did_not_complete() -> None:
    from prefect import flow, get_client
    from prefect.states import Completed, Failed, Scheduled

    @flow(name="a-group-run")
    def group_run() -> None:
        """Never run: only its flow runs are made, in the states a worker would leave them in."""

    with get_client(sync_client=True) as client:
        done = client.create_flow_run(group_run, name="sweep-tthc", state=Completed())
        failed = client.create_flow_run(
            group_run, name="sweep-cah", state=Failed(message="Flow run encountered an exception: UserError: boom")
        )
        waiting = client.create_flow_run(group_run, name="sweep-no-group", state=Scheduled())
    finished = [GroupRun("tthc", done.id, "sweep-tthc"), GroupRun("cah", failed.id, "sweep-cah")]
    with pytest.raises(GroupRunsFailed, match=r"^1 of 2 group runs did not complete: sweep-cah \(Failed: .*boom\)$"):
        wait_for_group_runs.fn(finished, 0.1, 30)
    with pytest.raises(GroupRunsFailed, match=r"not finished after 0.3 s \(they go on\): sweep-no-group \(Scheduled\)"):
        wait_for_group_runs.fn([*finished, GroupRun("-", waiting.id, "sweep-no-group")], 0.1, 0.3)
