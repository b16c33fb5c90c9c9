"""The call's lifecycle and media switches, as `GeminiHandler` carries them out.

A mixin of the handler (kept apart from the audio path):

- page → handler over the WebRTC data channel: the page (googlive/web/call.js) reports what it
  sends, `{"type": "googlive-media", "seq", "mic", "camera", "screen", ...}` (mic muted, camera
  off, a screen shared instead of the camera, a device missing or denied). The handler applies
  it at once (a muted mic sends nothing to the model; with the camera off no frame is kept,
  shown, recorded or sent) and acknowledges the `seq`; the page repeats a report until it is.
  FastRTC itself only logs page messages (fastrtc 0.0.34 webrtc_connection_mixin.py,
  `channel.on("message")`), so a listener of our own on the same channel is safe.
- the model is told when the user switches the video (a short realtime text note), and the
  transcript shows it as a note.
- lifecycle: a backend never reached fails after `Backoff.unreached_attempts` attempts; a
  failure that ends the session, and the time limit, hang up the page's call (FastRTC's own
  `update_connection` message), so the page's Stop/End path (archive, analysis, Results)
  follows in every case.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import time
from typing import TYPE_CHECKING, Any

from fastrtc.utils import create_message

from googlive.call.keyflow import is_key_problem
from googlive.conversation import Media
from googlive.live.events import SessionState, StateChanged
from googlive.live.retry import unreached_message

if TYPE_CHECKING:
    from googlive.handler import GeminiHandler

log = logging.getLogger(__name__)

MEDIA_MESSAGE = "googlive-media"  # page -> handler: what the page sends
MEDIA_ACK = "googlive-media-ack"  # handler -> page: that report was applied
MAX_PAGE_MESSAGE = 2000
VIDEO_SETTLE_S = 0.3  # after a video switch, frames still in flight are of the old source
ENDED_MESSAGE = "Conversation ended. Press Start conversation to talk again."
# What the model is told when the user switches its video: realtime text, as a typed message
# goes (the Live API has no other way to tell it something mid-conversation on every model).
NOTE_CAMERA_OFF = "(The user turned their camera off. You cannot see them until it is back on.)"
NOTE_CAMERA_ON = "(The user turned their camera back on.)"
NOTE_SCREEN_ON = "(The user is now sharing their screen: the video you receive is their screen.)"
NOTE_SCREEN_OFF = "(The user stopped sharing their screen.)"
KEY_HINT = " Check the key under Call settings, or clear it to use the server's default."


def media_instruction(media: Media) -> str:
    """Words for the system instruction about devices missing from the start of the call."""
    out = ""
    if media.camera == "missing":
        out += "\n\nThe user has no camera in this call: you cannot see them."
    if media.mic == "missing":
        out += "\n\nThe user has no microphone in this call: they will type to you."
    return out


def key_note_html(text: str, *, error: bool = False) -> str:
    """The note next to the key field (escaped)."""
    kind = "key-error" if error else "key-note"
    role = ' role="alert"' if error else ""
    return f'<div class="{kind}"{role}>{html.escape(text)}</div>'


class CallMixin:
    """See the module docstring. Mixed into GeminiHandler (uses its attributes)."""

    # ---- page -> handler ---------------------------------------------------------------------
    def set_channel(self: GeminiHandler, channel: Any) -> None:  # type: ignore[misc]
        super().set_channel(channel)  # type: ignore[misc]
        if channel is self._listening:
            return
        self._listening = channel
        on = getattr(channel, "on", None)
        if callable(on):
            on("message", self.on_page_message)

    def on_page_message(self: GeminiHandler, message: Any) -> None:
        if not isinstance(message, str) or len(message) > MAX_PAGE_MESSAGE:
            return
        if not message.startswith("{"):
            return  # fastrtc's own "handshake" and the like
        try:
            data = json.loads(message)
        except ValueError:
            return
        if not isinstance(data, dict) or data.get("type") != MEDIA_MESSAGE:
            return
        seq = data.get("seq")
        if isinstance(seq, int) and seq <= self._media_seq:
            self._send_page({"type": MEDIA_ACK, "seq": seq})
            return  # a repeat of what is applied already
        if isinstance(seq, int):
            self._media_seq = seq
        self.apply_media(Media.from_page(data))
        self._send_page({"type": MEDIA_ACK, "seq": seq})

    def apply_media(self: GeminiHandler, media: Media) -> None:
        """Apply what the page says it sends now."""
        old = self.conv.media
        if not self.conv.set_media(media):
            return
        log.info(
            "media mic=%s camera=%s screen=%s",
            media.mic,
            media.camera,
            "on" if media.screen else "off",
        )
        if old.video_sends != media.video_sends or old.screen != media.screen:
            self.latest_frame = None  # no stale frame: not for the model, a picture or the view
            self._video_since = time.monotonic() + VIDEO_SETTLE_S
        t = self.session_time()
        note = None
        if media.screen and not old.screen:
            note, seen = NOTE_SCREEN_ON, "You are sharing your screen; Gemini sees it."
        elif old.screen and not media.screen:
            note, seen = NOTE_SCREEN_OFF, "Screen sharing stopped."
            if media.camera != "on":
                note += " " + NOTE_CAMERA_OFF
        elif old.camera == "on" and media.camera == "off":
            note, seen = NOTE_CAMERA_OFF, "Camera off; Gemini was told it can't see you."
        elif old.camera == "off" and media.camera == "on":
            note, seen = NOTE_CAMERA_ON, "Camera on."
        if note is not None and self.session is not None:
            self.session.send_text(note)
            self.conv.note(seen, t)
        self._wake.set()

    def _send_page(self: GeminiHandler, data: dict[str, Any]) -> None:
        channel = getattr(self, "channel", None)
        if channel is None:
            return
        try:
            channel.send(json.dumps(data))
        except Exception as exc:  # a closing channel must not break anything
            log.debug("page message not sent (%s)", type(exc).__name__)

    # ---- lifecycle ---------------------------------------------------------------------------
    def on_state(self: GeminiHandler, ev: StateChanged) -> None:
        s = self.session
        if (
            ev.state is SessionState.RECONNECTING
            and s is not None
            and s.config.backoff.unreached_exhausted(
                ev.attempt, ever_connected=s.stats.connects > 0
            )
        ):
            log.info("live backend never reached after %d attempts: giving up", ev.attempt)
            self.on_failure(unreached_message(self.conv.target, ev.reason), close_session=True)
            return
        self.conv.set_state(ev.state, attempt=ev.attempt, delay_s=ev.delay_s, reason=ev.reason)

    def on_failure(self: GeminiHandler, message: str, *, close_session: bool = False) -> None:
        """The call cannot go on: say why (a key problem next to the key field too), close
        the session if it is still trying, and hang up the page's call."""
        if is_key_problem(message):
            self.conv.set_panel("key", key_note_html(message, error=True))
            message = message.rstrip() + KEY_HINT
        self.conv.set_failed(message)
        if close_session and self.session is not None:
            self.spawn(self.session.close("unreached"), "give-up")
        self.hang_up()

    async def _hang_up_soon(self: GeminiHandler, delay_s: float = 1.0) -> None:
        """Hang up after the page had a moment to receive the status saying why."""
        self._wake.set()
        await asyncio.sleep(delay_s)
        self.hang_up()

    def hang_up(self: GeminiHandler) -> None:
        """Ask the page to end its WebRTC call (FastRTC's `update_connection`: the component
        stops as if its Stop was pressed, which ends the call on the page's side too)."""
        if self._hung_up:
            return
        self._hung_up = True
        channel = getattr(self, "channel", None)
        if channel is None:
            return
        try:
            channel.send(create_message("update_connection", "closed"))
        except Exception as exc:
            log.debug("hang-up not sent (%s)", type(exc).__name__)
        self._wake.set()
