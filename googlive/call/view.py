"""How the call looks on the page: the status line, the transcript with its tool cards and
notes, the controls next to the video, and the page script that drives them.

Pure rendering (strings in, HTML out). Every piece of text that comes from the model, a tool
or the user is escaped: model output is never markup.
"""

from __future__ import annotations

import html
from functools import cache
from typing import TYPE_CHECKING, Any

from googlive import paths
from googlive.call import toolcards
from googlive.conversation import Card, Conversation, Line
from googlive.render import escape_text

if TYPE_CHECKING:
    from googlive.handler import UiUpdate

WEB_DIR = paths.WEB
PAGE_SCRIPTS = ("call.js", "callcues.js")  # googlive/web/, into the page's <head> in order

IDLE = "Ready — press Start conversation to talk."
IDLE_OFFLINE = " (Offline demo: replies come from the local demo server, not Gemini.)"
EMPTY_TRANSCRIPT = '<div class="empty">The transcript appears here.</div>'

CSS = """
#status { font-weight: 600; }
#status .st { padding: 6px 10px; border-radius: 8px; display: inline-block; }
#status .st-live { background: #e6f4ea; color: #137333; }
#status .st-connecting, #status .st-reconnecting, #status .st-ending,
#status .st-interrupted { background: #fef7e0; color: #8a5a00; }
#status .st-failed { background: #fce8e6; color: #a50e0e; }
#status .st-ended, #status .st-idle { background: #f1f3f4; color: #3c4043; }
#status .badge { display: inline-block; margin-left: 8px; padding: 4px 8px; border-radius: 999px;
  background: #e8eaed; color: #3c4043; font-weight: 500; font-size: 0.9em; }
#status .badge-screen { background: #e8f0fe; color: #174ea6; }
#transcript { max-height: 480px; overflow-y: auto; }
#transcript .line { margin: 4px 0; padding: 6px 10px; border-radius: 10px; white-space: pre-wrap; }
#transcript .user { background: #e8f0fe; }
#transcript .model { background: #f1f3f4; }
#transcript .who { font-weight: 600; margin-right: 6px; }
#transcript .meta { color: #5f6368; font-size: 0.85em; margin-left: 6px; }
#transcript .cut { color: #a50e0e; font-size: 0.85em; margin-left: 6px; }
#transcript .card { margin: 4px 24px; padding: 4px 10px; border-left: 3px solid #dadce0;
  font-size: 0.9em; color: #3c4043; white-space: pre-wrap; }
#transcript .card.tool.running { border-color: #f9ab00; }
#transcript .card.tool.ok { border-color: #34a853; }
#transcript .card.tool.error, #transcript .card.tool.cancelled { border-color: #d93025; }
#transcript .card .ct { color: #5f6368; margin-right: 6px; }
#transcript .card .cr { margin-left: 6px; }
#transcript .card.error .cr { color: #a50e0e; }
#transcript .card a { margin-left: 6px; }
.turn-warning { background: #fef7e0; padding: 8px; border-radius: 8px; }
#call-bar { display: flex; flex-wrap: wrap; align-items: center; gap: 6px; margin: 6px 0; }
#call-bar .cbtn { padding: 6px 12px; border-radius: 999px; border: 1px solid #dadce0;
  background: #fff; color: #202124; font-weight: 500; cursor: pointer; min-height: 36px; }
#call-bar .cbtn[aria-pressed="true"] { background: #fce8e6; border-color: #d93025; color: #a50e0e; }
#call-bar .cbtn:disabled { opacity: 0.55; cursor: default; }
#call-bar .cbtn:focus-visible { outline: 3px solid #1a73e8; outline-offset: 2px; }
#speaking-cue { display: inline-flex; align-items: center; gap: 6px; padding: 4px 10px;
  border-radius: 999px; color: #5f6368; }
#speaking-cue[data-speaking="true"] { background: #e8f0fe; color: #174ea6; font-weight: 600; }
#speaking-cue .meter { display: inline-block; width: 64px; height: 8px; border-radius: 4px;
  background: #e8eaed; overflow: hidden; }
#speaking-cue .lvl { display: block; height: 100%; width: 0%; background: #1a73e8;
  transition: width 80ms linear; }
#call-timer { margin-left: auto; font-variant-numeric: tabular-nums; color: #5f6368; }
#call-timer.warn { color: #a50e0e; font-weight: 600; }
#call-notice:empty { display: none; }
#call-notice > div { background: #fef7e0; color: #5f4300; padding: 6px 10px; border-radius: 8px;
  margin: 4px 0; }
#text-note .refused { color: #a50e0e; margin: 2px 4px; }
#call-backend { color: #3c4043; font-size: 0.95em; }
#key-status .key-error { color: #a50e0e; font-weight: 600; }
#key-status .key-note { color: #5f4300; }
@media (max-width: 720px) {
  /* Phones: the video, its controls and the transcript first, without scrolling; then the
     rest. The two columns are flattened so their parts can be ordered as one list. */
  #call-row { flex-direction: column; flex-wrap: nowrap; }
  #call-col, #side-col { display: contents; }
  #call-row > * , #call-col > *, #side-col > * { order: 20; }
  #webrtc { order: 1; }
  #webrtc video { max-height: 34vh; }
  #call-controls { order: 2; }
  #transcript { order: 3; max-height: 30vh; }
  #text-row { order: 4; }
  #text-note { order: 5; }
  #call-timer { margin-left: 0; }
}
"""


