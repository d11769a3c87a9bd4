"""The demo's cycle, chapter by chapter, each through the same flows and functions as the command line:
the organisation, commitments and plans, self-assessment, appraisal, publication and awards, remediation."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from cchc.config.settings import Settings
from cchc.flows.appraisal import adjust, appraise_flow
from cchc.flows.auditcheck import verify_all
from cchc.flows.awards import awards_flow, decide_award
from cchc.flows.commitments import commitments_flow
from cchc.flows.contributors import assign
from cchc.flows.contributors import status as contributions
from cchc.flows.cycle import advance_cycle_flow, open_cycle_flow
from cchc.flows.deadlines import register_plan
from cchc.flows.demo.story import (
    ACCURATE,
    APPRAISER,
    BREAKTHROUGH,
    CONTRIBUTED,
    CONTRIBUTOR,
    COORDINATOR,
    DIRECTOR,
    LATE,
    NO_COMMITMENT,
    NO_PLAN,
    OUTSIDE_APPRAISER,
    PENALISED,
    POOR_FIELD,
    QUALITY,
    SUPPLEMENT,
    SWEEP_BEFORE,
    appraiser_of,
    appraiser_overrides,
    at,
    missing_evidence,
    step,
)
from cchc.flows.demo.synthetic import self_cells, unit_rows, write_csv
from cchc.flows.display import errors
from cchc.flows.evidence import add_file, registry
from cchc.flows.history import import_results
from cchc.flows.lookup import actor_for
from cchc.flows.notify import flush_flow
from cchc.flows.org import read_org, write_org
from cchc.flows.params import (
    AdvanceParams,
    AppraiseParams,
    AwardsParams,
    CommitmentParams,
    FlushParams,
    ImportParams,
    OpenCycleParams,
    PublishParams,
    SubmitParams,
    SweepParams,
)
from cchc.flows.publication import publish_flow
from cchc.flows.remediation import read_follow_ups, receive_follow_up
from cchc.flows.selfassessment import import_self_assessment_flow
from cchc.flows.signing import record_paper, sign
from cchc.flows.status import cycle_status
from cchc.flows.submission import change_units, submit_flow
from cchc.flows.sweep import sweep_flow
from cchc.flows.workbooks import export_appraisal, export_self_assessment
from cchc.models.db import get_engine, write_session
from cchc.models.errors import UserError
from cchc.models.formats import vn_number
from cchc.models.framework import FrameworkDef, framework_path, load_framework
from cchc.models.org import OrgDef, UnitDef
from cchc.models.workbook import fill_in


@dataclass
class Demo:
    """The running demo: its database, its files, and what the chapters learn along the way."""

    url: str
    work: Path
    settings: Settings
    org: OrgDef = field(init=False)
    assessed: list[UnitDef] = field(default_factory=list)
    frameworks: dict[str, FrameworkDef] = field(default_factory=dict)
    quality: dict[str, float] = field(default_factory=dict)  # unit → how well it really did (0..1)
    rows: list[list[str]] = field(default_factory=list)  # the self-assessment rows the units send

    def daily(self, day: str) -> None:
        """The 08:00 deadline sweep of a day, then the outbox flush (what `cchc serve` schedules)."""
        swept = sweep_flow(SweepParams(year=2021, database_url=self.url, at=at(day, "08:00")))
        flushed = flush_flow(FlushParams(database_url=self.url, at=at(day, "08:05")))
        if swept.lines:
            counts = Counter(f"{line.phase} {line.step}" for line in swept.lines)
            what = ", ".join(f"{n}× {key}" for key, n in sorted(counts.items(), key=lambda kv: kv[0]))
            step(f"{day} 08:00 deadline sweep: {what}; {flushed.sent} e-mails sent")


def organisation(demo: Demo) -> None:
    """The sample organisation, and its 2020 published results to compare with."""
    url, settings = demo.url, demo.settings
    org_path = settings.config_dir / "org" / "daklak.yaml"
    demo.org = org = read_org(org_path)
    with write_session(get_engine(url)) as session:
        write_org(session, org, actor_for(session, None, task="demo"), at("01/06/2021"), str(org_path))
    demo.assessed = assessed = [u for u in org.units if u.assessed]
    step(
        f"organisation loaded: {org.name}, {len(org.units)} units ({len(assessed)} assessed), {len(org.people)} people"
    )
    import_results(url, 2020, settings.config_dir / "samples" / "results-2020.csv", COORDINATOR, at("09/03/2021"))
    step("2020 published results taken in (to compare index and rank)")


def plans_and_commitments(demo: Demo) -> None:
    """The cycle opens; heads sign their commitments top-down; units send their plans (two do not)."""
    url, assessed = demo.url, demo.assessed
    errors.print(
        "[dim]Starting Prefect (a temporary local server; the first flow takes a few seconds)…[/dim]", markup=True
    )
    opened = open_cycle_flow(OpenCycleParams(year=2021, database_url=url, actor=COORDINATOR, at=at("25/06/2021")))
    step(f"cycle 2021 opened on 25/06/2021 (Kế hoạch 181/KH-CAT): {opened.assessments} assessments in state plan")
    commitments(url, demo.org)
    for unit in assessed:
        if unit.code not in NO_PLAN:
            register_plan(
                url,
                2021,
                unit.code,
                f"{10 + len(unit.code)}/KH-{unit.code} ngày 05/07/2021",
                COORDINATOR,
                at("05/07/2021"),
            )
    step(f"05/07/2021: {len(assessed) - len(NO_PLAN)} units send their own plans; {', '.join(NO_PLAN)} do not")
    for day in ("08/07/2021", "12/07/2021", "14/07/2021", "15/07/2021"):
        demo.daily(day)
    advance_cycle_flow(
        AdvanceParams(
            year=2021,
            database_url=url,
            actor=COORDINATOR,
            at=at("15/07/2021", "17:00"),
            reason="Các đơn vị đã gửi kế hoạch",
        )
    )
    step("15/07/2021: the plan deadline has passed; every unit moves to self-assessment")
    register_plan(url, 2021, NO_PLAN[0], f"27/KH-{NO_PLAN[0]} ngày 16/07/2021", COORDINATOR, at("16/07/2021"))
    step(f"16/07/2021: {NO_PLAN[0]} sends its plan late")
    scan = demo.work / f"cam-ket-{NO_COMMITMENT}-ban-ky-giay.pdf"
    scan.write_bytes(b"%PDF-1.4\n% scanned paper commitment (demo)\n%%EOF\n")
    record_paper(url, 2021, NO_COMMITMENT, scan, date(2021, 7, 16), COORDINATOR, at("16/07/2021", "10:00"))
    step(f"16/07/2021: {NO_COMMITMENT}'s head signed on paper; the coordinator records it with the scan")
    for day in ("17/07/2021", "20/07/2021"):
        demo.daily(day)


def commitments(url: str, org: OrgDef) -> None:
    """Heads sign their responsibility commitments top-down: the Director, the units' heads, then the
    heads of their teams and communes (deputies where a unit has no head)."""
    prepared = commitments_flow(
        CommitmentParams(year=2021, database_url=url, actor=COORDINATOR, at=at("25/06/2021", "10:00"))
    )
    step(
        f"25/06/2021: {prepared.total} heads' commitments drafted (Word and HTML, kept by SHA-256); "
        f"the Director's is sent for signing first"
    )
    sign(url, 2021, DIRECTOR, unit="CAT", at=at("26/06/2021"))
    signers = {p.unit: p.code for p in org.people if "deputy" in p.roles}
    signers.update({p.unit: p.code for p in org.people if "head" in p.roles})
    units = [u for u in org.units if u.parent is not None and u.code != NO_COMMITMENT]
    acting: list[str] = []
    for i, unit in enumerate(sorted(units, key=lambda u: (u.parent != "CAT", u.code))):
        day = f"{28 + i % 3:02d}/06/2021" if unit.parent == "CAT" else f"0{1 + i % 4}/07/2021"
        if unit.code in signers and (unit.group is not None or unit.parent != "CAT"):
            done = sign(url, 2021, signers[unit.code], unit=unit.code, at=at(day, "15:00"))
            if done.capacity == "acting":
                acting.append(f"{unit.code} (reported to {', '.join(done.notified)})")
    step(
        f"26/06–04/07/2021: the Director, then {len(units)} heads sign in cascade; no head, so a deputy signs "
        f"as acting: {'; '.join(acting)}; {NO_COMMITMENT} does not sign"
    )


def self_assessment(demo: Demo) -> None:
    """Units score themselves (one commune supplies its rows, one unit withdraws and corrects its report);
    three report late."""
    url, work, settings, assessed = demo.url, demo.work, demo.settings, demo.assessed
    demo.frameworks = frameworks = {
        g: load_framework(framework_path(settings.config_dir, code))
        for g, code in {"tthc": "cat-tthc-2021", "ktthc": "cat-ktthc-2021", "cah": "cah-2021"}.items()
    }
    quality = demo.quality
    rows: list[list[str]] = []
    for group, values in QUALITY.items():
        members = [u for u in assessed if u.group == group]
        for unit, q in zip(members, values, strict=True):
            quality[unit.code] = q
            missing = 0.05 if unit.code in SUPPLEMENT else (0.02 if q < ACCURATE else 0.0)
            rows += list(
                unit_rows(
                    frameworks[group],
                    unit.code,
                    q,
                    missing_evidence=missing,
                    optimism=0.01,
                    not_applicable=0.03 if group == "ktthc" else 0.01,
                )
            )
    for row in rows:  # POOR_FIELD's unit scores about half of its judged sub-criteria in the field
        if row[0] == POOR_FIELD[0] and row[1].startswith(POOR_FIELD[1] + ".") and row[2] not in ("", "KAD"):
            row[2] = str((Decimal(row[2]) * Decimal("0.5") / Decimal("0.05")).quantize(Decimal(1)) * Decimal("0.05"))
    # CAH-EHL's focal officer gives criterion 5.1 to a commune, with an internal deadline before the
    # unit's own; the commune fills in its own workbook and keeps the file of one of its documents.
    given = [sub.code for sub in frameworks["cah"].subcriteria if sub.code.startswith(CONTRIBUTED[2] + ".")]
    assign(url, 2021, CONTRIBUTED[0], CONTRIBUTED[1], given, at("16/08/2021", "00:00"), "ehl.focal", at("21/07/2021"))
    step(
        f"21/07/2021: {CONTRIBUTED[0]} assigns sub-criteria {', '.join(given)} to its commune {CONTRIBUTED[1]}, "
        "due before 16/08/2021"
    )
    theirs = {r[1]: r for r in rows if r[0] == CONTRIBUTED[0] and r[1] in given}
    blank = export_self_assessment(url, 2021, CONTRIBUTED[1], work / f"{CONTRIBUTED[1]}.xlsx")
    filled = work / f"{CONTRIBUTED[1]}-da-dien.xlsx"
    filled.write_bytes(fill_in(blank.path.read_bytes(), {code: self_cells(r) for code, r in theirs.items()}))
    supplied = import_self_assessment_flow(
        ImportParams(path=str(filled), year=2021, database_url=url, actor=CONTRIBUTOR, at=at("12/08/2021", "15:00"))
    )
    cited = next(r[3] for r in theirs.values() if r[3])
    scan = work / "tai-lieu-kiem-chung.pdf"
    scan.write_bytes(b"%PDF-1.4\n% the commune's report (demo)\n%%EOF\n")
    add_file(url, 2021, CONTRIBUTED[0], cited.split(";")[0], scan, CONTRIBUTOR, at("12/08/2021", "15:10"))
    (line,) = contributions(url, 2021, CONTRIBUTED[0])
    kept = registry(url, 2021, CONTRIBUTED[0])
    step(
        f"12/08/2021: {CONTRIBUTED[1]} fills in its workbook ({blank.rows} sub-criteria), imports it "
        f"({supplied.rows} scores, {line.state}) and keeps the file of {cited.split(';')[0]!r} "
        f"({sum(1 for e in kept if e.files)} of {len(kept)} cited documents of {CONTRIBUTED[0]} have a file)"
    )
    demo.rows = rows = [r for r in rows if not (r[0] == CONTRIBUTED[0] and r[1] in given)]

    # CAH-KBO first sends a sheet with a mistake, withdraws it, corrects it and sends it again.
    first_try = [r[:] for r in rows]
    for r in first_try:
        if r[0] == "CAH-KBO" and r[1] == "1.1.1":
            r[2] = "0.50"
    sheet = work / "tu-cham-diem-2021.csv"
    write_csv(sheet, first_try)
    summary = import_self_assessment_flow(
        ImportParams(path=str(sheet), year=2021, database_url=url, actor=COORDINATOR, at=at("20/08/2021"))
    )
    step(f"20/08/2021: self-assessments imported: {summary.rows} scores of {summary.units} units ({sheet.name})")

    units_on_time = [u.code for u in assessed if u.code not in LATE]
    days = ["25/08/2021", "27/08/2021", "29/08/2021", "30/08/2021"]
    for i, day in enumerate(days):
        if day in SWEEP_BEFORE:
            demo.daily(SWEEP_BEFORE[day])
        batch = units_on_time[i :: len(days)]
        submit_flow(SubmitParams(year=2021, units=batch, database_url=url, actor=COORDINATOR, at=at(day, "16:00")))
    step(f"25–30/08/2021: {len(units_on_time)} units report on time; {', '.join(LATE)} have not reported yet")

    change_units(
        url,
        2021,
        "withdraw",
        ["CAH-KBO"],
        "kbo.focal",
        at("30/08/2021", "17:00"),
        reason="Rút lại để sửa điểm tiêu chí 1.1.1",
    )
    own = export_self_assessment(url, 2021, "CAH-KBO", work / "CAH-KBO.xlsx")
    right = next(r for r in rows if r[0] == "CAH-KBO" and r[1] == "1.1.1")
    corrected = work / "CAH-KBO-sua-doi.xlsx"
    corrected.write_bytes(fill_in(own.path.read_bytes(), {"1.1.1": self_cells(right)}))
    import_self_assessment_flow(
        ImportParams(path=str(corrected), year=2021, database_url=url, actor="kbo.focal", at=at("30/08/2021", "18:00"))
    )
    submit_flow(
        SubmitParams(year=2021, units=["CAH-KBO"], database_url=url, actor=COORDINATOR, at=at("30/08/2021", "19:00"))
    )
    step(
        "30/08/2021: CAH-KBO withdraws its report (rút lại), corrects criterion 1.1.1 in its workbook "
        f"({corrected.name}) and reports again"
    )


def appraisal(demo: Demo) -> None:
    """Appraisal starts (the late units report after it); an outside appraiser for PV01; supplements and
    re-appraisal; bonus and penalty items, the timeliness bonus refused to a late unit."""
    url, work, rows, quality, assessed = demo.url, demo.work, demo.rows, demo.quality, demo.assessed
    demo.daily("31/08/2021")
    advance_cycle_flow(
        AdvanceParams(
            year=2021,
            database_url=url,
            actor=COORDINATOR,
            at=at("31/08/2021", "08:30"),
            reason="Hết hạn báo cáo tự đánh giá",
        )
    )
    step("31/08/2021: the reporting deadline has passed; appraisal starts")
    for unit_code, day in zip(LATE, ("01/09/2021", "02/09/2021", "03/09/2021"), strict=True):
        if day == "02/09/2021":
            demo.daily(day)
        submit_flow(
            SubmitParams(year=2021, units=[unit_code], database_url=url, actor=COORDINATOR, at=at(day, "10:00"))
        )
    step(f"01–03/09/2021: {', '.join(LATE)} report late")

    overrides = work / "tham-dinh-2021.csv"
    appraiser_overrides(overrides, rows, quality)
    first = appraise_flow(
        AppraiseParams(year=2021, scores_path=str(overrides), database_url=url, actor=APPRAISER, at=at("04/09/2021"))
    )
    step(
        f"04/09/2021: {APPRAISER} appraises {len(first.appraised)} units ({first.changed_scores} scores); "
        "refused: " + "; ".join(first.refused)
    )
    book = export_appraisal(url, 2021, "PV01", work / "PV01-tham-dinh.xlsx")
    judged = next(r for r in rows if r[0] == "PV01" and r[2] not in ("", "KAD") and r[3] and not r[5])
    lowered = Decimal(judged[2]) / 2
    book.path.write_bytes(
        fill_in(
            book.path.read_bytes(),
            {judged[1]: {"score": float(lowered), "note": "Sản phẩm chưa đầy đủ so với kế hoạch"}},
        )
    )
    second = appraise_flow(
        AppraiseParams(
            year=2021,
            units=["PV01"],
            scores_path=str(book.path),
            database_url=url,
            actor=OUTSIDE_APPRAISER,
            at=at("04/09/2021", "14:00"),
        )
    )
    step(
        f"04/09/2021: {OUTSIDE_APPRAISER} (Thanh tra) appraises {', '.join(second.appraised)} in its appraisal "
        f"workbook ({book.path.name}): {judged[1]} lowered from {vn_number(Decimal(judged[2]))} to "
        f"{vn_number(lowered)}, with a comment"
    )

    missing_codes = missing_evidence(rows)
    for unit_code in SUPPLEMENT:
        codes = missing_codes.get(unit_code, [])[:3]
        change_units(
            url,
            2021,
            "request_supplement",
            [unit_code],
            APPRAISER,
            at("05/09/2021"),
            reason="Đề nghị bổ sung tài liệu kiểm chứng",
            criteria=codes,
        )
    step(f"05/09/2021: supplements requested from {', '.join(SUPPLEMENT)} (missing evidence)")
    supplement = work / "bo-sung-2021.csv"
    write_csv(
        supplement,
        [
            r[:3] + [f"15/BC-{r[0].split('-')[0]} ngày 20/08/2021 Báo cáo bổ sung"] + r[4:]
            for r in rows
            if r[0] in SUPPLEMENT and r[1] in missing_codes.get(r[0], [])[:3]
        ],
    )
    demo.daily("07/09/2021")
    import_self_assessment_flow(
        ImportParams(path=str(supplement), year=2021, database_url=url, actor=COORDINATOR, at=at("07/09/2021"))
    )
    change_units(
        url,
        2021,
        "submit_supplement",
        list(SUPPLEMENT),
        COORDINATOR,
        at("07/09/2021", "10:00"),
        reason="Đã bổ sung tài liệu kiểm chứng",
    )
    change_units(url, 2021, "skip_supplement", [], APPRAISER, at("07/09/2021", "11:00"), states=["appraised"])
    again = appraise_flow(AppraiseParams(year=2021, database_url=url, actor=APPRAISER, at=at("09/09/2021")))
    step(
        f"07–09/09/2021: supplements received; re-appraisal gives a new version for {', '.join(again.reappraised)}; "
        f"{len(again.unchanged)} units unchanged"
    )

    granted = 0
    for unit in assessed:
        if unit.code not in LATE and quality[unit.code] >= ACCURATE:
            adjust(
                url,
                2021,
                unit.code,
                "B1",
                "Tự đánh giá chặt chẽ, chính xác, báo cáo đúng hạn",
                appraiser_of(unit.code),
                at("10/09/2021"),
            )
            granted += 1
    for unit_code in BREAKTHROUGH:
        adjust(
            url,
            2021,
            unit_code,
            "B2",
            "Mô hình CCHC đột phá được dư luận đánh giá cao",
            appraiser_of(unit_code),
            at("10/09/2021"),
        )
    for unit_code, item in PENALISED.items():
        adjust(url, 2021, unit_code, item, "Theo kết luận kiểm tra CCHC", appraiser_of(unit_code), at("10/09/2021"))
    step(
        f"10/09/2021: bonus B1 (on time, accurate) for {granted} units, B2 for {', '.join(BREAKTHROUGH)}, "
        f"penalties for {', '.join(PENALISED)}"
    )
    try:
        adjust(url, 2021, LATE[0], "B1", "Thử cộng điểm đúng hạn", APPRAISER, at("10/09/2021"))
    except UserError as refusal:
        step(f"refused as it should be: {refusal}")


def publication(demo: Demo) -> None:
    """The results are published; awards are proposed from the published index; the Director decides."""
    url = demo.url
    published = publish_flow(PublishParams(year=2021, database_url=url, actor=COORDINATOR, at=at("10/12/2021")))
    step(f"10/12/2021: results published (version {published.version}, {len(published.units_published)} units)")
    awarded = awards_flow(AwardsParams(year=2021, database_url=url, actor=DIRECTOR, at=at("10/12/2021", "10:00")))
    collectives = sum(1 for a in awarded.awards if a.kind == "collective")
    heads = [a.unit for a in awarded.awards if a.kind == "head"]
    step(
        f"awards from the published index: {collectives} collective proposals"
        + (f"; heads not considered for emulation: {', '.join(heads)}" if heads else "")
    )
    leaders = [a for a in awarded.awards if a.rule == "group_leader"]
    for a in leaders:
        decide_award(
            url, 2021, a.unit, a.rule, "approved", "125/QĐ-CAT ngày 15/12/2021", "", DIRECTOR, at("15/12/2021")
        )
    step(f"15/12/2021: Quyết định 125/QĐ-CAT approves the group leaders' praise: {', '.join(a.unit for a in leaders)}")


def remediation(demo: Demo) -> None:
    """Weak units owe remediation plans and every unit its breakthrough work; the silent ones are chased.
    The year ends with the cycle's status and the audit trail verified."""
    url = demo.url
    entered = advance_cycle_flow(AdvanceParams(year=2021, database_url=url, actor=COORDINATOR, at=at("20/12/2021")))
    owed = read_follow_ups(url, 2021)
    weak = [item for item in owed if item.kind == "remediation"]
    step(
        f"20/12/2021: remediation phase: {len(weak)} {'unit owes' if len(weak) == 1 else 'units owe'} "
        "a remediation plan "
        f"({'; '.join(f'{w.unit}: {w.reasons[0]}' for w in weak[:2])}{'; …' if len(weak) > 2 else ''}), "
        f"{entered.follow_ups.get('breakthrough', 0)} units register next year's breakthrough work"
    )
    demo.daily("04/04/2022")
    silent = {weak[-1].unit, *NO_PLAN} if weak else set(NO_PLAN)
    for follow_up in owed:
        if follow_up.unit not in silent:  # the coordinator records each document as it arrives
            number = 15 if follow_up.kind == "remediation" else 16
            ref = f"{number}/KH-{follow_up.unit} ngày 05/04/2022"
            receive_follow_up(url, 2021, follow_up.unit, follow_up.kind, ref, "", COORDINATOR, at("05/04/2022"))
    step(
        "05/04/2022: the units send their remediation plans and breakthrough registrations, except "
        + ", ".join(sorted(silent))
    )
    for day in ("11/04/2022", "13/04/2022"):
        demo.daily(day)
    status = cycle_status(url, 2021, at("13/04/2022", "11:00"))
    step(f"cycle status: phase {status.phase}; late reports: {', '.join(status.late) or 'none'}")
    verified = verify_all(url)
    step(
        f"audit trail: {verified.chain.events} events, chain {'intact' if verified.chain.ok else 'BROKEN'}, "
        f"tables {'agree with it' if not verified.tables.problems else 'DIFFER'} "
        f"({verified.tables.assessments} assessments, {verified.tables.scores} frozen score sets, "
        f"{verified.tables.publications} publications), {len(verified.checkpoints)} signed checkpoints held"
    )
