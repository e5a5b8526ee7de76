"""Issue 12 (platform security), the parts that need no server: settings, logs, photo decoding."""

from __future__ import annotations

import asyncio
import io
import logging
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from api.logs import RedactSecrets, access_log_config, redacted_path
from stayflow.credentials import hash_password
from stayflow.image_pool import DecoderBusy, PhotoDecoder
from stayflow.images import MAX_PIXELS, ImageRejected, check_image
from stayflow.settings import SettingsError, load_settings

PRODUCTION = {
    "STAYFLOW_ENV": "production",
    "STAYFLOW_DATABASE_URL": "postgresql://db/stayflow",
    "STAYFLOW_TEMPORAL_ADDRESS": "temporal:7233",
    "STRIPE_WEBHOOK_SECRET": "whsec_real",
}


def test_production_is_the_default_and_never_invents_a_secret(tmp_path: Path) -> None:
    settings = load_settings({"STAYFLOW_HOME": str(tmp_path)})
    assert settings.env == "production"
    assert settings.jwt_secret == "" and not (tmp_path / "jwt-secret").exists()
    with pytest.raises(SettingsError, match="STAYFLOW_JWT_SECRET"):
        settings.check_can_start()


def test_production_refuses_a_long_secret_of_one_repeated_character() -> None:
    settings = load_settings({**PRODUCTION, "STAYFLOW_JWT_SECRET": "a" * 64, "STRIPE_API_KEY": "sk_live_abc"})
    with pytest.raises(SettingsError, match="STAYFLOW_JWT_SECRET"):
        settings.check_can_start()


def test_production_refuses_the_fake_stripe_key_when_only_the_api_base_is_set() -> None:
    settings = load_settings(
        {
            **PRODUCTION,
            "STAYFLOW_JWT_SECRET": "Vx3q9kTz0bLr7mWc2yHn5sJd8fGa1pQe4uKo6iNt",
            "STAYFLOW_STRIPE_API_BASE": "https://api.stripe.com",
        }
    )
    with pytest.raises(SettingsError, match="not the local fake"):
        settings.check_can_start()


def test_tokens_in_urls_never_reach_the_access_log() -> None:
    assert redacted_path("/api/v1/ws?token=eyJhbGciOi.x.y&since=3") == "/api/v1/ws?token=[redacted]&since=3"
    assert redacted_path("/a?refresh_token=abc") == "/a?refresh_token=[redacted]"
    assert redacted_path("/api/v1/listings?q=token") == "/api/v1/listings?q=token"
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/api/v1/ws?token=eyJsecret", "1.1", 101), None,
    )  # fmt: skip
    assert RedactSecrets().filter(record) and "eyJsecret" not in record.getMessage()
    config = access_log_config()
    assert config["handlers"]["access"]["filters"] == ["redact_secrets"]


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("L", (width, height)).save(out, "PNG")
    return out.getvalue()


def test_a_huge_image_is_refused_from_its_header_before_decoding() -> None:
    bomb = _png(6300, 6300)  # the attack's 6,300 x 6,300 PNG: a small file, 40 MP decoded
    assert len(bomb) < 200_000 and MAX_PIXELS < 6300 * 6300
    started = time.perf_counter()
    with pytest.raises(ImageRejected, match="pixels"):
        check_image(bomb)
    assert time.perf_counter() - started < 0.5  # decoding it takes seconds
    with pytest.raises(ImageRejected, match="each side"):
        check_image(_png(12_000, 300))


async def test_the_photo_pool_is_bounded_and_leaves_password_hashing_its_own_threads() -> None:
    decoder = PhotoDecoder(workers=1, queue=1)
    release = threading.Event()
    # Occupy the one decoding thread with a job that waits until released.
    blocker = asyncio.get_running_loop().run_in_executor(decoder._executor, release.wait)
    photo = _png(400, 400)
    admitted = [asyncio.create_task(decoder.check(photo)) for _ in range(2)]
    await asyncio.sleep(0.05)
    with pytest.raises(DecoderBusy):
        await decoder.check(photo)  # both places taken: refused at once, nothing piles up
    started = time.perf_counter()
    await asyncio.to_thread(hash_password, "a sign-in meanwhile")  # the default pool is free
    assert time.perf_counter() - started < 5
    assert not any(task.done() for task in admitted)
    release.set()
    await blocker
    checked = await asyncio.gather(*admitted)
    assert all(image.width == 400 for image in checked)
