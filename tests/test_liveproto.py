"""The sans-I/O protocol core: server messages as the wire has them → the app's events.

Each message is wire JSON (camelCase, base64 audio) parsed exactly as google-genai 2.8's
`AsyncSession._receive` parses a frame (json → `_LiveServerMessage_from_mldev` →
`LiveServerMessage._from_response`), so a field the SDK drops is dropped here too.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from google.genai import _live_converters, types

from googlive.live.events import (
    AudioOut,
    GoAway,
    Interrupted,
    Role,
    ToolCall,
    ToolCallCancelled,
    TranscriptDelta,
    TurnComplete,
    Usage,
    UsageReport,
)
from googlive.live.protocol import PLAYOUT_SLACK_S, LiveProtocol, usage_of

PCM = b"\x01\x00" * 240


def wire(obj: dict[str, Any]) -> types.LiveServerMessage:
    """A server frame as the SDK turns it into a LiveServerMessage."""
    response = json.loads(json.dumps(obj))
    d = _live_converters._LiveServerMessage_from_mldev(response)
    return types.LiveServerMessage._from_response(response=d, kwargs={})


def audio(rate: int = 24000) -> dict[str, Any]:
    data = base64.urlsafe_b64encode(PCM).decode()
    return {
        "serverContent": {
            "modelTurn": {
                "parts": [{"inlineData": {"mimeType": f"audio/pcm;rate={rate}", "data": data}}]
            }
        }
    }


def said(text: str) -> dict[str, Any]:
    return {"serverContent": {"outputTranscription": {"text": text}}}


def heard(text: str) -> dict[str, Any]:
    return {"serverContent": {"inputTranscription": {"text": text}}}


def usage(prompt: int, response: int, **extra: Any) -> dict[str, Any]:
    return {"promptTokenCount": prompt, "responseTokenCount": response, **extra}


def complete(u: dict[str, Any] | None = None) -> dict[str, Any]:
    msg: dict[str, Any] = {"serverContent": {"turnComplete": True}}
    if u is not None:
        msg["usageMetadata"] = u
    return msg


INTERRUPTED = {"serverContent": {"interrupted": True}}


def run(p: LiveProtocol, *frames: dict[str, Any], now: float = 0.0) -> list[Any]:
    out: list[Any] = []
    for f in frames:
        out += p.feed(wire(f), now)
    return out


def kinds(events: list[Any]) -> list[str]:
    return [type(e).__name__ for e in events]


def test_a_turn_gives_audio_stitched_lines_and_a_complete_with_its_usage():
    """Audio and transcript fragments of one turn share its number; lines are stitched; the
    user's line is final once the model answers; usage rides on TurnComplete."""
    p = LiveProtocol()
    evs = run(
        p,
        heard("hel"),
        heard("lo"),
        audio(),
        said("Hi "),
        said("there"),
        complete(usage(10, 20, totalTokenCount=30)),
        now=5.0,
    )
    assert [e.line for e in evs if isinstance(e, TranscriptDelta) and e.role is Role.USER] == [
        "hel",
        "hello",
        "hello",
    ]
    (a,) = [e for e in evs if isinstance(e, AudioOut)]
    assert a.pcm == PCM and a.rate == 24000 and a.turn == 0 and a.received_at == 5.0
    finals = [e for e in evs if isinstance(e, TranscriptDelta) and e.final]
    assert [(e.role, e.line) for e in finals] == [(Role.USER, "hello"), (Role.MODEL, "Hi there")]
    assert evs[-1] == TurnComplete(
        0, usage_of(wire(complete(usage(10, 20, totalTokenCount=30))).usage_metadata)
    )
    assert evs[-1].usage.total_tokens == 30
    assert p.turn == 1 and not p.turn_open
    # The next reply is turn 1, with a line of its own.
    evs = run(p, said("Again"), complete())
    assert [e.turn for e in evs] == [1, 1, 1] and evs[-1] == TurnComplete(1, None)


def test_interrupted_mid_reply_ends_the_turn_and_its_turn_complete_closes_the_same_turn():
    """3.1 / 2.5 (immediate interruption): interrupted → turnComplete, one turn, not two."""
    p = LiveProtocol()
    evs = run(p, audio(), said("A long story"), INTERRUPTED)
    assert kinds(evs)[-2:] == ["TranscriptDelta", "Interrupted"] and evs[-1] == Interrupted(0)
    assert evs[-2].final and evs[-2].line == "A long story"
    evs = run(p, complete(usage(3, 4)))
    assert kinds(evs) == ["TurnComplete"] and evs[0].turn == 0 and evs[0].usage.prompt_tokens == 3
    evs = run(p, audio(), complete())
    assert evs[0].turn == 1 and evs[-1] == TurnComplete(1, None)


