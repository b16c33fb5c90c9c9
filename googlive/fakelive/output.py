"""A model turn going out: audio with its output transcript, then turnComplete and usage.

``speak`` paces the turn's audio at ``FakeLiveConfig.speed``; ``finish_turn`` bills the turn
(prompt audio, text, the images and tool responses that entered context since the last turn,
response audio) and sends turnComplete, with the usage on it or, as a fault knob, apart.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import protocol as p
from . import script, voice
from .config import ToolResult

if TYPE_CHECKING:
    from .connection import _Connection

log = logging.getLogger("googlive.fakelive")


class Closed(Exception):
    """The WebSocket is gone; stop handling this connection."""


@dataclass
class ReplyState:
    """One model turn being generated (and, for a while after, played)."""

    number: int
    kind: str  # "answer" (to a user turn) or "result" (about tool results)
    turn: script.UserTurn | None = None
    pending_call_id: str | None = None  # a BLOCKING call this turn waits for
    chunks_sent: int = 0
    audio_bytes_sent: int = 0
    text_sent: str = ""
    tool_tokens: int = 0
    audio_mode: bool = True
    finished_turn: bool = False
    playing_until: float = float("inf")  # until the first chunk, "replying" means generating
    results: list[ToolResult] = field(default_factory=list)  # spoken in this turn


async def finish_turn(c: _Connection, state: ReplyState) -> None:
    """Send turnComplete with the turn's usage (or the usage apart: a fault knob)."""
    cfg, stats = c.server.config, c.server.stats
    state.finished_turn = True
    turn = state.turn
    detail = cfg.usage_detail_counts
    if c.conv is not None:
        state.tool_tokens += c.conv.take_tool_tokens()
    usage = p.TurnUsage(
        prompt_audio=voice.audio_tokens(len(turn.pcm), turn.rate) if turn else 0,
        prompt_text=(voice.text_tokens(turn.text) if turn else 0)
        + (0 if detail else state.tool_tokens),
        prompt_image=c.conv.take_image_tokens() if c.conv is not None else 0,
        response_audio=voice.audio_tokens(state.audio_bytes_sent, voice.OUT_RATE)
        if state.audio_mode
        else 0,
        response_text=0 if state.audio_mode else voice.text_tokens(state.text_sent),
        tool_use_prompt=state.tool_tokens if detail else 0,
        thoughts=max(1, voice.text_tokens(state.text_sent) // 2) if detail else 0,
    )
    if cfg.usage_on_empty_server_content:
        await c.send(p.turn_complete_frame(None))
        await c.send(p.usage_only_frame(usage))
    else:
        await c.send(p.turn_complete_frame(usage))
    stats.turns_completed += 1
    c.info.turns_completed += 1
    stats.prompt_tokens_sent += usage.prompt
    stats.response_tokens_sent += usage.response
    stats.tool_use_prompt_tokens_sent += usage.tool_use_prompt
    stats.thoughts_tokens_sent += usage.thoughts
    stats.model_turn_texts.append(state.text_sent)
    del stats.model_turn_texts[:-256]
    for record in state.results:
        record.spoken = state.chunks_sent > 0
    if c.setup is not None and c.setup.resumption:
        await c.send_resumption_update()
    c.server._bump()


async def speak(c: _Connection, state: ReplyState, text: str) -> None:
    """Send ``text`` as the turn's audio (+ output transcript), then complete the turn."""
    srv, cfg = c.server, c.server.config
    assert c.setup is not None
    turn = state.turn or script.UserTurn(kind="text", number=state.number)
    plan = script.plan_reply(turn, None, cfg.min_reply_s, cfg.long_reply_s, text=text)
    for record in state.results:
        record.reply_text = plan.text
    if cfg.reply_delay_s > 0:
        await asyncio.sleep(cfg.reply_delay_s)
    state.audio_mode = (
        "AUDIO" in c.setup.response_modalities or "TEXT" not in c.setup.response_modalities
    )
    chunks = voice.split_chunks(plan.audio, cfg.chunk_ms)
    frags = voice.spread_text(plan.text, len(chunks))
    loop = asyncio.get_running_loop()
    start = loop.time()
    state.playing_until = time.monotonic() + plan.duration_s
    sent_s = 0.0
    for i, (chunk, frag) in enumerate(zip(chunks, frags, strict=True)):
        speed = cfg.speed
        if speed > 0:
            delay = start + sent_s / speed - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        last = i == len(chunks) - 1
        if state.audio_mode:
            out_text = frag if c.setup.output_transcription else None
            await c.send(
                p.server_content_frame(
                    audio=chunk,
                    output_text=out_text,
                    output_finished=last and out_text is not None,
                )
            )
            state.audio_bytes_sent += len(chunk)
            srv.stats.reply_audio_bytes_sent += len(chunk)
        elif frag:
            await c.send(p.text_part_frame(frag))
        if frag:
            state.text_sent += frag
        state.chunks_sent += 1
        srv.stats.reply_chunks_sent += 1
        sent_s += len(chunk) / 2 / voice.OUT_RATE
        drop_after = cfg.drop_after_reply_chunks
        if drop_after is not None and state.chunks_sent >= drop_after:
            cfg.drop_after_reply_chunks = None  # once
            c.abort()
            raise Closed
    await c.send(p.generation_complete_frame())
    await finish_turn(c, state)
    log.info(
        "conn %d: turn done (%d chunks, %.1f s audio)",
        c.info.id,
        state.chunks_sent,
        plan.duration_s,
    )
