"""Every message the product sends, in one place: subject, text and HTML for email, and a short
text for the in-app feed (SMS say fixed texts: `stayflow.rules.notifications`). Rendering is
pure; user-supplied values are HTML-escaped in the HTML part."""

from __future__ import annotations

from html import escape

import msgspec

from stayflow.money import format_money


class RenderedEmail(msgspec.Struct, frozen=True):
    subject: str
    text: str
    html: str


class Notice(msgspec.Struct, frozen=True):
    """One event told every way: the email, and `short` (a sentence or two, no secrets) for the
    in-app feed. The in-app title is the email's subject. SMS never carry `short` (it holds the
    host's words): they say the fixed texts of `stayflow.rules.notifications.sms_text`."""

    email: RenderedEmail
    short: str


def password_reset_email(*, full_name: str, reset_url: str, token: str, valid_minutes: int) -> Notice:
    first_name = _first_name(full_name)
    text = (
        f"Hi {first_name},\n\n"
        "Someone (hopefully you) asked to reset the password of your Stayflow account.\n"
        f"Open this link within {valid_minutes} minutes to choose a new password:\n\n"
        f"{reset_url}\n\n"
        f"Or use this reset code in the app: {token}\n\n"
        "If you did not ask for this, ignore this email: your password stays as it is.\n"
    )
    html = (
        f"<p>Hi {escape(first_name)},</p>"
        "<p>Someone (hopefully you) asked to reset the password of your Stayflow account.</p>"
        f'<p><a href="{escape(reset_url, quote=True)}">Choose a new password</a> '
        f"(the link works for {valid_minutes} minutes).</p>"
        f"<p>Or use this reset code in the app: <code>{escape(token)}</code></p>"
        "<p>If you did not ask for this, ignore this email: your password stays as it is.</p>"
    )
    # The feed never carries the link or the code: they are for the mailbox only.
    short = "A password reset was requested for your account; the link is in your email. Not you? Ignore it."
    return Notice(RenderedEmail(subject="Reset your Stayflow password", text=text, html=html), short)


def email_verification_email(*, full_name: str, verify_url: str, token: str) -> Notice:
    first_name = _first_name(full_name)
    text = (
        f"Hi {first_name},\n\n"
        "Welcome to Stayflow. Confirm that this is your email address to start booking stays:\n\n"
        f"{verify_url}\n\n"
        f"Or use this code in the app: {token}\n\n"
        "If you did not create an account, ignore this email.\n"
    )
    html = (
        f"<p>Hi {escape(first_name)},</p>"
        "<p>Welcome to Stayflow. Confirm that this is your email address to start booking stays:</p>"
        f'<p><a href="{escape(verify_url, quote=True)}">Confirm my email address</a></p>'
        f"<p>Or use this code in the app: <code>{escape(token)}</code></p>"
        "<p>If you did not create an account, ignore this email.</p>"
    )
    short = "Confirm your email address to start booking: the link is in your email."
    return Notice(RenderedEmail(subject="Confirm your email address", text=text, html=html), short)


def registration_attempt_email(*, full_name: str, sign_in_url: str) -> Notice:
    """Someone registered with an address that already has an account (issue 12 item 15)."""
    first_name = _first_name(full_name)
    text = (
        f"Hi {first_name},\n\n"
        "Someone tried to create a Stayflow account with your email address, which already has one. "
        "Nothing changed in your account.\n\n"
        "If it was you, sign in instead, or reset your password if you forgot it:\n\n"
        f"{sign_in_url}\n\n"
        "If it was not you, you can ignore this email.\n"
    )
    html = (
        f"<p>Hi {escape(first_name)},</p>"
        "<p>Someone tried to create a Stayflow account with your email address, which already has one. "
        "Nothing changed in your account.</p>"
        f'<p>If it was you, <a href="{escape(sign_in_url, quote=True)}">sign in</a> instead, or reset your '
        "password if you forgot it.</p><p>If it was not you, you can ignore this email.</p>"
    )
    short = "Someone tried to register with your email address. If it was you, sign in or reset your password."
    return Notice(RenderedEmail(subject="Someone tried to register with your email", text=text, html=html), short)


def _first_name(full_name: str) -> str:
    return full_name.split()[0] if full_name.strip() else "there"


def _email(full_name: str, subject: str, body: str, url: str, action: str) -> RenderedEmail:
    """The common shape: greeting, one paragraph, one link."""
    text = f"Hi {_first_name(full_name)},\n\n{body}\n\n{url}\n"
    html = (
        f"<p>Hi {escape(_first_name(full_name))},</p><p>{escape(body)}</p>"
        f'<p><a href="{escape(url, quote=True)}">{escape(action)}</a></p>'
    )
    return RenderedEmail(subject=subject, text=text, html=html)


