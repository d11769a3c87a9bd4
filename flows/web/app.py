"""The dashboard's web application: Starlette, server-rendered Jinja2 pages, a signed session cookie.

- Logins: a person's code or e-mail and their password (`cchc login set`); a session ends after 30 minutes
  without a request, 8 hours after the login, when the password changes, or at logout.
- Every POST form carries the session's CSRF token in a hidden field; a POST without it is refused (403).
- The authority's staff see the whole cycle; everyone else sees their own unit only (flows.web.access).
- Pages: the overview of a cycle, a unit (scores per field, evidence, timeline), the published ranking, the
  audit trail (search, chain verification), a head's signing link. Every table exports as CSV or xlsx
  (`?format=csv|xlsx&table=KEY`).
- Actions call the flows (which check roles and audit): long ones run as background jobs whose progress
  the page polls at `/jobs/{id}`.
"""

from __future__ import annotations

import gc
import logging
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cchc.config.settings import get_settings
from cchc.flows.runtime import UserError, engine_for, now
from cchc.flows.web import access, views
from cchc.flows.web.auth import authenticate, login_of
from cchc.flows.web.jobs import Job, JobRunner
from cchc.flows.web.settings import DashboardSettings, secret_key
from cchc.flows.web.tables import Cell, Table, cell_text, to_csv, to_xlsx
from cchc.models.audit import AuditConflict
from cchc.models.datafile import DataFileError
from cchc.models.db import get_engine, read_session
from cchc.models.people import Actor, UnknownActor, resolve_actor
from cchc.models.scoresheet import SheetError
from cchc.states.machine import TransitionNotAllowed
from cchc.states.workflow import ConcurrentChange

log = logging.getLogger("cchc.dashboard")
HERE = Path(__file__).resolve().parent
COOKIE = "cchc_session"
MAX_BODY = 1024 * 1024
MAX_VERSION = 2**31 - 1  # the largest version a database stores (PostgreSQL's integer)
JOB_LABELS = {"queued": "Đang chờ", "running": "Đang chạy", "done": "Xong", "failed": "Không thành công"}
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),  # a signing link's token never leaves in a Referer
    (b"cache-control", b"no-store"),
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        b"frame-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    ),
]


class YearConvertor(Convertor[int]):
    """A cycle's year in a path: four digits (a longer number is no page here, not a database error)."""

    regex = "[0-9]{4}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


class CodeConvertor(Convertor[str]):
    """A unit's code in a path: no control character (a NUL is no page here, not a database error)."""

    regex = r"[^/\x00-\x1f\x7f]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("year", YearConvertor())
register_url_convertor("code", CodeConvertor())


class LoginRequired(Exception):
    """No one is logged in (or the session ended): go to the login page, and come back after."""

    def __init__(self, back: str, expired: bool = False) -> None:
        super().__init__(back)
        self.back = back
        self.expired = expired


class Forbidden(Exception):
    """The person may not see this page or do this (403, with why)."""


def describe_error(exc: BaseException) -> str:
    """A failure as one clear sentence for the page (never a traceback)."""
    if isinstance(
        exc, UserError | DataFileError | SheetError | TransitionNotAllowed | ConcurrentChange | AuditConflict
    ):
        return str(exc)
    if isinstance(exc, IntegrityError):
        return "Cơ sở dữ liệu từ chối thay đổi vì trùng với dữ liệu đã có; tải lại trang để xem việc đã được làm chưa."
    if isinstance(exc, OperationalError | DBAPIError):
        detail = str(getattr(exc, "orig", exc)).strip().splitlines()
        return f"Lỗi cơ sở dữ liệu: {detail[0] if detail else type(exc).__name__}"
    log.error("unexpected failure", exc_info=exc)
    return f"Lỗi không mong đợi ({type(exc).__name__}); chi tiết ở nhật ký của máy chủ."


