"""A head's signing link (/commitments/sign/TOKEN): the exact document to sign, and signing it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from cchc.flows.signing import by_token, document
from cchc.flows.signing import sign as sign_commitment
from cchc.flows.web.dashboard import Dashboard, describe_error
from cchc.models.db import get_engine, read_session
from cchc.models.errors import UserError
from cchc.models.tables import Cycle, OrgUnit


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

    with read_session(get_engine(database_url)) as session:
        commitment = by_token(session, token, at)
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


def page(request: Request) -> Response:
    d = Dashboard.of(request)
    token = str(request.path_params["token"])
    actor = d.user(request)
    try:
        doc = commitment_by_link(d.database_url, token, d.clock())
    except UserError as exc:
        return d.message(request, "Liên kết ký không dùng được", str(exc), 404, actor)
    return d.render(request, "sign.html", user=actor, doc=doc, token=token, done=None, error=None)


async def sign(request: Request) -> Response:
    d = Dashboard.of(request)
    token = str(request.path_params["token"])
    await d.form(request)
    actor = await run_in_threadpool(d.user, request)

    try:
        doc = await run_in_threadpool(commitment_by_link, d.database_url, token, d.clock())
        done = await run_in_threadpool(
            lambda: sign_commitment(d.database_url, None, actor.code if actor else None, token=token, at=d.clock())
        )
    except Exception as exc:  # noqa: BLE001 - the edge: a refusal is one message on the page
        return d.message(request, "Chưa ký được", describe_error(exc), 400, actor)
    return d.render(request, "sign.html", user=actor, doc=doc, token=token, done=done, error=None)
