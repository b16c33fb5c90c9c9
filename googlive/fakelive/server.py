"""The local Live server: TLS WebSocket (BidiGenerateContent) and REST generateContent.

One uvicorn server (in-process, an asyncio task) serves a small raw ASGI app on one port:

- ``wss://HOST:PORT/ws/google.ai.generativelanguage.{v1beta,v1alpha,v1}.GenerativeService.
  BidiGenerateContent`` speaks the Live protocol (see ``protocol.py``), answering with the
  offline demo voice (``voice.py``, ``script.py``);
- ``POST /{version}/models/{model}:generateContent`` answers with JSON that fits the request's
  response schema (``schema_fill.py``).

Logs carry connection ids, sizes and durations only: never keys, transcripts or images.

Size: over 400 lines: uvicorn in a thread, TLS, and the WebSocket and REST routes of the local
server.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import logging
import re
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import uvicorn
from starlette.websockets import WebSocket

from googlive.tasks import reap

from . import protocol as p
from . import rest
from .config import ConnectionInfo, FakeLiveConfig, FakeLiveStats
from .connection import _Closed, _Connection, _Conversation
from .tls import TlsFiles, make_tls_files

__all__ = ["ConnectionInfo", "FakeLiveConfig", "FakeLiveServer", "FakeLiveStats"]

log = logging.getLogger("googlive.fakelive")

WS_PATH = re.compile(
    r"^/ws/google\.ai\.generativelanguage\.(v1beta|v1alpha|v1)\.GenerativeService\.BidiGenerateContent$"
)


class _Uvicorn(uvicorn.Server):
    """uvicorn without signal handling (the host process owns signals), with a started event."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.started_event = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets=sockets)
        self.started_event.set()

    async def shutdown(self, sockets: Any = None) -> None:
        # An idle keep-alive HTTPS connection (the SDK's httpx pool) would otherwise hold the
        # shutdown for the whole graceful timeout, waiting for the peer's TLS close_notify.
        for proto in list(self.server_state.connections):
            cycle = getattr(proto, "cycle", False)
            if cycle is None or getattr(cycle, "response_complete", False):
                transport = getattr(proto, "transport", None)
                if transport is not None:
                    transport.abort()
        await super().shutdown(sockets=sockets)


