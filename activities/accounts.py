"""Side effects of the account processes (password reset)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from temporalio import activity

from activities.notifications import record_notification
from models import Message, PasswordResetToken, User
from stayflow import templates
from stayflow.credentials import new_opaque_token, token_digest
from stayflow.settings import Settings
from workflows.payloads.accounts import PasswordResetRequest


class AccountActivities:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @activity.defn
    async def issue_password_reset(self, request: PasswordResetRequest) -> str | None:
        """Mint a single-use reset token and record the email that carries it.

        Returns the message id, or None when no active account has that email. The raw token
        exists only here and in the message body; it never enters workflow history.
        """
        dedupe_key = f"password_reset:{request.request_id}"
        # (`…:email` is the key of messages recorded before notifications had one entry point.)
        existing = (
            await Message.select(Message.id)
            .where(Message.dedupe_key.is_in([dedupe_key, f"{dedupe_key}:email"]))
            .first()
        )
        if existing:
            return str(existing["id"])
        user = await User.objects().where(User.email == request.email.strip().lower()).first()
        if user is None or user.suspended_at is not None:
            return None
        token = new_opaque_token()
        ttl = self.settings.password_reset_ttl_seconds
        reset_url = f"{self.settings.public_url.rstrip('/')}/reset-password?{urlencode({'token': token})}"
        notice = templates.password_reset_email(
            full_name=user.full_name, reset_url=reset_url, token=token, valid_minutes=ttl // 60
        )
        async with PasswordResetToken._meta.db.transaction():
            await PasswordResetToken.insert(
                PasswordResetToken(
                    user=user.id,
                    token_hash=token_digest(token),
                    request_id=request.request_id,
                    expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=ttl),
                )
            )
            message_ids = await record_notification(
                user_id=user.id, kind="password_reset", dedupe_key=dedupe_key, notice=notice
            )
        return message_ids[0]
