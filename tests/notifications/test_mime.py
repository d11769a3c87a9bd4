"""The bytes of a message, read back with the standard `email` package."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy

import pytest

from cchc.notifications.mime import BadAddress, build, encode_words

SUBJECT = "[Nhắc việc] Công an huyện Cư M'gar: còn 3 ngày để báo cáo kết quả tự đánh giá, chấm điểm (hạn 31/08/2021)"


def mail(**kw: str) -> bytes:
    args = {
        "from_header": "Hệ thống CCHC <cchc@dlk.cand.example>",
        "to_name": "Nguyễn Văn An",
        "to_addr": "an@dlk.cand.example",
        "subject": SUBJECT,
        "text": "Kính gửi đồng chí,\nDòng thứ hai.\n",
        "html": "<p>Kính gửi đồng chí</p>",
        "message_id": "<cchc.1.abc@dlk.cand.example>",
    }
    args.update(kw)
    return build(**args, date=datetime(2021, 8, 28, 1, 0, tzinfo=UTC)).data  # type: ignore[arg-type]


def test_a_message_parses_with_its_vietnamese_subject_names_and_both_parts() -> None:
    message = message_from_bytes(mail(), policy=policy.default)
    assert message["Subject"] == SUBJECT
    assert message["To"].addresses[0].display_name == "Nguyễn Văn An"
    assert message["To"].addresses[0].addr_spec == "an@dlk.cand.example"
    assert message["From"].addresses[0].display_name == "Hệ thống CCHC"
    assert message["Message-ID"] == "<cchc.1.abc@dlk.cand.example>"
    assert message.get_content_type() == "multipart/alternative"
    assert message.get_body(("plain",)).get_content() == "Kính gửi đồng chí,\r\nDòng thứ hai.\r\n"  # type: ignore[union-attr]
    assert message.get_body(("html",)).get_content() == "<p>Kính gửi đồng chí</p>"  # type: ignore[union-attr]
    assert all(len(line) <= 78 for line in mail().split(b"\r\n"))


def test_a_line_break_in_a_name_or_subject_cannot_add_a_header() -> None:
    raw = mail(to_name="Mallory\r\nBcc: victim@example.org", subject="Hi\r\nBcc: victim@example.org")
    message = message_from_bytes(raw, policy=policy.default)
    assert message["Bcc"] is None
    assert b"\r\nBcc:" not in raw


def test_an_address_that_is_not_one_is_refused() -> None:
    for bad in ("an@dlk.cand.example\r\nBcc: x@y", "no-at-sign", "a b@c.d"):
        with pytest.raises(BadAddress):
            mail(to_addr=bad)


def test_ascii_is_left_as_it_is_and_long_words_fold_without_splitting_a_character() -> None:
    assert encode_words("Reminder") == "Reminder"
    encoded = encode_words("Đ" * 100)
    assert all(len(line.strip()) <= 75 for line in encoded.split("\r\n"))
    from email.header import decode_header, make_header

    assert str(make_header(decode_header(encoded))) == "Đ" * 100
