"""The words of a tool card in the transcript: what the model asked for, and what came of it.

Pure. Everything returned is plain text (the page escapes it); arguments and results come from
the model or from tools and are never trusted as markup. Long values are cut.
"""

from __future__ import annotations

from typing import Any

MAX_TEXT = 160

# tool name -> (what the card calls it, the element id of the panel that shows its result)
KNOWN = {
    "take_picture": ("Take a picture", "snapshots"),
    "draw_diagram": ("Draw a diagram", "diagram"),
    "record_answer": ("Record a survey answer", "survey-progress"),
}


def _cut(value: Any, n: int = MAX_TEXT) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def title(name: str) -> str:
    return KNOWN.get(name, (f"Tool {_cut(name, 40)}", ""))[0]


def panel(name: str) -> str:
    """The element id of the panel where the tool's result shows ('' if none)."""
    return KNOWN.get(name, ("", ""))[1]


def asked(name: str, args: dict[str, Any] | None) -> str:
    """What the model asked for, in a few words."""
    args = args or {}
    if name == "take_picture":
        detail = args.get("reason")
    elif name == "draw_diagram":
        detail = args.get("title")  # never the code: the panel shows the diagram
    elif name == "record_answer":
        q, a = args.get("question_id"), args.get("answer")
        detail = f"{q}: {a}" if q and a else q or a
    else:
        detail = ", ".join(sorted(str(k) for k in args)[:6])
    head = title(name)
    return f"{head} — {_cut(detail)}" if detail else head


def outcome(name: str, response: dict[str, Any] | None) -> tuple[str, str]:
    """("ok" | "error", what happened) from the tool's response to the model."""
    response = response or {}
    if "error" in response or response.get("ok") is False:
        msg = response.get("message") or response.get("error") or "The tool failed."
        line = response.get("line")
        where = f" (line {line})" if isinstance(line, int) else ""
        return "error", _cut(f"{msg}{where}")
    if name == "take_picture":
        w, h = response.get("width"), response.get("height")
        return "ok", f"Picture taken ({w}×{h})" if w and h else "Picture taken"
    if name == "draw_diagram":
        v = response.get("version")
        return "ok", f"Diagram shown (version {v})" if v else "Diagram shown"
    if name == "record_answer":
        return "ok", "Answer recorded"
    return "ok", "Done"
