"""The events of the Results and Past sessions tabs (`ResultsPlugin.wire` calls these).

Every handler goes through the plugin's owner-checked functions (`resolve`, `open_past`,
`rename`, `delete`, ...): a browser reaches only its own sessions. Focus is moved on purpose
where a click makes the focused element disappear (End session → the Results heading; Delete
for good → the list), so keyboard users are never left on the page body.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import gradio as gr

from googlive.features.results import page_js
from googlive.features.results.archive_layout import ArchiveError, SessionNotFound
from googlive.features.results.archive_read import load_session
from googlive.features.results.past import SEARCH_FROM, filter_rows, pick_update
from googlive.features.results.render import analysis_html, escape_text, header_html
from googlive.features.results.ui import (
    _row_tuple,
    _rows,
    _title_of,
    deleted_message,
    end_connection,
    focus_js,
    status_html,
)
from googlive.features.results.view import build_results, survey_html

if TYPE_CHECKING:
    from googlive.features.results.ui import ResultsPlugin
    from googlive.ui import PageBuild

log = logging.getLogger(__name__)

SELECT_FIRST = "Select a session in the list first."


def _nothing_selected() -> tuple[Any, ...]:
    """Rename or Delete clicked with no session picked: its box and the other one are closed (its
    text is left as it is) and the status says why. Outputs as ask_rename's and ask_delete's."""
    return (
        gr.update(visible=False),
        gr.skip(),
        gr.update(visible=False),
        status_html(SELECT_FIRST, "warn"),
    )


def wire_results(p: ResultsPlugin, b: PageBuild) -> None:
    from googlive.call.registry import registry as call_registry

    panels = p.panel_outputs()
    n_skip = 3 + len(panels)
    calls = call_registry(p.ctx.services)
    i_analysed = [3 + panels.index(c) for c in (p.analysis, p.analysis_dl, p.survey)]

    async def on_end(
        webrtc_id: str | None, owner: str | None, tz: str | None, warn: bool = True
    ) -> Any:
        # End session and FastRTC's Stop are one act, whichever comes first: the first to
        # claim the call ends it (if still running), waits for its archive, opens Results
        # and then analyses it; the other does nothing. The status line's final state comes
        # from googlive.call.ui (the same two events).
        skip = (gr.skip(),) * n_skip
        rec, first = calls.claim(webrtc_id, owner)
        if rec is None:
            h = b.handler_for(webrtc_id, owner)
            if h is None:
                if warn:  # (a Stop while still connecting has nothing to end yet)
                    gr.Warning("No conversation is running in this browser.")
                yield skip
                return
            rec, first = calls.started(webrtc_id or "", h), True
        if rec is None or not first:
            yield skip
            return
        if rec.handler is not None:
            await end_connection(rec.handler, b.rtc, webrtc_id)
        await rec.wait_closed()
        if rec.conv.status.kind == "failed" or rec.archive_path is None:
            # A call that never got going: the status says why and what to do.
            yield skip
            return
        view = await asyncio.to_thread(build_results, rec.archive_path, analysing=True, tz=tz)
        yield (gr.Tabs(selected="results"), view.session_id, rec.cred, *view.updates())
        analysed = await on_analyse(view.session_id, owner, rec.cred)
        out = list(skip)
        for i, value in zip(i_analysed, analysed, strict=True):
            out[i] = value
        yield tuple(out)

    async def on_stop(webrtc_id: str | None, owner: str | None, tz: str | None) -> Any:
        async for out in on_end(webrtc_id, owner, tz, warn=False):
            yield out

    async def on_analyse(
        session_id: str | None, owner: str | None, key: Any
    ) -> tuple[Any, Any, Any]:
        if not session_id:
            return gr.skip(), gr.skip(), gr.skip()
        try:
            data = await p.analyse(session_id, owner, key)
            session = await asyncio.to_thread(load_session, p.resolve(session_id, owner))
        except SessionNotFound:
            return (
                analysis_html({"ok": False, "error": "This session is not available."}),
                gr.skip(),
                gr.skip(),
            )
        survey = survey_html(session) if session.survey is not None else ""
        f = p.analysis_file(session_id, owner) if data.get("ok") else None
        return (
            gr.update(value=analysis_html(data, survey_shown=bool(survey))),
            gr.update(value=str(f) if f else None, visible=f is not None),
            gr.update(value=survey, visible=bool(survey)),
        )

    def on_open(session_id: str | None, owner: str | None, tz: str | None) -> tuple[Any, ...]:
        if not session_id:
            gr.Warning(SELECT_FIRST)
            return (gr.skip(),) * n_skip
        try:
            view = p.open_past(session_id, owner, tz)
        except SessionNotFound:
            gr.Warning("That session is not available.")
            return (gr.skip(),) * n_skip
        return (gr.Tabs(selected="results"), view.session_id, None, *view.updates())

    def on_zip(session_id: str | None, owner: str | None) -> Any:
        if not session_id:
            gr.Warning("Open a session first.")
            return gr.skip()
        try:
            return gr.update(value=str(p.download_zip(session_id, owner)), visible=True)
        except SessionNotFound:
            gr.Warning("That session is not available.")
            return gr.skip()

    def mark_running(session_id: str | None) -> Any:
        return gr.update(value=analysis_html(None, running=True)) if session_id else gr.skip()

    def pick_diagram(i: Any, sources: Any) -> Any:
        if not isinstance(i, int) or not isinstance(sources, list) or not 0 <= i < len(sources):
            return gr.skip()
        label, source = sources[i]
        return gr.update(value=source, label=f"Source of diagram {label}")

    outs = [b.tabs, p.current, p.key, *panels]
    analysed = [p.analysis, p.analysis_dl, p.survey]
    p.end_btn.click(on_end, [b.rtc, b.owner, p.tz], outs, show_progress="hidden")
    b.rtc.stop_recording(on_stop, [b.rtc, b.owner, p.tz], outs, show_progress="hidden")
    # The poster and focus on the Results heading, as soon as a session's results arrive
    # (while its analysis still runs); js-only steps never trigger a `.then` of their own.
    p.header.change(None, [p.poster], None, js=page_js.SHOW_RESULTS)
    shown = {"fn": None, "inputs": [p.poster], "outputs": None, "js": page_js.SHOW_RESULTS}
    p.analyse_btn.click(mark_running, [p.current], [p.analysis], show_progress="hidden").then(
        on_analyse,
        [p.current, b.owner, p.key],
        analysed,
        show_progress="full",
    )
    p.open_btn.click(on_open, [p.past, b.owner, p.tz], outs).then(**shown)
    p.zip_btn.click(on_zip, [p.current, b.owner], [p.zip_file])
    p.dia_pick.change(
        pick_diagram, [p.dia_pick, p.dia_sources], [p.dia_code], show_progress="hidden"
    )


def wire_past(p: ResultsPlugin, b: PageBuild) -> None:
    panels = p.panel_outputs()

    def listing(
        owner: str | None, tz: str | None, query: str | None, selected: str | None
    ) -> tuple[Any, ...]:
        """(rows state, list, search box, empty note) for this browser's sessions."""
        rows = p.past_rows(owner, tz)
        shown = filter_rows(rows, query) if len(rows) > SEARCH_FROM else rows
        log.info("past sessions listed n=%d shown=%d", len(rows), len(shown))
        return (
            [_row_tuple(r) for r in rows],
            gr.update(
                choices=[(r.label, r.id) for r in shown],
                **pick_update(selected, {r.id for r in shown}),
            ),
            gr.update(visible=len(rows) > SEARCH_FROM),
            gr.update(visible=not rows),
        )

    list_outs = [p.rows, p.past, p.search, p.past_empty]

    def on_refresh(
        owner: str | None, tz: str | None, query: str | None, selected: str | None
    ) -> tuple[Any, ...]:
        return (*listing(owner, tz, query, selected), "")

    def on_search(rows: Any, query: str | None, selected: str | None) -> Any:
        every = _rows(rows)
        shown = filter_rows(every, query)
        log.info("past sessions searched n=%d shown=%d", len(every), len(shown))
        return gr.update(
            choices=[(r.label, r.id) for r in shown], **pick_update(selected, {r.id for r in shown})
        )

    def ask_rename(selected: str | None, rows: Any) -> tuple[Any, ...]:
        if not selected:
            return _nothing_selected()
        return (
            gr.update(visible=True),
            gr.update(value=_title_of(rows, selected)),
            gr.update(visible=False),
            "",
        )

    def do_rename(
        selected: str | None,
        owner: str | None,
        title: str | None,
        tz: str | None,
        query: str | None,
        current: str | None,
    ) -> tuple[Any, ...]:
        try:
            kept = p.rename(selected, owner, title or "")
            header = (
                header_html(load_session(p.resolve(selected, owner)), tz)
                if current == selected
                else gr.skip()
            )
        except (SessionNotFound, ArchiveError, OSError):
            return (
                *(gr.skip(),) * 4,
                gr.skip(),
                status_html("That session is not available.", "warn"),
                gr.skip(),
            )
        lst = listing(owner, tz, query, selected)
        msg = f"Renamed to “{kept}”." if kept else "The automatic title is back."
        return (*lst, gr.update(visible=False), status_html(msg), header)

    def ask_delete(selected: str | None, rows: Any) -> tuple[Any, ...]:
        if not selected:
            return _nothing_selected()
        note = (
            f"Delete “{escape_text(_title_of(rows, selected))}” and all its files (transcript, "
            "recording, snapshots, diagrams, analysis)? This cannot be undone."
        )
        return gr.update(visible=True), note, gr.update(visible=False), ""

    def do_delete(
        selected: str | None,
        owner: str | None,
        tz: str | None,
        query: str | None,
        current: str | None,
        rows: Any,
        webrtc_id: str | None,
    ) -> tuple[Any, ...]:
        keep = (gr.skip(),) * (1 + len(panels))
        h = b.handler_for(webrtc_id, owner)
        live = h.archive_path() if h is not None else None
        if live is not None and live.name == selected:
            return (
                *(gr.skip(),) * 4,
                gr.update(visible=False),
                status_html(
                    "This is the conversation that is running now: end it first, then delete it.",
                    "warn",
                ),
                *keep,
            )
        title = _title_of(rows, selected)
        try:
            gone = p.delete(selected, owner)
        except (SessionNotFound, ArchiveError):
            return (
                *(gr.skip(),) * 4,
                gr.update(visible=False),
                status_html("That session is not available (deleted already?).", "warn"),
                *keep,
            )
        except OSError as e:
            log.warning("session delete failed (%s)", type(e).__name__)
            return (
                *(gr.skip(),) * 4,
                gr.update(visible=False),
                status_html("The session could not be deleted completely; try again.", "warn"),
                *keep,
            )
        cleared = (None, *p.empty_updates()) if current == selected else keep
        return (
            *listing(owner, tz, query, selected),  # gone from the list: the pick is cleared
            gr.update(visible=False),
            status_html(deleted_message(title, gone)),
            *cleared,
        )

    hidden = {"show_progress": "hidden"}
    refresh_in = [b.owner, p.tz, p.search, p.past]
    p.refresh_btn.click(on_refresh, refresh_in, [*list_outs, p.past_status], **hidden)
    p.past_tab.select(on_refresh, refresh_in, [*list_outs, p.past_status], **hidden)
    p.search.input(
        on_search, [p.rows, p.search, p.past], [p.past], trigger_mode="always_last", **hidden
    )
    p.rename_btn.click(
        ask_rename,
        [p.past, p.rows],
        [p.rename_box, p.rename_text, p.delete_box, p.past_status],
        **hidden,
    ).then(None, None, None, js=focus_js("#past-rename-text textarea,#past-rename-text input"))
    rename_in = [p.past, b.owner, p.rename_text, p.tz, p.search, p.current]
    rename_out = [*list_outs, p.rename_box, p.past_status, p.header]
    p.rename_save.click(do_rename, rename_in, rename_out, **hidden).then(
        None, None, None, js=focus_js("#past-sessions input:checked,#past-rename")
    )
    p.rename_text.submit(do_rename, rename_in, rename_out, **hidden).then(
        None, None, None, js=focus_js("#past-sessions input:checked,#past-rename")
    )
    p.rename_cancel.click(lambda: gr.update(visible=False), None, [p.rename_box], **hidden).then(
        None, None, None, js=focus_js("#past-rename")
    )
    p.delete_btn.click(
        ask_delete,
        [p.past, p.rows],
        [p.delete_box, p.delete_note, p.rename_box, p.past_status],
        **hidden,
    ).then(None, None, None, js=focus_js("#past-delete-no"))
    p.delete_yes.click(
        do_delete,
        [p.past, b.owner, p.tz, p.search, p.current, p.rows, b.rtc],
        [*list_outs, p.delete_box, p.past_status, p.current, *panels],
        **hidden,
    ).then(None, None, None, js=focus_js("#past-sessions input,#past-refresh"))
    p.delete_no.click(lambda: gr.update(visible=False), None, [p.delete_box], **hidden).then(
        None, None, None, js=focus_js("#past-delete")
    )
