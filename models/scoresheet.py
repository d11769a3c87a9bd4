"""Reading a score table (CSV, or the exported .xlsx workbook): every problem is found before anything is
written, each reported with its place (`file line 12, column score`, or `file: Sheet!F12`). Pure: the
caller supplies what the units and frameworks allow."""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import unicodedata
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache, partial
from pathlib import Path
from typing import BinaryIO

from openpyxl.utils import get_column_letter

from cchc.models.errors import UserError
from cchc.models.evidence import BadReference, EvidenceRef, outside_window, parse_references
from cchc.models.framework import SubCriterion
from cchc.models.i18n import N_, language, tr, trn
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
    "explanation": ("explanation", "giải trình", "giai trinh"),
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
        self.text = self._words()  # in the language of the moment it is raised
        super().__init__(self.text)

    def __str__(self) -> str:
        return self.text

    def _words(self) -> str:
        said = trn("{n} problem; nothing was written:", "{n} problems; nothing was written:", self.total)
        if self.total == 1 and len(self.problems) == 1:  # one problem (a file that cannot be read): one line
            return f"{said} {self.problems[0]}"
        shown = "\n".join(f"  - {p}" for p in self.problems)
        left = self.total - len(self.problems)
        more = "\n  … " + tr("and {n} more", n=left) if left > 0 else ""
        return said + f"\n{shown}{more}"


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
    explanation: str = ""


FORM_COLUMNS = {  # a column's words when the table is a page's form (translated where used)
    "unit": N_("unit"),
    "criterion": N_("sub-criterion"),
    "score": N_("self-score"),
    "metric": N_("metric"),
    "evidence": N_("evidence"),
    "note": N_("note"),
    "not_applicable": N_("not applicable"),
    "explanation": N_("explanation"),
}


@dataclass
class Table:
    """A table being read: a CSV file, or the first sheet of a workbook, from its header row on."""

    name: str
    columns: dict[str, int]
    rows: Iterator[tuple[int, list[str]]]
    sheet: str | None = None  # a workbook's sheet (its places are written Sheet!F12)
    form_rows: dict[int, str] | None = None  # a page's form: its rows' sub-criteria (places are "1.1.2, điểm")

    @property
    def workbook(self) -> bool:
        return self.sheet is not None

    def at(self, row: int, column: str | None = None) -> str:
        if self.form_rows is not None:
            place = self.form_rows.get(row, self.name)
            return f"{place}, {tr(FORM_COLUMNS.get(column, column))}" if column else place
        if self.sheet is None:
            if column:
                return tr("{name} line {row}, column {column}", name=self.name, row=row, column=column)
            return tr("{name} line {row}", name=self.name, row=row)
        if column in self.columns:
            return f"{self.name}: {self.sheet}!{get_column_letter(self.columns[column] + 1)}{row}"
        return tr("{name}: {sheet} row {row}", name=self.name, sheet=self.sheet, row=row)


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
            problems.append(tr("{where}: column {key!r} appears {n} times", where=where, key=key, n=len(hits)))
        elif hits:
            columns[key] = hits[0]
        elif key in required:
            problems.append(
                tr(
                    "{where}: no {key!r} column (the header should have {required} and optionally {optional})",
                    where=where,
                    key=key,
                    required=", ".join(required),
                    optional=", ".join(optional),
                )
                if optional
                else tr(
                    "{where}: no {key!r} column (the header should have {required})",
                    where=where,
                    key=key,
                    required=", ".join(required),
                )
            )
    return columns, problems