class SecurityHeaders:
    """Adds the security headers to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + SECURITY_HEADERS
            await send(message)

        await self.app(scope, receive, with_headers)


class Dashboard:
    """The routes and what they share: the database, the settings, the clock, the templates, the jobs."""

    def __init__(self, database_url: str | None, settings: DashboardSettings, clock: Callable[[], datetime]) -> None:
        self.database_url = database_url
        self.settings = settings
        self.clock = clock
        self.timezone = get_settings().timezone
        self.jobs = JobRunner(clock, describe_error)
        self.templates = Environment(
            loader=FileSystemLoader(str(HERE / "templates")),
            autoescape=select_autoescape(enabled_extensions=("html",), default=True),
            undefined=StrictUndefined,
        )
        self.templates.filters["cell"] = lambda value: cell_text(value, self.timezone)
        self.templates.filters["kind"] = _cell_class
        self.templates.filters["when"] = lambda value: cell_text(value, self.timezone)

    # --- sessions ---------------------------------------------------------------------------------

    def csrf(self, request: Request) -> str:
        token = request.session.get("csrf")
        if not isinstance(token, str):
            token = request.session["csrf"] = secrets.token_urlsafe(32)
        return token

    async def form(self, request: Request) -> FormData:
        """The posted form, once its CSRF token is the session's (else 403)."""
        form = await request.form()
        sent = form.get("csrf_token")
        expected = request.session.get("csrf")
        if not isinstance(sent, str) or not isinstance(expected, str) or not secrets.compare_digest(sent, expected):
            raise Forbidden(
                "Biểu mẫu không hợp lệ hoặc đã cũ (thiếu mã chống giả mạo CSRF). Hãy tải lại trang và thử lại."
            )
        _refuse_unreadable(form.multi_items())
        return form

    def user(self, request: Request) -> Actor | None:
        """Who is logged in, if anyone; a session that is too old or idle, or whose password changed, ends."""
        session = request.session
        code = session.get("user")
        if not isinstance(code, str):
            return None
        moment = self.clock().timestamp()
        idle = self.settings.session_idle_minutes * 60
        longest = self.settings.session_max_hours * 3600
        if moment - float(session.get("seen_at", 0)) > idle or moment - float(session.get("login_at", 0)) > longest:
            self._expire(request)
        with read_session(get_engine(self.database_url)) as db:
            try:
                actor = resolve_actor(db, code)
            except UnknownActor:
                self._expire(request)
            login = login_of(db, actor)
        if login is None or login[2].isoformat() != session.get("password_set_at"):
            self._expire(request)
        session["seen_at"] = moment
        return actor

    def _expire(self, request: Request) -> NoReturn:
        request.session.clear()
        raise LoginRequired(_back(request), expired=True)

    def require(self, request: Request) -> Actor:
        actor = self.user(request)
        if actor is None:
            raise LoginRequired(_back(request))
        return actor

    def require_all(self, request: Request) -> Actor:
        """Someone who sees the whole cycle (the authority's staff)."""
        actor = self.require(request)
        if not access.sees_all(actor):
            raise Forbidden(
                f"{actor.name} chỉ xem được trang của đơn vị mình ({actor.unit_code}); trang này dành cho bộ phận "
                "điều phối, thẩm định và lãnh đạo cơ quan."
            )
        return actor

    def flash(self, request: Request, kind: str, text: str) -> None:
        request.session["flash"] = [kind, text]

    # --- rendering --------------------------------------------------------------------------------

    def render(self, request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        actor: Actor | None = context.pop("user", None)
        years = context.pop("years", None)
        flash = request.session.pop("flash", None)
        page = {
            "user": actor,
            "sees_all": actor is not None and access.sees_all(actor),
            "roles": access.role_text(actor) if actor else "",
            "csrf": self.csrf(request),
            "flash": flash,
            "years": years or [],
            "nav_year": context.get("year") or (years[0] if years else None),
            "export": lambda fmt, key: _export_link(request, fmt, key),
            "job": None,
            "job_labels": JOB_LABELS,
            **context,
        }
        return HTMLResponse(self.templates.get_template(template).render(**page), status_code=status)

    def message(self, request: Request, title: str, text: str, status: int, user: Actor | None = None) -> HTMLResponse:
        return self.render(request, "message.html", status, title=title, text=text, http_status=status, user=user)

    def export(self, request: Request, tables: Sequence[Table], name: str) -> Response | None:
        """The export a page was asked for (`?format=csv|xlsx&table=KEY`), or None to show the page."""
        fmt = request.query_params.get("format")
        if not fmt:
            return None
        key = request.query_params.get("table")
        chosen = [t for t in tables if t.key == key] if key else list(tables)
        if not chosen:
            raise UserError(f"không có bảng {key!r} trên trang này")
        if fmt == "csv":
            table = chosen[0]
            return Response(
                to_csv(table, self.timezone),
                media_type="text/csv; charset=utf-8",
                headers={"content-disposition": _attachment(f"{name}-{table.key}.csv")},
            )
        if fmt == "xlsx":
            suffix = f"-{chosen[0].key}" if key else ""
            return Response(
                to_xlsx(chosen, self.timezone),
                media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                headers={"content-disposition": _attachment(f"{name}{suffix}.xlsx")},
            )
        raise UserError(f"không xuất được dạng {fmt!r}: chọn csv hoặc xlsx")

    def job_of(self, request: Request, actor: Actor) -> Job | None:
        job_id = request.query_params.get("job")
        job = self.jobs.get(job_id) if job_id else None
        return job if job is not None and (job.owner == actor.code or access.sees_all(actor)) else None

    # --- pages ------------------------------------------------------------------------------------

    def home(self, request: Request) -> Response:
        actor = self.require(request)
        years = views.cycle_years(self.database_url)
        if not years:
            return self.message(request, "Chưa có kỳ đánh giá", "Chưa có kỳ đánh giá nào được mở.", 404, actor)
        if access.sees_all(actor):
            return RedirectResponse(f"/cycles/{years[0]}", 303)
        return RedirectResponse(f"/cycles/{years[0]}/units/{actor.unit_code}", 303)

    def overview(self, request: Request) -> Response:
        year = int(request.path_params["year"])
        actor = self.require(request)
        if not access.sees_all(actor):  # a unit's people: their own unit's page
            return RedirectResponse(f"/cycles/{year}/units/{actor.unit_code}", 303)
        view = views.overview(self.database_url, year, self.clock(), every_row="format" in request.query_params)
        exported = self.export(request, view.tables, f"tong-quan-{view.year}")
        if exported is not None:
            return exported
        return self.render(
            request,
            "overview.html",
            user=actor,
            year=view.year,
            years=views.cycle_years(self.database_url),
            view=view,
            chart=Markup(view.chart) if view.chart else None,
            tables={t.key: t for t in view.tables},
            may_sweep=access.may_sweep(actor),
            may_run=access.may_run_flows(actor),
            job=self.job_of(request, actor),
        )

    def unit(self, request: Request) -> Response:
        year, code = int(request.path_params["year"]), str(request.path_params["code"])
        actor = self.require(request)
        if not access.may_view_unit(actor, code):
            raise Forbidden(
                f"{actor.name} ({actor.code}) chỉ xem được trang của đơn vị mình"
                + (f" ({actor.unit_code})" if actor.unit_code else "")
                + f", không xem được trang của {code}."
            )
        view = views.unit_page(self.database_url, year, code, self.timezone)
        exported = self.export(request, view.tables, f"don-vi-{code}-{year}")
        if exported is not None:
            return exported
        return self.render(
            request,
            "unit.html",
            user=actor,
            year=view.year,
            view=view,
            tables={t.key: t for t in view.tables},
            may_run=access.may_run_flows(actor),
            job=self.job_of(request, actor),
        )

    def unit_link(self, request: Request) -> Response:
        """The link of the e-mails (`/units/CODE?year=YYYY`): the unit's page."""
        code = str(request.path_params["code"])
        year = request.query_params.get("year")
        if year is None or not year.isdigit():
            years = views.cycle_years(self.database_url)
            year = str(years[0]) if years else "0"
        return RedirectResponse(f"/cycles/{year}/units/{code}", 303)

    def ranking(self, request: Request) -> Response:
        year = int(request.path_params["year"])
        actor = self.require(request)
        raw = request.query_params.get("version", "")
        version = int(raw) if raw.isdigit() else None
        try:
            if version is not None and version > MAX_VERSION:
                raise UserError(f"no version {version}")
            view = views.ranking_view(self.database_url, year, version)
        except UserError:
            which = f"lần công bố {version}" if version else "kết quả công bố"
            return self.message(request, "Chưa có kết quả công bố", f"Kỳ {year} không có {which}.", 404, actor)
        exported = self.export(request, view.tables, f"ket-qua-{year}-lan-{view.version}")
        if exported is not None:
            return exported
        return self.render(
            request,
            "ranking.html",
            user=actor,
            year=view.year,
            view=view,
            charts={g.code: [Markup(c) for c in g.charts] for g in view.groups},
        )

    def audit(self, request: Request) -> Response:
        actor = self.require_all(request)
        params = request.query_params
        _refuse_unreadable(params.multi_items())
        wanted = views.AuditFilter(
            unit=params.get("unit", "").strip(),
            actor=params.get("actor", "").strip(),
            trigger=params.get("trigger", "").strip(),
            start=_day(params.get("from", ""), "Từ ngày"),
            end=_day(params.get("to", ""), "Đến ngày"),
        )
        exporting = bool(params.get("format"))
        page_number = int(params["page"]) if params.get("page", "").isdigit() else 1
        found = views.audit_events(
            self.database_url, wanted, self.timezone, page_number, None if exporting else views.PAGE_SIZE
        )
        exported = self.export(request, [found.table], "nhat-ky")
        if exported is not None:
            return exported
        verification = None
        if request.url.path.endswith("/verify"):
            from cchc.flows.auditlog import verify_chain

            verification = verify_chain(self.database_url)
        return self.render(
            request,
            "audit.html",
            user=actor,
            years=views.cycle_years(self.database_url),
            found=found,
            wanted=wanted,
            raw={k: params.get(k, "") for k in ("unit", "actor", "trigger", "from", "to")},
            triggers=[(t, views.trigger_label(t)) for t in views.audit_triggers(self.database_url)],
            pages=_pages(request, found.page, found.pages),
            verification=verification,
        )

    # --- logging in and out -----------------------------------------------------------------------

    def login_page(self, request: Request) -> Response:
        return self.render(
            request,
            "login.html",
            back=_safe_back(request.query_params.get("next", "/")),
            expired=request.query_params.get("expired") == "1",
            error=None,
            username="",
        )

    async def login(self, request: Request) -> Response:
        form = await self.form(request)
        username = str(form.get("username", "")).strip()
        back = _safe_back(str(form.get("next", "/")))
        done = await run_in_threadpool(authenticate, self.database_url, username, str(form.get("password", "")))
        if done is None:
            return self.render(
                request,
                "login.html",
                401,
                back=back,
                expired=False,
                error="Sai tên đăng nhập hoặc mật khẩu.",
                username=username,
            )
        moment = self.clock().timestamp()
        request.session.clear()  # a new session (and a new CSRF token) at each login
        request.session.update(
            {
                "user": done.actor.code,
                "login_at": moment,
                "seen_at": moment,
                "password_set_at": done.password_set_at.isoformat(),
                "csrf": secrets.token_urlsafe(32),
            }
        )
        return RedirectResponse(back, 303)

    async def logout(self, request: Request) -> Response:
        await self.form(request)
        request.session.clear()
        return RedirectResponse("/login", 303)

    # --- actions ----------------------------------------------------------------------------------

    async def _actor_for_action(self, request: Request) -> tuple[FormData, Actor]:
        form = await self.form(request)
        actor = await run_in_threadpool(self.require, request)
        return form, actor

    async def sweep(self, request: Request) -> Response:
        year = int(request.path_params["year"])
        _, actor = await self._actor_for_action(request)
        if not access.may_sweep(actor):
            raise Forbidden(f"Chỉ bộ phận điều phối chạy rà soát hạn; {actor.name} không thuộc bộ phận điều phối.")
        at = self.clock()
        job = self.jobs.submit(
            "sweep", "Rà soát hạn: nhắc và đôn đốc", actor.code, lambda: run_sweep(self.database_url, year, actor, at)
        )
        return RedirectResponse(f"/cycles/{year}?job={job.id}", 303)

    async def appraise(self, request: Request) -> Response:
        year = int(request.path_params["year"])
        form, actor = await self._actor_for_action(request)
        if not access.may_run_flows(actor):
            raise Forbidden(f"{actor.name} không có vai trò thẩm định hay điều phối.")
        unit = str(form.get("unit", "")).strip()
        at = self.clock()
        job = self.jobs.submit(
            "appraise",
            f"Thẩm định lại {unit}" if unit else "Thẩm định các đơn vị đang chờ",
            actor.code,
            lambda: run_appraisal(self.database_url, year, unit, actor, at),
        )
        back = f"/cycles/{year}/units/{unit}" if unit else f"/cycles/{year}"
        return RedirectResponse(f"{back}?job={job.id}", 303)

    async def publish(self, request: Request) -> Response:
        year = int(request.path_params["year"])
        form, actor = await self._actor_for_action(request)
        if not access.may_run_flows(actor):
            raise Forbidden(f"{actor.name} không có vai trò công bố kết quả.")
        reason = str(form.get("reason", "")).strip()
        at = self.clock()
        job = self.jobs.submit(
            "publish",
            "Công bố kết quả",
            actor.code,
            lambda: run_publication(self.database_url, year, reason, actor, at),
        )
        return RedirectResponse(f"/cycles/{year}?job={job.id}", 303)

    async def supplement(self, request: Request) -> Response:
        year, code = int(request.path_params["year"]), str(request.path_params["code"])
        form, actor = await self._actor_for_action(request)
        if not access.may_run_flows(actor):
            raise Forbidden(f"{actor.name} không có vai trò thẩm định.")
        try:
            text = await run_in_threadpool(
                request_supplement,
                self.database_url,
                year,
                code,
                actor,
                str(form.get("note", "")),
                str(form.get("criteria", "")),
                str(form.get("due", "")),
                self.clock(),
            )
            self.flash(request, "ok", text)
        except Exception as exc:  # noqa: BLE001 - the edge: a refusal is one message on the page
            self.flash(request, "error", describe_error(exc))
        return RedirectResponse(f"/cycles/{year}/units/{code}", 303)

    def job(self, request: Request) -> Response:
        actor = self.require(request)
        job = self.jobs.get(str(request.path_params["job_id"]))
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
                "started_at": cell_text(job.started_at, self.timezone) if job.started_at else None,
                "finished_at": cell_text(job.finished_at, self.timezone) if job.finished_at else None,
            }
        )

    # --- a head's signing link --------------------------------------------------------------------

    def sign_page(self, request: Request) -> Response:
        token = str(request.path_params["token"])
        actor = self.user(request)
        try:
            doc = commitment_by_link(self.database_url, token, self.clock())
        except UserError as exc:
            return self.message(request, "Liên kết ký không dùng được", str(exc), 404, actor)
        return self.render(request, "sign.html", user=actor, doc=doc, token=token, done=None, error=None)

    async def sign(self, request: Request) -> Response:
        token = str(request.path_params["token"])
        await self.form(request)
        actor = await run_in_threadpool(self.user, request)
        from cchc.flows.commitments import sign

        try:
            doc = await run_in_threadpool(commitment_by_link, self.database_url, token, self.clock())
            done = await run_in_threadpool(
                lambda: sign(self.database_url, None, actor.code if actor else None, token=token, at=self.clock())
            )
        except Exception as exc:  # noqa: BLE001 - the edge: a refusal is one message on the page
            return self.message(request, "Chưa ký được", describe_error(exc), 400, actor)
        return self.render(request, "sign.html", user=actor, doc=doc, token=token, done=done, error=None)

    # --- the application --------------------------------------------------------------------------

    def routes(self) -> list[Route | Mount]:
        return [
            Route("/", self.home, name="home"),
            Route("/login", self.login_page, methods=["GET"]),
            Route("/login", self.login, methods=["POST"]),
            Route("/logout", self.logout, methods=["POST"]),
            Route("/cycles/{year:year}", self.overview),
            Route("/cycles/{year:year}/ranking", self.ranking),
            Route("/cycles/{year:year}/units/{code:code}", self.unit),
            Route("/cycles/{year:year}/sweep", self.sweep, methods=["POST"]),
            Route("/cycles/{year:year}/appraise", self.appraise, methods=["POST"]),
            Route("/cycles/{year:year}/publish", self.publish, methods=["POST"]),
            Route("/cycles/{year:year}/units/{code:code}/supplement", self.supplement, methods=["POST"]),
            Route("/units/{code:code}", self.unit_link),
            Route("/audit", self.audit),
            Route("/audit/verify", self.audit),
            Route("/jobs/{job_id}", self.job),
            Route("/sign/{token}", self.sign_page, methods=["GET"]),
            Route("/sign/{token}", self.sign, methods=["POST"]),
            Route("/commitments/sign/{token}", self.sign_page, methods=["GET"]),  # the link of the e-mails
            Route("/commitments/sign/{token}", self.sign, methods=["POST"]),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ]

    def handlers(self) -> dict[Any, Callable[..., Any]]:
        def login_required(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, LoginRequired)
            query = {"next": exc.back, **({"expired": "1"} if exc.expired else {})}
            return RedirectResponse(f"/login?{urlencode(query)}", 303)

        def forbidden(request: Request, exc: Exception) -> Response:
            return self.render(
                request, "message.html", 403, title="Không có quyền truy cập", text=str(exc), http_status=403, user=None
            )

        def refused(request: Request, exc: Exception) -> Response:
            return self.message(request, "Không tìm thấy hoặc không làm được", str(exc), 404)

        def http_error(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, HTTPException)
            texts = {404: "Không có trang này.", 405: "Trang này không nhận yêu cầu kiểu này."}
            return self.message(request, "Lỗi", texts.get(exc.status_code, str(exc.detail)), exc.status_code)

        def unexpected(request: Request, exc: Exception) -> Response:
            return HTMLResponse(
                "<!doctype html><html lang=vi><meta charset=utf-8><title>Lỗi</title><main id=error>"
                f"<h1>Lỗi</h1><p>{Markup.escape(describe_error(exc))}</p></main></html>",
                status_code=500,
            )

        return {
            LoginRequired: login_required,
            Forbidden: forbidden,
            UserError: refused,
            HTTPException: http_error,
            Exception: unexpected,
        }


