"""Logging in and out (a person's code or e-mail and password; a new session and CSRF token at each login)."""

from __future__ import annotations

import secrets

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from cchc.flows.web.auth import authenticate
from cchc.flows.web.dashboard import Dashboard, _safe_back


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
    done = await run_in_threadpool(authenticate, d.database_url, username, str(form.get("password", "")))
    if done is None:
        return d.render(
            request,
            "login.html",
            401,
            back=back,
            expired=False,
            error="Sai tên đăng nhập hoặc mật khẩu.",
            username=username,
        )
    moment = d.clock().timestamp()
    d.forget(done.actor.code)  # who they are now, not who they were when last seen
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


async def logout(request: Request) -> Response:
    d = Dashboard.of(request)
    await d.form(request)
    request.session.clear()
    return RedirectResponse("/login", 303)
