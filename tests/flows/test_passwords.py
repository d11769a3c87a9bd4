"""The one password policy (flows/passwords.py): long enough, none of the person's own code, e-mail address
or name, and not easy to guess as zxcvbn estimates it, with the Vietnamese words its lists lack."""

from __future__ import annotations

import unicodedata

import pytest

from cchc.flows.passwords import MIN_PASSWORD, WeakPassword, check_password
from cchc.models.i18n import speaking

PERSON = ("pv01.coord1", "pv01.coord1@dlk.cand.example", "Trần Công Lực")


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("ngắn quá", "short"),
        ("   mười   ", "short"),
        ("0000000000", "common"),
        ("1234567890", "common"),
        ("matkhau123", "common"),
        ("Matkhau2021!", "common"),
        ("mật khẩu 123", "common"),
        ("qwertyuiop", "common"),
        ("password123", "common"),
        ("Daklak@2021", "common"),
        ("pv01.coord1", "personal"),
        ("pv01.coord1@dlk.cand.example", "personal"),
        ("PV01COORD1 rất dài và lạ", "personal"),
        ("TranCongLuc1990", "personal"),
        ("trầncônglực 1990", "personal"),
    ],
)
def test_a_password_easy_to_guess_is_refused_and_says_why(password: str, reason: str) -> None:
    with pytest.raises(WeakPassword) as refused:
        check_password(password, PERSON)
    assert refused.value.reason == reason


@pytest.mark.parametrize(
    "password",
    [
        "Mật khẩu đủ dài 2021",
        "Một mật khẩu mới hẳn 2022",
        "Công Lực yêu hoa mai 1990",
        "demo-cchc-2021",
        "x7#Lq9!vB2$m",
    ],
)
def test_a_few_words_of_one_s_own_are_taken_as_typed_in_nfc(password: str) -> None:
    typed = unicodedata.normalize("NFD", password)
    assert check_password(typed, PERSON) == unicodedata.normalize("NFC", password)


def test_a_long_password_is_judged_by_its_beginning_and_taken() -> None:
    long = "Một câu thật dài chỉ mình tôi biết " * 10
    assert len(long) > 72 and check_password(long, PERSON) == long


def test_the_refusals_read_in_vietnamese() -> None:
    with speaking("vi"), pytest.raises(WeakPassword, match="mật khẩu quá dễ đoán"):
        check_password("1234567890")
    with speaking("vi"), pytest.raises(WeakPassword, match=f"ít nhất {MIN_PASSWORD} ký tự"):
        check_password("ngắn")
    with speaking("vi"), pytest.raises(WeakPassword, match="không được chứa mã cán bộ"):
        check_password("pv01.coord1 2021 abc", PERSON)
