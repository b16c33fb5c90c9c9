"""Tool registry dispatch, take_picture and draw_diagram with hand-written fakes."""

from __future__ import annotations

import asyncio
import base64
import io
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from google.genai import types
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from pydantic import BaseModel

from googlive.features.tools import (
    CAMERA_OFF_ERROR,
    DiagramHistory,
    MermaidValidator,
    Snapshot,
    ToolRegistry,
    export_diagram,
    register_draw_diagram,
    register_take_picture,
)
from googlive.live.events import ToolCall

T = 0.05  # one time unit for the timing tests


class FakeCamera:
    """Records what take_picture asks of the connection."""

    def __init__(self, frame: np.ndarray | None, send_delay_s: float = 0.0) -> None:
        self.frame = frame
        self.send_delay_s = send_delay_s
        self.sent: list[bytes] = []
        self.snapshots: list[Snapshot] = []

    def latest_frame(self) -> np.ndarray | None:
        return self.frame

    async def send_image(self, jpeg: bytes) -> None:
        if self.send_delay_s:
            await asyncio.sleep(self.send_delay_s)
        self.sent.append(jpeg)

    def on_snapshot(self, snapshot: Snapshot) -> None:
        self.snapshots.append(snapshot)


class EchoArgs(BaseModel):
    n: int


def _registry(started: asyncio.Event | None = None) -> ToolRegistry:
    reg = ToolRegistry(default_timeout_s=5 * T)

    async def echo(args: dict[str, Any], call_id: str) -> dict[str, Any]:
        return {"n": args["n"], "id": call_id}

    async def slow(args: dict[str, Any], call_id: str) -> dict[str, Any]:
        if started is not None:
            started.set()
        await asyncio.sleep(100 * T)
        return {"done": True}

    async def boom(args: dict[str, Any], call_id: str) -> dict[str, Any]:
        raise RuntimeError("secret user words")

    reg.register(types.FunctionDeclaration(name="echo", description="e"), echo, args_model=EchoArgs)
    reg.register(types.FunctionDeclaration(name="slow", description="s"), slow)
    reg.register(types.FunctionDeclaration(name="boom", description="b"), boom)
    return reg


def test_declarations_wrap_all_functions_in_one_tool() -> None:
    """declarations() gives one types.Tool listing every registered function."""
    tools = _registry().declarations()
    assert len(tools) == 1
    assert [f.name for f in tools[0].function_declarations or []] == ["echo", "slow", "boom"]


async def test_valid_call_returns_result_with_call_id() -> None:
    """A good call is answered with the handler's dict and the call's id."""
    res = await _registry().dispatch(ToolCall("c1", "echo", {"n": "3"}))
    assert res is not None and res.id == "c1" and res.name == "echo"
    assert res.response == {"n": 3, "id": "c1"}
    fr = res.to_function_response()
    assert fr.id == "c1" and fr.response == {"n": 3, "id": "c1"}


async def test_unknown_tool_is_an_error_response() -> None:
    """An unknown name becomes an error naming the available tools, not an exception."""
    res = await _registry().dispatch(ToolCall("c2", "nope", {}))
    assert res is not None and res.id == "c2" and "Unknown tool" in res.response["error"]


async def test_bad_arguments_are_an_error_response_without_echoing_input() -> None:
    """Invalid arguments give an error with the field and reason, not the value."""
    res = await _registry().dispatch(ToolCall("c3", "echo", {"n": "not-a-number-SECRET"}))
    assert res is not None and res.is_error
    assert "n:" in res.response["error"] and "SECRET" not in res.response["error"]


async def test_handler_exception_is_an_error_response() -> None:
    """A handler that raises is answered with a generic error (no exception text)."""
    res = await _registry().dispatch(ToolCall("c4", "boom", {}))
    assert res is not None and res.is_error and "secret" not in res.response["error"]


async def test_timeout_is_an_error_response() -> None:
    """A handler exceeding its timeout is cancelled and answered with an error."""
    reg = _registry()
    res = await reg.dispatch(ToolCall("c5", "slow", {}), timeout_s=T)
    assert res is not None and "timed out" in res.response["error"]
    assert reg.running_ids == ()


async def test_cancel_drops_the_result() -> None:
    """cancel(ids) stops a running handler and dispatch returns None (nothing to send)."""
    started = asyncio.Event()
    reg = _registry(started)
    task = asyncio.create_task(reg.dispatch(ToolCall("c6", "slow", {})))
    await asyncio.wait_for(started.wait(), 10 * T)
    assert reg.running_ids == ("c6",)
    reg.cancel(["c6"])
    assert await asyncio.wait_for(task, 10 * T) is None
    assert reg.running_ids == ()


async def test_cancel_before_dispatch_drops_the_call() -> None:
    """A cancellation that arrives first means the call is never run."""
    reg = _registry()
    reg.cancel(["c7"])
    assert await reg.dispatch(ToolCall("c7", "echo", {"n": 1})) is None


