"""LiveSession through the real google-genai SDK over TLS against the local Live server."""

from __future__ import annotations

import pytest
from google.genai import types

from googlive.fakelive import FakeLiveConfig, FakeLiveServer
from googlive.live import models
from googlive.live.events import (
    AudioOut,
    GoAway,
    Interrupted,
    Role,
    SessionError,
    SessionState,
    StateChanged,
    ToolCall,
    TranscriptDelta,
    TurnComplete,
    UsageReport,
)
from googlive.live.retry import Backoff
from googlive.live.session import LiveConfig, LiveSession
from tests.util import Collector, feed, silence16k, speech16k

MODEL = "gemini-3.8-live"  # for tests that no family changes (keys, timeouts)
FAST = Backoff(base_s=0.05, cap_s=0.2, max_attempts=4, stable_s=30)


@pytest.fixture
async def server():
    async with FakeLiveServer(api_key="test-key", config=FakeLiveConfig(speed=20.0)) as srv:
        yield srv


async def open_session(srv: FakeLiveServer, **kw) -> tuple[LiveSession, Collector]:
    kw.setdefault("backoff", FAST)
    session = LiveSession(
        kw.pop("client", None) or srv.client(), LiveConfig(model=kw.pop("model", MODEL), **kw)
    )
    session.start()
    col = Collector(session)
    return session, col


def turn_done(n: int):
    return lambda evs: len([e for e in evs if isinstance(e, TurnComplete)]) >= n


async def test_text_turn_gives_audio_transcript_and_usage(server, live_model):
    """A typed turn is answered with audio, a stitched model line, and turnComplete with usage."""
    session, col = await open_session(server, model=live_model)
    try:
        assert await session.wait_live(10)
        session.send_text("Hello there")
        await col.wait(turn_done(1))
        audio = col.of(AudioOut)
        assert audio and all(a.rate == 24000 for a in audio)
        assert sum(len(a.pcm) for a in audio) / 48000 >= 1.0  # at least a second of speech
        finals = [e for e in col.of(TranscriptDelta) if e.role is Role.MODEL and e.final]
        assert len(finals) == 1 and "Hello there" in finals[0].line
        (tc,) = col.of(TurnComplete)
        assert tc.usage is not None and tc.usage.total_tokens > 0
        assert (
            session.stats.usage.total_tokens
            == server.stats.prompt_tokens_sent + server.stats.response_tokens_sent
        )
        assert server.stats.last_setup["model"] == f"models/{live_model}"
    finally:
        await col.close()


async def test_speech_turn_with_automatic_activity_detection(server, live_model):
    """Mic audio followed by silence ends a user turn; both lines appear, one per role."""
    session, col = await open_session(server, model=live_model)
    try:
        assert await session.wait_live(10)
        feed(session, speech16k(1.0) + silence16k(0.8))
        await col.wait(turn_done(1))
        roles = {e.role for e in col.of(TranscriptDelta) if e.final}
        assert roles == {Role.USER, Role.MODEL}
        assert server.stats.speech_turns == 1
        assert session.stats.audio_sent_bytes == len(speech16k(1.0) + silence16k(0.8))
    finally:
        await col.close()


async def test_reconnects_and_resumes_after_a_dropped_connection(server, live_model):
    """A TCP drop mid-reply shows 'reconnecting', resumes with the handle, and goes on."""
    session, col = await open_session(server, model=live_model)
    try:
        assert await session.wait_live(10)
        session.send_text("first")
        await col.wait(turn_done(1))
        assert session.handle
        server.config.drop_after_reply_chunks = 2
        session.send_text("second, a long story")
        await col.wait(
            lambda evs: any(
                isinstance(e, StateChanged) and e.state is SessionState.RECONNECTING for e in evs
            )
        )
        await col.wait(
            lambda evs: (
                [e.state for e in evs if isinstance(e, StateChanged)][-1] is SessionState.LIVE
            )
        )
        assert server.stats.resumes == 1
        # Audio sent while the connection was being replaced is delivered after the resume.
        before = server.stats.audio_bytes_received
        feed(session, silence16k(0.2))
        session.send_text("third")
        n = len(col.of(TurnComplete))
        await col.wait(turn_done(n + 1), timeout=15)
        assert server.stats.audio_bytes_received - before == len(silence16k(0.2))
        line = [e for e in col.of(TranscriptDelta) if e.role is Role.MODEL and e.final][-1].line
        assert "third" in line
        errs = col.of(SessionError)
        assert errs and all(e.recoverable for e in errs)
    finally:
        await col.close()


