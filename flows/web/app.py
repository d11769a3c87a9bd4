"""The dashboard's web application: Starlette, server-rendered Jinja2 pages, a signed session cookie. This
module puts it together (the routes, the failure pages, the middleware); each page is a module of its own.

- Logins: a person's code or e-mail and their password (`cchc login set`), through a login throttle; a
  session is a row of the database (the cookie carries its random id) and ends after 30 minutes without a
  request, 8 hours after the login, or at once in every web process when it is revoked: at logout, when
  the password changes, or by a coordinator (the accounts page).
- Every POST form carries the session's CSRF token in a hidden field; a POST without it is refused (403).
- The authority's staff see the whole cycle; everyone else sees their own unit only (access.py).
- Pages: the overview of a cycle, a unit (scores per field, evidence, timeline), the published ranking, the
  audit trail (search, chain verification), a head's signing link. Every table exports as CSV or xlsx
  (`?format=csv|xlsx&table=KEY`).
- Actions call the flows (which check roles and audit): long ones run as background jobs whose progress
  the page polls at `/jobs/{id}`.
"""

from __future__ import annotations

import gc
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from functools import partial
from typing import Any
from urllib.parse import urlencode

import anyio.to_thread
import uvicorn
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.convertors import Convertor, register_url_convertor
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cchc.flows.runtime import engine_for, now, stop_temporary_server
from cchc.flows.web import accounts, actions, audit, grid, login, overview, ranking, signing, unit, workspace
from cchc.flows.web.dashboard import COOKIE, HERE, Dashboard, Forbidden, LoginRequired, describe_error
from cchc.flows.web.settings import DashboardSettings, secret_key
from cchc.models.errors import UserError
from cchc.models.i18n import speaking

MAX_BODY = 1024 * 1024


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


class Language:
    """Every request speaks the dashboard's language (models/i18n.py): the refusals the flows raise read in
    Vietnamese unless the settings say English."""

    def __init__(self, app: ASGIApp, language: str | None) -> None:
        self.app = app
        self.language = language

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with speaking(self.language):
            await self.app(scope, receive, send)


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


def routes(upload_limit: int = 21 * 1_048_576) -> list[Route | Mount]:
    """Every page and action: its address, its method, and the module that serves it. A form that carries a
    file may be `upload_limit` bytes long; any other, MAX_BODY."""
    unit_path = "/cycles/{year:year}/units/{code:code}"
    return [
        Route("/", workspace.home, name="home"),
        Route("/login", login.page, methods=["GET"]),
        Route("/login", login.login, methods=["POST"]),
        Route("/logout", login.logout, methods=["POST"]),
        # accounts: invitations and password resets (flows/web/accounts.py)
        Route("/invite/{token}", accounts.invitation_page, methods=["GET"]),
        Route("/invite/{token}", accounts.choose_password, methods=["POST"]),
        Route("/forgot", accounts.forgot_page, methods=["GET"]),
        Route("/forgot", accounts.forgot, methods=["POST"]),
        Route("/people", accounts.people_page, methods=["GET"]),
        Route("/people/invite", accounts.invite_people, methods=["POST"]),
        Route("/people/sessions", accounts.end_sessions, methods=["POST"]),
        Route("/cycles/{year:year}", overview.page),
        Route("/cycles/{year:year}/ranking", ranking.page),
        Route("/cycles/{year:year}/units/{code:code}", unit.page),
        # the unit's workspace: its self-assessment grid, evidence files, workbook, submit and withdraw
        Route(f"{unit_path}/self-assessment", grid.page),
        Route(f"{unit_path}/self-assessment", grid.save, methods=["POST"]),
        Route(f"{unit_path}/self-assessment/{{trigger}}", grid.move, methods=["POST"]),
        Route(f"{unit_path}/evidence", grid.upload, methods=["POST"], max_body_size=upload_limit),
        Route(f"{unit_path}/files/{{sha256:code}}", grid.file),
        Route(f"{unit_path}/workbook", grid.workbook),
        Route(f"{unit_path}/documents", grid.documents, methods=["POST"], max_body_size=upload_limit),
        Route(f"{unit_path}/documents/{{sha256:code}}", grid.document_file),
        Route(f"{unit_path}/contributors", grid.contributors, methods=["POST"]),
        Route(f"{unit_path}/workbook", grid.upload_workbook, methods=["POST"], max_body_size=upload_limit),
        # the appraiser's workspace
        Route(f"{unit_path}/appraisal", workspace.appraisal_page),
        Route(f"{unit_path}/appraisal", workspace.appraisal_save, methods=["POST"]),
        Route(f"{unit_path}/appraisal/finish", workspace.appraisal_finish, methods=["POST"]),
        Route(f"{unit_path}/appraisal/supplement", workspace.appraisal_supplement, methods=["POST"]),
        Route("/cycles/{year:year}/sweep", actions.sweep, methods=["POST"]),
        Route("/cycles/{year:year}/appraise", actions.appraise, methods=["POST"]),
        Route("/cycles/{year:year}/publish", actions.publish, methods=["POST"]),
        Route("/cycles/{year:year}/units/{code:code}/supplement", actions.supplement, methods=["POST"]),
        Route("/units/{code:code}", unit.link),
        Route("/audit", audit.page),
        Route("/audit/verify", audit.page),
        Route("/jobs/{job_id}", actions.job),
        Route("/sign/{token}", signing.page, methods=["GET"]),
        Route("/sign/{token}", signing.sign, methods=["POST"]),
        Route("/commitments/sign/{token}", signing.page, methods=["GET"]),  # the link of the e-mails
        Route("/commitments/sign/{token}", signing.sign, methods=["POST"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]


def handlers() -> dict[Any, Callable[..., Any]]:
    """How each failure becomes a page: a login, a 403 or 404 with why, never a traceback."""

    def login_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        query = {"next": exc.back, **({"expired": "1"} if exc.expired else {})}
        return RedirectResponse(f"/login?{urlencode(query)}", 303)

    def forbidden(request: Request, exc: Exception) -> Response:
        return Dashboard.of(request).render(
            request, "message.html", 403, title="Không có quyền truy cập", text=str(exc), http_status=403, user=None
        )

    def refused(request: Request, exc: Exception) -> Response:
        return Dashboard.of(request).message(request, "Không tìm thấy hoặc không làm được", str(exc), 404)

    def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        texts = {404: "Không có trang này.", 405: "Trang này không nhận yêu cầu kiểu này."}
        return Dashboard.of(request).message(
            request, "Lỗi", texts.get(exc.status_code, str(exc.detail)), exc.status_code
        )

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
        routes=routes((settings.upload_max_mib + 1) * 1_048_576),
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(Language, language=settings.language),
            Middleware(
                SessionMiddleware,
                secret_key=secret_key(settings),
                session_cookie=COOKIE,
                max_age=int(settings.session_max_hours * 3600),
                same_site="lax",
                https_only=settings.cookie_secure,
            ),
        ],
        exception_handlers=handlers(),
        max_body_size=MAX_BODY,
        lifespan=partial(_lifespan, settings.threads),
    )
    app.state.dashboard = dashboard
    return app


