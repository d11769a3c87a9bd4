"""Property-based: whatever a user types on the command line, `cchc` does it, or refuses it in one clear
message that says where the problem is, with a non-zero exit — never a traceback, never an exception's
name, and never a half-written database (every table's rows are the same after a refusal)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from factories import COORDINATOR, fingerprint, fuzz, load_sample_org, open_2021, scalar
from hypothesis import example, given
from hypothesis import strategies as st
from test_cli import cchc, runner

from cchc.flows.cli import app

pytestmark = pytest.mark.usefixtures("prefect_harness")
FUZZ = fuzz(max_examples=20)
APPRAISER = "pv01.appr1"
FOCAL = "cmg.focal"  # CAH-CMG's focal officer
DIRECTOR = "gd"
# What must never reach a user: a traceback, the fallback for an unknown exception, an exception's class or
# module, SQL.
LEAK = re.compile(
    r"Traceback|Lỗi không mong đợi|--debug để xem chi tiết|\b[A-Z]\w*(Error|Exception|Warning)\b|\w+\(\"|"
    r"\b(sqlalchemy|psycopg|sqlite3|pydantic|click|typer)\.|\[SQL:|Background on this error"
)
BOX = re.compile(r"[─│╭╮╰╯]")


def said(output: str) -> str:
    """What a command said, without the note that Prefect is starting."""
    return "\n".join(line for line in output.splitlines() if not line.startswith("Running through Prefect"))


def flat(text: str) -> str:
    """Text without rich's boxes and line breaks, nor the control characters it leaves out, to look for a
    name in it."""
    return "".join(c for c in BOX.sub("", text) if not c.isspace() and unicodedata.category(c) not in ("Cc", "Cf"))


def taken_or_refused(url: str, args: list[str], *names: str, input: str | None = None) -> bool:
    """Run `cchc args`: it succeeds, or it exits non-zero with one short message naming one of `names` (the
    option, the value, the thing refused), and then every table is as it was. True when it succeeded."""
    before = fingerprint(url)
    if input is None:
        code, output = cchc(url, *args)
    else:
        result = runner.invoke(app, ["--database-url", url, *args], input=input)
        code, output = result.exit_code, result.output
    text = said(output)
    assert not LEAK.search(text), text
    if code == 0:
        return True
    assert code in (1, 2), (code, text)
    assert 0 < len([line for line in text.splitlines() if line.strip()]) <= 12, text
    assert text.lstrip().startswith(("error:", "refused:", "Usage:")), text
    wanted = {flat(n) for name in names for n in (name, repr(name), repr(name)[1:-1])} - {""}
    assert not wanted or any(n in flat(text) for n in wanted), (names, text)
    assert fingerprint(url) == before, f"refused, yet something was written: {args}\n{text}"
    return False


def cycle_in_self_assessment(url: str) -> None:
    """The sample organisation's 2021 cycle in self-assessment, made by the first example of a test."""
    if not scalar(url, "SELECT count(*) FROM cycle"):
        open_2021(url)


# --- what users type --------------------------------------------------------------------------------

NFD = "NFD"
VIETNAMESE = ["Cư M'gar", "Đắk Lắk", "Buôn Ma Thuột", "Gia hạn vì lũ lụt", "Kế hoạch cải cách hành chính"]
EDGES = [
    "",
    " ",
    "x" * 3000,
    "[red]đỏ[/red]",
    "[/]",
    "[bold]",
    "\x1b[31m",
    "a\tb",
    "dòng 1\ndòng 2",
    "\r\n",
    "\x7f",
    "\u200b",
    "\ufeff",
    "A\u0300",
    "😀",
    "'; DROP TABLE unit; --",
    "%s %d {0}",
    "\\",
    "-",
    "--",
    "\udcff",  # a byte that is not UTF-8, as Python hands it over from a terminal set to another encoding
    "\udcc3\udca9",
]
# Arguments are C strings: a NUL cannot be in one. Lone surrogates only come from undecodable bytes (above).
characters = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
free_text = st.one_of(
    st.sampled_from(EDGES + VIETNAMESE + [unicodedata.normalize(NFD, v) for v in VIETNAMESE]),
    st.text(characters, max_size=40),
)
UNITS = ["CAH-CMG", "cah-cmg", " CAH-CMG", "CAH-CMG\u0300", "CAH-CMG-TH", "PV01", "CAT", "XYZ"]
units = st.one_of(st.sampled_from(UNITS), free_text)


