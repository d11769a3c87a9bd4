"""Proving the results from the audit trail: the tables recomputed from the events, and checkpoints of the
chain's head signed outside the database.

The hash chain (models/audit.py) proves that no event was edited, deleted or inserted among the others.
It does not prove the tables: a published index or a score edited directly in the database leaves the
chain intact. So `cchc audit verify` also replays the events and compares every row they decide:

- each assessment's state, each cycle's phase, each commitment's and follow-up's state: the `to_state` of
  the last event of that record;
- each assessment's scores: the digests of its self-assessment and of its appraised points carried by the
  move that froze them (models/proof.py), while they are frozen;
- each bonus and penalty: the adjust and revoke events replayed;
- each publication: its digest recorded by the publish event, recomputed from the stored result rows, and
  each unit's index, class and rank recorded by its move to `published`.

And a chain can be rewritten whole (every later hash recomputed) or cut short with its head moved back:
nothing inside one database can tell. A checkpoint is the head (seq and full hash) signed with the
installation's Ed25519 key (models/attest.py) and kept outside the database — written at each publication
and on demand, printed in full, given to an inspector; `cchc audit verify --against FILE|HASH` and the
checkpoints kept beside the store then catch a trail that no longer holds that head.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import text
from sqlalchemy.orm import Session

from cchc.config.settings import get_settings
from cchc.flows.runtime import engine_for, now
from cchc.models import attest
from cchc.models.audit import GENESIS, Verification, verify
from cchc.models.db import read_session
from cchc.models.errors import UserError
from cchc.models.formats import vn_number
from cchc.models.i18n import N_, tr
from cchc.models.proof import digest_of_lines, imported_digest, score_digests
from cchc.models.types import from_hundredths
from cchc.states.assessment import AssessmentState as S
from cchc.states.labels import state_word

CHECKPOINT_FORMAT = "cchc-checkpoint/1"
SELF_FROZEN = frozenset({S.submitted, S.appraised, S.supplemented, S.published, S.awarded})
APPRAISED_FROZEN = frozenset({S.appraised, S.supplement_requested, S.supplemented, S.published, S.awarded})
FOLLOW_UPS = ("remediation", "breakthrough")
RECORD_WORDS = {
    "cycle": N_("the cycle"),
    "commitment": N_("the commitment"),
    "remediation": N_("the remediation plan"),
    "breakthrough": N_("the breakthrough registration"),
}


@dataclass
class TableCheck:
    """What the replay compared, and every row that differs from the trail."""

    assessments: int = 0
    scores: int = 0
    adjustments: int = 0
    publications: int = 0
    records: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass
class Report:
    chain: Verification
    tables: TableCheck
    checkpoints: list[str] = field(default_factory=list)  # the checkpoints the head was checked against
    problems: list[str] = field(default_factory=list)  # all of them: the chain's, the tables', the checkpoints'

    @property
    def ok(self) -> bool:
        return not self.problems


# --- the replay -------------------------------------------------------------------------------------


@dataclass
class _Expected:
    states: dict[tuple[str, int | None, str], tuple[str, int]] = field(default_factory=dict)
    digests: dict[tuple[int | None, str], dict[str, tuple[str, int]]] = field(default_factory=dict)
    adjustments: dict[tuple[int | None, str], dict[str, tuple[str, int, bool]]] = field(default_factory=dict)
    publications: dict[tuple[int | None, int], tuple[str, int]] = field(default_factory=dict)
    published: dict[tuple[int | None, int, str], tuple[str, str, int, int]] = field(default_factory=dict)
    imported: set[int | None] = field(default_factory=set)  # years whose results were imported, not run


_EVENTS = text(
    "SELECT seq, kind, trigger, cycle_year, unit_code, to_state, payload FROM audit_event "
    "WHERE kind IN ('transition', 'cycle', 'commitment', 'remediation', 'breakthrough', 'adjustment', "
    "'publication') ORDER BY seq"
)


def _replay(session: Session) -> _Expected:
    expected = _Expected()
    rows = session.connection().execution_options(yield_per=5_000).execute(_EVENTS)
    for seq, kind, trigger, year, unit, to_state, payload in rows:
        if kind == "adjustment":
            facts = json.loads(payload)
            points = abs(Decimal(str(facts.get("points", "0")).replace("−", "-")))
            items = expected.adjustments.setdefault((year, unit), {})
            items[str(facts.get("item"))] = (str(facts.get("kind")), int(points * 100), trigger == "revoke_adjustment")
            continue
        if kind == "publication":
            facts = json.loads(payload)
            if trigger == "publish":
                expected.publications[(year, int(facts["version"]))] = (str(facts["digest"]), seq)
            elif trigger == "import_results":  # a past year's published results: its version 1, no moves
                expected.publications[(year, 1)] = (str(facts["digest"]), seq)
                expected.imported.add(year)
            continue
        if to_state:
            expected.states[(kind, year, unit or "")] = (to_state, seq)
        if kind == "transition" and payload and payload != "{}":
            facts = json.loads(payload)
            scores = facts.get("scores")
            if isinstance(scores, dict):
                kept = expected.digests.setdefault((year, unit or ""), {})
                for part in ("self", "appraised"):
                    if part in scores:
                        kept[part] = (str(scores[part]), seq)
            if trigger == "publish" and "version" in facts:
                index = int(Decimal(str(facts["index"])) * 100)
                expected.published[(year, int(facts["version"]), unit or "")] = (
                    str(facts["class"]),
                    str(index),
                    int(facts["rank"]),
                    seq,
                )
    return expected


def _pts(raw: object) -> str:
    return vn_number(from_hundredths(int(raw))) if raw is not None else "—"  # type: ignore[call-overload]


def check_tables(session: Session, *, max_problems: int = 50) -> TableCheck:
    """Every row the events decide, compared with them (see the module's docstring)."""
    expected = _replay(session)
    check = TableCheck()
    problems = check.problems
    connection = session.connection()

    def differs(line: str) -> None:
        if len(problems) < max_problems:
            problems.append(line)

    # states of assessments
    assessments = connection.execute(
        text(
            "SELECT a.id, c.year, u.code, a.state FROM assessment a JOIN cycle c ON c.id = a.cycle_id "
            "JOIN unit u ON u.id = a.unit_id ORDER BY c.year, u.code"
        )
    ).all()
    seen: set[tuple[str, int | None, str]] = set()
    frozen_self: dict[int, tuple[int, str]] = {}
    frozen_appraised: dict[int, tuple[int, str]] = {}
    for aid, year, unit, state in assessments:
        if year in expected.imported:
            continue  # made by the import of the year's results, which its publication's digest covers
        check.assessments += 1
        key = ("transition", year, unit)
        seen.add(key)
        recorded = expected.states.get(key)
        if recorded is None:
            differs(
                tr(
                    "{unit} ({year}): its assessment has no event in the trail: it was added outside cchc",
                    unit=unit,
                    year=year,
                )
            )
            continue
        if recorded[0] != state:
            differs(
                tr(
                    "{unit} ({year}): the assessment is '{state}' in the table, but '{recorded}' after event #{seq}",
                    unit=unit,
                    year=year,
                    state=state_word(state),
                    recorded=state_word(recorded[0]),
                    seq=recorded[1],
                )
            )
        if state in SELF_FROZEN:
            frozen_self[aid] = (year, unit)
        if state in APPRAISED_FROZEN:
            frozen_appraised[aid] = (year, unit)
    for key in sorted(k for k in expected.states if k[0] == "transition" and k not in seen):
        differs(
            tr(
                "{unit} ({year}): the trail records its assessment (event #{seq}), the table has none: it was deleted",
                unit=key[2],
                year=key[1],
                seq=expected.states[key][1],
            )
        )

    # scores, while a move keeps them frozen
    digests = score_digests(session, set(frozen_self) | set(frozen_appraised))
    for part, frozen, words in (
        ("self", frozen_self, N_("the self-assessment")),
        ("appraised", frozen_appraised, N_("the appraisal")),
    ):
        for aid, (year, unit) in sorted(frozen.items(), key=lambda x: x[1]):
            recorded_digest = expected.digests.get((year, unit), {}).get(part)
            if recorded_digest is None:
                continue  # frozen before the trail recorded digests: nothing to compare with
            check.scores += 1
            if digests[aid][part] != recorded_digest[0]:
                differs(
                    tr(
                        "{unit} ({year}): {what} differs from what event #{seq} recorded: a score was changed "
                        "outside cchc",
                        unit=unit,
                        year=year,
                        what=tr(words),
                        seq=recorded_digest[1],
                    )
                )

    # bonuses and penalties
    stored: dict[tuple[int | None, str], dict[str, tuple[str, int, bool]]] = {}
    for year, unit, item, kind, points, revoked in connection.execute(
        text(
            "SELECT c.year, u.code, j.item_code, j.kind, j.points, j.revoked FROM adjustment j "
            "JOIN assessment a ON a.id = j.assessment_id JOIN cycle c ON c.id = a.cycle_id "
            "JOIN unit u ON u.id = a.unit_id"
        )
    ):
        stored.setdefault((year, unit), {})[item] = (kind, int(points), bool(revoked))
    for unit_key in sorted(set(stored) | set(expected.adjustments), key=lambda k: (k[0] or 0, k[1])):
        mine, theirs = stored.get(unit_key, {}), expected.adjustments.get(unit_key, {})
        for item in sorted(set(mine) | set(theirs)):
            check.adjustments += 1
            if mine.get(item) != theirs.get(item):
                differs(
                    tr(
                        "{unit} ({year}): the bonus or penalty {item} is {table} in the table, {trail} by the trail",
                        unit=unit_key[1],
                        year=unit_key[0],
                        item=item,
                        table=_adjustment(mine.get(item)),
                        trail=_adjustment(theirs.get(item)),
                    )
                )

    # other records with a state: cycles, commitments, follow-ups
    records = [
        ("cycle", "SELECT c.year, '', c.phase FROM cycle c"),
        (
            "commitment",
            "SELECT c.year, u.code, m.state FROM commitment m JOIN cycle c ON c.id = m.cycle_id "
            "JOIN unit u ON u.id = m.unit_id",
        ),
        *(
            (
                kind,
                "SELECT c.year, u.code, f.state FROM follow_up f JOIN cycle c ON c.id = f.cycle_id "
                f"JOIN unit u ON u.id = f.unit_id WHERE f.kind = '{kind}'",
            )
            for kind in FOLLOW_UPS
        ),
    ]
    for kind, sql in records:
        for year, unit, state in connection.execute(text(sql)):
            check.records += 1
            recorded = expected.states.get((kind, year, unit))
            if recorded is not None and recorded[0] != state:
                differs(
                    tr(
                        "{what} of {unit} ({year}) is '{state}' in the table, but '{recorded}' after event #{seq}",
                        what=tr(RECORD_WORDS[kind]),
                        unit=unit or "—",
                        year=year,
                        state=state_word(state),
                        recorded=state_word(recorded[0]),
                        seq=recorded[1],
                    )
                )

    # publications
    for pid, year, version, digest in connection.execute(
        text("SELECT p.id, c.year, p.version, p.digest FROM publication p JOIN cycle c ON c.id = p.cycle_id")
    ).all():
        check.publications += 1
        recorded_pub = expected.publications.get((year, version))
        if recorded_pub is None:
            differs(
                tr("publication {version} of {year}: no event of the trail published it", version=version, year=year)
            )
            continue
        rows_digest, lines = _stored_publication(session, pid, imported=year in expected.imported)
        if digest != recorded_pub[0] or rows_digest != recorded_pub[0]:
            differs(
                tr(
                    "publication {version} of {year}: its results are not those published by event #{seq}",
                    version=version,
                    year=year,
                    seq=recorded_pub[1],
                )
            )
        for unit, (index, class_code, rank) in sorted(lines.items()):
            said = expected.published.get((year, version, unit))
            if said is not None and (class_code, str(index), rank) != said[:3]:
                differs(
                    tr(
                        "{unit} ({year}, publication {version}): index {index}, {klass}, rank {rank} in the table; "
                        "{r_index}, {r_klass}, rank {r_rank} published by event #{seq}",
                        unit=unit,
                        year=year,
                        version=version,
                        index=_pts(index),
                        klass=class_code,
                        rank=rank,
                        r_index=_pts(int(said[1])),
                        r_klass=said[0],
                        r_rank=said[2],
                        seq=said[3],
                    )
                )
    return check


def _adjustment(value: tuple[str, int, bool] | None) -> str:
    if value is None:
        return tr("absent")
    kind, points, revoked = value
    text_ = f"{kind} {_pts(points)}"
    return f"{text_} ({tr('revoked')})" if revoked else text_


def _stored_publication(
    session: Session, publication_id: int, *, imported: bool = False
) -> tuple[str, dict[str, tuple[int, str, int]]]:
    """The digest of a publication as its stored rows say (an imported year's as its import computed it),
    and each unit's (index, class, rank)."""
    connection = session.connection()
    fields: dict[int, dict[str, tuple[Decimal, Decimal]]] = {}
    for aid, code, points, maximum in connection.execute(
        text("SELECT assessment_id, field_code, points, max_points FROM field_result WHERE publication_id = :p"),
        {"p": publication_id},
    ):
        fields.setdefault(aid, {})[code] = (from_hundredths(points), from_hundredths(maximum))

    def d(raw: int | None) -> Decimal | None:
        return None if raw is None else from_hundredths(raw)

    lines = []
    ranks: dict[str, tuple[int, str, int]] = {}
    for row in connection.execute(
        text(
            "SELECT u.code, r.group_code, r.self_total, r.appraised_total, r.bonus, r.penalty, r.applicable_max, "
            "r.index_pct, r.class_code, r.rank, r.on_time, r.assessment_id, r.prev_index_pct, r.prev_rank "
            "FROM result r JOIN unit u ON u.id = r.unit_id WHERE r.publication_id = :p"
        ),
        {"p": publication_id},
    ):
        code, group, st, at_, bonus, penalty, mx, index, klass, rank, on_time, aid, prev_index, prev_rank = row
        lines.append(
            (
                code,
                group,
                d(st),
                d(at_),
                d(bonus),
                d(penalty),
                d(mx),
                d(index),
                klass,
                rank,
                bool(on_time),
                fields.get(aid, {}),
                d(prev_index),
                prev_rank,
            )
        )
        ranks[code] = (int(index), klass, int(rank))
    if imported:
        return imported_digest((str(x[0]), x[7], str(x[8])) for x in lines), ranks  # type: ignore[misc]
    return digest_of_lines(lines), ranks


# --- checkpoints ------------------------------------------------------------------------------------


def _trail_id(session: Session) -> str:
    """What names a trail: the hash of its first event (a checkpoint of another database is not compared)."""
    first = session.execute(text("SELECT hash FROM audit_event WHERE seq = 1")).scalar()
    return str(first or GENESIS)


def signing_key() -> Any:
    try:
        return attest.load_or_create(get_settings().signing_key_path, create=True)
    except ValueError as exc:
        raise UserError(tr("cannot sign: {why}", why=str(exc))) from None


def trusted_key(public: str | None = None) -> Ed25519PublicKey:
    """The key a checkpoint or a backup must be signed by: the one given (`ed25519:…`, a PEM, or a file
    holding either), else this installation's own."""
    if public:
        candidate = Path(public)
        value = candidate.read_text(encoding="utf-8") if candidate.is_file() else public
        try:
            return attest.parse_public(value)
        except ValueError as exc:
            raise UserError(tr("--public-key: {why}", why=str(exc))) from None
    try:
        return attest.load_or_create(get_settings().signing_key_path, create=False).public_key()
    except ValueError as exc:
        raise UserError(
            tr("cannot verify a signature: {why}; give the signer's public key with --public-key", why=str(exc))
        ) from None


def public_key_line() -> str:
    """This installation's public key, to hand to an inspector (`cchc audit key`)."""
    return attest.public_text(signing_key().public_key())


@dataclass
class Checkpoint:
    path: Path
    document: dict[str, Any]


def write_checkpoint(database_url: str | None, reason: str = "", at: datetime | None = None) -> Checkpoint:
    """Sign the chain's head (after verifying the chain) and keep it in the checkpoint folder."""
    moment = at or now()
    with read_session(engine_for(database_url)) as session:
        proved = _last_proved(_trail_id(session))
        chain = verify(session, since=proved)
        if not chain.ok and proved is not None:  # say what is wrong from the first event (audit verify's words)
            chain = verify(session)
        if not chain.ok:
            raise UserError(tr("the audit trail is broken; no checkpoint is written: {why}", why=chain.problems[0]))
        document = {
            "format": CHECKPOINT_FORMAT,
            "trail": _trail_id(session),
            "seq": chain.head_seq,
            "hash": chain.head_hash,
            "events": chain.events,
            "at": moment.isoformat(),
            "reason": reason,
        }
    signed = attest.signed(document, signing_key())
    folder = get_settings().checkpoints_path
    name = f"checkpoint-{chain.head_seq:09d}-{moment:%Y%m%dT%H%M%S}.json"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".checkpoint-", suffix=".partial")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(signed, out, indent=1, sort_keys=True)
            out.write("\n")
        os.replace(tmp, folder / name)
    except OSError as exc:
        raise UserError(tr("cannot keep the checkpoint in {folder}: {why}", folder=folder, why=exc.strerror)) from None
    return Checkpoint(folder / name, signed)


