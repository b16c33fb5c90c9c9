"""A fake Live server per test (fast replies unless a test slows them)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from googlive.fakelive import FakeLiveConfig, FakeLiveServer


@pytest.fixture
async def srv() -> AsyncIterator[FakeLiveServer]:
    async with FakeLiveServer(api_key="test-key", config=FakeLiveConfig(speed=20.0)) as server:
        yield server
