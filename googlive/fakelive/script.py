"""What the offline demo says and does for one user turn (pure, no I/O).

A user turn is answered with an optional tool call, then honest speech: the transcript says it is
the offline demo backend, the audio is a chime plus the user's own voice (speech turns) or a tone
sequence (text turns). Turn numbers carry over a resumed session, so replies can say "turn N".
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from . import voice


@dataclass(frozen=True, slots=True)
class UserTurn:
    """One complete user turn, as the server saw it."""

    kind: Literal["speech", "text"]
    number: int
    text: str = ""
    pcm: bytes = b""
    rate: int = 16000
    images: int = 0

    @property
    def speech_s(self) -> float:
        return len(self.pcm) / 2 / self.rate if self.rate else 0.0


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    """How a tool call of this turn ended."""

    name: str
    status: Literal["ok", "error", "timeout"]
    fields: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ReplyPlan:
    """The model's side of a turn: transcript text and 24 kHz PCM16 audio."""

    text: str
    audio: bytes
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return len(self.audio) / 2 / voice.OUT_RATE


def input_transcript(turn: UserTurn) -> list[str]:
    """Input transcription fragments: honest for speech; none for text turns, since Gemini
    transcribes audio input only (the client already knows what was typed)."""
    if turn.kind == "text":
        return []
    return ["[offline demo heard", f" {turn.speech_s:.1f} s of speech]"]


def _safe_label(text: str, limit: int = 40) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9 ,.?!'-]+", " ", text)
    cleaned = re.sub(r"\s+", " ", cleaned).strip()
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 3].rstrip() + "..."
    return cleaned or "a diagram"


def diagram_args(request_text: str) -> dict[str, str]:
    """Arguments for draw_diagram: valid Mermaid that says it is an offline placeholder."""
    label = _safe_label(request_text)
    code = "\n".join(
        [
            "flowchart TD",
            f'    A["You asked: {label}"] --> B["Offline demo backend"]',
            '    B --> C{"Gemini available?"}',
            '    C -- "no" --> D["This placeholder diagram"]',
            '    C -- "yes" --> E["A real diagram of your topic"]',
        ]
    )
    return {"code": code, "title": "Offline demo diagram"}


def choose_tool_call(
    turn: UserTurn,
    declared: Collection[str],
    queued: tuple[str, dict[str, Any]] | None,
) -> tuple[str, dict[str, Any]] | None:
    """The tool call this turn makes, if any.

    A scripted (queued) call wins. Otherwise, for text turns only (speech is not understood
    offline): "diagram" -> draw_diagram, "picture"/"photo"/"look" -> take_picture, "answer" ->
    record_answer (the typed text as the answer to the first question id the declaration
    allows), each only if setup declared that tool. `declared` holds the declared names; a
    mapping of name -> parameters schema also gives record_answer its question ids.
    """
    if queued is not None:
        return queued
    if turn.kind != "text":
        return None
    lowered = turn.text.lower()
    if "diagram" in lowered and "draw_diagram" in declared:
        return "draw_diagram", diagram_args(turn.text)
    if any(w in lowered for w in ("picture", "photo", "look")) and "take_picture" in declared:
        return "take_picture", {
            "reason": "Offline demo: you asked me to look, so I am taking a picture."
        }
    if "answer" in lowered and "record_answer" in declared:
        question_id = _first_question_id(declared)
        if question_id is not None:
            return "record_answer", {"question_id": question_id, "answer": turn.text[:500]}
    return None


def _first_question_id(declared: Collection[str]) -> str | None:
    """The first `question_id` enum value of a declared record_answer, if there is one."""
    if not isinstance(declared, Mapping):
        return None
    params = declared.get("record_answer")
    props = params.get("properties") if isinstance(params, Mapping) else None
    qid = props.get("question_id") if isinstance(props, Mapping) else None
    enum = qid.get("enum") if isinstance(qid, Mapping) else None
    if isinstance(enum, list) and enum and isinstance(enum[0], str):
        return enum[0]
    return None


def tool_outcome(name: str, response: dict[str, Any] | None) -> ToolOutcome:
    """Summarise a function response without repeating its content."""
    if response is None:
        return ToolOutcome(name, "timeout")
    if "error" in response:
        return ToolOutcome(name, "error", tuple(sorted(map(str, response))))
    return ToolOutcome(name, "ok", tuple(sorted(map(str, response))))


def reply_text(turn: UserTurn, outcome: ToolOutcome | None = None, seen: str | None = None) -> str:
    """The transcript of the demo reply, which says plainly what the backend is. ``seen`` (what
    an image showed, see vision.py) follows the tool's outcome."""
    head = f"Offline demo, turn {turn.number}: "
    tool = ""
    if outcome is not None:
        if outcome.status == "ok":
            tool = f"the {outcome.name} tool answered ok. " + (f"{seen} " if seen else "")
        elif outcome.status == "error":
            tool = f"the {outcome.name} tool reported an error. "
        else:
            tool = f"the {outcome.name} tool did not answer in time. "
    if turn.kind == "text":
        body = f"you said: {turn.text}" if turn.text else "you sent content without text."
        if turn.images:
            body += f" I received {turn.images} image(s) but cannot see them without Gemini."
    else:
        body = "I can't understand speech without Gemini, so here is what I heard."
    return head + tool + body


def plan_reply(
    turn: UserTurn,
    outcome: ToolOutcome | None,
    min_reply_s: float,
    long_reply_s: float,
    text: str | None = None,
) -> ReplyPlan:
    """Transcript and audio for ``turn``.

    Audio lasts at least ``min_reply_s``, and at least ``long_reply_s`` when the text asks for
    a story, an explanation or something long (so barge-in can be exercised). ``text``
    replaces the transcript (a tool result, a filler while a non-blocking call runs).
    """
    text = reply_text(turn, outcome) if text is None else text
    target = long_reply_s if voice.wants_long_reply(turn.text) else min_reply_s
    if turn.kind == "speech" and turn.pcm:
        audio = voice.speech_reply_audio(turn.pcm, turn.rate, target)
    else:
        # A little longer for longer transcripts, like speech would be.
        seconds = max(target, 0.6 + 0.05 * len(text.split()))
        audio = voice.text_reply_audio(seconds, seed_text=turn.text)
    return ReplyPlan(text=text, audio=audio)
