"""audio_stages: the per-frame Python cost of the mic path, stage by stage (issue 16).

One 20 ms 48 kHz mic frame goes: FastRTC's conversion (its av.AudioResampler to mono s16,
`to_ndarray`), then `GeminiHandler.receive()`: as_mono, the echo guard's prediction, the VAD,
the barge-in policy, the FIR resampler to 16 kHz, the features' `on_user_audio`, the uplink
byte buffer; every second frame completes a 40 ms chunk, serialised as a realtimeInput
message (google-genai's `send_realtime_input` path against googlive.live.session's direct one).
Each stage is timed alone on the same speech-like signal (median µs per frame over `frames`
frames), next to `receive_total` (the real `receive()`, with the app's features, no session:
nothing is written) and the frame's 20 ms real-time budget. Runs in this process; no network.
"""

from __future__ import annotations

import asyncio
import fractions
import json
import statistics
import time
from typing import Any

import av
import numpy as np

from bench.harness import to_int16
from tests.signals import speech_like


def _median_us(fn: Any, args: list[Any]) -> float:
    out = []
    for a in args:
        t = time.perf_counter_ns()
        fn(a)
        out.append((time.perf_counter_ns() - t) / 1000)
    return round(statistics.median(out), 1)


def _frames(n: int) -> list[np.ndarray]:
    pcm = to_int16(speech_like(48000, n * 0.02 + 0.1, -20.0, seed=5))
    return [pcm[i * 960 : (i + 1) * 960] for i in range(n)]


def _handler() -> Any:
    import tempfile
    from pathlib import Path

    from googlive.assemble import assemble
    from googlive.config import Secret, Settings
    from googlive.handler import GeminiHandler
    from googlive.live.backend import Endpoint
    from googlive.ui import AppContext

    settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="googlive-stages-")), record=False)
    endpoint = Endpoint("wss://127.0.0.1:9/none", None, Secret("k"), offline=True)
    ctx = AppContext(settings, endpoint)
    assemble(ctx)
    h = GeminiHandler(settings, endpoint, features=ctx.features, services=ctx.services)
    h.build_features()
    return h


def measure(frames: int = 1000) -> dict[str, Any]:
    from google.genai import _common, types
    from google.genai import _live_converters as conv

    from googlive.live.session import realtime_audio_message
    from googlive.media.audio import Resampler, as_mono, pcm16_bytes
    from googlive.media.echo import sub_block_ms

    pcm = _frames(frames)
    h = _handler()
    stages: dict[str, float] = {}

    # FastRTC: av frame -> its resampler (s16 mono 48 kHz, frame_size 960) -> ndarray
    avf = []
    for i, x in enumerate(pcm):
        f = av.AudioFrame.from_ndarray(x.reshape(1, -1), format="s16", layout="mono")
        f.sample_rate, f.pts, f.time_base = 48000, i * 960, fractions.Fraction(1, 48000)
        avf.append(f)
    rs = av.AudioResampler(format="s16", layout="mono", rate=48000, frame_size=960)

    def fastrtc_in(f: Any) -> None:
        for g in rs.resample(f):
            g.to_ndarray()

    stages["fastrtc_frame_to_ndarray"] = _median_us(fastrtc_in, avf)
    mono = [as_mono(x) for x in pcm]
    stages["as_mono"] = _median_us(as_mono, pcm)
    t = [0.0]

    def echo(m: np.ndarray) -> None:
        h.echo.predict_db(sub_block_ms(m), t[0], learn=True)
        t[0] += 0.02

    stages["echo_guard_predict"] = _median_us(echo, mono)
    stages["vad_feed"] = _median_us(lambda m: h.vad.feed(m, playing=False, echo_db=None), mono)
    stages["bargein_policy_on_mic"] = _median_us(lambda m: h.policy.on_mic(1.0, False), mono)
    r = Resampler()
    stages["resampler_48k_to_16k"] = _median_us(lambda m: r.process(m, 48000), mono)
    t[0] = 0.0

    def features(m: np.ndarray) -> None:
        for f in h.features:
            f.on_user_audio(m, 48000, t[0])
        t[0] += 0.02

    stages["features_on_user_audio"] = _median_us(features, mono)
    p16 = [r.process(m, 48000) for m in mono]
    stages["pcm16_bytes"] = _median_us(pcm16_bytes, [x for x in p16 if x.size])
    chunks = [bytes(1280)] * max(1, frames // 2)

    def sdk(b: bytes) -> None:
        ri = types.LiveSendRealtimeInputParameters.model_validate(
            {"audio": types.Blob(data=b, mime_type="audio/pcm;rate=16000")}
        )
        d = conv._LiveSendRealtimeInputParameters_to_mldev(from_object=ri)
        d = _common.encode_unserializable_types(_common.convert_to_dict(d))
        json.dumps({"realtime_input": d})

    per_chunk_sdk = _median_us(sdk, chunks)
    per_chunk_direct = _median_us(realtime_audio_message, chunks)

    async def total() -> float:
        out = []
        for x in pcm:
            t0 = time.perf_counter_ns()
            await h.receive((48000, x))
            out.append((time.perf_counter_ns() - t0) / 1000)
        return round(statistics.median(out), 1)

    receive_total = asyncio.run(total())
    return {
        "frames": frames,
        "us_per_frame": stages,
        "receive_total_us": receive_total,
        "uplink_serialise_us_per_40ms_chunk": {
            "app_direct": per_chunk_direct,
            "baseline_sdk_send_realtime_input": per_chunk_sdk,
        },
        "budget_us_per_frame": 20000,
        "definition": "median µs per 20 ms mic frame for each stage alone (serialisation: per "
        "40 ms chunk, one per 2 frames); receive_total = GeminiHandler.receive() with the app's "
        "features and no session (nothing written)",
    }


def run(quick: bool) -> dict[str, Any]:
    return {"audio_stages": measure(500 if quick else 3000)}
