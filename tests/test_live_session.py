"""LiveSession through the real google-genai SDK over TLS against the local Live server."""

from __future__ import annotations

import pytest
from google.genai import types

from googlive.events import (
    AudioOut,
    GoAway,
    Role,
    SessionError,
    SessionState,
    StateChanged,
    ToolCall,
    TranscriptDelta,
    TurnComplete,
)
from googlive.fakelive import FakeLiveConfig, FakeLiveServer
from googlive.live import LiveConfig, LiveSession
from googlive.retry import Backoff
from tests.util import Collector, feed, silence16k, speech16k

MODEL = "gemini-3.8-live"
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


async def test_text_turn_gives_audio_transcript_and_usage(server):
    """A typed turn is answered with audio, a stitched model line, and turnComplete with usage."""
    session, col = await open_session(server)
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
        assert server.stats.last_setup["model"] == f"models/{MODEL}"
    finally:
        await col.close()


async def test_speech_turn_with_automatic_activity_detection(server):
    """Mic audio followed by silence ends a user turn; both lines appear, one per role."""
    session, col = await open_session(server)
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


async def test_reconnects_and_resumes_after_a_dropped_connection(server):
    """A TCP drop mid-reply shows 'reconnecting', resumes with the handle, and goes on."""
    session, col = await open_session(server)
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


async def test_go_away_resumes_before_the_deadline():
    """goAway makes the session move to a fresh connection at once, with its handle."""
    cfg = FakeLiveConfig(speed=20.0, connection_lifetime_s=1.5, go_away_lead_s=1.0)
    async with FakeLiveServer(api_key="k", config=cfg) as srv:
        session, col = await open_session(srv)
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


async def test_tool_call_round_trip_keeps_the_id(server):
    """A tool call arrives as an event; its response reaches the server with the same id."""
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
    session, col = await open_session(server, tools=(decl,))
    try:
        assert await session.wait_live(10)
        session.send_text("please draw a diagram")
        (call,) = await col.wait(lambda evs: [e for e in evs if isinstance(e, ToolCall)])
        assert call.name == "draw_diagram" and "code" in call.args
        session.send_tool_response(call.id, call.name, {"ok": True})
        await col.wait(turn_done(1))
        assert server.stats.tool_responses[-1]["id"] == call.id
    finally:
        await col.close()


async def test_setup_asks_for_what_a_long_conversation_needs(server):
    """Setup carries the voice, transcription both ways, resumption and context compression
    (without compression an audio+video session ends after 2 minutes)."""
    session, col = await open_session(server, voice="Kore", system_instruction="Be brief.")
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
    finally:
        await col.close()


async def test_video_and_images_reach_the_server_as_jpeg(server):
    """Webcam JPEGs go out as realtime video; only the newest pending frame is kept."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 10, 10)).save(buf, format="JPEG")
    jpeg = buf.getvalue()
    session, col = await open_session(server)
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