def listing_returned_email(*, full_name: str, title: str, problems: list[str], listing_url: str) -> Notice:
    items = "\n".join(f"  - {p}" for p in problems)
    text = (
        f"Hi {_first_name(full_name)},\n\n"
        f"“{title}” is not ready for review yet:\n{items}\n\n"
        f"Fix these and submit it again: {listing_url}\n"
    )
    html = (
        f"<p>Hi {escape(_first_name(full_name))},</p><p>“{escape(title)}” is not ready for review yet:</p><ul>"
        + "".join(f"<li>{escape(p)}</li>" for p in problems)
        + f'</ul><p>Fix these and <a href="{escape(listing_url, quote=True)}">submit it again</a>.</p>'
    )
    subject = f"Your listing needs a few changes: {title}"
    short = f"“{title}” is not ready for review yet: {'; '.join(problems)}."
    return Notice(RenderedEmail(subject=subject, text=text, html=html), short)


def listing_approved_email(*, full_name: str, title: str, listing_url: str) -> Notice:
    body = f"“{title}” is approved and live: guests can find and book it now."
    return Notice(_email(full_name, f"Your listing is live: {title}", body, listing_url, "See your listing"), body)


def listing_rejected_email(*, full_name: str, title: str, reason: str, listing_url: str) -> Notice:
    text = (
        f"Hi {_first_name(full_name)},\n\nWe could not publish “{title}”.\n\nReason: {reason}\n\n"
        f"You can edit the listing and submit it again: {listing_url}\n"
    )
    html = (
        f"<p>Hi {escape(_first_name(full_name))},</p><p>We could not publish “{escape(title)}”.</p>"
        f"<p><strong>Reason:</strong> {escape(reason)}</p>"
        f'<p>You can <a href="{escape(listing_url, quote=True)}">edit the listing</a> and submit it again.</p>'
    )
    subject = f"Your listing was not approved: {title}"
    return Notice(RenderedEmail(subject=subject, text=text, html=html), f"We could not publish “{title}”: {reason}")


def listing_suspended_email(*, full_name: str, title: str, reason: str, listing_url: str) -> Notice:
    body = f"“{title}” is suspended and hidden from search. Reason: {reason or 'not given'}."
    email = _email(full_name, f"Your listing is suspended: {title}", body, listing_url, "See your listing")
    return Notice(email, body)


def listing_review_reminder_email(*, full_name: str, title: str, waiting_hours: int, queue_url: str) -> Notice:
    body = f"“{title}” has been waiting for review for {waiting_hours} hours."
    email = _email(full_name, f"Listing waiting for review: {title}", body, queue_url, "Open the review queue")
    return Notice(email, body)


def dispute_opened_email(*, full_name: str, title: str, amount: str, reason: str, due: str, url: str) -> Notice:
    """To admins: a guest's bank disputed a charge."""
    body = (
        f"The guest's bank disputed {amount} paid for “{title}” ({reason}). Evidence is due {due}; Stayflow submits it."
    )
    return Notice(_email(full_name, f"Payment disputed: {title}", body, url, "Open the disputes"), body)


def dispute_opened_host_email(*, full_name: str, title: str, amount: str, stay: str, url: str) -> Notice:
    body = (
        f"The guest's bank disputed {amount} paid for your booking of “{title}” {stay}. Its payout is on hold "
        "until the bank decides; we send the bank the booking's records."
    )
    return Notice(_email(full_name, f"A payment for {title} is disputed", body, url, "See your payouts"), body)


def dispute_closed_email(*, full_name: str, title: str, amount: str, won: bool, taken: str, url: str) -> Notice:
    """To admins and the host: the bank decided. `taken`: what it cost the host ("" for nothing)."""
    verdict = "for us" if won else "for the guest"
    if won:
        payout = " The payout goes ahead."
    else:
        payout = f" {taken} of the host's earnings pays for it." if taken else " The payout is not affected."
    body = f"The bank decided the dispute of {amount} on the booking of “{title}” {verdict}.{payout}"
    subject = f"Dispute {'won' if won else 'lost'}: {title}"
    return Notice(_email(full_name, subject, body, url, "Open the dispute"), body)


def dispute_evidence_missed_email(*, full_name: str, title: str, amount: str, due: str, url: str) -> Notice:
    body = (
        f"The evidence of the dispute of {amount} on “{title}” could not be submitted to Stripe before {due}: "
        "answer it in Stripe's dashboard."
    )
    return Notice(_email(full_name, f"Dispute evidence not submitted: {title}", body, url, "Open the disputes"), body)


