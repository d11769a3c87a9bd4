"""Reading a score table (CSV, or the exported .xlsx workbook): every problem is found before anything is
written, each reported with its place (`file line 12, column score`, or `file: Sheet!F12`). Pure: the
caller supplies what the units and frameworks allow."""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

from openpyxl.utils import get_column_letter

from cchc.models.errors import UserError
from cchc.models.evidence import BadReference, EvidenceRef, outside_window, parse_references
from cchc.models.framework import SubCriterion
from cchc.models.scoring import measured_points, parse_metric
from cchc.models.text import natural_key, nfc, parse_decimal
from cchc.models.types import to_hundredths
from cchc.models.workbook import WorkbookError, read_rows

NOT_APPLICABLE = {"kad", "n/a", "na", "không áp dụng", "khong ap dung", "not applicable"}
MARKED = {"x", "1", "có", "co", "yes", "true", "kad", "không áp dụng"}  # an "x" in the not-applicable column
MAX_PROBLEMS = 50
CENT = Decimal("0.01")

SELF_ALIASES: dict[str, tuple[str, ...]] = {
    "unit": ("unit", "đơn vị", "don vi", "mã đơn vị"),
    "criterion": ("criterion", "tiêu chí", "tieu chi", "mã tiêu chí"),
    "score": ("score", "điểm tự đánh giá", "diem tu danh gia", "điểm"),
    "evidence": ("evidence", "tài liệu kiểm chứng", "tai lieu kiem chung"),
    "note": ("note", "ghi chú", "ghi chu"),
    "metric": ("metric", "số liệu", "so lieu"),
    "not_applicable": ("not_applicable", "không áp dụng", "kad"),
}
APPRAISER_ALIASES: dict[str, tuple[str, ...]] = {
    "unit": SELF_ALIASES["unit"],
    "criterion": SELF_ALIASES["criterion"],
    "score": ("score", "điểm thẩm định", "diem tham dinh"),
    "note": ("note", "nhận xét", "nhận xét của thẩm định", "nhan xet"),
}


class SheetError(UserError):
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
    supplied_by: str = ""  # the unit (or contributor) whose rows these are


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
    refs: tuple[EvidenceRef, ...] = ()
    supplied_by: str = ""


@dataclass
class Table:
    """A table being read: a CSV file, or the first sheet of a workbook, from its header row on."""

    name: str
    columns: dict[str, int]
    rows: Iterator[tuple[int, list[str]]]
    sheet: str | None = None  # a workbook's sheet (its places are written Sheet!F12)

    @property
    def workbook(self) -> bool:
        return self.sheet is not None

    def at(self, row: int, column: str | None = None) -> str:
        if self.sheet is None:
            return f"{self.name} line {row}" + (f", column {column}" if column else "")
        if column in self.columns:
            return f"{self.name}: {self.sheet}!{get_column_letter(self.columns[column] + 1)}{row}"
        return f"{self.name}: {self.sheet} row {row}"