async def test_go_away_resumes_before_the_deadline(live_model):
    """goAway makes the session move to a fresh connection at once, with its handle."""
    cfg = FakeLiveConfig(speed=20.0, connection_lifetime_s=1.5, go_away_lead_s=1.0)
    async with FakeLiveServer(api_key="k", config=cfg) as srv:
        session, col = await open_session(srv, model=live_model)
        try:
            assert await session.wait_live(10)
            session.send_text("hi")
            await col.wait(turn_done(1))
            await col.wait(lambda evs: col.of(GoAway), timeout=5)
            await col.wait(lambda evs: session.stats.connects >= 2, timeout=5)
            assert srv.stats.resumes >= 1
            assert not col.of(SessionError)  # planned, not a failure
            session.send_text("still there?")
            await col.wait(turn_done(2), timeout=10)
        finally:
            await col.close()


@pytest.mark.parametrize(
    ("key", "model", "needle"),
    [("wrong-key", MODEL, "API key"), ("test-key", "gemini-nope", "'gemini-nope' was not found")],
)
async def test_fatal_errors_end_the_session_without_retrying(server, key, model, needle):
    """A bad key (1007) or an unknown model (1008) is reported at once, with one attempt."""
    session, col = await open_session(server, client=server.client(api_key=key), model=model)
    try:
        (err,) = await col.wait(lambda evs: [e for e in evs if isinstance(e, SessionError)])
        assert not err.recoverable and needle in err.message
        await col.wait(lambda evs: session.state is SessionState.CLOSED)
        assert server.stats.connections_opened == 1
        assert err.code in (1007, 1008)
    finally:
        await col.close()


async def test_setup_that_never_completes_times_out_and_recovers(server):
    """A server that never answers setup is given up on per attempt, and retried."""
    server.config.never_answer_setup = True
    session, col = await open_session(server, setup_timeout_s=0.5)
    try:
        await col.wait(
            lambda evs: any(
                isinstance(e, StateChanged)
                and e.state is SessionState.RECONNECTING
                and e.attempt >= 1
                for e in evs
            )
        )
        server.config.never_answer_setup = False
        assert await session.wait_live(10)
        assert server.stats.connections_opened >= 2
    finally:
        await col.close()


async def test_tool_call_round_trip_keeps_the_id(server, live_model):
    """A tool call arrives as an event; its response reaches the server with the same id and
    the model speaks about it: after a filler and in a turn of its own where calls do not
    block (3.8), in the answer the model waited with where they do (3.1, 2.5)."""
    decl = types.Tool(
        function_declarations=[
            types.FunctionDeclaration(
                name="draw_diagram",
                description="Draw a Mermaid diagram",
                parameters=types.Schema(
                    type="OBJECT",
                    properties={"code": types.Schema(type="STRING")},
                    required=["code"],
                ),
            )
        ]
    )
    session, col = await open_session(server, tools=(decl,), model=live_model)
    try:
        assert await session.wait_live(10)
        session.send_text("please draw a diagram")
        (call,) = await col.wait(lambda evs: [e for e in evs if isinstance(e, ToolCall)])
        assert call.name == "draw_diagram" and "code" in call.args
        non_blocking = models.family_of(live_model).non_blocking_tools
        if non_blocking:  # the model goes on (a filler) and completes without the answer
            await col.wait(turn_done(1))
        session.send_tool_response(call.id, call.name, {"ok": True})
        await col.wait(turn_done(2 if non_blocking else 1))
        assert server.stats.tool_responses[-1]["id"] == call.id
        (result,) = server.stats.tool_results
        assert result.blocking is (not non_blocking) and result.spoken
        lines = [e.line for e in col.of(TranscriptDelta) if e.role is Role.MODEL and e.final]
        assert "draw_diagram tool answered ok" in lines[-1].lower(), lines
        assert ("(tool result)" in lines[-1]) is non_blocking
    finally:
        await col.close()


