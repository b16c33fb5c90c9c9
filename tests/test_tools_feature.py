"""take_picture and draw_diagram in the running handler: real SDK, local Live server, simulated peer."""

from __future__ import annotations

import asyncio
import io
import os
import threading
import time
from typing import Any

import numpy as np
import pytest
from google.genai import types
from PIL import Image

from googlive.backend import Endpoint
from googlive.config import Secret, Settings
from googlive.events import Role, ToolCall
from googlive.fakelive import FakeLiveServer
from googlive.handler import GeminiHandler
from googlive.peersim import SimulatedPeer
from googlive.tools.feature import SharedMermaid, ToolsFeature, install, render_snapshots_panel
from googlive.tools.mermaid_node import MermaidValidator, node_missing_reason
from googlive.tools.picture import CAMERA_OFF_ERROR, Snapshot
from googlive.ui import AppContext
from tests.util import is_live, offline_endpoint, talk, until

NODE_MISSING = node_missing_reason()
INPUTS = ["owner", "", "", "", "", ""]


class App:
    """An AppContext with the tools feature installed, and a handler/peer per connection."""

    def __init__(self, srv: FakeLiveServer) -> None:
        self.endpoint = offline_endpoint(srv)
        self.ctx = AppContext(Settings(), self.endpoint)
        install(self.ctx)
        self.peers: list[SimulatedPeer] = []

    def handler(self) -> GeminiHandler:
        return GeminiHandler(
            self.ctx.settings, self.endpoint, features=self.ctx.features, services=self.ctx.services
        )

    async def connect(
        self, h: GeminiHandler | None = None
    ) -> tuple[SimulatedPeer, GeminiHandler, ToolsFeature]:
        peer = SimulatedPeer(h or self.handler(), INPUTS)
        self.peers.append(peer)
        await peer.start()
        h = peer.handler
        await until(lambda: is_live(h))
        f = h.feature("tools")
        assert isinstance(f, ToolsFeature)
        return peer, h, f

    async def close(self) -> None:
        for p in self.peers:
            await p.close()
        await self.ctx.services["mermaid"].aclose()


@pytest.fixture
async def app(server):
    a = App(server)
    yield a
    await a.close()


def calls_named(srv: FakeLiveServer, name: str) -> list[dict[str, Any]]:
    return [c for c in srv.stats.tool_calls_sent if c["name"] == name]


def response_for(srv: FakeLiveServer, call_id: str) -> dict[str, Any] | None:
    return next((r for r in srv.stats.tool_responses if r["id"] == call_id), None)


async def answered(
    srv: FakeLiveServer, name: str, n: int = 1, timeout: float = 15
) -> dict[str, Any]:
    """Wait for the n-th call of `name` and its response; returns the response body."""
    await until(lambda: len(calls_named(srv, name)) >= n, timeout=timeout)
    call_id = calls_named(srv, name)[n - 1]["id"]
    r = await until(lambda: response_for(srv, call_id), timeout=timeout)
    assert r["name"] == name
    return r["response"]


def model_said(h: GeminiHandler, needle: str) -> bool:
    return any(ln.role is Role.MODEL and needle in ln.text for ln in h.conv.lines)


# ---- draw_diagram ----------------------------------------------------------------------------


async def test_draw_diagram_answers_by_id_shows_panel_and_rejects_invalid_keeping_last_good(
    app, server
):
    peer, h, f = await app.connect()
    seen: list[Any] = []
    f.on_diagram.append(seen.append)
    h.send_text("please draw a diagram of the water cycle")
    resp = await answered(server, "draw_diagram")
    assert resp["result"] == "ok" and resp["version"] == 1, resp
    assert len(f.diagrams) == 1 and seen == f.diagrams
    assert f.diagrams[0].id == calls_named(server, "draw_diagram")[0]["id"]
    panel = h.conv.panels["diagram"]
    assert "```mermaid\nflowchart" in panel or "```mermaid\ngraph" in panel, panel[:200]
    assert "Offline demo diagram" in panel
    await until(lambda: model_said(h, "draw_diagram tool answered ok"), timeout=15)
    good_panel, good_version = panel, h.conv.versions["diagram"]

    # Invalid Mermaid: an error response with the parser's line and message; the panel stays.
    server.queue_tool_call("draw_diagram", {"code": "graph TD\n A-->", "title": "x"})
    h.send_text("change it")
    resp = await answered(server, "draw_diagram", 2)
    assert "error" in resp and resp["line"] == 2 and resp["message"], resp
    assert resp["validator"] == ("python" if NODE_MISSING else "mermaid-js")
    assert h.conv.panels["diagram"] == good_panel
    assert h.conv.versions["diagram"] == good_version
    assert len(f.diagrams) == 1 and len(seen) == 1
    await until(lambda: model_said(h, "draw_diagram tool reported an error"), timeout=15)


