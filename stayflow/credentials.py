"""Passwords and opaque tokens: how they are checked, hashed and compared.

Pure functions (no I/O), shared by the API, the activities and the command line.
"""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_LENGTH = 10
# Argon2 work grows with input; a cap keeps a 1 MB "password" from becoming a CPU attack.
MAX_PASSWORD_LENGTH = 256

# OWASP Password Storage Cheat Sheet, argon2id: m=19 MiB, t=2, p=1.
PASSWORD_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, hash_len=32, salt_len=16)

# Verified against when the account does not exist, so unknown emails cost the same time.
_DUMMY_HASH = PASSWORD_HASHER.hash("stayflow-timing-equaliser")


def password_problems(password: str, email: str) -> list[str]:
    """Why a password is not acceptable for this account (empty list: it is)."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"must be at least {MIN_PASSWORD_LENGTH} characters long")
    if len(password) > MAX_PASSWORD_LENGTH:
        problems.append(f"must be at most {MAX_PASSWORD_LENGTH} characters long")
    lowered = password.strip().lower()
    email = email.strip().lower()
    if lowered and (lowered == email or lowered == email.split("@", 1)[0]):
        problems.append("must not be your email address")
    return problems


def hash_password(password: str) -> str:
    return PASSWORD_HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant work whether or not there is a hash to check against."""
    try:
        return PASSWORD_HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return PASSWORD_HASHER.check_needs_rehash(password_hash)


def new_opaque_token() -> str:
    """256 bits from the OS CSPRNG, URL-safe."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What the database keeps of an opaque token: a leaked table cannot be replayed."""
    return hashlib.sha256(token.encode()).hexdigest()
