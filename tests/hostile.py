"""Files a hostile (or careless) user can hand over, small on disk and huge once read: a YAML alias bomb, a
workbook whose one cell sits at XFD1048576 or whose declared size is the whole sheet, a workbook part that
declares XML entities. Plain functions returning the bytes (or writing the file), for the tests of
models/datafile.py, models/workbook.py and the CLI that reads them."""

from __future__ import annotations

import io
import signal
import threading
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from cchc.config import CONFIG_DIR
from cchc.models.framework import framework_path, load_framework
from cchc.models.workbook import SheetSpec, self_assessment_workbook

SHEET = "xl/worksheets/sheet1.xml"
WORKBOOK = "xl/workbook.xml"
LAUGHS = "abcdefghi"  # nine anchors, nine aliases each: 9⁸ copies of the first


def alias_bomb_org(levels: int = 9) -> str:
    """An organisation file whose units' children are anchors of anchors ("billion laughs"): 800 bytes that
    stand for 9⁸ units once walked (the review's `cchc org load` ran to 3.5 GiB in 90 s)."""
    lines = ["code: x", "name: X", "groups: []", "units:", "  - code: T", "    name: T", "    kind: authority"]
    lines += ["    children:", "      - &a {code: A, name: A, kind: team}"]
    for previous, name in zip(LAUGHS, LAUGHS[1:levels], strict=False):
        kids = ", ".join([f"*{previous}"] * 9)
        lines.append(f"      - &{name} {{code: {name.upper()}, name: N, kind: team, children: [{kids}]}}")
    return "\n".join(lines) + "\n"


def alias_bomb(levels: int = 9) -> str:
    """The same bomb as plain lists under one key of any data file."""
    lines = ["laughs:", "  a: &a [" + ", ".join(["lol"] * 9) + "]"]
    for previous, name in zip(LAUGHS, LAUGHS[1:levels], strict=False):
        lines.append(f"  {name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def unit_workbook(unit: str = "CAH-CMG") -> bytes:
    """The self-assessment workbook of a unit as exported (the cah-2021 framework, nothing filled in)."""
    framework = load_framework(framework_path(CONFIG_DIR, "cah-2021"))
    return self_assessment_workbook(SheetSpec(unit_code=unit, unit_name=unit, year=2021, framework=framework))


def patched(data: bytes, part: str, change: Callable[[bytes], bytes]) -> bytes:
    """The workbook with one part's XML changed (every other part as it was)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            body = source.read(info)
            target.writestr(info, change(body) if info.filename == part else body)
    return out.getvalue()


def with_cells(data: bytes, cells: str) -> bytes:
    """The workbook with rows of XML (`<row r=…><c r=…>…</c></row>`) added at the end of its sheet."""
    return patched(data, SHEET, lambda xml: xml.replace(b"</sheetData>", cells.encode() + b"</sheetData>"))


def declared(data: bytes, ref: str) -> bytes:
    """The workbook with its sheet's declared size (<dimension ref=…/>) replaced."""

    def change(xml: bytes) -> bytes:
        start = xml.index(b"<dimension ")
        return xml[:start] + f'<dimension ref="{ref}"/>'.encode() + xml[xml.index(b"/>", start) + 2 :]

    return patched(data, SHEET, change)


def text_cell(ref: str, text: str) -> str:
    row = "".join(ch for ch in ref if ch.isdigit())
    return f'<row r="{row}"><c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c></row>'


FAR_CELL = text_cell("XFD1048576", "x")  # the last cell of a sheet

ENTITY_BOMB = (
    b'<!DOCTYPE worksheet [<!ENTITY a "lol">'
    + b"".join(f'<!ENTITY {n} "{("&" + p + ";") * 10}">'.encode() for p, n in zip("abcdefg", "bcdefgh", strict=True))
    + b"]>"
)
ONE_ENTITY = b'<!DOCTYPE worksheet [<!ENTITY unit "CAH-CMG">]>'


def with_doctype(data: bytes, part: str, doctype: bytes, use: bytes | None = None) -> bytes:
    """The workbook with a DOCTYPE before the root element of `part` (after its XML declaration, if any);
    `use` replaces the first text "CAH-CMG" of the part (an entity reference, say)."""

    def change(xml: bytes) -> bytes:
        head, rest = xml.split(b"?>", 1) if xml.startswith(b"<?xml") else (b"", xml)
        if use is not None:
            rest = rest.replace(b"CAH-CMG", use, 1)
        return (head + b"?>" if head else b"") + doctype + rest

    return patched(data, part, change)


@contextmanager
def within_cpu_seconds(seconds: float) -> Iterator[None]:
    """Fail the block, rather than let it run away, once it has used `seconds` of this process's CPU time
    (SIGPROF: a measure that a busy machine does not stretch). Only in the main thread, where signals land."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expired(*_: object) -> None:
        raise AssertionError(f"still running after {seconds} s of CPU time")

    previous = signal.signal(signal.SIGPROF, expired)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


def write(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path
