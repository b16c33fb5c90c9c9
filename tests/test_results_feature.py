"""The archive feature, End session, the Results view and Past sessions, without a browser:
a handler driven by SimulatedPeer against the local Live server (REST side for the analysis)."""

from __future__ import annotations

import json
import re
import time
import zipfile
from html import unescape
from pathlib import Path

import pytest

from googlive.config import Secret, Settings
from googlive.fakelive import FakeLiveConfig, FakeLiveServer
from googlive.features.results.archive import SessionArchive
from googlive.features.results.archive_layout import SessionNotFound
from googlive.features.results.archive_read import load_session
from googlive.features.results.feature import archive_factory
from googlive.features.results.ui import (
    ResultsPlugin,
    analyse_session,
    analysis_html,
    build_results,
    deleted_message,
    end_connection,
)
from googlive.features.tools.diagram import Diagram
from googlive.features.tools.picture import Snapshot
from googlive.handler import GeminiHandler
from googlive.live.backend import Endpoint
from googlive.live.events import Role
from googlive.testing.peersim import SimulatedPeer
from googlive.ui import AppContext
from tests.util import is_live, offline_endpoint, until

KEY = "test-key-9f3c2a7e51d04b8c"
# ResultsPlugin.panel_outputs, in order (ResultsView.updates must give one value each).
PANELS = (
    "header",
    "transcript",
    "analysis",
    "survey",
    "gallery",
    "no_snaps",
    "diagrams",
    "dia_pick",
    "dia_code",
    "dia_sources",
    "video",
    "audio",
    "poster",
    "no_rec",
    "analysis_dl",
    "zip_file",
)


@pytest.fixture
async def server():
    async with FakeLiveServer(api_key=KEY, config=FakeLiveConfig()) as srv:
        yield srv


def endpoint(srv: FakeLiveServer) -> Endpoint:
    return offline_endpoint(srv, KEY)


def make_handler(srv: FakeLiveServer, data_dir: Path, *features) -> GeminiHandler:
    return GeminiHandler(
        Settings(data_dir=data_dir), endpoint(srv), features=(archive_factory, *features)
    )


def make_plugin(srv: FakeLiveServer, data_dir: Path) -> ResultsPlugin:
    return ResultsPlugin(AppContext(Settings(data_dir=data_dir), endpoint(srv)))


