"""The fake Live server driven through the real google-genai SDK over TLS."""

from __future__ import annotations

import asyncio
import json

import pydantic
import pytest
import websockets
from google import genai
from google.genai import errors, types

from googlive.fakelive import FakeLiveConfig, FakeLiveServer

from .helpers import (
    DIAGRAM_TOOLS,
    JPEG,
    MODEL,
    MODEL_25,
    MODEL_31,
    T,
    collect,
    live_config,
    say,
    send_audio,
    silence,
    tone,
)


async def test_setup_complete(srv: FakeLiveServer) -> None:
    """connect() gets setupComplete; the server records the setup it received."""
    async with srv.client().aio.live.connect(model=MODEL, config=live_config()) as session:
        assert session.setup_complete is not None
    assert srv.stats.setups == 1 and srv.stats.last_setup["model"] == f"models/{MODEL}"
    assert srv.stats.connections[0].setup_done


async def test_speech_turn_with_automatic_vad(srv: FakeLiveServer) -> None:
    """A spoken turn gets transcripts, chime + playback audio, generationComplete, usage."""
    async with srv.client().aio.live.connect(model=MODEL, config=live_config()) as session:
        await say(session, 1.0)
        turn = await collect(session)
    assert turn.input_text.startswith("[offline demo heard") and turn.input_finished
    assert turn.output_text.startswith(
        "Offline demo, turn 1: I can't understand speech without Gemini"
    )
    assert 1.3 < turn.audio_s < 2.5 and turn.audio_msgs > 10
    assert turn.order[-2:] == ["generation_complete", "turn_complete"]
    assert (
        turn.usage.total_token_count
        == srv.stats.prompt_tokens_sent + srv.stats.response_tokens_sent
        > 0
    )
    assert srv.stats.speech_turns == 1 and srv.stats.audio_bytes_received == len(
        tone(1.0) + silence(0.7)
    )


async def test_manual_activity_turn(srv: FakeLiveServer) -> None:
    """With automatic detection disabled, activityStart/End delimit the user turn."""
    cfg = live_config(realtime_input_config={"automatic_activity_detection": {"disabled": True}})
    async with srv.client().aio.live.connect(model=MODEL, config=cfg) as session:
        await session.send_realtime_input(activity_start=types.ActivityStart())
        await send_audio(session, tone(0.8))
        await session.send_realtime_input(activity_end=types.ActivityEnd())
        turn = await collect(session)
    assert "0.8 s of speech" in turn.input_text and turn.turn_complete and turn.audio_s > 0.8
    assert (srv.stats.activity_starts, srv.stats.activity_ends) == (1, 1)


async def test_activity_start_with_automatic_vad_is_refused(srv: FakeLiveServer) -> None:
    """Explicit activity signals while automatic detection is on close the session with 1007."""
    async with srv.client().aio.live.connect(model=MODEL, config=live_config()) as session:
        await session.send_realtime_input(activity_start=types.ActivityStart())
        with pytest.raises(errors.APIError) as err:
            await collect(session)
    assert err.value.code == 1007


async def test_realtime_text_turn(srv: FakeLiveServer) -> None:
    """realtime_input.text is answered honestly, with no input transcript (audio only gets one)."""
    async with srv.client().aio.live.connect(model=MODEL, config=live_config()) as session:
        await session.send_realtime_input(text="hello there")
        turn = await collect(session)
    assert turn.input_text == ""
    assert turn.output_text == "Offline demo, turn 1: you said: hello there"
    assert turn.audio_s >= 1.5 and srv.stats.texts_received == ["hello there"]


async def test_client_content_turn_with_image(srv: FakeLiveServer) -> None:
    """client_content text + inline JPEG is answered; the image is kept."""
    async with srv.client().aio.live.connect(model=MODEL, config=live_config()) as session:
        await session.send_client_content(
            turns=types.Content(
                role="user",
                parts=[
                    types.Part(text="what is this"),
                    types.Part.from_bytes(data=JPEG, mime_type="image/jpeg"),
                ],
            ),
            turn_complete=True,
        )
        turn = await collect(session)
    assert "you said: what is this" in turn.output_text and "1 image(s)" in turn.output_text
    assert srv.stats.images == [JPEG]
    assert turn.usage.prompt_token_count >= 258


