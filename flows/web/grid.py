"""The unit's self-assessment online (Phụ lục IV as a page): the framework tree, each row saved as it is
typed (or with its own button, without JavaScript), evidence files attached per sub-criterion, the
workbook round trip, and submit, withdraw and send a supplement — each through the flows and guards that
the CLI uses, under the person's own name.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response

from cchc.config.settings import get_settings
from cchc.flows import inputs
from cchc.flows.contributors import ContributionLine, assign, contributions_of
from cchc.flows.deadlines import register_plan
from cchc.flows.documents import attach_document_file
from cchc.flows.evidence import add_stream, file_name, keep_stream
from cchc.flows.lookup import cycle_of
from cchc.flows.params import ImportParams, SubmitParams
from cchc.flows.remediation import receive_follow_up
from cchc.flows.selfassessment import import_self_assessment
from cchc.flows.submission import change_units, submit
from cchc.flows.web.access import may_view_unit
from cchc.flows.web.dashboard import Dashboard, Forbidden, LoginRequired, describe_error
from cchc.flows.workbooks import export_self_assessment
from cchc.flows.worksheet import Grid, read_grid, save_rows
from cchc.models.db import get_engine, read_session
from cchc.models.errors import UserError
from cchc.models.evidence import parse_references
from cchc.models.people import Actor
from cchc.models.store import FileStore
from cchc.models.tables import Assessment, Cycle, DocumentFile, Evidence, EvidenceFile, OrgUnit
from cchc.states.labels import STATE_LABELS

ROW_FIELDS = ("score", "metric", "not_applicable", "evidence", "note", "explanation")
MEDIA = {
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
}
INLINE = set(MEDIA)  # what a browser shows itself; the rest downloads


def _where(request: Request) -> tuple[int, str]:
    return int(request.path_params["year"]), str(request.path_params["code"])


def grid_url(year: int, code: str) -> str:
    return f"/cycles/{year}/units/{code}/self-assessment"


def _grid(d: Dashboard, year: int, code: str, actor: Actor) -> Grid:
    try:
        return read_grid(d.database_url, year, code, actor, d.clock())
    except UserError as exc:
        raise Forbidden(str(exc)) from None


def _contributors(d: Dashboard, year: int, code: str) -> tuple[list[tuple[str, str]], list[ContributionLine]]:
    """The unit's teams and communes (code, name) and what they were assigned."""
    with read_session(get_engine(d.database_url)) as session:
        parent = session.execute(select(col(OrgUnit.id)).where(col(OrgUnit.code) == code)).scalar()
        members = [
            (str(c), str(n))
            for c, n in session.execute(
                select(col(OrgUnit.code), col(OrgUnit.name))
                .where(col(OrgUnit.parent_id) == parent, col(OrgUnit.active))
                .order_by(col(OrgUnit.code))
            ).tuples()
        ]
        assigned = contributions_of(session, cycle_of(session, year), code, d.clock())
    return members, assigned


def render_grid(
    request: Request,
    grid: Grid,
    actor: Actor,
    status: int = 200,
    typed: Mapping[str, Mapping[str, str]] | None = None,
    problems: list[str] | None = None,
) -> Response:
    d = Dashboard.of(request)
    settings = d.settings
    members, assigned = _contributors(d, grid.year, grid.unit_code)
    may_assign = (
        grid.contributor is None and actor.unit_code == grid.unit_code and bool(actor.roles & {"head", "focal"})
    )
    return d.render(
        request,
        "grid.html",
        status,
        members=members if may_assign else [],
        assigned=assigned,
        user=actor,
        year=grid.year,
        grid=grid,
        typed=typed or {},
        problems=problems or [],
        state_label=STATE_LABELS.get(grid.state, grid.state),
        upload_types=",".join(settings.upload_suffixes),
        upload_max_mib=settings.upload_max_mib,
    )


async def page(request: Request) -> Response:
    d = Dashboard.of(request)
    year, code = _where(request)
    actor = await run_in_threadpool(d.require, request)
    grid = await run_in_threadpool(_grid, d, year, code, actor)
    return render_grid(request, grid, actor)