async def test_setup_asks_for_what_a_long_conversation_needs(server, live_model):
    """Setup carries the voice, transcription both ways, resumption and context compression
    (without compression an audio+video session ends after 2 minutes), and the family's
    media resolution and turn coverage, set on purpose (googlive.live.models)."""
    session, col = await open_session(
        server, voice="Kore", system_instruction="Be brief.", model=live_model
    )
    try:
        assert await session.wait_live(10)
        setup = server.stats.last_setup
        flat = str(setup)
        assert "Kore" in flat and "Be brief." in flat
        keys = {k.lower().replace("_", "") for k in setup}
        assert {
            "inputaudiotranscription",
            "outputaudiotranscription",
            "sessionresumption",
            "contextwindowcompression",
        } <= keys
        choices = models.choices_for(live_model)
        assert setup["generationConfig"]["mediaResolution"] == choices.media_resolution.value
        rt = setup["realtimeInputConfig"]  # the SDK sends nested keys in snake_case
        assert rt.get("turnCoverage", rt.get("turn_coverage")) == choices.turn_coverage.value
        conn = server.stats.connections[-1]
        assert (
            conn.turn_coverage == choices.turn_coverage.value and server.stats.setups_refused == 0
        )
    finally:
        await col.close()


async def test_setup_carries_only_what_the_family_accepts(server, live_model):
    """A tool declared NON_BLOCKING keeps its behavior only for the family that honours it
    (3.8); no family is sent proactivity, affective dialog or a thinking config it refuses, so
    the setup is accepted and the call runs as the family runs calls."""
    decl = types.Tool(
        function_declarations=[
            types.FunctionDeclaration(
                name="lookup", description="Look something up", behavior=types.Behavior.NON_BLOCKING
            )
        ]
    )
    session, col = await open_session(server, tools=(decl,), model=live_model)
    try:
        assert await session.wait_live(10)
        setup = server.stats.last_setup
        (sent,) = setup["tools"][0]["functionDeclarations"]
        fam = models.family_of(live_model)
        assert sent.get("behavior") == ("NON_BLOCKING" if fam.behavior_field else None)
        flat = str(setup).lower()
        assert "proactiv" not in flat and "affective" not in flat and "thinking" not in flat
        assert server.stats.setups_refused == 0
        server.queue_tool_call("lookup", {})
        session.send_text("hi")
        await col.wait(lambda evs: col.of(ToolCall))
        assert server.stats.tool_calls_sent[-1]["blocking"] is (not fam.non_blocking_tools)
    finally:
        await col.close()


