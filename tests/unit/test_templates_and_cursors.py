from __future__ import annotations

import datetime as dt
import uuid

import pytest

from api.errors import Problem
from api.pagination import decode_timestamp_id_cursor, encode_cursor, page_of
from stayflow.templates import password_reset_email


def test_password_reset_email_carries_link_code_and_escapes_names() -> None:
    notice = password_reset_email(
        full_name="<script>alert(1)</script> Smith", reset_url="https://x.test/reset?token=abc", token="abc",
        valid_minutes=30,
    )  # fmt: skip
    email = notice.email
    assert "abc" not in notice.short  # the feed never carries the reset code
    assert email.subject == "Reset your Stayflow password"
    assert "https://x.test/reset?token=abc" in email.text and "30 minutes" in email.text
    assert "<script>" not in email.html and "&lt;script&gt;" in email.html
    assert 'href="https://x.test/reset?token=abc"' in email.html


def test_cursor_round_trip_and_garbage() -> None:
    when, ident = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC), uuid.uuid4()
    assert decode_timestamp_id_cursor(encode_cursor(when, ident)) == (when, ident)
    assert decode_timestamp_id_cursor(None) is None
    for garbage in ("garbage!", encode_cursor("not a date", "x"), "e30"):
        with pytest.raises(Problem):
            decode_timestamp_id_cursor(garbage)


def test_page_of_uses_the_extra_row_only_to_say_there_is_more() -> None:
    rows = [{"n": i} for i in range(3)]
    more = page_of(rows, 2, lambda r: r["n"], lambda r: (r["n"],))
    assert more.items == [0, 1] and more.next_cursor == encode_cursor(1)
    last = page_of(rows[:2], 2, lambda r: r["n"], lambda r: (r["n"],))
    assert last.items == [0, 1] and last.next_cursor is None
