"""Metrics through the real handler, a simulated FastRTC peer and the local Live server."""

from __future__ import annotations

import json
import statistics
import time

import numpy as np
import pytest

from googlive.config import Settings
from googlive.fakelive import FakeLiveConfig, FakeLiveServer
from googlive.features.metrics.feature import MetricsFeature
from googlive.features.metrics.ui import usage_html
from googlive.features.metrics.usage import PriceTable
from googlive.handler import GeminiHandler
from googlive.live.events import SessionError, SessionState, StateChanged, ToolCall, Usage
from googlive.testing.peersim import SimulatedPeer
from tests.signals import speech_like
from tests.util import offline_endpoint, quiet, talk, until

# Timing-sensitive (frames, milliseconds): run in the serial worker, never beside a browser test.
pytestmark = pytest.mark.serial


def utterance(seconds: float, seed: int) -> np.ndarray:
    """48 kHz int16 speech-like audio at -12 dBFS whose syllable rhythm depends on `seed`."""
    return (speech_like(48000, seconds, -12.0, seed=seed) * 32767).astype(np.int16)


KEY = "test-key-9f8e7d6c5b4a39281706"


@pytest.fixture
async def server():
    async with FakeLiveServer(api_key=KEY, config=FakeLiveConfig(min_reply_s=0.5)) as srv:
        yield srv


def make_peer(
    srv: FakeLiveServer, *, visible: dict[str, bool] | None = None, owner: str = "owner"
) -> SimulatedPeer:
    prices = PriceTable.load()
    h = GeminiHandler(
        Settings(),
        offline_endpoint(srv, KEY),
        features=[lambda call, links: MetricsFeature(call, prices, visible)],
    )
    return SimulatedPeer(h, [owner, "", "", "", "", ""])


async def started(peer: SimulatedPeer) -> MetricsFeature:
    await peer.start()
    h = peer.handler
    await until(lambda: h.session is not None and h.session.state is SessionState.LIVE)
    feat = h.feature_of(MetricsFeature)
    assert isinstance(feat, MetricsFeature)
    return feat


async def reply_done(h: GeminiHandler, turn: int) -> None:
    await until(lambda: h.session.turn > turn and not h.playback.playing, timeout=15)


async def test_speech_latency_tracks_an_injected_server_delay(server):
    """End of speech → first model audio handed to the browser: a server that waits 400 ms more
    before replying measures 400 ms more (medians of 3 interleaved turns each, ± 45 ms).

    Both ends of each figure fall on 20 ms frames (the end of speech is seen at a received frame,
    the first audio at an emitted one), so each median is ± one frame and their difference
    ± two: 440 ms was seen in a full run (944 - 504, both exact frames). ± 45 ms is those two
    frames and 5 ms more; a delay that was not measured at all would be 0."""
    peer = make_peer(server)
    feat = await started(peer)
    h = peer.handler
    try:

        async def turn_ms(delay: float) -> float:
            server.config.reply_delay_s = delay
            n = len(feat.latency.by_turn)
            # A new utterance each turn: this server's reply plays the user's own audio back,
            # and the handler's echo guard rightly treats a repeat of what it just played
            # (same waveform, same envelope) as the model's voice coming back.
            nonlocal k
            k += 1
            await peer.say(utterance(0.6, seed=k))
            await peer.say(quiet(0.1))
            await until(lambda: len(feat.latency.by_turn) > n, timeout=10)
            lat = feat.latency.recent[-1]
            assert lat.source == "speech"
            await reply_done(h, lat.turn)
            return lat.ms

        k = 0

        # Interleaved, so that any slow drift of the session affects both alike.
        base, slow = [], []
        for _ in range(3):
            base.append(await turn_ms(0.0))
            slow.append(await turn_ms(0.4))
        diff = statistics.median(slow) - statistics.median(base)
        print("latency ms baseline", [round(x) for x in base], "delayed", [round(x) for x in slow])
        assert 355 <= diff <= 445, (base, slow)
        assert min(base) > 0
        # Shown next to the model's line in the transcript.
        await until(lambda: sum(ln.latency_ms is not None for ln in h.conv.lines) >= 6)
        assert h.barge_ins == 0
    finally:
        await peer.close()


