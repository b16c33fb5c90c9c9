"""Rendering of the diagnostics panel (pure: state in, escaped HTML/SVG out) and its UiPlugin.

Every piece of text is escaped; the SVG chart is generated here and carries no script.
"""

from __future__ import annotations

import html
import json
import statistics
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from googlive.features.metrics.bargein import BargeInStats
from googlive.features.metrics.eventlog import KINDS, Entry
from googlive.features.metrics.latency import TurnLatency
from googlive.features.metrics.usage import PriceTable, TurnUsage
from googlive.live.events import Usage

if TYPE_CHECKING:
    from googlive.ui import PageBuild

STYLE = """<style>
#metrics-panel .mx-card { border: 1px solid #dadce0; border-radius: 10px; padding: 8px 10px; margin: 4px 0; background: #fff; }
#metrics-panel .mx-h { font-weight: 600; color: #3c4043; font-size: 0.9em; margin-bottom: 4px; }
#metrics-panel .mx-big { font-size: 1.4em; font-weight: 600; color: #202124; }
#metrics-panel .mx-sub { color: #5f6368; font-size: 0.85em; }
#metrics-meters .mx-row { display: flex; align-items: center; gap: 10px; }
#metrics-meters .mx-bar { flex: 1; height: 12px; background: #f1f3f4; border-radius: 6px; overflow: hidden; }
#metrics-meters .mx-fill { height: 100%; background: linear-gradient(90deg, #34a853, #fbbc04 75%, #ea4335); }
#metrics-meters .mx-state { padding: 3px 10px; border-radius: 12px; font-weight: 600; font-size: 0.85em; white-space: nowrap; }
#metrics-meters .mx-listening { background: #f1f3f4; color: #3c4043; }
#metrics-meters .mx-user { background: #e8f0fe; color: #1967d2; }
#metrics-meters .mx-model { background: #e6f4ea; color: #137333; }
#metrics-meters .mx-interrupted { background: #fce8e6; color: #a50e0e; }
#metrics-meters .mx-paused { background: #fef7e0; color: #b06000; }
#metrics-usage table { width: 100%; border-collapse: collapse; font-size: 0.85em; }
#metrics-usage td, #metrics-usage th { text-align: right; padding: 2px 6px; border-bottom: 1px solid #f1f3f4; }
#metrics-usage td:first-child, #metrics-usage th:first-child { text-align: left; }
#metrics-eventlog { max-height: 260px; overflow-y: auto; font-family: ui-monospace, monospace; font-size: 0.8em; }
#metrics-eventlog .ev { padding: 1px 4px; border-bottom: 1px solid #f1f3f4; }
#metrics-eventlog .ev-t { color: #5f6368; margin-right: 6px; }
#metrics-eventlog .ev-k { display: inline-block; min-width: 78px; font-weight: 600; }
#metrics-eventlog .ev[data-kind="error"] .ev-k, #metrics-eventlog .ev[data-kind="reconnect"] .ev-k { color: #a50e0e; }
#metrics-eventlog .ev[data-kind="barge-in"] .ev-k, #metrics-eventlog .ev[data-kind="interrupted"] .ev-k { color: #b06000; }
#metrics-eventlog .ev-f { color: #5f6368; }
</style>"""

FILTER_JS = """
(kinds) => {
  const all = __KINDS__;
  let st = document.getElementById('metrics-evlog-filter');
  if (!st) { st = document.createElement('style'); st.id = 'metrics-evlog-filter'; document.head.appendChild(st); }
  st.textContent = all.filter(k => !(kinds || []).includes(k))
    .map(k => '#metrics-eventlog .ev[data-kind="' + k + '"]{display:none}').join('\\n');
  return kinds;
}
""".replace("__KINDS__", json.dumps(list(KINDS)))

LEVEL_FLOOR_DB = -70.0
STATE_LABELS = {
    "listening": "Listening",
    "user": "You are speaking",
    "model": "Model is speaking",
    "interrupted": "Interrupted",
    "paused": "Model paused",
}

EMPTY = '<div class="mx-sub">%s</div>'


