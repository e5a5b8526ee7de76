from __future__ import annotations

import io

import pytest
from PIL import Image

from api.listings.search import _boxes
from stayflow.images import ImageRejected, check_image
from stayflow.rules.cities import city_key, city_name
from stayflow.rules.listing_checks import ListingFacts, moderation_problems
from stayflow.rules.listing_status import allowed
from tests.factories import image_bytes

READY = ListingFacts(title="Sunny loft by the canal", description="x" * 60, photo_count=1, nightly_price=12_000,
                     cleaning_fee=4_000, max_guests=4, bedrooms=2, beds=2)  # fmt: skip


def test_a_complete_listing_is_ready_for_review() -> None:
    assert moderation_problems(READY) == []


@pytest.mark.parametrize(
    ("change", "fragment"),
    [({"photo_count": 0}, "photo"), ({"title": "Loft"}, "title"), ({"description": "Nice."}, "description"),
     ({"nightly_price": 20_000_000}, "price"), ({"cleaning_fee": 100_000}, "cleaning"), ({"beds": 0}, "bed"),
     ({"max_guests": 20}, "beds")],
)  # fmt: skip
def test_review_problems_name_what_to_fix(change: dict[str, object], fragment: str) -> None:
    facts = ListingFacts(**(READY.__dict__ | change))
    assert any(fragment in p for p in moderation_problems(facts))


def test_status_transitions() -> None:
    assert allowed("submit", "draft") and allowed("submit", "rejected")
    assert not allowed("submit", "published") and not allowed("submit", "pending_review")
    assert allowed("suspend", "published") and not allowed("suspend", "draft")
    assert allowed("restore", "suspended") and not allowed("restore", "archived")
    assert not allowed("archive", "archived")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_real_images_are_accepted_and_re_encoded(fmt: str) -> None:
    checked = check_image(image_bytes(fmt))
    assert checked.content_type == {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}[fmt]
    assert (checked.width, checked.height) == (640, 480)
    assert Image.open(io.BytesIO(checked.data)).format == fmt


def test_gps_exif_is_stripped() -> None:
    raw = image_bytes("JPEG", exif_gps=True)
    assert Image.open(io.BytesIO(raw)).getexif().get(0x8825) is not None
    assert not Image.open(io.BytesIO(check_image(raw).data)).getexif()


@pytest.mark.parametrize(
    "raw",
    [b"this is a text file renamed to photo.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 200, image_bytes("GIF"),
     image_bytes("JPEG", size=(100, 100))],
    ids=["text", "truncated-jpeg", "gif", "too-small"],
)  # fmt: skip
def test_non_images_and_unwanted_formats_are_refused(raw: bytes) -> None:
    with pytest.raises(ImageRejected):
        check_image(raw)


def test_decompression_bomb_is_refused_before_decoding() -> None:
    out = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(out, "PNG")  # 400 megapixels in a few kilobytes
    assert len(out.getvalue()) < 200_000
    with pytest.raises(ImageRejected, match=r"pixels|too large"):
        check_image(out.getvalue())


def test_search_boxes_cover_the_antimeridian_and_the_poles() -> None:
    [box] = _boxes(48.85, 2.35, 10)
    assert box[0] < 2.35 < box[2] and box[1] < 48.85 < box[3]
    fiji = _boxes(-17.8, 179.95, 20)
    assert len(fiji) == 2
    assert any(w <= 179.95 <= e for w, _, e, _ in fiji) and any(w <= -179.9 <= e for w, _, e, _ in fiji)
    [polar] = _boxes(89.95, 10, 20)
    assert polar[0] == -180 and polar[2] == 180 and polar[3] == 90


@pytest.mark.parametrize("typed", ["New York", "  new   york ", "NEW\tYORK", "New\u00a0York"])
def test_a_city_is_one_city_however_it_is_typed(typed: str) -> None:
    assert city_key(typed) == city_key("New York") == "new york"


def test_a_city_is_stored_as_typed_with_its_spacing_tidied() -> None:
    assert city_name("  São   Paulo ") == "São Paulo"
    assert city_key("STRASSE") == city_key("straße")
