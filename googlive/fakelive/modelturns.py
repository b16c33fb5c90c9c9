"""The model's side of one connection: replies, tool calls, tool results, interruptions.

``ModelTurns`` owns the reply task of its connection (one model turn at a time) and follows the
connection's :class:`~.profiles.Profile`:

- a user turn gets an answer turn: input transcript, maybe a tool call, speech, completion;
- a BLOCKING call makes the answer wait for the response (new user input cancels it:
  ``toolCallCancellation``); a NON_BLOCKING call is followed at once by a short filler
  (``turnpolicy.filler_text``) and the turn ends; the response, when it comes, is delivered as
  its ``scheduling`` says (``turnpolicy.deliver``): spoken in a "tool result" turn now, after
  an ``interrupted``, once both sides are quiet, merged into the answer to the user's next
  turn, or not at all (SILENT);
- user speech during a reply interrupts at once, or politely (``turnpolicy.PoliteWatch``).

What happened to each function response is recorded in ``FakeLiveStats.tool_results``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from typing import TYPE_CHECKING, Any

from googlive.tasks import reap

from . import output, script, turnpolicy, vision, voice
from . import protocol as p
from .config import ToolResult
from .conversation import PendingCall
from .output import Closed, ReplyState
from .profiles import REASON_NOT_IMPLEMENTED
from .turnpolicy import Delivery

if TYPE_CHECKING:
    from .connection import _Connection

log = logging.getLogger("googlive.fakelive")


class ModelTurns:
    """Replies and tool traffic of one connection (see the module docstring)."""

    def __init__(self, conn: _Connection) -> None:
        self.c = conn
        self.reply_task: asyncio.Task[None] | None = None
        self.state: ReplyState | None = None
        self.tool_waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.queued: list[tuple[ToolResult, str]] = []  # results to speak when both are quiet
        self.watch: turnpolicy.PoliteWatch | None = None
        self.polite_task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ state

    @property
    def replying(self) -> bool:
        """A reply is being generated or would still be playing (real time)."""
        state = self.state
        if state is None or state.finished_turn and time.monotonic() >= state.playing_until:
            return False
        return True

    @property
    def generating(self) -> bool:
        """The model's current turn has not completed yet (turnComplete not sent)."""
        return self.state is not None and not self.state.finished_turn

    async def shutdown(self) -> None:
        """Cancel and await the reply task; forget the waiters."""
        tasks = [t for t in (self.reply_task, self.polite_task) if t is not None]
        for task in tasks:
            task.cancel()
        cancelled = await reap(*tasks)
        for fut in self.tool_waiters.values():
            fut.cancel()
        self.tool_waiters.clear()
        if cancelled:  # a cancel meant for the closer itself
            raise asyncio.CancelledError

    # ------------------------------------------------------------------ user activity

    async def on_speech_start(self) -> None:
        """The user started to speak (VAD onset or activityStart)."""
        c = self.c
        if self.state is not None and self.state.pending_call_id is not None:
            await self.barge_in(by_user=True)  # new input during a BLOCKING call cancels it
        elif self.replying and c.profile.polite_interruption and not c.setup_manual:
            self.watch = turnpolicy.PoliteWatch(c.server.config.backchannel_max_s)
        else:
            await self.barge_in(by_user=True)

    def on_voiced(self, voiced_s: float) -> None:
        """Voiced time of the current utterance so far (after each audio chunk)."""
        watch = self.watch
        if watch is not None and watch.update(voiced_s):
            state = self.state
            delay = self.c.server.config.polite_interrupt_delay_s
            self.polite_task = self.c.spawn_timer(self._polite_interrupt(state, delay))

    async def _polite_interrupt(self, state: ReplyState | None, delay: float) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        if state is not None and self.state is state and self.replying:
            self.c.server.stats.polite_interruptions += 1
            await self.barge_in(by_user=True)

    async def on_speech_end(self, pcm: bytes, rate: int, voiced_s: float) -> None:
        """The user's utterance ended: a backchannel the model lets pass, or a user turn."""
        watch, self.watch = self.watch, None
        if watch is not None and watch.is_backchannel and self.replying:
            # Began while the model talked and stayed short: a backchannel (or a cough).
            stats = self.c.server.stats
            stats.backchannels += 1
            if self.c.setup is not None and self.c.setup.input_transcription:
                await self.c.send(
                    p.server_content_frame(
                        input_text=turnpolicy.backchannel_text(voiced_s), input_finished=True
                    )
                )
            self.c.server._bump()
            await self.flush_queue()
            return
        await self.user_turn("speech", pcm=pcm, rate=rate)

    # ------------------------------------------------------------------ turns

    async def user_turn(
        self, kind: str, *, text: str = "", pcm: bytes = b"", rate: int = 16000, images: int = 0
    ) -> None:
        """Start the answer to a complete user turn (it interrupts a reply in progress)."""
        c = self.c
        assert c.conv is not None
        if kind == "speech":
            c.server.stats.speech_turns += 1
        else:
            c.server.stats.text_turns += 1
        self.watch = None
        await self.barge_in(by_user=True)
        c.conv.turns += 1
        turn = script.UserTurn(
            kind="speech" if kind == "speech" else "text",
            number=c.conv.turns,
            text=text,
            pcm=pcm,
            rate=rate,
            images=images,
        )
        self._start(ReplyState(number=turn.number, kind="answer", turn=turn))

    def _start(self, state: ReplyState) -> None:
        self.state = state
        self.reply_task = asyncio.create_task(self._reply(state))

    async def barge_in(self, *, by_user: bool) -> None:
        """If a reply is generating or would still be playing, interrupt it."""
        state = self.state
        if state is None or not self.replying:
            return
        self.state = None
        pending_call_id = state.pending_call_id  # the reply task clears it when cancelled
        task, self.reply_task = self.reply_task, None
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()
            if await reap(task):  # a cancel meant for this task, not the reply's
                raise asyncio.CancelledError
        c, stats = self.c, self.c.server.stats
        if pending_call_id is not None:
            waiter = self.tool_waiters.pop(pending_call_id, None)
            if waiter is not None:
                waiter.cancel()
            if c.conv is not None:
                c.conv.pending_calls.pop(pending_call_id, None)
            await c.send(p.tool_call_cancellation_frame([pending_call_id]))
            stats.tool_cancellations_sent.append(pending_call_id)
        complete_first = by_user and c.server.config.turn_complete_before_interrupted
        if complete_first and not state.finished_turn:
            await output.finish_turn(self.c, state)
        await c.send(p.interrupted_frame())
        stats.interrupted_sent += 1
        log.info("conn %d: turn interrupted after %d chunks", c.info.id, state.chunks_sent)
        if not state.finished_turn:
            await output.finish_turn(self.c, state)
        c.server._bump()

    async def _reply(self, state: ReplyState) -> None:
        try:
            if state.kind == "answer":
                text = await self._answer(state)
            else:
                text = turnpolicy.result_text(state.number, await self._take_sentences(state))
            await output.speak(self.c, state, text)
        except Closed:
            return
        if self.queued and self.state is state:
            self.c.spawn_timer(self.flush_queue())

    async def _answer(self, state: ReplyState) -> str:
        """The transcript of an answer turn (after its input transcript and any tool call)."""
        c, srv, cfg = self.c, self.c.server, self.c.server.config
        assert c.setup is not None and c.conv is not None and state.turn is not None
        turn = state.turn
        if c.setup.input_transcription:
            frags = script.input_transcript(turn)
            for i, frag in enumerate(frags):
                await c.send(
                    p.server_content_frame(input_text=frag, input_finished=i == len(frags) - 1)
                )
        merged = await self._take_sentences(state)
        call = script.choose_tool_call(
            turn, {t.name: t.parameters for t in c.setup.tools}, srv._pop_queued_call()
        )
        if call is None:
            text = script.reply_text(turn)
            if "result" in turn.text.lower() and c.conv.silent_results:
                text += " Results I was given quietly: " + " ".join(c.conv.silent_results)
        else:
            name, args = call
            decl = c.setup.tool(name)
            blocking = c.profile.call_is_blocking(decl.behavior if decl else None)
            call_id = f"function-call-{next(srv._call_ids)}{secrets.randbelow(10**12):012d}"
            pending = PendingCall(call_id, name, blocking, c.info.id, c.conv.image_seq, turn.number)
            c.conv.add_pending(pending)
            waiter: asyncio.Future[dict[str, Any]] | None = None
            if blocking:
                waiter = asyncio.get_running_loop().create_future()
                self.tool_waiters[call_id] = waiter
                state.pending_call_id = call_id
            await c.send(p.tool_call_frame([(call_id, name, args)]))
            srv.stats.tool_calls_sent.append(
                {"id": call_id, "name": name, "args": args, "blocking": blocking}
            )
            srv._bump()
            n = cfg.close_1008_on_tool_call
            if n is not None and len(srv.stats.tool_calls_sent) >= n:
                cfg.close_1008_on_tool_call = None  # once
                srv.stats.closes_1008_injected += 1
                await c.close(p.CLOSE_POLICY, REASON_NOT_IMPLEMENTED)
                raise Closed
            if waiter is None:
                text = turnpolicy.filler_text(turn.number, name)
            else:
                text = await self._await_blocking(state, pending, waiter)
        if merged:
            text += " Meanwhile: " + " ".join(merged)
        return text

    async def _await_blocking(
        self, state: ReplyState, call: PendingCall, waiter: asyncio.Future[dict[str, Any]]
    ) -> str:
        c, cfg = self.c, self.c.server.config
        assert c.conv is not None and state.turn is not None
        response: dict[str, Any] | None
        try:
            async with asyncio.timeout(cfg.tool_response_timeout_s):
                response = await asyncio.shield(waiter)
        except TimeoutError:
            response = None
        finally:
            # Cancelled (a barge-in, which cancels the call itself, or the connection's end,
            # after which the call stays pending: a resumed connection will ignore its response).
            self.tool_waiters.pop(call.id, None)
            state.pending_call_id = None
        c.conv.pending_calls.pop(call.id, None)
        if response is not None:
            state.tool_tokens += voice.text_tokens(json.dumps(response, default=str))
        outcome = script.tool_outcome(call.name, response)
        seen = await self.seen_after(call, outcome.status)
        record = next((r for r in reversed(c.server.stats.tool_results) if r.id == call.id), None)
        if record is not None:
            record.turn = state.number
            state.results.append(record)
        return script.reply_text(state.turn, outcome, seen)

    async def seen_after(self, call: PendingCall, status: str) -> str | None:
        """For an ok take_picture: what the newest image that entered context after the call
        shows, or that no new image came (vision.py has the exact sentences)."""
        conv = self.c.conv
        if call.name != "take_picture" or status != "ok" or conv is None:
            return None
        image = conv.newest_image_after(call.image_seq)
        if image is None:
            return vision.NO_NEW_IMAGE
        if not image.read_done:
            image.sight = await asyncio.to_thread(vision.read, image.data, image.resolution)
            image.read_done = True
        return image.sight.sentence() if image.sight is not None else vision.UNREADABLE

    async def _take_sentences(self, state: ReplyState) -> list[str]:
        """Take the queued results into ``state``: the sentences to speak about them."""
        queued, self.queued = self.queued, []
        sentences = []
        for record, sentence in queued:
            record.turn = state.number
            state.results.append(record)
            sentences.append(sentence)
        return sentences

    # ------------------------------------------------------------------ tool responses

    async def on_tool_response(self, fr: p.FunctionResponse) -> None:
        """Route one FunctionResponse: to the waiting BLOCKING reply, or by its scheduling."""
        c, stats, cfg = self.c, self.c.server.stats, self.c.server.config
        assert c.conv is not None
        stats.tool_responses.append(fr.as_dict())
        for image in fr.images:
            c.server._keep_image(image.data)
            c.admit_image(image.data, "tool_response", image.media_resolution)
        call = c.conv.pending_calls.get(fr.id or "")
        record = ToolResult(fr.id, fr.name, fr.scheduling, None, "unknown")
        stats.tool_results.append(record)
        del stats.tool_results[:-256]
        if call is None:
            log.info("conn %d: tool response for an unknown or finished call ignored", c.info.id)
            return
        record.blocking = call.blocking
        if call.connection_id != c.info.id and not cfg.answer_stale_tool_responses:
            # pipecat PR 5497: "the reconnected session won't act on a FunctionResponse for a
            # call it didn't issue" (verified on 2.5-12-2025 and 3.1).
            c.conv.pending_calls.pop(call.id, None)
            record.delivery = "stale"
            log.info("conn %d: tool response for a call of an earlier connection", c.info.id)
            return
        waiter = self.tool_waiters.get(call.id)
        if call.blocking and waiter is not None and not waiter.done():
            record.delivery = "blocking"
            waiter.set_result(fr.response)
            return
        c.conv.pending_calls.pop(call.id, None)
        outcome = script.tool_outcome(call.name, fr.response)
        seen = await self.seen_after(call, outcome.status)
        sentence = turnpolicy.result_sentence(call.name, outcome.status, seen)
        delivery = turnpolicy.deliver(
            fr.scheduling,
            model_speaking=self.generating,
            user_speaking=c.user_speaking,
            interrupt_waits_for_user=c.profile.interrupt_waits_for_user,
        )
        # A tool response's content is prompt for the next model turn.
        c.conv.unbilled_tool_tokens += voice.text_tokens(json.dumps(fr.response, default=str))
        if delivery is Delivery.SILENT:
            record.delivery = "silent"
            c.conv.silent_results.append(sentence)
            c.server._bump()
            return
        self.queued.append((record, sentence))
        if delivery is Delivery.QUEUE:
            record.delivery = "queued"
            return
        record.delivery = delivery.value
        if delivery is Delivery.INTERRUPT:
            await self.barge_in(by_user=False)
        await self.flush_queue(over_the_user=True)

    async def flush_queue(self, *, over_the_user: bool = False) -> None:
        """Speak the queued results in a "tool result" turn once the model's turn is over and
        the user is silent (``over_the_user``: even while the user speaks)."""
        c = self.c
        if not self.queued or self.generating or c.conv is None:
            return
        if c.user_speaking and not over_the_user:
            return
        self._start(ReplyState(number=c.conv.turns, kind="result"))
