"""Backups: the database and the file store into one archive and back, on any engine; the audit chain
verifies after a restore; a damaged archive or a database in use is refused with nothing written."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from databases import new_database
from factories import COORDINATOR, at, published_2021, scalar
from sqlalchemy import func, inspect, select

from cchc.config.settings import Settings, get_settings
from cchc.flows.backup import _tables, backup, restore
from cchc.flows.deadlines import extend
from cchc.flows.evidence import add_file
from cchc.models import attest
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


def _rewritten(archive: Path, out: Path, change: dict[str, bytes], sign_with: object = None) -> Path:
    """The archive with members replaced and its manifest's SHA-256 recomputed, as an attacker would (and
    re-signed with `sign_with`, a key that is not the installation's, when given)."""

    with tarfile.open(archive, "r:gz") as source:
        members = {info.name: (info, source.extractfile(info).read()) for info in source.getmembers()}  # type: ignore[union-attr]
    manifest = json.loads(members["manifest.json"][1])
    for name, data in change.items():
        members[name] = (members[name][0], data)
        manifest["sha256"][name] = hashlib.sha256(data).hexdigest()
    if sign_with is not None:
        manifest = attest.signed({k: v for k, v in manifest.items() if k not in ("key", "signature")}, sign_with)  # type: ignore[arg-type]
    members["manifest.json"] = (members["manifest.json"][0], json.dumps(manifest).encode())
    with tarfile.open(out, "w:gz") as target:
        for info, data in members.values():
            info.size = len(data)
            target.addfile(info, io.BytesIO(data))
    return out


def test_a_tampered_archive_whose_manifest_was_recomputed_is_refused_before_anything_is_written(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 15: an archive with a published index of 99,99 and its manifest's SHA-256 recomputed was
    restored ("audit chain verified"). The manifest is signed now: neither a recomputed manifest nor one
    re-signed with another key is trusted."""

    published_2021(db_url, tmp_path)
    archive = tmp_path / "b.tar.gz"
    backup(db_url, archive)
    with tarfile.open(archive, "r:gz") as source:
        results = source.extractfile("tables/result.jsonl").read()  # type: ignore[union-attr]
    forged = results.replace(b'"index_pct": "', b'"index_pct": "99.99", "x": "', 1)
    target = f"sqlite:///{tmp_path / 'restored.db'}"
    _new_store(tmp_path, monkeypatch)
    recomputed = _rewritten(archive, tmp_path / "recomputed.tar.gz", {"tables/result.jsonl": forged})
    with pytest.raises(UserError, match="cannot be trusted: its signature does not match its content"):
        restore(target, recomputed)
    resigned = _rewritten(
        archive, tmp_path / "resigned.tar.gz", {"tables/result.jsonl": forged}, Ed25519PrivateKey.generate()
    )
    with pytest.raises(UserError, match="cannot be trusted: it was signed by the key"):
        restore(target, resigned)
    assert inspect(get_engine(target)).get_table_names() == []


def test_an_archive_that_expands_beyond_the_bound_is_refused_as_a_stream(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 15: a 2 MiB archive expanding to 2 GiB was read whole into memory before the check. Members
    are read as streams now, and the archive is refused when it passes `restore_max_bytes`; memory stays
    flat (a bound of 64 MiB here, and a member of 256 MiB of zeros)."""

    bomb = tmp_path / "bomb.tar.gz"
    with tarfile.open(bomb, "w:gz", compresslevel=1) as target:
        info = tarfile.TarInfo("tables/score.jsonl")
        info.size = 256 << 20

        class Zeros(io.RawIOBase):
            left = info.size

            def readinto(self, b):  # type: ignore[no-untyped-def]
                n = min(len(b), self.left)
                b[:n] = bytes(n)
                self.left -= n
                return n

        target.addfile(info, Zeros())
    assert bomb.stat().st_size < 2 << 20
    monkeypatch.setenv("CCHC_RESTORE_MAX_BYTES", str(64 << 20))
    get_settings.cache_clear()
    tracemalloc.start()
    with pytest.raises(UserError, match="expands to more than 67108864 bytes"):
        restore(f"sqlite:///{tmp_path / 'restored.db'}", bomb)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 16 << 20, peak
    monkeypatch.delenv("CCHC_RESTORE_MAX_BYTES")
    get_settings.cache_clear()
    with pytest.raises(UserError, match="not a cchc-backup/2 archive|is not a member"):
        restore(f"sqlite:///{tmp_path / 'restored.db'}", bomb)
    assert (
        not os.path.exists(tmp_path / "restored.db")
        or inspect(get_engine(f"sqlite:///{tmp_path / 'restored.db'}")).get_table_names() == []
    )