async def test_outer_cancellation_propagates_and_stops_handler() -> None:
    """Cancelling the task awaiting dispatch cancels the handler too."""
    started = asyncio.Event()
    reg = _registry(started)
    task = asyncio.create_task(reg.dispatch(ToolCall("c8", "slow", {})))
    await asyncio.wait_for(started.wait(), 10 * T)
    assert reg.running_ids == ("c8",)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    assert task.cancelled() and reg.running_ids == ()


async def test_other_tools_can_be_registered() -> None:
    """A later tool (like the survey's record_answer) plugs in with the same signature."""
    reg = ToolRegistry()
    got: list[tuple[dict[str, Any], str]] = []

    async def record_answer(args: dict[str, Any], call_id: str) -> dict[str, Any]:
        got.append((args, call_id))
        return {"recorded": True}

    reg.register(types.FunctionDeclaration(name="record_answer", description="r"), record_answer)
    res = await reg.dispatch(ToolCall("s1", "record_answer", {"q": "age", "a": 3}))
    assert res is not None and res.response == {"recorded": True}
    assert got == [({"q": "age", "a": 3}, "s1")]


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
    max_leaves=12,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.sampled_from(["echo", "take_picture", "draw_diagram", "x"]) | st.text(max_size=12),
    args=_json,
)
def test_arbitrary_arguments_never_raise(name: str, args: Any) -> None:
    """Whatever the model sends, dispatch answers with a result carrying the id."""
    reg = _registry()
    register_take_picture(reg, FakeCamera(None))
    register_draw_diagram(reg, MermaidValidator(use_node=False), DiagramHistory())

    async def run() -> None:
        res = await reg.dispatch(ToolCall("fz", name, args), timeout_s=20 * T)  # type: ignore[arg-type]
        assert res is not None and res.id == "fz" and isinstance(res.response, dict)

    asyncio.run(run())


# --- take_picture


async def test_take_picture_with_camera_off_says_so() -> None:
    """No frame: an error the model can read aloud; nothing sent, no snapshot."""
    cam = FakeCamera(None)
    reg = ToolRegistry()
    register_take_picture(reg, cam)
    res = await reg.dispatch(ToolCall("p1", "take_picture", {}))
    assert res is not None and res.response == {"error": CAMERA_OFF_ERROR}
    assert cam.sent == [] and cam.snapshots == []


async def test_take_picture_sends_full_resolution_jpeg_and_emits_snapshot() -> None:
    """A 1280x720 BGR frame is sent as a 1280x720 JPEG and shown with its reason."""
    frame = np.zeros((720, 1280, 3), np.uint8)
    frame[:, :, 2] = 255  # BGR red
    cam = FakeCamera(frame)
    reg = ToolRegistry()
    register_take_picture(reg, cam)
    res = await reg.dispatch(ToolCall("p2", "take_picture", {"reason": "read the label"}))
    assert res is not None and res.response["result"] == "ok"
    assert len(cam.sent) == 1
    img = Image.open(io.BytesIO(cam.sent[0]))
    assert img.format == "JPEG" and img.size == (1280, 720)
    r, g, b = img.convert("RGB").getpixel((640, 360))
    assert r > 200 and g < 60 and b < 60  # channel order converted from BGR
    (snap,) = cam.snapshots
    assert (snap.id, snap.reason, snap.width, snap.height) == ("p2", "read the label", 1280, 720)
    assert snap.jpeg == cam.sent[0]


async def test_take_picture_caps_the_longest_side() -> None:
    """A 4K frame is scaled so its longest side is 1920, keeping the aspect ratio."""
    cam = FakeCamera(np.full((2160, 3840, 3), 128, np.uint8))
    reg = ToolRegistry()
    register_take_picture(reg, cam)
    res = await reg.dispatch(ToolCall("p3", "take_picture", {}))
    assert res is not None and (res.response["width"], res.response["height"]) == (1920, 1080)


async def test_take_picture_slow_send_is_an_error_not_a_hang() -> None:
    """A send that never completes is answered with an error within the send timeout."""
    cam = FakeCamera(np.zeros((48, 64, 3), np.uint8), send_delay_s=100 * T)
    reg = ToolRegistry()
    register_take_picture(reg, cam, send_timeout_s=T)
    res = await asyncio.wait_for(reg.dispatch(ToolCall("p4", "take_picture", {})), 20 * T)
    assert res is not None and res.is_error and cam.snapshots == []


# --- draw_diagram


