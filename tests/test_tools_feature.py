"""take_picture and draw_diagram in the running handler: real SDK, local Live server, simulated peer."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import os
import threading
import time
from typing import Any

import numpy as np
import pytest
from google.genai import types
from PIL import Image

from googlive.config import Secret, Settings
from googlive.fakelive import FakeLiveServer, vision
from googlive.features.tools.feature import (
    SharedMermaid,
    ToolsFeature,
    install,
    render_snapshots_panel,
)
from googlive.features.tools.mermaid_node import MermaidValidator, node_missing_reason
from googlive.features.tools.picture import CAMERA_OFF_ERROR, Snapshot
from googlive.handler import GeminiHandler
from googlive.live.backend import Endpoint
from googlive.live.events import Role, ToolCall
from googlive.live.models import family_of
from googlive.testing.peersim import SimulatedPeer
from googlive.ui import AppContext
from tests.util import is_live, offline_endpoint, talk, until

NODE_MISSING = node_missing_reason()
INPUTS = ["owner", "", "", "", "", ""]


class App:
    """An AppContext with the tools feature installed, and a handler/peer per connection."""

    def __init__(self, srv: FakeLiveServer, model: str = "gemini-3.8-live") -> None:
        self.endpoint = offline_endpoint(srv)
        self.model = model
        self.non_blocking = family_of(model).non_blocking_tools
        self.ctx = AppContext(Settings(model=model), self.endpoint)
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
        f = h.feature_of(ToolsFeature)
        assert isinstance(f, ToolsFeature)
        return peer, h, f

    async def close(self) -> None:
        for p in self.peers:
            await p.close()
        await self.ctx.services["mermaid"].aclose()


@pytest.fixture
async def app(server, live_model):
    """The app on each model family (the handler runs on `live_model`)."""
    a = App(server, live_model)
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
    """A model line of the transcript contains `needle` (case-insensitive)."""
    return any(ln.role is Role.MODEL and needle.lower() in ln.text.lower() for ln in h.conv.lines)


def result_of(srv: FakeLiveServer, call_id: str) -> Any:
    """What the server did with the answer to `call_id` (FakeLiveStats.tool_results)."""
    return next((r for r in srv.stats.tool_results if r.id == call_id), None)


async def fence(h: GeminiHandler, text: str) -> None:
    """A typed turn, answered: whatever the model would have said before it has been said."""
    h.send_text(text)
    await until(lambda: model_said(h, f"you said: {text}"), timeout=15)


# ---- draw_diagram ----------------------------------------------------------------------------


async def test_draw_diagram_answers_by_id_shows_panel_and_rejects_invalid_keeping_last_good(
    app, server
):
    """A valid diagram is shown and answered by id; where calls do not block (3.8) the model
    talked while it drew and the SILENT answer makes no second, doubled description; where they
    block it speaks once, after the answer. An invalid one is an error the model is told about
    (WHEN_IDLE on 3.8), and the panel keeps the last good diagram."""
    peer, h, f = await app.connect()
    seen: list[Any] = []
    f.on_diagram.append(seen.append)
    h.send_text("please draw a diagram of the water cycle")
    resp = await answered(server, "draw_diagram")
    assert resp["result"] == "ok" and resp["version"] == 1, resp
    assert len(f.diagrams) == 1 and seen == f.diagrams
    call_id = calls_named(server, "draw_diagram")[0]["id"]
    assert f.diagrams[0].id == call_id
    panel = h.conv.panels["diagram"]
    assert "```mermaid\nflowchart" in panel or "```mermaid\ngraph" in panel, panel[:200]
    assert "Offline demo diagram" in panel
    rec = await until(lambda: result_of(server, call_id), timeout=10)
    if app.non_blocking:
        assert (rec.blocking, rec.scheduling, rec.delivery) == (False, "SILENT", "silent")
        await fence(h, "thanks")
        about = [
            ln.text for ln in h.conv.lines if ln.role is Role.MODEL and "draw_diagram" in ln.text
        ]
        assert len(about) == 1 and "using draw_diagram" in about[0], about  # the filler, once
        assert not rec.spoken and not model_said(h, "draw_diagram tool answered ok")
    else:
        assert (
            rec.blocking and rec.scheduling is None
        )  # scheduling means nothing to a blocking call
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
    rec = result_of(server, calls_named(server, "draw_diagram")[1]["id"])
    assert rec.scheduling == ("WHEN_IDLE" if app.non_blocking else None)


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


CODE = (5, 3, 1)


def marked_frame(colour: str = "red", code: tuple[int, ...] = CODE) -> np.ndarray:
    """A 1280x720 BGR camera frame in `colour` with a code of fine stripes drawn into it
    (googlive.fakelive.vision): the local model reads the code only from the full-resolution
    still at HIGH detail, never from a 640 px stream frame nor at a lower resolution. Red
    read back as red also shows the channels were not swapped (swapped, it reads blue)."""
    rgb = np.asarray(vision.draw_marker((1280, 720), colour, code))
    return np.ascontiguousarray(rgb[:, :, ::-1])


async def stream_frame_sent(h: GeminiHandler, server: FakeLiveServer, frame: np.ndarray) -> bytes:
    """The camera delivers `frame`; the handler's low-resolution stream sends it once."""
    await h.video_receive(frame)
    await until(lambda: h.video_sent >= 1 and server.stats.video_frames_received >= 1, timeout=5)
    return server.stats.last_jpeg