def test_turn_complete_then_interrupted_is_the_completed_turn_that_was_interrupted():
    """The service finished generating (turnComplete) while the client was still playing it out,
    then the user spoke: `interrupted` is about that turn (livekit realtime_api.py), not the next;
    the next reply is a new turn and is not cut."""
    p = LiveProtocol()
    run(p, audio(), said("Here is the answer"), complete())
    evs = run(p, INTERRUPTED)
    assert evs == [Interrupted(0)]
    assert p.turn == 1
    assert run(p, INTERRUPTED) == []  # the same turn twice: once
    evs = run(p, heard("wait"), audio(), said("Sure"), complete())
    assert {e.turn for e in evs} == {1} and evs[-1] == TurnComplete(1, None)
    assert not any(isinstance(e, Interrupted) for e in evs)


def test_interrupted_after_turn_complete_while_the_user_already_talks_keeps_the_users_line():
    """Polite interruption (3.8): the user's words may be transcribed before the service says
    the completed turn was interrupted; they stay one line of the open turn."""
    p = LiveProtocol()
    run(p, audio(), complete())
    evs = run(p, heard("actually "), INTERRUPTED, heard("no"))
    assert [e for e in evs if isinstance(e, Interrupted)] == [Interrupted(0)]
    lines = [e for e in evs if isinstance(e, TranscriptDelta)]
    assert [(e.turn, e.line) for e in lines] == [(1, "actually "), (1, "actually no")]
    assert p.turn_open and p.turn == 1


def test_interrupted_with_nothing_played_yet_is_ignored():
    """At the start of a session nothing is playing: an interrupted means nothing."""
    p = LiveProtocol()
    assert run(p, INTERRUPTED) == []
    assert run(p, audio(), complete())[-1] == TurnComplete(0, None)


def test_usage_is_counted_from_every_message_that_carries_it():
    """Usage on an empty serverContent (livekit PR 5238), with no serverContent at all, and on
    turnComplete: all counted into the total and into the next TurnComplete; thought and
    tool-use prompt tokens included."""
    p = LiveProtocol()
    evs = run(
        p,
        audio(),
        {"serverContent": {}, "usageMetadata": usage(5, 6, thoughtsTokenCount=7)},
        {"usageMetadata": usage(1, 0, toolUsePromptTokenCount=9)},
        complete(usage(2, 3)),
    )
    tc = evs[-1]
    assert isinstance(tc, TurnComplete)
    assert (tc.usage.prompt_tokens, tc.usage.response_tokens) == (8, 9)
    assert (tc.usage.thoughts_tokens, tc.usage.tool_use_prompt_tokens) == (7, 9)
    assert tc.usage.total_tokens == 8 + 9 + 7 + 9  # totals recomputed when left out
    assert p.total == tc.usage
    # Usage after the turnComplete (before the next turn) counts at once and is that turn's.
    evs = run(p, {"serverContent": {}, "usageMetadata": usage(4, 0, totalTokenCount=4)})
    assert evs == [UsageReport(0, Usage(4, 0, 4))]
    assert p.total.total_tokens == tc.usage.total_tokens + 4
    assert run(p, audio(), complete())[-1].usage is None


def test_usage_on_an_empty_turn_complete_is_that_turns():
    """A turnComplete with no content before it (e.g. right after a tool call) carrying usage:
    the usage rides on that TurnComplete, not on the turn before."""
    p = LiveProtocol()
    run(p, audio(), complete())
    evs = run(p, complete(usage(6, 0)))
    assert evs == [TurnComplete(1, usage_of(wire(complete(usage(6, 0))).usage_metadata))]


def test_usage_between_interrupted_and_its_turn_complete_rides_on_it():
    """interrupted → usage alone → turnComplete: all of it is the interrupted turn's."""
    p = LiveProtocol()
    run(p, audio(), INTERRUPTED)
    assert run(p, {"usageMetadata": usage(2, 2)}) == []
    (tc,) = run(p, complete(usage(1, 1)))
    assert tc.turn == 0 and (tc.usage.prompt_tokens, tc.usage.response_tokens) == (3, 3)


