"""The Live protocol's server side as a pure object: `LiveServerMessage` in, typed events out.

`LiveProtocol.feed(msg, now)` turns one message from `session.receive()` into the events of
`googlive.live.events`; `connection_lost()` closes what a dropped connection left open. No I/O, no
clock of its own (`now` is the caller's `time.perf_counter()`), so every ordering the service
produces is tested synchronously (tests/test_liveproto.py) with real `types.LiveServerMessage`
values parsed from wire JSON.

What it promises:
- Turns are numbered from 0. A turn is one exchange: the user's transcript and the model's
  reply carry the same number. `TurnComplete(n)` or `Interrupted(n)` ends turn n; content after
  it belongs to n + 1. A turn with no content (e.g. a turnComplete right after a tool call) is
  still numbered and ended, as before this module existed.
- Transcript fragments are stitched into one line per role per turn (`TranscriptDelta.line`);
  the user's line is made final when the model starts answering or the turn ends; each line's
  final delta comes before the turn's `TurnComplete` / `Interrupted`.
- `interrupted` while a turn is open ends that turn: `Interrupted(n)`; the turnComplete that
  follows it closes the same turn n (`TurnComplete(n)`), it does not end another one.
- `interrupted` after the turn's own `turnComplete` (the service's generation was done, the
  client was still playing it out: livekit/agents google realtime_api.py, the receive loop's
  "turn_complete -> interrupted" case) is the interruption of that completed turn:
  `Interrupted(n)` for the turn that just completed, never for the next one — while its audio
  can still be playing (its duration from its first chunk's arrival, plus
  `PLAYOUT_SLACK_S`); later it is about nothing that plays. A second `interrupted` for the
  same turn is dropped.
- Usage is counted from EVERY message that carries `usageMetadata` — also one whose
  `serverContent` is empty or absent (livekit/agents PR 5238) — into `total`, thought tokens
  and tool-use prompt tokens included (`Usage`). `TurnComplete(n).usage` is what arrived
  during turn n, up to its turnComplete (None when nothing did); usage arriving after it and
  before anything of the next turn is turn n's too: `UsageReport(n, usage)`.
- `goAway` gives `GoAway(time_left)` and sets `go_away_by` (in the caller's clock) to
  `now + time_left - margin`; `sessionResumptionUpdate` keeps the newest resumable handle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from googlive.live.events import (
    AudioOut,
    GoAway,
    Interrupted,
    LiveEvent,
    Role,
    ToolCall,
    ToolCallCancelled,
    TranscriptDelta,
    TurnComplete,
    Usage,
    UsageReport,
)
from googlive.live.retry import parse_duration

if TYPE_CHECKING:
    from google.genai import types

DEFAULT_OUT_RATE = 24000
# How long after its estimated end a completed turn may still be playing at the client: the
# jitter cushion, WebRTC's lead and buffers, a pause for the user's voice (googlive/handler.py).
PLAYOUT_SLACK_S = 1.5


class _TurnText:
    """Stitches transcript fragments into one line per role per turn."""

    __slots__ = ("model", "user", "user_final")

    def __init__(self) -> None:
        self.user = ""
        self.model = ""
        self.user_final = False


class LiveProtocol:
    """Server messages → events for one logical conversation (it outlives connections)."""

    def __init__(self, *, go_away_margin_s: float = 5.0) -> None:
        self.go_away_margin_s = go_away_margin_s
        self.turn = 0  # the turn that content arriving now belongs to
        self.turn_open = False  # content of `turn` has arrived and it has not ended
        self.handle: str | None = None
        self.total = Usage()
        self.go_aways = 0
        self.go_away_by: float | None = None  # after goAway: the caller's time to have moved by
        self._text = _TurnText()
        self._pending_usage: Usage | None = None
        self._model_started = False  # the open turn has model audio or transcript
        self._audio_from: float | None = None  # the open turn's first audio arrived then
        self._audio_s = 0.0  # seconds of audio the open turn has sent
        self._prev_plays_until: float | None = None  # the ended turn's playout, estimated
        # The most recent ended turn, until the model's next reply starts: its number,
        # whether it was interrupted, and whether its turnComplete is still due.
        self._prev: int | None = None
        self._prev_interrupted = False
        self._prev_awaits_complete = False

    # ---- input -----------------------------------------------------------------------------
    def feed(self, msg: types.LiveServerMessage, now: float) -> list[LiveEvent]:
        """The events one server message means, in the order the app must apply them."""
        out: list[LiveEvent] = []
        sc = msg.server_content
        if msg.usage_metadata is not None:
            self._count(msg.usage_metadata, bool(sc is not None and sc.turn_complete), out)
        if sc is not None:
            self._content(sc, now, out)
        if msg.tool_call is not None and msg.tool_call.function_calls:
            for fc in msg.tool_call.function_calls:
                out.append(ToolCall(fc.id or "", fc.name or "", dict(fc.args or {})))
        if msg.tool_call_cancellation is not None and msg.tool_call_cancellation.ids:
            out.append(ToolCallCancelled(tuple(msg.tool_call_cancellation.ids)))
        upd = msg.session_resumption_update
        if upd is not None and upd.resumable and upd.new_handle:
            self.handle = upd.new_handle
        if msg.go_away is not None:
            left = parse_duration(msg.go_away.time_left) or 0.0
            self.go_aways += 1
            self.go_away_by = now + left - self.go_away_margin_s
            out.append(GoAway(left))
        return out

    def connection_lost(self) -> list[LiveEvent]:
        """The connection ended mid-turn: the service does not finish that turn on the next
        connection, so close its lines and end it (else the next reply's transcript is glued
        onto the cut one, and a barge-in cut of this turn would mute it)."""
        out: list[LiveEvent] = []
        self._prev_awaits_complete = False
        if self.turn_open:
            turn = self._end(out)
            out.append(TurnComplete(turn, self._take_usage()))
        return out

    def forget_handle(self) -> None:
        """The service refused to resume with the handle: the next connection starts afresh."""
        self.handle = None

    def restart_done(self) -> None:
        """The connection that got the goAway has been replaced."""
        self.go_away_by = None

    # ---- server content --------------------------------------------------------------------
    def _content(self, sc: types.LiveServerContent, now: float, out: list[LiveEvent]) -> None:
        user = sc.input_transcription.text if sc.input_transcription else None
        model = sc.output_transcription.text if sc.output_transcription else None
        parts = sc.model_turn.parts if sc.model_turn and sc.model_turn.parts else None
        if user or model or parts:
            self.turn_open = True
        if model or parts:
            # The model's reply has started: the previous turn's playout is over as far as
            # the service is concerned, so a later `interrupted` is about this turn.
            self._model_started = True
            self._prev = None
        if user:
            self._text.user += user
            out.append(TranscriptDelta(Role.USER, user, self._text.user, self.turn))
        if parts:
            for part in parts:
                blob = part.inline_data
                if blob is not None and blob.data and (blob.mime_type or "").startswith("audio/"):
                    rate = _rate_of(blob.mime_type or "")
                    if self._audio_from is None:
                        self._audio_from = now
                    self._audio_s += len(blob.data) / (2 * rate)
                    out.append(AudioOut(blob.data, rate, self.turn, now))
        if model:
            self._finish_user_line(out)
            self._text.model += model
            out.append(TranscriptDelta(Role.MODEL, model, self._text.model, self.turn))
        if sc.interrupted:
            self._interrupted(out, now)
        if sc.turn_complete:
            self._turn_complete(out)

    def _interrupted(self, out: list[LiveEvent], now: float) -> None:
        if not self._model_started and self._prev_still_playing(now):
            # turnComplete, then interrupted for the same turn (the user may already be
            # talking: their words belong to the open turn, which goes on): the playout of
            # the completed turn is what was interrupted. Its turnComplete was reported.
            self._prev_interrupted = True
            out.append(Interrupted(self._prev))
        elif self.turn_open:
            turn = self._end(out)
            self._prev_interrupted = True
            self._prev_awaits_complete = True
            out.append(Interrupted(turn))
        # else: nothing is playing (start of session) or this turn was already interrupted.

    def _turn_complete(self, out: list[LiveEvent]) -> None:
        if not self.turn_open and self._prev_awaits_complete and self._prev is not None:
            # The turnComplete closing an interrupted turn: that turn was ended already.
            self._prev_awaits_complete = False
            out.append(TurnComplete(self._prev, self._take_usage()))
            return
        turn = self._end(out)
        out.append(TurnComplete(turn, self._take_usage()))

    def _prev_still_playing(self, now: float) -> bool:
        """The ended turn may still be heard: it was not interrupted yet and its audio, played
        from its arrival at real time, has not run out (give or take the client's buffers)."""
        if self._prev is None or self._prev_interrupted or self._prev_plays_until is None:
            return False
        return now <= self._prev_plays_until + PLAYOUT_SLACK_S

    def _end(self, out: list[LiveEvent]) -> int:
        """Finish the current turn's lines and move on to the next turn number; returns the
        number of the turn that ended."""
        self._finish_user_line(out)
        if self._text.model:
            out.append(TranscriptDelta(Role.MODEL, "", self._text.model, self.turn, final=True))
        ended = self.turn
        self._text = _TurnText()
        self.turn_open = False
        self._model_started = False
        self._prev = ended
        self._prev_plays_until = (
            None if self._audio_from is None else self._audio_from + self._audio_s
        )
        self._audio_from, self._audio_s = None, 0.0
        self._prev_interrupted = False
        self._prev_awaits_complete = False
        self.turn += 1
        return ended

    def _finish_user_line(self, out: list[LiveEvent]) -> None:
        t = self._text
        if t.user and not t.user_final:
            t.user_final = True
            out.append(TranscriptDelta(Role.USER, "", t.user, self.turn, final=True))

    # ---- usage -----------------------------------------------------------------------------
    def _count(self, meta: types.UsageMetadata, completes: bool, out: list[LiveEvent]) -> None:
        u = usage_of(meta)
        self.total = self.total + u
        if (
            not completes
            and not self.turn_open
            and self._prev is not None
            and not self._prev_awaits_complete
        ):
            # After turn n's turnComplete and before anything of the next turn: turn n's.
            out.append(UsageReport(self._prev, u))
            return
        self._pending_usage = u if self._pending_usage is None else self._pending_usage + u

    def _take_usage(self) -> Usage | None:
        u, self._pending_usage = self._pending_usage, None
        return u


def usage_of(meta: types.UsageMetadata) -> Usage:
    """A `Usage` from the service's `usageMetadata`. The total counts prompt, response,
    thought and tool-use prompt tokens (google-genai types.UsageMetadata: total "for prompt,
    response candidates, and tool-use prompts"; thoughts are billed as output) and is
    recomputed when the service left it out."""
    prompt = meta.prompt_token_count or 0
    response = meta.response_token_count or 0
    thoughts = meta.thoughts_token_count or 0
    tool_use = meta.tool_use_prompt_token_count or 0
    total = meta.total_token_count or (prompt + response + thoughts + tool_use)
    by_mod = {"AUDIO": 0, "IMAGE": 0, "VIDEO": 0, "TEXT": 0}
    for d in meta.prompt_tokens_details or ():
        name = getattr(d.modality, "value", d.modality)
        if name in by_mod:
            by_mod[name] += d.token_count or 0
    return Usage(
        prompt_tokens=prompt,
        response_tokens=response,
        total_tokens=total,
        thoughts_tokens=thoughts,
        tool_use_prompt_tokens=tool_use,
        cached_tokens=meta.cached_content_token_count or 0,
        prompt_audio_tokens=by_mod["AUDIO"],
        prompt_video_tokens=by_mod["IMAGE"] + by_mod["VIDEO"],
        prompt_text_tokens=by_mod["TEXT"],
    )


def _rate_of(mime: str, default: int = DEFAULT_OUT_RATE) -> int:
    for part in mime.split(";"):
        part = part.strip()
        if part.startswith("rate="):
            try:
                return int(part[5:])
            except ValueError:
                return default
    return default


__all__ = ["LiveProtocol", "usage_of"]