class FakeLiveServer:
    """A protocol-faithful local Gemini Live server (TLS WebSocket + REST on one port).

    ``async with FakeLiveServer(api_key="k") as srv:`` starts it on 127.0.0.1 and a free port;
    point the real SDK at it with ``srv.client()`` or ``srv.http_options()``. ``start()`` /
    ``stop()`` do the same explicitly; ``start_in_thread()`` / ``stop_thread()`` run it on a
    private event loop for callers without one.
    """

    def __init__(
        self,
        api_key: str | None = None,
        config: FakeLiveConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        cert_dir: str | Path | None = None,
    ) -> None:
        self.api_key = api_key or secrets.token_urlsafe(24)
        self.config = config or FakeLiveConfig()
        self.host = host
        self.port = port
        self.stats = FakeLiveStats()
        self._cert_dir_arg = Path(cert_dir) if cert_dir is not None else None
        self._tmpdir: Path | None = None
        self._tls: TlsFiles | None = None
        self._uvicorn: _Uvicorn | None = None
        self._serve_task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connections: dict[int, _Connection] = {}
        self._conn_ids = itertools.count(1)
        self._call_ids = itertools.count(1)
        self._handles: dict[str, _Conversation] = {}
        self._queued_calls: collections.deque[tuple[str, dict[str, Any]]] = collections.deque(
            maxlen=64
        )
        self._tick = asyncio.Event()
        self._background_tasks: set[asyncio.Task[None]] = set()
        self._thread: threading.Thread | None = None
        self._thread_stop: asyncio.Event | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        """``https://HOST:PORT`` (valid once started)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}"

    @property
    def ca_cert(self) -> str:
        """Absolute path of the CA certificate (PEM) that clients must trust."""
        if self._tls is None:
            raise RuntimeError("FakeLiveServer is not started")
        return str(self._tls.ca_cert)

    async def start(self) -> FakeLiveServer:
        """Generate TLS files, bind, and serve in a task of the running loop."""
        if self._serve_task is not None:
            raise RuntimeError("FakeLiveServer already started")
        self._loop = asyncio.get_running_loop()
        self._tick = asyncio.Event()
        if self._cert_dir_arg is not None:
            cert_dir = self._cert_dir_arg
        else:
            self._tmpdir = Path(tempfile.mkdtemp(prefix="fakelive-"))
            cert_dir = self._tmpdir
        self._tls = await asyncio.to_thread(make_tls_files, cert_dir.resolve(), (self.host,))
        config = uvicorn.Config(
            self._asgi,
            host=self.host,
            port=self.port,
            ssl_certfile=str(self._tls.cert),
            ssl_keyfile=str(self._tls.key),
            ws="websockets-sansio",
            http="h11",
            lifespan="off",
            interface="asgi3",
            proxy_headers=False,
            server_header=False,
            date_header=True,
            access_log=False,
            log_config=None,
            log_level="warning",
            ws_max_size=16 * 1024 * 1024,
            ws_ping_interval=20.0,
            ws_ping_timeout=20.0,
            timeout_graceful_shutdown=2,
        )
        self._uvicorn = _Uvicorn(config)
        self._serve_task = asyncio.create_task(self._uvicorn.serve())
        started = asyncio.create_task(self._uvicorn.started_event.wait())
        done, _ = await asyncio.wait(
            {self._serve_task, started}, return_when=asyncio.FIRST_COMPLETED
        )
        if started not in done:
            started.cancel()
            if await reap(started):
                raise asyncio.CancelledError
            exc = self._serve_task.exception() if not self._serve_task.cancelled() else None
            self._serve_task = None
            self._cleanup_files()
            raise RuntimeError(f"fakelive could not start on {self.host}:{self.port}") from exc
        sock = self._uvicorn.servers[0].sockets[0]
        self.port = sock.getsockname()[1]
        log.info("fakelive listening on %s", self.url)
        return self

    async def stop(self) -> None:
        """Close every connection (1001), stop serving, delete the TLS files."""
        if self._serve_task is None or self._uvicorn is None:
            return
        for conn in list(self._connections.values()):
            await conn.close(1001, "Server shutting down.")
        for task in list(self._background_tasks):
            task.cancel()
        cancelled = await reap(*self._background_tasks)
        self._uvicorn.should_exit = True
        try:
            await self._serve_task
        except asyncio.CancelledError:
            me = asyncio.current_task()
            cancelled = cancelled or bool(me is not None and me.cancelling())
        except (SystemExit, Exception):
            pass
        self._serve_task = None
        self._cleanup_files()
        log.info("fakelive stopped")
        if cancelled:  # a cancel meant for the caller of stop(), after the clean-up
            raise asyncio.CancelledError

    def _cleanup_files(self) -> None:
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    async def __aenter__(self) -> FakeLiveServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def start_in_thread(self, timeout: float = 30.0) -> FakeLiveServer:
        """Run the server on its own event loop in a daemon thread; return once it listens."""
        ready = threading.Event()
        errors: list[BaseException] = []

        async def main() -> None:
            self._thread_stop = asyncio.Event()
            try:
                await self.start()
            except BaseException as exc:
                errors.append(exc)
                ready.set()
                return
            ready.set()
            try:
                await self._thread_stop.wait()
            finally:
                await self.stop()

        self._thread = threading.Thread(
            target=asyncio.run, args=(main(),), name="fakelive", daemon=True
        )
        self._thread.start()
        if not ready.wait(timeout):
            raise TimeoutError("fakelive did not start in time")
        if errors:
            raise errors[0]
        return self

    def stop_thread(self, timeout: float = 10.0) -> None:
        """Stop a server started with :meth:`start_in_thread` and join its thread."""
        if self._thread is None or self._loop is None or self._thread_stop is None:
            return
        self._loop.call_soon_threadsafe(self._thread_stop.set)
        self._thread.join(timeout)
        self._thread = None

    # ------------------------------------------------------------------ client helpers

    def http_options(self, api_version: str = "v1beta", **async_client_args: Any) -> Any:
        """``types.HttpOptions`` pointing the SDK (Live and REST) at this server.

        The CA is passed as ``ssl`` (used by the Live WebSocket) and ``verify`` (used by the
        SDK's httpx REST client, which ignores ``ssl``).
        """
        import ssl

        from google.genai import types

        ctx = ssl.create_default_context(cafile=self.ca_cert)
        args: dict[str, Any] = {"ssl": ctx, "verify": ctx, **async_client_args}
        return types.HttpOptions(base_url=self.url, api_version=api_version, async_client_args=args)

    def client(self, api_key: str | None = None, **http_kwargs: Any) -> Any:
        """A ``genai.Client`` for this server (with this server's key unless ``api_key``)."""
        from google import genai

        return genai.Client(
            api_key=api_key or self.api_key, http_options=self.http_options(**http_kwargs)
        )

    # ------------------------------------------------------------------ test and fault hooks

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until ``predicate()`` is true (re-checked whenever server state changes)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not predicate():
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError("fakelive: condition not reached in time")
            tick = self._tick
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await tick.wait()

    def queue_tool_call(self, name: str, args: dict[str, Any] | None = None) -> None:
        """Make the next user turn (speech or text, any connection) call tool ``name``."""
        self._call_soon(lambda: self._queued_calls.append((name, dict(args or {}))))

    def drop_connections(self) -> None:
        """Abort the TCP transport of every open socket now (no close frame: client sees 1006)."""
        self._call_soon(lambda: [c.abort() for c in list(self._connections.values())])

    def close_connections(
        self, code: int = 1011, reason: str = "Internal error encountered."
    ) -> None:
        """Close every open socket with ``code`` and ``reason``."""

        def _do() -> None:
            for conn in list(self._connections.values()):
                self._spawn(conn.close(code, reason))

        self._call_soon(_do)

    def send_go_away(self, time_left_s: float) -> None:
        """Send goAway(time_left_s) to every live connection now; close each at that deadline."""

        def _do() -> None:
            for conn in list(self._connections.values()):
                if conn.info.setup_done and not conn.closed:
                    conn.restart_lifetime(0.0, time_left_s)

        self._call_soon(_do)

    # ------------------------------------------------------------------ internals

    def _call_soon(self, fn: Callable[[], Any]) -> None:
        loop = self._loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is None or running is loop:
            fn()
        else:
            loop.call_soon_threadsafe(fn)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._background_tasks.add(task)
        task.add_done_callback(self._background_tasks.discard)

    def _bump(self) -> None:
        self._tick.set()
        self._tick = asyncio.Event()

    def _pop_queued_call(self) -> tuple[str, dict[str, Any]] | None:
        return self._queued_calls.popleft() if self._queued_calls else None

    def _model_known(self, model: str) -> bool:
        cfg = self.config
        return model in cfg.known_models or any(
            model.startswith(pfx) for pfx in cfg.known_model_prefixes
        )

    def _keep_image(self, data: bytes) -> None:
        self.stats.images.append(data)
        extra = len(self.stats.images) - self.config.max_images_kept
        if extra > 0:
            del self.stats.images[:extra]

    def _transport_for(self, scope: dict[str, Any], receive: Any) -> Callable[[], Any]:
        def getter() -> Any:
            # uvicorn keeps its protocol objects (which own the TCP transport) in server_state.
            if self._uvicorn is not None:
                for proto in list(self._uvicorn.server_state.connections):
                    if getattr(proto, "scope", None) is scope:
                        return getattr(proto, "transport", None)
            owner = getattr(receive, "__self__", None)
            return getattr(owner, "transport", None)

        return getter

    async def _asgi(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _websocket(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        ws = WebSocket(scope, receive, send)
        match = WS_PATH.match(scope.get("path", ""))
        if match is None:
            await ws.close(1008, "Not found.")  # before accept: uvicorn answers HTTP 403
            return
        await ws.accept()
        info = ConnectionInfo(
            id=next(self._conn_ids), opened_at=time.monotonic(), api_version=match.group(1)
        )
        self.stats.connections_opened += 1
        self.stats.connections.append(info)
        conn = _Connection(self, ws, info, self._transport_for(scope, receive))
        self._connections[info.id] = conn
        log.info("conn %d: opened (%s)", info.id, info.api_version)
        self._bump()
        try:
            await conn.run()
        except _Closed:
            pass
        except Exception as exc:
            # Type only: exception text can carry a user's words.
            log.error("conn %d: internal error (%s)", info.id, type(exc).__name__)
            await conn.close(p.CLOSE_INTERNAL, "Internal error encountered.")
        finally:
            await conn.shutdown_tasks()
            if conn.conv is not None and conn.conv.connection is conn:
                conn.conv.connection = None
            conn.closed = True
            self._connections.pop(info.id, None)
            info.closed_at = time.monotonic()
            log.info(
                "conn %d: ended (code=%s by %s, %.1f s, %d audio bytes in)",
                info.id,
                info.close_code,
                info.close_by,
                info.closed_at - info.opened_at,
                info.audio_bytes,
            )
            self._bump()

    async def _http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await rest.handle_http(self, scope, receive, send)
