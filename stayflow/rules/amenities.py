"""The fixed amenity catalogue: code -> label. Listings may only use these codes."""

AMENITIES: dict[str, str] = {
    "wifi": "Wi-Fi",
    "kitchen": "Kitchen",
    "washer": "Washer",
    "dryer": "Dryer",
    "air_conditioning": "Air conditioning",
    "heating": "Heating",
    "workspace": "Dedicated workspace",
    "tv": "TV",
    "pool": "Pool",
    "hot_tub": "Hot tub",
    "parking": "Free parking",
    "ev_charger": "EV charger",
    "gym": "Gym",
    "bbq_grill": "BBQ grill",
    "fireplace": "Indoor fireplace",
    "pets_allowed": "Pets allowed",
    "smoking_allowed": "Smoking allowed",
    "beachfront": "Beachfront",
    "waterfront": "Waterfront",
    "ski_in_out": "Ski-in/ski-out",
    "elevator": "Elevator",
    "wheelchair_accessible": "Step-free access",
    "crib": "Crib",
    "smoke_alarm": "Smoke alarm",
    "carbon_monoxide_alarm": "Carbon monoxide alarm",
    "first_aid_kit": "First aid kit",
    "self_check_in": "Self check-in",
}


def unknown_amenities(codes: list[str]) -> list[str]:
    return sorted({code for code in codes if code not in AMENITIES})
