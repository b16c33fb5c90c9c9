"""take_picture: send the model a full-resolution still from the user's camera.

`TakePicture(ctx)` is a registry handler. It promises: with no frame (camera off or not yet
started) an `{"error": ...}` the model can say aloud; otherwise a JPEG (longest side capped at
`max_side`, encoded off the event loop) sent with `ctx.send_image` within `send_timeout_s`, then
`ctx.on_snapshot(Snapshot)`, and `{"result": "ok", ...}`. It never logs the image or the reason.
"""

from __future__ import annotations

import asyncio
import functools
import io
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from PIL import Image
from pydantic import Field

from googlive.features.api import ToolSpec
from googlive.features.tools.args import ToolArgs, text_parameters
from googlive.features.tools.registry import ResponseScheduling

if TYPE_CHECKING:
    from google.genai import types

    from googlive.features.tools.registry import ToolRegistry

log = logging.getLogger(__name__)

CAMERA_OFF_ERROR = "The camera is off, so I can't take a picture. Ask the user to turn it on."

REASON_MAX_CHARS = 300


class TakePictureArgs(ToolArgs):
    reason: str = Field(
        default="",
        max_length=REASON_MAX_CHARS,
        description="Optional short reason shown to the user under the photo, e.g. 'to read the label'.",
    )


# NON_BLOCKING (honoured by gemini-3.8-live; googlive.live.models strips it for families that only
# block): taking and encoding the photo takes a few hundred ms, and a short "let me look" while
# it does is natural, where a blocking call on 3.8 is cancelled by any new input. The answer is
# scheduled INTERRUPT (TAKE_PICTURE_SCHEDULING): the model asked to look, so it looks now.
# Built on first use (one object from then on), not at import: this module is imported to build
# the page, which must not load google-genai (googlive/live/preload.py).
@functools.cache
def take_picture_declaration() -> types.FunctionDeclaration:
    """The take_picture FunctionDeclaration (also as the module attribute TAKE_PICTURE)."""
    from google.genai import types

    return types.FunctionDeclaration(
        name="take_picture",
        description=(
            "Take a full-resolution still photo with the user's camera and look at it. Use it when "
            "the user asks you to look closely, read small text, or when the live video is too "
            "blurry or low-resolution to answer. The photo is sent to you as an image right after "
            "this call; it is also shown to the user. Say nothing about what it shows until the "
            "result arrives. Fails with an error if the camera is off."
        ),
        behavior=types.Behavior.NON_BLOCKING,
        parameters=text_parameters(TakePictureArgs),
    )


def __getattr__(name: str) -> Any:
    """TAKE_PICTURE, the declaration as it was a module constant, built when first asked for."""
    if name == "TAKE_PICTURE":
        return take_picture_declaration()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# The photo the model asked for is looked at at once, cutting its "let me look" short (3.8
# waits while the user speaks); "the camera is off" is said once the model is done talking.
# FunctionResponseScheduling names (ResponseScheduling.for_response gives the members).
TAKE_PICTURE_SCHEDULING = ResponseScheduling(ok="INTERRUPT", error="WHEN_IDLE")


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A photo taken for the model; `time` is Unix seconds."""

    id: str
    time: float
    reason: str
    jpeg: bytes = field(repr=False)
    width: int
    height: int


class CameraContext(Protocol):
    """What take_picture needs from the connection (the handler provides it)."""

    def latest_frame(self) -> np.ndarray | None:
        """The newest webcam frame, BGR uint8 HxWx3, or None when the camera is off."""
        ...

    async def send_image(self, jpeg: bytes) -> None:
        """Send the JPEG to the model in the current session."""
        ...

    def on_snapshot(self, snapshot: Snapshot) -> None:
        """Show the snapshot to the user."""
        ...


def encode_jpeg(
    frame_bgr: np.ndarray, *, max_side: int = 1920, quality: int = 85
) -> tuple[bytes, int, int]:
    """JPEG of a BGR (or BGRA / grey) uint8 frame, longest side at most max_side; (jpeg, w, h).

    Raises ValueError for an array that is not an image.
    """
    a = np.asarray(frame_bgr)
    if a.dtype != np.uint8 or a.ndim not in (2, 3) or a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError("not a uint8 image")
    if a.ndim == 3:
        if a.shape[2] not in (3, 4):
            raise ValueError("not a 3- or 4-channel image")
        img = Image.fromarray(np.ascontiguousarray(a[:, :, 2::-1]))
    else:
        img = Image.fromarray(np.ascontiguousarray(a))
    if max(img.size) > max_side:
        img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality, optimize=False)
    return buf.getvalue(), img.width, img.height


class TakePicture:
    """The take_picture handler, bound to one connection's CameraContext."""

    def __init__(
        self,
        ctx: CameraContext,
        *,
        max_side: int = 1920,
        quality: int = 85,
        send_timeout_s: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._ctx = ctx
        self._max_side = max_side
        self._quality = quality
        self._send_timeout_s = send_timeout_s
        self._clock = clock

    async def __call__(self, args: dict[str, Any], call_id: str) -> dict[str, Any]:
        reason = str(args.get("reason") or "")[:REASON_MAX_CHARS]
        frame = self._ctx.latest_frame()
        if frame is None:
            log.info("take_picture id=%s: no camera frame", call_id)
            return {"error": CAMERA_OFF_ERROR}
        frame = np.array(frame, copy=True)  # the capture side may overwrite its buffer
        t0 = time.perf_counter()
        try:
            jpeg, width, height = await asyncio.to_thread(
                encode_jpeg, frame, max_side=self._max_side, quality=self._quality
            )
        except ValueError:
            log.warning(
                "take_picture id=%s: unusable frame shape=%s",
                call_id,
                getattr(frame, "shape", None),
            )
            return {
                "error": "The camera frame could not be read, so I can't take a picture right now."
            }
        encode_ms = (time.perf_counter() - t0) * 1000
        try:
            async with asyncio.timeout(self._send_timeout_s):
                await self._ctx.send_image(jpeg)
        except TimeoutError:
            log.warning("take_picture id=%s: send timed out", call_id)
            return {"error": "The picture was taken but could not be sent in time. Try again."}
        snapshot = Snapshot(call_id or uuid.uuid4().hex, self._clock(), reason, jpeg, width, height)
        self._ctx.on_snapshot(snapshot)
        log.info(
            "take_picture id=%s: %dx%d, %d bytes, encoded in %.0f ms",
            call_id,
            width,
            height,
            len(jpeg),
            encode_ms,
        )
        return {
            "result": "ok",
            "width": width,
            "height": height,
            "note": "The picture has been sent to you as an image; describe what you see in it.",
        }


TAKE_PICTURE_TIMEOUT_S = 10.0


def take_picture_spec(handler: TakePicture, timeout_s: float = TAKE_PICTURE_TIMEOUT_S) -> ToolSpec:
    """take_picture as the model is offered it: declaration, arguments, time limit, scheduling."""
    return ToolSpec(
        take_picture_declaration(), handler, TakePictureArgs, timeout_s, TAKE_PICTURE_SCHEDULING
    )


def register_take_picture(
    registry: ToolRegistry,
    ctx: CameraContext,
    *,
    timeout_s: float = TAKE_PICTURE_TIMEOUT_S,
    **kw: Any,
) -> TakePicture:
    """Register take_picture on `registry` for this connection; returns the handler."""
    handler = TakePicture(ctx, **kw)
    registry.add(take_picture_spec(handler, timeout_s))
    return handler