def test_usage_splits_the_prompt_by_modality_with_images_as_video():
    """promptTokensDetails: IMAGE and VIDEO count as video (tokens per minute of video)."""
    u = usage_of(
        wire(
            complete(
                usage(
                    300,
                    10,
                    promptTokensDetails=[
                        {"modality": "AUDIO", "tokenCount": 100},
                        {"modality": "IMAGE", "tokenCount": 128},
                        {"modality": "VIDEO", "tokenCount": 64},
                        {"modality": "TEXT", "tokenCount": 8},
                    ],
                )
            )
        ).usage_metadata
    )
    assert (u.prompt_audio_tokens, u.prompt_video_tokens, u.prompt_text_tokens) == (100, 192, 8)
    assert u.input_tokens == 300 and u.output_tokens == 10


def test_tool_calls_and_cancellations_keep_their_ids():
    """A toolCall gives one ToolCall per function call; a cancellation names the ids."""
    p = LiveProtocol()
    evs = run(
        p,
        {
            "toolCall": {
                "functionCalls": [
                    {"id": "c1", "name": "take_picture", "args": {"reason": "x"}},
                    {"id": "c2", "name": "draw_diagram", "args": {}},
                ]
            }
        },
        {"toolCallCancellation": {"ids": ["c1"]}},
    )
    assert evs == [
        ToolCall("c1", "take_picture", {"reason": "x"}),
        ToolCall("c2", "draw_diagram", {}),
        ToolCallCancelled(("c1",)),
    ]


def test_non_blocking_call_mid_reply_then_the_answer_is_a_new_turn():
    """3.8: the model talks, calls a tool without stopping, completes; the tool's answer makes a
    new turn (WHEN_IDLE / INTERRUPT) with its own number and lines."""
    p = LiveProtocol()
    evs = run(
        p,
        said("Let me look. "),
        {"toolCall": {"functionCalls": [{"id": "t", "name": "take_picture"}]}},
        said("One moment."),
        complete(),
    )
    assert [e.turn for e in evs if isinstance(e, TranscriptDelta)] == [0, 0, 0]
    assert evs[-2].line == "Let me look. One moment." and evs[-1] == TurnComplete(0, None)
    evs = run(p, audio(), said("I see red."), complete())
    assert evs[-1] == TurnComplete(1, None) and evs[-2].line == "I see red."


def test_go_away_sets_the_deadline_and_the_handle_is_kept():
    """goAway's timeLeft (a duration string) and the newest resumable handle."""
    p = LiveProtocol(go_away_margin_s=5.0)
    run(p, {"sessionResumptionUpdate": {"newHandle": "h1", "resumable": True}})
    run(p, {"sessionResumptionUpdate": {"newHandle": "h2", "resumable": False}})
    assert p.handle == "h1"
    evs = run(p, {"goAway": {"timeLeft": "50s"}}, now=100.0)
    assert evs == [GoAway(50.0)] and p.go_away_by == 145.0 and p.go_aways == 1
    p.restart_done()
    assert p.go_away_by is None
    p.forget_handle()
    assert p.handle is None


def test_a_lost_connection_closes_the_open_turn():
    """A drop mid-reply: its lines are final, the turn is complete, the next reply is new."""
    p = LiveProtocol()
    run(p, heard("tell me"))
    evs = p.connection_lost()
    assert [
        (type(e).__name__, getattr(e, "role", None), getattr(e, "final", None)) for e in evs
    ] == [("TranscriptDelta", Role.USER, True), ("TurnComplete", None, None)]
    assert p.turn == 1
    run(p, said("Once upon"))
    evs = p.connection_lost()
    assert [(type(e).__name__, getattr(e, "final", None)) for e in evs] == [
        ("TranscriptDelta", True),
        ("TurnComplete", None),
    ]
    assert evs[-1].turn == 1 and p.turn == 2
    assert p.connection_lost() == []
    # An interrupted turn whose turnComplete never came is not completed twice.
    run(p, said("x"), INTERRUPTED)
    assert p.connection_lost() == []
    assert run(p, said("y"), complete())[-1].turn == 3


def test_audio_rate_comes_from_the_mime_type():
    p = LiveProtocol()
    (a,) = run(p, audio(16000))
    assert a.rate == 16000


def test_interrupted_long_after_a_turn_finished_playing_is_not_that_turns():
    """A completed turn whose audio ran out long ago (its duration from the first chunk's
    arrival, plus PLAYOUT_SLACK_S) is no longer playing: an `interrupted` then cuts nothing."""
    p = LiveProtocol()
    pcm_s = len(PCM) / 48000
    run(p, audio(), complete(), now=100.0)
    assert run(p, INTERRUPTED, now=100.0 + pcm_s + PLAYOUT_SLACK_S + 0.1) == []
    p2 = LiveProtocol()
    run(p2, audio(), complete(), now=100.0)
    assert run(p2, INTERRUPTED, now=100.0 + pcm_s + PLAYOUT_SLACK_S - 0.1) == [Interrupted(0)]
