"""Session recording, end to end: real PyAV files written by SessionRecorder, decoded back."""

from __future__ import annotations

import shutil
from pathlib import Path

import av
import numpy as np
import pytest

from googlive.features.recording.recorder import RecordingStats, SessionRecorder
from tests.recorder_child import MODEL_TONE_HZ, USER_TONE_HZ, feed, session_events

R = 48000
AV_TOLERANCE_S = 0.040


# -- decoding helpers -------------------------------------------------------------------


def decode_audio(path: Path) -> np.ndarray:
    """The file's audio as float mono at 48 kHz, sample 0 at t=0 (placed by packet times)."""
    with av.open(str(path)) as c:
        chunks = []
        for frame in c.decode(audio=0):
            assert frame.sample_rate == R
            start = round(float(frame.pts * frame.time_base) * R)
            chunks.append((start, frame.to_ndarray().reshape(-1).astype(np.float64)))
    end = max(s + x.size for s, x in chunks)
    y = np.zeros(end)
    for s, x in chunks:
        y[s : s + x.size] = x
    return y


def decode_video(path: Path) -> list[tuple[float, float, tuple[int, int]]]:
    """(time s, mean luma 0..255, (width, height)) of every decoded video frame."""
    with av.open(str(path)) as c:
        return [
            (float(f.time), float(f.to_ndarray(format="gray").mean()), (f.width, f.height))
            for f in c.decode(video=0)
        ]


def envelope(y: np.ndarray, hz: float) -> np.ndarray:
    """Amplitude of the `hz` component, in a centred 2 ms window (no lag; rejects tones
    1 kHz away)."""
    z = y * np.exp(-2j * np.pi * hz * np.arange(y.size) / R)
    box = np.ones(96) / 96
    return 2 * np.abs(np.convolve(z, box, mode="same"))


def onsets(env: np.ndarray, threshold: float) -> list[float]:
    """Times (s) where `env` rises through `threshold`."""
    above = env > threshold
    return [i / R for i in np.flatnonzero(above[1:] & ~above[:-1]) + 1]


def outside(
    env: np.ndarray, spans: list[tuple[float, float]], edges: list[float], margin: float = 0.006
) -> np.ndarray:
    """`env` with the given spans and the instants around every tone edge left out."""
    keep = np.ones(env.size, dtype=bool)
    for a, b in [*spans, *((e, e) for e in edges)]:
        keep[max(0, round((a - margin) * R)) : round((b + margin) * R)] = False
    return env[keep]


def flash_onsets(frames: list[tuple[float, float, tuple[int, int]]]) -> list[float]:
    """Times of the first white frame of each run of white frames."""
    result, prev = [], False
    for t, luma, _ in frames:
        white = luma > 128
        if white and not prev:
            result.append(t)
        prev = white
    return result


def record(path: Path, events, **kwargs) -> RecordingStats:
    now = [0.0]
    rec = SessionRecorder(path, clock=lambda: now[0], **kwargs)
    rec.start()
    feed(rec, events, now)
    return rec.close()


# -- a full session with beeps, flashes and a barge-in ----------------------------------

USER_BEEP = (1.0, 1.3)
MODEL_BEEP = (2.5, 2.8)
CUT_BEEP = (3.5, 3.9)  # planned: the model's turn is cut at 3.62, mid-beep
CUT_AT = 3.62


@pytest.fixture(scope="module", params=[15, 10])
def session_file(request, tmp_path_factory) -> tuple[Path, RecordingStats, int]:
    fps = request.param
    path = tmp_path_factory.mktemp("rec") / f"session{fps}.webm"
    events = session_events(
        4.4,
        user_beeps=[USER_BEEP],
        model_turns=[(2.0, 3.0), (3.4, CUT_AT)],
        model_beeps=[MODEL_BEEP, CUT_BEEP],
        flashes=[(1.0, 1.2), (2.5, 2.7)],
        video_size=(640, 480),
        in_fps=30,
    )
    stats = record(path, events, video=True, fps=fps, size=(320, 240))
    return path, stats, fps


