"""googlive.tasks.reap: children are awaited, the closer's own cancel survives."""

from __future__ import annotations

import asyncio

import pytest

from googlive.tasks import reap


async def test_reap_awaits_children_however_they_ended():
    async def boom() -> None:
        raise RuntimeError("child failed")

    async def forever() -> None:
        await asyncio.Event().wait()

    a, b = asyncio.create_task(boom()), asyncio.create_task(forever())
    await asyncio.sleep(0)
    b.cancel()
    assert await reap(a, b) is False  # neither the child's error nor its cancel is the caller's
    assert a.done() and b.cancelled()


async def test_a_cancel_aimed_at_the_closer_is_not_swallowed():
    child_started = asyncio.Event()
    release = asyncio.Event()

    async def slow_child() -> None:
        child_started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            await release.wait()  # takes a while to wind down
            raise

    child = asyncio.create_task(slow_child())
    await child_started.wait()
    cleaned = []

    async def closer() -> None:
        child.cancel()
        me_cancelled = await reap(child)
        cleaned.append(True)  # the closer's own clean-up still runs
        if me_cancelled:
            raise asyncio.CancelledError

    task = asyncio.create_task(closer())
    await asyncio.sleep(0)
    task.cancel()  # lands while the closer awaits the child
    release.set()
    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(5):
            await task
    assert task.cancelled() and cleaned and child.cancelled()
