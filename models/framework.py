"""Frameworks (bộ tiêu chí) as versioned data files: fields → criteria → sub-criteria.

A file that does not add up is refused at load with sentences that name the entry at fault.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from cchc.models.datafile import DataFileError, Entry, as_bool, as_code, as_decimal, as_int, read_yaml

METHODS = ("judged", "threshold", "proportional", "count")
MEASURED = ("threshold", "proportional", "count")
METRIC_KINDS = ("ratio", "count")
ADJUSTMENT_KINDS = ("bonus", "penalty")
REQUIREMENTS = ("on_time",)
HUNDREDTH = Decimal("0.01")


@dataclass(frozen=True)
class Metric:
    """What a unit reports for a measured sub-criterion, and the number the method compares it with."""

    kind: str  # ratio ("45/200") | count ("3")
    label: str
    threshold: Decimal | None = None
    target: Decimal | None = None
    per_item: Decimal | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class SubCriterion:
    code: str
    name: str
    max_points: Decimal
    evidence_required: bool
    method: str
    field_code: str
    criterion_code: str
    metric: Metric | None = None

    @property
    def measured(self) -> bool:
        return self.method in MEASURED


@dataclass(frozen=True)
class CriterionDef:
    code: str
    name: str
    field_code: str
    subcriteria: tuple[SubCriterion, ...]

    @property
    def max_points(self) -> Decimal:
        return sum((s.max_points for s in self.subcriteria), Decimal("0.00"))


@dataclass(frozen=True)
class FieldDef:
    code: str
    name: str
    name_en: str
    tags: tuple[str, ...]
    criteria: tuple[CriterionDef, ...]

    @property
    def max_points(self) -> Decimal:
        return sum((c.max_points for c in self.criteria), Decimal("0.00"))


@dataclass(frozen=True)
class ClassBand:
    """A classification band: an index at or above `min` (and below the band above) gets this class."""

    code: str
    name: str
    min: Decimal


@dataclass(frozen=True)
class AdjustmentItem:
    """A bonus or penalty item: a fixed number of points with its rule, e.g. +2 for on-time reporting."""

    code: str
    kind: str
    points: Decimal
    name: str
    requires: str | None = None


@dataclass(frozen=True)
class FrameworkDef:
    code: str
    version: int
    year: int
    group: str
    title: str
    source: str
    illustrative: bool
    note: str
    total_points: Decimal
    classes: tuple[ClassBand, ...]
    adjustments: tuple[AdjustmentItem, ...]
    fields: tuple[FieldDef, ...]
    sha256: str = ""
    path: str = ""
    _subs: dict[str, SubCriterion] = field(default_factory=dict, compare=False, repr=False)

    @property
    def criteria(self) -> list[CriterionDef]:
        return [c for f in self.fields for c in f.criteria]

    @property
    def subcriteria(self) -> list[SubCriterion]:
        return [s for c in self.criteria for s in c.subcriteria]

    def sub(self, code: str) -> SubCriterion | None:
        if not self._subs:
            self._subs.update({s.code: s for s in self.subcriteria})
        return self._subs.get(code)

    def adjustment(self, code: str) -> AdjustmentItem | None:
        return next((a for a in self.adjustments if a.code == code), None)

    def counts(self) -> tuple[int, int, int]:
        """(fields, criteria, sub-criteria)."""
        return len(self.fields), len(self.criteria), len(self.subcriteria)

    def as_document(self) -> dict[str, Any]:
        """The framework as plain data (what is stored with a cycle)."""
        return {
            "code": self.code,
            "version": self.version,
            "year": self.year,
            "group": self.group,
            "title": self.title,
            "source": self.source,
            "illustrative": self.illustrative,
            "note": self.note,
            "total_points": self.total_points,
            "classification": [b.__dict__ for b in self.classes],
            "adjustments": [a.__dict__ for a in self.adjustments],
            "fields": [
                {
                    "code": f.code,
                    "name": f.name,
                    "name_en": f.name_en,
                    "tags": list(f.tags),
                    "criteria": [
                        {
                            "code": c.code,
                            "name": c.name,
                            "subcriteria": [
                                {
                                    "code": s.code,
                                    "name": s.name,
                                    "max": s.max_points,
                                    "evidence": s.evidence_required,
                                    "method": s.method,
                                    **({"metric": s.metric.as_dict()} if s.metric else {}),
                                }
                                for s in c.subcriteria
                            ],
                        }
                        for c in f.criteria
                    ],
                }
                for f in self.fields
            ],
        }


def _points(value: Any) -> Decimal:
    number = as_decimal(value)
    if number != number.quantize(HUNDREDTH):
        raise ValueError(f"{value} has more than two decimals")
    return number.quantize(HUNDREDTH)


def _positive_points(value: Any) -> Decimal:
    number = _points(value)
    if number <= 0:
        raise ValueError(f"{value} should be more than 0")
    return number


def _positive(value: Any) -> Decimal:
    number = as_decimal(value)
    if number <= 0:
        raise ValueError(f"{value} should be more than 0")
    return number


def _metric(data: Any, method: str, where: str, problems: list[str]) -> Metric | None:
    entry = Entry(data, f"{where} › metric", problems, ("kind", "label", "threshold", "target", "per_item"))
    kind = entry.get("kind", as_code, default="")
    if kind and kind not in METRIC_KINDS:
        entry.problem(f"unknown metric kind {kind!r} (expected one of {', '.join(METRIC_KINDS)})")
    label = entry.text("label", required=False)
    needed = {"threshold": "threshold", "proportional": "target", "count": "per_item"}[method]
    values: dict[str, Decimal | None] = {"threshold": None, "target": None, "per_item": None}
    for key in values:
        if key == needed:
            values[key] = entry.get(key, _positive, default=None)
        elif key in entry.data:
            entry.problem(f"{key!r} does not belong to the {method!r} method (it takes {needed!r})")
    if method == "count" and kind == "ratio":
        entry.problem("the 'count' method needs a metric of kind 'count'")
    return Metric(kind=kind, label=label, **values) if entry.ok else None


def parse_framework(data: Any, *, path: str = "<framework>", sha256: str = "") -> FrameworkDef:
    """A validated FrameworkDef from parsed data, or DataFileError listing every problem found."""
    problems: list[str] = []
    top = Entry(
        data,
        "",
        problems,
        (
            "code",
            "version",
            "year",
            "group",
            "title",
            "source",
            "illustrative",
            "note",
            "total_points",
            "classification",
            "adjustments",
            "fields",
        ),
    )
    if not top.ok:
        raise DataFileError(path, problems)
    code = top.get("code", as_code, default="")
    version = top.get("version", as_int, default=0)
    if "version" in top.data and version < 1:
        top.problem("'version' should be 1 or more")
    year = top.get("year", as_int, default=0)
    group = top.get("group", as_code, default="")
    title = top.line("title")
    total = top.get("total_points", _positive_points, default=Decimal("0"))

    seen: dict[str, str] = {}

    def claim(code_: str, where: str) -> None:
        if code_ in seen:
            problems.append(f"{where}: duplicate code {code_!r} (already used by {seen[code_]})")
        else:
            seen[code_] = where

    classes: list[ClassBand] = []
    for i, raw in enumerate(top.items("classification"), 1):
        entry = Entry(raw, f"classification #{i}", problems, ("code", "name", "min"))
        band = ClassBand(
            code=entry.get("code", as_code, default=f"?{i}"),
            name=entry.line("name"),
            min=entry.get("min", _points, default=Decimal("0")),
        )
        if band.min < 0:
            entry.problem("'min' should not be negative")
        if any(b.code == band.code for b in classes):
            entry.problem(f"duplicate class code {band.code!r}")
        if classes and band.min >= classes[-1].min:
            entry.problem(f"'min' {band.min} should be below the band above it ({classes[-1].min})")
        classes.append(band)
    if classes and classes[-1].min != 0:
        problems.append(f"classification: the last band should start at 0, not {classes[-1].min}")
    if "classification" in top.data and not classes:
        problems.append("classification: at least one band is needed")

    adjustments: list[AdjustmentItem] = []
    for i, raw in enumerate(top.items("adjustments", required=False), 1):
        entry = Entry(raw, f"adjustment #{i}", problems, ("code", "kind", "points", "name", "requires"))
        item = AdjustmentItem(
            code=entry.get("code", as_code, default=f"?{i}"),
            kind=entry.get("kind", as_code, default="bonus"),
            points=entry.get("points", _positive_points, default=Decimal("0")),
            name=entry.line("name"),
            requires=entry.get("requires", as_code, required=False, default=None),
        )
        entry.where = f"adjustment {item.code}"
        if item.kind not in ADJUSTMENT_KINDS:
            entry.problem(f"unknown kind {item.kind!r} (expected bonus or penalty)")
        if item.requires is not None and item.requires not in REQUIREMENTS:
            entry.problem(f"unknown requirement {item.requires!r} (expected one of {', '.join(REQUIREMENTS)})")
        if any(a.code == item.code for a in adjustments):
            entry.problem(f"duplicate adjustment code {item.code!r}")
        adjustments.append(item)

    fields: list[FieldDef] = []
    for fi, fraw in enumerate(top.items("fields"), 1):
        fentry = Entry(fraw, f"field #{fi}", problems, ("code", "name", "name_en", "tags", "criteria", "max"))
        fcode = fentry.get("code", as_code, default=f"#{fi}")
        fentry.where = f"field {fcode}"
        claim(fcode, fentry.where)
        tags_raw = fentry.items("tags", required=False)
        tags = tuple(as_code(t) for t in tags_raw if isinstance(t, str))
        criteria: list[CriterionDef] = []
        for ci, craw in enumerate(fentry.items("criteria"), 1):
            centry = Entry(craw, f"{fentry.where} › criterion #{ci}", problems, ("code", "name", "subcriteria", "max"))
            ccode = centry.get("code", as_code, default=f"#{ci}")
            centry.where = f"{fentry.where} › criterion {ccode}"
            claim(ccode, centry.where)
            subs: list[SubCriterion] = []
            for si, sraw in enumerate(centry.items("subcriteria"), 1):
                sentry = Entry(
                    sraw,
                    f"{centry.where} › sub-criterion #{si}",
                    problems,
                    ("code", "name", "max", "evidence", "method", "metric"),
                )
                scode = sentry.get("code", as_code, default=f"#{si}")
                sentry.where = f"{centry.where} › sub-criterion {scode}"
                claim(scode, sentry.where)
                method = sentry.get("method", as_code, default="judged")
                metric = None
                if method not in METHODS:
                    sentry.problem(f"unknown scoring method {method!r} (expected one of {', '.join(METHODS)})")
                elif method in MEASURED:
                    if "metric" not in sentry.data:
                        sentry.problem(f"the {method!r} method needs a 'metric' (what the unit reports)")
                    else:
                        metric = _metric(sentry.data["metric"], method, sentry.where, problems)
                elif "metric" in sentry.data:
                    sentry.problem("a 'judged' sub-criterion has no 'metric'")
                subs.append(
                    SubCriterion(
                        code=scode,
                        name=sentry.line("name"),
                        max_points=sentry.get("max", _positive_points, default=Decimal("0")),
                        evidence_required=sentry.get("evidence", as_bool, required=False, default=True),
                        method=method,
                        field_code=fcode,
                        criterion_code=ccode,
                        metric=metric,
                    )
                )
            if centry.ok and not subs and "subcriteria" in centry.data:
                centry.problem("has no sub-criteria")
            criterion = CriterionDef(code=ccode, name=centry.line("name"), field_code=fcode, subcriteria=tuple(subs))
            declared = centry.get("max", _points, required=False, default=None)
            if declared is not None and declared != criterion.max_points:
                centry.problem(f"declares {declared} points but its sub-criteria add up to {criterion.max_points}")
            criteria.append(criterion)
        if fentry.ok and not criteria and "criteria" in fentry.data:
            fentry.problem("has no criteria")
        fdef = FieldDef(
            code=fcode,
            name=fentry.line("name"),
            name_en=fentry.line("name_en", required=False),
            tags=tags,
            criteria=tuple(criteria),
        )
        declared = fentry.get("max", _points, required=False, default=None)
        if declared is not None and declared != fdef.max_points:
            fentry.problem(f"declares {declared} points but its sub-criteria add up to {fdef.max_points}")
        fields.append(fdef)

    framework = FrameworkDef(
        code=code,
        version=version,
        year=year,
        group=group,
        title=title,
        source=top.line("source", required=False),
        illustrative=top.get("illustrative", as_bool, required=False, default=False),
        note=top.text("note", required=False),
        total_points=total,
        classes=tuple(classes),
        adjustments=tuple(adjustments),
        fields=tuple(fields),
        sha256=sha256,
        path=path,
    )
    summed = sum((f.max_points for f in fields), Decimal("0.00"))
    if fields and total and summed != total:
        detail = ", ".join(f"field {f.code}: {f.max_points}" for f in fields)
        problems.append(f"the sub-criteria add up to {summed} points, not total_points {total} ({detail})")
    for sub in framework.subcriteria:
        if sub.max_points > total > 0:
            problems.append(f"sub-criterion {sub.code}: max {sub.max_points} is more than the total {total}")
    if problems:
        raise DataFileError(path, problems)
    return framework


def load_framework(path: Path) -> FrameworkDef:
    """Load and validate a framework file; its SHA-256 identifies the exact content used."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
    return parse_framework(read_yaml(path), path=str(path), sha256=digest)


def framework_path(config_dir: Path, code: str) -> Path:
    """Where the framework with this code lives: config/frameworks/<code>.yaml."""
    return config_dir / "frameworks" / f"{code}.yaml"