@cache
def page_head() -> str:
    """The page script(s), inline in the <head> (they must run before FastRTC's component
    makes its first getUserMedia call or peer connection)."""
    parts = []
    for name in PAGE_SCRIPTS:
        code = (WEB_DIR / name).read_text(encoding="utf-8")
        parts.append(f"<script>\n{code}\n</script>")
    return "\n".join(parts)


def fmt_time(t: float) -> str:
    m, s = divmod(max(0, int(t)), 60)
    return f"{m:02d}:{s:02d}"


def badges(conv: Conversation) -> list[tuple[str, str]]:
    """(class, text) of the device badges next to the status while the call runs."""
    if conv.final:
        return []
    m = conv.media
    out = []
    if m.mic == "off":
        out.append(("badge-mic", "Mic muted"))
    elif m.mic == "missing":
        out.append(("badge-mic", "No microphone — type to Gemini"))
    if m.screen:
        out.append(("badge-screen", "Sharing your screen"))
    elif m.camera == "off":
        out.append(("badge-cam", "Camera off"))
    elif m.camera == "missing":
        out.append(("badge-cam", "No camera"))
    return out


def status_html(conv: Conversation | None, *, idle_offline: bool = False) -> str:
    if conv is None:
        text = IDLE + (IDLE_OFFLINE if idle_offline else "")
        return f'<span class="st st-idle" data-state="idle">{html.escape(text)}</span>'
    st = conv.status
    m = conv.media
    out = [
        f'<span class="st st-{html.escape(st.kind)}" data-state="{html.escape(st.kind)}" '
        f'data-mic="{html.escape(m.mic)}" data-camera="{html.escape(m.camera)}" '
        f'data-screen="{"on" if m.screen else "off"}">{html.escape(st.text())}</span>'
    ]
    for cls, text in badges(conv):
        out.append(f'<span class="badge {cls}">{html.escape(text)}</span>')
    return "".join(out)


def line_html(ln: Line) -> str:
    who = "You" if ln.role.value == "user" else "Gemini"
    meta = fmt_time(ln.start_s)
    if ln.latency_ms is not None:
        meta += f" · {ln.latency_ms:.0f} ms"
    cut = (
        '<span class="cut" title="You interrupted here">interrupted</span>'
        if ln.interrupted
        else ""
    )
    return (
        f'<div class="line {ln.role.value}" data-turn="{ln.turn}"><span class="who">{who}</span>'
        f"{escape_text(ln.text)}"
        f'<span class="meta">{escape_text(meta)}</span>{cut}</div>'
    )


RUNNING = {"running": "…", "cancelled": "Cancelled"}


