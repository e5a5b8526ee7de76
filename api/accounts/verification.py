"""Verifying an account's email address (issue 12 item 1): a throwaway address cannot book.

Registration emails a single-use token (kept only as its SHA-256); `POST /auth/email/verify` with
it marks the address verified. Booking needs a verified address (`require_verified_email`). A
signed-in user may ask for a new link (`POST /auth/email/verification`), which voids the old one.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from api.errors import Problem
from api.notifications.notify import notify_in_background
from api.security import CurrentUser
from api.throttle import throttle
from models import User
from stayflow import templates
from stayflow.credentials import new_opaque_token, token_digest
from stayflow.settings import Settings
from stayflow.temporal import TemporalGateway

_BAD_TOKEN = "This verification link is invalid or was replaced by a newer one; ask for a new one."


async def send_email_verification(user_id: UUID, settings: Settings, temporal: TemporalGateway) -> None:
    """Mint a new token for the account (the previous one stops working) and email its link."""
    token = new_opaque_token()
    rows = (
        await User.update({User.email_verification_hash: token_digest(token)})
        .where((User.id == user_id) & User.email_verified_at.is_null())
        .returning(User.full_name)
    )
    if not rows:
        return  # already verified
    url = f"{settings.public_url.rstrip('/')}/verify-email?token={token}"
    await notify_in_background(
        temporal,
        settings,
        user_id=user_id,
        kind="email_verification",
        dedupe_key=f"email_verification:{token_digest(token)}",
        notice=templates.email_verification_email(full_name=rows[0]["full_name"], verify_url=url, token=token),
    )


async def verify_email(token: str) -> None:
    """Single use: the token is cleared as the address is marked verified."""
    verified = (
        await User.update({User.email_verified_at: dt.datetime.now(dt.UTC), User.email_verification_hash: None})
        .where((User.email_verification_hash == token_digest(token)) & User.email_verified_at.is_null())
        .returning(User.id)
    )
    if not verified:
        raise Problem(400, _BAD_TOKEN, slug="bad-verification-token")


async def require_verified_email(user: CurrentUser) -> None:
    """403 until the caller has verified their email address."""
    if not await User.exists().where((User.id == user.id) & User.email_verified_at.is_not_null()):
        raise Problem(
            403,
            "Confirm your email address first: open the link we emailed you, or ask for a new one "
            "with POST /api/v1/auth/email/verification.",
            slug="email-not-verified",
        )


class VerifyEmailRequest(msgspec.Struct, forbid_unknown_fields=True):
    token: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class EmailVerificationController(Controller):
    path = "/api/v1/auth/email"
    tags = ["auth"]

    @post("/verify", operation_id="verifyEmail", summary="Confirm my email address", exclude_from_auth=True,
          status_code=204)  # fmt: skip
    async def verify(self, data: JSONBody[VerifyEmailRequest]) -> None:
        """With the code (or the link's `token`) from the email sent at registration."""
        await verify_email(data.token)

    @post("/verification", operation_id="resendEmailVerification", summary="Email me a new verification link",
          status_code=202)  # fmt: skip
    async def resend(
        self,
        request: Request[CurrentUser, Any, Any],
        settings: NamedDependency[Settings],
        temporal: NamedDependency[TemporalGateway],
    ) -> None:
        """The previous link stops working. At most as many per window as password resets."""
        await throttle(
            f"verify-email:{request.user.id}",
            limit=settings.password_resets_per_account,
            window_seconds=settings.account_throttle_window_seconds,
        )
        await send_email_verification(request.user.id, settings, temporal)