@dataclass
class Sheet:
    """The problems found while reading (the first 50, and how many in all)."""

    problems: list[str] = field(default_factory=list)
    problem_count: int = 0

    def problem(self, message: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(message)


def _columns(
    name: str,
    where: str,
    header: list[str],
    aliases: dict[str, tuple[str, ...]],
    required: tuple[str, ...],
    optional: tuple[str, ...],
) -> tuple[dict[str, int], list[str]]:
    names = [nfc(h).lower() for h in header]
    columns: dict[str, int] = {}
    problems: list[str] = []
    for key in required + optional:
        hits = [i for i, n in enumerate(names) if n in aliases[key]]
        if len(hits) > 1:
            problems.append(f"{where}: column {key!r} appears {len(hits)} times")
        elif hits:
            columns[key] = hits[0]
        elif key in required:
            problems.append(
                f"{where}: no {key!r} column (the header should have {', '.join(required)}"
                + (f" and optionally {', '.join(optional)})" if optional else ")")
            )
    return columns, problems


def open_table(
    path: Path,
    aliases: dict[str, tuple[str, ...]] = SELF_ALIASES,
    required: tuple[str, ...] = ("unit", "criterion", "score"),
    optional: tuple[str, ...] = ("evidence", "note", "metric", "not_applicable"),
) -> Table:
    """A CSV file (UTF-8, comma or semicolon separated) or an .xlsx workbook, NFC throughout, with the
    positions of its columns found from English or Vietnamese headers."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SheetError([f"{path}: no such file"]) from None
    except IsADirectoryError:
        raise SheetError([f"{path}: is a directory, not a file"]) from None
    except OSError as exc:
        raise SheetError([f"{path}: cannot be read ({exc.strerror})"]) from None
    if path.suffix.lower() in (".xlsx", ".xlsm") or raw[:2] == b"PK":
        return _workbook_table(path, raw, aliases, required, optional)
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
    columns, problems = _columns(path.name, f"{path} line 1", header, aliases, required, optional)
    if problems:
        raise SheetError(problems)

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            for record in reader:
                yield reader.line_num, record
        except csv.Error as exc:
            raise SheetError([f"{path.name} line {reader.line_num}: {exc}"]) from None

    return Table(path.name, columns, rows())


def _workbook_table(
    path: Path,
    raw: bytes,
    aliases: dict[str, tuple[str, ...]],
    required: tuple[str, ...],
    optional: tuple[str, ...],
) -> Table:
    try:
        sheet, rows = read_rows(raw, path.name)
    except WorkbookError as exc:
        raise SheetError([str(exc)]) from None
    for number, cells in rows:
        if number > 30:
            break
        columns, problems = _columns(path.name, "", [nfc(c) for c in cells], aliases, required, optional)
        if not problems:
            normalized = ((n, [nfc(c) for c in values]) for n, values in rows)
            return Table(path.name, columns, normalized, sheet=sheet)
    raise SheetError(
        [
            f"{path.name}: {sheet} has no header row with the columns {', '.join(required)} "
            "(a workbook exported by `cchc … export` has it on row 4)"
        ]
    )


def cell_of(record: list[str], columns: dict[str, int], key: str) -> str:
    index = columns.get(key)
    return record[index].strip() if index is not None and index < len(record) else ""


SELF_KEYS = ("unit", "criterion", "score", "metric", "evidence", "note", "not_applicable")


def _picker(columns: dict[str, int], keys: tuple[str, ...]) -> Callable[[list[str]], tuple[str, ...]]:
    """A function giving a record's cells for `keys` (stripped; "" for a column the table lacks)."""
    indexes = [columns.get(key) for key in keys]
    width = max(i for i in indexes if i is not None) + 1

    def pick(record: list[str]) -> tuple[str, ...]:
        if len(record) < width:
            record = record + [""] * (width - len(record))
        return tuple(record[i].strip() if i is not None else "" for i in indexes)

    return pick


def iter_self_assessment(
    table: Table,
    units: Mapping[str, UnitSlot],
    subs: Mapping[int, Mapping[str, SubSlot]],
    sheet: Sheet,
    window: tuple[date | None, date | None] = (None, None),
) -> Iterator[ScoreRow]:
    """The good rows of a self-assessment table (unit, criterion, score, evidence, note[, metric,
    not_applicable]) as they are read; every problem is recorded in `sheet`, named by its place.

    A workbook (one unit's exported sheet) must also keep every row it was given: a missing
    sub-criterion is a problem. A CSV may carry any part of a unit's scores."""
    pick = _picker(table.columns, SELF_KEYS)
    seen: set[int] = set()
    seen_codes: dict[str, set[str]] = {}
    empty = True
    for line, record in table.rows:
        cells = pick(record)
        unit_code, code = cells[0], cells[1]
        if not (unit_code and code) and not any(cell.strip() for cell in record):
            continue
        if table.workbook and not unit_code:
            continue  # a field or criterion heading of the workbook
        empty = False
        slot = units.get(unit_code)
        if slot is None:
            sheet.problem(
                f"{table.at(line, 'unit')}: {unit_code!r} is not a unit of this cycle"
                if unit_code
                else f"{table.at(line, 'unit')}: is empty"
            )
            continue
        if slot.refusal:
            sheet.problem(f"{table.at(line, 'unit')}: {slot.refusal}")
            continue
        sub_slot = subs[slot.framework_id].get(code)
        if sub_slot is None:
            sheet.problem(
                f"{table.at(line, 'criterion')}: {code!r} is not a sub-criterion of {unit_code}'s framework"
                if code
                else f"{table.at(line, 'criterion')}: is empty"
            )
            continue
        if slot.open_criteria is not None and code not in slot.open_criteria:
            sheet.problem(
                f"{table.at(line, 'criterion')}: {code} is not open to this import for {unit_code} (open now: "
                f"{', '.join(sorted(slot.open_criteria)) or 'none'})"
            )
            continue
        key = (slot.assessment_id << 32) | sub_slot.criterion_id
        if key in seen:
            sheet.problem(f"{table.at(line)}: {unit_code} {code} appears a second time")
            continue
        seen.add(key)
        if table.workbook:
            seen_codes.setdefault(unit_code, set()).add(code)
        row = _score_row(table, sheet, line, slot, sub_slot, unit_code, code, cells, window)
        if row is not None:
            yield row
    if table.workbook:
        for unit_code, codes in seen_codes.items():
            slot = units[unit_code]
            expected = slot.open_criteria if slot.open_criteria is not None else set(subs[slot.framework_id])
            missing = sorted(set(expected) - codes, key=natural_key)
            if missing:
                sheet.problem(
                    f"{table.name}: {table.sheet}: the rows of {unit_code} {', '.join(missing[:8])}"
                    + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
                    + " are missing (the workbook's rows were changed; export it again)"
                )
    if empty and not sheet.problem_count:
        sheet.problem(f"{table.name}: has a header but no rows")


def read_self_assessment(
    path: Path,
    units: Mapping[str, UnitSlot],
    subs: Mapping[int, Mapping[str, SubSlot]],
    window: tuple[date | None, date | None] = (None, None),
) -> tuple[list[ScoreRow], Sheet]:
    """Parse and check a whole self-assessment table into memory (rows and problems)."""
    sheet = Sheet()
    rows = list(iter_self_assessment(open_table(path), units, subs, sheet, window))
    return rows, sheet


@lru_cache(maxsize=65536)
def _evidence(cell: str, window: tuple[date | None, date | None]) -> tuple[tuple[EvidenceRef, ...], str]:
    """The references of an evidence cell, or what is wrong with them (units repeat cells: cached)."""
    try:
        refs = parse_references(cell)
    except BadReference as exc:
        return (), str(exc)
    late = outside_window(refs, *window)
    if late:
        start, end = window
        span = (f"{start:%d/%m/%Y}" if start else "…") + (f" – {end:%d/%m/%Y}" if end else " – …")
        return (), (
            f"{late[0].symbol} is dated {late[0].issued_on:%d/%m/%Y}, outside the cycle's evidence window ({span})"
        )
    return refs, ""


@lru_cache(maxsize=4096)
def _declared(score_text: str) -> tuple[Decimal, int | None]:
    """A typed score and its exact hundredths (None if finer than 0.01); ValueError if not a number.
    The same few scores are typed over and over: the answers are cached."""
    value = parse_decimal(score_text)
    try:
        exact = value == value.quantize(CENT)
    except InvalidOperation:  # far too large to have cents at all (1e+26): the range check refuses it
        exact = False
    return value, (to_hundredths(value) if exact else None)


def _score_row(
    table: Table,
    sheet: Sheet,
    line: int,
    slot: UnitSlot,
    sub_slot: SubSlot,
    unit_code: str,
    code: str,
    cells: tuple[str, ...],
    window: tuple[date | None, date | None],
) -> ScoreRow | None:
    score_text, metric_text, evidence, note = cells[2], cells[3], " ".join(cells[4].split()), cells[5]
    marked = cells[6].lower() in MARKED
    sub = sub_slot.sub
    refs: tuple[EvidenceRef, ...] = ()
    if evidence:
        refs, trouble = _evidence(evidence, window)
        if trouble:
            sheet.problem(f"{table.at(line, 'evidence')}: {trouble}")
            return None
    if marked or score_text.lower() in NOT_APPLICABLE:
        if not note:
            sheet.problem(f"{table.at(line, 'note')}: {code} is marked not applicable; say why in the note (Ghi chú)")
            return None
        return ScoreRow(
            slot.assessment_id,
            sub_slot.criterion_id,
            unit_code,
            code,
            None,
            True,
            None,
            evidence,
            note,
            line,
            refs,
            slot.supplied_by or unit_code,
        )
    points: Decimal | None = None
    metric: str | None = None
    if sub.measured:
        assert sub.metric is not None
        if not metric_text:
            example = "45/200" if sub.metric.kind == "ratio" else "3"
            sheet.problem(
                f"{table.at(line, 'metric')}: {code} is measured ({sub.metric.label or sub.metric.kind}); "
                f"give the figure, e.g. {example}"
            )
            return None
        try:
            value = parse_metric(metric_text, sub.metric.kind)
        except ValueError as exc:
            sheet.problem(f"{table.at(line, 'metric')}: {exc}")
            return None
        metric = str(value)
        points = measured_points(sub, value)
    hundredths: int | None = None
    if score_text:
        try:
            declared, hundredths = _declared(score_text)
        except ValueError:
            sheet.problem(f"{table.at(line, 'score')}: {score_text!r} is not a number")
            return None
        if declared < 0 or declared > sub.max_points:
            sheet.problem(f"{table.at(line, 'score')}: {score_text} is outside 0..{sub.max_points} for {code}")
            return None
        if hundredths is None:
            sheet.problem(f"{table.at(line, 'score')}: {score_text} has more than two decimals")
            return None
        if points is not None and declared != points:
            sheet.problem(
                f"{table.at(line, 'score')}: {score_text} does not match the metric {metric}, which gives "
                f"{points} (leave the score empty for a measured sub-criterion)"
            )
            return None
        points = declared
    if points is None:
        sheet.problem(
            f"{table.at(line, 'score')}: {code} has no score (write 0..{sub.max_points}, or mark it not "
            "applicable, with a note)"
        )
        return None
    return ScoreRow(
        slot.assessment_id,
        sub_slot.criterion_id,
        unit_code,
        code,
        hundredths if hundredths is not None else to_hundredths(points),
        False,
        metric,
        evidence,
        note,
        line,
        refs,
        slot.supplied_by or unit_code,
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
    """An appraiser's own scores (unit, criterion, score, note), from a CSV or from the appraisal
    workbook (rows left blank are the rules' appraisal, not an override): rows, problems, problem count."""
    table = open_table(path, APPRAISER_ALIASES, ("unit", "criterion", "score"), ("note",))
    sheet = Sheet()
    rows: list[AppraiserRow] = []
    seen: set[tuple[int, int]] = set()
    for line, record in table.rows:
        unit_code, code = cell_of(record, table.columns, "unit"), cell_of(record, table.columns, "criterion")
        score_text, note = cell_of(record, table.columns, "score"), cell_of(record, table.columns, "note")
        if not any(c.strip() for c in record) or (table.workbook and (not unit_code or not score_text)):
            continue
        slot = units.get(unit_code)
        if slot is None:
            sheet.problem(f"{table.at(line, 'unit')}: {unit_code!r} is not a unit waiting for appraisal")
            continue
        if slot.refusal:
            sheet.problem(f"{table.at(line, 'unit')}: {slot.refusal}")
            continue
        sub_slot = subs[slot.framework_id].get(code)
        if sub_slot is None:
            sheet.problem(f"{table.at(line, 'criterion')}: {code!r} is not a sub-criterion of {unit_code}'s framework")
            continue
        if (slot.assessment_id, sub_slot.criterion_id) in seen:
            sheet.problem(f"{table.at(line)}: {unit_code} {code} appears a second time")
            continue
        seen.add((slot.assessment_id, sub_slot.criterion_id))
        try:
            value = parse_decimal(score_text)
        except ValueError:
            sheet.problem(f"{table.at(line, 'score')}: {score_text!r} is not a number")
            continue
        if value < 0 or value > sub_slot.sub.max_points or value != value.quantize(CENT):
            sheet.problem(
                f"{table.at(line, 'score')}: {score_text} is not a score of 0..{sub_slot.sub.max_points} "
                "with at most two decimals"
            )
            continue
        if not note:
            sheet.problem(f"{table.at(line, 'note')}: say why the appraised score differs (the unit will read it)")
            continue
        rows.append(
            AppraiserRow(slot.assessment_id, sub_slot.criterion_id, unit_code, code, to_hundredths(value), note)
        )
    return rows, sheet.problems, sheet.problem_count
