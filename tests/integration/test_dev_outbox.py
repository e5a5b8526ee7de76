"""The dev outbox as a new user queries it with curl: by email, or by phone number with a raw `+`."""

from __future__ import annotations

from httpx import AsyncClient

from models import Message


async def _record(channel: str, recipient: str, kind: str) -> None:
    await Message(
        kind=kind,
        channel=channel,
        dedupe_key=f"{kind}:{recipient}",
        recipient=recipient,
        text_body=f"{kind} for {recipient}",
        provider="outbox",
        status="sent",
    ).save()


async def test_outbox_finds_sms_by_number_even_with_a_raw_plus_in_the_url(client: AsyncClient) -> None:
    await _record("sms", "+14155550100", "booking_accepted")
    await _record("sms", "+31612345678", "booking_requested")
    await _record("email", "guest@example.com", "booking_accepted")

    # `curl "$API/dev/outbox?to=+14155550100"`: the `+` reaches the server as a space
    for url in (
        "/api/v1/dev/outbox?to=+14155550100",
        "/api/v1/dev/outbox?to=%2B14155550100",
        "/api/v1/dev/outbox?to=%2B1%20415%20555%200100",
    ):
        items = (await client.get(url)).json()["items"]
        assert [(m["channel"], m["to"]) for m in items] == [("sms", "+14155550100")], url

    by_email = (await client.get("/api/v1/dev/outbox", params={"to": " Guest@Example.com "})).json()["items"]
    assert [(m["channel"], m["to"]) for m in by_email] == [("email", "guest@example.com")]
    nobody = (await client.get("/api/v1/dev/outbox", params={"to": "+4420 nonsense"})).json()["items"]
    assert nobody == []