async def test_barge_in_stops_the_reply(srv: FakeLiveServer) -> None:
    """Loud audio during a long reply: interrupted, and no more audio of that turn. (3.1 interrupts at once)"""
    srv.config.speed = 3.0

    async def barge(msg: types.LiveServerMessage, turn) -> None:
        if turn.audio_msgs == 3:
            await send_audio(session, tone(0.3))

    async with srv.client().aio.live.connect(model=MODEL_31, config=live_config()) as session:
        await session.send_realtime_input(text="tell me a long story")
        turn = await collect(session, on_message=barge)
    assert turn.interrupted and turn.audio_after_interrupted == 0
    assert turn.audio_s < 4.0 and turn.order[-2:] == ["interrupted", "turn_complete"]
    assert "generation_complete" not in turn.order and srv.stats.interrupted_sent == 1


async def test_barge_in_while_reply_still_playing(srv: FakeLiveServer) -> None:
    """All audio already sent (unpaced) but still 'playing' at real time: speech interrupts. (3.1)"""
    srv.config.speed = 0
    async with srv.client().aio.live.connect(model=MODEL_31, config=live_config()) as session:
        await session.send_realtime_input(text="explain the tides")
        first = await collect(session)
        assert first.generation_complete and first.audio_s >= 8.0
        await send_audio(session, tone(0.3))
        async with asyncio.timeout(5 * T):
            msg = await anext(aiter(session.receive()))
    assert msg.server_content.interrupted and srv.stats.interrupted_sent == 1


async def test_diagram_tool_call_round_trip(srv: FakeLiveServer) -> None:
    """draw_diagram: the call carries Mermaid; our response (same id) resumes the reply. (3.1: blocking)"""

    async def answer(msg: types.LiveServerMessage, turn) -> None:
        if msg.tool_call:
            fc = msg.tool_call.function_calls[0]
            await session.send_tool_response(
                function_responses=types.FunctionResponse(
                    id=fc.id, name=fc.name, response={"result": "ok"}
                )
            )

    async with srv.client().aio.live.connect(
        model=MODEL_31, config=live_config(tools=DIAGRAM_TOOLS)
    ) as session:
        await session.send_realtime_input(text="draw a diagram of the water cycle")
        turn = await collect(session, on_message=answer)
    (call,) = turn.tool_calls
    assert (
        call.name == "draw_diagram"
        and call.args["code"].startswith("flowchart TD")
        and call.args["title"]
    )
    assert srv.stats.tool_responses == [
        {"id": call.id, "name": "draw_diagram", "response": {"result": "ok"}}
    ]
    assert "the draw_diagram tool answered ok" in turn.output_text
    assert turn.order.index("tool_call") < turn.order.index("audio")


async def test_take_picture_image_reaches_server(srv: FakeLiveServer) -> None:
    """take_picture is called for 'look'; a JPEG sent as video then the response is kept. (2.5: blocking)"""

    async def answer(msg: types.LiveServerMessage, turn) -> None:
        if msg.tool_call:
            fc = msg.tool_call.function_calls[0]
            # google-genai 2.8 cannot JSON-encode FunctionResponse.parts bytes, so the picture
            # travels as a video frame and as client content, then the response says so.
            await session.send_realtime_input(video=types.Blob(data=JPEG, mime_type="image/jpeg"))
            await session.send_client_content(
                turns=types.Content(
                    role="user", parts=[types.Part.from_bytes(data=JPEG, mime_type="image/jpeg")]
                ),
                turn_complete=False,
            )
            await session.send_tool_response(
                function_responses=types.FunctionResponse(
                    id=fc.id, name=fc.name, response={"status": "captured"}
                )
            )

    async with srv.client().aio.live.connect(
        model=MODEL_25, config=live_config(tools=DIAGRAM_TOOLS)
    ) as session:
        await session.send_realtime_input(text="have a look at this")
        turn = await collect(session, on_message=answer)
    assert turn.tool_calls[0].name == "take_picture" and turn.tool_calls[0].args["reason"]
    assert (
        srv.stats.last_jpeg == JPEG
        and srv.stats.video_frames_received == 1
        and srv.stats.images == [JPEG]
    )
    assert "take_picture tool answered ok" in turn.output_text


