"""Logging in and out (a person's code or e-mail and password; a new session and CSRF token at each login).

A login passes the throttle first (flows/accounts.py: counted per account and per address in the database,
refused unchecked while locked out, the right password too), then its password is checked; a wrong one is
audited, a right one opens a session row whose random id the cookie carries. Logout revokes that row, so a
copy of the cookie opens nothing afterwards."""

from __future__ import annotations

from datetime import datetime
from math import ceil

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from cchc.flows.accounts import LoginLocked, begin_login, end_session, log_in, login_failed
from cchc.flows.web.auth import authenticate
from cchc.flows.web.dashboard import SID, Dashboard, _safe_back

WRONG = "Sai tên đăng nhập hoặc mật khẩu."


def page(request: Request) -> Response:
    d = Dashboard.of(request)
    return d.render(
        request,
        "login.html",
        back=_safe_back(request.query_params.get("next", "/")),
        expired=request.query_params.get("expired") == "1",
        error=None,
        username="",
    )


async def login(request: Request) -> Response:
    d = Dashboard.of(request)
    form = await d.form(request)
    username = str(form.get("username", "")).strip()
    back = _safe_back(str(form.get("next", "/")))
    at = d.clock()
    address, agent = d.address(request), d.user_agent(request)
    try:
        attempt = await run_in_threadpool(begin_login, d.database_url, username, address, agent, at, d.login_limits)
    except LoginLocked as exc:
        return _refused(request, d, 429, back, username, str(exc), exc.until, at)
    done = await run_in_threadpool(authenticate, d.database_url, username, str(form.get("password", "")))
    if done is None or done.actor.person_id is None:
        locked = await run_in_threadpool(login_failed, d.database_url, attempt, at, d.login_limits)
        if locked is None:
            return _refused(request, d, 401, back, username, WRONG)
        return _refused(request, d, 401, back, username, f"{WRONG} {LoginLocked(locked)}", locked, at)
    token = await run_in_threadpool(log_in, d.database_url, attempt, done.actor.person_id, at)
    d.start(request, token, done.actor.code)
    return RedirectResponse(back, 303)


def _refused(
    request: Request,
    d: Dashboard,
    status: int,
    back: str,
    username: str,
    error: str,
    until: datetime | None = None,
    at: datetime | None = None,
) -> Response:
    answer = d.render(request, "login.html", status, back=back, expired=False, error=error, username=username)
    if until is not None and at is not None:
        answer.headers["retry-after"] = str(max(1, ceil((until - at).total_seconds())))
    return answer


async def logout(request: Request) -> Response:
    d = Dashboard.of(request)
    await d.form(request)
    token = request.session.get(SID)
    if isinstance(token, str):
        await run_in_threadpool(end_session, d.database_url, token, d.clock())
    request.session.clear()
    return RedirectResponse("/login", 303)
