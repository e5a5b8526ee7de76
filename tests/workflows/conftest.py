from __future__ import annotations

from typing import Any

import msgspec
import pytest

from stayflow.settings import Settings


@pytest.fixture
def stripe_settings(settings: Settings, fake_stripe: Any) -> Settings:
    """Settings whose real Stripe SDK talks to this test's fake Stripe."""
    return msgspec.structs.replace(settings, stripe_api_key=fake_stripe.api_key, stripe_api_base=fake_stripe.url)


@pytest.fixture(autouse=True)
def _empty_tables(clean_database: None) -> None:
    """Every test here starts from empty tables."""