def e(x: Any) -> str:
    return html.escape(str(x), quote=True)


# ---- meters ---------------------------------------------------------------------------------
def level_percent(level_db: float) -> int:
    if level_db != level_db:  # NaN
        return 0
    x = (max(LEVEL_FLOOR_DB, min(0.0, level_db)) - LEVEL_FLOOR_DB) / -LEVEL_FLOOR_DB
    return round(100 * x)


def meters_html(
    level_db: float, state: str, barge_ins: int, resumed: int = 0, dropped: int = 0
) -> str:
    pct = level_percent(level_db)
    label = STATE_LABELS.get(state, "Listening")
    shown_db = max(LEVEL_FLOOR_DB, level_db) if level_db == level_db else LEVEL_FLOOR_DB
    return (
        f'<div class="mx-card"><div class="mx-h">Input level and who is speaking</div>'
        f'<div class="mx-row"><span class="mx-state mx-{e(state)}" data-state="{e(state)}">{e(label)}</span>'
        f'<div class="mx-bar" title="microphone level"><div class="mx-fill" style="width:{pct}%"></div></div>'
        f'<span class="mx-sub" data-level="{shown_db:.0f}">{shown_db:.0f} dBFS</span></div>'
        f'<div class="mx-sub" data-barge-ins="{int(barge_ins)}" data-resumed="{int(resumed)}" '
        f'data-dropped="{int(dropped)}">barge-ins: {int(barge_ins)} · answer went on: {int(resumed)}'
        f" · dropped: {int(dropped)}</div></div>"
    )