def create_app(
    database_url: str | None = None,
    *,
    settings: DashboardSettings | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Starlette:
    """The dashboard for a database (the configured one by default). `clock` gives "now" to the sessions,
    the pages and the actions (tests move it)."""
    settings = settings or DashboardSettings()
    engine_for(database_url)  # refuse a database that is missing or not initialised, before serving
    dashboard = Dashboard(database_url, settings, clock or now)
    app = Starlette(
        routes=dashboard.routes(),
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(
                SessionMiddleware,
                secret_key=secret_key(settings),
                session_cookie=COOKIE,
                max_age=int(settings.session_max_hours * 3600),
                same_site="lax",
                https_only=get_settings().public_url.startswith("https://"),
            ),
        ],
        exception_handlers=dashboard.handlers(),
        max_body_size=MAX_BODY,
    )
    app.state.dashboard = dashboard
    return app


def settle() -> None:
    """Once the server has started: move the objects made so far (Prefect's and the app's modules, some
    200,000) out of the cyclic garbage collector's way, so that a collection during a large page does not
    scan them all again (measured: the overview of 10,000 units in 0,47 s instead of 0,64–1,16 s)."""
    gc.collect()
    gc.freeze()


def serve(database_url: str | None, host: str, port: int) -> None:
    """Run the dashboard with uvicorn (`cchc dashboard`)."""
    import uvicorn

    app = create_app(database_url)
    settle()
    uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False)


