"""FastRTC's audio-video track, without paying for camera frames nobody looks at.

FastRTC 0.0.34 (`fastrtc.tracks.VideoStreamHandler_`, the track it builds for every incoming
camera in `modality="audio-video"`) converts every received frame to a full-size BGR ndarray
(`VideoFrame.to_ndarray`: a colour conversion of the whole picture) before `video_receive`,
and sends back whatever `video_emit` returns, VP8-encoded at 30 fps, as the self-view. The
model looks at <= 1 frame a second, and the page shows the self-view from the local camera
(googlive/web/selfview.js), so `CheapVideoTrack`, for a handler that says so:

- asks `handler.video_wanted()` for each frame as it arrives (a cheap, synchronous call) and
  converts only the frames it wants; the others are dropped before conversion. aiortc still
  decodes every frame the browser sends (its decoder thread feeds the track): only a lower
  send rate in the browser saves that.
- sends no video at all when `handler.selfview_from_page` is true: `recv()` waits for the
  track to stop. No frame is built, encoded or packetised, and the browser's lip-sync has no
  second stream to hold the model's audio back for.

A handler without `video_wanted` (the bench's bare echo, say) gets FastRTC's own behaviour.
`install()` puts the class where FastRTC's connection code looks it up (a module global of
`fastrtc.webrtc_connection_mixin`); it is checked against fastrtc 0.0.34 by
tests/test_rtcvideo.py and must be called before the first connection.
"""

from __future__ import annotations

import inspect
from typing import Any

from aiortc.mediastreams import MediaStreamError
from fastrtc import tracks as _tracks
from fastrtc import webrtc_connection_mixin as _mixin

_ORIGINAL = _tracks.VideoStreamHandler_


class CheapVideoTrack(_ORIGINAL):  # type: ignore[misc, valid-type]
    """FastRTC's audio-video track: converts only wanted frames, and (page self-view) sends none."""

    dropped_unconverted = 0
    """Frames dropped before conversion, all connections of this process (for the bench)."""

    async def process_frames(self) -> None:
        handler = self.event_handler
        wanted = getattr(handler, "video_wanted", None)
        if wanted is None:
            await super().process_frames()
            return
        receive = handler.video_receive
        is_async = inspect.iscoroutinefunction(receive)
        while not self.thread_quit.is_set():
            try:
                await self.channel_set.wait()
                frame = await self.track.recv()
                if not wanted():
                    CheapVideoTrack.dropped_unconverted += 1
                    continue
                array = frame.to_ndarray(format="bgr24")
                if is_async:
                    await receive(array)
                else:
                    receive(array)
            except MediaStreamError:
                self.stop()

    async def recv(self) -> Any:  # type: ignore[override]
        if not getattr(self.event_handler, "selfview_from_page", False):
            return await super().recv()
        await self.start()  # the incoming camera is read from here on (FastRTC starts it here)
        await self.thread_quit.wait()
        raise MediaStreamError


def install() -> None:
    """Make FastRTC build CheapVideoTrack for audio-video connections (idempotent)."""
    _mixin.VideoStreamHandler_ = CheapVideoTrack


def installed() -> bool:
    return _mixin.VideoStreamHandler_ is CheapVideoTrack