def _entries(form: FormData, codes: list[str]) -> list[dict[str, str]]:
    return [{"criterion": c, **{f: str(form.get(f"{c}.{f}", "")) for f in ROW_FIELDS}} for c in codes]


def _typed(form: FormData, grid: Grid) -> dict[str, dict[str, str]]:
    """What was typed in the form, by row, to show again when a save is refused."""
    return {
        r.code: {f: str(form.get(f"{r.code}.{f}", "")) for f in ROW_FIELDS}
        for r in grid.rows
        if any(f"{r.code}.{f}" in form for f in ROW_FIELDS)
    }


async def save(request: Request) -> Response:
    """Save one row (its own button, or the page's autosave) or every row with something typed in it. One
    row (the autosave's case, every 2 s per person on deadline day) is saved without reading the grid: the
    save checks everything itself and answers the grid's new count."""
    d = Dashboard.of(request)
    year, code = _where(request)
    form = await d.form(request)
    wants_json = request.headers.get("x-requested-with") == "fetch"
    chosen = str(form.get("save", "")).strip()
    who: Actor | Callable[[Session], Actor]
    if chosen and chosen != "*":
        codes = [chosen]
        who = partial(d.require, request)  # asked within the save's own transaction
    else:
        who = await run_in_threadpool(d.require, request)
        grid = await run_in_threadpool(_grid, d, year, code, who)
        editable = [r.code for r in grid.rows if r.editable]
        codes = [c for c in editable if any(str(form.get(f"{c}.{f}", "")).strip() for f in ROW_FIELDS)]
    try:
        saved = await run_in_threadpool(save_rows, d.database_url, year, code, _entries(form, codes), who, d.clock())
    except (LoginRequired, Forbidden):
        raise
    except Exception as exc:  # noqa: BLE001 - the edge: a refusal is one message on the page, the form kept
        message = describe_error(exc)
        if wants_json:
            return JSONResponse({"ok": False, "message": message}, status_code=422)
        problems = getattr(exc, "problems", None) or [message]
        actor = who if isinstance(who, Actor) else await run_in_threadpool(d.require, request)
        grid = await run_in_threadpool(_grid, d, year, code, actor)
        return render_grid(request, grid, actor, 422, typed=_typed(form, grid), problems=list(problems))
    text = (
        f"Đã lưu {len(codes)} dòng ({', '.join(codes[:6])}{'…' if len(codes) > 6 else ''})."
        if saved.changed or saved.added
        else "Không có gì thay đổi."
    )
    if wants_json:
        return JSONResponse({"ok": True, "message": text, "filled": saved.filled, "total": saved.total})
    d.flash(request, "ok", text)
    anchor = f"#row-{chosen}" if chosen and chosen != "*" else ""
    return RedirectResponse(grid_url(year, code) + anchor, 303)


async def move(request: Request) -> Response:
    """Submit, withdraw (rút lại) or send the supplement: the machine's guards decide, under the person's name."""
    d = Dashboard.of(request)
    year, code = _where(request)
    form = await d.form(request)
    actor = await run_in_threadpool(d.require, request)
    trigger = str(request.path_params["trigger"])
    texts = {
        "submit": "Đã gửi báo cáo tự đánh giá đến cơ quan thẩm định.",
        "withdraw": "Đã rút lại báo cáo: đơn vị sửa và gửi lại trước hạn.",
        "submit_supplement": "Đã gửi phần bổ sung, giải trình: cơ quan thẩm định sẽ thẩm định lại các tiêu chí này.",
    }
    if trigger not in texts:
        raise Forbidden("Thao tác này không có trên trang tự đánh giá.")
    try:
        refused = await run_in_threadpool(_move, d, year, code, trigger, actor, str(form.get("reason", "")))
    except Exception as exc:  # noqa: BLE001 - the edge
        refused = describe_error(exc)
    if refused:
        d.flash(request, "error", refused)
    else:
        d.flash(request, "ok", texts[trigger])
    return RedirectResponse(grid_url(year, code), 303)


