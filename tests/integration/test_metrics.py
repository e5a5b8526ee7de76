"""`GET /metrics`: Prometheus text with request counts and latency per route template and status."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator

import pytest
from httpx import AsyncClient
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from stayflow.settings import Settings
from tests.factories import make_listing
from tests.helpers import api_client

LISTING_ROUTE = "/api/v1/listings/{listing_id}"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
async def plain_client(settings: Settings) -> AsyncIterator[AsyncClient]:
    async with api_client(create_app(settings)) as client:
        yield client


async def scrape(client: AsyncClient) -> tuple[str, Samples]:
    response = await client.get("/metrics")  # no Authorization header: Prometheus sends none
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return response.text, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset({"app_name": "stayflow-api", **labels}.items())), 0.0)


async def test_requests_are_counted_per_route_template_and_status(plain_client: AsyncClient) -> None:
    first, second = await make_listing(), await make_listing()
    _, before = await scrape(plain_client)

    for listing in (first, second):
        assert (await plain_client.get(f"/api/v1/listings/{listing.id}")).status_code == 200
    assert (await plain_client.get(f"/api/v1/listings/{uuid.uuid4()}")).status_code == 404
    assert (await plain_client.get("/api/v1/users/me")).status_code == 401  # refused by the JWT middleware

    text, after = await scrape(plain_client)
    ok = {"method": "GET", "path": LISTING_ROUTE, "status_code": "200"}
    missing = {**ok, "status_code": "404"}
    total = "stayflow_api_requests_total"
    assert value(after, total, **ok) - value(before, total, **ok) == 2
    assert value(after, total, **missing) - value(before, total, **missing) == 1
    refused = {"method": "GET", "path": "/api/v1/users/me", "status_code": "401"}
    assert value(after, total, **refused) - value(before, total, **refused) == 1
    # Ids never become label values: one series per route, however many listings are read.
    assert str(first.id) not in text and str(second.id) not in text


async def test_latency_is_a_histogram_per_route(plain_client: AsyncClient) -> None:
    listing = await make_listing()
    _, before = await scrape(plain_client)
    for _ in range(3):
        assert (await plain_client.get(f"/api/v1/listings/{listing.id}")).status_code == 200
    text, after = await scrape(plain_client)

    assert "# TYPE stayflow_api_request_duration_seconds histogram" in text
    ok = {"method": "GET", "path": LISTING_ROUTE, "status_code": "200"}
    name = "stayflow_api_request_duration_seconds"
    assert value(after, f"{name}_count", **ok) - value(before, f"{name}_count", **ok) == 3
    assert value(after, f"{name}_sum", **ok) > value(before, f"{name}_sum", **ok)
    # Cumulative buckets: +Inf holds every observation, and no bucket holds more than a wider one.
    buckets = sorted(
        (float(dict(labels)["le"]), v)
        for (sample, labels), v in after.items()
        if sample == f"{name}_bucket" and ok.items() <= dict(labels).items()
    )
    assert buckets[-1] == (float("inf"), value(after, f"{name}_count", **ok))
    assert all(a[1] <= b[1] for a, b in itertools.pairwise(buckets))


async def test_scrapes_are_not_counted_as_traffic(plain_client: AsyncClient) -> None:
    await scrape(plain_client)
    text, _ = await scrape(plain_client)
    assert 'path="/metrics"' not in text
