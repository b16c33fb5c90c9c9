"""What is read back from a session folder: the records, and the values derived from them
(title, duration, the list-view summary). Pure: no file access.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_TITLE_CHARS = 60


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    """One finished transcript line as archived."""

    role: str
    text: str
    t_s: float
    turn: int
    latency_ms: float | None = None


@dataclass(frozen=True, slots=True)
class SnapshotInfo:
    id: str
    path: Path
    meta: dict[str, Any]


@dataclass(frozen=True, slots=True)
class DiagramInfo:
    id: str
    source: str
    title: str
    t: float | None


@dataclass(slots=True)
class ArchivedSession:
    """Everything read back from one session folder."""

    path: Path
    session_id: str
    meta: dict[str, Any]
    transcript: list[TranscriptLine] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    snapshots: list[SnapshotInfo] = field(default_factory=list)
    diagrams: list[DiagramInfo] = field(default_factory=list)
    recording: Path | None = None
    analysis: dict[str, Any] | None = None
    survey: dict[str, Any] | None = None
    skipped_lines: int = 0
    last_wall: float | None = None
    custom_title: str | None = None
    t0_unix: float | None = None  # wall clock at session time 0 (t_s of lines, snapshots, events)

    @property
    def started(self) -> str:
        return str(self.meta.get("started", ""))

    @property
    def turns(self) -> int:
        """Number of distinct turns that have at least one transcript line."""
        return len({line.turn for line in self.transcript})

    @property
    def duration_s(self) -> float:
        """Duration from meta when the session was closed, else estimated from the last record."""
        return estimated_duration(self)

    @property
    def closed(self) -> bool:
        return "ended" in self.meta

    @property
    def user_turns(self) -> int:
        """Number of turns the user took: distinct turns with a user line."""
        return len(
            {line.turn for line in self.transcript if line.role == "user" and line.text.strip()}
        )

    @property
    def title(self) -> str:
        """The owner's own title, else the survey title, else the meta title, else the first
        words the user said or typed (a line that is only a bracketed note, such as the offline
        demo's "[offline demo heard 1.2 s of speech]", is not words), else what kind of session
        it was."""
        if self.custom_title:
            return _truncate(self.custom_title, _TITLE_CHARS)
        for source in (self.survey or {}, self.meta):
            title = source.get("title")
            if isinstance(title, str) and title.strip():
                return _truncate(" ".join(title.split()), _TITLE_CHARS)
        for line in self.transcript:
            text = " ".join(line.text.split())
            if line.role == "user" and text and not _NOTE_LINE.fullmatch(text):
                return _truncate(text, _TITLE_CHARS)
        if any(line.role == "user" for line in self.transcript):
            return "Spoken conversation"
        return "Conversation without words" if self.transcript else "Empty session"


@dataclass(frozen=True, slots=True)
class SessionSummary:
    id: str
    started: str
    duration_s: float
    turns: int
    has_recording: bool
    has_analysis: bool
    title: str
    mine: bool = True
    analysis_ok: bool = False  # the saved analysis succeeded (a failed one is saved too)
    started_unix: float | None = None
    user_turns: int = 0
    has_survey: bool = False


_NOTE_LINE = re.compile(r"\[[^\[\]]*\]")


def _truncate(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def estimated_duration(session: ArchivedSession) -> float:
    """Seconds from session time 0 to the end (the folder is made a little after time 0)."""
    dur = session.meta.get("duration_s")
    start = session.meta.get("started_unix")
    if isinstance(dur, int | float):
        t0 = session.t0_unix
        lead = float(start) - t0 if isinstance(start, int | float) and t0 is not None else 0.0
        return round(float(dur) + min(max(lead, 0.0), 60.0), 3)
    last = session.last_wall
    t_max = max((line.t_s for line in session.transcript), default=0.0)
    if isinstance(start, int | float) and isinstance(last, int | float):
        return round(max(float(last) - float(start), t_max), 3)
    return t_max


def summarize(session: ArchivedSession, *, mine: bool = True) -> SessionSummary:
    """Return the list-view summary of a loaded session."""
    return SessionSummary(
        id=session.session_id,
        started=session.started,
        duration_s=estimated_duration(session),
        turns=session.turns,
        has_recording=session.recording is not None,
        has_analysis=session.analysis is not None,
        title=session.title,
        mine=mine,
        analysis_ok=bool((session.analysis or {}).get("ok")),
        started_unix=_started_unix(session),
        user_turns=session.user_turns,
        has_survey=session.survey is not None,
    )


def _started_unix(session: ArchivedSession) -> float | None:
    t = session.meta.get("started_unix")
    if isinstance(t, int | float):
        return float(t)
    try:  # the id itself is the UTC start time
        return (
            datetime.strptime(session.session_id[:16], "%Y%m%dT%H%M%SZ")
            .replace(tzinfo=UTC)
            .timestamp()
        )
    except ValueError:
        return None
