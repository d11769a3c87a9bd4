"""How things look on a terminal (the CLI and the demo): Vietnamese number and date formats, Asia/Ho_Chi_Minh
times, tables or JSON, progress bars."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from rich.console import Console, RenderableType
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cchc.config.settings import get_settings
from cchc.flows.progress import watching
from cchc.models import formats
from cchc.models.formats import vn_number, vn_signed

# What is printed is never read as rich markup (a unit's name, a reason or a reference may hold "[/]"): the
# few lines styled on purpose say markup=True and escape what they interpolate.
console = Console(highlight=False, markup=False, soft_wrap=False, width=None if sys.stdout.isatty() else 160)
errors = Console(stderr=True, highlight=False, markup=False, soft_wrap=True)


def local_time(value: datetime | None, with_time: bool = True) -> str:
    """A UTC instant as dd/mm/yyyy HH:MM in the configured zone (Asia/Ho_Chi_Minh by default)."""
    return formats.local_time(value, get_settings().timezone, with_time=with_time)


def print_json(data: Any) -> None:
    console.print_json(json.dumps(data, ensure_ascii=False, default=_plain), ensure_ascii=False)


def _plain(value: Any) -> Any:
    """JSON for what json does not know: a record (dataclass) as its fields, instants as ISO 8601 (UTC as
    stored), decimals as text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def print_table(
    columns: Sequence[str],
    rows: Iterable[Sequence[RenderableType]],
    *,
    title: str | None = None,
    right: Collection[str] = (),
) -> None:
    """Rows under their columns (those named in `right` aligned right), with an optional title."""
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, justify="right" if column in right else "left")
    for row in rows:
        table.add_row(*row)
    console.print(table)


def show(
    data: Any,
    as_json: bool,
    columns: Sequence[str],
    rows: Iterable[Sequence[RenderableType]],
    *,
    title: str | None = None,
    right: Collection[str] = (),
) -> bool:
    """What a command found: `data` as JSON (`--json`), or `rows` as a table under `columns`. True when a
    table was printed, so that the command may add its lines after it."""
    if as_json:
        print_json(data)
        return False
    print_table(columns, rows, title=title, right=right)
    return True


def print_ranking(report: Any) -> None:
    """The published ranking per group with classes and group statistics."""
    console.print(
        f"[bold]Chỉ số CCHC năm {report.year}[/bold] — công bố lần {report.version} "
        + escape(
            f"({local_time(datetime.fromisoformat(report.published_at))}, {report.published_by})"
            + (f"; lý do: {report.reason}" if report.reason else "")
        ),
        markup=True,
    )
    for group in report.groups:
        table = Table(title=f"{group.name} ({group.stats.count} đơn vị)", title_justify="left", show_lines=False)
        table.add_column("Hạng", justify="right")
        table.add_column("Mã")
        table.add_column("Đơn vị")
        table.add_column("Chỉ số %", justify="right")
        table.add_column("Xếp loại")
        table.add_column("Thưởng/phạt", justify="right")
        table.add_column(f"Chỉ số {report.year - 1}", justify="right")
        table.add_column("±", justify="right")
        table.add_column("Hạng ±", justify="right")
        for u in group.units:
            adj = u.bonus - u.penalty
            table.add_row(
                str(u.rank),
                u.unit,
                u.name,
                vn_number(u.index),
                u.class_name,
                vn_signed(adj) if adj else "",
                vn_number(u.prev_index),
                vn_signed(u.index_change),
                vn_signed(u.rank_change, 0),
            )
        console.print(table)
        stats = group.stats
        classes = ", ".join(f"{group.class_names.get(c, c)}: {n}" for c, n in stats.by_class.items() if n)
        console.print(f"  Trung bình nhóm: [bold]{vn_number(stats.average)} %[/bold]; {escape(classes)}", markup=True)
        console.print(
            f"  Dẫn đầu: {stats.best_unit} ({vn_number(stats.best_index)} %); "
            f"{stats.fields_over_90}/{len(stats.field_averages)} lĩnh vực có chỉ số trung bình trên 90 %"
        )
        fields = "; ".join(f"{c}. {vn_number(v)} %" for c, v in stats.field_averages.items())
        console.print(f"  Trung bình từng lĩnh vực: {fields}\n")


class RichBars:
    """One rich progress bar per stage, on standard error; drawn only on a terminal."""

    def __init__(self) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=errors,
            transient=True,
            disable=not errors.is_terminal,
        )
        self.task: object | None = None

    def step(self, label: str, total: int | None) -> None:
        if self.task is not None:
            self.progress.update(self.task, completed=self.progress.tasks[-1].total or 0)  # type: ignore[arg-type]
        self.task = self.progress.add_task(label, total=total)

    def advance(self, amount: int) -> None:
        if self.task is not None:
            self.progress.advance(self.task, amount)  # type: ignore[arg-type]


@contextmanager
def bars() -> Iterator[None]:
    """Rich progress bars around a command's work (nothing is drawn when standard error is not a terminal)."""
    shown = RichBars()
    with shown.progress, watching(shown):
        yield
