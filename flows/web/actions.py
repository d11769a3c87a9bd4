"""What the dashboard's buttons do: the sweep, (re-)appraisal and publication as background jobs, and a
supplement request; each calls the flow that checks roles and audits."""

from __future__ import annotations

from datetime import datetime

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from cchc.config.settings import get_settings
from cchc.flows import inputs
from cchc.flows.appraisal import appraise_flow
from cchc.flows.params import AppraiseParams, PublishParams, SweepParams
from cchc.flows.publication import publish_flow
from cchc.flows.submission import change_units
from cchc.flows.sweep import sweep_flow
from cchc.flows.web import access
from cchc.flows.web.dashboard import JOB_LABELS, Dashboard, Forbidden, describe_error
from cchc.flows.web.tables import cell_text
from cchc.models.errors import UserError
from cchc.models.people import Actor


async def _actor_for_action(request: Request) -> tuple[FormData, Actor]:
    """The posted form (its CSRF token checked) and who is logged in."""
    d = Dashboard.of(request)
    form = await d.form(request)
    actor = await run_in_threadpool(d.require, request)
    return form, actor


async def sweep(request: Request) -> Response:
    d = Dashboard.of(request)
    year = int(request.path_params["year"])
    _, actor = await _actor_for_action(request)
    if not access.may_sweep(actor):
        raise Forbidden(f"Chỉ bộ phận điều phối chạy rà soát hạn; {actor.name} không thuộc bộ phận điều phối.")
    at = d.clock()
    job = d.jobs.submit(
        "sweep", "Rà soát hạn: nhắc và đôn đốc", actor.code, lambda: run_sweep(d.database_url, year, actor, at)
    )
    return RedirectResponse(f"/cycles/{year}?job={job.id}", 303)


async def appraise(request: Request) -> Response:
    d = Dashboard.of(request)
    year = int(request.path_params["year"])
    form, actor = await _actor_for_action(request)
    if not access.may_run_flows(actor):
        raise Forbidden(f"{actor.name} không có vai trò thẩm định hay điều phối.")
    unit = str(form.get("unit", "")).strip()
    at = d.clock()
    job = d.jobs.submit(
        "appraise",
        f"Thẩm định lại {unit}" if unit else "Thẩm định các đơn vị đang chờ",
        actor.code,
        lambda: run_appraisal(d.database_url, year, unit, actor, at),
    )
    back = f"/cycles/{year}/units/{unit}" if unit else f"/cycles/{year}"
    return RedirectResponse(f"{back}?job={job.id}", 303)


async def publish(request: Request) -> Response:
    d = Dashboard.of(request)
    year = int(request.path_params["year"])
    form, actor = await _actor_for_action(request)
    if not access.may_run_flows(actor):
        raise Forbidden(f"{actor.name} không có vai trò công bố kết quả.")
    reason = str(form.get("reason", "")).strip()
    at = d.clock()
    job = d.jobs.submit(
        "publish",
        "Công bố kết quả",
        actor.code,
        lambda: run_publication(d.database_url, year, reason, actor, at),
    )
    return RedirectResponse(f"/cycles/{year}?job={job.id}", 303)


async def supplement(request: Request) -> Response:
    year, code = int(request.path_params["year"]), str(request.path_params["code"])
    form, actor = await _actor_for_action(request)
    if not access.may_run_flows(actor):
        raise Forbidden(f"{actor.name} không có vai trò thẩm định.")
    await ask_supplement(request, form, year, code, actor, ",".join(str(v) for v in form.getlist("criteria")))
    return RedirectResponse(f"/cycles/{year}/units/{code}", 303)


