"""Safe rendering of model- and user-controlled text for the page.

Everything here promises that the returned string, put into `gr.HTML` or `gr.Markdown`, cannot
inject HTML elements or attributes, script, Markdown links or images, or break out of a
```mermaid block: text is escaped to HTML entities, including the characters Markdown treats
as syntax (so `[x](javascript:...)`, `![x](http://evil/)` and backtick fences stay plain text).

Use `gr.Markdown(..., latex_delimiters=[])` for the diagram panel: gradio's KaTeX auto-render
would otherwise rewrite `$...$` inside diagrams before mermaid reads them.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from googlive.features.tools.mermaid_check import check_safety

if TYPE_CHECKING:
    from googlive.features.tools.diagram import Diagram
    from googlive.features.tools.picture import Snapshot

# HTML specials plus Markdown/LaTeX syntax characters, as numeric entities: browsers render them
# as the characters, while neither HTML nor Markdown nor the latex pass sees syntax in them.
_ENTITIES = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "'": "&#39;",
    "`": "&#96;",
    "[": "&#91;",
    "]": "&#93;",
    "(": "&#40;",
    ")": "&#41;",
    "!": "&#33;",
    "*": "&#42;",
    "_": "&#95;",
    "~": "&#126;",
    "#": "&#35;",
    "|": "&#124;",
    "\\": "&#92;",
    "$": "&#36;",
    ":": "&#58;",
    "=": "&#61;",
}
_TABLE = str.maketrans(_ENTITIES)
_CONTROL = str.maketrans({c: " " for c in range(32) if c not in (9, 10)} | {0x7F: " "})


def escape_text(text: object) -> str:
    """The text as inert HTML/Markdown: every markup-significant character becomes an entity."""
    return str(text).translate(_CONTROL).translate(_TABLE)


def _escape_multiline(text: object) -> str:
    # Newlines become <br> so a blank line can never end an HTML block inside gr.Markdown.
    return "<br>".join(escape_text(part) for part in str(text).split("\n"))


def _clock(t: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t))


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    """One line of the conversation; `time` is Unix seconds, `latency_ms` optional."""

    role: str
    text: str
    time: float
    latency_ms: float | None = None


_ROLE_LABEL = {"user": "You", "model": "Gemini"}


def render_transcript_html(lines: Iterable[TranscriptLine]) -> str:
    """The transcript as a <div> of lines: role, time, optional latency, escaped text."""
    out = ['<div class="gl-transcript">']
    for ln in lines:
        role = str(getattr(ln.role, "value", ln.role))
        role_cls = role if role in _ROLE_LABEL else "other"
        label = _ROLE_LABEL.get(role, role)
        meta = _clock(ln.time)
        if ln.latency_ms is not None:
            meta += f" · {float(ln.latency_ms):.0f} ms"
        out.append(
            f'<div class="gl-line gl-{role_cls}"><span class="gl-role">{escape_text(label)}</span> '
            f'<span class="gl-meta">{escape_text(meta)}</span> '
            f'<span class="gl-text">{_escape_multiline(ln.text)}</span></div>'
        )
    out.append("</div>")
    return "".join(out)


def render_snapshot_caption(snapshot: Snapshot) -> str:
    """A one-line caption for a snapshot (time, size, escaped reason), safe as HTML or Markdown."""
    caption = f"{_clock(snapshot.time)} · {snapshot.width}×{snapshot.height}"
    if snapshot.reason:
        caption += f" · {snapshot.reason}"
    return escape_text(" ".join(caption.split()))


# Added after the safety gate, by this app (never from model text): labels are drawn as SVG text,
# not HTML in <foreignObject>. Gradio 5.50 calls mermaid.initialize({securityLevel: "antiscript"})
# before each render (MarkdownCode-*.js), which resets the site config, so a per-diagram
# directive is the one place this setting survives; mermaid 11 reads the top-level htmlLabels
# and flowchart.htmlLabels (both default true for flowcharts) and lets directives set them (they
# are not in its `secure` list). Mermaid strips directive lines wherever they are.
TEXT_LABELS = '%%{init: {"htmlLabels": false, "flowchart": {"htmlLabels": false}}}%%'


def mermaid_block(source: str) -> str:
    """A ```mermaid block gradio renders, or an escaped note when the source is unsafe.

    The source is entity-escaped: mermaid entity-decodes the element's text before parsing, so
    the diagram is unchanged, while the browser sees no tags. Sources containing fences,
    directives or interactive statements are never put in a mermaid block.
    """
    if check_safety(source):
        return "<p><em>This diagram was withheld because it contains directives or links that are not allowed.</em></p>"
    body = source.replace("\r\n", "\n").translate(_CONTROL)
    body = body.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    body = body.replace("`", "&#96;")  # even single backticks: no fence can ever form
    return f"```mermaid\n{body.strip()}\n{TEXT_LABELS}\n```"


def _diagram_heading(d: Diagram) -> str:
    title = d.title or "Diagram"
    return f"v{d.version} · {title} · {_clock(d.time)}"


def render_diagram_panel(diagrams: Sequence[Diagram], *, max_versions: int = 20) -> str:
    """Markdown for the diagram panel: the newest diagram first and open, earlier ones in
    collapsed <details> blocks (newest first), at most `max_versions`. Input may be any order."""
    ordered = sorted(diagrams, key=lambda d: d.version, reverse=True)[:max_versions]
    if not ordered:
        return "<p><em>No diagram yet.</em></p>"
    newest, earlier = ordered[0], ordered[1:]
    parts = [
        f"<h3>{escape_text(_diagram_heading(newest))}</h3>",
        "",
        mermaid_block(newest.source),
        "",
    ]
    for d in earlier:
        parts += [
            f"<details><summary>{escape_text(_diagram_heading(d))}</summary>",
            "",
            mermaid_block(d.source),
            "",
            "</details>",
            "",
        ]
    return "\n".join(parts)
