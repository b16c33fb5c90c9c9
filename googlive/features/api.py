"""Per-connection features plugged into the handler (tools, survey, recording, archive, metrics).

A feature is built once per browser connection by a factory the app registers. The handler
calls its hooks from the audio path, so hooks must be cheap and never block: anything heavy
goes to a task (`handler.spawn`) or a worker thread.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from googlive.handler import GeminiHandler

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ToolSpec:
    """A tool a feature offers the model: declaration (its `behavior` says whether the model
    goes on talking while it runs), async handler, optional pydantic args, and how each answer
    is scheduled (googlive.features.tools.registry.ResponseScheduling; None: WHEN_IDLE)."""

    declaration: Any  # google.genai.types.FunctionDeclaration
    handler: Callable[[dict[str, Any], str], Awaitable[dict[str, Any]]]
    args_model: Any = None
    timeout_s: float | None = None
    scheduling: Any = None  # googlive.features.tools.registry.ResponseScheduling


class Feature:
    """Override what you need; every hook has a do-nothing default."""

    name = "feature"
    wants_video_frames = False
    """True while this feature needs every camera frame in `on_video` (a recording): the
    handler then converts them all, not just the few a second the model and tools need."""

    def __init__(self, handler: GeminiHandler) -> None:
        self.h = handler

    def tools(self) -> list[ToolSpec]:
        """Tools to declare to the model (asked once, before connecting)."""
        return []

    def instruction(self, base: str) -> str:
        """Adjust the system instruction (e.g. a survey compiles into it)."""
        return base

    async def start(self) -> None:
        """After the session was created and started (not necessarily live yet)."""

    def on_event(self, ev: Any) -> None:
        """Every LiveSession event, after the handler applied it."""

    def on_user_audio(self, mono: np.ndarray, rate: int, t: float) -> None:
        """Mic audio as it arrived; `t` is its session time from sample counts."""

    def on_played(self, frame: np.ndarray, t: float) -> None:
        """A 24 kHz model frame handed to WebRTC, to be heard at session time `t`."""

    def on_speech(self, kind: str, t: float) -> None:
        """Local VAD: the user's speech started (`kind` "start") or ended ("end") at session
        time `t`, from sample counts (for "end", the first sample after the last voiced frame)."""

    def on_tool_result(self, call: Any, result: Any, seconds: float) -> None:
        """A tool call (ToolCall) finished with `result` (ToolResult) after `seconds`."""

    def on_barge_in(self, t: float) -> None:
        """The user started sounding over the model at session time `t`: model audio scheduled
        after it was taken back (not heard). Whether it comes back: `on_playback`."""

    def on_playback(self, change: Any) -> None:
        """What the user hears of the model changed (googlive.media.bargein.PlaybackChange: paused,
        resumed or dropped). After "paused" and "dropped", frames passed to `on_played` with a
        time after `change.t` were never heard; after "resumed" they come again."""

    def on_video(self, frame: np.ndarray, t: float) -> None:
        """A webcam frame (BGR) arrived at session time `t`. Only the frames the handler keeps
        arrive here (a few a second) unless some feature's `wants_video_frames` is true."""

    def on_text(self, text: str, t: float) -> None:
        """The user typed `text`."""

    async def close(self) -> None:
        """The connection ended; finish files. Must be idempotent and quick."""


FeatureFactory = Callable[["GeminiHandler"], Feature]


class Hooks:
    """Delivers one hook to every feature, in install order. A feature whose hook raises is
    reported once (`on_failure(feature, hook, exc)`: the log gets its name, the hook and the
    exception's type, never its text) and gets no more hooks for this call; the other features
    and the conversation go on. Without this, one raising hook inside the event pump stopped the
    pump and the conversation froze without a word."""

    def __init__(
        self,
        features: list[Feature],
        on_failure: Callable[[Feature, str, BaseException], None] | None = None,
    ) -> None:
        self.features = features  # the handler's list: features added later are included
        self.on_failure = on_failure
        self.failed: dict[str, str] = {}  # feature name -> the hook that failed

    def call(self, hook: str, *args: Any) -> None:
        for f in self.features:
            if f.name in self.failed:
                continue
            try:
                getattr(f, hook)(*args)
            except Exception as exc:
                self.failed[f.name] = hook
                log.error(
                    "feature %s failed in %s (%s); its hooks are off for this call",
                    f.name,
                    hook,
                    type(exc).__name__,
                )
                if self.on_failure is not None:
                    self.on_failure(f, hook, exc)
