"""Per-connection features plugged into the handler (tools, survey, recording, archive, metrics).

A feature is built once per call by a factory the app registers (`FeatureFactory`: given the
call's `CallContext` and the `Links` to features built before it, googlive/features/context.py).
The handler delivers each hook through `Hooks`, from the audio path, so hooks must be cheap and
never block: anything heavy goes to a task (`call.spawn`) or a worker thread.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from googlive.features.context import CallContext, Links
    from googlive.features.tools.registry import ToolResult
    from googlive.live.events import LiveEvent, ToolCall
    from googlive.media.bargein import PlaybackChange

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

    def __init__(self, call: CallContext, links: Links | None = None) -> None:
        self.call = call

    def tools(self) -> list[ToolSpec]:
        """Tools to declare to the model (asked once, before connecting)."""
        return []

    def instruction(self, base: str) -> str:
        """Adjust the system instruction (e.g. a survey compiles into it)."""
        return base

    async def start(self) -> None:
        """After the session was created and started (not necessarily live yet)."""

    def on_event(self, ev: LiveEvent) -> None:
        """Every LiveSession event, after the handler applied it."""

    def on_user_audio(self, mono: np.ndarray, rate: int, t: float) -> None:
        """Mic audio as it arrived; `t` is its session time from sample counts."""

    def on_played(self, frame: np.ndarray, t: float) -> None:
        """A 24 kHz model frame handed to WebRTC, to be heard at session time `t`."""

    def on_speech(self, kind: str, t: float) -> None:
        """Local VAD: the user's speech started (`kind` "start") or ended ("end") at session
        time `t`, from sample counts (for "end", the first sample after the last voiced frame)."""

    def on_tool_result(self, call: ToolCall, result: ToolResult | None, seconds: float) -> None:
        """A tool call finished with `result` after `seconds` (None: dropped, never answered)."""

    def on_barge_in(self, t: float) -> None:
        """The user started sounding over the model at session time `t`: model audio scheduled
        after it was taken back (not heard). Whether it comes back: `on_playback`."""

    def on_playback(self, change: PlaybackChange) -> None:
        """What the user hears of the model changed (paused,
        resumed or dropped). After "paused" and "dropped", frames passed to `on_played` with a
        time after `change.t` were never heard; after "resumed" they come again."""

    def on_video(self, frame: np.ndarray, t: float) -> None:
        """A webcam frame (BGR) arrived at session time `t`. Only the frames the handler keeps
        arrive here (a few a second) unless some feature's `wants_video_frames` is true."""

    def on_text(self, text: str, t: float) -> None:
        """The user typed `text`."""

    async def close(self) -> None:
        """The connection ended; finish files. Must be idempotent and quick."""


FeatureFactory = Callable[["CallContext", "Links"], Feature]


class Hooks:
    """The one dispatcher: delivers each hook to every feature, in build order. A feature whose
    hook raises is reported once (`on_failure(feature, hook, exc)`: the log gets its name, the
    hook and the exception's type, never its text) and gets no more hooks for this call; the
    other features and the conversation go on. Without this, one raising hook inside the event
    pump stopped the pump and the conversation froze without a word.

    One method per kind of event, with its types, so a caller cannot misname a hook."""

    def __init__(
        self,
        features: list[Feature],
        on_failure: Callable[[Feature, str, BaseException], None] | None = None,
    ) -> None:
        self.features = features  # the handler's list: features added later are included
        self.on_failure = on_failure
        self.failed: dict[str, str] = {}  # feature name -> the hook that failed

    # ---- the events ------------------------------------------------------------------------
    def live_event(self, ev: LiveEvent) -> None:
        self._each("on_event", lambda f: f.on_event(ev))

    def user_audio(self, mono: np.ndarray, rate: int, t: float) -> None:
        self._each("on_user_audio", lambda f: f.on_user_audio(mono, rate, t))

    def played(self, frame: np.ndarray, t: float) -> None:
        self._each("on_played", lambda f: f.on_played(frame, t))

    def speech(self, kind: str, t: float) -> None:
        self._each("on_speech", lambda f: f.on_speech(kind, t))

    def tool_result(self, call: ToolCall, result: ToolResult | None, seconds: float) -> None:
        self._each("on_tool_result", lambda f: f.on_tool_result(call, result, seconds))

    def barge_in(self, t: float) -> None:
        self._each("on_barge_in", lambda f: f.on_barge_in(t))

    def playback(self, change: PlaybackChange) -> None:
        self._each("on_playback", lambda f: f.on_playback(change))

    def video(self, frame: np.ndarray, t: float) -> None:
        self._each("on_video", lambda f: f.on_video(frame, t))

    def text(self, text: str, t: float) -> None:
        self._each("on_text", lambda f: f.on_text(text, t))

    # ---- delivery --------------------------------------------------------------------------
    def _each(self, hook: str, deliver: Callable[[Feature], None]) -> None:
        for f in self.features:
            if f.name in self.failed:
                continue
            try:
                deliver(f)
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
