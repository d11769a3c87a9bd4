"""How a failure becomes one sentence for a person: the one place where the command line, the dashboard
(its pages and its background jobs) and the flows turn an exception into what is shown.

A domain exception (a UserError, cchc.models.errors) carries its own sentence: a refused move names the unit
and the reason, a bad file names the line and the column. A failure of the database or of the system gets
one here; anything else is unexpected, and the edge says where its details are (`--debug`, the server's log).
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from cchc.models.errors import UserError


def expected(exc: BaseException) -> bool:
    """Whether the failure is one a person can read and act on (else its details belong in a log)."""
    return isinstance(exc, UserError | DBAPIError) or (isinstance(exc, OSError) and bool(exc.strerror))


def describe(exc: BaseException, *, details: str) -> str:
    """The failure as one sentence, never a traceback. `details` says where an unexpected failure's details
    are (e.g. "chạy lại với --debug để xem chi tiết")."""
    if isinstance(exc, UserError):
        return str(exc)
    if isinstance(exc, IntegrityError):
        return (
            "Cơ sở dữ liệu từ chối thay đổi vì trùng với dữ liệu đã có: việc này có thể vừa được làm; xem lại rồi "
            "thử lại."
        )
    if isinstance(exc, OperationalError | DBAPIError):
        detail = str(getattr(exc, "orig", exc)).strip().splitlines()
        return f"Lỗi cơ sở dữ liệu: {detail[0] if detail else type(exc).__name__}"
    if isinstance(exc, OSError) and exc.strerror:  # a file the system refused: which, and why
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror.lower()}"
    return f"Lỗi không mong đợi ({type(exc).__name__}: {exc}); {details}."
