"""Session recording: the user's microphone and the model's voice as played, mixed into one
audio track, plus the webcam, written as one WebM file while the session runs.

Container and codecs. WebM (Matroska) with Opus audio and VP8 video:
- Chrome, Firefox and Edge play it in a `<video>` element; recent Safari plays WebM too,
  older Safari/iOS does not (MP4 with H.264/AAC would be their format, at the cost of the
  crash safety below). The PyAV wheels here carry both encoders (libopus, libvpx): no system
  FFmpeg is needed;
- Opus is what WebRTC already carries, and VP8 in "realtime" mode costs little CPU;
- Matroska is written front to back in self-contained *clusters*, so a file whose writer died
  still parses: the segment is opened with an "unknown size", and a reader stops at the last
  complete cluster. MP4 would need its index (moov) at the end, or fragmented MP4, which
  browsers play less reliably from a plain file.

Crash safety (verified by tests/test_recorder_kill.py with SIGKILL). libavformat's Matroska
muxer collects each cluster in memory and writes it when the next one starts. We open the file
with `cluster_time_limit=250` (ms) so a cluster closes every quarter second, and with
`flush_packets=1` so libavformat's I/O buffer (32 KiB by default, seconds of audio) goes to
the kernel after every packet instead of when full. Without `flush_packets` nothing reached
the disk for seconds; with the default cluster limit (5 s for a seekable file) nothing before
the first 5 s. The `live=1` muxer option is not used: it would leave the finished file without
Cues (seek index) and Duration; a finished file gets both when `close()` writes the trailer,
a killed one plays from the start without them. What a kill loses: the open cluster (up to
250 ms), the camera frame not yet final (one slot), audio the mixer holds back while it waits
for a voice that just stopped (up to `mix_window_s`, only in that moment), with the camera
off the `_VIDEO_HOLD_S` (0.5 s) by which repeated frames trail the audio (the muxer holds
audio back to the video), and whatever is still queued. Measured: killed right after 5.0 s of timeline had been written, 4.71 s of
audio and 4.73 s of video decode (94%). Data in the kernel's page cache survives a process
kill (not a power cut).

Timeline. Every input carries `t`, seconds of session time from one origin the caller picks
(the start of the session), computed from sample counts (the user's microphone samples
received, the model's samples handed to WebRTC) and from frame timestamps, never from wall
clock at the moment of the call. Audio is placed sample-accurately by `t` (see
`googlive.features.recording.mixer`); video frames land on a fixed `fps` grid at the slot nearest their
`t` (see `googlive.features.recording.video`), so the video is never more than half a frame period
(33 ms at 15 fps) from the audio, with no systematic offset.

The video track is constant-rate: a slot that no camera frame claimed repeats the previous
frame (black before the first camera frame). That is also what keeps the file growing: the
muxer interleaves streams by time and, for a VP8 stream, waits for its next packet
indefinitely, so a camera that stops would otherwise hold every later audio packet in memory.
Repeats are written up to `_VIDEO_HOLD_S` behind the audio, so a camera frame may reach the
writer up to that much later than the audio of the same moment; a later one is dropped and
counted (`video_frames_late`). With `video=False` the file has one audio track only. With
`video=True` and no camera frames at all, the video track is black and the audio is intact.

Threads. The `add_*` methods are called from the asyncio event loop: they only validate,
copy and append to a bounded queue under a lock that the writer holds only to take the whole
queue; they never encode, never wait for the writer and never touch the file. One writer thread (started by `start`, joined by `close`)
mixes, encodes and writes. If it falls behind, video goes first: a camera frame is dropped
when `max_video_queue` frames are already waiting or when the queue is half full; audio is
dropped only when the queue holds `max_queue` items (1500 chunks of 20 ms by default: 15 s
of session with both voices talking, 30 s with one). Every drop is counted in `RecordingStats`.

Size: over 400 lines: one WebM writer (a PyAV container, the audio mixer, the video slot clock)
whose parts share the container's timeline.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from googlive.features.recording.mixer import AudioMixer
from googlive.features.recording.video import (
    SlotPicker,
    black_frame,
    check_frame,
    even_size,
    fit_frame,
)

log = logging.getLogger(__name__)

_CLUSTER_MS = 250
_VIDEO_HOLD_S = 0.5
_OPUS_RATES = (8000, 12000, 16000, 24000, 48000)


@dataclass(frozen=True, slots=True)
class RecordingStats:
    """Counters of one recording; a snapshot, safe to read from any thread."""

    duration_s: float = 0.0  # timeline written so far (the longer of audio and video)
    audio_samples: int = 0  # mixed samples encoded, at the recorder's audio_rate
    audio_dropped: int = 0  # audio chunks refused because the queue was full
    audio_invalid: int = 0  # audio chunks that were empty, not numeric, or had a bad t/rate
    audio_late_samples: int = 0  # samples that arrived for audio already written
    video_frames_in: int = 0  # frames offered to add_video
    video_frames_written: int = 0  # frames encoded, repeats included
    video_frames_repeated: int = 0  # slots filled by repeating the previous frame (or black)
    video_frames_skipped: int = 0  # frames beyond the frame rate (another took their slot)
    video_frames_dropped: int = 0  # frames refused because the writer was behind
    video_frames_late: int = 0  # frames that reached the writer after their slot was written
    video_frames_invalid: int = 0  # zero-size, wrong dtype/shape, or non-finite t
    bytes_written: int = 0  # size of the file on disk
    encode_cpu_s: float = 0.0  # CPU time of the writer thread
    error: str | None = None  # why the writer stopped early, if it did


class SessionRecorder:
    """Record one session into a WebM file (Opus mixed audio, optional VP8 video).

    Call `start()` once, then the `add_*` methods from the event loop, then `close()`.
    `path`'s directory must exist. See the module docstring for timing, threads and drops.

    `video=False` records audio only. `fps` is the fixed output frame rate; `size` the output
    (width, height), rounded down to even numbers, into which every frame is fitted.
    `max_queue` bounds the queue (items); `max_video_queue` the frames in it.
    `mix_window_s`: how long (by `clock`, read when audio is added) a voice that stopped
    delivering audio still holds the mix back; see `googlive.features.recording.mixer`. `clock` is
    only replaced by code that feeds a timeline faster than real time (tests, benchmarks),
    with a clock that follows the timeline being fed.
    """

    def __init__(
        self,
        path: Path,
        *,
        video: bool = True,
        fps: int = 15,
        size: tuple[int, int] = (640, 480),
        audio_rate: int = 48000,
        max_queue: int = 1500,
        max_video_queue: int = 8,
        mix_window_s: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        audio_bitrate: int = 48_000,
        video_bitrate: int = 600_000,
    ) -> None:
        if audio_rate not in _OPUS_RATES:
            raise ValueError(f"audio_rate must be one of {_OPUS_RATES}")
        if fps <= 0 or max_queue < 2 or max_video_queue < 1:
            raise ValueError("fps must be positive, max_queue >= 2, max_video_queue >= 1")
        self.path = Path(path)
        self.video = video
        self.fps = fps
        self.size = even_size(size)
        self.audio_rate = audio_rate
        self._max_queue = max_queue
        self._max_video_queue = max_video_queue
        self._audio_bitrate = audio_bitrate
        self._video_bitrate = video_bitrate
        self._block = audio_rate // 50  # 20 ms, Opus's frame
        self._clock = clock

        # Event-loop side (guarded by _cond's lock where the writer reads it).
        self._cond = threading.Condition()
        self._queue: deque[tuple[Any, ...]] = deque()
        self._queued_video = 0
        self._picker: SlotPicker[tuple[np.ndarray, bool]] = SlotPicker(fps)
        self._closing = False
        self._busy = False
        self._done = False
        self._thread: threading.Thread | None = None
        self._final: RecordingStats | None = None
        self._counts = {
            "audio_dropped": 0,
            "audio_invalid": 0,
            "video_frames_in": 0,
            "video_frames_skipped": 0,
            "video_frames_dropped": 0,
            "video_frames_invalid": 0,
        }

        # Writer side (only the writer thread touches these, except the _w snapshot).
        self._mixer = AudioMixer(
            ("user", "model"), rate=audio_rate, block=self._block, window_s=mix_window_s
        )
        self._container: Any = None
        self._astream: Any = None
        self._vstream: Any = None
        self._last_slot = -1
        self._last_frame: av.VideoFrame | None = None
        self._w = {
            "audio_samples": 0,
            "audio_late_samples": 0,
            "video_frames_written": 0,
            "video_frames_repeated": 0,
            "video_frames_late": 0,
            "video_frames_invalid": 0,
            "bytes_written": 0,
            "encode_cpu_s": 0.0,
        }
        self._error: str | None = None

    # -- public, event-loop side -------------------------------------------------------

    def start(self) -> None:
        """Start the writer thread (which opens the file). Returns at once; a second call
        does nothing. Open errors show in `stats.error`."""
        with self._cond:
            if self._thread is not None or self._closing:
                return
            self._thread = threading.Thread(
                target=self._run, name=f"recorder-{self.path.name}", daemon=True
            )
            self._thread.start()

    def add_user_audio(self, pcm: np.ndarray, rate: int, t: float) -> None:
        """Queue microphone audio: mono int16 (shape (N,) or (1, N); float in [-1, 1] is
        accepted) whose first sample is at session time `t`. Never blocks."""
        self._add_audio("user", pcm, rate, t)

    def add_model_audio(self, pcm: np.ndarray, rate: int, t: float) -> None:
        """Queue model audio exactly as handed to WebRTC for playback, first sample at session
        time `t` (when it is heard). Do not call for audio discarded by a barge-in: what was
        never played is not recorded, so the cut shows. Never blocks."""
        self._add_audio("model", pcm, rate, t)

    def add_video(self, frame: np.ndarray, t: float, *, bgr: bool = True) -> None:
        """Offer a camera frame taken at session time `t`: uint8 HxWx3 (BGR as fastrtc gives
        it, or RGB with `bgr=False`), HxW grey, HxWx4 with alpha; any size. Never blocks.

        The recorder keeps a reference to the newest frame until a frame for a later output
        slot arrives, and copies it then: do not modify the array in place after handing it
        over. Ignored when the recorder was made with `video=False`.
        """
        if not self.video:
            return
        valid = check_frame(frame) and math.isfinite(t)
        with self._cond:
            if self._closing or self._done:
                return
            self._counts["video_frames_in"] += 1
            if not valid:
                self._counts["video_frames_invalid"] += 1
                return
            final, skipped = self._picker.offer(t, (frame, bgr))
            self._counts["video_frames_skipped"] += skipped
            for slot, (img, is_bgr) in final:
                self._enqueue_video_locked(slot, img, is_bgr)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until the writer has processed everything queued (or stopped); True if so.

        For tests and tools: never call it from the event loop.
        """
        with self._cond:
            return self._cond.wait_for(
                lambda: self._done or (not self._queue and not self._busy), timeout
            )

    def close(self, timeout: float = 10.0) -> RecordingStats:
        """Finish the file: write what is queued, flush the encoders, write the index, join
        the writer thread (at most `timeout` s). Idempotent; returns the final stats. Blocks:
        from the event loop, call it through `asyncio.to_thread`."""
        with self._cond:
            if not self._closing:
                self._closing = True
                for slot, (img, is_bgr) in self._picker.flush():
                    self._enqueue_video_locked(slot, img, is_bgr)
                self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                log.warning("recorder: writer still busy after %.1f s", timeout)
                return self.stats
        if self._final is None:
            self._final = self.stats
            s = self._final
            log.info(
                "recorder: closed, %.1f s, %d bytes, video %d written/%d dropped/%d late, "
                "audio %d dropped, %d late samples, cpu %.2f s%s",
                s.duration_s,
                s.bytes_written,
                s.video_frames_written,
                s.video_frames_dropped,
                s.video_frames_late,
                s.audio_dropped,
                s.audio_late_samples,
                s.encode_cpu_s,
                f", error {s.error}" if s.error else "",
            )
        return self._final

    @property
    def stats(self) -> RecordingStats:
        """A snapshot of the counters."""
        with self._cond:
            w = dict(self._w)
            c = dict(self._counts)
            error = self._error
        video_s = (self._last_slot + 1) / self.fps if self.video and self._last_slot >= 0 else 0.0
        audio_s = w["audio_samples"] / self.audio_rate
        invalid = c.pop("video_frames_invalid") + w.pop("video_frames_invalid")
        return RecordingStats(
            duration_s=max(audio_s, video_s),
            video_frames_invalid=invalid,
            error=error,
            **c,
            **w,
        )

    # -- event-loop helpers -------------------------------------------------------------

    def _add_audio(self, voice: str, pcm: np.ndarray, rate: int, t: float) -> None:
        if self._closing or self._done:
            return
        x = _mono_int16(pcm)
        valid = (
            x is not None and math.isfinite(t) and isinstance(rate, int | np.integer) and rate > 0
        )
        with self._cond:
            if not valid:
                self._counts["audio_invalid"] += 1
                return
            if len(self._queue) >= self._max_queue:
                self._counts["audio_dropped"] += 1
                return
            self._queue.append(("a", voice, x, int(rate), float(t), self._clock()))
            self._cond.notify()

    def _enqueue_video_locked(self, slot: int, img: np.ndarray, bgr: bool) -> None:
        if self._queued_video >= self._max_video_queue or len(self._queue) >= self._max_queue // 2:
            self._counts["video_frames_dropped"] += 1
            return
        self._queue.append(("v", slot, img.copy(), bgr))
        self._queued_video += 1
        self._cond.notify()

    # -- writer thread ------------------------------------------------------------------

    def _run(self) -> None:
        cpu0 = time.thread_time()
        try:
            self._open()
            while True:
                with self._cond:
                    self._cond.wait_for(lambda: self._queue or self._closing)
                    items = list(self._queue)
                    self._queue.clear()
                    self._queued_video = 0
                    self._busy = True
                    closing = self._closing
                for item in items:
                    if item[0] == "a":
                        _, voice, x, rate, t, arrival = item
                        self._mixer.add(voice, x, rate, t, arrival)
                    else:
                        _, slot, img, bgr = item
                        self._write_camera_frame(slot, img, bgr)
                self._write_audio(self._mixer.pop_ready())
                if self.video:
                    hold_until = self._mixer.cursor / self.audio_rate - _VIDEO_HOLD_S
                    self._repeat_until(math.floor(hold_until * self.fps))
                self._publish(cpu0)
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
                    if closing and not self._queue:
                        break
            self._finish()
        except Exception as exc:  # the recording must never take the session down
            log.warning("recorder: writer stopped: %s", type(exc).__name__)
            with self._cond:
                self._error = f"{type(exc).__name__}: {exc}"
            self._abandon()
        finally:
            self._publish(cpu0)
            with self._cond:
                self._done = True
                self._busy = False
                self._queue.clear()
                self._cond.notify_all()

    def _open(self) -> None:
        self._container = av.open(
            str(self.path),
            "w",
            format="webm",
            options={"flush_packets": "1", "cluster_time_limit": str(_CLUSTER_MS)},
        )
        a = self._container.add_stream("libopus", rate=self.audio_rate)
        a.layout = "mono"
        a.bit_rate = self._audio_bitrate
        self._astream = a
        if self.video:
            v = self._container.add_stream("libvpx", rate=self.fps)
            v.width, v.height = self.size
            v.pix_fmt = "yuv420p"
            v.bit_rate = self._video_bitrate
            cc = v.codec_context
            cc.time_base = Fraction(1, self.fps)
            cc.gop_size = 2 * self.fps  # a keyframe every 2 s: seeking, and decoding after loss
            cc.thread_count = 1  # in this thread, so encode_cpu_s is the whole cost
            # realtime + cpu-used 8: fastest VP8 mode; lag-in-frames 0: no look-ahead, so
            # every frame is written at once instead of being held inside the encoder.
            v.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
            self._vstream = v

    def _write_audio(self, pcm: np.ndarray) -> None:
        tb = Fraction(1, self.audio_rate)
        for i in range(0, pcm.size, self._block):
            frame = av.AudioFrame.from_ndarray(
                pcm[None, i : i + self._block], format="s16", layout="mono"
            )
            frame.sample_rate = self.audio_rate
            frame.pts = self._w["audio_samples"]
            frame.time_base = tb
            for packet in self._astream.encode(frame):
                self._container.mux(packet)
            self._w["audio_samples"] += self._block

    def _write_camera_frame(self, slot: int, img: np.ndarray, bgr: bool) -> None:
        if slot <= self._last_slot:
            self._w["video_frames_late"] += 1
            return
        try:
            frame = fit_frame(img, self.size, bgr=bgr)
        except ValueError:
            self._w["video_frames_invalid"] += 1
            return
        self._repeat_until(slot - 1)
        self._encode_video(frame, slot)
        self._last_frame = frame

    def _repeat_until(self, slot: int) -> None:
        """Fill every slot up to `slot` (inclusive) with the last frame, or black."""
        while self._last_slot < slot:
            if self._last_frame is None:
                self._last_frame = black_frame(self.size)
            self._encode_video(self._last_frame, self._last_slot + 1)
            self._w["video_frames_repeated"] += 1

    def _encode_video(self, frame: av.VideoFrame, slot: int) -> None:
        frame.pts = slot
        frame.time_base = Fraction(1, self.fps)
        for packet in self._vstream.encode(frame):
            self._container.mux(packet)
        self._last_slot = slot
        self._w["video_frames_written"] += 1

    def _finish(self) -> None:
        self._write_audio(self._mixer.flush())
        if self.video:
            end_s = self._mixer.cursor / self.audio_rate
            self._repeat_until(max(0, math.ceil(end_s * self.fps - 1e-6) - 1))
            for packet in self._vstream.encode(None):
                self._container.mux(packet)
        for packet in self._astream.encode(None):
            self._container.mux(packet)
        self._container.close()
        self._container = None

    def _abandon(self) -> None:
        if self._container is not None:
            try:
                self._container.close()
            except Exception as exc:  # already failing; the first error is the one reported
                log.debug("recorder: close after error failed: %s", type(exc).__name__)
            self._container = None

    def _publish(self, cpu0: float) -> None:
        try:
            size = os.path.getsize(self.path)
        except OSError:
            size = 0
        with self._cond:
            self._w["audio_late_samples"] = self._mixer.late_samples + self._mixer.ahead_samples
            self._w["bytes_written"] = size
            self._w["encode_cpu_s"] = time.thread_time() - cpu0


