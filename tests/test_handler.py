"""The FastRTC handler driven like FastRTC drives it, against the local Live server."""

from __future__ import annotations

import asyncio
import time

from googlive.config import Settings
from googlive.fakelive import FakeLiveServer
from googlive.handler import GeminiHandler
from googlive.live.events import Role
from googlive.testing.peersim import SimulatedPeer
from tests.util import is_live, offline_endpoint, quiet, talk, until


def make_handler(srv: FakeLiveServer, model: str | None = None) -> GeminiHandler:
    settings = Settings() if model is None else Settings(model=model)
    return GeminiHandler(settings, offline_endpoint(srv))


async def test_barge_in_stops_model_audio_within_one_frame_of_detection(server):
    """Speaking over a long reply stops what the browser hears within ~60 ms of the onset (a
    pause); the server's `interrupted` (this profile interrupts at once) then drops the rest."""
    peer = SimulatedPeer(make_handler(server), ["owner", "", "", "", "", ""])
    await peer.start()
    h = peer.handler
    try:
        await until(lambda: is_live(h))
        h.send_text("Tell me a long story")
        await until(lambda: peer.heard_after(0) > 1.0, timeout=15)  # the story is playing
        story = h.playback.current_turn
        onset = await peer.say(talk(1.5))  # past 3.8's backchannel limit: a real interruption
        await until(lambda: h.barge_ins >= 1, timeout=2)
        await peer.said()
        heard_after_onset = peer.heard_after(onset)
        assert h.barge_ins == 1
        assert heard_after_onset <= 0.08, heard_after_onset
        # Once dropped, the rest of the story, still arriving from the server, is never played.
        await until(lambda: any(c.kind == "dropped" for c in h.playback_log), timeout=3)
        played = h.playback.played_in_turn(story)
        await peer.say(quiet(1.5))
        await peer.said()
        assert h.playback.played_in_turn(story) == played
        assert [c.kind for c in h.playback_log if c.turn == story] == ["paused", "dropped"]
        entry = h.barge_in_log[0]
        assert entry["outcome"] == "dropped" and entry["reason"] == "server", entry
        assert entry["dropped_s"] > 1.0, entry  # the paused rest, withdrawn frames included
        assert server.stats.interrupted_sent >= 1
        await until(lambda: any(ln.interrupted for ln in h.conv.lines if ln.role is Role.MODEL))
    finally:
        await peer.close()


async def test_model_audio_is_paced_with_a_small_lead(server, live_model):
    """Model audio arriving 3x faster than real time reaches the peer at real-time pace."""
    peer = SimulatedPeer(make_handler(server, live_model), ["owner", "", "", "", "", ""])
    await peer.start()
    h = peer.handler
    try:
        await until(lambda: is_live(h))
        h.send_text("tell me a long story")
        await until(lambda: peer.heard_after(0) > 1.0, timeout=15)
        lead = max(0.0, h._play_clock - time.monotonic())
        assert lead <= 0.1 + 0.02
        # The burst stays in the handler's buffer (where a barge-in can drop it), not in
        # WebRTC's queue: seconds are buffered while at most the lead was handed over.
        assert h.playback.buffered_s > 1.0
        elapsed = time.monotonic() - peer.stats.heard[0].t
        assert peer.stats.emitted_frames * 0.02 <= elapsed + 0.1 + 0.06
    finally:
        await peer.close()


async def test_two_sessions_are_isolated(server, live_model):
    """Two simultaneous connections never see each other's transcript or audio."""
    a = SimulatedPeer(make_handler(server, live_model), ["alice", "", "", "", "", ""])
    b = SimulatedPeer(make_handler(server, live_model), ["bob", "", "", "", "", ""])
    await a.start()
    await b.start()
    try:
        await until(lambda: all(is_live(p.handler) for p in (a, b)))
        a.handler.send_text("apples from alice")
        b.handler.send_text("bananas from bob")
        await until(
            lambda: all(
                any(ln.role is Role.MODEL and ln.final for ln in p.handler.conv.lines)
                for p in (a, b)
            ),
            timeout=15,
        )
        ta = " ".join(ln.text for ln in a.handler.conv.lines)
        tb = " ".join(ln.text for ln in b.handler.conv.lines)
        assert "apples" in ta and "bananas" not in ta
        assert "bananas" in tb and "apples" not in tb
        assert a.handler.session is not b.handler.session
        assert a.handler.playback is not b.handler.playback
    finally:
        await a.close()
        await b.close()


