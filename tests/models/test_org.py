"""The organisation as data (models/org.py): a tree of units, groups of assessed units, people and roles."""

from __future__ import annotations

import unicodedata
from collections import Counter
from functools import lru_cache
from typing import Any

import pytest

from cchc.config import CONFIG_DIR
from cchc.models.datafile import DataFileError
from cchc.models.org import OrgDef, load_org, parse_org


@lru_cache(maxsize=1)
def daklak() -> OrgDef:
    return load_org(CONFIG_DIR / "org" / "daklak.yaml")


def person(code: str, *roles: str, email: str | None = None) -> dict[str, Any]:
    return {
        "code": code,
        "name": f"Cán bộ {code}",
        "email": f"{code}@dlk.cand.example" if email is None else email,
        "roles": list(roles) or ["focal"],
    }


def unit(code: str, kind: str = "department", *, group: str | None = None, people=(), children=()) -> dict[str, Any]:
    data: dict[str, Any] = {"code": code, "name": f"Đơn vị {code}", "kind": kind}
    if group is not None:
        data["group"] = group
    if people:
        data["people"] = list(people)
    if children:
        data["children"] = list(children)
    return data


def org_data(*assessed: dict[str, Any], authority_people=()) -> dict[str, Any]:
    """An authority CAT with the given direct units (by default one department and one district)."""
    if not assessed:
        assessed = (
            unit(
                "PV01",
                group="ktthc",
                people=[person("pv01.head", "head"), person("pv01.focal", "focal")],
                children=[unit("PV01-TH", "team", people=[person("pv01.coord", "coordinator")])],
            ),
            unit(
                "CAH-BMT",
                "district",
                group="cah",
                people=[person("bmt.head", "head")],
                children=[unit("CAH-BMT-X1", "commune")],
            ),
        )
    return {
        "code": "daklak",
        "name": "Công an tỉnh Đắk Lắk",
        "groups": [{"code": "ktthc", "name": "Không TTHC"}, {"code": "cah", "name": "Công an cấp huyện"}],
        "units": [
            unit("CAT", "authority", people=list(authority_people) or [person("gd", "head")], children=list(assessed))
        ],
    }


def a_problem(data: Any, *words: str) -> str:
    with pytest.raises(DataFileError) as refused:
        parse_org(data, path="org.yaml")
    matching = [p for p in refused.value.problems if all(w in p for w in words)]
    assert matching, f"no problem mentions {words}: {refused.value.problems}"
    return matching[0]


# --- the shipped sample organisation --------------------------------------------------------------


def test_the_sample_organisation_has_three_groups_of_6_23_and_15_assessed_units():
    org = daklak()
    assert [g.code for g in org.groups] == ["tthc", "ktthc", "cah"]
    assert Counter(u.group for u in org.units if u.assessed) == {"tthc": 6, "ktthc": 23, "cah": 15}


def test_the_authority_comes_first_and_is_of_kind_authority():
    org = daklak()
    assert org.authority is org.units[0]
    assert (org.authority.code, org.authority.kind, org.authority.parent) == ("CAT", "authority", None)
    assert [u.code for u in org.units if u.kind == "authority"] == ["CAT"]


def test_assessed_units_are_the_authoritys_direct_units():
    org = daklak()
    assert all(u.parent == "CAT" for u in org.units if u.assessed)


def test_parents_come_before_their_children():
    seen: set[str] = set()
    for u in daklak().units:
        assert u.parent is None or u.parent in seen, u.code
        seen.add(u.code)


@pytest.mark.parametrize("role", ["head", "deputy", "focal"])
def test_every_assessed_unit_has_a_head_a_deputy_and_a_focal_officer(role):
    org = daklak()
    staffed = {p.unit for p in org.people if role in p.roles}
    missing = [u.code for u in org.units if u.assessed and u.code not in staffed]
    assert missing == []


def test_the_appraisers_of_pv01s_legal_team_belong_to_pv01s_subtree():
    org = daklak()
    parent = {u.code: u.parent for u in org.units}

    def chain(code: str | None) -> list[str]:
        return [] if code is None else [code, *chain(parent[code])]

    appraisers = [p for p in org.people if p.unit == "PV01-PCQLKH" and "appraiser" in p.roles]
    assert len(appraisers) >= 2
    assert all(chain(p.unit) == ["PV01-PCQLKH", "PV01", "CAT"] for p in appraisers)


def test_every_name_in_the_sample_organisation_is_nfc():
    org = daklak()
    names = [org.name, *(g.name for g in org.groups), *(u.name for u in org.units), *(p.name for p in org.people)]
    assert all(unicodedata.is_normalized("NFC", n) for n in names)
    assert any(n != n.encode("ascii", "ignore").decode() for n in names)  # Vietnamese, not stripped


def test_the_sample_organisations_codes_and_e_mails_are_unique():
    org = daklak()
    assert len({u.code for u in org.units}) == len(org.units)
    assert len({p.code for p in org.people}) == len(org.people)
    assert len({p.email for p in org.people}) == len(org.people)


# --- the factory's organisation -------------------------------------------------------------------


