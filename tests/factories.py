"""Plain factory functions: the sample organisation and a 2021 cycle at each stage, through the flows."""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text

from cchc.config.settings import get_settings
from cchc.flows.appraisal import appraise_flow
from cchc.flows.cycle import advance_cycle_flow, open_cycle_flow
from cchc.flows.demo.synthetic import self_cells, unit_rows, write_csv
from cchc.flows.lookup import actor_for
from cchc.flows.org import read_org, write_org
from cchc.flows.params import AdvanceParams, AppraiseParams, ImportParams, OpenCycleParams, PublishParams, SubmitParams
from cchc.flows.publication import publish_flow
from cchc.flows.selfassessment import import_self_assessment_flow
from cchc.flows.submission import change_units, submit_flow
from cchc.models.db import get_engine, read_session, write_session
from cchc.models.framework import FrameworkDef, framework_path, load_framework
from cchc.models.org import OrgDef
from cchc.models.tables import AuditEvent
from cchc.models.workbook import fill_in
from cchc.notifications.sealing import opened

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
COORDINATOR = "pv01.coord1"
APPRAISER = "pv01.appr1"
OUTSIDE_APPRAISER = "px05.appr1"
DIRECTOR = "gd"
FRAMEWORKS = {"tthc": "cat-tthc-2021", "ktthc": "cat-ktthc-2021", "cah": "cah-2021"}


def signing_links(url: str) -> dict[str, str]:
    """The signing link of each queued commitment request, by unit: sealed in the outbox, opened here with
    the outbox key as the flush opens it (the database holds none in clear)."""

    with get_engine(url).connect() as connection:
        rows = connection.execute(
            text("SELECT unit_code, context FROM outbox WHERE kind = 'commitment_request' ORDER BY id")
        ).all()
    return {str(unit): opened(json.loads(context), get_settings())["link"] for unit, context in rows}


def at(day: str, time: str = "09:00") -> datetime:
    """A moment in Asia/Ho_Chi_Minh, written the Vietnamese way: at("31/08/2021", "10:00")."""
    return datetime.strptime(f"{day} {time}", "%d/%m/%Y %H:%M").replace(tzinfo=TZ)


def sample_org() -> OrgDef:
    return read_org(get_settings().config_dir / "org" / "daklak.yaml")


def framework(group: str) -> FrameworkDef:
    return load_framework(framework_path(get_settings().config_dir, FRAMEWORKS[group]))


def load_sample_org(url: str) -> OrgDef:
    org = sample_org()
    with write_session(get_engine(url)) as session:
        write_org(session, org, actor_for(session, None, task="test"), at("01/06/2021"), "daklak.yaml")
    return org


def event_count(url: str) -> int:
    with read_session(get_engine(url)) as session:
        return int(session.execute(select(func.count()).select_from(AuditEvent)).scalar_one())


def fingerprint(url: str) -> str:
    """A digest of every row of every table: the same before and after means nothing was written."""
    from sqlmodel import SQLModel

    digest = hashlib.sha256()
    with read_session(get_engine(url)) as session:
        for table in SQLModel.metadata.sorted_tables:
            rows = session.execute(select(table).order_by(*table.primary_key.columns)).all()
            digest.update(f"{table.name} {len(rows)} {rows!r}\n".encode())
    return digest.hexdigest()


def scalar(url: str, sql: str, **params: object) -> object:
    with read_session(get_engine(url)) as session:
        return session.execute(text(sql), params).scalar()


def open_2021(url: str, *, self_assessment: bool = True) -> OrgDef:
    """The sample organisation with its 2021 cycle open (and in self-assessment by default)."""
    org = load_sample_org(url)
    open_cycle_flow(OpenCycleParams(year=2021, database_url=url, actor=COORDINATOR, at=at("25/06/2021")))
    if self_assessment:
        advance_cycle_flow(AdvanceParams(year=2021, database_url=url, actor=COORDINATOR, at=at("15/07/2021")))
    return org


def rows_for(org: OrgDef, units: list[str] | None = None, quality: float = 0.95, **kw: float) -> list[list[str]]:
    """Complete self-assessment rows (unit, criterion, score, evidence, note, metric) for assessed units."""
    rows: list[list[str]] = []
    for unit in org.units:
        if unit.group and (units is None or unit.code in units):
            rows += list(unit_rows(framework(unit.group), unit.code, quality, **kw))
    return rows


def write_rows(path: Path, rows: list[list[str]], header: list[str] | None = None) -> Path:
    if header is None:
        write_csv(path, rows)
    else:
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
    return path


def import_rows(url: str, path: Path, rows: list[list[str]], actor: str = COORDINATOR, when: str = "20/08/2021"):  # type: ignore[no-untyped-def]
    write_rows(path, rows)
    return import_self_assessment_flow(
        ImportParams(path=str(path), year=2021, database_url=url, actor=actor, at=at(when))
    )


def submitted_2021(url: str, tmp_path: Path, late: tuple[str, ...] = ()) -> OrgDef:
    """Every unit imported and submitted on 25/08/2021 except `late` (submitted 02/09/2021)."""
    org = open_2021(url)
    import_rows(url, tmp_path / "self.csv", rows_for(org))
    on_time = [u.code for u in org.units if u.group and u.code not in late]
    submit_flow(SubmitParams(year=2021, units=on_time, database_url=url, actor=COORDINATOR, at=at("25/08/2021")))
    advance_cycle_flow(AdvanceParams(year=2021, database_url=url, actor=COORDINATOR, at=at("31/08/2021")))
    if late:
        submit_flow(SubmitParams(year=2021, units=list(late), database_url=url, actor=COORDINATOR, at=at("02/09/2021")))
    return org


def appraised_2021(url: str, tmp_path: Path, late: tuple[str, ...] = ()) -> OrgDef:
    """Everything appraised (PV01 by the outside appraiser) and no supplement requested."""
    org = submitted_2021(url, tmp_path, late)
    appraise_flow(AppraiseParams(year=2021, database_url=url, actor=APPRAISER, at=at("04/09/2021")))
    appraise_flow(
        AppraiseParams(year=2021, units=["PV01"], database_url=url, actor=OUTSIDE_APPRAISER, at=at("04/09/2021"))
    )
    return org


def published_2021(url: str, tmp_path: Path, late: tuple[str, ...] = ()) -> OrgDef:
    org = appraised_2021(url, tmp_path, late)
    change_units(url, 2021, "skip_supplement", [], APPRAISER, at("08/09/2021"), states=["appraised"])
    publish_flow(PublishParams(year=2021, database_url=url, actor=COORDINATOR, at=at("10/12/2021")))
    return org


def fill_workbook(path: Path, rows: dict[str, list[str]], out: Path) -> Path:
    """Fill an exported workbook as a person would: the yellow cells of each sub-criterion's row."""
    out.write_bytes(fill_in(path.read_bytes(), {code: self_cells(row) for code, row in rows.items()}))
    return out


def fuzz(max_examples: int):  # type: ignore[no-untyped-def]
    """Hypothesis settings of the bad-input tests: the same examples on every run (derandomized), no
    per-example deadline (a flow runs in each), and fixtures shared by the examples of one test."""
    from hypothesis import HealthCheck, settings

    return settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        derandomize=True,
    )
