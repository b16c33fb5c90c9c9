"""With every feature assembled as app.py assembles them (archive, recording, tools, survey,
metrics): browser disconnects mid reply and mid tool call leave a complete archive and
recording and leak nothing; one visitor's archives are never listed or served to another; a
key typed in the page reaches no file and no log record."""

from __future__ import annotations

import asyncio
import logging
import secrets
import string
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from google.genai import types

from googlive.assemble import assemble
from googlive.config import Secret, Settings
from googlive.fakelive import FakeLiveConfig, FakeLiveServer
from googlive.features.results.archive_files import read_jsonl
from googlive.features.results.archive_layout import SessionNotFound, owner_hash
from googlive.features.results.ui import ResultsPlugin
from googlive.handler import GeminiHandler
from googlive.live.backend import Endpoint, resolve_endpoint
from googlive.live.events import Role
from googlive.testing.peersim import SimulatedPeer
from googlive.ui import AppContext
from tests.reliability.util import live_tasks, open_sockets, record, until
from tests.test_handler import talk
from tests.test_recorder import decode_audio, decode_video

SLOW = types.FunctionDeclaration(name="slow_lookup", description="A tool that takes its time")
FPS = 15


def fake_key() -> str:
    alphabet = string.ascii_letters + string.digits + "-_"
    return "AIza" + "".join(secrets.choice(alphabet) for _ in range(35))


class App:
    """An AppContext assembled like app.py's, and handlers made the way the page makes them."""

    def __init__(self, settings: Settings, endpoint: Endpoint) -> None:
        self.ctx = assemble(AppContext(settings, endpoint))
        self.endpoint = endpoint

    def handler(self) -> GeminiHandler:
        c = self.ctx
        return c.handler_cls(c.settings, self.endpoint, features=c.features, services=c.services)

    @property
    def results(self) -> ResultsPlugin:
        return next(p for p in self.ctx.plugins if isinstance(p, ResultsPlugin))

    async def aclose(self) -> None:
        await self.ctx.services["mermaid"].aclose()
        self.results.cleanup()


def is_live(h: GeminiHandler) -> bool:
    return h.session is not None and h.session.state.value == "live"


async def camera(h: GeminiHandler) -> None:
    """A webcam at 15 fps: a grey frame whose brightness changes every frame."""
    frame = np.zeros((480, 640, 3), np.uint8)
    t_next = time.monotonic()
    i = 0
    while True:
        frame = np.full((480, 640, 3), 60 + (i * 7) % 120, np.uint8)
        await h.video_receive(frame)
        i += 1
        t_next += 1 / FPS
        await asyncio.sleep(max(0.0, t_next - time.monotonic()))


async def one_session(app: App, srv: FakeLiveServer, kind: str, i: int) -> dict[str, Any]:
    """A session with mic and camera: one full exchange, then the browser goes away mid reply
    or mid tool call. Returns what was shown and where it was archived."""
    h = app.handler()
    tool_started = asyncio.Event()

    async def slow(args: dict, call_id: str) -> dict:
        tool_started.set()
        await asyncio.Event().wait()  # never answers: the disconnect cancels it
        return {}

    h.registry.register(SLOW, slow, timeout_s=120)
    peer = SimulatedPeer(h, [f"visitor-{i}", "", "", "", "", ""])
    await peer.start()
    cam = asyncio.create_task(camera(h), name="peer-camera")
    try:
        await until(lambda: is_live(h))
        if i % 5 == 0:  # a spoken hello on the mic (the server's VAD ends the turn)
            await peer.say(talk(0.8, seed=i + 1))
            await peer.said()
        else:
            h.send_text(f"hello number {i}")
        await until(
            lambda: any(ln.role is Role.MODEL and ln.final for ln in h.conv.lines), timeout=15
        )
        if kind == "reply":
            heard = peer.heard_after(0)
            h.send_text(f"tell me a long story {i}")
            await until(
                lambda: peer.heard_after(0) > heard + 1.0, timeout=15
            )  # the story is playing
        else:
            srv.queue_tool_call("slow_lookup", {})
            h.send_text(f"look it up {i}")
            await asyncio.wait_for(tool_started.wait(), 10)
        shown = [(ln.role.value, ln.text) for ln in h.conv.lines if ln.final]
        session_s = h.session_time()
        cut_mid_reply = h.playback.playing  # model audio still to play when the browser left
    finally:
        cam.cancel()
        await asyncio.gather(cam, return_exceptions=True)
        await peer.close()  # the browser went away: fastrtc calls shutdown()
    assert h.registry.running_ids == ()
    arch = h.links.archive.archive
    return {
        "shown": shown,
        "session_s": session_s,
        "path": arch.path,
        "recording": arch.recording_path,
        "kind": kind,
        "cut_mid_reply": cut_mid_reply,
    }