async def picture_words(h: GeminiHandler, n: int = 1) -> str:
    """The model's transcribed words about the n-th picture (its final line saying so)."""

    def lines() -> list[str]:
        return [
            ln.text
            for ln in h.conv.lines
            if ln.role is Role.MODEL
            and ln.final
            and "take_picture tool answered ok" in ln.text.lower()
        ]

    return (await until(lambda: len(lines()) >= n and lines(), timeout=15))[n - 1]


def still_in_context(server: FakeLiveServer, jpeg: bytes) -> dict[str, Any]:
    """How the still entered the model's context (source, resolution, tokens)."""
    return next(c for c in reversed(server.stats.context_images) if c["bytes"] == len(jpeg))


async def test_take_picture_gives_the_model_a_closer_look_than_the_stream(app, server):
    """The frame's code cannot be read from the stream; take_picture's full-resolution still
    reaches the context in the way the family takes it, at HIGH detail (3.8: client content
    with its own Part resolution over a LOW stream; 2.5: client content at the session's HIGH;
    3.1: a realtime frame, counted because all video is), and the model's spoken answer names
    the colour and the code. The snapshot is shown, its reason escaped."""
    peer, h, f = await app.connect()
    got: list[Snapshot] = []
    f.on_snapshot.append(got.append)
    streamed = await stream_frame_sent(h, server, marked_frame())
    assert max(Image.open(io.BytesIO(streamed)).size) <= h.settings.video_max_side
    assert vision.read(streamed, vision.HIGH).code is None  # no resolution reads it from the stream
    h.send_text("take a picture please")
    resp = await answered(server, "take_picture")
    assert resp["result"] == "ok" and (resp["width"], resp["height"]) == (1280, 720), resp
    words = await picture_words(h)
    assert "i see red, code 5 3 1" in words.lower(), words
    assert len(f.snapshots) == 1 and got == f.snapshots
    assert f.snapshots[0].id == calls_named(server, "take_picture")[0]["id"]
    ctx = still_in_context(server, f.snapshots[0].jpeg)
    fam = family_of(app.model)
    assert ctx["source"] == ("client_content" if fam.client_content_mid_session else "video")
    assert ctx["resolution"] == vision.HIGH
    assert server.stats.client_content_refused == 0 and server.stats.setups_refused == 0
    rec = result_of(server, calls_named(server, "take_picture")[0]["id"])
    assert rec.scheduling == ("INTERRUPT" if app.non_blocking else None)
    panel = await until(lambda: h.conv.panels.get("snapshots"), timeout=5)
    assert panel.count("<img ") == 1 and 'src="data:image/jpeg;base64,' in panel
    assert 'width="320" height="180"' in panel
    assert "Offline demo&#58; you asked me to look" in panel  # the reason, escaped

    # A hostile reason stays text, and the newest snapshot comes first.
    await h.video_receive(marked_frame("blue", (2, 7, 4)))
    server.queue_tool_call(
        "take_picture", {"reason": '"><img src=x onerror=alert(1)><script>alert(2)</script>'}
    )
    h.send_text("another")
    await answered(server, "take_picture", 2)
    assert "i see blue, code 2 7 4" in (await picture_words(h, 2)).lower()
    panel = await until(
        lambda: h.conv.panels["snapshots"].count("<img ") == 2 and h.conv.panels["snapshots"],
        timeout=5,
    )
    assert "<script" not in panel and "onerror=" not in panel.replace("onerror&#61;", "")
    assert panel.index("alert&#40;1&#41;") < panel.index("Offline demo&#58;")


