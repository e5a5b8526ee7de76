"""Piccolo tables and migrations: the system of record. Nothing else lives here."""

from models.identity import (
    PasswordResetToken,
    RateLimitBucket,
    RefreshToken,
    RevokedAccessToken,
    Session,
    User,
)
from models.messages import Message

ALL_TABLES = (User, Session, RefreshToken, RevokedAccessToken, PasswordResetToken, RateLimitBucket, Message)

__all__ = [
    "ALL_TABLES",
    "Message",
    "PasswordResetToken",
    "RateLimitBucket",
    "RefreshToken",
    "RevokedAccessToken",
    "Session",
    "User",
]