def money(amount: int, currency: str) -> str:
    return format_money(amount, currency)


_BOOKING_LINES: dict[str, tuple[str, str]] = {
    # kind: (subject, first line); {title}, {dates}, {total}, {reason} are filled in, and {change}:
    # the reason (a change's summary names the new stay), else the dates
    "booking_requested": (
        "New booking request: {title}",
        "A guest asks to stay at {title} {dates} ({total}). "
        "Accept or decline it in the app; unanswered requests expire.",
    ),
    "booking_accepted": (
        "Request accepted: {title}",
        "The host accepted your request: your booking of {title} {dates} is confirmed. {total} was charged.",
    ),
    "booking_confirmed": (
        "Booking confirmed: {title}",
        "Your booking of {title} {dates} is confirmed. {total} was charged.",
    ),
    "booking_confirmed_host": ("New confirmed booking: {title}", "{title} is booked {dates} ({total})."),
    "booking_declined": (
        "Booking request declined: {title}",
        "The host could not accept your request for {title} {dates}. The hold on your card ({total}) is released.",
    ),
    "booking_expired": (
        "Booking request expired: {title}",
        "The host did not answer your request for {title} "
        "{dates} in time. The hold on your card ({total}) is released.",
    ),
    "payment_failed": (
        "Payment failed: {title}",
        "We could not take the payment for {title} {dates}: {reason} "
        "The dates are free again; you can book with another card.",
    ),
    "booking_cancelled": (
        "Booking cancelled: {title}",
        "Your booking of {title} {dates} is cancelled ({reason}). "
        "Any refund due is on its way to your card; see the booking for the amount.",
    ),
    "booking_cancelled_host": (
        "Booking cancelled: {title}",
        "The booking of {title} {dates} is cancelled ({reason}). The nights are open again.",
    ),
    "booking_modified": (
        "Booking changed: {title}",
        "Your booking of {title} changed. {change} The stay now costs {total} in all.",
    ),
    "booking_modified_host": (
        "Booking changed: {title}",
        "A booking of {title} changed. {change} The stay now costs {total} in all.",
    ),
    "change_requested_host": (
        "Change request: {title}",
        "Your guest asks to change their stay at {title} (booked {dates}). {reason} "
        "Accept or decline it in the app; an unanswered request lapses and the booking stays as it is.",
    ),
    "change_declined": (
        "Change not accepted: {title}",
        "The host did not accept your change to {title}; your booking stays {dates}. Nothing was charged for it.",
    ),
    "change_expired": (
        "Change request lapsed: {title}",
        "The host did not answer your change to {title} in time; your booking stays {dates}. "
        "Nothing was charged for it.",
    ),
    "change_failed": (
        "Change not made: {title}",
        "We could not change your booking of {title}: {reason} Your booking stays {dates}.",
    ),
    "payment_receipt": (
        "Receipt for your stay at {title}",
        "We received {total} for {title} {dates}. Your invoice and receipt are in the app.",
    ),
    "refund_issued": (
        "Refund on its way: {title}",
        "We refunded {total} for {title} {dates} to your card. Banks take 5 to 10 days to show it.",
    ),
}
BOOKING_KINDS = tuple(_BOOKING_LINES)


def booking_email(
    *,
    kind: str,
    full_name: str,
    title: str,
    check_in: str,
    check_out: str,
    total: int,
    currency: str,
    reason: str = "",
    booking_url: str = "",
) -> Notice:
    """`total`: the amount the event is about (the booking's total, or the refund)."""
    subject, line = _BOOKING_LINES[kind]
    values = {
        "title": title,
        "dates": f"from {check_in} to {check_out}",
        "total": money(total, currency),
        "reason": reason or "",
        "change": reason or f"It is now from {check_in} to {check_out}.",
    }
    body = line.format(**values).strip()
    return Notice(_email(full_name, subject.format(**values), body, booking_url, "See the booking"), body)


def review_reminder_email(*, full_name: str, title: str, day: int, guest: bool, url: str) -> Notice:
    what = f"your stay at {title}" if guest else f"your guest at {title}"
    body = (
        f"How was it? You can still review {what}. Reviews stay hidden until you both have written or the "
        "review window closes."
    )
    subject = "Review your stay" if guest else "Review your guest"
    subject = f"{subject}: {title}" if day == 1 else f"Last days to review: {title}"
    return Notice(_email(full_name, subject, body, url, "Write your review"), f"You can still review {what}.")


