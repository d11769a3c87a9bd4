"""The scoring rules of DOMAIN.md "Published", as pure functions on exact decimals.

- A sub-criterion that requires evidence and has none is appraised 0.
- A not-applicable sub-criterion leaves both the score and the maximum.
- index = (appraised total + bonus − penalty) / applicable maximum × 100, rounded half-up to 0.01 and
  kept within 0..100 (a share of the maximum); the class is decided on that published (rounded)
  figure, so 94.995 publishes as 95.00 → Xuất sắc.
- Bonus items that require on-time reporting count only for a submission before its deadline.
- Ranks are per group, highest index first; equal indexes share a rank (1, 2, 2, 4).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from cchc.models.framework import AdjustmentItem, ClassBand, SubCriterion
from cchc.models.i18n import tr
from cchc.models.text import parse_decimal

ZERO = Decimal("0.00")
HUNDRED = Decimal(100)
CENT = Decimal("0.01")


def round_points(value: Decimal) -> Decimal:
    """Two decimals, half-up (the way people round points by hand)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


# --- measured sub-criteria ------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricValue:
    """A reported metric: a count ("3") or a ratio of two counts ("45/200")."""

    numerator: Decimal
    denominator: Decimal | None = None

    @property
    def value(self) -> Decimal:
        if self.denominator is None:
            return self.numerator
        return self.numerator / self.denominator

    def __str__(self) -> str:
        return f"{self.numerator}/{self.denominator}" if self.denominator is not None else str(self.numerator)


def _whole(part: str, raw: str) -> Decimal:
    value = parse_decimal(part)
    if value != value.to_integral_value():
        raise ValueError(
            tr("metric {raw!r}: counts are whole numbers (write 1500, without a thousands separator)", raw=raw)
        )
    return value


def parse_metric(text: str, kind: str) -> MetricValue:
    """Parse a reported metric for a metric kind; ValueError with a sentence when it does not fit."""
    raw = text.strip()
    if kind == "ratio":
        parts = raw.split("/")
        if len(parts) != 2:
            raise ValueError(tr("metric {raw!r} should be a ratio of two counts, like 45/200", raw=raw))
        numerator, denominator = (_whole(p, raw) for p in parts)
        if denominator <= 0:
            raise ValueError(tr("metric {raw!r}: the total after '/' should be more than 0", raw=raw))
        if numerator < 0 or numerator > denominator:
            raise ValueError(tr("metric {raw!r}: the count before '/' should be between 0 and the total", raw=raw))
        return MetricValue(numerator, denominator)
    if "/" in raw:
        raise ValueError(tr("metric {raw!r} should be a single count, like 3", raw=raw))
    count = _whole(raw, raw)
    if count < 0:
        raise ValueError(tr("metric {raw!r} should not be negative", raw=raw))
    return MetricValue(count)


def measured_points(sub: SubCriterion, metric: MetricValue) -> Decimal:
    """The points a measured sub-criterion earns for a reported metric, by the framework's method."""
    assert sub.metric is not None, f"{sub.code} is not measured"
    value = metric.value
    if sub.method == "threshold":
        assert sub.metric.threshold is not None
        return sub.max_points if value >= sub.metric.threshold else ZERO
    if sub.method == "proportional":
        assert sub.metric.target is not None
        return round_points(sub.max_points * min(Decimal(1), value / sub.metric.target))
    if sub.method == "count":
        assert sub.metric.per_item is not None
        return round_points(min(sub.max_points, value * sub.metric.per_item))
    raise ValueError(f"{sub.code}: method {sub.method!r} is not measured")


# --- appraisal of one sub-criterion ---------------------------------------------------------------


@dataclass(frozen=True)
class Appraised:
    """The appraised points of a sub-criterion (None when not applicable) and the rule that decided."""

    points: Decimal | None
    rule: str  # not_applicable | no_evidence | measured | no_metric | appraiser | accepted | unscored


def appraise_sub(
    sub: SubCriterion,
    *,
    self_points: Decimal | None,
    not_applicable: bool,
    evidence: str,
    metric: str | None,
    appraiser_points: Decimal | None = None,
) -> Appraised:
    """Appraise one sub-criterion. Pure: the same inputs always give the same answer."""
    if not_applicable:
        return Appraised(None, "not_applicable")
    if sub.evidence_required and not evidence.strip():
        return Appraised(ZERO, "no_evidence")
    if appraiser_points is not None:
        return Appraised(appraiser_points, "appraiser")
    if sub.measured:
        if not (metric or "").strip():
            return Appraised(ZERO, "no_metric")
        assert sub.metric is not None and metric is not None
        return Appraised(measured_points(sub, parse_metric(metric, sub.metric.kind)), "measured")
    if self_points is None:
        return Appraised(ZERO, "unscored")
    return Appraised(min(max(self_points, ZERO), sub.max_points), "accepted")


# --- bonus, penalty, index, class, rank -----------------------------------------------------------


def is_on_time(submitted_at: datetime | None, due_at: datetime | None) -> bool:
    """Reported on time: submitted strictly before the deadline (there is no grace)."""
    return submitted_at is not None and (due_at is None or submitted_at < due_at)


@dataclass(frozen=True)
class AppliedAdjustments:
    bonus: Decimal
    penalty: Decimal
    applied: tuple[str, ...]
    withheld: tuple[tuple[str, str], ...]  # (item code, why)