async def ask_supplement(request: Request, form: FormData, year: int, code: str, actor: Actor, criteria: str) -> None:
    """Ask a unit for a supplement from a page's form (note, criteria, due); the outcome is the page's flash."""
    d = Dashboard.of(request)
    try:
        text = await run_in_threadpool(
            request_supplement,
            d.database_url,
            year,
            code,
            actor,
            str(form.get("note", "")),
            criteria,
            str(form.get("due", "")),
            d.clock(),
        )
        d.flash(request, "ok", text)
    except Exception as exc:  # noqa: BLE001 - the edge: a refusal is one message on the page
        d.flash(request, "error", describe_error(exc))


def run_sweep(database_url: str | None, year: int, actor: Actor, at: datetime) -> str:
    """The deadline sweep (the flow, which records who ran it and what it did in the audit trail)."""

    summary = sweep_flow(SweepParams(year=year, database_url=database_url, at=at, actor=actor.code))
    return (
        f"Rà soát kỳ {summary.year} tính đến {cell_text(summary.as_of, get_settings().timezone)}: "
        f"{summary.items} việc còn mở, {len(summary.lines)} bước nhắc hạn/đôn đốc mới, "
        f"{summary.messages} thư được xếp gửi."
    )


def run_appraisal(database_url: str | None, year: int, unit: str, actor: Actor, at: datetime) -> str:

    summary = appraise_flow(
        AppraiseParams(year=year, units=[unit] if unit else [], database_url=database_url, actor=actor.code, at=at)
    )
    moved = summary.appraised or summary.reappraised or summary.unchanged
    if summary.refused and not moved:
        raise UserError("; ".join(summary.refused))
    parts = [
        f"thẩm định lần đầu {len(summary.appraised)} đơn vị",
        f"thẩm định lại (phiên bản mới) {len(summary.reappraised)}",
        f"không thay đổi {len(summary.unchanged)}",
        f"{summary.changed_scores} điểm được ghi",
    ]
    text = "Đã " + ", ".join(parts) + "."
    if summary.refused:
        text += " Từ chối: " + "; ".join(summary.refused)
    return text


def run_publication(database_url: str | None, year: int, reason: str, actor: Actor, at: datetime) -> str:

    summary = publish_flow(PublishParams(year=year, reason=reason, database_url=database_url, actor=actor.code, at=at))
    if not summary.new_version:
        return f"Không có gì thay đổi: kết quả công bố lần {summary.version} vẫn là kết quả hiện hành."
    return (
        f"Đã công bố kết quả kỳ {summary.year}, lần {summary.version}: "
        f"{len(summary.units_published)} đơn vị chuyển sang đã công bố."
    )


def request_supplement(
    database_url: str | None,
    year: int,
    unit: str,
    actor: Actor,
    note: str,
    criteria: str,
    due: str,
    at: datetime,
) -> str:
    """Ask a unit for a supplement (the function behind `cchc supplement request`)."""
    summary = change_units(
        database_url,
        year,
        "request_supplement",
        [unit],
        actor.code,
        at,
        reason=note.strip(),
        criteria=inputs.codes(criteria),
        due=inputs.moment(due, "Hạn") if due.strip() else None,
    )
    if summary.refused:
        raise UserError("; ".join(summary.refused))
    return f"Đã yêu cầu {unit} bổ sung, giải trình; đơn vị được báo qua thư điện tử."


def job(request: Request) -> Response:
    d = Dashboard.of(request)
    actor = d.require(request)
    job = d.jobs.get(str(request.path_params["job_id"]))
    if job is None or not (job.owner == actor.code or access.sees_all(actor)):
        return JSONResponse({"error": "không có việc này"}, status_code=404)
    return JSONResponse(
        {
            "id": job.id,
            "kind": job.kind,
            "label": job.label,
            "status": job.status,
            "status_label": JOB_LABELS[job.status],
            "finished": job.finished,
            "summary": job.summary,
            "error": job.error,
            "started_at": cell_text(job.started_at, d.timezone) if job.started_at else None,
            "finished_at": cell_text(job.finished_at, d.timezone) if job.finished_at else None,
        }
    )
