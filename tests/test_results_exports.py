"""What the session archive exports besides the transcript: the diagnostics event log
(events_log.jsonl, issue 10) and SVG/PNG of each diagram from a mermaid.ink server (issue 4),
both in the session folder and in the zip bundle."""

from __future__ import annotations

import asyncio
import http.server
import json
import socket
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from googlive.assemble import assemble
from googlive.config import Secret, Settings
from googlive.fakelive import FakeLiveConfig, FakeLiveServer
from googlive.features.context import CallContext, CallInfo
from googlive.features.metrics.feature import MetricsFeature
from googlive.features.results import feature as archive_feature
from googlive.features.results.archive import SessionArchive
from googlive.features.results.archive_files import read_jsonl
from googlive.features.results.archive_layout import EVENTS_LOG_FILE
from googlive.features.results.archive_read import load_session
from googlive.features.results.archive_zip import export_zip
from googlive.features.results.feature import ArchiveFeature
from googlive.features.tools.diagram import Diagram
from googlive.handler import GeminiHandler, SessionArgs
from googlive.live.backend import Endpoint
from googlive.live.events import Role
from googlive.testing.peersim import SimulatedPeer
from googlive.ui import AppContext

KEY = "AIza" + "SyTESTexportsKEY0123456789abcdefghij"  # built, so no key-shaped literal is tracked
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>'
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32  # only its bytes matter: the archive copies them


async def until(pred, timeout: float = 10.0, step: float = 0.01):
    deadline = time.monotonic() + timeout
    while not (v := pred()):
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(step)
    return v


# ---- a tiny mermaid.ink stand-in on loopback ---------------------------------------------


class InkServer:
    """Answers GET /svg/<code> with an SVG and GET /img/<code>?type=png with a PNG."""

    def __init__(self, hang: bool = False) -> None:
        self.paths: list[str] = []
        self.hang = hang
        self.release = threading.Event()
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.paths.append(self.path)
                if outer.hang:
                    outer.release.wait(10)
                    return
                body, ctype = (
                    (SVG, "image/svg+xml") if self.path.startswith("/svg/") else (PNG, "image/png")
                )
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> InkServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def ink() -> Iterator[InkServer]:
    with InkServer() as s:
        yield s


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens there any more: connection refused


# ---- diagram export through the archive feature (no Live session needed) -------------------


def bare_call(data_dir: Path) -> CallContext:
    """A call context over a handler that never connects (the archive needs only its clock)."""
    h = GeminiHandler(Settings(data_dir=data_dir), Endpoint(None, None, Secret(None), offline=True))
    h.args = SessionArgs(owner="alice")
    info = CallInfo("alice", "m", "v", "", offline=True, data_dir=data_dir)
    return CallContext(h, info)


def diagram(i: int = 1) -> Diagram:
    return Diagram(
        id=f"call-{i}",
        source=f"graph TD\n  A{i}-->B{i}",
        title=f"Flow {i}",
        time=time.time(),
        version=i,
    )


async def archive_one_diagram(tmp_path: Path) -> tuple[ArchiveFeature, float]:
    """Archive one diagram the way the tools feature reports it, close, return close time."""
    f = ArchiveFeature(bare_call(tmp_path))
    await f.start()
    f.on_diagram(diagram())
    t0 = time.monotonic()
    await f.close()
    return f, time.monotonic() - t0


def diagram_files(f: ArchiveFeature) -> list[str]:
    return sorted(p.name for p in (f.archive.path / "diagrams").iterdir())


async def test_without_a_mermaid_ink_server_only_the_source_is_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("MERMAID_INK_SERVER", raising=False)
    f, _ = await archive_one_diagram(tmp_path)
    assert diagram_files(f) == ["call-1.json", "call-1.mmd"]
    with zipfile.ZipFile(export_zip(f.archive.path, tmp_path)) as z:
        names = [n.split("/", 1)[1] for n in z.namelist()]
    assert "diagrams/call-1.mmd" in names and not any(n.endswith((".svg", ".png")) for n in names)


async def test_with_a_mermaid_ink_server_svg_and_png_join_the_bundle(tmp_path, monkeypatch, ink):
    monkeypatch.setenv("MERMAID_INK_SERVER", ink.url)
    f, _ = await archive_one_diagram(tmp_path)
    folder = f.archive.path / "diagrams"
    assert diagram_files(f) == [
        "call-1.json",
        "call-1.mmd",
        "call-1.png",
        "call-1.svg",
    ]  # no scratch left
    assert (folder / "call-1.svg").read_bytes() == SVG
    assert (folder / "call-1.png").read_bytes() == PNG
    assert [p.split("/")[1] for p in ink.paths] == ["svg", "img"]  # one request each, this diagram
    # The Results view still sees one diagram (the exports are not read as sources).
    assert [d.id for d in load_session(f.archive.path).diagrams] == ["call-1"]
    with zipfile.ZipFile(export_zip(f.archive.path, tmp_path)) as z:
        members = {n.split("/", 1)[1]: n for n in z.namelist()}
        assert z.read(members["diagrams/call-1.svg"]) == SVG
        assert z.read(members["diagrams/call-1.png"]) == PNG


async def test_unreachable_mermaid_ink_server_degrades_to_the_source_quickly(
    tmp_path, monkeypatch, caplog
):
    monkeypatch.setenv("MERMAID_INK_SERVER", closed_port_url())
    f, close_s = await archive_one_diagram(tmp_path)  # raises nothing
    assert diagram_files(f) == ["call-1.json", "call-1.mmd"]
    assert close_s < 2.0, close_s
    assert "graph TD" not in caplog.text  # degraded quietly: no diagram source in the log


