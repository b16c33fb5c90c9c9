"""Keys and privacy: the API key shows up in no page, route, log or file; no transcript text in
log records at INFO and above."""

from __future__ import annotations

import logging
import os
import secrets
import socket
import string
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from googlive.config import Secret, Settings
from googlive.fakelive import FakeLiveConfig, FakeLiveServer
from googlive.handler import GeminiHandler
from googlive.live.backend import Endpoint
from googlive.live.events import Role
from googlive.testing.peersim import SimulatedPeer
from tests.reliability.util import record, until

ROOT = Path(__file__).resolve().parents[2]


def fake_key() -> str:
    alphabet = string.ascii_letters + string.digits + "-_"
    return "AIza" + "".join(secrets.choice(alphabet) for _ in range(35))


def test_settings_and_secret_reprs_hide_the_key():
    key = fake_key()
    s = Settings(api_key=Secret(key))
    for text in (
        repr(s),
        str(s),
        f"{s}",
        repr(s.api_key),
        f"{s.api_key!s}",
        repr(Endpoint(None, None, Secret(key), False)),
    ):
        assert key not in text and key[4:20] not in text


async def test_no_transcript_text_or_key_in_log_records(caplog):
    """A whole session with a typed distinctive phrase, a reply echoing it, a drop and a resume:
    no log record at INFO or above carries the phrase, no record at all carries the key."""
    key = fake_key()
    phrase = "zebra" + secrets.token_hex(6) + "quartz"
    caplog.set_level(logging.DEBUG)
    async with FakeLiveServer(api_key=key, config=FakeLiveConfig(speed=20.0)) as srv:
        h = GeminiHandler(
            Settings(api_key=Secret(key)),
            Endpoint(srv.url, srv.ca_cert, Secret(key), offline=False),
        )
        peer = SimulatedPeer(h, ["owner", "", "", "", "", ""])
        await peer.start()
        try:
            await until(lambda: h.session is not None and h.session.state.value == "live")
            h.send_text(f"please remember {phrase}")
            await until(
                lambda: any(phrase in ln.text for ln in h.conv.lines if ln.role is Role.MODEL),
                timeout=15,
            )
            srv.drop_connections()
            await until(
                lambda: h.session.stats.resumes >= 1 and h.session.state.value == "live", timeout=15
            )
            h.send_text(f"again {phrase}")
            await until(
                lambda: sum(phrase in ln.text for ln in h.conv.lines if ln.role is Role.MODEL) >= 2,
                timeout=15,
            )
        finally:
            await peer.close()
    assert srv.stats.texts_received  # the phrase really went through the app
    records = caplog.records
    assert len(records) > 5
    for r in records:
        msg = r.getMessage()
        assert key not in msg, (r.name, msg)
        if r.levelno >= logging.INFO:
            assert phrase not in msg, (r.name, r.levelname, msg)
    record(
        "log_privacy",
        {
            "records": len(records),
            "info_and_above": sum(r.levelno >= logging.INFO for r in records),
        },
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_key_appears_in_no_route_log_or_file(tmp_path):
    """The app, started with a key and pointed at a local Live server holding that key: every
    page, config and API route it serves, its log and every file in its data dir are free of it."""
    key = fake_key()
    srv = FakeLiveServer(api_key=key)
    srv.start_in_thread()
    port = _free_port()
    data = tmp_path / "data"
    log = tmp_path / "app.log"
    env = {k: v for k, v in os.environ.items() if k not in ("GEMINI_API_KEY", "GOOGLE_API_KEY")}
    env.update(
        GEMINI_API_KEY=key,
        GOOGLIVE_NO_ICE="1",
        PYTHONUNBUFFERED="1",
        GRADIO_ANALYTICS_ENABLED="False",
        GOOGLIVE_LOG="DEBUG",
    )
    argv = [
        sys.executable,
        str(ROOT / "app.py"),
        "--port",
        str(port),
        "--data-dir",
        str(data),
        "--live-url",
        srv.url,
        "--live-ca",
        srv.ca_cert,
    ]
    with log.open("wb") as fh:
        proc = subprocess.Popen(argv, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    fetched: dict[str, int] = {}
    try:
        deadline = time.monotonic() + 90
        while True:  # poll the starting server: the condition is checked every round
            assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
            try:
                if _get(base + "/")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "app did not start"
            time.sleep(0.3)
        routes = [
            "/",
            "/config",
            "/gradio_api/info",
            "/info",
            "/gradio_api/config",
            "/manifest.json",
            "/theme.css",
            "/gradio_api/startup-events",
            "/gradio_api/app_id",
            "/robots.txt",
            "/gradio_api/queue/status",
            "/monitoring",
            "/gradio_api/file=" + str(data),
            "/webrtc/offer",
            "/gradio_api/upload_progress",
            "/favicon.ico",
            "/login",
            "/openapi.json",
            "/docs",
            "/gradio_api/openapi.json",
        ]
        import json as _json
        import re

        status, body = _get(base + "/config")
        cfg = _json.loads(body) if status == 200 else {}
        # Every asset the page refers to, as well.
        page = _get(base + "/")[1].decode(errors="replace")
        routes += sorted({m for m in re.findall(r'(?:src|href)="(/[^"]+)"', page)})[:40]
        for dep in cfg.get("dependencies", [])[:0]:
            del dep
        for r in routes:
            status, body = _get(base + r)
            fetched[r] = status
            text = body.decode(errors="replace")
            assert key not in text and key[4:24] not in text, r
        assert fetched["/"] == 200 and fetched["/config"] == 200
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        srv.stop_thread()
    text = log.read_text(errors="replace")
    assert "Running on" in text or "127.0.0.1" in text
    assert key not in text and key[4:24] not in text
    files = [p for p in data.rglob("*") if p.is_file()] if data.exists() else []
    for p in files:
        assert key.encode() not in p.read_bytes(), p
    record(
        "key_routes", {"routes": fetched, "data_files_checked": len(files), "log_bytes": len(text)}
    )
