"""Finding 3: conversation slots cannot be taken by junk or abandoned offers, and one client
cannot hold more than --max-per-client of them.

The real app on loopback; offers go to /gradio_api/component_server (fn_name "offer") exactly as
fastrtc's page script sends them. A "real" offer is made by aiortc like a browser's: audio and
video, ICE credentials and a DTLS fingerprint, and (trickle ICE) no candidates in it; it is then
abandoned: no ICE candidate ever follows. Two clients are two loopback source addresses.
"""

from __future__ import annotations

import asyncio
import secrets
import time

import pytest

from tests.reliability import apphttp
from tests.reliability.util import record


def browser_like_offer() -> str:
    from aiortc import RTCPeerConnection

    async def make() -> str:
        pc = RTCPeerConnection()
        pc.addTransceiver("audio", direction="sendrecv")
        pc.addTransceiver("video", direction="sendrecv")
        await pc.setLocalDescription(await pc.createOffer())
        sdp = pc.localDescription.sdp
        await pc.close()
        return sdp

    sdp = asyncio.run(make())
    return "\r\n".join(
        ln for ln in sdp.split("\r\n") if not ln.startswith(("a=candidate", "a=end-of-candidates"))
    )


def offer(app: apphttp.App, rtc_id: int, sdp: str, *, source: str = "127.0.0.1") -> dict:
    body = {
        "session_hash": secrets.token_hex(5),
        "component_id": rtc_id,
        "fn_name": "offer",
        "data": {"webrtc_id": secrets.token_hex(6), "sdp": sdp, "type": "offer"},
    }
    status, _, resp = app.post_json("/gradio_api/component_server", body, source=source)
    return {
        "http": status,
        "webrtc_id": body["data"]["webrtc_id"],
        **(resp if isinstance(resp, dict) else {"raw": resp}),
    }


@pytest.fixture
def app(tmp_path):
    a = apphttp.start(
        tmp_path, "--max-sessions", "2", "--max-per-client", "1", "--connect-timeout", "2"
    )
    yield a
    a.stop()


def test_junk_and_abandoned_offers_free_their_slots_and_clients_are_limited(app):
    rtc = app.component_id("webrtc")
    real = browser_like_offer()
    # Junk SDP: refused before it takes a slot (fastrtc took the slot, then raised or waited 30 s).
    junk = [offer(app, rtc, "v=0", source=f"127.0.0.{i}") for i in (5, 6, 7)]
    assert all(
        j.get("status") == "failed" and j["meta"]["error"] == "invalid_offer" for j in junk
    ), junk
    # Both slots are free: two clients get answers...
    a1 = offer(app, rtc, real, source="127.0.0.2")
    assert a1.get("type") == "answer" and "sdp" in a1, a1
    # ...but not a second one for the same client (per-client limit 1).
    again = offer(app, rtc, real, source="127.0.0.2")
    # (the error code fastrtc's page turns into "Too many concurrent connections"; scope tells them apart)
    assert again.get("status") == "failed" and again["meta"] == {
        "error": "concurrency_limit_reached",
        "limit": 1,
        "scope": "client",
    }, again
    b1 = offer(app, rtc, real, source="127.0.0.3")
    assert b1.get("type") == "answer", b1
    # Another client naming A's connection can neither trickle ICE into it nor stop its panels.
    a1_id = a1["webrtc_id"]
    ice = {
        "session_hash": "x",
        "component_id": rtc,
        "fn_name": "offer",
        "data": {
            "webrtc_id": a1_id,
            "type": "ice-candidate",
            "candidate": {"candidate": "candidate:1 1 udp 1 127.0.0.9 9 typ host", "sdpMid": "0"},
        },
    }
    assert (
        app.post_json("/gradio_api/component_server", ice, source="127.0.0.3")[2]["meta"]["error"]
        == "unknown_connection"
    )
    quit = {
        "session_hash": "x",
        "component_id": rtc,
        "fn_name": "quit_output_stream",
        "data": {"webrtc_id": a1_id},
    }
    assert app.post_json("/gradio_api/component_server", quit, source="127.0.0.3")[2] == {
        "success": False
    }
    full = offer(app, rtc, real, source="127.0.0.4")
    assert full.get("status") == "failed" and full["meta"] == {
        "error": "concurrency_limit_reached",
        "limit": 2,
    }, full
    # Nobody ever sends ICE: the two abandoned offers must free their slots within a few
    # seconds (--connect-timeout 2), not fastrtc's 30 s.
    t0 = time.monotonic()
    while True:
        c = offer(app, rtc, real, source="127.0.0.4")
        if c.get("type") == "answer":
            break
        assert c["meta"]["error"] == "concurrency_limit_reached", c
        assert time.monotonic() - t0 < 8, "abandoned offers still hold the slots"
        time.sleep(0.25)
    freed_after = time.monotonic() - t0
    assert "slot freed (not_connected)" in app.log_text()
    record("offer_slots", {"junk_refused": len(junk), "freed_after_s": round(freed_after, 2)})


def test_who_counts_as_one_client():
    from types import SimpleNamespace

    from googlive.public.rtcguard import client_key, sdp_problem

    def req(host="10.0.0.5", xff=None, username=None):
        headers = {"x-forwarded-for": xff} if xff else {}
        return SimpleNamespace(
            client=SimpleNamespace(host=host),
            headers=headers,
            username=username,
            request=SimpleNamespace(scope={}),
        )

    assert client_key(req()) == "ip:10.0.0.5"
    assert client_key(req(xff="6.6.6.6, 203.0.113.7")) == "ip:10.0.0.5"  # not trusted: the peer
    # Behind one proxy that appends: the right-most entry is what the proxy saw; a client's own
    # (forgeable) entries to its left do not change the key.
    assert client_key(req(xff="6.6.6.6, 203.0.113.7"), trust_forwarded=True) == "ip:203.0.113.7"
    assert client_key(req(xff="1.1.1.1, 203.0.113.7"), trust_forwarded=True) == "ip:203.0.113.7"
    assert client_key(req(username="alice"), trust_forwarded=True) == "user:alice"
    real = browser_like_offer()
    assert sdp_problem(real) is None
    for junk, why in (
        ("v=0", "no audio"),
        ("", "empty"),
        ("x" * 70_000, "too large"),
        ("hello", "not an SDP"),
        (real.replace("a=fingerprint", "a=x"), "fingerprint"),
    ):
        assert why in (sdp_problem(junk) or ""), (junk[:20], sdp_problem(junk))