def test_both_voices_are_heard_at_their_times(session_file) -> None:
    """The user's 1 kHz beep starts at 1.0 s and the model's 2 kHz beep at 2.5 s (±3 ms)."""
    path, _, _ = session_file
    y = decode_audio(path)
    user, model = envelope(y, USER_TONE_HZ), envelope(y, MODEL_TONE_HZ)
    assert onsets(user, 0.5 * user.max()) == pytest.approx([USER_BEEP[0]], abs=0.003)
    assert onsets(model, 0.5 * model.max()) == pytest.approx(
        [MODEL_BEEP[0], CUT_BEEP[0]], abs=0.003
    )
    # each voice is there for its whole beep and nowhere else (a gated tone splatters
    # across bands for a few ms at its edges: those instants are left out)
    edges = [*USER_BEEP, *MODEL_BEEP, CUT_BEEP[0], CUT_AT]
    seg = lambda env, a, b: env[round(a * R) : round(b * R)]  # noqa: E731
    assert seg(user, USER_BEEP[0] + 0.01, USER_BEEP[1] - 0.01).min() > 0.5 * user.max()
    assert seg(model, MODEL_BEEP[0] + 0.01, MODEL_BEEP[1] - 0.01).min() > 0.5 * model.max()
    assert outside(user, [USER_BEEP], edges).max() < 0.05 * user.max()
    assert outside(model, [MODEL_BEEP, (CUT_BEEP[0], CUT_AT)], edges).max() < 0.05 * model.max()


def test_a_barge_in_cut_is_recorded_as_a_cut(session_file) -> None:
    """The model's second beep stops where playback stopped (3.62 s), not where it was due
    to end (3.9 s)."""
    path, _, _ = session_file
    model = envelope(decode_audio(path), MODEL_TONE_HZ)
    peak = model.max()
    assert model[round((CUT_BEEP[0] + 0.01) * R) : round((CUT_AT - 0.01) * R)].min() > 0.5 * peak
    assert model[round((CUT_AT + 0.01) * R) : round(CUT_BEEP[1] * R)].max() < 0.1 * peak
    fall = [t for t in onsets(-model, -0.5 * peak) if t > CUT_BEEP[0]]
    assert fall == pytest.approx([CUT_AT], abs=0.003)


def test_video_lines_up_with_audio_within_40ms(session_file) -> None:
    """Each flash's first white frame is within 40 ms of its beep's onset in the audio."""
    path, _, fps = session_file
    y = decode_audio(path)
    audio = [
        onsets(envelope(y, USER_TONE_HZ), 0.5 * envelope(y, USER_TONE_HZ).max())[0],
        onsets(envelope(y, MODEL_TONE_HZ), 0.5 * envelope(y, MODEL_TONE_HZ).max())[0],
    ]
    video = flash_onsets(decode_video(path))
    assert len(video) == 2
    offsets = [v - a for v, a in zip(video, audio, strict=True)]
    assert max(abs(o) for o in offsets) <= AV_TOLERANCE_S, offsets
    assert max(abs(o) for o in offsets) <= 0.5 / fps + 0.003  # the grid is the only error


def test_video_is_constant_rate_at_the_output_size(session_file) -> None:
    """Every slot 0..end has exactly one frame at the recorder's size; nothing dropped."""
    path, stats, fps = session_file
    frames = decode_video(path)
    times = np.array([t for t, _, _ in frames])
    assert np.allclose(np.diff(times), 1 / fps, atol=0.0015)
    assert times[0] == 0.0
    assert {size for _, _, size in frames} == {(320, 240)}
    # the last camera frame (4.367 s) may claim the slot at 4.4 s, just past the audio
    assert len(frames) == stats.video_frames_written
    assert round(4.4 * fps) <= len(frames) <= round(4.4 * fps) + 1
    assert stats.video_frames_dropped == stats.video_frames_late == 0
    assert stats.audio_dropped == stats.audio_late_samples == 0


def test_a_finished_file_has_duration_and_an_index(session_file) -> None:
    """close() writes the trailer: the container knows its duration; stats match the file."""
    path, stats, fps = session_file
    with av.open(str(path)) as c:
        assert c.duration is not None
        assert 4.4 - 0.01 <= c.duration / 1e6 <= 4.4 + 1 / fps + 0.01
        assert [s.type for s in c.streams] == ["audio", "video"]
        assert c.streams.audio[0].codec_context.name == "opus"
        assert c.streams.video[0].codec_context.name == "vp8"
    assert stats.bytes_written == path.stat().st_size
    assert 4.4 - 0.01 <= stats.duration_s <= 4.4 + 1 / fps + 0.01
    assert stats.encode_cpu_s > 0 and stats.error is None


