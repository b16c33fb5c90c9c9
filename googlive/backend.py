"""Where the Live sessions go: Google's Gemini, an external Live server, or the offline demo.

The offline demo runs the local Live server (googlive.fakelive) in a thread of its own, with its
own event loop, so the app's loop never carries the server's work and the app reaches it over
real TLS exactly as it would reach Google.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import ssl
import threading
from dataclasses import dataclass
from typing import Any

from google import genai
from google.genai import types

from googlive.config import Secret, Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Endpoint:
    """A Live server to talk to. `base_url` None means Google's own."""

    base_url: str | None
    ca_cert: str | None
    api_key: Secret
    offline: bool

    def client(self, api_key: Secret | None = None) -> genai.Client:
        """A genai.Client for this endpoint; `api_key` (typed in the page) wins over the default."""
        key = api_key if api_key else self.api_key
        kw: dict[str, Any] = {"api_version": "v1beta"}
        if self.base_url:
            kw["base_url"] = self.base_url
        if self.ca_cert:
            ctx = ssl.create_default_context(cafile=self.ca_cert)
            kw["async_client_args"] = {"ssl": ctx}
            kw["client_args"] = {"verify": ctx}
        return genai.Client(api_key=key.get(), http_options=types.HttpOptions(**kw))


class OfflineServer:
    """The local Live server in a background thread. start() blocks until it serves."""

    def __init__(self, api_key: str | None = None, **config: Any) -> None:
        self.api_key = api_key or secrets.token_urlsafe(24)
        self._config = config
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.server: Any = None

    def start(self, timeout: float = 20.0) -> Endpoint:
        self._thread = threading.Thread(target=self._main, name="fakelive", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("the offline Live server did not start in time")
        if self._error is not None:
            raise RuntimeError("the offline Live server failed to start") from self._error
        return Endpoint(self.server.url, self.server.ca_cert, Secret(self.api_key), offline=True)

    def _main(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        from googlive.fakelive import FakeLiveConfig, FakeLiveServer

        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            self.server = FakeLiveServer(api_key=self.api_key, config=FakeLiveConfig(**self._config))
            await self.server.start()
        except BaseException as e:  # surfaced to start()
            self._error = e
            self._ready.set()
            return
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await self.server.stop()

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)


def resolve_endpoint(settings: Settings) -> tuple[Endpoint, OfflineServer | None]:
    """Pick the endpoint for these settings; starts the offline server when needed."""
    if settings.base_url:
        return Endpoint(settings.base_url, settings.ca_cert, settings.api_key, settings.offline), None
    if settings.backend == "offline":
        srv = OfflineServer()
        return srv.start(), srv
    return Endpoint(None, None, settings.api_key, offline=False), None
