"""Verifying an account's phone number (issue 12 item 10): no SMS goes to a number its owner has
not proved is theirs.

`POST /users/me/phone` sets the number and texts it a 6-digit code (kept only as its SHA-256,
bound to the account and the number, valid `phone_code_ttl_seconds`); `POST /users/me/phone/verify`
with the code marks the number verified. A new number is unverified until its own code is typed.
Codes are limited per account and per destination number, every SMS per account and day, and
only mobile numbers in the supported countries (`STAYFLOW_SMS_COUNTRIES`) are texted at all.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from api.accounts.users import UserRead, user_read
from api.errors import Problem, invalid
from api.notifications.notify import notify_in_background
from api.security import CurrentUser
from api.throttle import throttle
from api.validation import normalized_phone
from models import User
from stayflow.rules.notifications import phone_code_sms, sms_destination_problem
from stayflow.settings import Settings
from stayflow.sms_quota import seconds_until_next_sms, sms_sent_today
from stayflow.templates import Notice, RenderedEmail
from stayflow.temporal import TemporalGateway

HOUR = 3600
_NO_CODE = "No code is waiting for this number, or it expired; ask for a new one with POST /api/v1/users/me/phone."


def phone_code_digest(user_id: UUID, phone: str, code: str) -> str:
    """A code proves only the number it was texted to, for the account that asked."""
    return hashlib.sha256(f"{user_id}:{phone}:{code}".encode()).hexdigest()


def sms_destination(value: str, settings: Settings, field: str = "phone") -> str:
    """The number in E.164, or a 422 naming why it cannot be texted."""
    phone = normalized_phone(value, field)
    if phone is None:
        raise invalid(field, "is required")
    if problem := sms_destination_problem(phone, settings.sms_regions):
        raise invalid(field, problem)
    return phone


async def _limit_codes(user_id: UUID, phone: str, settings: Settings) -> None:
    """Per account, per destination number (whoever asks), and the account's SMS of the day."""
    await throttle(
        f"phone-code:account:{user_id}",
        limit=settings.phone_codes_per_account_per_hour,
        window_seconds=HOUR,
        detail="Too many verification codes asked for this account; wait before asking again.",
    )
    await throttle(
        f"phone-code:number:{phone}",
        limit=settings.phone_codes_per_number_per_hour,
        window_seconds=HOUR,
        detail="Too many verification codes sent to this number; wait before asking again.",
    )
    if await sms_sent_today(user_id) >= settings.sms_per_account_per_day:
        raise Problem(
            429,
            f"This account was sent {settings.sms_per_account_per_day} SMS in the last 24 hours; wait before "
            "asking for another code.",
            headers={"Retry-After": str(await seconds_until_next_sms(user_id))},
        )