async def test_disconnects_leave_complete_archive_and_recording_and_leak_nothing(tmp_path):
    """10 sessions, all features on, mic + camera, cut mid reply (6) or mid tool call (4): the
    transcript file holds every final line shown, the recording decodes to >= 90% of the
    session, no task, socket or recorder thread is left."""
    n = 10
    async with FakeLiveServer(api_key="k", config=FakeLiveConfig(speed=3.0)) as srv:
        endpoint = Endpoint(srv.url, srv.ca_cert, Secret("k"), offline=True)
        app = App(Settings(data_dir=tmp_path), endpoint)
        try:
            await one_session(app, srv, "reply", -1)  # warm-up: imports, TLS, mermaid worker
            await srv.wait_until(lambda: srv.stats.open_connections == 0, 10)
            tasks0, socks0 = len(live_tasks()), open_sockets()
            all0 = len([t for t in asyncio.all_tasks() if not t.done()])
            runs = []
            for i in range(n):
                runs.append(await one_session(app, srv, "tool" if i % 5 in (1, 3) else "reply", i))
            await srv.wait_until(lambda: srv.stats.open_connections == 0, 10)
            await until(
                lambda: len(live_tasks()) <= tasks0 and open_sockets() <= socks0, timeout=10
            )
            all1 = len([t for t in asyncio.all_tasks() if not t.done()])
            assert all1 <= all0, [t.get_name() for t in asyncio.all_tasks()]
            recorders = [t.name for t in threading.enumerate() if t.name.startswith("recorder-")]
            assert recorders == []
        finally:
            await app.aclose()
    ratios_a, ratios_v, lines = [], [], 0
    assert len(runs) == n
    for r in runs:
        recs, skipped = read_jsonl(r["path"] / "transcript.jsonl")
        archived = [(x["role"], x["text"]) for x in recs]
        assert skipped == 0
        if r["kind"] == "reply":
            assert r["cut_mid_reply"]
        for line in r["shown"]:
            assert line in archived, (line, archived)
        lines += len(r["shown"])
        assert len(r["shown"]) >= 3  # hello, its answer, the request cut short
        audio_s = decode_audio(r["recording"]).size / 48000
        frames = decode_video(r["recording"])
        video_s = frames[-1][0] + 1 / FPS
        ratios_a.append(audio_s / r["session_s"])
        ratios_v.append(video_s / r["session_s"])
        assert audio_s >= 0.9 * r["session_s"], (audio_s, r["session_s"])
        assert video_s >= 0.9 * r["session_s"], (video_s, r["session_s"])
        events = [e["kind"] for e in read_jsonl(r["path"] / "events.jsonl")[0]]
        assert events[0] == "session_start" and events[-1] == "session_end"
        assert (r["path"] / "events_log.jsonl").is_file()
    record(
        "disconnect_archive",
        {
            "sessions": n,
            "kinds": {k: sum(r["kind"] == k for r in runs) for k in ("reply", "tool")},
            "final_lines_checked": lines,
            "tasks_before": all0,
            "tasks_after": all1,
            "sockets_before": socks0,
            "sockets_after": open_sockets(),
            "session_s": [round(r["session_s"], 2) for r in runs],
            "audio_ratio_min": round(min(ratios_a), 3),
            "video_ratio_min": round(min(ratios_v), 3),
        },
    )


