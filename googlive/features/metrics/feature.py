"""The metrics feature: per connection, feeds the pure trackers from handler hooks (counters
only on the audio path) and renders the diagnostics panels from one periodic task, only while
this browser has "Show diagnostics" on, and only what changed."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from googlive.features.api import Feature
from googlive.features.metrics.bargein import BargeInStats
from googlive.features.metrics.eventlog import EventLog
from googlive.features.metrics.latency import LatencyTracker
from googlive.features.metrics.ui import (
    VISIBLE_KEY,
    MetricsPlugin,
    eventlog_html,
    latency_html,
    meters_html,
    usage_html,
)
from googlive.features.metrics.usage import PriceTable, UsageTracker
from googlive.live.events import (
    AudioOut,
    GoAway,
    Interrupted,
    Role,
    SessionError,
    SessionState,
    StateChanged,
    ToolCall,
    ToolCallCancelled,
    TranscriptDelta,
    TurnComplete,
    UsageReport,
)

if TYPE_CHECKING:
    from googlive.features.context import CallContext, Links
    from googlive.features.results.feature import ArchiveFeature
    from googlive.ui import AppContext

log = logging.getLogger(__name__)

TICK_S = 0.05  # the meters task reads counters 20 times a second; the handler sends ≤ 10/s
INTERRUPTED_SHOW_S = 1.0


def ms(s: float | None) -> int | None:
    return None if s is None else round(1000 * s)


class MetricsFeature(Feature):
    name = "metrics"

    def __init__(
        self,
        call: CallContext,
        prices: PriceTable | None = None,
        visible: dict[str, bool] | None = None,
        *,
        archive: ArchiveFeature | None = None,
    ) -> None:
        super().__init__(call)
        self.archive = archive  # handed the event log at close
        self.prices = prices
        self.visible_map = visible
        self.always_visible = visible is None  # tests, or a page without the toggle
        self.latency = LatencyTracker(keep=20)
        self.bargein = BargeInStats(keep=20)
        self._paused_t: float | None = None
        self._backchannel: tuple[float, float] | None = None
        self.usage = UsageTracker()
        self.log = EventLog(maxlen=500, secrets=list(call.info.secrets))
        self._tool_started: dict[str, float] = {}
        self._interrupted_until = 0.0
        self._unapplied: dict[int, float] = {}
        self._rendered: dict[str, Any] = {}
        self._meter_key: tuple[Any, ...] | None = None
        self.meter_updates = 0
        self.ticks = 0

    # ---- hooks (cheap) -------------------------------------------------------------------
    @property
    def visible(self) -> bool:
        if self.always_visible:
            return True
        assert self.visible_map is not None
        return bool(self.visible_map.get(self.call.info.owner, False))

    async def start(self) -> None:
        self.call.spawn(self._ticker(), "metrics")

    def on_played(self, frame: Any, t: float) -> None:
        lat = self.latency.played(self.call.playing_turn, t)
        if lat is not None:
            self._unapplied[lat.turn] = lat.ms
            self._apply_latency()
            self.log.add(
                t,
                "turn",
                "first model audio",
                turn=lat.turn,
                latency_ms=round(lat.ms),
                source=lat.source,
            )

    def on_speech(self, kind: str, t: float) -> None:
        # The end of a sound the model treated as a backchannel (paused, then the answer went
        # on) owes no reply: it is not a latency mark. Its offset comes after the resume.
        if kind == "end" and not (
            self._backchannel and self._backchannel[0] <= t <= self._backchannel[1]
        ):
            self.latency.user_done(t, "speech")
        self.log.add(t, "speech", f"speech {kind}")

    def on_text(self, text: str, t: float) -> None:
        self.latency.user_done(t, "text")
        self.log.add(
            t, "text", "typed message sent", chars=len(text)
        )  # its length, never its words

    def on_playback(self, change: Any) -> None:
        self.bargein.add(change)
        if change.kind == "paused":
            self._paused_t = change.t
            self.log.add(
                change.t,
                "barge-in",
                "paused: you started talking over the model",
                turn=change.turn,
                withheld_ms=ms(change.withdrawn_s),
            )
        elif change.kind == "resumed":
            if self._paused_t is not None:
                self.latency.forget_since(self._paused_t - 0.05)  # a backchannel: no reply owed
                self._backchannel = (self._paused_t - 0.05, change.t)
            self.log.add(
                change.t,
                "barge-in",
                "resumed: the answer goes on",
                turn=change.turn,
                paused_ms=ms(change.paused_s),
                after_sound_ms=ms(change.after_sound_s),
                replay_ms=ms(change.replay_s),
            )
        elif change.kind == "dropped":
            self._interrupted_until = time.monotonic() + INTERRUPTED_SHOW_S
            self.log.add(
                change.t,
                "barge-in",
                "dropped: the rest of the answer was not played",
                turn=change.turn,
                reason=change.reason,
                paused_ms=ms(change.paused_s),
                dropped_ms=ms(change.dropped_s),
            )

    def on_tool_result(self, call: Any, result: Any, seconds: float) -> None:
        self._tool_started.pop(getattr(call, "id", ""), None)
        self.log.add(
            self.call.time(),
            "tool",
            "tool result",
            name=getattr(call, "name", "")[:60],
            id=getattr(call, "id", "")[:40],
            ms=round(seconds * 1000),
            error=bool(getattr(result, "is_error", False)),
        )

    def on_event(self, ev: Any) -> None:
        if isinstance(ev, AudioOut):
            return  # the hot event: nothing to do
        t = self.call.time()
        if isinstance(ev, TranscriptDelta):
            if ev.role is Role.MODEL and ev.turn in self._unapplied:
                self._apply_latency()
        elif isinstance(ev, UsageReport):  # usage after its turn's TurnComplete
            self.usage.add(ev.turn, ev.usage)
        elif isinstance(ev, TurnComplete):
            if ev.usage is not None:
                self.usage.add(ev.turn, ev.usage)
            self._apply_latency()
            u = ev.usage
            self.log.add(
                t,
                "turn",
                "turn complete",
                turn=ev.turn,
                prompt_tokens=u.prompt_tokens if u else None,
                response_tokens=u.response_tokens if u else None,
            )
        elif isinstance(ev, StateChanged):
            self._on_state(ev, t)
        elif isinstance(ev, Interrupted):
            self.log.add(t, "interrupted", "server: model turn interrupted", turn=ev.turn)
        elif isinstance(ev, GoAway):
            self.log.add(
                t, "goaway", "server will close the connection", time_left_s=ev.time_left_s
            )
        elif isinstance(ev, ToolCall):
            self._tool_started[ev.id] = t
            self.log.add(
                t, "tool", "tool call", name=ev.name[:60], id=ev.id[:40], n_args=len(ev.args)
            )
        elif isinstance(ev, ToolCallCancelled):
            for i in ev.ids:
                started = self._tool_started.pop(i, None)
                self.log.add(
                    t,
                    "tool",
                    "tool call cancelled",
                    id=i[:40],
                    ms=round(1000 * (t - started)) if started is not None else None,
                )
        elif isinstance(ev, SessionError):
            self.log.add(t, "error", ev.message, recoverable=ev.recoverable, code=ev.code)

    def _on_state(self, ev: StateChanged, t: float) -> None:
        stats = self.call.live_stats()
        if ev.state is SessionState.CONNECTING:
            self.log.add(t, "connect", "connecting")
        elif ev.state is SessionState.LIVE:
            self.log.add(
                t,
                "connect",
                "setup complete: live",
                connects=stats.connects if stats else None,
                resumed=bool(stats.resumes) if stats else None,
            )
        elif ev.state is SessionState.RECONNECTING:
            self.log.add(
                t, "reconnect", ev.reason or "reconnecting", attempt=ev.attempt, delay_s=ev.delay_s
            )
        else:
            self.log.add(t, "closed", ev.reason or "closed")

    def _apply_latency(self) -> None:
        call = self.call
        for turn, ms in list(self._unapplied.items()):
            if any(ln.turn == turn and ln.role is Role.MODEL for ln in call.lines[-8:]):
                call.set_latency(turn, ms)
                del self._unapplied[turn]
        if len(self._unapplied) > 50:
            self._unapplied.clear()

    # ---- periodic rendering --------------------------------------------------------------
    def meter_state(self) -> str:
        if time.monotonic() < self._interrupted_until:
            return "interrupted"
        return self.call.activity()

    def tick(self) -> bool:
        """Render what changed into the page's panels; True if anything was set."""
        self.ticks += 1
        if not self.visible:
            self._rendered.clear()  # render everything afresh when the panel is shown again
            self._meter_key = None
            return False
        call, changed = self.call, False
        b = self.bargein
        level = call.level_db()
        key = (round(level), self.meter_state(), call.barge_ins, b.resumed, b.dropped_total)
        if key != self._meter_key:
            self._meter_key = key
            call.set_panel(
                "metrics_meters",
                meters_html(level, key[1], key[2], b.resumed, b.dropped_total),
            )
            self.meter_updates += 1
            changed = True
        lkey = (self.latency.version, self.bargein.version)
        if self._rendered.get("latency") != lkey:
            self._rendered["latency"] = lkey
            call.set_panel("metrics_latency", latency_html(list(self.latency.recent), self.bargein))
            changed = True
        stats = call.live_stats()
        session_total = stats.usage if stats is not None else None
        ukey = (self.usage.version, session_total)
        if self._rendered.get("usage") != ukey:
            self._rendered["usage"] = ukey
            model = call.info.model
            prices = None if call.info.offline else self.prices  # the offline demo costs nothing
            call.set_panel(
                "metrics_usage",
                usage_html(self.usage.turns, self.usage.total, session_total, prices, model),
            )
            changed = True
        if self._rendered.get("log") != self.log.version:
            self._rendered["log"] = self.log.version
            call.set_panel("metrics_eventlog", eventlog_html(self.log.raw()))
            changed = True
        return changed

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            try:
                if self.tick():
                    self.call.wake()
            except Exception as exc:
                # Type only: exception text can carry a user's words.
                log.error("metrics tick failed (%s)", type(exc).__name__)

    async def close(self) -> None:
        if self.archive is not None:
            self.archive.keep_event_log(list(self.log.entries()))
        # Totals for the server log: counts only.
        log.info(
            "metrics turns=%d tokens=%d log_entries=%d",
            len(self.latency.by_turn),
            self.usage.total.total_tokens,
            self.log.total,
        )


def install(ctx: AppContext) -> None:
    try:
        prices: PriceTable | None = PriceTable.load()
    except (OSError, ValueError) as e:
        log.warning("price table not loaded (%s); costs are not shown", type(e).__name__)
        prices = None
    visible: dict[str, bool] = ctx.services.setdefault(VISIBLE_KEY, {})

    def factory(call: CallContext, links: Links) -> MetricsFeature:
        return MetricsFeature(call, prices, visible, archive=links.archive)

    ctx.features.append(factory)
    ctx.plugins.append(MetricsPlugin(ctx.services))


__all__ = ["MetricsFeature", "install"]
