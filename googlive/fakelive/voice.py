"""Offline demo voice: an energy VAD for the 16 kHz input and honest synthetic replies.

There is no speech recognition or synthesis offline. A speech turn is answered with a short
chime followed by the user's own audio played back (resampled to 24 kHz); a text turn with a
pleasant tone sequence. Transcripts say plainly that this is the offline demo backend.
Everything here is pure and synchronous; time is audio time (samples), so it is deterministic.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

OUT_RATE = 24000
AUDIO_TOKENS_PER_S = 32  # Gemini's documented audio tokenisation rate
IMAGE_TOKENS = 258  # Gemini's documented cost of one image up to 384x384 tiles
LONG_WORDS = ("story", "explain", "long")


def pcm16_to_float(pcm: bytes) -> np.ndarray:
    """PCM16 little-endian bytes (odd trailing byte ignored) to float32 in [-1, 1)."""
    usable = len(pcm) - (len(pcm) % 2)
    return np.frombuffer(pcm[:usable], dtype="<i2").astype(np.float32) / 32768.0


def float_to_pcm16(x: np.ndarray) -> bytes:
    """float32 in [-1, 1] to PCM16 little-endian bytes (clipped)."""
    return (np.clip(x, -1.0, 32767 / 32768) * 32768.0).astype("<i2").tobytes()


def rms_int16(pcm: bytes) -> float:
    """RMS of PCM16 samples, in int16 units (0 for empty input)."""
    x = pcm16_to_float(pcm)
    return float(np.sqrt(np.mean(np.square(x)))) * 32768.0 if x.size else 0.0


def resample(x: np.ndarray, rate_in: int, rate_out: int = OUT_RATE) -> np.ndarray:
    """Resample a mono float32 signal (soxr, high quality)."""
    if rate_in == rate_out or x.size == 0:
        return x.astype(np.float32)
    import soxr

    return soxr.resample(x, rate_in, rate_out).astype(np.float32)


# ---------------------------------------------------------------------------- VAD


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    at_s: float  # audio time of the first loud frame


@dataclass(frozen=True, slots=True)
class SpeechEnded:
    pcm: bytes  # the utterance (PCM16 at the input rate), pre-roll included
    rate: int
    duration_s: float
    voiced_s: float = 0.0  # loud audio time in it (see EnergyVad.voiced_s)


VadEvent = SpeechStarted | SpeechEnded


@dataclass
class EnergyVad:
    """RMS voice activity detector over 20 ms frames, measured in audio time.

    Speech starts after ``start_frames`` consecutive frames with RMS >= ``threshold``; it ends
    after ``silence_s`` of frames below ``threshold * release``. The utterance (with 200 ms of
    pre-roll, capped at ``max_utterance_s``) is returned with :class:`SpeechEnded`.
    """

    rate: int = 16000
    threshold: float = 500.0
    release: float = 0.6
    silence_s: float = 0.5
    start_frames: int = 2
    max_utterance_s: float = 60.0
    frame_ms: int = 20
    _pending: bytearray = field(default_factory=bytearray)
    _preroll: list[bytes] = field(default_factory=list)
    _utterance: list[bytes] = field(default_factory=list)
    _utterance_bytes: int = 0
    _loud_run: int = 0
    _quiet_s: float = 0.0
    _in_speech: bool = False
    _time_s: float = 0.0
    _voiced_s: float = 0.0

    @property
    def in_speech(self) -> bool:
        return self._in_speech

    @property
    def voiced_s(self) -> float:
        """Loud (voiced) audio time since the current utterance's onset; 0 outside speech.

        Unlike the utterance length it leaves out the pauses inside it and the trailing
        ``silence_s`` that ends it, so a 0.3 s "mm-hm" reads 0.3 s, not 0.8 s.
        """
        return self._voiced_s if self._in_speech else 0.0

    def feed(self, pcm: bytes, rate: int | None = None) -> list[VadEvent]:
        """Feed PCM16 audio; return the speech start/end events it completes, in order."""
        if rate is not None and rate != self.rate:
            self.reset()
            self.rate = rate
        self._pending.extend(pcm)
        frame_bytes = self.rate * self.frame_ms // 1000 * 2
        frame_s = self.frame_ms / 1000
        events: list[VadEvent] = []
        while len(self._pending) >= frame_bytes:
            frame = bytes(self._pending[:frame_bytes])
            del self._pending[:frame_bytes]
            level = rms_int16(frame)
            self._time_s += frame_s
            if not self._in_speech:
                self._preroll.append(frame)
                if len(self._preroll) > 10:
                    self._preroll.pop(0)
                self._loud_run = self._loud_run + 1 if level >= self.threshold else 0
                if self._loud_run >= self.start_frames:
                    self._in_speech = True
                    self._voiced_s = self.start_frames * frame_s
                    self._quiet_s = 0.0
                    self._utterance = list(self._preroll)
                    self._utterance_bytes = sum(len(f) for f in self._utterance)
                    self._preroll = []
                    events.append(SpeechStarted(self._time_s - self.start_frames * frame_s))
                continue
            if level >= self.threshold:
                self._voiced_s += frame_s
            if self._utterance_bytes < self.max_utterance_s * self.rate * 2:
                self._utterance.append(frame)
                self._utterance_bytes += len(frame)
            self._quiet_s = (
                self._quiet_s + frame_s if level < self.threshold * self.release else 0.0
            )
            if self._quiet_s >= self.silence_s:
                events.append(self._end())
        return events

    def flush(self) -> list[VadEvent]:
        """End the current utterance now (audio stream end); no event if not in speech."""
        self._pending.clear()
        return [self._end()] if self._in_speech else []

    def reset(self) -> None:
        """Forget any partial utterance."""
        self._pending.clear()
        self._preroll.clear()
        self._utterance = []
        self._utterance_bytes = 0
        self._loud_run = 0
        self._in_speech = False

    def _end(self) -> SpeechEnded:
        pcm = b"".join(self._utterance)
        voiced = self._voiced_s
        self.reset()
        return SpeechEnded(pcm, self.rate, len(pcm) / 2 / self.rate, voiced)


# ---------------------------------------------------------------------------- synthesis


def _note(freq: float, seconds: float, amp: float = 0.18, rate: int = OUT_RATE) -> np.ndarray:
    n = max(1, int(seconds * rate))
    t = np.arange(n, dtype=np.float32) / rate
    tone = np.sin(2 * np.pi * freq * t) + 0.25 * np.sin(4 * np.pi * freq * t)
    attack = min(n, int(0.01 * rate))
    env = np.exp(-3.0 * t / seconds).astype(np.float32)
    env[:attack] *= np.linspace(0.0, 1.0, attack, dtype=np.float32)
    env[-attack:] *= np.linspace(1.0, 0.0, attack, dtype=np.float32)
    return (amp / 1.25 * tone * env).astype(np.float32)


def chime(rate: int = OUT_RATE) -> np.ndarray:
    """A short two-note chime (about 0.35 s) that marks the start of a demo reply."""
    gap = np.zeros(int(0.03 * rate), dtype=np.float32)
    return np.concatenate([_note(880.0, 0.14, rate=rate), gap, _note(1318.5, 0.18, rate=rate)])


_PENTATONIC = (523.25, 587.33, 659.25, 783.99, 880.0, 1046.5, 880.0, 783.99, 659.25, 587.33)


def tones(seconds: float, rate: int = OUT_RATE, offset: int = 0) -> np.ndarray:
    """A gentle pentatonic note sequence lasting ``seconds`` (0.25 s per note)."""
    if seconds <= 0:
        return np.zeros(0, dtype=np.float32)
    note_s = 0.25
    count = math.ceil(seconds / note_s)
    out = np.concatenate(
        [
            _note(_PENTATONIC[(offset + i) % len(_PENTATONIC)], note_s, amp=0.12, rate=rate)
            for i in range(count)
        ]
    )
    return out[: math.ceil(seconds * rate - 1e-6)]


def wants_long_reply(text: str) -> bool:
    """Whether the request asks for a long answer ("story", "explain", "long")."""
    lowered = text.lower()
    return any(word in lowered for word in LONG_WORDS)


def speech_reply_audio(user_pcm: bytes, user_rate: int, min_s: float) -> bytes:
    """Chime + the user's own utterance at 24 kHz, padded with tones to at least ``min_s``."""
    voice = pcm16_to_float(user_pcm)
    peak = float(np.max(np.abs(voice))) if voice.size else 0.0
    if peak > 0.9:
        voice = voice * (0.9 / peak)
    parts = [chime(), resample(voice, user_rate)]
    have = sum(p.size for p in parts) / OUT_RATE
    if have < min_s:
        parts.append(tones(min_s - have, offset=3))
    return float_to_pcm16(np.concatenate(parts))


