"""The published ranking: each group's ranking, classes, statistics and charts (a superseded version too)."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from cchc.flows.reports.ranking import group_fields, ranking_title, ranking_values, read_ranking_document
from cchc.flows.reports.xlsx import RANKING_COLUMNS
from cchc.flows.web.dashboard import Dashboard
from cchc.flows.web.tables import Table
from cchc.models.charts import bar_chart
from cchc.models.errors import UserError
from cchc.models.formats import vn_number, vn_signed

MAX_VERSION = 2**31 - 1  # the largest version a database stores (PostgreSQL's integer)


@dataclass
class GroupView:
    code: str
    name: str
    figures: list[tuple[str, str]]
    charts: list[str]
    tables: list[Table]


@dataclass
class RankingView:
    year: int
    version: int
    line: str
    digest: str
    groups: list[GroupView]

    @property
    def tables(self) -> list[Table]:
        return [t for g in self.groups for t in g.tables]


def ranking_view(database_url: str | None, year: int | None, version: int | None) -> RankingView:
    """A publication (the current one by default): each group's ranking, classes, statistics and charts."""
    doc = read_ranking_document(database_url, year, version)
    report = doc.report
    groups: list[GroupView] = []
    for group in report.groups:
        stats = group.stats
        fields = group_fields(group, doc.fields)
        best = next((u for u in group.units if u.unit == stats.best_unit), None)
        figures = [
            ("Số đơn vị", str(stats.count)),
            ("Chỉ số trung bình của nhóm", f"{vn_number(stats.average)} %"),
            ("Dẫn đầu", f"{stats.best_unit} — {best.name if best else ''} ({vn_number(stats.best_index)} %)"),
        ]
        if fields:
            figures.append(("Lĩnh vực có chỉ số trung bình trên 90 %", f"{stats.fields_over_90}/{len(fields)}"))
        classes = Table(f"classes-{group.group}", f"Xếp loại — {group.name}", ["Xếp loại", "Số đơn vị"])
        for code, n in stats.by_class.items():
            classes.rows.append([group.class_names.get(code, code), n])
        ranking = Table(
            f"ranking-{group.group}",
            f"Xếp hạng — {group.name}",
            [title for title, _, _ in RANKING_COLUMNS] + [f"LV {code} (%)" for code, _ in fields],
            unit_column=1,
        )
        for u in group.units:
            pcts = doc.fields.get(u.unit, {})
            values = ranking_values(u)
            values[11] = vn_signed(u.index_change) if u.index_change is not None else None
            values[13] = vn_signed(u.rank_change, 0) if u.rank_change is not None else None
            ranking.add([*values, *(pcts.get(code) for code, _ in fields)], u.unit)
        averages = Table(
            f"fields-{group.group}",
            f"Chỉ số trung bình từng lĩnh vực — {group.name}",
            ["Lĩnh vực", "Tên", "Trung bình (%)"],
        )
        for code, name in fields:
            averages.rows.append([code, name, stats.field_averages.get(code)])
        class_names = [group.class_names.get(code, code) for code in stats.by_class]
        charts = [
            bar_chart(
                f"Xếp loại — {group.name}", class_names, list(stats.by_class.values()), axis_label="Số đơn vị", places=0
            )
        ]
        if fields:
            charts.append(
                bar_chart(
                    f"Chỉ số trung bình từng lĩnh vực — {group.name}",
                    [f"LV {code}" for code, _ in fields],
                    [stats.field_averages.get(code) for code, _ in fields],
                    axis_label="%",
                    maximum=100,
                    unit=" %",
                )
            )
        groups.append(GroupView(group.group, group.name, figures, charts, [classes, ranking, averages]))
    title, line = ranking_title(doc)
    return RankingView(report.year, report.version, f"{title}. {line}", report.digest, groups)


def page(request: Request) -> Response:
    d = Dashboard.of(request)
    year = int(request.path_params["year"])
    actor = d.require(request)
    raw = request.query_params.get("version", "")
    version = int(raw) if raw.isdigit() else None
    try:
        if version is not None and version > MAX_VERSION:
            raise UserError(f"no version {version}")
        view = ranking_view(d.database_url, year, version)
    except UserError:
        which = f"lần công bố {version}" if version else "kết quả công bố"
        return d.message(request, "Chưa có kết quả công bố", f"Kỳ {year} không có {which}.", 404, actor)
    exported = d.export(request, view.tables, f"ket-qua-{year}-lan-{view.version}")
    if exported is not None:
        return exported
    return d.render(
        request,
        "ranking.html",
        user=actor,
        year=view.year,
        view=view,
        charts={g.code: [Markup(c) for c in g.charts] for g in view.groups},
    )