# --- the work the actions do ------------------------------------------------------------------------


def run_sweep(database_url: str | None, year: int, actor: Actor, at: datetime) -> str:
    """The deadline sweep (the flow), then who ran it and what it did, in the audit trail."""
    from cchc.flows.params import SweepParams
    from cchc.flows.sweep import sweep_flow
    from cchc.models.audit import EventDraft, append
    from cchc.models.db import write_session

    summary = sweep_flow(SweepParams(year=year, database_url=database_url, at=at, actor=actor.code))
    with write_session(engine_for(database_url)) as session:
        append(
            session,
            [
                EventDraft(
                    kind="deadline",
                    trigger="sweep",
                    actor=actor.code,
                    at=at,
                    cycle_year=summary.year,
                    reason="rà soát hạn chạy từ bảng điều khiển",
                    payload={
                        "as_of": summary.as_of,
                        "items": summary.items,
                        "steps": len(summary.lines),
                        "messages": summary.messages,
                    },
                )
            ],
        )
    return (
        f"Rà soát kỳ {summary.year} tính đến {cell_text(summary.as_of, get_settings().timezone)}: "
        f"{summary.items} việc còn mở, {len(summary.lines)} bước nhắc hạn/đôn đốc mới, "
        f"{summary.messages} thư được xếp gửi."
    )


