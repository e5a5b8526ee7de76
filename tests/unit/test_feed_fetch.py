"""The SSRF rules of the feed fetcher, against a real local HTTP server: refused schemes and
addresses (after DNS resolution, and again on every redirect), size and time limits."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from stayflow.calendar_sync.fetch import (
    FeedFetchError,
    FeedRefused,
    FetchPolicy,
    check_feed_url,
    feed_fetch_policy,
    fetch_feed,
    refusal_of_address,
)
from stayflow.settings import SettingsError, load_settings
from tests.fakes.ical_server import FeedServer


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


def allowing(server: FeedServer, **limits: Any) -> FetchPolicy:
    """The local server exempt from the private-address rule, by host and port, as in tests and dev."""
    return FetchPolicy(allowed_private_hosts=frozenset({server.host_port}), **limits)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://calendar.example.com/feed.ics", "only http:// and https://"),
        ("file:///etc/passwd", "only http:// and https://"),
        ("webcal://calendar.example.com/feed.ics", "only http:// and https://"),
        ("http://127.0.0.1/feed.ics", "loopback"),
        ("http://localhost:8000/feed.ics", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://10.0.0.7/feed.ics", "private"),
        ("http://192.168.1.1/feed.ics", "private"),
        ("http://[::1]/feed.ics", "loopback"),
        ("http://[::ffff:127.0.0.1]/feed.ics", "loopback"),
        ("http://[fe80::1]/feed.ics", "link-local"),
        ("http://0.0.0.0/feed.ics", "0.0.0.0"),
        ("http://224.0.0.1/feed.ics", "multicast"),
        ("http://user:secret@calendar.example.com/feed.ics", "user name or password"),
        ("http:///feed.ics", "no host name"),
        ("https://does-not-exist.invalid/feed.ics", "does not resolve"),
    ],
)
async def test_urls_breaking_the_rules_are_refused_with_the_reason(url: str, why: str) -> None:
    with pytest.raises(FeedRefused, match=why):
        await check_feed_url(url, FetchPolicy())


def test_public_addresses_pass_and_shared_or_reserved_ones_do_not() -> None:
    assert refusal_of_address("93.184.215.14") is None
    assert refusal_of_address("2606:2800:21f:cb07:6820:80da:af6b:8b2c") is None
    assert refusal_of_address("100.64.0.1") is not None  # carrier-grade NAT
    assert refusal_of_address("240.0.0.1") is not None


async def test_the_fetch_itself_refuses_a_private_address_that_is_not_exempt(feed_server: FeedServer) -> None:
    url = feed_server.serve_fixture("/airbnb.ics", "airbnb.ics")
    with pytest.raises(FeedRefused, match="loopback"):
        await fetch_feed(url, FetchPolicy())
    assert feed_server.requests == []  # no connection was made


async def test_an_exempt_host_and_port_is_fetched(feed_server: FeedServer) -> None:
    url = feed_server.serve_fixture("/airbnb.ics", "airbnb.ics")
    assert b"BEGIN:VCALENDAR" in await fetch_feed(url, allowing(feed_server))


async def test_a_redirect_to_a_refused_address_is_checked_again_and_refused(feed_server: FeedServer) -> None:
    url = feed_server.redirect("/moved.ics", "http://169.254.169.254/latest/meta-data/")
    with pytest.raises(FeedRefused, match="link-local"):
        await fetch_feed(url, allowing(feed_server))
    other_port = feed_server.redirect("/elsewhere.ics", "http://127.0.0.1:9/feed.ics")
    with pytest.raises(FeedRefused, match="loopback"):
        await fetch_feed(other_port, allowing(feed_server))
    scheme = feed_server.redirect("/file.ics", "file:///etc/passwd")
    with pytest.raises(FeedRefused, match="only http"):
        await fetch_feed(scheme, allowing(feed_server))


async def test_an_allowed_redirect_is_followed(feed_server: FeedServer) -> None:
    target = feed_server.serve_fixture("/airbnb.ics", "airbnb.ics")
    url = feed_server.redirect("/old.ics", target)
    assert b"BEGIN:VCALENDAR" in await fetch_feed(url, allowing(feed_server))
    assert feed_server.requests == ["/old.ics", "/airbnb.ics"]


async def test_too_many_redirects_stop(feed_server: FeedServer) -> None:
    loop = feed_server.redirect("/loop.ics", feed_server.origin + "/loop.ics")
    with pytest.raises(FeedFetchError, match="redirected more than 2"):
        await fetch_feed(loop, allowing(feed_server, max_redirects=2))


async def test_a_body_over_the_size_limit_is_refused_with_or_without_content_length(feed_server: FeedServer) -> None:
    declared = feed_server.serve("/big.ics", b"BEGIN:VCALENDAR\r\n" + b"X" * 5000)
    with pytest.raises(FeedFetchError, match="larger than"):
        await fetch_feed(declared, allowing(feed_server, max_bytes=4096))
    endless = feed_server.serve("/endless.ics", b"", endless=True)
    with pytest.raises(FeedFetchError, match="larger than"):
        await fetch_feed(endless, allowing(feed_server, max_bytes=256 * 1024))


async def test_a_slow_feed_hits_the_deadline(feed_server: FeedServer) -> None:
    slow = feed_server.serve("/slow.ics", "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", delay_seconds=3)
    with pytest.raises(FeedFetchError, match="did not answer"):
        await fetch_feed(slow, allowing(feed_server, timeout_seconds=0.5))


async def test_an_error_status_is_a_fetch_error(feed_server: FeedServer) -> None:
    with pytest.raises(FeedFetchError, match="HTTP 404"):
        await fetch_feed(feed_server.origin + "/missing.ics", allowing(feed_server))


def test_the_exemption_is_a_setting_dev_exempts_only_its_own_api_and_production_refuses_any(tmp_path: Any) -> None:
    env = {"STAYFLOW_HOME": str(tmp_path)}
    assert feed_fetch_policy(load_settings({**env, "STAYFLOW_ENV": "test"})).allowed_private_hosts == frozenset()
    dev = feed_fetch_policy(load_settings({**env, "STAYFLOW_ENV": "dev"}))
    assert dev.allowed_private_hosts == frozenset({"127.0.0.1:8000"})
    listed = load_settings({**env, "STAYFLOW_ENV": "test", "STAYFLOW_ICAL_ALLOWED_HOSTS": "127.0.0.1:9000, Feeds.Lan"})
    assert listed.ical_private_hosts_allowed == frozenset({"127.0.0.1:9000", "feeds.lan"})
    production = load_settings({**env, "STAYFLOW_ENV": "production", "STAYFLOW_ICAL_ALLOWED_HOSTS": "127.0.0.1"})
    with pytest.raises(SettingsError, match="STAYFLOW_ICAL_ALLOWED_HOSTS"):
        production.check_can_start()