def test_a_small_organisation_is_read_with_its_tree_and_people():
    org = parse_org(org_data())
    assert [(u.code, u.parent, u.group) for u in org.units] == [
        ("CAT", None, None),
        ("PV01", "CAT", "ktthc"),
        ("PV01-TH", "PV01", None),
        ("CAH-BMT", "CAT", "cah"),
        ("CAH-BMT-X1", "CAH-BMT", None),
    ]
    coordinator = next(p for p in org.people if p.code == "pv01.coord")
    assert (coordinator.unit, coordinator.roles) == ("PV01-TH", ("coordinator",))


def test_e_mail_addresses_are_kept_in_lower_case():
    data = org_data(unit("PV05", people=[person("pv05.head", "head", email="PV05.Head@DLK.cand.example")]))
    assert parse_org(data).people[-1].email == "pv05.head@dlk.cand.example"


def test_a_decomposed_name_is_stored_in_nfc():
    data = org_data()
    data["units"][0]["name"] = unicodedata.normalize("NFD", "Công an tỉnh Đắk Lắk")
    assert parse_org(data).authority.name == unicodedata.normalize("NFC", "Công an tỉnh Đắk Lắk")


# --- what is refused ------------------------------------------------------------------------------


def test_a_duplicate_unit_code_is_refused_naming_both_places():
    data = org_data(unit("PV01", people=[person("a", "head")]), unit("PV01", people=[person("b", "head")]))
    problem = a_problem(data, "unit PV01", "duplicate unit code")
    assert "also at unit CAT › child #1" in problem


def test_a_duplicate_person_code_is_refused_naming_the_person_and_both_units():
    data = org_data(
        unit("PV01", people=[person("cb1", "head")]),
        unit("PV05", people=[person("cb1", "head", email="other@dlk.cand.example")]),
    )
    problem = a_problem(data, "unit PV05 › person cb1", "duplicate person code")
    assert "also in unit PV01" in problem


def test_a_duplicate_e_mail_is_refused_naming_who_has_it():
    data = org_data(
        unit(
            "PV01",
            people=[person("a", "head", email="x@dlk.cand.example"), person("b", "deputy", email="X@dlk.cand.example")],
        )
    )
    a_problem(data, "unit PV01 › person b", "e-mail x@dlk.cand.example is already used by person a")


@pytest.mark.parametrize(
    "email",
    ["pv01.head@dlk.cand.example\r\nBcc: all@dlk.cand.example", "pv01.head\n@dlk.cand.example", "pv01.head\r@x.vn"],
)
def test_an_e_mail_with_a_line_break_is_refused(email):
    data = org_data(unit("PV01", people=[person("pv01.head", "head", email=email)]))
    a_problem(data, "unit PV01 › person pv01.head", "'email'")


@pytest.mark.parametrize("email", ["pv01.head.dlk.cand.example", "pv01@head@dlk.example", "pv01.head@localhost", ""])
def test_a_text_that_is_not_an_e_mail_address_is_refused(email):
    data = org_data(unit("PV01", people=[person("pv01.head", "head", email=email)]))
    a_problem(data, "unit PV01 › person pv01.head", "'email'")


def test_an_unknown_role_is_refused_naming_the_person():
    data = org_data(unit("PV01", people=[person("pv01.boss", "boss")]))
    a_problem(data, "unit PV01 › person pv01.boss", "unknown role 'boss'")


def test_a_person_without_a_role_is_refused():
    data = org_data(unit("PV01", people=[person("pv01.head", "head")]))
    data["units"][0]["children"][0]["people"][0]["roles"] = []
    a_problem(data, "unit PV01 › person pv01.head", "'roles'", "non-empty list")


def test_an_unknown_group_is_refused_naming_the_unit():
    data = org_data(unit("PV01", group="tthcc", people=[person("pv01.head", "head")]))
    a_problem(data, "unit PV01", "unknown group 'tthcc'")


def test_a_group_on_a_unit_below_the_authoritys_direct_units_is_refused():
    data = org_data(unit("PV01", group="ktthc", children=[unit("PV01-TH", "team", group="ktthc")]))
    a_problem(data, "unit PV01-TH", "only the authority's direct units are assessed")


def test_a_group_on_the_authority_is_refused():
    data = org_data()
    data["units"][0]["group"] = "ktthc"
    a_problem(data, "unit CAT", "only the authority's direct units are assessed")


def test_two_heads_in_one_unit_are_refused():
    data = org_data(unit("PV01", people=[person("pv01.a", "head"), person("pv01.b", "deputy", "head")]))
    a_problem(data, "unit PV01", "has 2 heads (pv01.a, pv01.b)")


def test_a_top_unit_that_is_not_the_authority_is_refused():
    data = org_data()
    data["units"][0]["kind"] = "department"
    a_problem(data, "unit CAT", "the top unit should be of kind 'authority'")


def test_two_top_units_are_refused():
    data = org_data()
    data["units"].append(unit("CAT2", "authority"))
    a_problem(data, "'units' should hold exactly one unit")


def test_an_unknown_unit_kind_is_refused():
    data = org_data(unit("PV01", "bureau"))
    a_problem(data, "unit PV01", "unknown kind 'bureau'")


def test_a_document_that_is_not_a_mapping_is_refused():
    a_problem(["CAT"], "should be a mapping of keys, not list")


def test_every_problem_names_the_file():
    data = org_data(unit("PV01", "bureau"))
    with pytest.raises(DataFileError) as refused:
        parse_org(data, path="daklak.yaml")
    assert str(refused.value).startswith("daklak.yaml: ")