def _move(d: Dashboard, year: int, code: str, trigger: str, actor: Actor, reason: str) -> str | None:
    at = d.clock()
    if trigger == "submit":
        summary = submit.fn(SubmitParams(year=year, units=[code], database_url=d.database_url, actor=actor.code, at=at))
    else:
        summary = change_units(d.database_url, year, trigger, [code], actor.code, at, reason=reason.strip())
    return "; ".join(summary.refused) or None


async def contributors(request: Request) -> Response:
    """The unit gives sub-criteria to one of its teams or communes, with an internal deadline before its own."""
    d = Dashboard.of(request)
    year, code = _where(request)
    form = await d.form(request)
    actor = await run_in_threadpool(d.require, request)
    member, criteria, due = (str(form.get(k, "")).strip() for k in ("member", "criteria", "due"))
    try:
        line = await run_in_threadpool(
            assign,
            d.database_url,
            year,
            code,
            member,
            inputs.codes(criteria),
            inputs.moment(due, "Hạn nội bộ"),
            actor.code,
            d.clock(),
        )
        d.flash(request, "ok", f"Đã giao {', '.join(line.criteria)} cho {line.contributor_name}.")
    except Exception as exc:  # noqa: BLE001 - the edge
        d.flash(request, "error", describe_error(exc))
    return RedirectResponse(grid_url(year, code) + "#contributors", 303)


async def upload(request: Request) -> Response:
    """An evidence file for a sub-criterion: streamed into the content-addressed store (the form's file is
    spooled to disk by the multipart parser beyond 1 MiB, and copied a mebibyte at a time), its document
    registered, and cited in the row when the row is already filled."""
    d = Dashboard.of(request)
    year, code = _where(request)
    form = await d.form(request, files=("file",))
    actor = await run_in_threadpool(d.require, request)
    criterion = str(form.get("criterion", "")).strip()
    reference = str(form.get("reference", "")).strip()
    upload_file = form.get("file")
    back = grid_url(year, code) + (f"#row-{criterion}" if criterion else "")
    if not isinstance(upload_file, UploadFile) or not upload_file.filename:
        d.flash(request, "error", "Chọn tệp cần đính kèm.")
        return RedirectResponse(back, 303)
    try:
        await d.flash_outcome(request, _keep, d, year, code, criterion, reference, upload_file, actor)
    finally:
        await upload_file.close()
    if request.headers.get("x-requested-with") == "fetch":  # the page's upload with progress: it goes on itself
        return JSONResponse({"location": back})
    return RedirectResponse(back, 303)


def _keep(d: Dashboard, year: int, code: str, criterion: str, reference: str, file: UploadFile, actor: Actor) -> str:
    grid = _grid(d, year, code, actor)
    row = next((r for r in grid.rows if r.code == criterion), None)
    if row is None or not row.editable:
        raise UserError(f"tiêu chí {criterion or '(trống)'} không mở cho {actor.name} đính kèm tài liệu lúc này")
    settings = d.settings
    added = add_stream(
        d.database_url,
        year,
        code,
        reference,
        file.filename or "tệp",
        file.file,
        actor.code,
        d.clock(),
        max_bytes=settings.upload_max_mib * 1_048_576,
        suffixes=settings.upload_suffixes,
    )
    kept = f"Đã lưu tệp {file.filename} cho {added.symbol} (SHA-256 {added.sha256[:16]}…, phiên bản {added.version})."
    if not added.new:
        kept = f"Tệp {file.filename} đã có sẵn cho {added.symbol} (SHA-256 {added.sha256[:16]}…)."
    cited = {ref.symbol for ref in parse_references(row.evidence)} if row.evidence.strip() else set()
    if added.symbol in cited:
        return kept
    if not row.filled:
        return kept + f" Ghi tài liệu này vào ô Tài liệu kiểm chứng của tiêu chí {criterion} khi chấm điểm."
    evidence = "; ".join(x for x in (row.evidence.strip(), reference) if x)
    values = {
        "criterion": row.code,
        "score": "" if row.self_points is None or row.measured else str(row.self_points),
        "metric": row.metric,
        "not_applicable": "x" if row.not_applicable else "",
        "evidence": evidence,
        "note": row.note,
        "explanation": row.explanation,
    }
    save_rows(d.database_url, year, code, [values], actor.code, d.clock())
    return kept + f" Đã ghi vào tài liệu kiểm chứng của tiêu chí {criterion}."


