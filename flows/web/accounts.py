"""Accounts: the link of an invitation or a password reset (/invite/TOKEN: choose a password, then in),
"forgot password" (/forgot), and the coordinators' people page (/people: who has a login, invite them).
The rules and the writing are flows/accounts.py's; this module reads the forms and shows the answers."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from cchc.flows.accounts import (
    Invited,
    Link,
    LinkRefused,
    accounts,
    invite,
    open_link,
    redeem,
    request_reset,
    revoke_sessions,
    start_session,
)
from cchc.flows.passwords import WeakPassword
from cchc.flows.web.auth import MIN_PASSWORD, check_password, hasher
from cchc.flows.web.dashboard import Dashboard, Forbidden
from cchc.models.errors import UserError
from cchc.models.i18n import tr, trn
from cchc.models.people import Actor
from cchc.states.permissions import Action, refusal

FORGOT_ANSWER = (
    "Nếu tài khoản tồn tại, một thư hướng dẫn đã được gửi tới địa chỉ thư điện tử của tài khoản đó; "
    "liên kết trong thư chỉ dùng được một lần."
)
STATE_LABELS = {"open": "chưa dùng", "used": "đã dùng", "expired": "đã hết hạn", "revoked": "đã thay bằng thư mới"}
PURPOSE_LABELS = {"invite": "thư mời", "reset": "đặt lại mật khẩu"}


def _refused(request: Request, d: Dashboard, exc: LinkRefused, actor: Actor | None) -> Response:
    return d.message(request, "Liên kết không dùng được", str(exc), 410 if exc.gone else 404, actor)


def invitation_page(request: Request) -> Response:
    d = Dashboard.of(request)
    token = str(request.path_params["token"])
    try:
        link = open_link(d.database_url, token, d.clock())
    except LinkRefused as exc:
        return _refused(request, d, exc, None)
    return _form(request, d, link, None)


def _form(request: Request, d: Dashboard, link: Link, error: str | None, status: int = 200) -> Response:
    return d.render(
        request,
        "invite.html",
        status,
        link=link,
        token=str(request.path_params["token"]),
        error=error,
        min_password=MIN_PASSWORD,
        purposes=PURPOSE_LABELS,
    )


async def choose_password(request: Request) -> Response:
    d = Dashboard.of(request)
    token = str(request.path_params["token"])
    form = await d.form(request)
    at = d.clock()
    try:
        link = await run_in_threadpool(open_link, d.database_url, token, at)
    except LinkRefused as exc:
        return _refused(request, d, exc, None)
    password, again = str(form.get("password", "")), str(form.get("password2", ""))
    if password != again:
        return _form(request, d, link, "Hai lần nhập mật khẩu không giống nhau.", 400)
    try:
        text = await run_in_threadpool(check_password, password, (link.code, link.email, link.name))
    except WeakPassword as exc:
        if exc.reason != "short":
            return _form(request, d, link, str(exc), 400)
        return _form(
            request, d, link, f"Mật khẩu cần ít nhất {MIN_PASSWORD} ký tự (không kể khoảng trắng đầu, cuối).", 400
        )
    digest = await run_in_threadpool(hasher().hash, text)
    try:
        done = await run_in_threadpool(redeem, d.database_url, token, digest, at)
    except LinkRefused as exc:
        return _refused(request, d, exc, None)
    session = await run_in_threadpool(
        start_session, d.database_url, done.person_id, d.address(request), d.user_agent(request), at
    )
    d.start(request, session, done.code)  # the new password's session (redeem ended every older one)
    d.flash(request, "ok", f"Đã đặt mật khẩu. Chào đồng chí {done.name}: lần sau hãy đăng nhập bằng mã {done.code}.")
    return RedirectResponse("/", 303)


def forgot_page(request: Request) -> Response:
    d = Dashboard.of(request)
    return d.render(request, "forgot.html", answer=None, username="")


async def forgot(request: Request) -> Response:
    d = Dashboard.of(request)
    form = await d.form(request)
    username = str(form.get("username", ""))
    await run_in_threadpool(
        lambda: request_reset(d.database_url, username, days=d.settings.invitation_days, at=d.clock())
    )
    return d.render(request, "forgot.html", answer=FORGOT_ANSWER, username="")


def _coordinator(request: Request, d: Dashboard) -> Actor:
    actor = d.require(request)
    reason = refusal(Action.invite_people, actor, d.clock())
    if reason:
        raise Forbidden(reason)
    return actor


def people_page(request: Request) -> Response:
    d = Dashboard.of(request)
    actor = _coordinator(request, d)
    rows = accounts(d.database_url, actor.code, d.clock(), d.session_limits)
    units = sorted({(r.unit_code, r.unit_name) for r in rows})
    return d.render(
        request,
        "people.html",
        user=actor,
        rows=rows,
        units=units,
        without_login=sum(not r.has_login for r in rows),
        states=STATE_LABELS,
        purposes=PURPOSE_LABELS,
    )


async def invite_people(request: Request) -> Response:
    d = Dashboard.of(request)
    form = await d.form(request)
    actor = await run_in_threadpool(_coordinator, request, d)
    person = str(form.get("person", "")).strip() or None
    unit = str(form.get("unit", "")).strip() or None
    everyone = str(form.get("all", "")) == "1"
    if sum((person is not None, unit is not None, everyone)) != 1:
        d.flash(request, "error", "Chọn một người, một đơn vị, hoặc mọi người chưa có tài khoản.")
        return RedirectResponse("/people", 303)
    try:
        done: Invited = await run_in_threadpool(
            lambda: invite(
                d.database_url,
                actor.code,
                days=d.settings.invitation_days,
                person=person,
                unit=unit,
                everyone=everyone,
                at=d.clock(),
            )
        )
    except UserError as exc:
        d.flash(request, "error", f"Chưa gửi được thư mời: {exc}")
        return RedirectResponse("/people", 303)
    text = f"Đã gửi thư mời cho {len(done.sent)} người."
    if done.skipped:
        text += f" Không gửi cho {len(done.skipped)} người chưa có địa chỉ thư điện tử."
    d.flash(request, "ok", text)
    return RedirectResponse("/people", 303)


async def end_sessions(request: Request) -> Response:
    """A coordinator ends every dashboard session of a person (a lost telephone, a shared computer): at once,
    in every web process; audited."""
    d = Dashboard.of(request)
    form = await d.form(request)
    actor = await run_in_threadpool(_coordinator, request, d)
    person = str(form.get("person", "")).strip()
    if not person:
        d.flash(request, "error", tr("Name the person whose sessions are to end."))
        return RedirectResponse("/people", 303)
    try:
        ended = await run_in_threadpool(revoke_sessions, d.database_url, actor.code, person, d.clock())
    except UserError as exc:
        d.flash(request, "error", str(exc))
        return RedirectResponse("/people", 303)
    d.flash(
        request,
        "ok",
        trn(
            "Ended {n} session of {person}: they log in again with their password.",
            "Ended {n} sessions of {person}: they log in again with their password.",
            ended,
            person=person,
        ),
    )
    return RedirectResponse("/people", 303)
