"""Who to write to (models/directory.py): a directory of a few units answers for them as the whole one does."""

from __future__ import annotations

from factories import load_sample_org
from sqlalchemy import text

from cchc.models.db import get_engine, read_session
from cchc.models.directory import Directory

ROLES = ("focal", "head", "deputy", "signer", "superior_head", "coordinator", "authority_leadership")


def test_a_directory_of_some_units_answers_for_them_as_the_whole_directory(db_url: str) -> None:
    load_sample_org(db_url)
    with read_session(get_engine(db_url)) as session:
        units = [uid for (uid,) in session.execute(text("SELECT id FROM unit ORDER BY id"))]
        whole = Directory(session)
        for some in ([units[-1]], units[::3], units):
            part = Directory(session, units=some)
            for unit_id in some:
                for role in ROLES:
                    assert part.resolve(unit_id, (role,)) == whole.resolve(unit_id, (role,)), (unit_id, role)
                assert part.resolve(unit_id, ROLES) == whole.resolve(unit_id, ROLES)
        few = Directory(session, units=[units[-1]])
        people = sum(len(found) for found in whole.by_role.values())
        assert len(few.parent) < len(whole.parent) and sum(len(found) for found in few.by_role.values()) < people


def test_a_directory_of_no_unit_holds_only_the_coordinators(db_url: str) -> None:
    load_sample_org(db_url)
    with read_session(get_engine(db_url)) as session:
        whole, none = Directory(session), Directory(session, units=[])
    assert none.coordinators == whole.coordinators and none.coordinators
    assert not none.parent and set(none.by_role) == {key for key in whole.by_role if key[1] == "coordinator"}
