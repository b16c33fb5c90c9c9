"""The real app as a subprocess on loopback, and raw HTTP to it from chosen source addresses.

Linux routes all of 127.0.0.0/8 over `lo`, so requests from 127.0.0.2 reach the app on
127.0.0.1 as a different client (request.client.host), with no network namespace needed.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class App:
    proc: subprocess.Popen[bytes]
    port: int
    data_dir: Path
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        *,
        source: str = "127.0.0.1",
        headers: dict[str, str] | None = None,
        timeout: float = 20,
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=timeout, source_address=(source, 0)
        )
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()

    def get(self, path: str, **kw: Any) -> tuple[int, dict[str, str], bytes]:
        return self.request("GET", path, **kw)

    def post_json(self, path: str, data: Any, **kw: Any) -> tuple[int, dict[str, str], Any]:
        status, headers, body = self.request(
            "POST",
            path,
            json.dumps(data).encode(),
            headers={"Content-Type": "application/json"},
            **kw,
        )
        try:
            return status, headers, json.loads(body)
        except ValueError:
            return status, headers, body

    def config(self) -> dict[str, Any]:
        status, _, body = self.get("/config")
        assert status == 200, status
        return json.loads(body)

    def component_id(self, kind: str) -> int:
        return next(c["id"] for c in self.config()["components"] if c.get("type") == kind)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def start(
    tmp: Path, *args: str, env: dict[str, str] | None = None, data_dir: Path | None = None
) -> App:
    port = free_port()
    data = data_dir or tmp / "data"
    log = tmp / f"app-{port}.log"
    e = {
        k: v
        for k, v in os.environ.items()
        if k not in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "SPACE_ID")
    }
    e.update(
        GOOGLIVE_NO_ICE="1",
        PYTHONUNBUFFERED="1",
        GRADIO_ANALYTICS_ENABLED="False",
        GRADIO_TEMP_DIR=str(tmp / "gradio-tmp"),
    )
    e.update(env or {})
    argv = [
        sys.executable,
        str(ROOT / "app.py"),
        "--offline",
        "--port",
        str(port),
        "--data-dir",
        str(data),
        *args,
    ]
    with log.open("wb") as fh:
        proc = subprocess.Popen(argv, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, env=e)
    app = App(proc, port, data, log)
    deadline = time.monotonic() + 90
    while True:  # poll the starting server: the condition is checked every round
        if proc.poll() is not None:
            raise RuntimeError(f"app exited early:\n{app.log_text()[-3000:]}")
        try:
            if app.get("/", timeout=2)[0] in (200, 401):
                return app
        except OSError:
            pass
        if time.monotonic() > deadline:
            app.stop()
            raise RuntimeError(f"app did not start:\n{app.log_text()[-3000:]}")
        time.sleep(0.3)
