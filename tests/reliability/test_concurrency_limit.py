"""The configured concurrency limit refuses the N+1th visitor with a clear error.

Cost-cut: instead of a second full aiortc handshake, the first visitor is stood in by an entry in
the component's peer-connection table (exactly what a live connection leaves there), and the
second visitor's offer goes through fastrtc's real offer handler of the app's own page."""

from __future__ import annotations

import json

from googlive.config import Secret, Settings
from googlive.live.backend import Endpoint
from googlive.ui import AppContext, build


async def test_the_visitor_over_max_sessions_is_refused():
    ctx = AppContext(
        Settings(max_sessions=1, no_ice_servers=True),
        Endpoint("https://127.0.0.1:9", None, Secret("k"), True),
    )
    build(ctx)
    rtc = ctx.extra["rtc"]
    assert rtc.concurrency_limit == 1  # --max-sessions reaches fastrtc
    rtc.pcs["first-visitor"] = object()  # one conversation is running
    try:
        resp = await rtc.handle_offer(
            {"webrtc_id": "second-visitor", "sdp": "v=0", "type": "offer"}, lambda *a: None
        )
        body = json.loads(resp.body)
        assert body["status"] == "failed"
        assert body["meta"]["error"] == "concurrency_limit_reached" and body["meta"]["limit"] == 1
        assert "second-visitor" not in rtc.pcs
    finally:
        rtc.pcs.pop("first-visitor", None)
