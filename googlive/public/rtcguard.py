"""Guards around fastrtc's WebRTC component: offers, per-client slots, and the stream's inputs.

fastrtc 0.0.34 (webrtc_connection_mixin.py `handle_offer`) takes a conversation slot
(`self.pcs[webrtc_id] = pc`) before it even parses the SDP, and only frees a slot whose ICE never
connects after a fixed 30 s (`connection_timeout(pc, webrtc_id, 30)`); a SDP that aiortc refuses
raises after the slot is taken, and the slot is never freed. Anyone could hold every slot with
a few junk POSTs to /gradio_api/component_server (fn_name "offer").

`RtcGuard.install(rtc)` replaces the component's `offer` server function (gradio looks it up on
the instance: routes.py component_server `getattr(block, body.fn_name)`) and its `set_input`:

- an offer whose SDP is not a WebRTC offer (no `m=` line, ICE credentials or DTLS fingerprint)
  is refused before any slot is taken;
- one client holds at most `per_client` slots (client = the signed-in name if any, else the
  IP address; behind a reverse proxy, the right-most X-Forwarded-For entry when
  `trust_forwarded`, which the proxy wrote and a client cannot forge; visitors behind one NAT or
  one corporate proxy share a limit, and a client that can use many addresses gets many);
- a slot whose peer connection is not connected with media within `connect_timeout_s` is closed
  and freed; an offer that raises frees its slot at once;
- ICE candidates, and `quit_output_stream`, are accepted only from the client that made the offer;
  a candidate that outruns its own offer (fastrtc's page POSTs the offer and each trickled
  candidate as separate requests, so on a busy server a candidate can be handled first) is held
  (`EarlyCandidates`, bounded) and applied once that client's offer is answered; before, it was
  refused as `unknown_connection`, and a call whose only path was a refused candidate (a TURN
  relay, a peer behind NAT) never connected;
- the panel stream (`output_stream`) runs only for a connection that exists (fastrtc's
  defaultdict would make one for any id, wait on it for ever, and block the page's panels);
- the stream inputs bind to the first owner that sets them (a second browser that learns the
  webrtc_id cannot re-point the conversation to itself), and the model is checked against the
  allow-list (`modelpolicy.choose_model`); a system instruction over MAX_INSTRUCTION_CHARS is
  replaced by the server's default.

Every watchdog task is kept and cancelled/awaited by `aclose()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from googlive.public.identity import auth_username, oauth_username
from googlive.public.limits import MAX_INSTRUCTION_CHARS
from googlive.public.modelpolicy import choose_model

log = logging.getLogger(__name__)

MAX_SDP_BYTES = 64 * 1024
N_INPUTS = 6  # owner, key, voice, model, instruction, survey_id (handler.SessionArgs)


def sdp_problem(sdp: object) -> str | None:
    """Why `sdp` is not a browser's WebRTC offer, or None. Cheap checks only: aiortc parses it."""
    if not isinstance(sdp, str) or not sdp.strip():
        return "empty offer"
    if len(sdp.encode("utf-8", "replace")) > MAX_SDP_BYTES:
        return "offer too large"
    lines = [ln.strip() for ln in sdp.replace("\r\n", "\n").split("\n")]
    if not lines or lines[0] != "v=0":
        return "not an SDP offer"
    if not any(ln.startswith("m=audio ") or ln.startswith("m=video ") for ln in lines):
        return "offer has no audio or video"
    if not any(ln.startswith("a=ice-ufrag:") for ln in lines) or not any(
        ln.startswith("a=fingerprint:") for ln in lines
    ):
        return "offer has no ICE credentials or DTLS fingerprint"
    return None


def client_key(request: Any, *, trust_forwarded: bool = False) -> str:
    """Who holds the slots: a signed-in name, else an IP address (see the module docstring)."""
    name = auth_username(request)
    if name:
        return f"user:{name}"
    hf = oauth_username(request)
    if hf:
        return f"hf:{hf}"
    headers = getattr(request, "headers", None) or {}
    if trust_forwarded:
        xff = headers.get("x-forwarded-for", "") if hasattr(headers, "get") else ""
        hops = [h.strip() for h in xff.split(",") if h.strip()]
        if hops:
            return f"ip:{hops[-1]}"
    client = getattr(request, "client", None)
    host = getattr(client, "host", None)
    return f"ip:{host}" if host else "ip:unknown"


