"""Mermaid validation through the real mermaid parser in a persistent Node worker, with fallback.

`MermaidValidator.validate(code)` promises a `MermaidCheck` within about `timeout_s` and never
raises: the app's safety rules always run first (pure Python); then mermaid.parse in one
long-lived `node worker.mjs` process (tools/mermaid-validator, installed with
`npm ci --prefix tools/mermaid-validator`) gives the exact verdict; when Node or the packages are
missing, or the worker fails or is slow, the pure-Python validator answers instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import shutil
import time
from pathlib import Path

from googlive import paths
from googlive.features.tools.mermaid_check import (
    MermaidCheck,
    MermaidError,
    check_mermaid,
    check_safety,
)

log = logging.getLogger(__name__)

DEFAULT_DIR = paths.ROOT / "tools" / "mermaid-validator"


def validator_dir() -> Path:
    """The Node helper's directory (env GOOGLIVE_MERMAID_VALIDATOR_DIR overrides)."""
    env = os.environ.get("GOOGLIVE_MERMAID_VALIDATOR_DIR")
    return Path(env) if env else DEFAULT_DIR


def node_missing_reason(directory: Path | None = None) -> str | None:
    """None when Node and the npm packages are installed; otherwise what is missing."""
    directory = directory or validator_dir()
    if shutil.which("node") is None:
        return "the 'node' executable is not on PATH"
    for pkg in ("mermaid", "jsdom"):
        if not (directory / "node_modules" / pkg / "package.json").is_file():
            return f"{pkg} is not installed: run `npm ci --prefix {directory}`"
    if not (directory / "worker.mjs").is_file():
        return f"{directory / 'worker.mjs'} is missing"
    return None


def _clamp_line(code: str, line: int, message: str) -> tuple[int, str]:
    """mermaid's jison parsers report an unexpected end of input one line past the last line
    (they parse the text plus a newline): point at the last line the model actually wrote."""
    last = code.count("\n") + 1
    if line > last:
        message = re.sub(r"^Parse error on line \d+:", f"Parse error on line {last}:", message)
        line = last
    return line, message


class NodeMermaidWorker:
    """One `node worker.mjs` process; requests are serialised (one in flight)."""

    def __init__(self, directory: Path | None = None, *, start_timeout_s: float = 20.0) -> None:
        self._dir = directory or validator_dir()
        self._start_timeout_s = start_timeout_s
        self._proc: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()
        self._start_lock = asyncio.Lock()  # a warm-up start() and a first parse() may overlap
        self._seq = 0
        self._ready = False  # the running process has printed its ready line
        self.mermaid_version: str | None = None

    @property
    def running(self) -> bool:
        return self._ready and self._proc is not None and self._proc.returncode is None

    async def start(self) -> None:
        """Start the worker and wait for its ready line; raises RuntimeError/TimeoutError."""
        if self.running:
            return
        async with self._start_lock:
            if not self.running:
                await self._start()

    async def _start(self) -> None:
        reason = node_missing_reason(self._dir)
        if reason:
            raise RuntimeError(reason)
        t0 = time.perf_counter()
        await self.aclose()  # a process that died or never became ready
        self._proc = await asyncio.create_subprocess_exec(
            shutil.which("node") or "node",
            str(self._dir / "worker.mjs"),
            cwd=str(self._dir),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            limit=1 << 20,
        )
        try:
            assert self._proc.stdout is not None
            async with asyncio.timeout(self._start_timeout_s):
                line = await self._proc.stdout.readline()
            hello = json.loads(line)
            if not hello.get("ready"):
                raise RuntimeError("mermaid worker did not report ready")
            self.mermaid_version = str(hello.get("mermaid"))
            self._ready = True
        except BaseException:
            await self.aclose()
            raise
        log.info(
            "mermaid worker started (mermaid %s) in %.0f ms",
            self.mermaid_version,
            (time.perf_counter() - t0) * 1000,
        )

    async def parse(self, code: str, timeout_s: float) -> MermaidCheck:
        """mermaid.parse's verdict; raises TimeoutError/RuntimeError when the worker fails."""
        async with self._lock:
            await self.start()
            proc = self._proc
            assert proc is not None and proc.stdin is not None and proc.stdout is not None
            self._seq += 1
            req = json.dumps({"id": self._seq, "code": code}) + "\n"
            try:
                proc.stdin.write(req.encode())
                await proc.stdin.drain()
                async with asyncio.timeout(timeout_s):
                    line = await proc.stdout.readline()
            except (TimeoutError, OSError, ConnectionError) as e:
                # A worker that times out may still answer later: restart it to stay in step.
                await self.aclose()
                raise RuntimeError(f"mermaid worker failed: {type(e).__name__}") from None
            if not line:
                await self.aclose()
                raise RuntimeError("mermaid worker exited")
            resp = json.loads(line)
            if resp.get("id") != self._seq:
                await self.aclose()
                raise RuntimeError("mermaid worker out of step")
            if resp.get("ok"):
                return MermaidCheck(True, resp.get("type"), (), "mermaid-js")
            line, message = _clamp_line(
                code, int(resp.get("line") or 0), str(resp.get("message") or "parse error")
            )
            return MermaidCheck(False, None, (MermaidError(line, message),), "mermaid-js")

    def kill(self) -> None:
        """Stop the worker now, from any thread, even when its event loop is gone."""
        proc, self._proc = self._proc, None
        self._ready = False
        if proc is None or proc.returncode is not None:
            return
        # Popen.send_signal polls first, so a reaped pid is never signalled.
        with contextlib.suppress(ProcessLookupError, RuntimeError, OSError):
            proc.kill()

    async def aclose(self) -> None:
        """Stop the worker (idempotent)."""
        proc, self._proc = self._proc, None
        self._ready = False
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            if proc.stdin is not None:
                proc.stdin.close()
            try:
                async with asyncio.timeout(1.0):
                    await proc.wait()
            except TimeoutError:
                proc.kill()
                await proc.wait()


