"""Trickled ICE candidates that outrun their own offer: held by the RtcGuard, applied to that
offer's connection once it is answered, and only for the client that made the offer.

fastrtc's page POSTs the offer and each candidate as separate requests; on a busy server a
candidate can be handled first (seen in a full run: three candidates refused as
`unknown_connection`, then the relay-only call through haproxy never connected).
FakeRtc records what reaches fastrtc's `handle_offer` and, like fastrtc's, cannot apply a
candidate before the connection exists with its remote description.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from googlive.public.rtcguard import EarlyCandidates, RtcGuard

SDP = "\r\n".join(
    ["v=0", "m=audio 9 UDP/TLS/RTP/SAVPF 111", "a=ice-ufrag:abcd", "a=fingerprint:sha-256 00"]
)


class FakePC:
    def __init__(self) -> None:
        self.remoteDescription: str | None = None
        self.candidates: list[str] = []
        self.connectionState = "new"

    def on(self, *_: Any) -> None: ...

    def remove_listener(self, *_: Any) -> None: ...


class FakeRtc:
    def __init__(self) -> None:
        self.pcs: dict[str, FakePC] = {}
        self.connections: dict[str, list[Any]] = {}
        self.calls: list[str] = []
        self.made = asyncio.Event()  # the offer's connection exists
        self.answering = asyncio.Event()  # set by the test: the offer's answer is ready

    def set_additional_outputs(self, webrtc_id: str) -> None:
        return None

    async def handle_offer(self, body: dict[str, Any], _outputs: Any) -> dict[str, Any]:
        wid = body["webrtc_id"]
        if body["type"] == "ice-candidate":
            pc = self.pcs.get(wid)
            if pc is None or pc.remoteDescription is None:
                self.calls.append("dropped " + body["candidate"]["candidate"])
                return {"status": "failed", "meta": {"error": "unknown_connection"}}
            pc.candidates.append(body["candidate"]["candidate"])
            self.calls.append("added " + body["candidate"]["candidate"])
            return {"status": "success"}
        pc = self.pcs[wid] = FakePC()
        self.made.set()
        await self.answering.wait()  # aiortc applies the offer while candidates keep coming
        pc.remoteDescription = "offer"
        self.calls.append("answered " + wid)
        return {"sdp": "answer", "type": "answer"}


def request(ip: str) -> Any:
    return SimpleNamespace(headers={}, client=SimpleNamespace(host=ip), username=None)


def candidate(wid: str, name: str) -> dict[str, Any]:
    return {"type": "ice-candidate", "webrtc_id": wid, "candidate": {"candidate": name}}


def test_a_candidate_before_its_offer_is_applied_once_the_offer_is_answered():
    async def scenario() -> tuple[FakeRtc, list[Any], RtcGuard]:
        rtc = FakeRtc()
        guard = RtcGuard(per_client=2)
        guard.rtc = rtc
        alice, mallory = request("10.0.0.1"), request("10.0.0.9")
        replies = [await guard.offer(candidate("w1", "relay-1"), alice)]  # before the offer
        replies.append(await guard.offer(candidate("w1", "evil"), mallory))  # someone else
        offer = asyncio.create_task(
            guard.offer({"type": "offer", "webrtc_id": "w1", "sdp": SDP}, alice)
        )
        await rtc.made.wait()  # fastrtc has made the connection, not yet answered
        replies.append(await guard.offer(candidate("w1", "relay-2"), alice))
        rtc.answering.set()
        replies.append(await offer)
        replies.append(await guard.offer(candidate("w1", "relay-3"), alice))  # after: direct
        replies.append(await guard.offer(candidate("w1", "evil-2"), mallory))
        await guard.aclose()
        return rtc, replies, guard

    rtc, replies, guard = asyncio.run(scenario())
    assert replies[0] == {"status": "success"} and replies[2] == {"status": "success"}
    assert replies[3]["type"] == "answer"
    assert rtc.pcs["w1"].candidates == ["relay-1", "relay-2", "relay-3"]
    assert not any(c.startswith("dropped") for c in rtc.calls), rtc.calls
    assert rtc.calls.index("answered w1") < rtc.calls.index("added relay-1")
    # Another client's candidates never reach the connection, before or after the offer.
    assert "evil" not in str(rtc.calls)
    assert guard.refused.get("unknown_connection") == 2, guard.refused
    assert len(guard.early) == 0  # nothing left behind


def test_early_candidates_are_bounded_and_expire():
    held = EarlyCandidates(connections=3, per_connection=2, per_client=2, keep_s=30)
    assert held.hold("a", "c1", 1, now=0) and held.hold("a", "c1", 2, now=0)
    assert not held.hold("a", "c1", 3, now=0)  # per connection
    assert held.hold("b", "c1", 1, now=0)
    assert not held.hold("c", "c1", 1, now=0)  # per client
    assert held.hold("c", "c2", 1, now=0)
    assert not held.hold("d", "c3", 1, now=0)  # in all
    assert not held.hold("a", "c2", 9, now=0)  # an id someone else holds candidates for
    assert held.take("a", "c2", now=1) == []  # ...and only its client takes them back
    assert held.take("b", "c1", now=1) == [1]
    assert held.hold("d", "c3", 1, now=31)  # the rest expired after keep_s
    assert len(held) == 1 and held.take("c", "c2", now=31) == []