def file(request: Request) -> Response:
    """An evidence file, opened in the browser (a PDF or an image) or downloaded, for whoever may see the
    unit's grid; only files of this unit's documents, by their hash."""
    d = Dashboard.of(request)
    year, code = _where(request)
    actor = d.require(request)
    sha256 = str(request.path_params["sha256"])
    _grid(d, year, code, actor)  # refuses whoever may not see the unit's grid
    with read_session(get_engine(d.database_url)) as session:
        found = session.execute(
            select(col(EvidenceFile.file_name), col(EvidenceFile.suffix))
            .join(Evidence, col(Evidence.id) == col(EvidenceFile.evidence_id))
            .join(Assessment, col(Assessment.id) == col(Evidence.assessment_id))
            .join(Cycle, col(Cycle.id) == col(Assessment.cycle_id))
            .join(OrgUnit, col(OrgUnit.id) == col(Assessment.unit_id))
            .where(col(EvidenceFile.sha256) == sha256, col(OrgUnit.code) == code, col(Cycle.year) == year)
        ).first()
    if found is None:
        raise UserError("không có tệp này trong tài liệu kiểm chứng của đơn vị")
    return _stored_file(sha256, str(found[0]), str(found[1]))


def workbook(request: Request) -> Response:
    """The unit's (or the contributor's) workbook, with what is stored now: fill it offline, upload it back."""
    d = Dashboard.of(request)
    year, code = _where(request)
    actor = d.require(request)
    grid = _grid(d, year, code, actor)
    target = grid.contributor or code
    folder = Path(tempfile.mkdtemp(prefix="cchc-workbook-"))
    try:
        exported = export_self_assessment(d.database_url, year, target, folder / f"tu-danh-gia-{target}-{year}.xlsx")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(
        exported.path,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        filename=exported.path.name,
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )


async def upload_workbook(request: Request) -> Response:
    """The filled workbook back: the import itself (every problem named by its cell, nothing written if any)."""
    d = Dashboard.of(request)
    year, code = _where(request)
    form = await d.form(request, files=("workbook",))
    actor = await run_in_threadpool(d.require, request)
    book = form.get("workbook")
    if not isinstance(book, UploadFile) or not book.filename:
        d.flash(request, "error", "Chọn tệp Excel (.xlsx) đã điền.")
        return RedirectResponse(grid_url(year, code), 303)
    try:
        await d.flash_outcome(request, _import_workbook, d, year, code, book, actor)
    finally:
        await book.close()
    return RedirectResponse(grid_url(year, code), 303)


def _import_workbook(d: Dashboard, year: int, code: str, book: UploadFile, actor: Actor) -> str:
    _grid(d, year, code, actor)
    name = Path(book.filename or "bang-diem.xlsx").name
    if Path(name).suffix.lower() not in (".xlsx", ".csv"):
        raise UserError(f"{name}: hãy tải lên tệp Excel .xlsx (hoặc CSV UTF-8) tải từ trang này")
    with tempfile.TemporaryDirectory(prefix="cchc-upload-") as folder:
        path = Path(folder) / name
        with path.open("wb") as out:
            while chunk := book.file.read(1 << 20):
                out.write(chunk)
        summary = import_self_assessment.fn(
            ImportParams(path=str(path), year=year, database_url=d.database_url, actor=actor.code, at=d.clock())
        )
    return f"Đã nhập {name}: {summary.rows} dòng, {summary.changed_rows} dòng thay đổi."


