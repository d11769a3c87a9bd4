"""Reports to print and send: the published ranking, and the progress report for leadership (quarterly,
6-monthly, yearly or on demand), each as an Excel workbook or as one self-contained HTML page.

Reading reuses the queries that own the figures (`ranking_report`, `cycle_status`, the sweep's
`chase_items`) and adds two set-based ones (the units' field results; the chasing steps sent). Rendering
is pure: numbers stay exact decimals (numbers with a two-decimal format in the workbook, 94,75 in the
page), times are shown in the configured zone, and the same data give the same page byte for byte.
Writing is atomic: a report is written to a temporary file next to its target, then moved into place.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cchc.flows.inputs import target_file
from cchc.flows.reports.html import progress_html, ranking_html
from cchc.flows.reports.progress import read_progress
from cchc.flows.reports.ranking import read_ranking_document
from cchc.flows.reports.xlsx import progress_xlsx, ranking_xlsx
from cchc.models.errors import UserError

SUFFIXES = (".xlsx", ".html")


@dataclass
class Written:
    path: Path
    summary: str


def report_format(path: Path) -> str:
    """The format the file's suffix asks for (xlsx or html), or a UserError naming the file, before any work."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise UserError(f"{path}: a report is written as .xlsx (Excel) or .html (a web page); give another name")
    target_file(path)
    return suffix[1:]


def write_atomically(path: Path, data: bytes) -> None:
    """Write a file whole or not at all: a temporary file in the same directory, then renamed over it."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name[:60]}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def write_ranking(database_url: str | None, year: int | None, version: int | None, path: Path) -> Written:
    kind = report_format(path)
    doc = read_ranking_document(database_url, year, version)
    data = ranking_xlsx(doc) if kind == "xlsx" else ranking_html(doc).encode("utf-8")
    write_atomically(path, data)
    units = sum(g.stats.count for g in doc.report.groups)
    return Written(
        path,
        f"Chỉ số CCHC năm {doc.report.year}, công bố lần {doc.report.version}: "
        f"{len(doc.report.groups)} nhóm, {units} đơn vị",
    )


def write_progress(
    database_url: str | None, year: int | None, period: str, path: Path, at: datetime | None = None
) -> Written:
    kind = report_format(path)
    report = read_progress(database_url, year, period, at)
    data = progress_xlsx(report) if kind == "xlsx" else progress_html(report).encode("utf-8")
    write_atomically(path, data)
    return Written(
        path,
        f"{report.title} (đến {report.as_of_text}): {len(report.overdue)} việc quá hạn, "
        f"{len(report.escalated)} việc đã đôn đốc sau hạn, {len(report.late)} đơn vị báo cáo muộn",
    )
