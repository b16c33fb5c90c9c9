"""A poster frame for a session recording, so the Results player does not open on black.

The recorder starts at the first camera frame or at the decision time with black video (see
googlive/features/recording/video.py: frames are centred on black, and slots before the first camera
frame are black), so a recording's first frame is usually black. `pick_frame` decodes the
start of the recording with PyAV and returns the first frame with content: brightness and
contrast above a floor that black and near-black frames (encoder noise) stay below. Without
such a frame (no video stream, a camera covered all along) the first snapshot stands in; an
audio-only recording without snapshots gets a plain card saying so.

`poster_for` caches the chosen image as poster.jpg in the session folder (atomic write),
rebuilt when the recording is newer than it. Decoding stops after `max_s` seconds of video or
`max_frames` frames, whichever comes first, so a long recording costs the same as a short one.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from googlive.fsutil import atomic_write_bytes

log = logging.getLogger(__name__)

POSTER_FILE = "poster.jpg"
MIN_MEAN = 16.0  # mean luma (0-255) below this is "black"
MIN_STD = 6.0  # and a frame this flat is black or a solid fill with encoder noise
MAX_FRAMES = 450
MAX_S = 30.0


def has_content(gray: np.ndarray, *, min_mean: float = MIN_MEAN, min_std: float = MIN_STD) -> bool:
    """True when an 8-bit grey frame is neither black nor a flat fill."""
    if gray.size == 0:
        return False
    g = gray.astype(np.float32)
    return float(g.mean()) >= min_mean and float(g.std()) >= min_std


def pick_frame(
    recording: Path, *, max_frames: int = MAX_FRAMES, max_s: float = MAX_S
) -> Image.Image | None:
    """The first frame of `recording` with content (RGB), or None (no video, or none found).

    Frames are tested at a quarter of their size (luma only), then the chosen one is
    converted whole.
    """
    try:
        with av.open(str(recording)) as container:
            if not container.streams.video:
                return None
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for i, frame in enumerate(container.decode(stream)):
                if i >= max_frames or (frame.time is not None and frame.time > max_s):
                    return None
                small = frame.reformat(
                    width=max(2, frame.width // 4), height=max(2, frame.height // 4), format="gray"
                )
                if has_content(small.to_ndarray()):
                    return frame.to_image()
    except (av.FFmpegError, OSError, ValueError) as e:
        log.info("poster: recording not decodable (%s)", type(e).__name__)
    return None


def audio_card(
    width: int = 640, height: int = 360, text: str = "Audio recording (no camera)"
) -> Image.Image:
    """A plain poster for a recording without video."""
    img = Image.new("RGB", (width, height), (32, 33, 36))
    draw = ImageDraw.Draw(img)
    try:
        font: ImageFont.ImageFont | ImageFont.FreeTypeFont = ImageFont.load_default(size=28)
    except (OSError, TypeError, ValueError):  # no FreeType: the small bitmap font
        font = ImageFont.load_default()
    box = draw.textbbox((0, 0), text, font=font)
    x = (width - (box[2] - box[0])) // 2
    y = (height - (box[3] - box[1])) // 2
    draw.text((x, y), text, fill=(232, 234, 237), font=font)
    return img


def _jpeg(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="JPEG", quality=85)
    return buf.getvalue()


def poster_for(
    session_path: Path,
    recording: Path,
    snapshots: list[Path] | tuple[Path, ...] = (),
    *,
    video: bool = True,
) -> Path | None:
    """The session's poster image (cached as poster.jpg), or None when nothing fits.

    Order: the first frame with content; else the first snapshot; else, for a recording
    without video, a card that says so. Failures to write are logged and give None.
    """
    out = session_path / POSTER_FILE
    try:
        if (
            out.is_file()
            and not out.is_symlink()
            and out.stat().st_mtime >= recording.stat().st_mtime
        ):
            return out
    except OSError:
        return None
    img = pick_frame(recording) if video else None
    if img is None:
        for snap in snapshots:
            try:
                with Image.open(snap) as s:
                    img = s.convert("RGB")
                break
            except OSError:
                continue
    if img is None and not video:
        img = audio_card()
    if img is None:
        return None
    try:
        atomic_write_bytes(out, _jpeg(img))
    except OSError as e:
        log.warning("poster: not written (%s)", type(e).__name__)
        return None
    return out


def has_video(recording: Path) -> bool:
    try:
        with av.open(str(recording)) as container:
            return bool(container.streams.video)
    except (av.FFmpegError, OSError, ValueError):
        return False