async def test_video_and_images_reach_the_server_as_jpeg(server, live_model):
    """Webcam JPEGs go out as realtime video; only the newest pending frame is kept."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 10, 10)).save(buf, format="JPEG")
    jpeg = buf.getvalue()
    session, col = await open_session(server, model=live_model)
    try:
        for _ in range(3):  # queued before the connection is live: two are superseded
            session.send_video(jpeg)
        assert await session.wait_live(10)
        await server.wait_until(lambda: server.stats.video_frames_received >= 1)
        assert server.stats.last_jpeg == jpeg
        assert session.stats.video_dropped == 2
        assert server.stats.video_frames_received == 1
    finally:
        await col.close()


async def test_a_mic_pause_sends_audio_stream_end_once_and_survives_a_reconnect(server, live_model):
    """The mic stops mid-utterance: after the pause, one audioStreamEnd lets the server's
    activity detection end the turn (it would wait for more audio otherwise). Audio coming
    back reopens the stream; a reconnect starts a new stream with nothing to end until audio
    was written on it, and the next pause ends that one, once."""
    session, col = await open_session(server, model=live_model, audio_stream_end_after_s=0.4)
    try:
        assert await session.wait_live(10)
        await col.wait(lambda evs: session.handle, 5)
        feed(session, speech16k(0.8))  # then nothing: the track was muted
        await col.wait(turn_done(1), timeout=10)
        assert session.stats.audio_stream_ends == 1 and server.stats.speech_turns == 1
        feed(session, speech16k(0.8))
        await col.wait(turn_done(2), timeout=10)
        assert session.stats.audio_stream_ends == 2
        # A drop while nothing is streaming: the new connection has no stream to end.
        server.drop_connections()
        await col.wait(
            lambda evs: session.stats.connects >= 2 and session.state is SessionState.LIVE, 10
        )
        assert session.stats.audio_stream_ends == 2
        feed(session, speech16k(0.8))
        await col.wait(turn_done(3), timeout=10)
        assert session.stats.audio_stream_ends == 3 and server.stats.speech_turns == 3
    finally:
        await col.close()


async def test_a_1008_mid_tool_call_resumes_and_loses_nothing(server, live_model):
    """The service closes with 1008 "Operation is not implemented, or supported, or enabled"
    right after a tool call: the session resumes with its handle, the tool's answer reaches
    the model on the new connection (as conversation: a resumed session does not act on a
    response to a call it did not issue), the model speaks about it, and the talk goes on."""
    decl = types.Tool(
        function_declarations=[types.FunctionDeclaration(name="lookup", description="Look it up")]
    )
    session, col = await open_session(server, tools=(decl,), model=live_model)
    try:
        assert await session.wait_live(10)
        await col.wait(lambda evs: session.handle, 5)
        server.config.close_1008_on_tool_call = 1
        server.queue_tool_call("lookup", {"q": "zebra"})
        session.send_text("hello")
        (call,) = await col.wait(lambda evs: col.of(ToolCall))
        (err,) = await col.wait(lambda evs: col.of(SessionError))
        assert err.recoverable and err.code == 1008
        session.send_tool_response(call.id, call.name, {"found": "ZEBRA-42"})
        await col.wait(
            lambda evs: session.stats.connects >= 2 and session.state is SessionState.LIVE, 10
        )
        assert server.stats.closes_1008_injected == 1 and server.stats.resumes == 1
        line = await col.wait(
            lambda evs: [
                e.line
                for e in col.of(TranscriptDelta)
                if e.role is Role.MODEL and e.final and "ZEBRA-42" in e.line
            ],
            10,
        )
        assert len(line) == 1 and session.stats.tool_results_as_text == 1
        assert server.stats.client_content_refused == 0  # 3.1 got realtime text, not client content
        n = len(col.of(TurnComplete))
        session.send_text("still there?")
        await col.wait(turn_done(n + 1), timeout=10)
        finals = [e.line for e in col.of(TranscriptDelta) if e.role is Role.MODEL and e.final]
        assert "still there?" in finals[-1]
        assert all(e.recoverable for e in col.of(SessionError))
    finally:
        await col.close()


async def test_usage_from_every_message_counts_thoughts_and_tool_use(server, live_model):
    """Usage sent in a message of its own with an empty serverContent, after turnComplete, and
    reporting thought and tool-use prompt tokens: all of it is counted, each part on the turn
    it belongs to (a UsageReport for the turn that just completed)."""
    server.config.usage_on_empty_server_content = True
    server.config.usage_detail_counts = True
    decl = types.Tool(
        function_declarations=[types.FunctionDeclaration(name="lookup", description="Look it up")]
    )
    session, col = await open_session(server, tools=(decl,), model=live_model)
    try:
        assert await session.wait_live(10)
        server.queue_tool_call("lookup", {})
        session.send_text("first")
        (call,) = await col.wait(lambda evs: col.of(ToolCall))
        session.send_tool_response(call.id, call.name, {"found": "it"})
        await col.wait(
            lambda evs: (
                len(col.of(UsageReport))
                >= server.stats.turns_completed
                >= (2 if models.family_of(live_model).non_blocking_tools else 1)
            ),
            10,
        )
        session.send_text("second")
        n = server.stats.turns_completed + 1
        await col.wait(lambda evs: len(col.of(UsageReport)) >= n, 10)
        st, u = server.stats, session.stats.usage
        assert (u.prompt_tokens, u.response_tokens) == (
            st.prompt_tokens_sent,
            st.response_tokens_sent,
        )
        assert u.thoughts_tokens == st.thoughts_tokens_sent > 0
        assert u.tool_use_prompt_tokens == st.tool_use_prompt_tokens_sent > 0
        assert (
            u.total_tokens
            == u.prompt_tokens + u.response_tokens + u.thoughts_tokens + u.tool_use_prompt_tokens
        )
        assert all(tc.usage is None for tc in col.of(TurnComplete))
        assert [r.turn for r in col.of(UsageReport)] == [tc.turn for tc in col.of(TurnComplete)]
    finally:
        await col.close()


async def test_turn_complete_then_interrupted_names_the_turn_that_was_playing(server, live_model):
    """The service completes a turn and then says it was interrupted (the client was still
    playing it): Interrupted carries that turn, and the next reply is a turn of its own."""
    server.config.turn_complete_before_interrupted = True
    session, col = await open_session(server, model=live_model)
    try:
        assert await session.wait_live(10)
        session.send_text("tell me a long story")
        await col.wait(lambda evs: len(col.of(AudioOut)) >= 3, 10)
        story = col.of(AudioOut)[0].turn
        feed(session, speech16k(1.2) + silence16k(0.8))  # a real interruption on every family
        (intr,) = await col.wait(lambda evs: col.of(Interrupted), 10)
        assert intr.turn == story
        tcs = col.of(TurnComplete)
        assert [tc.turn for tc in tcs] == [story]  # completed once, before the interruption
        assert col.events.index(tcs[0]) < col.events.index(intr)
        await col.wait(turn_done(2), timeout=10)
        assert col.of(TurnComplete)[1].turn == story + 1
        assert col.of(Interrupted) == [intr]
    finally:
        await col.close()


class _Socket:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, message: str) -> None:
        self.sent.append(message)


class _Api:
    def __init__(self, vertexai: bool) -> None:
        self.vertexai = vertexai


async def test_direct_audio_write_is_what_the_sdk_sends_and_only_for_the_gemini_api():
    import os

    from google.genai.live import AsyncSession

    from googlive.live.session import _direct_socket, realtime_audio_message

    for size in (0, 1, 2, 3, 1280, 4097):
        pcm = os.urandom(size)
        ws = _Socket()
        sdk = AsyncSession(api_client=_Api(vertexai=False), websocket=ws)  # type: ignore[arg-type]
        await sdk.send_realtime_input(audio=types.Blob(data=pcm, mime_type="audio/pcm;rate=16000"))
        assert ws.sent == [realtime_audio_message(pcm)]
        assert _direct_socket(sdk) is ws
    vertex = AsyncSession(api_client=_Api(vertexai=True), websocket=_Socket())  # type: ignore[arg-type]
    assert _direct_socket(vertex) is None  # Vertex has its own converters: the SDK's path
    assert _direct_socket(object()) is None