def run_appraisal(database_url: str | None, year: int, unit: str, actor: Actor, at: datetime) -> str:
    from cchc.flows.appraisal import appraise_flow
    from cchc.flows.params import AppraiseParams

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
    from cchc.flows.params import PublishParams
    from cchc.flows.publication import publish_flow

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
    from zoneinfo import ZoneInfo

    from cchc.flows.selfassessment import change_units
    from cchc.models.calendar import OutOfRange, parse_local_instant

    codes = [c.strip() for c in criteria.replace(";", ",").split(",") if c.strip()]
    try:
        due_at = parse_local_instant(due.strip(), ZoneInfo(get_settings().timezone)) if due.strip() else None
    except OutOfRange as exc:
        raise UserError(f"Hạn {due!r}: {exc}") from None
    except ValueError:
        raise UserError(f"Hạn {due!r} không phải là ngày (viết 08/09/2021 hoặc 08/09/2021 17:00)") from None
    summary = change_units(
        database_url,
        year,
        "request_supplement",
        [unit],
        actor.code,
        at,
        reason=note.strip(),
        criteria=codes,
        due=due_at,
    )
    if summary.refused:
        raise UserError("; ".join(summary.refused))
    return f"Đã yêu cầu {unit} bổ sung, giải trình; đơn vị được báo qua thư điện tử."


