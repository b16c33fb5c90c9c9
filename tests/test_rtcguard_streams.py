"""The panel stream (fastrtc's `output_stream`, behind `on_additional_outputs`) runs only for a
connection that exists: fastrtc's `additional_outputs` is a defaultdict, so a stream asked for
an id with no connection would wait for ever on a fresh queue, and the component's event
(trigger_mode "once") would then ignore every later trigger from that page."""

from __future__ import annotations

import asyncio
from typing import Any

from googlive.public.rtcguard import RtcGuard


class FakeRtc:
    """What RtcGuard.install touches; `output_stream` records the ids it was asked for."""

    def __init__(self) -> None:
        self.pcs: dict[str, Any] = {"live": object()}
        self.connections: dict[str, list[Any]] = {"live": []}
        self.asked: list[str] = []

    async def offer(self, *_: Any) -> None: ...

    async def quit_output_stream(self, *_: Any) -> None: ...

    def set_input(self, *_: Any) -> None: ...

    async def handle_offer(self, *_: Any) -> None: ...

    async def output_stream(self, webrtc_id: str) -> Any:
        self.asked.append(webrtc_id)
        for i in range(3):
            yield f"{webrtc_id}-{i}"


def test_a_panel_stream_for_no_connection_ends_at_once_and_a_live_one_streams():
    rtc = FakeRtc()
    guard = RtcGuard().install(rtc)

    async def collect(webrtc_id: Any) -> list[str]:
        async with asyncio.timeout(5):
            return [x async for x in rtc.output_stream(webrtc_id)]

    assert asyncio.run(collect("live")) == ["live-0", "live-1", "live-2"]
    assert asyncio.run(collect("gone")) == []  # cleaned up, or never made
    assert asyncio.run(collect("closed")) == []  # the value fastrtc's hang-up message sets
    assert asyncio.run(collect(None)) == []
    assert rtc.asked == ["live"]  # fastrtc's own stream was never started for the others
    assert guard.refused["output_stream"] == 3
