"""Camera frames onto a fixed-rate, fixed-size output (pure; PyAV only for pixel work).

Which frame shows when. The output has one slot every `1/fps` s; slot k is shown at `k/fps`.
Slot k shows the newest input frame whose time `t` is before `(k + 0.5) / fps`, that is, each
frame claims slot `floor(t * fps + 0.5)` and, within a slot, the last frame wins; a slot no
frame claims repeats the previous one. A frame is therefore shown at most half a slot away
from its own time (33 ms at 15 fps), with no systematic offset, and frames beyond `fps` are
skipped, not queued. `SlotPicker` makes that decision as frames arrive; it holds back the
frame of the newest slot until a frame for a later slot arrives (or `flush`).

Size. The encoder's size is fixed before the first byte is written (a WebM header names it),
so every frame is fitted into `size`: scaled to fit, keeping its aspect ratio, and centred on
black. Grey (HxW or HxWx1), BGR/RGB (HxWx3), BGRA/RGBA (HxWx4) and odd sizes are accepted.
"""

from __future__ import annotations

import math
from typing import Generic, TypeVar

import av
import numpy as np

T = TypeVar("T")


def slot_of(t: float, fps: int) -> int:
    """The output slot a frame taken at `t` seconds claims (the nearest; ties go later)."""
    return math.floor(t * fps + 0.5 + 1e-9)


class SlotPicker(Generic[T]):
    """Choose, as frames arrive in time order, which frame each output slot gets.

    `offer(t, item)` returns the `(slot, item)` pairs that are now final (zero or one), and
    the number of offered frames that will never be shown because a later frame took their
    slot or they arrived out of order.
    """

    def __init__(self, fps: int) -> None:
        if fps <= 0:
            raise ValueError("fps must be positive")
        self.fps = fps
        self._pending: tuple[int, T] | None = None
        self._last_final = -1

    def offer(self, t: float, item: T) -> tuple[list[tuple[int, T]], int]:
        """Offer a frame taken at session time `t`; see the class docstring."""
        slot = slot_of(t, self.fps)
        if slot < 0 or slot <= self._last_final:
            return [], 1
        if self._pending is None:
            self._pending = (slot, item)
            return [], 0
        pending_slot = self._pending[0]
        if slot < pending_slot:
            return [], 1
        if slot == pending_slot:
            self._pending = (slot, item)
            return [], 1
        final = self._pending
        self._pending = (slot, item)
        self._last_final = final[0]
        return [final], 0

    def flush(self) -> list[tuple[int, T]]:
        """Make the held-back frame final (at the end of the recording)."""
        if self._pending is None:
            return []
        final = self._pending
        self._pending = None
        self._last_final = final[0]
        return [final]


def check_frame(frame: np.ndarray) -> bool:
    """Whether `frame` is an image this module can fit: uint8, HxW or HxWx{1,3,4}, non-empty."""
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.size == 0:
        return False
    if frame.ndim == 2:
        return True
    return frame.ndim == 3 and frame.shape[2] in (1, 3, 4)


def even_size(size: tuple[int, int]) -> tuple[int, int]:
    """`(width, height)` rounded down to even numbers (4:2:0 needs them), at least 2x2."""
    w, h = size
    return max(2, int(w) // 2 * 2), max(2, int(h) // 2 * 2)


def black_frame(size: tuple[int, int]) -> av.VideoFrame:
    """A black yuv420p frame of `size` (width, height), both even."""
    w, h = size
    chroma = np.full((h // 2, w // 2), 128, np.uint8)
    return _from_planes([np.full((h, w), 16, np.uint8), chroma, chroma])


def fit_frame(frame: np.ndarray, size: tuple[int, int], *, bgr: bool = True) -> av.VideoFrame:
    """Fit a frame accepted by `check_frame` into a yuv420p frame of `size` (even width, height).

    Scaled to fit with its aspect ratio kept, centred, padded with black. `bgr=False` means
    RGB channel order. Raises ValueError for a frame `check_frame` rejects.
    """
    if not check_frame(frame):
        raise ValueError("not a uint8 HxW or HxWx{1,3,4} image")
    if frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[:, :, 0]
    if frame.ndim == 2:
        fmt = "gray"
    elif frame.shape[2] == 3:
        fmt = "bgr24" if bgr else "rgb24"
    else:
        fmt = "bgra" if bgr else "rgba"
    src = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format=fmt)
    w, h = size
    fh, fw = frame.shape[:2]
    if (fw, fh) == (w, h):
        return src.reformat(format="yuv420p")
    scale = min(w / fw, h / fh)
    nw = min(w, max(2, round(fw * scale / 2) * 2))
    nh = min(h, max(2, round(fh * scale / 2) * 2))
    scaled = _planes(
        src.reformat(width=nw, height=nh, format="yuv420p", interpolation="FAST_BILINEAR")
    )
    x0 = (w - nw) // 4 * 2
    y0 = (h - nh) // 4 * 2
    out = [np.full((h, w), 16, np.uint8), np.full((h // 2, w // 2), 128, np.uint8)]
    out.append(out[1].copy())
    out[0][y0 : y0 + nh, x0 : x0 + nw] = scaled[0]
    for i in (1, 2):
        out[i][y0 // 2 : y0 // 2 + nh // 2, x0 // 2 : x0 // 2 + nw // 2] = scaled[i]
    return _from_planes(out)


def _planes(frame: av.VideoFrame) -> list[np.ndarray]:
    """The Y, U, V planes of a yuv420p frame as 2-D arrays without row padding."""
    result = []
    for plane in frame.planes:
        rows = np.frombuffer(plane, dtype=np.uint8).reshape(plane.height, plane.line_size)
        result.append(rows[:, : plane.width])
    return result


def _from_planes(planes: list[np.ndarray]) -> av.VideoFrame:
    """A yuv420p frame from Y, U, V planes (Y even-sized, U and V half-sized)."""
    h, w = planes[0].shape
    frame = av.VideoFrame(w, h, "yuv420p")
    for plane, data in zip(frame.planes, planes, strict=True):
        rows = np.zeros((plane.height, plane.line_size), dtype=np.uint8)
        rows[:, : plane.width] = data
        plane.update(rows.tobytes())
    return frame