async def documents(request: Request) -> Response:
    """The unit sends its own plan, its remediation plan or its breakthrough registration (a dated reference,
    and the document's file if chosen); the matching follow-up is done (through its machine, audited under
    the person's name). A file that is refused (its kind, its size) refuses the whole sending: nothing is
    recorded."""
    d = Dashboard.of(request)
    year, code = _where(request)
    form = await d.form(request, files=("file",))
    actor = await run_in_threadpool(d.require, request)
    kind, ref, note = (str(form.get(k, "")).strip() for k in ("kind", "ref", "note"))
    upload = form.get("file")
    chosen = upload if isinstance(upload, UploadFile) and upload.filename else None
    name = file_name(chosen.filename or "") if chosen is not None else ""

    def send() -> str:
        kept = None
        if chosen is not None:  # into the store first: a refused file records nothing
            settings = d.settings
            kept = keep_stream(
                name, chosen.file, max_bytes=settings.upload_max_mib * 1_048_576, suffixes=settings.upload_suffixes
            )
        if kind == "plan":
            new = register_plan(d.database_url, year, code, ref, actor.code, d.clock())
            said = f"Đã ghi nhận kế hoạch CCHC {ref} của {code}." if new else "Kế hoạch này đã được ghi nhận trước đó."
        else:
            new = receive_follow_up(d.database_url, year, code, kind, ref, note, actor.code, d.clock())
            said = f"Đã ghi nhận văn bản {ref} của {code}." if new else "Văn bản này đã được ghi nhận trước đó."
        if kept is None:
            return said
        stored, suffix = kept
        if attach_document_file(d.database_url, year, code, kind, ref, stored, suffix, name, actor.code, d.clock()):
            return f"{said} Đã lưu tệp {name} (SHA-256 {stored.sha256[:16]}…)."
        return f"{said} Tệp {name} đã có sẵn (SHA-256 {stored.sha256[:16]}…)."

    await d.flash_outcome(request, send)
    return RedirectResponse(f"/cycles/{year}/units/{code}#documents", 303)


def document_file(request: Request) -> Response:
    """A file of the unit's own documents (plan, remediation plan, breakthrough registration), for whoever
    may see the unit's page; only this unit's, by its hash."""
    d = Dashboard.of(request)
    year, code = _where(request)
    actor = d.require(request)
    if not may_view_unit(actor, code):
        raise Forbidden(f"{actor.name} ({actor.code}) không xem được văn bản của {code}.")
    sha256 = str(request.path_params["sha256"])
    with read_session(get_engine(d.database_url)) as session:
        found = session.execute(
            select(col(DocumentFile.file_name), col(DocumentFile.suffix))
            .join(Assessment, col(Assessment.id) == col(DocumentFile.assessment_id))
            .join(Cycle, col(Cycle.id) == col(Assessment.cycle_id))
            .join(OrgUnit, col(OrgUnit.id) == col(Assessment.unit_id))
            .where(col(DocumentFile.sha256) == sha256, col(OrgUnit.code) == code, col(Cycle.year) == year)
        ).first()
    if found is None:
        raise UserError("không có tệp này trong văn bản của đơn vị")
    return _stored_file(sha256, str(found[0]), str(found[1]))


def _stored_file(sha256: str, name: str, suffix: str) -> FileResponse:
    """A file of the store as the browser should take it: shown (a PDF, an image) or downloaded."""
    return FileResponse(
        FileStore(get_settings().store_dir)._path(sha256, suffix),
        media_type=MEDIA.get(suffix, "application/octet-stream"),
        filename=name,
        content_disposition_type="inline" if suffix in INLINE else "attachment",
    )


def link_for(task: str, year: int, code: str) -> str:
    """Where an e-mail's action is done (`/units/CODE?year=Y&task=…`)."""
    pages = {
        "submission": grid_url(year, code),
        "supplement": grid_url(year, code),
        "contribution": grid_url(year, code),
        "plan": f"/cycles/{year}/units/{code}#documents",
        "remediation": f"/cycles/{year}/units/{code}#documents",
        "breakthrough": f"/cycles/{year}/units/{code}#documents",
        "appraisal": f"/cycles/{year}/units/{code}/appraisal",
    }
    return pages.get(task, f"/cycles/{year}/units/{code}")