# -- variants -----------------------------------------------------------------------------


def test_audio_only_recording_has_one_opus_stream(tmp_path: Path) -> None:
    """video=False: one audio stream, camera frames ignored, the beep in place."""
    path = tmp_path / "a.webm"
    events = session_events(2.0, user_beeps=[(1.0, 1.2)], flashes=[(1.0, 1.2)])
    stats = record(path, events, video=False)
    with av.open(str(path)) as c:
        assert [s.type for s in c.streams] == ["audio"]
    user = envelope(decode_audio(path), USER_TONE_HZ)
    assert onsets(user, 0.5 * user.max()) == pytest.approx([1.0], abs=0.003)
    assert stats.video_frames_in == stats.video_frames_written == 0


def test_video_without_camera_frames_is_black_and_audio_is_intact(tmp_path: Path) -> None:
    """video=True but no camera: a black video track for the whole audio, audio unharmed."""
    path = tmp_path / "nocam.webm"
    events = session_events(2.0, user_beeps=[(1.0, 1.2)], video_size=None)
    stats = record(path, events, video=True, fps=15, size=(160, 120))
    frames = decode_video(path)
    assert len(frames) == 30 and max(luma for _, luma, _ in frames) < 20
    user = envelope(decode_audio(path), USER_TONE_HZ)
    assert onsets(user, 0.5 * user.max()) == pytest.approx([1.0], abs=0.003)
    assert stats.video_frames_repeated == 30


def test_odd_sizes_grey_alpha_and_size_changes_are_fitted(tmp_path: Path) -> None:
    """Frames of any shape become output-size frames; empty or non-uint8 ones are counted."""
    path = tmp_path / "odd.webm"
    now = [0.0]
    rec = SessionRecorder(path, fps=10, size=(161, 121), clock=lambda: now[0])  # odd -> 160x120
    rec.start()
    shapes = [
        np.full((479, 641, 3), 200, np.uint8),
        np.full((3, 5), 200, np.uint8),  # tiny grey
        np.full((480, 200, 4), 200, np.uint8),  # portrait with alpha
        np.full((720, 1280, 1), 200, np.uint8),
        np.full((1, 1, 3), 200, np.uint8),
    ]
    bad = [
        np.zeros((0, 0, 3), np.uint8),
        np.zeros((10, 10, 3), np.float32),
        np.zeros((4, 4, 2), np.uint8),
    ]
    for i in range(20):
        t = now[0] = i * 0.1
        rec.add_user_audio(np.zeros(4800, np.int16), R, t)
        rec.add_video(shapes[i % len(shapes)], t)
        if i < len(bad):
            rec.add_video(bad[i], t + 0.05)
    rec.add_video(shapes[0], float("nan"))
    stats = rec.close()
    assert stats.video_frames_invalid == len(bad) + 1
    frames = decode_video(path)
    assert {size for _, _, size in frames} == {(160, 120)}
    assert len(frames) == 20
    # the picture is in the middle of every frame (scaled, padded, never stretched away)
    assert min(luma for _, luma, _ in frames) > 30


def test_a_full_queue_drops_video_first_and_counts_every_drop(tmp_path: Path) -> None:
    """With the writer not keeping up, camera frames are refused long before audio is."""
    path = tmp_path / "q.webm"
    rec = SessionRecorder(path, fps=15, size=(160, 120), max_queue=20, max_video_queue=2)
    img = np.zeros((120, 160, 3), np.uint8)
    for i in range(30):  # the writer is not started: nothing leaves the queue
        rec.add_user_audio(np.zeros(960, np.int16), R, i * 0.02)
        rec.add_video(img, i / 15)
    stats = rec.stats
    # 29 frames became final (the newest is held back); 2 fit in the video queue
    assert stats.video_frames_dropped == 27
    # 18 audio chunks fit beside the 2 frames; the rest were refused and counted
    assert stats.audio_dropped == 12
    rec.start()
    final = rec.close()
    assert final.audio_samples >= 18 * 960 and final.error is None


