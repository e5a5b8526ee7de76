"""How a city is written down and how search finds it. Pure functions."""

from __future__ import annotations


def city_name(city: str) -> str:
    """The city as stored and shown: inner runs of whitespace collapsed, ends trimmed."""
    return " ".join(city.split())


def city_key(city: str) -> str:
    """What search matches a city on (`listings.city_key`): "  new   York" and "New York" are one city."""
    return city_name(city).casefold()
