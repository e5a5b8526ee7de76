"""What the product tells users about, and on which channels (SPEC §8), and what an SMS says.

Every kind of notification is declared here with its default channels. In-app is always on;
email and SMS follow the user's preferences, falling back to these defaults. Security messages
(password reset) go by email whatever the preferences say, and are not configurable.

SMS (issue 12 item 10) go only to a verified number, in a supported country, and say only the
fixed platform texts below: nothing a host or guest wrote (no listing title, no message) ever
reaches a phone, so nobody can make the platform text what they want at its cost.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import phonenumbers


class PreferenceChannel(StrEnum):
    email = "email"
    sms = "sms"


@dataclass(frozen=True)
class NotificationKind:
    name: str
    description: str
    email: bool = True
    """Default for email."""
    sms: bool = False
    """Default for SMS: on only where a late answer costs the user something."""
    security: bool = False
    """Email always, SMS never, not in the preferences: the user must be able to rely on it."""
    verification_sms: bool = False
    """The code texted to a number being verified: SMS only, to that number, and no in-app row
    (the feed would show the code to whoever holds a session, proving nothing about the phone)."""


_KINDS = [
    NotificationKind("booking_requested", "A guest asks to book one of your listings (answer in time)", sms=True),
    NotificationKind("booking_accepted", "The host accepted your booking request", sms=True),
    NotificationKind("booking_confirmed", "Your instant booking is confirmed", sms=True),
    NotificationKind("booking_confirmed_host", "One of your listings was booked", sms=True),
    NotificationKind("booking_declined", "The host declined your booking request", sms=True),
    NotificationKind("booking_expired", "The host did not answer your booking request in time", sms=True),
    NotificationKind("payment_failed", "The payment for your booking failed", sms=True),
    NotificationKind("booking_cancelled", "Your booking was cancelled", sms=True),
    NotificationKind("booking_cancelled_host", "A booking of your listing was cancelled", sms=True),
    NotificationKind("booking_modified", "The dates or guests of your booking changed", sms=True),
    NotificationKind("booking_modified_host", "The dates or guests of a booking of your listing changed", sms=True),
    NotificationKind("change_requested_host", "A guest asks to change a booking of your listing", sms=True),
    NotificationKind("change_declined", "The host did not accept your change of a booking"),
    NotificationKind("change_expired", "The host did not answer your change of a booking in time"),
    NotificationKind("change_failed", "A change of your booking could not be made"),
    NotificationKind("payment_receipt", "Receipt for a payment"),
    NotificationKind("refund_issued", "A refund is on its way to your card"),
    NotificationKind("payout_paid", "Your earnings of a stay were paid out to you"),
    NotificationKind("payout_failed", "A payout to you was refused: your payout account needs attention", sms=True),
    NotificationKind("payout_failed_admin", "A host's payout was refused by Stripe (admins)"),
    NotificationKind("review_reminder", "Reminder to review a stay or a guest"),
    NotificationKind("review_received", "A review of you or your listing is public"),
    NotificationKind("listing_returned", "Your listing needs changes before review"),
    NotificationKind("listing_approved", "Your listing is approved and live"),
    NotificationKind("listing_rejected", "Your listing was not approved"),
    NotificationKind("listing_suspended", "Your listing was suspended"),
    NotificationKind("listing_review_reminder", "A listing is waiting for review (admins)"),
    NotificationKind("dispute_opened", "A guest's bank disputed a booking's payment (admins)"),
    NotificationKind("dispute_opened_host", "A payment of your booking is disputed: its payout is on hold", sms=True),
    NotificationKind("dispute_closed", "A disputed payment was decided by the bank"),
    NotificationKind("dispute_evidence_missed", "A dispute's evidence could not be submitted in time (admins)"),
    NotificationKind("calendar_conflict", "A night closed on another platform's calendar is booked here too", sms=True),
    NotificationKind("new_message", "A new message in one of your conversations"),
    NotificationKind("password_reset", "Password reset requested", security=True),
    NotificationKind("email_verification", "Confirm your email address", security=True),
    NotificationKind("registration_attempt", "Someone tried to register with your email address", security=True),
    NotificationKind("phone_verification", "The code that verifies your phone number", verification_sms=True),
]

KINDS: dict[str, NotificationKind] = {kind.name: kind for kind in _KINDS}
CONFIGURABLE: tuple[str, ...] = tuple(kind.name for kind in _KINDS if not (kind.security or kind.verification_sms))


def kind_named(name: str) -> NotificationKind:
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown notification kind {name!r}: declare it in stayflow/rules/notifications.py") from None


def wanted_channels(kind: str, choices: Mapping[tuple[str, str], bool]) -> set[PreferenceChannel]:
    """The channels besides in-app that `kind` goes out on, given a user's stored `choices`
    ((kind, channel) -> enabled; absent: the default)."""
    declared = kind_named(kind)
    if declared.verification_sms:
        return {PreferenceChannel.sms}
    if declared.security:
        return {PreferenceChannel.email}
    defaults = {PreferenceChannel.email: declared.email, PreferenceChannel.sms: declared.sms}
    return {channel for channel, default in defaults.items() if choices.get((kind, channel), default)}


def preference_problems(changes: Mapping[str, object]) -> list[tuple[str, str]]:
    """Field errors of a preferences update `{kind: {channel: bool}}`; empty when acceptable."""
    problems: list[tuple[str, str]] = []
    for kind, channels in changes.items():
        if kind in KINDS and (KINDS[kind].security or KINDS[kind].verification_sms):
            problems.append((kind, "security messages are always sent by email and cannot be turned off"))
            continue
        if kind not in KINDS:
            problems.append((kind, f"unknown notification kind; known: {', '.join(CONFIGURABLE)}"))
            continue
        if not isinstance(channels, Mapping) or not channels:
            problems.append((kind, 'must be an object such as {"email": true, "sms": false}'))
            continue
        for channel, enabled in channels.items():
            where = f"{kind}.{channel}"
            if channel == "in_app":
                problems.append((where, "in-app notifications are always on"))
            elif channel not in PreferenceChannel.__members__:
                problems.append((where, "unknown channel; channels are email and sms"))
            elif not isinstance(enabled, bool):
                problems.append((where, "must be true or false"))
    return problems


# --- what an SMS says ------------------------------------------------------------------------------

SMS_TEXTS: dict[str, str] = {
    "booking_requested": "You have a new booking request. Accept or decline it in time:",
    "booking_accepted": "Your booking request was accepted and your stay is confirmed:",
    "booking_confirmed": "Your booking is confirmed:",
    "booking_confirmed_host": "One of your listings was booked:",
    "booking_declined": "Your booking request was declined and the hold on your card released:",
    "booking_expired": "Your booking request expired unanswered and the hold on your card was released:",
    "payment_failed": "The payment for your booking failed; the dates are free again:",
    "booking_cancelled": "Your booking was cancelled:",
    "booking_cancelled_host": "A booking of your listing was cancelled:",
    "booking_modified": "Your booking changed:",
    "booking_modified_host": "A booking of your listing changed:",
    "change_requested_host": "A guest asks to change a booking. Answer in time:",
    "change_declined": "Your change was not accepted; your booking stays as it was:",
    "change_expired": "Your change request lapsed; your booking stays as it was:",
    "change_failed": "Your change could not be made; your booking stays as it was:",
    "payment_receipt": "We received your payment:",
    "refund_issued": "A refund is on its way to your card:",
    "review_reminder": "You can still write your review:",
    "review_received": "A new review of you or your listing is public:",
    "listing_returned": "Your listing needs changes before review:",
    "listing_approved": "Your listing is approved and live:",
    "listing_rejected": "Your listing was not approved:",
    "listing_suspended": "Your listing was suspended:",
    "listing_review_reminder": "A listing is waiting for review:",
    "calendar_conflict": "A night closed on another calendar is booked here too. Check now:",
    "new_message": "You have a new message:",
    "dispute_opened": "A guest's bank disputed a booking's payment. Review it:",
    "dispute_opened_host": "A payment of your booking is disputed and its payout is on hold:",
    "dispute_closed": "A disputed payment was decided by the bank:",
    "payout_paid": "A payout is on its way to your bank:",
    "payout_failed": "A payout could not be sent. Check your payout account:",
    "payout_failed_admin": "A host's payout was refused by Stripe. Review it:",
    "dispute_evidence_missed": "A dispute's evidence could not be submitted in time. Act now:",
}
"""Each kind's SMS: a fixed sentence, then the platform's own link (the booking's, the listing's)."""
SMS_FALLBACK = "There is news in your account:"
"""For a kind without its own sentence yet: still nothing but platform text."""
SMS_LIMIT = 320
"""Two concatenated segments; the link is never cut (a cut link is worse than none)."""


def sms_text(kind: str, link: str) -> str:
    """The SMS for a notification of `kind`; `link` is built by the platform from ids."""
    text = f"Stayflow: {SMS_TEXTS.get(kind, SMS_FALLBACK)}"
    return f"{text} {link}" if link and len(text) + 1 + len(link) <= SMS_LIMIT else text.rstrip(":") + "."


def phone_code_sms(code: str, valid_minutes: int) -> str:
    return f"Stayflow: your verification code is {code}. It expires in {valid_minutes} minutes. Never share it."


SMS_NUMBER_TYPES = frozenset({phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE})
"""Premium-rate, shared-cost, toll-free, VoIP, pager and landline numbers are never texted."""


def sms_destination_problem(e164: str, allowed_regions: frozenset[str]) -> str | None:
    """Why the platform will not text `e164` (an E.164 number), or None: a mobile number in one of
    `allowed_regions` (ISO country codes) only, so pumped premium or far-away routes cost nothing."""
    number = phonenumbers.parse(e164, None)
    region = phonenumbers.region_code_for_number(number)
    if region not in allowed_regions:
        return f"SMS cannot be sent to numbers in {region or 'this region'}"
    if phonenumbers.number_type(number) not in SMS_NUMBER_TYPES:
        return "is not a mobile number; SMS go to mobile numbers only"
    return None
