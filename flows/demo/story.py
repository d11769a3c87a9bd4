"""The demo's story: who acts, how well each unit really did, who is late or weak, the simulated calendar
(Asia/Ho_Chi_Minh), and how a step is told on the terminal."""

from __future__ import annotations

import csv
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from rich.markup import escape

from cchc.flows.display import console

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
COORDINATOR = "pv01.coord1"
APPRAISER = "pv01.appr1"
OUTSIDE_APPRAISER = "px05.appr1"
DIRECTOR = "gd"

# How well each unit really did in 2021 (0..1), shaped like the Đắk Lắk figures in DOMAIN.md:
# tthc 5/6 Xuất sắc; ktthc 4 Xuất sắc, 17 Tốt, 2 Khá; cah 7 Xuất sắc, 8 Tốt.
QUALITY = {
    "tthc": [0.955, 0.95, 0.945, 0.94, 0.935, 0.88],
    "ktthc": [0.951, 0.945, 0.94, 0.935] + [0.915 - 0.004 * i for i in range(17)] + [0.83, 0.82],
    "cah": [0.951, 0.945, 0.94, 0.935, 0.93, 0.927, 0.925] + [0.915 - 0.007 * i for i in range(8)],
}
CONTRIBUTED = ("CAH-EHL", "CAH-EHL-X-EARAL", "5.1")  # a unit, the commune it assigns to, the criterion
CONTRIBUTOR = "ehl-x-earal.head"
NO_COMMITMENT = "PC11"  # its head does not sign online: chased, then signs on paper
NO_PLAN = ("PC11", "CAH-EHL")  # do not send their own plan on time (PC11 sends it late)
SWEEP_BEFORE = {"25/08/2021": "24/08/2021", "29/08/2021": "28/08/2021", "30/08/2021": "30/08/2021"}
ACCURATE = 0.85  # below this, units overrate themselves: the appraiser corrects them, no bonus B1
LATE = ("PA05", "PC11", "CAH-EHL")  # report after the deadline: no timeliness bonus
SUPPLEMENT = ("CAH-KNA", "PC03")  # asked for missing evidence
BREAKTHROUGH = ("CAH-CMG", "PC08", "PA02")  # bonus B2: breakthrough practices praised by the public
PENALISED = {"PK20": "P1", "CAH-MDR": "P2"}
POOR_FIELD = ("CAH-BHO", "3")  # weak in administrative procedures (field 3): owes a remediation plan


def at(day: str, time: str = "09:00") -> datetime:
    """A moment of the demo's simulated calendar, in Asia/Ho_Chi_Minh."""
    return datetime.strptime(f"{day} {time}", "%d/%m/%Y %H:%M").replace(tzinfo=TZ)


def step(text: str) -> None:
    console.print(f"[bold cyan]▸[/bold cyan] {escape(text)}", markup=True)


def appraiser_of(unit: str) -> str:
    """PV01's own staff may not judge PV01: the inspectorate's appraiser does."""
    return OUTSIDE_APPRAISER if unit == "PV01" else APPRAISER


def missing_evidence(rows: list[list[str]]) -> dict[str, list[str]]:
    missing: dict[str, list[str]] = {}
    for unit, code, score, evidence, *_ in rows:
        if score != "KAD" and not evidence:
            missing.setdefault(unit, []).append(code)
    return missing


def appraiser_overrides(path: Path, rows: list[list[str]], quality: dict[str, float]) -> None:
    """The appraiser lowers a few over-generous self-scores of the weaker units."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["unit", "criterion", "score", "note"])
        for unit, code, score, evidence, _note, metric in rows:
            if metric or score in ("", "KAD") or not evidence or quality[unit] >= ACCURATE:
                continue
            value = Decimal(score)
            if value >= Decimal("0.5") and code.endswith(".1"):
                writer.writerow(
                    [
                        unit,
                        code,
                        str(value - Decimal("0.25")),
                        "Tài liệu kiểm chứng chưa chứng minh đầy đủ kết quả",
                    ]
                )
