"""The command line speaks the catalogue's language: Vietnamese with CCHC_LANGUAGE=vi (the default), English
with en. Help texts are read when the command modules are imported, so each language gets its own process:
the installed `cchc`, as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cchc.flows.cli import app

pytestmark = pytest.mark.usefixtures("prefect_harness")

COMMAND = Path(sys.executable).with_name("cchc")


def run(language: str, *args: str, tmp_path: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_") and k != "CCHC_PREFECT_LOG_LEVEL"}
    env.update(CCHC_LANGUAGE=language, COLUMNS="250", PREFECT_HOME=str(tmp_path / "prefect"))
    return subprocess.Popen([str(COMMAND), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def output(process: subprocess.Popen[str]) -> str:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    return " ".join(out.split())


HELP = {
    (): {
        "vi": ["Điều hành kỳ đánh giá Chỉ số cải cách hành chính (CCHC) hằng năm", "Tự đánh giá của các đơn vị."],
        "en": ["Orchestrate the annual PAR index cycle", "Units' self-assessments."],
    },
    ("cycle",): {
        "vi": ["Kỳ đánh giá của một năm: mở kỳ, chuyển giai đoạn", "Chuyển kỳ đánh giá sang giai đoạn tiếp theo"],
        "en": ["A year's cycle: open it, move its phases", "Move the cycle to its next phase"],
    },
    ("plan", "register"): {
        "vi": ["Ghi nhận đơn vị đã gửi kế hoạch CCHC", "Số, ký hiệu và ngày của kế hoạch", "Năm của kỳ đánh giá"],
        "en": ["Record that a unit sent its own plan", "The plan's number and date", "The cycle's year"],
    },
}


def test_the_help_reads_vietnamese_by_default_and_english_by_setting(tmp_path: Path) -> None:
    running = {
        (args, language): run(language, *args, "--help", tmp_path=tmp_path)
        for args in HELP
        for language in ("vi", "en")
    }
    for (args, language), process in running.items():
        text = output(process)
        other = "en" if language == "vi" else "vi"
        for phrase in HELP[args][language]:
            assert phrase in text, (args, language, phrase, text)
        for phrase in HELP[args][other]:
            assert phrase not in text, (args, language, phrase)


def test_a_command_prints_its_result_in_the_language_set(db_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    for args in (["org", "load"], ["cycle", "open", "--year", "2021", "--as", "pv01.coord1"]):
        result = runner.invoke(app, ["--database-url", db_url, *args])
        assert result.exit_code == 0, result.output
    register = ["--database-url", db_url, "plan", "register", "--unit", "CAH-CMG", "--as", "cmg.focal", "--ref"]
    ref = "91/KH-CAH ngày 30/6/2021"
    assert output(run("vi", *register, ref, tmp_path=tmp_path)) == f"CAH-CMG: đã ghi nhận kế hoạch {ref}"
    assert output(run("vi", *register, ref, tmp_path=tmp_path)) == f"CAH-CMG: kế hoạch {ref} đã được ghi nhận từ trước"
    assert output(run("en", *register, ref, tmp_path=tmp_path)) == f"CAH-CMG: plan {ref} was already recorded"
