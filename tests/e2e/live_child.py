"""The local Live server for a browser test, in a process of its own inside the test's network
namespace (where the app runs, so the app reaches it on 127.0.0.1).

``python -m tests.e2e.live_child OUT_DIR`` prints one JSON line ``{"url", "ca_cert",
"api_key"}`` and then keeps ``OUT_DIR/stats.json`` current (rewritten atomically every 100 ms)
with what a browser test asserts on: the audio and video the server received, the texts, and
what the server reads in the newest video frame (googlive/fakelive/vision.py: the colour and
code of a marker drawn into it). Ends on SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

from googlive.fakelive import FakeLiveConfig, FakeLiveServer, vision


def snapshot(srv: FakeLiveServer, sight: dict | None) -> dict:
    st = srv.stats
    return {
        "audio_bytes": st.audio_bytes_received,
        "audio_chunks": st.audio_chunks_received,
        "video_frames": st.video_frames_received,
        "texts": list(st.texts_received)[-50:],
        "setups": st.setups,
        "connections": st.connections_opened,
        "sight": sight,
    }


async def main(out: Path) -> None:
    srv = FakeLiveServer(config=FakeLiveConfig())
    await srv.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    sys.stdout.write(
        json.dumps({"url": srv.url, "ca_cert": srv.ca_cert, "api_key": srv.api_key}) + "\n"
    )
    sys.stdout.flush()
    last, sight = None, None
    try:
        while not stop.is_set():
            jpeg = srv.stats.last_jpeg
            if jpeg is not None and jpeg is not last:
                last = jpeg
                seen = await asyncio.to_thread(vision.read, jpeg)
                sight = None if seen is None else {"colour": seen.colour, "code": seen.code}
            tmp = out / "stats.json.tmp"
            tmp.write_text(json.dumps(snapshot(srv, sight)))
            os.replace(tmp, out / "stats.json")
            try:
                async with asyncio.timeout(0.1):
                    await stop.wait()
            except TimeoutError:
                pass
    finally:
        await srv.stop()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
