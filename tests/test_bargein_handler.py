"""Barge-in end to end at the handler: SimulatedPeer (as FastRTC drives it) against the local
Live server, and the handler's event path fed the server's event orders directly."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

from googlive.config import Settings
from googlive.fakelive import FakeLiveConfig, FakeLiveServer
from googlive.features.api import Feature
from googlive.handler import OUT_RATE, GeminiHandler
from googlive.live.events import AudioOut, Interrupted, Role, TurnComplete
from googlive.testing.peersim import SimulatedPeer
from tests.util import is_live, offline_endpoint, quiet, talk, until

# Timing-sensitive (frames, milliseconds): run in the serial worker, never beside a browser test.
pytestmark = pytest.mark.serial

INPUTS = ["owner", "", "", "", "", ""]


class SentAudio(Feature):
    """Keeps every AudioOut the handler was given, per turn (what the server sent)."""

    name = "sent-audio"

    def __init__(self, call: Any, links: Any) -> None:
        super().__init__(call)
        self.by_turn: dict[int, list[np.ndarray]] = {}

    def on_event(self, ev: Any) -> None:
        if isinstance(ev, AudioOut):
            self.by_turn.setdefault(ev.turn, []).append(np.frombuffer(ev.pcm, "<i2"))

    def of(self, turn: int) -> np.ndarray:
        return np.concatenate(self.by_turn.get(turn, [np.zeros(0, np.int16)]))


class TurnPeer(SimulatedPeer):
    """A SimulatedPeer that knows the turn of every frame it plays."""

    def __init__(self, handler: GeminiHandler, inputs: list[Any]) -> None:
        super().__init__(handler, inputs)
        self.turn_of: dict[int, int | None] = {}

    def emitted(self, frame: np.ndarray) -> None:
        self.turn_of[id(frame)] = self.handler.playback.popped_turn

    def heard_of(self, turn: int) -> list[Any]:
        return [x for x in self.stats.heard if self.turn_of.get(id(x.samples)) == turn]


def handler(srv: FakeLiveServer) -> GeminiHandler:
    return GeminiHandler(Settings(), offline_endpoint(srv), features=[SentAudio])


@pytest.fixture
async def deaf_server():
    """A server that hears no speech at all: what a polite model (gemini-3.8-live) does with a
    backchannel — it neither interrupts nor answers, the same answer goes on."""
    async with FakeLiveServer(api_key="k", config=FakeLiveConfig(vad_threshold=1e9)) as srv:
        yield srv


async def _story(peer: TurnPeer) -> int:
    h = peer.handler
    await until(lambda: is_live(h))
    h.send_text("Tell me a long story")
    await until(lambda: peer.heard_after(0) > 1.0, timeout=15)
    turn = h.playback.popped_turn
    assert turn is not None
    return turn


def cough(seconds: float = 0.3) -> np.ndarray:
    """A cough: a loud noise burst with a fast attack and a decay (48 kHz int16)."""
    n = int(seconds * 48000)
    env = np.exp(-np.arange(n) / (0.08 * 48000))
    x = np.random.default_rng(5).normal(0, 0.3, n) * env
    return (np.clip(x, -1, 1) * 32767).astype(np.int16)


@pytest.mark.parametrize("sound", ["mm-hm", "cough"])
async def test_backchannel_pauses_and_the_answer_goes_on_whole(server, sound):
    """gemini-3.8-live (the local server's default profile: polite interruption): a 250 ms
    "mm-hm" or a cough over the story is silent within a frame or two of the onset, resumed
    <= 400 ms after the sound ended, and every sample the server sent is heard (the backup
    repeats a short stretch once), in order; the transcript line stays whole."""
    h = handler(server)
    peer = TurnPeer(h, INPUTS)
    await peer.start()
    try:
        story = await _story(peer)
        x = talk(0.25) if sound == "mm-hm" else cough(0.3)
        onset = await peer.say(x)
        await peer.said()
        sound_end = onset + x.size / 48000
        await until(lambda: h.policy.resumes >= 1, timeout=3)
        assert (
            peer.heard_after(onset + 0.06) - peer.heard_after(sound_end) <= 0.021
        )  # silent while paused
        resumed_at = await until(
            lambda: next(
                (x.t for x in peer.heard_of(story) if x.t > sound_end and x.rms >= 30), None
            ),
            timeout=2,
        )
        assert resumed_at - sound_end <= 0.4, resumed_at - sound_end
        await until(
            lambda: not h.playback.playing and h.heard_turn(time.monotonic()) is None, timeout=15
        )
        await until(lambda: not peer.queued_audio(), timeout=2)
        assert [c.kind for c in h.playback_log] == ["paused", "resumed"]
        change = h.playback_log[1]
        sent = h.feature_of(SentAudio).of(story)  # type: ignore[union-attr]
        heard = np.concatenate([x.samples for x in peer.heard_of(story)])
        replay = int(round(change.replay_s * OUT_RATE))
        assert 0 < replay <= int(0.4 * OUT_RATE)
        # heard == sent with one stretch of `replay` samples played twice (then end padding)
        cut = int(np.flatnonzero(heard[: sent.size] != sent)[0])
        assert np.array_equal(heard[:cut], sent[:cut])
        assert np.array_equal(heard[cut : sent.size + replay], sent[cut - replay :])
        assert (
            heard.size >= sent.size + replay
        )  # nothing lost: 100 % of the samples, once more the replay
        line = next(ln for ln in h.conv.lines if ln.role is Role.MODEL and ln.turn == story)
        assert not line.interrupted and server.stats.interrupted_sent == 0
    finally:
        await peer.close()


@pytest.mark.parametrize(
    ("model", "talk_s", "paused_max_s"),
    [("gemini-3.8-live", 1.5, 1.3), ("gemini-3.1-flash-live-preview", 0.25, 0.5)],
)
async def test_a_real_interruption_is_dropped_and_marked(server, model, talk_s, paused_max_s):
    """3.8: speech past its backchannel limit is interrupted by the server after a delay; 3.1
    interrupts at once, even a short sound. Either way: silent from the onset, the paused
    answer dropped (reason "server"), the line marked, nothing of the rest heard."""
    h = handler(server)
    peer = TurnPeer(h, ["owner", "", "", model, "", ""])
    await peer.start()
    try:
        story = await _story(peer)
        onset = await peer.say(talk(talk_s))
        await until(lambda: h.policy.drops.get("server") == 1, timeout=5)
        await peer.said()
        await peer.say(quiet(0.5))
        await peer.said()
        story_heard = [x for x in peer.heard_of(story) if x.t >= onset + 0.06 and x.rms >= 30]
        assert story_heard == []
        kinds = [(c.kind, c.reason) for c in h.playback_log if c.turn == story]
        assert kinds == [("paused", ""), ("dropped", "server")], kinds
        assert h.playback_log[1].paused_s is not None and h.playback_log[1].paused_s <= paused_max_s
        await until(lambda: any(ln.interrupted for ln in h.conv.lines if ln.turn == story))
    finally:
        await peer.close()


async def test_talking_on_over_a_deaf_server_drops_at_the_limit(deaf_server):
    """No `interrupted` ever comes, but the user keeps talking: dropped at the talk limit,
    marked interrupted, nothing of the rest heard."""
    h = handler(deaf_server)
    peer = TurnPeer(h, INPUTS)
    await peer.start()
    try:
        story = await _story(peer)
        onset = await peer.say(talk(2.6))
        await until(lambda: h.policy.drops.get("talk_limit") == 1, timeout=5)
        await peer.said()
        await peer.say(quiet(0.6))
        await peer.said()
        assert peer.heard_after(onset + 0.06) <= 0.021
        assert [c.kind for c in h.playback_log] == ["paused", "dropped"]
        assert h.playback_log[1].reason == "talk_limit"
        assert h.playback_log[1].paused_s == pytest.approx(2.0, abs=0.1)
        assert any(
            ln.interrupted for ln in h.conv.lines if ln.role is Role.MODEL and ln.turn == story
        )
    finally:
        await peer.close()


class Channel:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, msg: str) -> None:
        self.sent.append(msg)


def _offline_handler() -> GeminiHandler:
    class _NoEndpoint:
        offline = True

    h = GeminiHandler(Settings(), _NoEndpoint())  # type: ignore[arg-type]
    h.set_channel(Channel())
    return h


def _past() -> float:
    """A start time for `_play` a few seconds before the handler's own clock (which it reads for
    `interrupted`): its frames have played out by then. A fixed number such as 1000.0 is in the
    future on a machine up for less than that (seen on a fresh one)."""
    return time.monotonic() - 5.0


def _play(h: GeminiHandler, now: float, frames: int) -> float:
    """Hand `frames` frames as WebRTC would pull them (20 ms apart); returns the new time."""
    for _ in range(frames):
        assert h.next_frame(now) is not None
        now += 0.02
    return now


def test_interrupted_after_turn_complete_drops_the_turn_still_playing_out():
    """The server can send turnComplete and then `interrupted` for the same turn; its audio is
    still playing out of the buffer: that turn stops at once and its line is marked."""
    h = _offline_handler()
    h.conv.transcript(Role.MODEL, 3, "a long answer", 0.0)
    h.handle_event(AudioOut(b"\x10\x00" * OUT_RATE * 2, turn=3))  # 2 s of audio
    h.handle_event(TurnComplete(3))
    now = _play(h, _past(), 10)
    assert h.heard_turn(now) == 3 and h.playback.buffered_s > 1.5
    h.handle_event(Interrupted(3))
    assert h.playback.buffered_samples == 0 and h.heard_turn(now) is None
    assert [c.kind for c in h.playback_log] == ["dropped"]
    assert h.playback_log[0].reason == "server" and h.playback_log[0].paused_s is None
    assert h.conv.lines[0].interrupted
    assert '"state": "dropped"' in h.channel.sent[-1]  # type: ignore[attr-defined]


def test_interrupted_for_a_turn_already_heard_whole_changes_nothing():
    """`interrupted` for a turn that played out completely: nothing was dropped, the line is
    not marked, the next turn plays."""
    h = _offline_handler()
    h.conv.transcript(Role.MODEL, 1, "short", 0.0)
    h.handle_event(AudioOut(b"\x10\x00" * 480 * 3, turn=1))
    h.handle_event(TurnComplete(1))
    now = _play(h, _past(), 3)
    now += 0.2  # played out
    h.handle_event(Interrupted(1))
    assert not h.conv.lines[0].interrupted and not h.playback_log
    h.handle_event(AudioOut(b"\x10\x00" * 480 * 4, turn=2))
    assert h.next_frame(now) is not None and h.playback.popped_turn == 2


def test_page_is_told_playing_paused_playing_idle():
    """The data-channel messages follow what the user hears."""
    h = _offline_handler()
    h.handle_event(AudioOut(b"\x00\x10" * 480 * 50, turn=1))  # -18 dBFS: no gap to back up to
    h.handle_event(TurnComplete(1))
    now = _play(h, _past(), 5)
    h.apply(h.policy.on_onset(h.mic_time_s, h.heard_turn(now)), now)
    assert h.next_frame(now) is None  # paused: nothing more handed over
    h.apply(h.policy.tick(h.mic_time_s + 1.0), now)
    while h.next_frame(now) is not None:  # resumed, then played out
        now += 0.02
    h.next_frame(now + 0.1)
    states = [m.split('"state": "')[1].split('"')[0] for m in h.channel.sent]  # type: ignore[attr-defined]
    assert states == ["playing", "paused", "playing", "idle"]
    assert h.playback.replayed_samples == 5 * 480  # all it had heard (100 ms < the 200 ms backup)


async def test_recording_holds_exactly_what_was_heard_through_a_pause_and_resume(
    deaf_server, tmp_path
):
    """Every frame the peer heard, and only those, in order, reach the recorder: the frames
    taken back at the pause are not recorded then, the replayed stretch is recorded twice
    (it was heard twice)."""
    from googlive.features.recording.feature import RecordingFeature

    class CommitLog(RecordingFeature):
        def __init__(self, call: Any, links: Any) -> None:
            super().__init__(call, decide_s=0.2, captions_every_s=0)
            self.committed: list[np.ndarray] = []

        def _commit_played(self, now: float) -> None:
            self.committed += [f for t, _, f in self.pending if t <= now]
            super()._commit_played(now)

    h = GeminiHandler(
        Settings(data_dir=tmp_path), offline_endpoint(deaf_server), features=[CommitLog]
    )
    peer = TurnPeer(h, INPUTS)
    await peer.start()
    try:
        story = await _story(peer)
        await peer.say(talk(0.25))
        await peer.said()
        await until(lambda: h.policy.resumes >= 1, timeout=3)
        await until(lambda: not h.playback.playing and not peer.queued_audio(), timeout=15)
        await peer.say(quiet(0.3))
        await peer.said()
    finally:
        await peer.close()
    rec = h.feature_of(RecordingFeature)
    assert isinstance(rec, CommitLog)
    # the recorder discarded exactly the frames the handler took back from the output queue
    assert rec.cut_frames == sum(c.withdrawn_frames for c in h.playback_log)
    heard = [x.samples for x in peer.stats.heard]
    assert len(rec.committed) == len(heard)
    assert all(np.array_equal(a, b) for a, b in zip(rec.committed, heard, strict=True))
    assert [c.kind for c in h.playback_log] == ["paused", "resumed"] and story is not None
