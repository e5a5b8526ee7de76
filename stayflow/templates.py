"""Every message the product sends, in one place: subject, text and HTML for email, short text
for SMS. Rendering is pure; user-supplied values are HTML-escaped in the HTML part."""

from __future__ import annotations

from html import escape

import msgspec


class RenderedEmail(msgspec.Struct, frozen=True):
    subject: str
    text: str
    html: str


def password_reset_email(*, full_name: str, reset_url: str, token: str, valid_minutes: int) -> RenderedEmail:
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
    return RenderedEmail(subject="Reset your Stayflow password", text=text, html=html)


def _first_name(full_name: str) -> str:
    return full_name.split()[0] if full_name.strip() else "there"


def listing_returned_email(*, full_name: str, title: str, problems: list[str], listing_url: str) -> RenderedEmail:
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
    return RenderedEmail(subject=f"Your listing needs a few changes: {title}", text=text, html=html)


def listing_approved_email(*, full_name: str, title: str, listing_url: str) -> RenderedEmail:
    text = (
        f"Hi {_first_name(full_name)},\n\n“{title}” is approved and live: guests can find and book it now.\n\n"
        f"{listing_url}\n"
    )
    html = (
        f"<p>Hi {escape(_first_name(full_name))},</p><p>“{escape(title)}” is approved and live: guests can find "
        f'and book it now.</p><p><a href="{escape(listing_url, quote=True)}">See your listing</a></p>'
    )
    return RenderedEmail(subject=f"Your listing is live: {title}", text=text, html=html)


def listing_rejected_email(*, full_name: str, title: str, reason: str, listing_url: str) -> RenderedEmail:
    text = (
        f"Hi {_first_name(full_name)},\n\nWe could not publish “{title}”.\n\nReason: {reason}\n\n"
        f"You can edit the listing and submit it again: {listing_url}\n"
    )
    html = (
        f"<p>Hi {escape(_first_name(full_name))},</p><p>We could not publish “{escape(title)}”.</p>"
        f"<p><strong>Reason:</strong> {escape(reason)}</p>"
        f'<p>You can <a href="{escape(listing_url, quote=True)}">edit the listing</a> and submit it again.</p>'
    )
    return RenderedEmail(subject=f"Your listing was not approved: {title}", text=text, html=html)


def listing_review_reminder_email(*, full_name: str, title: str, waiting_hours: int, queue_url: str) -> RenderedEmail:
    text = (
        f"Hi {_first_name(full_name)},\n\n“{title}” has been waiting for review for {waiting_hours} hours.\n\n"
        f"Review queue: {queue_url}\n"
    )
    html = (
        f"<p>Hi {escape(_first_name(full_name))},</p><p>“{escape(title)}” has been waiting for review for "
        f'{waiting_hours} hours.</p><p><a href="{escape(queue_url, quote=True)}">Open the review queue</a></p>'
    )
    return RenderedEmail(subject=f"Listing waiting for review: {title}", text=text, html=html)


def money(amount: int, currency: str) -> str:
    return f"{currency} {amount // 100:,}.{amount % 100:02d}"


_BOOKING_LINES: dict[str, tuple[str, str]] = {
    # kind: (subject, first line); {title}, {dates}, {total}, {reason} are filled in
    "booking_requested": (
        "New booking request: {title}",
        "A guest asks to stay at {title} {dates} ({total}). "
        "Accept or decline it in the app; unanswered requests expire.",
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
    "payment_receipt": (
        "Receipt for your stay at {title}",
        "We received {total} for {title} {dates}. Your invoice and receipt are in the app.",
    ),
}


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
) -> RenderedEmail:
    subject, line = _BOOKING_LINES[kind]
    values = {
        "title": title,
        "dates": f"from {check_in} to {check_out}",
        "total": money(total, currency),
        "reason": reason or "",
    }
    body = line.format(**values)
    text = f"Hi {_first_name(full_name)},\n\n{body}\n\n{booking_url}\n"
    html = (
        f"<p>Hi {escape(_first_name(full_name))},</p><p>{escape(body)}</p>"
        f'<p><a href="{escape(booking_url, quote=True)}">See the booking</a></p>'
    )
    return RenderedEmail(subject=subject.format(**values), text=text, html=html)


def review_reminder_email(*, full_name: str, title: str, day: int, guest: bool, url: str) -> RenderedEmail:
    what = f"your stay at {title}" if guest else f"your guest at {title}"
    text = (
        f"Hi {_first_name(full_name)},\n\nHow was it? You can still review {what}. Reviews stay hidden until you "
        f"both have written or the review window closes.\n\n{url}\n"
    )
    html = (
        f"<p>Hi {escape(_first_name(full_name))},</p><p>How was it? You can still review {escape(what)}. Reviews stay "
        f'hidden until you both have written or the review window closes.</p><p><a href="{escape(url, quote=True)}">'
        "Write your review</a></p>"
    )
    subject = "Review your stay" if guest else "Review your guest"
    return RenderedEmail(
        subject=f"{subject}: {title}" if day == 1 else f"Last days to review: {title}", text=text, html=html
    )


def new_messages_email(
    *, full_name: str, sender_name: str, title: str, previews: list[str], more: int, url: str
) -> RenderedEmail:
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
    return RenderedEmail(subject=f"{count} new {noun} from {sender_name}: {title}", text=text, html=html)
