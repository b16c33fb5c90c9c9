"""tool_round_trip_ms and video_tokens_per_min, per model family (bench/README.md says how to
read them).

tool_round_trip_ms: a LiveSession (real SDK, local Live server in this process at its default
pacing) with the app's real take_picture on a 1280x720
camera frame, through the app's ToolRegistry. Per trial: the ToolCall event arrives
(`call`) -> the handler has the answer and queued it, after the still (`answered`) -> the first
model audio of a turn that began after the answer (`speech`: the model talking about the
picture). Figures: call->answered, answered->speech, call->speech. Baseline
`baseline_unscheduled_realtime_still`: the way the app sent a still before this change (a
realtime video frame, answer without `scheduling`), same server, same frame.

video_tokens_per_min: webcam frames (640 px, as the handler sends them) go out one by one;
then one text turn makes the server bill them; the figure is the usage's IMAGE/VIDEO prompt
tokens per frame x 60 (1 frame/s), measured with the user silent and while the user speaks
(activity-only coverage counts frames only then), at the media resolution and turn coverage
the app sets per family. Baseline `baseline_unset`: the setup without media_resolution and
turn_coverage (the service's defaults).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Any

import numpy as np
from google.genai import types

from bench.stats import summarize
from googlive.fakelive import FakeLiveConfig, FakeLiveServer, vision
from googlive.features.tools.picture import (
    TAKE_PICTURE_SCHEDULING,
    Snapshot,
    TakePicture,
    TakePictureArgs,
    take_picture_declaration,
)
from googlive.features.tools.registry import ResponseScheduling, ToolRegistry
from googlive.live import models
from googlive.live.events import AudioOut, Role, ToolCall, TranscriptDelta, TurnComplete
from googlive.live.session import LiveConfig, LiveSession
from googlive.media.frames import encode_jpeg
from tests.util import Collector, speech16k

FAMILIES = {
    "gemini-3.8-live": "3.8",
    "gemini-3.1-flash-live-preview": "3.1",
    "gemini-2.5-flash-native-audio-preview-12-2025": "2.5",
}
TOOLS = (types.Tool(function_declarations=[take_picture_declaration()]),)


class _Camera:
    """take_picture's CameraContext on a LiveSession (what googlive.features.tools.feature does)."""

    def __init__(self, session: LiveSession, frame: np.ndarray, *, realtime: bool) -> None:
        self.session, self.frame, self.realtime = session, frame, realtime

    def latest_frame(self) -> np.ndarray:
        return self.frame

    async def send_image(self, jpeg: bytes) -> None:
        if self.realtime:
            self.session.send_video(jpeg)  # the old way: a stream frame like any other
        else:
            self.session.send_image(jpeg)

    def on_snapshot(self, snapshot: Snapshot) -> None:
        pass


def _frame() -> np.ndarray:
    rgb = np.asarray(vision.draw_marker((1280, 720), "red", (5, 3, 1)))
    return np.ascontiguousarray(rgb[:, :, ::-1])


async def _tool_trials(
    srv: FakeLiveServer, model: str, n: int, *, baseline: bool
) -> dict[str, Any]:
    session = LiveSession(srv.client(), LiveConfig(model=model, tools=TOOLS))
    session.start()
    col = Collector(session)
    registry = ToolRegistry()
    sched = ResponseScheduling() if baseline else TAKE_PICTURE_SCHEDULING
    camera = _Camera(session, _frame(), realtime=baseline)
    registry.register(
        take_picture_declaration(),
        TakePicture(camera),
        args_model=TakePictureArgs,
        scheduling=sched,
    )
    out: dict[str, list[float]] = {
        "call_to_answered": [],
        "answered_to_speech": [],
        "call_to_speech": [],
    }
    read = 0
    try:
        assert await session.wait_live(10)
        for k in range(n):
            start = len(col.events)
            srv.queue_tool_call("take_picture", {"reason": f"trial {k}"})
            session.send_text(f"trial {k}")
            (call,) = await col.wait(
                lambda evs, s=start: [e for e in evs[s:] if isinstance(e, ToolCall)], 15
            )
            t_call = col.times[col.events.index(call)]
            result = await registry.dispatch(call)
            assert result is not None
            session.send_tool_response(
                result.id, result.name, result.response, None if baseline else result.scheduling
            )
            t_answered = time.monotonic()
            seen = {
                e.turn
                for e, t in zip(col.events, col.times, strict=True)
                if isinstance(e, AudioOut) and t <= t_answered
            }

            def first_speech(
                evs: list[Any], seen: set[int] = seen, s: int = start, after: float = t_answered
            ) -> Any:
                for e, t in zip(evs[s:], col.times[s:], strict=True):
                    if isinstance(e, AudioOut) and t > after and e.turn not in seen:
                        return (t, e.turn)
                return None

            t_speech, turn = await col.wait(first_speech, 20)
            out["call_to_answered"].append(1000 * (t_answered - t_call))
            out["answered_to_speech"].append(1000 * (t_speech - t_answered))
            out["call_to_speech"].append(1000 * (t_speech - t_call))
            (words,) = await col.wait(
                lambda evs, turn=turn: [
                    e.line
                    for e in col.of(TranscriptDelta)
                    if e.final and e.role is Role.MODEL and e.turn == turn
                ],
                20,
            )
            read += "code 5 3 1" in words
            await col.wait(lambda evs: not session.turn_open, 20)
    finally:
        await col.close()
    return {k: summarize(v, 1) for k, v in out.items()} | {"answers_naming_the_code": f"{read}/{n}"}