# --- years and versions -----------------------------------------------------------------------------

YEAR_COMMANDS = [
    (["cycle", "status"], "--year"),
    (["ranking"], "--year"),
    (["ranking", "--year", "2021"], "--version"),
    (["results", "compare"], "--year"),
    (["commitments", "status"], "--year"),
    (["audit", "log", "--unit", "CAH-CMG"], "--year"),
    (["remediation", "status"], "--year"),
    (["evidence", "list", "--unit", "CAH-CMG"], "--year"),
    (["cycle", "open", "--from", "2021", "--as", COORDINATOR], "--year"),
    (["cycle", "open", "--year", "2022", "--as", COORDINATOR], "--from"),
    (["cycle", "advance", "--as", COORDINATOR], "--year"),
    (["publish", "--as", COORDINATOR], "--year"),
    (["awards", "--as", DIRECTOR], "--year"),
]
numbers = st.one_of(
    st.integers(min_value=-(10**25), max_value=10**25).map(str),
    st.integers(min_value=1990, max_value=2030).map(str),
    st.sampled_from(
        ["0", "-1", "9999", "10000", "99999999999999999999", "2021.0", "２０２１", "1e3", "", " ", "abc", "0x7e5", "-0"]
    ),
)


@FUZZ
@given(command=st.sampled_from(YEAR_COMMANDS), value=numbers)
@example(command=YEAR_COMMANDS[0], value="99999999999999999999")  # SQLite cannot bind it: was an OverflowError
@example(command=YEAR_COMMANDS[2], value="99999999999999999999")
@example(command=YEAR_COMMANDS[8], value="9999")  # carried forward past 9999: named per entry of the calendar
def test_a_year_or_a_version_is_taken_or_refused_in_one_message(
    db_url: str, command: tuple[list[str], str], value: str
) -> None:
    cycle_in_self_assessment(db_url)
    args, option = command
    taken_or_refused(db_url, [*args, option, value], option, value, "cycle")


# --- dates and moments ------------------------------------------------------------------------------

MOMENT_COMMANDS = [
    (["extend", "--unit", "CAH-CMG", "--phase", "submission", "--reason", "Lũ lụt", "--as", COORDINATOR], "--until"),
    (["extend", "--unit", "CAH-CMG", "--phase", "plan", "--reason", "Lũ lụt", "--as", COORDINATOR], "--until"),
    (["sweep", "--year", "2021"], "--as-of"),
    (["supplement", "request", "--unit", "CAH-CMG", "--note", "Bổ sung", "--as", APPRAISER], "--due"),
    (
        ["contributors", "assign", "--unit", "CAH-CMG", "--contributor", "CAH-CMG-TH", "--criteria", "1.1.1"]
        + ["--as", FOCAL],
        "--due",
    ),
    (["commitments", "paper", "--unit", "CAT", "--scan", "/nonexistent/scan.pdf", "--as", COORDINATOR], "--signed-on"),
]
offsets = st.builds(timezone, st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23)))
instants = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59))
moments = st.one_of(
    st.sampled_from(
        [
            "31/08/2021",
            "31/08/2021 08:00",
            "2021-08-31 08:00",
            "2021-08-31T08:00:00+07:00",
            "01/01/0001",
            "1/1/1",
            "0001-01-01T00:00:00+14:00",
            "9999-12-31T23:59:59-12:00",
            "31/12/9999 23:59",
            "29/02/2021",
            "31/08/2021 25:00",
            "３１/０８/２０２１",
            "mai",
            "",
        ]
    ),
    st.builds(lambda d, f: d.strftime(f), instants, st.sampled_from(["%d/%m/%Y", "%d/%m/%Y %H:%M", "%Y-%m-%d %H:%M"])),
    st.builds(lambda d, tz: d.replace(tzinfo=tz).isoformat(), instants, st.none() | offsets),
    free_text,
)


@FUZZ
@given(command=st.sampled_from(MOMENT_COMMANDS), value=moments)
@example(command=MOMENT_COMMANDS[2], value="01/01/0001")  # before year 1 in UTC: was an OverflowError
@example(command=MOMENT_COMMANDS[0], value="9999-12-31T23:59:59-12:00")  # after 9999 in UTC: the same
@example(command=MOMENT_COMMANDS[3], value="0001-01-01T00:00:00+14:00")
def test_a_date_or_a_moment_is_taken_or_refused_in_one_message(
    db_url: str, command: tuple[list[str], str], value: str
) -> None:
    cycle_in_self_assessment(db_url)
    args, option = command
    taken_or_refused(db_url, [*args, option, value], option, value, "CAH-CMG", "CAT", "deadline", "/nonexistent")