async def test_queued_tool_call_on_speech_turn(srv: FakeLiveServer) -> None:
    """queue_tool_call makes the next (spoken) turn call that tool; unknown ids are recorded. (3.1: blocking)"""
    srv.queue_tool_call("record_answer", {"question_id": "q1", "answer": "three"})

    async def answer(msg: types.LiveServerMessage, turn) -> None:
        if msg.tool_call:
            fc = msg.tool_call.function_calls[0]
            await session.send_tool_response(
                function_responses=types.FunctionResponse(id="nope", name="x", response={})
            )
            await session.send_tool_response(
                function_responses=types.FunctionResponse(
                    id=fc.id, name=fc.name, response={"error": "no survey"}
                )
            )

    async with srv.client().aio.live.connect(model=MODEL_31, config=live_config()) as session:
        await say(session, 0.5)
        turn = await collect(session, on_message=answer)
    assert turn.tool_calls[0].name == "record_answer" and turn.tool_calls[0].args == {
        "question_id": "q1",
        "answer": "three",
    }
    assert [r["id"] for r in srv.stats.tool_responses] == ["nope", turn.tool_calls[0].id]
    assert "record_answer tool reported an error" in turn.output_text


async def test_barge_in_during_pending_tool_call_cancels_it(srv: FakeLiveServer) -> None:
    """Speech while a call is pending: toolCallCancellation with its id, then interrupted. (3.1: blocking)"""

    async def barge(msg: types.LiveServerMessage, turn) -> None:
        if msg.tool_call:
            await send_audio(session, tone(0.3))

    async with srv.client().aio.live.connect(
        model=MODEL_31, config=live_config(tools=DIAGRAM_TOOLS)
    ) as session:
        await session.send_realtime_input(text="a diagram please")
        turn = await collect(session, on_message=barge)
    assert turn.cancellations == [turn.tool_calls[0].id] == srv.stats.tool_cancellations_sent
    assert (
        turn.order[-3:] == ["cancellation", "interrupted", "turn_complete"] and turn.audio_msgs == 0
    )


async def test_video_frames_counted_and_non_jpeg_rejected(srv: FakeLiveServer) -> None:
    """JPEG frames are counted; a PNG closes the session with 1007 'Invalid image'."""
    async with srv.client().aio.live.connect(model=MODEL, config=live_config()) as session:
        for _ in range(3):
            await session.send_realtime_input(video=types.Blob(data=JPEG, mime_type="image/jpeg"))
        await srv.wait_until(lambda: srv.stats.video_frames_received == 3)
        await session.send_realtime_input(
            video=types.Blob(data=b"\x89PNG\r\n\x1a\n" + bytes(16), mime_type="image/png")
        )
        with pytest.raises(errors.APIError) as err:
            await collect(session)
    assert err.value.code == 1007 and "Invalid image" in str(err.value.details)
    assert srv.stats.non_jpeg_rejects == 1 and srv.stats.last_jpeg == JPEG


async def test_resumption_carries_context(srv: FakeLiveServer) -> None:
    """A handle from turn 1 resumes the conversation: the next reply is turn 2."""
    client = srv.client()
    async with client.aio.live.connect(
        model=MODEL, config=live_config(session_resumption={})
    ) as session:
        await session.send_realtime_input(text="first")
        turn = await collect(session)
    assert turn.handles
    cfg = live_config(session_resumption={"handle": turn.handles[-1]})
    async with client.aio.live.connect(model=MODEL, config=cfg) as session:
        await session.send_realtime_input(text="second")
        turn2 = await collect(session)
    assert turn2.output_text.startswith("Offline demo, turn 2: you said: second")
    assert srv.stats.resumes == 1 and srv.stats.connections[1].resumed


async def test_resumption_errors(srv: FakeLiveServer) -> None:
    """Unknown handle: 1008. Resuming while the old socket is open: the new one gets 1011."""
    client = srv.client()
    with pytest.raises(errors.APIError) as err:
        async with client.aio.live.connect(
            model=MODEL, config=live_config(session_resumption={"handle": "bogus"})
        ):
            pass
    assert err.value.code == 1008 and "session not found" in str(err.value.details)
    async with client.aio.live.connect(
        model=MODEL, config=live_config(session_resumption={})
    ) as old:
        await old.send_realtime_input(text="hi")
        turn = await collect(old)
        with pytest.raises(errors.APIError) as err2:
            async with client.aio.live.connect(
                model=MODEL, config=live_config(session_resumption={"handle": turn.handles[-1]})
            ):
                pass
        assert err2.value.code == 1011
        await old.send_realtime_input(text="still here")
        assert (await collect(old)).turn_complete


