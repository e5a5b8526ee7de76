from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from stayflow.credentials import (
    hash_password,
    needs_rehash,
    new_opaque_token,
    password_problems,
    token_digest,
    verify_password,
)


@pytest.mark.parametrize(
    ("password", "ok"),
    [
        ("correct horse battery", True),
        ("0123456789", True),
        ("012345678", False),
        ("", False),
        ("x" * 257, False),
        ("ada@example.com", False),
        ("ADA@EXAMPLE.COM", False),
        ("ada", False),
    ],
)
def test_password_policy(password: str, ok: bool) -> None:
    assert (password_problems(password, "ada@example.com") == []) is ok


def test_password_equal_to_the_email_local_part_is_refused_when_long_enough() -> None:
    assert password_problems("ada.lovelace", "ada.lovelace@example.com") == ["must not be your email address"]


def test_hashes_are_argon2id_with_owasp_parameters_and_verify() -> None:
    hashed = hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert verify_password(hashed, "correct horse battery")
    assert not verify_password(hashed, "correct horse batterY")
    assert not verify_password(None, "correct horse battery")
    assert not verify_password("not a hash", "correct horse battery")


def test_hashes_made_with_other_parameters_need_rehashing() -> None:
    weaker = PasswordHasher(time_cost=1, memory_cost=4096, parallelism=1).hash("correct horse battery")
    assert needs_rehash(weaker)
    assert not needs_rehash(hash_password("correct horse battery"))


def test_opaque_tokens_are_random_and_stored_as_digests() -> None:
    tokens = {new_opaque_token() for _ in range(100)}
    assert len(tokens) == 100 and all(len(t) >= 43 for t in tokens)
    token = tokens.pop()
    assert token_digest(token) == token_digest(token) != token
    assert len(token_digest(token)) == 64