def review_received_email(*, full_name: str, title: str, rating: int, by_guest: bool, url: str) -> Notice:
    """A review of the reader is public: the guest's of the host's listing, or the host's of the guest."""
    what = f"Your guest reviewed their stay at {title}" if by_guest else f"Your host at {title} reviewed you"
    body = f"{what}: {rating} of 5. The review is public now."
    return Notice(_email(full_name, f"New review: {title}", body, url, "Read it"), body)


def new_message_email(*, full_name: str, sender_first_name: str, about: str, excerpt: str, url: str) -> Notice:
    """A host-guest message; `about`: the listing's title. The excerpt is cut to one line."""
    cut = excerpt if len(excerpt) <= 140 else excerpt[:139].rstrip() + "…"
    body = f"{sender_first_name} wrote about {about}: “{cut}”"
    email = _email(full_name, f"New message from {sender_first_name}: {about}", body, url, "Answer in the app")
    return Notice(email, body)


def new_messages_email(
    *, full_name: str, sender_name: str, title: str, previews: list[str], more: int, url: str
) -> Notice:
    """One digest for several new messages of one conversation: the newest few, quoted."""
    count = len(previews) + more
    noun = "message" if count == 1 else "messages"
    quoted = "\n\n".join("> " + p.replace("\n", "\n> ") for p in previews)
    extra = f"\n\n… and {more} more." if more else ""
    text = (
        f"Hi {_first_name(full_name)},\n\n{sender_name} sent you {count} new {noun} about {title}:\n\n"
        f"{quoted}{extra}\n\nReply in the app: {url}\n"
    )
    html = (
        f"<p>Hi {escape(_first_name(full_name))},</p><p>{escape(sender_name)} sent you {count} new {noun} about "
        f"“{escape(title)}”:</p>"
        + "".join(f"<blockquote>{escape(p)}</blockquote>" for p in previews)
        + (f"<p>… and {more} more.</p>" if more else "")
        + f'<p><a href="{escape(url, quote=True)}">Reply</a></p>'
    )
    email = RenderedEmail(subject=f"{count} new {noun} from {sender_name}: {title}", text=text, html=html)
    return Notice(email, f"{sender_name} sent you {count} new {noun} about {title}.")


def calendar_conflict_email(
    *, full_name: str, title: str, feed_name: str, nights: list[str], check_in: str, check_out: str, url: str
) -> Notice:
    """A night an imported calendar closes is held by a Stayflow booking: the home may be booked twice."""
    shown = ", ".join(nights[:10]) + (f" and {len(nights) - 10} more" if len(nights) > 10 else "")
    body = (
        f"The calendar “{feed_name}” closes {shown} at {title}, but a Stayflow booking from {check_in} to "
        f"{check_out} holds these nights. Check both platforms now so the home is not booked twice."
    )
    email = _email(full_name, f"Possible double booking: {title}", body, url, "See the listing's calendar feeds")
    return Notice(email, body)


def payout_paid_email(
    *, full_name: str, title: str, check_in: str, check_out: str, amount: int, currency: str, url: str
) -> Notice:
    """The host's earnings of a stay left for their bank: `amount` as transferred, in its currency."""
    body = (
        f"We sent you {money(amount, currency)} for the stay at {title} from {check_in} to {check_out}. "
        "Stripe pays it out to your bank account on your payout schedule."
    )
    return Notice(_email(full_name, f"Payout sent: {money(amount, currency)}", body, url, "See your payouts"), body)


def payout_failed_email(
    *, full_name: str, title: str, amount: int, currency: str, reason: str, account_url: str
) -> Notice:
    """Stripe refused the transfer (the host's account is restricted or not set up): what to do."""
    body = (
        f"We could not pay you {money(amount, currency)} for the stay at {title}: {reason} "
        "Finish your payout account's setup with Stripe (POST /api/v1/host/payouts/onboarding gives you a "
        "fresh link); we try again every few hours, and at once when Stripe says your account can be paid."
    )
    email = _email(full_name, f"Payout on hold: {title}", body, account_url, "See your payout account")
    return Notice(email, body)


def payout_failed_admin_email(
    *, full_name: str, host_name: str, title: str, amount: int, currency: str, reason: str, url: str
) -> Notice:
    body = (
        f"Stripe refused the payout of {money(amount, currency)} to {host_name} for the stay at {title}: "
        f"{reason} It is retried every few hours and at once when the host's account can be paid."
    )
    return Notice(_email(full_name, f"Payout refused: {host_name}", body, url, "See the booking"), body)
