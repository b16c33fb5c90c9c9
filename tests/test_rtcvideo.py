"""googlive.media.rtcvideo (FastRTC's audio-video track converting only wanted frames, sending no
self-view) and the handler's side of it: which frames it wants, and the camera rate it asks
the page for."""

from __future__ import annotations

import asyncio
import inspect
import json

import numpy as np
import pytest
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from fastrtc import tracks, webrtc_connection_mixin
from fastrtc.utils import Context

import googlive.handler as handler_mod
from googlive.config import Settings
from googlive.conversation import Media
from googlive.features.api import Feature
from googlive.handler import VIDEO_KEEP_EVERY_S, GeminiHandler
from googlive.media import rtcvideo
from googlive.media.frames import MODEL_CAMERA_FPS, VIDEO_RATE_MESSAGE
from googlive.media.rtcvideo import CheapVideoTrack
from tests.util import offline_endpoint


class Frame:
    """A decoded frame as aiortc hands it over; counts its conversions."""

    conversions = 0

    def to_ndarray(self, format: str) -> np.ndarray:
        assert format == "bgr24"
        Frame.conversions += 1
        return np.zeros((48, 64, 3), np.uint8)


class Camera(MediaStreamTrack):
    kind = "video"

    def __init__(self, n: int) -> None:
        super().__init__()
        self.left = n

    async def recv(self) -> Frame:
        await asyncio.sleep(0)
        if self.left == 0:
            raise MediaStreamError
        self.left -= 1
        return Frame()


class Handler:
    """What the track needs of a handler: every third frame wanted."""

    selfview_from_page = True

    def __init__(self) -> None:
        self.asked = 0
        self.got: list[np.ndarray] = []

    def video_wanted(self) -> bool:
        self.asked += 1
        return self.asked % 3 == 0

    async def video_receive(self, frame: np.ndarray) -> None:
        self.got.append(frame)

    async def video_emit(self) -> np.ndarray:
        raise AssertionError("no self-view is built on the server")


class Channel:
    def __init__(self) -> None:
        self.sent: list[dict] = []

    def send(self, message: str) -> None:
        self.sent.append(json.loads(message))


def _track(camera: Camera, handler: object) -> CheapVideoTrack:
    t = CheapVideoTrack(camera, event_handler=handler, context=Context(webrtc_id="t"), fps=30)
    t.set_channel(Channel())
    return t


def test_install_replaces_the_class_fastrtc_builds_for_audio_video():
    rtcvideo.install()
    assert rtcvideo.installed()
    assert webrtc_connection_mixin.VideoStreamHandler_ is CheapVideoTrack
    assert issubclass(CheapVideoTrack, tracks.VideoStreamHandler_)
    # FastRTC looks the class up by this module-global name when a video track arrives
    src = inspect.getsource(webrtc_connection_mixin.WebRTCConnectionMixin)
    assert "cb = VideoStreamHandler_(" in src


async def test_only_wanted_frames_are_converted_and_no_video_is_sent():
    Frame.conversions = 0
    h = Handler()
    track = _track(Camera(30), h)
    sent = asyncio.create_task(track.recv())  # aiortc's sender asks for the self-view frame
    with pytest.raises(MediaStreamError):  # ... and gets none until the camera ends
        await asyncio.wait_for(sent, 10)
    assert h.asked == 30
    assert len(h.got) == Frame.conversions == 10
    assert all(f.shape == (48, 64, 3) for f in h.got)
    assert CheapVideoTrack.dropped_unconverted >= 20


async def test_a_handler_without_video_wanted_gets_fastrtc_behaviour():
    Frame.conversions = 0

    class Plain:
        def __init__(self) -> None:
            self.got = 0

        async def video_receive(self, frame: np.ndarray) -> None:
            self.got += 1

        async def video_emit(self) -> np.ndarray:
            return np.zeros((16, 16, 3), np.uint8)

    h = Plain()
    track = _track(Camera(5), h)
    frame = await asyncio.wait_for(track.recv(), 10)  # the self-view comes back re-encoded
    assert frame.width == 16 and frame.height == 16
    await asyncio.wait_for(track.thread_quit.wait(), 10)
    assert h.got == Frame.conversions == 5


class Clock:
    t = 100.0

    @classmethod
    def monotonic(cls) -> float:
        return cls.t


class Recorder(Feature):
    name = "recorder"
    wants_video_frames = True


async def test_handler_keeps_a_few_frames_a_second_unless_a_feature_wants_all(monkeypatch, server):
    monkeypatch.setattr(handler_mod, "time", Clock)
    h = GeminiHandler(Settings(), offline_endpoint(server))
    frame = np.zeros((48, 64, 3), np.uint8)
    kept = 0
    for _ in range(30):  # one second of a 30 fps camera
        if h.video_wanted():
            kept += 1
            await h.video_receive(frame)
        Clock.t += 1 / 30
    assert kept == pytest.approx(1 / VIDEO_KEEP_EVERY_S, abs=1)
    assert h.video_skipped == 30 - kept and h.video_frames_in == kept
    h.features.append(Recorder(h))
    assert all(h.video_wanted() for _ in range(5))  # a recording wants every frame
    h.conv.media = Media(camera="off")
    Clock.t += 1
    ignored = h.video_ignored
    assert not h.video_wanted() and h.video_ignored == ignored + 1  # camera off: none


async def test_handler_asks_the_page_for_the_model_rate_and_lifts_it_for_a_recording(server):
    h = GeminiHandler(Settings(), offline_endpoint(server))
    h._offer_video_rate()  # no channel yet: nothing sent, asked again later
    ch = Channel()
    h.set_channel(ch)
    h._offer_video_rate()
    h._offer_video_rate()  # unchanged: not repeated
    assert ch.sent == [{"type": VIDEO_RATE_MESSAGE, "max_fps": MODEL_CAMERA_FPS}]
    h.features.append(Recorder(h))
    h._offer_video_rate()
    assert ch.sent[-1] == {"type": VIDEO_RATE_MESSAGE, "max_fps": None} and len(ch.sent) == 2