@dataclass
class SlotTable:
    """Which client holds which webrtc ids (pure bookkeeping)."""

    per_client: int
    holders: dict[str, str] = field(default_factory=dict)  # webrtc_id -> client

    def held_by(self, client: str, live: Iterable[str]) -> int:
        live = set(live)
        for wid in [w for w in self.holders if w not in live]:
            del self.holders[wid]
        return sum(1 for c in self.holders.values() if c == client)

    def admit(self, client: str, webrtc_id: str, live: Iterable[str]) -> bool:
        if self.held_by(client, live) >= self.per_client:
            return False
        self.holders[webrtc_id] = client
        return True

    def release(self, webrtc_id: str) -> None:
        self.holders.pop(webrtc_id, None)


@dataclass
class EarlyCandidates:
    """ICE candidates that arrived before their connection's offer (pure bookkeeping, bounded):
    at most `per_connection` candidates for `connections` webrtc ids, `per_client` ids per
    client, each kept `keep_s` seconds. Only the client that sent them can take them back."""

    connections: int = 256
    per_connection: int = 32
    per_client: int = 8
    keep_s: float = 30.0
    _held: dict[str, tuple[str, float, list[Any]]] = field(default_factory=dict)

    def hold(self, webrtc_id: str, client: str, candidate: Any, now: float) -> bool:
        """Keep `candidate` for `webrtc_id`; False when the bounds refuse it (or another
        client holds candidates for that id)."""
        self._expire(now)
        entry = self._held.get(webrtc_id)
        if entry is None:
            mine = sum(1 for c, _, _ in self._held.values() if c == client)
            if len(self._held) >= self.connections or mine >= self.per_client:
                return False
            entry = self._held[webrtc_id] = (client, now, [])
        owner, _, queue = entry
        if owner != client or len(queue) >= self.per_connection:
            return False
        queue.append(candidate)
        return True

    def take(self, webrtc_id: str, client: str, now: float) -> list[Any]:
        """The candidates `client` sent for `webrtc_id` before its offer (forgotten here)."""
        self._expire(now)
        owner, _, queue = self._held.pop(webrtc_id, (client, now, []))
        return queue if owner == client else []

    def __len__(self) -> int:
        return len(self._held)

    def _expire(self, now: float) -> None:
        for wid in [w for w, (_, t, _) in self._held.items() if now - t > self.keep_s]:
            del self._held[wid]


def _succeeded(reply: Any) -> bool:
    """Whether fastrtc's answer to a candidate (a dict, or its JSONResponse) says success."""
    if hasattr(reply, "body"):
        with contextlib.suppress(ValueError, TypeError):
            reply = json.loads(reply.body)
    return isinstance(reply, dict) and reply.get("status") == "success"


def _failed(error: str, **meta: Any) -> Any:
    from fastapi.responses import JSONResponse

    return JSONResponse(
        status_code=200, content={"status": "failed", "meta": {"error": error, **meta}}
    )


