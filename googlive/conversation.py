"""What one browser connection's conversation looks like: transcript, status, panels.

Pure state, fed by the handler with Live events, read by the UI. Each panel carries a version
number so that the page is only sent what changed.

The status is the call's lifecycle as the page shows it, and it only ever says what is true:

    connecting ──► live ──► reconnecting (attempt n) ──► live ...
        │  ▲                    │
        ▼  │ attempt n of N     ▼
      failed (reason, what to do)      ended (why, what next)

"Reconnecting" is only said after the call was live once; before that a retry is still
"Connecting … attempt n of N", and after N it fails ("Can't reach Gemini"). Once a call has
ended or failed, nothing that comes later (the session's own close, a late retry) changes it.
The page's idle state ("Ready …") is never a call's state: it is what the page shows before
the first call (googlive/ui.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from googlive.live.events import Role, SessionState

FINAL = ("ended", "failed")
DEVICE_STATES = ("on", "off", "missing")
WHY = ("denied", "absent", "busy", "insecure", "error")
ENDED = "Conversation ended. Press Start conversation to talk again."


@dataclass
class Line:
    role: Role
    text: str
    turn: int
    start_s: float
    end_s: float
    final: bool = False
    interrupted: bool = False
    latency_ms: float | None = None


@dataclass
class Card:
    """Something that happened in the call, shown inline in the transcript: a tool call
    (`kind` "tool": what was asked, then its result or error) or a note ("note", e.g. the
    camera was turned off). Every text field is plain text, rendered escaped."""

    kind: str  # tool | note
    t_s: float
    title: str
    detail: str = ""
    id: str = ""
    name: str = ""  # the tool's name
    state: str = "done"  # running | ok | error | cancelled | done (notes)
    done_s: float | None = None


@dataclass
class Media:
    """What the page sends, as the page reported it (googlive/web/call.js): each of `mic` and
    `camera` is "on", "off" (the user switched it off) or "missing" (no device, or access
    denied; `why` says which); `screen` is True while a screen is shared instead of the camera."""

    mic: str = "on"
    camera: str = "on"
    screen: bool = False
    mic_why: str = ""
    camera_why: str = ""

    @classmethod
    def from_page(cls, data: dict[str, Any]) -> Media:
        """The page's report (a parsed data-channel message); unknown values read as "on"
        for the devices and False for the screen, so a malformed report never mutes a call."""

        def pick(value: Any, allowed: tuple[str, ...], default: str) -> str:
            return value if isinstance(value, str) and value in allowed else default

        return cls(
            mic=pick(data.get("mic"), DEVICE_STATES, "on"),
            camera=pick(data.get("camera"), DEVICE_STATES, "on"),
            screen=data.get("screen") is True,
            mic_why=pick(data.get("mic_why"), WHY, ""),
            camera_why=pick(data.get("camera_why"), WHY, ""),
        )

    @property
    def mic_sends(self) -> bool:
        return self.mic == "on"

    @property
    def video_sends(self) -> bool:
        return self.screen or self.camera == "on"


@dataclass
class Status:
    kind: str  # connecting | live | reconnecting | ended | failed
    message: str
    offline: bool = False

    def text(self) -> str:
        prefix = "Offline demo · " if self.offline and self.kind != "failed" else ""
        return prefix + self.message


@dataclass
class Conversation:
    """The state of one conversation as the page shows it."""

    offline: bool = False
    lines: list[Line] = field(default_factory=list)
    cards: list[Card] = field(default_factory=list)
    status: Status = field(default_factory=lambda: Status("connecting", "Connecting…"))
    media: Media = field(default_factory=Media)
    versions: dict[str, int] = field(default_factory=dict)
    panels: dict[str, Any] = field(default_factory=dict)
    was_live: bool = False
    attempts: int = 0  # connection attempts allowed before the call was ever live (0: no cap)
    target: str = "Gemini"  # what the call talks to, in the status ("Gemini", "the offline demo")
    # What the page was last sent (googlive/ui.py); never part of the conversation itself.
    sent: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    def bump(self, panel: str) -> None:
        self.versions[panel] = self.versions.get(panel, 0) + 1

    # ---- transcript ------------------------------------------------------------------------
    def transcript(
        self, role: Role, turn: int, line: str, t_s: float, *, final: bool = False
    ) -> Line:
        """Set the stitched text of `role`'s line for `turn` (creating it), and return it."""
        cur = self._find(role, turn)
        if cur is None:
            cur = Line(role, line, turn, t_s, t_s, final)
            self._insert(cur)
        else:
            if line:
                cur.text = line
            cur.end_s = t_s
            cur.final = cur.final or final
        self.bump("transcript")
        return cur

    def mark_interrupted(self, turn: int) -> None:
        cur = self._find(Role.MODEL, turn)
        if cur is not None and not cur.interrupted:
            cur.interrupted = True
            self.bump("transcript")

    def set_latency(self, turn: int, latency_ms: float) -> None:
        cur = self._find(Role.MODEL, turn)
        if cur is not None:
            cur.latency_ms = latency_ms
            self.bump("transcript")

    def _find(self, role: Role, turn: int) -> Line | None:
        for ln in reversed(self.lines[-8:]):
            if ln.role is role and ln.turn == turn:
                return ln
        for ln in self.lines:
            if ln.role is role and ln.turn == turn:
                return ln
        return None

    def _insert(self, line: Line) -> None:
        # User line of a turn goes before the model line of the same turn.
        idx = len(self.lines)
        if line.role is Role.USER:
            while (
                idx > 0
                and self.lines[idx - 1].turn == line.turn
                and self.lines[idx - 1].role is Role.MODEL
            ):
                idx -= 1
        self.lines.insert(idx, line)

    # ---- cards -----------------------------------------------------------------------------
    def tool_started(self, call_id: str, name: str, asked: str, t_s: float) -> Card:
        card = Card("tool", t_s, asked, "", call_id, name, "running")
        self.cards.append(card)
        del self.cards[:-200]  # bounded: the oldest cards go first
        self.bump("transcript")
        return card

    def tool_finished(self, call_id: str, state: str, detail: str, t_s: float) -> None:
        for card in reversed(self.cards):
            if card.kind == "tool" and card.id == call_id and card.state == "running":
                card.state, card.detail, card.done_s = state, detail, t_s
                self.bump("transcript")
                return

    def note(self, text: str, t_s: float) -> None:
        self.cards.append(Card("note", t_s, text))
        del self.cards[:-200]
        self.bump("transcript")

    # ---- media -----------------------------------------------------------------------------
    def set_media(self, media: Media) -> bool:
        """The page's devices changed; True if anything did."""
        if media == self.media:
            return False
        self.media = media
        self.bump("status")
        return True

    # ---- status ----------------------------------------------------------------------------
    @property
    def final(self) -> bool:
        return self.status.kind in FINAL

    def set_state(
        self, state: SessionState, *, attempt: int = 0, delay_s: float = 0.0, reason: str = ""
    ) -> None:
        if self.final:
            return  # keep the reason it ended (or failed) visible
        if state is SessionState.CONNECTING or (
            state is SessionState.RECONNECTING and not self.was_live
        ):
            msg = f"Connecting to {self.target}…"
            if attempt:
                of = f" of {self.attempts}" if self.attempts else ""
                msg = f"Connecting to {self.target} — attempt {attempt + 1}{of}"
                if delay_s >= 0.1:
                    msg += f" in {delay_s:.1f} s"
                if reason:
                    msg += f" ({reason.rstrip('.')})"
            st = Status("connecting", msg)
        elif state is SessionState.LIVE:
            self.was_live = True
            st = Status("live", "Live — talk any time; interrupt whenever you like.")
        elif state is SessionState.RECONNECTING:
            msg = f"Reconnecting — attempt {attempt}" if attempt else "Reconnecting…"
            if delay_s >= 0.1:
                msg += f" in {delay_s:.1f} s"
            if reason:
                msg += f" ({reason.rstrip('.')})"
            st = Status("reconnecting", msg)
        else:  # CLOSED: the session's own reason (a failure) came as a SessionError already
            st = Status("ended", ENDED)
        st.offline = self.offline
        self.status = st
        self.bump("status")

    def set_failed(self, message: str) -> None:
        """The call cannot go on: `message` says why and what to do. Final."""
        if self.final:
            return
        self.status = Status("failed", message, self.offline)
        self.bump("status")

    set_error = set_failed  # the older name

    def set_ended(self, message: str) -> None:
        """The call is over (time limit, the user ended it): `message` says why. Final."""
        if self.final:
            return
        self.status = Status("ended", message, self.offline)
        self.bump("status")

    def set_panel(self, name: str, value: Any) -> None:
        self.panels[name] = value
        self.bump(name)