def _last_proved(trail: str) -> tuple[int, str] | None:
    """The newest checkpoint kept for this trail that this installation signed: (seq, hash). A new checkpoint
    recomputes the chain from there (the publication of 10,000 units would otherwise recompute its 70,000
    events); `cchc audit verify` still recomputes every one."""
    try:
        key = signing_key().public_key()
    except UserError:
        return None
    for _path, document in reversed(list(_kept_checkpoints())):
        if document.get("format") != CHECKPOINT_FORMAT or document.get("trail") != trail:
            continue
        try:
            attest.check(document, key)
        except attest.SignatureError:
            continue
        return int(document["seq"]), str(document["hash"])
    return None


def _kept_checkpoints() -> Iterator[tuple[Path, dict[str, Any]]]:
    folder = get_settings().checkpoints_path
    if not folder.is_dir():
        return
    for path in sorted(folder.glob("checkpoint-*.json")):
        try:
            yield path, json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            yield path, {}


def _against(session: Session, seq: int | None, hash_: str, where: str) -> str | None:
    """Why the trail does not hold the head `seq`/`hash_` (None when it does)."""
    if seq is None:
        found = session.execute(text("SELECT seq FROM audit_event WHERE hash = :h"), {"h": hash_}).scalar()
        if found is None:
            return tr(
                "{where}: no event of the trail has the hash {hash}: the trail was rewritten or cut short",
                where=where,
                hash=hash_,
            )
        return None
    stored = session.execute(text("SELECT hash FROM audit_event WHERE seq = :s"), {"s": seq}).scalar()
    if stored is None:
        last = session.execute(text("SELECT MAX(seq) FROM audit_event")).scalar() or 0
        return tr(
            "{where}: the checkpoint names event #{seq}, the trail ends at #{last}: events were deleted",
            where=where,
            seq=seq,
            last=last,
        )
    if stored != hash_:
        return tr(
            "{where}: event #{seq} has the hash {stored}, the checkpoint says {hash}: the trail was rewritten",
            where=where,
            seq=seq,
            stored=stored,
            hash=hash_,
        )
    return None


