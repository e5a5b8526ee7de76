"""Field checks that need more than a type: email addresses, phone numbers, passwords.

Each raises a 422 problem naming the field, so clients can show the message next to it.
"""

from __future__ import annotations

import datetime as dt

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from api.errors import Problem, field_errors, invalid
from stayflow.credentials import password_problems


def normalized_email(value: str, field: str = "email") -> str:
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise invalid(field, str(exc)) from exc


def normalized_phone(value: str | None, field: str = "phone") -> str | None:
    """E.164 (`+14155550123`). Numbers without a country code are not guessed."""
    if value is None or not value.strip():
        return None
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException as exc:
        raise invalid(field, "must be an international number starting with + and the country code") from exc
    if not phonenumbers.is_valid_number(number):
        raise invalid(field, "is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def acceptable_password(password: str, email: str, field: str = "password") -> str:
    problems = password_problems(password, email)
    if problems:
        raise Problem(422, f"{field}: " + "; ".join(problems), errors=field_errors(*((field, p) for p in problems)))
    return password


def today() -> dt.date:
    """The date stays and calendars are checked against (UTC)."""
    return dt.datetime.now(dt.UTC).date()