async def test_one_visitor_never_sees_or_downloads_another_visitors_sessions(tmp_path):
    """Two visitors' sessions through the assembled app; the Results functions list, open,
    download and serve the analysis of one's sessions to that visitor only."""
    async with FakeLiveServer(api_key="k", config=FakeLiveConfig(speed=6.0)) as srv:
        endpoint = Endpoint(srv.url, srv.ca_cert, Secret("k"), offline=True)
        app = App(Settings(data_dir=tmp_path), endpoint)
        words = {
            "alice": "apricot-" + secrets.token_hex(4),
            "bob": "blueberry-" + secrets.token_hex(4),
        }
        ids: dict[str, str] = {}
        try:
            peers = {o: SimulatedPeer(app.handler(), [o, "", "", "", "", ""]) for o in words}
            for p in peers.values():
                await p.start()
            await until(lambda: all(is_live(p.handler) for p in peers.values()))
            for o, p in peers.items():
                p.handler.send_text(f"remember {words[o]}")
            await until(
                lambda: all(
                    any(ln.role is Role.MODEL and ln.final for ln in p.handler.conv.lines)
                    for p in peers.values()
                ),
                timeout=15,
            )
            for o, p in peers.items():
                await p.close()
                ids[o] = p.handler.links.archive.session_id
        finally:
            await app.aclose()
        ui = app.results
        a, b = ids["alice"], ids["bob"]
        assert [sid for _, sid in ui.list_past("alice")] == [a]
        assert [sid for _, sid in ui.list_past("bob")] == [b]
        assert ui.list_past("") == [] and ui.list_past(None) == [] and ui.list_past("mallory") == []
        view = ui.open_past(a, "alice")  # one's own session opens, with its transcript
        assert words["alice"] in view.transcript and words["bob"] not in view.transcript
        bob_dir = f"../{owner_hash('bob')}/{b}"
        for who, sid in (("alice", b), ("alice", bob_dir), ("mallory", a), ("", a), (None, b)):
            for fn in (ui.resolve, ui.open_past, ui.download_zip, ui.analysis_file):
                with pytest.raises(SessionNotFound):
                    fn(sid, who)
        import zipfile

        with zipfile.ZipFile(ui.download_zip(a, "alice")) as z:
            text = b"".join(z.read(n) for n in z.namelist())
        assert words["alice"].encode() in text and words["bob"].encode() not in text
        # The operator setting that shares archives is what lets one see the other's.
        shared = ResultsPlugin(
            AppContext(Settings(data_dir=tmp_path, share_archives=True), endpoint)
        )
        assert sorted(sid for _, sid in shared.list_past("alice")) == sorted([a, b])


async def test_a_key_typed_in_the_page_reaches_no_file_and_no_log(tmp_path, caplog):
    """A visitor types a key (the app has none; its Live server accepts only that key): the
    session works, and afterwards the key is in no file under data_dir and no log record."""
    key = fake_key()
    caplog.set_level(logging.DEBUG)
    async with FakeLiveServer(api_key=key, config=FakeLiveConfig(speed=6.0)) as srv:
        settings = Settings(data_dir=tmp_path, base_url=srv.url, ca_cert=srv.ca_cert)
        endpoint, offline = resolve_endpoint(settings)
        assert offline is None and not endpoint.api_key  # the app itself holds no key
        app = App(settings, endpoint)
        h = app.handler()
        peer = SimulatedPeer(h, ["typist", key, "", "", "", ""])
        try:
            await peer.start()
            await until(lambda: is_live(h))
            assert h.live_endpoint.base_url == srv.url  # the typed key went to the local server
            srv.queue_tool_call("draw_diagram", {"code": "graph TD\n  K-->V", "title": "keys"})
            h.send_text("draw something")
            await until(lambda: srv.stats.tool_responses, timeout=15)
            await until(
                lambda: any(ln.role is Role.MODEL and ln.final for ln in h.conv.lines), timeout=15
            )
            srv.drop_connections()  # a reconnect re-sends the key: its handshake is logged too
            await until(lambda: h.session.stats.resumes >= 1 and is_live(h), timeout=15)
        finally:
            await peer.close()
            await app.aclose()
    assert srv.stats.setups >= 2
    files = [p for p in Path(tmp_path).rglob("*") if p.is_file()]  # noqa: ASYNC240 -- after the session
    assert any(p.name == "recording.webm" for p in files) and any(
        p.name == "events_log.jsonl" for p in files
    )
    for p in files:
        data = p.read_bytes()
        assert key.encode() not in data and key[4:24].encode() not in data, p
    assert len(caplog.records) > 20
    for r in caplog.records:
        msg = r.getMessage() + repr(r.args)
        assert key not in msg and key[4:24] not in msg, (r.name, msg[:200])
    # The key stayed with that connection: the app's shared state does not hold it.
    assert not app.ctx.endpoint.api_key and not app.ctx.settings.api_key
    assert not app.handler().args.api_key
    record(
        "typed_key_privacy",
        {
            "files_checked": len(files),
            "log_records": len(caplog.records),
            "setups": srv.stats.setups,
        },
    )
