"""SMS only to a verified phone (issue 12 item 10): a code texted to the number, typed back; limits
per account, per destination number and per day; only mobile numbers in supported countries."""

from __future__ import annotations

import datetime as dt
import re
import uuid

from httpx import AsyncClient

from models import Message, Notification, User
from stayflow.settings import Settings
from tests.factories import SignedIn, signed_in_user
from tests.helpers import eventually

PHONE = "/api/v1/users/me/phone"
NUMBER = "+14155552671"


async def texted_code(number: str, after: int = 0) -> str:
    """The newest code texted to `number` (the dev outbox holds it), once more than `after` were sent."""

    async def code() -> str | None:
        rows = (
            await Message.objects()
            .where((Message.kind == "phone_verification") & (Message.recipient == number))
            .order_by(Message.created_at, ascending=False)
        )
        if len(rows) <= after:
            return None
        found = re.search(r"code is (\d{6})\.", rows[0].text_body)
        return found.group(1) if found else None

    return await eventually(code, timeout=30, what=f"a code texted to {number}")


async def me(client: AsyncClient, who: SignedIn) -> dict[str, object]:
    return dict((await client.get("/api/v1/users/me", headers=who.headers)).json())


async def sms_to(client: AsyncClient, who: SignedIn) -> object:
    answer = await client.get("/api/v1/users/me/notification-preferences", headers=who.headers)
    return answer.json()["sms_to"]


async def test_a_number_is_texted_a_code_and_verified_by_typing_it(client: AsyncClient, worker: None) -> None:
    ada = await signed_in_user(client)
    asked = await client.post(PHONE, headers=ada.headers, json={"phone": "+1 (415) 555-2671"})
    assert asked.status_code == 202, asked.text
    assert asked.json()["phone"] == NUMBER and asked.json()["phone_verified"] is False
    assert await sms_to(client, ada) is None  # no SMS but the code until verified
    code = await texted_code(NUMBER)
    [sms] = await Message.objects().where(Message.kind == "phone_verification")
    assert sms.channel == "sms" and sms.text_body.startswith("Stayflow: your verification code is")
    # The code is only on the phone: not in the feed, not in an email.
    assert await Notification.count().where(Notification.kind == "phone_verification") == 0
    assert await Message.count().where(Message.kind == "phone_verification") == 1
    stored = await User.objects().get(User.id == ada.user.id)
    assert stored is not None and stored.phone_code_hash is not None and code not in stored.phone_code_hash

    wrong = await client.post(
        f"{PHONE}/verify", headers=ada.headers, json={"code": "000000" if code != "000000" else "1"}
    )
    assert wrong.status_code == 400 and wrong.json()["type"].endswith("wrong-phone-code") and "4 tries" in wrong.text
    assert (await me(client, ada))["phone_verified"] is False
    verified = await client.post(f"{PHONE}/verify", headers=ada.headers, json={"code": code})
    assert verified.status_code == 200, verified.text
    assert verified.json()["phone_verified"] is True and (await me(client, ada))["phone_verified"] is True
    assert await sms_to(client, ada) == NUMBER
    again = await client.post(f"{PHONE}/verify", headers=ada.headers, json={"code": code})
    assert again.status_code == 400 and again.json()["type"].endswith("no-phone-code")  # single use
    # Asking again for the verified number texts nothing.
    same = await client.post(PHONE, headers=ada.headers, json={"phone": NUMBER})
    assert same.status_code == 202 and same.json()["phone_verified"] is True
    assert await Message.count().where(Message.kind == "phone_verification") == 1


async def test_a_new_number_is_unverified_until_its_own_code(client: AsyncClient, worker: None) -> None:
    ada = await signed_in_user(client)
    await client.post(PHONE, headers=ada.headers, json={"phone": NUMBER})
    first = await texted_code(NUMBER)
    assert (await client.post(f"{PHONE}/verify", headers=ada.headers, json={"code": first})).status_code == 200
    # Through the profile: the number changes, and is no longer verified.
    patched = await client.patch("/api/v1/users/me", headers=ada.headers, json={"phone": "+1 415 555 0123"})
    assert patched.status_code == 200 and patched.json()["phone_verified"] is False
    assert await sms_to(client, ada) is None
    # Back to the old number: still unverified (a code proves a number once, for the account then).
    await client.patch("/api/v1/users/me", headers=ada.headers, json={"phone": NUMBER})
    assert (await me(client, ada))["phone_verified"] is False
    # The first number's code does not verify a second number.
    await client.post(PHONE, headers=ada.headers, json={"phone": "+14155550123"})
    second = await texted_code("+14155550123")
    moved = await client.post(PHONE, headers=ada.headers, json={"phone": "+14155550124"})
    assert moved.status_code == 202
    assert (await client.post(f"{PHONE}/verify", headers=ada.headers, json={"code": second})).status_code == 400
    third = await texted_code("+14155550124")
    assert (await client.post(f"{PHONE}/verify", headers=ada.headers, json={"code": third})).status_code == 200
    assert (await me(client, ada))["phone"] == "+14155550124"
    # A number given at registration is not texted, nor verified.
    registered = await client.post(
        "/api/v1/auth/register",
        json={"email": "new@example.com", "password": "a long enough secret", "full_name": "New", "phone": NUMBER},
    )
    assert registered.status_code == 201 and registered.json()["phone_verified"] is False
    assert await Message.count().where(Message.kind == "phone_verification") == 3


