"""The call's lifecycle in the handler, driven like FastRTC drives it, against the local Live
server: the page's media report (mute, camera off, screen), typed text refused until live, the
key rules, a backend never reached, a rejected key, tool cards, and the call registry."""

from __future__ import annotations

import asyncio
import json
import socket
import time

import numpy as np

from googlive.call.control import MEDIA_ACK, NOTE_CAMERA_OFF, NOTE_SCREEN_ON
from googlive.call.keyflow import IGNORED_KEY_NOTE
from googlive.call.registry import registry
from googlive.config import Secret, Settings
from googlive.features.results.feature import archive_factory
from googlive.handler import GeminiHandler
from googlive.live.backend import Endpoint
from googlive.live.events import Role, ToolCall
from googlive.testing.peersim import SimulatedPeer
from tests.util import is_live, offline_endpoint, until


class FakeChannel:
    """The WebRTC data channel as the handler sees it (aiortc's RTCDataChannel: send, on)."""

    def __init__(self) -> None:
        self.sent: list[dict] = []
        self.listeners: list = []

    def send(self, message: str) -> None:
        self.sent.append(json.loads(message))

    def on(self, event: str, fn) -> None:
        assert event == "message"
        self.listeners.append(fn)

    def page_says(self, **report) -> None:
        for fn in self.listeners:
            fn(json.dumps({"type": "googlive-media", **report}))


def peer_for(h: GeminiHandler, key: str = "", owner: str = "owner") -> SimulatedPeer:
    peer = SimulatedPeer(h, [owner, key, "", "", "", ""])
    return peer


async def feed_video(h: GeminiHandler, stop: asyncio.Event, colour=(0, 0, 255)) -> None:
    frame = np.zeros((240, 320, 3), np.uint8)
    frame[:] = colour
    while not stop.is_set():
        await h.video_receive(frame.copy())
        await asyncio.sleep(0.05)


async def quiet_for(srv, key: str, seconds: float) -> tuple[int, int]:
    before = getattr(srv.stats, key)
    await asyncio.sleep(seconds)  # watching for something that must not happen
    return before, getattr(srv.stats, key)


async def test_mute_and_camera_off_send_nothing_and_the_model_is_told(server):
    h = GeminiHandler(Settings(video_interval_s=0.2), offline_endpoint(server))
    ch = FakeChannel()
    h.set_channel(ch)
    h.set_channel(ch)  # FastRTC may hand the same channel twice: one listener only
    assert len(ch.listeners) == 1
    peer = peer_for(h)
    await peer.start()
    stop = asyncio.Event()
    video = asyncio.create_task(feed_video(h, stop))
    try:
        await until(lambda: is_live(h))
        await until(lambda: server.stats.audio_bytes_received > 8000)
        await until(lambda: server.stats.video_frames_received >= 2, timeout=5)
        ch.page_says(seq=1, mic="off", camera="on")
        assert ch.sent[-1] == {"type": MEDIA_ACK, "seq": 1}
        assert h.conv.media.mic == "off" and 'data-mic="off"' in _status(h)
        await asyncio.sleep(0.3)  # a chunk already queued may still go out
        before, after = await quiet_for(server, "audio_bytes_received", 1.5)
        assert after == before
        ch.page_says(seq=1, mic="on")  # a repeat of an old report changes nothing
        assert h.conv.media.mic == "off" and ch.sent[-1] == {"type": MEDIA_ACK, "seq": 1}
        ch.page_says(seq=2, mic="on", camera="off")
        assert h.latest_frame is None  # no stale frame for take_picture or the model
        await asyncio.sleep(0.5)
        before, after = await quiet_for(server, "video_frames_received", 1.5)
        assert after == before and h.video_ignored > 10
        await until(lambda: server.stats.audio_bytes_received > after)  # the mic is back
        await until(lambda: NOTE_CAMERA_OFF in server.stats.texts_received)
        assert any(c.kind == "note" and "Camera off" in c.title for c in h.conv.cards)
        assert not any("camera" in ln.text.lower() for ln in h.conv.lines if ln.role is Role.USER)
        ch.page_says(seq=3, mic="on", camera="off", screen=True)  # a screen instead
        await until(lambda: NOTE_SCREEN_ON in server.stats.texts_received)
        n = server.stats.video_frames_received
        await until(lambda: server.stats.video_frames_received > n, timeout=5)
    finally:
        stop.set()
        await video
        await peer.close()


def _status(h: GeminiHandler) -> str:
    from googlive.call.view import status_html

    return status_html(h.conv)