async def test_a_cut_connection_mid_reply_resumes_and_the_conversation_goes_on(server, live_model):
    """A TCP drop mid-reply, then the service's mid-session 1008: each time the status says
    'reconnecting', then 'live' on a resumed connection; the cut reply keeps its own line and
    the next typed turn is answered in a line of its own."""
    h = make_handler(server, live_model)
    peer = SimulatedPeer(h, ["owner", "", "", "", "", ""])
    await peer.start()
    try:
        await until(lambda: is_live(h))
        await until(lambda: h.session.handle, timeout=5)
        server.config.drop_after_reply_chunks = 3
        h.send_text("Tell me a long story")
        kinds: list[str] = []

        def saw(kind: str) -> bool:
            if not kinds or kinds[-1] != h.conv.status.kind:
                kinds.append(h.conv.status.kind)
            return kind in kinds

        await until(lambda: saw("reconnecting"), timeout=10, step=0.002)
        await until(
            lambda: saw("live") and is_live(h) and h.session.stats.resumes == 1,
            timeout=10,
            step=0.002,
        )
        server.config.close_1008_after_s = 0.05  # the next connection: a 1008 after its setup
        server.drop_connections()
        await until(lambda: server.stats.closes_1008_injected == 1, timeout=10)
        await until(lambda: is_live(h) and h.session.stats.resumes == 3, timeout=10)
        h.send_text("still there")
        await until(
            lambda: any(
                ln.role is Role.MODEL and ln.final and "still there" in ln.text
                for ln in h.conv.lines
            ),
            timeout=15,
        )
        models = [ln.text for ln in h.conv.lines if ln.role is Role.MODEL]
        assert sum("long story" in t for t in models) <= 1 and all(
            t.count("Offline demo") <= 1 for t in models
        ), models
        assert h.conv.status.kind == "live" and h.session.stats.failures  # recoverable, shown, gone
    finally:
        await peer.close()


async def test_shutdown_is_idempotent_and_leaves_no_tasks(server):
    """shutdown() twice, concurrently, cancels and awaits every task it made."""
    peer = SimulatedPeer(make_handler(server), ["o", "", "", "", "", ""])
    await peer.start()
    h = peer.handler
    await until(lambda: is_live(h))
    before = {t for t in asyncio.all_tasks() if t.get_name().startswith(("handler-", "live-"))}
    assert before
    await asyncio.gather(h.shutdown(), h.shutdown())
    await peer.close()
    left = [
        t
        for t in asyncio.all_tasks()
        if t.get_name().startswith(("handler-", "live-")) and not t.done()
    ]
    assert left == []
    assert server.stats.open_connections == 0 or await until(
        lambda: server.stats.open_connections == 0
    )


async def test_key_typed_in_the_offline_demo_switches_to_gemini(server):
    """With no server key the app is the offline demo; a visitor's own key means real Gemini."""
    endpoint = offline_endpoint(server)
    h = GeminiHandler(Settings(), endpoint)
    peer = SimulatedPeer(h, ["owner", "AIza-visitor-key", "", "", "", ""], mic_always_on=False)
    await peer.start()
    try:
        await until(lambda: h.session is not None)
        assert h.live_endpoint.base_url is None and not h.live_endpoint.offline
        assert h.live_endpoint.api_key.get() == "AIza-visitor-key"
        assert not h.conv.offline
        assert "AIza" not in repr(h.live_endpoint)
    finally:
        await peer.close()


async def test_time_limit_is_announced_in_the_status(server):
    """Reaching the session time limit says so in the status line."""
    endpoint = offline_endpoint(server)
    h = GeminiHandler(Settings(session_time_limit_s=2, video_interval_s=0.2), endpoint)
    peer = SimulatedPeer(h, ["owner", "", "", "", "", ""])
    await peer.start()
    try:
        await until(lambda: h.conv.status.kind == "ended", timeout=6)
        assert "Time limit" in h.conv.status.message
    finally:
        await peer.close()
