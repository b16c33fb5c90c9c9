"""What one browser connection's conversation looks like: transcript, status, panels.

Pure state, fed by the handler with Live events, read by the UI. Each panel carries a version
number so that the page is only sent what changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from googlive.events import Role, SessionState


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
class Status:
    kind: str  # connecting | live | reconnecting | offline | error | closed | ended
    message: str
    offline: bool = False

    def text(self) -> str:
        prefix = "Offline demo · " if self.offline and self.kind != "error" else ""
        return prefix + self.message


@dataclass
class Conversation:
    """The state of one conversation as the page shows it."""

    offline: bool = False
    lines: list[Line] = field(default_factory=list)
    status: Status = field(default_factory=lambda: Status("connecting", "Connecting…"))
    versions: dict[str, int] = field(default_factory=dict)
    panels: dict[str, Any] = field(default_factory=dict)

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

    # ---- status ----------------------------------------------------------------------------
    def set_state(
        self, state: SessionState, *, attempt: int = 0, delay_s: float = 0.0, reason: str = ""
    ) -> None:
        if state is SessionState.CONNECTING:
            st = Status("connecting", "Connecting to Gemini…")
        elif state is SessionState.LIVE:
            st = Status("live", "Live — talk any time; interrupt whenever you like.")
        elif state is SessionState.RECONNECTING:
            msg = f"Reconnecting — attempt {attempt}" if attempt else "Reconnecting…"
            if delay_s:
                msg += f" in {delay_s:.1f} s"
            if reason:
                msg += f" ({reason})"
            st = Status("reconnecting", msg)
        else:
            if self.status.kind in ("error", "ended"):
                return  # keep the error or the reason it ended visible
            st = Status(
                "closed", "Session ended." + (f" {reason}" if reason and reason != "closed" else "")
            )
        st.offline = self.offline
        self.status = st
        self.bump("status")

    def set_error(self, message: str) -> None:
        self.status = Status("error", message, self.offline)
        self.bump("status")

    def set_ended(self, message: str) -> None:
        self.status = Status("ended", message, self.offline)
        self.bump("status")

    def set_panel(self, name: str, value: Any) -> None:
        self.panels[name] = value
        self.bump(name)
