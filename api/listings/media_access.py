"""Who may fetch a listing's photo file: anyone, unless the listing is suspended or its host is.

Photo URLs are stable and unguessable, so drafts' photos work in their host's browser without a
token; a suspended listing's (or suspended host's) photos answer 404 until it is restored.
"""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from api.errors import Problem
from models import Listing, User
from stayflow.rules.listing_status import ListingStatus

_LISTING_PHOTO = re.compile(r"/listings/([0-9a-fA-F-]{36})/")


async def photo_is_public(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard of the media route (static files): 404 for a photo of a listing taken down by an admin."""
    found = _LISTING_PHOTO.search(connection.scope["path"])
    if found is None:
        return
    try:
        listing_id = UUID(found.group(1))
    except ValueError:
        return
    row = await Listing.select(Listing.status, Listing.host).where(Listing.id == listing_id).first()
    if row is None:
        return  # no such listing: the file is not there either, and the route answers 404
    suspended_host = await User.exists().where((User.id == row["host"]) & User.suspended_at.is_not_null())
    if row["status"] == ListingStatus.suspended or suspended_host:
        raise Problem(404, "No such file.")
