"""Every kind of notification has a template that renders its email and its short text, and
the channel rules pick what a user chose (or the kind's default)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from stayflow import templates
from stayflow.rules.notifications import (
    CONFIGURABLE,
    KINDS,
    SMS_LIMIT,
    SMS_TEXTS,
    PreferenceChannel,
    kind_named,
    phone_code_sms,
    preference_problems,
    sms_destination_problem,
    sms_text,
    wanted_channels,
)
from stayflow.templates import Notice

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
    "dispute_opened": lambda: templates.dispute_opened_email(
        full_name="Ada Lovelace", title=TITLE, amount="EUR 386.00", reason="fraudulent", due="by 2027-03-08", url=URL
    ),
    "dispute_opened_host": lambda: templates.dispute_opened_host_email(
        full_name="Ada Lovelace", title=TITLE, amount="EUR 386.00", stay="2027-03-01 to 2027-03-04", url=URL
    ),
    "dispute_closed": lambda: templates.dispute_closed_email(
        full_name="Ada Lovelace", title=TITLE, amount="EUR 386.00", won=False, taken="EUR 339.50", url=URL
    ),
    "dispute_evidence_missed": lambda: templates.dispute_evidence_missed_email(
        full_name="Ada Lovelace", title=TITLE, amount="EUR 386.00", due="by 2027-03-08", url=URL
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
    "registration_attempt": lambda: templates.registration_attempt_email(full_name="Ada Lovelace", sign_in_url=URL),
}
CODE_TEXTS = {"phone_verification"}
"""Kinds told by SMS alone (the code is rendered by `phone_code_sms`, not an email template)."""


def test_every_declared_kind_has_a_template() -> None:
    assert set(RENDERERS) | CODE_TEXTS == set(KINDS)


@pytest.mark.parametrize("kind", sorted(set(KINDS) - CODE_TEXTS))
def test_each_kind_renders_email_and_short_text(kind: str) -> None:
    notice = RENDERERS[kind]()
    email = notice.email
    assert email.subject and "\n" not in email.subject
    assert email.text.startswith("Hi Ada,") and URL in email.text
    assert email.html.startswith("<p>Hi Ada,</p>")
    assert f'href="{URL.replace("&", "&amp;")}"' in email.html
    assert "<b>" not in email.html and "<the>" not in email.html and "<home>" not in email.html
    if kind not in ("password_reset", "email_verification", "registration_attempt"):  # no user text in these
        assert "&lt;" in email.html  # the title (and reasons, excerpts) arrive escaped
    assert notice.short and "\n" not in notice.short and "Hi Ada" not in notice.short


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


@pytest.mark.parametrize("kind", CONFIGURABLE)
def test_every_sms_is_a_fixed_platform_text_with_the_platforms_link(kind: str) -> None:
    """Issue 12 item 10: nothing a host or guest wrote reaches a phone (the title was in every SMS)."""
    assert kind in SMS_TEXTS  # every kind a user may turn SMS on for has its own sentence
    text = sms_text(kind, URL)
    assert text == f"Stayflow: {SMS_TEXTS[kind]} {URL}" and len(text) <= SMS_LIMIT
    rendered = RENDERERS[kind]()
    for words in (TITLE, "Plans changed.", "early", "Airbnb", "Photos of another", "describe"):
        assert words not in text
    assert rendered.short not in text
    assert sms_text(kind, "") == sms_text(kind, "https://x.test/" + "a" * 400) != text  # no link rather than a cut one
    assert sms_text(kind, "").endswith(".") and "{" not in sms_text(kind, "")


def test_a_kind_without_its_own_sms_sentence_still_says_only_platform_words() -> None:
    assert sms_text("a_kind_added_later", URL) == f"Stayflow: There is news in your account: {URL}"


def test_the_verification_code_sms_and_its_channel() -> None:
    assert phone_code_sms("042917", 10) == (
        "Stayflow: your verification code is 042917. It expires in 10 minutes. Never share it."
    )
    everything_on = {("phone_verification", channel): True for channel in ("email", "sms")}
    assert wanted_channels("phone_verification", everything_on) == {PreferenceChannel.sms}
    assert "phone_verification" not in CONFIGURABLE
    assert preference_problems({"phone_verification": {"sms": False}})


ALLOWED = frozenset({"US", "GB", "NL"})


@pytest.mark.parametrize(
    ("number", "problem"),
    [
        ("+14155552671", None),  # US: fixed line or mobile, cannot tell apart
        ("+447400123456", None),  # UK mobile
        ("+31612345678", None),  # Dutch mobile
        ("+442079460958", "not a mobile number"),  # a London landline
        ("+19005550123", "not a mobile number"),  # US premium rate
        ("+18005550123", "not a mobile number"),  # US toll free
        ("+447020123456", "not a mobile number"),  # UK personal number (forwarded at the caller's cost)
        ("+33612345678", "numbers in FR"),  # a mobile, but outside the allowlist
        ("+447911123456", "numbers in GG"),  # a +44 mobile of Guernsey, not the UK
    ],
)
def test_sms_go_only_to_mobile_numbers_in_allowed_countries(number: str, problem: str | None) -> None:
    found = sms_destination_problem(number, ALLOWED)
    assert found is None if problem is None else problem in (found or ""), found


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