def apply_adjustments(items: Sequence[AdjustmentItem], granted: Iterable[str], *, on_time: bool) -> AppliedAdjustments:
    """Sum the granted bonus and penalty items, withholding a bonus whose requirement is not met."""
    by_code = {item.code: item for item in items}
    bonus = penalty = ZERO
    applied: list[str] = []
    withheld: list[tuple[str, str]] = []
    for code in sorted(set(granted)):
        item = by_code.get(code)
        if item is None:
            withheld.append((code, "not an item of this framework"))
            continue
        if item.requires == "on_time" and not on_time:
            withheld.append((code, "the self-assessment was not reported before its deadline"))
            continue
        if item.kind == "bonus":
            bonus += item.points
        else:
            penalty += item.points
        applied.append(code)
    return AppliedAdjustments(bonus, penalty, tuple(applied), tuple(withheld))


def index_pct(appraised_total: Decimal, bonus: Decimal, penalty: Decimal, applicable_max: Decimal) -> Decimal:
    """The published index: points after bonus and penalty, as a percentage of the applicable maximum.

    A percentage of the maximum stays within 0..100: bonus points can fill what appraisal left, not
    push the index past 100 %, and penalties cannot take it below 0."""
    if applicable_max <= 0:
        return ZERO
    raw = (appraised_total + bonus - penalty) * HUNDRED / applicable_max
    return round_points(min(HUNDRED, max(Decimal(0), raw)))


def classify(index: Decimal, bands: Sequence[ClassBand]) -> ClassBand:
    """The band an index falls in: the first (highest) band whose minimum it reaches."""
    for band in bands:
        if index >= band.min:
            return band
    return bands[-1]


def competition_ranks(values: Sequence[Decimal]) -> list[int]:
    """Rank positions, highest first, ties sharing a rank and the next rank skipping (1, 2, 2, 4)."""
    order = sorted(range(len(values)), key=lambda i: values[i], reverse=True)
    ranks = [0] * len(values)
    for position, i in enumerate(order, 1):
        previous = order[position - 2] if position > 1 else None
        ranks[i] = ranks[previous] if previous is not None and values[previous] == values[i] else position
    return ranks


def pct(points: Decimal, maximum: Decimal) -> Decimal:
    return round_points(points * HUNDRED / maximum) if maximum > 0 else ZERO


def pct_hundredths(points: int, maximum: int) -> int:
    """`pct` on integer hundredths, in integer arithmetic (half-up; points are never negative)."""
    return (points * 20_000 + maximum) // (2 * maximum) if maximum > 0 else 0


# --- a group's published figures ------------------------------------------------------------------


@dataclass
class UnitTotals:
    """What publication needs of one assessment, summed from its appraised scores."""

    assessment_id: int
    unit_code: str
    unit_name: str
    group: str
    self_total: Decimal
    appraised_total: Decimal
    applicable_max: Decimal
    bonus: Decimal
    penalty: Decimal
    on_time: bool
    fields: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)  # code → (points, max)


@dataclass
class UnitOutcome:
    totals: UnitTotals
    index: Decimal
    class_code: str
    class_name: str
    rank: int
    prev_index: Decimal | None = None
    prev_rank: int | None = None

    @property
    def index_change(self) -> Decimal | None:
        return None if self.prev_index is None else self.index - self.prev_index

    @property
    def rank_change(self) -> int | None:
        """Places gained since last year (positive = moved up)."""
        return None if self.prev_rank is None else self.prev_rank - self.rank


def outcomes(
    totals: Sequence[UnitTotals],
    bands: Mapping[str, Sequence[ClassBand]],
    previous: Mapping[str, tuple[Decimal, int]] | None = None,
) -> list[UnitOutcome]:
    """Index, class and rank in group for every unit; `bands` per group, `previous` per unit code."""
    previous = previous or {}
    result: list[UnitOutcome] = []
    groups: dict[str, list[UnitTotals]] = {}
    for t in totals:
        groups.setdefault(t.group, []).append(t)
    for group, members in groups.items():
        indexes = [index_pct(t.appraised_total, t.bonus, t.penalty, t.applicable_max) for t in members]
        ranks = competition_ranks(indexes)
        for t, index, rank in zip(members, indexes, ranks, strict=True):
            band = classify(index, bands[group])
            prev = previous.get(t.unit_code)
            result.append(
                UnitOutcome(
                    totals=t,
                    index=index,
                    class_code=band.code,
                    class_name=band.name,
                    rank=rank,
                    prev_index=prev[0] if prev else None,
                    prev_rank=prev[1] if prev else None,
                )
            )
    result.sort(key=lambda o: (o.totals.group, o.rank, o.totals.unit_code))
    return result


@dataclass
class GroupStats:
    group: str
    count: int
    by_class: dict[str, int]
    average: Decimal
    best_unit: str
    best_index: Decimal
    field_averages: dict[str, Decimal]
    fields_over_90: int


def group_statistics(members: Sequence[UnitOutcome], bands: Sequence[ClassBand]) -> GroupStats:
    """Count per class, average index, best unit, field averages and fields averaging over 90 %."""
    assert members, "a group with no unit has no statistics"
    by_class = {band.code: 0 for band in bands}
    for m in members:
        by_class[m.class_code] += 1
    average = round_points(sum((m.index for m in members), ZERO) / len(members))
    best = max(members, key=lambda m: (m.index, -m.rank))
    field_pcts: dict[str, list[Decimal]] = {}
    for m in members:
        for code, (points, maximum) in m.totals.fields.items():
            if maximum > 0:
                field_pcts.setdefault(code, []).append(points * HUNDRED / maximum)
    field_averages = {
        code: round_points(sum(values, Decimal(0)) / len(values)) for code, values in sorted(field_pcts.items())
    }
    return GroupStats(
        group=members[0].totals.group,
        count=len(members),
        by_class=by_class,
        average=average,
        best_unit=best.totals.unit_code,
        best_index=best.index,
        field_averages=field_averages,
        fields_over_90=sum(1 for v in field_averages.values() if v > 90),
    )