def open_table(
    path: Path,
    aliases: dict[str, tuple[str, ...]] = SELF_ALIASES,
    required: tuple[str, ...] = ("unit", "criterion", "score"),
    optional: tuple[str, ...] = ("evidence", "note", "metric", "not_applicable", "explanation"),
) -> Table:
    """A CSV file (UTF-8, comma or semicolon separated) or an .xlsx workbook, NFC throughout, with the
    positions of its columns found from English or Vietnamese headers. Its rows are read as they are asked
    for: a CSV a line at a time (a table of two million lines is never held whole), a workbook a row at a
    time; a problem met on the way (a line that is not UTF-8, a cell beyond the sheet's bounds) raises
    SheetError then, and the caller's transaction rolls back what it wrote."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise SheetError([tr("{path}: no such file", path=path)]) from None
    except IsADirectoryError:
        raise SheetError([tr("{path}: is a directory, not a file", path=path)]) from None
    except OSError as exc:
        raise SheetError([tr("{path}: cannot be read ({why})", path=path, why=exc.strerror)]) from None
    try:
        magic = handle.read(2)
        if path.suffix.lower() in (".xlsx", ".xlsm") or magic == b"PK":
            handle.close()
            return _workbook_table(path, aliases, required, optional)
        handle.seek(0)
        return _csv_table(path, handle, aliases, required, optional)
    except OSError as exc:
        handle.close()
        raise SheetError([tr("{path}: cannot be read ({why})", path=path, why=exc.strerror)]) from None
    except BaseException:
        handle.close()
        raise


def _csv_table(
    path: Path,
    handle: BinaryIO,
    aliases: dict[str, tuple[str, ...]],
    required: tuple[str, ...],
    optional: tuple[str, ...],
) -> Table:
    lines = _text_lines(path, handle)
    first = next(lines, "")
    if not first:
        lines.close()
        raise SheetError(
            [tr("{path}: is empty (expected a header line: unit,criterion,score,evidence,note)", path=path)]
        )
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(itertools.chain([first], lines), delimiter=delimiter)
    try:
        header = next(reader)
    except csv.Error as exc:
        lines.close()
        raise SheetError([tr("{name} line {row}", name=path, row=1) + f": {exc}"]) from None
    columns, problems = _columns(
        path.name, tr("{name} line {row}", name=path, row=1), header, aliases, required, optional
    )
    if problems:
        lines.close()
        raise SheetError(problems)

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            for record in reader:
                yield reader.line_num, record
        except csv.Error as exc:
            raise SheetError([tr("{name} line {row}", name=path.name, row=reader.line_num) + f": {exc}"]) from None
        finally:
            lines.close()

    return Table(path.name, columns, rows())


def _text_lines(path: Path, handle: BinaryIO) -> Generator[str, None, None]:
    """The lines of a CSV file as NFC text (each with its line break, as the csv module wants them), read from
    the open file a buffer at a time; SheetError at the first line that is not UTF-8 text or holds a NUL. NFC
    line by line equals NFC over the whole text: a line break never combines."""
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
    try:
        for line in text:
            if "\x00" in line:
                raise SheetError([tr("{path}: is not a CSV text file", path=path)])
            if not (line.isascii() or unicodedata.is_normalized("NFC", line)):
                line = unicodedata.normalize("NFC", line)
            yield line
    except UnicodeDecodeError:
        raise SheetError(
            [
                tr(
                    "{path} line {line}: is not UTF-8 text (save the sheet as 'CSV UTF-8')",
                    path=path,
                    line=_undecodable_line(path),
                )
            ]
        ) from None
    finally:
        text.close()


def _undecodable_line(path: Path) -> int:
    """The line (counted by its line feeds) of the first byte of a file that is not UTF-8, read again from the
    start a buffer at a time (the decoder of a text stream does not say where it stopped)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                pending = decoder.getstate()[0]
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    return line + (pending + chunk)[: exc.start].count(b"\n")
                line += chunk.count(b"\n")
    except OSError:
        pass
    return line  # the file ends inside a character


def _workbook_table(
    path: Path,
    aliases: dict[str, tuple[str, ...]],
    required: tuple[str, ...],
    optional: tuple[str, ...],
) -> Table:
    try:
        sheet, rows = read_rows(path, path.name)
    except WorkbookError as exc:
        raise SheetError([str(exc)]) from None

    def normalized() -> Generator[tuple[int, list[str]], None, None]:
        try:
            for n, values in rows:
                yield n, [nfc(c) for c in values]
        except WorkbookError as exc:  # met on the way: a cell beyond the sheet's bounds, a part that is not XML
            raise SheetError([str(exc)]) from None

    found = normalized()
    for number, cells in found:
        if number > 30:
            break
        columns, problems = _columns(path.name, "", cells, aliases, required, optional)
        if not problems:
            return Table(path.name, columns, found, sheet=sheet)
    found.close()
    raise SheetError(
        [
            tr(
                "{name}: {sheet} has no header row with the columns {required} "
                "(a workbook exported by `cchc … export` has it on row 4)",
                name=path.name,
                sheet=sheet,
                required=", ".join(required),
            )
        ]
    )


