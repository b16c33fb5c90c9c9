"""The Live event queue: bounded, and a stalled consumer loses model audio first, never a tool
call or a final transcript line (googlive/live/eventqueue.py)."""

from __future__ import annotations

import asyncio

import pytest

from googlive.live.eventqueue import EventQueue, victim
from googlive.live.events import (
    AudioOut,
    Role,
    SessionError,
    SessionState,
    StateChanged,
    ToolCall,
    TranscriptDelta,
    TurnComplete,
)

AUDIO = AudioOut(b"\0\0" * 480)
LIVE = StateChanged(SessionState.LIVE)
RECONNECTING = StateChanged(SessionState.RECONNECTING, attempt=1)


def tool(i: int) -> ToolCall:
    return ToolCall(id=f"call-{i}", name="take_picture", args={})


def line(text: str) -> TranscriptDelta:
    return TranscriptDelta(role=Role.MODEL, text=text, line=text, turn=1, final=True)


def test_victim_is_the_oldest_audio_then_a_superseded_state_never_a_tool_call_or_line():
    assert victim([tool(1), line("a"), AUDIO, AudioOut(b"\1\1"), LIVE]) == 2
    assert victim([LIVE, tool(1), RECONNECTING, line("a")]) == 0  # the newer state stays
    assert victim([tool(1), LIVE, line("a")]) is None  # the only state: it is what is shown
    soft = SessionError("retrying", recoverable=True)
    assert victim([soft, tool(1), SessionError("again", recoverable=True)]) == 0
    fatal = SessionError("bad key", recoverable=False)
    assert victim([fatal, SessionError("bad key", recoverable=False)]) is None
    assert victim([tool(1), line("a"), TurnComplete(turn=1)]) is None


async def test_put_waits_while_full_and_goes_on_when_the_consumer_takes_one():
    q = EventQueue(2, reserve=0)
    await q.put(tool(1))
    await q.put(tool(2))
    waiting = asyncio.create_task(q.put(tool(3)))
    await asyncio.sleep(0)  # one loop turn: the put ran up to its wait
    assert not waiting.done() and q.qsize() == 2
    assert (await q.get()).id == "call-1"
    async with asyncio.timeout(5):
        await waiting
    assert [q.get_nowait().id for _ in range(2)] == ["call-2", "call-3"]
    with pytest.raises(asyncio.QueueEmpty):
        q.get_nowait()


async def test_a_stalled_consumer_loses_audio_first_and_keeps_every_tool_call_and_line():
    q = EventQueue(4, reserve=2)
    for item in (AUDIO, tool(1), AUDIO, line("first")):
        await q.put(item)
    for _ in range(4):  # control events past the bound: reserve, then audio makes room
        q.put_nowait(RECONNECTING)
    assert q.dropped == {"AudioOut": 2}
    q.put_nowait(LIVE)  # no audio left: the oldest superseded state goes
    assert q.dropped == {"AudioOut": 2, "StateChanged": 1}
    kept = [q.get_nowait() for _ in range(q.qsize())]
    assert [k for k in kept if isinstance(k, ToolCall)] == [tool(1)]
    assert [k for k in kept if isinstance(k, TranscriptDelta)] == [line("first")]
    assert kept[-1] == LIVE and len(kept) == 6  # maxsize + reserve


async def test_nothing_droppable_means_nothing_dropped():
    q = EventQueue(2, reserve=0)
    await q.put(tool(1))
    await q.put(line("kept"))
    q.put_nowait(SessionError("bad key", recoverable=False))
    assert q.qsize() == 3 and not q.dropped


async def test_get_waits_for_an_item():
    q = EventQueue(1)
    getter = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    assert not getter.done()
    q.put_nowait(LIVE)
    async with asyncio.timeout(5):
        assert await getter == LIVE


def test_a_bound_below_one_is_refused():
    with pytest.raises(ValueError, match="maxsize must be >= 1"):
        EventQueue(0)