async def test_typed_latency_and_usage_totals_match_the_server(server):
    """Send → first audio, and the session's token totals equal what the server reported."""
    peer = make_peer(server)
    feat = await started(peer)
    h = peer.handler
    try:
        lat_ms = []
        for i, delay in enumerate((0.0, 0.4)):
            server.config.reply_delay_s = delay
            h.send_text(f"hello number {i}")
            await until(lambda i=i: len(feat.latency.by_turn) > i, timeout=10)
            lat = feat.latency.recent[-1]
            assert lat.source == "text"
            lat_ms.append(lat.ms)
            await reply_done(h, lat.turn)
        assert 350 <= lat_ms[1] - lat_ms[0] <= 450, lat_ms
        await until(lambda: feat.usage.n_turns == server.stats.turns_completed == 2)
        st = server.stats
        expected = Usage(
            st.prompt_tokens_sent,
            st.response_tokens_sent,
            st.prompt_tokens_sent + st.response_tokens_sent,
        )
        assert st.prompt_tokens_sent > 0 and st.response_tokens_sent > 0

        def counts(u: Usage) -> tuple[int, int, int]:
            return u.prompt_tokens, u.response_tokens, u.total_tokens

        assert counts(feat.usage.total) == counts(expected)
        assert counts(h.session.stats.usage) == counts(expected)
        # The panel shows the session total; the offline demo is free, so no cost estimate ...
        await until(
            lambda: (
                f'data-session-tokens="{expected.total_tokens}"'
                in (h.conv.panels.get("metrics_usage") or "")
            )
        )
        assert "$" not in h.conv.panels["metrics_usage"]
        # ... which a session on Gemini gets from the price table.
        assert "$" in usage_html(
            feat.usage.turns,
            feat.usage.total,
            h.session.stats.usage,
            feat.prices,
            h.session.config.model,
        )
        assert (
            'data-latency-ms="' in h.conv.panels["metrics_latency"]
            and "<svg" in h.conv.panels["metrics_latency"]
        )
    finally:
        await peer.close()


async def test_event_log_redacts_keys_and_never_holds_user_words(server):
    peer = make_peer(server)
    feat = await started(peer)
    h = peer.handler
    try:
        google_like = "AIzaSyD" + "x" * 32
        feat.on_event(
            SessionError(
                f"rejected key {KEY} and {google_like}; retry with key=abc123secret", True, 401
            )
        )
        feat.on_event(StateChanged(SessionState.RECONNECTING, 2, 1.5, f"token: {KEY}"))
        feat.on_event(ToolCall("call-1", "take_picture", {"note": "my secret plans"}))
        h.send_text("my private words about bananas")
        await until(
            lambda: any(
                e["kind"] == "turn" and e["msg"] == "turn complete" for e in feat.log.entries()
            )
        )
        await until(lambda: "reconnect" in (h.conv.panels.get("metrics_eventlog") or ""))
        dump = (
            json.dumps(feat.log.entries()) + feat.log.to_jsonl() + h.conv.panels["metrics_eventlog"]
        )
        for forbidden in (
            KEY,
            google_like,
            "abc123secret",
            "bananas",
            "private words",
            "secret plans",
        ):
            assert forbidden not in dump, forbidden
        kinds = {e["kind"] for e in feat.log.entries()}
        assert {"connect", "error", "reconnect", "tool", "text", "turn"} <= kinds
        err = next(e for e in feat.log.entries() if e["kind"] == "error")
        assert "[redacted]" in err["msg"] and err["code"] == 401
    finally:
        await peer.close()


async def test_meters_update_about_ten_times_a_second_only_when_shown(server):
    visible: dict[str, bool] = {}
    peer = make_peer(server, visible=visible)
    feat = await started(peer)
    h = peer.handler
    try:
        await until(lambda: feat.ticks >= 5)
        assert "metrics_meters" not in h.conv.versions  # hidden: nothing rendered, nothing sent
        visible["owner"] = True
        await until(lambda: "metrics_meters" in h.conv.versions)
        # While the user speaks, the level changes every frame: the page gets ~10 updates/s.
        await peer.say(talk(2.5))
        await until(lambda: h.user_speaking, timeout=2)
        n0, t0 = len(peer.stats.ui_updates), time.monotonic()
        v0 = h.conv.versions["metrics_meters"]
        await until(lambda: time.monotonic() - t0 >= 1.5 or not h.user_speaking, timeout=3)
        dt = time.monotonic() - t0
        sent = len(peer.stats.ui_updates) - n0
        assert h.user_speaking and dt >= 1.5
        assert sent / dt >= 9.0, (sent, dt)
        assert h.conv.versions["metrics_meters"] - v0 >= sent - 1
        assert 'data-state="user"' in h.conv.panels["metrics_meters"]
        await peer.said()
    finally:
        await peer.close()