@dataclass
class LinkedCommitment:
    unit: str
    name: str
    year: int
    counterpart: str
    state: str
    doc_version: int
    sha256: str
    document: str  # the HTML of the exact document to sign


def commitment_by_link(database_url: str | None, token: str, at: datetime) -> LinkedCommitment:
    """The commitment a signing link is for (the link is not used up by looking)."""
    from cchc.flows.commitments import _by_token, document
    from cchc.models.tables import Cycle, OrgUnit

    with read_session(get_engine(database_url)) as session:
        commitment = _by_token(session, token, at)
        unit = session.get(OrgUnit, commitment.unit_id)
        cycle = session.get(Cycle, commitment.cycle_id)
        assert unit is not None and cycle is not None
        found = LinkedCommitment(
            unit.code,
            unit.name,
            cycle.year,
            commitment.counterpart_label,
            commitment.state,
            commitment.doc_version,
            commitment.docx_sha256,
            "",
        )
    _, html = document(database_url, found.year, found.unit, ".html")
    found.document = html.decode("utf-8")
    return found


# --- small helpers ----------------------------------------------------------------------------------


def _cell_class(value: Cell) -> str:
    """How a cell is laid out: numbers to the right, long texts wrapped, the rest on one line."""
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return "n"
    return "long" if isinstance(value, str) and len(value) > 40 else "short"


