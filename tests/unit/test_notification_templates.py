"""Every kind of notification has a template that renders its email and its short text, and
the channel rules pick what a user chose (or the kind's default)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from stayflow import templates
from stayflow.rules.notifications import (
    CONFIGURABLE,
    KINDS,
    PreferenceChannel,
    kind_named,
    preference_problems,
    wanted_channels,
)
from stayflow.templates import SMS_LIMIT, Notice, sms_text

TITLE = "Loft <b>by</b> the canal"
URL = "https://stay.test/api/v1/x?a=1&b=2"


def _booking(kind: str) -> Callable[[], Notice]:
    return lambda: templates.booking_email(
        kind=kind,
        full_name="Ada Lovelace",
        title=TITLE,
        check_in="2027-03-01",
        check_out="2027-03-04",
        total=36_150,
        currency="EUR",
        reason="Plans changed.",
        booking_url=URL,
    )


RENDERERS: dict[str, Callable[[], Notice]] = {
    **{kind: _booking(kind) for kind in templates.BOOKING_KINDS},
    "review_reminder": lambda: templates.review_reminder_email(
        full_name="Ada Lovelace", title=TITLE, day=1, guest=True, url=URL
    ),
    "review_received": lambda: templates.review_received_email(
        full_name="Ada Lovelace", title=TITLE, rating=4, by_guest=True, url=URL
    ),
    "listing_returned": lambda: templates.listing_returned_email(
        full_name="Ada Lovelace", title=TITLE, problems=["add 3 photos", "describe <the> home"], listing_url=URL
    ),
    "listing_approved": lambda: templates.listing_approved_email(
        full_name="Ada Lovelace", title=TITLE, listing_url=URL
    ),
    "listing_rejected": lambda: templates.listing_rejected_email(
        full_name="Ada Lovelace", title=TITLE, reason="Photos of another <home>", listing_url=URL
    ),
    "listing_suspended": lambda: templates.listing_suspended_email(
        full_name="Ada Lovelace", title=TITLE, reason="Reported", listing_url=URL
    ),
    "listing_review_reminder": lambda: templates.listing_review_reminder_email(
        full_name="Ada Lovelace", title=TITLE, waiting_hours=26, queue_url=URL
    ),
    "new_message": lambda: templates.new_message_email(
        full_name="Ada Lovelace", sender_first_name="Grace", about=TITLE, excerpt="Is <early> check-in ok?", url=URL
    ),
    "calendar_conflict": lambda: templates.calendar_conflict_email(
        full_name="Ada Lovelace",
        title=TITLE,
        feed_name="Airbnb <main>",
        nights=["2027-03-01"],
        check_in="2027-03-01",
        check_out="2027-03-04",
        url=URL,
    ),
    "payout_paid": lambda: templates.payout_paid_email(
        full_name="Ada Lovelace",
        title=TITLE,
        check_in="2027-03-01",
        check_out="2027-03-04",
        amount=33_950,
        currency="EUR",
        url=URL,
    ),
    "payout_failed": lambda: templates.payout_failed_email(
        full_name="Ada Lovelace",
        title=TITLE,
        amount=33_950,
        currency="EUR",
        reason="The account's <transfers> capability is inactive.",
        account_url=URL,
    ),
    "payout_failed_admin": lambda: templates.payout_failed_admin_email(
        full_name="Ada Lovelace",
        host_name="Grace <Hopper>",
        title=TITLE,
        amount=33_950,
        currency="EUR",
        reason="The account's transfers capability is inactive.",
        url=URL,
    ),
    "password_reset": lambda: templates.password_reset_email(
        full_name="Ada Lovelace", reset_url=URL, token="secret-code", valid_minutes=30
    ),
    "email_verification": lambda: templates.email_verification_email(
        full_name="Ada Lovelace", verify_url=URL, token="secret-code"
    ),
}


def test_every_declared_kind_has_a_template() -> None:
    assert set(RENDERERS) == set(KINDS)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_kind_renders_email_and_short_text(kind: str) -> None:
    notice = RENDERERS[kind]()
    email = notice.email
    assert email.subject and "\n" not in email.subject
    assert email.text.startswith("Hi Ada,") and URL in email.text
    assert email.html.startswith("<p>Hi Ada,</p>")
    assert f'href="{URL.replace("&", "&amp;")}"' in email.html
    assert "<b>" not in email.html and "<the>" not in email.html and "<home>" not in email.html
    if kind not in ("password_reset", "email_verification"):  # no user text in these
        assert "&lt;" in email.html  # the title (and reasons, excerpts) arrive escaped
    assert notice.short and "\n" not in notice.short and "Hi Ada" not in notice.short
    assert len(sms_text(notice.short)) <= SMS_LIMIT and sms_text(notice.short).startswith("Stayflow: ")


def test_booking_texts_carry_the_amount_the_dates_and_the_reason() -> None:
    confirmed = RENDERERS["booking_confirmed"]()
    assert confirmed.email.subject == f"Booking confirmed: {TITLE}"
    assert "EUR 361.50" in confirmed.short and "from 2027-03-01 to 2027-03-04" in confirmed.short
    assert "Plans changed." in RENDERERS["booking_cancelled"]().short
    assert "refunded EUR 361.50" in RENDERERS["refund_issued"]().short
    assert "accepted" in RENDERERS["booking_accepted"]().short


def test_a_changed_booking_is_told_its_new_stay_once_and_what_it_costs_now() -> None:
    summary = "Now 2027-03-01 to 2027-03-05 for 2 guests; EUR 120.00 more, charged to the booking's card."

    def render(kind: str, reason: str, check_out: str = "2027-03-05") -> str:
        return templates.booking_email(
            kind=kind,
            full_name="Ada Lovelace",
            title="Loft",
            check_in="2027-03-01",
            check_out=check_out,
            total=48_150,
            currency="EUR",
            reason=reason,
        ).short

    for kind in ("booking_modified", "booking_modified_host"):
        text = render(kind, summary)
        assert text.count("2027-03-05") == 1 and "EUR 120.00 more" in text and "EUR 481.50 in all" in text
        assert "from 2027-03-01 to 2027-03-05" in render(kind, "")  # no summary: the dates say it
    asked = render("change_requested_host", summary, check_out="2027-03-04")  # the booking's dates today
    assert "(booked from 2027-03-01 to 2027-03-04). Now 2027-03-01 to 2027-03-05" in asked


@pytest.mark.parametrize("kind", ["password_reset", "email_verification"])
def test_secrets_stay_in_the_mailbox(kind: str) -> None:
    notice = RENDERERS[kind]()
    assert "secret-code" in notice.email.text and "secret-code" not in notice.short and URL not in notice.short


def test_long_texts_are_cut_for_sms() -> None:
    text = sms_text("x" * 1000)
    assert len(text) == SMS_LIMIT and text.endswith("…")
    assert sms_text("short") == "Stayflow: short"


def test_channels_follow_choices_then_defaults() -> None:
    assert wanted_channels("booking_requested", {}) == {PreferenceChannel.email, PreferenceChannel.sms}
    assert wanted_channels("payment_receipt", {}) == {PreferenceChannel.email}
    assert wanted_channels("booking_requested", {("booking_requested", "sms"): False}) == {PreferenceChannel.email}
    assert wanted_channels("payment_receipt", {("payment_receipt", "email"): False}) == set()
    assert wanted_channels("payment_receipt", {("booking_requested", "email"): False}) == {PreferenceChannel.email}
    everything_off = {(kind, channel): False for kind in KINDS for channel in ("email", "sms")}
    assert wanted_channels("password_reset", everything_off) == {PreferenceChannel.email}
    with pytest.raises(ValueError, match="unknown notification kind"):
        kind_named("booking_teleported")


def test_preference_updates_are_checked_field_by_field() -> None:
    assert preference_problems({"booking_requested": {"sms": False, "email": True}}) == []
    problems = preference_problems(
        {
            "nope": {"email": True},
            "password_reset": {"email": False},
            "booking_declined": {"fax": True, "in_app": False, "sms": 1},
            "payment_receipt": [],
        }
    )
    fields = [field for field, _ in problems]
    assert fields == [
        "nope",
        "password_reset",
        "booking_declined.fax",
        "booking_declined.in_app",
        "booking_declined.sms",
        "payment_receipt",
    ]
    assert "password_reset" not in CONFIGURABLE and "new_message" in CONFIGURABLE


def test_payout_notices_carry_the_amount_in_its_own_currency() -> None:
    paid = RENDERERS["payout_paid"]()
    assert paid.email.subject == "Payout sent: EUR 339.50" and "EUR 339.50" in paid.short
    assert "from 2027-03-01 to 2027-03-04" in paid.short
    yen = templates.payout_paid_email(
        full_name="Ada", title="Loft", check_in="2027-03-01", check_out="2027-03-04", amount=33_950, currency="JPY",
        url=URL,
    )  # fmt: skip
    assert "JPY 33,950" in yen.short  # no minor unit in yen
    failed = RENDERERS["payout_failed"]()
    assert "EUR 339.50" in failed.short and "capability is inactive" in failed.short
    assert "/api/v1/host/payouts/onboarding" in failed.short
    assert "Grace <Hopper>" in RENDERERS["payout_failed_admin"]().short