async def test_the_answer_depends_on_the_still(app, server):
    """The negative: the same call with the still never leaving the app. The tool still
    answers ok, but the model saw no new image, so its words name no code."""
    peer, h, f = await app.connect()
    await stream_frame_sent(h, server, marked_frame())
    assert h.session is not None

    def lost(jpeg: bytes) -> None:
        return None

    h.session.send_image = lost  # type: ignore[method-assign]
    h.send_text("take a picture please")
    words = await picture_words(h)
    assert "5 3 1" not in words and vision.NO_NEW_IMAGE in words, words


async def test_a_still_sent_as_a_stream_frame_is_no_closer_look(app, server):
    """The way the app sent stills before (a realtime frame at the session's resolution):
    on 3.8 it enters at the LOW stream detail and the code is too fine to read; on 2.5 the
    activity-only turn coverage leaves it out while the user is silent; on 3.1 it is the way
    that works, so the code is read."""
    peer, h, f = await app.connect()
    await stream_frame_sent(h, server, marked_frame())
    assert h.session is not None
    h.session.choices = dataclasses.replace(h.session.choices, still_via_client_content=False)
    h.send_text("take a picture please")
    words = (await picture_words(h)).lower()
    fam = family_of(app.model)
    if not fam.client_content_mid_session:  # 3.1
        assert "i see red, code 5 3 1" in words, words
    elif fam.per_part_media_resolution:  # 3.8
        assert "too fine to read" in words and "5 3 1" not in words, words
    else:  # 2.5
        assert vision.NO_NEW_IMAGE.lower() in words and server.stats.video_frames_left_out >= 1, (
            words
        )


async def test_take_picture_with_camera_off_is_an_error_the_model_can_say(app, server):
    peer, h, f = await app.connect()
    h.send_text("take a picture")
    resp = await answered(server, "take_picture")
    assert resp == {"error": CAMERA_OFF_ERROR}
    assert server.stats.last_jpeg is None and f.snapshots == [] and not server.stats.context_images
    await until(lambda: model_said(h, "take_picture tool reported an error"), timeout=15)
    rec = result_of(server, calls_named(server, "take_picture")[0]["id"])
    assert rec.scheduling == ("WHEN_IDLE" if app.non_blocking else None)
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


async def test_user_speech_cancels_a_pending_tool_only_where_calls_block(app, server):
    """The user talks while a slow tool runs. Where calls block (3.1, 2.5) the server cancels
    the call: the handler cancels the tool and sends no response. On 3.8 the call does not
    block the conversation: it runs on, and its answer is sent and delivered."""
    h = app.handler()
    slow = SlowTool()
    h.registry.register(SLOW, slow, timeout_s=60)
    peer, h, f = await app.connect(h)
    assert "slow_lookup" in {d["name"] for d in _declared(server)}
    server.queue_tool_call("slow_lookup", {})
    h.send_text("find it")
    await asyncio.wait_for(slow.started.wait(), 10)
    call_id = calls_named(server, "slow_lookup")[0]["id"]
    await peer.say(talk(0.8))  # the user talks while the tool runs
    if app.non_blocking:
        await peer.said()
        await fence(h, "fence")
        assert call_id not in server.stats.tool_cancellations_sent
        assert call_id in h.registry.running_ids and not slow.cancelled
        slow.release.set()
        await until(lambda: response_for(server, call_id), timeout=10)
        rec = await until(lambda: result_of(server, call_id), timeout=5)
        assert rec.delivery in ("speak_now", "queued", "interrupt") and not rec.blocking
        await until(lambda: model_said(h, "slow_lookup tool answered ok"), timeout=15)
    else:
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


# The handler's own audio path, whatever the model (the call is injected as an event): once.
@pytest.mark.parametrize("live_model", ["gemini-3.8-live"], ids=["3.8"])
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
