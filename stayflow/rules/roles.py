"""Who an account is on the marketplace (SPEC §2): the one role type used by the models, the
API's guards, the admin tools and the activities."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    guest = "guest"
    host = "host"
    admin = "admin"


SELF_SERVICE = (Role.guest, Role.host)
"""The roles anyone may register as or switch between; admins are made with `stayflow create-admin`."""
