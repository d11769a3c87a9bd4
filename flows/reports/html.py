"""The reports as one self-contained HTML page each, charts inline (SVG): the same data, the same bytes."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from cchc.flows.ranking import GroupReport
from cchc.flows.reports.progress import ProgressReport, overview_rows, progress_lines, rung_text
from cchc.flows.reports.ranking import RankingDocument, group_fields, ranking_title
from cchc.models.charts import Series, bar_chart, grouped_bar_chart
from cchc.models.formats import local_time, vn_number, vn_signed
from cchc.notifications.render import environment
from cchc.states.assessment import AssessmentState
from cchc.states.labels import COMMITMENT_LABELS, STATE_LABELS, task_label


def ranking_html(doc: RankingDocument) -> str:
    """The ranking as one HTML page with its charts inline (SVG): the same publication, the same bytes."""
    title, line = ranking_title(doc)
    groups = [_group_view(doc, group) for group in doc.report.groups]
    return (
        environment(doc.timezone)
        .get_template("reports/ranking.html")
        .render(title=title, line=line, groups=groups, digest=doc.report.digest)
    )


def _group_view(doc: RankingDocument, group: GroupReport) -> dict[str, Any]:
    stats = group.stats
    fields = group_fields(group, doc.fields)
    averages = [stats.field_averages.get(code) for code, _ in fields]
    field_labels = [f"LV {code}" for code, _ in fields]
    best = next((u for u in group.units if u.unit == stats.best_unit), None)
    units = []
    for u in group.units:
        pcts = [doc.fields.get(u.unit, {}).get(code) for code, _ in fields]
        adjustment = u.bonus - u.penalty
        units.append(
            {
                "rank": u.rank,
                "code": u.unit,
                "name": u.name,
                "index": vn_number(u.index),
                "class_name": u.class_name,
                "appraised": vn_number(u.appraised_total),
                "bonus": vn_number(u.bonus),
                "penalty": vn_number(u.penalty),
                "adjustment": vn_signed(adjustment) if adjustment else "",
                "maximum": vn_number(u.applicable_max),
                "on_time": "Có" if u.on_time else "Không",
                "prev_index": vn_number(u.prev_index),
                "index_change": vn_signed(u.index_change),
                "prev_rank": "—" if u.prev_rank is None else str(u.prev_rank),
                "rank_change": vn_signed(u.rank_change, 0),
                "fields": [vn_number(p) for p in pcts],
                "chart": Markup(
                    grouped_bar_chart(
                        f"{u.unit}: từng lĩnh vực so với trung bình nhóm (%)",
                        field_labels,
                        [Series(u.unit, tuple(pcts)), Series("Trung bình nhóm", tuple(averages))],
                        axis_label="%",
                        maximum=100,
                        unit=" %",
                    )
                )
                if fields
                else None,
            }
        )
    class_names = [group.class_names.get(code, code) for code in stats.by_class]
    return {
        "name": group.name,
        "count": stats.count,
        "average": vn_number(stats.average),
        "best": f"{stats.best_unit} — {best.name}" if best else stats.best_unit,
        "best_index": vn_number(stats.best_index),
        "fields_over_90": f"{stats.fields_over_90}/{len(stats.field_averages)}",
        "classes": list(zip(class_names, stats.by_class.values(), strict=True)),
        "class_chart": Markup(
            bar_chart(
                f"Xếp loại — {group.name}",
                class_names,
                list(stats.by_class.values()),
                axis_label="Số đơn vị",
                places=0,
            )
        ),
        "fields": [{"code": code, "name": name} for code, name in fields],
        "averages": [vn_number(a) for a in averages],
        "field_chart": Markup(
            bar_chart(
                f"Chỉ số trung bình từng lĩnh vực — {group.name}",
                field_labels,
                averages,
                axis_label="%",
                maximum=100,
                unit=" %",
            )
        )
        if fields
        else None,
        "units": units,
    }


def progress_html(report: ProgressReport) -> str:
    """The progress report as one HTML page, with a chart of units per state per group (inline SVG)."""
    status = report.status
    tz = report.timezone
    states = [s.value for s in AssessmentState]
    groups = list(status.counts)
    chart = grouped_bar_chart(
        "Số đơn vị theo trạng thái, từng nhóm",
        [STATE_LABELS.get(s, s) for s in states],
        [Series(status.groups.get(g, g), tuple(status.counts[g].get(s, 0) for s in states)) for g in groups],
        axis_label="Số đơn vị",
        places=0,
    )
    view = {
        "title": report.title,
        "lines": progress_lines(report),
        "overview": [(label, str(value)) for label, value in overview_rows(report)],
        "deadlines": [
            (task_label(phase), local_time(due, tz), "Đã qua" if due <= report.as_of else "Chưa đến")
            for phase, due in status.deadlines.items()
        ],
        "states": [STATE_LABELS.get(s, s) for s in states],
        "counts": [
            (status.groups.get(g, g), [status.counts[g].get(s, 0) for s in states], sum(status.counts[g].values()))
            for g in groups
        ],
        "totals": ([sum(status.counts[g].get(s, 0) for g in groups) for s in states], status.total),
        "chart": Markup(chart) if groups else None,
        "overdue": [
            {
                "unit": o.unit,
                "name": o.name,
                "task": task_label(o.phase),
                "due": local_time(o.due_at, tz),
                "days_late": o.days_late,
                "reminders": o.chased.reminders if o.chased else 0,
                "step": o.chased.step if o.chased else 0,
                "rung": rung_text(o.chased, report.rungs),
                "step_at": local_time(o.chased.step_at if o.chased else None, tz),
            }
            for o in report.overdue
        ],
        "late": [
            {
                "unit": late.unit,
                "name": late.name,
                "due": local_time(late.due_at, tz),
                "submitted": local_time(late.submitted_at, tz),
                "days_late": late.days_late,
            }
            for late in report.late
        ],
        "escalated": [
            {
                "unit": c.unit,
                "name": c.name,
                "task": task_label(c.phase),
                "due": local_time(c.due_at, tz),
                "step": c.step,
                "rung": rung_text(c, report.rungs),
                "step_at": local_time(c.step_at, tz),
                "recipients": c.recipients,
                "reminders": c.reminders,
                "state": "Chưa hoàn thành" if still_open else "Đã hoàn thành",
            }
            for c, still_open in report.escalated
        ],
        "commitments": [(COMMITMENT_LABELS.get(state, state), n) for state, n in sorted(status.commitments.items())],
    }
    return environment(tz).get_template("reports/progress.html").render(**view)