async def test_a_server_that_never_answers_is_bounded_by_the_export_budget(tmp_path, monkeypatch):
    monkeypatch.setattr(archive_feature, "EXPORT_BUDGET_S", 0.5)
    with InkServer(hang=True) as hung:
        monkeypatch.setenv("MERMAID_INK_SERVER", hung.url)
        f, close_s = await archive_one_diagram(tmp_path)
        assert hung.paths  # the request was made and left hanging
    assert diagram_files(f) == ["call-1.json", "call-1.mmd"]
    assert close_s < 2.0, close_s


# ---- the event log and a real draw_diagram through the assembled app ---------------------


def test_save_event_log_leaves_out_unsafe_entries(tmp_path):
    a = SessionArchive.create(tmp_path, "alice")
    n = a.save_event_log(
        [
            {"t": 0.1, "kind": "connect", "msg": "connecting"},
            {"t": 0.2, "kind": "error", "msg": "x", "api_key": "whatever"},  # secret-like name
            {"t": 0.3, "kind": "error", "msg": "data:image/png;base64,AAAA"},  # image data
            {"t": 0.4, "kind": "turn", "msg": "turn complete", "prompt_tokens": 3},
        ]
    )
    a.close()
    recs, skipped = read_jsonl(a.path / EVENTS_LOG_FILE)
    assert n == 2 and skipped == 0
    assert [r["t"] for r in recs] == [0.1, 0.4]


@pytest.fixture
async def server():
    async with FakeLiveServer(api_key=KEY, config=FakeLiveConfig(speed=6.0)) as srv:
        yield srv


async def test_assembled_session_exports_event_log_and_diagram_images(
    tmp_path, monkeypatch, server, ink
):
    """All features installed as app.py does: a typed turn and a draw_diagram call; at close the
    folder and the zip hold the metrics feature's (redacted) event log and the diagram's SVG/PNG."""
    monkeypatch.setenv("MERMAID_INK_SERVER", ink.url)
    endpoint = Endpoint(server.url, server.ca_cert, Secret(KEY), offline=True)
    ctx = assemble(AppContext(Settings(data_dir=tmp_path), endpoint))
    h = ctx.handler_cls(ctx.settings, endpoint, features=ctx.features, services=ctx.services)
    peer = SimulatedPeer(h, ["alice", "", "", "", "", ""])
    phrase = "pelican-" + "7f3a9c"
    try:
        await peer.start()
        await until(lambda: h.session is not None and h.session.state.value == "live")
        server.queue_tool_call("draw_diagram", {"code": "graph TD\n  A-->B", "title": "Plan"})
        h.send_text(f"draw it {phrase}")
        await until(lambda: server.stats.tool_responses, timeout=15)
        await until(
            lambda: any(ln.role is Role.MODEL and ln.final for ln in h.conv.lines), timeout=15
        )
        metrics = h.feature_of(MetricsFeature)
        metrics.log.add(h.session_time(), "error", f"upstream said key={KEY}")  # must be redacted
    finally:
        await peer.close()
        await ctx.services["mermaid"].aclose()
    call_id = server.stats.tool_calls_sent[0]["id"]
    assert server.stats.tool_responses[0]["response"].get("result") == "ok"
    arch = h.links.archive.archive
    recs, _ = read_jsonl(arch.path / EVENTS_LOG_FILE)
    assert recs == json.loads(json.dumps(metrics.log.entries()))  # every entry, as the panel has it
    kinds = {r["kind"] for r in recs}
    assert {"connect", "text", "tool", "turn"} <= kinds, kinds
    raw = (arch.path / EVENTS_LOG_FILE).read_text()
    assert KEY not in raw and "[redacted]" in raw
    assert phrase not in raw  # the typed text's length only, never its words
    diagrams = arch.path / "diagrams"
    assert (diagrams / f"{call_id}.mmd").read_text() == "graph TD\n  A-->B"
    assert (diagrams / f"{call_id}.svg").read_bytes() == SVG
    assert (diagrams / f"{call_id}.png").read_bytes() == PNG
    with zipfile.ZipFile(export_zip(arch.path, tmp_path)) as z:
        names = {n.split("/", 1)[1] for n in z.namelist()}
    assert {EVENTS_LOG_FILE, f"diagrams/{call_id}.svg", f"diagrams/{call_id}.png"} <= names


async def test_without_the_metrics_feature_no_event_log_is_written(tmp_path):
    f = ArchiveFeature(bare_call(tmp_path))
    await f.start()
    await f.close()
    assert not (f.archive.path / EVENTS_LOG_FILE).exists()
    assert (f.archive.path / "events.jsonl").is_file()


async def test_a_call_closed_before_its_archive_started_still_closes_the_folder(tmp_path):
    """The folder is made on the archive's writer thread; a call that ends before the feature's
    start() (its start-up cut short) must still finish that folder: meta.json says it ended."""
    f = ArchiveFeature(bare_call(tmp_path))
    await f.close()
    assert f.archive is not None  # the writer made the folder while closing
    meta = json.loads((f.archive.path / "meta.json").read_text())
    assert meta["backend"] == "offline" and "ended" in meta
    first = json.loads((f.archive.path / "events.jsonl").read_text().splitlines()[0])
    assert first["kind"] == "session_start"