async def test_go_away_then_deadline_close() -> None:
    """goAway with the time left, then close 1011 at the deadline; send_go_away works too."""
    cfg = FakeLiveConfig(speed=20, connection_lifetime_s=0.6, go_away_lead_s=0.3)
    async with FakeLiveServer(api_key="k", config=cfg) as server:
        async with server.client().aio.live.connect(model=MODEL) as session:
            with pytest.raises(errors.APIError) as err:
                await collect(session, on_message=None)
        assert err.value.code == 1011 and server.stats.go_aways_sent == 1
        server.config.connection_lifetime_s = 600
        async with server.client().aio.live.connect(model=MODEL) as session:
            server.send_go_away(0.2)
            got: list[types.LiveServerGoAway] = []

            async def note(msg: types.LiveServerMessage, turn) -> None:
                if msg.go_away:
                    got.append(msg.go_away)

            with pytest.raises(errors.APIError) as err:
                await collect(session, on_message=note)
        assert err.value.code == 1011 and got and got[0].time_left == "0.200s"


async def test_drop_connections_is_1006(srv: FakeLiveServer) -> None:
    """drop_connections aborts TCP: the SDK reports 1006."""
    async with srv.client().aio.live.connect(model=MODEL) as session:
        await srv.wait_until(lambda: srv.stats.connections[0].setup_done)
        srv.drop_connections()
        with pytest.raises(errors.APIError) as err:
            await collect(session)
    assert err.value.code == 1006


async def test_drop_after_reply_chunks_once(srv: FakeLiveServer) -> None:
    """drop_after_reply_chunks=N drops mid-reply once, then resets."""
    srv.config.drop_after_reply_chunks = 2
    async with srv.client().aio.live.connect(model=MODEL) as session:
        await session.send_realtime_input(text="hi")
        with pytest.raises(errors.APIError) as err:
            await collect(session)
    assert err.value.code == 1006 and srv.config.drop_after_reply_chunks is None
    assert srv.stats.reply_chunks_sent == 2


async def test_close_connections_code_and_reason(srv: FakeLiveServer) -> None:
    """close_connections(code, reason) reaches the SDK exactly."""
    async with srv.client().aio.live.connect(model=MODEL) as session:
        srv.close_connections(1011, "Internal error encountered.")
        with pytest.raises(errors.APIError) as err:
            await collect(session)
    assert err.value.code == 1011 and err.value.details == "Internal error encountered."


