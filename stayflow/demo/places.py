"""The demo marketplace's places and people: a dozen real cities (centre, currency, typical price,
a few real street names), and the names of its hosts and guests. Data only."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class City:
    name: str
    country: str
    latitude: float
    longitude: float
    currency: str
    nightly: int
    """A typical night, in minor units of `currency`."""
    streets: tuple[str, ...]


CITIES: tuple[City, ...] = (
    City("Amsterdam", "NL", 52.3676, 4.9041, "EUR", 16_000, ("Prinsengracht", "Keizersgracht", "Haarlemmerstraat")),
    City("Lisbon", "PT", 38.7223, -9.1393, "EUR", 9_500, ("Rua Augusta", "Rua da Rosa", "Calçada do Combro")),
    City("Barcelona", "ES", 41.3874, 2.1686, "EUR", 12_000, ("Carrer de Verdi", "Passeig de Gràcia", "Carrer Blai")),
    City("Paris", "FR", 48.8566, 2.3522, "EUR", 17_000, ("Rue Oberkampf", "Rue des Martyrs", "Rue de Bretagne")),
    City("Berlin", "DE", 52.5200, 13.4050, "EUR", 9_000, ("Oranienstraße", "Kastanienallee", "Bergmannstraße")),
    City("London", "GB", 51.5072, -0.1276, "GBP", 15_000, ("Columbia Road", "Portobello Road", "Upper Street")),
    City("Copenhagen", "DK", 55.6761, 12.5683, "DKK", 110_000, ("Jægersborggade", "Istedgade", "Nyhavn")),
    City("New York", "US", 40.7128, -74.0060, "USD", 22_000, ("Bedford Avenue", "Mott Street", "Bleecker Street")),
    City("Mexico City", "MX", 19.4326, -99.1332, "MXN", 180_000, ("Calle Ámsterdam", "Álvaro Obregón", "Colima")),
    City("Toronto", "CA", 43.6532, -79.3832, "CAD", 17_500, ("Queen Street West", "Ossington Avenue", "Dundas Street")),
    City("Sydney", "AU", -33.8688, 151.2093, "AUD", 21_000, ("Crown Street", "King Street", "Campbell Parade")),
    City("Tokyo", "JP", 35.6762, 139.6503, "JPY", 18_000, ("Kagurazaka-dōri", "Omotesandō", "Yanaka Ginza")),
)

PROPERTY_TYPES = ("apartment", "apartment", "apartment", "house", "room", "guesthouse", "cabin", "villa")
ADJECTIVES = ("Sunny", "Quiet", "Bright", "Cosy", "Airy", "Leafy", "Spacious", "Charming", "Modern", "Historic")
NOUNS = {
    "apartment": ("flat", "loft", "apartment", "studio"),
    "house": ("townhouse", "family house", "house with garden"),
    "room": ("double room", "room with a view", "guest room"),
    "guesthouse": ("garden guesthouse", "guest suite"),
    "cabin": ("cabin", "little cabin"),
    "villa": ("villa", "villa with pool"),
}
NEAR = ("by the river", "near the old town", "next to the market", "close to the park", "a step from the metro")
AMENITY_SETS = (
    ("wifi", "kitchen"),
    ("wifi", "kitchen", "washer"),
    ("wifi", "air_conditioning", "workspace"),
    ("wifi", "kitchen", "parking"),
    ("wifi", "heating", "tv"),
)
POLICIES = ("flexible", "moderate", "strict")

HOST_NAMES = (
    "Ana Ribeiro", "Lars Jensen", "Mei Tanaka", "Carlos Mendes", "Sophie Martin", "Jonas Becker",
    "Priya Nair", "Tom Whitfield", "Lucía Ortega", "Noah Williams", "Isabela Costa", "Emma Clarke",
)  # fmt: skip
GUEST_NAMES = (
    "Gus Guest", "Olivia Brown", "Liam Smith", "Chloé Dubois", "Mateo García", "Yuki Sato",
    "Hannah Müller", "Ethan Johnson", "Zoe Taylor", "Arjun Patel", "Freya Nilsson", "Diego Alves",
    "Amelia Wilson", "Leo Rossi", "Sara Haddad", "Max Fischer", "Nora Lindqvist", "Ivan Petrov",
)  # fmt: skip
