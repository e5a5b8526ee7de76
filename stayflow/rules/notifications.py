"""What the product tells users about, and on which channels (SPEC §8).

Every kind of notification is declared here with its default channels. In-app is always on;
email and SMS follow the user's preferences, falling back to these defaults. Security messages
(password reset) go by email whatever the preferences say, and are not configurable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


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
    NotificationKind("calendar_conflict", "A night closed on another platform's calendar is booked here too", sms=True),
    NotificationKind("new_message", "A new message in one of your conversations"),
    NotificationKind("password_reset", "Password reset requested", security=True),
    NotificationKind("email_verification", "Confirm your email address", security=True),
]

KINDS: dict[str, NotificationKind] = {kind.name: kind for kind in _KINDS}
CONFIGURABLE: tuple[str, ...] = tuple(kind.name for kind in _KINDS if not kind.security)


def kind_named(name: str) -> NotificationKind:
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown notification kind {name!r}: declare it in stayflow/rules/notifications.py") from None


def wanted_channels(kind: str, choices: Mapping[tuple[str, str], bool]) -> set[PreferenceChannel]:
    """The channels besides in-app that `kind` goes out on, given a user's stored `choices`
    ((kind, channel) -> enabled; absent: the default)."""
    declared = kind_named(kind)
    if declared.security:
        return {PreferenceChannel.email}
    defaults = {PreferenceChannel.email: declared.email, PreferenceChannel.sms: declared.sms}
    return {channel for channel, default in defaults.items() if choices.get((kind, channel), default)}


def preference_problems(changes: Mapping[str, object]) -> list[tuple[str, str]]:
    """Field errors of a preferences update `{kind: {channel: bool}}`; empty when acceptable."""
    problems: list[tuple[str, str]] = []
    for kind, channels in changes.items():
        if kind in KINDS and KINDS[kind].security:
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