# ---- latency --------------------------------------------------------------------------------
def latency_svg(values_ms: Sequence[float], *, width: int = 320, height: int = 90) -> str:
    """A bar chart of the last turns' latencies; numbers only, no script."""
    vals = [max(0.0, float(v)) for v in values_ms][-20:]
    if not vals:
        return ""
    top = max(1000.0, max(vals) * 1.15)
    pad_l, pad_b, pad_t = 34, 14, 6
    plot_w, plot_h = width - pad_l - 4, height - pad_b - pad_t
    slot = plot_w / 20
    bw = max(3.0, slot * 0.7)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="voice-to-voice latency, last {len(vals)} turns">'
    ]
    for frac in (0.0, 0.5, 1.0):
        y = pad_t + plot_h * (1 - frac)
        parts.append(
            f'<line x1="{pad_l}" y1="{y:.1f}" x2="{width - 4}" y2="{y:.1f}" stroke="#e8eaed"/>'
        )
        parts.append(
            f'<text x="{pad_l - 4}" y="{y + 3:.1f}" font-size="9" text-anchor="end" fill="#5f6368">'
            f"{top * frac / 1000:.1f}s</text>"
        )
    for i, v in enumerate(vals):
        h = plot_h * v / top
        x = pad_l + i * slot + (slot - bw) / 2
        y = pad_t + plot_h - h
        color = "#1a73e8" if v < 1000 else ("#f9ab00" if v < 2000 else "#d93025")
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bw:.1f}" height="{h:.1f}" rx="1.5" fill="{color}">'
            f"<title>{v:.0f} ms</title></rect>"
        )
    parts.append(
        f'<text x="{pad_l}" y="{height - 2}" font-size="9" fill="#5f6368">last {len(vals)} turns</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def latency_html(recent: Sequence[TurnLatency], bargein: BargeInStats | None = None) -> str:
    extra = bargein_html(bargein) if bargein is not None else ""
    if not recent:
        return (
            '<div class="mx-card"><div class="mx-h">Voice-to-voice latency</div>'
            + EMPTY
            % "Appears after the first reply: from the end of your speech (or Send) "
            "to the first model audio handed to the browser." + "</div>" + extra
        )
    last = recent[-1]
    vals = [x.ms for x in recent]
    med = statistics.median(vals)
    return (
        f'<div class="mx-card"><div class="mx-h">Voice-to-voice latency</div>'
        f'<div><span class="mx-big" data-latency-ms="{last.ms:.0f}">{last.ms:.0f} ms</span> '
        f'<span class="mx-sub">turn {int(last.turn) + 1} · from {"Send" if last.source == "text" else "end of speech"}'
        f" · median {med:.0f} ms over {len(vals)}</span></div>"
        f"{latency_svg(vals)}</div>" + extra
    )


REASONS = {
    "server": "Gemini stopped",
    "new_turn": "Gemini moved on",
    "talk_limit": "you kept talking",
    "local": "cut at once",
}


def bargein_html(b: BargeInStats) -> str:
    """When you talked over the model: paused and resumed (a backchannel) vs dropped."""
    head = (
        '<div class="mx-card" id="metrics-bargein"><div class="mx-h">Talking over the model</div>'
    )
    if not b.pauses and not b.recent:
        return (
            head
            + EMPTY
            % "Nothing yet: speak while the model talks to see whether it pauses and goes on."
            + "</div>"
        )
    parts = [
        head,
        f'<div class="mx-sub" data-pauses="{b.pauses}" data-resumed="{b.resumed}" '
        f'data-dropped="{b.dropped_total}">paused {b.pauses}× · answer went on {b.resumed}× · '
        f"dropped {b.dropped_total}×",
    ]
    if b.dropped:
        parts.append(
            " ("
            + ", ".join(f"{e(REASONS.get(k, k))} {v}" for k, v in sorted(b.dropped.items()))
            + ")"
        )
    parts.append("</div>")
    med_r, med_d = b.median_resume_ms(), b.median_pause_before_drop_ms()
    if med_r is not None:
        parts.append(
            f'<div class="mx-sub">resumed a median <span data-resume-ms="{med_r:.0f}">{med_r:.0f} ms</span>'
            " after your sound ended</div>"
        )
    if med_d is not None:
        parts.append(
            f'<div class="mx-sub">paused a median {med_d:.0f} ms before a real interruption dropped it</div>'
        )
    if b.recent:
        o = b.recent[-1]
        if o.kind == "resumed":
            txt = f"last: turn {o.turn} paused {o.paused_ms or 0:.0f} ms, went on (repeated {o.replay_ms:.0f} ms)"
        else:
            how = (
                f"after a {o.paused_ms:.0f} ms pause"
                if o.paused_ms is not None
                else "while playing"
            )
            txt = f"last: turn {o.turn} dropped {how}: {REASONS.get(o.reason, o.reason)}"
        parts.append(f'<div class="mx-sub" data-last="{e(o.kind)}">{e(txt)}</div>')
    parts.append("</div>")
    return "".join(parts)


# ---- usage ----------------------------------------------------------------------------------
def fmt_cost(cost: float | None, currency: str) -> str:
    if cost is None:
        return "—"
    sym = "$" if currency == "USD" else currency + " "
    return f"{sym}{cost:.4f}"


def usage_html(
    turns: Sequence[TurnUsage],
    total: Usage,
    session_total: Usage | None,
    prices: PriceTable | None,
    model: str,
) -> str:
    head = '<div class="mx-card"><div class="mx-h">Token usage (from usageMetadata)</div>'
    if not turns and (session_total is None or not session_total.total_tokens):
        return head + EMPTY % "Appears when the model finishes its first turn." + "</div>"
    currency = prices.currency if prices else "USD"

    def cost(u: Usage) -> str:
        return fmt_cost(prices.cost(model, u) if prices else None, currency)

    sess = session_total if session_total is not None else total
    rows = "".join(
        f"<tr><td>turn {int(t.turn) + 1}</td><td>{t.usage.input_tokens}</td><td>{t.usage.output_tokens}</td>"
        f"<td>{cost(t.usage)}</td></tr>"
        for t in list(turns)[-5:]
    )
    note = ""
    if prices is not None:
        _, exact = prices.for_model(model)
        note = (
            f"Estimated cost from the price table ({e(prices.as_of) or 'undated'}"
            f"{'' if exact else ', default prices for this model'}); input (prompt and tool-use "
            "prompt) priced at the audio input rate, output (speech and thoughts) at the audio output rate."
        )
    return (
        head
        + f'<div><span class="mx-big" data-session-tokens="{sess.total_tokens}">{sess.total_tokens:,} tokens</span> '
        f'<span class="mx-sub">this session · in {sess.input_tokens:,} · out {sess.output_tokens:,} · '
        f"≈ <span data-cost>{cost(sess)}</span></span></div>"
        f"<table><tr><th>recent</th><th>in</th><th>out</th><th>≈ cost</th></tr>{rows}</table>"
        f'<div class="mx-sub">{note}</div></div>'
    )


# ---- event log ------------------------------------------------------------------------------
def fmt_t(t: float) -> str:
    m, s = divmod(max(0.0, t), 60)
    return f"{int(m):02d}:{s:06.3f}"


def eventlog_html(entries: Sequence[Entry], limit: int = 200) -> str:
    """Newest first; each line carries data-kind so the page can filter it."""
    if not entries:
        return EMPTY % "No events yet."
    out = []
    for en in list(entries)[-limit:][::-1]:
        fields = " ".join(f"{e(k)}={e(v)}" for k, v in en.fields)
        out.append(
            f'<div class="ev" data-kind="{e(en.kind)}"><span class="ev-t">{fmt_t(en.t)}</span>'
            f'<span class="ev-k">{e(en.kind)}</span> {e(en.msg)} <span class="ev-f">{fields}</span></div>'
        )
    return "".join(out)


# ---- page -----------------------------------------------------------------------------------
VISIBLE_KEY = "metrics.visible"


def new_owner_id() -> str:
    from googlive.ui import new_owner_id as make

    return make()


class MetricsPlugin:
    """A "Show diagnostics" toggle and the hidden diagnostics column it reveals."""

    def __init__(self, services: dict[str, Any]) -> None:
        self.services = services
        self.toggle: Any = None
        self.column: Any = None
        self.kinds: Any = None

    def controls(self, b: PageBuild) -> None:
        pass

    def side(self, b: PageBuild) -> None:
        import gradio as gr

        self.toggle = gr.Checkbox(
            False,
            label="Show diagnostics (latency, levels, usage, event log)",
            elem_id="diagnostics-toggle",
        )
        with gr.Column(visible=False, elem_id="metrics-panel") as col:
            self.column = col
            gr.HTML(STYLE, elem_id="metrics-style", padding=False)
            b.add_panel(
                "metrics_meters",
                gr.HTML(
                    meters_html(-120.0, "listening", 0), elem_id="metrics-meters", padding=False
                ),
            )
            b.add_panel(
                "metrics_latency",
                gr.HTML(latency_html([]), elem_id="metrics-latency", padding=False),
            )
            b.add_panel(
                "metrics_usage",
                gr.HTML(
                    usage_html([], Usage(), None, None, ""), elem_id="metrics-usage", padding=False
                ),
            )
            with gr.Accordion("Event log", open=False, elem_id="metrics-eventlog-acc"):
                self.kinds = gr.CheckboxGroup(
                    list(KINDS), value=list(KINDS), label="Show kinds", elem_id="metrics-kinds"
                )
                b.add_panel(
                    "metrics_eventlog",
                    gr.HTML(EMPTY % "No events yet.", elem_id="metrics-eventlog", padding=False),
                )

    def tab(self, b: PageBuild) -> None:
        pass

    def wire(self, b: PageBuild) -> None:
        import gradio as gr

        visible: dict[str, bool] = self.services.setdefault(VISIBLE_KEY, {})

        def on_toggle(show: bool, owner: str | None) -> Any:
            # The page may not have its owner id yet (toggled right after loading): make it here.
            owner = owner or new_owner_id()
            if len(visible) > 10_000:
                visible.clear()
            visible[owner] = bool(show)
            return gr.update(visible=bool(show)), owner

        self.toggle.change(
            on_toggle,
            [self.toggle, b.owner],
            [self.column, b.owner],
            show_progress="hidden",
            queue=False,
        )
        self.kinds.change(None, [self.kinds], None, js=FILTER_JS)
