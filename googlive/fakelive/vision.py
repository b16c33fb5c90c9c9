"""What the local server "sees" in an image: a colour and a code, at the detail it was given.

The offline demo cannot understand pictures, but a test must be able to prove that a given
still reached the model's context, at the detail its media resolution allows. So an image is
read for a *marker* that a test (or anyone) draws into a camera frame with :func:`draw_marker`:

- a dominant **colour**: the background, named from a small palette (``COLOURS``); readable at
  any resolution;
- a **code** of ``CODE_DIGITS`` digits 0-7 in a grey band across the middle: 3 cells per
  digit, each cell filled with fine stripes, vertical for bit 0, horizontal for bit 1. The
  stripes have a period of a few pixels, so once the image is reduced below about twice that
  period per stripe they average out to flat grey and the code can no longer be read (the
  band itself still shows, so the reader can say a code is there but too fine).

Before reading, an image is reduced to the detail its media resolution allows
(:func:`detail_side`). Token costs per image follow google-genai ``MediaResolution``: LOW 64
tokens, MEDIUM 256, HIGH "zoomed reframing with 256 tokens"; unset is the classic 258 tokens
per image (types.py, ``MediaResolution`` docstrings; ai.google.dev media-resolution page).
The *pixel* equivalents are this server's model, not documented: 258 tokens stand for the
model's standard 768x768 frame (LIVE_PROTOCOL.md), LOW (a quarter of the tokens) for half the
side, 384, and HIGH's zoomed reframing for twice the side, 1536.

Everything here is pure (Pillow and numpy, no I/O) and deterministic.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

LOW = "MEDIA_RESOLUTION_LOW"
MEDIUM = "MEDIA_RESOLUTION_MEDIUM"
HIGH = "MEDIA_RESOLUTION_HIGH"
UNSPECIFIED = "MEDIA_RESOLUTION_UNSPECIFIED"

TOKENS = {LOW: 64, MEDIUM: 256, HIGH: 256, UNSPECIFIED: 258}
MAX_SIDE = {LOW: 384, MEDIUM: 768, HIGH: 1536, UNSPECIFIED: 768}

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (210, 40, 40),
    "orange": (235, 130, 30),
    "yellow": (230, 210, 40),
    "green": (40, 160, 70),
    "blue": (40, 80, 210),
    "purple": (130, 50, 170),
}
CODE_DIGITS = 3
CELLS = CODE_DIGITS * 3
BAND = (0.1, 0.4, 0.9, 0.6)  # x0, y0, x1, y1 of the code band, as fractions of the image
_BLUR = 0.5  # Gaussian sigma, in source pixels per unit of reduction
_CONTRAST = (
    40.0  # mean |gradient| (grey levels) above which stripes show; full-size stripes give ~100-130
)
_GREY_SAT = 40  # a band pixel with max-min channel spread below this counts as grey


def resolution_of(value: str | None) -> str:
    """A media resolution name (``MEDIA_RESOLUTION_*``), UNSPECIFIED for None or unknown."""
    name = str(value or "").upper()
    if not name.startswith("MEDIA_RESOLUTION_"):
        name = "MEDIA_RESOLUTION_" + name if name else UNSPECIFIED
    return name if name in TOKENS else UNSPECIFIED


def tokens_for(resolution: str | None) -> int:
    """Prompt tokens one image costs at ``resolution``."""
    return TOKENS[resolution_of(resolution)]


def detail_side(resolution: str | None, width: int, height: int) -> int:
    """The longest side, in pixels, of the detail the model keeps of a width x height image."""
    return min(max(width, height), MAX_SIDE[resolution_of(resolution)])


@dataclass(frozen=True, slots=True)
class Sight:
    """What was read from one image."""

    colour: str  # a COLOURS name, or "grey" / "white" / "black" / "dark"
    code_present: bool
    code: tuple[int, ...] | None  # None when absent or too fine to read at this detail
    width: int
    height: int
    detail: int  # longest side after reduction

    def sentence(self) -> str:
        """What the offline model says about it, e.g. "I see red, code 5 3 1."."""
        if self.code is not None:
            return f"I see {self.colour}, code {' '.join(map(str, self.code))}."
        if self.code_present:
            return f"I see {self.colour}, and a code too fine to read at this detail."
        return f"I see {self.colour}."


NO_NEW_IMAGE = "I received no new image after I asked for the picture."
UNREADABLE = "I received an image but could not decode it."


def read(jpeg: bytes, resolution: str | None = None) -> Sight | None:
    """Read the marker of ``jpeg`` at the detail ``resolution`` allows; None if undecodable."""
    try:
        with Image.open(io.BytesIO(jpeg)) as img:
            img.load()
            rgb = img.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    width, height = rgb.size
    side = detail_side(resolution, width, height)
    if side < max(width, height):
        scale = side / max(width, height)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        # Low-pass first (Gaussian, sigma proportional to the reduction) so that detail finer
        # than the new pixel grid is lost, as it is to a coarser sampling of the scene, rather
        # than aliased into stripes whose direction would still read.
        factor = max(width, height) / side
        rgb = rgb.filter(ImageFilter.GaussianBlur(_BLUR * factor))
        rgb = rgb.resize(size, Image.Resampling.BOX)
    pixels = np.asarray(rgb, dtype=np.float32)
    thumb = np.asarray(rgb.resize((48, 48), Image.Resampling.BOX), dtype=np.float32)
    colour = _dominant_colour(thumb)
    present, code = _read_code(pixels)
    return Sight(colour, present, code, width, height, side)


def _dominant_colour(pixels: np.ndarray) -> str:
    h, w, _ = pixels.shape
    x0, y0, x1, y1 = BAND
    mask = np.ones((h, w), dtype=bool)
    mask[int(y0 * h) : int(np.ceil(y1 * h)), int(x0 * w) : int(np.ceil(x1 * w))] = False
    sample = pixels[mask] if mask.any() else pixels.reshape(-1, 3)
    spread = sample.max(axis=1) - sample.min(axis=1)
    coloured = sample[spread >= 60]
    if len(coloured) < 0.2 * len(sample):
        level = float(sample.mean())
        return "white" if level > 200 else "black" if level < 40 else "grey"
    names = list(COLOURS)
    palette = np.array([COLOURS[n] for n in names], dtype=np.float32)
    dist = ((coloured[:, None, :] - palette[None, :, :]) ** 2).sum(axis=2)
    votes = np.bincount(dist.argmin(axis=1), minlength=len(names))
    return names[int(votes.argmax())]


def _read_code(pixels: np.ndarray) -> tuple[bool, tuple[int, ...] | None]:
    h, w, _ = pixels.shape
    x0, y0, x1, y1 = (int(BAND[0] * w), int(BAND[1] * h), int(BAND[2] * w), int(BAND[3] * h))
    band = pixels[y0:y1, x0:x1]
    if band.size == 0:
        return False, None
    spread = band.max(axis=2) - band.min(axis=2)
    if float((spread < _GREY_SAT).mean()) < 0.8:
        return False, None  # no grey band: nothing drawn there
    grey = band.mean(axis=2)
    bits: list[int] = []
    cell_w = grey.shape[1] / CELLS
    for i in range(CELLS):
        # The middle half of each cell: away from the cell edges and JPEG ringing.
        a, b = int((i + 0.25) * cell_w), int((i + 0.75) * cell_w)
        rows = slice(grey.shape[0] // 4, max(grey.shape[0] // 4 + 2, 3 * grey.shape[0] // 4))
        cell = grey[rows, a:b]
        if cell.shape[0] < 2 or cell.shape[1] < 2:
            return True, None
        dx = float(np.abs(np.diff(cell, axis=1)).mean())
        dy = float(np.abs(np.diff(cell, axis=0)).mean())
        if max(dx, dy) < _CONTRAST or abs(dx - dy) < 0.5 * max(dx, dy):
            return True, None  # flat (stripes averaged out) or ambiguous: too fine to read
        bits.append(0 if dx > dy else 1)
    digits = tuple(
        bits[3 * d] * 4 + bits[3 * d + 1] * 2 + bits[3 * d + 2] for d in range(CODE_DIGITS)
    )
    return True, digits


def draw_marker(
    size: tuple[int, int],
    colour: str,
    code: tuple[int, ...] | None = None,
    *,
    period: int = 3,
) -> Image.Image:
    """A camera frame of ``size`` in ``colour`` with ``code`` (CODE_DIGITS digits 0-7) drawn
    as stripes of ``period`` pixels (half dark, half light) in the middle band.

    Which images read the code (L/M/H/- = LOW/MEDIUM/HIGH/unset resolution; R read, x too
    fine; "stream" = the app's 640 px, quality-60 video frame of the same camera frame):

    | frame, period | full still L M H - | stream L M H - |
    |---|---|---|
    | 1280x720, 3 (default) | x x R x | x x x x |
    | 1920x1080, 4 | x x R x | x x x x |
    | 1280x720, 4 | x R R R | x R R R |
    | 1280x720, 8 | R R R R | R R R R |

    So with the default a test proves that the full-resolution still reached the model at
    HIGH detail: no stream frame and no lower resolution can give the code.
    """
    if colour not in COLOURS:
        raise ValueError(f"unknown colour {colour!r}; choose one of {', '.join(COLOURS)}")
    if period < 2:
        raise ValueError("period must be at least 2 pixels")
    img = Image.new("RGB", size, COLOURS[colour])
    if code is None:
        return img
    if len(code) != CODE_DIGITS or any(not 0 <= d <= 7 for d in code):
        raise ValueError(f"code must be {CODE_DIGITS} digits from 0 to 7")
    w, h = size
    x0, y0, x1, y1 = (int(BAND[0] * w), int(BAND[1] * h), int(BAND[2] * w), int(BAND[3] * h))
    pixels = np.array(img)
    ys, xs = np.mgrid[y0:y1, x0:x1]
    dark_v = (xs - x0) % period < period // 2  # vertical stripes: bit 0
    dark_h = (ys - y0) % period < period // 2  # horizontal stripes: bit 1
    bits = [(d >> shift) & 1 for d in code for shift in (2, 1, 0)]
    cell = np.minimum(((xs - x0) * CELLS) // max(1, x1 - x0), CELLS - 1)
    dark = np.where(np.array(bits)[cell] == 1, dark_h, dark_v)
    pixels[y0:y1, x0:x1] = np.where(dark[..., None], 30, 226).astype(np.uint8)
    return Image.fromarray(pixels)


def marker_jpeg(
    size: tuple[int, int],
    colour: str,
    code: tuple[int, ...] | None = None,
    *,
    period: int = 3,
    quality: int = 85,
) -> bytes:
    """:func:`draw_marker` encoded as JPEG (``quality`` as the app's take_picture uses)."""
    buf = io.BytesIO()
    draw_marker(size, colour, code, period=period).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()
