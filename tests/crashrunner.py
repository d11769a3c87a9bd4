"""A fork server for the crash tests: it imports cchc once, then runs each job in a forked child that
kills itself with SIGKILL at the n-th *kill point* it passes — no cleanup, no `finally`, no flushing,
exactly what `kill -9` (or the OOM killer, or a pulled plug on the process) does.

Kill points are where a process can die between two effects that matter:
- sql      before every statement sent to the database (mid-transaction);
- commit   just before a transaction commits;
- commited just after a transaction has committed;
- file     before and after a file of the evidence/document store is written;
- smtp     before a message is handed to the SMTP server, and right after the server accepted it.

Protocol (one JSON object per line): the parent writes {"job": ..., "args": {...}, "env": {...},
"crash_at": n}; the runner answers {"killed": bool, "exit": code, "points": [labels passed],
"error": text}. `crash_at` 0 runs the job to its end and reports every point passed (the counting run).

The runner never runs a flow itself (a fork must not copy threads, and importing cchc starts none).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import traceback
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from cchc.config.settings import Settings  # noqa: E402
from cchc.flows.runtime import configure_prefect  # noqa: E402

configure_prefect(Settings(prefect_log_level="ERROR"))

import aiosmtplib  # noqa: E402
from sqlalchemy import event, text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

import cchc.flows.appraisal  # noqa: E402
import cchc.flows.commitments  # noqa: E402
import cchc.flows.cycle  # noqa: E402
import cchc.flows.notify  # noqa: E402
import cchc.flows.publication  # noqa: E402
import cchc.flows.signing  # noqa: E402
import cchc.flows.sweep  # noqa: E402
from cchc.config.settings import get_settings  # noqa: E402
from cchc.flows.params import (  # noqa: E402
    AppraiseParams,
    FlushParams,
    OpenCycleParams,
    PublishParams,
    SweepParams,
)
from cchc.flows.runtime import local_flow_runs  # noqa: E402
from cchc.models.db import get_engine, read_session  # noqa: E402
from cchc.models.store import FileStore  # noqa: E402


class Points:
    """The kill points passed in this process; dies at number `crash_at` (1-based)."""

    crash_at = 0
    passed: list[str] = []
    report = ""

    @classmethod
    def at(cls, label: str) -> None:
        cls.passed.append(label)
        if len(cls.passed) == cls.crash_at:
            with open(cls.report, "w", encoding="utf-8") as handle:  # what was passed, for the parent
                json.dump({"points": cls.passed}, handle)
            os.kill(os.getpid(), signal.SIGKILL)


def _install_points() -> None:
    event.listen(Engine, "before_cursor_execute", lambda *_: Points.at("sql"))
    event.listen(Engine, "commit", lambda *_: Points.at("commit"))
    event.listen(Session, "after_commit", lambda *_: Points.at("committed"))

    put = FileStore.put

    def put_with_points(self: FileStore, data: bytes, suffix: str = "") -> Any:
        Points.at("file")
        stored = put(self, data, suffix)
        Points.at("file")
        return stored

    FileStore.put = put_with_points  # type: ignore[method-assign]

    sendmail = aiosmtplib.SMTP.sendmail

    async def sendmail_with_points(self: aiosmtplib.SMTP, *args: Any, **kwargs: Any) -> Any:
        Points.at("smtp")
        reply = await sendmail(self, *args, **kwargs)
        Points.at("smtp-accepted")
        return reply

    aiosmtplib.SMTP.sendmail = sendmail_with_points  # type: ignore[method-assign]


def _when(text_: str) -> datetime:
    return datetime.fromisoformat(text_)


def _state(url: str, unit: str) -> str:
    with read_session(get_engine(url)) as session:
        sql = "SELECT c.state FROM commitment c JOIN unit u ON u.id = c.unit_id WHERE u.code = :u"
        return str(session.execute(text(sql), {"u": unit}).scalar_one())


def _sign(url: str, args: dict[str, Any]) -> None:
    """The heads sign top-down, each with the page of their commitment (a head whose signature went
    through before the crash sees it signed and is not asked again)."""
    at = _when(args["at"])
    for step, (unit, head) in enumerate(args["signers"]):
        if _state(url, unit) != "signed":
            cchc.flows.signing.sign(url, 2021, head, unit=unit, at=at + timedelta(hours=step))


JOBS: dict[str, Callable[[str, dict[str, Any]], object]] = {
    "open-cycle": lambda url, a: cchc.flows.cycle.open_cycle_flow(
        OpenCycleParams(year=2021, database_url=url, actor=a["actor"], at=_when(a["at"]))
    ),
    "sweep": lambda url, a: cchc.flows.sweep.sweep_flow(SweepParams(year=2021, database_url=url, at=_when(a["at"]))),
    "appraise": lambda url, a: cchc.flows.appraisal.appraise_flow(
        AppraiseParams(year=2021, database_url=url, actor=a["actor"], at=_when(a["at"]))
    ),
    "publish": lambda url, a: cchc.flows.publication.publish_flow(
        PublishParams(year=2021, database_url=url, actor=a["actor"], at=_when(a["at"]))
    ),
    "notify-flush": lambda url, a: cchc.flows.notify.flush_flow(
        FlushParams(database_url=url, at=_when(a["at"]), batch=a["batch"])
    ),
    "commitment-signing": _sign,
}


def _child(request: dict[str, Any], report: str) -> None:
    os.dup2(2, 1)  # the job's own output goes to the log; stdout carries the answers only
    os.environ.update(request.get("env", {}))
    get_settings.cache_clear()
    Points.crash_at = int(request.get("crash_at", 0))
    Points.report = report
    code = 0
    error = ""
    try:
        with local_flow_runs():
            JOBS[request["job"]](request["url"], request.get("args", {}))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which fails the test
        code, error = 1, "".join(traceback.format_exception(exc))[-4000:]
    with open(report, "w", encoding="utf-8") as handle:
        json.dump({"points": Points.passed, "error": error}, handle)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def serve() -> None:
    _install_points()
    for line in sys.stdin:
        request = json.loads(line)
        fd, report = tempfile.mkstemp(prefix="cchc-crash-", suffix=".json")
        os.close(fd)
        pid = os.fork()
        if pid == 0:
            _child(request, report)
        _, status = os.waitpid(pid, 0)
        killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        with open(report, encoding="utf-8") as handle:
            body = handle.read()
        os.unlink(report)
        result = json.loads(body) if body else {"points": [], "error": "the child wrote no report"}
        answer = {
            "killed": killed,
            "exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1,
            "points": result.get("points", []),
            "error": result.get("error", ""),
        }
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    serve()
