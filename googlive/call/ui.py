"""The call area's events: typed text, the key field, settings changed mid-call, and what the
page shows once a call is over (googlive/ui.py builds the layout and calls `wire`).

Every handler is reached through `PageBuild.handler_for` or the call registry's owner check:
a browser only ever sees or changes its own call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import gradio as gr

from googlive.call import keyflow
from googlive.call.control import key_note_html
from googlive.call.registry import registry as call_registry
from googlive.call.view import backend_html, panel_value, status_html, text_note_html
from googlive.public.limits import typed_text_problem

if TYPE_CHECKING:
    from googlive.ui import AppContext, PageBuild

NOT_STARTED = (
    "Press Start conversation first, then type: no camera or microphone is needed for that."
)
ENDED = "This conversation has ended, so your message was not sent. Press Start conversation to talk again."
FAILED = "This call failed (see the status above), so your message was not sent. Press Start conversation to try again."
CONNECTING = "Still connecting: your message was not sent. Send it again when the status says Live."
# The settings a running call keeps until it ends (what the page says when one changes).
NEXT_CALL = {
    "voice": "The new voice",
    "model": "The new model",
    "instruction": "The new system instruction",
    "api-key": "The API key",
    "record-session": "The recording choice",
}


@dataclass
class CallParts:
    text: Any
    send: Any
    text_note: Any
    backend: Any = None
    next_call: Any = None
    key: Any = None
    voice: Any = None
    model: Any = None
    instruction: Any = None


def backend_for(ctx: AppContext, key: str | None) -> str:
    """The "This call will use: …" line for the key field's current content."""
    choice = keyflow.choose(ctx.settings, ctx.endpoint, bool((key or "").strip()))
    return backend_html(choice.label)


def key_panel_for(ctx: AppContext, key: str | None) -> str:
    choice = keyflow.choose(ctx.settings, ctx.endpoint, bool((key or "").strip()))
    return key_note_html(choice.note) if choice.note else ""


def next_call_html(what: str) -> str:
    return (
        f'<div class="next-call" role="status">{what} applies to your next call; this one goes on '
        "with what it started with.</div>"
    )


def wire(b: PageBuild, call: CallParts, panel_names: list[str], initial: dict[str, Any]) -> None:
    ctx = b.ctx
    calls = call_registry(ctx.services)

    async def send_text(webrtc_id: str | None, who: str | None, message: str) -> tuple[str, str]:
        message = (message or "").strip()
        if not message:
            return "", ""
        problem = typed_text_problem(message)  # too long, or not text (googlive/public/limits.py)
        if problem:
            return message, text_note_html(problem)
        h = b.handler_for(webrtc_id, who)
        if h is None:
            pending = b.rtc is not None and webrtc_id in getattr(b.rtc, "handlers", {})
            rec = calls.get(webrtc_id, who)
            if rec is not None:
                reason = FAILED if rec.conv.status.kind == "failed" else ENDED
            else:
                reason = CONNECTING if pending else NOT_STARTED
            return message, text_note_html(reason)
        refusal = h.send_text(message)
        if refusal:
            return message, text_note_html(refusal)
        return "", ""

    call.send.click(
        send_text, [b.rtc, b.owner, call.text], [call.text, call.text_note], show_progress="hidden"
    )
    call.text.submit(
        send_text, [b.rtc, b.owner, call.text], [call.text, call.text_note], show_progress="hidden"
    )

    def on_key(key: str | None) -> tuple[str, str]:
        return backend_for(ctx, key), key_panel_for(ctx, key)

    key_status = b.panels.get("key")
    if call.key is not None and key_status is not None:
        call.key.change(on_key, [call.key], [call.backend, key_status], show_progress="hidden")

    def watcher(what: str) -> Any:
        def changed(webrtc_id: str | None, who: str | None) -> Any:
            h = b.handler_for(webrtc_id, who)
            running = h is not None and not getattr(h, "_closed", True)
            return next_call_html(what) if running else ""

        return changed

    by_id = {getattr(c, "elem_id", None): c for c in b.demo.blocks.values()}
    for elem_id, what in NEXT_CALL.items():
        comp = by_id.get(elem_id)
        if comp is not None and hasattr(comp, "change") and call.next_call is not None:
            comp.change(watcher(what), [b.rtc, b.owner], [call.next_call], show_progress="hidden")

    # Once a call is over (Stop, End session, a failure or the time limit hung it up), the page
    # shows its final state: FastRTC's stream of updates ends with the connection, so the last
    # status (and "Recording saved.") would otherwise never arrive.
    outputs = [b.panels[n] for n in panel_names] + [call.next_call, call.text_note]

    async def final_panels(webrtc_id: str | None, who: str | None) -> tuple[Any, ...]:
        rec = calls.get(webrtc_id, who)
        if rec is None:  # no call got going (stopped while connecting): the page is idle
            idle = status_html(None, idle_offline=ctx.endpoint.offline)
            skipped = [gr.skip()] * (len(outputs) - 1)
            skipped[panel_names.index("status")] = gr.update(value=idle)
            return (*skipped, "")
        await rec.wait_closed()
        vals = [gr.update(value=panel_value(rec.conv, n, initial)) for n in panel_names]
        return (*vals, "", "")

    # A new call starts clean from the click (its first update resets every panel again).
    content = [n for n in panel_names if n != "status"]

    def clear_panels() -> tuple[Any, ...]:
        return (*(gr.update(value=initial.get(n)) for n in content), "", "")

    if b.rtc is not None:
        b.rtc.start_recording(
            clear_panels,
            None,
            [b.panels[n] for n in content] + [call.next_call, call.text_note],
            show_progress="hidden",
        )
    if b.end_button is not None:
        b.end_button.click(final_panels, [b.rtc, b.owner], outputs, show_progress="hidden")
    if b.rtc is not None:
        b.rtc.stop_recording(final_panels, [b.rtc, b.owner], outputs, show_progress="hidden")
