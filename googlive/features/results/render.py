"""The Results panels as HTML/Markdown (pure): header, transcript, analysis, survey answers,
diagrams and the snapshot gallery's captions.

Everything from the model or the user (transcript, analysis, titles, survey text, answers,
reasons) is escaped before it reaches an HTML component: all of it is untrusted.
"""

from __future__ import annotations

from typing import Any

from googlive.features.results.archive_layout import format_clock
from googlive.features.results.archive_records import ArchivedSession
from googlive.features.results.past import duration_label, plural, when_label
from googlive.render import escape_text, mermaid_block

# One escaper for every panel (googlive.render.escape_text): its numeric entities are inert in
# gr.HTML as in gr.Markdown, so the Results HTML and the Markdown blocks share it.


# Colours are chosen for contrast of at least 4.5:1 on their backgrounds (WCAG AA text).
STYLE = """<style>
#results-transcript .rl{margin:4px 0;padding:6px 10px;border-radius:10px;white-space:pre-wrap}
#results-transcript .rl.user{background:#e8f0fe}
#results-transcript .rl.model{background:#f1f3f4}
#results-transcript .who{font-weight:600;margin-right:6px}
#results-transcript .t,#results-survey .t{color:#4d5156;font-size:.85em;margin-right:6px;
 font-variant-numeric:tabular-nums}
#results-analysis .err{background:#fce8e6;color:#a50e0e;padding:8px;border-radius:8px}
#results-analysis .warn{background:#fef7e0;padding:6px;border-radius:8px}
#results-analysis .offline-note{color:#4d5156}
#results-analysis pre{white-space:pre-wrap;max-height:300px;overflow:auto}
#results-analysis .spin{display:inline-block;width:14px;height:14px;border:2px solid #5f6368;
 border-top-color:transparent;border-radius:50%;animation:glspin 1s linear infinite;margin-right:8px}
@keyframes glspin{to{transform:rotate(360deg)}}
@media (prefers-reduced-motion: reduce){#results-analysis .spin{animation:none}}
#results-survey .sv-sum{font-weight:600}
#results-survey .sv-list{padding-left:0;list-style:none}
#results-survey .sv-q{margin:8px 0;padding:8px 10px;border-radius:8px;border-left:4px solid #9aa0a6;
 background:#f8f9fa}
#results-survey .sv-recorded{border-left-color:#137333}
#results-survey .sv-analysis{border-left-color:#1a73e8}
#results-survey .sv-unanswered{border-left-color:#b06000;background:#fef7e0;padding:4px 10px;margin:4px 0}
#results-survey .sv-unanswered .sv-qt{font-weight:500}
#results-survey .sv-qt{font-weight:600}
#results-survey .sv-a{margin-top:2px}
#results-survey .sv-val{display:inline-block;margin-left:6px;padding:0 6px;border-radius:6px;
 background:#e6f4ea;color:#0d652d;font-size:.9em}
#results-survey .sv-src,#results-survey .sv-alt,#results-survey .sv-opt{color:#4d5156;font-size:.85em}
#results-survey .sv-none{color:#8a4b00;font-weight:400;font-size:.9em;white-space:nowrap}
#results-survey .sv-ev{margin:4px 0 0 0;padding-left:18px;font-size:.9em}
#results-survey h5{margin:12px 0 4px}
</style>"""

EMPTY_HEADER = (
    '<div class="results-empty" data-state="empty">No session selected yet. Press '
    "<b>End session</b> after a conversation, or open one under <b>Past sessions</b>.</div>"
)


def transcript_html(session: ArchivedSession) -> str:
    """The archived transcript: speaker and session time per line; all text escaped."""
    if not session.transcript:
        return '<div class="empty">This session has no transcript.</div>'
    out = []
    for ln in session.transcript:
        role = ln.role if ln.role in ("user", "model") else "other"
        who = {"user": "You", "model": "Gemini"}.get(ln.role, ln.role)
        meta = format_clock(ln.t_s)
        if ln.latency_ms is not None:
            meta += f" · {ln.latency_ms:.0f} ms"
        out.append(
            f'<div class="rl {role}" data-turn="{int(ln.turn)}"><span class="t">{escape_text(meta)}</span>'
            f'<span class="who">{escape_text(who)}</span>{escape_text(ln.text)}</div>'
        )
    return "".join(out)


def header_html(session: ArchivedSession, tz_name: str | None = None) -> str:
    """Title, local start time, length, turns and where it ran."""
    meta = session.meta
    started = meta.get("started_unix")
    bits = [
        when_label(started if isinstance(started, int | float) else None, tz_name),
        duration_label(session.duration_s),
        plural(session.user_turns, "turn") + " from you",
    ]
    if meta.get("backend") == "offline":
        bits.append("offline demo")
    if isinstance(meta.get("model"), str) and meta.get("backend") != "offline":
        bits.append(f"model {meta['model']}")
    if not session.closed:
        bits.append("not closed cleanly (the page or server stopped early)")
    return (
        f'{STYLE}<div class="results-head" data-session="{escape_text(session.session_id)}">'
        f"<h2>{escape_text(session.title)}</h2><div>{escape_text(' · '.join(bits))}</div></div>"
    )