def test_video_is_refused_while_audio_is_backed_up(tmp_path: Path) -> None:
    """Once the queue is half full of audio, frames are dropped though the video queue is free."""
    rec = SessionRecorder(tmp_path / "b.webm", max_queue=20, max_video_queue=8)
    for i in range(10):
        rec.add_user_audio(np.zeros(960, np.int16), R, i * 0.02)
    rec.add_video(np.zeros((8, 8, 3), np.uint8), 0.0)
    rec.add_video(np.zeros((8, 8, 3), np.uint8), 0.5)  # makes the first final: refused
    assert rec.stats.video_frames_dropped == 1 and rec.stats.audio_dropped == 0
    rec.close()


def test_close_is_idempotent_and_later_input_is_ignored(tmp_path: Path) -> None:
    """A second close returns the same stats; add_* after close do nothing and don't raise."""
    path = tmp_path / "c.webm"
    rec = SessionRecorder(path, video=False)
    rec.start()
    rec.add_user_audio(np.zeros(960, np.int16), R, 0.0)
    first = rec.close()
    rec.add_user_audio(np.zeros(960, np.int16), R, 0.02)
    rec.add_video(np.zeros((8, 8, 3), np.uint8), 0.0)
    assert rec.close() is first
    assert first.audio_samples == 960 and path.exists()
    never = SessionRecorder(tmp_path / "never.webm")
    assert never.close().bytes_written == 0
    assert not (tmp_path / "never.webm").exists()


def test_a_writer_error_is_reported_not_raised(tmp_path: Path) -> None:
    """An unwritable path stops the writer with an error in stats; callers are unaffected."""
    rec = SessionRecorder(tmp_path / "missing" / "x.webm")
    rec.start()
    rec.add_user_audio(np.zeros(960, np.int16), R, 0.0)
    assert rec.wait_idle(10.0)
    rec.add_user_audio(np.zeros(960, np.int16), R, 0.02)
    stats = rec.close()
    assert stats.error is not None and stats.audio_samples == 0


def test_the_file_is_playable_while_still_being_written(tmp_path: Path) -> None:
    """A copy taken mid-recording (as a crash would leave it) decodes up to recent audio."""
    path = tmp_path / "live.webm"
    now = [0.0]
    rec = SessionRecorder(path, fps=15, size=(160, 120), clock=lambda: now[0])
    rec.start()
    feed(
        rec,
        session_events(
            3.0, user_beeps=[(1.0, 1.2)], model_turns=[(0.0, 3.0)], video_size=(160, 120)
        ),
        now,
    )
    rec.wait_idle(10.0)
    snapshot = tmp_path / "snapshot.webm"
    shutil.copy(path, snapshot)
    assert rec.stats.bytes_written > 0
    y = decode_audio(snapshot)
    frames = decode_video(snapshot)
    rec.close()
    # lost at most: the open cluster (250 ms) and the frame not yet final
    assert y.size / R >= 3.0 - 0.35
    assert frames[-1][0] >= 3.0 - 0.4
    user = envelope(y, USER_TONE_HZ)
    assert onsets(user, 0.5 * user.max()) == pytest.approx([1.0], abs=0.003)


def test_mono_input_shapes_and_float_audio_are_accepted(tmp_path: Path) -> None:
    """(1, N) int16 as fastrtc gives it, (N,) and float in [-1, 1] all record; junk is counted."""
    path = tmp_path / "shapes.webm"
    now = [0.0]
    rec = SessionRecorder(path, video=False, clock=lambda: now[0])
    rec.start()
    tone = np.sin(2 * np.pi * 1000 * np.arange(960) / R)
    for i in range(60):
        t = now[0] = i * 0.02
        x = [(tone * 8000).astype(np.int16)[None, :], (tone * 8000).astype(np.int16), tone * 0.25][
            i % 3
        ]
        rec.add_user_audio(x, R, t)
    rec.add_user_audio(np.zeros(0, np.int16), R, 1.2)
    rec.add_user_audio(np.array(["a"]), R, 1.2)
    rec.add_user_audio(np.zeros(960, np.int16), 0, 1.2)
    rec.add_user_audio(np.zeros(960, np.int16), R, float("inf"))
    stats = rec.close()
    assert stats.audio_invalid == 4
    env = envelope(decode_audio(path), USER_TONE_HZ)
    assert env[round(0.05 * R) : round(1.15 * R)].min() > 0.15
