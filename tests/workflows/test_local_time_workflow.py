"""BookingWorkflow on the listing's local clock (issue 11 item 2): a stay completes at local
check-out in far zones, and a booking request lapses at check-in when that comes before the
host's deadline. The instants come from the API's computation (`StayClock`), as in production."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta
from typing import Any

import pytest

from stayflow.rules.stays import StayClock
from stayflow.settings import Settings
from tests.factories import make_booking, make_listing, make_user
from tests.helpers import booking_status, deliveries_done, start_booking
from workers.main import build_worker
from workflows.booking import BookingWorkflow


def step_at(steps: list[Any], name: str) -> dt.datetime:
    return dt.datetime.fromisoformat(next(s.at for s in steps if s.step == name))


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Pacific/Pago_Pago"])
async def test_a_stay_completes_at_local_check_out_in_far_zones(
    zone: str, own_time_skipping_env: Any, stripe_settings: Settings, task_queue: str, fake_stripe: Any
) -> None:
    env = own_time_skipping_env
    clock = StayClock(zone, check_out_time="10:00")
    listing = await make_listing(instant_book=True, time_zone=zone, check_out_time="10:00")
    guest = await make_user()
    today = dt.datetime.now(dt.UTC).date()
    booking = await make_booking(listing, guest, check_in=today + timedelta(3), check_out=today + timedelta(5))
    check_out = clock.stay_ends(booking.check_out)
    async with build_worker(env.client, stripe_settings, task_queue=task_queue):
        handle = await start_booking(env, booking, instant=True, task_queue=task_queue, clock=clock)
        assert await handle.result() == "completed"
        await deliveries_done(env)
        steps = await handle.query(BookingWorkflow.timeline)
    completed = step_at(steps, "completed")
    # Not at 11:00 UTC: at 10:00 on the listing's clock (a day apart between the two zones).
    assert check_out <= completed < check_out + timedelta(minutes=5)
    assert clock.local(completed).hour == 10
    assert await booking_status(booking) == "completed"


async def test_a_request_lapses_at_check_in_when_that_comes_before_the_hosts_deadline(
    own_time_skipping_env: Any, stripe_settings: Settings, task_queue: str, fake_stripe: Any
) -> None:
    env = own_time_skipping_env
    clock = StayClock("Pacific/Kiritimati")  # tomorrow's 15:00 there is at most 25 h away
    listing = await make_listing(instant_book=False, time_zone="Pacific/Kiritimati")
    guest = await make_user(email="guest@example.com")
    today = dt.datetime.now(dt.UTC).date()
    booking = await make_booking(listing, guest, check_in=today + timedelta(1), check_out=today + timedelta(3))
    check_in = clock.night_starts(booking.check_in)
    async with build_worker(env.client, stripe_settings, task_queue=task_queue):
        handle = await start_booking(
            env, booking, instant=False, task_queue=task_queue, clock=clock, host_response_hours=48
        )
        assert await handle.result() == "expired"
        await deliveries_done(env)
        steps = await handle.query(BookingWorkflow.timeline)
    expired = step_at(steps, "expired")
    assert expired <= check_in + timedelta(minutes=1)  # not 48 h after the request
    assert await booking_status(booking) == "expired"
    assert len(fake_stripe.calls("POST", "/cancel")) == 1  # the hold is released