def verify_all(database_url: str | None, against: str | None = None, public: str | None = None) -> Report:
    """The chain, the tables replayed from it, and the head checked against the checkpoints: the one given
    (a checkpoint file, or a 64-digit hash) and every one kept beside the store for this trail."""
    if public:
        trusted_key(public)  # a key that does not parse is said before anything else
    with read_session(engine_for(database_url)) as session:
        chain = verify(session)
        tables = check_tables(session)
        report = Report(chain, tables, problems=[*chain.problems, *tables.problems])
        trail = _trail_id(session)
        targets: list[tuple[str, dict[str, Any] | None, str | None]] = []
        if against:
            candidate = Path(against)
            if candidate.is_file():
                try:
                    targets.append((candidate.name, json.loads(candidate.read_text(encoding="utf-8")), None))
                except (OSError, ValueError):
                    raise UserError(
                        tr("{path}: not a checkpoint (JSON) written by `cchc audit checkpoint`", path=against)
                    ) from None
            elif len(against.strip()) == 64 and all(c in "0123456789abcdef" for c in against.strip().lower()):
                targets.append((against.strip()[:16] + "…", None, against.strip().lower()))
            else:
                raise UserError(
                    tr("--against: {value} is neither a checkpoint file nor a 64-digit hash", value=against)
                )
        kept = [(p.name, doc, None) for p, doc in _kept_checkpoints() if doc.get("trail") == trail]
        key: Ed25519PublicKey | None = None
        for where, document, hash_ in [*targets, *kept]:
            report.checkpoints.append(where)
            if document is None:
                problem = _against(session, None, str(hash_), where)
            else:
                if document.get("format") != CHECKPOINT_FORMAT:
                    report.problems.append(
                        tr("{where}: not a checkpoint written by `cchc audit checkpoint`", where=where)
                    )
                    continue
                key = key or trusted_key(public)
                try:
                    attest.check(document, key)
                except attest.SignatureError as exc:
                    report.problems.append(
                        tr("{where}: the checkpoint cannot be trusted: {why}", where=where, why=str(exc))
                    )
                    continue
                problem = _against(session, int(document["seq"]), str(document["hash"]), where)
            if problem:
                report.problems.append(problem)
        return report
