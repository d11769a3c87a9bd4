"""Backups: the database and the file store into one archive and back, on any engine; the audit chain
verifies after a restore; a damaged archive or a database in use is refused with nothing written."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from databases import new_database
from factories import COORDINATOR, at, published_2021, scalar
from sqlalchemy import func, inspect, select

from cchc.config.settings import Settings, get_settings
from cchc.flows.backup import _tables, backup, restore
from cchc.flows.deadlines import extend
from cchc.flows.evidence import add_file
from cchc.models.db import get_engine, read_session
from cchc.models.errors import UserError
from cchc.models.store import FileStore

pytestmark = pytest.mark.usefixtures("prefect_harness")
PG_URL = Settings().test_database_url


@pytest.fixture
def other_url(db_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database on the other engine where there is one (SQLite ↔ PostgreSQL), else SQLite."""
    if db_url.startswith("sqlite") and PG_URL:
        with new_database(PG_URL, "cchc_restore") as url:
            yield url
    else:
        yield f"sqlite:///{tmp_path / 'restored.db'}"


def _counts(url: str) -> dict[str, int]:
    with read_session(get_engine(url)) as session:
        return {t.name: session.execute(select(func.count()).select_from(t)).scalar_one() for t in _tables()}


def _new_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    store = tmp_path / "restored-store"
    monkeypatch.setenv("CCHC_STORE_DIR", str(store))
    get_settings.cache_clear()
    return store


def test_a_backup_restores_into_an_empty_database_with_its_files_and_a_verified_chain(
    db_url: str, other_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    published_2021(db_url, tmp_path)
    scan = tmp_path / "ke-hoach.pdf"
    scan.write_bytes(b"%PDF-1.4 k\xe1\xba\xbf ho\xe1\xba\xa1ch 91/KH-CAH")
    stored = add_file(db_url, 2021, "CAH-CMG", "91/KH-CAH ngày 30/6/2021", scan, "cmg.focal", at("01/07/2021"))
    archive = tmp_path / "cchc-2021.tar.gz"
    summary = backup(db_url, archive)
    assert summary.tables["score"] > 0 and summary.files >= 1 and archive.is_file()
    assert not list(tmp_path.glob(".cchc-2021.tar.gz.*"))  # no partial file left beside it
    before = _counts(db_url)

    store = _new_store(tmp_path, monkeypatch)
    restored = restore(other_url, archive)
    assert _counts(other_url) == before
    assert restored.audit_events == before["audit_event"] and restored.files == summary.files
    assert FileStore(store).read(stored.sha256, ".pdf") == scan.read_bytes()
    # the restored database works on: new rows take new ids, the chain grows from the restored head
    extend(other_url, 2021, "CAH-CMG", "remediation", at("20/04/2022"), "Đơn vị xin gia hạn", COORDINATOR)
    assert scalar(other_url, "SELECT count(*) FROM audit_event") == before["audit_event"] + 1
    assert scalar(other_url, "SELECT count(*) FROM deadline") == before["deadline"] + 1


def test_a_damaged_archive_and_a_database_in_use_are_refused_with_nothing_written(
    db_url: str, other_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    published_2021(db_url, tmp_path)
    archive = tmp_path / "b.tar.gz"
    backup(db_url, archive)
    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(archive, "r:gz") as source, tarfile.open(damaged, "w:gz") as target:
        for info in source.getmembers():
            data = source.extractfile(info).read()  # type: ignore[union-attr]
            if info.name == "tables/score.jsonl":
                data = data.replace(b'"self_points": "1.00"', b'"self_points": "0.00"', 1)
            info.size = len(data)
            target.addfile(info, io.BytesIO(data))
    _new_store(tmp_path, monkeypatch)
    with pytest.raises(UserError, match=r"tables/score.jsonl does not match the manifest: the archive was altered"):
        restore(other_url, damaged)
    with pytest.raises(UserError, match="not a readable .tar.gz archive"):
        (tmp_path / "x.tar.gz").write_bytes(b"not an archive")
        restore(other_url, tmp_path / "x.tar.gz")
    with pytest.raises(UserError, match="already holds data"):
        restore(db_url, archive)
    assert inspect(get_engine(other_url)).get_table_names() == []  # checked before anything was written
    with pytest.raises(UserError, match="a backup is a .tar.gz archive"):
        backup(db_url, tmp_path / "b.zip")