def jsonl(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


async def live_session(srv, data_dir, owner="alice", *features, text="hello archive"):
    peer = SimulatedPeer(make_handler(srv, data_dir, *features), [owner, "", "", "", "", ""])
    await peer.start()
    h = peer.handler
    await until(lambda: is_live(h))
    h.send_text(text)
    await until(lambda: any(ln.role is Role.MODEL and ln.final for ln in h.conv.lines), timeout=15)
    return peer, h


async def test_transcript_and_events_are_archived_while_the_session_runs(server, tmp_path):
    peer, h = await live_session(server, tmp_path, "alice")
    try:
        arch: SessionArchive = h.links.archive.archive
        # Read the files as they are now, with the session still open.
        await until(lambda: len(jsonl(arch.path / "transcript.jsonl")) >= 2)
        lines = jsonl(arch.path / "transcript.jsonl")
        assert lines[0]["role"] == "user" and lines[0]["text"] == "hello archive"
        assert lines[1]["role"] == "model" and lines[1]["text"]
        assert lines[0]["turn"] == lines[1]["turn"]
        assert 0 <= lines[0]["t_s"] <= lines[1]["t_s"]
        # Appends are written by the archive's writer thread, in order, soon after.
        await until(lambda: "turn_complete" in (arch.path / "events.jsonl").read_text())
        events = jsonl(arch.path / "events.jsonl")
        kinds = [e["kind"] for e in events]
        assert "session_start" in kinds and "turn_complete" in kinds
        assert any(e["kind"] == "state" and e["state"] == "live" for e in events)
        # The user's text never goes into events.
        assert "hello archive" not in (arch.path / "events.jsonl").read_text()
        meta = json.loads((arch.path / "meta.json").read_text())
        assert meta["backend"] == "offline" and meta["model"] and "ended" not in meta
        # Snapshots and diagrams the tools feature hands over are saved.
        jpeg = b"\xff\xd8\xff\xe0" + b"0" * 100
        h.links.archive.on_snapshot(
            Snapshot("snap1", time.time(), "the <b>whiteboard</b>", jpeg, 640, 480)
        )
        h.links.archive.on_diagram(Diagram("dia1", "graph TD; A-->B", "Flow", time.time(), 1))
    finally:
        await peer.close()
    session = load_session(arch.path)
    assert session.closed
    assert [s.id for s in session.snapshots] == ["snap1"]
    assert session.snapshots[0].path.read_bytes() == jpeg
    assert session.diagrams[0].source == "graph TD; A-->B" and session.diagrams[0].title == "Flow"
    assert any(e["kind"] == "session_end" for e in session.events)
    # Nothing in the archive holds the key.
    for f in arch.path.rglob("*"):
        if f.is_file():
            assert KEY.encode() not in f.read_bytes(), f.name


async def test_end_session_then_results_and_saved_analysis(server, tmp_path):
    peer, h = await live_session(server, tmp_path, "alice")
    try:
        path = await end_connection(h)  # no WebRTC here: the handler alone
        assert path is not None and h._closed
        assert h.session is not None and h.session.state.value == "closed"
        view = build_results(path, analysing=True)
        assert load_session(path).closed
        assert 'data-state="running"' in view.analysis
        assert (
            "hello archive" in view.transcript
            and "You" in view.transcript
            and "Gemini" in view.transcript
        )
        assert "00:0" in unescape(view.transcript)  # session time per line (as shown)
        assert view.recording is None and view.analysis_file is None
        plugin = make_plugin(server, tmp_path)
        data = await plugin.analyse(view.session_id, "alice")
        # The offline demo has no model to ask: the analysis is counted from the transcript,
        # and the local server's REST endpoint is not called for it.
        assert data["ok"] is True and data["offline"] is True
        summary = data["analysis"]["summary"]
        assert "1 turn from you (1 typed) and 1 reply" in summary and "turn(s)" not in summary
        assert len(data["analysis"]["key_points"]) == 1
        assert re.fullmatch(r"\[00:0\d\] hello archive", data["analysis"]["key_points"][0])
        assert server.stats.last_rest_request is None
        saved = json.loads((path / "analysis.json").read_text())
        assert saved["analysis"]["summary"] == summary and saved["model"].startswith("offline")
        view = plugin.open_past(view.session_id, "alice")
        assert 'data-state="done"' in view.analysis and "What you typed" in view.analysis
        assert view.analysis.count("hello archive") == 1
        assert view.analysis_file and Path(view.analysis_file).name == "analysis.json"
        assert len(view.updates()) == len(PANELS)
    finally:
        await peer.close()


def finished_archive(data_dir: Path, owner: str, text: str) -> SessionArchive:
    arch = SessionArchive.create(data_dir, owner)
    arch.append_transcript("user", text, 1.0, 0)
    arch.append_transcript("model", "Reply to " + text, 2.5, 0, latency_ms=420.0)
    arch.save_snapshot("s1", b"\xff\xd8\xff" + b"1" * 50, {"t_s": 2.0, "reason": "look"})
    arch.close()
    return arch


async def test_rest_failure_gives_a_clear_message_and_the_rest_of_the_page_works(server, tmp_path):
    arch = finished_archive(tmp_path, "alice", "a question")
    server.config.rest_error_status = 500
    client = endpoint(server).client()
    data = await analyse_session(arch.path, client, "gemini-3.8-flash", retry_delay_s=0)
    assert data["ok"] is False and "HTTP 500" in data["error"] and data["attempts"] == 2
    view = build_results(arch.path)
    assert 'data-state="error"' in view.analysis and "HTTP 500" in view.analysis
    assert "a question" in view.transcript and "420 ms" in view.transcript
    assert view.snapshots and view.snapshots[0][1].startswith("00:02")
    assert view.analysis_file and load_session(arch.path).analysis["ok"] is False
    # Schema-violating replies twice: the raw reply is kept and shown (escaped).
    server.config.rest_error_status = None
    server.config.rest_bad_responses = 2
    data = await analyse_session(arch.path, client, "gemini-3.8-flash", retry_delay_s=0)
    assert data["ok"] is False and data["raw_text"]
    html = build_results(arch.path).analysis
    assert "Raw reply" in html and "could not be read" in html
    # And a later success replaces it.
    data = await analyse_session(arch.path, client, "gemini-3.8-flash", retry_delay_s=0)
    assert data["ok"] is True
    assert json.loads((arch.path / "analysis.json").read_text())["ok"] is True


def test_analysis_text_is_rendered_inert():
    evil = '<script>alert(1)</script><img src=x onerror="x()">[a](javascript:x)'
    html = analysis_html(
        {
            "ok": True,
            "analysis": {
                "summary": evil,
                "key_points": [evil],
                "decisions": [],
                "action_items": [{"description": evil, "owner": evil}],
                "open_questions": [],
                "survey_answers": [
                    {
                        "question_id": "q1",
                        "question": evil,
                        "answer": evil,
                        "confidence": 0.5,
                        "evidence": [{"quote": evil, "time": "00:01"}],
                    }
                ],
            },
        }
    )
    assert (
        "<script" not in html
        and "<img" not in html
        and "<a " not in html
        and 'onerror="' not in html
    )
    assert html.count("&lt;script&gt;") == 7  # every field, escaped
    err = analysis_html({"ok": False, "error": "failed", "raw_text": evil})
    assert "<script" not in err and "&lt;script" in err


def test_past_sessions_are_per_owner(tmp_path):
    a = finished_archive(tmp_path, "alice", "alice secret plans")
    b = finished_archive(tmp_path, "bob", "bob secret plans")
    plugin = ResultsPlugin(
        AppContext(Settings(data_dir=tmp_path), Endpoint(None, None, Secret(None), True))
    )
    assert [sid for _label, sid in plugin.list_past("alice")] == [a.session_id]
    assert [sid for _label, sid in plugin.list_past("bob")] == [b.session_id]
    assert plugin.list_past(None) == [] and plugin.list_past("") == []
    assert "alice secret plans" in plugin.list_past("alice")[0][0]
    assert "alice secret plans" in plugin.open_past(a.session_id, "alice").transcript
    for fn in (plugin.open_past, plugin.download_zip, plugin.analysis_file):
        with pytest.raises(SessionNotFound):
            fn(b.session_id, "alice")
        with pytest.raises(SessionNotFound):
            fn(a.session_id, None)
        with pytest.raises(SessionNotFound):
            fn("../" + b.session_id, "alice")


def test_zip_holds_the_whole_session(tmp_path):
    arch = finished_archive(tmp_path, "alice", "zip me")
    arch.recording_path.write_bytes(b"\x1aE\xdf\xa3" + b"w" * 200)
    (arch.path / "captions.vtt").write_text(
        "WEBVTT\n\n1\n00:00:01.000 --> 00:00:02.000\n<v User>zip me</v>\n"
    )
    (arch.path / "analysis.json").write_text(json.dumps({"ok": True}))
    plugin = ResultsPlugin(
        AppContext(Settings(data_dir=tmp_path), Endpoint(None, None, Secret(None), True))
    )
    try:
        zpath = plugin.download_zip(arch.session_id, "alice")
        with zipfile.ZipFile(zpath) as zf:
            names = set(zf.namelist())
            sid = arch.session_id
            assert {
                f"{sid}/{n}"
                for n in (
                    "transcript.jsonl",
                    "events.jsonl",
                    "meta.json",
                    "analysis.json",
                    "transcript.txt",
                    "snapshots/s1.jpg",
                    "recording.webm",
                    "captions.vtt",
                )
            } <= names
            assert zf.read(f"{sid}/captions.vtt").startswith(b"WEBVTT")
            assert "zip me" in zf.read(f"{sid}/transcript.txt").decode()
        view = plugin.open_past(arch.session_id, "alice")
        assert (
            view.recording and view.recording.endswith("recording.webm") and view.recording_is_video
        )
        # The player gets the captions as a track (gr.Video's (video, subtitles) value).
        assert view.video_value() == (view.recording, str(arch.path / "captions.vtt"))
    finally:
        plugin.cleanup()
    assert not zpath.exists()


async def test_a_reply_cut_short_by_end_session_is_archived_once(server, tmp_path):
    """Ending mid-reply keeps the partial model line the page showed; the typed line once."""
    peer, h = await live_session(server, tmp_path, "carol")
    try:
        server.config.speed = 1.0  # the reply streams at real time, so it is still going
        h.send_text("tell me a long story about the blue notebook")
        await until(
            lambda: any(ln.role.value == "model" and ln.text for ln in h.conv.lines), timeout=10
        )
        path = await end_connection(h)
        lines = load_session(path).transcript
        texts = [(ln.role, ln.text) for ln in lines]
        assert sum(1 for r, t in texts if r == "user" and "blue notebook" in t) == 1, texts
        assert any(r == "model" and t for r, t in texts), texts
    finally:
        await peer.close()


def test_rename_and_delete_are_the_owners_alone(tmp_path):
    a = finished_archive(tmp_path, "alice", "alice secret plans")
    b = finished_archive(tmp_path, "bob", "bob secret plans")
    plugin = ResultsPlugin(
        AppContext(Settings(data_dir=tmp_path), Endpoint(None, None, Secret(None), True))
    )
    for fn, args in ((plugin.rename, ("mine now",)), (plugin.delete, ())):
        with pytest.raises(SessionNotFound):
            fn(b.session_id, "alice", *args)
        with pytest.raises(SessionNotFound):
            fn("../" + b.session_id, "alice", *args)
    assert plugin.rename(a.session_id, "alice", "  Garden   party  ") == "Garden party"
    assert plugin.past_rows("alice")[0].title == "Garden party"
    assert plugin.open_past(a.session_id, "alice").header.count("Garden party") == 1
    assert plugin.rename(a.session_id, "alice", "") == ""  # back to the automatic title
    assert plugin.past_rows("alice")[0].title == "alice secret plans"
    gone = plugin.delete(a.session_id, "alice")
    assert not a.path.exists() and gone.files >= 4
    assert gone.what == ("transcript", "1 snapshot")
    assert "its transcript and 1 snapshot" in deleted_message("x", gone)
    assert plugin.past_rows("alice") == [] and b.path.exists()
    with pytest.raises(SessionNotFound):
        plugin.open_past(a.session_id, "alice")


def test_panels_and_their_updates_line_up(tmp_path):
    """ResultsView.updates gives one value per ResultsPlugin.panel_outputs component, in order."""
    import gradio as gr

    from googlive.ui import PageBuild

    ctx = AppContext(Settings(data_dir=tmp_path), Endpoint(None, None, Secret(None), True))
    plugin = ResultsPlugin(ctx)
    with gr.Blocks() as demo:
        b = PageBuild(ctx, demo, gr.State(), gr.HTML(), gr.Textbox())
        with gr.Tabs():
            plugin.tab(b)
    outs = plugin.panel_outputs()
    assert [getattr(c, "elem_id", None) or type(c).__name__ for c in outs][:3] == [
        "results-header",
        "results-transcript",
        "results-analysis",
    ]
    assert len(outs) == len(PANELS) == len(plugin.empty_updates())
    arch = finished_archive(tmp_path, "alice", "line up")
    assert len(plugin.open_past(arch.session_id, "alice").updates()) == len(outs)


async def test_archive_appends_never_run_on_the_event_loop_thread(server, tmp_path, monkeypatch):
    """events.jsonl/transcript.jsonl/meta.json writes fsync now and then: they run on the
    archive's writer thread, never on the loop that carries the audio."""
    import threading

    threads: set[str] = set()
    for name in ("append_event", "append_transcript", "write_meta"):
        orig = getattr(SessionArchive, name)

        def spy(self, *a, _orig=orig, **kw):
            threads.add(threading.current_thread().name)
            return _orig(self, *a, **kw)

        monkeypatch.setattr(SessionArchive, name, spy)
    loop_thread = threading.current_thread().name
    peer, h = await live_session(server, tmp_path, "alice")
    await peer.close()
    # the writer thread, or a worker thread for close(); never the loop's own thread
    assert "archive-writer" in threads and loop_thread not in threads, threads
    session = load_session(h.links.archive.archive.path)
    assert [ln.text for ln in session.transcript][:1] == ["hello archive"]


def test_rename_or_delete_with_nothing_picked_closes_both_boxes_and_says_why(tmp_path):
    """The events as wired: with no session selected, either button shuts the rename and the
    delete box, leaves the text field alone and puts the warning in the status line."""
    from googlive.assemble import assemble
    from googlive.ui import build

    ctx = AppContext(Settings(data_dir=tmp_path), Endpoint(None, None, Secret(None), True))
    assemble(ctx)
    build(ctx)
    plugin = next(p for p in ctx.plugins if isinstance(p, ResultsPlugin))
    fns = {f.fn.__name__: f for f in ctx.extra["demo"].fns.values() if f.fn is not None}
    for name, box, text, other in (
        ("ask_rename", plugin.rename_box, plugin.rename_text, plugin.delete_box),
        ("ask_delete", plugin.delete_box, plugin.delete_note, plugin.rename_box),
    ):
        dep = fns[name]
        assert [o._id for o in dep.outputs] == [
            c._id for c in (box, text, other, plugin.past_status)
        ]
        shown, field, other_shown, status = dep.fn(None, [])
        assert shown["visible"] is False and other_shown["visible"] is False
        assert field["__type__"] == "update" and len(field) == 1  # gr.skip(): left as it is
        assert "Select a session in the list first." in status and "warn" in status
