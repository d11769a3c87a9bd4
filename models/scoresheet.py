"""Reading a score table (CSV): every problem is found before anything is written, each reported with
the file, line and column at fault. Pure: the caller supplies what the units and frameworks allow."""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from models.framework import SubCriterion
from models.scoring import measured_points, parse_metric
from models.text import nfc, parse_decimal
from models.types import to_hundredths

NOT_APPLICABLE = {"kad", "n/a", "na", "không áp dụng", "khong ap dung", "not applicable"}
MAX_PROBLEMS = 50
CENT = Decimal("0.01")

COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "unit": ("unit", "đơn vị", "don vi", "mã đơn vị"),
    "criterion": ("criterion", "tiêu chí", "tieu chi", "mã tiêu chí", "stt"),
    "score": ("score", "điểm tự đánh giá", "diem tu danh gia", "điểm", "điểm thẩm định"),
    "evidence": ("evidence", "tài liệu kiểm chứng", "tai lieu kiem chung"),
    "note": ("note", "ghi chú", "ghi chu", "nhận xét"),
    "metric": ("metric", "số liệu", "so lieu"),
}


class SheetError(Exception):
    """The table cannot be taken: `problems` are sentences, each naming where."""

    def __init__(self, problems: list[str], total: int | None = None) -> None:
        self.problems = problems
        self.total = total if total is not None else len(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        shown = "\n".join(f"  - {p}" for p in self.problems)
        more = f"\n  … and {self.total - len(self.problems)} more" if self.total > len(self.problems) else ""
        head = "1 problem" if self.total == 1 else f"{self.total} problems"
        return f"{head}; nothing was written:\n{shown}{more}"


@dataclass(frozen=True)
class UnitSlot:
    """What an import may do to one unit's assessment."""

    assessment_id: int
    framework_id: int
    state: str
    open_criteria: frozenset[str] | None = None  # None = every sub-criterion may be entered
    refusal: str | None = None  # why this import may not touch the unit at all


@dataclass(frozen=True)
class SubSlot:
    criterion_id: int
    sub: SubCriterion


@dataclass(slots=True)
class ScoreRow:
    assessment_id: int
    criterion_id: int
    unit: str
    code: str
    points: int | None  # hundredths; None when not applicable
    not_applicable: bool
    metric: str | None
    evidence: str
    note: str
    line: int


@dataclass
class Sheet:
    name: str = ""
    rows: list[ScoreRow] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    problem_count: int = 0

    def problem(self, message: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(message)

    def at(self, line: int, column: str | None = None) -> str:
        return f"{self.name} line {line}" + (f", column {column}" if column else "")


def open_table(path: Path) -> tuple[list[str], Any]:
    """The header and the rows of a CSV file (UTF-8, comma or semicolon separated), NFC throughout."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SheetError([f"{path}: no such file"]) from None
    except OSError as exc:
        raise SheetError([f"{path}: cannot be read ({exc.strerror})"]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SheetError([f"{path} line {line}: is not UTF-8 text (save the sheet as 'CSV UTF-8')"]) from None
    if "\x00" in text:
        raise SheetError([f"{path}: is not a CSV text file"])
    # One NFC pass over the whole text equals NFC per cell: separators and line breaks never combine.
    text = unicodedata.normalize("NFC", text)
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise SheetError([f"{path}: is empty (expected a header line: unit,criterion,score,evidence,note)"]) from None
    except csv.Error as exc:
        raise SheetError([f"{path} line 1: {exc}"]) from None
    return header, reader


def map_columns(path: Path, header: list[str], required: tuple[str, ...], optional: tuple[str, ...]) -> dict[str, int]:
    """Column positions by canonical name, from English or Vietnamese headers."""
    names = [nfc(h).lower() for h in header]
    columns: dict[str, int] = {}
    problems: list[str] = []
    for canonical_name in required + optional:
        hits = [i for i, n in enumerate(names) if n in COLUMN_ALIASES[canonical_name]]
        if len(hits) > 1:
            problems.append(f"{path} line 1: column {canonical_name!r} appears {len(hits)} times")
        elif hits:
            columns[canonical_name] = hits[0]
        elif canonical_name in required:
            problems.append(
                f"{path} line 1: no {canonical_name!r} column (the header should have {', '.join(required)}"
                + (f" and optionally {', '.join(optional)})" if optional else ")")
            )
    if problems:
        raise SheetError(problems)
    return columns


def iter_self_assessment(
    path: Path,
    units: Mapping[str, UnitSlot],
    subs: Mapping[int, Mapping[str, SubSlot]],
    sheet: Sheet,
) -> Iterator[ScoreRow]:
    """The good rows of a self-assessment CSV (unit, criterion, score, evidence, note[, metric]), as they
    are read; every problem is recorded in `sheet`. The caller writes nothing if any problem is found."""
    header, reader = open_table(path)
    cols = map_columns(path, header, ("unit", "criterion", "score"), ("evidence", "note", "metric"))
    sheet.name = path.name
    iu, ic, isc = cols["unit"], cols["criterion"], cols["score"]
    ie, inote, im = cols.get("evidence"), cols.get("note"), cols.get("metric")
    width = max(cols.values()) + 1
    seen: set[int] = set()
    empty = True
    try:
        for record in reader:
            if len(record) < width:
                if not any(cell.strip() for cell in record):
                    continue
                record = record + [""] * (width - len(record))
            line = reader.line_num
            unit_code, code = record[iu].strip(), record[ic].strip()
            if not unit_code and not code and not any(cell.strip() for cell in record):
                continue
            empty = False
            slot = units.get(unit_code)
            if slot is None:
                sheet.problem(
                    f"{sheet.at(line, 'unit')}: {unit_code!r} is not a unit of this cycle"
                    if unit_code
                    else f"{sheet.at(line, 'unit')}: is empty"
                )
                continue
            if slot.refusal:
                sheet.problem(f"{sheet.at(line, 'unit')}: {slot.refusal}")
                continue
            sub_slot = subs[slot.framework_id].get(code)
            if sub_slot is None:
                sheet.problem(
                    f"{sheet.at(line, 'criterion')}: {code!r} is not a sub-criterion of {unit_code}'s framework"
                    if code
                    else f"{sheet.at(line, 'criterion')}: is empty"
                )
                continue
            if slot.open_criteria is not None and code not in slot.open_criteria:
                sheet.problem(
                    f"{sheet.at(line, 'criterion')}: {unit_code} may only supplement "
                    f"{', '.join(sorted(slot.open_criteria))} now (the appraiser's request)"
                )
                continue
            key = (slot.assessment_id << 32) | sub_slot.criterion_id
            if key in seen:
                sheet.problem(f"{sheet.at(line)}: {unit_code} {code} appears a second time")
                continue
            seen.add(key)
            row = _score_row(
                sheet,
                line,
                slot,
                sub_slot,
                unit_code,
                code,
                record[isc].strip(),
                record[im].strip() if im is not None else "",
                " ".join(record[ie].split()) if ie is not None else "",
                record[inote].strip() if inote is not None else "",
            )
            if row is not None:
                yield row
    except csv.Error as exc:
        sheet.problem(f"{sheet.at(reader.line_num)}: {exc}")
    if empty and not sheet.problem_count:
        sheet.problem(f"{sheet.name}: has a header but no rows")


def read_self_assessment(
    path: Path,
    units: Mapping[str, UnitSlot],
    subs: Mapping[int, Mapping[str, SubSlot]],
) -> Sheet:
    """Parse and check a whole self-assessment CSV into memory (rows and problems)."""
    sheet = Sheet()
    sheet.rows = list(iter_self_assessment(path, units, subs, sheet))
    return sheet


def _score_row(
    sheet: Sheet,
    line: int,
    slot: UnitSlot,
    sub_slot: SubSlot,
    unit_code: str,
    code: str,
    score_text: str,
    metric_text: str,
    evidence: str,
    note: str,
) -> ScoreRow | None:
    sub = sub_slot.sub
    if score_text.lower() in NOT_APPLICABLE:
        if not note:
            sheet.problem(f"{sheet.at(line, 'note')}: {code} is marked not applicable; say why in the note (Ghi chú)")
            return None
        return ScoreRow(
            slot.assessment_id, sub_slot.criterion_id, unit_code, code, None, True, None, evidence, note, line
        )
    points: Decimal | None = None
    metric: str | None = None
    if sub.measured:
        assert sub.metric is not None
        if not metric_text:
            example = "45/200" if sub.metric.kind == "ratio" else "3"
            sheet.problem(
                f"{sheet.at(line, 'metric')}: {code} is measured ({sub.metric.label or sub.metric.kind}); "
                f"give the figure, e.g. {example}"
            )
            return None
        try:
            value = parse_metric(metric_text, sub.metric.kind)
        except ValueError as exc:
            sheet.problem(f"{sheet.at(line, 'metric')}: {exc}")
            return None
        metric = str(value)
        points = measured_points(sub, value)
    if score_text:
        try:
            declared = parse_decimal(score_text)
        except ValueError:
            sheet.problem(f"{sheet.at(line, 'score')}: {score_text!r} is not a number")
            return None
        if declared < 0 or declared > sub.max_points:
            sheet.problem(f"{sheet.at(line, 'score')}: {score_text} is outside 0..{sub.max_points} for {code}")
            return None
        if declared != declared.quantize(CENT):
            sheet.problem(f"{sheet.at(line, 'score')}: {score_text} has more than two decimals")
            return None
        if points is not None and declared != points:
            sheet.problem(
                f"{sheet.at(line, 'score')}: {score_text} does not match the metric {metric}, which gives "
                f"{points} (leave the score empty for a measured sub-criterion)"
            )
            return None
        points = declared
    if points is None:
        sheet.problem(
            f"{sheet.at(line, 'score')}: {code} has no score (write 0..{sub.max_points}, or KAD when it "
            "does not apply, with a note)"
        )
        return None
    return ScoreRow(
        slot.assessment_id,
        sub_slot.criterion_id,
        unit_code,
        code,
        to_hundredths(points),
        False,
        metric,
        evidence,
        note,
        line,
    )


@dataclass
class AppraiserRow:
    assessment_id: int
    criterion_id: int
    unit: str
    code: str
    points: int  # hundredths
    note: str


def read_appraiser_scores(
    path: Path,
    units: Mapping[str, UnitSlot],
    subs: Mapping[int, Mapping[str, SubSlot]],
) -> tuple[list[AppraiserRow], list[str], int]:
    """Parse an appraiser's own scores (unit, criterion, score, note): rows, problems, problem count."""
    header, reader = open_table(path)
    cols = map_columns(path, header, ("unit", "criterion", "score"), ("note",))
    sheet = Sheet()
    rows: list[AppraiserRow] = []
    seen: set[tuple[int, int]] = set()
    width = max(cols.values()) + 1
    try:
        for record in reader:
            if not any(c.strip() for c in record):
                continue
            record = record + [""] * (width - len(record))
            where = f"{path.name} line {reader.line_num}"
            unit_code, code = nfc(record[cols["unit"]]), nfc(record[cols["criterion"]])
            score_text = nfc(record[cols["score"]])
            note = nfc(record[cols["note"]]) if "note" in cols else ""
            slot = units.get(unit_code)
            if slot is None:
                sheet.problem(f"{where}, column unit: {unit_code!r} is not a unit waiting for appraisal")
                continue
            if slot.refusal:
                sheet.problem(f"{where}, column unit: {slot.refusal}")
                continue
            sub_slot = subs[slot.framework_id].get(code)
            if sub_slot is None:
                sheet.problem(f"{where}, column criterion: {code!r} is not a sub-criterion of {unit_code}'s framework")
                continue
            if (slot.assessment_id, sub_slot.criterion_id) in seen:
                sheet.problem(f"{where}: {unit_code} {code} appears a second time")
                continue
            seen.add((slot.assessment_id, sub_slot.criterion_id))
            try:
                value = parse_decimal(score_text)
            except ValueError:
                sheet.problem(f"{where}, column score: {score_text!r} is not a number")
                continue
            if value < 0 or value > sub_slot.sub.max_points or value != value.quantize(Decimal("0.01")):
                sheet.problem(
                    f"{where}, column score: {score_text} is not a score of 0..{sub_slot.sub.max_points} "
                    "with at most two decimals"
                )
                continue
            if not note:
                sheet.problem(f"{where}, column note: say why the appraised score differs (the unit will read it)")
                continue
            rows.append(
                AppraiserRow(slot.assessment_id, sub_slot.criterion_id, unit_code, code, to_hundredths(value), note)
            )
    except csv.Error as exc:
        sheet.problem(f"{path.name} line {reader.line_num}: {exc}")
    return rows, sheet.problems, sheet.problem_count