class RtcGuard:
    def __init__(
        self,
        *,
        per_client: int = 2,
        connect_timeout_s: float = 8.0,
        trust_forwarded: bool = False,
        allowed_models: Iterable[str] = (),
        server_model: str = "",
    ) -> None:
        self.slots = SlotTable(max(1, int(per_client)))
        self.early = EarlyCandidates()
        self._answering: set[str] = set()  # offers being answered now
        self.connect_timeout_s = float(connect_timeout_s)
        self.trust_forwarded = trust_forwarded
        self.allowed_models = frozenset(allowed_models)
        self.server_model = server_model
        self.rtc: Any = None
        self._orig_set_input: Callable[..., Any] | None = None
        self._owner_of: dict[str, str] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self.freed = 0  # slots freed by the watchdog or a failed offer (for tests and logs)
        self.refused: dict[str, int] = {}

    # ---- wiring ----------------------------------------------------------------------------
    def install(self, rtc: Any) -> RtcGuard:
        self.rtc = rtc
        self._orig_set_input = rtc.set_input
        guard = self

        async def offer(body: Any, request: gr.Request) -> Any:
            return await guard.offer(body, request)

        async def quit_output_stream(body: Any, request: gr.Request) -> Any:
            return await guard.quit_output_stream(body, request)

        original_stream = rtc.output_stream

        async def output_stream(webrtc_id: str) -> Any:
            async for outputs in guard.output_stream(original_stream, webrtc_id):
                yield outputs

        rtc.output_stream = output_stream
        offer._is_server_fn = True  # type: ignore[attr-defined]  # gradio's @server marker
        quit_output_stream._is_server_fn = True  # type: ignore[attr-defined]
        rtc.offer = offer
        rtc.quit_output_stream = quit_output_stream
        rtc.set_input = self.set_input
        return self

    def _refuse(self, error: str, **meta: Any) -> Any:
        key = f"{error}:{meta['scope']}" if "scope" in meta else error
        self.refused[key] = self.refused.get(key, 0) + 1
        log.info("webrtc offer refused: %s", key)
        return _failed(error, **meta)

    # ---- offers ----------------------------------------------------------------------------
    async def offer(self, body: Any, request: Any) -> Any:
        rtc = self.rtc
        webrtc_id = body.get("webrtc_id") if isinstance(body, dict) else None
        if not isinstance(webrtc_id, str) or not 0 < len(webrtc_id) <= 128:
            return self._refuse("invalid_offer")
        client = client_key(request, trust_forwarded=self.trust_forwarded)
        if body.get("type") == "ice-candidate":
            holder = self.slots.holders.get(webrtc_id)
            # Before its offer, or while the offer is still being answered (fastrtc drops a
            # candidate then: no connection yet, or aiortc has no remote description to add it
            # to): held for that offer's answer.
            early = holder is None or (holder == client and webrtc_id in self._answering)
            if early and self.early.hold(webrtc_id, client, body, time.monotonic()):
                return {"status": "success"}  # fastrtc's answer to an applied candidate
            if holder != client:
                return self._refuse("unknown_connection")
            return await rtc.handle_offer(body, rtc.set_additional_outputs(webrtc_id))
        problem = sdp_problem(body.get("sdp"))
        if problem is not None or body.get("type") != "offer":
            return self._refuse("invalid_offer", message=problem or "not an offer")
        if webrtc_id in rtc.pcs or webrtc_id in rtc.connections:
            return self._refuse("connection_already_exists")
        if not self.slots.admit(client, webrtc_id, rtc.pcs):
            # fastrtc's page script shows its "Too many concurrent connections. Please try again
            # later!" only for this error code (any other reads "Unexpected server error").
            return self._refuse(
                "concurrency_limit_reached", limit=self.slots.per_client, scope="client"
            )
        self._answering.add(webrtc_id)
        try:
            answer = await rtc.handle_offer(body, rtc.set_additional_outputs(webrtc_id))
        except asyncio.CancelledError:
            await self._free(webrtc_id, "cancelled")
            raise
        except Exception as exc:  # aiortc refused the SDP, or the handler could not be made
            log.info("webrtc offer failed (%s); slot freed", type(exc).__name__)
            await self._free(webrtc_id, "offer_error")
            return _failed("invalid_offer", message="the offer could not be used")
        finally:
            self._answering.discard(webrtc_id)
            # what came before it is this offer's, applied below or dropped with a failed offer
            early = self.early.take(webrtc_id, client, time.monotonic())
        if not isinstance(answer, dict):  # fastrtc's own refusal (e.g. concurrency limit)
            if webrtc_id not in rtc.pcs:
                self.slots.release(webrtc_id)
            return answer
        pc = rtc.pcs.get(webrtc_id)
        if pc is not None and early:
            applied = 0
            for candidate in early:
                reply = await rtc.handle_offer(candidate, rtc.set_additional_outputs(webrtc_id))
                applied += _succeeded(reply)
            log.info("webrtc early candidates applied %d of %d", applied, len(early))
        if pc is not None:
            task = asyncio.get_running_loop().create_task(
                self._watch(webrtc_id, pc), name="rtcguard-watch"
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return answer

    async def output_stream(self, original: Callable[[str], Any], webrtc_id: Any) -> Any:
        """fastrtc's panel stream (the generator behind `on_additional_outputs`), only for a
        connection that exists. fastrtc's `additional_outputs` is a defaultdict: a stream asked
        for an id with no connection (one already cleaned up, or never made) waits on a fresh
        queue that nothing will ever fill or quit, and the component's event
        (trigger_mode="once") then ignores every later trigger from that page: its panels would
        never update again. Such a stream ends at once."""
        rtc = self.rtc
        known = (getattr(rtc, name, {}) for name in ("pcs", "connections", "handlers"))
        if not isinstance(webrtc_id, str) or not any(webrtc_id in k for k in known):
            self.refused["output_stream"] = self.refused.get("output_stream", 0) + 1
            log.info("panel stream for no connection: ended at once")
            return
        log.info("panel stream opened")
        async for outputs in original(webrtc_id):
            yield outputs

    async def quit_output_stream(self, body: Any, request: Any) -> Any:
        """fastrtc's quit_output_stream, for the client that made the connection only (anyone
        naming a webrtc_id could otherwise stop another page's panel updates)."""
        webrtc_id = body.get("webrtc_id") if isinstance(body, dict) else None
        holder = self.slots.holders.get(webrtc_id) if isinstance(webrtc_id, str) else None
        if holder is not None and holder != client_key(
            request, trust_forwarded=self.trust_forwarded
        ):
            self.refused["quit_output_stream"] = self.refused.get("quit_output_stream", 0) + 1
            return {"success": False}
        if isinstance(webrtc_id, str) and webrtc_id in self.rtc.additional_outputs:
            self.rtc.additional_outputs[webrtc_id].quit.set()
        return {"success": True}

    async def _watch(self, webrtc_id: str, pc: Any) -> None:
        """Free the slot unless the peer connection is connected with media in time."""
        rtc = self.rtc
        connected = asyncio.Event()

        def on_state() -> None:
            if pc.connectionState == "connected":
                connected.set()

        pc.on("connectionstatechange", on_state)
        on_state()
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                await connected.wait()
            # aiortc fires "track" while applying the offer, so a connection with media has its
            # tracks (fastrtc's rtc.connections entry) by the time it is connected.
            if not rtc.connections.get(webrtc_id) and rtc.pcs.get(webrtc_id) is pc:
                await self._free(webrtc_id, "no_media")
        except TimeoutError:
            if rtc.pcs.get(webrtc_id) is pc:
                await self._free(webrtc_id, "not_connected")
        finally:
            with contextlib.suppress(Exception):
                pc.remove_listener("connectionstatechange", on_state)

    async def _free(self, webrtc_id: str, why: str) -> None:
        rtc = self.rtc
        pc = rtc.pcs.get(webrtc_id)
        self.slots.release(webrtc_id)
        self._owner_of.pop(webrtc_id, None)
        if pc is not None:
            with contextlib.suppress(Exception):
                await pc.close()
        rtc.clean_up(webrtc_id)
        rtc.pcs.pop(webrtc_id, None)
        self.freed += 1
        log.info("webrtc slot freed (%s)", why)

    # ---- stream inputs ---------------------------------------------------------------------
    def set_input(self, webrtc_id: str, *args: Any) -> Any:
        """fastrtc's set_input with the owner binding and the model allow-list applied."""
        assert self._orig_set_input is not None
        values = list(args)
        if len(values) >= N_INPUTS and isinstance(webrtc_id, str):
            owner, key, model = values[-N_INPUTS], values[-N_INPUTS + 1], values[-N_INPUTS + 3]
            for wid in [w for w in self._owner_of if w not in self.rtc.pcs]:
                del self._owner_of[wid]
            bound = self._owner_of.get(webrtc_id)
            if isinstance(owner, str) and owner:
                if bound is None and webrtc_id in self.rtc.pcs:
                    self._owner_of[webrtc_id] = owner
                elif bound is not None and bound != owner:
                    log.warning("stream inputs from another owner ignored")
                    return None
            instruction = values[-N_INPUTS + 4]
            if isinstance(instruction, str) and len(instruction) > MAX_INSTRUCTION_CHARS:
                values[-N_INPUTS + 4] = ""  # the server's own instruction; the page said why
            if self.server_model:
                choice = choose_model(
                    model if isinstance(model, str) else "",
                    own_key=bool(key),
                    allowed=self.allowed_models,
                    server_default=self.server_model,
                )
                values[-N_INPUTS + 3] = choice.model
        return self._orig_set_input(webrtc_id, *values)

    # ---- shutdown --------------------------------------------------------------------------
    async def aclose(self) -> None:
        """Cancel and await every watchdog (from the loop that runs them)."""
        tasks = list(self._tasks)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def close(self) -> None:
        """At exit, from any thread: cancel the watchdogs on their own loop."""
        for t in list(self._tasks):
            loop = t.get_loop()
            if loop.is_closed():
                continue
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(t.cancel)
