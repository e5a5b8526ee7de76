"""Photos: checked by content, served at a stable URL, ordered, captioned, and really deleted."""

from __future__ import annotations

import io
from pathlib import Path

from httpx import AsyncClient, Response
from PIL import Image

from models import ListingPhoto
from stayflow.rules.roles import Role
from stayflow.settings import Settings
from stayflow.storage import media_root
from tests.factories import image_bytes, make_listing, signed_in_user


def media_files(settings: Settings) -> list[Path]:
    return [p for p in media_root(settings).rglob("*") if p.is_file()]


async def upload(client: AsyncClient, listing_id: object, headers: dict[str, str], raw: bytes, name: str = "a.jpg",
                 caption: str = "") -> Response:  # fmt: skip
    return await client.post(
        f"/api/v1/listings/{listing_id}/photos",
        headers=headers,
        files={"file": (name, raw, "image/jpeg")},
        data={"caption": caption},
    )


async def test_upload_serve_reorder_caption_and_delete(client: AsyncClient, api_settings: Settings) -> None:
    host = await signed_in_user(client, role=Role.host)
    listing = await make_listing(host.user, status="draft")
    before = set(media_files(api_settings))
    first = await upload(client, listing.id, host.headers, image_bytes("JPEG"), caption="Living room")
    assert first.status_code == 201, first.text
    second = await upload(client, listing.id, host.headers, image_bytes("PNG"), name="b.png", caption="Bedroom")
    third = await upload(client, listing.id, host.headers, image_bytes("WEBP"), name="c.webp")
    photos = [r.json() for r in (first, second, third)]
    assert [p["position"] for p in photos] == [0, 1, 2]
    assert photos[0]["caption"] == "Living room" and photos[0]["width"] == 640

    served = await client.get(photos[1]["url"])
    assert served.status_code == 200
    assert Image.open(io.BytesIO(served.content)).format == "PNG"

    moved = await client.patch(
        f"/api/v1/listings/{listing.id}/photos/{photos[2]['id']}", headers=host.headers,
        json={"position": 0, "caption": "The view"},
    )  # fmt: skip
    assert moved.status_code == 200
    listed = (await client.get(f"/api/v1/listings/{listing.id}/photos", headers=host.headers)).json()
    assert [p["id"] for p in listed] == [photos[2]["id"], photos[0]["id"], photos[1]["id"]]
    assert listed[0]["caption"] == "The view"

    files_with_photos = set(media_files(api_settings)) - before
    assert len(files_with_photos) == 3
    deleted = await client.delete(f"/api/v1/listings/{listing.id}/photos/{photos[0]['id']}", headers=host.headers)
    assert deleted.status_code == 204
    assert len(set(media_files(api_settings)) - before) == 2  # the file is gone from disk
    assert (await client.get(photos[0]["url"])).status_code == 404
    remaining = (await client.get(f"/api/v1/listings/{listing.id}/photos", headers=host.headers)).json()
    assert [p["position"] for p in remaining] == [0, 1]


async def test_bad_uploads_are_refused_and_store_nothing(client: AsyncClient, api_settings: Settings) -> None:
    host = await signed_in_user(client, role=Role.host)
    listing = await make_listing(host.user, status="draft")
    before = set(media_files(api_settings))
    renamed = await upload(client, listing.id, host.headers, b"%PDF-1.4 not an image at all", name="photo.jpg")
    assert renamed.status_code == 422
    bomb = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(bomb, "PNG")
    exploded = await upload(client, listing.id, host.headers, bomb.getvalue(), name="bomb.png")
    assert exploded.status_code == 422
    huge = await upload(client, listing.id, host.headers, b"\xff\xd8" + b"0" * (11 * 1024 * 1024), name="big.jpg")
    assert huge.status_code == 413
    assert await ListingPhoto.count() == 0
    assert set(media_files(api_settings)) == before


async def test_only_the_host_manages_photos(client: AsyncClient) -> None:
    host = await signed_in_user(client, role=Role.host)
    listing = await make_listing(host.user, status="draft")
    stranger = await signed_in_user(client, role=Role.host)
    response = await upload(client, listing.id, stranger.headers, image_bytes())
    assert response.status_code == 404
    assert await ListingPhoto.count() == 0