# --- document references ----------------------------------------------------------------------------

REF_COMMANDS = [
    ["plan", "register", "--unit", "CAH-CMG", "--as", FOCAL],
    ["remediation", "submit", "--unit", "CAH-CMG", "--as", FOCAL],
    ["award-decision", "--unit", "CAH-CMG", "--rule", "group_leader", "--decision", "approved", "--as", DIRECTOR],
    ["evidence", "add", "--unit", "CAH-CMG", "--file", "{file}", "--as", FOCAL],
]
references = st.one_of(
    st.builds(
        "{}/{}-{} ngày {}/{}/{} {}".format,
        st.sampled_from(["91", "1", "0", "999999", "1234567", "", "x"]),
        st.sampled_from(["KH", "QĐ", "TTr", "kh", "qđ", "Q\u0110", "QD", ""]),
        st.sampled_from(["CAH", "CAT", "CAH-CMG", "cah", "X" * 40, "Đ&.-", ""]),
        st.integers(min_value=0, max_value=40),
        st.integers(min_value=0, max_value=13),
        st.sampled_from([2021, 1, 9999, 10000, 0, 2022]),
        free_text,
    ),
    st.sampled_from(["91/KH-CAH ngày 30/6/2021", "125/QĐ-CAT ngày 30/9/2021 Quyết định khen thưởng", "91/KH-CAH"]),
    free_text,
)
normalised = st.sampled_from(["NFC", "NFD", None])


@FUZZ
@given(command=st.sampled_from(REF_COMMANDS), ref=references, form=normalised)
@example(command=REF_COMMANDS[0], ref="1/KH-X ngày 1/1/2021 [/]", form=None)  # was written, then a MarkupError
@example(command=REF_COMMANDS[0], ref="91/KH-CAH ngày 30/6/2021 " + "Kế hoạch " * 20, form=None)  # > plan_ref
def test_a_document_reference_is_taken_or_refused_in_one_message(
    db_url: str, tmp_path: Path, command: list[str], ref: str, form: str | None
) -> None:
    cycle_in_self_assessment(db_url)
    scan = tmp_path / "van-ban.pdf"
    scan.write_bytes(b"%PDF-1.4 fuzz\n")
    value = unicodedata.normalize(form, ref) if form else ref
    args = [a.replace("{file}", str(scan)) for a in command]
    if taken_or_refused(db_url, [*args, "--ref", value], "--ref", value, "CAH-CMG"):
        assert cchc(db_url, "audit", "log", "--unit", "CAH-CMG")[0] == 0, "what was written cannot be shown"
        assert cchc(db_url, "evidence", "list", "--unit", "CAH-CMG")[0] == 0


# --- units, people and free text ---------------------------------------------------------------------