async def test_draw_diagram_invalid_gives_line_and_message_and_keeps_last_good() -> None:
    """Invalid code: the error carries line and message; the history keeps the good one."""
    history = DiagramHistory()
    shown: list[Any] = []
    reg = ToolRegistry()
    register_draw_diagram(reg, MermaidValidator(use_node=False), history, shown.append)
    ok = await reg.dispatch(
        ToolCall("d1", "draw_diagram", {"code": "graph TD\n  A-->B", "title": "First"})
    )
    assert ok is not None and ok.response["result"] == "ok"
    bad = await reg.dispatch(
        ToolCall("d2", "draw_diagram", {"code": "graph TD\n  A-->B\n  B-->C[oops"})
    )
    assert bad is not None and bad.is_error
    assert bad.response["line"] == 3 and bad.response["message"]
    assert len(history) == 1 and history.latest is not None and history.latest.title == "First"
    assert [d.id for d in shown] == ["d1"]


async def test_draw_diagram_requires_code() -> None:
    """Missing code is a bad-arguments error."""
    reg = ToolRegistry()
    register_draw_diagram(reg, MermaidValidator(use_node=False), DiagramHistory())
    res = await reg.dispatch(ToolCall("d3", "draw_diagram", {"title": "x"}))
    assert res is not None and "code" in res.response["error"]


async def test_export_without_server_writes_only_the_source(tmp_path: Path) -> None:
    """No MERMAID_INK_SERVER: the .mmd file, and no error."""
    d = DiagramHistory().add("graph TD\n  A-->B", "My flow")
    files = await export_diagram(d, tmp_path, server="")
    assert [f.name for f in files] == ["001-My-flow.mmd"]
    assert files[0].read_text() == "graph TD\n  A-->B\n"


async def test_export_with_server_writes_svg_and_png(tmp_path: Path) -> None:
    """A mermaid.ink server that answers gives .svg and .png next to the .mmd."""
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path.split("/")[1])
        return httpx.Response(200, content=b"<svg/>" if "/svg/" in str(request.url) else b"\x89PNG")

    d = DiagramHistory().add("graph TD\n  A-->B", "t")
    files = await export_diagram(
        d, tmp_path, server="http://ink.test", transport=httpx.MockTransport(answer)
    )
    assert [f.suffix for f in files] == [".mmd", ".svg", ".png"] and seen == ["svg", "img"]


async def test_export_with_unreachable_server_degrades_quietly(tmp_path: Path) -> None:
    """A server that fails leaves just the .mmd, without raising."""

    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("down", request=request)

    d = DiagramHistory().add("graph TD\n  A-->B", "t")
    files = await export_diagram(
        d, tmp_path, server="http://ink.test", transport=httpx.MockTransport(fail)
    )
    assert [f.suffix for f in files] == [".mmd"]


async def test_each_answer_carries_the_scheduling_its_tool_chose():
    """A picture's answer interrupts (it is looked at now), a shown diagram's is silent (no
    second description), an error of either waits until the model is idle; a tool registered
    without a policy answers WHEN_IDLE, and so do unknown tools and bad arguments."""
    S = types.FunctionResponseScheduling
    reg = ToolRegistry()
    cam = FakeCamera(np.zeros((48, 64, 3), np.uint8))
    register_take_picture(reg, cam)
    register_draw_diagram(reg, MermaidValidator(use_node=False), DiagramHistory())

    async def plain(args: dict[str, Any], call_id: str) -> dict[str, Any]:
        return {"ok": True}

    reg.register(types.FunctionDeclaration(name="plain"), plain)
    pic = await reg.dispatch(ToolCall("1", "take_picture", {}))
    assert pic.scheduling is S.INTERRUPT
    cam.frame = None
    assert (await reg.dispatch(ToolCall("2", "take_picture", {}))).scheduling is S.WHEN_IDLE
    ok = await reg.dispatch(ToolCall("3", "draw_diagram", {"code": "graph TD\n  A-->B"}))
    assert not ok.is_error and ok.scheduling is S.SILENT
    bad = await reg.dispatch(ToolCall("4", "draw_diagram", {"code": "graph TD\n  A-->"}))
    assert bad.is_error and bad.scheduling is S.WHEN_IDLE
    assert (await reg.dispatch(ToolCall("5", "draw_diagram", {}))).scheduling is S.WHEN_IDLE
    assert (await reg.dispatch(ToolCall("6", "plain", {}))).scheduling is S.WHEN_IDLE
    assert (await reg.dispatch(ToolCall("7", "nope", {}))).scheduling is S.WHEN_IDLE
    fr = ok.to_function_response()
    assert fr.scheduling is S.SILENT and fr.id == "3"


def test_mermaid_ink_id_is_url_safe_base64_of_the_utf8_source():
    from googlive.features.tools.diagram import mermaid_ink_id

    src = "graph TD\n  A[Größe ≥ 5?] -->|ja| B>>~~~]"  # bytes that give '+' and '/' in plain base64
    assert base64.b64encode(src.encode()).decode() != mermaid_ink_id(src)
    assert "+" not in mermaid_ink_id(src) and "/" not in mermaid_ink_id(src)
    assert base64.urlsafe_b64decode(mermaid_ink_id(src)).decode("utf-8") == src
