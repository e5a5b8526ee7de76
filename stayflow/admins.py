"""`stayflow create-admin`: the first admin comes from the command line, never from the API."""

from __future__ import annotations

import asyncio
import datetime as dt

from email_validator import EmailNotValidError, validate_email

from models import User
from stayflow.credentials import hash_password, password_problems
from stayflow.rules.roles import Role


async def create_admin(email: str, password: str, full_name: str) -> bool:
    """True when a new account was created; False when an existing one was promoted."""
    try:
        email = validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValueError(f"invalid email: {exc}") from exc
    existing = await User.objects().where(User.email == email).first()
    if existing is not None:
        await User.update({User.role: Role.admin, User.suspended_at: None}).where(User.id == existing.id)
        return False
    problems = password_problems(password, email)
    if problems:
        raise ValueError("password " + "; ".join(problems))
    password_hash = await asyncio.to_thread(hash_password, password)
    await User(
        email=email,
        password_hash=password_hash,
        full_name=full_name,
        role=Role.admin,
        email_verified_at=dt.datetime.now(dt.UTC),
    ).save()
    return True