# (the command, the option fuzzed, what else a refusal may name: the thing refused for another reason)
TEXT_COMMANDS = [
    (["audit", "log"], "--unit", ""),
    (["evidence", "list"], "--unit", ""),
    (["withdraw", "--as", FOCAL], "--unit", ""),
    (["plan", "register", "--ref", "91/KH-CAH ngày 30/6/2021", "--as", FOCAL], "--unit", ""),
    (["plan", "register", "--unit", "CAH-CMG", "--ref", "91/KH-CAH ngày 30/6/2021"], "--as", "CAH-CMG"),
    (
        ["extend", "--unit", "CAH-CMG", "--phase", "plan", "--until", "20/07/2021", "--as", COORDINATOR],
        "--reason",
        "CAH-CMG",
    ),
    (
        ["extend", "--unit", "CAH-CMG", "--until", "20/07/2021", "--reason", "Lũ", "--as", COORDINATOR],
        "--phase",
        "CAH-CMG",
    ),
    (["adjust", "--unit", "CAH-CMG", "--reason", "Thưởng", "--as", COORDINATOR], "--item", "CAH-CMG"),
    (["supplement", "request", "--unit", "CAH-CMG", "--as", APPRAISER], "--note", "CAH-CMG"),
    (["commitments", "decline", "--unit", "CAT", "--as", DIRECTOR], "--reason", "CAT"),
    (["commitments", "sign", "--as", DIRECTOR], "--token", "signing link"),
    (["report", "progress", "{dir}/tien-do.html"], "--period", ""),
    (["submit", "--as", FOCAL], "--unit", ""),
    (["supplement", "submit", "--as", FOCAL], "--unit", ""),
    (["supplement", "skip", "--as", APPRAISER], "--unit", ""),
    (["supplement", "close", "--reason", "Quá hạn", "--as", APPRAISER], "--unit", ""),
    (["reopen", "--reason", "Sửa", "--as", DIRECTOR], "--unit", ""),
    (["contributors", "status"], "--unit", ""),
    (["cycle", "advance", "--year", "2020", "--as", COORDINATOR], "--reason", "2020 cycle"),
    (["publish", "--year", "2020", "--as", COORDINATOR], "--reason", "2020 cycle"),
    (["commitments", "prepare", "--year", "2020"], "--as", "2020 cycle"),  # for 2021 it drafts them all (8 s)
    (["self-assessment", "export", "{dir}/bang.xlsx"], "--unit", ""),
    (["states"], "", "machine"),
    (["login", "invite", "--as", COORDINATOR], "--unit", ""),
    (["login", "revoke", "--as", COORDINATOR], "--person", ""),
    (["commitments", "link", "--as", COORDINATOR], "--unit", ""),
    (["audit", "verify"], "--against", ""),
    (["audit", "verify"], "--public-key", ""),
    (["audit", "checkpoint", "--out", "{dir}/moc.json"], "--reason", ""),
]


@FUZZ
@given(command=st.sampled_from(TEXT_COMMANDS), value=units)
@example(command=TEXT_COMMANDS[5], value="[/]")  # a reason that rich read as markup broke `audit log` for good
@example(command=TEXT_COMMANDS[0], value="\udcff")  # not UTF-8: was a UnicodeEncodeError
@example(command=TEXT_COMMANDS[10], value="")  # an empty token was taken for a unit named ""
def test_a_unit_a_person_or_a_text_is_taken_or_refused_in_one_message(
    db_url: str, tmp_path: Path, command: tuple[list[str], str, str], value: str
) -> None:
    cycle_in_self_assessment(db_url)
    args, option, refused = command
    args = [a.replace("{dir}", str(tmp_path)) for a in args]
    typed = [*args, option, value] if option else [*args, value]
    if taken_or_refused(db_url, typed, option, value, refused):
        assert cchc(db_url, "audit", "log", "--unit", "CAH-CMG")[0] == 0, "what was written cannot be shown"


LOGIN_SET = ["login", "set", "--as", COORDINATOR]


@FUZZ
@given(person=units, password=st.text(st.characters(exclude_categories=["Cs"]), max_size=30))
@example(person="pv01.coord1", password="[/] đủ mười ký tự")
def test_a_dashboard_password_from_standard_input_is_taken_or_refused_in_one_message(
    db_url: str, person: str, password: str
) -> None:
    if not scalar(db_url, "SELECT count(*) FROM person"):
        load_sample_org(db_url)
    taken_or_refused(
        db_url,
        [*LOGIN_SET, "--person", person],
        "--person",
        person,
        "password",
        input=password.replace("\n", " ") + "\n",
    )


# --- files -----------------------------------------------------------------------------------------

READ_COMMANDS = [
    ["org", "load", "{path}"],
    ["results", "import", "{path}", "--year", "2020", "--as", COORDINATOR],
    ["self-assessment", "import", "{path}", "--as", FOCAL],
    ["appraise", "--scores", "{path}", "--as", APPRAISER],
    ["evidence", "add", "--unit", "CAH-CMG", "--ref", "91/KH-CAH ngày 30/6/2021", "--file", "{path}", "--as", FOCAL],
    ["commitments", "paper", "--unit", "CAT", "--scan", "{path}", "--signed-on", "01/07/2021", "--as", COORDINATOR],
    ["restore", "{path}"],
    ["cycle", "open", "--year", "2022", "--calendar", "{path}", "--as", COORDINATOR],
    ["remediation", "require", "--rules", "{path}", "--as", COORDINATOR],
]
WRITE_COMMANDS = [
    ["backup", "{path}"],
    ["report", "progress", "{path}", "--period", "now"],
    ["report", "ranking", "{path}"],
    ["self-assessment", "export", "--unit", "CAH-CMG", "{path}"],
    ["appraisal", "export", "--unit", "CAH-CMG", "{path}"],
    ["commitments", "document", "--unit", "CAT", "--out", "{path}"],
]
SUFFIXES = ["", ".csv", ".CSV", ".xlsx", ".yaml", ".tar.gz", ".pdf", ".png", ".html", ".txt", ".xlsx.part"]
KINDS = ["missing", "directory", "bytes", "empty", "in a missing directory", "in a file", "long name", "Vietnamese"]