async def _video_tokens(
    srv: FakeLiveServer, model: str, frames: int, *, baseline: bool
) -> dict[str, Any]:
    choices = models.choices_for(model)
    cfg = LiveConfig(model=model)
    if baseline:
        # The setup as it was: no media_resolution, no turn_coverage (the service's defaults).
        unset = replace(choices, media_resolution=None, turn_coverage=None)  # type: ignore[arg-type]
        cfg = replace(cfg, choices=unset)
    session = LiveSession(srv.client(), cfg)
    session.start()
    col = Collector(session)
    jpeg = encode_jpeg(
        np.ascontiguousarray(np.asarray(vision.draw_marker((1280, 720), "green"))[:, :, ::-1]),
        640,
        60,
    )
    per_min: dict[str, int] = {}
    try:
        assert await session.wait_live(10)
        for phase in ("silent", "speaking"):
            if phase == "speaking":
                # The user talks (past a backchannel's length, so it is a turn on every family).
                session.send_audio(speech16k(1.0))
                await srv.wait_until(lambda: srv.stats.audio_bytes_received >= 16000, 5)
            want = srv.stats.video_frames_received
            for _ in range(frames):
                want += 1
                session.send_video(jpeg)
                await srv.wait_until(lambda w=want: srv.stats.video_frames_received >= w, 5)
            if phase == "speaking":
                session.send_audio(bytes(2 * 16000))  # silence: the user's turn ends and is billed
            else:
                session.send_text("bill the frames")
            n = len(col.of(TurnComplete))
            tc = await col.wait(lambda evs, n=n: col.of(TurnComplete)[n:], 20)
            video = sum(t.usage.prompt_video_tokens for t in tc if t.usage)
            per_min[phase] = round(video / frames * 60)
            await col.wait(lambda evs: not session.turn_open, 20)
    finally:
        await col.close()
    return {
        "per_min_user_silent": per_min["silent"],
        "per_min_user_speaking": per_min["speaking"],
        "media_resolution": None if baseline else choices.media_resolution.value,
        "turn_coverage": None if baseline else choices.turn_coverage.value,
    }


async def _family(model: str, quick: bool) -> dict[str, Any]:
    # The local server's default pacing: audio 3x faster than real time (the service generates
    # "as quickly as possible, and not in real time": google-genai LiveServerContent).
    async with FakeLiveServer(
        api_key="bench", config=FakeLiveConfig(speed=3.0, min_reply_s=0.6)
    ) as srv:
        n = 2 if quick else 10
        rt_app = await _tool_trials(srv, model, n, baseline=False)
        rt_base = await _tool_trials(srv, model, n, baseline=True)
    # Tokens do not depend on timing: no pacing.
    async with FakeLiveServer(
        api_key="bench", config=FakeLiveConfig(speed=0.0, min_reply_s=0.6)
    ) as srv:
        frames = 3 if quick else 15
        tok_app = await _video_tokens(srv, model, frames, baseline=False)
        tok_base = await _video_tokens(srv, model, frames, baseline=True)
    expected = models.tokens_per_minute_of_video(models.choices_for(model).media_resolution)
    return {
        "tool_round_trip_ms": {"app": rt_app, "baseline_unscheduled_realtime_still": rt_base},
        "video_tokens_per_min": {
            "app": tok_app,
            "baseline_unset": tok_base,
            "documented_per_min_at_app_resolution": expected,
        },
    }


def run(quick: bool) -> dict[str, Any]:
    """{"tools": {family: {...}}} for every family."""
    out: dict[str, Any] = {}
    for model, short in FAMILIES.items():
        out[short] = {"model": model} | asyncio.run(_family(model, quick))
    return {"tools": out | {"definition": __doc__.split("\n\n", 1)[1].strip()}}