def card_html(card: Card) -> str:
    t = f'<span class="ct">{escape_text(fmt_time(card.t_s))}</span>'
    if card.kind == "note":
        return f'<div class="card note" data-kind="note">{t}{escape_text(card.title)}</div>'
    result = card.detail or RUNNING.get(card.state, "")
    link = ""
    target = toolcards.panel(card.name)
    if target and card.state == "ok":
        link = f'<a href="#{target}" data-panel="{target}">show</a>'
    attr = html.escape
    return (
        f'<div class="card tool {attr(card.state)}" data-kind="tool" '
        f'data-tool="{attr(card.name)}" data-state="{attr(card.state)}">{t}'
        f'<span class="cq">{escape_text(card.title)}</span>'
        f'<span class="cr">{escape_text(result)}</span>{link}</div>'
    )


def transcript_html(conv: Conversation) -> str:
    """The transcript, newest last, with tool cards and notes where they happened in time.
    Every piece of model or user text is escaped."""
    if not conv.lines and not conv.cards:
        return EMPTY_TRANSCRIPT
    cards = sorted(conv.cards, key=lambda c: c.t_s)
    out, i = [], 0
    for ln in conv.lines:
        while i < len(cards) and cards[i].t_s < ln.start_s:
            out.append(card_html(cards[i]))
            i += 1
        out.append(line_html(ln))
    out.extend(card_html(c) for c in cards[i:])
    return "".join(out)


def call_controls_html(time_limit_s: float, connect_timeout_s: float = 8.0) -> str:
    """The controls next to the video (googlive/web/call.js gives them life), the speaking
    cue with its output meter, the call timer and the notice line for device problems.
    `connect_timeout_s` is the server's (RtcGuard): the page gives up a call that has not
    connected a little after the server has."""
    return f"""
<div id="call-bar" role="toolbar" aria-label="Call controls"
  data-connect-timeout="{max(1.0, float(connect_timeout_s)):.1f}">
  <button type="button" id="mic-btn" class="cbtn" aria-pressed="false"
    title="Stop sending your microphone (Gemini hears nothing until you unmute)">Mute mic</button>
  <button type="button" id="cam-btn" class="cbtn" aria-pressed="false"
    title="Stop sending your camera (Gemini is told it can't see you)">Camera off</button>
  <button type="button" id="screen-btn" class="cbtn" aria-pressed="false" disabled
    title="Show Gemini your screen instead of your camera (during a conversation)">Share screen</button>
  <span id="speaking-cue" data-speaking="false" data-level="-120" aria-live="polite">
    <span class="cue-text">Gemini is quiet</span>
    <span class="meter" aria-hidden="true"><span class="lvl"></span></span>
  </span>
  <span id="call-timer" data-limit="{int(time_limit_s)}" aria-label="Call time">--:--</span>
</div>
<div id="call-notice" role="status" aria-live="polite"></div>
"""


def backend_html(label: str) -> str:
    return f'<div class="backend">This call will use: <b>{html.escape(label)}</b></div>'


def text_note_html(reason: str) -> str:
    return f'<div class="refused" role="alert">{html.escape(reason)}</div>' if reason else ""


def panel_value(conv: Conversation, name: str, initial: dict[str, Any] | None = None) -> Any:
    """What panel `name` shows for `conv` (its initial value if the call never set it)."""
    if name == "status":
        return status_html(conv)
    if name == "transcript":
        return transcript_html(conv)
    if name in conv.panels:
        return conv.panels[name]
    return (initial or {}).get(name)


def panel_values(
    update: UiUpdate, sent: dict[str, int], initial: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The panels whose version changed since `sent`, rendered; updates `sent`. The first
    update of a conversation (`sent` empty) carries every panel in `initial`: a new call starts
    clean, without the previous call's transcript, snapshot or diagram."""
    conv = update.conversation
    out: dict[str, Any] = {}
    if not sent and initial is not None:
        out = {name: panel_value(conv, name, initial) for name in initial}
        sent.update(conv.versions)
        sent.setdefault("", 0)  # not empty any more
        return out
    for name, version in list(conv.versions.items()):
        if sent.get(name) == version:
            continue
        sent[name] = version
        out[name] = panel_value(conv, name)
    return out