def text_reply_audio(seconds: float, seed_text: str = "") -> bytes:
    """Chime + a tone sequence, ``seconds`` long in total (at least the chime)."""
    c = chime()
    offset = sum(seed_text.encode()) % len(_PENTATONIC)
    rest = tones(max(0.0, seconds - c.size / OUT_RATE), offset=offset)
    return float_to_pcm16(np.concatenate([c, rest]))


def split_chunks(pcm: bytes, chunk_ms: int, rate: int = OUT_RATE) -> list[bytes]:
    """Split PCM16 into chunks of ``chunk_ms`` (the last may be shorter)."""
    size = max(2, rate * chunk_ms // 1000 * 2)
    return [pcm[i : i + size] for i in range(0, len(pcm), size)]


def spread_text(text: str, n_chunks: int) -> list[str | None]:
    """Cut ``text`` into word fragments assigned to ``n_chunks`` audio chunks.

    Returns one entry per chunk: the fragment to send with it, or None. Fragments joined
    together give back ``text`` exactly; the last fragment goes with the last chunk at the latest.
    """
    if n_chunks <= 0:
        return []
    words = re.findall(r"\S+\s*", text)
    if not words:
        return [None] * n_chunks
    # Finish the transcript by ~70 % of the audio, like a speaker ahead of the playback.
    span = max(1, math.ceil(n_chunks * 0.7))
    out: list[list[str]] = [[] for _ in range(n_chunks)]
    for i, w in enumerate(words):
        out[min(n_chunks - 1, i * span // len(words))].append(w)
    # Preserve leading whitespace of the text, if any.
    lead = text[: len(text) - len(text.lstrip())]
    frags: list[str | None] = ["".join(ws) if ws else None for ws in out]
    if lead:
        frags[0] = lead + (frags[0] or "")
    return frags


def audio_tokens(pcm_bytes: int, rate: int) -> int:
    """Tokens for ``pcm_bytes`` of PCM16 at ``rate`` (32 per second, rounded)."""
    return round(pcm_bytes / 2 / rate * AUDIO_TOKENS_PER_S)


def text_tokens(text: str) -> int:
    """Tokens for text: one per 4 characters, rounded up."""
    return math.ceil(len(text) / 4)
