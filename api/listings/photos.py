"""Listing photos: upload (checked by content), order, caption, delete (SPEC §5)."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, delete, get, patch, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, MultipartBody

from api.errors import Problem
from api.listings.schemas import PhotoRead, photo_read
from api.listings.service import load_own_listing, load_visible_listing
from api.security import CurrentUser, TokenIssuer
from api.validation import invalid
from models import Listing, ListingPhoto
from stayflow.images import ImageRejected, check_image
from stayflow.rules.listing_status import EDITABLE, ListingStatus
from stayflow.storage import MediaStorage

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_PHOTOS_PER_LISTING = 50


@dataclass
class PhotoUpload:
    file: UploadFile
    caption: str = ""


class PhotoUpdate(msgspec.Struct, forbid_unknown_fields=True):
    caption: Annotated[str, msgspec.Meta(max_length=300)] | msgspec.UnsetType = msgspec.UNSET
    position: Annotated[int, msgspec.Meta(ge=0)] | msgspec.UnsetType = msgspec.UNSET
    """Where the photo goes in the order (0 = cover); the others move up or down."""


async def _ordered(listing_id: UUID) -> list[ListingPhoto]:
    return await ListingPhoto.objects().where(ListingPhoto.listing == listing_id).order_by(ListingPhoto.position)


async def _renumber(photos: list[ListingPhoto]) -> None:
    for index, photo in enumerate(photos):
        if photo.position != index:
            await ListingPhoto.update({ListingPhoto.position: index}).where(ListingPhoto.id == photo.id)
            photo.position = index


def _require_editable(listing: Listing) -> None:
    if listing.status not in EDITABLE:
        raise Problem(
            409, f"The photos of a listing that is {listing.status} cannot change.", slug="illegal-transition"
        )


class PhotosController(Controller):
    path = "/api/v1/listings/{listing_id:uuid}/photos"
    tags = ["listings"]

    @post(operation_id="uploadPhoto", summary="Upload a photo (JPEG, PNG or WebP, at most 10 MB)",
          request_max_body_size=MAX_UPLOAD_BYTES + 64 * 1024)  # fmt: skip
    async def upload(
        self,
        request: Request[CurrentUser, Any, Any],
        listing_id: FromPath[UUID],
        data: MultipartBody[PhotoUpload],
        storage: NamedDependency[MediaStorage],
    ) -> PhotoRead:
        listing = await load_own_listing(listing_id, request.user)
        _require_editable(listing)
        if len(data.caption) > 300:
            raise invalid("caption", "must be at most 300 characters")
        raw = await data.file.read(MAX_UPLOAD_BYTES + 1)
        if len(raw) > MAX_UPLOAD_BYTES:
            raise Problem(413, f"A photo may be at most {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
        try:
            image = await asyncio.to_thread(check_image, raw)
        except ImageRejected as exc:
            raise invalid("file", str(exc)) from exc
        photo_id = uuid.uuid4()
        key = f"listings/{listing.id}/{photo_id}.{image.extension}"
        await storage.save(key, image.data, image.content_type)
        try:
            async with Listing._meta.db.transaction():
                # Concurrent uploads take positions one after another, and the cap holds.
                await Listing.raw("SELECT id FROM listings WHERE id = {} FOR UPDATE", listing.id)
                count = await ListingPhoto.count().where(ListingPhoto.listing == listing.id)
                if count >= MAX_PHOTOS_PER_LISTING:
                    raise Problem(409, f"A listing has at most {MAX_PHOTOS_PER_LISTING} photos.")
                photo = ListingPhoto(id=photo_id, listing=listing.id, storage_key=key, content_type=image.content_type,
                                     width=image.width, height=image.height, size_bytes=len(image.data),
                                     caption=data.caption.strip(), position=count)  # fmt: skip
                await photo.save()
        except BaseException:
            await storage.delete(key)  # no orphan file when the row is not written
            raise
        await Listing.update({Listing.updated_at: dt.datetime.now(dt.UTC)}).where(Listing.id == listing.id)
        return photo_read(photo, storage)

    @get(operation_id="listPhotos", summary="A listing's photos in order", exclude_from_auth=True)
    async def list_photos(
        self,
        request: Request[Any, Any, Any],
        listing_id: FromPath[UUID],
        tokens: NamedDependency[TokenIssuer],
        storage: NamedDependency[MediaStorage],
    ) -> list[PhotoRead]:
        listing = await load_visible_listing(listing_id, await tokens.optional_caller(request))
        return [photo_read(p, storage) for p in await _ordered(listing.id)]

    @patch("/{photo_id:uuid}", operation_id="updatePhoto", summary="Caption or move a photo")
    async def update(
        self,
        request: Request[CurrentUser, Any, Any],
        listing_id: FromPath[UUID],
        photo_id: FromPath[UUID],
        data: JSONBody[PhotoUpdate],
        storage: NamedDependency[MediaStorage],
    ) -> PhotoRead:
        listing = await load_own_listing(listing_id, request.user)
        _require_editable(listing)
        photos = await _ordered(listing.id)
        photo = next((p for p in photos if p.id == photo_id), None)
        if photo is None:
            raise Problem(404, "No such photo.")
        if data.caption is not msgspec.UNSET:
            await ListingPhoto.update({ListingPhoto.caption: data.caption.strip()}).where(ListingPhoto.id == photo.id)
            photo.caption = data.caption.strip()
        if data.position is not msgspec.UNSET:
            photos.remove(photo)
            photos.insert(min(data.position, len(photos)), photo)
            await _renumber(photos)
        return photo_read(photo, storage)

    @delete("/{photo_id:uuid}", operation_id="deletePhoto", summary="Delete a photo (the file goes too)",
            status_code=204)  # fmt: skip
    async def remove(
        self,
        request: Request[CurrentUser, Any, Any],
        listing_id: FromPath[UUID],
        photo_id: FromPath[UUID],
        storage: NamedDependency[MediaStorage],
    ) -> None:
        listing = await load_own_listing(listing_id, request.user)
        _require_editable(listing)
        remaining = await ListingPhoto.count().where(ListingPhoto.listing == listing.id)
        if listing.status == ListingStatus.published and remaining <= 1:
            raise Problem(409, "A published listing keeps at least one photo; upload another first.")
        deleted = (
            await ListingPhoto.delete()
            .where((ListingPhoto.id == photo_id) & (ListingPhoto.listing == listing.id))
            .returning(ListingPhoto.storage_key)
        )
        if not deleted:
            raise Problem(404, "No such photo.")
        await storage.delete(deleted[0]["storage_key"])
        await _renumber(await _ordered(listing.id))