async def test_typed_text_is_refused_with_a_reason_until_the_call_is_live(server):
    server.config.setup_delay_s = 1.0
    h = GeminiHandler(Settings(), offline_endpoint(server))
    peer = peer_for(h)
    await peer.start()
    try:
        await until(lambda: h.session is not None)
        reason = h.send_text("hello too early")
        assert reason and "Still connecting" in reason
        assert not h.conv.lines and not server.stats.texts_received
        await until(lambda: is_live(h), timeout=10)
        assert h.send_text("hello now") is None
        await until(lambda: "hello now" in server.stats.texts_received)
    finally:
        await peer.close()
    assert "ended" in (h.send_text("after the end") or "")


async def test_the_offline_demo_ignores_a_typed_key(server):
    # Under --offline the demo server holds its own key ("k"): a typed key sent there would
    # be rejected ("Gemini rejected the API key"), and a real key must not go there at all.
    h = GeminiHandler(Settings(offline=True), offline_endpoint(server))
    peer = peer_for(h, key="AIza-a-real-looking-key")
    await peer.start()
    try:
        await until(lambda: is_live(h))
        assert h.live_key == Secret(None) and h.choice.offline
        assert IGNORED_KEY_NOTE in h.conv.panels["key"]
        # the page's status follows the session's state through the event pump
        await until(lambda: h.conv.status.kind == "live")
    finally:
        await peer.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_a_backend_never_reached_fails_after_a_few_attempts(server):
    # Nothing listens there: every attempt fails at once, as without a network.
    endpoint = Endpoint(f"https://127.0.0.1:{free_port()}", server.ca_cert, Secret("k"), False)
    h = GeminiHandler(Settings(api_key=Secret("k")), endpoint)
    ch = FakeChannel()
    h.set_channel(ch)
    peer = peer_for(h)
    await peer.start()
    seen: set[str] = set()

    def failed() -> bool:
        seen.add(h.conv.status.message)
        return h.conv.status.kind == "failed"

    try:
        t0 = time.monotonic()
        await until(failed, timeout=20)
        assert time.monotonic() - t0 < 15
        msg = h.conv.status.message
        assert msg.startswith("Can't reach Gemini — check the connection"), msg
        assert any("attempt 2 of 3" in m for m in seen), seen
        assert not any(m.startswith("Reconnecting") for m in seen), seen  # never live
        assert {"type": "update_connection", "data": "closed"} in ch.sent  # the page hangs up
        await until(lambda: h.session._main is None)
        assert "failed" in (h.send_text("anyone there?") or "")
    finally:
        await peer.close()
    assert h.conv.status.kind == "failed"  # closing did not paper over the reason


async def test_a_rejected_key_shows_next_to_the_key_field(server):
    # An app pointed at a Live server (--live-url) sends a typed key there; this one is wrong.
    endpoint = Endpoint(server.url, server.ca_cert, Secret("k"), offline=False)
    h = GeminiHandler(Settings(base_url=server.url), endpoint)
    ch = FakeChannel()
    h.set_channel(ch)
    peer = peer_for(h, key="not-the-key")
    await peer.start()
    try:
        await until(lambda: h.conv.status.kind == "failed", timeout=15)
        assert "API key" in h.conv.panels["key"] and "key-error" in h.conv.panels["key"]
        assert "Call settings" in h.conv.status.message
        assert {"type": "update_connection", "data": "closed"} in ch.sent
    finally:
        await peer.close()


async def test_tool_calls_show_as_cards_and_the_call_is_registered(server, tmp_path):
    services: dict = {}
    h = GeminiHandler(
        Settings(data_dir=tmp_path),
        offline_endpoint(server),
        features=(archive_factory,),
        services=services,
    )
    peer = peer_for(h, owner="alice")
    await peer.start()
    try:
        await until(lambda: is_live(h))
        rec = registry(services).get("peer-id", "alice")
        assert rec is not None and rec.running and registry(services).get("peer-id", "bob") is None
        h.handle_event(ToolCall("c1", "no_such_tool", {"reason": "<b>bold</b>"}))
        card = h.conv.cards[-1]
        assert (card.kind, card.name, card.state) == ("tool", "no_such_tool", "running")
        await until(lambda: card.state == "error")
        assert "Unknown tool" in card.detail and card.done_s is not None
    finally:
        await peer.close()
    assert not rec.running and rec.closed.is_set()
    assert rec.archive_path is not None and (rec.archive_path / "meta.json").is_file()
    assert rec.conv.status.kind == "ended"
