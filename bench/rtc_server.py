"""A WebRTC server process for the cpu_per_session figure: `python -m bench.rtc_server`.

--kind app: the app's GeminiHandler with the app's features (assembled as app.py does),
talking to a Live server given by --live-url/--live-ca (run in ANOTHER process, so its CPU is
not counted here). --kind echo: a bare FastRTC audio+video echo handler. Both are served by a
fastrtc Stream mounted on FastAPI (POST /webrtc/offer); GET /bench/stats returns this
process's CPU time and per-connection frame counters. Logs no audio, video or text.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import uvicorn
from fastapi import FastAPI
from fastrtc import AsyncAudioVideoStreamHandler, Stream, wait_for_item

COUNTERS: list[dict[str, int]] = []


class EchoHandler(AsyncAudioVideoStreamHandler):
    """The bare FastRTC echo: audio back as it comes, the latest camera frame back as video."""

    def __init__(self) -> None:
        super().__init__(expected_layout="mono", output_sample_rate=48000, input_sample_rate=48000)
        self.q: asyncio.Queue[Any] = asyncio.Queue()
        self.frame: np.ndarray | None = None
        self.c = {"audio_in": 0, "video_in": 0}

    def copy(self) -> EchoHandler:
        h = EchoHandler()
        COUNTERS.append(h.c)
        return h

    async def receive(self, frame: tuple[int, np.ndarray]) -> None:
        self.c["audio_in"] += 1
        self.q.put_nowait(frame)

    async def emit(self) -> Any:
        return await wait_for_item(self.q, 0.02)

    async def video_receive(self, frame: np.ndarray) -> None:
        self.c["video_in"] += 1
        self.frame = frame

    async def video_emit(self) -> Any:
        return self.frame if self.frame is not None else np.zeros((480, 640, 3), np.uint8)


def app_handler(live_url: str, live_ca: str, record: bool) -> Any:
    from googlive.assemble import assemble
    from googlive.config import Secret, Settings
    from googlive.handler import GeminiHandler
    from googlive.live.backend import Endpoint
    from googlive.live.preload import import_live
    from googlive.ui import AppContext

    import_live()  # as app.py does once its page is up: not inside the first session

    data = Path(tempfile.mkdtemp(prefix="googlive-bench-"))
    settings = Settings(data_dir=data, record=record, offline=True)
    endpoint = Endpoint(live_url, live_ca, Secret("k"), offline=True)

    class Counted(GeminiHandler):
        def copy(self) -> Counted:
            h = type(self)(
                self.settings,
                self.endpoint,
                features=self.feature_factories,
                services=self.services,
            )
            h.c = {"audio_in": 0, "video_in": 0, "video_kept": 0}
            COUNTERS.append(h.c)
            return h

        async def start_up(self) -> None:
            self.latest_args = ["__webrtc_value__", "bench", "", "", "", "", "", ""]
            self.args_set.set()
            await super().start_up()

        async def receive(self, frame: tuple[int, np.ndarray]) -> None:
            self.c["audio_in"] += 1
            await super().receive(frame)

        def video_wanted(self) -> bool:
            self.c["video_in"] += 1  # every frame that arrived (decoded), converted or not
            return super().video_wanted()

        async def video_receive(self, frame: np.ndarray) -> None:
            self.c["video_kept"] += 1
            await super().video_receive(frame)

    from googlive.media import rtcvideo

    rtcvideo.install()  # as googlive.ui does for the page's WebRTC component
    ctx = AppContext(settings, endpoint, handler_cls=Counted)
    assemble(ctx)
    return Counted(settings, endpoint, features=ctx.features, services=ctx.services)


def _rss_mb() -> float | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--kind", choices=["app", "echo"], required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--live-url", default="")
    p.add_argument("--live-ca", default="")
    p.add_argument("--record", action="store_true")
    a = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    handler = EchoHandler() if a.kind == "echo" else app_handler(a.live_url, a.live_ca, a.record)
    stream = Stream(
        handler,
        modality="audio-video",
        mode="send-receive",
        concurrency_limit=64,
        server_rtc_configuration={"iceServers": []},
        verbose=False,
    )
    app = FastAPI()
    stream.mount(app)

    @app.get("/bench/stats")
    def stats() -> dict[str, Any]:
        t = os.times()
        return {
            "cpu_s": t.user + t.system,
            "rss_mb": _rss_mb(),
            "sessions": [dict(c) for c in COUNTERS],
        }

    uvicorn.run(app, host="127.0.0.1", port=a.port, log_level="warning")


if __name__ == "__main__":
    main()