async def test_wrong_codes_use_up_the_code(client: AsyncClient, worker: None, api_settings: Settings) -> None:
    ada = await signed_in_user(client)
    await client.post(PHONE, headers=ada.headers, json={"phone": NUMBER})
    code = await texted_code(NUMBER)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(api_settings.phone_code_attempts):
        answer = await client.post(f"{PHONE}/verify", headers=ada.headers, json={"code": wrong})
        assert answer.status_code == 400 and answer.json()["type"].endswith("wrong-phone-code")
    spent = await client.post(f"{PHONE}/verify", headers=ada.headers, json={"code": code})
    assert spent.status_code == 400 and spent.json()["type"].endswith("no-phone-code")
    assert (await me(client, ada))["phone_verified"] is False
    # An expired code is refused the same way.
    await client.post(PHONE, headers=ada.headers, json={"phone": "+14155550123"})
    fresh = await texted_code("+14155550123")
    await User.update({User.phone_code_expires_at: dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)}).where(
        User.id == ada.user.id
    )
    expired = await client.post(f"{PHONE}/verify", headers=ada.headers, json={"code": fresh})
    assert expired.status_code == 400 and expired.json()["type"].endswith("no-phone-code")


async def test_premium_landline_and_unsupported_countries_are_refused_and_change_nothing(
    client: AsyncClient,
) -> None:
    ada = await signed_in_user(client)
    for number, why in (
        ("+19005550123", "not a mobile number"),  # US premium rate
        ("+442079460958", "not a mobile number"),  # a London landline
        ("+5511912345678", "numbers in BR"),  # a mobile outside STAYFLOW_SMS_COUNTRIES
        ("12345", "international number"),
    ):
        answer = await client.post(PHONE, headers=ada.headers, json={"phone": number})
        assert answer.status_code == 422, (number, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert any(e["field"] == "phone" and why in e["message"] for e in answer.json()["errors"]), answer.text
    stored = await User.objects().get(User.id == ada.user.id)
    assert stored is not None and stored.phone is None and stored.phone_code_hash is None
    assert await Message.count() == 0


async def test_codes_are_limited_per_account_and_per_number(client: AsyncClient, api_settings: Settings) -> None:
    ada = await signed_in_user(client)
    for n in range(api_settings.phone_codes_per_account_per_hour):
        assert (await client.post(PHONE, headers=ada.headers, json={"phone": f"+1415555{n:04d}"})).status_code == 202
    refused = await client.post(PHONE, headers=ada.headers, json={"phone": "+14155559999"})
    assert refused.status_code == 429 and 0 < int(refused.headers["retry-after"]) <= 3600
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert (await me(client, ada))["phone"] != "+14155559999"  # nothing changed

    # One destination number, however many accounts ask for it.
    target = "+14155558888"
    for _ in range(api_settings.phone_codes_per_number_per_hour):
        other = await signed_in_user(client)
        assert (await client.post(PHONE, headers=other.headers, json={"phone": target})).status_code == 202
    fresh = await signed_in_user(client)
    pumped = await client.post(PHONE, headers=fresh.headers, json={"phone": target})
    assert pumped.status_code == 429 and "this number" in pumped.json()["detail"]
    assert int(pumped.headers["retry-after"]) > 0
    assert (await me(client, fresh))["phone"] is None


async def test_an_account_sent_its_daily_sms_gets_no_more_codes(client: AsyncClient, api_settings: Settings) -> None:
    ada = await signed_in_user(client)
    for n in range(api_settings.sms_per_account_per_day):
        await Message(
            user=ada.user.id, kind="booking_confirmed", channel="sms", dedupe_key=f"day:{uuid.uuid4()}",
            recipient=NUMBER, text_body="Stayflow: Your booking is confirmed.", status="sent",
            created_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=23, minutes=50 - n),
        ).save()  # fmt: skip
    refused = await client.post(PHONE, headers=ada.headers, json={"phone": "+14155550123"})
    assert refused.status_code == 429 and "24 hours" in refused.json()["detail"]
    assert 0 < int(refused.headers["retry-after"]) <= 11 * 60  # when the oldest of them stops counting