def _mono_int16(pcm: np.ndarray) -> np.ndarray | None:
    """A fresh 1-D int16 copy of mono audio, or None if it is not usable audio.

    Integers are taken as int16-scale samples; floats as [-1, 1] full scale.
    """
    x = np.asarray(pcm)
    if x.size == 0 or x.ndim > 2:
        return None
    is_float = np.issubdtype(x.dtype, np.floating)
    if not (is_float or np.issubdtype(x.dtype, np.integer)):
        return None
    if x.ndim == 2:
        # (1, N) or (N, 1) is mono; (C, N) or (N, C) with C > 1 is averaged to mono.
        x = x.mean(axis=int(np.argmin(x.shape))) if min(x.shape) > 1 else x.reshape(-1)
    if is_float:
        if not np.all(np.isfinite(x)):
            return None
        x = x * 32767.0
    if np.issubdtype(x.dtype, np.floating):
        return np.clip(np.rint(x), -32768, 32767).astype(np.int16)
    return np.clip(x, -32768, 32767).astype(np.int16)


# -- CPU measurement ------------------------------------------------------------------


def measure_recording_cpu(seconds: float = 10.0) -> dict[str, dict[str, float]]:
    """Record `seconds` of a synthetic session twice (640x480 camera at 30 fps plus audio,
    then audio only) as fast as the writer keeps up without dropping, and report the cost.

    Returns {"video": {...}, "audio_only": {...}}, each with `writer_cpu_per_s` (CPU seconds
    of the writer thread per second of session), `process_cpu_per_s` (all threads, including
    feeding the synthetic input), `bytes_per_s`, `frames_written` and `frames_dropped`.
    Writes only into a temporary directory, which it removes.
    """
    rng = np.random.default_rng(1)
    frames = []
    base = rng.integers(40, 200, (480, 640, 3), dtype=np.uint8)
    for i in range(30):  # one second of "camera": a moving square over a noisy scene
        img = np.clip(base + rng.normal(0, 3, base.shape), 0, 255).astype(np.uint8)
        x = 20 * i
        img[200:280, x : x + 80] = 255
        frames.append(img)
    user = (rng.normal(0, 2000, 48000)).astype(np.int16)
    model = (np.sin(2 * np.pi * 220 * np.arange(24000) / 24000) * 6000).astype(np.int16)
    results: dict[str, dict[str, float]] = {}
    now = [0.0]  # the timeline fed so far: the recorder's clock, as in a real-time session
    tmp = Path(tempfile.mkdtemp(prefix="googlive-rec-bench-"))
    try:
        for name, video in (("video", True), ("audio_only", False)):
            rec = SessionRecorder(tmp / f"{name}.webm", video=video, clock=lambda: now[0])
            rec.start()
            cpu0 = time.process_time()
            n_steps = round(seconds / 0.02)
            for i in range(n_steps):
                t = now[0] = i * 0.02
                rec.add_user_audio(user[(i % 50) * 960 : (i % 50) * 960 + 960], 48000, t)
                if (i // 100) % 2 == 1:  # the model talks every other 2 s
                    rec.add_model_audio(model[(i % 50) * 480 : (i % 50) * 480 + 480], 24000, t)
                if video and i % 2 == 0:  # two 30 fps frames per 40 ms
                    rec.add_video(frames[(i * 3 // 2) % 30], t)
                    rec.add_video(frames[(i * 3 // 2 + 1) % 30], t + 1 / 30)
                if i % 5 == 4:
                    rec.wait_idle(10.0)
            stats = rec.close(60.0)
            cpu = time.process_time() - cpu0
            results[name] = {
                "writer_cpu_per_s": stats.encode_cpu_s / seconds,
                "process_cpu_per_s": cpu / seconds,
                "bytes_per_s": stats.bytes_written / seconds,
                "frames_written": float(stats.video_frames_written),
                "frames_dropped": float(stats.video_frames_dropped),
            }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return results