async def test_auth_and_model_errors(srv: FakeLiveServer) -> None:
    """Bad key 1007, missing key 1008 (raw client), unknown model 1008 with the real message."""
    with pytest.raises(errors.APIError) as err:
        async with srv.client(api_key="wrong").aio.live.connect(model=MODEL):
            pass
    assert (
        err.value.code == 1007
        and err.value.details == "API key not valid. Please pass a valid API key."
    )
    with pytest.raises(errors.APIError) as err:
        async with srv.client().aio.live.connect(model="gemini-nope"):
            pass
    assert err.value.code == 1008 and str(err.value.details).startswith(
        "models/gemini-nope is not found for API version v1beta, or is not supported for bidiGenerateContent."
    )
    import ssl

    url = (
        srv.url.replace("https", "wss")
        + "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
    )
    async with websockets.connect(url, ssl=ssl.create_default_context(cafile=srv.ca_cert)) as ws:
        await ws.send(json.dumps({"setup": {"model": f"models/{MODEL}"}}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd.code == 1008 and "unregistered callers" in closed.value.rcvd.reason


async def test_unknown_and_garbage_frames(srv: FakeLiveServer) -> None:
    """send_unknown_frame and send_garbage produce what a newer/broken server would."""
    srv.config.send_unknown_frame = True
    async with srv.client().aio.live.connect(model=MODEL) as session:
        with pytest.raises(TypeError):
            await collect(session)
    srv.config.send_unknown_frame = False
    srv.config.send_garbage = True
    async with srv.client().aio.live.connect(model=MODEL) as session:
        with pytest.raises(ValueError):
            await collect(session)


async def test_never_answer_setup_and_reply_delay(srv: FakeLiveServer) -> None:
    """never_answer_setup hangs connect(); reply_delay_s delays the first audio."""
    srv.config.never_answer_setup = True
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.5 * T):
            async with srv.client().aio.live.connect(model=MODEL):
                pass
    srv.config.never_answer_setup = False
    srv.config.reply_delay_s = 0.4
    loop = asyncio.get_running_loop()
    first_audio: list[float] = []

    async def stamp(msg: types.LiveServerMessage, turn) -> None:
        if msg.data and not first_audio:
            first_audio.append(loop.time())

    async with srv.client().aio.live.connect(model=MODEL) as session:
        start = loop.time()
        await session.send_realtime_input(text="hi")
        await collect(session, on_message=stamp)
    assert first_audio[0] - start >= 0.4


async def test_usage_sums_over_turns(srv: FakeLiveServer) -> None:
    """turnComplete usage is deterministic: the same turn costs the same, and it sums up."""
    totals = []
    async with srv.client().aio.live.connect(model=MODEL, config=live_config()) as session:
        for _ in range(2):
            await session.send_realtime_input(text="same words")
            totals.append((await collect(session)).usage.total_token_count)
    assert totals[0] == totals[1] > 0
    assert sum(totals) == srv.stats.prompt_tokens_sent + srv.stats.response_tokens_sent


class Verdict(pydantic.BaseModel):
    summary: str
    score: int = pydantic.Field(ge=1, le=10)
    topics: list[str]


async def test_rest_generate_content_parsed(srv: FakeLiveServer) -> None:
    """REST generateContent with a pydantic schema: parsed instance; bad responses: None."""
    client = srv.client()
    config = types.GenerateContentConfig(
        response_mime_type="application/json", response_schema=Verdict
    )
    contents = [
        types.Content(role="user", parts=[types.Part(text="hello")]),
        types.Content(role="model", parts=[types.Part(text="hi")]),
    ]
    resp = await client.aio.models.generate_content(
        model="gemini-2.5-flash", contents=contents, config=config
    )
    assert isinstance(resp.parsed, Verdict) and 1 <= resp.parsed.score <= 10
    assert (
        resp.parsed.summary.startswith("Offline demo summary:")
        and "1 user turn(s)" in resp.parsed.summary
    )
    assert resp.usage_metadata.total_token_count > 0
    srv.config.rest_bad_responses = 1
    bad = await client.aio.models.generate_content(
        model="gemini-2.5-flash", contents="x", config=config
    )
    assert bad.parsed is None and bad.text
    srv.config.rest_error_status, srv.config.rest_error_count = 503, 1
    with pytest.raises(errors.ServerError) as err:
        await client.aio.models.generate_content(
            model="gemini-2.5-flash", contents="x", config=config
        )
    assert err.value.code == 503 and srv.config.rest_error_status is None
    # Hold the client: a temporary one can be collected mid-request, and its __del__ closes
    # the aiohttp session under the request (AssertionError "_connector is not None").
    other = srv.client(api_key="nope")
    with pytest.raises(errors.ClientError) as cerr:
        await other.aio.models.generate_content(model="gemini-2.5-flash", contents="x")
    assert cerr.value.code == 400 and srv.stats.rest_requests == 4


def test_start_in_thread_for_sync_callers() -> None:
    """start_in_thread serves from a private loop; the SDK (in another loop) gets setupComplete."""
    server = FakeLiveServer(api_key="k").start_in_thread()
    try:

        async def go() -> bool:
            async with server.client().aio.live.connect(model=MODEL) as session:
                return session.setup_complete is not None

        assert asyncio.run(go())
        assert isinstance(server.client(), genai.Client)
    finally:
        server.stop_thread()


async def test_audio_video_session_limit_without_compression() -> None:
    """With video and no contextWindowCompression the session ends at max_av_session_s (1011)."""
    cfg = FakeLiveConfig(speed=20, max_av_session_s=0.3)
    async with FakeLiveServer(api_key="k", config=cfg) as server:
        async with server.client().aio.live.connect(model=MODEL) as session:
            await session.send_realtime_input(video=types.Blob(data=JPEG, mime_type="image/jpeg"))
            with pytest.raises(errors.APIError) as err:
                await collect(session)
        assert err.value.code == 1011
        compressed = live_config(context_window_compression={"sliding_window": {}})
        async with server.client().aio.live.connect(model=MODEL, config=compressed) as session:
            await session.send_realtime_input(video=types.Blob(data=JPEG, mime_type="image/jpeg"))
            await session.send_realtime_input(text="still fine")
            assert (await collect(session)).turn_complete