async def send_phone_code(
    user_id: UUID, phone_input: str, settings: Settings, temporal: TemporalGateway
) -> dict[str, Any]:
    """Set the account's number (unverified) and text it a new code; the previous code stops
    working. The number already verified: nothing is sent. Returns the user's row."""
    phone = sms_destination(phone_input, settings)
    user = await User.select(User.phone, User.phone_verified_at).where(User.id == user_id).first()
    if user is None:
        raise Problem(404, "No such user.")
    if user["phone"] == phone and user["phone_verified_at"] is not None:
        return await _user_row(user_id)
    await _limit_codes(user_id, phone, settings)
    code = f"{secrets.randbelow(1_000_000):06d}"
    digest = phone_code_digest(user_id, phone, code)
    now = dt.datetime.now(dt.UTC)
    await User.update(
        {
            User.phone: phone,
            User.phone_verified_at: None,
            User.phone_code_hash: digest,
            User.phone_code_expires_at: now + dt.timedelta(seconds=settings.phone_code_ttl_seconds),
            User.phone_code_attempts: 0,
            User.updated_at: now,
        }
    ).where(User.id == user_id)
    text = phone_code_sms(code, settings.phone_code_ttl_seconds // 60)
    await notify_in_background(
        temporal,
        settings,
        user_id=user_id,
        kind="phone_verification",
        dedupe_key=f"phone_verification:{digest}",
        notice=Notice(RenderedEmail(subject="Your Stayflow verification code", text=text, html=""), text),
    )
    return await _user_row(user_id)


async def verify_phone(user_id: UUID, code: str, settings: Settings) -> dict[str, Any]:
    """Each wrong code uses up one of `phone_code_attempts`; then, or after expiry, the code is void."""
    now = dt.datetime.now(dt.UTC)
    # Count the try first, atomically: parallel guesses cannot exceed the attempts.
    pending = (
        await User.update({User.phone_code_attempts: User.phone_code_attempts + 1})
        .where(
            (User.id == user_id)
            & User.phone_code_hash.is_not_null()
            & (User.phone_code_expires_at > now)
            & (User.phone_code_attempts < settings.phone_code_attempts)
        )
        .returning(User.phone, User.phone_code_hash, User.phone_code_attempts)
    )
    if not pending or pending[0]["phone"] is None:
        raise Problem(400, _NO_CODE, slug="no-phone-code")
    row = pending[0]
    expected = phone_code_digest(user_id, row["phone"], code.strip())
    if not hmac.compare_digest(expected, row["phone_code_hash"]):
        left = settings.phone_code_attempts - row["phone_code_attempts"]
        detail = f"Wrong code; {left} tries left." if left else "Wrong code, and that was the last try: " + _NO_CODE
        raise Problem(400, detail, slug="wrong-phone-code", errors=[{"field": "code", "message": "wrong code"}])
    verified = (
        await User.update(
            {
                User.phone_verified_at: now,
                User.phone_code_hash: None,
                User.phone_code_expires_at: None,
                User.phone_code_attempts: 0,
                User.updated_at: now,
            }
        )
        .where((User.id == user_id) & (User.phone_code_hash == expected))
        .returning(User.id)
    )
    if not verified:  # the number changed (a new code) between the check and now
        raise Problem(400, _NO_CODE, slug="no-phone-code")
    return await _user_row(user_id)


async def _user_row(user_id: UUID) -> dict[str, Any]:
    row = await User.select().where(User.id == user_id).first()
    if row is None:
        raise Problem(404, "No such user.")
    return row


class SetPhoneRequest(msgspec.Struct, forbid_unknown_fields=True):
    phone: Annotated[str, msgspec.Meta(min_length=1, max_length=40, description="international, e.g. +14155550123")]


class VerifyPhoneRequest(msgspec.Struct, forbid_unknown_fields=True):
    code: Annotated[str, msgspec.Meta(min_length=1, max_length=20, description="the 6 digits texted")]


class PhoneController(Controller):
    path = "/api/v1/users/me/phone"
    tags = ["users"]

    @post(operation_id="setMyPhone", summary="Set my phone number and text it a verification code",
          status_code=202)  # fmt: skip
    async def set_phone(
        self,
        request: Request[CurrentUser, Any, Any],
        data: JSONBody[SetPhoneRequest],
        settings: NamedDependency[Settings],
        temporal: NamedDependency[TemporalGateway],
    ) -> UserRead:
        """The number stays unverified (no SMS go to it) until its code is typed. Mobile numbers in
        the supported countries only (422); codes are limited per account and per number (429)."""
        return user_read(await send_phone_code(request.user.id, data.phone, settings, temporal))

    @post("/verify", operation_id="verifyMyPhone", summary="Confirm my phone number with the texted code",
          status_code=200)  # fmt: skip
    async def verify(
        self,
        request: Request[CurrentUser, Any, Any],
        data: JSONBody[VerifyPhoneRequest],
        settings: NamedDependency[Settings],
    ) -> UserRead:
        """Wrong codes are limited; an expired or used-up code needs a new one."""
        return user_read(await verify_phone(request.user.id, data.code, settings))
