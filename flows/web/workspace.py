"""The first page after login, for anyone: "Việc của tôi" (what I owe, by when, how far it has been chased,
and a button to the page where it is done); and the appraiser's workspace: the queue of units waiting
for appraisal and, per unit, the grid with the self-score, the evidence, what the rules give and why, and
the appraiser's own score and comment per row; a supplement request by ticking rows; finishing the
appraisal."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from cchc.flows.appraisal import appraise
from cchc.flows.params import AppraiseParams
from cchc.flows.web import access, views
from cchc.flows.web.actions import ask_supplement
from cchc.flows.web.dashboard import Dashboard, Forbidden, describe_error
from cchc.flows.web.grid import link_for
from cchc.flows.worklist import Task, my_tasks
from cchc.flows.worksheet import Grid, read_grid, save_appraisal_rows
from cchc.models.errors import UserError
from cchc.models.i18n import tr
from cchc.models.people import Actor
from cchc.states.labels import STATE_LABELS, task_label

STEP_WORDS = {"remind": "đã nhắc", "escalate": "đã đôn đốc"}
KIND_LABELS = {"appraisal": "Thẩm định báo cáo tự đánh giá"}


def step_text(task: Task) -> str:
    if not task.last_step:
        return "chưa nhắc"
    kind, _, number = task.last_step.partition("-")
    if kind == "escalate":
        return f"đôn đốc cấp {number}"
    return f"đã nhắc (trước hạn {number} ngày)"


def task_text(task: Task) -> str:
    return KIND_LABELS.get(task.phase) or task_label(task.phase)


async def home(request: Request) -> Response:
    """Việc của tôi."""
    d = Dashboard.of(request)
    actor = await run_in_threadpool(d.require, request)
    years = await run_in_threadpool(views.cycle_years, d.database_url)
    if not years:
        return d.message(request, "Chưa có kỳ đánh giá", "Chưa có kỳ đánh giá nào được mở.", 404, actor)
    year = (
        int(request.query_params.get("year") or years[0])
        if str(request.query_params.get("year", "")).isdigit()
        else years[0]
    )
    tasks = await run_in_threadpool(my_tasks, d.database_url, year, actor.code, d.clock())
    return d.render(
        request,
        "tasks.html",
        user=actor,
        year=year,
        years=years,
        tasks=tasks,
        link=lambda t: link_for(t.phase, year, t.assessed_unit),
        step_text=step_text,
        task_text=task_text,
        unit_page=access.may_view_unit(actor, actor.unit_code or "") and actor.unit_code,
    )


# --- the appraiser's workspace ---------------------------------------------------------------------


def _appraiser(d: Dashboard, request: Request) -> Actor:
    actor = d.require(request)
    if not access.may_run_flows(actor):
        raise Forbidden(f"{actor.name} không có vai trò thẩm định.")
    return actor


def _agrid(d: Dashboard, year: int, code: str, actor: Actor) -> Grid:
    try:
        return read_grid(d.database_url, year, code, actor, d.clock(), appraiser=True)
    except UserError as exc:
        raise Forbidden(str(exc)) from None


def appraisal_url(year: int, code: str) -> str:
    return f"/cycles/{year}/units/{code}/appraisal"


async def appraisal_page(request: Request) -> Response:
    d = Dashboard.of(request)
    year, code = int(request.path_params["year"]), str(request.path_params["code"])
    actor = await run_in_threadpool(_appraiser, d, request)
    if code in actor.own_units:
        raise Forbidden(f"{actor.name} thuộc {code}: không ai thẩm định đơn vị của chính mình.")
    grid = await run_in_threadpool(_agrid, d, year, code, actor)
    return d.render(
        request,
        "appraisal.html",
        user=actor,
        year=year,
        grid=grid,
        state_label=STATE_LABELS.get(grid.state, grid.state),
        waiting=grid.state in ("submitted", "appraised", "supplemented"),
    )


async def appraisal_save(request: Request) -> Response:
    d = Dashboard.of(request)
    year, code = int(request.path_params["year"]), str(request.path_params["code"])
    form = await d.form(request)
    actor = await run_in_threadpool(_appraiser, d, request)
    wants_json = request.headers.get("x-requested-with") == "fetch"
    chosen = str(form.get("save", "")).strip()
    codes = (
        [chosen] if chosen and chosen != "*" else sorted({k.split(".", 1)[0] for k in form if k.endswith(".ascore")})
    )
    entries = [
        {"criterion": c, "score": str(form.get(f"{c}.ascore", "")), "note": str(form.get(f"{c}.anote", ""))}
        for c in codes
    ]
    try:
        saved = await run_in_threadpool(save_appraisal_rows, d.database_url, year, code, entries, actor.code, d.clock())
        text = f"Đã lưu điểm thẩm định: {', '.join(saved.changed)}." if saved.changed else "Không có gì thay đổi."
        ok = True
    except Exception as exc:  # noqa: BLE001 - the edge: one sentence, nothing written
        text, ok = describe_error(exc), False
    if wants_json:
        return JSONResponse({"ok": ok, "message": text}, status_code=200 if ok else 422)
    d.flash(request, "ok" if ok else "error", text)
    return RedirectResponse(appraisal_url(year, code) + (f"#row-{chosen}" if chosen and chosen != "*" else ""), 303)


async def appraisal_finish(request: Request) -> Response:
    """Finish (or re-run) the appraisal of this unit: the rules and the appraiser's own scores, one version."""
    d = Dashboard.of(request)
    year, code = int(request.path_params["year"]), str(request.path_params["code"])
    await d.form(request)
    actor = await run_in_threadpool(_appraiser, d, request)

    def run() -> str:
        summary = appraise.fn(
            AppraiseParams(year=year, units=[code], database_url=d.database_url, actor=actor.code, at=d.clock())
        )
        if summary.refused:
            raise UserError("; ".join(summary.refused))
        if summary.appraised:
            return f"Đã thẩm định {code} (lần 1): {summary.changed_scores} điểm được ghi."
        if summary.reappraised:
            return f"Đã thẩm định lại {code}: {summary.changed_scores} tiêu chí thay đổi."
        return f"Thẩm định lại {code}: không có gì thay đổi."

    await d.flash_outcome(request, run)
    return RedirectResponse(appraisal_url(year, code), 303)


async def appraisal_supplement(request: Request) -> Response:
    """Ask the unit for a supplement on the ticked rows, with a required note and a due date."""
    d = Dashboard.of(request)
    year, code = int(request.path_params["year"]), str(request.path_params["code"])
    form = await d.form(request)
    actor = await run_in_threadpool(_appraiser, d, request)
    ticked = [str(v) for v in form.getlist("criteria")]
    if ticked:
        await ask_supplement(request, form, year, code, actor, ",".join(ticked))
    else:
        d.flash(request, "error", tr("tick the sub-criteria the unit is to supplement or explain"))
    return RedirectResponse(appraisal_url(year, code), 303)
