"""Kill-test child: a handler with the recording feature, a simulated browser (mic beeps every
second, camera flashing every second) and the local Live server, all in this process.

Usage: python tests/recording_handler_child.py DATA_DIR READY_S
Once the session is READY_S seconds old, prints "READY <session time> <path>" and goes on
recording until killed (it gives up by itself after 60 s).
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from googlive.config import Secret, Settings
from googlive.fakelive import FakeLiveConfig, FakeLiveServer
from googlive.features.recording.feature import RecordingFeature
from googlive.handler import GeminiHandler
from googlive.live.backend import Endpoint
from googlive.live.preload import import_live
from googlive.testing.peersim import SimulatedPeer

# What app.py's warm-up does once the page is up (googlive/live/preload.py): google-genai is
# loaded before the first call here too, not inside its session clock (a first call that
# imports it starts its recording and archive up to a second late on a busy machine).
import_live()


def beeps(seconds: float) -> np.ndarray:
    """A 1 kHz beep from 0.2 to 0.4 s of every second, 48 kHz int16."""
    t = np.arange(int(seconds * 48000)) / 48000
    on = (t % 1.0 >= 0.2) & (t % 1.0 < 0.4)
    return (8000 * np.sin(2 * np.pi * 1000 * t) * on).astype(np.int16)


def recording(call, links) -> RecordingFeature:
    return RecordingFeature(call, archive=links.archive)


async def main() -> None:
    data_dir, ready_s = Path(sys.argv[1]), float(sys.argv[2])
    async with FakeLiveServer(api_key="k", config=FakeLiveConfig(vad_threshold=1e9)) as srv:
        endpoint = Endpoint(srv.url, srv.ca_cert, Secret("k"), offline=True)
        h = GeminiHandler(Settings(data_dir=data_dir), endpoint, features=[recording])
        peer = SimulatedPeer(h, ["killed-owner", "", "", "", "", ""])
        await peer.start()
        black = np.zeros((240, 320, 3), np.uint8)
        white = np.full((240, 320, 3), 255, np.uint8)
        await peer.say(beeps(60.0))
        nxt = time.monotonic()
        reported = False
        while h.session_time() < 60:
            t = h.session_time()
            await h.video_receive(white if 0.2 <= t % 1.0 < 0.3 else black)
            rec = h.feature_of(RecordingFeature)
            if not reported and t >= ready_s and rec is not None and rec.rec is not None:
                print(f"READY {t:.3f} {rec.path}", flush=True)
                reported = True
            nxt += 1 / 15
            await asyncio.sleep(max(0.0, nxt - time.monotonic()))
        await peer.close()


if __name__ == "__main__":
    asyncio.run(main())