def _list(title: str, items: list[str]) -> str:
    if not items:
        return ""
    lis = "".join(f"<li>{escape_text(x)}</li>" for x in items)
    return f"<h4>{escape_text(title)}</h4><ul>{lis}</ul>"


def analysis_html(
    data: dict[str, Any] | None, *, running: bool = False, survey_shown: bool = False
) -> str:
    """The analysis panel: running, none yet, failed (message + raw reply), or the result.

    `survey_shown`: the survey panel shows the answers (reconciled), so they are left out here.
    """
    if running:
        return (
            f'{STYLE}<div class="analysis" data-state="running"><span class="spin"></span>'
            "Analysing the conversation… this can take a minute.</div>"
        )
    if not data:
        return (
            '<div class="analysis" data-state="none">No analysis yet for this session. '
            "Press <b>Analyse</b> to run it.</div>"
        )
    offline = bool(data.get("offline"))
    state = "done" if data.get("ok") else "error"
    out = [
        f'{STYLE}<div class="analysis" data-state="{state}" data-offline="{str(offline).lower()}">'
    ]
    if not data.get("ok"):
        msg = data.get("error") or "The analysis failed."
        out.append(
            f'<div class="err">{escape_text(msg)} The rest of this page is unaffected; '
            "press <b>Analyse</b> to try again.</div>"
        )
        raw = data.get("raw_text")
        if isinstance(raw, str) and raw:
            out.append(
                f"<details open><summary>Raw reply from the model</summary>"
                f"<pre>{escape_text(raw)}</pre></details>"
            )
        out.append("</div>")
        return "".join(out)
    for w in data.get("warnings") or []:
        out.append(f'<div class="warn">{escape_text(w)}</div>')
    a = data.get("analysis") or {}
    heading = "What the transcript shows" if offline else "Summary"
    out.append(f'<h4>{heading}</h4><p class="summary">{escape_text(a.get("summary", ""))}</p>')
    out.append(
        _list(
            "What you typed" if offline else "Key points",
            [str(x) for x in a.get("key_points") or []],
        )
    )
    out.append(_list("Decisions", [str(x) for x in a.get("decisions") or []]))
    actions = []
    for it in a.get("action_items") or []:
        if not isinstance(it, dict):
            continue
        text = str(it.get("description", ""))
        extra = [
            f"owner: {it['owner']}" if it.get("owner") else "",
            f"due: {it['due']}" if it.get("due") else "",
        ]
        extra_s = ", ".join(x for x in extra if x)
        actions.append(text + (f" ({extra_s})" if extra_s else ""))
    out.append(_list("Action items", actions))
    out.append(_list("Open questions", [str(x) for x in a.get("open_questions") or []]))
    answers = [x for x in a.get("survey_answers") or [] if isinstance(x, dict)]
    if answers and not survey_shown:
        out.append("<h4>Survey answers</h4><ol>")
        for ans in answers:
            conf = ans.get("confidence")
            conf_s = f" (confidence {float(conf):.0%})" if isinstance(conf, int | float) else ""
            ev = "".join(
                f"<li>[{escape_text(e.get('time', ''))}] “{escape_text(e.get('quote', ''))}”</li>"
                for e in ans.get("evidence") or []
                if isinstance(e, dict)
            )
            answer = ans.get("answer") or "(not answered)"
            out.append(
                f"<li><b>{escape_text(ans.get('question', ''))}</b><br>{escape_text(answer)}"
                f"{escape_text(conf_s)}{f'<ul>{ev}</ul>' if ev else ''}</li>"
            )
        out.append("</ol>")
    out.append("</div>")
    return "".join(out)


def ordered_diagrams(session: ArchivedSession) -> list[Any]:
    return sorted(session.diagrams, key=lambda d: (d.t if d.t is not None else float("inf"), d.id))


def diagram_label(i: int, d: Any) -> str:
    title = " ".join((d.title or "").split()) or "Diagram"
    return f"{i}. {title} · at {format_clock(d.t)}"


def diagrams_markdown(session: ArchivedSession) -> str:
    """Every diagram in the order drawn, each under a heading with its session time."""
    ds = ordered_diagrams(session)
    if not ds:
        return "*No diagrams in this session.*"
    parts = []
    for i, d in enumerate(ds, 1):
        parts += [f"<h4>{escape_text(diagram_label(i, d))}</h4>", "", mermaid_block(d.source), ""]
    return "\n".join(parts)


def snapshot_gallery(session: ArchivedSession) -> list[tuple[str, str]]:
    """(image path, caption) per snapshot: the session time and why it was taken."""
    out = []
    for s in session.snapshots:
        t = s.meta.get("t_s")
        reason = s.meta.get("reason") or s.meta.get("description") or ""
        caption = format_clock(t if isinstance(t, int | float) else None)
        if isinstance(reason, str) and reason:
            caption += " · " + " ".join(reason.split())[:120]
        out.append((str(s.path), caption))
    return out
