"""Deterministic synthetic self-assessments: the demo's units and the benchmarks' thousands of units."""

from __future__ import annotations

import csv
import random
import zlib
from collections.abc import Iterable, Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from cchc.models.framework import FrameworkDef, SubCriterion
from cchc.models.org import GroupDef, OrgDef, PersonDef, UnitDef

STEP = Decimal("0.05")
HEADER = ["unit", "criterion", "score", "evidence", "note", "metric"]
DOC_TYPES = ("KH", "CT", "TB", "BC", "QĐ")


def unit_rng(unit: str, salt: int = 2021) -> random.Random:
    """A random generator that depends only on the unit's code and a salt (stable across runs)."""
    return random.Random(zlib.crc32(unit.encode("utf-8")) ^ salt)


def _evidence(rng: random.Random, unit: str, year: int) -> str:
    """One of the unit's own documents: a unit cites its plans, reports and directives again and again
    (a pool of about forty documents a year), as the seeds' units do."""
    number = rng.randint(1, 40) * 6 - rng.randint(0, 1)
    doc_type = DOC_TYPES[number % len(DOC_TYPES)]
    issuer = unit.split("-")[0] if unit.startswith("CAH") else unit
    day, month = number % 28 + 1, number % 8 + 1
    return f"{number}/{doc_type}-{issuer} ngày {day:02d}/{month:02d}/{year}"


def _metric(sub: SubCriterion, quality: float, rng: random.Random) -> str:
    assert sub.metric is not None
    metric = sub.metric
    if sub.method == "count":
        assert metric.per_item is not None
        full = float(sub.max_points / metric.per_item)
        return str(max(0, round(full * min(1.0, quality + rng.uniform(-0.1, 0.15)))))
    total = rng.randint(60, 900)
    if sub.method == "threshold":
        assert metric.threshold is not None
        share = float(metric.threshold) * (1.3 if rng.random() < quality else 0.6)
    else:
        assert metric.target is not None
        share = float(metric.target) * min(1.0, quality + rng.uniform(-0.08, 0.05))
    return f"{min(total, round(total * share))}/{total}"


def unit_rows(
    framework: FrameworkDef,
    unit: str,
    quality: float,
    *,
    missing_evidence: float = 0.0,
    not_applicable: float = 0.0,
    optimism: float = 0.04,
    year: int = 2021,
) -> Iterator[list[str]]:
    """CSV rows (unit, criterion, score, evidence, note, metric) of one unit's self-assessment.

    `quality` (0..1) is how well the unit really did; units score themselves a little higher
    (`optimism`); some evidence is missing and some criteria do not apply, with a note."""
    rng = unit_rng(unit, framework.year)
    for sub in framework.subcriteria:
        if not sub.measured and rng.random() < not_applicable:
            yield [unit, sub.code, "KAD", "", "Không thuộc chức năng, nhiệm vụ của đơn vị", ""]
            continue
        evidence = "" if sub.evidence_required and rng.random() < missing_evidence else _evidence(rng, unit, year)
        if sub.measured:
            yield [unit, sub.code, "", evidence, "", _metric(sub, quality, rng)]
            continue
        share = min(1.0, quality + optimism + rng.uniform(-0.05, 0.05))
        score = (sub.max_points * Decimal(str(round(share, 4))) / STEP).to_integral_value(ROUND_HALF_UP) * STEP
        yield [unit, sub.code, str(min(score, sub.max_points)), evidence, "", ""]


def self_cells(row: list[str]) -> dict[str, object]:
    """One row of ``unit_rows`` as the cells a person types into the self-assessment workbook."""
    _unit, _code, score, evidence, note, metric = row
    return {
        "score": float(score) if score not in ("", "KAD") else None,
        "metric": metric or None,
        "not_applicable": "x" if score == "KAD" else None,
        "evidence": evidence or None,
        "note": note or None,
    }


def write_csv(path: Path, rows: Iterable[list[str]]) -> int:
    """Write rows under the standard header; returns how many rows were written."""
    count = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def unit_code(i: int) -> str:
    return f"CAH-{i:05d}"


def synthetic_org(units: int, *, unit_people: bool = False) -> OrgDef:
    """The authority, a team holding a coordinator ("coord") and an appraiser ("appr") that is not
    assessed, and `units` assessed districts in group cah (groups tthc and ktthc exist because the 2021
    calendar names them). With `unit_people`, each district has a head and a focal officer."""
    people = [
        PersonDef("coord", "Điều phối viên", "coord@bench.example", "PV01", ("coordinator",)),
        PersonDef("appr", "Thẩm định viên", "appr@bench.example", "PV01", ("appraiser",)),
        PersonDef("gd", "Giám đốc", "gd@bench.example", "CAT", ("head",)),
    ]
    if unit_people:
        for i in range(1, units + 1):
            code = unit_code(i)
            people.append(
                PersonDef(f"{code}.head", f"Trưởng Công an huyện {i}", f"h{i}@bench.example", code, ("head",))
            )
            people.append(PersonDef(f"{code}.focal", f"Cán bộ đầu mối {i}", f"f{i}@bench.example", code, ("focal",)))
    return OrgDef(
        code="CAT",
        name="Công an tỉnh (benchmark)",
        groups=(
            GroupDef("tthc", "Đơn vị có thủ tục hành chính"),
            GroupDef("ktthc", "Đơn vị không có thủ tục hành chính"),
            GroupDef("cah", "Công an cấp huyện"),
        ),
        units=(
            UnitDef("CAT", "Công an tỉnh", "authority", None, None),
            UnitDef("PV01", "Phòng Tham mưu (benchmark)", "team", "CAT", None),
            *(UnitDef(unit_code(i), f"Công an huyện {i}", "district", "CAT", "cah") for i in range(1, units + 1)),
        ),
        people=tuple(people),
    )
