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
    first_name = full_name.split()[0] if full_name.strip() else "there"
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
