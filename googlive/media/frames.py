"""Pure webcam-frame helpers: normalise what the browser sends and encode JPEGs for the model."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

MODEL_CAMERA_FPS = 2
"""Camera frames a second the page asks the browser to send (googlive/web/selfview.js,
RTCRtpSender maxFramerate) while no feature wants every frame: the model gets one per
`video_interval_s`, and every frame sent is decoded here whether it is used or not. The
self-view is the local camera, so it keeps the camera's own rate."""
VIDEO_RATE_MESSAGE = "googlive-video-rate"  # handler -> page: {"max_fps": n | null (no cap)}


def to_rgb(frame: np.ndarray, *, bgr: bool = True) -> np.ndarray:
    """Return an HxWx3 uint8 RGB view/copy of `frame`.

    Accepts HxWx3 (BGR as fastrtc delivers, or RGB with bgr=False), HxWx4, grey HxW or HxWx1,
    and float frames in [0, 1]. Raises ValueError for zero-size or other shapes.
    """
    a = np.asarray(frame)
    if a.size == 0 or a.ndim not in (2, 3) or a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"not a video frame: shape {a.shape}")
    if a.dtype != np.uint8:
        if np.issubdtype(a.dtype, np.floating):
            a = np.clip(np.nan_to_num(a) * 255.0, 0, 255).astype(np.uint8)
        else:
            a = np.clip(a, 0, 255).astype(np.uint8)
    if a.ndim == 2:
        return np.repeat(a[:, :, None], 3, axis=2)
    ch = a.shape[2]
    if ch == 1:
        return np.repeat(a, 3, axis=2)
    if ch not in (3, 4):
        raise ValueError(f"not a video frame: {ch} channels")
    a = a[:, :, :3]
    return a[:, :, ::-1] if bgr else a


def encode_jpeg(
    frame: np.ndarray, max_side: int = 640, quality: int = 60, *, bgr: bool = True
) -> bytes:
    """JPEG of `frame`, scaled down so its longest side is at most `max_side` pixels."""
    rgb = np.ascontiguousarray(to_rgb(frame, bgr=bgr))
    img = Image.fromarray(rgb, "RGB")
    if max_side > 0 and max(img.size) > max_side:
        img.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=int(max(1, min(95, quality))))
    return buf.getvalue()