def a_path(base: Path, kind: str, suffix: str, data: bytes) -> Path:
    """A path of the given kind under `base`, made as a user might have it."""
    base.mkdir()
    if kind == "missing":
        return base / f"khong-co{suffix}"
    if kind == "directory":
        (base / f"thu-muc{suffix}").mkdir()
        return base / f"thu-muc{suffix}"
    if kind == "in a missing directory":
        return base / "khong-co" / f"tep{suffix}"
    if kind == "in a file":
        (base / "tep").write_bytes(data)
        return base / "tep" / f"tep{suffix}"
    name = {"long name": "x" * (250 - len(suffix)), "Vietnamese": unicodedata.normalize(NFD, "Bảng điểm")}.get(
        kind, "tep"
    )
    path = base / f"{name}{suffix}"
    path.write_bytes(b"" if kind == "empty" else data)
    return path


@FUZZ
@given(
    command=st.sampled_from(READ_COMMANDS + WRITE_COMMANDS),
    kind=st.sampled_from(KINDS),
    suffix=st.sampled_from(SUFFIXES),
    data=st.binary(max_size=200),
)
@example(command=WRITE_COMMANDS[5], kind="bytes", suffix="", data=b"x")  # --out a file: was a FileExistsError
@example(command=WRITE_COMMANDS[5], kind="in a missing directory", suffix="", data=b"")  # was made, then refused
@example(command=READ_COMMANDS[4], kind="long name", suffix=".pdf", data=b"%PDF")  # kept as its first 200 characters
@example(command=WRITE_COMMANDS[0], kind="directory", suffix=".tar.gz", data=b"")  # was an IsADirectoryError
@example(command=WRITE_COMMANDS[0], kind="long name", suffix=".tar.gz", data=b"")  # its temporary name was too long
@example(command=WRITE_COMMANDS[2], kind="long name", suffix=".html", data=b"")
@example(command=WRITE_COMMANDS[1], kind="directory", suffix=".xlsx", data=b"")
@example(command=WRITE_COMMANDS[2], kind="directory", suffix=".html", data=b"")
@example(command=WRITE_COMMANDS[3], kind="directory", suffix=".xlsx", data=b"")
@example(command=WRITE_COMMANDS[4], kind="missing", suffix=".xlsx", data=b"")  # refused for the unit, not the file
def test_a_file_argument_is_taken_or_refused_in_one_message(
    db_url: str, tmp_path: Path, command: list[str], kind: str, suffix: str, data: bytes
) -> None:
    cycle_in_self_assessment(db_url)
    base = tmp_path / f"case-{len(list(tmp_path.glob('case-*')))}"
    path = a_path(base, kind, suffix, data)
    existed = path.exists()
    args = [a.replace("{path}", str(path)) for a in command]
    option = next((a for a, b in zip(args, args[1:], strict=False) if b == str(path) and a.startswith("--")), "")
    # a refusal names the file, or what else the command was given (a unit not ready to export, say)
    taken = taken_or_refused(db_url, args, option, str(path), path.name, str(path.parent), "CAT", "CAH-CMG", "2021")
    if not taken and command in WRITE_COMMANDS and not existed:
        assert not path.exists(), f"refused, yet {path} was written"
    if not taken and command in WRITE_COMMANDS:  # reports and backups write a hidden .part(ial) file first
        assert not [p for p in base.rglob(".*") if p.name.endswith((".part", ".partial"))], "a temporary file was left"


# --- the database, options and commands ----------------------------------------------------------------

URLS = [
    "foo",
    "",
    "sqlite://",
    "sqlite:////nonexistent/dir/cchc.db",
    "mysql://cchc@127.0.0.1/cchc",
    "postgresql://nobody@127.0.0.1:1/cchc",
    "postgresql+psycopg://nobody@127.0.0.1:1/cchc",
    "postgresql+psycopg://postgres@127.0.0.1:99999/cchc",
    "postgresql+psycopg://[::1",
    "oracle+cx://x",
    "sqlite:///cchc.db?mode=ro&foo=bar",
    "http://127.0.0.1/",
    "sqlite:///\udcff.db",
]