def cell_of(record: list[str], columns: dict[str, int], key: str) -> str:
    index = columns.get(key)
    return record[index].strip() if index is not None and index < len(record) else ""


SELF_KEYS = ("unit", "criterion", "score", "metric", "evidence", "note", "not_applicable", "explanation")


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
    # The rows taken so far, per assessment as the bits of its framework's sub-criteria (by their place in
    # the framework): a few bytes per unit, however long the table (a set of pairs took 70 bytes a row).
    seen: dict[int, int] = {}
    bit_of = {fid: {s.criterion_id: 1 << i for i, s in enumerate(slots.values())} for fid, slots in subs.items()}
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
                tr("{at}: {unit!r} is not a unit of this cycle", at=table.at(line, "unit"), unit=unit_code)
                if unit_code
                else tr("{at}: is empty", at=table.at(line, "unit"))
            )
            continue
        if slot.refusal:
            sheet.problem(f"{table.at(line, 'unit')}: {slot.refusal}")
            continue
        sub_slot = subs[slot.framework_id].get(code)
        if sub_slot is None:
            sheet.problem(
                tr(
                    "{at}: {code!r} is not a sub-criterion of {unit}'s framework",
                    at=table.at(line, "criterion"),
                    code=code,
                    unit=unit_code,
                )
                if code
                else tr("{at}: is empty", at=table.at(line, "criterion"))
            )
            continue
        if slot.open_criteria is not None and code not in slot.open_criteria:
            sheet.problem(
                tr(
                    "{at}: {code} is not open to this import for {unit} (open now: {open})",
                    at=table.at(line, "criterion"),
                    code=code,
                    unit=unit_code,
                    open=", ".join(sorted(slot.open_criteria)) or tr("none"),
                )
            )
            continue
        bit, taken = bit_of[slot.framework_id][sub_slot.criterion_id], seen.get(slot.assessment_id, 0)
        if taken & bit:
            sheet.problem(tr("{at}: {unit} {code} appears a second time", at=table.at(line), unit=unit_code, code=code))
            continue
        seen[slot.assessment_id] = taken | bit
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
                listed = ", ".join(missing[:8]) + (
                    " " + tr("and {n} more", n=len(missing) - 8) if len(missing) > 8 else ""
                )
                sheet.problem(
                    tr(
                        "{name}: {sheet}: the rows of {unit} {codes} are missing (the workbook's rows were changed; "
                        "export it again)",
                        name=table.name,
                        sheet=table.sheet,
                        unit=unit_code,
                        codes=listed,
                    )
                )
    if empty and not sheet.problem_count:
        sheet.problem(tr("{name}: has a header but no rows", name=table.name))


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
def _evidence(cell: str, window: tuple[date | None, date | None], lang: str) -> tuple[tuple[EvidenceRef, ...], str]:
    """The references of an evidence cell, or what is wrong with them, in `lang` (units repeat cells:
    cached)."""
    try:
        refs = parse_references(cell)
    except BadReference as exc:
        return (), str(exc)
    late = outside_window(refs, *window)
    if late:
        start, end = window
        span = (f"{start:%d/%m/%Y}" if start else "…") + (f" – {end:%d/%m/%Y}" if end else " – …")
        return (), tr(
            "{symbol} is dated {day}, outside the cycle's evidence window ({span})",
            symbol=late[0].symbol,
            day=f"{late[0].issued_on:%d/%m/%Y}",
            span=span,
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
    marked, explanation = cells[6].lower() in MARKED, cells[7]
    sub = sub_slot.sub
    refs: tuple[EvidenceRef, ...] = ()
    if evidence:
        refs, trouble = _evidence(evidence, window, language())
        if trouble:
            sheet.problem(f"{table.at(line, 'evidence')}: {trouble}")
            return None
    if marked or score_text.lower() in NOT_APPLICABLE:
        if not note:
            sheet.problem(
                tr(
                    "{at}: {code} is marked not applicable; say why in the note (Ghi chú)",
                    at=table.at(line, "note"),
                    code=code,
                )
            )
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
            explanation,
        )
    points: Decimal | None = None
    metric: str | None = None
    if sub.measured:
        assert sub.metric is not None
        if not metric_text:
            example = "45/200" if sub.metric.kind == "ratio" else "3"
            sheet.problem(
                tr(
                    "{at}: {code} is measured ({label}); give the figure, e.g. {example}",
                    at=table.at(line, "metric"),
                    code=code,
                    label=sub.metric.label or sub.metric.kind,
                    example=example,
                )
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
            sheet.problem(tr("{at}: {score!r} is not a number", at=table.at(line, "score"), score=score_text))
            return None
        if declared < 0 or declared > sub.max_points:
            sheet.problem(
                tr(
                    "{at}: {score} is outside 0..{max} for {code}",
                    at=table.at(line, "score"),
                    score=score_text,
                    max=sub.max_points,
                    code=code,
                )
            )
            return None
        if hundredths is None:
            sheet.problem(tr("{at}: {score} has more than two decimals", at=table.at(line, "score"), score=score_text))
            return None
        if points is not None and declared != points:
            sheet.problem(
                tr(
                    "{at}: {score} does not match the metric {metric}, which gives {points} (leave the score empty "
                    "for a measured sub-criterion)",
                    at=table.at(line, "score"),
                    score=score_text,
                    metric=metric,
                    points=points,
                )
            )
            return None
        points = declared
    if points is None:
        sheet.problem(
            tr(
                "{at}: {code} has no score (write 0..{max}, or mark it not applicable, with a note)",
                at=table.at(line, "score"),
                code=code,
                max=sub.max_points,
            )
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
        explanation,
    )


@dataclass(slots=True)
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
            sheet.problem(
                tr("{at}: {unit!r} is not a unit waiting for appraisal", at=table.at(line, "unit"), unit=unit_code)
            )
            continue
        if slot.refusal:
            sheet.problem(f"{table.at(line, 'unit')}: {slot.refusal}")
            continue
        sub_slot = subs[slot.framework_id].get(code)
        if sub_slot is None:
            sheet.problem(
                tr(
                    "{at}: {code!r} is not a sub-criterion of {unit}'s framework",
                    at=table.at(line, "criterion"),
                    code=code,
                    unit=unit_code,
                )
            )
            continue
        if (slot.assessment_id, sub_slot.criterion_id) in seen:
            sheet.problem(tr("{at}: {unit} {code} appears a second time", at=table.at(line), unit=unit_code, code=code))
            continue
        seen.add((slot.assessment_id, sub_slot.criterion_id))
        value, problem = appraiser_points(partial(table.at, line), sub_slot.sub, score_text, note)
        if problem or value is None:
            sheet.problem(problem or "")
            continue
        rows.append(
            AppraiserRow(slot.assessment_id, sub_slot.criterion_id, unit_code, code, to_hundredths(value), note)
        )
    return rows, sheet.problems, sheet.problem_count


def appraiser_points(
    at: Callable[[str], str], sub: SubCriterion, score_text: str, note: str
) -> tuple[Decimal | None, str | None]:
    """An appraiser's own score for a row (None: the rules decide), or the problem with it, named by its
    place: a score of 0..max with at most two decimals, and a comment saying why (the unit reads it). The
    same check for the appraisal workbook and the appraiser's page."""
    if not score_text.strip():
        return None, None
    try:
        value = parse_decimal(score_text)
    except ValueError:
        return None, tr("{at}: {score!r} is not a number", at=at("score"), score=score_text)
    if value < 0 or value > sub.max_points or value != value.quantize(CENT):
        return None, tr(
            "{at}: {score} is not a score of 0..{max} with at most two decimals",
            at=at("score"),
            score=score_text,
            max=sub.max_points,
        )
    if not note.strip():
        return None, tr("{at}: say why the appraised score differs (the unit will read it)", at=at("note"))
    return value, None