@asynccontextmanager
async def _lifespan(threads: int, app: Starlette) -> AsyncIterator[None]:
    """While the app serves: the pages' database work runs in at most `threads` threads of this process
    (Starlette's default is 40). Python runs one thread at a time, so 40 threads on deadline day each wait
    for the others at every step, and a transaction holding the audit trail's head waits with them; a few
    threads and a queue in front of them answer each request sooner (the rush bench measures it).

    When it stops (SIGTERM or Ctrl-C): the job that is running finishes (the queued ones are dropped), then
    the temporary Prefect server that the jobs' flows started is stopped. uvicorn ends a process stopped by
    SIGTERM without running its atexit hooks, where Prefect would have stopped it (flows/runtime.py)."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = threads
    try:
        yield
    finally:
        dashboard = getattr(app.state, "dashboard", None)
        if dashboard is not None:
            await anyio.to_thread.run_sync(dashboard.jobs.shutdown)
        await anyio.to_thread.run_sync(stop_temporary_server)


def settle() -> None:
    """Once the server has started: move the objects made so far (Prefect's and the app's modules, some
    200,000) out of the cyclic garbage collector's way, so that a collection during a large page does not
    scan them all again (measured: the overview of 10,000 units in 0,47 s instead of 0,64–1,16 s)."""
    gc.collect()
    gc.freeze()


def app_from_env() -> Starlette:
    """The dashboard of the configured database (`CCHC_DATABASE_URL`), built by each of uvicorn's worker
    processes (`cchc dashboard --workers N`)."""
    app = create_app()
    settle()
    return app


def serve(database_url: str | None, host: str, port: int, workers: int = 1) -> None:
    """Run the dashboard with uvicorn (`cchc dashboard`), in `workers` processes. Each worker builds its own
    app from the settings, so a `database_url` given here is handed to them as `CCHC_DATABASE_URL`; the
    database is checked and the session key made once, before any worker starts (they all share it)."""
    if workers > 1:
        engine_for(database_url)
        secret_key(DashboardSettings())
        if database_url:
            os.environ["CCHC_DATABASE_URL"] = database_url
        uvicorn.run(
            "cchc.flows.web.app:app_from_env",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_level="warning",
            server_header=False,
        )
        return
    app = create_app(database_url)
    settle()
    uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False)
