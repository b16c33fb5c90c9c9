"""Settings, read once at start-up and passed down.

The API key is wrapped in `Secret`, whose repr never shows it, so that it cannot slip into a
log line or an exception message by accident.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from googlive.live import models as _models

DEFAULT_MODEL = "gemini-3.8-live"
DEFAULT_ANALYSIS_MODEL = "gemini-3.8-flash"
VOICES = (
    "Puck",
    "Aoede",
    "Charon",
    "Fenrir",
    "Kore",
    "Leda",
    "Orus",
    "Zephyr",
    "Achernar",
    "Achird",
    "Algenib",
    "Algieba",
    "Alnilam",
    "Autonoe",
    "Callirrhoe",
    "Despina",
    "Enceladus",
    "Erinome",
    "Gacrux",
    "Iapetus",
    "Laomedeia",
    "Pulcherrima",
    "Rasalgethi",
    "Sadachbia",
    "Sadaltager",
    "Schedar",
    "Sulafat",
    "Umbriel",
    "Vindemiatrix",
    "Zubenelgenubi",
)
DEFAULT_VOICE = "Puck"
# The Live models the settings offer, checked against the deprecations page: googlive/live/models.py.
LIVE_MODELS = _models.LIVE_MODELS
DEFAULT_INSTRUCTION = (
    "You are a friendly, concise voice assistant in a live video call. Keep answers short and "
    "conversational. You can see the user's webcam. Call take_picture when you need a closer, "
    "full-resolution look at something, and draw_diagram to show a Mermaid diagram when a "
    "picture would explain better than words."
)


class Secret:
    """A string that never shows itself in repr/str/format."""

    __slots__ = ("_value",)

    def __init__(self, value: str | None) -> None:
        self._value = (value or "").strip()

    def get(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret(set)" if self._value else "Secret(empty)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Settings:
    api_key: Secret = field(default_factory=lambda: Secret(None))
    model: str = DEFAULT_MODEL
    analysis_model: str = DEFAULT_ANALYSIS_MODEL
    voice: str = DEFAULT_VOICE
    system_instruction: str = DEFAULT_INSTRUCTION
    offline: bool = False
    host: str = "127.0.0.1"
    port: int = 7860
    share: bool = False
    data_dir: Path = Path("data")
    max_sessions: int = 8
    session_time_limit_s: int = 30 * 60
    record: bool = True
    share_archives: bool = False
    uplink_chunk_ms: int = 40
    video_interval_s: float = 1.0
    video_max_side: int = 640
    video_quality: int = 60
    # Only for tests and the offline demo: where the Live server is and which CA to trust.
    base_url: str | None = None
    ca_cert: str | None = None
    no_ice_servers: bool = False

    @property
    def backend(self) -> str:
        return "offline" if self.offline or not self.api_key else "gemini"

    def with_(self, **kw: object) -> Settings:
        return replace(self, **kw)  # type: ignore[arg-type]


def key_from_env(env: os._Environ[str] | dict[str, str] | None = None) -> Secret:
    """The Gemini key from GEMINI_API_KEY, else GOOGLE_API_KEY (a .env file is loaded by app.py)."""
    env = os.environ if env is None else env
    return Secret(env.get("GEMINI_API_KEY") or env.get("GOOGLE_API_KEY"))