def _back(request: Request) -> str:
    """Where to come back to after logging in: this page (a GET), else the home page."""
    if request.method != "GET":
        return "/"
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def _attachment(name: str) -> str:
    """A download's header: the file name in plain letters, digits, dots and dashes."""
    return f'attachment; filename="{re.sub(r"[^A-Za-z0-9._-]+", "-", name)}"'


def _safe_back(value: str) -> str:
    """Only a path of this site (never another site's address)."""
    return value if value.startswith("/") and not value.startswith("//") and "\\" not in value else "/"


def _export_link(request: Request, fmt: str, key: str) -> str:
    params = {k: v for k, v in request.query_params.items() if k not in ("job", "page", "format", "table")}
    params.update({"format": fmt, "table": key})
    return f"{request.url.path}?{urlencode(params)}"


def _pages(request: Request, page: int, pages: int) -> list[tuple[str, str | None]]:
    """Page links: (label, href or None for the current page)."""
    params = {k: v for k, v in request.query_params.items() if k != "page"}
    wanted = sorted({1, page - 2, page - 1, page, page + 1, page + 2, pages} & set(range(1, pages + 1)))
    links: list[tuple[str, str | None]] = []
    for n in wanted:
        links.append((str(n), None if n == page else f"{request.url.path}?{urlencode({**params, 'page': n})}"))
    return links


def _day(text: str, label: str) -> Any:
    from cchc.models.calendar import EARLIEST, LATEST, parse_local_date

    if not text.strip():
        return None
    try:
        day = parse_local_date(text)
    except ValueError:
        raise UserError(f"{label}: {text!r} không phải là ngày (viết 31/08/2021)") from None
    if not EARLIEST <= day.year <= LATEST:
        raise UserError(f"{label}: {text!r} không nằm trong các năm {EARLIEST}–{LATEST}")
    return day


def _refuse_unreadable(fields: Sequence[tuple[str, Any]]) -> None:
    """A 400 naming the first field that is a file where text is wanted, or holds a control character (a NUL
    cannot even be stored in PostgreSQL); tabs and line breaks are text."""
    for name, value in fields:
        if not isinstance(value, str):
            raise HTTPException(400, f"Trường {name!r} nhận chữ, không nhận tệp.")
        bad = next((c for c in value if c < " " and c not in "\t\r\n" or c == "\x7f"), None)
        if bad is not None:
            raise HTTPException(400, f"Trường {name!r} có ký tự điều khiển {bad!r}; hãy gõ lại nội dung.")
