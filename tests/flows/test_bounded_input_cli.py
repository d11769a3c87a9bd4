"""The command line takes the review's hostile files (issue 15, "bounded parsing") as it takes any bad input:
refused at once, in one Vietnamese line that names the file (and the line or the cell), a non-zero exit, no
traceback, and nothing written."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest
from factories import COORDINATOR, fingerprint, load_sample_org, open_2021, rows_for, write_rows
from hostile import (
    ENTITY_BOMB,
    FAR_CELL,
    ONE_ENTITY,
    SHEET,
    WORKBOOK,
    alias_bomb_org,
    declared,
    text_cell,
    unit_workbook,
    with_cells,
    with_doctype,
    within_cpu_seconds,
    write,
)
from typer.testing import CliRunner

from cchc.flows import selfassessment
from cchc.flows.cli import app
from cchc.models.i18n import speaking

pytestmark = pytest.mark.usefixtures("prefect_harness")

COMMAND = Path(sys.executable).with_name("cchc")
FOCAL = "cmg.focal"  # CAH-CMG's focal officer
runner = CliRunner()


def refused_in_vietnamese(url: str, *args: str) -> str:
    """Run `cchc args` speaking Vietnamese: it must exit 1 with one line, "lỗi: …", and write nothing."""
    before = fingerprint(url)
    with speaking("vi"), within_cpu_seconds(120):
        result = runner.invoke(app, ["--database-url", url, *args])
    said = [
        line
        for line in result.output.splitlines()
        if line.strip() and not line.startswith(("Đang chạy qua Prefect", "Running through Prefect"))
    ]
    assert result.exit_code == 1, result.output
    assert len(said) == 1 and said[0].startswith("lỗi: "), said
    assert "Traceback" not in result.output and "--debug" not in result.output, result.output
    assert fingerprint(url) == before, "refused, yet something was written"
    return said[0].removeprefix("lỗi: ")


def test_org_load_refuses_a_billion_laughs_at_once_in_one_vietnamese_line(db_url: str, tmp_path: Path) -> None:
    """As a person runs it (the installed command, its own process, Vietnamese by default): bounded in memory
    (2 GiB of address space, where the review's run reached 3.5 GiB) and time, so a regression fails here."""
    load_sample_org(db_url)
    before = fingerprint(db_url)
    path = write(tmp_path / "to-chuc.yaml", alias_bomb_org())
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_") and k != "CCHC_PREFECT_LOG_LEVEL"}
    env.update(CCHC_LANGUAGE="vi", PREFECT_HOME=str(tmp_path / "prefect"))

    def bounded() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    started = time.monotonic()
    done = subprocess.run(
        [str(COMMAND), "--database-url", db_url, "org", "load", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=bounded,  # noqa: PLW1509 - only sets a limit, before exec
    )
    assert done.returncode == 1, (done.stdout, done.stderr)
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in done.stderr, lines
    assert lines[0].startswith(f"lỗi: {path}: dòng 14, cột ") and "bí danh *e" in lines[0], lines
    assert time.monotonic() - started < 60  # the command's start included; the refusal itself takes ~0.1 s
    assert fingerprint(db_url) == before


WORKBOOKS = {
    "a value at XFD1048576": (
        with_cells(unit_workbook(), FAR_CELL),
        "1 lỗi; chưa ghi gì: {name}: Tự đánh giá!XFD1048576: trang tính chỉ được đọc đến cột BL: hãy chuyển nội "
        "dung ở ô này vào trong bảng",
    ),
    "the whole sheet declared, a value at its last row": (
        declared(with_cells(unit_workbook(), text_cell("A1048576", "x")), "A1:XFD1048576"),
        "1 lỗi; chưa ghi gì: {name}: Tự đánh giá!A1048576: bảng tính chỉ được đọc đến dòng 100000: bảng dài như "
        "vậy hãy nhập dạng CSV",
    ),
    "an entity bomb in the sheet": (
        with_doctype(unit_workbook(), SHEET, ENTITY_BOMB, b"&h;"),
        "1 lỗi; chưa ghi gì: tệp {name} không phải là bảng tính Excel (.xlsx) hợp lệ: phần xl/worksheets/sheet1.xml "
        "khai báo DOCTYPE hoặc thực thể XML, điều mà bảng tính Excel không bao giờ có",
    ),
    "an entity in the workbook part": (
        with_doctype(unit_workbook(), WORKBOOK, ONE_ENTITY),
        "1 lỗi; chưa ghi gì: tệp {name} không phải là bảng tính Excel (.xlsx) hợp lệ: phần xl/workbook.xml khai "
        "báo DOCTYPE hoặc thực thể XML, điều mà bảng tính Excel không bao giờ có",
    ),
}


@pytest.mark.parametrize(("data", "message"), WORKBOOKS.values(), ids=WORKBOOKS.keys())
def test_a_hostile_workbook_is_refused_at_once_in_one_vietnamese_line_naming_the_file(
    db_url: str, tmp_path: Path, data: bytes, message: str
) -> None:
    open_2021(db_url)
    path = write(tmp_path / "bảng-điểm.xlsx", data)
    started = time.process_time()
    said = refused_in_vietnamese(db_url, "self-assessment", "import", str(path), "--as", FOCAL)
    assert said == message.format(name=path.name)
    assert time.process_time() - started < 30  # the flow's own work included; the file's refusal is < 0.5 s


def test_every_import_of_a_table_refuses_a_workbook_that_declares_entities(db_url: str, tmp_path: Path) -> None:
    load_sample_org(db_url)
    path = write(tmp_path / "ket-qua-2020.xlsx", with_doctype(unit_workbook(), SHEET, ONE_ENTITY, b"&unit;"))
    said = refused_in_vietnamese(db_url, "results", "import", str(path), "--year", "2020", "--as", COORDINATOR)
    assert said.startswith("1 lỗi; chưa ghi gì: tệp ket-qua-2020.xlsx không phải là bảng tính Excel (.xlsx) hợp lệ")


def test_a_byte_that_is_not_utf8_after_thousands_of_good_rows_writes_nothing(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rows are checked and written chunk by chunk as the file is read (here 100 rows a chunk): the line
    found bad at the end rolls back every chunk written before it."""
    monkeypatch.setattr(selfassessment, "CHUNK_ROWS", 100)
    org = open_2021(db_url)
    path = write_rows(tmp_path / "tu-cham.csv", rows_for(org, ["CAH-CMG", "CAH-BMT", "CAH-EHL"]))
    with path.open("ab") as out:
        out.write(b"CAH-KRP,1.1.1,1,,Ghi ch\xfa\n")  # Latin-1, as a sheet saved in the wrong encoding
    said = refused_in_vietnamese(db_url, "self-assessment", "import", str(path), "--as", COORDINATOR)
    assert said == f"1 lỗi; chưa ghi gì: {path} dòng 275: không phải văn bản UTF-8 (hãy lưu bảng dạng 'CSV UTF-8')"
