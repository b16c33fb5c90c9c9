"""Where the Live sessions go: Google's Gemini, an external Live server, or the offline demo.

The offline demo runs the local Live server (googlive.fakelive) in a thread of its own, with its
own event loop, so the app's loop never carries the server's work and the app reaches it over
real TLS exactly as it would reach Google.
"""

from __future__ import annotations

import logging
import secrets
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from googlive.config import Secret, Settings

if TYPE_CHECKING:
    from google import genai

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Endpoint:
    """A Live server to talk to. `base_url` None means Google's own."""

    base_url: str | None
    ca_cert: str | None
    api_key: Secret
    offline: bool

    def client(self, api_key: Secret | None = None) -> genai.Client:
        """A genai.Client for this endpoint; `api_key` (typed in the page) wins over the default.
        google-genai is imported here, not with the module: GeminiHandler.start_up has it
        imported off the event loop before it asks for a client (googlive/live/preload.py)."""
        from google import genai
        from google.genai import types

        key = api_key if api_key else self.api_key
        kw: dict[str, Any] = {"api_version": "v1beta"}
        if self.base_url:
            kw["base_url"] = self.base_url
        if self.ca_cert:
            ctx = ssl.create_default_context(cafile=self.ca_cert)
            # websockets reads `ssl`; the SDK's httpx clients (REST) read `verify`.
            kw["async_client_args"] = {"ssl": ctx, "verify": ctx}
            kw["client_args"] = {"verify": ctx}
        return genai.Client(api_key=key.get(), http_options=types.HttpOptions(**kw))


class OfflineServer:
    """The local Live server on its own event loop in a background thread."""

    def __init__(self, api_key: str | None = None, **config: Any) -> None:
        from googlive.fakelive import FakeLiveConfig, FakeLiveServer

        self.api_key = api_key or secrets.token_urlsafe(24)
        self.server = FakeLiveServer(api_key=self.api_key, config=FakeLiveConfig(**config))

    def start(self, timeout: float = 30.0) -> Endpoint:
        self.server.start_in_thread(timeout)
        return Endpoint(self.server.url, self.server.ca_cert, Secret(self.api_key), offline=True)

    def stop(self) -> None:
        self.server.stop_thread()


def resolve_endpoint(settings: Settings) -> tuple[Endpoint, OfflineServer | None]:
    """Pick the endpoint for these settings; starts the offline server when needed."""
    if settings.base_url:
        return Endpoint(
            settings.base_url, settings.ca_cert, settings.api_key, settings.offline
        ), None
    if settings.backend == "offline":
        srv = OfflineServer()
        return srv.start(), srv
    return Endpoint(None, None, settings.api_key, offline=False), None
