"""Listing photos: upload (checked by content), order, caption, delete (SPEC §5)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, delete, get, patch, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, MultipartBody

from api.admin.audit import actor_of
from api.listings import service
from api.listings.schemas import PhotoRead, photo_read
from api.listings.service import MAX_UPLOAD_BYTES
from api.security import CurrentUser, TokenIssuer
from stayflow.settings import Settings
from stayflow.storage import MediaStorage
from stayflow.temporal import TemporalGateway


@dataclass
class PhotoUpload:
    file: UploadFile
    caption: str = ""


class PhotoUpdate(msgspec.Struct, forbid_unknown_fields=True):
    caption: Annotated[str, msgspec.Meta(max_length=300)] | msgspec.UnsetType = msgspec.UNSET
    position: Annotated[int, msgspec.Meta(ge=0)] | msgspec.UnsetType = msgspec.UNSET
    """Where the photo goes in the order (0 = cover); the others move up or down."""


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
        temporal: NamedDependency[TemporalGateway],
        settings: NamedDependency[Settings],
    ) -> PhotoRead:
        """A new photo of a published listing takes it back to review until an admin approves it."""
        photo = await service.add_photo(
            listing_id, request.user, data.file.read, data.caption, storage,
            actor=actor_of(request), review=service.PhotoReview(temporal, settings),
        )  # fmt: skip
        return photo_read(photo, storage)

    @get(operation_id="listPhotos", summary="A listing's photos in order", exclude_from_auth=True)
    async def list_photos(
        self,
        request: Request[Any, Any, Any],
        listing_id: FromPath[UUID],
        tokens: NamedDependency[TokenIssuer],
        storage: NamedDependency[MediaStorage],
    ) -> list[PhotoRead]:
        photos = await service.photos_of(listing_id, await tokens.optional_caller(request))
        return [photo_read(p, storage) for p in photos]

    @patch("/{photo_id:uuid}", operation_id="updatePhoto", summary="Caption or move a photo")
    async def update(
        self,
        request: Request[CurrentUser, Any, Any],
        listing_id: FromPath[UUID],
        photo_id: FromPath[UUID],
        data: JSONBody[PhotoUpdate],
        storage: NamedDependency[MediaStorage],
    ) -> PhotoRead:
        photo = await service.update_photo(
            listing_id, photo_id, request.user, caption=data.caption, position=data.position, actor=actor_of(request)
        )
        return photo_read(photo, storage)

    @delete("/{photo_id:uuid}", operation_id="deletePhoto", summary="Delete a photo (the file goes too)",
            status_code=204)  # fmt: skip
    async def remove(
        self,
        request: Request[CurrentUser, Any, Any],
        listing_id: FromPath[UUID],
        photo_id: FromPath[UUID],
        storage: NamedDependency[MediaStorage],
        temporal: NamedDependency[TemporalGateway],
        settings: NamedDependency[Settings],
    ) -> None:
        """Removing a photo of a published listing takes it back to review until an admin approves it."""
        await service.delete_photo(
            listing_id, photo_id, request.user, storage,
            actor=actor_of(request), review=service.PhotoReview(temporal, settings),
        )  # fmt: skip
