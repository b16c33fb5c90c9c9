"""Awaiting the tasks a closer cancelled, without losing the closer's own cancellation.

`contextlib.suppress(asyncio.CancelledError)` around `await child` also swallows a cancel
aimed at the task doing the awaiting (its `cancelling()` count says so), and the closer then
goes on as if nothing happened. `reap` awaits each task, ignores how it ended, and tells the
caller whether it was itself being cancelled meanwhile: the caller finishes its own clean-up
(closing the archive, say) and then raises CancelledError.
"""

from __future__ import annotations

import asyncio
from typing import Any


async def reap(*tasks: asyncio.Task[Any]) -> bool:
    """Await `tasks` (already cancelled or finishing). True when a cancel aimed at the caller
    arrived meanwhile: the caller must raise CancelledError once its clean-up is done."""
    me = asyncio.current_task()
    cancelled = False
    for task in tasks:
        try:
            await task
        except asyncio.CancelledError:
            if me is not None and me.cancelling():
                cancelled = True
        except Exception:
            pass
    return cancelled
