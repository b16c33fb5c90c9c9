"""When to tell the Live service that the microphone stream paused (`audioStreamEnd`).

`audioStreamEnd` "indicates that the audio stream has ended, e.g. because the microphone was
turned off. This should only be sent when automatic activity detection is enabled [...] The
client can reopen the stream by sending an audio message" (google-genai 2.8
types.LiveSendRealtimeInputParameters.audio_stream_end; js-genai LiveClientRealtimeInput): the
service's activity detection then flushes what it holds instead of waiting for audio that will
not come. The Live API guide asks for it once the stream pauses for more than about a second
(shared/LIVE_PROTOCOL.md). Pure timing, no I/O: `LiveSession` calls it from its send loop.

A stream is per connection: the end is due once audio was written on the current connection
and no mic frame arrived for `pause_s` (track muted or stopped, or the handler stopped
feeding), and none is pending. It is sent once per pause; a new connection starts with nothing
to end (what was queued while reconnecting is written first, then the pause counts from the
last mic frame, so a mic that stopped during the reconnect is ended right after the resume).
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_PAUSE_S = 1.0


@dataclass
class AudioStreamEnd:
    """The audioStreamEnd decision for one LiveSession. Times are the caller's clock."""

    pause_s: float = DEFAULT_PAUSE_S
    last_frame_at: float | None = None  # the newest mic frame handed to the session
    streaming: bool = False  # audio written on this connection since the last end
    ends_sent: int = 0

    def on_frame(self, now: float) -> None:
        """A mic frame was queued for the service."""
        self.last_frame_at = now

    def on_written(self) -> None:
        """Audio went out on the current connection: the stream is open there."""
        self.streaming = True

    def on_connected(self) -> None:
        """A fresh connection: its stream has not started, there is nothing to end."""
        self.streaming = False

    def wait_s(self, now: float, *, audio_pending: bool) -> float | None:
        """Seconds until the end is due (<= 0: due now), or None while none is due at all."""
        if not self.streaming or audio_pending or self.last_frame_at is None:
            return None
        return self.last_frame_at + self.pause_s - now

    def on_sent(self) -> None:
        """The end went out: none again until audio was written once more."""
        self.streaming = False
        self.ends_sent += 1


__all__ = ["DEFAULT_PAUSE_S", "AudioStreamEnd"]