async def test_unknown_tool_and_bad_arguments_are_error_responses(app, server):
    peer, h, f = await app.connect()
    server.queue_tool_call("no_such_tool", {"x": 1})
    h.send_text("first")
    resp = await answered(server, "no_such_tool")
    assert "Unknown tool" in resp["error"] and "draw_diagram" in resp["error"]
    server.queue_tool_call("draw_diagram", {"title": "no code"})
    h.send_text("second")
    resp = await answered(server, "draw_diagram")
    assert resp["error"].startswith("Bad arguments") and "code" in resp["error"]
    assert h.session is not None and h.session.state.value == "live"


# ---- take_picture ----------------------------------------------------------------------------


def camera_frame(w: int = 1280, h: int = 720) -> np.ndarray:
    """A BGR frame: blue left half, red right half (so a channel swap would show)."""
    f = np.zeros((h, w, 3), np.uint8)
    f[:, : w // 2] = (255, 0, 0)
    f[:, w // 2 :] = (0, 0, 255)
    return f


async def test_take_picture_sends_full_resolution_frame_and_shows_snapshot(app, server):
    peer, h, f = await app.connect()
    got: list[Snapshot] = []
    f.on_snapshot.append(got.append)
    # The camera delivers a frame; the handler's low-resolution stream sends it once.
    await h.video_receive(camera_frame())
    await until(lambda: h.video_sent >= 1 and server.stats.video_frames_received >= 1, timeout=5)
    streamed = Image.open(io.BytesIO(server.stats.last_jpeg))
    assert max(streamed.size) <= h.settings.video_max_side  # the stream copy is down-scaled
    h.send_text("take a picture please")
    resp = await answered(server, "take_picture")
    assert resp["result"] == "ok" and (resp["width"], resp["height"]) == (1280, 720), resp
    # The still went to the model before the response, at full size, colours intact.
    img = Image.open(io.BytesIO(server.stats.last_jpeg)).convert("RGB")
    assert img.size == (1280, 720)
    left, right = img.getpixel((100, 360)), img.getpixel((1180, 360))
    assert left[2] > 200 and left[0] < 60, left  # BGR blue -> RGB blue
    assert right[0] > 200 and right[2] < 60, right
    assert len(f.snapshots) == 1 and got == f.snapshots
    assert f.snapshots[0].id == calls_named(server, "take_picture")[0]["id"]
    panel = await until(lambda: h.conv.panels.get("snapshots"), timeout=5)
    assert panel.count("<img ") == 1 and 'src="data:image/jpeg;base64,' in panel
    assert 'width="320" height="180"' in panel
    assert "Offline demo&#58; you asked me to look" in panel  # the reason, escaped
    await until(lambda: model_said(h, "take_picture tool answered ok"), timeout=15)

    # A hostile reason stays text, and the newest snapshot comes first.
    await h.video_receive(camera_frame())
    server.queue_tool_call(
        "take_picture", {"reason": '"><img src=x onerror=alert(1)><script>alert(2)</script>'}
    )
    h.send_text("another")
    await answered(server, "take_picture", 2)
    panel = await until(
        lambda: h.conv.panels["snapshots"].count("<img ") == 2 and h.conv.panels["snapshots"],
        timeout=5,
    )
    assert "<script" not in panel and "onerror=" not in panel.replace("onerror&#61;", "")
    assert panel.index("alert&#40;1&#41;") < panel.index("Offline demo&#58;")


async def test_take_picture_with_camera_off_is_an_error_the_model_can_say(app, server):
    peer, h, f = await app.connect()
    h.send_text("take a picture")
    resp = await answered(server, "take_picture")
    assert resp == {"error": CAMERA_OFF_ERROR}
    assert server.stats.last_jpeg is None and f.snapshots == []
    await until(lambda: model_said(h, "take_picture tool reported an error"), timeout=15)
    # A camera that stopped sending frames counts as off too.
    await h.video_receive(camera_frame(64, 48))
    assert f._camera.latest_frame() is not None
    h.latest_frame_t = time.monotonic() - f.camera_stale_s - 1
    assert f._camera.latest_frame() is None


def test_snapshot_panel_caps_the_thumbnails_shown():
    snaps = [Snapshot(f"id{i}", 1_700_000_000 + i, f"r{i}", b"", 640, 480) for i in range(30)]
    thumbs = {s.id: ("data:image/jpeg;base64,AAAA", 32, 24) for s in snaps}
    html = render_snapshots_panel(snaps, thumbs, max_shown=12)
    assert html.count("<img ") == 12
    assert html.index("r29") < html.index("r28") and "r17" not in html.replace("r17&", "")
    assert "18 earlier snapshots" in html


# ---- the protocol around them ------------------------------------------------------------------

SLOW = types.FunctionDeclaration(name="slow_lookup", description="A slow test tool.")


class SlowTool:
    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.cancelled = False

    async def __call__(self, args: dict[str, Any], call_id: str) -> dict[str, Any]:
        self.started.set()
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        return {"result": "done"}


async def test_barge_in_cancels_pending_tool_and_no_response_is_sent(app, server):
    h = app.handler()
    slow = SlowTool()
    h.registry.register(SLOW, slow, timeout_s=60)
    peer, h, f = await app.connect(h)
    assert "slow_lookup" in {d["name"] for d in _declared(server)}
    server.queue_tool_call("slow_lookup", {})
    h.send_text("find it")
    await asyncio.wait_for(slow.started.wait(), 10)
    call_id = calls_named(server, "slow_lookup")[0]["id"]
    await peer.say(talk(0.8))  # the user talks while the model waits for the tool
    await until(lambda: call_id in server.stats.tool_cancellations_sent, timeout=10)
    await until(lambda: slow.cancelled and not h.registry.running_ids, timeout=5)
    await until(
        lambda: not [t for t in h._tasks if t.get_name().startswith("handler-tool")], timeout=5
    )
    # Everything queued before this text reaches the server first: no response was queued.
    h.send_text("fence")
    await until(lambda: "fence" in server.stats.texts_received, timeout=10)
    assert response_for(server, call_id) is None
    assert h.session is not None and h.session.state.value == "live"


async def test_slow_tool_never_stalls_audio_in_either_direction(app, server):
    h = app.handler()
    slow = SlowTool()
    h.registry.register(SLOW, slow, timeout_s=60)
    peer, h, f = await app.connect(h)
    h.send_text("Tell me a long story")
    await until(lambda: peer.heard_after(0) > 0.5, timeout=15)
    # A call arriving mid-reply, as the Live API may send it.
    h.handle_event(ToolCall("call-mid-reply", "slow_lookup", {}))
    await asyncio.wait_for(slow.started.wait(), 5)
    t_a, up_a = time.monotonic(), server.stats.audio_chunks_received
    await until(lambda: peer.heard_after(t_a) >= 1.0, timeout=5)
    wall = time.monotonic() - t_a
    assert "call-mid-reply" in h.registry.running_ids  # still waiting on the tool
    # The reply kept playing at real time while the tool waited: 1 s of audio in about 1 s of
    # wall time, no hole longer than scheduler jitter (a stalled path would leave a hole as long
    # as the tool's wait, which only ends when the test releases it).
    heard = [x for x in peer.stats.heard if x.t >= t_a and x.rms >= 30]
    gaps = [b.t - a.t for a, b in zip(heard, heard[1:], strict=False)]
    assert wall < 1.4, wall
    assert gaps and max(gaps) < 0.2, max(gaps)
    assert server.stats.audio_chunks_received > up_a  # the mic kept streaming up
    slow.release.set()
    r = await until(lambda: response_for(server, "call-mid-reply"), timeout=10)
    assert r["response"] == {"result": "done"}


def _declared(srv: FakeLiveServer) -> list[dict[str, Any]]:
    setup = srv.stats.last_setup or {}
    out = []
    for tool in setup.get("tools") or []:
        out += tool.get("functionDeclarations") or tool.get("function_declarations") or []
    return out


# ---- the app-wide validator --------------------------------------------------------------------


def mermaid_workers() -> list[int]:
    """Pids of this process's live `node worker.mjs` children."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{d}/cmdline", "rb") as fh:
                cmd = fh.read()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and fields[0] != "Z" and b"worker.mjs" in cmd:
            out.append(int(d))
    return out


async def test_warm_up_and_first_validation_share_one_worker(require_node):
    before = set(mermaid_workers())
    v = MermaidValidator()
    try:
        _, check = await asyncio.gather(v.start(), v.validate("graph TD\n  A-->B"))
        assert check.ok and check.validator == "mermaid-js", check
        assert v.uses_node
        assert len(set(mermaid_workers()) - before) == 1
    finally:
        await v.aclose()
    assert set(mermaid_workers()) - before == set()


def test_on_exit_stops_the_worker_from_the_main_thread_while_the_loop_runs(require_node):
    ctx = AppContext(Settings(), Endpoint("http://unused", None, Secret("k"), offline=True))
    install(ctx)
    install(ctx)  # idempotent: one validator, one exit hook
    shared = ctx.services["mermaid"]
    assert isinstance(shared, SharedMermaid) and ctx.services["on_exit"] == [shared.close]
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        check = asyncio.run_coroutine_threadsafe(shared.validate("graph TD\n  A-->B"), loop).result(
            30
        )
        assert check.validator == "mermaid-js"
        proc = shared._validator._worker._proc  # type: ignore[union-attr]
        assert proc is not None and proc.returncode is None
        for stop in ctx.services["on_exit"]:
            stop()
        asyncio.run_coroutine_threadsafe(asyncio.wait_for(proc.wait(), 5), loop).result(10)
        assert proc.returncode is not None
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
