"""Who an account is on the marketplace (SPEC §2): the one role type used by the models, the
API's guards, the admin tools and the activities."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal


class Role(StrEnum):
    guest = "guest"
    host = "host"
    admin = "admin"


SelfServiceRole = Literal["guest", "host"]
"""The `Role`s anyone may register as, spelled as a request body takes them (msgspec's `Literal`
holds plain strings); admins are made with `stayflow create-admin`."""