class MermaidValidator:
    """Safety rules, then the Node worker when available, else the pure-Python validator.

    One instance per app; `use_node=False` forces the pure-Python path. After a worker failure
    the Node path is skipped for `retry_after_s` seconds.
    """

    def __init__(
        self,
        *,
        use_node: bool | None = None,
        directory: Path | None = None,
        timeout_s: float = 3.0,
        retry_after_s: float = 60.0,
    ) -> None:
        self._dir = directory or validator_dir()
        self._use_node = (node_missing_reason(self._dir) is None) if use_node is None else use_node
        self._timeout_s = timeout_s
        self._retry_after_s = retry_after_s
        self._disabled_until = 0.0
        self._worker = NodeMermaidWorker(self._dir) if self._use_node else None

    @property
    def uses_node(self) -> bool:
        return self._worker is not None and time.monotonic() >= self._disabled_until

    async def start(self) -> None:
        """Warm the Node worker up (optional; the first validate() starts it otherwise)."""
        if self._worker is not None:
            try:
                await self._worker.start()
            except (RuntimeError, TimeoutError, OSError, ValueError) as e:
                self._disable(e)

    def _disable(self, e: BaseException) -> None:
        log.warning("mermaid worker unavailable (%s); using the Python validator", type(e).__name__)
        self._disabled_until = time.monotonic() + self._retry_after_s

    async def validate(self, code: str) -> MermaidCheck:
        """The verdict on `code`; never raises (except cancellation)."""
        safety = check_safety(code)
        if safety:
            return MermaidCheck(False, None, tuple(safety), "safety")
        if self._worker is not None and self.uses_node:
            try:
                return await self._worker.parse(code, self._timeout_s)
            except (RuntimeError, TimeoutError, OSError, ValueError) as e:
                self._disable(e)
        return await asyncio.to_thread(check_mermaid, code)

    async def aclose(self) -> None:
        if self._worker is not None:
            await self._worker.aclose()

    def kill(self) -> None:
        """Stop the Node worker now without awaiting (exit paths, another thread, a closed loop)."""
        if self._worker is not None:
            self._worker.kill()