@FUZZ
@given(url=st.one_of(st.sampled_from(URLS), free_text), command=st.sampled_from([["cycle", "status"], ["init"]]))
@example(url="mysql://cchc@127.0.0.1/cchc", command=["cycle", "status"])  # no driver: was ModuleNotFoundError
@example(url="foo", command=["init"])  # not a URL: was an ArgumentError
def test_a_database_url_is_taken_or_refused_in_one_message(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, command: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # a relative SQLite file is made here, not in the project
    before = fingerprint(db_url)
    result = runner.invoke(app, ["--database-url", url, *command])
    text = said(result.output)
    assert not LEAK.search(text), text
    if result.exit_code:
        assert result.exit_code == 1 and text.startswith("error:") and len(text.splitlines()) <= 3, text
        named = ("database", "cơ sở dữ liệu", "cycle")  # a relative SQLite file made by `init` is a database
        assert any(word in text for word in named), text
    assert fingerprint(db_url) == before


printable = st.characters(categories=["L", "N", "P", "S"])  # what a user types as an option's name
OPTION_COMMANDS = [[], ["cycle", "status"], ["sweep"], ["self-assessment", "import", "x.csv"], ["report", "ranking"]]


@FUZZ
@given(
    command=st.sampled_from(OPTION_COMMANDS),
    word=st.one_of(st.text(printable, min_size=1, max_size=20), st.sampled_from(["--yaer", "-x", "--as-off", "--"])),
    dashes=st.sampled_from(["--", "-", ""]),
)
def test_an_unknown_option_or_command_is_refused_in_one_message(
    db_url: str, command: list[str], word: str, dashes: str
) -> None:
    typed = f"{dashes}{word}"
    if not dashes and command:  # a bare word after a command is one of its arguments, not an unknown word
        return
    taken_or_refused(db_url, [*command, typed], typed, typed.split("=")[0], typed[:2] if dashes == "-" else "")


def test_a_port_out_of_range_is_refused_before_anything_starts(db_url: str) -> None:
    for port in ("99999", "-1", "http"):
        assert not taken_or_refused(db_url, ["dashboard", "--port", port], "--port")


NOT_FUZZED = {
    ("serve",): "serves the schedules until stopped (its options are checked by Prefect)",
    ("demo",): "recreates its own database and runs the whole sample cycle (tests/flows/test_demo.py)",
    ("dashboard",): "serves until stopped: only a port out of range is tried (above)",
}


def test_every_command_that_takes_a_value_is_fuzzed() -> None:
    """A new command, or a new option of a command, is added to one of the lists above."""
    import typer.main

    def leaves(command: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
        if hasattr(command, "commands"):  # a group (typer's own copy of click's)
            for name, sub in command.commands.items():
                yield from leaves(sub, (*path, name))
        else:
            yield path, command

    fuzzed = [[*a, o] for a, o in YEAR_COMMANDS + MOMENT_COMMANDS] + [[*a, o] for a, o, _ in TEXT_COMMANDS]
    fuzzed += [[*c, "--ref"] for c in REF_COMMANDS] + READ_COMMANDS + WRITE_COMMANDS + [LOGIN_SET]
    taking = {
        path: command
        for path, command in leaves(typer.main.get_command(app), ())
        if any(not getattr(p, "is_flag", False) for p in command.params) and path not in NOT_FUZZED
    }
    missing = [" ".join(path) for path in taking if not any(f[: len(path)] == list(path) for f in fuzzed)]
    assert not missing, f"not fuzzed: {missing}"


def test_an_extension_as_far_ahead_as_allowed_leaves_the_sweep_working(db_url: str) -> None:
    """Found by the fuzz: an extension to 31/12/9999 was taken, and every sweep after it then failed (the
    escalation ladder counts days past the deadline)."""
    cycle_in_self_assessment(db_url)
    extend = ["extend", "--unit", "CAH-CMG", "--phase", "submission", "--reason", "Lũ lụt", "--as", COORDINATOR]
    assert not taken_or_refused(db_url, [*extend, "--until", "31/12/9999 23:59"], "--until", "2999")
    assert taken_or_refused(db_url, [*extend, "--until", "31/12/2999 23:59"])
    assert taken_or_refused(db_url, ["sweep", "--as-of", "01/09/2021"])
